//! The `heartbeat` block (§8.4) as ductor uses it. The block stays raw JSON in the
//! config (the original's file is kept as written); this is its checked view. Bad
//! values fall back to the defaults with a warning instead of stopping the agent.

use crate::address::Address;
use crate::config::AgentConfig;
use serde_json::Value;
use std::time::Duration;

/// The heartbeat settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Whether heartbeats run.
    pub enabled: bool,
    /// Time between two heartbeats.
    pub interval: Duration,
    /// A conversation active more recently than this is left alone.
    pub cooldown: Duration,
    /// Quiet hours (start, end) in the user's timezone; no heartbeat inside.
    pub quiet: (u32, u32),
    /// What the agent is asked.
    pub prompt: String,
    /// An answer that is only this token is not posted.
    pub ack: String,
    /// Group chats that get heartbeats too (the enabled entries with a chat).
    pub groups: Vec<GroupTarget>,
}

/// One entry of `group_targets`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupTarget {
    /// The conversation.
    pub address: Address,
    /// Its own prompt.
    pub prompt: Option<String>,
    /// Its own ack token.
    pub ack: Option<String>,
    /// Its own interval: the target then has its own cadence.
    pub interval: Option<Duration>,
    /// Its own quiet hours.
    pub quiet: Option<(u32, u32)>,
}

impl GroupTarget {
    /// Its prompt.
    pub fn prompt<'a>(&'a self, s: &'a Settings) -> &'a str {
        self.prompt.as_deref().unwrap_or(&s.prompt)
    }
    /// Its ack token.
    pub fn ack<'a>(&'a self, s: &'a Settings) -> &'a str {
        self.ack.as_deref().unwrap_or(&s.ack)
    }
    /// Its quiet hours.
    pub fn quiet(&self, s: &Settings) -> (u32, u32) {
        self.quiet.unwrap_or(s.quiet)
    }
}

/// A number of minutes; fractions down to 0.05 (3 s, for tests and impatient people).
fn minutes(v: &Value, key: &str, default: u64) -> Duration {
    match &v[key] {
        Value::Null => Duration::from_mins(default),
        x => x
            .as_f64()
            .filter(|n| *n >= 0.05 && n.is_finite())
            .map_or_else(
                || {
                    tracing::warn!(
                        key,
                        "heartbeat: `{key}` is not a number of minutes ≥ 0.05; using {default}"
                    );
                    Duration::from_mins(default)
                },
                |n| Duration::from_secs_f64(n * 60.0),
            ),
    }
}

fn hour(v: &Value, default: u32) -> u32 {
    v.as_u64()
        .filter(|h| *h < 24)
        .and_then(|h| u32::try_from(h).ok())
        .unwrap_or(default)
}

fn text(v: &Value) -> Option<String> {
    v.as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl Settings {
    /// Reads the block of `config`.
    pub fn from_config(config: &AgentConfig) -> Self {
        let v = &config.heartbeat;
        let interval = minutes(v, "interval_minutes", 30);
        let groups = v["group_targets"]
            .as_array()
            .map(|list| list.iter().filter_map(group).collect())
            .unwrap_or_default();
        Self {
            enabled: v["enabled"].as_bool().unwrap_or(false),
            interval,
            cooldown: match &v["cooldown_minutes"] {
                Value::Number(n) if n.as_f64().is_some_and(|n| n == 0.0) => Duration::ZERO,
                _ => minutes(v, "cooldown_minutes", 5),
            },
            quiet: (hour(&v["quiet_start"], 21), hour(&v["quiet_end"], 8)),
            prompt: text(&v["prompt"])
                .unwrap_or_else(|| crate::config::model::HEARTBEAT_PROMPT.to_owned()),
            ack: text(&v["ack_token"]).unwrap_or_else(|| "HEARTBEAT_OK".into()),
            groups,
        }
    }
}

/// An enabled `group_targets` entry with a chat; others are skipped.
fn group(v: &Value) -> Option<GroupTarget> {
    if !v["enabled"].as_bool().unwrap_or(true) {
        return None;
    }
    let chat = v["chat_id"].as_i64()?;
    let transport = match v["transport"].as_str().unwrap_or("tg") {
        "telegram" => crate::address::TELEGRAM.to_owned(),
        other => other.to_owned(),
    };
    let quiet = match (v["quiet_start"].as_u64(), v["quiet_end"].as_u64()) {
        (Some(_), Some(_)) => Some((hour(&v["quiet_start"], 21), hour(&v["quiet_end"], 8))),
        _ => None,
    };
    Some(GroupTarget {
        address: Address::new(&transport, chat, v["topic_id"].as_i64()),
        prompt: text(&v["prompt"]),
        ack: text(&v["ack_token"]),
        interval: (!v["interval_minutes"].is_null()).then(|| minutes(v, "interval_minutes", 30)),
        quiet,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_are_the_originals_and_placeholders_are_skipped() {
        let s = Settings::from_config(&AgentConfig::default());
        assert!(!s.enabled);
        assert_eq!(s.interval, Duration::from_mins(30));
        assert_eq!(s.cooldown, Duration::from_mins(5));
        assert_eq!(s.quiet, (21, 8));
        assert_eq!(s.ack, "HEARTBEAT_OK");
        assert!(s.prompt.contains("HEARTBEAT_OK"));
        assert!(s.groups.is_empty(), "the disabled placeholder is no target");
    }

    #[test]
    fn groups_and_bad_values() {
        let config = AgentConfig {
            heartbeat: json!({
            "enabled": true, "interval_minutes": "often", "cooldown_minutes": 0,
            "quiet_start": 30, "quiet_end": 6,
            "group_targets": [
                {"chat_id": -100, "topic_id": 4, "interval_minutes": 60, "ack_token": "OK",
                 "quiet_start": 22, "quiet_end": 7},
                {"enabled": false, "chat_id": -200},
                {"prompt": "no chat"},
                {"chat_id": -300, "transport": "mx"}
            ]
            }),
            ..AgentConfig::default()
        };
        let s = Settings::from_config(&config);
        assert!(s.enabled);
        assert_eq!(
            s.interval,
            Duration::from_mins(30),
            "a bad interval falls back"
        );
        assert_eq!(s.cooldown, Duration::ZERO);
        assert_eq!(s.quiet, (21, 6));
        assert_eq!(s.groups.len(), 2);
        let g = &s.groups[0];
        assert_eq!(g.address, Address::new("tg", -100, Some(4)));
        assert_eq!(g.interval, Some(Duration::from_hours(1)));
        assert_eq!((g.ack(&s), g.quiet(&s)), ("OK", (22, 7)));
        assert_eq!(s.groups[1].address.transport, "mx");
        assert_eq!(s.groups[1].prompt(&s), s.prompt);
    }
}
