//! Live turns (`cli_mode` `live`): a user's turns in one conversation go to one warm,
//! two-way CLI process that outlives the turn, asks before it runs tools and can be
//! steered.
//!
//! [`LiveLauncher`] sits in front of the agent's launcher: a job that is no user turn
//! (no [`Launch::live`]), or an agent in `oneshot` mode, goes through unchanged;
//! otherwise the conversation's warm process takes the turn, or a new one is opened
//! through the inner launcher ([`Launcher::open_live`], so the sandbox covers it).
//! A warm process is reused only for the same provider, model, working directory and
//! session: `/new`, a reset, a model switch start a new one.
//!
//! [`LiveHub`] is the agent's registry of the warm processes (at most
//! `live.max_processes`, the least recently used goes first, idle ones and ones above
//! `live.memory_cap_mb` end) and of the CLI's pending requests: each becomes an
//! [`Event::Ask`] with a short key that the chat's buttons carry back to
//! [`LiveHub::answer`]. A request nobody answers within
//! `live.approval_timeout_seconds` is denied; a withdrawn one, or one left when the
//! turn ends, is resolved as withdrawn. Either way [`Event::AskResolved`] follows.
//!
//! A process that dies mid-turn ends the turn as crashed (with its stderr); the next
//! turn opens a new process that resumes the session by id. gemini cannot load a
//! session in its live mode, so a gemini conversation without a warm process goes on
//! one-shot (which resumes).

use super::{BoxFuture, Launch, Launcher, OpenError, Opened};
use crate::config::LiveConfig;
use crate::config::cli_mode::{self, CliMode};
use crate::provider::ProviderKind;
use crate::provider::event::{AskEnd, Event, FailureKind, Outcome};
use crate::provider::live::driver::group_rss_kib;
use crate::provider::live::pool::LivePool;
use crate::provider::live::{Answer, AskKind, Decision, LiveEvent};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long an interrupted turn may take to end before its process is killed.
const INTERRUPT_GRACE: Duration = Duration::from_secs(10);
/// How often idle and oversized warm processes are looked for.
const UPKEEP_EVERY: Duration = Duration::from_secs(30);

/// A warm process and what it was opened for.
struct Warm {
    opened: Opened,
    provider: ProviderKind,
    model: Option<String>,
    cwd: PathBuf,
    session_id: Option<String>,
    /// When it started.
    since: Instant,
}

impl Warm {
    /// Ends the process and runs its clean-up.
    async fn close(self) {
        let Opened { process, cleanup } = self.opened;
        process.shutdown().await;
        if let Some(c) = cleanup {
            c.await;
        }
    }

    fn fits(&self, job: &Launch) -> bool {
        self.provider == job.provider
            && self.model == job.spec.model
            && self.cwd == job.cwd
            && job.spec.resume.is_some()
            && self.session_id == job.spec.resume
    }
}

/// What the user can answer to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AskChoice {
    /// A decision on an approval.
    Decision(Decision),
    /// Option `n` of a single question.
    Option(usize),
    /// Free text: the answer to each question, one line per question.
    Text(String),
}

/// Why [`LiveHub::answer`] did not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerError {
    /// The request is no longer pending (answered, withdrawn, timed out, or from
    /// before a restart).
    Expired,
    /// Only the user who started the turn may answer it.
    NotYours,
    /// The choice does not fit the request (an approval answered with text, …).
    Unfit,
}

/// Messages to a running live turn.
enum Control {
    Answer {
        key: String,
        answer: Answer,
        end: AskEnd,
    },
    Steer {
        text: String,
        done: oneshot::Sender<bool>,
    },
}

struct PendingAsk {
    conversation: String,
    starter: Option<String>,
    kind: AskKind,
    control: mpsc::Sender<Control>,
}

struct Running {
    control: mpsc::Sender<Control>,
    /// Cancelled when the process must not go back to the pool (`/stop`, `/new`).
    discard: CancellationToken,
    steers: bool,
}

