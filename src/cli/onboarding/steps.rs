//! The wizard's questions, in order. Each answer comes from its flag when given,
//! else from the prompt, else (with `--yes`) from its default; a required answer
//! without a flag under `--yes` stops the wizard with the flag to use.

use super::prompt::Prompter;
use super::{Answers, OnboardingArgs, TransportAnswers};
use crate::config::AgentConfig;
use crate::paths::Home;
use crate::provider::ProviderKind;
use crate::provider::auth::AuthStatus;
use crate::transport::telegram::probe::{self, ProbeError};
use std::io;
use std::time::Duration;

/// Why the wizard stopped before writing.
#[derive(Debug)]
pub enum Stop {
    /// Reading an answer failed (Ctrl-C and end of input included).
    Io(io::Error),
    /// An answer is missing or wrong and cannot be asked for.
    Refused(String),
}

impl From<io::Error> for Stop {
    fn from(e: io::Error) -> Self {
        Stop::Io(e)
    }
}

pub(super) type Step<T> = Result<T, Stop>;

/// How long "send /start to the bot" waits.
const START_WAIT: Duration = Duration::from_mins(3);
/// How long one `getMe` may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(15);

/// One run of the wizard.
pub struct Wizard<'a> {
    pub(super) home: &'a Home,
    pub(super) args: &'a OnboardingArgs,
    pub(super) rt: &'a tokio::runtime::Runtime,
    pub(super) p: &'a mut dyn Prompter,
    /// The config already there (its values are the defaults).
    pub(super) current: Option<AgentConfig>,
}

pub(super) fn list<T: ToString>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// The first non-empty line of `path` (`-`: standard input).
fn first_line(path: &std::path::Path, what: &str) -> Step<String> {
    crate::cli::agents::first_line(path, what).map_err(Stop::Refused)
}

/// The login hint for a CLI that is installed but not signed in, or missing.
fn hint(provider: ProviderKind, status: AuthStatus) -> String {
    match (status, provider) {
        (AuthStatus::Authenticated { .. }, _) => "ready".into(),
        (AuthStatus::Installed, ProviderKind::Claude) => {
            "installed, not logged in: run `claude` and log in (or `claude setup-token`)".into()
        }
        (AuthStatus::Installed, ProviderKind::Codex) => {
            "installed, not logged in: run `codex login`".into()
        }
        (AuthStatus::Installed, ProviderKind::Gemini) => {
            "installed, not logged in: run `gemini` and choose a login".into()
        }
        (AuthStatus::NotFound, p) => format!(
            "not found: npm install -g {}",
            match p {
                ProviderKind::Claude => "@anthropic-ai/claude-code",
                ProviderKind::Codex => "@openai/codex",
                ProviderKind::Gemini => "@google/gemini-cli",
            }
        ),
    }
}

/// The timezone of this machine: `TZ`, `/etc/timezone`, the `/etc/localtime` link.
pub fn detect_timezone() -> Option<String> {
    let valid = |s: &str| {
        s.trim()
            .parse::<chrono_tz::Tz>()
            .is_ok()
            .then(|| s.trim().to_owned())
    };
    std::env::var("TZ")
        .ok()
        .map(|s| s.trim_start_matches(':').to_owned())
        .and_then(|s| valid(&s))
        .or_else(|| {
            std::fs::read_to_string("/etc/timezone")
                .ok()
                .and_then(|s| valid(&s))
        })
        .or_else(|| {
            let target = std::fs::read_link("/etc/localtime").ok()?;
            let text = target.to_string_lossy().into_owned();
            let (_, zone) = text.split_once("zoneinfo/")?;
            valid(zone)
        })
}

impl<'a> Wizard<'a> {
    /// A wizard for `home`.
    pub fn new(
        home: &'a Home,
        args: &'a OnboardingArgs,
        rt: &'a tokio::runtime::Runtime,
        p: &'a mut dyn Prompter,
    ) -> Self {
        let current = crate::config::load::read_config_file(&home.main().config_file())
            .ok()
            .flatten()
            .map(|l| l.config);
        Self {
            home,
            args,
            rt,
            p,
            current,
        }
    }

    /// Prints a line.
    pub fn say(&mut self, text: &str) {
        self.p.say(text);
    }

    pub(super) fn text(&mut self, question: &str, default: Option<&str>) -> Step<String> {
        Ok(self.p.input(question, default)?.trim().to_owned())
    }

    /// Everything up to the summary.
    pub fn ask_all(&mut self) -> Step<Answers> {
        self.say(&format!("ductor set-up for {}", self.home.root().display()));
        let ready = self.cli_table();
        if !self.args.yes
            && !self.p.confirm(
                "ductor runs these CLIs for the people you allow, with your user's rights on this machine \
                 (a sandbox narrows that). Continue?",
                true,
            )?
        {
            return Err(Stop::Io(io::Error::from(io::ErrorKind::Interrupted)));
        }
        let transport = self.transport()?;
        let (provider, model) = self.provider(&ready)?;
        let sandbox = self.sandbox()?;
        let timezone = self.timezone()?;
        Ok(Answers {
            transport,
            provider,
            model,
            sandbox,
            timezone,
        })
    }

