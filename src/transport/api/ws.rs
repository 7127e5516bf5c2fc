//! `GET /ws`: the WebSocket protocol of §10, wire-compatible with the original.
//!
//! 1. Within 10 s the client sends, in plaintext, `{"type": "auth", "token",
//!    "e2e_pk", "chat_id"?, "channel_id"?}`; errors `auth_timeout`,
//!    `auth_required`, `auth_failed` close the socket.
//! 2. The server answers in plaintext `auth_ok` with its per-connection key, the
//!    providers and their models, the active provider/model, `chat_id` and
//!    `channel_id`.
//! 3. From then on every frame is sealed ([`super::crypto`]). The client sends
//!    `message`, `abort` and (extension) `action`; the server sends `text_delta`,
//!    `tool_activity`, `system_status`, `result`, `abort_ok`, `error` (see
//!    [`super::render`]).
//!
//! Better than the original: frames are read while a turn runs (an `abort` stops it
//! at once); a disconnect stops only the turns this connection started; the chat is
//! the API's own (`api:<chat_id>[:<channel_id>]`), or — only when the client names
//! it with `session` in `auth` — an existing conversation such as the Telegram DM,
//! whose actor then runs both transports' turns one at a time; commands answer with their
//! buttons; a connection may send `messages_per_minute` messages and actions per
//! minute; at most `max_connections` sockets are open (more get 503); the server
//! pings every 30 s and drops a peer silent for 90 s.

use super::crypto::{self, FrameError, Session};
use super::hub::{self, Push};
use super::render::{self, TurnFrames};
use super::{ApiContext, json_reply};
use crate::address::Address;
use crate::exec::TimeoutKind;
use crate::ops::{self, Action, Ctx, Ops, Response, Sender, Submit};
use crate::session::store::default_target;
use crate::session::{TurnRequest, TurnUpdate};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response as HttpResponse;
use warp::ws::{Message, WebSocket, Ws};
use warp::{Filter, Reply};

/// Time a client has to send `auth`.
pub const AUTH_TIMEOUT: Duration = Duration::from_secs(10);
/// Interval of the server's pings.
pub const PING_EVERY: Duration = Duration::from_secs(30);
/// A peer that sent nothing (not even a pong) for this long is gone.
const SILENT_LIMIT: Duration = Duration::from_secs(90);
/// A client that takes no frame for this long is gone.
const SEND_LIMIT: Duration = Duration::from_secs(30);
/// Largest frame accepted from a client.
const MAX_FRAME: usize = 1024 * 1024;
/// Messages and actions one connection may have waiting for their turn.
const INPUT_QUEUE: usize = 16;

/// The `/ws` route: 503 `too_many_connections` when `max_connections` are open.
pub fn route(ctx: ApiContext) -> BoxedFilter<(HttpResponse,)> {
    warp::path("ws")
        .and(warp::path::end())
        .and(warp::ws())
        .and(warp::header::optional::<String>("origin"))
        .and(warp::header::optional::<String>("host"))
        .map(
            move |ws: Ws, origin: Option<String>, host: Option<String>| {
                if !same_origin(origin.as_deref(), host.as_deref()) {
                    tracing::warn!("api: a WebSocket from another web origin was refused");
                    return json_reply(
                        StatusCode::FORBIDDEN,
                        &json!({"error": "forbidden_origin"}),
                    );
                }
                let max = ctx.settings().max_connections;
                let Some(slot) = ctx.hub.try_open(max) else {
                    tracing::warn!(max, "api: a connection over max_connections was refused");
                    return json_reply(
                        StatusCode::SERVICE_UNAVAILABLE,
                        &json!({"error": "too_many_connections"}),
                    );
                };
                let ctx = ctx.clone();
                ws.max_message_size(MAX_FRAME)
                    .max_frame_size(MAX_FRAME)
                    .on_upgrade(move |socket| async move {
                        serve(ctx, socket).await;
                        drop(slot);
                    })
                    .into_response()
            },
        )
        .boxed()
}

