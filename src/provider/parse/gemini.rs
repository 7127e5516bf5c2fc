//! Parser for `gemini --output-format stream-json`.
//!
//! Mapping:
//! - `init` → [`Event::SessionStarted`];
//! - assistant `message` pieces (`delta:true`) → [`Event::TextDelta`]; gemini has no
//!   whole-block event, so this parser emits the block's [`Event::Text`] itself when
//!   the block ends: before a `tool_use`, or at `result`. A non-delta assistant message
//!   is a block of its own. Pieces starting with `[Thought: …]` are reasoning:
//!   [`Event::Thinking`], the rest of the piece stays text;
//! - `tool_use` / `tool_result` → [`Event::ToolStarted`] / [`Event::ToolFinished`];
//! - `error` (non-fatal notices) → [`Event::Warning`];
//! - `result` → [`Event::Usage`] (from `stats`) and the final event: `status` decides.
//!   A failed `result` without an `error` object is explained by the last `error`
//!   notice (a broken stream: "Model stream ended without a finish reason.", exit 0).
//!
//! The final answer is the assistant text written after the last tool call.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::classify::http_status_hint;
use super::{
    Final, RunEnd, StreamParser, bounded_detail, decide, excerpt, lenient, summarize_input,
};
use crate::provider::ProviderKind;
use crate::provider::event::{Event, Outcome, Usage};

/// Stream parser for `gemini`.
#[derive(Debug, Default)]
pub struct GeminiParser {
    session_id: Option<String>,
    last_final: Option<Final>,
    /// The text block being streamed.
    block: String,
    /// Whether the current block has had any piece (even an empty one).
    block_open: bool,
    /// Blocks completed since the last tool call.
    answer: Vec<String>,
    /// A `[Thought: …]` piece still waiting for its closing bracket, with the
    /// bracket depth reached so far.
    thought: Option<(String, usize)>,
    /// Message of the last `error` notice.
    last_error: Option<String>,
}

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    session_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    role: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    content: Option<&'a RawValue>,
    #[serde(default)]
    delta: Option<bool>,
    #[serde(default, borrow)]
    tool_name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    tool_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    parameters: Option<&'a RawValue>,
    #[serde(default, borrow)]
    input: Option<&'a RawValue>,
    #[serde(default, borrow)]
    status: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    output: Option<&'a RawValue>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
    #[serde(default, borrow)]
    message: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    stats: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Stats {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct ErrorBody<'a> {
    #[serde(default, borrow)]
    message: Option<Cow<'a, str>>,
}

/// The JSON gemini embeds in `[API Error: {...}]`.
#[derive(Deserialize)]
struct ApiErrorEnvelope {
    error: ApiError,
}

#[derive(Deserialize)]
struct ApiError {
    #[serde(default)]
    code: Option<u16>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

impl StreamParser for GeminiParser {
    fn line(&mut self, line: &str, out: &mut Vec<Event>) {
        let parsed: Line<'_> = match serde_json::from_str(line) {
            Ok(l) => l,
            Err(e) => {
                tracing::debug!(error = %e, len = line.len(), "gemini: ignoring non-JSON line");
                return;
            }
        };
        match parsed.kind.as_ref() {
            "init" => {
                if let Some(id) = parsed.session_id {
                    let id = id.into_owned();
                    self.session_id = Some(id.clone());
                    out.push(Event::SessionStarted { session_id: id });
                }
            }
            "message" => self.message(&parsed, out),
            "tool_use" => {
                self.end_block(out);
                self.answer.clear();
                out.push(Event::ToolStarted {
                    id: parsed.tool_id.or(parsed.id).map(Cow::into_owned),
                    name: parsed
                        .tool_name
                        .or(parsed.name)
                        .map_or_else(|| "tool".to_owned(), Cow::into_owned),
                    summary: summarize_input(parsed.parameters.or(parsed.input)),
                });
            }
            "tool_result" => {
                let ok = parsed.status.as_deref().is_none_or(|s| s == "success");
                let text = parsed
                    .output
                    .and_then(raw_string)
                    .or_else(|| parsed.error.and_then(error_message))
                    .unwrap_or_default();
                out.push(Event::ToolFinished {
                    id: parsed.tool_id.or(parsed.id).map(Cow::into_owned),
                    ok,
                    excerpt: excerpt(&text),
                });
            }
            "error" => {
                let message = parsed
                    .message
                    .map(Cow::into_owned)
                    .or_else(|| parsed.error.and_then(error_message))
                    .unwrap_or_default();
                let message = bounded_detail(&message);
                self.last_error = Some(message.clone());
                out.push(Event::Warning { message });
            }
            "result" => self.result(parsed, out),
            other => tracing::debug!(kind = other, "gemini: ignoring unknown line type"),
        }
    }

