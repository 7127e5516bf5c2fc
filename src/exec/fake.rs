//! A scripted launcher for tests: no process, no CLI. Each launch asks a responder
//! what to do ([`Script`]): emit events, optionally hold until released or cancelled,
//! then end with an outcome. Every launch is recorded for assertions.

use super::{BoxFuture, Launch, Launcher};
use crate::provider::event::{Event, FailureKind, Outcome, Usage};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

/// What one fake run does.
#[derive(Debug, Clone)]
pub struct Script {
    /// Events emitted at the start, in order.
    pub events: Vec<Event>,
    /// Wait for this before ending (or for the cancel token).
    pub hold: Option<Arc<Notify>>,
    /// How the run ends when not cancelled.
    pub outcome: Outcome,
}

impl Script {
    /// A run that starts session `session` and answers `text`.
    pub fn reply(session: &str, text: &str) -> Self {
        Self {
            events: vec![
                Event::SessionStarted {
                    session_id: session.into(),
                },
                Event::Text { text: text.into() },
            ],
            hold: None,
            outcome: Outcome::Completed {
                text: text.into(),
                session_id: Some(session.into()),
                usage: Usage::default(),
                permission_denials: Vec::new(),
            },
        }
    }

    /// A run whose stored session is gone (the CLI says so at once).
    pub fn stale() -> Self {
        Self {
            events: Vec::new(),
            hold: None,
            outcome: Outcome::Failed {
                kind: FailureKind::SessionNotFound,
                detail: "No conversation found with session ID".into(),
                session_id: None,
            },
        }
    }

    /// The same run, held at its end until `gate` is notified (or it is cancelled).
    #[must_use]
    pub fn held(mut self, gate: &Arc<Notify>) -> Self {
        self.hold = Some(gate.clone());
        self
    }
}

type Responder = Box<dyn FnMut(&Launch) -> Script + Send>;

/// The fake launcher. Cheap to clone; clones share the responder and the record.
#[derive(Clone)]
pub struct FakeLauncher {
    responder: Arc<Mutex<Responder>>,
    launched: Arc<Mutex<Vec<Launch>>>,
}

impl std::fmt::Debug for FakeLauncher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FakeLauncher")
    }
}

impl FakeLauncher {
    /// A launcher answering each launch with `responder(launch)`.
    pub fn new(responder: impl FnMut(&Launch) -> Script + Send + 'static) -> Self {
        Self {
            responder: Arc::new(Mutex::new(Box::new(responder))),
            launched: Arc::default(),
        }
    }

    /// Replaces the responder.
    pub fn respond(&self, responder: impl FnMut(&Launch) -> Script + Send + 'static) {
        *self
            .responder
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Box::new(responder);
    }

    /// Every launch so far, in order.
    pub fn launched(&self) -> Vec<Launch> {
        self.launched
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Launcher for FakeLauncher {
    fn launch(
        &self,
        job: Launch,
        events: mpsc::Sender<Event>,
        cancel: CancellationToken,
    ) -> BoxFuture<Outcome> {
        let script = (self
            .responder
            .lock()
            .unwrap_or_else(PoisonError::into_inner))(&job);
        self.launched
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(job);
        Box::pin(async move {
            let mut session = None;
            for ev in script.events {
                if let Event::SessionStarted { session_id } = &ev {
                    session = Some(session_id.clone());
                }
                let _ = events.send(ev).await;
            }
            if let Some(gate) = &script.hold {
                tokio::select! {
                    () = gate.notified() => {}
                    () = cancel.cancelled() => {}
                }
            }
            if cancel.is_cancelled() {
                return Outcome::Failed {
                    kind: FailureKind::Cancelled,
                    detail: "stopped".into(),
                    session_id: session,
                };
            }
            script.outcome
        })
    }
}