/// Whether a WebSocket may open: programs send no `Origin`; a browser must come
/// from a page of this server (its own `Host`), never from another site the user
/// happens to visit.
fn same_origin(origin: Option<&str>, host: Option<&str>) -> bool {
    let Some(origin) = origin else {
        return true;
    };
    let Some(rest) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    host.is_some_and(|h| h.eq_ignore_ascii_case(rest.trim_end_matches('/')))
}

/// What a valid `auth` frame says.
#[derive(Debug)]
pub struct Auth {
    /// The chat of the connection.
    pub address: Address,
    /// The client's public key.
    pub client_key: crypto_box::PublicKey,
    /// An existing conversation the client asks to share (`session`, extension:
    /// a conversation key such as `tg:123`); checked against `sessions.json`.
    pub session: Option<Address>,
}

/// Why `auth` failed: the error code and its message.
pub type AuthError = (&'static str, &'static str);

/// Checks the first frame (its text). `default_chat` is the chat of a client that
/// names none.
pub fn check_auth(
    settings: &super::ApiSettings,
    default_chat: i64,
    text: &str,
) -> Result<Auth, AuthError> {
    let required = ("auth_required", "First message must be auth");
    let frame: Value = serde_json::from_str(text).map_err(|_| required)?;
    if frame.get("type").and_then(Value::as_str) != Some("auth") {
        return Err(required);
    }
    let token = frame.get("token").and_then(Value::as_str).unwrap_or("");
    if !settings.token_ok(token) {
        return Err(("auth_failed", "Invalid token"));
    }
    let client_key = frame
        .get("e2e_pk")
        .and_then(Value::as_str)
        .and_then(crypto::public_key)
        .ok_or(("auth_failed", "e2e_pk required or invalid"))?;
    let positive = |key: &str| frame.get(key).and_then(Value::as_i64).filter(|n| *n > 0);
    let session = match frame.get("session") {
        None | Some(Value::Null) => None,
        Some(key) => Some(
            key.as_str()
                .and_then(Address::parse)
                .ok_or(("auth_failed", "Unknown session"))?,
        ),
    };
    Ok(Auth {
        address: hub::address(
            positive("chat_id").unwrap_or(default_chat),
            positive("channel_id"),
        ),
        client_key,
        session,
    })
}

/// The `auth` phase on a fresh socket; `None` when the client did not make it
/// (it was told why).
async fn authenticate(ctx: &ApiContext, ws: &mut WebSocket) -> Option<Auth> {
    let deadline = Instant::now() + AUTH_TIMEOUT;
    let outcome = loop {
        let msg = match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => break Err(("auth_timeout", "No auth within 10 seconds")),
            Ok(None | Some(Err(_))) => return None,
            Ok(Some(Ok(m))) => m,
        };
        if msg.is_ping() || msg.is_pong() {
            continue;
        }
        if msg.is_close() {
            return None;
        }
        let Ok(text) = msg.to_str() else {
            break Err(("auth_required", "First message must be auth"));
        };
        let settings = ctx.settings();
        let config = ctx.core().config.get();
        break check_auth(
            &settings,
            settings.default_chat(&config.allowed_user_ids),
            text,
        );
    };
    // Sharing a conversation needs one that exists: turns then go through its actor,
    // one at a time with the other transport's.
    let outcome = outcome.and_then(|mut auth| match auth.session.take() {
        Some(key)
            if ctx
                .core()
                .conversations
                .engine()
                .sessions
                .get(&key)
                .is_some() =>
        {
            auth.address = key;
            Ok(auth)
        }
        Some(_) => Err(("auth_failed", "Unknown session")),
        None => Ok(auth),
    });
    match outcome {
        Ok(auth) => Some(auth),
        Err((code, message)) => {
            tracing::info!(code, "api: a client failed to authenticate");
            let frame = render::error(code, message).to_string();
            let _ = ws.send(Message::text(frame)).await;
            let _ = ws.send(Message::close()).await;
            None
        }
    }
}

