//! The bus hub: accepts connections, checks the handshake, routes frames between
//! agents and tools, answers supervisor requests (health, stop-all fan-out,
//! shutdown). One task owns all routing state; connection tasks only read and
//! write frames.

use super::registry::Registry;
use crate::ipc::conn::error_envelope;
use crate::ipc::message::{
    Ack, AgentControl, AskCancel, Body, Envelope, ErrorCode, HealthReport, Hello, Notice, PeerRole,
    Pong, StopAll, Stopped, UpdateAgent, Welcome,
};
use crate::ipc::{BusListener, Connection, IpcError, PROTOCOL_VERSION};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// How long a `stop_all` waits for each agent's count.
const STOP_ALL_TIMEOUT: Duration = Duration::from_secs(15);

type ConnId = u64;

enum HubEvent {
    Opened {
        conn: ConnId,
        writer: mpsc::Sender<Envelope>,
        hello: Hello,
        peer_pid: Option<u32>,
        accepted: oneshot::Sender<Result<(), Envelope>>,
    },
    Frame {
        conn: ConnId,
        env: Envelope,
    },
    Closed {
        conn: ConnId,
    },
    Request {
        to: String,
        body: Body,
        reply: oneshot::Sender<Result<Body, String>>,
    },
    Notify {
        to: Option<String>,
        body: Body,
    },
}

/// Handle used by the rest of the supervisor to talk to agents over the bus.
#[derive(Clone)]
pub struct HubHandle {
    events: mpsc::Sender<HubEvent>,
}

impl HubHandle {
    /// Sends `body` to agent `to` and waits for its answer.
    pub async fn request(&self, to: &str, body: Body, timeout: Duration) -> Result<Body, String> {
        let (tx, rx) = oneshot::channel();
        self.events
            .send(HubEvent::Request {
                to: to.to_owned(),
                body,
                reply: tx,
            })
            .await
            .map_err(|_| "bus hub stopped".to_owned())?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err("bus hub stopped".into()),
            Err(_) => Err(format!("agent `{to}` did not answer in time")),
        }
    }

    /// Sends `body` to agent `to` (or every agent) without waiting.
    pub async fn notify(&self, to: Option<&str>, body: Body) {
        let _ = self
            .events
            .send(HubEvent::Notify {
                to: to.map(str::to_owned),
                body,
            })
            .await;
    }
}

enum Pending {
    Routed { origin: ConnId, origin_id: u64 },
    Internal(oneshot::Sender<Result<Body, String>>),
}

struct Conn {
    writer: mpsc::Sender<Envelope>,
    /// The agent this connection is (agents only).
    agent: Option<String>,
    /// The agent this peer works for: the agent itself, or for a tool the agent
    /// whose process it descends from. `None` for the user's own tools.
    acts_for: Option<String>,
    label: String,
}

/// A start/stop/restart request for the supervisor's agent set.
pub type ControlRequest = (
    crate::ipc::message::AgentControl,
    oneshot::Sender<Result<(), String>>,
);

struct Hub {
    home: crate::paths::Home,
    control: mpsc::Sender<ControlRequest>,
    registry: Registry,
    shutdown: mpsc::Sender<bool>,
    started: Instant,
    conns: HashMap<ConnId, Conn>,
    agents: HashMap<String, ConnId>,
    pending: HashMap<u64, (ConnId, Pending)>,
    next_id: u64,
    handle: HubHandle,
}

