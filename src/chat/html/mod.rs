//! Chat HTML: Markdown → the small HTML subset every HTML-speaking chat accepts (`b`, `i`,
//! `s`, `code`, `pre`, `a`, `blockquote`; line breaks as newlines), the tag-aware splitter,
//! measuring and the plain-text fallback. [`Html`] is Telegram's dialect (`parse_mode:
//! "HTML"`, 4096 characters); Matrix writes the same markup and turns newlines into `<br>`
//! as it sends.
//!
//! Pure functions on strings: no I/O, no transport calls, no state. Everything here accepts
//! any input without panicking, and all HTML it produces uses only tags Telegram accepts and is
//! balanced, chunk by chunk.
//!
//! - [`markdown_to_html`]: the conversion (`markdown.rs`, output stack in `writer.rs`).
//! - [`split_html`], [`visible_len`], [`html_to_plain`]: measuring and splitting (`split.rs`,
//!   tokenizer in `scan.rs`).
//! - The agent's markers (`[button:…]`, `<file:…>`) are the same in every transport:
//!   [`crate::chat::markers`].

mod escape;
mod markdown;
mod scan;
mod split;
mod writer;

#[cfg(test)]
pub(crate) mod tests;

use crate::chat::api::Dialect;
pub(crate) use escape::escape_attr;
pub use escape::escape_html;
pub use markdown::markdown_to_html;
pub use scan::{html_to_plain, visible_len};
pub use split::split_html;

/// Telegram's limit on a message's text after entity parsing, in UTF-16 code units.
pub const MESSAGE_LIMIT: usize = 4096;

/// Telegram HTML (`parse_mode: "HTML"`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Html;

impl Dialect for Html {
    fn limit(&self) -> usize {
        MESSAGE_LIMIT
    }

    fn render(&self, markdown: &str) -> String {
        markdown_to_html(markdown)
    }

    fn split(&self, markup: &str, limit: usize) -> Vec<String> {
        split_html(markup, limit)
    }

    fn visible_len(&self, markup: &str) -> usize {
        visible_len(markup)
    }

    fn to_plain(&self, markup: &str) -> String {
        html_to_plain(markup)
    }

    fn escape(&self, text: &str) -> String {
        escape_html(text)
    }

    fn bold(&self, markup: &str) -> String {
        format!("<b>{markup}</b>")
    }

    fn italic(&self, markup: &str) -> String {
        format!("<i>{markup}</i>")
    }
}

/// A complete answer prepared as Telegram HTML (see [`crate::chat::markers::prepare`]).
pub fn prepare_reply(markdown: &str) -> crate::chat::markers::Prepared {
    crate::chat::markers::prepare(&Html, markdown)
}
