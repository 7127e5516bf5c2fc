//! One task's runs: each is a non-streaming turn in the task's lane (timeout
//! `tasks.timeout_seconds`, `DUCTOR_TASK_ID` set, the stale-session retry of the
//! pipeline included). When a run ends the outcome is classified under the hub's
//! lock — an answer that arrived meanwhile starts the next run at once — and the
//! ending is delivered to the parent chat.

use super::delivery::Ending;
use super::{Status, TaskHub, address_of, folder, prompt, registry};
use crate::exec::TimeoutKind;
use crate::provider::event::{Event, FailureKind, Outcome};
use crate::session::{Job, Lane, Ran};
use crate::state::tasks::TaskRecord;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::sync::watch;

/// What to do after a run.
pub(super) enum Step {
    /// Run again in the same session with this prompt.
    Continue(String),
    /// The task stops here; deliver `ending` (if any) for `rec`.
    End {
        rec: Option<Box<TaskRecord>>,
        ending: Option<Ending>,
    },
}

/// A failure's reason as shown to the parent.
fn reason(kind: FailureKind, detail: &str, timeout_secs: f64) -> String {
    match kind {
        FailureKind::Timeout => format!("Timeout after {}s", timeout_secs.round() as u64),
        _ if detail.trim().is_empty() => "CLI error".to_owned(),
        _ => folder::clip(detail.trim(), 500),
    }
}

/// How one run ended, as the hub books it.
pub(super) struct RunEnd {
    pub(super) outcome: Outcome,
    pub(super) secs: f64,
    pub(super) turns: u32,
    /// The run never finished (shutdown cut it off).
    pub(super) cut_off: bool,
}

impl TaskHub {
    /// Runs task `id` in the background, starting with `prompt`.
    pub(super) fn spawn(&self, id: String, prompt: String, ended: watch::Sender<bool>) {
        let hub = self.clone();
        self.inner.tracker.spawn(async move {
            hub.drive(&id, prompt).await;
            ended.send_replace(true);
        });
    }

    async fn drive(&self, id: &str, mut prompt: String) {
        loop {
            let Some(rec) = self.registry_ref().get(id) else {
                self.active().remove(id);
                return;
            };
            let end = self.run_once(&rec, std::mem::take(&mut prompt)).await;
            match self.after_run(id, &end) {
                Step::Continue(next) => {
                    let memory = folder::memory_path(&self.inner.tasks_dir, id);
                    prompt = prompt::resume_prompt(&next, &memory);
                    tracing::info!(task = %id, "task continues with the parent's answer");
                }
                Step::End { rec, ending } => {
                    if let (Some(rec), Some(ending)) = (rec, ending) {
                        self.deliver_ending(&rec, &ending, end.secs);
                    }
                    return;
                }
            }
        }
    }

    async fn run_once(&self, rec: &TaskRecord, prompt: String) -> RunEnd {
        let cancelled = |detail: &str, cut_off| RunEnd {
            outcome: Outcome::Failed {
                kind: FailureKind::Cancelled,
                detail: detail.to_owned(),
                session_id: None,
            },
            secs: 0.0,
            turns: 0,
            cut_off,
        };
        // The task's own stop: a cancel that comes while the run still waits in its lane
        // keeps its CLI from ever starting.
        let Some(cancel) = self.active().get(&rec.task_id).map(|a| a.cancel.clone()) else {
            return cancelled("the task is no longer active", false);
        };
        let tools = Arc::new(AtomicU32::new(0));
        let counted = tools.clone();
        let job = Job {
            lane: Lane::Task(rec.task_id.clone()),
            prompt,
            timeout: TimeoutKind::Task,
            cancel: Some(cancel),
            purpose: crate::session::Purpose::Turn,
        };
        let ran = self
            .inner
            .parts
            .conversations
            .run(&address_of(rec), job, move |ev| {
                if matches!(ev, Event::ToolStarted { .. }) {
                    counted.fetch_add(1, Ordering::Relaxed);
                }
            })
            .await;
        match ran {
            Ran::Finished(f) => RunEnd {
                secs: f.elapsed.as_secs_f64(),
                outcome: f.outcome,
                turns: tools.load(Ordering::Relaxed) + 1,
                cut_off: false,
            },
            Ran::Dropped => cancelled("stopped before it started", false),
            Ran::CutOff => cancelled("cut off by shutdown", true),
        }
    }

    /// Books the run and decides, under the hub's lock, how the task goes on.
    pub(super) fn after_run(&self, id: &str, end: &RunEnd) -> Step {
        let registry = self.registry_ref();
        let timeout = self.inner.parts.config.get().tasks.timeout_seconds;
        let mut active = self.active();
        let outcome = &end.outcome;
        let session = outcome.session_id().map(str::to_owned);
        let has_session = registry
            .update(id, |r| {
                r.num_turns += end.turns;
                r.elapsed_seconds += end.secs;
                if let Some(s) = &session {
                    r.session_id.clone_from(s);
                }
                !r.session_id.is_empty()
            })
            .unwrap_or(false);
        let stopping = end.cut_off || self.inner.stop.is_cancelled();
        let entry = active.get_mut(id);
        // A run that completed just before a cancel keeps its result.
        let cancelled = matches!(
            outcome,
            Outcome::Failed {
                kind: FailureKind::Cancelled,
                ..
            }
        );
        let flagged = entry.as_ref().is_some_and(|a| a.cancel.is_cancelled());
        let asked = entry.as_ref().is_some_and(|a| a.asked);
        let answer_pending = entry.as_ref().is_some_and(|a| a.follow_up.is_some());
        if let Some(a) = entry
            && !cancelled
            && !flagged
            && !stopping
            && has_session
            && let Some(next) = a.follow_up.take()
        {
            a.asked = false;
            return Step::Continue(next);
        }
        active.remove(id);
        let (status, ending, result) = match outcome {
            // Cut off by shutdown: stays `running`, the next start reports it.
            _ if stopping => (Status::Running, None, None),
            _ if cancelled => (Status::Cancelled, Some(Ending::Cancelled), None),
            // Cancelled between its question and the answer's run: it does not wait on.
            _ if flagged && (asked || answer_pending) => {
                (Status::Cancelled, Some(Ending::Cancelled), None)
            }
            Outcome::Completed { text, .. } if asked => (Status::Waiting, None, Some(text)),
            Outcome::Completed { text, .. } => (
                Status::Done,
                Some(Ending::Done {
                    result: text.clone(),
                }),
                Some(text),
            ),
            Outcome::Failed { kind, detail, .. } => (
                Status::Failed,
                Some(Ending::Failed {
                    reason: reason(*kind, detail, timeout),
                }),
                None,
            ),
        };
        let rec = registry.update(id, |r| {
            registry::set_status(r, status);
            if status.is_finished() {
                r.completed_at = Some(registry::now());
            }
            match &ending {
                Some(Ending::Failed { reason }) => r.error.clone_from(reason),
                _ => r.error.clear(),
            }
            if let Some(text) = result {
                r.result_preview = folder::clip(text.trim(), 200);
            }
            Box::new(r.clone())
        });
        drop(active);
        tracing::info!(task = %id, status = status.as_str(), secs = end.secs.round(), "task run ended");
        Step::End { rec, ending }
    }
}