    /// Prints the CLI table; returns the providers that are ready.
    fn cli_table(&mut self) -> Vec<ProviderKind> {
        self.say("Coding-agent CLIs on this machine:");
        let found = crate::provider::auth::for_agent(&self.home.main());
        let mut ready = Vec::new();
        for (p, status) in found {
            if status.is_authenticated() {
                ready.push(p);
            }
            let mark = if status.is_authenticated() {
                '✓'
            } else {
                '·'
            };
            self.say(&format!("  {mark} {:<7} {}", p.as_str(), hint(p, status)));
        }
        if ready.is_empty() {
            self.say(
                "  None is ready yet: ductor answers once one is logged in (no restart needed).",
            );
        }
        ready
    }

    fn transport(&mut self) -> Step<TransportAnswers> {
        let current_matrix = self
            .current
            .as_ref()
            .is_some_and(|c| c.transport == "matrix");
        let matrix = match self.args.transport.as_deref() {
            Some(t) => t == "matrix",
            None if self.args.yes => current_matrix,
            None => {
                let items = ["Telegram".to_owned(), "Matrix".to_owned()];
                self.p
                    .select("Chat transport", &items, usize::from(current_matrix))?
                    == 1
            }
        };
        if matrix {
            self.matrix()
        } else {
            self.telegram()
        }
    }

    fn telegram(&mut self) -> Step<TransportAnswers> {
        let api_url = self
            .args
            .telegram_api_url
            .clone()
            .or_else(|| self.current.as_ref().map(|c| c.telegram_api_url.clone()))
            .unwrap_or_else(|| crate::config::model::DEFAULT_TELEGRAM_API_URL.to_owned());
        let (token, bot) = self.token(&api_url)?;
        self.say(&format!(
            "✓ the token belongs to @{} ({})",
            bot.username, bot.first_name
        ));
        let users = self.users(&api_url, &token, &bot.username)?;
        let groups = match &self.args.groups {
            Some(g) => g.clone(),
            None if self.args.yes => self
                .current
                .as_ref()
                .map(|c| c.allowed_group_ids.clone())
                .unwrap_or_default(),
            None => loop {
                let current = self
                    .current
                    .as_ref()
                    .map(|c| list(&c.allowed_group_ids))
                    .unwrap_or_default();
                let answer = self.text(
                    "Group ids the bot may answer in (negative numbers, comma-separated; empty for none)",
                    Some(&current),
                )?;
                match crate::cli::agents::parse_ids(&answer) {
                    Ok(ids) => break ids,
                    Err(e) => self.say(&e),
                }
            },
        };
        let custom =
            api_url.trim_end_matches('/') != crate::config::model::DEFAULT_TELEGRAM_API_URL;
        Ok(TransportAnswers::Telegram {
            token,
            api_url: custom.then_some(api_url),
            users,
            groups,
        })
    }

    /// The bot token, checked live; asked again while it is refused.
    fn token(&mut self, api_url: &str) -> Step<(String, probe::BotInfo)> {
        if let Some(path) = &self.args.token_file {
            let token = first_line(path, "token")?;
            return match self.check(api_url, &token) {
                Ok(bot) => Ok((token, bot)),
                Err(e) => Err(Stop::Refused(e.to_string())),
            };
        }
        let current = self
            .current
            .as_ref()
            .map(|c| c.telegram_token.expose().to_owned())
            .filter(|t| crate::secret::looks_like_bot_token(t));
        if self.args.yes {
            let token = current.ok_or_else(|| {
                Stop::Refused(
                    "a bot token is required: --token-file FILE (or - for standard input)".into(),
                )
            })?;
            let bot = self
                .check(api_url, &token)
                .map_err(|e| Stop::Refused(e.to_string()))?;
            return Ok((token, bot));
        }
        self.say("Create a bot with @BotFather in Telegram (/newbot) and paste its token (it stays hidden).");
        loop {
            let question = if current.is_some() {
                "Bot token (empty keeps the current one)"
            } else {
                "Bot token"
            };
            let mut token = self.p.secret(question)?.trim().to_owned();
            if token.is_empty() {
                match &current {
                    Some(t) => token.clone_from(t),
                    None => continue,
                }
            }
            self.say("checking the token with Telegram…");
            match self.check(api_url, &token) {
                Ok(bot) => return Ok((token, bot)),
                Err(e) => self.say(&format!("✗ {e}")),
            }
        }
    }

    fn check(&self, api_url: &str, token: &str) -> Result<probe::BotInfo, ProbeError> {
        self.rt
            .block_on(probe::get_me(api_url, token, CHECK_TIMEOUT))
    }

