//! Tag-aware splitting of Telegram HTML into messages that each fit Telegram's length limit.
//!
//! Lengths are visible UTF-16 code units (see [`visible_len`](super::visible_len)). Every chunk is
//! well-formed on its own: elements open at a cut are closed at the end of the chunk and reopened,
//! with the same attributes, at the start of the next one.

use super::scan::{Kind, Token, tokens};

/// Where a chunk may end, best first. A cut at a whitespace run drops part of that run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    /// A run of spaces/tabs not preceded by a sentence end.
    Space,
    /// A run of spaces/tabs after `.`, `!`, `?` (or their CJK forms / `…`).
    Sentence,
    /// A run of whitespace containing one line break.
    Line,
    /// A run of whitespace containing two or more line breaks (a blank line).
    Paragraph,
}

/// A planned cut: the chunk ends before token `end`; the next chunk starts at token `resume`.
/// Tokens in `end..resume` are dropped whitespace or tags that are re-created by the reopen/close
/// bookkeeping.
#[derive(Debug, Clone, Copy)]
struct Cut {
    end: usize,
    resume: usize,
}

/// An element open at some point of the input: its name and its full opening tag.
type OpenTag<'a> = (&'a str, &'a str);

/// Splits Telegram HTML into chunks of at most `limit` visible UTF-16 code units each.
///
/// Why: Telegram rejects messages over 4096 visible characters, and a naive byte split would cut
/// tags or entities and make Telegram reject the HTML.
///
/// - Input whose visible text is empty or only whitespace yields no chunks (Telegram refuses empty
///   messages; the caller decides what to send instead).
/// - Input that fits is returned unchanged as the only chunk.
/// - Otherwise each chunk ends at the best cut before the limit: a blank line, else a line break,
///   else a space after a sentence end, else any space; a cut of those kinds is only taken if the
///   chunk is then at least a third full, otherwise the text is hard-cut exactly at the limit
///   (between characters, never inside a tag, an entity or a surrogate pair).
/// - At a line or blank-line cut the whitespace up to and including the run's last line break is
///   dropped (the next line keeps its indentation); at a space cut the whole run of spaces/tabs is
///   dropped; a hard cut drops nothing. Chunks that would show only whitespace are left out.
/// - A limit of 0 is treated as 1; a single character wider than the limit (an emoji with limit 1)
///   gets a chunk of its own.
pub fn split_html(html: &str, limit: usize) -> Vec<String> {
    let toks: Vec<Token<'_>> = tokens(html).collect();
    let visible = toks.iter().filter_map(Token::visible);
    if visible.clone().all(char::is_whitespace) {
        return Vec::new();
    }
    let limit = limit.max(1);
    if visible.map(char::len_utf16).sum::<usize>() <= limit {
        return vec![html.to_owned()];
    }
    let byte_at = |i: usize| toks.get(i).map_or(html.len(), |t| t.start);
    let mut chunks = Vec::new();
    let mut stack: Vec<OpenTag<'_>> = Vec::new();
    let mut pos = 0;
    while pos < toks.len() {
        let cut = plan(&toks, pos, limit);
        let mut chunk: String = stack.iter().map(|(_, open)| *open).collect();
        chunk.push_str(&html[byte_at(pos)..byte_at(cut.end)]);
        let mut has_text = false;
        for tok in &toks[pos..cut.end] {
            has_text |= tok.visible().is_some_and(|c| !c.is_whitespace());
            track(&mut stack, html, tok);
        }
        for (name, _) in stack.iter().rev() {
            chunk.push_str("</");
            chunk.push_str(name);
            chunk.push('>');
        }
        for tok in &toks[cut.end..cut.resume] {
            track(&mut stack, html, tok);
        }
        if has_text {
            chunks.push(chunk);
        }
        pos = cut.resume;
    }
    chunks
}

