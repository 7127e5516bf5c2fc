//! What the reply looks like: the live view (flushed text with indicators) and the final text
//! (text only, with footer or placeholder).

use crate::chat::api::Dialect;
use crate::chat::markers::{ButtonRows, extract_buttons, extract_file_tags, stream_safe_prefix};
use crate::ops::{Action, Button, Buttons as Keyboard};

use super::indicators::Mark;
use super::text::floor_boundary;

/// One rendered part of the live view.
enum Part {
    Text(String),
    Indicator(String),
}

/// Markup of the live view: the flushed text (`text[..flushed]`, markers hidden) with
/// the indicators placed where they happened. Text parts are separated from everything by a
/// blank line, consecutive indicators by a line break.
pub(super) fn live_html(m: &dyn Dialect, text: &str, flushed: usize, marks: &[Mark]) -> String {
    let flushed = floor_boundary(text, flushed);
    let mut parts = Vec::new();
    let mut from = 0;
    for mark in marks {
        let at = floor_boundary(text, mark.at.min(flushed)).max(from);
        push_text(m, &mut parts, &text[from..at]);
        parts.push(Part::Indicator(mark.indicator.markup(m, mark.count)));
        from = at;
    }
    push_text(m, &mut parts, &text[from..flushed]);
    let mut out = String::new();
    let mut prev_indicator = None;
    for part in parts {
        let (html, is_indicator) = match part {
            Part::Text(h) => (h, false),
            Part::Indicator(h) => (h, true),
        };
        match prev_indicator {
            Some(true) if is_indicator => out.push('\n'),
            Some(_) => out.push_str("\n\n"),
            None => {}
        }
        out.push_str(&html);
        prev_indicator = Some(is_indicator);
    }
    out
}

/// Renders a streamed text segment, if it shows anything.
fn push_text(m: &dyn Dialect, parts: &mut Vec<Part>, segment: &str) {
    if segment.trim().is_empty() {
        return;
    }
    let html = m.render(&stream_safe_prefix(segment));
    if !html.trim().is_empty() {
        parts.push(Part::Text(html.trim().to_owned()));
    }
}

/// How much of a streamed prefix is settled: all of it, unless its last line holds an unfinished
/// `<file:…>`/`[button:…]` marker, in which case everything before that line.
///
/// Why: append mode sends pieces it can never take back; a marker cut in two would show up as
/// text.
pub(super) fn settled_len(prefix: &str) -> usize {
    if stream_safe_prefix(prefix) == without_markers(prefix) {
        prefix.len()
    } else {
        prefix.rfind('\n').map_or(0, |i| i + 1)
    }
}

/// `md` with complete file tags and button markers removed.
pub(super) fn without_markers(md: &str) -> String {
    let (text, _) = extract_file_tags(md);
    extract_buttons(&text).0
}

/// A piece of Markdown as message chunks, markers removed (append mode).
pub(super) fn piece_chunks(m: &dyn Dialect, md: &str) -> Vec<String> {
    m.split(&m.render(&without_markers(md)), m.limit())
}

/// The final Markdown of a completed turn: the streamed text (or `fallback` if nothing was
/// streamed), `placeholder` if that is blank, then the footer after a blank line.
pub(super) fn completed_markdown(
    streamed: &str,
    fallback: &str,
    footer: Option<&str>,
    placeholder: &str,
) -> String {
    let body = if streamed.trim().is_empty() {
        fallback
    } else {
        streamed
    };
    let mut text = if body.trim().is_empty() {
        placeholder.to_owned()
    } else {
        body.to_owned()
    };
    if let Some(footer) = footer.map(|f| f.trim_start_matches(['\n', '\r']))
        && !footer.trim().is_empty()
    {
        text.push_str("\n\n");
        text.push_str(footer);
    }
    text
}

/// The buttons for `[button:…]` rows (each answers with its label); `None` when there
/// are none.
pub(super) fn keyboard(rows: &ButtonRows) -> Option<Keyboard> {
    let kb: Keyboard = rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|label| Button::new(label.clone(), Action::Answer(label.clone())))
                .collect::<Vec<_>>()
        })
        .filter(|row| !row.is_empty())
        .collect();
    (!kb.is_empty()).then_some(kb)
}

#[cfg(test)]
mod tests {
    use super::super::indicators::{Indicator, push_mark};
    use super::*;

    #[test]
    fn indicators_sit_between_text_parts() {
        let text = "Let me look.\n\nFound **it**.";
        let mut marks = Vec::new();
        push_mark(&mut marks, text, 12, Indicator::Tool("Shell".into()));
        push_mark(&mut marks, text, 12, Indicator::Tool("Shell".into()));
        push_mark(&mut marks, text, 12, Indicator::Tool("Read".into()));
        let m = &crate::chat::testing::Stars;
        assert_eq!(
            live_html(m, text, text.len(), &marks),
            "Let me look.\n\n*[TOOL: Shell] x2*\n*[TOOL: Read]*\n\nFound *it*."
        );
        assert_eq!(
            live_html(m, text, 12, &marks),
            "Let me look.\n\n*[TOOL: Shell] x2*\n*[TOOL: Read]*"
        );
    }

    #[test]
    fn markers_are_hidden_in_the_live_view() {
        let text = "See <file:/tmp/x.png> and [button:Yes]\n\nmore <fi";
        let html = live_html(&crate::chat::testing::Stars, text, text.len(), &[]);
        assert!(!html.contains("file:"), "{html}");
        assert!(!html.contains("button"), "{html}");
        assert!(!html.contains("<fi"), "{html}");
    }

    #[test]
    fn an_unfinished_marker_on_the_last_line_is_not_settled() {
        assert_eq!(settled_len("a\nb <file:/tm"), 2);
        assert_eq!(settled_len("a <file:/x> b"), 13);
        assert_eq!(settled_len("[button:Ye"), 0);
        assert_eq!(settled_len("plain"), 5);
    }

    #[test]
    fn final_markdown_prefers_streamed_text_then_fallback_then_placeholder() {
        assert_eq!(completed_markdown("a", "b", None, "p"), "a");
        assert_eq!(
            completed_markdown(" ", "b", Some("\n---\nfoot"), "p"),
            "b\n\n---\nfoot"
        );
        assert_eq!(completed_markdown("", "", None, "p"), "p");
    }

    #[test]
    fn keyboards_keep_rows_and_answer_with_the_label() {
        let long = "ä".repeat(40);
        let kb = keyboard(&vec![vec!["A".into(), "B".into()], vec![long.clone()]]);
        let kb = kb.expect("rows");
        assert_eq!(kb.len(), 2);
        assert_eq!(kb[0][1].action, Action::Answer("B".into()));
        assert_eq!(kb[1][0].label, long);
        assert!(kb[1][0].action.encode().len() <= 64);
        assert_eq!(keyboard(&Vec::new()), None);
    }
}
