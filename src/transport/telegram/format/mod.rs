//! Markdown → Telegram HTML and the tag-aware 4096-character splitter.
