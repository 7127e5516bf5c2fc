//! `ductor doctor` (and the checks part of `/diagnose`): what stands between this home
//! and a safe, working ductor, one line each with the fix — files with secrets that
//! other users can read, a config that does not load (`file:line:col`), keys that must
//! be set, a `user_timezone` that is not a zone ([`config`]), provider CLIs that are
//! missing, broken or not logged in ([`clis`]), Telegram tokens the Bot API refuses and
//! Matrix homeservers that do not answer, a clock that is off ([`live`]), a bus that
//! does not answer and the service's state ([`runtime`]), a sandbox that cannot run, a
//! disk that is nearly full. It reads the home and writes nothing. The supervisor runs
//! the permission part at start-up and logs what it finds.

pub mod clis;
pub mod config;
pub mod live;
pub mod runtime;

use crate::config::AgentConfig;
use crate::paths::{Home, MAIN_AGENT};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Whether it must be fixed (else it is information).
    pub problem: bool,
    /// One sentence: what and how to fix it.
    pub text: String,
}

/// Files of `home` that hold secrets (every agent's config and `.env`, `agents.json`).
fn secret_files(home: &Home) -> Vec<PathBuf> {
    let mut out = vec![
        home.main().config_file(),
        home.main().env_file(),
        home.agents_file(),
    ];
    if let Ok(agents) = std::fs::read_dir(home.agents_dir()) {
        for a in agents.flatten() {
            out.push(a.path().join("config/config.json"));
            out.push(a.path().join(".env"));
        }
    }
    out
}

/// Whether others than the owner may read or write `path` (a directory: enter it).
fn open_to_others(path: &Path) -> Option<u32> {
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then_some(mode)
}

/// Secret files and private directories that other users can read.
pub fn permission_findings(home: &Home) -> Vec<Finding> {
    let mut out = Vec::new();
    for dir in [home.root().to_path_buf(), home.main().workspace()] {
        if let Some(mode) = open_to_others(&dir) {
            out.push(Finding {
                problem: true,
                text: format!(
                    "{} is open to other users (mode {mode:03o}); run `chmod 700 {}`",
                    dir.display(),
                    dir.display()
                ),
            });
        }
    }
    for file in secret_files(home) {
        if let Some(mode) = open_to_others(&file) {
            out.push(Finding {
                problem: true,
                text: format!(
                    "{} holds secrets and other users can read it (mode {mode:03o}); run `chmod 600 {}`",
                    file.display(),
                    file.display()
                ),
            });
        }
    }
    out
}

/// An agent whose configuration loaded, for the checks that use it.
#[derive(Debug, Clone)]
pub struct Agent {
    /// `main` or the sub-agent's name.
    pub name: String,
    /// Its effective configuration.
    pub config: AgentConfig,
}

/// How [`report`] runs.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// How long each question to a server or a CLI may take.
    pub timeout: Duration,
    /// Whether to include the sandbox report (`/diagnose` shows it on its own).
    pub sandbox: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            sandbox: true,
        }
    }
}

/// `d` for a sentence: `3 s`, `0.7 s`.
fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

fn problem(text: String) -> Finding {
    Finding {
        problem: true,
        text,
    }
}

fn info(text: String) -> Finding {
    Finding {
        problem: false,
        text,
    }
}

/// Every check of this home: permissions, config, time zone, the provider CLIs, the
/// Telegram tokens and Matrix homeservers (live), the clock, the bus, the service,
/// the sandbox and the disk.
pub async fn report(home: &Home, opts: Options) -> Vec<Finding> {
    let mut out = permission_findings(home);
    let (found, agents) = config::config_findings(home);
    out.extend(found);
    out.extend(config::timezone_findings(&agents));
    let used = config::host_providers(&agents);
    let service_home = home.clone();
    let service = tokio::task::spawn_blocking(move || {
        let ctx = crate::cli::service::Context::detect(&service_home);
        runtime::service_finding(
            crate::cli::service::Platform::current(),
            &ctx,
            &crate::cli::service::SystemRunner,
        )
    });
    let main = home.main();
    let (clis, live, bus) = tokio::join!(
        clis::findings(&main, &used, opts.timeout),
        live::findings(&agents, opts.timeout),
        runtime::bus_finding(home, opts.timeout),
    );
    out.extend(clis);
    out.extend(live);
    out.push(bus);
    if let Ok(f) = service.await {
        out.push(f);
    }
    if opts.sandbox
        && let Some(main) = agents.iter().find(|a| a.name == MAIN_AGENT)
    {
        out.extend(sandbox_findings(home, &main.config).await);
    }
    out.extend(disk_finding(home));
    out
}

