//! Parser for `claude -p --output-format stream-json --verbose [--include-partial-messages]`.
//!
//! Mapping:
//! - `system/init` → [`Event::SessionStarted`] (again for each turn with `--input-format stream-json`);
//! - `system/status` `compacting` → [`Event::Compacting`] (also when the compaction then
//!   fails), `system/compact_boundary` → [`Event::Compacted`];
//! - `system/api_retry` → [`Event::Retrying`];
//! - `stream_event` `content_block_delta`/`text_delta` → [`Event::TextDelta`];
//! - `assistant` content blocks: `text` → [`Event::Text`] (authoritative: after a broken
//!   stream claude re-asks without streaming, so the deltas can stop early),
//!   `tool_use` → [`Event::ToolStarted`], `thinking` → [`Event::Thinking`];
//! - `user` `tool_result` blocks → [`Event::ToolFinished`];
//! - `result` → [`Event::Usage`] and the final event: `is_error` decides (a 401 comes
//!   with `subtype:"success"` and `is_error:true`), `result` is the final answer.
//!
//! Lines of sub-agents (`parent_tool_use_id` set) still report their tools, but their
//! text and thinking are not the answer and are skipped. The synthetic `assistant`
//! line claude writes for an API error (top-level `error` field) is skipped too: the
//! following `result` carries the same text into the outcome.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{
    Final, RunEnd, StreamParser, bounded_detail, decide, excerpt, lenient, summarize_input,
};
use crate::provider::ProviderKind;
use crate::provider::event::{Event, Outcome, Usage};

/// Stream parser for `claude`.
#[derive(Debug, Default)]
pub struct ClaudeParser {
    session_id: Option<String>,
    last_final: Option<Final>,
    /// Text blocks written since the last tool call (fallback for a `result` without text).
    answer: Vec<String>,
}

/// The fields every line may have; the type-specific parts stay raw until needed.
#[derive(Deserialize)]
struct Line<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    subtype: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    session_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    event: Option<&'a RawValue>,
    #[serde(default, borrow)]
    message: Option<&'a RawValue>,
    #[serde(default, borrow)]
    parent_tool_use_id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
    // system/status; system/api_retry (kept raw: read leniently)
    #[serde(default, borrow)]
    status: Option<&'a RawValue>,
    #[serde(default, borrow)]
    attempt: Option<&'a RawValue>,
    #[serde(default, borrow)]
    error_status: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct StreamEvent<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    delta: Option<Delta<'a>>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(default, borrow)]
    content: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Block<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    thinking: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    input: Option<&'a RawValue>,
    #[serde(default, borrow)]
    tool_use_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    content: Option<&'a RawValue>,
    #[serde(default)]
    is_error: Option<bool>,
}

/// A `result` line; every part is raw and read leniently so that an odd field
/// never loses the final event.
#[derive(Deserialize)]
struct ResultLine<'a> {
    #[serde(default, borrow)]
    is_error: Option<&'a RawValue>,
    #[serde(default, borrow)]
    subtype: Option<&'a RawValue>,
    #[serde(default, borrow)]
    result: Option<&'a RawValue>,
    #[serde(default, borrow)]
    errors: Option<&'a RawValue>,
    #[serde(default, borrow)]
    terminal_reason: Option<&'a RawValue>,
    #[serde(default, borrow)]
    api_error_status: Option<&'a RawValue>,
    #[serde(default, borrow)]
    total_cost_usd: Option<&'a RawValue>,
    #[serde(default, borrow)]
    usage: Option<&'a RawValue>,
    #[serde(default, borrow, rename = "modelUsage")]
    model_usage: Option<&'a RawValue>,
    #[serde(default, borrow)]
    permission_denials: Option<&'a RawValue>,
}

#[derive(Deserialize, Default)]
#[allow(clippy::struct_field_names)] // The wire names.
struct ApiUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(clippy::struct_field_names)] // The wire names.
struct ModelUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct Denial {
    #[serde(default)]
    tool_name: Option<String>,
    #[serde(default)]
    tool_input: Option<Box<RawValue>>,
}

