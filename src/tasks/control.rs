//! Stopping and removing: cancel one task or all of a chat (the run is killed
//! first, the notes stay), delete finished tasks with their folders.

use super::{CANCEL_WAIT, Status, TaskError, TaskHub, delivery, folder, registry, status_of};
use crate::address::Address;
use crate::session::Lane;
use tokio::sync::watch;

impl TaskHub {
    /// Starts cancelling `id`: stops its run (returning a receiver that turns true
    /// when the run has ended), or marks a task without a run cancelled at once.
    async fn begin_cancel(&self, id: &str) -> Result<Option<watch::Receiver<bool>>, TaskError> {
        let running = {
            let mut active = self.active();
            if let Some(a) = active.get_mut(id) {
                a.cancel.cancel();
                Some((a.address.clone(), a.ended.clone()))
            } else {
                let rec = self.record(id)?;
                let status = status_of(&rec);
                if status.is_finished() {
                    return Err(TaskError::Conflict(format!(
                        "task {id} already finished ({})",
                        status.as_str()
                    )));
                }
                let rec = self.registry_ref().update(id, |r| {
                    registry::set_status(r, Status::Cancelled);
                    r.completed_at = Some(registry::now());
                    r.clone()
                });
                drop(active);
                if let Some(rec) = rec {
                    self.deliver_ending(&rec, &delivery::Ending::Cancelled, 0.0);
                }
                None
            }
        };
        let Some((address, ended)) = running else {
            return Ok(None);
        };
        self.inner
            .parts
            .conversations
            .stop_lane(&address, &Lane::Task(id.to_owned()))
            .await;
        Ok(Some(ended))
    }

    /// Waits for a cancelled run to end and reports how it ended.
    async fn finish_cancel(
        &self,
        id: &str,
        ended: Option<watch::Receiver<bool>>,
    ) -> Result<(), TaskError> {
        if let Some(mut ended) = ended {
            let _ = tokio::time::timeout(CANCEL_WAIT, ended.wait_for(|e| *e)).await;
        }
        let rec = self.record(id)?;
        match status_of(&rec) {
            Status::Cancelled => Ok(()),
            Status::Running => Err(TaskError::Internal(format!(
                "task {id} is still stopping; check `ductor task list` in a moment"
            ))),
            s => Err(TaskError::Conflict(format!(
                "task {id} already finished ({})",
                s.as_str()
            ))),
        }
    }

    /// Cancels task `id`: its CLI (and everything it started) is stopped first, its
    /// partial `TASKMEMORY.md` is kept. Resolves once the run has ended; a task that
    /// finished first keeps its result (`conflict`).
    pub async fn cancel(&self, id: &str) -> Result<(), TaskError> {
        let ended = self.begin_cancel(id).await?;
        self.finish_cancel(id, ended).await
    }

    /// Cancels every running or waiting task of the chat of `address`; returns how many.
    pub async fn cancel_chat(&self, address: &Address) -> usize {
        let ids: Vec<String> = self
            .list(Some(address))
            .into_iter()
            .filter(|r| !status_of(r).is_finished())
            .map(|r| r.task_id)
            .collect();
        let mut pending = Vec::new();
        for id in ids {
            if let Ok(ended) = self.begin_cancel(&id).await {
                pending.push((id, ended));
            }
        }
        let mut n = 0;
        for (id, ended) in pending {
            if self.finish_cancel(&id, ended).await.is_ok() {
                n += 1;
            }
        }
        n
    }

    /// Deletes finished task `id` with its folder; running and waiting tasks are refused.
    pub fn delete(&self, id: &str) -> Result<(), TaskError> {
        {
            let active = self.active();
            let rec = self.record(id)?;
            let status = status_of(&rec);
            if active.contains_key(id) || !status.is_finished() {
                return Err(TaskError::Conflict(format!(
                    "task {id} is {}; cancel it first",
                    status.as_str()
                )));
            }
            self.registry_ref().remove(id);
        }
        folder::remove(&self.inner.tasks_dir, id);
        tracing::info!(task = %id, "task deleted");
        Ok(())
    }

    /// Deletes every finished task of the chat of `address` (with folders); returns how many.
    pub fn delete_finished(&self, address: &Address) -> usize {
        let removed = {
            let active = self.active();
            self.registry_ref().remove_where(|r| {
                r.chat_id == address.chat_id
                    && r.transport == address.transport
                    && status_of(r).is_finished()
                    && !active.contains_key(&r.task_id)
            })
        };
        for r in &removed {
            folder::remove(&self.inner.tasks_dir, &r.task_id);
        }
        removed.len()
    }
}
