//! codex's live protocol: `codex app-server`, JSON-RPC over stdio (one JSON object a
//! line, without the `"jsonrpc"` field).
//!
//! Handshake: `initialize` → (response) → the `initialized` notification and
//! `thread/start` (or `thread/resume` by id) → (response: the thread) → ready. A turn
//! is `turn/start {threadId, input}`; codex takes one turn at a time (a `turn/start`
//! during a running turn would be taken into it), so later turns wait here.
//!
//! What comes back, mapped to the normalized [`Event`]s:
//! - `item/agentMessage/delta` → [`Event::TextDelta`]; `item/completed` `agentMessage`
//!   → [`Event::Text`]; tool items (`commandExecution`, `fileChange`, `mcpToolCall`,
//!   `webSearch`) are named as in one-shot mode (`parse::codex`); `reasoning` →
//!   [`Event::Thinking`]; `contextCompaction` → compacting/compacted;
//! - `thread/tokenUsage/updated` (`last`: one API call) is summed per turn;
//! - `error` with `willRetry` → [`Event::Retrying`]; `turn/completed` ends the turn by
//!   its `status`: `completed`, `interrupted` (→ [`FailureKind::Cancelled`]) or
//!   `failed` (classified from `codexErrorInfo` and the message).
//!
//! Server requests: `item/commandExecution/requestApproval` and
//! `item/fileChange/requestApproval` become approval [`Ask`]s (answered `accept`,
//! `acceptForSession`, `acceptWithExecpolicyAmendment` when codex proposes a rule,
//! `decline`, `cancel`); `item/tool/requestUserInput` becomes a question (answers keyed
//! by question id); `serverRequest/resolved` for a request still pending here →
//! [`LiveEvent::Withdrawn`]. Any other server request gets a JSON-RPC error reply so
//! codex does not wait for it.

use super::{
    Answer, Ask, AskKind, Decision, LiveCodec, LiveEvent, Question, StartSpec, id_string, preview,
};
use crate::provider::event::{Event, FailureKind, Outcome, Usage};
use crate::provider::parse::bounded_detail;
use crate::provider::parse::classify::classify;
use crate::provider::parse::codex::{error_notice, tool_view};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// The arguments that start codex in its live mode.
pub const LIVE_ARGS: [&str; 1] = ["app-server"];

/// JSON-RPC "method not found", the reply to a server request ductor does not handle.
const METHOD_NOT_FOUND: i64 = -32601;

/// When codex asks and where approved commands run (`thread/start` `approvalPolicy` and
/// `sandbox`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// `untrusted` (ask before anything not known to be read-only), `on-request`,
    /// `never`.
    pub approval: String,
    /// `read-only`, `workspace-write` or `danger-full-access`.
    pub sandbox: String,
}

impl Default for Policy {
    /// Ask before every command that is not known to be read-only; what the user
    /// allows runs as codex would run it unsandboxed (ductor's own sandbox, when
    /// configured, still wraps the whole process).
    fn default() -> Self {
        Self {
            approval: "untrusted".into(),
            sandbox: "danger-full-access".into(),
        }
    }
}

/// A request of ours waiting for its response.
#[derive(Debug)]
enum Call {
    Initialize,
    Thread,
    TurnStart,
    Steer,
    Interrupt,
}

/// A server request waiting for the user.
#[derive(Debug)]
struct Pending {
    /// The JSON-RPC id as codex sent it (echoed in the reply).
    raw_id: Value,
    kind: PendingKind,
}

#[derive(Debug)]
enum PendingKind {
    Command {
        amendment: Option<Value>,
    },
    FileChange,
    /// Question text and id, in order.
    Questions(Vec<(String, String)>),
}

/// The running turn.
#[derive(Debug, Default)]
struct Turn {
    id: Option<String>,
    /// Agent messages since the turn's last tool item.
    answer: Vec<String>,
    usage: Usage,
    /// Tool items whose start was reported and whose end was not yet.
    open_tools: Vec<String>,
    interrupt_wanted: bool,
    interrupt_sent: bool,
}

/// The codex codec (see the module docs).
#[derive(Debug, Default)]
pub struct CodexCodec {
    policy: Policy,
    spec: StartSpec,
    next_id: u64,
    calls: HashMap<u64, Call>,
    thread: Option<String>,
    ready: bool,
    queued: VecDeque<String>,
    turn: Option<Turn>,
    asks: BTreeMap<String, Pending>,
    /// Preview of the file changes of `fileChange` items, by item id (their approval
    /// request names only the item).
    changes: HashMap<String, String>,
}