    /// The allowed user ids: typed, or picked up from the next message to the bot.
    fn users(&mut self, api_url: &str, token: &str, bot: &str) -> Step<Vec<i64>> {
        if let Some(users) = &self.args.users {
            return Ok(users.clone());
        }
        let current = self
            .current
            .as_ref()
            .map(|c| c.allowed_user_ids.clone())
            .unwrap_or_default();
        if self.args.yes {
            return if current.is_empty() {
                Err(Stop::Refused(
                    "at least one allowed user id is required: --users 123456789".into(),
                ))
            } else {
                Ok(current)
            };
        }
        self.say(&format!(
            "Who may use the bot? Your numeric Telegram user id (@userinfobot tells it), comma-separated for \
             several. Leave it empty and send /start to @{bot} to have yours picked up."
        ));
        loop {
            let answer = self.text("Allowed user ids", Some(&list(&current)))?;
            if !answer.is_empty() {
                match crate::cli::agents::parse_ids(&answer) {
                    Ok(ids) if !ids.is_empty() => return Ok(ids),
                    Ok(_) => continue,
                    Err(e) => {
                        self.say(&e);
                        continue;
                    }
                }
            }
            self.say(&format!(
                "Send /start to @{bot} in Telegram now (waiting {} minutes; Ctrl-C cancels)…",
                START_WAIT.as_secs() / 60
            ));
            match self
                .rt
                .block_on(probe::wait_for_sender(api_url, token, START_WAIT))
            {
                Ok(Some(who)) => {
                    let name = who
                        .username
                        .as_ref()
                        .map_or_else(String::new, |u| format!(" @{u}"));
                    if self.p.confirm(
                        &format!("Allow {}{name} (id {})?", who.first_name, who.id),
                        true,
                    )? {
                        return Ok(vec![who.id]);
                    }
                }
                Ok(None) => self.say("Nobody wrote to the bot in time."),
                Err(e) => self.say(&format!("✗ {e}")),
            }
        }
    }

    fn matrix(&mut self) -> Step<TransportAnswers> {
        let homeserver = match &self.args.matrix_homeserver {
            Some(h) => h.clone(),
            None if self.args.yes => {
                return Err(Stop::Refused("--matrix-homeserver is required".into()));
            }
            None => self.text("Homeserver URL (e.g. https://matrix.example.org)", None)?,
        };
        let homeserver = homeserver.trim_end_matches('/').to_owned();
        if !(homeserver.starts_with("https://") || homeserver.starts_with("http://")) {
            return Err(Stop::Refused(format!(
                "`{homeserver}` is not an http(s) URL"
            )));
        }
        match self.rt.block_on(crate::transport::probe::matrix_versions(
            &homeserver,
            CHECK_TIMEOUT,
        )) {
            Ok(_) => self.say(&format!("✓ {homeserver} answers as a Matrix homeserver")),
            Err(e) => return Err(Stop::Refused(e)),
        }
        let user_id = match &self.args.matrix_user {
            Some(u) => u.clone(),
            None if self.args.yes => return Err(Stop::Refused("--matrix-user is required".into())),
            None => self.text("The bot's Matrix user id (@name:server)", None)?,
        };
        if !is_matrix_user(&user_id) {
            return Err(Stop::Refused(format!(
                "`{user_id}` is not a Matrix user id (@name:server)"
            )));
        }
        let password = match &self.args.matrix_password_file {
            Some(path) => first_line(path, "password")?,
            None if self.args.yes => {
                return Err(Stop::Refused("--matrix-password-file is required".into()));
            }
            None => self.p.secret("The bot account's password (hidden)")?,
        };
        let users = match &self.args.matrix_users {
            Some(u) => u.clone(),
            None if self.args.yes => {
                return Err(Stop::Refused("--matrix-users is required".into()));
            }
            None => self
                .text(
                    "Matrix users allowed to use the bot (comma-separated @name:server)",
                    None,
                )?
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
        };
        if let Some(bad) = users.iter().find(|u| !is_matrix_user(u)) {
            return Err(Stop::Refused(format!(
                "`{bad}` is not a Matrix user id (@name:server)"
            )));
        }
        if users.is_empty() {
            return Err(Stop::Refused(
                "at least one allowed Matrix user is required".into(),
            ));
        }
        Ok(TransportAnswers::Matrix {
            homeserver,
            user_id,
            password,
            users,
        })
    }
}

/// `@localpart:server`.
fn is_matrix_user(id: &str) -> bool {
    id.strip_prefix('@')
        .and_then(|rest| rest.split_once(':'))
        .is_some_and(|(local, server)| {
            !local.is_empty() && !server.is_empty() && !id.contains(char::is_whitespace)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_ids_and_numeric_ids() {
        assert!(is_matrix_user("@bot:example.org"));
        assert!(!is_matrix_user("bot:example.org"));
        assert!(!is_matrix_user("@bot"));
        assert!(!is_matrix_user("@b ot:x"));
        assert_eq!(crate::cli::agents::parse_ids(" 1, -2 ,"), Ok(vec![1, -2]));
        assert!(
            crate::cli::agents::parse_ids("1,x")
                .unwrap_err()
                .contains("`x`")
        );
    }

    #[test]
    fn every_missing_or_logged_out_cli_gets_its_fix() {
        for p in ProviderKind::ALL {
            assert!(hint(p, AuthStatus::NotFound).contains("npm install -g"));
            assert!(hint(p, AuthStatus::Installed).contains(p.as_str()));
        }
    }
}
