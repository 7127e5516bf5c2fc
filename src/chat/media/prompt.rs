//! The `[INCOMING FILE]` block the CLI reads for a received file (§6.8): where the
//! file is, what it is, the transcript of a recording (or why there is none), and
//! the user's caption.

use super::{MediaClass, Received};
use crate::i18n::Catalog;

/// Marker the block starts with (not translated: rule files may refer to it).
pub const HEADER: &str = "[INCOMING FILE]";

pub use crate::util::human_size;

/// Document types `ductor media read` extracts text from (plain text the CLIs read
/// themselves).
const READABLE: &[&str] = &[
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
];

/// The block for `r` received over Telegram; `caption` is what the user wrote with
/// the file (may be empty).
pub fn prompt_block(r: &Received, caption: &str, text: &Catalog) -> String {
    prompt_block_via(r, caption, "Telegram", text)
}

/// The block for `r` received over the transport named `via` (`Telegram`, `API`).
pub fn prompt_block_via(r: &Received, caption: &str, via: &str, text: &Catalog) -> String {
    let path = r.path.display().to_string();
    let mut lines = vec![
        HEADER.to_owned(),
        text.f("media.prompt_intro", &[("transport", via)]),
        text.f(
            "media.prompt_path",
            &[("path", &path), ("relative", &r.relative)],
        ),
        text.f("media.prompt_type", &[("mime", &r.mime)]),
        text.f("media.prompt_size", &[("size", &human_size(r.size))]),
    ];
    if let Some(name) = &r.original_name {
        lines.push(text.f("media.prompt_original", &[("name", name)]));
    }
    if let Some((w, h)) = r.resized {
        let (w, h) = (w.to_string(), h.to_string());
        lines.push(text.f("media.prompt_resized", &[("width", &w), ("height", &h)]));
    }
    if let Some(class) = r.class() {
        match (&r.transcript, &r.transcript_error) {
            (Some(t), _) => {
                lines.push(text.t("media.prompt_transcript"));
                lines.push(t.clone());
            }
            (None, Some(reason)) => {
                lines.push(text.f("media.prompt_transcript_failed", &[("reason", reason)]));
            }
            (None, None) => {
                let key = match class {
                    MediaClass::Audio => "transcription.audio_command",
                    MediaClass::Video => "transcription.video_command",
                };
                lines.push(text.f("media.prompt_no_transcriber", &[("setting", key)]));
            }
        }
    }
    // The agent's own tool for what it cannot open by itself (`ductor media`).
    if r.class() == Some(MediaClass::Video) {
        lines.push(text.f("media.prompt_tool_video", &[("path", &path)]));
    } else if READABLE.contains(&r.mime.as_str()) {
        lines.push(text.f("media.prompt_tool_read", &[("path", &path)]));
    }
    let caption = caption.trim();
    if caption.is_empty() {
        lines.push(text.t("media.prompt_no_caption"));
    } else {
        lines.push(text.f("media.prompt_caption", &[("text", caption)]));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn received(kind: &'static str, mime: &str) -> Received {
        Received {
            path: PathBuf::from("/home/u/.ductor/workspace/telegram_files/2025-05-01/x"),
            relative: "telegram_files/2025-05-01/x".into(),
            mime: mime.into(),
            size: 2048,
            kind,
            original_name: None,
            transcript: None,
            transcript_error: None,
            resized: None,
        }
    }

    #[test]
    fn document_with_caption() {
        let mut r = received("document", "application/pdf");
        r.original_name = Some("Q1 report.pdf".into());
        let block = prompt_block(&r, " summarise it ", crate::i18n::catalog("en"));
        assert!(block.starts_with("[INCOMING FILE]\nThe user sent you a file via Telegram"));
        for needle in [
            "/home/u/.ductor/workspace/telegram_files/2025-05-01/x",
            "telegram_files/2025-05-01/x)",
            "Type: application/pdf",
            "Size: 2.0 KB",
            "Original filename: Q1 report.pdf",
            "User message: summarise it",
        ] {
            assert!(block.contains(needle), "{needle} missing in:\n{block}");
        }
        assert!(!block.contains("ranscri"), "{block}");
        assert!(
            block.contains(
                "To read it: `ductor media read /home/u/.ductor/workspace/telegram_files/2025-05-01/x`."
            ),
            "{block}"
        );
        let api = prompt_block_via(&r, "", "API", crate::i18n::catalog("en"));
        assert!(api.contains("a file via API."), "{api}");
        let de = prompt_block_via(&r, "", "API", crate::i18n::catalog("de"));
        assert!(de.contains("über API"), "{de}");
    }

    #[test]
    fn recordings_carry_their_transcript_or_why_not() {
        let en = crate::i18n::catalog("en");
        let mut r = received("voice", "audio/ogg");
        let none = prompt_block(&r, "", en);
        assert!(none.contains("transcription.audio_command"), "{none}");
        assert!(none.contains("no message"), "{none}");
        r.transcript_error = Some("timed out after 300 s".into());
        assert!(prompt_block(&r, "", en).contains("timed out after 300 s"));
        r.transcript = Some("buy milk".into());
        let ok = prompt_block(&r, "", en);
        assert!(ok.contains("Transcript"), "{ok}");
        assert!(ok.contains("\nbuy milk\n"), "{ok}");
        assert!(!ok.contains("ductor media"), "{ok}");
        let video = received("document", "video/mp4");
        let block = prompt_block(&video, "", en);
        assert!(block.contains("transcription.video_command"), "{block}");
        assert!(block.contains("`ductor media video /home/u/"), "{block}");
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_size(12), "12 bytes");
        assert_eq!(human_size(48 * 1024 + 200), "48.2 KB");
        assert_eq!(human_size(21 * 1024 * 1024), "21.0 MB");
    }
}