/// Display colours of the providers in `auth_ok`.
fn color(p: crate::provider::ProviderKind) -> &'static str {
    match p {
        crate::provider::ProviderKind::Claude => "#d97757",
        crate::provider::ProviderKind::Codex => "#10a37f",
        crate::provider::ProviderKind::Gemini => "#4285f4",
    }
}

/// The `auth_ok` frame.
fn auth_ok(ctx: &ApiContext, address: &Address, server_key: &str) -> Value {
    let core = ctx.core();
    let providers: Vec<Value> = crate::provider::auth::ready(&core.paths)
        .into_iter()
        .map(|p| {
            json!({
                "id": p.as_str(),
                "name": p.display_name(),
                "color": color(p),
                "models": core.catalogue.models(p),
            })
        })
        .collect();
    let target = core
        .conversations
        .engine()
        .sessions
        .target(address)
        .unwrap_or_else(|| default_target(&core.config.get()));
    let mut frame = json!({
        "type": "auth_ok",
        "chat_id": address.chat_id,
        "e2e_pk": server_key,
        "providers": providers,
        "active_provider": target.provider.as_str(),
        "active_model": target.model,
    });
    if let Some(channel) = address.topic_id {
        frame["channel_id"] = json!(channel);
    }
    frame
}

/// What the connection's helpers hand back to it.
#[derive(Debug)]
enum Internal {
    /// Frames to send; then restart the agent if asked.
    Frames(Vec<Value>, bool),
    /// A turn of this connection was submitted.
    NewTurn(u64, Option<String>),
    /// An update of a turn of this connection.
    Turn(u64, TurnUpdate),
    /// A turn of this connection went away without an end (its actor is gone).
    Lost(u64),
}

/// Input handled in order, one after the other.
#[derive(Debug)]
enum Input {
    Message(String),
    Action(String),
}

/// `message`/`action` frames of the last minute.
#[derive(Debug, Default)]
struct RateWindow(VecDeque<Instant>);

impl RateWindow {
    fn allow(&mut self, per_minute: u32) -> bool {
        let now = Instant::now();
        while self
            .0
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_mins(1))
        {
            self.0.pop_front();
        }
        if self.0.len() >= per_minute as usize {
            return false;
        }
        self.0.push_back(now);
        true
    }
}

/// One authenticated connection.
struct Conn {
    ctx: ApiContext,
    address: Address,
    session: Session,
    sink: futures_util::stream::SplitSink<WebSocket, Message>,
    /// Cancels the turns this connection started.
    turns_cancel: CancellationToken,
    turns: HashMap<u64, TurnFrames>,
    internal: mpsc::Sender<Internal>,
    input: mpsc::Sender<Input>,
    rate: RateWindow,
}

/// The socket is gone (or must go).
#[derive(Debug)]
struct Gone;

/// Serves one socket from `auth` to its end.
async fn serve(ctx: ApiContext, mut ws: WebSocket) {
    let Some(auth) = authenticate(&ctx, &mut ws).await else {
        return;
    };
    let session = Session::new(&auth.client_key);
    let hello = auth_ok(&ctx, &auth.address, &session.public_key());
    if ws.send(Message::text(hello.to_string())).await.is_err() {
        return;
    }
    tracing::info!(chat = %auth.address, "api: client connected");
    let (sink, stream) = ws.split();
    let (internal, internal_rx) = mpsc::channel(256);
    let (input, input_rx) = mpsc::channel(INPUT_QUEUE);
    let turns_cancel = CancellationToken::new();
    tokio::spawn(worker(
        ctx.ops.clone(),
        auth.address.clone(),
        turns_cancel.clone(),
        input_rx,
        internal.clone(),
    ));
    let (member, pushes) = ctx.hub.join(&auth.address);
    let mut conn = Conn {
        ctx,
        address: auth.address,
        session,
        sink,
        turns_cancel,
        turns: HashMap::new(),
        internal,
        input,
        rate: RateWindow::default(),
    };
    let shutdown = conn.run(stream, internal_rx, pushes).await;
    drop(member);
    if shutdown {
        // The core keeps interrupted turns recoverable; they are not stopped here.
        let _ = conn
            .sink
            .send(Message::close_with(1001u16, "server shutdown"))
            .await;
    } else {
        // Only what this connection started: other clients of the chat go on.
        conn.turns_cancel.cancel();
        tracing::info!(chat = %conn.address, "api: client disconnected");
    }
}

