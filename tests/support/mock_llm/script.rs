//! The provider-neutral script: which [`Reply`] a request gets (keywords, custom scripts) and
//! what a reply turns into once the request's tools are known ([`Outcome`]).
//! Knows nothing about HTTP or any provider's wire format.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Value, json};

use super::RecordedRequest;

/// Command run by `MOCK_TOOL`.
const DEFAULT_TOOL_COMMAND: &str = "echo mock-tool-output";
/// Text before the tool call of `MOCK_TOOL` / `MOCK_TOOL_CMD<<…>>`.
const TOOL_PREAMBLE: &str = "I will run a shell command.";
/// Number of `slow-chunk-N ` pieces of `MOCK_SLOW` (one every [`SLOW_DELAY`]: 30 s in all).
const SLOW_CHUNKS: usize = 150;
const SLOW_DELAY: Duration = Duration::from_millis(200);
/// Upper bound for `MOCK_LONG<<N>>`, so a typo cannot make the mock build gigabytes.
const LONG_MAX: usize = 1_000_000;
/// How many characters of the prompt the default answer quotes.
const MARKER_CHARS: usize = 40;

/// What the mock answers to one model request, independent of the provider's wire format.
///
/// An answer is some text (streamed as deltas), optionally followed by a call of the client's
/// shell tool; or an HTTP error. Build one with [`Reply::text`], [`Reply::tool`] or
/// [`Reply::error`] and refine it with the builder methods.
#[derive(Clone, Debug)]
pub struct Reply {
    pub(super) kind: ReplyKind,
}

#[derive(Clone, Debug)]
pub(super) enum ReplyKind {
    Answer {
        chunks: Vec<String>,
        delay: Duration,
        tool_command: Option<String>,
        named_call: Option<ToolCall>,
        broken: bool,
    },
    Error {
        status: u16,
        message: String,
    },
}

impl Reply {
    /// A text answer, streamed in small deltas (a few words each) with no pause between them.
    pub fn text(text: impl AsRef<str>) -> Self {
        Self::chunks(split_chunks(text.as_ref()))
    }

    /// A text answer streamed as exactly these deltas.
    pub fn chunks<I, S>(chunks: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            kind: ReplyKind::Answer {
                chunks: chunks.into_iter().map(Into::into).collect(),
                delay: Duration::ZERO,
                tool_command: None,
                named_call: None,
                broken: false,
            },
        }
    }

    /// "I will run a shell command." followed by a call of the client's shell tool running
    /// `command` (claude `Bash`, codex `exec_command`, gemini `run_shell_command`).
    pub fn tool(command: impl Into<String>) -> Self {
        Self::text(TOOL_PREAMBLE).with_tool(command)
    }

    /// An HTTP error with the provider's JSON error body carrying `message`.
    pub fn error(status: u16, message: impl Into<String>) -> Self {
        Self {
            kind: ReplyKind::Error {
                status,
                message: message.into(),
            },
        }
    }

    /// After the text, call the client's shell tool with `command`.
    #[must_use]
    pub fn with_tool(mut self, command: impl Into<String>) -> Self {
        if let ReplyKind::Answer { tool_command, .. } = &mut self.kind {
            *tool_command = Some(command.into());
        }
        self
    }

    /// After the text, call the request's tool `name` with exactly `args` (e.g. codex's
    /// `request_user_input`); when the request offers no such tool, the answer says so instead.
    #[must_use]
    pub fn with_call(mut self, name: impl Into<String>, args: Value) -> Self {
        if let ReplyKind::Answer { named_call, .. } = &mut self.kind {
            *named_call = Some(ToolCall {
                name: name.into(),
                args,
            });
        }
        self
    }

    /// Pause this long before every delta but the first.
    #[must_use]
    pub fn chunk_delay(mut self, pause: Duration) -> Self {
        if let ReplyKind::Answer { delay, .. } = &mut self.kind {
            *delay = pause;
        }
        self
    }

    /// Break a streamed answer after half of its deltas (Anthropic `event: error`, `OpenAI`
    /// `response.failed`, Gemini: the stream ends without `finishReason`). A non-streaming
    /// request still gets the whole answer.
    #[must_use]
    pub fn broken(mut self) -> Self {
        if let ReplyKind::Answer { broken, .. } = &mut self.kind {
            *broken = true;
        }
        self
    }

    /// The mock's built-in answer to `request` (tool follow-up, `MOCK_*` keywords, default),
    /// for custom scripts that only want to change some cases.
    pub fn builtin(request: &RecordedRequest) -> Self {
        let turns = request.prior_assistant_turns;
        if !request.tool_results.is_empty() {
            let outputs = request.tool_results.join(" | ");
            return Self::text(format!(
                "The tool ran. Its output was: {} (mock-llm final answer, prior_assistant_turns={turns})",
                clip(&outputs, 2000)
            ));
        }
        let text = request.last_user_text.as_str();
        let Some(keyword) = builtin_keyword(text) else {
            return Self::text(default_answer(text, turns));
        };
        match keyword {
            "MOCK_ERROR_401" => Self::error(401, "mock-llm: invalid API key"),
            "MOCK_ERROR_429" => Self::error(429, "mock-llm: rate limited"),
            "MOCK_ERROR_500" => Self::error(500, "mock-llm: internal server error"),
            "MOCK_TOOL_CMD" => {
                Self::tool(argument(text, "MOCK_TOOL_CMD").unwrap_or(DEFAULT_TOOL_COMMAND))
            }
            "MOCK_TOOL" => Self::tool(DEFAULT_TOOL_COMMAND),
            "MOCK_BROKEN" => Self::text(default_answer(text, turns)).broken(),
            "MOCK_SLOW" => Self::chunks((0..SLOW_CHUNKS).map(|i| format!("slow-chunk-{i} ")))
                .chunk_delay(SLOW_DELAY),
            "MOCK_LONG" => {
                let wanted = argument(text, "MOCK_LONG").and_then(|n| n.trim().parse().ok());
                Self::text(long_answer(wanted.unwrap_or(5000).min(LONG_MAX)))
            }
            "MOCK_ECHO" => Self::text(text),
            _ => Self::text(default_answer(text, turns)),
        }
    }
}

