//! Markdown → Telegram HTML, the tag-aware 4096-character splitter, and the agent-authored
//! markers (`[button:…]`, `<file:…>`).
//!
//! Pure functions on strings: no I/O, no Telegram calls, no state. The Telegram transport calls
//! them in this order (see [`prepare_reply`]): take out file tags, take out buttons, convert the
//! Markdown, split the HTML. Everything here accepts any input without panicking, and all HTML it
//! produces uses only tags Telegram accepts and is balanced, chunk by chunk.
//!
//! - [`markdown_to_html`]: the conversion (`markdown.rs`, output stack in `writer.rs`).
//! - [`split_html`], [`visible_len`], [`html_to_plain`]: measuring and splitting (`split.rs`,
//!   tokenizer in `scan.rs`).
//! - [`extract_buttons`], [`callback_data_for`], [`extract_file_tags`]: markers (`buttons.rs`,
//!   `files.rs`, shared code in `markers.rs`).
//! - [`stream_safe_prefix`]: what a live-edited message may show of a partial answer.

mod buttons;
mod escape;
mod files;
mod markdown;
mod markers;
mod scan;
mod split;
mod stream;
mod writer;

#[cfg(test)]
mod tests;

pub use buttons::{ButtonRows, CALLBACK_DATA_LIMIT, callback_data_for, extract_buttons};
pub use escape::escape_html;
pub use files::extract_file_tags;
pub use markdown::markdown_to_html;
pub use scan::{html_to_plain, visible_len};
pub use split::split_html;
pub use stream::stream_safe_prefix;

/// Telegram's limit on a message's text after entity parsing, in UTF-16 code units.
pub const MESSAGE_LIMIT: usize = 4096;

/// A final agent answer prepared for Telegram.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reply {
    /// HTML messages to send in order, each within [`MESSAGE_LIMIT`]; empty if the answer has no
    /// visible text (the caller sends a placeholder or only the files).
    pub chunks: Vec<String>,
    /// The inline keyboard for the last message, from `[button:…]` markers.
    pub buttons: ButtonRows,
    /// Paths from `<file:…>` tags, to upload after the text.
    pub files: Vec<String>,
}

/// Prepares a complete answer for sending: file tags and button markers out, Markdown converted,
/// HTML split to [`MESSAGE_LIMIT`].
///
/// Why: every non-streamed delivery (replies, task results, cron output) needs the same steps in
/// the same order; doing them in one place keeps markers from leaking into the text.
pub fn prepare_reply(markdown: &str) -> Reply {
    let (text, files) = extract_file_tags(markdown);
    let (text, buttons) = extract_buttons(&text);
    let chunks = split_html(&markdown_to_html(&text), MESSAGE_LIMIT);
    Reply {
        chunks,
        buttons,
        files,
    }
}
