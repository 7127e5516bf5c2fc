//! [`HookStore`]: the hooks of `webhooks.json` in memory for the server, and every
//! change to the file as a read-modify-write under an exclusive `flock` on
//! `webhooks.json.lock`, so the server's bookkeeping and a `ductor webhooks` command
//! never lose each other's writes.
//!
//! The file belongs to the user as much as to ductor: it is never moved aside or
//! rewritten from memory. A file that does not parse keeps the previous hooks
//! serving (the error is logged once and kept for [`HookStore::last_load_error`]),
//! and every write refuses to touch it until it is fixed.

use super::hook::{Hook, HookAuth};
use crate::state::Lenient;
use crate::state::webhooks::{WebhookRecord, WebhooksFile};
use crate::store::{self, StoreError};
use std::collections::{HashMap, HashSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Longest `last_error` stored.
const MAX_ERROR_CHARS: usize = 200;

/// Errors of the hook store and its management functions.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// The id is not 1–64 of `a-z`, `0-9`, `-`, `_`.
    #[error("invalid hook id {0:?}: use 1-64 lowercase letters, digits, '-' or '_'")]
    InvalidId(String),
    /// A hook with this id exists.
    #[error("a hook with id {0:?} already exists")]
    Duplicate(String),
    /// No hook has this id.
    #[error("no hook with id {0:?}")]
    NotFound(String),
    /// The record of this id does not parse; it is kept as is.
    #[error("hook {0:?} is stored in a shape this version cannot read; fix it in webhooks.json")]
    Unreadable(String),
    /// The hook's settings do not fit together.
    #[error("{0}")]
    Invalid(String),
    /// Token rotation is for bearer hooks.
    #[error("hook {0:?} does not use bearer auth (its HMAC secret comes from the sender)")]
    NotBearer(String),
    /// The OS random source failed.
    #[error("cannot generate a token: {0}")]
    Random(String),
    /// Reading or writing `webhooks.json` failed (including: it does not parse).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The lock file could not be opened or locked.
    #[error("cannot lock {}: {source}", path.display())]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// The hooks being served.
#[derive(Debug, Default)]
struct Snapshot {
    hooks: Vec<Hook>,
    by_id: HashMap<String, usize>,
}

/// The hooks of one `webhooks.json`.
#[derive(Debug)]
pub struct HookStore {
    path: PathBuf,
    snapshot: RwLock<Arc<Snapshot>>,
    load_error: Mutex<Option<String>>,
    /// Fingerprint of the file as last read or written by us: a change event that
    /// leaves it as it is (our own write) is not a reload.
    seen: Mutex<crate::watch::Fingerprint>,
    /// (hook, regex) pairs already warned about.
    warned: Mutex<HashSet<(String, String)>>,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A new random url-safe token (32 bytes, base64 without padding).
pub fn generate_token() -> Result<String, HookError> {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| HookError::Random(e.to_string()))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

impl HookStore {
    /// Opens `path` (usually `<home>/webhooks.json`) and loads it. Never fails: a
    /// missing file means no hooks, a broken one is reported by [`Self::last_load_error`].
    pub fn open(path: impl Into<PathBuf>) -> Self {
        let this = Self {
            path: path.into(),
            snapshot: RwLock::default(),
            load_error: Mutex::new(None),
            seen: Mutex::new(None),
            warned: Mutex::default(),
        };
        let _ = this.reload();
        this
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn current(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The hook with `id`, as last loaded.
    pub fn get(&self, id: &str) -> Option<Hook> {
        let snap = self.current();
        snap.by_id.get(id).map(|i| snap.hooks[*i].clone())
    }

    /// Every readable hook, in file order, as last loaded.
    pub fn list(&self) -> Vec<Hook> {
        self.current().hooks.clone()
    }

    /// Why the file could not be loaded the last time (cleared by a good load).
    pub fn last_load_error(&self) -> Option<String> {
        locked(&self.load_error).clone()
    }

    /// Reads the file again. On error the previous hooks stay and the error is
    /// logged (once per distinct error) and returned.
    pub fn reload(&self) -> Result<usize, String> {
        *locked(&self.seen) = crate::watch::fingerprint(&self.path);
        match store::read_json_strict::<WebhooksFile>(&self.path) {
            Ok(file) => {
                let file = file.unwrap_or_default();
                crate::state::warn_raw("webhooks.json", &file.items);
                let n = self.install(&file);
                if locked(&self.load_error).take().is_some() {
                    tracing::info!(hooks = n, "webhooks.json loads again");
                }
                Ok(n)
            }
            Err(e) => {
                let msg = e.to_string();
                let mut last = locked(&self.load_error);
                if last.as_deref() != Some(msg.as_str()) {
                    tracing::warn!("{msg}; keeping the previously loaded webhooks");
                }
                *last = Some(msg.clone());
                Err(msg)
            }
        }
    }

    /// Reloads unless the file is exactly what we last read or wrote.
    fn reload_if_external(&self) {
        if *locked(&self.seen) == crate::watch::fingerprint(&self.path) {
            return;
        }
        if let Ok(n) = self.reload() {
            tracing::info!(hooks = n, "webhooks.json changed; reloaded");
        }
    }

    /// Makes `file` the served state; returns the number of hooks.
    fn install(&self, file: &WebhooksFile) -> usize {
        let mut snap = Snapshot::default();
        for record in file.records() {
            let hook = Hook::from_record(record);
            if snap.by_id.contains_key(&hook.id) {
                tracing::warn!(hook = %hook.id, "duplicate hook id in webhooks.json; the first one is used");
                continue;
            }
            self.announce(&hook);
            snap.by_id.insert(hook.id.clone(), snap.hooks.len());
            snap.hooks.push(hook);
        }
        let n = snap.hooks.len();
        *self
            .snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(snap);
        n
    }

    /// Registers the hook's secrets for log masking; warns once per bad regex.
    fn announce(&self, hook: &Hook) {
        match &hook.auth {
            HookAuth::Bearer { token } => crate::logging::register_secret(token.expose()),
            HookAuth::Hmac(h) => {
                crate::logging::register_secret(h.secret.expose());
                for p in h.invalid_patterns() {
                    if locked(&self.warned).insert((hook.id.clone(), p.source().to_owned())) {
                        tracing::warn!(
                            hook = %hook.id, regex = p.source(),
                            "webhook regex does not compile; every call of this hook is refused"
                        );
                    }
                }
            }
        }
    }

    /// Read-modify-write of the file under the lock; the result is served at once.
    /// A file that does not parse is refused (nothing is written).
    pub(super) fn modify<R>(
        &self,
        change: impl FnOnce(&mut WebhooksFile) -> Result<R, HookError>,
    ) -> Result<R, HookError> {
        let _lock = store::lock_beside(&self.path)?;
        let mut file = store::read_json_strict::<WebhooksFile>(&self.path)?.unwrap_or_default();
        let out = change(&mut file)?;
        // The file holds secrets: tighten it first, so the replacement (which keeps
        // the old mode; a new file is 0600) is never readable by others.
        match std::fs::set_permissions(&self.path, std::fs::Permissions::from_mode(0o600)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(StoreError::Io {
                    path: self.path.clone(),
                    source: e,
                }
                .into());
            }
            _ => {}
        }
        store::write_json(&self.path, &file)?;
        *locked(&self.seen) = crate::watch::fingerprint(&self.path);
        self.install(&file);
        *locked(&self.load_error) = None;
        Ok(out)
    }

    /// Bookkeeping of a finished run: `trigger_count` + 1, `last_triggered_at` now,
    /// `last_error` (null on success; else cut to 200 characters).
    pub fn record_run(&self, id: &str, error: Option<&str>) -> Result<(), HookError> {
        let error = error.map(|e| e.chars().take(MAX_ERROR_CHARS).collect::<String>());
        self.modify(|file| {
            let record = record_mut(file, id)?;
            let count = record
                .fields
                .get("trigger_count")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0);
            let f = &mut record.fields;
            f.insert("trigger_count".into(), (count + 1).into());
            f.insert("last_triggered_at".into(), now_iso().into());
            f.insert("last_error".into(), error.into());
            Ok(())
        })
    }

    /// Follows the file: external changes are reloaded (our own writes are not).
    /// Stops when `cancel` fires. Must be called inside a tokio runtime.
    pub fn watch(self: &Arc<Self>, cancel: CancellationToken) -> tokio::task::JoinHandle<()> {
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or_else(|| Path::new("."))
            .to_path_buf();
        let name = self.path.file_name().map_or_else(
            || "webhooks.json".into(),
            |n| n.to_string_lossy().into_owned(),
        );
        let (watcher, mut changes) =
            crate::watch::watch_files(&dir, &[name.as_str()], Duration::from_millis(200));
        let store = self.clone();
        tokio::spawn(async move {
            let _watcher = watcher;
            // A change made before the watcher took its first look has no event.
            let first = store.clone();
            let _ = tokio::task::spawn_blocking(move || first.reload_if_external()).await;
            loop {
                tokio::select! {
                    () = cancel.cancelled() => break,
                    changed = changes.recv() => {
                        if changed.is_none() {
                            break;
                        }
                        let store = store.clone();
                        let _ = tokio::task::spawn_blocking(move || store.reload_if_external()).await;
                    }
                }
            }
        })
    }
}

/// Now, in the original's timestamp format (`2026-05-02T11:00:00+00:00`).
pub(super) fn now_iso() -> String {
    crate::session::freshness::format_time(chrono::Utc::now())
}

/// The parsed record of `id`.
pub(super) fn record_mut<'a>(
    file: &'a mut WebhooksFile,
    id: &str,
) -> Result<&'a mut WebhookRecord, HookError> {
    let mut unreadable = false;
    for item in &mut file.items {
        match item {
            Lenient::Ok(r) if r.id == id => return Ok(r),
            Lenient::Raw(v) if v.get("id").and_then(serde_json::Value::as_str) == Some(id) => {
                unreadable = true;
            }
            _ => {}
        }
    }
    Err(if unreadable {
        HookError::Unreadable(id.to_owned())
    } else {
        HookError::NotFound(id.to_owned())
    })
}