struct State {
    pool: LivePool<String, Warm>,
    asks: HashMap<String, PendingAsk>,
    running: HashMap<String, Running>,
}

/// The agent's warm processes and pending requests (see the module docs).
pub struct LiveHub {
    config: LiveConfig,
    state: Mutex<State>,
    /// Makes request keys of this process differ from those of an earlier one.
    boot: String,
    next: AtomicU64,
}

impl std::fmt::Debug for LiveHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveHub").finish_non_exhaustive()
    }
}

/// One warm process as `/status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarmInfo {
    /// The conversation's key.
    pub key: String,
    /// Its CLI.
    pub provider: ProviderKind,
    /// Resident memory of its process group, KiB.
    pub rss_kib: u64,
    /// How long it has been up.
    pub age: Duration,
    /// Its process id (and process group).
    pub pid: i32,
}

impl LiveHub {
    /// An empty hub following `config`'s `live` block.
    pub fn new(config: LiveConfig) -> Arc<Self> {
        let (max, idle) = limits(&config.get());
        let pool = LivePool::new(max, idle);
        Arc::new(Self {
            config,
            state: Mutex::new(State {
                pool,
                asks: HashMap::new(),
                running: HashMap::new(),
            }),
            boot: crate::util::random_hex(4),
            next: AtomicU64::new(1),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The state, its pool following the current `live` limits (a reload changes
    /// them).
    fn lock_limited(&self) -> MutexGuard<'_, State> {
        let (max, idle) = limits(&self.config.get());
        let mut st = self.lock();
        st.pool.set_limits(max, idle);
        st
    }

    /// Whether interactive turns run live under the current config.
    pub fn enabled(&self) -> bool {
        let c = self.config.get();
        cli_mode::resolve(&c.cli_mode, &c.permission_mode) == Ok(CliMode::Live)
    }

    /// Answers the pending request `key` on behalf of `who`.
    pub async fn answer(
        &self,
        key: &str,
        choice: AskChoice,
        who: Option<&str>,
    ) -> Result<(), AnswerError> {
        let (control, answer, end) = {
            let st = self.lock();
            let ask = st.asks.get(key).ok_or(AnswerError::Expired)?;
            if let (Some(starter), Some(who)) = (&ask.starter, who)
                && starter != who
            {
                return Err(AnswerError::NotYours);
            }
            let (answer, end) = answer_for(&ask.kind, choice).ok_or(AnswerError::Unfit)?;
            (ask.control.clone(), answer, end)
        };
        control
            .send(Control::Answer {
                key: key.to_owned(),
                answer,
                end,
            })
            .await
            .map_err(|_| AnswerError::Expired)
    }

    /// The pending question of conversation `conversation` that free text from
    /// `who` answers, if any.
    pub fn question_for(&self, conversation: &str, who: Option<&str>) -> Option<String> {
        self.lock()
            .asks
            .iter()
            .find(|(_, a)| {
                a.conversation == conversation
                    && matches!(a.kind, AskKind::Question { .. })
                    && (a.starter.is_none() || who.is_none() || a.starter.as_deref() == who)
            })
            .map(|(k, _)| k.clone())
    }

    /// Whether a live turn runs in `conversation` and its CLI takes more text while
    /// it runs.
    pub fn can_steer(&self, conversation: &str) -> bool {
        self.lock()
            .running
            .get(conversation)
            .is_some_and(|r| r.steers)
    }

    /// Adds `text` to the turn running in `conversation`; `false` when none runs
    /// there or its CLI cannot take it.
    pub async fn steer(&self, conversation: &str, text: &str) -> bool {
        let control = match self.lock().running.get(conversation) {
            Some(r) if r.steers => r.control.clone(),
            _ => return false,
        };
        let (done, rx) = oneshot::channel();
        let sent = control
            .send(Control::Steer {
                text: text.to_owned(),
                done,
            })
            .await;
        sent.is_ok() && rx.await.unwrap_or(false)
    }

    /// Ends the warm process of `conversation` (`/stop`, `/new`): at once when it is
    /// idle, after its turn when one runs. Says whether there was one.
    pub async fn close(&self, conversation: &str) -> bool {
        let (warm, running) = {
            let mut st = self.lock();
            let running = st.running.get(conversation).map(|r| r.discard.clone());
            (st.pool.remove(&conversation.to_owned()), running)
        };
        if let Some(d) = &running {
            d.cancel();
        }
        let had = warm.is_some() || running.is_some();
        if let Some(w) = warm {
            w.close().await;
        }
        had
    }

    /// The warm processes (`/status`).
    pub fn warm(&self) -> Vec<WarmInfo> {
        let mut out: Vec<WarmInfo> = self
            .lock()
            .pool
            .iter()
            .map(|(k, w)| WarmInfo {
                key: k.clone(),
                provider: w.provider,
                rss_kib: 0,
                age: w.since.elapsed(),
                pid: w.opened.process.pgid(),
            })
            .collect();
        // `/proc` is read outside the lock.
        for w in &mut out {
            w.rss_kib = group_rss_kib(w.pid);
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        out
    }

    /// How many processes are warm or running a turn.
    pub fn count(&self) -> usize {
        let st = self.lock();
        st.pool.len() + st.running.len()
    }

    /// Ends every warm process, and every running one after its turn (shutdown).
    pub async fn shutdown(&self) {
        let warm = {
            let mut st = self.lock();
            for r in st.running.values() {
                r.discard.cancel();
            }
            st.pool.drain()
        };
        for w in warm {
            w.close().await;
        }
    }

    /// Ends the idle processes past `live.idle_minutes` and those above
    /// `live.memory_cap_mb`; returns how many.
    pub async fn upkeep(&self) -> usize {
        let c = self.config.get();
        let cap_kib = c.live.memory_cap_mb.saturating_mul(1024);
        // Memory is read from `/proc` outside the lock, then the oversized ones go.
        let rss: HashMap<i32, u64> = self
            .warm()
            .into_iter()
            .map(|w| (w.pid, w.rss_kib))
            .collect();
        let gone = {
            let mut st = self.lock_limited();
            let mut gone = st.pool.expire(Instant::now());
            gone.extend(st.pool.evict_where(|w| {
                rss.get(&w.opened.process.pgid())
                    .is_some_and(|kib| *kib > cap_kib)
            }));
            gone
        };
        let n = gone.len();
        for w in gone {
            tracing::info!(provider = %w.provider, "ending an idle or oversized live CLI process");
            w.close().await;
        }
        n
    }

    /// Runs [`Self::upkeep`] every half minute until `stop`.
    pub fn start_upkeep(self: &Arc<Self>, stop: CancellationToken) {
        let hub = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(UPKEEP_EVERY) => {}
                }
                let Some(hub) = hub.upgrade() else { return };
                hub.upkeep().await;
            }
        });
    }

