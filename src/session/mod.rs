//! Conversations: the one turn pipeline and the actors that own it. Every run —
//! a chat turn, a named session, a background task, an inter-agent request — is a
//! [`TurnRequest`] for an (address, [`Lane`]); one actor per pair runs its turns one
//! at a time ([`actor`]), through one pipeline (`pipeline`): plan, launch, record,
//! stale-session retry, report. Where a lane's CLI session lives is the lane's
//! [`Binding`] (this module's own for the main lane; named sessions and tasks bring
//! theirs). The [`runs::RunBoard`] knows every queued and running turn.
//!
//! Owns `sessions.json` ([`store`]), `inflight_turns.json` ([`inflight`]) and the
//! outbox journal ([`outbox`]). Must not talk to a transport, nor import the
//! modules that use it (named sessions, tasks, commands).

pub mod actor;
pub mod conversation;
pub mod freshness;
pub mod hooks;
pub mod inflight;
pub mod lane;
pub mod once;
pub mod outbox;
mod pipeline;
pub mod prompt;
pub mod runs;
pub mod store;

#[cfg(test)]
mod tests;

use crate::address::Address;
use crate::address::MessageRef;
use crate::config::LiveConfig;
use crate::exec::{Launcher, TimeoutKind};
use crate::ipc::BusClient;
use crate::paths::AgentPaths;
use crate::provider::ProviderKind;
use crate::provider::event::{Event, Outcome};
use actor::{Actor, ActorMap, Cmd, Which};
use runs::{RunBoard, RunInfo, RunState};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};
use store::{SessionStore, Target};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

pub use inflight::InflightStore;
pub use lane::{Lane, LaneKind};

/// What a turn reports while it waits, runs and ends.
#[derive(Debug, Clone)]
pub enum TurnUpdate {
    /// The lane is busy: the turn waits as queue entry `entry`.
    Queued {
        /// Entry id (for the cancel button).
        entry: u64,
    },
    /// The turn leaves the queue without running (cancelled, or discarded by a stop).
    Dropped {
        /// True when a stop discarded it, false when its own Cancel button did.
        by_stop: bool,
    },
    /// The turn starts running.
    Started {
        /// Provider/model of this turn.
        target: Target,
        /// Session id it resumes (`None` = new session).
        resume: Option<String>,
        /// Its working directory (relative `<file:…>` paths of its answer start here).
        cwd: PathBuf,
    },
    /// An event of the CLI run.
    Event(Event),
    /// The stored session was gone; it was reset and the turn retries fresh.
    SessionReset,
    /// The turn ended.
    Finished(Box<TurnFinish>),
}

/// How a finished turn ended.
#[derive(Debug, Clone)]
pub struct TurnFinish {
    /// The outcome of the (last) run; a refusal of the lane is a `Failed` with its sentence.
    pub outcome: Outcome,
    /// Provider/model the turn ran on.
    pub target: Target,
    /// Whether it was stopped on request.
    pub cancelled: bool,
    /// The stored session was gone and a fresh one was started.
    pub recovered: bool,
    /// The lane refused the turn before anything ran (the outcome's detail says why).
    pub refused: bool,
    /// Wall time from the start of the turn.
    pub elapsed: Duration,
}

impl TurnFinish {
    /// Whether the CLI completed.
    pub fn ok(&self) -> bool {
        matches!(self.outcome, Outcome::Completed { .. })
    }

    /// The answer, or a one-line description of the failure.
    pub fn text(&self) -> String {
        match &self.outcome {
            Outcome::Completed { text, .. } => text.clone(),
            Outcome::Failed { kind, detail, .. } => {
                let detail = detail.trim();
                if detail.is_empty() {
                    format!("{kind:?}")
                } else {
                    detail.to_owned()
                }
            }
        }
    }
}

