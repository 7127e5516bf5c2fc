//! `gemini --acp`: the Agent Client Protocol (JSON-RPC 2.0, one message per line)
//! as a [`LiveCodec`].
//!
//! Handshake: `initialize` → `session/new {cwd, mcpServers: []}` (or `session/load`
//! with the id to resume) → `session/set_model` when a model is asked for → ready.
//! A turn is a `session/prompt` request; its text and tool progress arrive as
//! `session/update` notifications, its end as the response (`stopReason`, usage in
//! `_meta.quota.token_count`) or a JSON-RPC error. Gemini aborts a running prompt
//! when another one arrives, so turns sent while one runs wait for its end.
//!
//! The updates are turned into the lines of `gemini -p --output-format stream-json`
//! and fed to the one-shot [`GeminiParser`], so text blocks, the final answer (the
//! text after the last tool call), usage and the outcome rules are the same in both
//! modes. Tools carry no name in ACP, only a `kind`: they are called `Shell`, `Edit`,
//! `Read`, `Search`, `WebFetch`, `Delete`, `Move`, `Think` or `Tool`.
//!
//! Approvals: `session/request_permission {toolCall, options}` (gemini asks for shell,
//! write and replace tools) → [`AskKind::Approval`] after a [`Event::ToolStarted`];
//! the options map to [`Decision`]s by `kind` (`allow_once`, `allow_always`: session,
//! or beyond it for `proceed_always_and_save`, `reject_once`). For a shell command
//! "for this session" covers the programs of the command (every later `touch …`), not only
//! the identical call. A denied call gets no update from gemini: the codec closes it
//! with a failed [`Event::ToolFinished`]; ACP carries no reason with a rejection, so
//! [`Answer::DenyWith`] is a plain denial.
//! [`LiveCodec::interrupt`] sends `session/cancel` and answers every pending
//! permission `cancelled`, as the protocol requires; those asks are withdrawn.
//!
//! gemini 0.61.0 has no questions over ACP and no way to add text to a running
//! prompt ([`LiveCodec::steer`] is `None`). Its `session/load` failed in every run
//! against the mock model API ("Invalid session identifier", for live and one-shot
//! sessions alike, though `gemini --list-sessions` lists them): a resume ends the
//! first turn with [`FailureKind::SessionNotFound`]. A live session's id does resume
//! with the one-shot `gemini -p … --resume <id>`, history included.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Answer, Ask, AskKind, Decision, LiveCodec, LiveEvent, StartSpec, id_string, preview};
use crate::provider::event::{Event, FailureKind, Outcome};
use crate::provider::parse::classify::classify;
use crate::provider::parse::gemini::GeminiParser;
use crate::provider::parse::{RunEnd, StreamParser, bounded_detail};

/// The arguments that put gemini into its live mode.
pub const LIVE_ARGS: [&str; 1] = ["--acp"];

/// The ACP version ductor speaks.
const PROTOCOL_VERSION: u64 = 1;
/// JSON-RPC "method not found".
const METHOD_NOT_FOUND: i64 = -32601;

/// What a request of ours was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Initialize,
    NewSession,
    LoadSession,
    SetModel,
    Prompt,
    /// A prompt sent after the handshake failed: its answer ends the turn with that
    /// failure.
    Doomed,
}

/// Where the handshake is.
#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Starting,
    Ready,
    Failed { kind: FailureKind, detail: String },
}

/// A permission request waiting for the user.
#[derive(Debug)]
struct PendingAsk {
    /// The request id exactly as gemini sent it.
    raw_id: Value,
    tool_call_id: Option<String>,
    /// The option to select for each decision offered.
    options: Vec<(Decision, String)>,
}

/// The running turn.
struct Turn {
    request: u64,
    parser: GeminiParser,
    cancelled: bool,
}

/// The gemini live codec (see the module docs).
pub struct GeminiLive {
    next_id: u64,
    pending: HashMap<u64, Pending>,
    phase: Phase,
    spec: StartSpec,
    session_id: Option<String>,
    /// Turns waiting for the handshake or for the running turn to end.
    waiting: VecDeque<String>,
    turn: Option<Turn>,
    asks: BTreeMap<String, PendingAsk>,
    /// Tool calls announced with a [`Event::ToolStarted`] in this turn.
    started: HashSet<String>,
    /// Events produced by a call that cannot return events (an answer, an
    /// interrupt); emitted before the next line's.
    later: Vec<LiveEvent>,
}