impl CodexCodec {
    /// A codec that starts its thread with `policy`.
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            ..Self::default()
        }
    }

    fn request(&mut self, method: &str, params: &Value, call: Call) -> String {
        let id = self.next_id;
        self.next_id += 1;
        self.calls.insert(id, call);
        json!({"id": id, "method": method, "params": params}).to_string()
    }

    fn thread_request(&mut self) -> String {
        let mut params = json!({
            "cwd": self.spec.cwd.to_string_lossy(),
            "approvalPolicy": self.policy.approval,
            "sandbox": self.policy.sandbox,
            // `request_user_input` is otherwise refused outside codex's plan mode.
            "config": {"features": {"default_mode_request_user_input": true}},
        });
        if let Some(model) = &self.spec.model {
            params["model"] = json!(model);
        }
        match self.spec.resume.clone() {
            Some(id) => {
                params["threadId"] = json!(id);
                params["excludeTurns"] = json!(true);
                self.request("thread/resume", &params, Call::Thread)
            }
            None => self.request("thread/start", &params, Call::Thread),
        }
    }

    /// Starts the next queued turn when the thread is ready and no turn runs.
    fn pump(&mut self) -> Vec<String> {
        if !self.ready || self.turn.is_some() {
            return Vec::new();
        }
        let (Some(text), Some(thread)) = (self.queued.pop_front(), self.thread.clone()) else {
            return Vec::new();
        };
        self.turn = Some(Turn::default());
        let params = json!({"threadId": thread, "input": [text_input(&text)]});
        vec![self.request("turn/start", &params, Call::TurnStart)]
    }

    /// `turn/interrupt` once the running turn's id is known and one was wanted.
    fn interrupt_if_wanted(&mut self) -> Vec<String> {
        let (Some(thread), Some(turn)) = (self.thread.clone(), self.turn.as_mut()) else {
            return Vec::new();
        };
        let Some(turn_id) = turn.id.clone() else {
            return Vec::new();
        };
        if !turn.interrupt_wanted || turn.interrupt_sent {
            return Vec::new();
        }
        turn.interrupt_sent = true;
        let params = json!({"threadId": thread, "turnId": turn_id});
        vec![self.request("turn/interrupt", &params, Call::Interrupt)]
    }

    fn fail_turn(&mut self, kind: FailureKind, detail: String, out: &mut Vec<LiveEvent>) {
        self.end_turn(
            Outcome::Failed {
                kind,
                detail,
                session_id: self.thread.clone(),
            },
            out,
        );
    }

    /// Ends the running turn: pending asks are withdrawn, then [`LiveEvent::TurnEnded`].
    fn end_turn(&mut self, outcome: Outcome, out: &mut Vec<LiveEvent>) {
        self.turn = None;
        self.changes.clear();
        for id in std::mem::take(&mut self.asks).into_keys() {
            out.push(LiveEvent::Withdrawn { id });
        }
        out.push(LiveEvent::TurnEnded(outcome));
    }

    fn on_response(&mut self, id: &Value, v: &Value, out: &mut Vec<LiveEvent>) -> Vec<String> {
        let Some(call) = id.as_u64().and_then(|id| self.calls.remove(&id)) else {
            tracing::debug!(%id, "codex live: a response to an unknown request");
            return Vec::new();
        };
        if let Some(error) = v.get("error") {
            let message = str_at(error, "message").unwrap_or("codex refused the request");
            return self.on_refused(&call, message, out);
        }
        let result = v.get("result").unwrap_or(&Value::Null);
        match call {
            Call::Initialize => {
                let mut lines = vec![json!({"method": "initialized"}).to_string()];
                lines.push(self.thread_request());
                lines
            }
            Call::Thread => {
                let id = result.pointer("/thread/id").and_then(Value::as_str);
                self.thread = id.map(str::to_owned).or_else(|| self.spec.resume.clone());
                self.ready = true;
                out.push(LiveEvent::Ready {
                    session_id: self.thread.clone(),
                });
                self.pump()
            }
            Call::TurnStart => {
                let id = result.pointer("/turn/id").and_then(Value::as_str);
                if let (Some(turn), Some(id)) = (self.turn.as_mut(), id) {
                    turn.id.get_or_insert_with(|| id.to_owned());
                }
                self.interrupt_if_wanted()
            }
            Call::Steer | Call::Interrupt => Vec::new(),
        }
    }

    /// codex answered one of our requests with an error.
    fn on_refused(&mut self, call: &Call, message: &str, out: &mut Vec<LiveEvent>) -> Vec<String> {
        let detail = bounded_detail(message);
        match call {
            Call::Initialize | Call::Thread => {
                // Without a thread no turn can run: each waiting turn fails (one at
                // least, so the caller hears of it).
                let kind = classify(&detail, None);
                let waiting = self.queued.len().max(1);
                self.queued.clear();
                for _ in 0..waiting {
                    out.push(LiveEvent::TurnEnded(Outcome::Failed {
                        kind,
                        detail: detail.clone(),
                        session_id: self.spec.resume.clone(),
                    }));
                }
                Vec::new()
            }
            Call::TurnStart => {
                self.fail_turn(classify(&detail, None), detail, out);
                self.pump()
            }
            Call::Steer => {
                out.push(LiveEvent::Event(Event::Warning {
                    message: format!(
                        "codex did not take the message into the running turn: {detail}"
                    ),
                }));
                Vec::new()
            }
            Call::Interrupt => {
                tracing::debug!(%detail, "codex live: turn/interrupt refused");
                Vec::new()
            }
        }
    }
}

