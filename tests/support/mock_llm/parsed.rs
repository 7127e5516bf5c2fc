//! What the mock reads out of a model request, whatever the provider: the provider modules turn
//! their message lists into [`Entry`]s and [`Parsed`]; the script only ever sees these.

use serde_json::Value;

use super::script::ToolSpec;

/// A model request reduced to what the script and the recorder need.
#[derive(Debug, Default)]
pub(super) struct Parsed {
    pub model: Option<String>,
    pub stream: bool,
    pub history: History,
    pub system: String,
    pub tools: Vec<ToolSpec>,
    pub wants_json: bool,
}

/// One step of the conversation, in request order.
#[derive(Debug)]
pub(super) enum Entry {
    /// A user message with real text (context blocks removed).
    UserText(String),
    /// The output of a tool call, sent back to the model.
    ToolResult(String),
    /// A message (or item) written by the model.
    Assistant,
}

/// Text blocks the CLIs put into user messages on their own; they are not the user's prompt.
const CONTEXT_PREFIXES: [&str; 5] = [
    "<system-reminder>",
    "<session_context>",
    "<environment_context>",
    "<user_instructions>",
    "# AGENTS.md instructions",
];

/// The entry for a user message made of these text parts: the non-context parts joined by
/// newlines, or nothing when every part is CLI context.
pub(super) fn user_entry<'a>(parts: impl IntoIterator<Item = &'a str>) -> Option<Entry> {
    let real: Vec<&str> = parts
        .into_iter()
        .filter(|p| {
            let p = p.trim_start();
            !p.is_empty() && !CONTEXT_PREFIXES.iter().any(|c| p.starts_with(c))
        })
        .collect();
    (!real.is_empty()).then(|| Entry::UserText(real.join("\n")))
}

/// The conversation as far as the script cares.
#[derive(Debug, Default)]
pub(super) struct History {
    /// Text of the last user message that has real text.
    pub last_user_text: String,
    /// Model replies in the history: runs of consecutive assistant entries count once.
    pub prior_assistant_turns: usize,
    /// Tool outputs sent after the last user text (the current turn).
    pub tool_results: Vec<String>,
}

impl History {
    pub fn from_entries(entries: &[Entry]) -> Self {
        let last_user = entries
            .iter()
            .rposition(|e| matches!(e, Entry::UserText(_)));
        let last_user_text = match last_user.map(|i| &entries[i]) {
            Some(Entry::UserText(text)) => text.clone(),
            _ => String::new(),
        };
        let tool_results = entries[last_user.map_or(0, |i| i + 1)..]
            .iter()
            .filter_map(|e| match e {
                Entry::ToolResult(out) => Some(out.clone()),
                _ => None,
            })
            .collect();
        let mut prior_assistant_turns = 0;
        let mut in_run = false;
        for entry in entries {
            let assistant = matches!(entry, Entry::Assistant);
            if assistant && !in_run {
                prior_assistant_turns += 1;
            }
            in_run = assistant;
        }
        Self {
            last_user_text,
            prior_assistant_turns,
            tool_results,
        }
    }
}

/// The text of a tool output that is either a string or a list of `{type, text}` blocks; any
/// other shape is returned as JSON.
pub(super) fn output_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// `value` as a string, or "" when it is not one.
pub(super) fn str_of(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}
