//! Message text as Telegram stores it: plain text plus entities with UTF-16 offsets.
//!
//! Owns `parse_mode` dispatch, trimming, the length units (UTF-16 code units), and the entities the
//! server detects by itself (commands, mentions, URLs, hashtags). HTML parsing lives in `html`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::ApiError;
use super::html;
use super::params::Params;

/// A `MessageEntity` as the Bot API sends it (offsets and lengths in UTF-16 code units).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entity {
    /// `bold`, `italic`, `code`, `pre`, `text_link`, `bot_command`, `mention`, `url`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// Start, in UTF-16 code units.
    pub offset: usize,
    /// Length, in UTF-16 code units.
    pub length: usize,
    /// Target of a `text_link`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Language of a `pre` block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Id of a `custom_emoji`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_emoji_id: Option<String>,
    /// Fields of newer entity types kept as sent (`date_time`'s `unix_time`, Bot API 9.5).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, Value>,
}

impl Entity {
    /// An entity without extra fields.
    pub fn new(kind: &str, offset: usize, length: usize) -> Self {
        Self {
            kind: kind.to_owned(),
            offset,
            length,
            url: None,
            language: None,
            custom_emoji_id: None,
            extra: serde_json::Map::new(),
        }
    }

    /// The part of `text` this entity covers.
    pub fn slice(&self, text: &str) -> String {
        utf16_slice(text, self.offset, self.offset.saturating_add(self.length))
    }
}

/// Text after parsing: what the user sees, plus its formatting.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Formatted {
    /// Plain text.
    pub text: String,
    /// Entities, sorted by offset (outer first).
    pub entities: Vec<Entity>,
}

/// Length in UTF-16 code units: the unit of Telegram's limits and offsets.
pub fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// The substring between two UTF-16 offsets.
pub fn utf16_slice(s: &str, from: usize, to: usize) -> String {
    let mut pos = 0;
    let mut out = String::new();
    for ch in s.chars() {
        if pos >= from && pos < to {
            out.push(ch);
        }
        pos += ch.len_utf16();
    }
    out
}

/// Sort entities the way Telegram returns them: by offset, longer (outer) first.
pub fn sort_entities(entities: &mut [Entity]) {
    entities.sort_by(|a, b| a.offset.cmp(&b.offset).then(b.length.cmp(&a.length)));
}

/// Read `{field}` + `parse_mode` (+ `{entities_field}`) from a request.
///
/// `Ok(None)` when the text field is absent. HTML is parsed (errors are Telegram's 400s),
/// whitespace at both ends is trimmed, and the server-side entities are detected.
pub fn from_params(
    params: &Params,
    field: &str,
    mode_field: &str,
    entities_field: &str,
) -> Result<Option<Formatted>, ApiError> {
    let Some(raw) = params.opt_str(field) else {
        return Ok(None);
    };
    let mode = params.opt_str(mode_field).unwrap_or_default();
    let mut formatted = match mode.to_ascii_lowercase().as_str() {
        "" | "none" => {
            let entities = match params.opt_json(entities_field, "message entities")? {
                Some(Value::Array(items)) => items
                    .into_iter()
                    .filter_map(|v| serde_json::from_value::<Entity>(v).ok())
                    .collect(),
                Some(_) => return Err(ApiError::bad_request("can't parse entities JSON object")),
                None => Vec::new(),
            };
            Formatted {
                text: raw,
                entities,
            }
        }
        "html" => html::parse(&raw).map_err(|detail| ApiError::cant_parse_entities(&detail))?,
        "markdown" | "markdownv2" => {
            return Err(ApiError::bad_request(format!(
                "fake Telegram does not emulate parse_mode {mode}; use HTML"
            )));
        }
        _ => return Err(ApiError::bad_request("unsupported parse_mode")),
    };
    formatted = trim(formatted);
    detect_entities(&mut formatted);
    Ok(Some(formatted))
}

/// Plain user text with the entities Telegram detects (commands, mentions, URLs, hashtags).
pub fn plain(text: &str) -> Formatted {
    let mut formatted = trim(Formatted {
        text: text.to_owned(),
        entities: Vec::new(),
    });
    detect_entities(&mut formatted);
    formatted
}