impl StreamParser for ClaudeParser {
    fn line(&mut self, line: &str, out: &mut Vec<Event>) {
        let parsed: Line<'_> = match serde_json::from_str(line) {
            Ok(l) => l,
            Err(e) => {
                tracing::debug!(error = %e, len = line.len(), "claude: ignoring non-JSON line");
                return;
            }
        };
        if let Some(id) = &parsed.session_id
            && self.session_id.as_deref() != Some(id.as_ref())
        {
            // Every line carries the session id; remember it even if `init` was lost.
            self.session_id = Some(id.clone().into_owned());
        }
        let in_subagent = parsed
            .parent_tool_use_id
            .is_some_and(|raw| raw.get() != "null");
        match parsed.kind.as_ref() {
            "stream_event" => {
                if !in_subagent && let Some(ev) = parsed.event {
                    stream_event(ev, out);
                }
            }
            "assistant" => {
                let synthetic_error = parsed.error.is_some_and(|raw| raw.get() != "null");
                if let Some(msg) = parsed.message {
                    self.assistant(msg, in_subagent, synthetic_error, out);
                }
            }
            "user" => {
                if let Some(msg) = parsed.message {
                    user(msg, out);
                }
            }
            "system" => self.system(&parsed, out),
            "result" => self.result(line, out),
            other => tracing::debug!(kind = other, "claude: ignoring unknown line type"),
        }
    }

    fn finish(&mut self, end: &RunEnd) -> Outcome {
        decide(
            ProviderKind::Claude,
            self.last_final.take(),
            end,
            self.session_id.clone(),
        )
    }
}

fn stream_event(raw: &RawValue, out: &mut Vec<Event>) {
    let Ok(ev) = serde_json::from_str::<StreamEvent<'_>>(raw.get()) else {
        tracing::debug!("claude: unreadable stream_event");
        return;
    };
    if ev.kind == "content_block_delta"
        && let Some(delta) = ev.delta
        && delta.kind == "text_delta"
        && let Some(text) = delta.text
        && !text.is_empty()
    {
        out.push(Event::TextDelta {
            text: text.into_owned(),
        });
    }
}

/// Parses `message.content` as a list of blocks; a plain string content yields one
/// text block.
fn blocks(raw: &RawValue) -> Vec<Block<'_>> {
    let Ok(msg) = serde_json::from_str::<Message<'_>>(raw.get()) else {
        return Vec::new();
    };
    let Some(content) = msg.content else {
        return Vec::new();
    };
    if let Ok(list) = serde_json::from_str::<Vec<Block<'_>>>(content.get()) {
        return list;
    }
    match serde_json::from_str::<Cow<'_, str>>(content.get()) {
        Ok(text) => vec![Block {
            kind: Cow::Borrowed("text"),
            text: Some(text),
            thinking: None,
            id: None,
            name: None,
            input: None,
            tool_use_id: None,
            content: None,
            is_error: None,
        }],
        Err(_) => Vec::new(),
    }
}

impl ClaudeParser {
    fn assistant(
        &mut self,
        raw: &RawValue,
        in_subagent: bool,
        synthetic_error: bool,
        out: &mut Vec<Event>,
    ) {
        for block in blocks(raw) {
            match block.kind.as_ref() {
                "text" => {
                    if in_subagent || synthetic_error {
                        continue;
                    }
                    let text = block.text.map(Cow::into_owned).unwrap_or_default();
                    self.answer.push(text.clone());
                    out.push(Event::Text { text });
                }
                "thinking" | "redacted_thinking" => {
                    if !in_subagent {
                        out.push(Event::Thinking {
                            text: block.thinking.map(Cow::into_owned).unwrap_or_default(),
                        });
                    }
                }
                "tool_use" | "server_tool_use" | "mcp_tool_use" => {
                    self.answer.clear();
                    out.push(Event::ToolStarted {
                        id: block.id.map(Cow::into_owned),
                        name: block
                            .name
                            .map_or_else(|| "tool".to_owned(), Cow::into_owned),
                        summary: summarize_input(block.input),
                    });
                }
                other => tracing::debug!(kind = other, "claude: ignoring assistant block"),
            }
        }
    }

