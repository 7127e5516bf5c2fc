//! The per-run reaper: `ductor-agent __reap -- <cli> <args…>`.
//!
//! The CLIs start shell tools in their own sessions, outside the CLI's process
//! group, so killing the group misses them. The runner therefore starts every CLI
//! through this small process, which
//! - becomes a child subreaper, so every process the CLI leaves behind is
//!   re-parented to it (and to nothing else: runs of other chats are not affected);
//! - shares its process group with the CLI, so the runner's group signals reach the
//!   CLI, while the shim itself ignores SIGINT/SIGTERM/SIGHUP and keeps waiting;
//! - when the CLI has exited, kills and reaps every remaining descendant;
//! - exits with the CLI's exit code (`128 + signal` when it was killed);
//! - dies with the agent (`PR_SET_PDEATHSIG`), its orphans then go to the agent or
//!   supervisor, which are subreapers too.

use crate::procs;
use nix::sys::signal::Signal;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

/// Exit code when the CLI could not be started (like a shell's "command not found").
pub const EXIT_NOT_FOUND: i32 = 127;

extern "C" fn ignore(_: nix::libc::c_int) {}

fn install_ignore_handlers() {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, sigaction};
    let action = SigAction::new(
        SigHandler::Handler(ignore),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        // SAFETY: `ignore` is async-signal-safe (it does nothing). A handler, unlike
        // SIG_IGN, is reset to the default by exec, so the CLI keeps normal signals.
        #[allow(unsafe_code)]
        let _ = unsafe { sigaction(sig, &action) };
    }
}

/// Runs the shim; returns the process exit code.
pub fn run(program: &OsString, args: &[OsString]) -> i32 {
    #[cfg(target_os = "linux")]
    {
        let _ = nix::sys::prctl::set_child_subreaper(true);
        let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
    }
    install_ignore_handlers();
    // ductor's own files are private (umask 077); the CLI writes the user's files.
    procs::apply_user_umask();
    let status = match std::process::Command::new(program)
        .args(args)
        .env_remove(procs::USER_UMASK_VAR)
        .status()
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ductor: cannot start {}: {e}", program.to_string_lossy());
            return EXIT_NOT_FOUND;
        }
    };
    kill_leftovers(Duration::from_secs(5));
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(sig)) => 128 + sig,
        (None, None) => 1,
    }
}

/// Kills and reaps every remaining child (and, through re-parenting, every
/// descendant) of this process.
fn kill_leftovers(limit: Duration) {
    let me = std::process::id() as i32;
    let start = Instant::now();
    loop {
        let table = procs::process_table();
        let kids: Vec<&procs::ProcInfo> = table.iter().filter(|p| p.ppid == me).collect();
        if kids.is_empty() || start.elapsed() > limit {
            return;
        }
        for kid in kids {
            if !kid.zombie {
                for d in procs::descendants(kid.pid, &table) {
                    procs::signal_pid(d, Signal::SIGKILL);
                }
                if kid.pgid == kid.pid {
                    procs::signal_group(kid.pgid, Signal::SIGKILL);
                }
                procs::signal_pid(kid.pid, Signal::SIGKILL);
            }
        }
        // This process has no children worth keeping: reap them all.
        while let Ok(status) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            if status == WaitStatus::StillAlive {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