/// One line per finding: `✗` for a problem, `·` for information.
pub fn render(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| format!("{} {}", if f.problem { "✗" } else { "·" }, f.text))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Free space under which the home's disk is a problem (sessions, logs and media
/// stop being written reliably).
pub const LOW_DISK: u64 = 512 * 1024 * 1024;

/// The free space of the disk holding `home` (for the user), as a finding.
pub fn disk_finding(home: &Home) -> Option<Finding> {
    let existing = home.root().ancestors().find(|p| p.exists())?;
    let st = nix::sys::statvfs::statvfs(existing).ok()?;
    let free = st.blocks_available() * st.fragment_size();
    Some(Finding {
        problem: free < LOW_DISK,
        text: if free < LOW_DISK {
            format!(
                "only {} free on the disk of {}: free some space (sessions, logs and files need it)",
                crate::util::human_size(free),
                home.root().display()
            )
        } else {
            format!("disk: {} free", crate::util::human_size(free))
        },
    })
}

/// The sandbox of the main agent (configured by `main`): what blocks its runs is a
/// problem.
pub async fn sandbox_findings(home: &Home, main: &AgentConfig) -> Vec<Finding> {
    crate::sandbox::status::report(home, &main.sandbox_settings())
        .await
        .into_iter()
        .map(|l| Finding {
            problem: l.bad,
            text: format!("sandbox {}: {}", l.key, l.value),
        })
        .collect()
}

/// `ductor doctor`: prints the findings; exit code 1 when one is a problem.
pub async fn run(home: &Home) -> i32 {
    let all = report(home, Options::default()).await;
    let problems = all.iter().filter(|f| f.problem).count();
    println!("ductor {} — home {}", crate::VERSION, home.root().display());
    println!("{}", render(&all));
    if problems == 0 {
        println!("no problems found");
        0
    } else {
        println!("{problems} problem(s) found: fix the lines marked ✗");
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readable_secrets_are_problems_until_fixed() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path().join("h"));
        crate::home::seed_agent_home(&home.main()).unwrap();
        let config = home.main().config_file();
        std::fs::write(&config, "{}").unwrap();
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
        let found = permission_findings(&home);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].text.contains("config.json") && found[0].text.contains("chmod 600"));
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(permission_findings(&home).is_empty());
        std::fs::set_permissions(home.root(), std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(permission_findings(&home)[0].text.contains("chmod 700"));
    }

    #[tokio::test]
    async fn the_doctor_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path().join("h"));
        let opts = Options {
            timeout: Duration::from_secs(2),
            sandbox: true,
        };
        let found = report(&home, opts).await;
        assert!(found[0].problem && found[0].text.contains("there is no config"));
        assert!(
            !home.root().exists(),
            "the doctor made {}",
            home.root().display()
        );
        std::fs::create_dir_all(home.main().config_dir()).unwrap();
        std::fs::write(home.main().config_file(), r#"{"allowed_user_ids": [1]}"#).unwrap();
        let found = report(&home, opts).await;
        assert!(
            found
                .iter()
                .any(|f| f.text.starts_with("sandbox backend: none")),
            "{found:?}"
        );
        assert_eq!(
            std::fs::read_to_string(home.main().config_file()).unwrap(),
            r#"{"allowed_user_ids": [1]}"#,
            "the doctor added the default keys"
        );
    }

    #[test]
    fn the_disk_is_reported_with_its_free_space() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path().join("not-yet"));
        let f = disk_finding(&home).expect("the parent exists");
        assert!(f.text.contains("free"), "{f:?}");
    }

    #[tokio::test]
    async fn a_sandbox_that_cannot_run_is_a_problem() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path().join("h"));
        crate::home::seed_agent_home(&home.main()).unwrap();
        std::fs::write(
            home.main().config_file(),
            r#"{"sandbox": {"backend": "dokcer"}}"#,
        )
        .unwrap();
        let main = |home: &Home| {
            crate::config::load::read_config_file(&home.main().config_file())
                .unwrap()
                .unwrap()
                .config
        };
        let found = sandbox_findings(&home, &main(&home)).await;
        assert!(
            found
                .iter()
                .any(|f| f.problem && f.text.contains("\"dokcer\" is unknown")),
            "{found:?}"
        );
        std::fs::write(home.main().config_file(), "{}").unwrap();
        let found = sandbox_findings(&home, &main(&home)).await;
        assert!(found.iter().all(|f| !f.problem), "{found:?}");
        assert!(found[0].text.contains("backend: none"), "{found:?}");
    }
}
