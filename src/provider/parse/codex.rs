//! Parser for `codex exec --json`.
//!
//! Mapping:
//! - `thread.started` → [`Event::SessionStarted`] (`thread_id` is the resume id);
//! - `item.completed` `agent_message` → [`Event::Text`] (codex sends no deltas);
//!   `reasoning` → [`Event::Thinking`]; `error` items → [`Event::Warning`];
//! - tool items get claude-style names so consumers treat every provider alike:
//!   `command_execution` → `Shell` (summary: the command), `file_change` → `Edit`
//!   (summary: the paths), `mcp_tool_call` → `server.tool`, `web_search` → `WebSearch`
//!   (summary: the query), `todo_list` → `TodoWrite`; `item.started` →
//!   [`Event::ToolStarted`], `item.completed` → [`Event::ToolFinished`] (a completed
//!   item never seen started gets both);
//! - `turn.completed` → [`Event::Usage`] and success; `turn.failed` → error;
//! - top-level `error` lines → [`Event::Retrying`] for the `Reconnecting... n/m (…)`
//!   notices, [`Event::Warning`] otherwise.
//!
//! The final answer is the agent messages written after the turn's last tool item,
//! joined with a blank line (codex writes "I will run …" before a tool call).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{
    Final, RunEnd, StreamParser, bounded_detail, decide, excerpt, lenient, one_line,
    strip_stdin_notices, summarize_input,
};
use crate::provider::ProviderKind;
use crate::provider::event::{Event, Outcome, Usage};

/// Stream parser for `codex exec --json`.
#[derive(Debug, Default)]
pub struct CodexParser {
    session_id: Option<String>,
    last_final: Option<Final>,
    /// Agent messages since the last tool item.
    answer: Vec<String>,
    /// Ids of tool items whose start was reported and whose end was not yet.
    open_tools: Vec<String>,
}

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    thread_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    item: Option<&'a RawValue>,
    #[serde(default, borrow)]
    usage: Option<&'a RawValue>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
    #[serde(default, borrow)]
    message: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct CodexUsage {
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

#[derive(Deserialize)]
struct Item<'a> {
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    message: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    command: Option<&'a RawValue>,
    #[serde(default, borrow, alias = "aggregatedOutput")]
    aggregated_output: Option<Cow<'a, str>>,
    #[serde(default, alias = "exitCode")]
    exit_code: Option<i64>,
    #[serde(default, borrow)]
    status: Option<Cow<'a, str>>,
    #[serde(default)]
    changes: Option<Vec<Change>>,
    #[serde(default, borrow)]
    server: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    tool: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    arguments: Option<&'a RawValue>,
    #[serde(default, borrow)]
    result: Option<&'a RawValue>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
    #[serde(default, borrow)]
    query: Option<Cow<'a, str>>,
    #[serde(default)]
    items: Option<Vec<Todo>>,
}

#[derive(Deserialize)]
struct Change {
    #[serde(default)]
    path: String,
    #[serde(default)]
    kind: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Todo {
    #[serde(default)]
    completed: bool,
}

/// Which phase of an item a line reports.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Started,
    Updated,
    Completed,
}

impl StreamParser for CodexParser {
    fn line(&mut self, line: &str, out: &mut Vec<Event>) {
        let parsed: Line<'_> = match serde_json::from_str(line) {
            Ok(l) => l,
            Err(e) => {
                tracing::debug!(error = %e, len = line.len(), "codex: ignoring non-JSON line");
                return;
            }
        };
        match parsed.kind.as_ref() {
            "thread.started" => {
                if let Some(id) = parsed.thread_id {
                    let id = id.into_owned();
                    self.session_id = Some(id.clone());
                    out.push(Event::SessionStarted { session_id: id });
                }
            }
            "item.started" => self.item(parsed.item, Phase::Started, out),
            "item.updated" => self.item(parsed.item, Phase::Updated, out),
            "item.completed" => self.item(parsed.item, Phase::Completed, out),
            "turn.completed" => {
                let usage =
                    lenient::<CodexUsage>(parsed.usage).map_or_else(Usage::default, |u| Usage {
                        input_tokens: u.input_tokens.unwrap_or(0),
                        output_tokens: u.output_tokens.unwrap_or(0),
                        cost_usd: None,
                    });
                out.push(Event::Usage(usage));
                self.last_final = Some(Final::Success {
                    text: self.answer.join("\n\n"),
                    usage,
                    permission_denials: Vec::new(),
                });
                self.answer.clear();
            }
            "turn.failed" => {
                let message = lenient::<ErrorBody<'_>>(parsed.error)
                    .and_then(|e| e.message)
                    .map(Cow::into_owned)
                    .or_else(|| lenient::<String>(parsed.message))
                    .or_else(|| lenient::<String>(parsed.error))
                    .unwrap_or_else(|| "turn failed".to_owned());
                let detail = bounded_detail(&strip_stdin_notices(&message));
                self.last_final = Some(Final::Error {
                    detail,
                    http_status: None,
                });
                self.answer.clear();
            }
            "error" => {
                let message = lenient::<String>(parsed.message).unwrap_or_default();
                out.push(error_notice(&message));
            }
            "turn.started" => {}
            other => tracing::debug!(kind = other, "codex: ignoring unknown line type"),
        }
    }

    fn finish(&mut self, end: &RunEnd) -> Outcome {
        decide(
            ProviderKind::Codex,
            self.last_final.take(),
            end,
            self.session_id.clone(),
        )
    }
}

