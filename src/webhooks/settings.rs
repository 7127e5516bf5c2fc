//! The `webhooks` block of `config.json`, parsed forgivingly: a missing or
//! ill-typed key falls back to its default, so a hand-edited config never stops
//! the server from starting.

use crate::secret::Secret;
use serde_json::Value;

/// Default `host`.
pub const DEFAULT_HOST: &str = "127.0.0.1";
/// Default `port`.
pub const DEFAULT_PORT: u16 = 8742;
/// Default `max_body_bytes` (256 KiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 262_144;
/// Default `rate_limit_per_minute` (per hook).
pub const DEFAULT_RATE_LIMIT_PER_MINUTE: u32 = 30;

/// The server's settings, read from the config at every request (the config can
/// change while the server runs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    /// `enabled`: whether the server should run at all (default false).
    pub enabled: bool,
    /// `host` to bind (default `127.0.0.1`).
    pub host: String,
    /// `port` to bind (default 8742).
    pub port: u16,
    /// `token`: the global bearer token, used by bearer hooks without their own.
    pub token: Secret,
    /// `max_body_bytes`: larger bodies get 413 (default 262144; 0 or invalid → default).
    pub max_body_bytes: usize,
    /// `rate_limit_per_minute`: accepted calls per hook in any 60 s window (default 30;
    /// 0 or invalid → default). Each client address may make twice as many in total.
    pub rate_limit_per_minute: u32,
    /// `trust_forwarded_for`: behind a local reverse proxy or tunnel that sets
    /// `X-Forwarded-For`, take the caller's address from it (default false: the
    /// header is anyone's to write, so it is ignored).
    pub trust_forwarded_for: bool,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            host: DEFAULT_HOST.to_owned(),
            port: DEFAULT_PORT,
            token: Secret::default(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            rate_limit_per_minute: DEFAULT_RATE_LIMIT_PER_MINUTE,
            trust_forwarded_for: false,
        }
    }
}

impl WebhookSettings {
    /// Parses the `webhooks` config block (not the whole config). Anything missing,
    /// of the wrong type or out of range takes its default.
    pub fn from_config(block: &Value) -> Self {
        let d = Self::default();
        let positive = |key: &str| block.get(key).and_then(Value::as_u64).filter(|n| *n > 0);
        Self {
            enabled: block
                .get("enabled")
                .and_then(Value::as_bool)
                .unwrap_or(d.enabled),
            host: block
                .get("host")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|h| !h.is_empty())
                .map_or(d.host, str::to_owned),
            port: positive("port")
                .and_then(|p| u16::try_from(p).ok())
                .unwrap_or(d.port),
            token: Secret::new(
                block
                    .get("token")
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .unwrap_or_default(),
            ),
            max_body_bytes: positive("max_body_bytes")
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(d.max_body_bytes),
            rate_limit_per_minute: positive("rate_limit_per_minute")
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(d.rate_limit_per_minute),
            trust_forwarded_for: block
                .get("trust_forwarded_for")
                .and_then(Value::as_bool)
                .unwrap_or(d.trust_forwarded_for),
        }
    }

    /// Accepted calls per client address in any 60 s window, over all hooks.
    pub fn client_limit_per_minute(&self) -> u32 {
        self.rate_limit_per_minute.saturating_mul(2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_match_the_shipped_config() {
        let shipped = json!({
            "enabled": false, "host": "127.0.0.1", "port": 8742, "token": "",
            "max_body_bytes": 262_144, "rate_limit_per_minute": 30
        });
        assert_eq!(
            WebhookSettings::from_config(&shipped),
            WebhookSettings::default()
        );
        assert_eq!(
            WebhookSettings::from_config(&Value::Null),
            WebhookSettings::default()
        );
    }

    #[test]
    fn values_are_read_and_bad_ones_fall_back() {
        let s = WebhookSettings::from_config(&json!({
            "enabled": true, "host": " 0.0.0.0 ", "port": 9000, "token": " abc ",
            "max_body_bytes": 1024, "rate_limit_per_minute": 5
        }));
        assert!(s.enabled);
        assert_eq!(s.host, "0.0.0.0");
        assert_eq!(s.port, 9000);
        assert_eq!(s.token.expose(), "abc");
        assert_eq!((s.max_body_bytes, s.rate_limit_per_minute), (1024, 5));
        assert_eq!(s.client_limit_per_minute(), 10);

        let bad = WebhookSettings::from_config(&json!({
            "enabled": "yes", "host": "", "port": 70_000, "token": 5,
            "max_body_bytes": -1, "rate_limit_per_minute": 0
        }));
        assert_eq!(bad, WebhookSettings::default());
        let text = WebhookSettings::from_config(&json!({"rate_limit_per_minute": "9"}));
        assert_eq!(text.rate_limit_per_minute, DEFAULT_RATE_LIMIT_PER_MINUTE);
    }
}