/// Starts the hub on `listener`. `shutdown` receives `restart` flags of shutdown requests.
pub fn start(
    home: crate::paths::Home,
    control: mpsc::Sender<ControlRequest>,
    listener: BusListener,
    registry: Registry,
    shutdown: mpsc::Sender<bool>,
    cancel: CancellationToken,
) -> HubHandle {
    let (tx, mut rx) = mpsc::channel::<HubEvent>(256);
    let handle = HubHandle { events: tx.clone() };
    let mut hub = Hub {
        home,
        control,
        registry,
        shutdown,
        started: Instant::now(),
        conns: HashMap::new(),
        agents: HashMap::new(),
        pending: HashMap::new(),
        next_id: 1,
        handle: handle.clone(),
    };
    let accept_cancel = cancel.clone();
    tokio::spawn(async move {
        let mut next_conn: ConnId = 1;
        loop {
            tokio::select! {
                () = accept_cancel.cancelled() => break,
                conn = listener.accept() => match conn {
                    Ok(conn) => {
                        tokio::spawn(serve_connection(conn, next_conn, tx.clone()));
                        next_conn += 1;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "bus accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
            }
        }
    });
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                ev = rx.recv() => match ev {
                    Some(ev) => hub.handle_event(ev).await,
                    None => break,
                },
            }
        }
    });
    handle
}

/// Reads and checks the first frame; answers refusals itself.
async fn handshake(
    writer: &mut crate::ipc::conn::ConnWriter,
    reader: &mut crate::ipc::conn::ConnReader,
) -> Option<Hello> {
    let first = tokio::time::timeout(Duration::from_secs(5), reader.recv()).await;
    match first {
        Ok(Ok(Some(Envelope {
            body: Body::Hello(hello),
            ..
        }))) if hello.protocol == PROTOCOL_VERSION => Some(hello),
        Ok(Ok(Some(Envelope {
            body: Body::Hello(hello),
            id,
            ..
        }))) => {
            let msg = format!(
                "protocol mismatch: the supervisor speaks v{PROTOCOL_VERSION}, this peer v{}; restart ductor after upgrading",
                hello.protocol
            );
            let _ = writer
                .send(&error_envelope(Some(id), ErrorCode::VersionMismatch, msg))
                .await;
            None
        }
        Ok(Err(IpcError::VersionMismatch { theirs, .. })) => {
            let msg = format!(
                "protocol mismatch: the supervisor speaks v{PROTOCOL_VERSION}, this peer v{theirs}"
            );
            let _ = writer
                .send(&error_envelope(None, ErrorCode::VersionMismatch, msg))
                .await;
            None
        }
        Ok(Err(IpcError::FrameTooLarge { max, .. })) => {
            let msg = format!("frame exceeds the {max}-byte limit; closing");
            let _ = writer
                .send(&error_envelope(None, ErrorCode::FrameTooLarge, msg))
                .await;
            None
        }
        Ok(Ok(Some(other))) => {
            let _ = writer
                .send(&error_envelope(
                    Some(other.id),
                    ErrorCode::NotRegistered,
                    "the first frame must be `hello`",
                ))
                .await;
            None
        }
        Ok(Err(e)) => {
            let _ = writer
                .send(&error_envelope(None, ErrorCode::BadRequest, e.to_string()))
                .await;
            None
        }
        Ok(Ok(None)) | Err(_) => None,
    }
}

