//! Persistence primitives: the one atomic-write function every state write goes
//! through, strict JSON reading for config files, and forgiving loading for state
//! files (a corrupt file is moved aside, never silently overwritten).
//!
//! This module knows nothing about what the files contain.

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Errors of the persistence layer; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Reading, writing or renaming failed.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The file is not valid JSON, or not the expected shape.
    #[error("{path}: invalid JSON at line {line}, column {column}: {message}")]
    Parse {
        /// The file involved.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// A value could not be serialized (a bug, not bad input).
    #[error("{path}: cannot serialize: {source}")]
    Serialize {
        /// The file involved.
        path: PathBuf,
        /// The serde error.
        source: serde_json::Error,
    },
}

impl StoreError {
    fn io(path: &Path, source: io::Error) -> Self {
        StoreError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    fn parse(path: &Path, err: &serde_json::Error) -> Self {
        // serde_json appends " at line X column Y" to its message; we report them separately.
        let full = err.to_string();
        let message = full
            .rsplit_once(" at line ")
            .map_or(full.as_str(), |(head, _)| head)
            .to_owned();
        StoreError::Parse {
            path: path.to_path_buf(),
            line: err.line(),
            column: err.column(),
            message,
        }
    }
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Atomically replaces `path` with `bytes`: temp file in the same directory, write,
/// fsync, rename over the target, fsync the directory. Readers see either the old
/// or the new content, never a mix, whatever happens to this process.
///
/// An existing file keeps its permission bits; a new file is created `0600`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
    let name = path
        .file_name()
        .map_or_else(|| "state".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let mode = fs::metadata(path).map_or(0o600, |m| m.permissions().mode() & 0o7777);
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        // `mode` is filtered by the umask on create; set it explicitly.
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if let Err(err) = result {
        let _ = fs::remove_file(&tmp);
        return Err(StoreError::io(path, err));
    }
    Ok(())
}

/// Serializes `value` as pretty JSON (2-space indent, trailing newline, UTF-8 as is)
/// and writes it with [`write_atomic`].
pub fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<(), StoreError> {
    let mut bytes = to_pretty_json(value).map_err(|source| StoreError::Serialize {
        path: path.to_path_buf(),
        source,
    })?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

/// Pretty JSON with 2-space indentation, the format of every ductor file.
pub fn to_pretty_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec_pretty(value)
}

/// Reads and parses a JSON file strictly: `Ok(None)` when it does not exist, a
/// [`StoreError::Parse`] with line and column when it is malformed. The file is
/// never modified. Used for files the user edits (config, `agents.json`).
pub fn read_json_strict<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, StoreError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io(path, e)),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| StoreError::parse(path, &e))
}

/// What [`load_state`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadReport {
    /// The file did not exist; the state starts empty.
    Missing,
    /// The file parsed.
    Loaded,
    /// The file was corrupt and moved aside to the given path; the state starts empty.
    Quarantined(PathBuf),
    /// The file could not be read (permissions, I/O); the state starts empty in memory.
    Unreadable(String),
}

/// Loads a state file forgivingly. A missing file gives `T::default()`. A file
/// that is not valid JSON of the expected shape is renamed to
/// `<name>.corrupt-<UTC timestamp>` with a WARN log line, and the state starts
/// empty: nothing is silently overwritten and nothing else is lost.
pub fn load_state<T: DeserializeOwned + Default>(path: &Path) -> (T, LoadReport) {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return (T::default(), LoadReport::Missing);
        }
        Err(e) => {
            tracing::error!(path = %path.display(), error = %e, "cannot read state file; starting empty");
            return (T::default(), LoadReport::Unreadable(e.to_string()));
        }
    };
    match serde_json::from_slice(&bytes) {
        Ok(v) => (v, LoadReport::Loaded),
        Err(err) => {
            let err = StoreError::parse(path, &err);
            match quarantine(path) {
                Ok(moved) => {
                    tracing::warn!(
                        "{err}; moved it aside to {} and starting with empty state",
                        moved.display()
                    );
                    (T::default(), LoadReport::Quarantined(moved))
                }
                Err(e) => {
                    tracing::error!("{err}; could not move it aside ({e}); starting empty");
                    (T::default(), LoadReport::Unreadable(e.to_string()))
                }
            }
        }
    }
}

/// Renames a corrupt file to `<name>.corrupt-<UTC timestamp>` (suffixed `-N` if taken).
pub fn quarantine(path: &Path) -> io::Result<PathBuf> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let name = path
        .file_name()
        .map_or_else(|| "state".into(), |n| n.to_string_lossy().into_owned());
    let mut target = path.with_file_name(format!("{name}.corrupt-{stamp}"));
    let mut n = 1;
    while target.exists() {
        target = path.with_file_name(format!("{name}.corrupt-{stamp}-{n}"));
        n += 1;
    }
    fs::rename(path, &target)?;
    Ok(target)
}

/// Creates `dir` (and parents) with mode `0700`, tightening an existing one.
pub fn ensure_private_dir(dir: &Path) -> Result<(), StoreError> {
    fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(|e| StoreError::io(dir, e))
}

/// An exclusive lock on `<path>.lock` (created 0600 beside `path`), held until the
/// guard is dropped: one read-modify-write at a time of a file that several
/// processes change (the agent and `ductor …` commands).
pub fn lock_beside(path: &Path) -> Result<nix::fcntl::Flock<File>, StoreError> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let lock = PathBuf::from(name);
    let err = |source: io::Error| StoreError::Io {
        path: lock.clone(),
        source,
    };
    if let Some(dir) = lock.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(err)?;
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&lock)
        .map_err(err)?;
    nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| err(e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn write_then_read_roundtrip_keeps_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        write_json(&path, &json!({"b": 1, "a": "ü"})).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text, "{\n  \"b\": 1,\n  \"a\": \"ü\"\n}\n");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        write_json(&path, &json!([])).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp files left behind");
    }

    #[test]
    fn strict_read_reports_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        fs::write(&path, "{\n  \"a\": 1,\n  \"b\": ,\n}\n").unwrap();
        let err = read_json_strict::<Value>(&path).unwrap_err();
        match &err {
            StoreError::Parse { line, column, .. } => assert_eq!((*line, *column), (3, 8)),
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.to_string().contains("line 3, column 8"));
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "{\n  \"a\": 1,\n  \"b\": ,\n}\n"
        );
        assert!(
            read_json_strict::<Value>(&dir.path().join("nope.json"))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn corrupt_state_is_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sessions.json");
        fs::write(&path, "{ not json").unwrap();
        let (v, report): (Vec<u32>, _) = load_state(&path);
        assert!(v.is_empty());
        let LoadReport::Quarantined(moved) = report else {
            panic!("expected quarantine, got {report:?}")
        };
        assert!(!path.exists());
        assert_eq!(fs::read_to_string(&moved).unwrap(), "{ not json");
        assert!(
            moved
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("sessions.json.corrupt-")
        );
        let (_, report): (Vec<u32>, _) = load_state(&path);
        assert_eq!(report, LoadReport::Missing);
    }
}