/// A turn to run.
#[derive(Debug, Clone)]
pub struct TurnRequest {
    /// The lane it runs in.
    pub lane: Lane,
    /// The prompt for the CLI.
    pub prompt: String,
    /// One-turn provider/model (`@model` directive, main lane only).
    pub target_override: Option<Target>,
    /// The message the turn answers (kept for recovery).
    pub reply_to: Option<MessageRef>,
    /// Whether this re-runs an interrupted turn.
    pub is_recovery: bool,
    /// Which timeout applies; `Interactive` turns are streamed into a chat
    /// (`/stop` and `/interrupt` reach them), the others run in the background.
    pub timeout: TimeoutKind,
    /// The caller's own stop: once cancelled, the turn stops (or, still queued, never
    /// launches its CLI).
    pub cancel: Option<CancellationToken>,
    /// Why the turn runs (a user's turn, or upkeep the user never sees).
    pub purpose: Purpose,
    /// Where the turn reports.
    pub updates: mpsc::Sender<TurnUpdate>,
    /// The user who asked for it (transport-specific id), when a user did: in a
    /// group only they answer its CLI's requests.
    pub by: Option<String>,
}

/// Why a turn runs. Upkeep turns (heartbeat, memory flush) resume the conversation's
/// session like a user's turn, but leave no trace the user would notice: no
/// recovery record, no memory hooks, and the session's counters only move when the
/// user gets something to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Purpose {
    /// A turn somebody asked for (a message, a task, a job).
    #[default]
    Turn,
    /// A heartbeat: an answer that is only `ack` (after trimming) leaves the
    /// session as it was.
    Heartbeat {
        /// The acknowledgement token.
        ack: String,
    },
    /// Silent memory upkeep (the flush after a compaction): output discarded, the
    /// session's counters untouched.
    Upkeep,
}

impl Purpose {
    /// Whether this is a turn somebody asked for.
    pub fn is_turn(&self) -> bool {
        *self == Purpose::Turn
    }
}

impl TurnRequest {
    /// An interactive turn with `prompt` in `lane`, replying to nothing.
    pub fn new(lane: Lane, prompt: String, updates: mpsc::Sender<TurnUpdate>) -> Self {
        Self {
            lane,
            prompt,
            target_override: None,
            reply_to: None,
            is_recovery: false,
            timeout: TimeoutKind::Interactive,
            cancel: None,
            purpose: Purpose::Turn,
            updates,
            by: None,
        }
    }

    /// Whether it streams into a chat.
    pub fn is_foreground(&self) -> bool {
        self.timeout == TimeoutKind::Interactive
    }
}

/// What a lane's binding decided for one turn.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Provider/model/effort.
    pub target: Target,
    /// Session id to resume (`None` = a new CLI session).
    pub resume: Option<String>,
    /// Working directory.
    pub cwd: PathBuf,
    /// Give a new session the preamble (memory, roster).
    pub preamble: bool,
    /// `DUCTOR_TASK_ID` of the run.
    pub task_id: Option<String>,
    /// CLI arguments after `cli_parameters` (a job's own).
    pub extra_args: Vec<String>,
}

/// Where the CLI session of one kind of lane lives, and what a turn records there.
/// The pipeline calls these in order: `plan`, `begin`, `session_started` (whenever
/// the CLI names its session), `reset` (before the one retry), `finish`.
pub trait Binding: Send + Sync + std::fmt::Debug {
    /// What the turn runs with; `Err(sentence)` refuses it (the user sees the sentence).
    fn plan(&self, address: &Address, req: &TurnRequest) -> Result<Plan, String>;
    /// The turn starts.
    fn begin(&self, _address: &Address, _req: &TurnRequest, _plan: &Plan) {}
    /// The CLI announced its session id.
    fn session_started(
        &self,
        address: &Address,
        req: &TurnRequest,
        provider: ProviderKind,
        session_id: &str,
    );
    /// The stored session was gone: forget it before the retry.
    fn reset(&self, address: &Address, lane: &Lane, target: &Target);
    /// The turn ended with `outcome`; when `shutting_down`, leave what lets the next
    /// start recover it.
    fn finish(
        &self,
        address: &Address,
        req: &TurnRequest,
        plan: &Plan,
        outcome: &Outcome,
        shutting_down: bool,
    );
}

