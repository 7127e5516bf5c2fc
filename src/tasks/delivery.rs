//! Getting task news to the parent chat through the agent's outbox: a finished
//! task's result (notice + injected prompt), a failure, a cancellation (notice
//! only), a question (notice + injected prompt), a task cut off by a restart.
//! The transport posts the notice and runs the prompt as a turn of that chat's
//! session, after any turn already running there.

use super::{folder, prompt};
use crate::i18n::Catalog;
use crate::session::TurnEnv;
use crate::session::outbox::Outgoing;
use crate::state::sessions::SessionKey;
use crate::state::tasks::TaskRecord;
use std::path::Path;

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

fn key(rec: &TaskRecord) -> SessionKey {
    SessionKey::telegram(rec.chat_id, rec.thread_id)
}

fn catalog(env: &TurnEnv) -> &'static Catalog {
    crate::i18n::catalog(&env.config().language)
}

/// A name that cannot break the Markdown code span it is shown in.
fn code(s: &str) -> String {
    s.replace('`', "'")
}

fn send(env: &TurnEnv, item: Outgoing) {
    if env.outbox.send(item).is_err() {
        tracing::info!("the transport is gone; the task delivery waits for the next start");
    }
}

/// Delivers the end of a run of `rec` (already updated) to its chat.
pub fn ending(env: &TurnEnv, tasks_dir: &Path, rec: &TaskRecord, end: &Ending, run_secs: f64) {
    let text = catalog(env);
    let name = code(&rec.name);
    let memory_path = folder::memory_path(tasks_dir, &rec.task_id);
    let memory = folder::memory_excerpt(tasks_dir, &rec.task_id);
    let item = match end {
        Ending::Done { result } => Outgoing::Inject {
            key: key(rec),
            notice: Some(text.f(
                "tasks.notice_done",
                &[
                    ("name", &name),
                    ("seconds", &(run_secs.round() as u64).to_string()),
                    ("provider", &rec.provider),
                    ("model", &rec.model),
                ],
            )),
            prompt: prompt::completed(rec, result, memory.as_deref(), &memory_path, run_secs),
        },
        Ending::Failed { reason } => Outgoing::Inject {
            key: key(rec),
            notice: Some(text.f(
                "tasks.notice_failed",
                &[("name", &name), ("reason", reason)],
            )),
            prompt: prompt::failed(rec, reason, memory.as_deref(), &memory_path, run_secs),
        },
        Ending::Cancelled => Outgoing::Notice {
            key: key(rec),
            text: text.f("tasks.notice_cancelled", &[("name", &name)]),
        },
    };
    tracing::info!(task = %rec.task_id, status = %rec.status, "delivering a task result");
    send(env, item);
}

/// Forwards a task's question to its chat.
pub fn question(env: &TurnEnv, rec: &TaskRecord, question: &str) {
    let notice = catalog(env).f(
        "tasks.notice_question",
        &[("id", &rec.task_id), ("question", question.trim())],
    );
    send(
        env,
        Outgoing::Inject {
            key: key(rec),
            notice: Some(notice),
            prompt: prompt::question(rec, question),
        },
    );
}

/// Tells the chat of `rec` that a restart cut the task off.
pub fn interrupted(env: &TurnEnv, rec: &TaskRecord) {
    let text = catalog(env).f(
        "tasks.notice_restarted",
        &[("name", &code(&rec.name)), ("id", &rec.task_id)],
    );
    send(
        env,
        Outgoing::Notice {
            key: key(rec),
            text,
        },
    );
}
