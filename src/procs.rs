//! Process hygiene shared by the supervisor and the agents: the process table,
//! descendants of a process, child-subreaper set-up and reaping of orphans that
//! were re-parented to us. Only signals and waits; no policy.

use nix::sys::signal::{Signal, kill, killpg};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use std::collections::{HashMap, HashSet};

/// One row of the process table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcInfo {
    /// Process id.
    pub pid: i32,
    /// Parent process id.
    pub ppid: i32,
    /// Process group id.
    pub pgid: i32,
    /// Session id.
    pub sid: i32,
    /// Whether the process is a zombie (exited, not yet reaped).
    pub zombie: bool,
}

/// Reads `/proc/<pid>/stat` (Linux).
#[cfg(target_os = "linux")]
pub fn proc_info(pid: i32) -> Option<ProcInfo> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces or ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgid = fields.next()?.parse().ok()?;
    let sid = fields.next()?.parse().ok()?;
    Some(ProcInfo {
        pid,
        ppid,
        pgid,
        sid,
        zombie: state == "Z" || state == "X",
    })
}

/// Every process we can see.
#[cfg(target_os = "linux")]
pub fn process_table() -> Vec<ProcInfo> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(proc_info)
        .collect()
}

/// Every process we can see (portable fallback through `sysinfo`).
#[cfg(not(target_os = "linux"))]
pub fn process_table() -> Vec<ProcInfo> {
    use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System};
    let mut sys = System::new();
    sys.refresh_processes_specifics(ProcessesToUpdate::All, true, ProcessRefreshKind::nothing());
    sys.processes()
        .values()
        .map(|p| {
            let pid = p.pid().as_u32() as i32;
            ProcInfo {
                pid,
                ppid: p.parent().map_or(0, |pp| pp.as_u32() as i32),
                pgid: pid,
                sid: pid,
                zombie: matches!(p.status(), sysinfo::ProcessStatus::Zombie),
            }
        })
        .collect()
}

/// Reads one row of the process table (portable fallback through `sysinfo`).
#[cfg(not(target_os = "linux"))]
pub fn proc_info(pid: i32) -> Option<ProcInfo> {
    process_table().into_iter().find(|p| p.pid == pid)
}

/// The parents of `pid`, nearest first, up to (not including) init; at most 64.
pub fn ancestors(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let mut cur = pid;
    while out.len() < 64 {
        let Some(info) = proc_info(cur) else { break };
        if info.ppid <= 1 || out.contains(&info.ppid) {
            break;
        }
        out.push(info.ppid);
        cur = info.ppid;
    }
    out
}

/// All descendants of `root` (children, grandchildren, ...), not including `root`.
pub fn descendants(root: i32, table: &[ProcInfo]) -> Vec<i32> {
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    for p in table {
        children.entry(p.ppid).or_default().push(p.pid);
    }
    let mut out = Vec::new();
    let mut stack = vec![root];
    let mut seen = HashSet::new();
    while let Some(pid) = stack.pop() {
        for &child in children.get(&pid).map_or(&[][..], Vec::as_slice) {
            if seen.insert(child) {
                out.push(child);
                stack.push(child);
            }
        }
    }
    out
}

/// Makes orphaned descendants re-parent to this process instead of init, so they
/// can be found and killed (Linux; a no-op elsewhere).
pub fn become_subreaper() {
    #[cfg(target_os = "linux")]
    if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
        tracing::warn!(error = %e, "cannot become child subreaper; escaped tool processes may survive");
    }
}

/// Sends `sig` to the process group `pgid`, ignoring "no such process".
pub fn signal_group(pgid: i32, sig: Signal) {
    if pgid > 1 {
        let _ = killpg(Pid::from_raw(pgid), sig);
    }
}

/// Sends `sig` to `pid`, ignoring "no such process".
pub fn signal_pid(pid: i32, sig: Signal) {
    if pid > 1 {
        let _ = kill(Pid::from_raw(pid), sig);
    }
}

/// Whether a process with this pid exists (zombies count as gone).
pub fn alive(pid: i32) -> bool {
    #[cfg(target_os = "linux")]
    {
        proc_info(pid).is_some_and(|p| !p.zombie)
    }
    #[cfg(not(target_os = "linux"))]
    {
        kill(Pid::from_raw(pid), None).is_ok()
    }
}

/// Kills every direct child of this process that is not in `keep` (orphans that
/// were re-parented to us, plus their groups) and reaps the ones that already
/// exited. Children in `keep` are managed elsewhere and never waited for here.
/// Returns how many processes were signalled.
pub fn reap_orphans<S: std::hash::BuildHasher>(keep: &HashSet<i32, S>) -> usize {
    let me = std::process::id() as i32;
    let table = process_table();
    let mut signalled = 0;
    for p in table
        .iter()
        .filter(|p| p.ppid == me && !keep.contains(&p.pid))
    {
        if p.zombie {
            let _ = waitpid(Pid::from_raw(p.pid), Some(WaitPidFlag::WNOHANG));
            continue;
        }
        for d in descendants(p.pid, &table) {
            signal_pid(d, Signal::SIGKILL);
        }
        if p.pgid == p.pid {
            signal_group(p.pgid, Signal::SIGKILL);
        }
        signal_pid(p.pid, Signal::SIGKILL);
        signalled += 1;
    }
    signalled
}

