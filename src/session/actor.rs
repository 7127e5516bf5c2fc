//! The session actor: one task per conversation that runs at most one turn at a
//! time and queues the others. Commands come through [`SessionHandle`].

use super::{StopReport, TurnEnv, TurnRequest, TurnUpdate, turn};
use crate::state::sessions::SessionKey;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Which conversation each queued entry belongs to (for the cancel buttons).
pub type QueueIndex = Arc<Mutex<HashMap<u64, SessionKey>>>;

enum Cmd {
    Submit(u64, Box<TurnRequest>),
    CancelQueued(u64, oneshot::Sender<bool>),
    Stop {
        which: Which,
        drop_queue: bool,
        reply: oneshot::Sender<StopReport>,
    },
    IsBusy(oneshot::Sender<bool>),
    Exclusive(Box<dyn FnOnce() + Send>, oneshot::Sender<bool>),
}

/// Which turns a stop is about.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Which {
    /// Every turn of the conversation.
    All,
    /// The `@name` follow-ups of one named session (`Some`) or of all of them (`None`).
    Named(Option<String>),
}

impl Which {
    fn covers(&self, named: Option<&String>) -> bool {
        match self {
            Self::All => true,
            Self::Named(want) => named.is_some_and(|n| want.as_ref().is_none_or(|want| want == n)),
        }
    }
}

/// Handle to one conversation's actor.
#[derive(Clone)]
pub struct SessionHandle {
    tx: mpsc::Sender<Cmd>,
}

impl std::fmt::Debug for SessionHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionHandle")
    }
}

impl SessionHandle {
    /// Queues or starts a turn.
    pub async fn submit(&self, entry: u64, req: TurnRequest) {
        let _ = self.tx.send(Cmd::Submit(entry, Box::new(req))).await;
    }

    /// Cancels a queued entry; false when it is not queued (any more).
    pub async fn cancel_queued(&self, entry: u64) -> bool {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Cmd::CancelQueued(entry, tx)).await.is_err() {
            return false;
        }
        rx.await.unwrap_or(false)
    }

    async fn send_stop(&self, which: Which, drop_queue: bool) -> StopReport {
        let (tx, rx) = oneshot::channel();
        let cmd = Cmd::Stop {
            which,
            drop_queue,
            reply: tx,
        };
        if self.tx.send(cmd).await.is_err() {
            return StopReport::default();
        }
        rx.await.unwrap_or_default()
    }

    /// Stops the running turn (and with `drop_queue` the waiting ones).
    pub async fn stop(&self, drop_queue: bool) -> StopReport {
        self.send_stop(Which::All, drop_queue).await
    }

    /// Stops the running and the queued follow-ups of named session `name` (of every
    /// named session with `None`); the conversation's own turns are left alone.
    pub async fn stop_named(&self, name: Option<String>) -> StopReport {
        self.send_stop(Which::Named(name), true).await
    }

    /// Stops the running turn, waits until it has ended, then runs `f` (state changes
    /// like `/new` that must not race a turn recording its result). Returns whether a
    /// turn was stopped.
    pub async fn exclusive(&self, f: Box<dyn FnOnce() + Send>) -> bool {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Cmd::Exclusive(f, tx)).await.is_err() {
            return false;
        }
        rx.await.unwrap_or(false)
    }

    /// Whether a turn runs right now.
    pub async fn is_busy(&self) -> bool {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Cmd::IsBusy(tx)).await.is_err() {
            return false;
        }
        rx.await.unwrap_or(false)
    }
}

struct Running {
    task: JoinHandle<()>,
    cancel: CancellationToken,
    /// The named session the turn belongs to (`@name` follow-ups).
    named: Option<String>,
}

struct Actor {
    key: SessionKey,
    env: Arc<TurnEnv>,
    queue: VecDeque<(u64, Box<TurnRequest>)>,
    running: Option<Running>,
    index: QueueIndex,
}

/// Spawns the actor of `key`.
pub fn spawn(key: SessionKey, env: Arc<TurnEnv>, index: QueueIndex) -> SessionHandle {
    let (tx, rx) = mpsc::channel(64);
    let actor = Actor {
        key,
        env,
        queue: VecDeque::new(),
        running: None,
        index,
    };
    tokio::spawn(actor.run(rx));
    SessionHandle { tx }
}

impl Actor {
    fn unindex(&self, entry: u64) {
        self.index
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&entry);
    }

    async fn run(mut self, mut rx: mpsc::Receiver<Cmd>) {
        loop {
            let finished = async {
                match self.running.as_mut() {
                    Some(r) => {
                        let _ = (&mut r.task).await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(cmd) => self.handle(cmd).await,
                    None => break,
                },
                () = finished => {
                    self.running = None;
                    self.start_next();
                }
            }
        }
        if let Some(r) = self.running.take() {
            r.cancel.cancel();
            let _ = r.task.await;
        }
    }

    async fn handle(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Submit(entry, req) => {
                if self.running.is_some() || !self.queue.is_empty() {
                    self.index
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .insert(entry, self.key.clone());
                    let _ = req.updates.send(TurnUpdate::Queued { entry }).await;
                    self.queue.push_back((entry, req));
                } else {
                    self.start(*req);
                }
            }
            Cmd::CancelQueued(entry, reply) => {
                let pos = self.queue.iter().position(|(e, _)| *e == entry);
                let found = pos.and_then(|p| self.queue.remove(p));
                if let Some((_, req)) = &found {
                    let _ = req
                        .updates
                        .send(TurnUpdate::Dropped { by_stop: false })
                        .await;
                }
                self.unindex(entry);
                let _ = reply.send(found.is_some());
            }
            Cmd::Stop {
                which,
                drop_queue,
                reply,
            } => {
                let mut report = StopReport::default();
                if drop_queue {
                    let (dropped, kept): (VecDeque<_>, VecDeque<_>) =
                        std::mem::take(&mut self.queue)
                            .into_iter()
                            .partition(|(_, req)| which.covers(req.named.as_ref()));
                    self.queue = kept;
                    for (entry, req) in dropped {
                        self.unindex(entry);
                        let _ = req
                            .updates
                            .send(TurnUpdate::Dropped { by_stop: true })
                            .await;
                        report.discarded += 1;
                    }
                }
                if let Some(r) = &self.running
                    && which.covers(r.named.as_ref())
                    && !r.cancel.is_cancelled()
                {
                    r.cancel.cancel();
                    report.stopped_run = true;
                }
                let _ = reply.send(report);
            }
            Cmd::IsBusy(reply) => {
                let _ = reply.send(self.running.is_some());
            }
            Cmd::Exclusive(f, reply) => {
                let stopped = match self.running.take() {
                    Some(r) => {
                        r.cancel.cancel();
                        let _ = r.task.await;
                        true
                    }
                    None => false,
                };
                f();
                let _ = reply.send(stopped);
                self.start_next();
            }
        }
    }

    fn start_next(&mut self) {
        if let Some((entry, req)) = self.queue.pop_front() {
            self.unindex(entry);
            self.start(*req);
        }
    }

    fn start(&mut self, req: TurnRequest) {
        let cancel = CancellationToken::new();
        let named = req.named.clone();
        let task = tokio::spawn(turn::run_turn(
            self.env.clone(),
            self.key.clone(),
            req,
            cancel.clone(),
        ));
        self.running = Some(Running {
            task,
            cancel,
            named,
        });
    }
}
