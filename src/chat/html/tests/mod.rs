//! Tests for the formatting layer, with a strict checker for Telegram HTML.

pub(crate) mod checker;
mod markdown_cases;
mod marker_cases;
mod props;
mod split_cases;
