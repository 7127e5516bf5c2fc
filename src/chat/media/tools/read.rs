//! `ductor media read <file>`: the text of a document, bounded to [`MAX_TEXT`]
//! bytes. Plain text, Markdown, CSV, JSON and the like as they are; PDF through
//! `lopdf` (page by page, at most `--max-pages`; an encrypted PDF that needs a
//! password is refused); DOCX by reading `word/document.xml` out of the ZIP.
//! Anything else, or a file that is not what its type says, is an error.

use super::{Tools, shown, sniff};
use crate::access::Opened;
use serde_json::{Value, json};
use std::io::Read;

/// Most text returned (bytes); the rest is cut and `truncated` is set.
pub const MAX_TEXT: usize = 200 * 1024;
/// Largest PDF or DOCX read (bytes).
pub const MAX_DOCUMENT: u64 = 100 * 1024 * 1024;
/// Largest `word/document.xml` inflated (bytes).
const MAX_DOCX_XML: u64 = 64 * 1024 * 1024;
/// The DOCX type.
const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

/// Text collected up to [`MAX_TEXT`].
#[derive(Debug, Default)]
struct Bounded {
    text: String,
    truncated: bool,
}

impl Bounded {
    fn push(&mut self, s: &str) {
        if self.truncated {
            return;
        }
        let room = MAX_TEXT.saturating_sub(self.text.len());
        if s.len() <= room {
            self.text.push_str(s);
            return;
        }
        let mut cut = room;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        self.text.push_str(&s[..cut]);
        self.truncated = true;
    }
}

/// Whether `mime` is read as plain text.
fn is_text(mime: &str) -> bool {
    mime.starts_with("text/")
        || matches!(
            mime,
            "application/json"
                | "application/xml"
                | "application/yaml"
                | "application/toml"
                | "application/x-sh"
                | "image/svg+xml"
        )
}

/// What `ductor media read` prints for `raw`.
pub fn read(tools: &Tools, raw: &str, max_pages: u32) -> Result<Value, String> {
    let opened = tools.open(raw)?;
    let mime = sniff(&opened)?;
    let mut out = json!({
        "path": opened.path,
        "relative": shown(tools.paths(), &opened.path),
        "type": mime,
        "size": opened.size,
    });
    let body = if is_text(&mime) {
        text(&opened, raw)?
    } else if mime == "application/pdf" {
        pdf(&opened, raw, max_pages)?
    } else if mime == DOCX {
        docx(&opened, raw)?
    } else {
        return Err(format!(
            "{raw} is {mime}: `ductor media read` reads text files, PDF and DOCX \
             (use `ductor media info` for pictures and recordings)"
        ));
    };
    if let (Value::Object(out), Value::Object(body)) = (&mut out, body) {
        out.extend(body);
    }
    Ok(out)
}