impl Conn {
    /// Runs until the socket ends; true when the agent is shutting down.
    async fn run(
        &mut self,
        mut stream: futures_util::stream::SplitStream<WebSocket>,
        mut internal: mpsc::Receiver<Internal>,
        mut pushes: mpsc::UnboundedReceiver<Push>,
    ) -> bool {
        let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
        let mut heard = Instant::now();
        let shutdown = self.ctx.shutdown.clone();
        loop {
            let step = tokio::select! {
                () = shutdown.cancelled() => return true,
                msg = stream.next() => match msg {
                    Some(Ok(m)) => {
                        heard = Instant::now();
                        self.incoming(&m).await
                    }
                    None | Some(Err(_)) => Err(Gone),
                },
                Some(item) = internal.recv() => self.internal(item).await,
                Some(push) = pushes.recv() => {
                    let sent = self.send(&push.frame).await;
                    if sent.is_ok() && let Some(ack) = push.ack {
                        let _ = ack.send(());
                    }
                    sent
                }
                _ = ping.tick() => {
                    if heard.elapsed() >= SILENT_LIMIT {
                        tracing::info!(chat = %self.address, "api: client silent too long");
                        Err(Gone)
                    } else {
                        self.write(Message::ping(Vec::new())).await
                    }
                }
            };
            if step.is_err() {
                return false;
            }
        }
    }

    /// Seals and sends one frame.
    async fn send(&mut self, frame: &Value) -> Result<(), Gone> {
        let sealed = self.session.seal(frame.to_string().as_bytes());
        self.write(Message::text(sealed)).await
    }

