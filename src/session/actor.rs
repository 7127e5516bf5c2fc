//! The actor of one (address, lane): runs at most one turn at a time through the
//! pipeline and queues the others, stops on request, and retires itself after a
//! while without work so the actor map does not grow forever. Commands come through
//! [`super::Conversations`], which also records every turn on the run board.

use super::lane::Lane;
use super::runs::RunBoard;
use super::{Engine, StopReport, TurnRequest, TurnUpdate, pipeline};
use crate::address::Address;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// An actor without work for this long leaves the map.
pub const IDLE_RETIRE: Duration = Duration::from_mins(10);

/// Commands an actor understands.
pub(super) enum Cmd {
    /// Queue or start a turn (already on the board as `entry`).
    Submit(u64, Box<TurnRequest>),
    /// Drop a queued turn (quietly: without its `Dropped` update, when it goes
    /// on elsewhere); answers its prompt when it was still queued.
    CancelQueued(u64, bool, oneshot::Sender<Option<String>>),
    /// Stop the running turn and maybe the queue.
    Stop {
        /// Which turns.
        which: Which,
        /// Also discard the queued ones.
        drop_queue: bool,
        /// Discard silently: queued turns get no `Dropped` update (shutdown: their
        /// senders see the channel close and keep what they journaled).
        silent: bool,
        /// Answer.
        reply: oneshot::Sender<StopReport>,
    },
    /// Stop the running turn, wait for it, run the closure, go on with the queue.
    Exclusive(Box<dyn FnOnce() + Send>, oneshot::Sender<bool>),
}

/// Which turns a stop is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Which {
    /// Every turn.
    All,
    /// Turns streamed into a chat (not background runs).
    Foreground,
}

impl Which {
    fn covers(self, foreground: bool) -> bool {
        match self {
            Self::All => true,
            Self::Foreground => foreground,
        }
    }
}

/// The actor map, shared by [`super::Conversations`] and the actors (which remove
/// themselves). Each entry carries a generation so an actor never removes a newer one.
pub(super) type ActorMap = Mutex<HashMap<(Address, Lane), (u64, mpsc::Sender<Cmd>)>>;

struct Running {
    entry: u64,
    task: JoinHandle<()>,
    cancel: CancellationToken,
    foreground: bool,
}

pub(super) struct Actor {
    pub key: (Address, Lane),
    pub generation: u64,
    pub engine: Arc<Engine>,
    pub board: Arc<RunBoard>,
    pub map: Arc<ActorMap>,
    queue: VecDeque<(u64, Box<TurnRequest>)>,
    running: Option<Running>,
}

impl Actor {
    /// An actor for `key`; run it with [`Actor::run`].
    pub(super) fn new(
        key: (Address, Lane),
        generation: u64,
        engine: Arc<Engine>,
        board: Arc<RunBoard>,
        map: Arc<ActorMap>,
    ) -> Self {
        Self {
            key,
            generation,
            engine,
            board,
            map,
            queue: VecDeque::new(),
            running: None,
        }
    }

    /// Serves commands until every sender is gone or the actor retires.
    pub(super) async fn run(mut self, mut rx: mpsc::Receiver<Cmd>) {
        loop {
            let idle = self.running.is_none() && self.queue.is_empty();
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
                    if let Some(r) = self.running.take() {
                        self.board.remove(r.entry);
                    }
                    self.start_next();
                }
                () = tokio::time::sleep(IDLE_RETIRE), if idle => {
                    if self.retire(&rx) {
                        return;
                    }
                }
            }
        }
        if let Some(r) = self.running.take() {
            r.cancel.cancel();
            let _ = r.task.await;
            self.board.remove(r.entry);
        }
    }

    /// Leaves the map if nothing is waiting in the channel. Senders only send while
    /// holding the map lock (or while the channel is non-empty), so once removed under
    /// that lock no command can reach this actor any more.
    fn retire(&self, rx: &mpsc::Receiver<Cmd>) -> bool {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if !rx.is_empty() {
            return false;
        }
        if map
            .get(&self.key)
            .is_some_and(|(g, _)| *g == self.generation)
        {
            map.remove(&self.key);
        }
        tracing::debug!(address = %self.key.0, lane = %self.key.1, "idle actor retired");
        true
    }

    async fn handle(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Submit(entry, req) => {
                if self.running.is_some() || !self.queue.is_empty() {
                    let _ = req.updates.send(TurnUpdate::Queued { entry }).await;
                    self.queue.push_back((entry, req));
                } else {
                    self.start(entry, *req);
                }
            }
            Cmd::CancelQueued(entry, quiet, reply) => {
                let pos = self.queue.iter().position(|(e, _)| *e == entry);
                let found = pos.and_then(|p| self.queue.remove(p));
                if let Some((entry, req)) = &found {
                    self.board.remove(*entry);
                    if !quiet {
                        let _ = req
                            .updates
                            .send(TurnUpdate::Dropped { by_stop: false })
                            .await;
                    }
                }
                let _ = reply.send(found.map(|(_, req)| req.prompt));
            }
            Cmd::Stop {
                which,
                drop_queue,
                silent,
                reply,
            } => {
                let mut report = StopReport::default();
                if drop_queue {
                    let (dropped, kept): (VecDeque<_>, VecDeque<_>) =
                        std::mem::take(&mut self.queue)
                            .into_iter()
                            .partition(|(_, req)| which.covers(req.is_foreground()));
                    self.queue = kept;
                    for (entry, req) in dropped {
                        self.board.remove(entry);
                        if !silent {
                            let _ = req
                                .updates
                                .send(TurnUpdate::Dropped { by_stop: true })
                                .await;
                        }
                        report.discarded += 1;
                    }
                }
                if let Some(r) = &self.running
                    && which.covers(r.foreground)
                    && !r.cancel.is_cancelled()
                {
                    r.cancel.cancel();
                    report.stopped += 1;
                }
                let _ = reply.send(report);
            }
            Cmd::Exclusive(f, reply) => {
                let stopped = match self.running.take() {
                    Some(r) => {
                        r.cancel.cancel();
                        let _ = r.task.await;
                        self.board.remove(r.entry);
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
            self.start(entry, *req);
        }
    }

    fn start(&mut self, entry: u64, req: TurnRequest) {
        let cancel = req
            .cancel
            .as_ref()
            .map_or_else(CancellationToken::new, CancellationToken::child_token);
        let foreground = req.is_foreground();
        self.board.started(entry);
        let task = tokio::spawn(pipeline::run_turn(
            self.engine.clone(),
            self.key.0.clone(),
            req,
            cancel.clone(),
        ));
        self.running = Some(Running {
            entry,
            task,
            cancel,
            foreground,
        });
    }
}
