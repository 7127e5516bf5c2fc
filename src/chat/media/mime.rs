//! MIME types from content: a small magic-byte table first, then the file name's
//! extension (which also refines generic containers such as ZIP, Ogg or plain
//! text), then what the sender announced, then `application/octet-stream`.

/// Bytes of a file's head worth reading for [`magic`] and [`detect`].
pub const SNIFF_LEN: usize = 4096;

/// The fallback type.
pub const OCTET_STREAM: &str = "application/octet-stream";

/// Extension (lower-case, without dot) → MIME type.
const BY_EXTENSION: &[(&str, &str)] = &[
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("png", "image/png"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("bmp", "image/bmp"),
    ("tif", "image/tiff"),
    ("tiff", "image/tiff"),
    ("heic", "image/heic"),
    ("avif", "image/avif"),
    ("svg", "image/svg+xml"),
    ("pdf", "application/pdf"),
    ("zip", "application/zip"),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    (
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
    ("odt", "application/vnd.oasis.opendocument.text"),
    ("ods", "application/vnd.oasis.opendocument.spreadsheet"),
    ("epub", "application/epub+zip"),
    ("jar", "application/java-archive"),
    ("apk", "application/vnd.android.package-archive"),
    ("gz", "application/gzip"),
    ("tgz", "application/gzip"),
    ("tgs", "application/x-tgsticker"),
    ("tar", "application/x-tar"),
    ("7z", "application/x-7z-compressed"),
    ("rar", "application/vnd.rar"),
    ("txt", "text/plain"),
    ("log", "text/plain"),
    ("md", "text/markdown"),
    ("csv", "text/csv"),
    ("tsv", "text/tab-separated-values"),
    ("html", "text/html"),
    ("htm", "text/html"),
    ("css", "text/css"),
    ("json", "application/json"),
    ("xml", "application/xml"),
    ("yaml", "application/yaml"),
    ("yml", "application/yaml"),
    ("toml", "application/toml"),
    ("py", "text/x-python"),
    ("js", "text/javascript"),
    ("ts", "text/x-typescript"),
    ("rs", "text/x-rust"),
    ("sh", "application/x-sh"),
    ("mp3", "audio/mpeg"),
    ("m4a", "audio/mp4"),
    ("aac", "audio/aac"),
    ("ogg", "audio/ogg"),
    ("oga", "audio/ogg"),
    ("opus", "audio/ogg"),
    ("flac", "audio/flac"),
    ("wav", "audio/wav"),
    ("mp4", "video/mp4"),
    ("m4v", "video/mp4"),
    ("mov", "video/quicktime"),
    ("webm", "video/webm"),
    ("mkv", "video/x-matroska"),
    ("avi", "video/x-msvideo"),
    ("ogv", "video/ogg"),
];

/// Preferred extension for a MIME type (used for default file names).
pub fn extension_for(mime: &str) -> Option<&'static str> {
    let base = mime.split(';').next().unwrap_or(mime).trim();
    let preferred = match base {
        "image/jpeg" => "jpg",
        "audio/ogg" => "ogg",
        "text/plain" => "txt",
        "video/mp4" => "mp4",
        "application/gzip" => "gz",
        "application/yaml" => "yaml",
        "text/html" => "html",
        "image/tiff" => "tiff",
        _ => {
            return BY_EXTENSION
                .iter()
                .find(|(_, m)| m.eq_ignore_ascii_case(base))
                .map(|(e, _)| *e);
        }
    };
    Some(preferred)
}

/// MIME type for a file name's extension.
pub fn from_extension(name: &str) -> Option<&'static str> {
    let (_, ext) = name.rsplit_once('.')?;
    let ext = ext.to_ascii_lowercase();
    BY_EXTENSION
        .iter()
        .find(|(e, _)| *e == ext)
        .map(|(_, m)| *m)
}

fn at(data: &[u8], offset: usize, magic: &[u8]) -> bool {
    data.get(offset..offset + magic.len()) == Some(magic)
}

fn contains(data: &[u8], needle: &[u8]) -> bool {
    data.windows(needle.len()).any(|w| w == needle)
}

/// ISO base media (`ftyp` box): MP4, M4A, `QuickTime`, HEIC, AVIF.
fn iso_media(data: &[u8]) -> Option<&'static str> {
    if !at(data, 4, b"ftyp") {
        return None;
    }
    let brand = data.get(8..12)?;
    Some(match brand {
        b"M4A " | b"M4B " | b"M4P " => "audio/mp4",
        b"qt  " => "video/quicktime",
        b"heic" | b"heix" | b"mif1" | b"msf1" => "image/heic",
        b"avif" | b"avis" => "image/avif",
        _ => "video/mp4",
    })
}

