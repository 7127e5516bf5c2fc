//! Housekeeping of the task registry: at start, tasks a previous process left
//! `running` become `failed` (their chats are told); at start and every 5 hours,
//! orphans go (task folders without a task, finished tasks without a folder) and
//! retention applies (`finished_retention_hours`, `finished_keep_last`).

use super::{TaskHub, folder, registry, status_of};
use std::collections::HashSet;
use std::time::Duration;

/// How often the sweep runs.
pub const INTERVAL: Duration = Duration::from_hours(5);

/// The error of a task cut off by a restart.
pub const RESTART_REASON: &str = "ductor restarted while the task was running";

/// Start-up: fail interrupted tasks (notifying their chats), then sweep.
pub fn on_start(hub: &TaskHub) {
    let failed = hub
        .registry_ref()
        .fail_interrupted(registry::now(), RESTART_REASON);
    for rec in &failed {
        tracing::warn!(task = %rec.task_id, "task was cut off by a restart");
        hub.deliver_interrupted(rec);
    }
    sweep(hub);
}

/// Runs [`sweep`] every [`INTERVAL`] until the hub shuts down.
pub fn spawn(hub: &TaskHub) {
    let hub = hub.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = hub.inner.stop.cancelled() => return,
                () = tokio::time::sleep(INTERVAL) => {}
            }
            sweep(&hub);
        }
    });
}

/// Removes orphans and tasks past retention; returns how many tasks went.
pub fn sweep(hub: &TaskHub) -> usize {
    let dir = &hub.inner.tasks_dir;
    let reg = hub.registry_ref();
    let known: HashSet<String> = reg.all_ids().into_iter().collect();
    for id in folder::orphans(dir, &known) {
        tracing::info!(folder = %id, "removing a task folder without a task");
        folder::remove(dir, &id);
    }
    let active: HashSet<String> = hub.active().keys().cloned().collect();
    let mut removed = reg
        .remove_where(|r| {
            status_of(r).is_finished()
                && !active.contains(&r.task_id)
                && !folder::dir(dir, &r.task_id).is_dir()
        })
        .len();
    let config = hub.inner.parts.config.get();
    let tasks = &config.tasks;
    for id in reg.expired(
        registry::now(),
        tasks.finished_retention_hours,
        tasks.finished_keep_last,
    ) {
        if !active.contains(&id) && reg.remove(&id).is_some() {
            folder::remove(dir, &id);
            removed += 1;
        }
    }
    if removed > 0 {
        tracing::info!(removed, "task maintenance");
    }
    removed
}
