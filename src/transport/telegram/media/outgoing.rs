//! How a file the agent sends goes out (§6.6): the bytes decide first, then the
//! extension. Still images become photos (up to Telegram's 10 MB photo limit),
//! MP4 videos videos, MP3/M4A audio, Ogg/Opus voice notes; everything else (and
//! anything Telegram refuses in its typed form) a document.

use crate::chat::media::mime;
use std::path::Path;

/// Largest photo `sendPhoto` accepts.
pub const PHOTO_LIMIT: u64 = 10 * 1024 * 1024;
/// Largest upload through the public Bot API.
pub const UPLOAD_LIMIT: u64 = 50 * 1024 * 1024;

/// The Bot API method a file is sent with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadKind {
    /// `sendPhoto`.
    Photo,
    /// `sendVideo`.
    Video,
    /// `sendAudio`.
    Audio,
    /// `sendVoice`.
    Voice,
    /// `sendDocument`.
    Document,
}

fn by_type(mime: &str, head: &[u8]) -> UploadKind {
    match mime {
        "image/jpeg" | "image/png" | "image/gif" | "image/webp" | "image/bmp" => UploadKind::Photo,
        "video/mp4" => UploadKind::Video,
        "audio/mpeg" | "audio/mp4" => UploadKind::Audio,
        // Voice notes must be Opus in Ogg; Vorbis and the rest go as documents.
        "audio/ogg" if head.windows(8).any(|w| w == b"OpusHead") => UploadKind::Voice,
        _ => UploadKind::Document,
    }
}

fn by_extension(path: &Path) -> UploadKind {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "jpg" | "jpeg" | "png" | "gif" | "webp" | "bmp" => UploadKind::Photo,
        "mp4" => UploadKind::Video,
        "mp3" | "m4a" => UploadKind::Audio,
        "ogg" | "oga" | "opus" => UploadKind::Voice,
        _ => UploadKind::Document,
    }
}

/// The upload kind for a file of `size` bytes whose first bytes are `head`
/// (up to [`mime::SNIFF_LEN`]).
pub fn upload_kind(path: &Path, head: &[u8], size: u64) -> UploadKind {
    let kind = match mime::magic(head) {
        // Text says nothing about the kind: a `.mp3` with text inside is not audio.
        Some("text/plain") => UploadKind::Document,
        Some(m) => by_type(m, head),
        None => by_extension(path),
    };
    if kind == UploadKind::Photo && size > PHOTO_LIMIT {
        return UploadKind::Document;
    }
    kind
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn bytes_first_then_extension() {
        let p = Path::new;
        assert_eq!(upload_kind(p("a.png"), PNG, 100), UploadKind::Photo);
        // A PNG named .bin is still a photo; a PDF named .png is not.
        assert_eq!(upload_kind(p("a.bin"), PNG, 100), UploadKind::Photo);
        assert_eq!(
            upload_kind(p("a.png"), b"%PDF-1.4", 100),
            UploadKind::Document
        );
        assert_eq!(
            upload_kind(p("a.png"), PNG, PHOTO_LIMIT + 1),
            UploadKind::Document
        );
        assert_eq!(
            upload_kind(p("v.mp4"), b"\0\0\0\x20ftypisom\0\0\x02\0", 9),
            UploadKind::Video
        );
        assert_eq!(
            upload_kind(p("q.mov"), b"\0\0\0\x20ftypqt  \0\0\x02\0", 9),
            UploadKind::Document
        );
        assert_eq!(
            upload_kind(p("s.mp3"), b"ID3\x04\0\0\0\0", 9),
            UploadKind::Audio
        );
        assert_eq!(
            upload_kind(
                p("n.ogg"),
                b"OggS\0\x02\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01\x13OpusHead",
                9
            ),
            UploadKind::Voice
        );
        assert_eq!(
            upload_kind(
                p("n.ogg"),
                b"OggS\0\x02\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01\x1e\x01vorbis",
                9
            ),
            UploadKind::Document
        );
        // Unknown bytes: the extension decides.
        let blob = [0u8, 1, 2, 250];
        assert_eq!(upload_kind(p("x.JPG"), &blob, 9), UploadKind::Photo);
        assert_eq!(upload_kind(p("x.m4a"), &blob, 9), UploadKind::Audio);
        assert_eq!(upload_kind(p("x.oga"), &blob, 9), UploadKind::Voice);
        assert_eq!(upload_kind(p("x.dat"), &blob, 9), UploadKind::Document);
        assert_eq!(
            upload_kind(p("notes.mp3"), b"just text", 9),
            UploadKind::Document
        );
        assert_eq!(
            upload_kind(p("report.pdf"), b"%PDF-1.7", 9),
            UploadKind::Document
        );
    }
}
