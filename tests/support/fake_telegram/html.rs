//! `parse_mode: "HTML"` as Telegram's server parses it.
//!
//! Only the documented tags are accepted; `&lt; &gt; &amp; &quot;` and numeric references are
//! decoded, any other `&...` stays literal; tags must nest properly. Errors carry Telegram's wording
//! (the part after `can't parse entities: `) with byte offsets into the original string.

use super::text::{Entity, Formatted, sort_entities};

const TAGS: &[&str] = &[
    "a",
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "tg-emoji",
    "code",
    "pre",
    "blockquote",
];

#[derive(Default)]
struct Open {
    tag: String,
    start: usize,
    out_start: usize,
    url: Option<String>,
    language: Option<String>,
    emoji_id: Option<String>,
    expandable: bool,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0b' | b'\x0c')
}

/// Decode `&name;` / `&#N;` / `&#xH;` at `pos`; `None` leaves the `&` literal (as Telegram does).
fn decode_entity(b: &[u8], pos: usize) -> Option<(char, usize)> {
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    let mut end = pos + 1;
    let ch = if at(pos + 1) == b'#' {
        end += 1;
        let mut value: u32 = 0;
        if at(pos + 2) == b'x' {
            end += 1;
            while at(end).is_ascii_hexdigit() {
                let digit = char::from(at(end)).to_digit(16).unwrap_or(0);
                value = value.saturating_mul(16).saturating_add(digit);
                end += 1;
            }
        } else {
            while at(end).is_ascii_digit() {
                value = value
                    .saturating_mul(10)
                    .saturating_add(u32::from(at(end) - b'0'));
                end += 1;
            }
        }
        if value == 0 || value >= 0x0010_ffff || end - pos >= 10 {
            return None;
        }
        char::from_u32(value)?
    } else {
        while at(end).is_ascii_alphabetic() {
            end += 1;
        }
        match &b[pos + 1..end] {
            b"lt" => '<',
            b"gt" => '>',
            b"amp" => '&',
            b"quot" => '"',
            _ => return None,
        }
    };
    if at(end) == b';' {
        end += 1;
    }
    Some((ch, end))
}

fn next_char(s: &str, i: usize) -> char {
    s.get(i..)
        .and_then(|rest| rest.chars().next())
        .unwrap_or('\u{fffd}')
}

fn valid_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    !url.is_empty()
        && !url.chars().any(char::is_whitespace)
        && (["http://", "https://", "tg://", "ftp://", "mailto:"]
            .iter()
            .any(|p| lower.starts_with(p))
            || url.contains('.'))
}

/// Parser state over the original bytes (`i` is a byte offset, always on a char boundary).
struct Parser<'a> {
    input: &'a str,
    b: &'a [u8],
    i: usize,
    out: String,
    off16: usize,
    stack: Vec<Open>,
    entities: Vec<Entity>,
}

/// Parse Telegram HTML into plain text and entities (not yet trimmed).
pub fn parse(input: &str) -> Result<Formatted, String> {
    let mut p = Parser {
        input,
        b: input.as_bytes(),
        i: 0,
        out: String::with_capacity(input.len()),
        off16: 0,
        stack: Vec::new(),
        entities: Vec::new(),
    };
    while p.i < p.b.len() {
        let c = p.b[p.i];
        if c == b'&'
            && let Some((ch, next)) = decode_entity(p.b, p.i)
        {
            p.push(ch);
            p.i = next;
            continue;
        }
        if c != b'<' {
            let ch = next_char(input, p.i);
            p.push(ch);
            p.i += ch.len_utf8();
            continue;
        }
        let begin = p.i;
        p.i += 1;
        if p.at() == Some(b'/') {
            p.end_tag(begin)?;
        } else {
            p.start_tag(begin)?;
        }
    }
    if let Some(top) = p.stack.last() {
        return Err(format!(
            "Can't find end tag corresponding to start tag \"{}\"",
            top.tag
        ));
    }
    finish(&mut p.entities);
    sort_entities(&mut p.entities);
    Ok(Formatted {
        text: p.out,
        entities: p.entities,
    })
}

