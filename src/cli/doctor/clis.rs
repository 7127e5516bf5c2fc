//! The provider CLIs for `ductor doctor`: found on the agents' `PATH` or not, the
//! version each one reports (`<cli> --version`, bounded in time, its process group
//! killed when it hangs), and whether it is logged in. A CLI an agent is configured
//! to use must be there and logged in; the others are information.

use super::Finding;
use crate::provider::ProviderKind;
use crate::provider::auth::{self, AuthStatus};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

/// Bytes of `--version` output read at most.
const VERSION_OUTPUT: usize = 4096;
/// Characters of a version line shown at most.
const VERSION_CHARS: usize = 80;

/// Runs `program --version` with exactly `env`, in its own process group; the first
/// line it prints, or one sentence saying why there is none. A program that has not
/// answered within `timeout` is killed with its whole group.
pub async fn version<S: std::hash::BuildHasher>(
    program: &Path,
    env: &HashMap<String, String, S>,
    timeout: Duration,
) -> Result<String, String> {
    let child = tokio::process::Command::new(program)
        .arg("--version")
        .env_clear()
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start `{} --version`: {e}", program.display()))?;
    let Some(done) = crate::procs::finish_within(child, timeout, VERSION_OUTPUT).await else {
        return Err(format!(
            "`{} --version` did not answer within {}",
            program.display(),
            super::seconds(timeout)
        ));
    };
    let first_line = |bytes: &[u8]| {
        String::from_utf8_lossy(bytes)
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(|l| l.chars().take(VERSION_CHARS).collect::<String>())
    };
    match done.status {
        Ok(s) if s.success() => first_line(&done.stdout)
            .or_else(|| first_line(&done.stderr))
            .ok_or_else(|| format!("`{} --version` printed nothing", program.display())),
        Ok(s) => Err(format!(
            "`{} --version` failed ({s}){}",
            program.display(),
            first_line(&done.stderr).map_or_else(String::new, |l| format!(": {l}"))
        )),
        Err(e) => Err(format!("`{} --version`: {e}", program.display())),
    }
}

/// How to install and log in to each CLI.
fn how_to(p: ProviderKind) -> (&'static str, &'static str) {
    match p {
        ProviderKind::Claude => (
            "npm install -g @anthropic-ai/claude-code",
            "run `claude` and `/login`, or set ANTHROPIC_API_KEY in .env",
        ),
        ProviderKind::Codex => (
            "npm install -g @openai/codex",
            "run `codex login`, or set OPENAI_API_KEY in .env",
        ),
        ProviderKind::Gemini => (
            "npm install -g @google/gemini-cli",
            "run `gemini` and pick a login, or set GEMINI_API_KEY in .env",
        ),
    }
}

/// One finding per CLI, as the main agent's CLIs see them (ductor's environment plus
/// its `.env`). `used`: the providers some agent is configured with.
pub async fn findings(
    paths: &crate::paths::AgentPaths,
    used: &BTreeSet<ProviderKind>,
    timeout: Duration,
) -> Vec<Finding> {
    let (env, user_home) = auth::agent_env(paths);
    let states = auth::check_all(auth::AuthEnv {
        env: &env,
        home: &user_home,
    });
    let path = env.get("PATH").cloned().unwrap_or_default();
    let probes = ProviderKind::ALL.iter().map(|p| {
        let found = auth::which(p.binary(), &path);
        let env = &env;
        async move {
            match found {
                Some(bin) => (*p, Some((bin.clone(), version(&bin, env, timeout).await))),
                None => (*p, None),
            }
        }
    });
    let mut out = Vec::new();
    for (p, found) in futures_util::future::join_all(probes).await {
        let state = states.get(&p).copied().unwrap_or(AuthStatus::NotFound);
        out.push(finding(p, found, state, used.contains(&p)));
    }
    out
}

