//! What of a still-growing answer can be shown in a live-edited message.

use super::{extract_buttons, extract_file_tags};

/// Markers the agent may be in the middle of writing, with the character that ends each.
const MARKERS: [(&str, char); 2] = [("<file:", '>'), ("[button:", ']')];

/// The displayable Markdown for a partial (still streaming) answer: complete `<file:…>` tags and
/// `[button:…]` markers removed (outside code, as at the end of the turn), and an unfinished
/// marker at the end (`<fi`, `[button:Ye`) held back until the rest arrives.
///
/// Why: during streaming the message is edited every few seconds; without this the user would
/// see raw tags flash up and vanish at the final edit. Feed the result to a dialect's renderer,
/// which copes with unclosed Markdown.
pub fn stream_safe_prefix(partial: &str) -> String {
    let shown = &partial[..hold_back_from(partial)];
    let (text, _) = extract_file_tags(shown);
    let (text, _) = extract_buttons(&text);
    text
}

/// Byte offset where a possibly unfinished marker starts on the last line (markers never span
/// lines), or the length of `partial` if there is none.
fn hold_back_from(partial: &str) -> usize {
    let line_start = partial.rfind('\n').map_or(0, |i| i + 1);
    let line = &partial[line_start..];
    for (i, ch) in line.char_indices() {
        let Some((open, close)) = MARKERS.iter().find(|(open, _)| open.starts_with(ch)) else {
            continue;
        };
        let tail = &line[i..];
        let unfinished = open.starts_with(tail)
            || tail.starts_with(open) && line.rfind(*close).is_none_or(|c| c < i + open.len());
        if unfinished {
            return line_start + i;
        }
    }
    partial.len()
}