/// Reads the handshake, then pumps frames between the socket and the hub.
async fn serve_connection(conn: Connection, id: ConnId, hub: mpsc::Sender<HubEvent>) {
    let peer_pid = conn.peer_pid();
    let (mut writer, mut reader) = conn.split();
    let Some(hello) = handshake(&mut writer, &mut reader).await else {
        return;
    };
    let (out_tx, out_rx) = mpsc::channel::<Envelope>(64);
    let (acc_tx, acc_rx) = oneshot::channel();
    if hub
        .send(HubEvent::Opened {
            conn: id,
            writer: out_tx.clone(),
            hello,
            peer_pid,
            accepted: acc_tx,
        })
        .await
        .is_err()
    {
        return;
    }
    match acc_rx.await {
        Ok(Ok(())) => {}
        Ok(Err(refusal)) => {
            let _ = writer.send(&refusal).await;
            return;
        }
        Err(_) => return,
    }
    let write_task = tokio::spawn(writer.pump(out_rx));
    loop {
        match reader.recv().await {
            Ok(Some(env)) => {
                if hub.send(HubEvent::Frame { conn: id, env }).await.is_err() {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) if e.is_fatal() => {
                tracing::debug!(conn = id, error = %e, "bus connection failed");
                break;
            }
            Err(e) => {
                // The frame is lost, the connection is not: tell the peer why.
                let code = match &e {
                    IpcError::FrameTooLarge { .. } => ErrorCode::FrameTooLarge,
                    IpcError::VersionMismatch { .. } => ErrorCode::VersionMismatch,
                    _ => ErrorCode::BadRequest,
                };
                tracing::warn!(conn = id, error = %e, "bus frame refused");
                let refusal = error_envelope(None, code, e.to_string());
                if out_tx.send(refusal).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = hub.send(HubEvent::Closed { conn: id }).await;
    write_task.abort();
}

impl Hub {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn envelope(&mut self, re: Option<u64>, body: Body) -> Envelope {
        Envelope {
            v: PROTOCOL_VERSION,
            id: self.id(),
            re,
            to: None,
            from: None,
            body,
        }
    }

    async fn send_to(&self, conn: ConnId, env: Envelope) {
        if let Some(c) = self.conns.get(&conn) {
            let _ = c.writer.send(env).await;
        }
    }

    async fn handle_event(&mut self, ev: HubEvent) {
        match ev {
            HubEvent::Opened {
                conn,
                writer,
                hello,
                peer_pid,
                accepted,
            } => self.open(conn, writer, &hello, peer_pid, accepted).await,
            HubEvent::Frame { conn, env } => self.frame(conn, env).await,
            HubEvent::Closed { conn } => self.close(conn).await,
            HubEvent::Request { to, body, reply } => {
                let Some(&target) = self.agents.get(&to) else {
                    let _ = reply.send(Err(format!("agent `{to}` is not connected")));
                    return;
                };
                let id = self.id();
                self.pending.insert(id, (target, Pending::Internal(reply)));
                let env = Envelope {
                    v: PROTOCOL_VERSION,
                    id,
                    re: None,
                    to: Some(to),
                    from: Some("supervisor".into()),
                    body,
                };
                self.send_to(target, env).await;
            }
            HubEvent::Notify { to, body } => {
                let targets: Vec<(String, ConnId)> = match to {
                    Some(name) => self
                        .agents
                        .get(&name)
                        .map(|c| (name, *c))
                        .into_iter()
                        .collect(),
                    None => self.agents.iter().map(|(n, c)| (n.clone(), *c)).collect(),
                };
                for (name, conn) in targets {
                    let mut env = self.envelope(None, body.clone());
                    env.to = Some(name);
                    env.from = Some("supervisor".into());
                    self.send_to(conn, env).await;
                }
            }
        }
    }

    async fn open(
        &mut self,
        conn: ConnId,
        writer: mpsc::Sender<Envelope>,
        hello: &Hello,
        peer_pid: Option<u32>,
        accepted: oneshot::Sender<Result<(), Envelope>>,
    ) {
        let agent = match hello.role {
            PeerRole::Client => None,
            PeerRole::Agent => {
                let name = hello.name.clone().unwrap_or_default();
                let pid = peer_pid.or(Some(hello.pid));
                let token = hello.token.as_deref();
                if self.agents.contains_key(&name) || !self.registry.register(&name, pid, token) {
                    let refusal = error_envelope(
                        None,
                        ErrorCode::NotRegistered,
                        format!("`{name}` is not an agent this supervisor started (pid {pid:?})"),
                    );
                    let _ = accepted.send(Err(refusal));
                    return;
                }
                tracing::info!(agent = %name, pid = ?pid, "agent registered");
                self.agents.insert(name.clone(), conn);
                Some(name)
            }
        };
        let acts_for = agent.clone().or_else(|| {
            // A tool started (directly or not) by an agent's CLI speaks for that
            // agent, whatever its frames claim.
            let pid = peer_pid? as i32;
            let mut chain = vec![pid];
            chain.extend(crate::procs::ancestors(pid));
            self.registry.agent_among(&chain)
        });
        let label = match (&agent, &acts_for) {
            (Some(name), _) => name.clone(),
            (None, Some(owner)) => owner.clone(),
            (None, None) => hello
                .name
                .clone()
                .unwrap_or_else(|| format!("client:{}", hello.pid)),
        };
        self.conns.insert(
            conn,
            Conn {
                writer,
                agent,
                acts_for,
                label,
            },
        );
        let welcome = self.envelope(
            Some(1),
            Body::Welcome(Welcome {
                protocol: PROTOCOL_VERSION,
                version: crate::VERSION.to_owned(),
                supervisor_pid: std::process::id(),
            }),
        );
        self.send_to(conn, welcome).await;
        let _ = accepted.send(Ok(()));
    }

    async fn close(&mut self, conn: ConnId) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        if let Some(name) = &c.agent {
            self.agents.remove(name);
            self.registry.update(name, |s| s.registered_at = None);
            tracing::info!(agent = %name, "agent left the bus");
        }
        // Requests waiting on this peer fail now instead of timing out.
        let failed: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, (target, _))| *target == conn)
            .map(|(id, _)| *id)
            .collect();
        for id in failed {
            if let Some((_, p)) = self.pending.remove(&id) {
                let msg = format!("`{}` disconnected before answering", c.label);
                match p {
                    Pending::Internal(tx) => {
                        let _ = tx.send(Err(msg));
                    }
                    Pending::Routed { origin, origin_id } => {
                        let env = error_envelope(Some(origin_id), ErrorCode::UnknownAgent, msg);
                        self.send_to(origin, env).await;
                    }
                }
            }
        }
        // Requests this peer made and still waits for: nobody will read their
        // answers, so their receivers can stop working on them.
        let abandoned: Vec<(u64, ConnId)> = self
            .pending
            .iter()
            .filter(|(_, (_, p))| matches!(p, Pending::Routed { origin, .. } if *origin == conn))
            .map(|(id, (target, _))| (*id, *target))
            .collect();
        for (id, target) in abandoned {
            self.pending.remove(&id);
            let agent = self.conns.get(&target).and_then(|c| c.agent.clone());
            let mut env = self.envelope(None, Body::AskCancel(AskCancel { request: id }));
            env.to = agent;
            env.from = Some("supervisor".into());
            self.send_to(target, env).await;
        }
    }

    async fn frame(&mut self, conn: ConnId, env: Envelope) {
        if let Some(re) = env.re {
            self.answer(conn, re, env).await;
        } else if let Some(to) = env.to.clone() {
            self.route(conn, &to, env).await;
        } else {
            self.local(conn, env).await;
        }
    }

    async fn answer(&mut self, conn: ConnId, re: u64, env: Envelope) {
        // Only the connection a request went to may answer it.
        if self
            .pending
            .get(&re)
            .is_some_and(|(target, _)| *target != conn)
        {
            tracing::warn!(
                conn,
                re,
                "an answer from a connection the request was not sent to; dropped"
            );
            return;
        }
        match self.pending.remove(&re) {
            Some((_, Pending::Internal(tx))) => {
                let result = match env.body {
                    Body::Error(e) => Err(e.message),
                    other => Ok(other),
                };
                let _ = tx.send(result);
            }
            Some((_, Pending::Routed { origin, origin_id })) => {
                let from = self.conns.get(&conn).map(|c| c.label.clone());
                let fwd = Envelope {
                    v: PROTOCOL_VERSION,
                    id: self.id(),
                    re: Some(origin_id),
                    to: None,
                    from,
                    body: env.body,
                };
                self.send_to(origin, fwd).await;
            }
            None => tracing::debug!(conn, re, "answer to an unknown request dropped"),
        }
    }

    async fn route(&mut self, conn: ConnId, to: &str, mut env: Envelope) {
        let acts_for = self.conns.get(&conn).and_then(|c| c.acts_for.clone());
        if let Err(msg) = vet(acts_for.as_deref(), to, &mut env.body) {
            tracing::warn!(conn, to, kind = env.body.type_name(), "{msg}");
            let refusal = error_envelope(Some(env.id), ErrorCode::BadRequest, msg);
            self.send_to(conn, refusal).await;
            return;
        }
        let Some(&target) = self.agents.get(to) else {
            let mut names = self.registry.running_names();
            names.sort();
            let msg = format!(
                "no running agent named `{to}`; available: {}",
                names.join(", ")
            );
            self.send_to(
                conn,
                error_envelope(Some(env.id), ErrorCode::UnknownAgent, msg),
            )
            .await;
            return;
        };
        let id = self.id();
        self.pending.insert(
            id,
            (
                target,
                Pending::Routed {
                    origin: conn,
                    origin_id: env.id,
                },
            ),
        );
        let from = self.conns.get(&conn).map(|c| c.label.clone());
        let fwd = Envelope {
            v: PROTOCOL_VERSION,
            id,
            re: None,
            to: Some(to.to_owned()),
            from,
            body: env.body,
        };
        if let Err(e) = crate::ipc::conn::encoded_len(&fwd) {
            self.pending.remove(&id);
            let refusal = error_envelope(Some(env.id), ErrorCode::FrameTooLarge, e.to_string());
            self.send_to(conn, refusal).await;
            return;
        }
        self.send_to(target, fwd).await;
    }

    async fn local(&mut self, conn: ConnId, env: Envelope) {
        let reply = match env.body {
            Body::HealthRequest(_) => Body::Health(HealthReport {
                supervisor_pid: std::process::id(),
                supervisor_uptime_seconds: self.started.elapsed().as_secs(),
                agents: self.registry.health(),
            }),
            Body::Ping(p) => Body::Pong(Pong {
                agent: "supervisor".into(),
                pid: std::process::id(),
                payload: p.payload,
            }),
            Body::StopAll(_) => {
                self.fan_out_stop_all(conn, env.id);
                return;
            }
            Body::Shutdown(_) if self.is_sub_agent_peer(conn) => {
                let msg = "a sub-agent cannot stop or restart ductor";
                self.send_to(
                    conn,
                    error_envelope(Some(env.id), ErrorCode::BadRequest, msg),
                )
                .await;
                return;
            }
            Body::Shutdown(s) => {
                tracing::info!(reason = %s.reason, restart = s.restart, "shutdown requested over the bus");
                let _ = self.shutdown.try_send(s.restart);
                Body::Ack(Ack {})
            }
            Body::Notice(n) => {
                self.broadcast_notice(conn, n).await;
                return;
            }
            Body::AgentControl(c) => {
                self.agent_control(conn, env.id, c).await;
                return;
            }
            Body::UpdateAgent(u) => match self.update_agent(conn, &u) {
                Ok(()) => Body::Ack(Ack {}),
                Err((code, msg)) => {
                    self.send_to(conn, error_envelope(Some(env.id), code, msg))
                        .await;
                    return;
                }
            },
            other => {
                let msg = format!(
                    "`{}` is not a request the supervisor handles",
                    other.type_name()
                );
                self.send_to(
                    conn,
                    error_envelope(Some(env.id), ErrorCode::BadRequest, msg),
                )
                .await;
                return;
            }
        };
        let answer = self.envelope(Some(env.id), reply);
        self.send_to(conn, answer).await;
    }

    /// Whether `conn` is a sub-agent or one of its tools.
    fn is_sub_agent_peer(&self, conn: ConnId) -> bool {
        self.conns
            .get(&conn)
            .and_then(|c| c.acts_for.as_deref())
            .is_some_and(|a| a != crate::paths::MAIN_AGENT)
    }

    /// Forwards an agent's notice to every other connected agent.
    async fn broadcast_notice(&mut self, conn: ConnId, n: Notice) {
        let sender = self.conns.get(&conn).and_then(|c| c.agent.clone());
        let targets: Vec<(String, ConnId)> = self
            .agents
            .iter()
            .filter(|(name, _)| Some(*name) != sender.as_ref())
            .map(|(n, c)| (n.clone(), *c))
            .collect();
        for (name, target) in targets {
            let mut fwd = self.envelope(None, Body::Notice(n.clone()));
            fwd.to = Some(name);
            fwd.from = sender.clone();
            self.send_to(target, fwd).await;
        }
    }

    /// Starts, stops or restarts an agent on the main agent's behalf; answers when done.
    async fn agent_control(&mut self, conn: ConnId, id: u64, c: AgentControl) {
        if self.is_sub_agent_peer(conn) {
            let msg = "only the main agent can start or stop agents";
            self.send_to(conn, error_envelope(Some(id), ErrorCode::BadRequest, msg))
                .await;
            return;
        }
        let Some(origin) = self.conns.get(&conn).map(|c| c.writer.clone()) else {
            return;
        };
        let control = self.control.clone();
        tokio::spawn(async move {
            let (tx, rx) = oneshot::channel();
            let result = match control.send((c, tx)).await {
                Ok(()) => rx
                    .await
                    .unwrap_or_else(|_| Err("supervisor is shutting down".into())),
                Err(_) => Err("supervisor is shutting down".into()),
            };
            let env = match result {
                Ok(()) => Envelope {
                    v: PROTOCOL_VERSION,
                    id: 0,
                    re: Some(id),
                    to: None,
                    from: None,
                    body: Body::Ack(Ack {}),
                },
                Err(msg) => error_envelope(Some(id), ErrorCode::BadRequest, msg),
            };
            let _ = origin.send(env).await;
        });
    }

    /// A sub-agent persists a change to its own `agents.json` entry.
    fn update_agent(&self, conn: ConnId, u: &UpdateAgent) -> Result<(), (ErrorCode, String)> {
        let sender = self.conns.get(&conn).and_then(|c| c.agent.clone());
        match sender {
            Some(name) if name != crate::paths::MAIN_AGENT => {
                update_entry(&self.home, &name, u).map_err(|m| (ErrorCode::Internal, m))
            }
            _ => Err((
                ErrorCode::BadRequest,
                "only a sub-agent can update its own agents.json entry".into(),
            )),
        }
    }

    /// Asks every agent to stop its work and answers the caller with the sum.
    fn fan_out_stop_all(&mut self, conn: ConnId, request_id: u64) {
        let Some(origin) = self.conns.get(&conn).map(|c| c.writer.clone()) else {
            return;
        };
        let agents: Vec<String> = self.agents.keys().cloned().collect();
        let handle = self.handle.clone();
        tokio::spawn(async move {
            let asks = agents.iter().map(|name| {
                let handle = handle.clone();
                async move {
                    handle
                        .request(name, Body::StopAll(StopAll {}), STOP_ALL_TIMEOUT)
                        .await
                }
            });
            let results = futures_util::future::join_all(asks).await;
            let (mut count, mut answered) = (0u32, 0u32);
            for (name, r) in agents.iter().zip(results) {
                match r {
                    Ok(Body::Stopped(s)) => {
                        count += s.count;
                        answered += 1;
                    }
                    Ok(other) => {
                        tracing::warn!(agent = %name, "unexpected stop_all answer {}", other.type_name());
                    }
                    Err(e) => tracing::warn!(agent = %name, error = %e, "stop_all not answered"),
                }
            }
            let env = Envelope {
                v: PROTOCOL_VERSION,
                id: 0,
                re: Some(request_id),
                to: None,
                from: None,
                body: Body::Stopped(Stopped {
                    count,
                    agents: answered,
                }),
            };
            let _ = origin.send(env).await;
        });
    }
}

/// Checks a routed request against who sends it (`acts_for`, see `Conn`) and fills
/// in the sender fields the hub vouches for; `Err` explains a refusal.
fn vet(acts_for: Option<&str>, to: &str, body: &mut Body) -> Result<(), String> {
    let Some(me) = acts_for else {
        // The user's own tools (not started by any agent) are trusted like the user.
        return Ok(());
    };
    match body {
        Body::Ask(ask) => {
            if to == me {
                return Err(format!("`{me}` cannot ask itself"));
            }
            if ask.sender != me {
                tracing::warn!(claimed = %ask.sender, actual = me, "an ask claimed another sender; corrected");
            }
            me.clone_into(&mut ask.sender);
        }
        Body::AskResult(r) => me.clone_into(&mut r.agent),
        b if b.is_own_agent_request() && to != me => {
            return Err(format!(
                "a tool of `{me}` can only reach `{me}`'s own tasks and jobs, not `{to}`'s"
            ));
        }
        _ => {}
    }
    Ok(())
}

/// Keys of its `agents.json` entry an agent may change over the bus (what `/model`
/// persists), with a check of each value.
fn updatable(key: &str, value: &serde_json::Value) -> Result<(), String> {
    let text = value.as_str().unwrap_or_default();
    let plain = |max: usize| {
        !text.is_empty()
            && text.len() <= max
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._:[]".contains(c))
    };
    let ok = match key {
        "provider" => text.parse::<crate::provider::ProviderKind>().is_ok(),
        "model" => plain(64),
        "reasoning_effort" => value.is_null() || plain(16),
        _ => return Err(format!("`{key}` cannot be changed over the bus")),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("`{key}`: {value} is not a valid value"))
    }
}

