//! ductor: drive the official coding-agent CLIs (`claude`, `codex`, `gemini`) from chat.
//!
//! # Layout
//! - [`provider`]: the provider CLIs: command building, stream parsing, one event stream.
//! - [`transport`]: chat transports (Telegram) and their formatting.

pub mod provider;
pub mod transport;
