//! The direct API end to end: a real `ductor` (supervisor + agent process) in a
//! temporary home with `api.enabled` on an ephemeral loopback port, the genuine
//! CLIs against the mock model API, and a client written from the protocol
//! description alone (§10): `tokio-tungstenite` for the socket, `crypto_box` for the
//! `NaCl` box.

#[path = "../support/mod.rs"]
mod support;

mod live;
mod protocol;
mod turns;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use crypto_box::aead::{Aead, AeadCore, OsRng};
use crypto_box::{PublicKey, SalsaBox, SecretKey};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use support::clis::{self, CliEnv};
use support::daemon::{Daemon, TestHome, token};
use support::fake_telegram::{BotId, FakeTelegram};
use support::mock_llm::MockLlm;
use tokio_tungstenite::tungstenite::Message;

/// The API token of the test homes.
pub const TOKEN: &str = "api-test-token-0123456789";
/// How long a turn may take.
pub const TURN: Duration = Duration::from_secs(90);

/// A running ductor with its API.
pub struct ApiRig {
    /// The fake Bot API (the agent always runs its Telegram transport).
    pub tg: FakeTelegram,
    /// The main agent's bot.
    pub bot: BotId,
    /// The mock model API.
    pub mock: MockLlm,
    /// Offline CLI environment.
    pub cli: CliEnv,
    _cli_root: tempfile::TempDir,
    /// The ductor home.
    pub home: TestHome,
    /// The running ductor.
    pub daemon: Option<Daemon>,
    /// Where the API listens.
    pub addr: SocketAddr,
}

impl ApiRig {
    /// A rig whose `api` block is `{"enabled": true, "port": 0, "token": TOKEN}`
    /// plus whatever `tweak` changes in the config.
    pub async fn start(tweak: impl FnOnce(&mut Value)) -> Self {
        Self::start_prepared(tweak, |_| {}).await
    }

    /// Like [`ApiRig::start`], with `prepare` run on the home before ductor starts
    /// (state files a previous run left behind).
    pub async fn start_prepared(
        tweak: impl FnOnce(&mut Value),
        prepare: impl FnOnce(&TestHome),
    ) -> Self {
        let tg = FakeTelegram::start().await;
        let bot = tg.add_bot(&token(100_000_001), "ductor_test_bot");
        let mock = MockLlm::start().await;
        let cli_root = clis::test_dir("apicli");
        let cli = CliEnv::new(cli_root.path(), &mock.base_url());
        let home = TestHome::new();
        let url = tg.api_url();
        home.edit_config(|c| {
            c["telegram_api_url"] = json!(url);
            c["provider"] = json!("claude");
            c["model"] = json!("sonnet");
            c["api"] = json!({"enabled": true, "port": 0, "token": TOKEN});
            tweak(c);
        });
        prepare(&home);
        let daemon = home.start_with_env(&cli.vars());
        let addr = home.api_addr().await;
        Self {
            tg,
            bot,
            mock,
            cli,
            _cli_root: cli_root,
            home,
            daemon: Some(daemon),
            addr,
        }
    }

    /// A client that authenticated with `extra` fields (`chat_id`, `channel_id`).
    pub async fn client(&self, extra: Value) -> Client {
        Client::authenticated(self.addr, TOKEN, extra).await
    }

    /// CLI processes of this rig (everything in its CLI environment but ductor).
    pub fn cli_processes(&self) -> Vec<(i32, String)> {
        support::daemon::cli_processes_of(self.cli.root())
    }

