//! `ductor doctor`: what stands between this home and a safe, working ductor — files
//! with secrets that other users can read, a config that does not load, provider CLIs
//! that are missing or not logged in, a sandbox that cannot run, a disk that is
//! nearly full. The supervisor runs the permission part at start-up and logs what it
//! finds.

use crate::paths::Home;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

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

/// Every check.
pub fn findings(home: &Home) -> Vec<Finding> {
    let mut out = permission_findings(home);
    match crate::config::load_config_file(&home.main().config_file()) {
        Ok(c) => {
            if c.config.telegram_token.expose().is_empty() {
                out.push(Finding {
                    problem: true,
                    text: "telegram_token is not set in config/config.json".into(),
                });
            }
        }
        Err(e) => out.push(Finding {
            problem: true,
            text: e.to_string(),
        }),
    }
    if let Err(e) = crate::config::load_agents(&home.agents_file()) {
        out.push(Finding {
            problem: true,
            text: e.to_string(),
        });
    }
    for (p, s) in crate::provider::auth::for_agent(&home.main()) {
        let text = match s {
            crate::provider::auth::AuthStatus::Authenticated { .. } => {
                format!("{p}: installed and logged in")
            }
            crate::provider::auth::AuthStatus::Installed => {
                format!("{p}: installed, not logged in")
            }
            crate::provider::auth::AuthStatus::NotFound => format!("{p}: not installed"),
        };
        out.push(Finding {
            problem: false,
            text,
        });
    }
    out
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

/// The sandbox of the main agent: what blocks its runs is a problem.
pub async fn sandbox_findings(home: &Home) -> Vec<Finding> {
    let Ok(settings) = crate::sandbox::main_settings(home) else {
        return Vec::new();
    };
    crate::sandbox::status::report(home, &settings)
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
    let mut all = findings(home);
    all.extend(sandbox_findings(home).await);
    all.extend(disk_finding(home));
    let problems = all.iter().filter(|f| f.problem).count();
    for f in &all {
        println!("{} {}", if f.problem { "✗" } else { "·" }, f.text);
    }
    if problems == 0 {
        println!("no problems found in {}", home.root().display());
        0
    } else {
        println!("{problems} problem(s) found");
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
        let found = sandbox_findings(&home).await;
        assert!(
            found
                .iter()
                .any(|f| f.problem && f.text.contains("\"dokcer\" is unknown")),
            "{found:?}"
        );
        std::fs::write(home.main().config_file(), "{}").unwrap();
        let found = sandbox_findings(&home).await;
        assert!(found.iter().all(|f| !f.problem), "{found:?}");
        assert!(found[0].text.contains("backend: none"), "{found:?}");
    }
}