impl Default for GeminiLive {
    fn default() -> Self {
        Self::new()
    }
}

/// One JSON-RPC message of gemini: a request, a notification or a response.
#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    params: Value,
    #[serde(default)]
    result: Option<Value>,
    #[serde(default)]
    error: Option<RpcError>,
}

#[derive(Deserialize)]
struct RpcError {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    message: String,
    #[serde(default)]
    data: Value,
}

impl RpcError {
    /// The message with the details gemini puts in `data`. A failed API call's
    /// message is the API's JSON error body: it is marked the way `gemini -p` marks it
    /// (`[API Error: …]`), which the one-shot parser cleans up.
    fn text(&self) -> String {
        if self.http_status().is_some() && self.message.trim_start().starts_with('{') {
            return format!("[API Error: {}]", self.message.trim());
        }
        let details = self
            .data
            .get("details")
            .and_then(Value::as_str)
            .or_else(|| self.data.as_str());
        match details {
            Some(d) if !d.trim().is_empty() => format!("{}: {d}", self.message),
            _ => self.message.clone(),
        }
    }

    /// The HTTP status gemini passes as the error code for failed API calls.
    fn http_status(&self) -> Option<u16> {
        u16::try_from(self.code)
            .ok()
            .filter(|c| (400..600).contains(c))
    }
}

impl GeminiLive {
    /// A codec before its start.
    pub fn new() -> Self {
        Self {
            next_id: 0,
            pending: HashMap::new(),
            phase: Phase::Starting,
            spec: StartSpec::default(),
            session_id: None,
            waiting: VecDeque::new(),
            turn: None,
            asks: BTreeMap::new(),
            started: HashSet::new(),
            later: Vec::new(),
        }
    }

    /// A request line, remembered as `what`.
    fn request(&mut self, what: Pending, method: &str, params: &Value) -> String {
        let id = self.next_id;
        self.next_id += 1;
        self.pending.insert(id, what);
        json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
    }

    fn session(&self) -> &str {
        self.session_id.as_deref().unwrap_or_default()
    }

    /// Starts the next waiting turn when the session is free.
    fn pump(&mut self, out: &mut Vec<LiveEvent>) -> Vec<String> {
        if self.turn.is_some() || self.phase == Phase::Starting {
            return Vec::new();
        }
        let Some(text) = self.waiting.pop_front() else {
            return Vec::new();
        };
        let params =
            json!({"sessionId": self.session(), "prompt": [{"type": "text", "text": text}]});
        let what = if self.phase == Phase::Ready {
            Pending::Prompt
        } else {
            Pending::Doomed
        };
        let line = self.request(what, "session/prompt", &params);
        let mut parser = GeminiParser::default();
        if let Some(sid) = &self.session_id {
            let mut events = Vec::new();
            parser.line(
                &json!({"type": "init", "session_id": sid}).to_string(),
                &mut events,
            );
            out.extend(events.into_iter().map(LiveEvent::Event));
        }
        self.turn = Some(Turn {
            request: self.next_id - 1,
            parser,
            cancelled: false,
        });
        vec![line]
    }

    /// Feeds one stream-json line to the running turn's parser.
    fn feed(&mut self, line: &Value, out: &mut Vec<LiveEvent>) {
        let Some(turn) = &mut self.turn else {
            return;
        };
        let mut events = Vec::new();
        turn.parser.line(&line.to_string(), &mut events);
        out.extend(events.into_iter().map(LiveEvent::Event));
    }

    /// A response to one of our requests.
    fn on_response(&mut self, msg: Message, out: &mut Vec<LiveEvent>) -> Vec<String> {
        let Some(id) = msg.id.as_ref().and_then(Value::as_u64) else {
            tracing::debug!("gemini: response without a numeric id, ignored");
            return Vec::new();
        };
        let Some(what) = self.pending.remove(&id) else {
            tracing::debug!(id, "gemini: response to an unknown request, ignored");
            return Vec::new();
        };
        match what {
            Pending::Initialize
            | Pending::NewSession
            | Pending::LoadSession
            | Pending::SetModel => self.on_handshake(what, msg, out),
            Pending::Prompt | Pending::Doomed => {
                if self.turn.as_ref().is_some_and(|t| t.request == id) {
                    self.end_turn(what, &msg, out);
                } else {
                    tracing::debug!(id, "gemini: answer to a prompt that is not running");
                }
                self.pump(out)
            }
        }
    }

