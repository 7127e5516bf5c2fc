//! Named sessions (§7.1): extra CLI conversations inside a chat and topic, run in
//! the background (`/session`) or followed up in the foreground (`@name`), and the
//! inter-agent sessions an agent answers other agents in (`ia.<sender>…`).
//!
//! Owns `named_sessions.json` ([`registry`]). Runs go through
//! [`crate::session::background`]; one run per session at a time (a per-session
//! lock); results leave through the outbox. Must not talk to a chat transport.

pub mod interagent;
pub mod names;
pub mod registry;
pub mod run;

use crate::state::named_sessions::NamedSessionRecord;
use registry::{NamedRegistry, Scope};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Background runs (named sessions) allowed per chat at once.
pub const MAX_BACKGROUND_PER_CHAT: usize = 5;

/// Held while a session runs.
type RunLock = Arc<tokio::sync::Mutex<()>>;

/// The named sessions of one agent and the runs in progress.
#[derive(Debug)]
pub struct NamedSessions {
    /// `named_sessions.json`.
    pub registry: NamedRegistry,
    locks: Mutex<HashMap<(Scope, String), RunLock>>,
    background: Mutex<HashMap<i64, usize>>,
    interrupted: Mutex<Vec<NamedSessionRecord>>,
}

/// A background run slot of one chat; frees itself when dropped.
#[derive(Debug)]
pub struct BackgroundSlot {
    owner: Arc<crate::session::TurnEnv>,
    chat_id: i64,
}

impl Drop for BackgroundSlot {
    fn drop(&mut self) {
        let mut counts = self
            .owner
            .named
            .background
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = counts.get_mut(&self.chat_id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(&self.chat_id);
            }
        }
    }
}

impl NamedSessions {
    /// Loads `named_sessions.json`; sessions that were running are kept for [`Self::take_interrupted`].
    pub fn load(path: &Path) -> Self {
        let (registry, interrupted) = NamedRegistry::load(path);
        Self {
            registry,
            locks: Mutex::default(),
            background: Mutex::default(),
            interrupted: Mutex::new(interrupted),
        }
    }

    /// The sessions a restart interrupted (once; later calls get none).
    pub fn take_interrupted(&self) -> Vec<NamedSessionRecord> {
        std::mem::take(
            &mut *self
                .interrupted
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// The lock that keeps one run per session.
    pub fn lock(&self, scope: Scope, name: &str) -> RunLock {
        self.locks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry((scope, name.to_ascii_lowercase()))
            .or_default()
            .clone()
    }

    /// Whether a run of the session is in progress.
    pub fn is_running(&self, scope: Scope, name: &str) -> bool {
        self.lock(scope, name).try_lock().is_err()
    }

    /// Takes one of the chat's background slots; `None` when all
    /// [`MAX_BACKGROUND_PER_CHAT`] are in use.
    pub fn background_slot(
        env: &Arc<crate::session::TurnEnv>,
        chat_id: i64,
    ) -> Option<BackgroundSlot> {
        let mut counts = env
            .named
            .background
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = counts.entry(chat_id).or_default();
        if *n >= MAX_BACKGROUND_PER_CHAT {
            return None;
        }
        *n += 1;
        Some(BackgroundSlot {
            owner: env.clone(),
            chat_id,
        })
    }

    /// Ends a session: its run (if any) is cancelled and it leaves the registry.
    pub fn end(
        &self,
        background: &crate::session::background::BackgroundRuns,
        scope: Scope,
        name: &str,
    ) -> bool {
        let label = run::label(scope, name);
        background.cancel_where(|l| l == label);
        self.registry.end(scope, name)
    }
}
