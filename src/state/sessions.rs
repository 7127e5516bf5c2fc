//! `sessions.json` (§4.1): one record per (transport, chat, topic), each with a
//! resume bucket per provider. Reads the original's file including legacy shapes
//! (keys without transport prefix, flat `session_id`/`message_count` fields).

use super::Lenient;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub use crate::address::Address as SessionKey;

/// One provider's resume state inside a session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProviderBucket {
    /// CLI session id to resume (empty = next turn starts fresh).
    #[serde(default)]
    pub session_id: String,
    /// Turns run in this CLI session.
    #[serde(default)]
    pub message_count: u64,
    /// Accumulated cost in US dollars.
    #[serde(default)]
    pub total_cost_usd: f64,
    /// Accumulated tokens.
    #[serde(default)]
    pub total_tokens: u64,
    /// When this CLI session began (ISO 8601; ductor's addition, which the original
    /// ignores). Missing in older files: the record's `created_at` stands in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// Keys this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One conversation's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// Transport tag (`tg` when missing, as in legacy files).
    #[serde(default = "tg")]
    pub transport: String,
    /// Chat id.
    #[serde(with = "crate::state::fields::chat_id")]
    pub chat_id: i64,
    /// Forum topic id.
    #[serde(default)]
    pub topic_id: Option<i64>,
    /// Cached forum topic name.
    #[serde(default)]
    pub topic_name: Option<String>,
    /// Active provider of this conversation.
    #[serde(default)]
    pub provider: String,
    /// Active model.
    #[serde(default)]
    pub model: String,
    /// Reasoning effort of this conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<String>,
    /// Creation time (ISO 8601).
    #[serde(default)]
    pub created_at: String,
    /// Last activity (ISO 8601).
    #[serde(default)]
    pub last_active: String,
    /// Resume state per provider.
    #[serde(default)]
    pub provider_sessions: BTreeMap<String, ProviderBucket>,
    /// Keys this version does not know (legacy flat fields are migrated out first).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn tg() -> String {
    "tg".into()
}

impl SessionRecord {
    /// Moves legacy flat fields (`session_id`, `message_count`, `total_cost_usd`,
    /// `total_tokens`) into `provider_sessions[provider]`. Returns whether it did.
    pub fn migrate_legacy(&mut self) -> bool {
        let flat = [
            "session_id",
            "message_count",
            "total_cost_usd",
            "total_tokens",
        ];
        if !flat.iter().any(|k| self.extra.contains_key(*k)) {
            return false;
        }
        let mut legacy = Map::new();
        for key in flat {
            if let Some(v) = self.extra.remove(key) {
                legacy.insert(key.into(), v);
            }
        }
        let provider = if self.provider.is_empty() {
            "claude".to_owned()
        } else {
            self.provider.clone()
        };
        if let Ok(bucket) = serde_json::from_value::<ProviderBucket>(Value::Object(legacy)) {
            let has_history = !bucket.session_id.is_empty() || bucket.message_count > 0;
            if has_history {
                self.provider_sessions.entry(provider).or_insert(bucket);
            }
        }
        true
    }
}

/// The whole file: storage key → record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionsFile(pub BTreeMap<String, Lenient<SessionRecord>>);

impl SessionsFile {
    /// Migrates legacy keys and flat fields in place; returns whether anything changed.
    pub fn migrate(&mut self) -> bool {
        let mut changed = false;
        let old = std::mem::take(&mut self.0);
        for (key, mut record) in old {
            let new_key = match (&mut record, SessionKey::parse(&key)) {
                (Lenient::Ok(rec), Some(parsed)) => {
                    changed |= rec.migrate_legacy();
                    let canonical = SessionKey {
                        transport: rec.transport.clone(),
                        chat_id: parsed.chat_id,
                        topic_id: parsed.topic_id,
                    };
                    canonical.to_string()
                }
                _ => key.clone(),
            };
            changed |= new_key != key;
            self.0.insert(new_key, record);
        }
        changed
    }

    /// The record of `key`, if present and readable.
    pub fn get(&self, key: &SessionKey) -> Option<&SessionRecord> {
        self.0.get(&key.to_string()).and_then(Lenient::ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn legacy_file_is_migrated() {
        let legacy = json!({
            "123": {"chat_id": 123, "provider": "codex", "model": "gpt-5.5",
                     "session_id": "abc", "message_count": 3, "total_cost_usd": 0.5,
                     "total_tokens": 10, "created_at": "x", "last_active": "y"},
            "-100:7": {"chat_id": -100, "topic_id": 7, "provider": "claude", "model": "opus"}
        });
        let mut file: SessionsFile = serde_json::from_value(legacy).unwrap();
        assert!(file.migrate());
        let rec = file.get(&SessionKey::new("tg", 123, None)).unwrap();
        assert_eq!(rec.provider_sessions["codex"].session_id, "abc");
        assert_eq!(rec.provider_sessions["codex"].message_count, 3);
        assert!(rec.extra.is_empty());
        assert!(file.get(&SessionKey::new("tg", -100, Some(7))).is_some());
        assert!(!file.migrate(), "second migration is a no-op");
    }

    #[test]
    fn unreadable_record_is_kept_verbatim() {
        let doc = json!({"tg:1": {"chat_id": "not a number"}, "tg:2": {"chat_id": 2}});
        let file: SessionsFile = serde_json::from_value(doc.clone()).unwrap();
        assert!(matches!(file.0["tg:1"], Lenient::Raw(_)));
        assert_eq!(serde_json::to_value(&file).unwrap()["tg:1"], doc["tg:1"]);
    }
}