    fn new_key(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{}{n:x}", self.boot)
    }

    /// Takes the warm process of `key` when it fits `job`; one that does not fit is
    /// ended.
    async fn take(&self, key: &str, job: &Launch) -> Option<Warm> {
        let mut warm = self.lock().pool.take(&key.to_owned())?;
        if warm.fits(job) && !warm.opened.process.exited() {
            return Some(warm);
        }
        // Another session or model, or it died while it waited (killed, out of
        // memory): a new process resumes the session.
        warm.close().await;
        None
    }

    /// Puts `warm` back after a turn (ending what the pool lets go).
    async fn put_back(&self, key: String, warm: Warm) {
        let gone = self.lock_limited().pool.put(key, warm, Instant::now());
        for w in gone {
            w.close().await;
        }
    }
}

/// The pool limits of the `live` block: most processes, longest idle time.
fn limits(c: &crate::config::AgentConfig) -> (usize, Duration) {
    (
        c.live.max_processes,
        Duration::from_secs(c.live.idle_minutes.saturating_mul(60)),
    )
}

/// The answer and how the request ends for `choice` on `kind`; `None` when it does
/// not fit.
fn answer_for(kind: &AskKind, choice: AskChoice) -> Option<(Answer, AskEnd)> {
    match (kind, choice) {
        (AskKind::Approval { choices, .. }, AskChoice::Decision(d)) => choices
            .contains(&d)
            .then_some((Answer::Decision(d), AskEnd::Decided { decision: d })),
        (AskKind::Question { questions }, AskChoice::Option(i)) if questions.len() == 1 => {
            let q = &questions[0];
            let label = q.options.get(i)?.clone();
            Some((
                Answer::Answers(vec![(q.text.clone(), label.clone())]),
                AskEnd::Answered {
                    answers: vec![label],
                },
            ))
        }
        (AskKind::Question { questions }, AskChoice::Text(text)) => {
            let answers: Vec<String> = if questions.len() == 1 {
                vec![text.trim().to_owned()]
            } else {
                let mut lines = text.lines().map(|l| l.trim().to_owned());
                questions
                    .iter()
                    .map(|_| lines.next().unwrap_or_default())
                    .collect()
            };
            let pairs = questions
                .iter()
                .zip(&answers)
                .map(|(q, a)| (q.text.clone(), a.clone()))
                .collect();
            Some((Answer::Answers(pairs), AskEnd::Answered { answers }))
        }
        _ => None,
    }
}

