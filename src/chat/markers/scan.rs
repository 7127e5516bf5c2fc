//! Shared machinery for agent-authored markers (`[button:…]`, `<file:…>`): finding them outside
//! code and removing them from the text with tidy line handling.

use std::ops::Range;

use pulldown_cmark::{Event, Parser, Tag};

use super::options;

/// Byte ranges of code (inline code spans and code blocks) in `md`, sorted and disjoint. Markers
/// inside code are examples the agent is showing, not markers.
pub(super) struct CodeRanges(Vec<Range<usize>>);

impl CodeRanges {
    /// Finds the code in `md`, parsed exactly as the renderers parse it.
    pub fn of(md: &str) -> Self {
        let mut ranges: Vec<Range<usize>> = Vec::new();
        for (event, range) in Parser::new_ext(md, options()).into_offset_iter() {
            if matches!(event, Event::Code(_) | Event::Start(Tag::CodeBlock(_))) {
                // Code blocks nested in other blocks are reported once; keep the list disjoint.
                if ranges.last().is_none_or(|last| last.end <= range.start) {
                    ranges.push(range);
                }
            }
        }
        Self(ranges)
    }

    /// Whether `span` overlaps code.
    pub fn overlaps(&self, span: &Range<usize>) -> bool {
        let i = self.0.partition_point(|r| r.end <= span.start);
        self.0.get(i).is_some_and(|r| r.start < span.end)
    }
}

/// Finds every occurrence of `open` … `close` on one line of `text`, outside code, whose payload
/// (between the two, trimmed) is non-empty. Returns the marker's byte range and its payload.
pub(super) fn find_markers<'a>(
    text: &'a str,
    open: &str,
    close: char,
) -> Vec<(Range<usize>, &'a str)> {
    let code = CodeRanges::of(text);
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(offset) = text[from..].find(open) {
        let start = from + offset;
        let body_start = start + open.len();
        let line_end = text[body_start..]
            .find('\n')
            .map_or(text.len(), |p| body_start + p);
        let Some(close_at) = text[body_start..line_end]
            .find(close)
            .map(|p| body_start + p)
        else {
            // Nothing closes on this line, so no later marker on it can close either.
            from = line_end;
            continue;
        };
        let range = start..close_at + close.len_utf8();
        let payload = text[body_start..close_at].trim();
        if payload.is_empty() || code.overlaps(&range) {
            from = body_start;
            continue;
        }
        from = range.end;
        found.push((range, payload));
    }
    found
}

/// Removes the byte ranges `cut` (sorted, disjoint, none spanning a line break) from `text`.
///
/// Lines that held a marker are tidied: the gap a marker leaves between words becomes one space,
/// trailing spaces go, and a line left blank (or with only a list bullet or quote mark) is
/// dropped. If anything was removed, runs of blank
/// lines outside code blocks shrink to one and leading/trailing blank lines go (Markdown renders
/// the same; the chat message has no odd gaps where markers were).
pub(super) fn remove(text: &str, cut: &[Range<usize>]) -> String {
    if cut.is_empty() {
        return text.to_owned();
    }
    let code = CodeRanges::of(text);
    let mut out = String::with_capacity(text.len());
    let mut cuts = cut.iter().peekable();
    let mut line_start = 0;
    let mut prev_blank = true;
    for line in text.split_inclusive('\n') {
        let line_end = line_start + line.len();
        let body = line.strip_suffix('\n').unwrap_or(line);
        let newline = &line[body.len()..];
        let mut kept = String::new();
        let mut pos = line_start;
        let mut touched = false;
        while let Some(range) = cuts.next_if(|r| r.start < line_end) {
            let piece = &text[pos..range.start.max(pos)];
            if touched {
                append_joined(&mut kept, piece);
            } else {
                kept.push_str(piece);
            }
            pos = range.end.max(pos);
            touched = true;
        }
        let blank_in_prose =
            |s: &str| s.trim().is_empty() && !code.overlaps(&(line_start..line_end));
        if touched {
            append_joined(&mut kept, &text[pos..line_start + body.len()]);
            let trimmed = kept.trim_end();
            if !only_block_markers(trimmed) {
                out.push_str(trimmed);
                out.push_str(newline);
                prev_blank = false;
            }
        } else if blank_in_prose(body) {
            if !prev_blank {
                out.push_str(line);
            }
            prev_blank = true;
        } else {
            out.push_str(line);
            prev_blank = false;
        }
        line_start = line_end;
    }
    let len = out.trim_end().len();
    out.truncate(len);
    out
}

/// Whether a line holds nothing but Markdown block syntax (`- `, `> `, `1. `): once its markers
/// are gone such a line would render as an empty bullet or quote.
fn only_block_markers(line: &str) -> bool {
    line.split_whitespace().all(|word| {
        let word = word.trim_start_matches(|c: char| c.is_ascii_digit());
        !word.is_empty()
            && word
                .chars()
                .all(|c| matches!(c, '-' | '*' | '+' | '>' | '.' | ')'))
    })
}

/// Appends `piece` after text a marker was cut from: at most one space at the join, none at the
/// start of the line.
fn append_joined(out: &mut String, piece: &str) {
    if out.is_empty() || out.ends_with([' ', '\t']) {
        out.push_str(piece.trim_start_matches([' ', '\t']));
    } else {
        out.push_str(piece);
    }
}
