//! `inflight_turns.json` (§1.8): foreground turns in progress, keyed by chat **and
//! topic** (`<chat_id>` or `<chat_id>:<topic_id>`), so a restart can tell each
//! conversation that its turn was interrupted.

use super::Lenient;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One turn that was running.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InflightTurn {
    /// Chat id.
    #[serde(with = "crate::state::fields::chat_id")]
    pub chat_id: i64,
    /// Forum topic id.
    #[serde(default)]
    pub topic_id: Option<i64>,
    /// Transport tag.
    #[serde(default = "tg")]
    pub transport: String,
    /// Provider the turn ran on.
    #[serde(default)]
    pub provider: String,
    /// Model the turn ran on.
    #[serde(default)]
    pub model: String,
    /// Session id the turn resumed (empty for a new session).
    #[serde(default)]
    pub session_id: String,
    /// First 100 characters of the prompt.
    #[serde(default)]
    pub prompt_preview: String,
    /// The full prompt, so "Retry" can re-run it.
    #[serde(default)]
    pub prompt: String,
    /// The user's message (reply target): a number for Telegram, as the original wrote it.
    #[serde(default)]
    pub message_id: Option<crate::address::MessageRef>,
    /// Start time (ISO 8601).
    #[serde(default)]
    pub started_at: String,
    /// Whether this turn was itself a recovery.
    #[serde(default)]
    pub is_recovery: bool,
    /// Turn path (`normal`).
    #[serde(default)]
    pub path: String,
    /// Keys this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn tg() -> String {
    "tg".into()
}

/// The whole `inflight_turns.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InflightFile {
    /// Conversation key → turn.
    #[serde(default)]
    pub turns: BTreeMap<String, Lenient<InflightTurn>>,
}
