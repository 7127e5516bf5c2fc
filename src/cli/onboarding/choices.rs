//! The wizard's second half: provider and model, sandbox, timezone, the summary,
//! and what happens around the write (stopping ductor, removing data on `reset`,
//! the user service).

use super::steps::{Step, Stop, Wizard, list};
use super::{Answers, TransportAnswers};
use crate::config::sandbox::Backend;
use crate::provider::ProviderKind;

/// Sandbox backends and the program each needs.
const ENGINES: [(&str, &str); 3] = [
    ("docker", "docker"),
    ("podman", "podman"),
    ("bwrap", "bwrap"),
];

fn installed(program: &str) -> bool {
    crate::provider::auth::which(program, &std::env::var("PATH").unwrap_or_default()).is_some()
}

impl Wizard<'_> {
    /// Provider (the ready ones first in the list's default) and model.
    pub(super) fn provider(&mut self, ready: &[ProviderKind]) -> Step<(String, String)> {
        let current = self
            .current
            .as_ref()
            .and_then(|c| c.provider.parse::<ProviderKind>().ok());
        let provider = self.pick_provider(ready, current)?;
        let catalogue = crate::provider::models::catalogue_for(&self.home.main());
        let models: Vec<String> = catalogue.models(provider);
        let current_model = self
            .current
            .as_ref()
            .filter(|c| c.provider == provider.as_str())
            .map(|c| c.model.clone());
        let fallback = current_model
            .or_else(|| catalogue.default_model(provider))
            .or_else(|| models.first().cloned())
            .unwrap_or_default();
        let model = match &self.args.model {
            Some(m) => {
                if !catalogue.contains(provider, m) {
                    self.say(&format!(
                        "note: `{m}` is not in {provider}'s model list here; using it as given"
                    ));
                }
                m.clone()
            }
            None if self.args.yes || models.is_empty() => fallback,
            None => {
                let default = models.iter().position(|m| *m == fallback).unwrap_or(0);
                models[self.p.select("Model", &models, default)?].clone()
            }
        };
        Ok((provider.as_str().to_owned(), model))
    }

    fn pick_provider(
        &mut self,
        ready: &[ProviderKind],
        current: Option<ProviderKind>,
    ) -> Step<ProviderKind> {
        if let Some(name) = &self.args.provider {
            return name
                .parse::<ProviderKind>()
                .map_err(|e| Stop::Refused(e.to_string()));
        }
        let fallback = current
            .or_else(|| ready.first().copied())
            .unwrap_or(ProviderKind::Claude);
        if self.args.yes {
            return Ok(fallback);
        }
        let items: Vec<String> = ProviderKind::ALL
            .iter()
            .map(|p| {
                let state = if ready.contains(p) {
                    "ready"
                } else {
                    "not ready yet"
                };
                format!("{} ({state})", p.as_str())
            })
            .collect();
        let default = ProviderKind::ALL
            .iter()
            .position(|p| *p == fallback)
            .unwrap_or(0);
        Ok(ProviderKind::ALL[self.p.select("Provider", &items, default)?])
    }

    /// The sandbox backend: none, or one of the engines installed here.
    pub(super) fn sandbox(&mut self) -> Step<String> {
        if let Some(name) = &self.args.sandbox {
            let backend = Backend::parse(name);
            if let Backend::Unknown(_) = backend {
                return Err(Stop::Refused(format!(
                    "`{name}` is not a sandbox backend (none, docker, podman or bwrap)"
                )));
            }
            if let Some((_, program)) = ENGINES.iter().find(|(b, _)| *b == backend.name())
                && !installed(program)
            {
                self.say(&format!(
                    "note: {program} is not installed here; every run refuses until it is (`ductor docker status`)"
                ));
            }
            return Ok(backend.name().to_owned());
        }
        let found: Vec<&str> = ENGINES
            .iter()
            .filter(|(_, program)| installed(program))
            .map(|(b, _)| *b)
            .collect();
        let current = self.current.as_ref().map_or_else(
            || "none".into(),
            |c| c.sandbox_settings().backend.name().to_owned(),
        );
        if self.args.yes || found.is_empty() {
            return Ok(current);
        }
        let mut names = vec!["none"];
        names.extend(found);
        let items: Vec<String> = names
            .iter()
            .map(|n| match *n {
                "none" => "none: the CLIs run directly as you".to_owned(),
                "bwrap" => {
                    "bwrap: a bubblewrap jail around every run (read-only system, home hidden)"
                        .to_owned()
                }
                engine => {
                    format!("{engine}: every run in a {engine} container (built on first use)")
                }
            })
            .collect();
        let default = names.iter().position(|n| *n == current).unwrap_or(0);
        Ok(names[self.p.select("Sandbox for the CLIs", &items, default)?].to_owned())
    }

    /// An IANA timezone, detected and checked.
    pub(super) fn timezone(&mut self) -> Step<String> {
        let valid = |s: &str| s.parse::<chrono_tz::Tz>().is_ok();
        if let Some(tz) = &self.args.timezone {
            return if valid(tz) {
                Ok(tz.clone())
            } else {
                Err(Stop::Refused(format!(
                    "`{tz}` is not an IANA timezone (e.g. Europe/Berlin)"
                )))
            };
        }
        let fallback = self
            .current
            .as_ref()
            .map(|c| c.user_timezone.clone())
            .filter(|z| valid(z))
            .or_else(super::steps::detect_timezone)
            .unwrap_or_else(|| "UTC".into());
        if self.args.yes {
            return Ok(fallback);
        }
        loop {
            let answer = self.text("Timezone for schedules and daily resets", Some(&fallback))?;
            if valid(&answer) {
                return Ok(answer);
            }
            self.say(&format!(
                "`{answer}` is not an IANA timezone (e.g. Europe/Berlin, America/New_York, UTC)"
            ));
        }
    }

    /// Shows what will be written and asks to go on.
    pub(super) fn confirm_write(&mut self, a: &Answers) -> Step<bool> {
        self.say("");
        match &a.transport {
            TransportAnswers::Telegram { users, groups, .. } => {
                self.say(&format!("  transport  Telegram, users {}", list(users)));
                if !groups.is_empty() {
                    self.say(&format!("  groups     {}", list(groups)));
                }
            }
            TransportAnswers::Matrix {
                homeserver,
                user_id,
                users,
                ..
            } => self.say(&format!(
                "  transport  Matrix {user_id} on {homeserver}, users {}",
                users.join(",")
            )),
        }
        self.say(&format!("  provider   {} {}", a.provider, a.model));
        self.say(&format!("  sandbox    {}", a.sandbox));
        self.say(&format!("  timezone   {}", a.timezone));
        let file = self.home.main().config_file();
        if self.args.yes {
            return Ok(true);
        }
        Ok(self
            .p
            .confirm(&format!("Write this to {}?", file.display()), true)?)
    }

    /// `reset`: whether to delete the home's data before the new set-up is written.
    pub(super) fn ask_remove_data(&mut self) -> Step<bool> {
        if self.args.remove_data || self.args.keep_data || self.args.yes {
            return Ok(self.args.remove_data);
        }
        if !self.home.root().exists() {
            return Ok(false);
        }
        let items = [
            "keep sessions, memory and workspace (only the set-up changes)".to_owned(),
            format!(
                "delete everything in {} and start fresh",
                self.home.root().display()
            ),
        ];
        if self.p.select("Existing data", &items, 0)? == 0 {
            return Ok(false);
        }
        Ok(self.p.confirm(
            &format!(
                "Really delete {} (sessions, memory, workspace, cron jobs, sub-agents)?",
                self.home.root().display()
            ),
            false,
        )?)
    }

    /// Stops a running ductor of this home (and its service), before the write.
    pub(super) fn stop_running(&mut self) {
        let running = crate::pidlock::running_pid(&self.home.pid_file()).is_some();
        let ctx = crate::cli::service::Context::detect(self.home);
        let service =
            crate::cli::service::installed_for(crate::cli::service::Platform::current(), &ctx);
        if running || service {
            self.rt.block_on(crate::cli::lifecycle::stop(self.home));
        }
    }

    /// Deletes the home (and its sandbox container) for a fresh start.
    pub(super) fn remove_data(&mut self) -> Result<(), String> {
        for line in self
            .rt
            .block_on(crate::cli::uninstall::remove_sandbox(self.home))
        {
            self.say(&line);
        }
        match std::fs::remove_dir_all(self.home.root()) {
            Ok(()) => {
                self.say(&format!("deleted {}", self.home.root().display()));
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(format!("cannot delete {}: {e}", self.home.root().display())),
        }
    }

    /// Installs the user service when asked to (or when the user agrees); whether it
    /// was installed.
    pub(super) fn offer_service(&mut self) -> bool {
        if self.args.no_service || (self.args.yes && !self.args.service) {
            return false;
        }
        let manager =
            cfg!(target_os = "macos") || std::path::Path::new("/run/systemd/system").is_dir();
        if !self.args.service {
            if !manager {
                self.say(
                    "No service manager here (systemd is not running), so no service is installed.",
                );
                return false;
            }
            match self.p.confirm(
                "Install ductor as a user service (starts at boot, comes back after a crash)?",
                true,
            ) {
                Ok(true) => {}
                Ok(false) | Err(_) => return false,
            }
        }
        let cmd = crate::cli::service::ServiceCommand::Install { print: false };
        crate::cli::service::run(self.home, &cmd) == 0
    }

    /// The last words.
    pub(super) fn farewell(&mut self, service: bool) {
        if service {
            self.say(
                "ductor runs as a service now: `ductor service status`, `ductor service logs`.",
            );
        } else {
            let cmd = crate::cli::service::Context::detect(self.home).foreground_command();
            self.say(&format!("Start ductor with: {cmd}"));
        }
    }
}
