//! Neutral addressing: where a conversation lives ([`Address`]: transport, chat,
//! topic), a message inside it ([`MessageRef`], opaque to the core), and where a
//! background delivery goes ([`Destination`]: a chat, or the agent's primary chat,
//! which the transport owning it resolves through the [`Directory`]).
//!
//! The textual form of an address is the storage key of the state files
//! (`tg:123`, `tg:-100123:45`, legacy `123` / `-100123:45` for Telegram), so these
//! types serialise exactly as the original's files expect.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Transport tag of Telegram (the default of every file that predates transports).
pub const TELEGRAM: &str = "tg";

/// Transport tag of Matrix. Its chat ids are the original's unsigned 64-bit room
/// hashes: stored here bit for bit as `i64`, written and read in their unsigned
/// decimal form, so the original's keys (`mx:14755094187211213593`) stay valid.
pub const MATRIX: &str = "mx";

/// A chat id in its text form for `transport` (unsigned for Matrix).
pub fn chat_id_text(transport: &str, chat_id: i64) -> String {
    if transport == MATRIX {
        chat_id.cast_unsigned().to_string()
    } else {
        chat_id.to_string()
    }
}

/// Parses a chat id: a signed number, or (as the original's Matrix ids) an unsigned
/// one above `i64::MAX`, kept bit for bit.
pub fn parse_chat_id(text: &str) -> Option<i64> {
    text.parse::<i64>()
        .ok()
        .or_else(|| text.parse::<u64>().ok().map(u64::cast_signed))
}

/// A conversation: transport, chat and optional topic (a Telegram forum topic).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    /// Short transport tag (`tg`, `mx`, `api`, ...).
    pub transport: String,
    /// Chat id (negative for Telegram groups; a mapped id elsewhere).
    pub chat_id: i64,
    /// Topic id, when the conversation is a topic.
    pub topic_id: Option<i64>,
}

impl Address {
    /// The address of `chat_id`/`topic_id` on `transport`.
    pub fn new(transport: &str, chat_id: i64, topic_id: Option<i64>) -> Self {
        Self {
            transport: transport.to_owned(),
            chat_id,
            topic_id,
        }
    }

    /// The same chat without its topic.
    #[must_use]
    pub fn chat(&self) -> Self {
        Self::new(&self.transport, self.chat_id, None)
    }

    /// Whether `other` is in the same chat (any topic) of the same transport.
    pub fn same_chat(&self, other: &Address) -> bool {
        self.transport == other.transport && self.chat_id == other.chat_id
    }

    /// Parses a storage key: `tg:123`, `tg:123:45`, or the legacy `123` / `-100123:45`
    /// (Telegram). Returns `None` for anything else.
    pub fn parse(key: &str) -> Option<Self> {
        let parts: Vec<&str> = key.split(':').collect();
        let (transport, rest) = match parts.first()?.parse::<i64>() {
            Ok(_) => (TELEGRAM, &parts[..]),
            Err(_) => (parts[0], &parts[1..]),
        };
        if transport.is_empty() || !transport.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        match rest {
            [chat] => Some(Self::new(transport, parse_chat_id(chat)?, None)),
            [chat, topic] => Some(Self::new(
                transport,
                parse_chat_id(chat)?,
                Some(topic.parse().ok()?),
            )),
            _ => None,
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let chat = chat_id_text(&self.transport, self.chat_id);
        match self.topic_id {
            Some(t) => write!(f, "{}:{chat}:{t}", self.transport),
            None => write!(f, "{}:{chat}", self.transport),
        }
    }
}

impl Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("not a conversation key: {text:?}")))
    }
}

/// A message inside a chat, as its transport names it (a Telegram message id, a
/// Matrix event id). The core only stores and hands it back.
///
/// Serialised as a JSON number when it is one (the original's `message_id` fields),
/// else as a string; both forms load.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageRef(String);

impl MessageRef {
    /// A reference from the transport's own text form.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The transport's text form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The reference as a number (Telegram message ids), if it is one.
    pub fn as_i64(&self) -> Option<i64> {
        self.0.parse().ok()
    }
}

impl From<i64> for MessageRef {
    fn from(id: i64) -> Self {
        Self(id.to_string())
    }
}

impl fmt::Display for MessageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for MessageRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.as_i64() {
            Some(n) if n.to_string() == self.0 => s.serialize_i64(n),
            _ => s.serialize_str(&self.0),
        }
    }
}

impl<'de> Deserialize<'de> for MessageRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(i64),
            Text(String),
        }
        Ok(match Raw::deserialize(d)? {
            Raw::Number(n) => Self::from(n),
            Raw::Text(t) => Self(t),
        })
    }
}

/// Where a background delivery (a task result, a notice) goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Destination {
    /// This conversation.
    Chat(Address),
    /// The agent's primary chat (resolved when delivered, by the transport that owns it).
    Primary,
}