    fn on_handshake(
        &mut self,
        what: Pending,
        msg: Message,
        out: &mut Vec<LiveEvent>,
    ) -> Vec<String> {
        if let Some(error) = msg.error {
            if what == Pending::SetModel {
                // The session works, with the CLI's default model.
                out.push(LiveEvent::Event(Event::Warning {
                    message: bounded_detail(&format!(
                        "gemini did not switch the model: {}",
                        error.text()
                    )),
                }));
                return self.ready(out);
            }
            return self.fail_start(&error, out);
        }
        let result = msg.result.unwrap_or(Value::Null);
        match what {
            Pending::Initialize => {
                let cwd = self.spec.cwd.to_string_lossy().into_owned();
                let line = if let Some(sid) = self.spec.resume.clone() {
                    self.session_id = Some(sid.clone());
                    let params = json!({"sessionId": sid, "cwd": cwd, "mcpServers": []});
                    self.request(Pending::LoadSession, "session/load", &params)
                } else {
                    let params = json!({"cwd": cwd, "mcpServers": []});
                    self.request(Pending::NewSession, "session/new", &params)
                };
                vec![line]
            }
            Pending::NewSession | Pending::LoadSession => {
                if what == Pending::NewSession {
                    self.session_id = result
                        .get("sessionId")
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                }
                match self.spec.model.clone() {
                    Some(model) => {
                        let params = json!({"sessionId": self.session(), "modelId": model});
                        vec![self.request(Pending::SetModel, "session/set_model", &params)]
                    }
                    None => self.ready(out),
                }
            }
            Pending::SetModel => self.ready(out),
            Pending::Prompt | Pending::Doomed => Vec::new(),
        }
    }

    fn ready(&mut self, out: &mut Vec<LiveEvent>) -> Vec<String> {
        self.phase = Phase::Ready;
        out.push(LiveEvent::Ready {
            session_id: self.session_id.clone(),
        });
        self.pump(out)
    }

    /// The handshake failed: every turn ends with the failure.
    fn fail_start(&mut self, error: &RpcError, out: &mut Vec<LiveEvent>) -> Vec<String> {
        let detail = bounded_detail(&format!(
            "gemini could not start the session: {}",
            error.text()
        ));
        let kind = match classify(&detail, error.http_status()) {
            FailureKind::Other => FailureKind::Crashed,
            known => known,
        };
        self.phase = Phase::Failed { kind, detail };
        self.pump(out)
    }

    /// The prompt request `what` was answered: the turn ends.
    fn end_turn(&mut self, what: Pending, msg: &Message, out: &mut Vec<LiveEvent>) {
        let Some(mut turn) = self.turn.take() else {
            return;
        };
        self.withdraw_all(out);
        self.started.clear();
        let session_id = self.session_id.clone();
        if let (Pending::Doomed, Phase::Failed { kind, detail }) = (what, &self.phase) {
            out.push(LiveEvent::TurnEnded(Outcome::Failed {
                kind: *kind,
                detail: detail.clone(),
                session_id,
            }));
            return;
        }
        let mut end = RunEnd::default();
        let mut events = Vec::new();
        if let Some(error) = &msg.error {
            let line = json!({"type": "result", "status": "error",
                "error": {"message": error.text()}});
            turn.parser.line(&line.to_string(), &mut events);
            end.cancelled = turn.cancelled;
        } else {
            let result = msg.result.clone().unwrap_or(Value::Null);
            let stop = result
                .get("stopReason")
                .and_then(Value::as_str)
                .unwrap_or("end_turn");
            if stop == "cancelled" {
                end.cancelled = true;
            } else {
                if stop != "end_turn" {
                    events.push(Event::Warning {
                        message: format!("gemini stopped the turn early: {stop}"),
                    });
                }
                let tokens = result.pointer("/_meta/quota/token_count");
                let stats = json!({
                    "input_tokens": tokens.and_then(|t| t.get("input_tokens")),
                    "output_tokens": tokens.and_then(|t| t.get("output_tokens")),
                });
                let line = json!({"type": "result", "status": "success", "stats": stats});
                turn.parser.line(&line.to_string(), &mut events);
            }
        }
        out.extend(events.into_iter().map(LiveEvent::Event));
        let mut outcome = turn.parser.finish(&end);
        if let (Some(error), Outcome::Failed { kind, .. }) = (&msg.error, &mut outcome)
            && *kind != FailureKind::Cancelled
        {
            *kind = classify(&error.text(), error.http_status());
        }
        out.push(LiveEvent::TurnEnded(outcome));
    }

