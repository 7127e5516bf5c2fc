//! The run board: every turn that is queued or running on this agent, whatever its
//! lane. It is the one answer to "what is running" — `/status`, `/sessions`, the
//! background limit, cancel buttons of queued messages and shutdown read it. Actors
//! write it (queued → running → gone); nobody else does.

use super::lane::Lane;
use crate::address::Address;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;
use tokio::sync::Notify;

/// Where a turn stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Waiting behind another turn of its lane.
    Queued,
    /// Its CLI runs.
    Running,
}

/// One queued or running turn.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// Entry id (also the queue's cancel-button id).
    pub entry: u64,
    /// The conversation.
    pub address: Address,
    /// The lane.
    pub lane: Lane,
    /// Queued or running.
    pub state: RunState,
    /// Streamed into a chat (`/stop` and `/interrupt` reach it) rather than a
    /// background run.
    pub foreground: bool,
    /// When it was submitted, or started running.
    pub since: Instant,
    /// Which timeout applies to it.
    pub timeout: crate::exec::TimeoutKind,
    /// The start of its prompt.
    pub preview: String,
}

/// The board of one agent.
#[derive(Debug, Default)]
pub struct RunBoard {
    // A std mutex: every access is a short lookup or insert, never held across an await.
    entries: Mutex<HashMap<u64, RunInfo>>,
    ended: Notify,
}

impl RunBoard {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, RunInfo>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a submitted turn.
    pub(super) fn add(&self, info: RunInfo) {
        self.lock().insert(info.entry, info);
    }

    /// Marks `entry` running.
    pub(super) fn started(&self, entry: u64) {
        if let Some(e) = self.lock().get_mut(&entry) {
            e.state = RunState::Running;
            e.since = Instant::now();
        }
    }

    /// Forgets `entry` (it ended, was dropped or cancelled).
    pub(super) fn remove(&self, entry: u64) {
        self.lock().remove(&entry);
        self.ended.notify_waiters();
    }

    /// The address and lane of `entry`.
    pub fn locate(&self, entry: u64) -> Option<(Address, Lane)> {
        self.lock()
            .get(&entry)
            .map(|e| (e.address.clone(), e.lane.clone()))
    }

    /// Every entry matching `pred`.
    pub fn list(&self, pred: impl Fn(&RunInfo) -> bool) -> Vec<RunInfo> {
        let mut out: Vec<RunInfo> = self.lock().values().filter(|e| pred(e)).cloned().collect();
        out.sort_by_key(|e| e.entry);
        out
    }

    /// How many entries match `pred`.
    pub fn count(&self, pred: impl Fn(&RunInfo) -> bool) -> usize {
        self.lock().values().filter(|e| pred(e)).count()
    }

    /// Whether a turn of `lane` at `address` runs right now.
    pub fn is_running(&self, address: &Address, lane: &Lane) -> bool {
        self.count(|e| &e.address == address && &e.lane == lane && e.state == RunState::Running) > 0
    }

    /// Whether `lane` at `address` has a turn running or waiting.
    pub fn has_work(&self, address: &Address, lane: &Lane) -> bool {
        self.count(|e| &e.address == address && &e.lane == lane) > 0
    }

    /// Waits until nothing runs any more, or `limit` passed; returns whether it is idle.
    pub async fn wait_idle(&self, limit: std::time::Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let ended = self.ended.notified();
            if self.count(|e| e.state == RunState::Running) == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, ended).await.is_err() {
                return false;
            }
        }
    }
}