    fn system(&mut self, line: &Line<'_>, out: &mut Vec<Event>) {
        match line.subtype.as_deref() {
            Some("init") => {
                if let Some(id) = &line.session_id {
                    self.session_id = Some(id.clone().into_owned());
                    out.push(Event::SessionStarted {
                        session_id: id.clone().into_owned(),
                    });
                }
            }
            Some("status") => {
                if lenient::<Cow<'_, str>>(line.status).as_deref() == Some("compacting") {
                    out.push(Event::Compacting);
                }
            }
            Some("compact_boundary") => out.push(Event::Compacted),
            Some("api_retry") => {
                let attempt = lenient::<u64>(line.attempt)
                    .map_or(1, |a| u32::try_from(a).unwrap_or(u32::MAX));
                let error = line
                    .error
                    .and_then(|raw| serde_json::from_str::<Cow<'_, str>>(raw.get()).ok())
                    .unwrap_or_default();
                let detail = match lenient::<u64>(line.error_status) {
                    Some(status) => format!("HTTP {status} {error}").trim_end().to_owned(),
                    None => error.into_owned(),
                };
                out.push(Event::Retrying { attempt, detail });
            }
            other => tracing::debug!(subtype = ?other, "claude: ignoring system line"),
        }
    }

    fn result(&mut self, line: &str, out: &mut Vec<Event>) {
        let r: ResultLine<'_> = match serde_json::from_str(line) {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(error = %e, "claude: unreadable result line");
                return;
            }
        };
        let usage = result_usage(&r);
        out.push(Event::Usage(usage));
        let subtype = lenient::<String>(r.subtype);
        let is_error = lenient::<bool>(r.is_error)
            .unwrap_or_else(|| subtype.as_deref().is_some_and(|s| s != "success"));
        if is_error {
            let http_status =
                lenient::<u64>(r.api_error_status).and_then(|s| u16::try_from(s).ok());
            self.last_final = Some(Final::Error {
                detail: error_detail(&r),
                http_status,
            });
        } else {
            let text = match lenient::<String>(r.result) {
                Some(text) => text,
                None => self.answer.join("\n\n"),
            };
            self.last_final = Some(Final::Success {
                text,
                usage,
                permission_denials: lenient::<Vec<Denial>>(r.permission_denials)
                    .unwrap_or_default()
                    .iter()
                    .map(describe_denial)
                    .collect(),
            });
        }
        self.answer.clear();
    }
}

/// Turn accounting: `result.usage` (per turn); when that is all zero (claude reports
/// zeros after a recovered broken stream) the per-model `modelUsage` sums instead.
/// Input counts cache reads and writes too.
fn result_usage(r: &ResultLine<'_>) -> Usage {
    let mut usage = Usage {
        cost_usd: lenient::<f64>(r.total_cost_usd),
        ..Usage::default()
    };
    if let Some(u) = lenient::<ApiUsage>(r.usage) {
        usage.input_tokens = u.input_tokens.unwrap_or(0)
            + u.cache_creation_input_tokens.unwrap_or(0)
            + u.cache_read_input_tokens.unwrap_or(0);
        usage.output_tokens = u.output_tokens.unwrap_or(0);
    }
    if usage.total_tokens() == 0
        && let Some(models) =
            lenient::<std::collections::BTreeMap<String, ModelUsage>>(r.model_usage)
    {
        for m in models.values() {
            usage.input_tokens += m.input_tokens.unwrap_or(0)
                + m.cache_read_input_tokens.unwrap_or(0)
                + m.cache_creation_input_tokens.unwrap_or(0);
            usage.output_tokens += m.output_tokens.unwrap_or(0);
        }
    }
    usage
}