/// Built-in keywords in order of precedence. `MOCK_TOOL_CMD` and `MOCK_LONG` take an argument
/// written `<<…>>` right after the keyword.
const BUILTIN_KEYWORDS: [&str; 9] = [
    "MOCK_ERROR_401",
    "MOCK_ERROR_429",
    "MOCK_ERROR_500",
    "MOCK_TOOL_CMD",
    "MOCK_TOOL",
    "MOCK_BROKEN",
    "MOCK_SLOW",
    "MOCK_LONG",
    "MOCK_ECHO",
];

/// The first built-in keyword (by precedence) contained in `text`.
pub(super) fn builtin_keyword(text: &str) -> Option<&'static str> {
    BUILTIN_KEYWORDS.into_iter().find(|k| {
        // `MOCK_TOOL` must not match inside `MOCK_TOOL_CMD<<…>>`.
        text.match_indices(k)
            .any(|(at, _)| *k != "MOCK_TOOL" || !text[at + k.len()..].starts_with("_CMD"))
    })
}

/// The `…` of `KEYWORD<<…>>` in `text`.
fn argument<'t>(text: &'t str, keyword: &str) -> Option<&'t str> {
    let open = format!("{keyword}<<");
    let start = text.find(&open)? + open.len();
    let len = text[start..].find(">>")?;
    Some(&text[start..start + len])
}

fn default_answer(user_text: &str, turns: usize) -> String {
    let words: Vec<&str> = user_text.split_whitespace().collect();
    let marker = clip(&words.join(" "), MARKER_CHARS);
    format!("Hello from mock-llm. You said: \"{marker}\" (prior_assistant_turns={turns}).")
}

/// Numbered sentences, five to a paragraph, at least `len` characters long.
fn long_answer(len: usize) -> String {
    let mut out = String::new();
    let mut n = 1;
    while out.len() < len {
        if n > 1 {
            out.push_str(if (n - 1) % 5 == 0 { "\n\n" } else { " " });
        }
        let _ = write!(out, "Sentence {n} of the long mock answer.");
        n += 1;
    }
    out
}

