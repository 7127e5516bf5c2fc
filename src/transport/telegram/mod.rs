//! The Telegram transport (Bot API over teloxide).

pub mod format;
pub mod stream;
