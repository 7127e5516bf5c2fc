//! Getting task news to the parent chat through the agent's outbox: a finished
//! task's result (notice + injected prompt), a failure, a cancellation (notice
//! only), a question (notice + injected prompt), a task cut off by a restart.
//! The transport posts the notice and runs the prompt as a turn of that chat's
//! session, after any turn already running there.

use super::{TaskHub, address_of, folder, prompt};
use crate::address::Destination;
use crate::i18n::Catalog;
use crate::session::outbox::Outgoing;
use crate::state::tasks::TaskRecord;

/// How a task run ended, as far as the parent is concerned.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    /// Finished; `result` is the CLI's final answer.
    Done {
        /// The final answer.
        result: String,
    },
    /// Failed (error, timeout).
    Failed {
        /// Why.
        reason: String,
    },
    /// Stopped on request.
    Cancelled,
}

/// Longest result put into the parent's turn; the rest stays in the task folder.
pub const INLINE_RESULT: usize = 32 * 1024;

/// `result` for the parent's prompt: whole when short, else its start and where the
/// whole result was saved (`RESULT.md` in the task folder).
pub(super) fn inline_result(tasks_dir: &std::path::Path, id: &str, result: &str) -> String {
    if result.len() <= INLINE_RESULT {
        return result.to_owned();
    }
    let path = folder::dir(tasks_dir, id).join("RESULT.md");
    let saved = crate::store::write_atomic(&path, result.as_bytes());
    let head = crate::util::truncate_bytes(result, INLINE_RESULT);
    match saved {
        Ok(()) => format!(
            "{head}\n\n[… cut at {INLINE_RESULT} bytes; the whole result ({} bytes) is in {}]",
            result.len(),
            path.display()
        ),
        Err(e) => {
            tracing::warn!(error = %e, "cannot save a long task result");
            format!(
                "{head}\n\n[… cut at {INLINE_RESULT} bytes of {}]",
                result.len()
            )
        }
    }
}

fn key(rec: &TaskRecord) -> Destination {
    Destination::from_address(address_of(rec))
}

/// A name that cannot break the Markdown code span it is shown in.
fn code(s: &str) -> String {
    s.replace('`', "'")
}

impl TaskHub {
    fn catalog(&self) -> &'static Catalog {
        crate::i18n::catalog(&self.inner.parts.config.get().language)
    }

    fn send(&self, item: Outgoing) {
        if self.inner.parts.outbox.send(item).is_err() {
            tracing::info!("the transport is gone; the task delivery waits for the next start");
        }
    }

    /// Delivers the end of a run of `rec` (already updated) to its chat.
    pub(super) fn deliver_ending(&self, rec: &TaskRecord, end: &Ending, run_secs: f64) {
        let text = self.catalog();
        let tasks_dir = &self.inner.tasks_dir;
        let name = code(&rec.name);
        let memory_path = folder::memory_path(tasks_dir, &rec.task_id);
        let memory = folder::memory_excerpt(tasks_dir, &rec.task_id);
        let item = match end {
            Ending::Done { result } => Outgoing::Inject {
                to: key(rec),
                notice: Some(text.f(
                    "tasks.notice_done",
                    &[
                        ("name", &name),
                        ("seconds", &(run_secs.round() as u64).to_string()),
                        ("provider", &rec.provider),
                        ("model", &rec.model),
                    ],
                )),
                prompt: prompt::completed(
                    rec,
                    &inline_result(tasks_dir, &rec.task_id, result),
                    memory.as_deref(),
                    &memory_path,
                    run_secs,
                ),
            },
            Ending::Failed { reason } => Outgoing::Inject {
                to: key(rec),
                notice: Some(text.f(
                    "tasks.notice_failed",
                    &[("name", &name), ("reason", reason)],
                )),
                prompt: prompt::failed(rec, reason, memory.as_deref(), &memory_path, run_secs),
            },
            Ending::Cancelled => Outgoing::Notice {
                to: key(rec),
                text: text.f("tasks.notice_cancelled", &[("name", &name)]),
            },
        };
        tracing::info!(task = %rec.task_id, status = %rec.status, "delivering a task result");
        self.send(item);
    }

    /// Forwards a task's question to its chat.
    pub(super) fn deliver_question(&self, rec: &TaskRecord, question: &str) {
        let notice = self.catalog().f(
            "tasks.notice_question",
            &[("id", &rec.task_id), ("question", question.trim())],
        );
        self.send(Outgoing::Inject {
            to: key(rec),
            notice: Some(notice),
            prompt: prompt::question(rec, question),
        });
    }

    /// Tells the chat of `rec` that a restart cut the task off.
    pub(super) fn deliver_interrupted(&self, rec: &TaskRecord) {
        let text = self.catalog().f(
            "tasks.notice_restarted",
            &[("name", &code(&rec.name)), ("id", &rec.task_id)],
        );
        self.send(Outgoing::Notice { to: key(rec), text });
    }
}
