//! Background tasks (reference §7.2): an agent's CLI delegates long work with
//! `ductor task create …`; the task runs as its own non-streaming CLI session (a
//! [`crate::session::Lane::Task`] of the chat that started it, through the conversation pipeline)
//! and its result comes back into that chat, as a notice plus a prompt injected
//! into the chat's main lane.
//!
//! [`TaskHub`] is the single owner of `tasks.json` ([`registry`]) and of
//! `workspace/tasks/<id>/` ([`folder`]). `submit` creates and resumes tasks and
//! forwards questions, `control` cancels and deletes, `runner` drives the runs,
//! [`delivery`] talks to the chats only through the agent's outbox, [`prompt`] holds
//! the texts the models read, [`maintenance`] recovers after restarts and applies
//! retention, [`wire`] maps the bus messages, [`binding`] tells the pipeline where a
//! task's CLI session lives. Must not talk to a chat transport directly or touch
//! another agent's home.
//!
//! Locking: the map of tasks with a run in flight (a short `std` mutex) is taken
//! before the registry's, and every decision that depends on both (start, resume,
//! the end of a run, cancel, delete) happens under it, so a resume cannot slip
//! between a run's end and its status update.

pub mod binding;
mod control;
pub mod delivery;
pub mod folder;
pub mod maintenance;
pub mod prompt;
pub mod registry;
mod runner;
mod submit;
pub mod wire;

use crate::address::{Address, Directory};
use crate::config::LiveConfig;
use crate::provider::models::ModelCatalogue;
use crate::session::Conversations;
use crate::session::outbox::OutboxTx;
use crate::state::tasks::TaskRecord;
pub use binding::TaskBinding;
pub use registry::{Priority, Registry, Status, status_of};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
pub use submit::resolve_target;
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
    /// Tasks started by tasks `max` deep already; nothing was started.
    #[error(
        "tasks can start tasks only {max} deep (tasks.max_depth); do this part of the work in this task instead"
    )]
    TooDeep {
        /// `tasks.max_depth`.
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
    /// Chat the result goes to (chat id 0 = the primary chat).
    pub origin: Option<Address>,
    /// The task that creates this one, when a task does.
    pub parent: Option<String>,
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

/// A task with a run in flight (or about to start).
struct Active {
    /// Where its runs happen (the lane's address).
    address: Address,
    /// The task asked a question during this run.
    asked: bool,
    /// An answer that arrived while the run was still going.
    follow_up: Option<String>,
    /// A cancel was requested: the run stops (even one still waiting in its lane) and
    /// no further run starts.
    cancel: CancellationToken,
    /// Becomes true when the run has ended and the registry says how.
    ended: watch::Receiver<bool>,
}

/// What the hub needs from the rest of the agent.
#[derive(Debug, Clone)]
pub struct HubParts {
    /// `tasks.json`, shared with the task binding.
    pub registry: Registry,
    /// Where runs happen.
    pub conversations: Conversations,
    /// Where results go.
    pub outbox: OutboxTx,
    /// The agent's config.
    pub config: LiveConfig,
    /// Models per provider (`--model`, `--thinking`).
    pub catalogue: Arc<ModelCatalogue>,
    /// The primary chat (tasks started outside a chat report there).
    pub directory: Arc<dyn Directory>,
}

struct Inner {
    parts: HubParts,
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

/// The address a task's runs and deliveries belong to.
pub fn address_of(rec: &TaskRecord) -> Address {
    Address::new(&rec.transport, rec.chat_id, rec.thread_id)
}

fn activate(
    active: &mut HashMap<String, Active>,
    id: &str,
    address: Address,
) -> watch::Sender<bool> {
    let (tx, rx) = watch::channel(false);
    active.insert(
        id.to_owned(),
        Active {
            address,
            asked: false,
            follow_up: None,
            cancel: CancellationToken::new(),
            ended: rx,
        },
    );
    tx
}

impl TaskHub {
    /// The hub over `parts`: fails tasks a previous process left `running` (telling
    /// their chats), cleans up, and starts the 5-hourly maintenance. Inside a tokio
    /// runtime.
    pub fn start(parts: HubParts) -> Self {
        let paths = parts.conversations.engine().paths.clone();
        let hub = Self {
            inner: Arc::new(Inner {
                tasks_dir: paths.tasks_dir(),
                agent: paths.name().to_owned(),
                parts,
                active: Mutex::default(),
                tracker: TaskTracker::new(),
                stop: CancellationToken::new(),
            }),
        };
        maintenance::on_start(&hub);
        maintenance::spawn(&hub);
        hub
    }

    /// The stored record of task `id`.
    fn record(&self, id: &str) -> Result<TaskRecord, TaskError> {
        self.inner
            .parts
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

    fn registry_ref(&self) -> &Registry {
        &self.inner.parts.registry
    }

    /// The registry (read access for views).
    pub fn registry(&self) -> &Registry {
        self.registry_ref()
    }

    /// Whether tasks are enabled in the current config.
    pub fn enabled(&self) -> bool {
        self.inner.parts.config.get().tasks.enabled
    }

    /// The folder holding the task folders.
    pub fn tasks_dir(&self) -> &std::path::Path {
        &self.inner.tasks_dir
    }

    /// The tasks of the chat of `address` (all when `None`), newest first.
    pub fn list(&self, address: Option<&Address>) -> Vec<TaskRecord> {
        let mut all = self.registry_ref().all();
        if let Some(a) = address {
            all.retain(|r| r.chat_id == a.chat_id && r.transport == a.transport);
        }
        all
    }

    /// Shutdown: stops maintenance, waits briefly for the drivers of the runs (the
    /// conversations' shutdown stopped the runs; they stay `running` on disk, so the
    /// next start reports them as cut off) and flushes `tasks.json`.
    pub async fn shutdown(&self, limit: Duration) {
        self.inner.stop.cancel();
        self.inner.tracker.close();
        if tokio::time::timeout(limit, self.inner.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("task runs did not end in time");
        }
        self.registry_ref().flush().await;
    }
}

#[cfg(test)]
mod tests;