    /// Writes one message; a client that takes nothing for [`SEND_LIMIT`] is gone
    /// (its turns stop, so a reader that stalled cannot hold up its chat's lane).
    async fn write(&mut self, message: Message) -> Result<(), Gone> {
        match tokio::time::timeout(SEND_LIMIT, self.sink.send(message)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Gone),
            Err(_) => {
                tracing::warn!(chat = %self.address, "api: the client stopped reading; dropping it");
                Err(Gone)
            }
        }
    }

    async fn error(&mut self, code: &str, message: &str) -> Result<(), Gone> {
        self.send(&render::error(code, message)).await
    }

    async fn internal(&mut self, item: Internal) -> Result<(), Gone> {
        match item {
            Internal::Frames(frames, restart) => {
                for f in &frames {
                    self.send(f).await?;
                }
                if restart {
                    self.ctx.core().restart.cancel();
                }
            }
            Internal::NewTurn(id, tag) => {
                self.turns.insert(
                    id,
                    TurnFrames::new(self.ctx.core().clone(), tag).at(self.address.clone()),
                );
            }
            Internal::Lost(id) => {
                if self.turns.remove(&id).is_some() {
                    tracing::error!(chat = %self.address, "api: a turn ended without a result");
                    self.error("internal_error", "The turn ended without a result")
                        .await?;
                }
            }
            Internal::Turn(id, update) => {
                let Some(frames) = self.turns.get_mut(&id) else {
                    return Ok(());
                };
                let (out, end) = frames.update(update);
                if end {
                    self.turns.remove(&id);
                }
                for f in &out {
                    self.send(f).await?;
                }
            }
        }
        Ok(())
    }

    /// One frame from the client.
    async fn incoming(&mut self, msg: &Message) -> Result<(), Gone> {
        if msg.is_close() {
            return Err(Gone);
        }
        if msg.is_ping() || msg.is_pong() {
            return Ok(());
        }
        let Ok(text) = msg.to_str() else {
            return self
                .error("decrypt_failed", "Frames must be base64 text")
                .await;
        };
        let plain = match self.session.open(text) {
            Ok(p) => p,
            Err(e @ FrameError::Exhausted) => {
                self.error("decrypt_failed", &e.to_string()).await?;
                return Err(Gone);
            }
            Err(e) => {
                tracing::info!(chat = %self.address, error = %e, "api: a frame was refused");
                return self.error("decrypt_failed", &e.to_string()).await;
            }
        };
        let Ok(frame) = serde_json::from_slice::<Value>(&plain) else {
            return self.error("decrypt_failed", "The frame is not JSON").await;
        };
        match frame.get("type").and_then(Value::as_str) {
            Some("message") => {
                let text = frame.get("text").and_then(Value::as_str).unwrap_or("");
                self.message(text.trim()).await
            }
            Some("abort") => {
                self.abort();
                Ok(())
            }
            Some("action") => {
                let id = frame.get("id").and_then(Value::as_str).unwrap_or("");
                if id.is_empty() {
                    return self.error("empty", "The action has no id").await;
                }
                self.queue(Input::Action(id.to_owned())).await
            }
            other => {
                let shown = other.unwrap_or("").chars().take(40).collect::<String>();
                self.error("unknown_type", &format!("Unknown message type: {shown}"))
                    .await
            }
        }
    }

    async fn message(&mut self, text: &str) -> Result<(), Gone> {
        if text.is_empty() {
            return self.error("empty", "Empty message").await;
        }
        let abort = ops::abort_of(text, self.ctx.core().config.get().abort_words);
        if text.eq_ignore_ascii_case("/stop") || abort == Some(ops::Abort::Stop) {
            self.abort();
            return Ok(());
        }
        // The other abort words and phrases are their commands, answered at once.
        let named = match abort {
            Some(ops::Abort::Interrupt) => Some(("interrupt".to_owned(), String::new())),
            Some(ops::Abort::StopAll) => Some(("stop_all".to_owned(), String::new())),
            Some(ops::Abort::Stop) | None => command(text),
        };
        if let Some((name, args)) = named
            && let Some(spec) = ops::table::lookup(&name)
            && spec.immediate
        {
            if !self.rate.allow(self.ctx.settings().messages_per_minute) {
                return self.rate_limited().await;
            }
            let (ops, address, out) = (
                self.ctx.ops.clone(),
                self.address.clone(),
                self.internal.clone(),
            );
            tokio::spawn(async move {
                let r = ops::command(&ctx_of(&ops, &address), spec.name, &args)
                    .await
                    .unwrap_or_default();
                let _ = out
                    .send(Internal::Frames(render::response(&r), r.restart))
                    .await;
            });
            return Ok(());
        }
        self.queue(Input::Message(text.to_owned())).await
    }

    async fn rate_limited(&mut self) -> Result<(), Gone> {
        self.error(
            "rate_limited",
            "Too many messages; wait a little before sending more",
        )
        .await
    }

    /// Hands input to the connection's worker (in order), within the rate limit.
    async fn queue(&mut self, input: Input) -> Result<(), Gone> {
        if !self.rate.allow(self.ctx.settings().messages_per_minute) {
            return self.rate_limited().await;
        }
        if self.input.try_send(input).is_err() {
            return self.rate_limited().await;
        }
        Ok(())
    }

    /// `abort` (or `/stop`): stops what streams into this chat at once; answered
    /// with `abort_ok {killed}` once it is stopped.
    fn abort(&self) {
        let (core, address, out) = (
            self.ctx.core().clone(),
            self.address.clone(),
            self.internal.clone(),
        );
        tokio::spawn(async move {
            let report = core.conversations.stop(&address).await;
            // Like `/stop` in a chat: no CLI process of this chat is left, a warm one
            // included.
            core.live.close(&address.to_string()).await;
            tracing::info!(chat = %address, stopped = report.stopped, "api: abort");
            let frame = json!({"type": "abort_ok", "killed": report.stopped});
            let _ = out.send(Internal::Frames(vec![frame], false)).await;
        });
    }
}

