//! Conversations: one actor per (transport, chat, topic) owns the running CLI turn
//! and the queue of waiting ones, so two runs never share a CLI session. Every
//! entry point (chat messages, buttons, later automation and the API) submits
//! turns through [`SessionManager`]; results come back as [`TurnUpdate`]s that the
//! transport renders.
//!
//! Owns `sessions.json` ([`store`]) and `inflight_turns.json` ([`inflight`]).
//! Must not talk to a chat transport directly.

pub mod actor;
pub mod background;
pub mod freshness;
pub mod inflight;
pub mod outbox;
pub mod prompt;
pub mod store;
pub mod turn;

use crate::config::AgentConfig;
use crate::ipc::BusClient;
use crate::paths::AgentPaths;
use crate::provider::ProviderKind;
use crate::provider::event::Event;
use crate::state::sessions::SessionKey;
use actor::SessionHandle;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use store::{SessionStore, Target};
use tokio::sync::mpsc;

pub use inflight::InflightStore;
pub use turn::TurnFinish;

/// What a turn reports while it waits, runs and ends.
#[derive(Debug, Clone)]
pub enum TurnUpdate {
    /// The actor is busy: the turn waits as queue entry `entry`.
    Queued {
        /// Entry id (for the cancel button).
        entry: u64,
    },
    /// The turn leaves the queue without running (cancelled, or discarded by `/stop`).
    Dropped {
        /// True when `/stop` discarded it, false when its own Cancel button did.
        by_stop: bool,
    },
    /// The turn starts running.
    Started {
        /// Provider/model of this turn.
        target: Target,
        /// Session id it resumes (`None` = new session).
        resume: Option<String>,
    },
    /// An event of the CLI run.
    Event(Event),
    /// The stored session was gone; it was reset and the turn retries fresh.
    SessionReset,
    /// The turn ended.
    Finished(Box<TurnFinish>),
}

/// A turn to run.
#[derive(Debug, Clone)]
pub struct TurnRequest {
    /// The prompt for the CLI.
    pub prompt: String,
    /// One-turn provider/model (`@model` directive); `None` = the conversation's.
    pub target_override: Option<Target>,
    /// Message the reply answers (kept for recovery).
    pub reply_to: Option<i64>,
    /// Whether this re-runs an interrupted turn.
    pub is_recovery: bool,
    /// Run in this named session of the conversation (`@name` follow-up) instead of
    /// the conversation's own session.
    pub named: Option<String>,
    /// Where the turn reports.
    pub updates: mpsc::Sender<TurnUpdate>,
}

impl TurnRequest {
    /// A plain turn with `prompt` in the conversation's own session, replying to nothing.
    pub fn new(prompt: String, updates: mpsc::Sender<TurnUpdate>) -> Self {
        Self {
            prompt,
            target_override: None,
            reply_to: None,
            is_recovery: false,
            named: None,
            updates,
        }
    }
}

/// Shared, read-mostly environment of all turns of one agent.
pub struct TurnEnv {
    /// The agent's paths.
    pub paths: AgentPaths,
    config: RwLock<Arc<AgentConfig>>,
    /// `sessions.json`.
    pub sessions: SessionStore,
    /// `inflight_turns.json`.
    pub inflight: InflightStore,
    /// The bus (for the agent roster); `None` when running without a supervisor.
    pub bus: Option<BusClient>,
    /// Models per provider (for `/model` and `@model`).
    pub catalogue: crate::provider::models::ModelCatalogue,
    /// Runs that do not stream into a chat (tasks, named sessions, inter-agent).
    pub background: background::BackgroundRuns,
    /// Deliveries to the chats (results of background work).
    pub outbox: outbox::OutboxTx,
    /// Named and inter-agent sessions (`named_sessions.json`).
    pub named: crate::named::NamedSessions,
    /// Background tasks, set once the agent started them (unset in bare environments).
    pub tasks: std::sync::OnceLock<crate::tasks::TaskHub>,
    shutting_down: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for TurnEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnEnv")
            .field("agent", &self.paths.name())
            .finish_non_exhaustive()
    }
}

impl TurnEnv {
    /// Builds the environment, loading the agent's state files.
    pub fn new(
        paths: AgentPaths,
        config: AgentConfig,
        bus: Option<BusClient>,
        outbox: outbox::OutboxTx,
    ) -> Self {
        Self {
            background: background::BackgroundRuns::default(),
            outbox,
            named: crate::named::NamedSessions::load(&paths.named_sessions_file()),
            tasks: std::sync::OnceLock::new(),
            sessions: SessionStore::load(&paths.sessions_file()),
            catalogue: crate::agent::cli_run::model_catalogue(&paths),
            inflight: InflightStore::load(&paths.inflight_file()),
            paths,
            config: RwLock::new(Arc::new(config)),
            bus,
            shutting_down: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The current config.
    pub fn config(&self) -> Arc<AgentConfig> {
        self.config
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Replaces the config (hot reload, `/model`).
    pub fn set_config(&self, config: AgentConfig) {
        *self
            .config
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(config);
    }

    /// Whether the agent is shutting down (interrupted turns stay in-flight so the
    /// next start can offer to retry them).
    pub fn shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Relaxed)
    }

    /// The configured default provider/model/effort.
    pub fn default_target(&self, config: &AgentConfig) -> Target {
        Target {
            provider: config.provider.parse().unwrap_or(ProviderKind::Claude),
            model: config.model.clone(),
            effort: Some(config.reasoning_effort.clone()).filter(|e| !e.is_empty()),
        }
    }

    /// Names of the agents running now (from the supervisor; just this agent without one).
    pub async fn roster(&self) -> Vec<String> {
        let own = vec![self.paths.name().to_owned()];
        let Some(bus) = &self.bus else {
            return own;
        };
        let req = crate::ipc::Body::HealthRequest(crate::ipc::message::HealthRequest {});
        match bus
            .request(None, req, std::time::Duration::from_secs(2))
            .await
        {
            Ok(crate::ipc::Body::Health(h)) => h
                .agents
                .into_iter()
                .filter(|a| a.status == crate::ipc::message::AgentStatus::Running)
                .map(|a| a.name)
                .collect(),
            _ => own,
        }
    }
}

/// All session actors of one agent.
#[derive(Debug, Clone)]
pub struct SessionManager {
    env: Arc<TurnEnv>,
    actors: Arc<Mutex<HashMap<SessionKey, SessionHandle>>>,
    queue_index: actor::QueueIndex,
    next_entry: Arc<AtomicU64>,
}

/// What `/stop` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StopReport {
    /// A running turn was stopped.
    pub stopped_run: bool,
    /// Queued turns that were discarded.
    pub discarded: usize,
}

