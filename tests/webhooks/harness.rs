//! One server per test, and a raw HTTP/1.1 client.

use ductor::secret::Secret;
use ductor::webhooks::{self, Dispatch, Done, Hook, HookStore, WebhookSettings};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The global bearer token of the test config.
pub const GLOBAL_TOKEN: &str = "global-token-abcdef";
/// Bearer token of the `bearer` hook.
pub const HOOK_TOKEN: &str = "hook-token-123456";
/// HMAC secrets of the presets.
pub const GITHUB_SECRET: &str = "gh-secret-1";
/// Stripe's signing secret.
pub const STRIPE_SECRET: &str = "whsec_test_2";
/// Shopify's app secret.
pub const SHOPIFY_SECRET: &str = "shpss_test_3";

/// One accepted call, as the dispatcher saw it.
#[derive(Debug)]
pub struct Call {
    pub hook: Hook,
    pub prompt: String,
    pub done: Done,
}

/// Records every dispatched call.
#[derive(Debug)]
pub struct Recorder(mpsc::UnboundedSender<Call>);

impl Dispatch for Recorder {
    fn dispatch(&self, hook: Hook, prompt: String, done: Done) {
        let _ = self.0.send(Call { hook, prompt, done });
    }
}

/// The hooks every test starts with.
pub fn hooks() -> Value {
    json!({"hooks": [
        {"id": "bearer", "title": "Bearer", "mode": "wake", "enabled": true,
         "prompt_template": "PR {{action}}: {{ pull_request.title }} ({{missing}})",
         "auth_mode": "bearer", "token": HOOK_TOKEN, "trigger_count": 0,
         "last_triggered_at": null, "last_error": null, "custom_key": "kept"},
        {"id": "shared", "mode": "cron_task", "task_folder": "jobs", "enabled": true,
         "prompt_template": "{{n}}", "auth_mode": "bearer", "token": ""},
        {"id": "off", "mode": "wake", "enabled": false, "prompt_template": "x",
         "auth_mode": "bearer", "token": HOOK_TOKEN},
        {"id": "a", "mode": "wake", "prompt_template": "a", "token": HOOK_TOKEN},
        {"id": "b", "mode": "wake", "prompt_template": "b", "token": HOOK_TOKEN},
        {"id": "c", "mode": "wake", "prompt_template": "c", "token": HOOK_TOKEN},
        {"id": "github", "mode": "wake", "prompt_template": "{{action}}",
         "auth_mode": "hmac", "hmac_secret": GITHUB_SECRET,
         "hmac_header": "X-Hub-Signature-256", "hmac_algorithm": "sha256",
         "hmac_encoding": "hex", "hmac_sig_prefix": "sha256=", "hmac_sig_regex": "",
         "hmac_payload_prefix_regex": ""},
        {"id": "stripe", "mode": "wake", "prompt_template": "{{type}}",
         "auth_mode": "hmac", "hmac_secret": STRIPE_SECRET,
         "hmac_header": "Stripe-Signature", "hmac_algorithm": "sha256",
         "hmac_encoding": "hex", "hmac_sig_prefix": "",
         "hmac_sig_regex": "v1=([a-f0-9]+)", "hmac_payload_prefix_regex": "t=(\\d+)"},
        {"id": "shopify", "mode": "wake", "prompt_template": "{{id}}",
         "auth_mode": "hmac", "hmac_secret": SHOPIFY_SECRET,
         "hmac_header": "X-Shopify-Hmac-Sha256", "hmac_algorithm": "sha256",
         "hmac_encoding": "base64", "hmac_sig_prefix": ""},
        {"id": "bad-regex", "mode": "wake", "prompt_template": "x",
         "auth_mode": "hmac", "hmac_secret": "s", "hmac_header": "X-Sig",
         "hmac_sig_regex": "v1=(["},
        {"id": "unparsable", "enabled": "nope"}
    ], "top_level_extra": 1})
}