/// The agent's launcher in front of `inner` (see the module docs).
#[derive(Debug)]
pub struct LiveLauncher {
    inner: Arc<dyn Launcher>,
    hub: Arc<LiveHub>,
}

impl LiveLauncher {
    /// Live turns through `hub`, everything else (and the processes) through `inner`.
    pub fn new(inner: Arc<dyn Launcher>, hub: Arc<LiveHub>) -> Self {
        Self { inner, hub }
    }
}

impl Launcher for LiveLauncher {
    fn launch(
        &self,
        job: Launch,
        events: mpsc::Sender<Event>,
        cancel: CancellationToken,
    ) -> BoxFuture<Outcome> {
        let Some(live) = &job.live else {
            return self.inner.launch(job, events, cancel);
        };
        if !live.runs_live || !self.hub.enabled() {
            // A one-shot run of a conversation (a heartbeat, or live mode is off)
            // resumes the session the warm process holds: the warm process ends
            // first, so that the next live turn resumes it with this run included.
            let (hub, inner, key) = (self.hub.clone(), self.inner.clone(), live.key.clone());
            return Box::pin(async move {
                hub.close(&key).await;
                inner.launch(job, events, cancel).await
            });
        }
        let inner = self.inner.clone();
        let hub = self.hub.clone();
        Box::pin(async move { run_live(&hub, &inner, job, events, cancel).await })
    }

    fn open_live(&self, job: &Launch) -> BoxFuture<Result<Opened, OpenError>> {
        self.inner.open_live(job)
    }
}

/// Where a live turn runs: a process, or (no live process possible) a one-shot run.
enum Host {
    Warm(Box<Warm>, bool),
    OneShot,
    Failed(Outcome),
}

/// The conversation's warm process when it fits (`true`: reused), else a new one.
async fn host_for(hub: &LiveHub, inner: &Arc<dyn Launcher>, key: &str, job: &Launch) -> Host {
    if let Some(w) = hub.take(key, job).await {
        return Host::Warm(Box::new(w), true);
    }
    // gemini's live mode cannot load a session: it goes on one-shot.
    if job.provider == ProviderKind::Gemini && job.spec.resume.is_some() {
        return Host::OneShot;
    }
    match inner.open_live(job).await {
        Ok(opened) => Host::Warm(
            Box::new(Warm {
                opened,
                provider: job.provider,
                model: job.spec.model.clone(),
                cwd: job.cwd.clone(),
                session_id: job.spec.resume.clone(),
                since: Instant::now(),
            }),
            false,
        ),
        Err(OpenError::Unsupported) => Host::OneShot,
        Err(OpenError::Failed(outcome)) => Host::Failed(outcome),
    }
}