/// Reaps `pid` if it has exited, without blocking.
pub fn try_reap(pid: i32) -> bool {
    matches!(
        waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)),
        Ok(WaitStatus::Exited(..) | WaitStatus::Signaled(..)) | Err(_)
    )
}

/// The umask the user started ductor with (CLIs get it back), set once by
/// [`restrict_umask`].
static USER_UMASK: std::sync::OnceLock<u32> = std::sync::OnceLock::new();

/// Environment variable carrying the user's umask to agents and to the per-run reaper.
pub const USER_UMASK_VAR: &str = "DUCTOR_USER_UMASK";

/// Makes every file and directory this process creates private to the user (umask
/// `077`) and remembers the user's own umask — taken from [`USER_UMASK_VAR`] when a
/// parent ductor process passed it on — for the CLIs, which write the user's files.
pub fn restrict_umask() {
    use nix::sys::stat::{Mode, umask};
    let previous = umask(Mode::from_bits_truncate(0o077)).bits();
    let user = std::env::var(USER_UMASK_VAR)
        .ok()
        .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        .filter(|m| *m <= 0o777)
        .unwrap_or(previous);
    let _ = USER_UMASK.set(user);
}

/// The user's umask (octal text) for child processes; `None` when ductor did not
/// restrict its own.
pub fn user_umask() -> Option<String> {
    USER_UMASK.get().map(|m| format!("{m:03o}"))
}

/// Applies the umask a parent ductor process passed in [`USER_UMASK_VAR`] (the
/// reaper, before it starts a CLI).
pub fn apply_user_umask() {
    use nix::sys::stat::{Mode, umask};
    if let Some(mode) = std::env::var(USER_UMASK_VAR)
        .ok()
        .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        .filter(|m| *m <= 0o777)
    {
        umask(Mode::from_bits_truncate(mode as nix::libc::mode_t));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_has_us_among_its_ancestors() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let up = ancestors(child.id() as i32);
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(up.first(), Some(&(std::process::id() as i32)), "{up:?}");
    }

    #[test]
    fn descendants_walks_the_tree() {
        let row = |pid, ppid| ProcInfo {
            pid,
            ppid,
            pgid: pid,
            sid: pid,
            zombie: false,
        };
        let table = [
            row(10, 1),
            row(11, 10),
            row(12, 11),
            row(13, 10),
            row(20, 1),
        ];
        let mut d = descendants(10, &table);
        d.sort_unstable();
        assert_eq!(d, [11, 12, 13]);
        assert!(descendants(20, &table).is_empty());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_own_stat() {
        let me = proc_info(std::process::id() as i32).unwrap();
        assert_eq!(me.pid, std::process::id() as i32);
        assert!(me.ppid > 0);
        assert!(alive(me.pid));
    }
}

/// What a helper command left when it ended within its time limit.
#[derive(Debug)]
pub struct Finished {
    /// Its exit status.
    pub status: std::io::Result<std::process::ExitStatus>,
    /// The start of its stdout.
    pub stdout: Vec<u8>,
    /// The start of its stderr.
    pub stderr: Vec<u8>,
}

/// Waits for `child` (spawned in its own process group, stdout and stderr piped)
/// within `limit`, keeping at most `max` bytes of each stream. On timeout its
/// whole group is killed (before the child is reaped, so the group id is still
/// its own) and `None` is returned.
pub async fn finish_within(
    mut child: tokio::process::Child,
    limit: std::time::Duration,
    max: usize,
) -> Option<Finished> {
    let pid = child.id().and_then(|p| i32::try_from(p).ok());
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let work = async {
        let out = async {
            match stdout {
                Some(s) => read_bounded(s, max).await,
                None => Vec::new(),
            }
        };
        let err = async {
            match stderr {
                Some(s) => read_bounded(s, max).await,
                None => Vec::new(),
            }
        };
        let (stdout, stderr) = tokio::join!(out, err);
        Finished {
            status: child.wait().await,
            stdout,
            stderr,
        }
    };
    let finished = tokio::time::timeout(limit, work).await.ok();
    if finished.is_none()
        && let Some(pid) = pid
    {
        signal_group(pid, Signal::SIGKILL);
    }
    finished
}

/// Reads at most `max` bytes, then keeps draining so the writer never blocks.
async fn read_bounded(mut r: impl tokio::io::AsyncRead + Unpin, max: usize) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 8192];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => return out,
            Ok(n) => {
                let room = max.saturating_sub(out.len());
                out.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
}
