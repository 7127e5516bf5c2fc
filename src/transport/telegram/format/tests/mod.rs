//! Tests for the formatting layer, with a strict checker for Telegram HTML.

pub(in crate::transport::telegram) mod checker;
mod markdown_cases;
mod marker_cases;
mod props;
mod split_cases;
