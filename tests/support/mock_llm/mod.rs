//! Mock model API for running the genuine `claude`, `codex` and `gemini` CLIs offline.
//!
//! [`MockLlm::start`] serves, on `127.0.0.1:<random port>`:
//! - Anthropic Messages: `POST /v1/messages` (SSE when `stream` is true, else one JSON message),
//!   plus `count_tokens`;
//! - `OpenAI` Responses: `POST /v1/responses` (SSE);
//! - Gemini: `POST /v1beta/models/{model}:streamGenerateContent?alt=sse` (SSE) and
//!   `:generateContent` (JSON; when the request asks for JSON, e.g. gemini's model router, the
//!   answer is an object filled in from the request's schema), plus `countTokens`;
//! - `HEAD /` (claude's connectivity check), model lists; anything else is answered 404, logged
//!   to stderr and kept in [`MockLlm::other_requests`].
//!
//! Point the CLIs at it with [`super::clis::CliEnv`].
//!
//! # Script
//! The answer is chosen from the text of the **last user message that has real text** (claude's
//! trailing `role:"system"` message, tool results and CLI context blocks such as
//! `<system-reminder>`, `<session_context>`, `<environment_context>` are skipped). In order:
//!
//! 1. A keyword registered with [`MockLlm::script`] / [`MockLlm::script_fn`] (first registered
//!    first) wins over everything below.
//! 2. **Tool follow-up**: when tool results came after that user message (the request carries the
//!    output of the tool call the mock asked for), the answer is `The tool ran. Its output was:
//!    <outputs> (mock-llm final answer, prior_assistant_turns=N)`.
//! 3. Built-in keywords, first match in this order:
//!
//! | keyword | answer |
//! | --- | --- |
//! | `MOCK_ERROR_401` | HTTP 401, provider error body, message `mock-llm: invalid API key` |
//! | `MOCK_ERROR_429` | HTTP 429, `mock-llm: rate limited` |
//! | `MOCK_ERROR_500` | HTTP 500, `mock-llm: internal server error` |
//! | `MOCK_TOOL_CMD<<cmd>>` | "I will run a shell command." + a call of the shell tool running `cmd` |
//! | `MOCK_TOOL` | same, running `echo mock-tool-output` |
//! | `MOCK_BROKEN` | the default answer, but the stream breaks after half of it: Anthropic `event: error`, `OpenAI` `response.failed`, Gemini ends without `finishReason` (claude then retries with `stream:false`, which gets the whole answer) |
//! | `MOCK_SLOW` | `slow-chunk-0 ` … `slow-chunk-149 `, one every 200 ms (30 s): cancel it mid-stream |
//! | `MOCK_LONG<<N>>` | at least N characters of `Sentence K of the long mock answer.`, five to a paragraph, streamed in deltas of a few words (N defaults to 5000) |
//! | `MOCK_ECHO` | the whole last user text, verbatim |
//! | *(none)* | `Hello from mock-llm. You said: "<first 40 chars of the prompt>" (prior_assistant_turns=N).` |
//!
//! `prior_assistant_turns` counts the model replies in the request's history (consecutive
//! assistant messages count once): a resumed session shows `prior_assistant_turns=1` on its
//! second prompt. The shell tool is looked up in the request's `tools` (claude `Bash{command}`,
//! codex `exec_command{cmd}`, gemini `run_shell_command{command}`); when none is offered (gemini
//! without `--approval-mode yolo`) the answer says so instead. Errors also apply to gemini's
//! router request; everything else gives the router a plain JSON answer.
//!
//! # What the CLIs make of it (checked by `tests/mock_llm.rs`, env from `CliEnv`)
//! | | claude | codex | gemini (`-m gemini-3.8-flash`) |
//! | --- | --- | --- | --- |
//! | default | `result` with the text, exit 0 | last `agent_message`, `turn.completed` | assistant deltas, `result.status:"success"` |
//! | `MOCK_TOOL` | `user` line with `tool_use_result.stdout` | `command_execution` item | `tool_use` + `tool_result` |
//! | 401 / 429 / 500 | `result.is_error` + `api_error_status`, exit 1; 2 requests | `turn.failed`, exit 1; 2 / 1 / 4 requests | `result.status:"error"`, exit status & 255 (145 / 173 / 244); 1 request |
//! | `MOCK_BROKEN` | recovers with a `stream:false` request: success | `turn.failed` "stream disconnected before completion: mock-llm: stream broke" | `error` "…without a finish reason" + `result` error, exit 0 |
//! | `MOCK_SLOW` + signal | SIGINT: `result` `error_during_execution`, exit 0 (now and then no `result` at all) | SIGTERM: killed by it, no final event | SIGTERM to the group: exit 0, no `result` |
//!
//! Gemini refuses shell commands with `$(…)` or `$((…))` ("command substitution detected");
//! codex's `exec_command` returns after 10 s with the command still running (the mock then
//! gives the final answer). `MOCK_TOOL_CMD<<…>>` commands cannot contain `>>`.
//!
//! # Example
//! ```ignore
//! let mock = MockLlm::start().await;
//! mock.script("SAY_PONG", Reply::text("pong"));
//! // … run a CLI with CliEnv::new(dir, &mock.base_url()) and prompt "SAY_PONG" …
//! let requests = mock.wait_for_requests(1, Duration::from_secs(30)).await;
//! assert_eq!(requests[0].scenario, "SAY_PONG");
//! ```