    fn finish(&mut self, end: &RunEnd) -> Outcome {
        decide(
            ProviderKind::Gemini,
            self.last_final.take(),
            end,
            self.session_id.clone(),
        )
    }
}

/// A JSON string, or any other JSON compactly.
fn raw_string(raw: &RawValue) -> Option<String> {
    match serde_json::from_str::<String>(raw.get()) {
        Ok(s) => Some(s),
        Err(_) if raw.get() == "null" => None,
        Err(_) => Some(raw.get().to_owned()),
    }
}

/// `error.message` of an `{message}` object, or the error itself when it is a string.
fn error_message(raw: &RawValue) -> Option<String> {
    serde_json::from_str::<ErrorBody<'_>>(raw.get())
        .ok()
        .and_then(|e| e.message.map(Cow::into_owned))
        .or_else(|| raw_string(raw))
}

/// Turns `[API Error: {"error":{"code":401,"message":"…","status":"UNAUTHENTICATED"}}]`
/// into `API Error 401 UNAUTHENTICATED: …` and its HTTP status; other texts are kept.
fn clean_api_error(message: &str) -> (String, Option<u16>) {
    let trimmed = message.trim();
    let inner = trimmed
        .strip_prefix("[API Error:")
        .and_then(|s| s.strip_suffix(']'))
        .map(str::trim);
    if let Some(json) = inner
        && let Ok(env) = serde_json::from_str::<ApiErrorEnvelope>(json)
    {
        let e = env.error;
        let mut head = match e.code {
            Some(code) => format!("API Error {code}"),
            None => "API Error".to_owned(),
        };
        if let Some(status) = &e.status {
            head.push(' ');
            head.push_str(status);
        }
        let detail = match e.message {
            Some(m) => format!("{head}: {m}"),
            None => head,
        };
        return (bounded_detail(&detail), e.code);
    }
    (bounded_detail(trimmed), http_status_hint(trimmed))
}

impl GeminiParser {
    fn message(&mut self, line: &Line<'_>, out: &mut Vec<Event>) {
        let role = line.role.as_deref().unwrap_or("assistant");
        if role != "assistant" && role != "model" {
            return;
        }
        let Some(content) = line.content.and_then(content_text) else {
            return;
        };
        if line.delta == Some(true) {
            self.piece(&content, out);
        } else {
            // A whole message is a block of its own.
            self.end_block(out);
            self.piece(&content, out);
            self.end_block_without_deltas(out);
        }
    }

    /// Adds one streamed piece to the current block, splitting off reasoning.
    fn piece(&mut self, piece: &str, out: &mut Vec<Event>) {
        let rest = self.strip_thought(piece, out);
        self.block_open = true;
        if !rest.is_empty() {
            self.block.push_str(rest);
            out.push(Event::TextDelta {
                text: rest.to_owned(),
            });
        }
    }

    /// Consumes a leading `[Thought: …]` (possibly spread over several pieces) and
    /// returns what follows it.
    fn strip_thought<'p>(&mut self, piece: &'p str, out: &mut Vec<Event>) -> &'p str {
        let (mut text, mut depth, body) = if let Some((text, depth)) = self.thought.take() {
            (text, depth, piece)
        } else {
            let Some(body) = piece.trim_start().strip_prefix("[Thought:") else {
                return piece;
            };
            (String::new(), 1, body)
        };
        for (i, c) in body.char_indices() {
            match c {
                '[' => depth += 1,
                ']' => {
                    depth -= 1;
                    if depth == 0 {
                        text.push_str(&body[..i]);
                        out.push(Event::Thinking {
                            text: text.trim().to_owned(),
                        });
                        return body[i + 1..].trim_start();
                    }
                }
                _ => {}
            }
        }
        text.push_str(body);
        self.thought = Some((text, depth));
        ""
    }

    /// Closes the current block: emits its whole text once.
    fn end_block(&mut self, out: &mut Vec<Event>) {
        if !self.block_open {
            return;
        }
        self.block_open = false;
        let text = std::mem::take(&mut self.block);
        if text.is_empty() {
            return;
        }
        self.answer.push(text.clone());
        out.push(Event::Text { text });
    }

    /// Closes a block that arrived whole: its text replaces the delta just sent.
    fn end_block_without_deltas(&mut self, out: &mut Vec<Event>) {
        if let Some(Event::TextDelta { .. }) = out.last() {
            out.pop();
        }
        self.end_block(out);
    }

    fn result(&mut self, line: Line<'_>, out: &mut Vec<Event>) {
        self.end_block(out);
        if let Some((text, _)) = self.thought.take() {
            out.push(Event::Thinking {
                text: text.trim().to_owned(),
            });
        }
        if let Some(id) = line.session_id {
            self.session_id = Some(id.into_owned());
        }
        let usage = lenient::<Stats>(line.stats).map_or_else(Usage::default, |s| Usage {
            input_tokens: s.input_tokens.unwrap_or(0),
            output_tokens: s.output_tokens.unwrap_or(0),
            cost_usd: None,
        });
        out.push(Event::Usage(usage));
        let success = line.status.as_deref().is_none_or(|s| s == "success");
        if success {
            self.last_final = Some(Final::Success {
                text: self.answer.join("\n\n"),
                usage,
                permission_denials: Vec::new(),
            });
        } else {
            let message = line
                .error
                .and_then(error_message)
                .or_else(|| self.last_error.clone())
                .unwrap_or_else(|| "gemini reported an error without details".to_owned());
            let (detail, http_status) = clean_api_error(&message);
            self.last_final = Some(Final::Error {
                detail,
                http_status,
            });
        }
        self.answer.clear();
    }
}

