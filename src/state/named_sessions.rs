//! `named_sessions.json` (§4.2): background named sessions per chat and topic.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One named session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedSessionRecord {
    /// Generated name, e.g. `firmowl`.
    pub name: String,
    /// Chat the session belongs to.
    #[serde(with = "crate::state::fields::chat_id")]
    pub chat_id: i64,
    /// Provider it runs on.
    #[serde(default)]
    pub provider: String,
    /// Model it runs on.
    #[serde(default)]
    pub model: String,
    /// CLI session id to resume.
    #[serde(default)]
    pub session_id: String,
    /// First 60 characters of the first prompt.
    #[serde(default)]
    pub prompt_preview: String,
    /// `running`, `idle` or `ended`.
    #[serde(default = "idle")]
    pub status: String,
    /// Creation time (Unix seconds).
    #[serde(default)]
    pub created_at: f64,
    /// Turns run.
    #[serde(default)]
    pub message_count: u64,
    /// Last prompt (≤ 4000 characters), re-run after a restart.
    #[serde(default)]
    pub last_prompt: String,
    /// Transport tag.
    #[serde(default = "tg")]
    pub transport: String,
    /// Reasoning effort.
    #[serde(default)]
    pub reasoning_effort: Option<String>,
    /// Forum topic (sessions are keyed by chat and topic).
    #[serde(default)]
    pub topic_id: Option<i64>,
    /// Keys this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn idle() -> String {
    "idle".into()
}
fn tg() -> String {
    "tg".into()
}

super::list_file!(
    /// The whole `named_sessions.json`.
    NamedSessionsFile,
    "sessions",
    NamedSessionRecord
);
