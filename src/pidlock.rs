//! PID locks: an `flock`ed file in `<home>/run/` holding the holder's pid. A second
//! supervisor on the same home, or a second process of the same agent (a stray old
//! one polling beside its successor), is refused and told the running pid. The
//! kernel drops the lock when the process dies, so a stale file never blocks.

use nix::fcntl::{Flock, FlockArg};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error("{what} is already running for {home} (pid {pid})")]
    Held {
        /// What holds it (`ductor`, the agent `main`).
        what: String,
        /// The home directory.
        home: String,
        /// Pid written by the holder (0 if unreadable).
        pid: u32,
    },
    /// The lock file could not be opened or written.
    #[error("{path}: {source}")]
    Io {
        /// The pid file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// A held PID lock; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct PidLock {
    path: PathBuf,
    _lock: Flock<File>,
}

fn open(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
}

fn read_pid(file: &mut File) -> u32 {
    let mut text = String::new();
    let _ = file.seek(SeekFrom::Start(0));
    let _ = file.read_to_string(&mut text);
    text.trim().parse().unwrap_or(0)
}

impl PidLock {
    /// Takes the lock at `path` and writes our pid into it; `what` names the holder
    /// in the refusal.
    pub fn acquire(path: &Path, what: &str, home: &Path) -> Result<Self, LockError> {
        let io = |source| LockError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = open(path).map_err(io)?;
        let mut lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => lock,
            Err((mut file, _)) => {
                return Err(LockError::Held {
                    what: what.to_owned(),
                    home: home.display().to_string(),
                    pid: read_pid(&mut file),
                });
            }
        };
        lock.set_len(0).map_err(io)?;
        lock.seek(SeekFrom::Start(0)).map_err(io)?;
        writeln!(lock, "{}", std::process::id()).map_err(io)?;
        lock.sync_all().map_err(io)?;
        Ok(Self {
            path: path.to_path_buf(),
            _lock: lock,
        })
    }
}

impl Drop for PidLock {
    fn drop(&mut self) {
        // Only the holder gets here, so the file is ours to remove.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Pid of the process holding the lock at `path`, if one does.
pub fn running_pid(path: &Path) -> Option<u32> {
    let mut file = OpenOptions::new().read(true).write(true).open(path).ok()?;
    let pid = read_pid(&mut file);
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(_unlocked_on_drop) => None,
        Err(_) => Some(pid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_with_pid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ductor.pid");
        let home = Path::new("/h");
        let lock = PidLock::acquire(&path, "ductor", home).unwrap();
        assert_eq!(running_pid(&path), Some(std::process::id()));
        let err = PidLock::acquire(&path, "ductor", home).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "ductor is already running for /h (pid {})",
                std::process::id()
            )
        );
        drop(lock);
        assert_eq!(running_pid(&path), None);
        assert!(PidLock::acquire(&path, "ductor", home).is_ok());
    }
}
