//! HTML escaping for Telegram's `parse_mode: "HTML"`: the only place where text becomes markup-safe.

/// Escapes text for use between Telegram HTML tags: `&`, `<` and `>` become entities, nothing else
/// changes, so Telegram shows exactly `text`.
///
/// Use this for any literal text spliced into HTML built by hand (indicator lines, notices, labels).
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    push_escaped(&mut out, text);
    out
}

/// Appends `text` to `out`, escaped like [`escape_html`].
pub(super) fn push_escaped(out: &mut String, text: &str) {
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(ch),
        }
    }
}

/// Escapes an attribute value for a double-quoted attribute (`href="..."`).
pub(crate) fn escape_attr(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for ch in value.chars() {
        match ch {
            '"' => out.push_str("&quot;"),
            _ => push_escaped(&mut out, ch.encode_utf8(&mut [0; 4])),
        }
    }
    out
}