/// The first `max` characters of `text`, with "…" when cut.
fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// Splits `text` into deltas of a few words (at least 16 bytes unless at the end, at most 64
/// characters) whose concatenation is exactly `text`.
pub(super) fn split_chunks(text: &str) -> Vec<String> {
    const MIN: usize = 16;
    const MAX_CHARS: usize = 64;
    let mut chunks = Vec::new();
    let mut current = String::new();
    let mut chars = 0;
    for ch in text.chars() {
        current.push(ch);
        chars += 1;
        let word_end = ch.is_whitespace() && current.len() >= MIN;
        if word_end || chars >= MAX_CHARS {
            chunks.push(std::mem::take(&mut current));
            chars = 0;
        }
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

/// A tool the request offers: its name and its JSON-schema `properties`.
#[derive(Clone, Debug)]
pub(super) struct ToolSpec {
    pub name: String,
    pub properties: Value,
}

/// Shell tools by name, in order of preference.
const SHELL_TOOLS: [&str; 5] = [
    "Bash",
    "exec_command",
    "run_shell_command",
    "shell",
    "shell_command",
];

/// A resolved call of the client's shell tool.
#[derive(Clone, Debug)]
pub(super) struct ToolCall {
    pub name: String,
    pub args: Value,
}

/// Builds the call of the request's shell tool that runs `command`, shaped by the tool's schema
/// (`cmd` vs `command`, string vs argv array, optional `description`).
fn shell_call(tools: &[ToolSpec], command: &str) -> Option<ToolCall> {
    let tool = SHELL_TOOLS
        .iter()
        .find_map(|name| tools.iter().find(|t| t.name == *name))?;
    let props = &tool.properties;
    let mut args = serde_json::Map::new();
    if props.get("cmd").is_some() {
        args.insert("cmd".into(), json!(command));
    } else if props["command"]["type"] == "array" {
        args.insert("command".into(), json!(["bash", "-lc", command]));
    } else {
        args.insert("command".into(), json!(command));
    }
    if props.get("description").is_some() {
        args.insert("description".into(), json!("Run the mock tool command"));
    }
    Some(ToolCall {
        name: tool.name.clone(),
        args: Value::Object(args),
    })
}

/// A [`Reply`] made concrete for one request.
#[derive(Clone, Debug)]
pub(super) enum Outcome {
    Answer(Answer),
    Error { status: u16, message: String },
}

/// Text deltas and an optional tool call, ready to be rendered in any provider's format.
#[derive(Clone, Debug)]
pub(super) struct Answer {
    pub chunks: Vec<String>,
    pub delay: Duration,
    pub tool_call: Option<ToolCall>,
    pub broken: bool,
}

impl Answer {
    /// The whole text.
    pub fn text(&self) -> String {
        self.chunks.concat()
    }

    /// How many deltas a stream shows: half of them (at least one) when the stream breaks.
    pub fn streamed_chunks(&self) -> usize {
        if self.broken {
            self.chunks.len().div_ceil(2).max(1).min(self.chunks.len())
        } else {
            self.chunks.len()
        }
    }

    /// A rough token count of the answer, for usage fields.
    pub fn output_tokens(&self) -> u64 {
        let args = self
            .tool_call
            .as_ref()
            .map_or(0, |t| t.args.to_string().len());
        ((self.text().len() + args) / 4 + 1) as u64
    }
}

impl Outcome {
    /// Resolves `reply` against the tools the request offers.
    pub fn resolve(reply: Reply, tools: &[ToolSpec]) -> Self {
        match reply.kind {
            ReplyKind::Error { status, message } => Self::Error { status, message },
            ReplyKind::Answer {
                mut chunks,
                delay,
                tool_command,
                named_call,
                broken,
            } => {
                let mut tool_call = None;
                if let Some(call) = named_call {
                    if tools.iter().any(|t| t.name == call.name) {
                        tool_call = Some(call);
                    } else {
                        chunks = split_chunks(&format!(
                            "mock-llm: the request offered no tool `{}`.",
                            call.name
                        ));
                    }
                }
                if let Some(command) = tool_command {
                    tool_call = shell_call(tools, &command);
                    if tool_call.is_none() {
                        let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
                        chunks = split_chunks(&format!(
                            "mock-llm: the request offered no shell tool, so `{command}` was not run \
                             (tools: {}).",
                            names.join(", ")
                        ));
                    }
                }
                Self::Answer(Answer {
                    chunks,
                    delay,
                    tool_call,
                    broken,
                })
            }
        }
    }
}