fn text_input(text: &str) -> Value {
    json!({"type": "text", "text": text, "text_elements": []})
}

fn str_at<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

/// The id of a JSON-RPC message as the [`Ask`] id: a number or a string, as written.
impl LiveCodec for CodexCodec {
    fn start(&mut self, spec: &StartSpec) -> Vec<String> {
        self.spec = spec.clone();
        let params = json!({
            "clientInfo": {"name": "ductor", "title": "ductor", "version": env!("CARGO_PKG_VERSION")},
            "capabilities": {"experimentalApi": true, "requestAttestation": false},
        });
        vec![self.request("initialize", &params, Call::Initialize)]
    }

    fn send_turn(&mut self, text: &str) -> Vec<String> {
        self.queued.push_back(text.to_owned());
        self.pump()
    }

    fn answer(&mut self, id: &str, answer: &Answer) -> Result<Vec<String>, String> {
        let pending = self
            .asks
            .get(id)
            .ok_or_else(|| format!("no pending codex request {id}"))?;
        let result = reply(&pending.kind, answer)?;
        let raw_id = pending.raw_id.clone();
        self.asks.remove(id);
        Ok(vec![json!({"id": raw_id, "result": result}).to_string()])
    }

    fn interrupt(&mut self) -> Vec<String> {
        match self.turn.as_mut() {
            Some(turn) => {
                turn.interrupt_wanted = true;
                self.interrupt_if_wanted()
            }
            None => Vec::new(),
        }
    }

    fn steer(&mut self, text: &str) -> Option<Vec<String>> {
        let thread = self.thread.clone()?;
        let turn_id = self.turn.as_ref()?.id.clone()?;
        let params =
            json!({"threadId": thread, "expectedTurnId": turn_id, "input": [text_input(text)]});
        Some(vec![self.request("turn/steer", &params, Call::Steer)])
    }

    fn on_line(&mut self, line: &str, out: &mut Vec<LiveEvent>) -> Vec<String> {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            tracing::debug!(len = line.len(), "codex live: ignoring a non-JSON line");
            return Vec::new();
        };
        let method = str_at(&v, "method");
        match (method, v.get("id")) {
            (Some(method), Some(id)) => self.on_server_request(method, id, &v, out),
            (Some(method), None) => {
                let params = v.get("params").unwrap_or(&Value::Null);
                self.on_notification(method, params, out)
            }
            (None, Some(id)) => self.on_response(id, &v, out),
            (None, None) => {
                tracing::debug!("codex live: ignoring a line that is no JSON-RPC message");
                Vec::new()
            }
        }
    }
}

impl CodexCodec {
    fn on_server_request(
        &mut self,
        method: &str,
        id: &Value,
        v: &Value,
        out: &mut Vec<LiveEvent>,
    ) -> Vec<String> {
        let params = v.get("params").unwrap_or(&Value::Null);
        let asked = match method {
            "item/commandExecution/requestApproval" => Some(command_ask(params)),
            "item/fileChange/requestApproval" => Some(self.file_change_ask(params)),
            "item/tool/requestUserInput" => Some(question_ask(params)),
            _ => None,
        };
        let Some((kind, ask)) = asked else {
            tracing::debug!(
                method,
                "codex live: refusing a server request ductor does not handle"
            );
            let error = json!({"code": METHOD_NOT_FOUND, "message": format!("ductor does not handle {method}")});
            return vec![json!({"id": id, "error": error}).to_string()];
        };
        let key = id_string(id);
        self.asks.insert(
            key.clone(),
            Pending {
                raw_id: id.clone(),
                kind,
            },
        );
        out.push(LiveEvent::Ask(Ask { id: key, kind: ask }));
        Vec::new()
    }