/// Updates the stack of open elements for one token.
fn track<'a>(stack: &mut Vec<OpenTag<'a>>, html: &'a str, tok: &Token<'a>) {
    match tok.kind {
        Kind::Open(name) => stack.push((name, &html[tok.start..tok.end])),
        Kind::Close(name) => {
            if let Some(i) = stack
                .iter()
                .rposition(|(n, _)| n.eq_ignore_ascii_case(name))
            {
                stack.truncate(i);
            }
        }
        Kind::Void | Kind::Char(_) => {}
    }
}

/// Decides where the chunk starting at token `pos` ends.
fn plan(toks: &[Token<'_>], pos: usize, limit: usize) -> Cut {
    let min_fill = (limit / 3).max(1);
    let mut fill = 0;
    let mut last_char = None;
    let mut last_fit = None;
    let mut best: Option<(Class, Cut)> = None;
    let mut k = pos;
    while k < toks.len() {
        let Some(ch) = toks[k].visible() else {
            k += 1;
            continue;
        };
        let units = ch.len_utf16();
        if fill + units > limit {
            break;
        }
        let run_start = is_space(ch) && (k == pos || !toks[k - 1].visible().is_some_and(is_space));
        if run_start && fill >= min_fill {
            let (class, resume) = classify_run(toks, k, last_char);
            if best.is_none_or(|(c, _)| class >= c) {
                best = Some((class, trim_cut(toks, pos, k, resume)));
            }
        }
        fill += units;
        last_char = Some(ch);
        k += 1;
        last_fit = Some(k);
    }
    if k == toks.len() {
        return Cut { end: k, resume: k };
    }
    if let Some((_, cut)) = best {
        return cut;
    }
    // Hard cut after the last character that fits (at least one, so every chunk makes progress),
    // taking along closing tags that directly follow it.
    let mut end = last_fit.unwrap_or_else(|| {
        toks[pos..]
            .iter()
            .position(|t| t.visible().is_some())
            .map_or(toks.len(), |p| pos + p + 1)
    });
    while toks
        .get(end)
        .is_some_and(|t| matches!(t.kind, Kind::Close(_)))
    {
        end += 1;
    }
    Cut { end, resume: end }
}

/// Whitespace that may form a cut point.
fn is_space(ch: char) -> bool {
    matches!(ch, ' ' | '\t' | '\n' | '\r')
}

/// Classifies the whitespace run starting at token `start` and returns where the next chunk
/// resumes: after the run's last line break, or after the whole run if it has none.
fn classify_run(toks: &[Token<'_>], start: usize, before: Option<char>) -> (Class, usize) {
    let mut newlines = 0;
    let mut after_last_newline = None;
    let mut k = start;
    while let Some(ch) = toks
        .get(k)
        .and_then(Token::visible)
        .filter(|c| is_space(*c))
    {
        k += 1;
        if ch == '\n' {
            newlines += 1;
            after_last_newline = Some(k);
        }
    }
    let class = match newlines {
        0 if before.is_some_and(|c| matches!(c, '.' | '!' | '?' | '…' | '。' | '！' | '？')) => {
            Class::Sentence
        }
        0 => Class::Space,
        1 => Class::Line,
        _ => Class::Paragraph,
    };
    (class, after_last_newline.unwrap_or(k))
}

/// Builds the cut for a whitespace run at `run_start`: opening tags right before the run move to
/// the next chunk (no empty element at the end of this one) and closing tags right after the
/// dropped whitespace stay with this chunk (no empty element at the start of the next one).
///
/// Tags skipped this way are still replayed on the open-element stack, so both chunks stay
/// balanced.
fn trim_cut(toks: &[Token<'_>], pos: usize, run_start: usize, mut resume: usize) -> Cut {
    let mut end = run_start;
    while end > pos && matches!(toks[end - 1].kind, Kind::Open(_)) {
        end -= 1;
    }
    while toks
        .get(resume)
        .is_some_and(|t| matches!(t.kind, Kind::Close(_)))
    {
        resume += 1;
    }
    Cut { end, resume }
}
