//! A tolerant tokenizer for Telegram HTML: splits a string into tags and visible characters the way
//! Telegram's entity parser sees them, so lengths are measured on what the user will see.
//!
//! It never fails: a `<` that does not start a tag and an `&` that does not start a known entity are
//! ordinary visible characters.

/// One token of Telegram HTML together with its byte range in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Token<'a> {
    /// Byte offset of the first byte of the token.
    pub start: usize,
    /// Byte offset one past the last byte of the token.
    pub end: usize,
    /// What the token is.
    pub kind: Kind<'a>,
}

/// The kinds of token Telegram's parser distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind<'a> {
    /// `<name ...>`: opens an element.
    Open(&'a str),
    /// `</name>`: closes an element.
    Close(&'a str),
    /// `<name .../>`: a self-contained tag with no visible text.
    Void,
    /// One visible character: literal, or decoded from an entity such as `&lt;`.
    Char(char),
}

impl Token<'_> {
    /// The visible character of this token, if it has one.
    pub fn visible(&self) -> Option<char> {
        match self.kind {
            Kind::Char(ch) => Some(ch),
            _ => None,
        }
    }
}

/// Iterates over the tokens of `html`; their byte ranges are contiguous and cover the whole input.
pub(super) fn tokens(html: &str) -> Tokens<'_> {
    Tokens { html, pos: 0 }
}

/// Iterator returned by [`tokens`].
pub(super) struct Tokens<'a> {
    html: &'a str,
    pos: usize,
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        let rest = self.html.get(self.pos..).filter(|r| !r.is_empty())?;
        let start = self.pos;
        let (len, kind) = match rest.as_bytes()[0] {
            b'<' => tag(rest).unwrap_or((1, Kind::Char('<'))),
            b'&' => entity(rest).map_or((1, Kind::Char('&')), |(len, ch)| (len, Kind::Char(ch))),
            _ => {
                let ch = rest.chars().next()?;
                (ch.len_utf8(), Kind::Char(ch))
            }
        };
        self.pos = start + len;
        Some(Token {
            start,
            end: self.pos,
            kind,
        })
    }
}

/// Longest tag we look for: bounds the work per `<` on hostile input (real tags, even with a long
/// `href`, are far shorter).
const MAX_TAG_LEN: usize = 8192;

/// Parses a tag at the start of `s` (which begins with `<`): its byte length and kind.
fn tag(s: &str) -> Option<(usize, Kind<'_>)> {
    let bytes = s.as_bytes();
    let closing = bytes.get(1) == Some(&b'/');
    let name_start = if closing { 2 } else { 1 };
    if !bytes.get(name_start)?.is_ascii_alphabetic() {
        return None;
    }
    let name_end = bytes[name_start..]
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'-'))
        .map_or(bytes.len(), |p| name_start + p);
    // Find the closing `>`, skipping over quoted attribute values.
    let mut quote = None;
    let mut end = None;
    for (i, &b) in bytes.iter().enumerate().take(MAX_TAG_LEN).skip(name_end) {
        match (quote, b) {
            (Some(q), _) if b == q => quote = None,
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'<') => return None,
            (None, b'>') => {
                end = Some(i + 1);
                break;
            }
            _ => {}
        }
    }
    let end = end?;
    let name = &s[name_start..name_end];
    let kind = if closing {
        Kind::Close(name)
    } else if bytes[end - 2] == b'/' {
        Kind::Void
    } else {
        Kind::Open(name)
    };
    Some((end, kind))
}

/// Parses a character reference at the start of `s` (which begins with `&`): its byte length and
/// the character it stands for. Only the entities Telegram understands are recognised.
fn entity(s: &str) -> Option<(usize, char)> {
    let semi = s.as_bytes().iter().take(12).position(|&b| b == b';')?;
    let body = &s[1..semi];
    let ch = match body {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        _ => {
            let digits = body.strip_prefix('#')?;
            let (number, radix) = match digits.strip_prefix(['x', 'X']) {
                Some(hex) => (hex, 16),
                None => (digits, 10),
            };
            if number.is_empty() || !number.chars().all(|c| c.is_digit(radix)) {
                return None;
            }
            let value = u32::from_str_radix(number, radix).ok()?;
            char::from_u32(value)?
        }
    };
    Some((semi + 1, ch))
}

/// Number of characters Telegram counts for `html` after entity parsing: UTF-16 code units of the
/// visible text (tags count 0, `&lt;` counts 1, most emoji count 2).
///
/// This is the measure Telegram's 4096 limit applies to.
pub fn visible_len(html: &str) -> usize {
    tokens(html)
        .filter_map(|t| t.visible())
        .map(char::len_utf16)
        .sum()
}

/// The text Telegram would show for `html`, without formatting: tags removed, entities decoded.
///
/// Used as the plain-text fallback when Telegram rejects a chunk's HTML.
pub fn html_to_plain(html: &str) -> String {
    tokens(html).filter_map(|t| t.visible()).collect()
}