    fn file_change_ask(&self, params: &Value) -> (PendingKind, AskKind) {
        let item = str_at(params, "itemId").unwrap_or_default();
        let text = self
            .changes
            .get(item)
            .cloned()
            .or_else(|| str_at(params, "grantRoot").map(|r| format!("write access to {r}")))
            .or_else(|| str_at(params, "reason").map(str::to_owned))
            .unwrap_or_default();
        let ask = AskKind::Approval {
            tool: "Edit".into(),
            preview: preview(&text),
            choices: vec![Decision::AllowOnce, Decision::AllowSession, Decision::Deny],
        };
        (PendingKind::FileChange, ask)
    }

    fn on_notification(
        &mut self,
        method: &str,
        params: &Value,
        out: &mut Vec<LiveEvent>,
    ) -> Vec<String> {
        if let (Some(ours), Some(theirs)) = (&self.thread, str_at(params, "threadId"))
            && ours != theirs
        {
            tracing::debug!(
                method,
                "codex live: ignoring a notification of another thread"
            );
            return Vec::new();
        }
        match method {
            "turn/started" => self.on_turn_started(params, out),
            "item/agentMessage/delta" => {
                if let Some(delta) = str_at(params, "delta") {
                    out.push(LiveEvent::Event(Event::TextDelta {
                        text: delta.to_owned(),
                    }));
                }
                Vec::new()
            }
            "item/started" => {
                self.on_item(params.get("item").unwrap_or(&Value::Null), false, out);
                Vec::new()
            }
            "item/completed" => {
                self.on_item(params.get("item").unwrap_or(&Value::Null), true, out);
                Vec::new()
            }
            "thread/tokenUsage/updated" => {
                if let (Some(turn), Some(last)) =
                    (self.turn.as_mut(), params.pointer("/tokenUsage/last"))
                {
                    turn.usage.input_tokens +=
                        last.get("inputTokens").and_then(Value::as_u64).unwrap_or(0);
                    turn.usage.output_tokens += last
                        .get("outputTokens")
                        .and_then(Value::as_u64)
                        .unwrap_or(0);
                }
                Vec::new()
            }
            "error" => {
                if params.get("willRetry").and_then(Value::as_bool) == Some(true) {
                    let error = params.get("error").unwrap_or(&Value::Null);
                    out.push(LiveEvent::Event(error_notice(&error_text(error))));
                }
                Vec::new()
            }
            "serverRequest/resolved" => {
                let id = params.get("requestId").map(id_string).unwrap_or_default();
                if self.asks.remove(&id).is_some() {
                    out.push(LiveEvent::Withdrawn { id });
                }
                Vec::new()
            }
            "turn/completed" => self.on_turn_completed(params, out),
            other => {
                tracing::debug!(method = other, "codex live: ignoring a notification");
                Vec::new()
            }
        }
    }

    fn on_turn_started(&mut self, params: &Value, out: &mut Vec<LiveEvent>) -> Vec<String> {
        let Some(turn) = self.turn.as_mut() else {
            return Vec::new();
        };
        if let Some(id) = params.pointer("/turn/id").and_then(Value::as_str) {
            turn.id.get_or_insert_with(|| id.to_owned());
        }
        if let Some(session_id) = self.thread.clone() {
            out.push(LiveEvent::Event(Event::SessionStarted { session_id }));
        }
        self.interrupt_if_wanted()
    }

    fn on_item(&mut self, item: &Value, completed: bool, out: &mut Vec<LiveEvent>) {
        let Some(turn) = self.turn.as_mut() else {
            return;
        };
        let id = str_at(item, "id").map(str::to_owned);
        match str_at(item, "type").unwrap_or_default() {
            "agentMessage" => {
                if completed && let Some(text) = str_at(item, "text") {
                    turn.answer.push(text.to_owned());
                    out.push(LiveEvent::Event(Event::Text {
                        text: text.to_owned(),
                    }));
                }
            }
            "reasoning" => {
                if completed {
                    let parts = ["summary", "content"]
                        .iter()
                        .filter_map(|k| item.get(*k).and_then(Value::as_array))
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>();
                    out.push(LiveEvent::Event(Event::Thinking {
                        text: parts.join("\n"),
                    }));
                }
            }
            "contextCompaction" => out.push(LiveEvent::Event(if completed {
                Event::Compacted
            } else {
                Event::Compacting
            })),
            "fileChange" if !completed => {
                if let Some(id) = &id {
                    self.changes.insert(id.clone(), change_preview(item));
                }
                tool_event(turn, id, item, completed, out);
            }
            _ => tool_event(turn, id, item, completed, out),
        }
    }