/// `Reconnecting... 1/5 (detail)` → `Retrying { attempt: 1, detail }`; other
/// messages are warnings.
pub(crate) fn error_notice(message: &str) -> Event {
    if let Some(rest) = message.strip_prefix("Reconnecting...") {
        let rest = rest.trim_start();
        let attempt = rest
            .split(['/', ' '])
            .next()
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(1);
        let detail = match (rest.find('('), rest.rfind(')')) {
            (Some(open), Some(close)) if close > open => &rest[open + 1..close],
            _ => rest,
        };
        return Event::Retrying {
            attempt,
            detail: bounded_detail(detail),
        };
    }
    Event::Warning {
        message: bounded_detail(&strip_stdin_notices(message)),
    }
}

impl CodexParser {
    fn item(&mut self, raw: Option<&RawValue>, phase: Phase, out: &mut Vec<Event>) {
        let Some(raw) = raw else { return };
        let item: Item<'_> = match serde_json::from_str(raw.get()) {
            Ok(i) => i,
            Err(e) => {
                tracing::debug!(error = %e, "codex: unreadable item");
                return;
            }
        };
        match item.kind.as_ref() {
            "agent_message" => {
                if phase == Phase::Completed {
                    let text = item.text.map(Cow::into_owned).unwrap_or_default();
                    self.answer.push(text.clone());
                    out.push(Event::Text { text });
                }
            }
            "reasoning" => {
                if phase == Phase::Completed {
                    out.push(Event::Thinking {
                        text: item.text.map(Cow::into_owned).unwrap_or_default(),
                    });
                }
            }
            "error" => {
                if phase != Phase::Updated {
                    let message = item.message.or(item.text).unwrap_or_default();
                    out.push(Event::Warning {
                        message: bounded_detail(&message),
                    });
                }
            }
            "command_execution" | "file_change" | "mcp_tool_call" | "web_search" | "todo_list" => {
                self.tool_item(&item, phase, out);
            }
            other => tracing::debug!(kind = other, "codex: ignoring item type"),
        }
    }

    fn tool_item(&mut self, item: &Item<'_>, phase: Phase, out: &mut Vec<Event>) {
        // Text written before a tool call is "thinking aloud", not the final answer.
        self.answer.clear();
        let id = item.id.as_deref().map(str::to_owned);
        let key = id.clone().unwrap_or_default();
        let open_at = self.open_tools.iter().position(|k| *k == key);
        if open_at.is_none() && phase != Phase::Updated {
            let (name, summary) = tool_label(item);
            out.push(Event::ToolStarted {
                id: id.clone(),
                name,
                summary,
            });
            if phase == Phase::Started {
                self.open_tools.push(key);
                return;
            }
        }
        if phase != Phase::Completed {
            return;
        }
        if let Some(i) = open_at {
            self.open_tools.swap_remove(i);
        }
        out.push(Event::ToolFinished {
            id,
            ok: tool_ok(item),
            excerpt: tool_excerpt(item),
        });
    }
}

fn raw_text(raw: Option<&RawValue>) -> Option<String> {
    let raw = raw?;
    serde_json::from_str::<String>(raw.get()).ok().or_else(|| {
        serde_json::from_str::<Vec<String>>(raw.get())
            .ok()
            .map(|v| v.join(" "))
    })
}

