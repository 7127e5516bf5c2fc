//! Background tasks (reference §7.2): an agent's CLI delegates long work with
//! `ductor task create …`; the task runs as its own non-streaming CLI session and
//! its result comes back into the chat that started it, as a notice plus a prompt
//! injected into that chat's session.
//!
//! [`TaskHub`] is the single owner of `tasks.json` ([`registry`]) and of
//! `workspace/tasks/<id>/` ([`folder`]); `runner` drives the runs, [`delivery`]
//! talks to the chats only through the agent's outbox, [`maintenance`] recovers
//! after restarts and applies retention, [`wire`] maps the bus messages. Must not
//! talk to a chat transport directly or touch another agent's home.

pub mod delivery;
pub mod folder;
pub mod maintenance;
pub mod prompt;
pub mod registry;
mod runner;
pub mod wire;

use crate::config::AgentConfig;
use crate::provider::ProviderKind;
use crate::session::TurnEnv;
use crate::session::store::Target;
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

/// First line of `prompt`, shortened, as a default name.
fn default_name(prompt: &str) -> String {
    let line = prompt.lines().next().unwrap_or_default().trim();
    if line.chars().count() > 40 {
        format!("{}…", folder::clip(line, 40).trim_end())
    } else {
        line.to_owned()
    }
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// Provider/model/effort of a new task: overrides, else the agent's defaults (a
/// model alone picks its provider; another provider alone gets its default model).
fn resolve_target(
    env: &TurnEnv,
    config: &AgentConfig,
    provider: Option<&str>,
    model: Option<&str>,
) -> Result<Target, TaskError> {
    let default = env.default_target(config);
    let model = non_empty(model);
    let provider = match non_empty(provider) {
        Some(p) => p.parse::<ProviderKind>().map_err(|_| {
            TaskError::BadRequest(format!(
                "unknown provider `{p}` (use claude, codex or gemini)"
            ))
        })?,
        None => model.map_or(default.provider, |m| {
            crate::provider::models::provider_for_model(m, &env.catalogue)
        }),
    };
    let model = match model {
        Some(m) => m.to_owned(),
        None if provider == default.provider => default.model.clone(),
        None => env
            .catalogue
            .default_model(provider)
            .unwrap_or_default()
            .to_owned(),
    };
    let effort = if provider == default.provider {
        default.effort
    } else {
        None
    };
    Ok(Target {
        provider,
        model,
        effort,
    })
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

    /// Creates a task and starts its run. Refused when tasks are disabled or the
    /// chat already runs `tasks.max_parallel` counted tasks (nothing is queued).
    pub fn create(&self, req: &NewTask) -> Result<TaskRecord, TaskError> {
        let env = self.env()?;
        let config = env.config();
        if !config.tasks.enabled {
            return Err(TaskError::Disabled);
        }
        let text = req.prompt.trim();
        if text.is_empty() {
            return Err(TaskError::BadRequest("the task prompt is empty".into()));
        }
        let target = resolve_target(&env, &config, req.provider.as_deref(), req.model.as_deref())?;
        let chat_id = if req.chat_id == 0 {
            config.allowed_user_ids.first().copied().unwrap_or(0)
        } else {
            req.chat_id
        };
        let id = self.inner.registry.unused_id();
        let rec = TaskRecord {
            task_id: id.clone(),
            chat_id,
            parent_agent: self.inner.agent.clone(),
            name: non_empty(req.name.as_deref())
                .map_or_else(|| default_name(text), |n| folder::clip(n, 60)),
            prompt_preview: folder::clip(text, 80),
            original_prompt: text.to_owned(),
            provider: target.provider.as_str().to_owned(),
            model: target.model.clone(),
            status: Status::Running.as_str().to_owned(),
            session_id: String::new(),
            created_at: registry::now(),
            completed_at: None,
            elapsed_seconds: 0.0,
            error: String::new(),
            result_preview: String::new(),
            question_count: 0,
            num_turns: 0,
            last_question: String::new(),
            thinking: String::new(),
            reasoning_effort: target.effort.clone().unwrap_or_default(),
            tasks_dir: self.inner.tasks_dir.display().to_string(),
            priority: req.priority.as_str().to_owned(),
            thread_id: req.topic_id,
            extra: serde_json::Map::new(),
        };
        folder::create(&self.inner.tasks_dir, &rec)
            .map_err(|e| TaskError::Internal(format!("cannot create the task folder: {e}")))?;
        let (cancel, ended) = {
            let mut active = self.active();
            if let Err(running) = self
                .inner
                .registry
                .insert_within_limit(rec.clone(), config.tasks.max_parallel)
            {
                drop(active);
                folder::remove(&self.inner.tasks_dir, &id);
                tracing::info!(chat = chat_id, running, "task refused: limit reached");
                return Err(TaskError::LimitReached {
                    max: config.tasks.max_parallel,
                });
            }
            activate(&mut active, &id)
        };
        let memory = folder::memory_path(&self.inner.tasks_dir, &id);
        let prompt = prompt::task_prompt(text, &id, &memory);
        tracing::info!(task = %id, name = %rec.name, provider = %rec.provider, model = %rec.model, "task created");
        self.spawn(env, id, prompt, None, cancel, ended);
        Ok(rec)
    }

    /// Continues task `id` in its CLI session with `text`. Refused while its
    /// previous run still executes, unless that run asked a question (then the
    /// follow-up is queued behind it).
    pub fn resume(&self, id: &str, text: &str) -> Result<Resumed, TaskError> {
        let env = self.env()?;
        let config = env.config();
        if !config.tasks.enabled {
            return Err(TaskError::Disabled);
        }
        let text = text.trim();
        if text.is_empty() {
            return Err(TaskError::BadRequest(
                "the follow-up prompt is empty".into(),
            ));
        }
        let mut active = self.active();
        if let Some(a) = active.get_mut(id) {
            if !a.asked {
                return Err(TaskError::Conflict(format!(
                    "task {id} is still running; wait for its result before resuming it"
                )));
            }
            a.follow_up = Some(match a.follow_up.take() {
                Some(earlier) => format!("{earlier}\n\n{text}"),
                None => text.to_owned(),
            });
            return Ok(Resumed::Queued);
        }
        let rec = self
            .inner
            .registry
            .get(id)
            .ok_or_else(|| TaskError::NotFound(id.to_owned()))?;
        if status_of(&rec) == Status::Running {
            return Err(TaskError::Conflict(format!("task {id} is still running")));
        }
        if rec.session_id.is_empty() || rec.provider.parse::<ProviderKind>().is_err() {
            return Err(TaskError::Conflict(format!(
                "task {id} has no CLI session to continue (it ended before its CLI started); create a new task instead"
            )));
        }
        match self
            .inner
            .registry
            .restart_within_limit(id, config.tasks.max_parallel, |r| {
                r.error.clear();
                r.completed_at = None;
            }) {
            Ok(Some(())) => {}
            Ok(None) => return Err(TaskError::NotFound(id.to_owned())),
            Err(_) => {
                return Err(TaskError::LimitReached {
                    max: config.tasks.max_parallel,
                });
            }
        }
        let (cancel, ended) = activate(&mut active, id);
        drop(active);
        let memory = folder::memory_path(&self.inner.tasks_dir, id);
        let prompt = prompt::resume_prompt(text, &memory);
        tracing::info!(task = %id, "task resumed");
        self.spawn(
            env,
            id.to_owned(),
            prompt,
            Some(rec.session_id),
            cancel,
            ended,
        );
        Ok(Resumed::Started)
    }

    /// Forwards a question of task `id` to its chat; returns at once. The task
    /// becomes `waiting` when its run ends (unless an answer already arrived).
    pub fn ask_parent(&self, id: &str, question: &str) -> Result<(), TaskError> {
        let env = self.env()?;
        let question = question.trim();
        if question.is_empty() {
            return Err(TaskError::BadRequest("the question is empty".into()));
        }
        let rec = {
            let mut active = self.active();
            let running = match active.get_mut(id) {
                Some(a) => {
                    a.asked = true;
                    true
                }
                None => false,
            };
            self.inner.registry.update(id, |r| {
                r.question_count += 1;
                r.last_question = folder::clip(question, 200);
                if !running && !status_of(r).is_finished() {
                    registry::set_status(r, Status::Waiting);
                }
                r.clone()
            })
        }
        .ok_or_else(|| TaskError::NotFound(id.to_owned()))?;
        tracing::info!(task = %id, "task asks its parent");
        delivery::question(&env, &rec, question);
        Ok(())
    }

    /// The tasks of `chat_id` (all when `None`), newest first.
    pub fn list(&self, chat_id: Option<i64>) -> Vec<TaskRecord> {
        let mut all = self.inner.registry.all();
        if let Some(chat) = chat_id {
            all.retain(|r| r.chat_id == chat);
        }
        all
    }

    /// Starts cancelling `id`: kills its run (returning a receiver that turns true
    /// when the run has ended), or marks a task without a run cancelled at once.
    fn begin_cancel(&self, id: &str) -> Result<Option<watch::Receiver<bool>>, TaskError> {
        let active = self.active();
        if let Some(a) = active.get(id) {
            a.cancel.cancel();
            return Ok(Some(a.ended.clone()));
        }
        let rec = self
            .inner
            .registry
            .get(id)
            .ok_or_else(|| TaskError::NotFound(id.to_owned()))?;
        let status = status_of(&rec);
        if status.is_finished() {
            return Err(TaskError::Conflict(format!(
                "task {id} already finished ({})",
                status.as_str()
            )));
        }
        let rec = self.inner.registry.update(id, |r| {
            registry::set_status(r, Status::Cancelled);
            r.completed_at = Some(registry::now());
            r.clone()
        });
        drop(active);
        if let (Some(rec), Ok(env)) = (rec, self.env()) {
            delivery::ending(
                &env,
                &self.inner.tasks_dir,
                &rec,
                &delivery::Ending::Cancelled,
                0.0,
            );
        }
        Ok(None)
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
        let rec = self
            .inner
            .registry
            .get(id)
            .ok_or_else(|| TaskError::NotFound(id.to_owned()))?;
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
        let ended = self.begin_cancel(id)?;
        self.finish_cancel(id, ended).await
    }

    /// Cancels every running or waiting task of `chat_id`; returns how many.
    pub async fn cancel_chat(&self, chat_id: i64) -> usize {
        let ids: Vec<String> = self
            .list(Some(chat_id))
            .into_iter()
            .filter(|r| !status_of(r).is_finished())
            .map(|r| r.task_id)
            .collect();
        let mut pending = Vec::new();
        for id in ids {
            if let Ok(ended) = self.begin_cancel(&id) {
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
            let rec = self
                .inner
                .registry
                .get(id)
                .ok_or_else(|| TaskError::NotFound(id.to_owned()))?;
            let status = status_of(&rec);
            if active.contains_key(id) || !status.is_finished() {
                return Err(TaskError::Conflict(format!(
                    "task {id} is {}; cancel it first",
                    status.as_str()
                )));
            }
            self.inner.registry.remove(id);
        }
        folder::remove(&self.inner.tasks_dir, id);
        tracing::info!(task = %id, "task deleted");
        Ok(())
    }

    /// Deletes every finished task of `chat_id` (with folders); returns how many.
    pub fn delete_finished(&self, chat_id: i64) -> usize {
        let removed = {
            let active = self.active();
            self.inner.registry.remove_where(|r| {
                r.chat_id == chat_id
                    && status_of(r).is_finished()
                    && !active.contains_key(&r.task_id)
            })
        };
        for r in &removed {
            folder::remove(&self.inner.tasks_dir, &r.task_id);
        }
        removed.len()
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