impl Parser<'_> {
    fn at(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn push(&mut self, ch: char) {
        self.out.push(ch);
        self.off16 += ch.len_utf16();
    }

    fn skip_spaces(&mut self) {
        while self.at().is_some_and(is_space) {
            self.i += 1;
        }
    }

    /// Advance over a tag or attribute name; returns it lower-cased.
    fn name(&mut self, stop_at_equals: bool) -> String {
        let start = self.i;
        while self
            .at()
            .is_some_and(|c| !is_space(c) && c != b'>' && !(stop_at_equals && c == b'='))
        {
            self.i += 1;
        }
        self.input[start..self.i].to_ascii_lowercase()
    }

    fn end_tag(&mut self, begin: usize) -> Result<(), String> {
        let Some(top) = self.stack.last() else {
            return Err(format!("Unexpected end tag at byte offset {begin}"));
        };
        let top_tag = top.tag.clone();
        self.i += 1;
        let end_name = self.name(false);
        self.skip_spaces();
        if self.at() != Some(b'>') {
            return Err(format!("Unclosed end tag at byte offset {begin}"));
        }
        self.i += 1;
        if !end_name.is_empty() && end_name != top_tag {
            return Err(format!(
                "Unmatched end tag at byte offset {begin}, expected \"</{top_tag}>\", found \"</{end_name}>\""
            ));
        }
        if let Some(open) = self.stack.pop() {
            close(open, self.off16, &self.out, &mut self.entities);
        }
        Ok(())
    }

    fn start_tag(&mut self, begin: usize) -> Result<(), String> {
        let unclosed = || format!("Unclosed start tag at byte offset {begin}");
        let tag = self.name(false);
        if self.at().is_none() {
            return Err(unclosed());
        }
        if !TAGS.contains(&tag.as_str()) {
            return Err(format!(
                "Unsupported start tag \"{tag}\" at byte offset {begin}"
            ));
        }
        let mut open = Open {
            tag,
            start: self.off16,
            out_start: self.out.len(),
            ..Open::default()
        };
        let mut span_class: Option<String> = None;
        loop {
            self.skip_spaces();
            match self.at() {
                None => return Err(unclosed()),
                Some(b'>') => {
                    self.i += 1;
                    break;
                }
                Some(_) => {}
            }
            let Some((attr, value)) = self.attribute(&open.tag, begin)? else {
                open.expandable = true;
                continue;
            };
            match (open.tag.as_str(), attr.as_str()) {
                ("a", "href") => open.url = Some(value),
                ("code", "class") => {
                    open.language = value.strip_prefix("language-").map(str::to_owned);
                }
                ("span", "class") => span_class = Some(value),
                ("tg-emoji", "emoji-id") => open.emoji_id = Some(value),
                _ => {}
            }
        }
        if open.tag == "span" && span_class.as_deref() != Some("tg-spoiler") {
            return Err(format!(
                "Tag \"span\" must have class \"tg-spoiler\" at byte offset {begin}"
            ));
        }
        let valid_emoji = open
            .emoji_id
            .as_deref()
            .is_some_and(|id| !id.is_empty() && id.bytes().all(|c| c.is_ascii_digit()));
        if open.tag == "tg-emoji" && !valid_emoji {
            return Err("Invalid custom emoji identifier specified".to_owned());
        }
        self.stack.push(open);
        Ok(())
    }

    /// One `name=value` attribute; `None` for the bare `expandable` of a blockquote.
    fn attribute(&mut self, tag: &str, begin: usize) -> Result<Option<(String, String)>, String> {
        let unclosed = || format!("Unclosed start tag at byte offset {begin}");
        let attr = self.name(true);
        if attr.is_empty() {
            return Err(format!(
                "Empty attribute name in the tag \"{tag}\" at byte offset {begin}"
            ));
        }
        self.skip_spaces();
        match self.at() {
            None => return Err(unclosed()),
            Some(b'=') => self.i += 1,
            Some(_) if tag == "blockquote" && attr == "expandable" => return Ok(None),
            Some(_) => {
                return Err(format!(
                    "Expected equal sign in declaration of an attribute of the tag \"{tag}\" at byte offset {begin}"
                ));
            }
        }
        self.skip_spaces();
        let value = match self.at() {
            None => return Err(unclosed()),
            Some(quote @ (b'"' | b'\'')) => {
                self.i += 1;
                let mut value = String::new();
                while let Some(c) = self.at().filter(|c| *c != quote) {
                    if c == b'&'
                        && let Some((ch, next)) = decode_entity(self.b, self.i)
                    {
                        value.push(ch);
                        self.i = next;
                        continue;
                    }
                    let ch = next_char(self.input, self.i);
                    value.push(ch);
                    self.i += ch.len_utf8();
                }
                if self.at().is_none() {
                    return Err(unclosed());
                }
                self.i += 1;
                value
            }
            Some(_) => {
                let token_start = self.i;
                while self
                    .at()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'-')
                {
                    self.i += 1;
                }
                match self.at() {
                    None => return Err(unclosed()),
                    Some(c) if !is_space(c) && c != b'>' => {
                        return Err(format!(
                            "Unexpected end of name token at byte offset {token_start}"
                        ));
                    }
                    Some(_) => {}
                }
                self.input[token_start..self.i].to_ascii_lowercase()
            }
        };
        Ok(Some((attr, value)))
    }
}

/// Turn a closed tag into its entity (nothing for an empty range).
fn close(open: Open, end: usize, out: &str, entities: &mut Vec<Entity>) {
    if end <= open.start {
        return;
    }
    let length = end - open.start;
    let kind = match open.tag.as_str() {
        "b" | "strong" => "bold",
        "i" | "em" => "italic",
        "u" | "ins" => "underline",
        "s" | "strike" | "del" => "strikethrough",
        "span" | "tg-spoiler" => "spoiler",
        "code" => "code",
        "pre" => "pre",
        "blockquote" if open.expandable => "expandable_blockquote",
        "blockquote" => "blockquote",
        "tg-emoji" => "custom_emoji",
        _ => "text_link",
    };
    let mut entity = Entity::new(kind, open.start, length);
    match kind {
        "text_link" => {
            let url = open
                .url
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| out.get(open.out_start..).unwrap_or("").to_owned());
            if !valid_url(&url) {
                return;
            }
            entity.url = Some(url);
        }
        "custom_emoji" => entity.custom_emoji_id = open.emoji_id,
        "code" => entity.language = open.language,
        "pre" => {
            // <pre><code class="language-x">..</code></pre> is one `pre` entity with a language.
            if let Some(last) = entities
                .pop_if(|l| l.kind == "code" && l.offset == open.start && l.length == length)
            {
                entity.language = last.language;
            }
        }
        _ => {}
    }
    // A `code` keeps its language only until the enclosing `pre` closes (see `finish`).
    entities.push(entity);
}

/// Drop the language of `code` entities that did not end up inside a `pre`.
fn finish(entities: &mut [Entity]) {
    for e in entities.iter_mut().filter(|e| e.kind == "code") {
        e.language = None;
    }
}
