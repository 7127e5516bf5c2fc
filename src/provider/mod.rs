//! Provider CLIs (`claude`, `codex`, `gemini`): what they are called, how their
//! output is parsed into one [`event::Event`] stream, and how a turn ends.
//!
//! Owns everything provider-specific. Must not know about chats, Telegram or
//! session files: callers hand in a prompt and options and get events back.

pub mod auth;
pub mod command;
pub mod directives;
pub mod discover;
pub mod env;
pub mod event;
pub mod live;
pub mod models;
pub mod parse;
pub mod rules;
pub mod runner;
pub mod shim;

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The provider CLIs ductor can drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// Anthropic's Claude Code (`claude`).
    Claude,
    /// The Codex CLI by `OpenAI` (`codex`).
    Codex,
    /// Google's Gemini CLI (`gemini`).
    Gemini,
}

impl ProviderKind {
    /// All providers, in the order menus show them.
    pub const ALL: [ProviderKind; 3] = [
        ProviderKind::Claude,
        ProviderKind::Codex,
        ProviderKind::Gemini,
    ];

    /// Lower-case name used in config files and `sessions.json` buckets.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Claude => "claude",
            ProviderKind::Codex => "codex",
            ProviderKind::Gemini => "gemini",
        }
    }

    /// Name of the executable on `PATH`.
    pub fn binary(self) -> &'static str {
        self.as_str()
    }

    /// Human name for chat messages.
    pub fn display_name(self) -> &'static str {
        match self {
            ProviderKind::Claude => "Claude",
            ProviderKind::Codex => "Codex",
            ProviderKind::Gemini => "Gemini",
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for an unknown provider name.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown provider `{0}` (expected claude, codex or gemini)")]
pub struct UnknownProvider(pub String);

impl FromStr for ProviderKind {
    type Err = UnknownProvider;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "claude" => Ok(ProviderKind::Claude),
            "codex" => Ok(ProviderKind::Codex),
            "gemini" => Ok(ProviderKind::Gemini),
            _ => Err(UnknownProvider(s.to_owned())),
        }
    }
}