/// The finding of one CLI.
fn finding(
    p: ProviderKind,
    found: Option<(std::path::PathBuf, Result<String, String>)>,
    state: AuthStatus,
    used: bool,
) -> Finding {
    let (install, login) = how_to(p);
    let role = if used { " (configured)" } else { "" };
    let Some((bin, version)) = found else {
        return Finding {
            problem: used,
            text: format!("{p}{role}: not found on PATH; install it with `{install}`"),
        };
    };
    let version = match version {
        Ok(v) => v,
        Err(e) => {
            return Finding {
                problem: used,
                text: format!("{p}{role}: {e}; reinstall it with `{install}`"),
            };
        }
    };
    let at = bin.display();
    if state.is_authenticated() {
        Finding {
            problem: false,
            text: format!("{p}{role}: {version} at {at}, logged in"),
        }
    } else {
        Finding {
            problem: used,
            text: format!("{p}{role}: {version} at {at}, not logged in: {login}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn script(dir: &Path, name: &str, body: &str) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn env() -> HashMap<String, String> {
        HashMap::from([("PATH".to_owned(), "/usr/bin:/bin".to_owned())])
    }

    #[tokio::test]
    async fn the_version_is_the_first_line_printed() {
        let dir = tempfile::tempdir().unwrap();
        let ok = script(
            dir.path(),
            "ok",
            "[ \"$1\" = --version ] && printf '\\n2.1.197 (Claude Code)\\nmore\\n'",
        );
        let v = version(&ok, &env(), Duration::from_secs(10)).await;
        assert_eq!(v.as_deref(), Ok("2.1.197 (Claude Code)"));
        // Only the environment given reaches it.
        let echo = script(dir.path(), "echo", "echo \"v-${SECRET_X:-none}\"");
        assert_eq!(
            version(&echo, &env(), Duration::from_secs(10))
                .await
                .as_deref(),
            Ok("v-none")
        );
    }

    #[tokio::test]
    async fn a_failing_or_silent_cli_is_one_sentence() {
        let dir = tempfile::tempdir().unwrap();
        let bad = script(dir.path(), "bad", "echo 'node: not found' >&2; exit 127");
        let err = version(&bad, &env(), Duration::from_secs(10))
            .await
            .unwrap_err();
        assert!(
            err.contains("failed") && err.contains("127") && err.ends_with("node: not found"),
            "{err}"
        );
        let silent = script(dir.path(), "silent", "exit 0");
        let err = version(&silent, &env(), Duration::from_secs(10))
            .await
            .unwrap_err();
        assert!(err.ends_with("printed nothing"), "{err}");
        let missing = version(&dir.path().join("nope"), &env(), Duration::from_secs(1)).await;
        assert!(missing.unwrap_err().starts_with("cannot start"));
    }

    #[tokio::test]
    async fn a_hanging_cli_is_killed_with_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let pids = dir.path().join("pids");
        let hang = script(
            dir.path(),
            "hang",
            &format!(
                "sleep 300 & echo $! > '{p}'; echo $$ >> '{p}'; wait",
                p = pids.display()
            ),
        );
        let started = std::time::Instant::now();
        let err = version(&hang, &env(), Duration::from_millis(700))
            .await
            .unwrap_err();
        assert!(err.contains("did not answer within"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
        let pids: Vec<i32> = std::fs::read_to_string(&pids)
            .unwrap()
            .lines()
            .map(|l| l.trim().parse().unwrap())
            .collect();
        assert_eq!(pids.len(), 2);
        let gone = || pids.iter().all(|p| !crate::procs::alive(*p));
        for _ in 0..100 {
            if gone() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(gone(), "the CLI or its child survived: {pids:?}");
    }

    #[test]
    fn only_a_configured_cli_that_cannot_run_is_a_problem() {
        let bin = std::path::PathBuf::from("/usr/bin/claude");
        let logged_in = AuthStatus::Authenticated { since: None };
        let f = finding(
            ProviderKind::Claude,
            Some((bin.clone(), Ok("2.1.197".into()))),
            logged_in,
            true,
        );
        assert!(
            !f.problem && f.text == "claude (configured): 2.1.197 at /usr/bin/claude, logged in"
        );
        let f = finding(ProviderKind::Codex, None, AuthStatus::NotFound, true);
        assert!(
            f.problem && f.text.contains("npm install -g @openai/codex"),
            "{f:?}"
        );
        let f = finding(ProviderKind::Codex, None, AuthStatus::NotFound, false);
        assert!(!f.problem, "{f:?}");
        let f = finding(
            ProviderKind::Gemini,
            Some((bin, Ok("0.61.0".into()))),
            AuthStatus::Installed,
            true,
        );
        assert!(f.problem && f.text.contains("not logged in"), "{f:?}");
    }
}