    /// Every pending ask is gone (the turn ended or was interrupted).
    fn withdraw_all(&mut self, out: &mut Vec<LiveEvent>) {
        for (id, ask) in std::mem::take(&mut self.asks) {
            if let Some(call) = ask.tool_call_id {
                out.push(LiveEvent::Event(Event::ToolFinished {
                    id: Some(call),
                    ok: false,
                    excerpt: "cancelled".to_owned(),
                }));
            }
            out.push(LiveEvent::Withdrawn { id });
        }
    }

    /// A request of gemini's.
    fn on_request(&mut self, method: &str, msg: Message, out: &mut Vec<LiveEvent>) -> Vec<String> {
        let raw_id = msg.id.unwrap_or(Value::Null);
        if method != "session/request_permission" {
            tracing::debug!(
                method,
                "gemini: unsupported request, answered with an error"
            );
            return vec![
                json!({"jsonrpc": "2.0", "id": raw_id,
                    "error": {"code": METHOD_NOT_FOUND, "message": format!("ductor does not implement {method}")}})
                .to_string(),
            ];
        }
        let params = msg.params;
        let call = params.get("toolCall").cloned().unwrap_or(Value::Null);
        let tool_call_id = call
            .get("toolCallId")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let options = decisions(params.get("options"));
        let ask_id = id_string(&raw_id);
        if self.turn.is_none() || options.is_empty() {
            // Nothing to ask the user about: refuse rather than leave gemini waiting.
            tracing::debug!("gemini: permission request outside a turn, cancelled");
            return vec![cancelled_reply(&raw_id)];
        }
        if let Some(id) = &tool_call_id {
            self.announce(id, &call, out);
        }
        let mut choices: Vec<Decision> = options.iter().map(|(d, _)| *d).collect();
        if !choices.contains(&Decision::Deny) {
            choices.push(Decision::Deny);
        }
        out.push(LiveEvent::Ask(Ask {
            id: ask_id.clone(),
            kind: AskKind::Approval {
                tool: tool_name(&call).to_owned(),
                preview: preview(&call_preview(&call)),
                choices,
            },
        }));
        self.asks.insert(
            ask_id,
            PendingAsk {
                raw_id,
                tool_call_id,
                options,
            },
        );
        Vec::new()
    }

    /// Emits the [`Event::ToolStarted`] of tool call `id` once.
    fn announce(&mut self, id: &str, call: &Value, out: &mut Vec<LiveEvent>) {
        if !self.started.insert(id.to_owned()) {
            return;
        }
        let title = call
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let line = json!({"type": "tool_use", "tool_name": tool_name(call), "tool_id": id,
            "parameters": {"description": title}});
        self.feed(&line, out);
    }

    /// A `session/update` notification.
    fn on_update(&mut self, params: &Value, out: &mut Vec<LiveEvent>) {
        if self.turn.is_none()
            || params.get("sessionId").and_then(Value::as_str) != self.session_id.as_deref()
        {
            // History replayed by session/load, command lists, another session.
            return;
        }
        let update = params.get("update").unwrap_or(&Value::Null);
        let text = || {
            update
                .pointer("/content/text")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        match update
            .get("sessionUpdate")
            .and_then(Value::as_str)
            .unwrap_or_default()
        {
            "agent_message_chunk" => {
                let line = json!({"type": "message", "role": "assistant", "content": text(), "delta": true});
                self.feed(&line, out);
            }
            "agent_thought_chunk" => out.push(LiveEvent::Event(Event::Thinking { text: text() })),
            "tool_call" | "tool_call_update" => self.on_tool(update, out),
            other => tracing::debug!(kind = other, "gemini: update ignored"),
        }
    }

    fn on_tool(&mut self, update: &Value, out: &mut Vec<LiveEvent>) {
        let Some(id) = update.get("toolCallId").and_then(Value::as_str) else {
            return;
        };
        let status = update
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if update.get("sessionUpdate").and_then(Value::as_str) == Some("tool_call")
            || matches!(status, "completed" | "failed")
        {
            self.announce(id, update, out);
        }
        if matches!(status, "completed" | "failed") {
            let line = json!({"type": "tool_result", "tool_id": id,
                "status": if status == "completed" { "success" } else { "error" },
                "output": content_text(update.get("content"))});
            self.feed(&line, out);
        }
    }
}

impl LiveCodec for GeminiLive {
    fn start(&mut self, spec: &StartSpec) -> Vec<String> {
        self.spec = spec.clone();
        let params = json!({"protocolVersion": PROTOCOL_VERSION, "clientCapabilities":
            {"fs": {"readTextFile": false, "writeTextFile": false}, "terminal": false}});
        vec![self.request(Pending::Initialize, "initialize", &params)]
    }