/// What a tool item of either codex stream shows: its start (name, summary) and its
/// end (success, output excerpt).
pub(crate) struct ToolView {
    /// Tool name (`Shell`, `Edit`, `server.tool`, `WebSearch`, `TodoWrite`).
    pub name: String,
    /// One-line summary of the call.
    pub summary: String,
    /// Whether it succeeded (meaningful once the item completed).
    pub ok: bool,
    /// Start of its output.
    pub excerpt: String,
}

/// The [`ToolView`] of a codex item in the `exec --json` shape (`command_execution`,
/// `aggregated_output`) or the `app-server` one (`commandExecution`, `aggregatedOutput`);
/// `None` when the item is not a tool call.
pub(crate) fn tool_view(raw: &str) -> Option<ToolView> {
    let mut item: Item<'_> = serde_json::from_str(raw).ok()?;
    let kind = match item.kind.as_ref() {
        "command_execution" | "commandExecution" => "command_execution",
        "file_change" | "fileChange" => "file_change",
        "mcp_tool_call" | "mcpToolCall" => "mcp_tool_call",
        "web_search" | "webSearch" => "web_search",
        "todo_list" => "todo_list",
        _ => return None,
    };
    item.kind = Cow::Borrowed(kind);
    let (name, summary) = tool_label(&item);
    Some(ToolView {
        name,
        summary,
        ok: tool_ok(&item),
        excerpt: tool_excerpt(&item),
    })
}

fn tool_label(item: &Item<'_>) -> (String, String) {
    match item.kind.as_ref() {
        "command_execution" => (
            "Shell".into(),
            one_line(&raw_text(item.command).unwrap_or_default()),
        ),
        "file_change" => {
            let paths: Vec<String> = item
                .changes
                .iter()
                .flatten()
                .map(|c| match c.kind.as_ref().and_then(change_kind) {
                    Some(kind) => format!("{kind} {}", c.path),
                    None => c.path.clone(),
                })
                .collect();
            ("Edit".into(), one_line(&paths.join(", ")))
        }
        "mcp_tool_call" => {
            let server = item.server.as_deref().unwrap_or("mcp");
            let tool = item.tool.as_deref().unwrap_or("tool");
            (format!("{server}.{tool}"), summarize_input(item.arguments))
        }
        "web_search" => (
            "WebSearch".into(),
            one_line(item.query.as_deref().unwrap_or_default()),
        ),
        _ => {
            let items = item.items.as_deref().unwrap_or_default();
            let done = items.iter().filter(|t| t.completed).count();
            ("TodoWrite".into(), format!("{done}/{} done", items.len()))
        }
    }
}

/// `add` / `delete` / `update`, written as a plain string or a `{type: …}` object.
fn change_kind(v: &serde_json::Value) -> Option<&str> {
    match v {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Object(o) => o.get("type").and_then(serde_json::Value::as_str),
        _ => None,
    }
}

fn tool_ok(item: &Item<'_>) -> bool {
    let status_ok = item.status.as_deref().is_none_or(|s| s == "completed");
    match item.kind.as_ref() {
        "command_execution" => status_ok && item.exit_code == Some(0),
        "mcp_tool_call" => status_ok && item.error.is_none_or(|e| e.get() == "null"),
        _ => status_ok,
    }
}

