//! `chat_activity.json` (§4.8): chats the bot has seen, for `/where`.

use super::Lenient;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One tracked chat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatActivityRecord {
    /// Chat id.
    pub chat_id: i64,
    /// `private`, `group`, `supergroup` or `channel`.
    #[serde(default)]
    pub chat_type: String,
    /// Chat title or user name.
    #[serde(default)]
    pub title: String,
    /// First time seen (ISO 8601).
    #[serde(default)]
    pub first_seen: String,
    /// Last time seen (ISO 8601).
    #[serde(default)]
    pub last_seen: String,
    /// `active`, `left`, `kicked`, `auto_left` or `rejected`.
    #[serde(default)]
    pub status: String,
    /// Whether the chat is allowed by the config.
    #[serde(default)]
    pub allowed: bool,
    /// Messages rejected from this chat.
    #[serde(default)]
    pub rejected_count: u64,
    /// Keys this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The whole `chat_activity.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatActivityFile {
    /// Chat id (as string) → record.
    #[serde(default)]
    pub records: BTreeMap<String, Lenient<ChatActivityRecord>>,
    /// Top-level keys this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
