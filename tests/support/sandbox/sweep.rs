//! Removing what a container engine leaves behind: processes, cgroups, mounts, directories.
//! Used when an engine is dropped and, for engines of test processes that died without
//! dropping theirs, when the next one starts.

use std::cmp::Reverse;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Pids of the processes (not this one, not zombies) whose command line contains `needle`.
pub(super) fn pids_naming(needle: &str) -> Vec<u32> {
    let me = std::process::id();
    all_pids()
        .into_iter()
        .filter(|&pid| pid != me && alive(pid))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                String::from_utf8_lossy(&c)
                    .replace('\0', " ")
                    .contains(needle)
            })
        })
        .collect()
}

/// SIGKILLs every process whose command line contains one of `needles` and waits until they
/// are gone.
pub(super) fn kill_processes_naming(needles: &[String]) {
    let pids: Vec<u32> = needles.iter().flat_map(|n| pids_naming(n)).collect();
    for &pid in &pids {
        signal(pid, Signal::SIGKILL);
    }
    wait_gone(&pids, Duration::from_secs(5));
}

/// Sends `sig` to `pid`, ignoring a process that is gone.
pub(super) fn signal(pid: u32, sig: Signal) {
    if let Ok(pid) = i32::try_from(pid) {
        let _ = kill(Pid::from_raw(pid), sig);
    }
}

/// Waits until none of `pids` is alive (a zombie counts as gone), at most `timeout`.
pub(super) fn wait_gone(pids: &[u32], timeout: Duration) -> bool {
    let start = Instant::now();
    loop {
        if !pids.iter().any(|&p| alive(p)) {
            return true;
        }
        if start.elapsed() > timeout {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether `pid` runs (exists and is not a zombie).
pub(super) fn alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state follows the command name, which is in parentheses and may contain anything.
    let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
    !matches!(state.and_then(|s| s.chars().next()), Some('Z' | 'X') | None)
}

fn all_pids() -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// Kills the processes in cgroup `rel` (a path from the root of each mounted hierarchy, e.g.
/// `dkr-1-0` or `libpod_parent/libpod-<id>`) and below, then removes those cgroups.
pub(super) fn remove_cgroup(rel: &str) {
    for root in cgroup_roots() {
        let top = root.join(rel.trim_start_matches('/'));
        if !top.is_dir() {
            continue;
        }
        let mut dirs = Vec::new();
        collect_dirs(&top, &mut dirs);
        dirs.sort_by_key(|d| Reverse(d.components().count()));
        let start = Instant::now();
        loop {
            let pids: Vec<u32> = dirs
                .iter()
                .filter_map(|d| std::fs::read_to_string(d.join("cgroup.procs")).ok())
                .flat_map(|s| s.lines().filter_map(|l| l.parse().ok()).collect::<Vec<_>>())
                .collect();
            if pids.is_empty() || start.elapsed() > Duration::from_secs(5) {
                break;
            }
            for pid in pids {
                signal(pid, Signal::SIGKILL);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        for dir in dirs {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

fn collect_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    out.push(dir.to_owned());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            collect_dirs(&entry.path(), out);
        }
    }
}

/// Mount points of the cgroup hierarchies (v1 controllers, named ones, v2).
fn cgroup_roots() -> Vec<PathBuf> {
    mounts()
        .into_iter()
        .filter(|(_, fstype)| fstype == "cgroup" || fstype == "cgroup2")
        .map(|(point, _)| point)
        .collect()
}

/// Mount points at or below `dirs`, deepest first.
pub(super) fn mounts_under(dirs: &[&Path]) -> Vec<PathBuf> {
    let mut points: Vec<PathBuf> = mounts()
        .into_iter()
        .map(|(point, _)| point)
        .filter(|p| dirs.iter().any(|d| p.starts_with(d)))
        .collect();
    points.sort_by_key(|p| Reverse(p.components().count()));
    points.dedup();
    points
}

/// Lazily unmounts everything at or below `dirs` (`umount -l`, deepest first).
pub(super) fn unmount_under(dirs: &[&Path]) {
    for point in mounts_under(dirs) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(&point)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// This mount namespace's mounts: (mount point, file system type).
fn mounts() -> Vec<(PathBuf, String)> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let point = left.split(' ').nth(4)?;
            let fstype = right.split(' ').next()?;
            Some((PathBuf::from(unescape(point)), fstype.to_owned()))
        })
        .collect()
}

/// Undoes mountinfo's octal escapes (`\040` for a space, …).
fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match octal {
            Some(d) if bytes[i] == b'\\' => {
                out.push(d.iter().fold(0u8, |n, b| n.wrapping_mul(8) + (b - b'0')));
                i += 4;
            }
            _ => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Removes `dir` and everything in it; a directory that is not there is fine.
pub(super) fn remove_dir(dir: &Path) {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => eprintln!("sandbox test support: cannot remove {}: {e}", dir.display()),
    }
}

/// Cleans up after test processes that died with an engine: every `/tmp/dkr-<pid>-<n>` and
/// `/tmp/pdm-<pid>-<n>` whose pid is gone, with the data directory its `data` link names.
pub(super) fn sweep_dead_owners() {
    let Ok(entries) = std::fs::read_dir("/tmp") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((kind, pid)) = owner(&name) else {
            continue;
        };
        if Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let short = entry.path();
        let long = std::fs::read_link(short.join("data")).ok();
        match kind {
            "dkr" => super::docker::clean(&short, long.as_deref(), &name),
            _ => super::podman::clean(&short, long.as_deref()),
        }
        if let Some(long) = long {
            remove_dir(&long);
        }
    }
}

/// [`sweep_dead_owners`], once per test process.
pub(super) fn sweep_dead_owners_once() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(sweep_dead_owners);
}

/// `("dkr" | "pdm", pid)` for a name `dkr-<pid>-<n>` / `pdm-<pid>-<n>`.
fn owner(name: &str) -> Option<(&str, u32)> {
    let (kind, rest) = name.split_once('-')?;
    let (pid, n) = rest.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (matches!(kind, "dkr" | "pdm") && digits(pid) && digits(n)).then_some((kind, pid.parse().ok()?))
}
