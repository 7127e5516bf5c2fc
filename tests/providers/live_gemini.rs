//! `gemini --acp` (Agent Client Protocol) end to end: the genuine CLI against the mock
//! model API, driven through `LiveProcess` and the gemini live codec.
//!
//! `capture_fixtures` (ignored; run it by name with `--run-ignored only`) records the raw
//! JSON-RPC dialogue of each case into `tests/fixtures/cli-streams/live/gemini-*.jsonl`: one
//! line per message, `{"to_cli": …}` for what the client wrote, `{"from_cli": …}` for what
//! gemini wrote; the test root is replaced by `/home/user`.

use super::support::clis::{self, CliEnv};
use super::support::mock_llm::MockLlm;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// The model every case runs with (skips gemini's model router).
const MODEL: &str = "gemini-3.8-flash";

/// A raw JSON-RPC dialogue with `gemini --acp`, recorded line by line.
struct Recorder {
    stdin: tokio::process::ChildStdin,
    rx: tokio::sync::mpsc::UnboundedReceiver<String>,
    log: Vec<Value>,
    child: tokio::process::Child,
}

impl Recorder {
    fn start(env: &CliEnv) -> Self {
        let mut cmd = env.command("gemini", &env.workspace());
        cmd.arg("--acp").stdin(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn gemini --acp");
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(l)) = lines.next_line().await {
                if tx.send(l).is_err() {
                    return;
                }
            }
        });
        Self {
            stdin,
            rx,
            log: Vec::new(),
            child,
        }
    }

    async fn send(&mut self, v: Value) {
        self.log.push(json!({ "to_cli": v }));
        let line = format!("{v}\n");
        self.stdin.write_all(line.as_bytes()).await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    /// Reads lines until one matches `found`; returns it.
    async fn until(&mut self, found: impl Fn(&Value) -> bool) -> Value {
        loop {
            let line = tokio::time::timeout(Duration::from_mins(1), self.rx.recv())
                .await
                .unwrap_or_else(|_| panic!("gemini said nothing for 60 s: {:#?}", self.log))
                .expect("gemini closed its stdout");
            let v: Value = serde_json::from_str(&line).unwrap_or(Value::String(line));
            self.log.push(json!({ "from_cli": v }));
            if found(&v) {
                return v;
            }
        }
    }

    async fn initialize(&mut self) {
        self.send(json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":1,"clientCapabilities":{"fs":{"readTextFile":false,"writeTextFile":false},"terminal":false}}})).await;
        self.until(|v| v["id"] == 0).await;
    }

    /// Handshake: `initialize`, `session/new`, `session/set_model`; returns the session id.
    async fn handshake(&mut self, cwd: &Path) -> String {
        self.initialize().await;
        self.send(json!({"jsonrpc":"2.0","id":1,"method":"session/new","params":{"cwd":cwd,"mcpServers":[]}})).await;
        let v = self.until(|v| v["id"] == 1).await;
        let sid = v["result"]["sessionId"]
            .as_str()
            .expect("sessionId")
            .to_owned();
        self.send(json!({"jsonrpc":"2.0","id":2,"method":"session/set_model","params":{"sessionId":sid,"modelId":MODEL}})).await;
        self.until(|v| v["id"] == 2).await;
        sid
    }

    async fn prompt(&mut self, id: u64, sid: &str, text: &str) {
        self.send(json!({"jsonrpc":"2.0","id":id,"method":"session/prompt","params":{"sessionId":sid,"prompt":[{"type":"text","text":text}]}})).await;
    }

    /// Runs until the response to request `id`, answering every permission request with
    /// `option`.
    async fn finish_turn(&mut self, id: u64, option: &str) -> Value {
        loop {
            let v = self
                .until(|v| v["id"] == id || v["method"] == "session/request_permission")
                .await;
            if v["method"] == "session/request_permission" {
                let outcome = json!({"outcome":"selected","optionId":option});
                self.send(json!({"jsonrpc":"2.0","id":v["id"],"result":{"outcome":outcome}}))
                    .await;
            } else {
                return v;
            }
        }
    }

    /// Collects what arrives within `quiet`, then ends the process and writes the fixture.
    async fn save(mut self, name: &str, root: &Path) {
        while let Ok(Some(line)) =
            tokio::time::timeout(Duration::from_millis(500), self.rx.recv()).await
        {
            let v: Value = serde_json::from_str(&line).unwrap_or(Value::String(line));
            self.log.push(json!({ "from_cli": v }));
        }
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        let root = root.to_string_lossy().into_owned();
        let mut text = String::new();
        for v in &self.log {
            text.push_str(&v.to_string().replace(&root, "/home/user"));
            text.push('\n');
        }
        let path = fixture_dir().join(format!("gemini-{name}.jsonl"));
        std::fs::create_dir_all(fixture_dir()).unwrap();
        std::fs::write(&path, text).unwrap();
    }
}

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cli-streams/live")
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "rewrites the fixtures; run by hand against the pinned gemini"]
async fn capture_fixtures() {
    let mock = MockLlm::start().await;
    let root = clis::test_dir("gemini-live-capture");
    let env = CliEnv::new(root.path(), &mock.base_url());
    let ws = env.workspace();

    // Allowed once, then a second turn on the warm process.
    let mut r = Recorder::start(&env);
    let sid = r.handshake(&ws).await;
    let sid_first = sid.clone();
    r.prompt(3, &sid, "MOCK_TOOL_CMD<<touch allowed.txt && echo made>>")
        .await;
    r.finish_turn(3, "proceed_once").await;
    assert!(ws.join("allowed.txt").exists());
    r.prompt(4, &sid, "and now?").await;
    r.finish_turn(4, "proceed_once").await;
    r.save("allow-once", root.path()).await;

    // Denied.
    let mut r = Recorder::start(&env);
    let sid = r.handshake(&ws).await;
    r.prompt(3, &sid, "MOCK_TOOL_CMD<<touch denied.txt && echo made>>")
        .await;
    r.finish_turn(3, "cancel").await;
    assert!(!ws.join("denied.txt").exists());
    r.save("deny", root.path()).await;

    // Allowed for the session: the second identical call is not asked.
    let mut r = Recorder::start(&env);
    let sid = r.handshake(&ws).await;
    r.prompt(3, &sid, "MOCK_TOOL_CMD<<touch session.txt && echo made>>")
        .await;
    r.finish_turn(3, "proceed_always").await;
    r.prompt(4, &sid, "MOCK_TOOL_CMD<<touch session.txt && echo made>>")
        .await;
    r.finish_turn(4, "unexpected").await;
    r.save("allow-session", root.path()).await;

    // Interrupted while streaming, then interrupted while a permission is pending.
    let mut r = Recorder::start(&env);
    let sid = r.handshake(&ws).await;
    r.prompt(3, &sid, "MOCK_SLOW").await;
    r.until(|v| {
        v["params"]["update"]["content"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("slow-chunk-2"))
    })
    .await;
    r.send(json!({"jsonrpc":"2.0","method":"session/cancel","params":{"sessionId":sid}}))
        .await;
    r.until(|v| v["id"] == 3).await;
    r.prompt(4, &sid, "MOCK_TOOL_CMD<<touch pending.txt && echo made>>")
        .await;
    let ask = r
        .until(|v| v["method"] == "session/request_permission")
        .await;
    r.send(json!({"jsonrpc":"2.0","method":"session/cancel","params":{"sessionId":sid}}))
        .await;
    r.send(json!({"jsonrpc":"2.0","id":ask["id"],"result":{"outcome":{"outcome":"cancelled"}}}))
        .await;
    r.until(|v| v["id"] == 4).await;
    r.prompt(5, &sid, "still there?").await;
    r.until(|v| v["id"] == 5).await;
    assert!(!ws.join("pending.txt").exists());
    r.save("interrupt", root.path()).await;

    // An API error ends the turn; the process takes the next one.
    let mut r = Recorder::start(&env);
    let sid = r.handshake(&ws).await;
    r.prompt(3, &sid, "MOCK_ERROR_401").await;
    r.until(|v| v["id"] == 3).await;
    r.prompt(4, &sid, "after the error").await;
    r.until(|v| v["id"] == 4).await;
    r.save("error", root.path()).await;

    // session/load of a one-shot run's session.
    let out = env
        .spawn(
            "gemini",
            &[
                "-p",
                "remember BLUE",
                "--output-format",
                "stream-json",
                "-m",
                MODEL,
            ],
        )
        .await
        .finish(Duration::from_mins(1))
        .await;
    let oneshot = out.last_of_type("init")["session_id"]
        .as_str()
        .expect("init session_id")
        .to_owned();
    let mut r = Recorder::start(&env);
    r.initialize().await;
    r.send(json!({"jsonrpc":"2.0","id":1,"method":"session/load","params":{"sessionId":oneshot,"cwd":ws,"mcpServers":[]}})).await;
    r.until(|v| v["id"] == 1).await;
    r.save("load-oneshot", root.path()).await;

    // A live session cannot be loaded (0.61.0 records no messages of it).
    let mut r = Recorder::start(&env);
    r.initialize().await;
    r.send(json!({"jsonrpc":"2.0","id":1,"method":"session/load","params":{"sessionId":sid_first,"cwd":ws,"mcpServers":[]}})).await;
    r.until(|v| v["id"] == 1).await;
    r.save("load-live", root.path()).await;
}
