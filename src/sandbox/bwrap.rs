//! The bubblewrap backend: no daemon, no image. Each run is `bwrap … -- <cli> <args>`
//! with the host root read-only, a private `/tmp`, own pid/ipc/uts/user namespaces
//! and the network kept (the CLI must reach its model API). The ductor home is
//! covered by an empty tmpfs (config, `.env`, `agents.json`, `run/` and the other
//! agents' homes are not there), then the agent's workspace and scratch directory are
//! bound back read-write; so are the CLI credential directories the user chose and
//! the run's working directory. Other secrets of the user (`~/.ssh`, `~/.aws`, …)
//! are covered too.
//!
//! Stopping: `bwrap` itself dies on SIGINT/SIGTERM, which (with `--die-with-parent`)
//! would tear the sandbox down before the CLI could end cleanly, so polite signals go
//! to the other members of the run's process group; SIGKILL goes to the whole group,
//! and the end of the sandbox's pid namespace takes every process inside with it,
//! also those that left the group.

use crate::config::sandbox::SandboxSettings;
use crate::paths::AgentPaths;
use crate::provider::env;
use crate::provider::runner::{RunRequest, RunSignals, resolve_program};
use nix::sys::signal::Signal;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Stop signals of a bwrap run (see the module docs).
#[derive(Debug)]
pub struct BwrapSignals;

impl RunSignals for BwrapSignals {
    fn signal(&self, pgid: i32, sig: Signal) {
        if sig == Signal::SIGKILL {
            crate::procs::signal_group(pgid, sig);
            return;
        }
        for p in crate::procs::process_table() {
            if p.pgid == pgid && p.pid != pgid && !p.zombie {
                crate::procs::signal_pid(p.pid, sig);
            }
        }
    }
}

/// The credential paths of each CLI under `home` (the CLI's `HOME`), honouring the
/// CLIs' own directory variables in `vars`.
pub(super) fn credential_dirs(
    cli: &str,
    home: &Path,
    vars: &[(OsString, OsString)],
) -> Vec<PathBuf> {
    let var = |k: &str| {
        env::get(vars, k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    match cli {
        "claude" => vec![
            var("CLAUDE_CONFIG_DIR").unwrap_or_else(|| home.join(".claude")),
            home.join(".claude.json"),
        ],
        "codex" => vec![var("CODEX_HOME").unwrap_or_else(|| home.join(".codex"))],
        "gemini" => vec![
            var("GEMINI_CLI_HOME")
                .unwrap_or_else(|| home.to_path_buf())
                .join(".gemini"),
        ],
        _ => Vec::new(),
    }
}

/// Secrets of the user that no CLI needs.
fn user_secrets(home: &Path) -> Vec<PathBuf> {
    crate::access::USER_SECRETS
        .iter()
        .map(|p| home.join(p))
        .collect()
}

fn push(args: &mut Vec<OsString>, parts: &[&std::ffi::OsStr]) {
    args.extend(parts.iter().map(|p| (*p).to_owned()));
}

/// Covers `path` (when it exists): a directory with an empty tmpfs, a file with
/// `/dev/null`.
fn cover(args: &mut Vec<OsString>, path: &Path) {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => push(args, &["--tmpfs".as_ref(), path.as_os_str()]),
        Ok(_) => push(
            args,
            &["--ro-bind".as_ref(), "/dev/null".as_ref(), path.as_os_str()],
        ),
        Err(_) => {}
    }
}

fn bind(args: &mut Vec<OsString>, path: &Path) {
    push(
        args,
        &["--bind".as_ref(), path.as_os_str(), path.as_os_str()],
    );
}

/// `/mnt/<basename>` for each user mount, deduplicated with `_2`, `_3`… like the
/// original.
pub fn mount_targets(mounts: &[String]) -> Vec<(PathBuf, String)> {
    let mut out: Vec<(PathBuf, String)> = Vec::new();
    for m in mounts {
        let host = crate::paths::expand_tilde(Path::new(m));
        let base = host
            .file_name()
            .map_or_else(|| "mount".to_owned(), |n| n.to_string_lossy().into_owned());
        let mut target = format!("/mnt/{base}");
        let mut n = 2;
        while out.iter().any(|(_, t)| *t == target) {
            target = format!("/mnt/{base}_{n}");
            n += 1;
        }
        out.push((host, target));
    }
    out
}

/// The read-only root, private `/tmp` and `/mnt`, the user's secrets covered and
/// the chosen CLI credential directories writable.
fn base_args(
    home: &Path,
    settings: &SandboxSettings,
    vars: &[(OsString, OsString)],
) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    for part in [
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--tmpfs",
        "/tmp",
        "--tmpfs",
        "/mnt",
    ] {
        args.push(part.into());
    }
    for secret in user_secrets(home) {
        cover(&mut args, &secret);
    }
    for cli_name in crate::config::sandbox::DEFAULT_CREDENTIALS {
        let chosen = settings.credentials.iter().any(|c| c == cli_name);
        for path in credential_dirs(cli_name, home, vars) {
            if !path.exists() {
                continue;
            }
            if chosen {
                bind(&mut args, &path);
            } else {
                cover(&mut args, &path);
            }
        }
    }
    args
}

