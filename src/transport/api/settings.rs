//! The `api` block of `config.json`, read forgivingly: a missing or ill-typed key
//! takes its default, so a hand-edited config never stops the agent. Read live from
//! the agent's config at every use ([`super::ApiContext::settings`]); only `enabled`,
//! `host`, `port`, `allow_public` and `web_ui` are fixed while the server runs.

use crate::secret::Secret;
use serde_json::Value;
use subtle::ConstantTimeEq;

/// Default `host`: loopback only (the original listened on every interface).
pub const DEFAULT_HOST: &str = "127.0.0.1";
/// Default `port`.
pub const DEFAULT_PORT: u16 = 8741;
/// Default `max_connections`: open `WebSocket`s at once.
pub const DEFAULT_MAX_CONNECTIONS: usize = 32;
/// Default `max_upload_bytes` (50 MiB, the original's `client_max_size`).
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 50 * 1024 * 1024;
/// Default `messages_per_minute`: `message` and `action` frames one connection may
/// send in any 60 s window.
pub const DEFAULT_MESSAGES_PER_MINUTE: u32 = 30;

/// The API's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiSettings {
    /// `enabled`: whether the main agent runs the API (default false).
    pub enabled: bool,
    /// `host` to bind (default `127.0.0.1`).
    pub host: String,
    /// `port` to bind (default 8741; 0 picks a free port, written to `run/api.port`).
    pub port: u16,
    /// `token`: the shared bearer token of `/ws`, `/files` and `/upload`
    /// (generated and saved at start when empty; an empty token refuses everyone).
    pub token: Secret,
    /// `allow_public`: a host that is not loopback is refused unless this is true.
    pub allow_public: bool,
    /// `chat_id`: the chat of a client that names none (0 → the first allowed user
    /// id, or 1 when there is none).
    pub chat_id: i64,
    /// `web_ui`: serve the browser chat page at `GET /` (default true).
    pub web_ui: bool,
    /// `max_connections`: open `WebSocket`s at once; more are refused with 503
    /// (default 32; 0 or invalid → default).
    pub max_connections: usize,
    /// `max_upload_bytes`: larger uploads get 413 (default 50 MiB; 0 or invalid →
    /// default).
    pub max_upload_bytes: u64,
    /// `messages_per_minute`: `message`/`action` frames per connection in any 60 s
    /// window; more get the error `rate_limited` (default 30; 0 or invalid → default).
    pub messages_per_minute: u32,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            host: DEFAULT_HOST.to_owned(),
            port: DEFAULT_PORT,
            token: Secret::default(),
            allow_public: false,
            chat_id: 0,
            web_ui: true,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            messages_per_minute: DEFAULT_MESSAGES_PER_MINUTE,
        }
    }
}

impl ApiSettings {
    /// Parses the `api` config block (not the whole config). Anything missing, of
    /// the wrong type or out of range takes its default.
    pub fn from_config(block: &Value) -> Self {
        let d = Self::default();
        let flag =
            |key: &str, default: bool| block.get(key).and_then(Value::as_bool).unwrap_or(default);
        let positive = |key: &str| block.get(key).and_then(Value::as_u64).filter(|n| *n > 0);
        Self {
            enabled: flag("enabled", d.enabled),
            host: block
                .get("host")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|h| !h.is_empty())
                .map_or(d.host, str::to_owned),
            port: block
                .get("port")
                .and_then(Value::as_u64)
                .and_then(|p| u16::try_from(p).ok())
                .unwrap_or(d.port),
            token: Secret::new(
                block
                    .get("token")
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .unwrap_or_default(),
            ),
            allow_public: flag("allow_public", d.allow_public),
            chat_id: block
                .get("chat_id")
                .and_then(Value::as_i64)
                .filter(|c| *c >= 0)
                .unwrap_or(d.chat_id),
            web_ui: flag("web_ui", d.web_ui),
            max_connections: positive("max_connections")
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(d.max_connections),
            max_upload_bytes: positive("max_upload_bytes").unwrap_or(d.max_upload_bytes),
            messages_per_minute: positive("messages_per_minute")
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(d.messages_per_minute),
        }
    }

    /// Whether `token` is the API token (constant time; an empty token matches
    /// nothing).
    pub fn token_ok(&self, token: &str) -> bool {
        use sha2::Digest;
        let want = self.token.expose().as_bytes();
        // Digests of equal length: the compare leaks neither content nor length.
        let (a, b) = (
            sha2::Sha256::digest(want),
            sha2::Sha256::digest(token.trim().as_bytes()),
        );
        !want.is_empty() && bool::from(a.as_slice().ct_eq(b.as_slice()))
    }

    /// Why the token must not be used, if so: a copied example value or one too
    /// short to resist guessing (any web page the user visits can try tokens on a
    /// loopback port).
    pub fn weak_token(&self) -> Option<&'static str> {
        let t = self.token.expose().trim();
        if t.is_empty() {
            Some("no token is set")
        } else if t.to_ascii_uppercase().starts_with("YOUR_") {
            Some("the token is the example's placeholder")
        } else if t.len() < 16 {
            Some("the token is shorter than 16 characters")
        } else {
            None
        }
    }

    /// The chat of a client that names none: `chat_id`, else the first of
    /// `allowed_user_ids`, else 1.
    pub fn default_chat(&self, allowed_user_ids: &[i64]) -> i64 {
        if self.chat_id > 0 {
            return self.chat_id;
        }
        allowed_user_ids
            .first()
            .copied()
            .filter(|u| *u > 0)
            .unwrap_or(1)
    }
}

