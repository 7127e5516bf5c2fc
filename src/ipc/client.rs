//! A bus peer for agents and tools: connects, performs the handshake, then runs
//! a reader task (answers go to their waiting request, everything else to an
//! inbox) and a writer task. Dropping every handle closes the connection.

use super::conn::Connection;
use super::message::{Body, Envelope, Hello, PeerRole};
use super::{IpcError, PROTOCOL_VERSION};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Envelope>>>>;

/// Handle to a bus connection. Cheap to clone.
#[derive(Clone)]
pub struct BusClient {
    out: mpsc::Sender<Envelope>,
    pending: Pending,
    next_id: Arc<AtomicU64>,
    /// Process id of the supervisor, from its `welcome`.
    pub supervisor_pid: u32,
}

impl std::fmt::Debug for BusClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BusClient")
            .field("supervisor_pid", &self.supervisor_pid)
            .finish_non_exhaustive()
    }
}

/// Frames that are not answers to our requests (requests and notices for us).
pub type Inbox = mpsc::Receiver<Envelope>;

impl BusClient {
    /// Connects to the socket at `path` and performs the handshake.
    pub async fn connect(
        path: &Path,
        role: PeerRole,
        name: Option<String>,
    ) -> Result<(Self, Inbox), IpcError> {
        Self::connect_with(path, role, name, None).await
    }

    /// Like [`BusClient::connect`], presenting an agent's start `token`.
    pub async fn connect_with(
        path: &Path,
        role: PeerRole,
        name: Option<String>,
        token: Option<String>,
    ) -> Result<(Self, Inbox), IpcError> {
        let mut conn = Connection::connect(path).await?;
        let hello = Envelope {
            v: PROTOCOL_VERSION,
            id: 1,
            re: None,
            to: None,
            from: None,
            body: Body::Hello(Hello {
                role,
                name,
                pid: std::process::id(),
                version: crate::VERSION.to_owned(),
                protocol: PROTOCOL_VERSION,
                token,
            }),
        };
        conn.send(&hello).await?;
        let reply = tokio::time::timeout(Duration::from_secs(10), conn.recv())
            .await
            .map_err(|_| IpcError::Timeout)??
            .ok_or(IpcError::Closed)?;
        let supervisor_pid = match reply.body {
            Body::Welcome(w) if w.protocol == PROTOCOL_VERSION => w.supervisor_pid,
            Body::Welcome(w) => {
                return Err(IpcError::VersionMismatch {
                    ours: PROTOCOL_VERSION,
                    theirs: w.protocol,
                });
            }
            Body::Error(e) => return Err(IpcError::Remote(e.code, e.message)),
            other => {
                return Err(IpcError::BadMessage(format!(
                    "expected welcome, got {}",
                    other.type_name()
                )));
            }
        };
        let (writer, mut reader) = conn.split();
        let (out_tx, out_rx) = mpsc::channel::<Envelope>(64);
        let (in_tx, in_rx) = mpsc::channel::<Envelope>(64);
        let pending: Pending = Arc::default();
        tokio::spawn(writer.pump(out_rx));
        let pending_r = pending.clone();
        tokio::spawn(async move {
            loop {
                match reader.recv().await {
                    Ok(Some(env)) => {
                        let waiter = env.re.and_then(|re| {
                            pending_r
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner)
                                .remove(&re)
                        });
                        match waiter {
                            Some(tx) => {
                                let _ = tx.send(env);
                            }
                            None => {
                                if in_tx.send(env).await.is_err() {
                                    break;
                                }
                            }
                        }
                    }
                    Ok(None) => break,
                    Err(e) if e.is_fatal() => {
                        tracing::warn!(error = %e, "bus connection failed");
                        break;
                    }
                    Err(e) => tracing::warn!(error = %e, "bus frame refused"),
                }
            }
            // Hang-up: fail every waiting request; the inbox closes when in_tx drops.
            pending_r
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clear();
        });
        Ok((
            Self {
                out: out_tx,
                pending,
                next_id: Arc::new(AtomicU64::new(2)),
                supervisor_pid,
            },
            in_rx,
        ))
    }

    fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Sends a request (to the supervisor, or routed to agent `to`) and waits for the
    /// answer. An `error` answer becomes [`IpcError::Remote`].
    pub async fn request(
        &self,
        to: Option<&str>,
        body: Body,
        timeout: Duration,
    ) -> Result<Body, IpcError> {
        let id = self.next_id();
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id, tx);
        let env = Envelope {
            v: PROTOCOL_VERSION,
            id,
            re: None,
            to: to.map(str::to_owned),
            from: None,
            body,
        };
        // Refused here, at once, rather than by the writer (the answer would never come).
        let sent = match super::conn::encoded_len(&env) {
            Ok(_) => self.out.send(env).await.map_err(|_| IpcError::Closed),
            Err(e) => Err(e),
        };
        if let Err(e) = sent {
            self.pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&id);
            return Err(e);
        }
        let answer = match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(env)) => env,
            Ok(Err(_)) => return Err(IpcError::Closed),
            Err(_) => {
                self.pending
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .remove(&id);
                return Err(IpcError::Timeout);
            }
        };
        match answer.body {
            Body::Error(e) => Err(IpcError::Remote(e.code, e.message)),
            other => Ok(other),
        }
    }

    /// Answers request `re` with `body`.
    pub async fn reply(&self, re: u64, body: Body) -> Result<(), IpcError> {
        let env = Envelope {
            v: PROTOCOL_VERSION,
            id: self.next_id(),
            re: Some(re),
            to: None,
            from: None,
            body,
        };
        self.out.send(env).await.map_err(|_| IpcError::Closed)
    }

    /// Sends a frame that expects no answer.
    pub async fn notify(&self, to: Option<&str>, body: Body) -> Result<(), IpcError> {
        let env = Envelope {
            v: PROTOCOL_VERSION,
            id: self.next_id(),
            re: None,
            to: to.map(str::to_owned),
            from: None,
            body,
        };
        super::conn::encoded_len(&env)?;
        self.out.send(env).await.map_err(|_| IpcError::Closed)
    }
}