    fn send_turn(&mut self, text: &str) -> Vec<String> {
        self.waiting.push_back(text.to_owned());
        let mut out = Vec::new();
        let lines = self.pump(&mut out);
        // A turn starting now only announces its session: keep it for the next line.
        self.later.extend(out);
        lines
    }

    fn answer(&mut self, id: &str, answer: &Answer) -> Result<Vec<String>, String> {
        let ask = self
            .asks
            .get(id)
            .ok_or_else(|| format!("gemini has no pending request {id}"))?;
        let decision = match answer {
            Answer::Decision(d) => Some(*d),
            // ACP carries no reason with a rejection.
            Answer::DenyWith(_) => Some(Decision::Deny),
            Answer::Cancel => None,
            Answer::Answers(_) => return Err("gemini asked for a decision, not for answers".into()),
        };
        let option = decision.and_then(|d| option_for(&ask.options, d));
        if let Some(d) = decision
            && d != Decision::Deny
            && option.is_none()
        {
            return Err(format!("gemini does not offer {d:?} for this call"));
        }
        let ask = self.asks.remove(id).ok_or("the request is gone")?;
        let allowed = decision.is_some_and(|d| d != Decision::Deny);
        if !allowed && let Some(call) = ask.tool_call_id {
            self.later.push(LiveEvent::Event(Event::ToolFinished {
                id: Some(call),
                ok: false,
                excerpt: "denied".to_owned(),
            }));
        }
        // A denial without a reject option gives the request up.
        let line = match option {
            Some(option) => json!({"jsonrpc": "2.0", "id": ask.raw_id,
                "result": {"outcome": {"outcome": "selected", "optionId": option}}})
            .to_string(),
            None => cancelled_reply(&ask.raw_id),
        };
        Ok(vec![line])
    }

    fn interrupt(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(turn) = &mut self.turn {
            turn.cancelled = true;
            lines.push(
                json!({"jsonrpc": "2.0", "method": "session/cancel",
                    "params": {"sessionId": self.session()}})
                .to_string(),
            );
            let mut gone = Vec::new();
            for ask in self.asks.values() {
                lines.push(cancelled_reply(&ask.raw_id));
            }
            self.withdraw_all(&mut gone);
            self.later.extend(gone);
        }
        // Turns not sent yet end at once.
        for _ in self.waiting.drain(..) {
            self.later.push(LiveEvent::TurnEnded(Outcome::Failed {
                kind: FailureKind::Cancelled,
                detail: "stopped on request".to_owned(),
                session_id: self.session_id.clone(),
            }));
        }
        lines
    }

    fn steer(&mut self, _text: &str) -> Option<Vec<String>> {
        None
    }