async fn run_live(
    hub: &Arc<LiveHub>,
    inner: &Arc<dyn Launcher>,
    job: Launch,
    events: mpsc::Sender<Event>,
    cancel: CancellationToken,
) -> Outcome {
    let Some(live) = job.live.clone() else {
        return inner.launch(job, events, cancel).await;
    };
    loop {
        let (warm, reused) = match host_for(hub, inner, &live.key, &job).await {
            Host::Warm(w, reused) => (w, reused),
            Host::OneShot => return inner.launch(job, events, cancel).await,
            Host::Failed(outcome) => return outcome,
        };
        let (outcome, silent_death) =
            run_in(hub, &live, &job, *warm, events.clone(), &cancel).await;
        // A warm process that died before it said anything (killed while it
        // waited): the turn goes to a new process that resumes the session.
        if silent_death && reused && !cancel.is_cancelled() {
            tracing::info!(chat = %live.key, "the warm CLI process was gone; starting a new one");
            continue;
        }
        return outcome;
    }
}

/// Runs the turn in `warm`; says whether the process died without a word.
async fn run_in(
    hub: &Arc<LiveHub>,
    live: &super::LiveTurn,
    job: &Launch,
    warm: Warm,
    events: mpsc::Sender<Event>,
    cancel: &CancellationToken,
) -> (Outcome, bool) {
    let (control, rx) = mpsc::channel(16);
    let discard = CancellationToken::new();
    hub.lock().running.insert(
        live.key.clone(),
        Running {
            control: control.clone(),
            discard: discard.clone(),
            steers: job.provider != ProviderKind::Gemini,
        },
    );
    let mut turn = Turn {
        hub,
        conversation: live.key.clone(),
        starter: live.starter.clone(),
        control,
        events,
        warm,
        pending: Vec::new(),
        dead: false,
        heard: false,
    };
    let policy = crate::exec::request::timeout_policy(&hub.config.get(), job.timeout);
    let outcome = turn.drive(&job.spec.prompt, rx, cancel, &policy).await;
    let Turn {
        warm,
        dead,
        heard,
        pending,
        events,
        ..
    } = turn;
    {
        let mut st = hub.lock();
        st.running.remove(&live.key);
        for p in &pending {
            st.asks.remove(&p.key);
        }
    }
    for p in pending {
        let _ = events
            .send(Event::AskResolved {
                id: p.key,
                how: AskEnd::Withdrawn,
            })
            .await;
    }
    if dead || discard.is_cancelled() {
        warm.close().await;
    } else {
        hub.put_back(live.key.clone(), warm).await;
    }
    (outcome, dead && !heard)
}

/// A request of the running turn waiting for the user.
struct Waiting {
    key: String,
    protocol_id: String,
    deadline: Instant,
    question: bool,
}

/// One turn in a warm process.
struct Turn<'a> {
    hub: &'a LiveHub,
    conversation: String,
    starter: Option<String>,
    control: mpsc::Sender<Control>,
    events: mpsc::Sender<Event>,
    warm: Warm,
    pending: Vec<Waiting>,
    /// The process ended or was given up: it never goes back to the pool.
    dead: bool,
    /// The process said something during this turn.
    heard: bool,
}

/// Why the turn is being interrupted.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stopping {
    No,
    Cancelled,
    TimedOut,
}

async fn sleep_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

