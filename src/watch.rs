//! Watching a few named files in one directory: inotify (through `notify`) when
//! available, polling once a second otherwise. Reports a file name whenever its
//! (inode, size, mtime) fingerprint changes, so atomic renames and in-place edits
//! are both seen and no-op events are not.

use notify::{RecursiveMode, Watcher};
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;

/// Identity of a file's current content (inode, size, mtime).
pub type Fingerprint = Option<(u64, u64, i64, i64)>;

/// The [`Fingerprint`] of `path` now (`None` when it does not exist).
pub fn fingerprint(path: &Path) -> Fingerprint {
    let m = std::fs::metadata(path).ok()?;
    Some((m.ino(), m.len(), m.mtime(), m.mtime_nsec()))
}

/// A running watcher; dropping it stops watching.
pub struct FileWatcher {
    _watcher: Option<notify::RecommendedWatcher>,
    _poller: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for FileWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FileWatcher")
    }
}

/// Watches `names` inside `dir`; changed names arrive on the returned channel
/// (debounced by `settle`, so a burst of writes gives one report).
pub fn watch_files(
    dir: &Path,
    names: &[&str],
    settle: Duration,
) -> (FileWatcher, mpsc::Receiver<String>) {
    let (raw_tx, raw_rx) = mpsc::unbounded_channel::<()>();
    let (out_tx, out_rx) = mpsc::channel::<String>(16);
    let files: Vec<(String, PathBuf)> = names
        .iter()
        .map(|n| ((*n).to_owned(), dir.join(n)))
        .collect();

    let tx = raw_tx.clone();
    let watched: Vec<PathBuf> = files.iter().map(|(_, p)| p.clone()).collect();
    let watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(ev) = res
            && ev.paths.iter().any(|p| watched.contains(p))
        {
            let _ = tx.send(());
        }
    })
    .and_then(|mut w| w.watch(dir, RecursiveMode::NonRecursive).map(|()| w));
    let (watcher, poller) = match watcher {
        Ok(w) => (Some(w), None),
        Err(e) => {
            tracing::info!(dir = %dir.display(), error = %e, "file events unavailable; polling every second");
            let tx = raw_tx.clone();
            let poll = tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                loop {
                    tick.tick().await;
                    if tx.send(()).is_err() {
                        break;
                    }
                }
            });
            (None, Some(poll))
        }
    };
    drop(raw_tx);
    tokio::spawn(diff_loop(files, raw_rx, out_tx, settle));
    (
        FileWatcher {
            _watcher: watcher,
            _poller: poller,
        },
        out_rx,
    )
}

async fn diff_loop(
    files: Vec<(String, PathBuf)>,
    mut raw: mpsc::UnboundedReceiver<()>,
    out: mpsc::Sender<String>,
    settle: Duration,
) {
    let mut last: HashMap<String, Fingerprint> = files
        .iter()
        .map(|(n, p)| (n.clone(), fingerprint(p)))
        .collect();
    while raw.recv().await.is_some() {
        tokio::time::sleep(settle).await;
        while raw.try_recv().is_ok() {}
        for (name, path) in &files {
            let now = fingerprint(path);
            if last.get(name) != Some(&now) {
                last.insert(name.clone(), now);
                if out.send(name.clone()).await.is_err() {
                    return;
                }
            }
        }
    }
}