    fn on_line(&mut self, line: &str, out: &mut Vec<LiveEvent>) -> Vec<String> {
        out.append(&mut self.later);
        let msg: Message = match serde_json::from_str(line) {
            Ok(m) => m,
            Err(e) => {
                tracing::debug!(error = %e, len = line.len(), "gemini: ignoring a line that is not JSON-RPC");
                return Vec::new();
            }
        };
        match (msg.method.clone(), msg.id.is_some()) {
            (Some(method), true) => self.on_request(&method, msg, out),
            (Some(method), false) => {
                if method == "session/update" {
                    self.on_update(&msg.params, out);
                } else {
                    tracing::debug!(method, "gemini: notification ignored");
                }
                Vec::new()
            }
            (None, true) => self.on_response(msg, out),
            (None, false) => {
                tracing::debug!("gemini: message without id or method, ignored");
                Vec::new()
            }
        }
    }
}

/// The option id of `decision`.
fn option_for(options: &[(Decision, String)], decision: Decision) -> Option<String> {
    options
        .iter()
        .find(|(d, _)| *d == decision)
        .map(|(_, o)| o.clone())
}

/// The decisions a permission request offers, each with its option id, in the order
/// allow once, for the session, always, deny.
fn decisions(options: Option<&Value>) -> Vec<(Decision, String)> {
    let rank = |d: &Decision| match d {
        Decision::AllowOnce => 0,
        Decision::AllowSession => 1,
        Decision::AllowAlways => 2,
        Decision::Deny => 3,
    };
    let mut out: Vec<(Decision, String)> = Vec::new();
    for option in options.and_then(Value::as_array).into_iter().flatten() {
        let id = option.get("optionId").and_then(Value::as_str);
        let kind = option.get("kind").and_then(Value::as_str);
        let (Some(id), Some(kind)) = (id, kind) else {
            continue;
        };
        let decision = match kind {
            "allow_once" => Decision::AllowOnce,
            "allow_always" if id == "proceed_always_and_save" => Decision::AllowAlways,
            "allow_always" => Decision::AllowSession,
            "reject_once" | "reject_always" => Decision::Deny,
            _ => continue,
        };
        // The first option of a kind is the plain one (`reject_once` before `reject_always`).
        if !out.iter().any(|(d, _)| *d == decision) {
            out.push((decision, id.to_owned()));
        }
    }
    out.sort_by_key(|(d, _)| rank(d));
    out
}

/// The reply that gives up permission request `raw_id`.
fn cancelled_reply(raw_id: &Value) -> String {
    json!({"jsonrpc": "2.0", "id": raw_id, "result": {"outcome": {"outcome": "cancelled"}}})
        .to_string()
}

/// A JSON-RPC id as the ask id: a string as is, anything else as JSON.
/// The tool's name, from its ACP `kind` (see the module docs).
fn tool_name(call: &Value) -> &'static str {
    match call.get("kind").and_then(Value::as_str).unwrap_or_default() {
        "execute" => "Shell",
        "edit" => "Edit",
        "read" => "Read",
        "search" => "Search",
        "fetch" => "WebFetch",
        "delete" => "Delete",
        "move" => "Move",
        "think" => "Think",
        _ => "Tool",
    }
}

/// What a tool call would do: its title (the command, the path), then the diffs of
/// an edit.
fn call_preview(call: &Value) -> String {
    let mut text = call
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    for part in call
        .get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if part.get("type").and_then(Value::as_str) != Some("diff") {
            continue;
        }
        let field = |k: &str| part.get(k).and_then(Value::as_str).unwrap_or_default();
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&short_diff(
            field("path"),
            field("oldText"),
            field("newText"),
        ));
    }
    if text.is_empty()
        && let Some(path) = call.pointer("/locations/0/path").and_then(Value::as_str)
    {
        return path.to_owned();
    }
    text
}

/// `--- path` and the changed lines (`-` old, `+` new) between the common start
/// and end of both texts.
fn short_diff(path: &str, old: &str, new: &str) -> String {
    let old: Vec<&str> = old.lines().collect();
    let new: Vec<&str> = new.lines().collect();
    let head = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let tail = old[head..]
        .iter()
        .rev()
        .zip(new[head..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let mut out = format!("--- {path}");
    for line in &old[head..old.len() - tail] {
        out.push_str("\n-");
        out.push_str(line);
    }
    for line in &new[head..new.len() - tail] {
        out.push_str("\n+");
        out.push_str(line);
    }
    out
}

/// The text of a tool call's `content` list.
fn content_text(content: Option<&Value>) -> String {
    let mut parts = Vec::new();
    for part in content.and_then(Value::as_array).into_iter().flatten() {
        if let Some(text) = part.pointer("/content/text").and_then(Value::as_str) {
            parts.push(text);
        }
    }
    parts.join("\n")
}

#[cfg(test)]
#[path = "gemini_tests.rs"]
mod tests;
