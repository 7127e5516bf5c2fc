//! The `matrix` block of `config.json` (or of a sub-agent's entry in `agents.json`),
//! read forgivingly: a missing or ill-typed key takes its default. What cannot work
//! (no homeserver, no user, nothing to log in with) is one sentence from
//! [`MatrixSettings::problem`].

use crate::secret::Secret;
use serde_json::Value;
use std::time::Duration;

/// Default `max_edits_per_message`: edits of one message before the answer goes on
/// in a new one (about a thousand edits of one event break room loading in clients).
pub const DEFAULT_MAX_EDITS: u32 = 60;
/// Default `edit_interval_seconds`: Synapse's default message limit is one event
/// every 5 s after a burst of 10, so live edits are spaced wider than on Telegram.
pub const DEFAULT_EDIT_INTERVAL: Duration = Duration::from_secs(3);

/// How answers stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamStyle {
    /// One message edited in place (`m.replace`), the default.
    Edit,
    /// The original's segments: each piece a new message, never edited.
    Segment,
}

/// The Matrix settings of one agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatrixSettings {
    /// `homeserver`: base URL (`https://matrix.org`).
    pub homeserver: String,
    /// `user_id`: the bot's account (`@bot:example.org`).
    pub user_id: String,
    /// `password`: logs in when nothing stored or configured works.
    pub password: Secret,
    /// `access_token` (with `device_id`): an existing login to restore.
    pub access_token: Secret,
    /// `device_id` of that login.
    pub device_id: String,
    /// `allowed_rooms`: room ids and aliases served (empty: rooms are not restricted).
    pub allowed_rooms: Vec<String>,
    /// `allowed_users`: user ids allowed to talk to the bot (empty: anyone in an
    /// allowed room).
    pub allowed_users: Vec<String>,
    /// `store_path`: the session and crypto store, relative to the agent's home.
    pub store_path: String,
    /// `streaming`: `edit` (default) or `segment`.
    pub streaming: StreamStyle,
    /// `max_edits_per_message`.
    pub max_edits: u32,
    /// `edit_interval_seconds`: the shortest time between two live edits.
    pub edit_interval: Duration,
}

impl MatrixSettings {
    /// Parses the `matrix` block.
    pub fn from_config(block: &Value) -> Self {
        let text = |key: &str| {
            block
                .get(key)
                .and_then(Value::as_str)
                .map(str::trim)
                .unwrap_or_default()
                .to_owned()
        };
        let list = |key: &str| -> Vec<String> {
            block
                .get(key)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let streaming = match block.get("streaming").and_then(Value::as_str) {
            Some("segment" | "segments") => StreamStyle::Segment,
            _ => StreamStyle::Edit,
        };
        let max_edits = block
            .get("max_edits_per_message")
            .and_then(Value::as_u64)
            .filter(|n| *n > 0)
            .map_or(DEFAULT_MAX_EDITS, |n| {
                u32::try_from(n.min(1000)).unwrap_or(DEFAULT_MAX_EDITS)
            });
        let edit_interval = block
            .get("edit_interval_seconds")
            .and_then(Value::as_f64)
            .filter(|s| s.is_finite() && *s >= 0.5 && *s <= 600.0)
            .map_or(DEFAULT_EDIT_INTERVAL, Duration::from_secs_f64);
        Self {
            homeserver: text("homeserver").trim_end_matches('/').to_owned(),
            user_id: text("user_id"),
            password: Secret::new(text("password")),
            access_token: Secret::new(text("access_token")),
            device_id: text("device_id"),
            allowed_rooms: list("allowed_rooms"),
            allowed_users: list("allowed_users"),
            store_path: match text("store_path") {
                s if s.is_empty() => "matrix_store".to_owned(),
                s => s,
            },
            streaming,
            max_edits,
            edit_interval,
        }
    }

    /// The config keys that still need a value (for "configured" checks).
    pub fn missing_keys(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if self.homeserver.is_empty() {
            missing.push("matrix.homeserver");
        }
        if self.user_id.is_empty() {
            missing.push("matrix.user_id");
        }
        if self.password.is_empty() && self.access_token.is_empty() {
            missing.push("matrix.password");
        }
        missing
    }

    /// Why these settings cannot work, in one sentence (`None`: they may).
    pub fn problem(&self) -> Option<String> {
        if !self.missing_keys().is_empty() {
            return Some(format!(
                "Matrix is not configured: set {} in the `matrix` block of config.json",
                self.missing_keys().join(", ")
            ));
        }
        if !self.homeserver.starts_with("http://") && !self.homeserver.starts_with("https://") {
            return Some(format!(
                "matrix.homeserver must be a URL starting with https:// (got {:?})",
                self.homeserver
            ));
        }
        if !self.user_id.starts_with('@') || !self.user_id.contains(':') {
            return Some(format!(
                "matrix.user_id must look like @bot:example.org (got {:?})",
                self.user_id
            ));
        }
        None
    }

    /// Whether `user` may talk to the bot (an empty list allows everyone).
    pub fn user_allowed(&self, user: &str) -> bool {
        self.allowed_users.is_empty() || self.allowed_users.iter().any(|u| u == user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_and_forgiving_values() {
        let s = MatrixSettings::from_config(&json!({
            "homeserver": "https://hs.example/ ", "user_id": "@bot:hs.example",
            "password": "pw", "allowed_rooms": ["!a:hs", 3, " "], "streaming": "segment",
            "max_edits_per_message": 0, "edit_interval_seconds": "fast"
        }));
        assert_eq!(s.homeserver, "https://hs.example");
        assert_eq!(s.allowed_rooms, vec!["!a:hs".to_owned()]);
        assert_eq!(s.streaming, StreamStyle::Segment);
        assert_eq!(s.max_edits, DEFAULT_MAX_EDITS);
        assert_eq!(s.edit_interval, DEFAULT_EDIT_INTERVAL);
        assert_eq!(s.store_path, "matrix_store");
        assert!(s.problem().is_none());
        assert!(s.user_allowed("@anyone:x"));
    }

    #[test]
    fn what_is_missing_is_named() {
        let s = MatrixSettings::from_config(&json!({"homeserver": "hs.example"}));
        assert_eq!(s.missing_keys(), vec!["matrix.user_id", "matrix.password"]);
        let s = MatrixSettings::from_config(
            &json!({"homeserver": "hs.example", "user_id": "@b:x", "access_token": "t"}),
        );
        assert!(s.problem().unwrap().contains("https://"));
        let s = MatrixSettings::from_config(&json!(null));
        assert!(s.problem().unwrap().contains("matrix.homeserver"));
    }
}