    fn on_turn_completed(&mut self, params: &Value, out: &mut Vec<LiveEvent>) -> Vec<String> {
        let Some(turn) = self.turn.as_ref() else {
            return Vec::new();
        };
        let done = params.get("turn").unwrap_or(&Value::Null);
        if let (Some(ours), Some(theirs)) = (&turn.id, str_at(done, "id"))
            && ours != theirs
        {
            tracing::debug!("codex live: the end of a turn that is not ours");
            return Vec::new();
        }
        match str_at(done, "status").unwrap_or_default() {
            "completed" => {
                let usage = turn.usage;
                let text = turn.answer.join("\n\n");
                out.push(LiveEvent::Event(Event::Usage(usage)));
                let outcome = Outcome::Completed {
                    text,
                    session_id: self.thread.clone(),
                    usage,
                    permission_denials: Vec::new(),
                };
                self.end_turn(outcome, out);
            }
            "interrupted" => {
                self.fail_turn(
                    FailureKind::Cancelled,
                    "the turn was interrupted".into(),
                    out,
                );
            }
            _ => {
                let error = done.get("error").unwrap_or(&Value::Null);
                let detail = bounded_detail(&error_text(error));
                let kind = failure_kind(error, &detail);
                self.fail_turn(kind, detail, out);
            }
        }
        self.pump()
    }
}

/// `ToolStarted` / `ToolFinished` for a tool item (nothing for other items).
fn tool_event(
    turn: &mut Turn,
    id: Option<String>,
    item: &Value,
    completed: bool,
    out: &mut Vec<LiveEvent>,
) {
    let Some(view) = tool_view(&item.to_string()) else {
        tracing::debug!(kind = ?item.get("type"), "codex live: ignoring an item");
        return;
    };
    // Text written before a tool call is thinking aloud, not the final answer.
    turn.answer.clear();
    let key = id.clone().unwrap_or_default();
    let open_at = turn.open_tools.iter().position(|k| *k == key);
    if open_at.is_none() {
        out.push(LiveEvent::Event(Event::ToolStarted {
            id: id.clone(),
            name: view.name,
            summary: view.summary,
        }));
        if !completed {
            turn.open_tools.push(key);
            return;
        }
    }
    if !completed {
        return;
    }
    if let Some(i) = open_at {
        turn.open_tools.swap_remove(i);
    }
    out.push(LiveEvent::Event(Event::ToolFinished {
        id,
        ok: view.ok,
        excerpt: view.excerpt,
    }));
}

/// The message of a `TurnError`, with its additional details in parentheses (the
/// shape `error_notice` reads for retries).
fn error_text(error: &Value) -> String {
    let message = str_at(error, "message").unwrap_or("codex reported an error");
    match str_at(error, "additionalDetails").filter(|d| !d.is_empty()) {
        Some(details) => format!("{message} ({details})"),
        None => message.to_owned(),
    }
}

/// The [`FailureKind`] of a failed turn: codex's own error code first, then the
/// HTTP status it names, then the words of the message.
fn failure_kind(error: &Value, detail: &str) -> FailureKind {
    let info = error.get("codexErrorInfo").unwrap_or(&Value::Null);
    match info.as_str() {
        Some("contextWindowExceeded") => return FailureKind::ContextTooLong,
        Some("usageLimitExceeded" | "rateLimitExceeded") => return FailureKind::RateLimited,
        Some("unauthorized") => return FailureKind::AuthExpired,
        _ => {}
    }
    let status = info
        .as_object()
        .and_then(|o| o.values().find_map(|v| v.get("httpStatusCode")?.as_u64()))
        .and_then(|s| u16::try_from(s).ok());
    classify(detail, status)
}