/// The bindings of the lanes besides the main one.
#[derive(Debug, Clone)]
pub struct Bindings {
    /// Named sessions (`named_sessions.json`).
    pub named: Arc<dyn Binding>,
    /// Background tasks (`tasks.json`).
    pub task: Arc<dyn Binding>,
    /// One-shot automation runs.
    pub oneshot: Arc<once::OneshotBinding>,
}

/// What every run of one agent needs: paths, config, the launcher, the bindings.
#[derive(Debug)]
pub struct Engine {
    /// The agent's paths.
    pub paths: AgentPaths,
    /// The agent's config.
    pub config: LiveConfig,
    /// `sessions.json`.
    pub sessions: SessionStore,
    /// `inflight_turns.json`.
    pub inflight: InflightStore,
    launcher: Arc<dyn Launcher>,
    bus: Option<BusClient>,
    main: conversation::ConversationBinding,
    others: Bindings,
    shutting_down: AtomicBool,
    compactions: (
        mpsc::UnboundedSender<Address>,
        std::sync::Mutex<Option<mpsc::UnboundedReceiver<Address>>>,
    ),
}

impl Engine {
    /// An engine over the agent's state files; conversation times follow `clock`.
    /// Must be called inside a tokio runtime.
    pub fn new(
        paths: AgentPaths,
        config: LiveConfig,
        launcher: Arc<dyn Launcher>,
        bus: Option<BusClient>,
        others: Bindings,
        clock: crate::cron::Clock,
    ) -> Self {
        let sessions = SessionStore::load(&paths.sessions_file());
        let inflight = InflightStore::load(&paths.inflight_file());
        Self {
            main: conversation::ConversationBinding {
                paths: paths.clone(),
                config: config.clone(),
                sessions: sessions.clone(),
                inflight: inflight.clone(),
                clock,
            },
            paths,
            config,
            sessions,
            inflight,
            launcher,
            bus,
            others,
            shutting_down: AtomicBool::new(false),
            compactions: {
                let (tx, rx) = mpsc::unbounded_channel();
                (tx, std::sync::Mutex::new(Some(rx)))
            },
        }
    }

    fn binding(&self, kind: LaneKind) -> &dyn Binding {
        match kind {
            LaneKind::Main => &self.main,
            LaneKind::Named => self.others.named.as_ref(),
            LaneKind::Task => self.others.task.as_ref(),
            LaneKind::Oneshot => self.others.oneshot.as_ref(),
        }
    }

    /// The plans of the one-shot lanes (cron jobs, webhooks).
    pub fn oneshot(&self) -> &once::OneshotBinding {
        &self.others.oneshot
    }

