//! Matrix's dialect: the shared chat HTML ([`crate::chat::html`]), which Matrix clients
//! render as `org.matrix.custom.html`, with newlines turned into `<br>` as a message is
//! sent ([`to_matrix_html`]); the plain `body` is the same text without tags.
//!
//! A message holds at most [`MESSAGE_LIMIT`] characters, so that even an edit (new
//! content twice — HTML and plain — plus a short fallback) of wide characters,
//! encrypted (a third larger), stays under Synapse's 64 KiB event limit.

use super::settings::{MatrixSettings, StreamStyle};
use crate::chat::api::Dialect;
use crate::chat::html;
use crate::config::LiveConfig;
use std::time::Duration;

/// Longest message, in the chat HTML's visible characters (UTF-16 units).
pub const MESSAGE_LIMIT: usize = 5000;

/// Matrix HTML; edit behaviour read live from the agent's `matrix` block.
#[derive(Debug, Clone)]
pub struct MatrixHtml {
    config: LiveConfig,
}

impl MatrixHtml {
    /// The dialect over the agent's (live) config.
    pub fn new(config: LiveConfig) -> Self {
        Self { config }
    }

    fn settings(&self) -> MatrixSettings {
        MatrixSettings::from_config(&self.config.get().matrix)
    }
}

impl Dialect for MatrixHtml {
    fn limit(&self) -> usize {
        MESSAGE_LIMIT
    }

    fn edits(&self) -> bool {
        self.settings().streaming == StreamStyle::Edit
    }

    fn edit_cap(&self) -> Option<u32> {
        Some(self.settings().max_edits)
    }

    fn min_edit_interval(&self) -> Duration {
        self.settings().edit_interval
    }

    fn render(&self, markdown: &str) -> String {
        html::markdown_to_html(markdown)
    }

    fn split(&self, markup: &str, limit: usize) -> Vec<String> {
        html::split_html(markup, limit)
    }

    fn visible_len(&self, markup: &str) -> usize {
        html::visible_len(markup)
    }

    fn to_plain(&self, markup: &str) -> String {
        html::html_to_plain(markup)
    }

    fn escape(&self, text: &str) -> String {
        html::escape_html(text)
    }

    fn bold(&self, markup: &str) -> String {
        format!("<b>{markup}</b>")
    }

    fn italic(&self, markup: &str) -> String {
        format!("<i>{markup}</i>")
    }
}

/// Chat HTML as Matrix HTML: every newline outside `<pre>` becomes `<br>` (HTML
/// collapses whitespace; code blocks keep theirs).
pub fn to_matrix_html(markup: &str) -> String {
    let mut out = String::with_capacity(markup.len() + markup.len() / 16);
    let mut pre_depth = 0usize;
    let mut rest = markup;
    while let Some(i) = rest.find(['<', '\n']) {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if rest.starts_with('\n') {
            out.push_str(if pre_depth > 0 { "\n" } else { "<br>" });
            rest = &rest[1..];
            continue;
        }
        let Some(end) = rest.find('>').map(|e| e + 1) else {
            out.push('<');
            rest = &rest[1..];
            continue;
        };
        let tag = &rest[..end];
        let name = tag
            .trim_start_matches('<')
            .trim_start_matches('/')
            .split(|c: char| !c.is_ascii_alphanumeric())
            .next()
            .unwrap_or_default();
        if name.eq_ignore_ascii_case("pre") {
            if tag.starts_with("</") {
                pre_depth = pre_depth.saturating_sub(1);
            } else {
                pre_depth += 1;
            }
        }
        out.push_str(tag);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newlines_become_breaks_except_in_code_blocks() {
        let md = "**Title**\nline two\n\n```rust\nfn a() {}\nfn b() {}\n```\nend";
        let html = to_matrix_html(&html::markdown_to_html(md));
        assert!(html.contains("<b>Title</b><br>line two"), "{html}");
        assert!(html.contains("fn a() {}\nfn b() {}"), "{html}");
        assert!(html.ends_with("end"), "{html}");
        assert!(!html.contains("<br>fn b"), "{html}");
    }

    #[test]
    fn odd_markup_passes_through() {
        assert_eq!(to_matrix_html("a < b\nc"), "a < b<br>c");
        assert_eq!(to_matrix_html("</pre>\nx"), "</pre><br>x");
        assert_eq!(to_matrix_html(""), "");
    }
}