/// MPEG audio: an ID3 tag or an MPEG-1/2 layer III frame header.
fn mpeg_audio(data: &[u8]) -> Option<&'static str> {
    if data.starts_with(b"ID3") {
        return Some("audio/mpeg");
    }
    match *data {
        // ADTS (AAC): 12 sync bits, layer 00.
        [0xff, b, ..] if b & 0xf6 == 0xf0 => Some("audio/aac"),
        // MPEG audio frame: 11 sync bits, a layer, a valid bitrate and sample rate.
        [0xff, b, c, ..]
            if b & 0xe0 == 0xe0 && b & 0x06 != 0 && c & 0xf0 != 0xf0 && c & 0x0c != 0x0c =>
        {
            Some("audio/mpeg")
        }
        _ => None,
    }
}

/// Whether the head looks like text: valid UTF-8 (a cut last character allowed), no NUL,
/// few control characters.
fn looks_like_text(data: &[u8]) -> bool {
    if data.is_empty() || data.contains(&0) {
        return false;
    }
    let text = match std::str::from_utf8(data) {
        Ok(t) => t,
        // A multi-byte character cut at the end of the sniffed head is fine.
        Err(e) if e.error_len().is_none() && data.len() - e.valid_up_to() < 4 => {
            // Safe: `valid_up_to` is a character boundary.
            std::str::from_utf8(&data[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return false,
    };
    let controls = text
        .chars()
        .filter(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\x0c'))
        .count();
    controls * 100 <= text.chars().count()
}

/// The MIME type of an open file from its first [`SNIFF_LEN`] bytes, refined by
/// `name`. Reads at an offset: the file's position stays where it was.
pub fn sniff_file(file: &std::fs::File, name: Option<&str>) -> std::io::Result<String> {
    use std::os::unix::fs::FileExt;
    let mut head = vec![0; SNIFF_LEN];
    let n = file.read_at(&mut head, 0)?;
    head.truncate(n);
    Ok(detect(&head, name, None))
}

/// The MIME type of content whose first bytes are `head` (up to [`SNIFF_LEN`]), if the
/// bytes say so.
pub fn magic(head: &[u8]) -> Option<&'static str> {
    let d = head;
    let riff = |kind: &[u8]| d.starts_with(b"RIFF") && at(d, 8, kind);
    let found = if d.starts_with(&[0xff, 0xd8, 0xff]) {
        "image/jpeg"
    } else if d.starts_with(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if d.starts_with(b"GIF87a") || d.starts_with(b"GIF89a") {
        "image/gif"
    } else if riff(b"WEBP") {
        "image/webp"
    } else if riff(b"WAVE") {
        "audio/wav"
    } else if riff(b"AVI ") {
        "video/x-msvideo"
    } else if d.starts_with(b"BM") && at(d, 6, &[0, 0, 0, 0]) && d.len() >= 26 {
        "image/bmp"
    } else if d.starts_with(b"II*\0") || d.starts_with(b"MM\0*") {
        "image/tiff"
    } else if d.starts_with(b"%PDF-") {
        "application/pdf"
    } else if d.starts_with(b"PK\x03\x04") || d.starts_with(b"PK\x05\x06") {
        "application/zip"
    } else if d.starts_with(&[0x1f, 0x8b]) {
        "application/gzip"
    } else if d.starts_with(&[0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]) {
        "application/x-7z-compressed"
    } else if d.starts_with(b"Rar!\x1a\x07") {
        "application/vnd.rar"
    } else if at(d, 257, b"ustar") {
        "application/x-tar"
    } else if d.starts_with(b"OggS") {
        if contains(d, b"theora") {
            "video/ogg"
        } else {
            "audio/ogg"
        }
    } else if d.starts_with(b"fLaC") {
        "audio/flac"
    } else if d.starts_with(&[0x1a, 0x45, 0xdf, 0xa3]) {
        if contains(d, b"webm") {
            "video/webm"
        } else {
            "video/x-matroska"
        }
    } else if let Some(m) = iso_media(d).or_else(|| mpeg_audio(d)) {
        m
    } else if d.starts_with(b"SQLite format 3\0") {
        "application/vnd.sqlite3"
    } else if d.starts_with(b"\x7fELF") {
        "application/x-executable"
    } else if looks_like_text(d) {
        let start = String::from_utf8_lossy(&d[..d.len().min(512)]).to_ascii_lowercase();
        let start = start.trim_start_matches('\u{feff}').trim_start();
        if start.contains("<svg") && (start.starts_with("<?xml") || start.starts_with("<svg")) {
            "image/svg+xml"
        } else if start.starts_with("%!ps") {
            "application/postscript"
        } else {
            "text/plain"
        }
    } else {
        return None;
    };
    Some(found)
}

/// Whether a sniffed type is generic enough that a matching extension may refine it
/// (a `.docx` is a ZIP, a `.csv` is text, an `.opus` is Ogg).
fn refinable(sniffed: &str, by_ext: &str) -> bool {
    match sniffed {
        "application/zip" => by_ext.starts_with("application/"),
        "text/plain" => {
            by_ext.starts_with("text/")
                || matches!(
                    by_ext,
                    "application/json"
                        | "application/xml"
                        | "application/yaml"
                        | "application/toml"
                        | "application/x-sh"
                        | "image/svg+xml"
                )
        }
        "audio/ogg" => by_ext == "video/ogg",
        "video/mp4" => by_ext == "audio/mp4",
        "application/gzip" => by_ext == "application/x-tgsticker",
        _ => false,
    }
}

/// The best MIME type for a file: magic bytes of `head`, refined or replaced by the
/// extension of `name`, then the sender's `announced` type, then octet-stream.
pub fn detect(head: &[u8], name: Option<&str>, announced: Option<&str>) -> String {
    let by_ext = name.and_then(from_extension);
    let announced = announced
        .map(|m| m.split(';').next().unwrap_or(m).trim().to_ascii_lowercase())
        .filter(|m| m.contains('/') && m != OCTET_STREAM);
    match (magic(head), by_ext) {
        (Some(sniffed), Some(ext)) if refinable(sniffed, ext) => ext.to_owned(),
        (Some(sniffed), _) => sniffed.to_owned(),
        (None, Some(ext)) => ext.to_owned(),
        (None, None) => announced.unwrap_or_else(|| OCTET_STREAM.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_tail(head: &[u8]) -> Vec<u8> {
        let mut v = head.to_vec();
        v.resize(64, 0x55);
        v
    }

    #[test]
    fn magic_table() {
        let cases: &[(&[u8], &str)] = &[
            (b"\xff\xd8\xff\xe0\0\x10JFIF", "image/jpeg"),
            (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "image/png"),
            (b"GIF89a\x01\0\x01\0", "image/gif"),
            (b"RIFF\x24\0\0\0WEBPVP8 ", "image/webp"),
            (b"RIFF\x24\0\0\0WAVEfmt ", "audio/wav"),
            (b"BM\x3a\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0", "image/bmp"),
            (b"%PDF-1.7\n", "application/pdf"),
            (b"PK\x03\x04\x14\0", "application/zip"),
            (b"OggS\0\x02\0\0\0\0\0\0\0\0OpusHead", "audio/ogg"),
            (b"ID3\x04\0\0\0\0\0\0", "audio/mpeg"),
            (b"\xff\xfb\x90\x64\0", "audio/mpeg"),
            (b"\0\0\0\x20ftypisom\0\0\x02\0", "video/mp4"),
            (b"\0\0\0\x20ftypM4A \0\0\0\0", "audio/mp4"),
            (
                b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm",
                "video/webm",
            ),
            (b"\x1f\x8b\x08\0", "application/gzip"),
        ];
        for (head, want) in cases {
            assert_eq!(magic(&with_tail(head)), Some(*want), "{head:?}");
        }
        assert_eq!(
            magic("hello wörld\nline two\n".as_bytes()),
            Some("text/plain")
        );
        assert_eq!(
            magic(b"<?xml version=\"1.0\"?><svg xmlns=\"x\"/>"),
            Some("image/svg+xml")
        );
        assert_eq!(magic(&[0, 1, 2, 3, 200, 201]), None);
        assert_eq!(magic(b""), None);
    }

    #[test]
    fn text_cut_inside_a_character_is_still_text() {
        let mut head = "ääää".repeat(10).into_bytes();
        head.pop();
        assert_eq!(magic(&head), Some("text/plain"));
    }

    #[test]
    fn detection_order() {
        let png = with_tail(b"\x89PNG\r\n\x1a\n");
        // Bytes beat a lying name and a lying announcement.
        assert_eq!(
            detect(&png, Some("x.pdf"), Some("application/pdf")),
            "image/png"
        );
        // Generic containers are refined by a matching extension.
        let zip = with_tail(b"PK\x03\x04");
        assert_eq!(
            detect(&zip, Some("Report.DOCX"), None),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        );
        assert_eq!(detect(&zip, Some("photo.jpg"), None), "application/zip");
        assert_eq!(detect(b"a,b\n1,2\n", Some("t.csv"), None), "text/csv");
        assert_eq!(
            detect(b"{\"a\": 1}", Some("t.json"), None),
            "application/json"
        );
        // Unknown bytes: extension, then announcement, then octet-stream.
        let blob = [0u8, 1, 2, 3, 250];
        assert_eq!(
            detect(&blob, Some("a.mkv"), Some("x/y")),
            "video/x-matroska"
        );
        assert_eq!(
            detect(&blob, Some("a.unknown"), Some("Audio/X-Thing; q=1")),
            "audio/x-thing"
        );
        assert_eq!(detect(&blob, None, Some(OCTET_STREAM)), OCTET_STREAM);
        assert_eq!(detect(&blob, None, None), OCTET_STREAM);
    }

    #[test]
    fn extensions_for_types() {
        assert_eq!(extension_for("image/jpeg"), Some("jpg"));
        assert_eq!(extension_for("audio/ogg; codecs=opus"), Some("ogg"));
        assert_eq!(extension_for("application/pdf"), Some("pdf"));
        assert_eq!(extension_for("video/webm"), Some("webm"));
        assert_eq!(extension_for("application/x-unknown"), None);
        assert_eq!(from_extension("A.PNG"), Some("image/png"));
        assert_eq!(from_extension("noext"), None);
    }
}
