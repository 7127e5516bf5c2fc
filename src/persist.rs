//! A state file with exactly one writer: [`Persisted<T>`] holds the value in memory,
//! callers change it through [`Persisted::update`], and one background task writes
//! the latest version atomically (coalescing bursts). [`Persisted::flush`] waits
//! until everything changed so far is on disk.

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
        let (value, _report) = store::load_state::<T>(path);
        Self::with_value(path, value)
    }

    /// Starts from `value` (not read from disk).
    pub fn with_value(path: &Path, value: T) -> Self {
        let (written, _) = watch::channel(0);
        let inner = Arc::new(Inner {
            path: path.to_path_buf(),
            data: Mutex::new(value),
            version: Mutex::new(0),
            dirty: Notify::new(),
            written,
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

    /// The file this value lives in.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }
}

/// Writes the latest version whenever something changed. Lives as long as the
/// runtime (state files live as long as their agent).
async fn writer<T: Serialize + Send + 'static>(inner: Arc<Inner<T>>) {
    loop {
        inner.dirty.notified().await;
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
                match res {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::error!("{e}"),
                    Err(e) => tracing::error!(error = %e, "state writer task failed"),
                }
            }
            Err(e) => {
                tracing::error!(path = %inner.path.display(), error = %e, "cannot serialize state");
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
}