/// `content` as text: a string, or the `text` parts of a list of blocks.
fn content_text(raw: &RawValue) -> Option<String> {
    #[derive(Deserialize)]
    struct Part {
        #[serde(default)]
        text: Option<String>,
    }
    if let Ok(s) = serde_json::from_str::<String>(raw.get()) {
        return Some(s);
    }
    let parts = serde_json::from_str::<Vec<Part>>(raw.get()).ok()?;
    Some(parts.into_iter().filter_map(|p| p.text).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lines: &[&str]) -> (Vec<Event>, Outcome) {
        let mut p = GeminiParser::default();
        let mut out = Vec::new();
        for l in lines {
            p.line(l, &mut out);
        }
        (out, p.finish(&RunEnd::default()))
    }

    #[test]
    fn thoughts_are_split_from_text_even_across_pieces() {
        let (events, outcome) = run(&[
            r#"{"type":"message","role":"assistant","content":"[Thought: plan [a] ","delta":true}"#,
            r#"{"type":"message","role":"assistant","content":"then b] Answer ","delta":true}"#,
            r#"{"type":"message","role":"assistant","content":"here.","delta":true}"#,
            r#"{"type":"result","status":"success","stats":{"input_tokens":5,"output_tokens":2}}"#,
        ]);
        assert_eq!(
            events,
            vec![
                Event::Thinking {
                    text: "plan [a] then b".into()
                },
                Event::TextDelta {
                    text: "Answer ".into()
                },
                Event::TextDelta {
                    text: "here.".into()
                },
                Event::Text {
                    text: "Answer here.".into()
                },
                Event::Usage(Usage {
                    input_tokens: 5,
                    output_tokens: 2,
                    cost_usd: None
                }),
            ]
        );
        assert!(matches!(outcome, Outcome::Completed { ref text, .. } if text == "Answer here."));
    }

    #[test]
    fn whole_messages_are_blocks_and_block_content_lists_are_read() {
        let (events, _) = run(&[
            r#"{"type":"message","role":"model","content":[{"type":"text","text":"one"}]}"#,
            r#"{"type":"message","role":"assistant","content":"two"}"#,
        ]);
        assert_eq!(
            events,
            vec![
                Event::Text { text: "one".into() },
                Event::Text { text: "two".into() },
            ]
        );
    }

    #[test]
    fn api_errors_are_cleaned() {
        assert_eq!(
            clean_api_error(
                r#"[API Error: {"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}]"#
            ),
            (
                "API Error 429 RESOURCE_EXHAUSTED: quota".to_owned(),
                Some(429)
            )
        );
        assert_eq!(
            clean_api_error("plain failure"),
            ("plain failure".to_owned(), None)
        );
    }

    #[test]
    fn failed_tool_results_use_the_error_message() {
        let (events, _) = run(&[
            r#"{"type":"tool_result","tool_id":"x","status":"error","error":{"type":"t","message":"denied"}}"#,
        ]);
        assert_eq!(
            events,
            vec![Event::ToolFinished {
                id: Some("x".into()),
                ok: false,
                excerpt: "denied".into()
            }]
        );
    }
}
