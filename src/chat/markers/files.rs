//! Files the agent asks to send with `<file:/abs/path>` tags.

use super::scan::{find_markers, remove};

/// Takes the `<file:…>` tags out of an agent's answer and returns the remaining text plus the
/// requested paths, in order of appearance.
///
/// Why: agents deliver files by naming them in their answer; the transport uploads them after the
/// text, and the tags must not be displayed.
///
/// The payload is a plain path (`<file:/tmp/a b.png>`, taken as written) or a `file:` URI
/// (`<file:file:///tmp/a%20b.png>` or `<file:///tmp/a%20b.png>`, percent-decoded). Tags in inline
/// code or code blocks are left alone. Resolving and checking the path is the caller's job. Lines
/// left blank are dropped as in [`extract_buttons`](super::extract_buttons); text without tags is
/// returned unchanged.
pub fn extract_file_tags(text: &str) -> (String, Vec<String>) {
    let markers = find_markers(text, "<file:", '>');
    let paths = markers
        .iter()
        .map(|(_, payload)| file_path(payload))
        .filter(|p| !p.trim().is_empty())
        .collect();
    let ranges: Vec<_> = markers.into_iter().map(|(range, _)| range).collect();
    (remove(text, &ranges), paths)
}

/// The path named by a tag payload.
fn file_path(payload: &str) -> String {
    let uri = payload
        .strip_prefix("file:")
        .or_else(|| payload.starts_with("//").then_some(payload));
    let Some(uri) = uri else {
        return payload.to_owned();
    };
    // `file://host/path`: keep the path; an empty or `localhost` host means this machine.
    let path = match uri.strip_prefix("//") {
        Some(rest) => rest.find('/').map_or(rest, |slash| &rest[slash..]),
        None => uri,
    };
    percent_decode(path).unwrap_or_else(|| path.to_owned())
}

/// Decodes `%XX` escapes; `None` if the result is not UTF-8 (the caller keeps the raw text).
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}