impl Turn<'_> {
    async fn drive(
        &mut self,
        prompt: &str,
        mut control: mpsc::Receiver<Control>,
        cancel: &CancellationToken,
        policy: &crate::provider::runner::TimeoutPolicy,
    ) -> Outcome {
        if let Err(e) = self.warm.opened.process.send_turn(prompt).await {
            self.dead = true;
            return self.crashed(&format!("cannot write the turn: {e}"));
        }
        let mut deadline = Instant::now() + policy.base;
        let mut extensions = 0;
        let mut last_activity = Instant::now();
        let mut stopping = Stopping::No;
        let mut give_up: Option<Instant> = None;
        loop {
            let ask_due = self.pending.iter().map(|p| p.deadline).min();
            tokio::select! {
                ev = self.warm.opened.process.next() => {
                    last_activity = Instant::now();
                    self.heard |= ev.is_some();
                    let Some(ev) = ev else {
                        self.dead = true;
                        if stopping != No {
                            return stopped_outcome(stopping, self.warm.session_id.as_ref());
                        }
                        let tail = self.warm.opened.process.stderr_tail();
                        return self.crashed(&tail);
                    };
                    if let Some(outcome) = self.on_event(ev).await {
                        return match stopping {
                            Stopping::TimedOut => stopped_outcome(stopping, self.warm.session_id.as_ref()),
                            _ => self.with_session(outcome),
                        };
                    }
                }
                Some(msg) = control.recv() => self.on_control(msg).await,
                () = cancel.cancelled(), if stopping == No => {
                    stopping = Stopping::Cancelled;
                    give_up = Some(self.interrupt().await);
                }
                () = sleep_opt(ask_due) => self.expire_asks().await,
                () = tokio::time::sleep_until(deadline), if stopping == No => {
                    let waiting = !self.pending.is_empty();
                    let active = last_activity + policy.extension > Instant::now();
                    if waiting || (policy.extend_on_activity && active && extensions < policy.max_extensions) {
                        // Waiting for the user is not the CLI's slowness.
                        extensions += u32::from(!waiting);
                        deadline = Instant::now() + policy.extension.max(Duration::from_secs(1));
                    } else {
                        stopping = Stopping::TimedOut;
                        give_up = Some(self.interrupt().await);
                    }
                }
                () = sleep_opt(give_up) => {
                    self.dead = true;
                    return stopped_outcome(stopping, self.warm.session_id.as_ref());
                }
            }
        }
    }

    /// Handles one event of the process; `Some` when the turn ended.
    async fn on_event(&mut self, ev: LiveEvent) -> Option<Outcome> {
        match ev {
            LiveEvent::Event(e) => {
                if let Event::SessionStarted { session_id } = &e {
                    self.warm.session_id = Some(session_id.clone());
                }
                let _ = self.events.send(e).await;
            }
            LiveEvent::Ready { session_id } => {
                if let Some(id) = session_id
                    && self.warm.session_id.as_deref() != Some(id.as_str())
                {
                    self.warm.session_id = Some(id.clone());
                    let _ = self
                        .events
                        .send(Event::SessionStarted { session_id: id })
                        .await;
                }
            }
            LiveEvent::Ask(ask) => self.register(ask).await,
            LiveEvent::Withdrawn { id } => {
                if let Some(i) = self.pending.iter().position(|p| p.protocol_id == id) {
                    let p = self.pending.remove(i);
                    self.resolved(&p.key, AskEnd::Withdrawn).await;
                }
            }
            LiveEvent::TurnEnded(outcome) => return Some(outcome),
        }
        None
    }

    async fn register(&mut self, ask: crate::provider::live::Ask) {
        let key = self.hub.new_key();
        let timeout = Duration::from_secs(self.hub.config.get().live.approval_timeout_seconds);
        self.hub.lock().asks.insert(
            key.clone(),
            PendingAsk {
                conversation: self.conversation.clone(),
                starter: self.starter.clone(),
                kind: ask.kind.clone(),
                control: self.control.clone(),
            },
        );
        self.pending.push(Waiting {
            key: key.clone(),
            protocol_id: ask.id,
            deadline: Instant::now() + timeout,
            question: matches!(ask.kind, AskKind::Question { .. }),
        });
        let _ = self
            .events
            .send(Event::Ask {
                id: key,
                ask: ask.kind,
            })
            .await;
    }

    async fn on_control(&mut self, msg: Control) {
        match msg {
            Control::Answer { key, answer, end } => {
                let Some(i) = self.pending.iter().position(|p| p.key == key) else {
                    return;
                };
                let p = self.pending.remove(i);
                if let Err(e) = self
                    .warm
                    .opened
                    .process
                    .answer(&p.protocol_id, &answer)
                    .await
                {
                    tracing::warn!(error = %e, "the live CLI did not take the answer");
                }
                self.resolved(&key, end).await;
            }
            Control::Steer { text, done } => {
                let ok = self.warm.opened.process.steer(&text).await.unwrap_or(false);
                let _ = done.send(ok);
            }
        }
    }

    /// Denies (or cancels) every request past its deadline.
    async fn expire_asks(&mut self) {
        let now = Instant::now();
        let (due, keep): (Vec<Waiting>, Vec<Waiting>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|p| p.deadline <= now);
        self.pending = keep;
        for p in due {
            let answer = if p.question {
                Answer::Cancel
            } else {
                Answer::Decision(Decision::Deny)
            };
            if let Err(e) = self
                .warm
                .opened
                .process
                .answer(&p.protocol_id, &answer)
                .await
            {
                tracing::debug!(error = %e, "the live CLI did not take the timeout answer");
            }
            self.resolved(&p.key, AskEnd::TimedOut).await;
        }
    }

    /// Interrupts the turn through the protocol; pending requests are given up.
    /// Returns when to kill the process if the turn has not ended by then.
    async fn interrupt(&mut self) -> Instant {
        for p in std::mem::take(&mut self.pending) {
            let _ = self
                .warm
                .opened
                .process
                .answer(&p.protocol_id, &Answer::Cancel)
                .await;
            self.resolved(&p.key, AskEnd::Withdrawn).await;
        }
        if let Err(e) = self.warm.opened.process.interrupt().await {
            tracing::debug!(error = %e, "cannot interrupt the live CLI; it is killed");
            return Instant::now();
        }
        Instant::now() + INTERRUPT_GRACE
    }

    async fn resolved(&mut self, key: &str, how: AskEnd) {
        self.hub.lock().asks.remove(key);
        let _ = self
            .events
            .send(Event::AskResolved {
                id: key.to_owned(),
                how,
            })
            .await;
    }

    fn crashed(&self, detail: &str) -> Outcome {
        let detail = detail.trim();
        Outcome::Failed {
            kind: FailureKind::Crashed,
            detail: if detail.is_empty() {
                "the live CLI process ended".into()
            } else {
                format!("the live CLI process ended: {detail}")
            },
            session_id: self.warm.session_id.clone(),
        }
    }

    /// `outcome` with the session id the process runs, when the codec had none.
    fn with_session(&self, mut outcome: Outcome) -> Outcome {
        match &mut outcome {
            Outcome::Completed { session_id, .. } | Outcome::Failed { session_id, .. } => {
                if session_id.is_none() {
                    session_id.clone_from(&self.warm.session_id);
                }
            }
        }
        outcome
    }
}

use Stopping::No;

fn stopped_outcome(stopping: Stopping, session: Option<&String>) -> Outcome {
    let (kind, detail) = if stopping == Stopping::TimedOut {
        (
            FailureKind::Timeout,
            "the turn ran too long and was stopped",
        )
    } else {
        (FailureKind::Cancelled, "stopped")
    };
    Outcome::Failed {
        kind,
        detail: detail.into(),
        session_id: session.cloned(),
    }
}