/// `/name args` → (`name` lower-cased, without `@bot`; `args` trimmed).
fn command(text: &str) -> Option<(String, String)> {
    let rest = text.strip_prefix('/')?;
    let (head, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let name = head.split('@').next().unwrap_or(head).to_lowercase();
    (!name.is_empty()).then(|| (name, args.trim().to_owned()))
}

/// The command layer's view of input in `address`.
fn ctx_of<'a>(ops: &'a Ops, address: &Address) -> Ctx<'a> {
    Ctx {
        ops,
        address: address.clone(),
        sender: Sender {
            first_name: String::new(),
            id: None,
        },
        message: None,
    }
}

/// Handles the connection's messages and actions in order: commands, plain
/// messages and button ids go through the command layer; a turn they start
/// streams back to this connection and stops when `cancel` fires.
async fn worker(
    ops: Arc<Ops>,
    address: Address,
    cancel: CancellationToken,
    mut input: mpsc::Receiver<Input>,
    out: mpsc::Sender<Internal>,
) {
    let mut next_turn = 0u64;
    while let Some(item) = input.recv().await {
        if cancel.is_cancelled() {
            // The client is gone: what it queued (a `/new`, a message) does not run.
            return;
        }
        let ctx = ctx_of(&ops, &address);
        let r = match item {
            Input::Message(text) => message(&ctx, &text).await,
            Input::Action(id) => ops::action(&ctx, Action::decode(&id)).await,
        };
        let frames = render::response(&r);
        if (!frames.is_empty() || r.restart)
            && out.send(Internal::Frames(frames, r.restart)).await.is_err()
        {
            return;
        }
        if let Some(submit) = r.submit {
            next_turn += 1;
            start_turn(&ops, &address, &cancel, &out, next_turn, submit).await;
        }
    }
}

/// A message: a command of the command layer, or input for the agent.
async fn message(ctx: &Ctx<'_>, text: &str) -> Response {
    if let Some((name, args)) = command(text)
        && let Some(r) = ops::command(ctx, &name, &args).await
    {
        return r;
    }
    ops::message(ctx, text, &ops::Origin::default()).await
}