    /// The conversations whose CLI compacted its context in a user's turn, in order
    /// (for memory upkeep; the first caller gets them, later ones `None`).
    pub fn take_compactions(&self) -> Option<mpsc::UnboundedReceiver<Address>> {
        self.compactions
            .1
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// A user's turn at `address` ended after its CLI compacted the context.
    fn compacted(&self, address: &Address) {
        tracing::info!(%address, "the CLI compacted its context");
        let _ = self.compactions.0.send(address.clone());
    }

    /// Whether the agent is shutting down (interrupted runs are left recoverable).
    pub fn shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Relaxed)
    }

    /// Names of the agents running now (from the supervisor; just this agent without one).
    pub async fn roster(&self) -> Vec<String> {
        let own = vec![self.paths.name().to_owned()];
        let Some(bus) = &self.bus else {
            return own;
        };
        let req = crate::ipc::Body::HealthRequest(crate::ipc::message::HealthRequest {});
        match bus.request(None, req, Duration::from_secs(2)).await {
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

/// A background turn for [`Conversations::run`].
#[derive(Debug, Clone)]
pub struct Job {
    /// The lane.
    pub lane: Lane,
    /// The prompt.
    pub prompt: String,
    /// Which timeout applies.
    pub timeout: TimeoutKind,
    /// The caller's stop (see [`TurnRequest::cancel`]).
    pub cancel: Option<CancellationToken>,
    /// Why it runs.
    pub purpose: Purpose,
}

/// How a turn run with [`Conversations::run`] ended.
#[derive(Debug, Clone)]
pub enum Ran {
    /// It ran to its end (completed, failed, stopped while running, or refused).
    Finished(TurnFinish),
    /// A stop discarded it from the queue before it started.
    Dropped,
    /// The agent shut down before it ended; its lane's binding keeps it recoverable.
    CutOff,
}

/// What a stop did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StopReport {
    /// Running turns that were stopped.
    pub stopped: usize,
    /// Queued turns that were discarded.
    pub discarded: usize,
}

impl StopReport {
    /// Whether anything was stopped or discarded.
    pub fn any(&self) -> bool {
        self.stopped > 0 || self.discarded > 0
    }

    fn add(&mut self, other: StopReport) {
        self.stopped += other.stopped;
        self.discarded += other.discarded;
    }
}

struct Shared {
    engine: Arc<Engine>,
    map: Arc<ActorMap>,
    board: Arc<RunBoard>,
    next_entry: AtomicU64,
    next_generation: AtomicU64,
}

/// All conversations of one agent: submit turns, stop them, see what runs.
/// Cheap to clone.
#[derive(Clone)]
pub struct Conversations {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Conversations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conversations")
            .field("agent", &self.shared.engine.paths.name())
            .finish_non_exhaustive()
    }
}

fn preview(prompt: &str) -> String {
    prompt.chars().take(60).collect()
}

impl Conversations {
    /// The conversations of `engine`.
    pub fn new(engine: Arc<Engine>) -> Self {
        // Entry ids start at the current time so a cancel button from before a restart
        // can never hit a new turn.
        let start = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_secs() * 1000);
        Self {
            shared: Arc::new(Shared {
                engine,
                map: Arc::default(),
                board: Arc::default(),
                next_entry: AtomicU64::new(start),
                next_generation: AtomicU64::new(1),
            }),
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.shared.engine
    }

    /// What is queued and running.
    pub fn board(&self) -> &RunBoard {
        &self.shared.board
    }

    /// Sends `cmd` to the actor of `key`, creating it if needed. Returns the command
    /// when no actor may be created (only `Submit` creates one).
    async fn send(&self, key: (Address, Lane), cmd: Cmd, create: bool) -> Result<(), Cmd> {
        let mut cmd = cmd;
        for _ in 0..3 {
            let tx = {
                let mut map = self
                    .shared
                    .map
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                let tx = match map.get(&key) {
                    Some((_, tx)) => tx.clone(),
                    None if create => self.spawn_actor(&mut map, key.clone()),
                    None => return Err(cmd),
                };
                // Sending under the map lock: an idle actor retires under the same
                // lock only while its channel is empty (see `Actor::retire`).
                match tx.try_send(cmd) {
                    Ok(()) => return Ok(()),
                    Err(mpsc::error::TrySendError::Full(c)) => {
                        cmd = c;
                        tx
                    }
                    Err(mpsc::error::TrySendError::Closed(c)) => {
                        map.remove(&key);
                        cmd = c;
                        continue;
                    }
                }
            };
            // The channel is full, so the actor is not idle and cannot retire meanwhile.
            match tx.send(cmd).await {
                Ok(()) => return Ok(()),
                Err(mpsc::error::SendError(c)) => cmd = c,
            }
        }
        Err(cmd)
    }

    fn spawn_actor(
        &self,
        map: &mut std::collections::HashMap<(Address, Lane), (u64, mpsc::Sender<Cmd>)>,
        key: (Address, Lane),
    ) -> mpsc::Sender<Cmd> {
        let (tx, rx) = mpsc::channel(64);
        let generation = self.shared.next_generation.fetch_add(1, Ordering::Relaxed);
        let actor = Actor::new(
            key.clone(),
            generation,
            self.shared.engine.clone(),
            self.shared.board.clone(),
            self.shared.map.clone(),
        );
        tokio::spawn(actor.run(rx));
        map.insert(key, (generation, tx.clone()));
        tx
    }