/// Whether an `Authorization` header value is `Bearer <api token>` (constant-time
/// comparison of the token; an empty configured token refuses every request).
pub fn bearer_ok(settings: &ApiSettings, header: Option<&str>) -> bool {
    let Some(value) = header.map(str::trim) else {
        return false;
    };
    let Some((scheme, token)) = value.split_once(' ') else {
        return false;
    };
    scheme.eq_ignore_ascii_case("bearer") && settings.token_ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn placeholder_and_short_tokens_are_weak_and_compares_ignore_length() {
        let with = |t: &str| ApiSettings::from_config(&json!({ "token": t }));
        assert!(with("").weak_token().is_some());
        assert!(with("YOUR_API_TOKEN").weak_token().is_some());
        assert!(with("short-token").weak_token().is_some());
        let good = with("Xq3v-9fPz_0aLk2mW8rT");
        assert_eq!(good.weak_token(), None);
        assert!(good.token_ok("Xq3v-9fPz_0aLk2mW8rT"));
        assert!(!good.token_ok("Xq3v"), "a prefix is no match");
        assert!(!good.token_ok("Xq3v-9fPz_0aLk2mW8rT-and-more"));
        assert!(!with("").token_ok(""), "an empty token matches nothing");
    }

    #[test]
    fn missing_and_bad_values_take_their_defaults() {
        assert_eq!(
            ApiSettings::from_config(&Value::Null),
            ApiSettings::default()
        );
        let shipped = json!({
            "enabled": false, "host": "127.0.0.1", "port": 8741, "token": "",
            "chat_id": 0, "allow_public": false, "web_ui": true, "max_connections": 32
        });
        assert_eq!(
            &shipped,
            &crate::config::AgentConfig::default().api,
            "the shipped block"
        );
        assert_eq!(ApiSettings::from_config(&shipped), ApiSettings::default());
        let bad = ApiSettings::from_config(&json!({
            "enabled": "yes", "host": " ", "port": 70_000, "token": 5, "chat_id": -3,
            "allow_public": 1, "web_ui": "no", "max_connections": 0,
            "max_upload_bytes": -1, "messages_per_minute": "9"
        }));
        assert_eq!(bad, ApiSettings::default());
    }

    #[test]
    fn values_are_read() {
        let s = ApiSettings::from_config(&json!({
            "enabled": true, "host": " 0.0.0.0 ", "port": 0, "token": " tok ",
            "chat_id": 77, "allow_public": true, "web_ui": false, "max_connections": 3,
            "max_upload_bytes": 1024, "messages_per_minute": 5
        }));
        assert!(s.enabled && s.allow_public && !s.web_ui);
        assert_eq!((s.host.as_str(), s.port, s.chat_id), ("0.0.0.0", 0, 77));
        assert_eq!(s.token.expose(), "tok");
        assert_eq!(
            (s.max_connections, s.max_upload_bytes, s.messages_per_minute),
            (3, 1024, 5)
        );
        assert_eq!(s.default_chat(&[9]), 77);
        let none = ApiSettings::default();
        assert_eq!(none.default_chat(&[9, 10]), 9);
        assert_eq!(none.default_chat(&[]), 1);
    }

    #[test]
    fn bearer_needs_the_exact_token() {
        let s = ApiSettings::from_config(&json!({"token": "s3cret"}));
        assert!(bearer_ok(&s, Some("Bearer s3cret")));
        assert!(bearer_ok(&s, Some("bearer s3cret ")));
        for bad in [
            None,
            Some(""),
            Some("s3cret"),
            Some("Bearer s3cre"),
            Some("Bearer s3cretx"),
            Some("Basic s3cret"),
        ] {
            assert!(!bearer_ok(&s, bad), "{bad:?}");
        }
        let empty = ApiSettings::default();
        assert!(!bearer_ok(&empty, Some("Bearer ")));
        assert!(!bearer_ok(&empty, Some("Bearer x")));
        assert!(!empty.token_ok(""));
    }
}