fn tool_excerpt(item: &Item<'_>) -> String {
    match item.kind.as_ref() {
        "command_execution" => excerpt(item.aggregated_output.as_deref().unwrap_or_default()),
        "mcp_tool_call" => {
            if let Some(err) = item.error.filter(|e| e.get() != "null") {
                let msg = serde_json::from_str::<ErrorBody<'_>>(err.get())
                    .ok()
                    .and_then(|e| e.message)
                    .map_or_else(|| err.get().to_owned(), Cow::into_owned);
                excerpt(&msg)
            } else {
                item.result.map_or_else(String::new, |r| excerpt(r.get()))
            }
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lines: &[&str]) -> (Vec<Event>, Outcome) {
        let mut p = CodexParser::default();
        let mut out = Vec::new();
        for l in lines {
            p.line(l, &mut out);
        }
        (out, p.finish(&RunEnd::default()))
    }

    #[test]
    fn other_item_types_become_tools_thinking_and_warnings() {
        let (events, outcome) = run(&[
            r#"{"type":"thread.started","thread_id":"t"}"#,
            r#"{"type":"item.completed","item":{"id":"r","type":"reasoning","text":"**Plan**"}}"#,
            r#"{"type":"item.completed","item":{"id":"e","type":"error","message":"Model metadata for `m` not found."}}"#,
            r#"{"type":"item.completed","item":{"id":"f","type":"file_change","changes":[{"path":"a.rs","kind":"update"},{"path":"b.rs","kind":"add"}],"status":"completed"}}"#,
            r#"{"type":"item.started","item":{"id":"m","type":"mcp_tool_call","server":"docs","tool":"search","arguments":{"query":"tokio"},"status":"in_progress"}}"#,
            r#"{"type":"item.completed","item":{"id":"m","type":"mcp_tool_call","server":"docs","tool":"search","arguments":{"query":"tokio"},"error":{"message":"boom"},"status":"failed"}}"#,
            r#"{"type":"item.started","item":{"id":"w","type":"web_search","query":"rust 2024"}}"#,
            r#"{"type":"item.completed","item":{"id":"w","type":"web_search","query":"rust 2024"}}"#,
            r#"{"type":"item.started","item":{"id":"d","type":"todo_list","items":[{"text":"a","completed":true},{"text":"b","completed":false}]}}"#,
            r#"{"type":"item.updated","item":{"id":"d","type":"todo_list","items":[{"text":"a","completed":true},{"text":"b","completed":true}]}}"#,
            r#"{"type":"item.completed","item":{"id":"c","type":"command_execution","command":"false","aggregated_output":"","exit_code":1,"status":"failed"}}"#,
            r#"{"type":"item.completed","item":{"id":"a","type":"agent_message","text":"done"}}"#,
            r#"{"type":"turn.completed","usage":{"input_tokens":10,"cached_input_tokens":4,"output_tokens":3}}"#,
        ]);
        let started = |id: &str, name: &str, summary: &str| Event::ToolStarted {
            id: Some(id.into()),
            name: name.into(),
            summary: summary.into(),
        };
        let finished = |id: &str, ok: bool, excerpt: &str| Event::ToolFinished {
            id: Some(id.into()),
            ok,
            excerpt: excerpt.into(),
        };
        assert_eq!(
            events,
            vec![
                Event::SessionStarted {
                    session_id: "t".into()
                },
                Event::Thinking {
                    text: "**Plan**".into()
                },
                Event::Warning {
                    message: "Model metadata for `m` not found.".into()
                },
                started("f", "Edit", "update a.rs, add b.rs"),
                finished("f", true, ""),
                started("m", "docs.search", "tokio"),
                finished("m", false, "boom"),
                started("w", "WebSearch", "rust 2024"),
                finished("w", true, ""),
                started("d", "TodoWrite", "1/2 done"),
                started("c", "Shell", "false"),
                finished("c", false, ""),
                Event::Text {
                    text: "done".into()
                },
                Event::Usage(Usage {
                    input_tokens: 10,
                    output_tokens: 3,
                    cost_usd: None
                }),
            ]
        );
        assert!(matches!(outcome, Outcome::Completed { ref text, .. } if text == "done"));
    }

    #[test]
    fn reconnect_notices_are_retries() {
        assert_eq!(
            error_notice("Reconnecting... 2/5 (unexpected status 502 Bad Gateway)"),
            Event::Retrying {
                attempt: 2,
                detail: "unexpected status 502 Bad Gateway".into()
            }
        );
        assert_eq!(
            error_notice("Reading prompt from stdin...\nsomething broke"),
            Event::Warning {
                message: "something broke".into()
            }
        );
    }

    #[test]
    fn failed_turn_strips_the_stdin_notice() {
        let (_, outcome) = run(&[
            r#"{"type":"thread.started","thread_id":"t"}"#,
            r#"{"type":"turn.failed","error":{"message":"Reading prompt from stdin...\nunexpected status 429 Too Many Requests"}}"#,
        ]);
        assert_eq!(
            outcome,
            Outcome::Failed {
                kind: crate::provider::event::FailureKind::RateLimited,
                detail: "unexpected status 429 Too Many Requests".into(),
                session_id: Some("t".into()),
            }
        );
    }
}