    /// The actors that exist now, filtered by key.
    fn keys(&self, pred: impl Fn(&Address, &Lane) -> bool) -> Vec<(Address, Lane)> {
        self.shared
            .map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .filter(|(a, l)| pred(a, l))
            .cloned()
            .collect()
    }

    /// How many actors exist (each owns one lane of one conversation).
    pub fn actor_count(&self) -> usize {
        self.shared
            .map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Submits a turn at `address`; it runs now or after the ones waiting in its lane.
    /// Returns its entry id.
    pub async fn submit(&self, address: &Address, req: TurnRequest) -> u64 {
        let entry = self.shared.next_entry.fetch_add(1, Ordering::Relaxed);
        self.shared.board.add(RunInfo {
            entry,
            address: address.clone(),
            lane: req.lane.clone(),
            state: RunState::Queued,
            foreground: req.is_foreground(),
            since: Instant::now(),
            timeout: req.timeout,
            preview: preview(&req.prompt),
        });
        let key = (address.clone(), req.lane.clone());
        if self
            .send(key, Cmd::Submit(entry, Box::new(req)), true)
            .await
            .is_err()
        {
            tracing::error!(%address, "no actor could take the turn");
            self.shared.board.remove(entry);
        }
        entry
    }

    /// Submits `job` and returns a future that waits for its end; the turn is on the
    /// board (it counts and can be stopped) before this returns. `on_event` sees the
    /// CLI's events.
    pub async fn start_run(
        &self,
        address: &Address,
        job: Job,
        mut on_event: impl FnMut(&Event) + Send + 'static,
    ) -> impl std::future::Future<Output = Ran> + Send + 'static {
        let (tx, mut rx) = mpsc::channel(256);
        let req = TurnRequest {
            timeout: job.timeout,
            cancel: job.cancel,
            purpose: job.purpose,
            ..TurnRequest::new(job.lane, job.prompt, tx)
        };
        self.submit(address, req).await;
        async move {
            while let Some(update) = rx.recv().await {
                match update {
                    TurnUpdate::Event(ev) => on_event(&ev),
                    TurnUpdate::Finished(f) => return Ran::Finished(*f),
                    TurnUpdate::Dropped { .. } => return Ran::Dropped,
                    _ => {}
                }
            }
            Ran::CutOff
        }
    }

    /// Runs `job` and waits for its end (see [`Conversations::start_run`]).
    pub async fn run(
        &self,
        address: &Address,
        job: Job,
        on_event: impl FnMut(&Event) + Send + 'static,
    ) -> Ran {
        self.start_run(address, job, on_event).await.await
    }

    /// Cancels a queued turn of conversation `at` by its entry id; false when it is
    /// not queued (any more) or belongs to another conversation (a Cancel button's
    /// data copied into another chat cancels nothing).
    pub async fn cancel_queued(&self, at: &Address, entry: u64) -> bool {
        self.dequeue(at, entry, false).await.is_some()
    }

    /// Takes a queued turn of conversation `at` out of the queue without a trace
    /// (it goes on as more text for the running turn); its prompt, when it was
    /// still queued there.
    pub async fn take_queued(&self, at: &Address, entry: u64) -> Option<String> {
        self.dequeue(at, entry, true).await
    }

    async fn dequeue(&self, at: &Address, entry: u64, quiet: bool) -> Option<String> {
        let key = self.shared.board.locate(entry)?;
        if key.0 != *at {
            tracing::warn!(
                entry,
                "a queued turn's button pressed in another conversation; ignored"
            );
            return None;
        }
        let (tx, rx) = oneshot::channel();
        if self
            .send(key, Cmd::CancelQueued(entry, quiet, tx), false)
            .await
            .is_err()
        {
            return None;
        }
        rx.await.unwrap_or(None)
    }