/// Rewrites a host request into a bwrap run. `Err` is the sentence saying why it
/// cannot run (nothing may then run on the host).
pub fn wrap(
    mut req: RunRequest,
    paths: &AgentPaths,
    settings: &SandboxSettings,
) -> Result<RunRequest, String> {
    let Some(bwrap) = resolve_program("bwrap", &req.env) else {
        return Err("bubblewrap (`bwrap`) is not installed on the server".into());
    };
    let cli = resolve_program(&req.invocation.program, &req.env)
        .unwrap_or_else(|| PathBuf::from(&req.invocation.program));
    let home = super::user_home_of(&req.env);
    let mut args = base_args(&home, settings, &req.env);
    // The whole ductor home disappears, then what this agent's runs need comes back.
    push(
        &mut args,
        &["--tmpfs".as_ref(), paths.home().root().as_os_str()],
    );
    for dir in [paths.workspace(), paths.tmp_dir()] {
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        bind(&mut args, &dir);
    }
    // The agent tools (`ductor task`, `ductor ask`) reach the bus through its socket.
    let bus = paths.home().bus_dir();
    if bus.is_dir() {
        bind(&mut args, &bus);
    }
    if !req.cwd.starts_with(paths.workspace()) {
        bind(&mut args, &req.cwd);
    }
    for (host, target) in mount_targets(&settings.mounts) {
        if !host.is_dir() {
            return Err(format!(
                "the sandbox mount {} does not exist",
                host.display()
            ));
        }
        push(
            &mut args,
            &["--bind".as_ref(), host.as_os_str(), target.as_ref()],
        );
    }
    for part in [
        "--unshare-all",
        "--share-net",
        "--die-with-parent",
        "--chdir",
    ] {
        args.push(part.into());
    }
    args.push(req.cwd.clone().into_os_string());
    args.push("--".into());
    // The per-run reaper goes inside too: it gives the CLI the user's umask back and
    // ends what the CLI leaves behind before the sandbox closes.
    if let Some(reaper) = req
        .reaper
        .take()
        .filter(|r| !r.starts_with(paths.home().root()))
    {
        args.extend([reaper.into_os_string(), "__reap".into(), "--".into()]);
        // bwrap passes the reaper's status on.
        req.shell_status = true;
    } else {
        req.env.retain(|(k, _)| k != crate::procs::USER_UMASK_VAR);
        req.shell_status = false;
    }
    args.push(cli.into_os_string());
    args.extend(req.invocation.args.iter().map(OsString::from));
    // Temp files and caches go to the private /tmp: the host's are read-only here.
    for (key, value) in [
        ("TMPDIR", "/tmp"),
        ("XDG_CACHE_HOME", "/tmp/.cache"),
        ("XDG_STATE_HOME", "/tmp/.state"),
    ] {
        req.env.retain(|(k, _)| k != key);
        req.env.push((key.into(), value.into()));
    }
    req.invocation.program = bwrap.to_string_lossy().into_owned();
    req.invocation.args = args
        .into_iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    req.signals = Some(Arc::new(BwrapSignals));
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_targets_are_unique_under_mnt() {
        let t = mount_targets(&["/data/photos".into(), "/srv/photos".into(), "/x/y".into()]);
        let targets: Vec<&str> = t.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(targets, ["/mnt/photos", "/mnt/photos_2", "/mnt/y"]);
    }

    #[test]
    fn credentials_follow_the_clis_own_variables() {
        let home = Path::new("/home/u");
        let vars = vec![(OsString::from("CODEX_HOME"), OsString::from("/srv/codex"))];
        assert_eq!(
            credential_dirs("codex", home, &vars),
            [PathBuf::from("/srv/codex")]
        );
        assert_eq!(
            credential_dirs("claude", home, &[]),
            [home.join(".claude"), home.join(".claude.json")]
        );
        assert_eq!(credential_dirs("gemini", home, &[]), [home.join(".gemini")]);
    }
}