impl SessionManager {
    /// A manager over `env`.
    pub fn new(env: Arc<TurnEnv>) -> Self {
        let start = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_secs() * 1000);
        Self {
            env,
            actors: Arc::default(),
            queue_index: Arc::default(),
            next_entry: Arc::new(AtomicU64::new(start)),
        }
    }

    /// The shared environment.
    pub fn env(&self) -> &Arc<TurnEnv> {
        &self.env
    }

    fn actor(&self, key: &SessionKey) -> SessionHandle {
        let mut actors = self
            .actors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        actors
            .entry(key.clone())
            .or_insert_with(|| {
                actor::spawn(key.clone(), self.env.clone(), self.queue_index.clone())
            })
            .clone()
    }

    fn existing(&self, key: &SessionKey) -> Option<SessionHandle> {
        self.actors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(key)
            .cloned()
    }

    /// Submits a turn; it runs now or after the ones already waiting.
    pub async fn submit(&self, key: &SessionKey, req: TurnRequest) {
        let entry = self.next_entry.fetch_add(1, Ordering::Relaxed);
        self.actor(key).submit(entry, req).await;
    }

    /// Cancels a queued turn by its entry id. Returns false if it is gone
    /// (already running, finished, or lost in a restart).
    pub async fn cancel_queued(&self, entry: u64) -> bool {
        let key = self
            .queue_index
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&entry)
            .cloned();
        match key.and_then(|k| self.existing(&k)) {
            Some(actor) => actor.cancel_queued(entry).await,
            None => false,
        }
    }

    /// Stops the running turn of `key` and discards its queue.
    pub async fn stop(&self, key: &SessionKey) -> StopReport {
        match self.existing(key) {
            Some(actor) => actor.stop(true).await,
            None => StopReport::default(),
        }
    }

    /// Stops the `@name` follow-ups of named session `name` (or of all named sessions) in
    /// conversation `key`, running or queued.
    pub async fn stop_named(&self, key: &SessionKey, name: Option<&str>) -> StopReport {
        match self.existing(key) {
            Some(actor) => actor.stop_named(name.map(str::to_owned)).await,
            None => StopReport::default(),
        }
    }

    /// Interrupts the running turn of `key`; queued turns stay.
    pub async fn interrupt(&self, key: &SessionKey) -> bool {
        match self.existing(key) {
            Some(actor) => actor.stop(false).await.stopped_run,
            None => false,
        }
    }

    /// Interrupts the running turns of every topic of `chat_id` (`/interrupt` is chat-wide).
    pub async fn interrupt_chat(&self, chat_id: i64) -> usize {
        let keys: Vec<SessionKey> = self
            .actors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .keys()
            .filter(|k| k.chat_id == chat_id)
            .cloned()
            .collect();
        let mut n = 0;
        for k in keys {
            if self.interrupt(&k).await {
                n += 1;
            }
        }
        n
    }

    /// Stops everything on this agent (`stop_all`): chat turns, their queues and every
    /// background run; returns the runs stopped.
    pub async fn stop_everything(&self) -> u32 {
        let background = self.env.background.cancel_where(|_| true);
        background + self.stop_chats().await
    }

    /// The actors that exist right now.
    fn handles(&self) -> Vec<SessionHandle> {
        self.actors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    async fn stop_chats(&self) -> u32 {
        let actors = self.handles();
        let mut n = 0;
        for a in actors {
            if a.stop(true).await.stopped_run {
                n += 1;
            }
        }
        n
    }

    /// Stops the running turn of `key` (waiting until it ended), then runs `f`.
    /// Returns whether a turn was stopped.
    pub async fn exclusive(&self, key: &SessionKey, f: impl FnOnce() + Send + 'static) -> bool {
        self.actor(key).exclusive(Box::new(f)).await
    }

    /// Shutdown: stops every turn (they stay recorded as in-flight), waits up to
    /// `limit` for them to end, and flushes the state files.
    pub async fn shutdown(&self, limit: std::time::Duration) {
        self.env.shutting_down.store(true, Ordering::Relaxed);
        let stopped = self.stop_everything().await;
        let start = std::time::Instant::now();
        let actors = self.handles();
        for a in actors {
            while a.is_busy().await && start.elapsed() < limit {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
        tracing::info!(stopped, "turns stopped for shutdown");
        self.env.sessions.flush().await;
        self.env.inflight.flush().await;
        self.env.named.registry.flush().await;
    }

    /// Whether a turn of `key` is running right now.
    pub async fn is_busy(&self, key: &SessionKey) -> bool {
        match self.existing(key) {
            Some(actor) => actor.is_busy().await,
            None => false,
        }
    }
}