/// Strip whitespace at both ends, moving and clipping entities.
pub fn trim(f: Formatted) -> Formatted {
    let lead: usize = f
        .text
        .chars()
        .take_while(|c| c.is_whitespace())
        .map(char::len_utf16)
        .sum();
    let trimmed = f.text.trim();
    if trimmed.is_empty() {
        return Formatted::default();
    }
    let end = lead + utf16_len(trimmed);
    let mut entities: Vec<Entity> = f
        .entities
        .into_iter()
        .filter_map(|mut e| {
            let start = e.offset.max(lead);
            let stop = e.offset.saturating_add(e.length).min(end);
            (stop > start).then(|| {
                e.offset = start - lead;
                e.length = stop - start;
                e
            })
        })
        .collect();
    sort_entities(&mut entities);
    Formatted {
        text: trimmed.to_owned(),
        entities,
    }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn ascii_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Index after the run of chars from `from` that satisfy `ok`.
fn run(chars: &[(usize, char)], from: usize, ok: impl Fn(char) -> bool) -> usize {
    let mut j = from;
    while j < chars.len() && ok(chars[j].1) {
        j += 1;
    }
    j
}

/// An auto-detected entity starting at char `i` (which follows a word boundary): kind and end.
fn detect_at(chars: &[(usize, char)], i: usize) -> Option<(&'static str, usize)> {
    match chars[i].1 {
        '/' => {
            let end = run(chars, i + 1, ascii_word);
            if end == i + 1 || end - i - 1 > 64 {
                return None;
            }
            let mut stop = end;
            if chars.get(end).is_some_and(|(_, c)| *c == '@') {
                let user_end = run(chars, end + 1, ascii_word);
                if user_end - end > 3 {
                    stop = user_end;
                }
            }
            Some(("bot_command", stop))
        }
        '@' => {
            let end = run(chars, i + 1, ascii_word);
            (5..=32)
                .contains(&(end - i - 1))
                .then_some(("mention", end))
        }
        '#' => {
            let end = run(chars, i + 1, is_word);
            (end > i + 1 && chars[i + 1..end].iter().any(|(_, c)| !c.is_ascii_digit()))
                .then_some(("hashtag", end))
        }
        'h' | 'H' => {
            let head: String = chars[i..chars.len().min(i + 8)]
                .iter()
                .map(|(_, c)| c.to_ascii_lowercase())
                .collect();
            let scheme = if head.starts_with("https://") {
                8
            } else if head.starts_with("http://") {
                7
            } else {
                return None;
            };
            let mut end = run(chars, i + scheme, |c| !c.is_whitespace());
            while end > i + scheme
                && matches!(
                    chars[end - 1].1,
                    '.' | ',' | ';' | ':' | '!' | '?' | ')' | '\'' | '"'
                )
            {
                end -= 1;
            }
            (end > i + scheme).then_some(("url", end))
        }
        _ => None,
    }
}

/// Add the entities Telegram's server finds on its own, outside code, pre and links.
pub fn detect_entities(f: &mut Formatted) {
    let mut pos = 0;
    let chars: Vec<(usize, char)> = f
        .text
        .chars()
        .map(|c| {
            let at = pos;
            pos += c.len_utf16();
            (at, c)
        })
        .collect();
    let offset = |i: usize| chars.get(i).map_or(pos, |(o, _)| *o);
    let blocking: Vec<(usize, usize)> = f
        .entities
        .iter()
        .filter(|e| {
            matches!(
                e.kind.as_str(),
                "code" | "pre" | "text_link" | "custom_emoji"
            )
        })
        .map(|e| (e.offset, e.offset.saturating_add(e.length)))
        .collect();
    let mut i = 0;
    while i < chars.len() {
        let boundary = i == 0 || {
            let p = chars[i - 1].1;
            !is_word(p) && !matches!(p, '/' | '@' | '#')
        };
        let Some((kind, end)) = boundary.then(|| detect_at(&chars, i)).flatten() else {
            i += 1;
            continue;
        };
        let (s, t) = (offset(i), offset(end));
        if blocking.iter().all(|(bs, bt)| t <= *bs || s >= *bt) {
            f.entities.push(Entity::new(kind, s, t - s));
        }
        i = end;
    }
    sort_entities(&mut f.entities);
}
