//! A state file with exactly one writer: [`Persisted<T>`] holds the value in memory,
//! callers change it through [`Persisted::update`], and one background task writes
//! the latest version atomically (coalescing bursts). [`Persisted::flush`] waits
//! until everything changed so far is on disk; [`Persisted::save`] also says
//! whether it got there.
//!
//! A file that exists but could not be read at start (permissions, I/O errors) is
//! never written: the empty state in memory must not replace what is on disk.

use crate::store;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::{Notify, watch};

struct Inner<T> {
    path: PathBuf,
    data: Mutex<T>,
    version: Mutex<u64>,
    dirty: Notify,
    written: watch::Sender<u64>,
    /// Why the last write failed (cleared by the next good one).
    failure: Mutex<Option<String>>,
    /// Set when the file could not be read at start: it is never written.
    frozen: Option<String>,
}

/// A value persisted to one JSON file by one writer task.
pub struct Persisted<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Clone for Persisted<T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<T> std::fmt::Debug for Persisted<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Persisted")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl<T> Persisted<T>
where
    T: Serialize + DeserializeOwned + Default + Send + 'static,
{
    /// Loads `path` (see [`store::load_state`]) and starts the writer task.
    /// Must be called inside a tokio runtime.
    pub fn load(path: &Path) -> Self {
        let (value, report) = store::load_state::<T>(path);
        let frozen = match report {
            store::LoadReport::Unreadable(why) => Some(why),
            _ => None,
        };
        Self::start(path, value, frozen)
    }

    /// Starts from `value` (not read from disk).
    pub fn with_value(path: &Path, value: T) -> Self {
        Self::start(path, value, None)
    }

    fn start(path: &Path, value: T, frozen: Option<String>) -> Self {
        let (written, _) = watch::channel(0);
        let inner = Arc::new(Inner {
            path: path.to_path_buf(),
            data: Mutex::new(value),
            version: Mutex::new(0),
            dirty: Notify::new(),
            written,
            failure: Mutex::new(None),
            frozen,
        });
        tokio::spawn(writer(inner.clone()));
        Self { inner }
    }

    fn lock(&self) -> MutexGuard<'_, T> {
        self.inner
            .data
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads the current value.
    pub fn read<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.lock())
    }

    /// Changes the value and schedules a write.
    pub fn update<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let r = f(&mut self.lock());
        *self
            .inner
            .version
            .lock()
            .unwrap_or_else(PoisonError::into_inner) += 1;
        self.inner.dirty.notify_one();
        r
    }

    /// Waits until every change made so far is written.
    pub async fn flush(&self) {
        let target = *self
            .inner
            .version
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut rx = self.inner.written.subscribe();
        let _ = rx.wait_for(|w| *w >= target).await;
    }

    /// Like [`Persisted::flush`], then says whether the file holds the changes: an
    /// error names the file and why it could not be written.
    pub async fn save(&self) -> Result<(), String> {
        self.flush().await;
        match (&self.inner.frozen, self.failure()) {
            (Some(why), _) => Err(format!(
                "{} is not written: it could not be read at start ({why})",
                self.inner.path.display()
            )),
            (None, Some(e)) => Err(e),
            (None, None) => Ok(()),
        }
    }

    fn failure(&self) -> Option<String> {
        self.inner
            .failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The file this value lives in.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }
}

/// Writes the latest version whenever something changed. Lives as long as the
/// runtime (state files live as long as their agent).
async fn writer<T: Serialize + Send + 'static>(inner: Arc<Inner<T>>) {
    let mut warned = false;
    loop {
        inner.dirty.notified().await;
        if let Some(why) = &inner.frozen {
            if !std::mem::replace(&mut warned, true) {
                tracing::error!(
                    path = %inner.path.display(),
                    "not writing the state file: it could not be read at start ({why}); fix it and restart"
                );
            }
            let version = *inner.version.lock().unwrap_or_else(PoisonError::into_inner);
            inner.written.send_replace(version);
            continue;
        }
        let (bytes, version) = {
            let data = inner.data.lock().unwrap_or_else(PoisonError::into_inner);
            let version = *inner.version.lock().unwrap_or_else(PoisonError::into_inner);
            (store::to_pretty_json(&*data), version)
        };
        let path = inner.path.clone();
        match bytes {
            Ok(mut bytes) => {
                bytes.push(b'\n');
                let res =
                    tokio::task::spawn_blocking(move || store::write_atomic(&path, &bytes)).await;
                let failure = match res {
                    Ok(Ok(())) => None,
                    Ok(Err(e)) => Some(e.to_string()),
                    Err(e) => Some(format!("state writer task failed: {e}")),
                };
                if let Some(e) = &failure {
                    tracing::error!("{e}");
                }
                *inner.failure.lock().unwrap_or_else(PoisonError::into_inner) = failure;
            }
            Err(e) => {
                tracing::error!(path = %inner.path.display(), error = %e, "cannot serialize state");
                *inner.failure.lock().unwrap_or_else(PoisonError::into_inner) =
                    Some(format!("{}: cannot serialize: {e}", inner.path.display()));
            }
        }
        inner.written.send_replace(version);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[tokio::test]
    async fn updates_reach_the_disk_once_flushed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let p: Persisted<BTreeMap<String, u32>> = Persisted::load(&path);
        for i in 0..100 {
            p.update(|m| m.insert(format!("k{i}"), i));
        }
        p.flush().await;
        let on_disk: BTreeMap<String, u32> =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(on_disk.len(), 100);
        assert_eq!(p.read(|m| m["k7"]), 7);
        let again: Persisted<BTreeMap<String, u32>> = Persisted::load(&path);
        assert_eq!(again.read(BTreeMap::len), 100);
    }

    #[tokio::test]
    async fn an_unreadable_file_is_never_replaced_and_failed_writes_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be: reading fails with an I/O error.
        let path = dir.path().join("s.json");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("keep"), b"x").unwrap();
        let p: Persisted<BTreeMap<String, u32>> = Persisted::load(&path);
        p.update(|m| m.insert("k".into(), 1));
        let err = p.save().await.unwrap_err();
        assert!(err.contains("could not be read at start"), "{err}");
        assert!(path.join("keep").exists(), "nothing replaced it");

        // A file whose folder was replaced by a file: the write fails and `save` says so.
        let gone = dir.path().join("gone");
        std::fs::create_dir(&gone).unwrap();
        let q: Persisted<BTreeMap<String, u32>> = Persisted::load(&gone.join("t.json"));
        std::fs::remove_dir(&gone).unwrap();
        std::fs::write(&gone, b"in the way").unwrap();
        q.update(|m| m.insert("k".into(), 1));
        let err = q.save().await.unwrap_err();
        assert!(err.contains("gone"), "{err}");
        std::fs::remove_file(&gone).unwrap();
        std::fs::create_dir(&gone).unwrap();
        q.update(|m| m.insert("k".into(), 2));
        assert_eq!(q.save().await, Ok(()), "a good write clears the failure");
    }
}