/// A running server in a temporary home.
pub struct Rig {
    pub dir: tempfile::TempDir,
    pub addr: SocketAddr,
    pub store: Arc<HookStore>,
    pub settings: Arc<Mutex<WebhookSettings>>,
    pub calls: mpsc::UnboundedReceiver<Call>,
    pub cancel: CancellationToken,
    pub server: Option<webhooks::Server>,
}

impl Rig {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("webhooks.json");
        ductor::store::write_json(&path, &hooks()).unwrap();
        let store = Arc::new(HookStore::open(&path));
        assert_eq!(store.last_load_error(), None);
        let settings = Arc::new(Mutex::new(WebhookSettings {
            enabled: true,
            token: Secret::new(GLOBAL_TOKEN),
            // The tests connect from loopback like a local proxy and name their
            // client in X-Forwarded-For.
            trust_forwarded_for: true,
            ..WebhookSettings::default()
        }));
        let source = settings.clone();
        let (tx, calls) = mpsc::unbounded_channel();
        let cancel = CancellationToken::new();
        let listener = webhooks::bind("127.0.0.1", 0).await.unwrap();
        let server = webhooks::serve(
            listener,
            store.clone(),
            Arc::new(Recorder(tx)),
            Arc::new(move || source.lock().unwrap().clone()),
            cancel.clone(),
        );
        Self {
            dir,
            addr: server.local_addr(),
            store,
            settings,
            calls,
            cancel,
            server: Some(server),
        }
    }

    pub fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("webhooks.json")
    }

    pub fn on_disk(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.path()).unwrap()).unwrap()
    }

    /// A JSON POST to `/hooks/{id}` with `headers`.
    pub async fn post(&self, id: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
        let mut all = vec![("Content-Type", "application/json")];
        all.extend_from_slice(headers);
        request(self.addr, "POST", &format!("/hooks/{id}"), &all, body).await
    }

    /// A bearer-authenticated JSON POST.
    pub async fn post_bearer(&self, id: &str, token: &str, body: &Value) -> Response {
        let auth = format!("Bearer {token}");
        self.post(id, &[("Authorization", &auth)], body.to_string().as_bytes())
            .await
    }

    /// The next dispatched call (fails after 5 s).
    pub async fn next_call(&mut self) -> Call {
        tokio::time::timeout(Duration::from_secs(5), self.calls.recv())
            .await
            .expect("a dispatched call")
            .expect("dispatcher alive")
    }

    /// Stops the server and checks it stops promptly.
    pub async fn stop(mut self) {
        self.cancel.cancel();
        let server = self.server.take().unwrap();
        tokio::time::timeout(Duration::from_secs(10), server.stopped())
            .await
            .expect("server stops");
    }
}

/// A response: status and JSON body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Value,
}

impl Response {
    /// `(status, body["error"])`.
    pub fn error(&self) -> (u16, &str) {
        (self.status, self.body["error"].as_str().unwrap_or("<none>"))
    }
}

/// Parses a raw HTTP/1.1 response (`Connection: close`, Content-Length framed).
pub fn parse(raw: &[u8]) -> Response {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete response head in {text:?}"));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line in {head:?}"));
    let body = serde_json::from_str(body).unwrap_or(Value::Null);
    Response { status, body }
}

/// The request head (without body).
pub fn head(method: &str, path: &str, headers: &[(&str, &str)], length: Option<usize>) -> String {
    let mut out = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    if let Some(n) = length {
        let _ = write!(out, "Content-Length: {n}\r\n");
    }
    for (k, v) in headers {
        let _ = write!(out, "{k}: {v}\r\n");
    }
    out.push_str("\r\n");
    out
}

/// Reads a response until the server closes (a reset after the response is fine).
pub async fn read_response(stream: &mut TcpStream) -> Vec<u8> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
    raw
}

/// One request on a fresh connection.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let mut bytes = head(method, path, headers, Some(body.len())).into_bytes();
        bytes.extend_from_slice(body);
        stream.write_all(&bytes).await.unwrap();
        read_response(&mut stream).await
    };
    let raw = tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .expect("response within 10 s");
    parse(&raw)
}

/// Polls `check` every 50 ms until it holds (fails after `secs`).
pub async fn eventually(secs: u64, what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