impl Destination {
    /// A chat, or the primary chat when `address` names no chat (chat id 0, as
    /// written by tools that run outside a conversation).
    pub fn from_address(address: Address) -> Self {
        if address.chat_id == 0 {
            Self::Primary
        } else {
            Self::Chat(address)
        }
    }

    /// The chat, once resolved against `directory`.
    pub fn resolve(&self, directory: &dyn Directory) -> Option<Address> {
        match self {
            Self::Chat(a) => Some(a.clone()),
            Self::Primary => directory.primary(),
        }
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Chat(a) => a.fmt(f),
            Self::Primary => f.write_str("primary"),
        }
    }
}

impl Serialize for Destination {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Destination {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if text == "primary" {
            return Ok(Self::Primary);
        }
        Address::parse(&text)
            .map(Self::from_address)
            .ok_or_else(|| serde::de::Error::custom(format!("not a destination: {text:?}")))
    }
}

/// Which chats the agent's transports serve; answered by the transports themselves
/// (Telegram from its allow lists), so the core never interprets chat ids.
pub trait Directory: Send + Sync + fmt::Debug {
    /// The agent's primary chat: where deliveries without a chat go.
    fn primary(&self) -> Option<Address>;
    /// Whether a transport of this agent serves `address` (its users may be told things there).
    fn serves(&self, address: &Address) -> bool;
    /// The transport tags this agent serves, in order of preference.
    fn transports(&self) -> Vec<String>;

    /// The primary chat, or — when no chat is configured yet — chat 0 of the first
    /// transport, where deliveries wait unseen instead of being lost.
    fn primary_or_none_yet(&self) -> Address {
        self.primary().unwrap_or_else(|| {
            let transport = self.transports().into_iter().next();
            Address::new(transport.as_deref().unwrap_or(TELEGRAM), 0, None)
        })
    }
}

/// The directories of several transports as one: the primary chat is the first
/// transport's that has one.
#[derive(Debug, Default)]
pub struct Directories(pub Vec<std::sync::Arc<dyn Directory>>);

impl Directory for Directories {
    fn primary(&self) -> Option<Address> {
        self.0.iter().find_map(|d| d.primary())
    }

    fn serves(&self, address: &Address) -> bool {
        self.0.iter().any(|d| d.serves(address))
    }

    fn transports(&self) -> Vec<String> {
        self.0.iter().flat_map(|d| d.transports()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_and_roundtrip() {
        for (raw, want) in [
            ("tg:123", "tg:123"),
            ("tg:123:45", "tg:123:45"),
            ("mx:999", "mx:999"),
            ("123", "tg:123"),
            ("-100123:45", "tg:-100123:45"),
        ] {
            assert_eq!(Address::parse(raw).unwrap().to_string(), want, "{raw}");
        }
        assert!(Address::parse("tg:x").is_none());
        assert!(Address::parse("a:b:c:d").is_none());
    }

    #[test]
    fn matrix_ids_above_i64_keep_their_unsigned_form() {
        let a = Address::parse("mx:14755094187211213593").unwrap();
        assert!(a.chat_id < 0, "stored bit for bit");
        assert_eq!(a.to_string(), "mx:14755094187211213593");
        assert_eq!(chat_id_text(MATRIX, a.chat_id), "14755094187211213593");
        assert_eq!(parse_chat_id("14755094187211213593"), Some(a.chat_id));
        assert!(parse_chat_id("18446744073709551616").is_none());
    }

    #[test]
    fn message_refs_keep_numbers_numbers() {
        let n: MessageRef = serde_json::from_str("42").unwrap();
        assert_eq!(n.as_i64(), Some(42));
        assert_eq!(serde_json::to_string(&n).unwrap(), "42");
        let e: MessageRef = serde_json::from_str("\"$ev:matrix.org\"").unwrap();
        assert_eq!(e.as_i64(), None);
        assert_eq!(serde_json::to_string(&e).unwrap(), "\"$ev:matrix.org\"");
        let padded = MessageRef::new("007");
        assert_eq!(serde_json::to_string(&padded).unwrap(), "\"007\"");
    }

    #[test]
    fn destinations_read_the_chat_zero_sentinel_as_primary() {
        let old: Destination = serde_json::from_str("\"tg:0\"").unwrap();
        assert_eq!(old, Destination::Primary);
        assert_eq!(serde_json::to_string(&old).unwrap(), "\"primary\"");
        let chat: Destination = serde_json::from_str("\"tg:5:7\"").unwrap();
        assert_eq!(chat, Destination::Chat(Address::new("tg", 5, Some(7))));
        assert_eq!(serde_json::to_string(&chat).unwrap(), "\"tg:5:7\"");
    }
}
