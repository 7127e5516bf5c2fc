//! Fake Telegram Bot API server (see module docs once written).
