//! Agent-authored markers in Markdown answers: `[button:Label]` (quick-reply
//! buttons) and `<file:/path>` (files to send), found outside code and taken out of
//! the text, and what of a still-streaming answer may be shown. Pure functions on
//! strings, the same for every transport.

mod buttons;
mod files;
mod scan;
mod stream;

pub use buttons::{ButtonRows, extract_buttons};
pub use files::extract_file_tags;
pub use stream::stream_safe_prefix;

use super::api::Dialect;

/// The Markdown dialect ductor parses: `CommonMark` plus GFM tables, strikethrough and
/// task lists. Shared by the marker scanner and every renderer, so "inside code"
/// means the same thing everywhere.
pub fn options() -> pulldown_cmark::Options {
    use pulldown_cmark::Options;
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS
}

/// A complete answer prepared for sending in one dialect.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Prepared {
    /// Markup messages to send in order, each within the dialect's limit; empty if the
    /// answer has no visible text (the caller sends a placeholder or only the files).
    pub chunks: Vec<String>,
    /// Buttons for the last message, from `[button:…]` markers.
    pub buttons: ButtonRows,
    /// Paths from `<file:…>` tags, to upload after the text.
    pub files: Vec<String>,
}

/// Prepares a complete answer: file tags and button markers out, Markdown rendered,
/// markup split to the dialect's limit.
///
/// Why: every non-streamed delivery (replies, task results, notices) needs the same
/// steps in the same order; doing them in one place keeps markers from leaking.
pub fn prepare(m: &dyn Dialect, markdown: &str) -> Prepared {
    let (text, files) = extract_file_tags(markdown);
    let (text, buttons) = extract_buttons(&text);
    let chunks = m.split(&m.render(&text), m.limit());
    Prepared {
        chunks,
        buttons,
        files,
    }
}

/// The agent's `[button:…]` rows as buttons: follow-ups in named session `session`,
/// plain answers otherwise.
pub fn marker_buttons(rows: &[Vec<String>], session: Option<&str>) -> crate::ops::Buttons {
    use crate::ops::{Action, Button};
    rows.iter()
        .map(|row| {
            row.iter()
                .map(|label| {
                    let action = match session {
                        Some(name) => Action::SessionButton {
                            name: name.to_owned(),
                            label: label.clone(),
                        },
                        None => Action::Answer(label.clone()),
                    };
                    Button::new(label.clone(), action)
                })
                .collect()
        })
        .collect()
}