mod anthropic;
mod gemini;
mod http;
mod openai;
mod parsed;
mod script;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use script::Reply;

/// Which API a request was made to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    /// Anthropic Messages (`/v1/messages`), used by claude.
    Anthropic,
    /// `OpenAI` Responses (`/v1/responses`), used by codex.
    OpenAi,
    /// Gemini `generateContent` / `streamGenerateContent`, used by gemini.
    Gemini,
    /// Anything else (connectivity checks, token counts, model lists, unknown endpoints).
    Other,
}

/// One request the mock received, as seen by the script.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// Arrival order over all requests (model calls and others), from 0.
    pub seq: usize,
    /// The API the path belongs to.
    pub api: Api,
    /// HTTP method.
    pub method: String,
    /// Path with the query string, e.g. `/v1/messages?beta=true`.
    pub path: String,
    /// Model asked for (body `model`, or the Gemini path segment).
    pub model: Option<String>,
    /// The keyword that picked the answer (`MOCK_TOOL`, a custom keyword, …) or `default`.
    /// Tool follow-ups keep the keyword of their prompt; see [`Self::tool_results`]. Other
    /// requests: `other`, or `unknown` for endpoints the mock does not know (answered 404).
    pub scenario: String,
    /// Whether the answer was streamed.
    pub stream: bool,
    /// Outputs of the tool calls sent back in this turn (after the last user text); non-empty
    /// means this request is a tool follow-up.
    pub tool_results: Vec<String>,
    /// Text of the last user message with real text (see the module docs).
    pub last_user_text: String,
    /// Model replies in the history (consecutive assistant messages count once).
    pub prior_assistant_turns: usize,
    /// System prompt: Anthropic `system`, `OpenAI` `instructions` + developer/system messages,
    /// Gemini `systemInstruction`; blocks joined by newlines.
    pub system: String,
    /// Names of the tools the request offers.
    pub tool_names: Vec<String>,
    /// The request asked for a JSON answer (gemini's router and other helper calls).
    pub wants_json: bool,
    /// Request headers, names lower-cased.
    pub headers: BTreeMap<String, String>,
    /// The request body (`Null` when it was not JSON).
    pub body: Arc<Value>,
    /// When it arrived, from the start of the mock.
    pub at: Duration,
}

impl RecordedRequest {
    /// A header by name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// The CLI's session id when it sends one: claude `x-claude-code-session-id`, codex
    /// `session-id` (gemini sends none).
    pub fn session_id(&self) -> Option<&str> {
        self.header("x-claude-code-session-id")
            .or_else(|| self.header("session-id"))
    }
}

/// A streamed answer the client stopped reading before it was complete.
#[derive(Clone, Debug)]
pub struct Disconnect {
    /// [`RecordedRequest::seq`] of the request whose answer was cut.
    pub seq: usize,
    /// Path of that request.
    pub path: String,
    /// Time from the request to the disconnect.
    pub after: Duration,
}

/// A custom script: answers requests whose last user text contains `keyword`.
type ScriptFn = Arc<dyn Fn(&RecordedRequest) -> Reply + Send + Sync>;

#[derive(Default)]
struct Log {
    requests: Vec<RecordedRequest>,
    others: Vec<RecordedRequest>,
    disconnects: Vec<Disconnect>,
    scripts: Vec<(String, ScriptFn)>,
    seq: usize,
}

/// State shared by the handle and the server tasks.
struct Shared {
    started: Instant,
    id_base: u64,
    next_id: AtomicU64,
    log: Mutex<Log>,
    changed: watch::Sender<()>,
}

impl Shared {
    fn log(&self) -> MutexGuard<'_, Log> {
        // A panic while holding this short lock leaves consistent data behind: keep going.
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A new id like `msg_mock_1a2b3c4d000001`, unique within this mock and across runs.
    fn new_id(&self, prefix: &str) -> String {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        format!("{prefix}_mock_{:08x}{n:06x}", self.id_base)
    }

    fn next_seq(&self) -> usize {
        let mut log = self.log();
        log.seq += 1;
        log.seq - 1
    }