/// A text file, as UTF-8 (a few invalid bytes are replaced).
fn text(opened: &Opened, raw: &str) -> Result<Value, String> {
    let mut bytes = Vec::new();
    (&opened.file)
        .take(MAX_TEXT as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {raw}: {e}"))?;
    if bytes.contains(&0) {
        return Err(format!("{raw} is not a text file (it holds binary data)"));
    }
    let truncated = bytes.len() > MAX_TEXT;
    bytes.truncate(MAX_TEXT);
    if truncated
        && let Err(e) = std::str::from_utf8(&bytes)
        && e.error_len().is_none()
    {
        // A character cut at the limit.
        bytes.truncate(e.valid_up_to());
    }
    let decoded = String::from_utf8_lossy(&bytes);
    let bad = decoded.chars().filter(|c| *c == '\u{fffd}').count();
    if bad > 4 && bad * 100 > decoded.chars().count() {
        return Err(format!("{raw} is not UTF-8 text"));
    }
    Ok(json!({ "text": decoded, "truncated": truncated }))
}

/// Reads a whole document into memory, refusing one over [`MAX_DOCUMENT`].
fn whole(opened: &Opened, raw: &str) -> Result<Vec<u8>, String> {
    if opened.size > MAX_DOCUMENT {
        return Err(format!(
            "{raw} is {}; documents over {} are not read",
            crate::util::human_size(opened.size),
            crate::util::human_size(MAX_DOCUMENT)
        ));
    }
    let mut bytes = Vec::new();
    (&opened.file)
        .take(MAX_DOCUMENT)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {raw}: {e}"))?;
    Ok(bytes)
}

/// How large one stream of a PDF may decompress to: a small file must not inflate
/// to gigabytes (a decompression bomb).
const PDF_STREAM_LIMIT: usize = 32 * 1024 * 1024;

/// The text of the first `max_pages` pages of a PDF.
fn pdf(opened: &Opened, raw: &str, max_pages: u32) -> Result<Value, String> {
    let bytes = whole(opened, raw)?;
    let options = lopdf::LoadOptions::with_max_decompressed_size(PDF_STREAM_LIMIT);
    let doc = lopdf::Document::load_mem_with_options(&bytes, options)
        .map_err(|e| format!("{raw} is not a readable PDF: {e}"))?;
    if doc.trailer.has(b"Encrypt") && !doc.was_encrypted() {
        return Err(format!(
            "{raw} is an encrypted PDF that needs a password: its text cannot be read"
        ));
    }
    let pages = doc.get_pages();
    let mut body = Bounded::default();
    let mut read = 0;
    let mut failures = Vec::new();
    for &number in pages.keys().take(max_pages as usize) {
        match doc.extract_text_with_limit(&[number], PDF_STREAM_LIMIT) {
            Ok(t) => {
                read += 1;
                body.push(&format!("--- page {number} ---\n{}\n", t.trim_end()));
            }
            Err(e) => failures.push(format!("page {number}: {e}")),
        }
        if body.truncated {
            break;
        }
    }
    if read == 0 && !failures.is_empty() {
        return Err(format!(
            "no page of {raw} could be read: {}",
            failures.join("; ")
        ));
    }
    let mut out = json!({
        "pages_total": pages.len(),
        "pages_read": read,
        "text": body.text,
        "truncated": body.truncated || pages.len() > max_pages as usize,
    });
    if !failures.is_empty() {
        out["page_errors"] = json!(failures);
    }
    if out["text"].as_str().is_some_and(|t| {
        t.lines()
            .all(|l| l.starts_with("--- page ") || l.trim().is_empty())
    }) {
        out["note"] = json!(
            "no text layer: the pages are probably scanned pictures (render them to read them)"
        );
    }
    Ok(out)
}

/// The paragraphs of a DOCX (`word/document.xml`).
fn docx(opened: &Opened, raw: &str) -> Result<Value, String> {
    if opened.size > MAX_DOCUMENT {
        return Err(format!("{raw} is too large to read"));
    }
    let mut zip = zip::ZipArchive::new(&opened.file).map_err(|e| {
        format!("{raw} is not a DOCX file (not a ZIP archive; a password-protected Word file is not one either): {e}")
    })?;
    let mut entry = zip
        .by_name("word/document.xml")
        .map_err(|e| format!("{raw} is not a Word document (no word/document.xml): {e}"))?;
    if entry.size() > MAX_DOCX_XML {
        return Err(format!("{raw}: word/document.xml is too large to read"));
    }
    let mut xml = String::new();
    (&mut entry)
        .take(MAX_DOCX_XML)
        .read_to_string(&mut xml)
        .map_err(|e| format!("{raw}: cannot read word/document.xml: {e}"))?;
    let (text, paragraphs) = docx_text(&xml).map_err(|e| format!("{raw}: {e}"))?;
    let mut body = Bounded::default();
    body.push(&text);
    Ok(json!({ "paragraphs": paragraphs, "text": body.text, "truncated": body.truncated }))
}

/// The text of a `WordprocessingML` body: runs (`w:t`), tabs, breaks, one line per
/// paragraph; table cells separated by tabs. Returns the text and the paragraph count.
fn docx_text(xml: &str) -> Result<(String, usize), String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut text = String::new();
    let mut paragraphs = 0;
    let mut in_run_text = false;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("word/document.xml is not well-formed XML: {e}"))?;
        match event {
            Event::Start(e) if e.name().as_ref() == "w:t" => in_run_text = true,
            Event::End(e) => match e.name().as_ref() {
                "w:t" => in_run_text = false,
                "w:p" => {
                    paragraphs += 1;
                    text.push('\n');
                }
                "w:tc" => {
                    if text.ends_with('\n') {
                        text.pop();
                    }
                    text.push('\t');
                }
                "w:tr" => text.push('\n'),
                _ => {}
            },
            Event::Empty(e) => match e.name().as_ref() {
                "w:tab" => text.push('\t'),
                "w:br" | "w:cr" => text.push('\n'),
                "w:p" => {
                    paragraphs += 1;
                    text.push('\n');
                }
                _ => {}
            },
            Event::Text(t) if in_run_text => text.push_str(&t.xml10_content()),
            Event::CData(t) if in_run_text => text.push_str(&t.into_inner()),
            Event::GeneralRef(r) if in_run_text => {
                let name = r.xml10_content();
                match r.resolve_char_ref() {
                    Ok(Some(c)) => text.push(c),
                    _ => match quick_xml::escape::resolve_predefined_entity(&name) {
                        Some(s) => text.push_str(s),
                        None => return Err(format!("unknown entity &{name};")),
                    },
                }
            }
            Event::Eof => break,
            _ => {}
        }
        if text.len() > MAX_TEXT * 2 {
            break;
        }
    }
    Ok((text, paragraphs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docx_body_to_text() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<w:document xmlns:w="x"><w:body>
<w:p><w:r><w:t>Fish &amp; chips</w:t></w:r><w:r><w:tab/><w:t xml:space="preserve"> for &#8364;5</w:t></w:r></w:p>
<w:p/>
<w:tbl><w:tr><w:tc><w:p><w:r><w:t>a</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>b</w:t></w:r></w:p></w:tc></w:tr></w:tbl>
<w:p><w:r><w:t>x</w:t><w:br/><w:t>y</w:t></w:r><w:r><w:instrText>IGNORED</w:instrText></w:r></w:p>
</w:body></w:document>"#;
        let (text, paragraphs) = docx_text(xml).unwrap();
        assert_eq!(text, "Fish & chips\t for \u{20ac}5\n\na\tb\t\nx\ny\n");
        assert_eq!(paragraphs, 5);
        assert!(docx_text("<w:p><w:t>a</w:p>").is_err());
    }

    #[test]
    fn bounded_text_cuts_at_a_character() {
        let mut b = Bounded::default();
        b.push(&"a".repeat(MAX_TEXT - 1));
        b.push("äb");
        assert!(b.truncated);
        assert_eq!(b.text.len(), MAX_TEXT - 1);
        b.push("more");
        assert_eq!(b.text.len(), MAX_TEXT - 1);
    }
}