    async fn stop_key(
        &self,
        key: (Address, Lane),
        which: Which,
        drop_queue: bool,
        silent: bool,
    ) -> StopReport {
        let (tx, rx) = oneshot::channel();
        let cmd = Cmd::Stop {
            which,
            drop_queue,
            silent,
            reply: tx,
        };
        if self.send(key, cmd, false).await.is_err() {
            return StopReport::default();
        }
        rx.await.unwrap_or_default()
    }

    async fn stop_where(
        &self,
        pred: impl Fn(&Address, &Lane) -> bool,
        which: Which,
        drop_queue: bool,
        silent: bool,
    ) -> StopReport {
        let mut report = StopReport::default();
        for key in self.keys(pred) {
            report.add(self.stop_key(key, which, drop_queue, silent).await);
        }
        report
    }

    /// `/stop`: stops what streams into `address` (its own turns and `@name`
    /// follow-ups) and discards what waits there; background runs go on.
    pub async fn stop(&self, address: &Address) -> StopReport {
        self.stop_where(|a, _| a == address, Which::Foreground, true, false)
            .await
    }

    /// Stops everything of `lane` at `address`, running and queued.
    pub async fn stop_lane(&self, address: &Address, lane: &Lane) -> StopReport {
        self.stop_key((address.clone(), lane.clone()), Which::All, true, false)
            .await
    }

    /// Stops the running turn of `lane` at `address`; what waits behind it goes on.
    pub async fn stop_running(&self, address: &Address, lane: &Lane) -> bool {
        self.stop_key((address.clone(), lane.clone()), Which::All, false, false)
            .await
            .stopped
            > 0
    }

    /// Stops the streamed follow-ups of every named session at `address`.
    pub async fn stop_named_foreground(&self, address: &Address) -> StopReport {
        self.stop_where(
            |a, l| a == address && l.kind() == LaneKind::Named,
            Which::Foreground,
            true,
            false,
        )
        .await
    }

    /// `/interrupt`: stops the running streamed turns of every topic of the chat of
    /// `address`; queued ones stay. Returns how many were stopped.
    pub async fn interrupt_chat(&self, address: &Address) -> usize {
        self.stop_where(|a, _| a.same_chat(address), Which::Foreground, false, false)
            .await
            .stopped
    }

    /// `stop_all`: every turn of every lane, queues included.
    pub async fn stop_all(&self) -> StopReport {
        self.stop_where(|_, _| true, Which::All, true, false).await
    }

    /// Stops the running main-lane turn of `address` (waiting until it ended), then
    /// runs `f` (state changes like `/new` that must not race a turn recording its
    /// result). Returns whether a turn was stopped.
    pub async fn exclusive(&self, address: &Address, f: impl FnOnce() + Send + 'static) -> bool {
        let (tx, rx) = oneshot::channel();
        let key = (address.clone(), Lane::Main);
        let cmd = Cmd::Exclusive(Box::new(f), tx);
        match self.send(key, cmd, true).await {
            Ok(()) => rx.await.unwrap_or(false),
            Err(_) => false,
        }
    }

    /// Whether a turn of `lane` at `address` runs right now.
    pub fn is_running(&self, address: &Address, lane: &Lane) -> bool {
        self.shared.board.is_running(address, lane)
    }

    /// Shutdown: every run is stopped (bindings keep what lets the next start recover
    /// it), queued turns are discarded silently (what was journaled stays journaled),
    /// then waits up to `limit` for the runs to end and flushes the state files.
    pub async fn shutdown(&self, limit: Duration) {
        let engine = &self.shared.engine;
        engine.shutting_down.store(true, Ordering::Relaxed);
        let deadline = tokio::time::Instant::now() + limit;
        let stop = self.stop_where(|_, _| true, Which::All, true, true);
        // An actor busy with an `/new` waiting for its turn must not hold up shutdown.
        let report = tokio::time::timeout_at(deadline, stop)
            .await
            .unwrap_or_default();
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if !self.shared.board.wait_idle(left).await {
            tracing::warn!("runs did not end in time");
        }
        tracing::info!(stopped = report.stopped, "runs stopped for shutdown");
        engine.sessions.flush().await;
        engine.inflight.flush().await;
    }
}