    fn scripts(&self) -> Vec<(String, ScriptFn)> {
        self.log().scripts.clone()
    }

    fn record(&self, request: RecordedRequest) {
        {
            let mut log = self.log();
            if request.api == Api::Other {
                log.others.push(request);
            } else {
                log.requests.push(request);
            }
        }
        self.changed.send_modify(|()| {});
    }

    fn record_disconnect(&self, disconnect: Disconnect) {
        self.log().disconnects.push(disconnect);
        self.changed.send_modify(|()| {});
    }
}

/// A running mock model API server; it stops when dropped.
pub struct MockLlm {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl MockLlm {
    /// Starts the server on `127.0.0.1` with a random free port.
    pub async fn start() -> Self {
        let id_base = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64 & 0xffff_ffff);
        let shared = Arc::new(Shared {
            started: Instant::now(),
            id_base,
            next_id: AtomicU64::new(1),
            log: Mutex::default(),
            changed: watch::channel(()).0,
        });
        let (addr, server) = http::serve(Arc::clone(&shared)).await;
        Self {
            addr,
            shared,
            server,
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT` (no trailing slash, no `/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answers requests whose last user text contains `keyword` with `reply`; tool follow-ups
    /// still get the built-in final answer. Custom keywords are checked before the built-in ones,
    /// first registered first.
    pub fn script(&self, keyword: impl Into<String>, reply: Reply) {
        self.script_fn(keyword, move |request| {
            if request.tool_results.is_empty() {
                reply.clone()
            } else {
                Reply::builtin(request)
            }
        });
    }

    /// Like [`Self::script`], but the reply is computed per request (follow-ups included);
    /// [`Reply::builtin`] gives the default behaviour.
    pub fn script_fn(
        &self,
        keyword: impl Into<String>,
        reply: impl Fn(&RecordedRequest) -> Reply + Send + Sync + 'static,
    ) {
        self.shared
            .log()
            .scripts
            .push((keyword.into(), Arc::new(reply)));
    }

    /// The model calls received so far (Anthropic, `OpenAI` and Gemini endpoints), in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.log().requests.clone()
    }

    /// All other requests (connectivity checks, token counts, model lists, unknown endpoints).
    pub fn other_requests(&self) -> Vec<RecordedRequest> {
        self.shared.log().others.clone()
    }

    /// Streamed answers the client stopped reading before they were complete.
    pub fn disconnects(&self) -> Vec<Disconnect> {
        self.shared.log().disconnects.clone()
    }

    /// Waits until at least `n` model calls arrived and returns them all; panics after
    /// `timeout` with what was seen.
    pub async fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<RecordedRequest> {
        self.wait_until(timeout, |log| {
            (log.requests.len() >= n).then(|| log.requests.clone())
        })
        .await
        .unwrap_or_else(|| {
            panic!(
                "mock-llm: fewer than {n} requests after {timeout:?}: {}",
                self.summary()
            )
        })
    }

    /// Waits until at least `n` client disconnects were seen and returns them; panics after
    /// `timeout`.
    pub async fn wait_for_disconnects(&self, n: usize, timeout: Duration) -> Vec<Disconnect> {
        self.wait_until(timeout, |log| {
            (log.disconnects.len() >= n).then(|| log.disconnects.clone())
        })
        .await
        .unwrap_or_else(|| {
            panic!(
                "mock-llm: fewer than {n} disconnects after {timeout:?}: {}",
                self.summary()
            )
        })
    }

    /// One line per request: `seq path model scenario stream tool_results`, for failure messages.
    pub fn summary(&self) -> String {
        let log = self.shared.log();
        let mut requests: Vec<&RecordedRequest> = log.requests.iter().chain(&log.others).collect();
        requests.sort_by_key(|r| r.seq);
        let mut lines: Vec<String> = requests
            .iter()
            .map(|r| {
                format!(
                    "#{} {} {} model={:?} scenario={} stream={} tool_results={}",
                    r.seq,
                    r.method,
                    r.path,
                    r.model,
                    r.scenario,
                    r.stream,
                    r.tool_results.len()
                )
            })
            .collect();
        lines.extend(
            log.disconnects
                .iter()
                .map(|d| format!("#{} disconnected after {:?}", d.seq, d.after)),
        );
        format!("[{}]", lines.join("; "))
    }

    async fn wait_until<T>(
        &self,
        timeout: Duration,
        check: impl Fn(&Log) -> Option<T>,
    ) -> Option<T> {
        let mut changed = self.shared.changed.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(found) = check(&self.shared.log()) {
                return Some(found);
            }
            if tokio::time::timeout_at(deadline, changed.changed())
                .await
                .is_err()
            {
                return None;
            }
        }
    }
}

impl Drop for MockLlm {
    fn drop(&mut self) {
        self.server.abort();
    }
}