/// The error text of a failed `result`: its `result`, else its `errors`, else the
/// subtype and terminal reason.
fn error_detail(r: &ResultLine<'_>) -> String {
    if let Some(text) = lenient::<String>(r.result).filter(|t| !t.trim().is_empty()) {
        return bounded_detail(&text);
    }
    let errors: Vec<String> = lenient::<Vec<serde_json::Value>>(r.errors)
        .unwrap_or_default()
        .iter()
        .map(|e| match e {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .filter(|e| !e.trim().is_empty())
        .collect();
    let mut detail = lenient::<String>(r.subtype).unwrap_or_else(|| "error".to_owned());
    if let Some(reason) = lenient::<String>(r.terminal_reason) {
        detail.push_str(" (");
        detail.push_str(&reason);
        detail.push(')');
    }
    if !errors.is_empty() {
        detail.push_str(": ");
        detail.push_str(&errors.join("\n"));
    }
    bounded_detail(&detail)
}

/// `Bash: touch x` style description of a refused tool call.
fn describe_denial(d: &Denial) -> String {
    let name = d.tool_name.as_deref().unwrap_or("tool");
    let summary = summarize_input(d.tool_input.as_deref());
    if summary.is_empty() {
        name.to_owned()
    } else {
        format!("{name}: {summary}")
    }
}

fn user(raw: &RawValue, out: &mut Vec<Event>) {
    for block in blocks(raw) {
        if block.kind != "tool_result" {
            continue;
        }
        out.push(Event::ToolFinished {
            id: block.tool_use_id.map(Cow::into_owned),
            ok: !block.is_error.unwrap_or(false),
            excerpt: block.content.map(tool_output).unwrap_or_default(),
        });
    }
}

/// Start of a `tool_result.content`: a string, or a list of `{type:"text", text}` parts.
fn tool_output(raw: &RawValue) -> String {
    #[derive(Deserialize)]
    struct Part<'a> {
        #[serde(default, borrow)]
        text: Option<Cow<'a, str>>,
    }
    if let Ok(text) = serde_json::from_str::<Cow<'_, str>>(raw.get()) {
        return excerpt(&text);
    }
    match serde_json::from_str::<Vec<Part<'_>>>(raw.get()) {
        Ok(parts) => {
            let joined: Vec<&str> = parts.iter().filter_map(|p| p.text.as_deref()).collect();
            excerpt(&joined.join("\n"))
        }
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lines: &[&str]) -> (Vec<Event>, Outcome) {
        let mut p = ClaudeParser::default();
        let mut out = Vec::new();
        for l in lines {
            p.line(l, &mut out);
        }
        let o = p.finish(&RunEnd::default());
        (out, o)
    }

    #[test]
    fn thinking_compaction_and_subagents() {
        let (events, _) = run(&[
            r#"{"type":"system","subtype":"status","status":"compacting","session_id":"s"}"#,
            r#"{"type":"system","subtype":"compact_boundary","compact_metadata":{"trigger":"auto","pre_tokens":5},"session_id":"s"}"#,
            r#"{"type":"assistant","message":{"content":[{"type":"thinking","thinking":"hmm","signature":"x"}]},"parent_tool_use_id":null,"session_id":"s"}"#,
            r#"{"type":"assistant","message":{"content":[{"type":"text","text":"sub text"},{"type":"tool_use","id":"t2","name":"Read","input":{"file_path":"/x"}}]},"parent_tool_use_id":"t1","session_id":"s"}"#,
            r#"{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"t2","content":[{"type":"text","text":"line1"},{"type":"text","text":"line2"}]}]},"parent_tool_use_id":"t1","session_id":"s"}"#,
        ]);
        assert_eq!(
            events,
            vec![
                Event::Compacting,
                Event::Compacted,
                Event::Thinking { text: "hmm".into() },
                Event::ToolStarted {
                    id: Some("t2".into()),
                    name: "Read".into(),
                    summary: "/x".into()
                },
                Event::ToolFinished {
                    id: Some("t2".into()),
                    ok: true,
                    excerpt: "line1\nline2".into()
                },
            ]
        );
    }

    #[test]
    fn result_without_text_falls_back_to_blocks_after_the_last_tool() {
        let (_, outcome) = run(&[
            r#"{"type":"assistant","message":{"content":[{"type":"text","text":"before"}]},"session_id":"s"}"#,
            r#"{"type":"assistant","message":{"content":[{"type":"tool_use","id":"t","name":"Bash","input":{"command":"ls"}}]},"session_id":"s"}"#,
            r#"{"type":"assistant","message":{"content":"after"},"session_id":"s"}"#,
            r#"{"type":"result","subtype":"success","is_error":false,"session_id":"s"}"#,
        ]);
        match outcome {
            Outcome::Completed {
                text, session_id, ..
            } => {
                assert_eq!(text, "after");
                assert_eq!(session_id.as_deref(), Some("s"));
            }
            Outcome::Failed { .. } => panic!("{outcome:?}"),
        }
    }
}
