//! Background tasks (reference §7.2): an agent's CLI delegates long work with
//! `ductor task create …`; the task runs as its own non-streaming CLI session and
//! its result comes back into the chat that started it, as a notice plus a prompt
//! injected into that chat's session.
//!
//! [`TaskHub`] is the single owner of `tasks.json` ([`registry`]) and of
//! `workspace/tasks/<id>/` ([`folder`]). `submit` creates and resumes tasks and
//! forwards questions, `control` cancels and deletes, `runner` drives the runs,
//! [`delivery`] talks to the chats only through the agent's outbox, [`prompt`] holds
//! the texts the models read, [`maintenance`] recovers after restarts and applies
//! retention, [`wire`] maps the bus messages. Must not talk to a chat transport
//! directly or touch another agent's home.
//!
//! Locking: the map of active runs (a short `std` mutex) is taken before the
//! registry's, and every decision that depends on both (start, resume, the end of a
//! run, cancel, delete) happens under it, so a resume cannot slip between a run's
//! end and its status update.

mod control;
pub mod delivery;
pub mod folder;
pub mod maintenance;
pub mod prompt;
pub mod registry;
mod runner;
mod submit;
pub mod wire;

use crate::session::TurnEnv;
use crate::state::tasks::TaskRecord;
pub use registry::{Priority, Registry, Status, status_of};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long `cancel` waits for a run to end (claude gets 5 s after SIGINT, then SIGKILL).
const CANCEL_WAIT: Duration = Duration::from_secs(20);

/// Why a task request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskError {
    /// `tasks.enabled` is false.
    #[error("background tasks are disabled on this agent (tasks.enabled = false)")]
    Disabled,
    /// No such task.
    #[error("no task `{0}`; `ductor task list` shows the tasks")]
    NotFound(String),
    /// The chat already runs `max` counted tasks; nothing was queued.
    #[error(
        "too many background tasks in this chat ({max} max); wait for one to finish or cancel one with `ductor task cancel <id>`"
    )]
    LimitReached {
        /// `tasks.max_parallel`.
        max: u32,
    },
    /// The task's state does not allow it.
    #[error("{0}")]
    Conflict(String),
    /// The request itself is unusable.
    #[error("{0}")]
    BadRequest(String),
    /// Something on this side failed.
    #[error("{0}")]
    Internal(String),
}

/// A task to create.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewTask {
    /// Human name (default: the start of the prompt).
    pub name: Option<String>,
    /// Self-contained instructions.
    pub prompt: String,
    /// Provider override.
    pub provider: Option<String>,
    /// Model override.
    pub model: Option<String>,
    /// Reasoning effort override (`--thinking`).
    pub thinking: Option<String>,
    /// Scheduling class.
    pub priority: Priority,
    /// Chat the result goes to (0 = the primary chat).
    pub chat_id: i64,
    /// Forum topic the result goes to.
    pub topic_id: Option<i64>,
}

/// What a resume did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resumed {
    /// A new run started in the task's session.
    Started,
    /// The task asked a question and is still finishing its run: the follow-up runs
    /// as soon as that run ends.
    Queued,
}

/// A run in progress (or about to start).
struct Active {
    cancel: CancellationToken,
    /// The task asked a question during this run.
    asked: bool,
    /// An answer that arrived while the run was still going.
    follow_up: Option<String>,
    /// Becomes true when the run has ended and the registry says how.
    ended: watch::Receiver<bool>,
}

struct Inner {
    env: Weak<TurnEnv>,
    registry: Registry,
    tasks_dir: PathBuf,
    agent: String,
    active: Mutex<HashMap<String, Active>>,
    tracker: TaskTracker,
    stop: CancellationToken,
}

/// The background tasks of one agent. Cheap to clone.
#[derive(Clone)]
pub struct TaskHub {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for TaskHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskHub")
            .field("agent", &self.inner.agent)
            .finish_non_exhaustive()
    }
}

fn activate(
    active: &mut HashMap<String, Active>,
    id: &str,
) -> (CancellationToken, watch::Sender<bool>) {
    let cancel = CancellationToken::new();
    let (tx, rx) = watch::channel(false);
    active.insert(
        id.to_owned(),
        Active {
            cancel: cancel.clone(),
            asked: false,
            follow_up: None,
            ended: rx,
        },
    );
    (cancel, tx)
}

impl TaskHub {
    /// Loads `tasks.json`, fails tasks a previous process left `running` (telling their
    /// chats), cleans up, and starts the 5-hourly maintenance. Inside a tokio runtime.
    pub fn start(env: &Arc<TurnEnv>) -> Self {
        let hub = Self {
            inner: Arc::new(Inner {
                env: Arc::downgrade(env),
                registry: Registry::load(&env.paths.tasks_file()),
                tasks_dir: env.paths.tasks_dir(),
                agent: env.paths.name().to_owned(),
                active: Mutex::default(),
                tracker: TaskTracker::new(),
                stop: CancellationToken::new(),
            }),
        };
        maintenance::on_start(&hub, env);
        maintenance::spawn(&hub);
        hub
    }

    fn env(&self) -> Result<Arc<TurnEnv>, TaskError> {
        self.inner
            .env
            .upgrade()
            .ok_or_else(|| TaskError::Internal("the agent is shutting down".into()))
    }

    /// The stored record of task `id`.
    fn record(&self, id: &str) -> Result<TaskRecord, TaskError> {
        self.inner
            .registry
            .get(id)
            .ok_or_else(|| TaskError::NotFound(id.to_owned()))
    }

    fn active(&self) -> MutexGuard<'_, HashMap<String, Active>> {
        self.inner
            .active
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The registry (read access for views).
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// The folder holding the task folders.
    pub fn tasks_dir(&self) -> &std::path::Path {
        &self.inner.tasks_dir
    }

    /// The tasks of `chat_id` (all when `None`), newest first.
    pub fn list(&self, chat_id: Option<i64>) -> Vec<TaskRecord> {
        let mut all = self.inner.registry.all();
        if let Some(chat) = chat_id {
            all.retain(|r| r.chat_id == chat);
        }
        all
    }

    /// Shutdown: stops maintenance, stops the runs (they stay `running` on disk, so
    /// the next start reports them as cut off), waits for them briefly and flushes
    /// `tasks.json`.
    pub async fn shutdown(&self, limit: Duration) {
        self.inner.stop.cancel();
        for a in self.active().values() {
            a.cancel.cancel();
        }
        self.inner.tracker.close();
        if tokio::time::timeout(limit, self.inner.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("task runs did not end in time");
        }
        self.inner.registry.flush().await;
    }
}

#[cfg(test)]
mod tests;