    /// Waits until `pred` holds for the CLI processes; returns them.
    pub async fn wait_cli(
        &self,
        what: &str,
        pred: impl Fn(&[(i32, String)]) -> bool,
    ) -> Vec<(i32, String)> {
        let start = Instant::now();
        loop {
            let now = self.cli_processes();
            if pred(&now) {
                return now;
            }
            assert!(start.elapsed() < TURN, "{what}: CLI processes {now:#?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The agent's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.home.root.join("logs/agent.log")).unwrap_or_default()
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A client of the protocol.
pub struct Client {
    ws: Socket,
    secret: SecretKey,
    sealed: Option<SalsaBox>,
    /// The server's `auth_ok`.
    pub auth_ok: Value,
}

/// A frame sealed for the server: base64(nonce ‖ box).
pub fn seal(sealed: &SalsaBox, v: &Value) -> String {
    let nonce = SalsaBox::generate_nonce(&mut OsRng);
    let mut raw = nonce.to_vec();
    raw.extend(sealed.encrypt(&nonce, v.to_string().as_bytes()).unwrap());
    STANDARD.encode(raw)
}

impl Client {
    /// A connected socket that has not authenticated yet.
    pub async fn connect(addr: SocketAddr) -> Self {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .expect("connect to /ws");
        Self {
            ws,
            secret: SecretKey::generate(&mut OsRng),
            sealed: None,
            auth_ok: Value::Null,
        }
    }

    /// The client's public key, base64.
    pub fn public_key(&self) -> String {
        STANDARD.encode(self.secret.public_key().as_bytes())
    }

    /// Connects and authenticates with `token` and `extra` fields; panics unless
    /// the server says `auth_ok`.
    pub async fn authenticated(addr: SocketAddr, token: &str, extra: Value) -> Self {
        let mut c = Self::connect(addr).await;
        let mut auth = json!({"type": "auth", "token": token, "e2e_pk": c.public_key()});
        if let Value::Object(more) = extra {
            auth.as_object_mut().unwrap().extend(more);
        }
        c.send_raw(Message::text(auth.to_string())).await;
        let ok = c.recv_plain().await.expect("an answer to auth");
        assert_eq!(ok["type"], "auth_ok", "{ok}");
        let server: [u8; 32] = STANDARD
            .decode(ok["e2e_pk"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        c.sealed = Some(SalsaBox::new(&PublicKey::from(server), &c.secret));
        c.auth_ok = ok;
        c
    }

    /// Sends a frame as it is.
    pub async fn send_raw(&mut self, m: Message) {
        self.ws.send(m).await.expect("send a frame");
    }

    /// Seals `v` into a frame (not sent).
    pub fn seal(&self, v: &Value) -> String {
        seal(self.sealed.as_ref().expect("authenticated"), v)
    }

    /// Sends `v` sealed.
    pub async fn send(&mut self, v: &Value) {
        let frame = self.seal(v);
        self.send_raw(Message::text(frame)).await;
    }

    /// Sends a `message`.
    pub async fn say(&mut self, text: &str) {
        self.send(&json!({"type": "message", "text": text})).await;
    }

    /// The next text frame (pings skipped); `None` when the socket closed.
    pub async fn next_text(&mut self, timeout: Duration) -> Option<String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .expect("a frame in time");
            match msg {
                Some(Ok(Message::Text(t))) => return Some(t.to_string()),
                Some(Ok(Message::Close(_)) | Err(_)) | None => return None,
                Some(Ok(_)) => {}
            }
        }
    }

    /// The next frame as plaintext JSON (before `auth_ok`); `None` when closed.
    pub async fn recv_plain(&mut self) -> Option<Value> {
        let text = self.next_text(Duration::from_secs(20)).await?;
        Some(serde_json::from_str(&text).expect("plaintext JSON"))
    }

    /// Whether the server closes the socket (nothing but a close follows).
    pub async fn closed(&mut self) -> bool {
        self.next_text(Duration::from_secs(20)).await.is_none()
    }

    /// The code of the close frame that ends the socket (text frames before it are
    /// skipped).
    pub async fn close_code(&mut self, timeout: Duration) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| f.code.into()),
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(_)) | None) | Err(_) => return None,
            }
        }
    }

    /// The next sealed frame, opened.
    pub async fn recv(&mut self, timeout: Duration) -> Value {
        let text = self
            .next_text(timeout)
            .await
            .expect("the socket stayed open");
        let raw = STANDARD.decode(text.trim()).expect("base64 frame");
        let plain = self
            .sealed
            .as_ref()
            .unwrap()
            .decrypt(raw[..24].into(), &raw[24..])
            .expect("a frame the client can open");
        serde_json::from_slice(&plain).expect("JSON inside")
    }

    /// Frames until one satisfies `pred` (inclusive).
    pub async fn until(&mut self, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            assert!(!left.is_zero(), "no matching frame in time; saw {seen:#?}");
            let frame = self.recv(left).await;
            let done = pred(&frame);
            seen.push(frame);
            if done {
                return seen;
            }
        }
    }

    /// Frames up to and including the next `result`.
    pub async fn result(&mut self) -> Vec<Value> {
        self.until(TURN, |f| f["type"] == "result").await
    }
}

/// The concatenated `text_delta` data of `frames`.
pub fn deltas(frames: &[Value]) -> String {
    frames
        .iter()
        .filter(|f| f["type"] == "text_delta")
        .filter_map(|f| f["data"].as_str())
        .collect()
}