/// Applies an `update_agent` request to the sender's entry in `agents.json`.
fn update_entry(
    home: &crate::paths::Home,
    name: &str,
    u: &crate::ipc::message::UpdateAgent,
) -> Result<(), String> {
    use crate::config::agents::{load_agents, save_agents};
    let path = home.agents_file();
    let mut entries = load_agents(&path).map_err(|e| e.to_string())?;
    let entry = entries
        .iter_mut()
        .find(|e| e.name == name)
        .ok_or_else(|| format!("`{name}` is not in agents.json"))?;
    for (k, v) in &u.set {
        updatable(k, v)?;
    }
    for k in &u.remove {
        updatable(k, &serde_json::Value::Null)?;
    }
    for (k, v) in &u.set {
        entry.raw.insert(k.clone(), v.clone());
    }
    for k in &u.remove {
        entry.raw.remove(k);
    }
    save_agents(&path, &entries).map_err(|e| e.to_string())?;
    tracing::info!(agent = name, "agents.json entry updated");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipc::message::{Ask, TaskList};

    fn ask(sender: &str) -> Body {
        Body::Ask(Ask {
            sender: sender.into(),
            transport: "tg".into(),
            chat_id: 1,
            topic_id: None,
            message: "hi".into(),
            new_session: false,
            task_id: None,
            summary: None,
            reply_to: None,
            silent: false,
        })
    }

    #[test]
    fn the_hub_vouches_for_the_sender() {
        let mut body = ask("main");
        vet(Some("sub1"), "main", &mut body).unwrap();
        let Body::Ask(a) = &body else { unreachable!() };
        assert_eq!(a.sender, "sub1", "the claim is replaced");
        assert!(
            vet(Some("sub1"), "sub1", &mut ask("x")).is_err(),
            "no self-ask"
        );
        let mut user = ask("main");
        vet(None, "sub1", &mut user).unwrap();
        assert_eq!(user, ask("main"), "the user's own tools are trusted");
        let mut list = Body::TaskList(TaskList {});
        assert!(vet(Some("sub1"), "main", &mut list).is_err());
        assert!(vet(Some("sub1"), "sub1", &mut list).is_ok());
    }

    #[test]
    fn only_the_model_keys_can_be_updated() {
        use serde_json::json;
        assert!(updatable("provider", &json!("codex")).is_ok());
        assert!(updatable("provider", &json!("evil")).is_err());
        assert!(updatable("model", &json!("gpt-5.5")).is_ok());
        assert!(updatable("model", &json!("a b")).is_err());
        assert!(updatable("model", &json!(7)).is_err());
        assert!(updatable("reasoning_effort", &serde_json::Value::Null).is_ok());
        for key in [
            "telegram_token",
            "allowed_user_ids",
            "file_access",
            "cli_parameters",
        ] {
            let err = updatable(key, &json!("x")).unwrap_err();
            assert!(err.contains("cannot be changed"), "{err}");
        }
    }
}