/// What a command approval shows: the command as parsed by codex (without the
/// `bash -lc` wrapper) or as it will run, and the reason when codex gives one.
fn command_ask(params: &Value) -> (PendingKind, AskKind) {
    let actions: Vec<&str> = params
        .get("commandActions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| str_at(a, "command"))
        .collect();
    let mut text = if actions.is_empty() {
        str_at(params, "command").unwrap_or_default().to_owned()
    } else {
        actions.join("\n")
    };
    if let Some(reason) = str_at(params, "reason").filter(|r| !r.is_empty()) {
        text = format!("{text}\n({reason})");
    }
    let amendment = params
        .get("proposedExecpolicyAmendment")
        .filter(|a| a.as_array().is_some_and(|a| !a.is_empty()))
        .cloned();
    let mut choices = vec![Decision::AllowOnce, Decision::AllowSession];
    if amendment.is_some() {
        choices.push(Decision::AllowAlways);
    }
    choices.push(Decision::Deny);
    let ask = AskKind::Approval {
        tool: "Shell".into(),
        preview: preview(&text),
        choices,
    };
    (PendingKind::Command { amendment }, ask)
}

fn question_ask(params: &Value) -> (PendingKind, AskKind) {
    let mut ids = Vec::new();
    let mut questions = Vec::new();
    for q in params
        .get("questions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let text = str_at(q, "question").unwrap_or_default().to_owned();
        let id = str_at(q, "id").unwrap_or_default().to_owned();
        let options = q
            .get("options")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|o| str_at(o, "label").map(str::to_owned))
            .collect();
        ids.push((text.clone(), id));
        questions.push(Question { text, options });
    }
    (PendingKind::Questions(ids), AskKind::Question { questions })
}

/// The paths of a `fileChange` item with their diffs, for the approval's preview.
fn change_preview(item: &Value) -> String {
    let mut text = String::new();
    for change in item
        .get("changes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let kind = change
            .pointer("/kind/type")
            .and_then(Value::as_str)
            .unwrap_or("update");
        let path = str_at(change, "path").unwrap_or_default();
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(kind);
        text.push(' ');
        text.push_str(path);
        if let Some(diff) = str_at(change, "diff").filter(|d| !d.is_empty()) {
            text.push('\n');
            text.push_str(diff.trim_end());
        }
    }
    text
}

/// The `result` of the reply to a pending request.
fn reply(kind: &PendingKind, answer: &Answer) -> Result<Value, String> {
    match (kind, answer) {
        (PendingKind::Command { .. } | PendingKind::FileChange, Answer::Cancel) => {
            Ok(json!({"decision": "cancel"}))
        }
        (PendingKind::Command { .. } | PendingKind::FileChange, Answer::DenyWith(_)) => {
            // codex has no field for a reason: the model reads "rejected by user".
            Ok(json!({"decision": "decline"}))
        }
        (PendingKind::Command { amendment }, Answer::Decision(d)) => Ok(match (d, amendment) {
            (Decision::AllowOnce, _) => json!({"decision": "accept"}),
            (Decision::AllowSession, _) => json!({"decision": "acceptForSession"}),
            (Decision::AllowAlways, Some(rule)) => json!({"decision": {
                "acceptWithExecpolicyAmendment": {"execpolicy_amendment": rule}
            }}),
            (Decision::AllowAlways, None) => {
                return Err("codex proposed no rule to always allow this command".into());
            }
            (Decision::Deny, _) => json!({"decision": "decline"}),
        }),
        (PendingKind::FileChange, Answer::Decision(d)) => Ok(match d {
            Decision::AllowOnce => json!({"decision": "accept"}),
            Decision::AllowSession => json!({"decision": "acceptForSession"}),
            Decision::AllowAlways => return Err("codex cannot always allow a file change".into()),
            Decision::Deny => json!({"decision": "decline"}),
        }),
        (PendingKind::Questions(_), Answer::Cancel) => Ok(json!({"answers": {}})),
        (PendingKind::Questions(ids), Answer::Answers(given)) => {
            let mut answers = serde_json::Map::new();
            for (question, text) in given {
                let id = ids
                    .iter()
                    .find(|(q, id)| q == question || id == question)
                    .map(|(_, id)| id.clone())
                    .ok_or_else(|| format!("codex did not ask {question:?}"))?;
                answers.insert(id, json!({"answers": [text]}));
            }
            Ok(json!({"answers": answers}))
        }
        (PendingKind::Questions(_), _) => {
            Err("this codex request wants answers to its questions".into())
        }
        (_, Answer::Answers(_)) => Err("this codex request wants a decision, not answers".into()),
    }
}

#[cfg(test)]
#[path = "codex_tests.rs"]
mod tests;
