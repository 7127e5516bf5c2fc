//! Secrets (bot tokens, API keys) in a type that never prints its value.
//!
//! `Debug` and `Display` show `***`; the value is only reachable through
//! [`Secret::expose`], which makes every use greppable.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A string that must not reach logs or error messages.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value. Only call this where the value is sent to its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether no secret is set.
    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("Secret(<empty>)")
        } else {
            f.write_str("Secret(***)")
        }
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self(String::deserialize(deserializer)?))
    }
}

/// Whether `s` looks like a Telegram bot token (`<digits>:<30+ url-safe chars>`).
pub fn looks_like_bot_token(s: &str) -> bool {
    let Some((id, key)) = s.split_once(':') else {
        return false;
    };
    id.len() >= 8
        && id.bytes().all(|b| b.is_ascii_digit())
        && key.len() >= 30
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = Secret::new("123456789:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            "\"123456789:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\""
        );
    }

    #[test]
    fn token_format() {
        assert!(looks_like_bot_token(
            "12345678:ABCDEFGHIJKLMNOPQRSTUVWXYZ_-abcd"
        ));
        assert!(!looks_like_bot_token(
            "1234567:ABCDEFGHIJKLMNOPQRSTUVWXYZ_-abcd"
        ));
        assert!(!looks_like_bot_token("12345678:short"));
        assert!(!looks_like_bot_token("YOUR_TOKEN"));
    }
}