/// Submits `submit` at `address` with this connection's stop; its updates reach
/// the connection as [`Internal::Turn`].
async fn start_turn(
    ops: &Ops,
    address: &Address,
    cancel: &CancellationToken,
    out: &mpsc::Sender<Internal>,
    id: u64,
    submit: Submit,
) {
    if out
        .send(Internal::NewTurn(id, submit.tag.clone()))
        .await
        .is_err()
    {
        return;
    }
    let (tx, mut rx) = mpsc::channel(256);
    let forward = out.clone();
    tokio::spawn(async move {
        while let Some(update) = rx.recv().await {
            let end = matches!(update, TurnUpdate::Finished(_) | TurnUpdate::Dropped { .. });
            if forward.send(Internal::Turn(id, update)).await.is_err() || end {
                return;
            }
        }
        // The core dropped the turn without ending it: say so rather than leave
        // the client waiting.
        let _ = forward.send(Internal::Lost(id)).await;
    });
    let req = TurnRequest {
        target_override: submit.target_override,
        reply_to: submit.reply_to,
        is_recovery: submit.is_recovery,
        timeout: TimeoutKind::Interactive,
        cancel: Some(cancel.child_token()),
        by: submit.by,
        ..TurnRequest::new(submit.lane, submit.prompt, tx)
    };
    ops.core.conversations.submit(address, req).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::api::ApiSettings;

    #[test]
    fn only_programs_and_the_servers_own_pages_may_open_a_websocket() {
        let host = Some("127.0.0.1:8741");
        assert!(same_origin(None, host), "a program sends no Origin");
        assert!(same_origin(Some("http://127.0.0.1:8741"), host));
        assert!(same_origin(
            Some("https://Chat.Example:8741/"),
            Some("chat.example:8741")
        ));
        assert!(
            !same_origin(Some("https://evil.example"), host),
            "another site"
        );
        assert!(
            !same_origin(Some("http://127.0.0.1:9999"), host),
            "another port"
        );
        assert!(!same_origin(Some("null"), host), "a sandboxed or file page");
        assert!(!same_origin(Some("http://127.0.0.1:8741"), None));
    }

    #[test]
    fn auth_frames_are_checked_in_the_original_order() {
        let settings = ApiSettings::from_config(&json!({"token": "tok"}));
        let key = crypto::encode_key(&crypto_box::SecretKey::from([7u8; 32]).public_key());
        let check = |text: &str| check_auth(&settings, 9, text).map(|a| a.address);
        assert_eq!(check("hello").unwrap_err().0, "auth_required");
        assert_eq!(
            check(r#"{"type":"message"}"#).unwrap_err().0,
            "auth_required"
        );
        let bad_token = json!({"type": "auth", "token": "nope", "e2e_pk": key}).to_string();
        assert_eq!(
            check(&bad_token).unwrap_err(),
            ("auth_failed", "Invalid token")
        );
        let no_key = json!({"type": "auth", "token": "tok"}).to_string();
        assert_eq!(
            check(&no_key).unwrap_err(),
            ("auth_failed", "e2e_pk required or invalid")
        );
        let short = json!({"type": "auth", "token": "tok", "e2e_pk": "AAAA"}).to_string();
        assert_eq!(check(&short).unwrap_err().0, "auth_failed");
        let plain = json!({"type": "auth", "token": "tok", "e2e_pk": key}).to_string();
        assert_eq!(check(&plain).unwrap(), hub::address(9, None));
        let named =
            json!({"type": "auth", "token": "tok", "e2e_pk": key, "chat_id": 5, "channel_id": 3});
        assert_eq!(check(&named.to_string()).unwrap(), hub::address(5, Some(3)));
        let odd = json!({"type": "auth", "token": "tok", "e2e_pk": key, "chat_id": -5, "channel_id": "x"});
        assert_eq!(check(&odd.to_string()).unwrap(), hub::address(9, None));
        let shared = json!({"type": "auth", "token": "tok", "e2e_pk": key, "session": "tg:12"});
        let auth = check_auth(&settings, 9, &shared.to_string()).unwrap();
        assert_eq!(auth.session, Some(Address::new("tg", 12, None)));
        let bogus = json!({"type": "auth", "token": "tok", "e2e_pk": key, "session": "tg:x"});
        assert_eq!(
            check(&bogus.to_string()).unwrap_err(),
            ("auth_failed", "Unknown session")
        );
    }

    #[test]
    fn commands_are_parsed_like_telegrams() {
        assert_eq!(
            command("/model opus"),
            Some(("model".into(), "opus".into()))
        );
        assert_eq!(
            command("/Status@bot"),
            Some(("status".into(), String::new()))
        );
        assert_eq!(command("/new   "), Some(("new".into(), String::new())));
        assert_eq!(command("hello /new"), None);
        assert_eq!(command("/"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_window_slides() {
        let mut w = RateWindow::default();
        assert!(w.allow(2) && w.allow(2));
        assert!(!w.allow(2));
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(w.allow(2));
    }
}
