//! File names for received media (§6.8, §13.3): hostile names are made harmless,
//! missing names get a default from the kind and the file's unique id, and a name
//! already taken gets `_1`, `_2`, … before its extension. Placing a file never
//! overwrites anything and never leaves the target directory.

use std::io;
use std::path::{Path, PathBuf};

/// Longest stored name in characters (before a collision suffix).
pub const MAX_CHARS: usize = 120;
/// Longest stored name in bytes: file systems allow 255, leave room for `_NNN`.
const MAX_BYTES: usize = 200;
/// Collision suffixes tried before giving up.
const MAX_SUFFIX: u32 = 10_000;

fn forbidden(c: char) -> bool {
    matches!(c, '/' | '\\' | '<' | '>' | ':' | '"' | '|' | '?' | '*') || c.is_control()
}

/// Trims `_`, `.` and spaces from both ends.
fn trim(s: &str) -> &str {
    s.trim_matches(|c| matches!(c, '_' | '.' | ' '))
}

/// Cuts `s` to at most `chars` characters and `bytes` bytes.
fn cut(s: &str, chars: usize, bytes: usize) -> &str {
    let mut end = 0;
    for (n, (i, c)) in s.char_indices().enumerate() {
        if n >= chars || i + c.len_utf8() > bytes {
            break;
        }
        end = i + c.len_utf8();
    }
    &s[..end]
}

/// A safe file name: path separators, `<>:"|?*`, NUL and control characters become
/// `_`, runs of `_` collapse, `_ . space` are trimmed from both ends, at most
/// [`MAX_CHARS`] characters (a short extension survives the cut); `file` when nothing is left.
pub fn sanitize(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = if forbidden(c) { '_' } else { c };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    let name = trim(&out);
    if name.chars().count() <= MAX_CHARS && name.len() <= MAX_BYTES {
        return if name.is_empty() {
            "file".to_owned()
        } else {
            name.to_owned()
        };
    }
    let (stem, ext) = split_ext(name);
    let ext = ext.filter(|e| e.chars().count() <= 16);
    let cut_name = match ext {
        Some(ext) => {
            let room = MAX_CHARS - ext.chars().count() - 1;
            let stem = trim(cut(stem, room, MAX_BYTES - ext.len() - 1));
            format!("{stem}.{ext}")
        }
        None => trim(cut(name, MAX_CHARS, MAX_BYTES)).to_owned(),
    };
    let cut_name = trim(&cut_name);
    if cut_name.is_empty() {
        "file".to_owned()
    } else {
        cut_name.to_owned()
    }
}

/// `("name", Some("ext"))` for `name.ext`; a leading dot is not an extension.
pub fn split_ext(name: &str) -> (&str, Option<&str>) {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.is_empty() => (stem, Some(ext)),
        _ => (name, None),
    }
}

/// `name` with its extension replaced by `ext` (or added).
pub fn with_extension(name: &str, ext: &str) -> String {
    let (stem, _) = split_ext(name);
    format!("{stem}.{ext}")
}

/// The name a file gets: the sender's name when it has one (documents, audio, video),
/// else `<prefix>_<unique id>.<ext>` by kind. `ext` is the extension for the detected type.
pub fn stored_name(
    kind: &str,
    original: Option<&str>,
    unique_id: &str,
    ext: Option<&str>,
) -> String {
    if let Some(name) = original.filter(|n| !n.trim().is_empty())
        && matches!(kind, "document" | "audio" | "video")
    {
        return sanitize(name);
    }
    let (prefix, default_ext) = match kind {
        "photo" => ("photo", Some("jpg")),
        "voice" => ("voice", Some("ogg")),
        "audio" => ("audio", None),
        "video" => ("video", Some("mp4")),
        "video_note" => ("videonote", Some("mp4")),
        "sticker" => ("sticker", Some("webp")),
        "document" => ("doc", None),
        _ => ("file", None),
    };
    let base = format!("{prefix}_{}", sanitize(unique_id));
    match ext.or(default_ext) {
        Some(e) => sanitize(&format!("{base}.{e}")),
        None => sanitize(&base),
    }
}

/// `name` for attempt 0, then `stem_1.ext`, `stem_2.ext`, …
fn candidate(name: &str, n: u32) -> String {
    if n == 0 {
        return name.to_owned();
    }
    match split_ext(name) {
        (stem, Some(ext)) => format!("{stem}_{n}.{ext}"),
        (stem, None) => format!("{stem}_{n}"),
    }
}

/// Gives the finished temporary file `tmp` its final `name` in `dir` without replacing
/// an existing file (collisions get a suffix). `name` must come from [`sanitize`] or
/// [`stored_name`]; it is checked again so nothing lands outside `dir`.
/// Returns the final path; `tmp` is gone afterwards on success.
pub fn place(tmp: &Path, dir: &Path, name: &str) -> io::Result<PathBuf> {
    let safe = sanitize(name);
    for n in 0..MAX_SUFFIX {
        let path = dir.join(candidate(&safe, n));
        // A hard link never replaces an existing name: the check and the claim are one step.
        match std::fs::hard_link(tmp, &path) {
            Ok(()) => {
                std::fs::remove_file(tmp)?;
                return Ok(path);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                tracing::debug!(error = %e, "hard links unavailable; reserving the name instead");
                match std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&path)
                {
                    Ok(_) => {
                        std::fs::rename(tmp, &path)?;
                        return Ok(path);
                    }
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("no free name for {safe}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_are_defused() {
        assert_eq!(sanitize("../../etc/passwd"), "etc_passwd");
        assert_eq!(sanitize("a<b>c"), "a_b_c");
        assert_eq!(sanitize("x\0y\u{7}z.txt"), "x_y_z.txt");
        assert_eq!(
            sanitize(r#"C:\Users\me\"q"|w?*.doc"#),
            "C_Users_me_q_w_.doc"
        );
        assert_eq!(sanitize("a____b"), "a_b");
        assert_eq!(sanitize("  . report.pdf ._ "), "report.pdf");
        assert_eq!(sanitize(""), "file");
        assert_eq!(sanitize("..."), "file");
        assert_eq!(sanitize("/"), "file");
        assert_eq!(sanitize("..\\..\\"), "file");
        assert_eq!(sanitize("Grüße 😀.txt"), "Grüße 😀.txt");
    }

    #[test]
    fn long_names_are_cut_keeping_the_extension() {
        let long = format!("{}.pdf", "a".repeat(300));
        let s = sanitize(&long);
        assert_eq!(s.chars().count(), MAX_CHARS);
        assert!(s.ends_with("a.pdf"), "{s}");
        let no_ext = "b".repeat(300);
        assert_eq!(sanitize(&no_ext), "b".repeat(MAX_CHARS));
        // Multi-byte names stay within what file systems accept.
        let wide = format!("{}.txt", "漢".repeat(300));
        let s = sanitize(&wide);
        assert!(
            s.len() <= MAX_BYTES && s.ends_with("漢.txt"),
            "{} bytes",
            s.len()
        );
    }

    #[test]
    fn default_names_by_kind() {
        assert_eq!(
            stored_name("photo", None, "AQAD1", Some("jpg")),
            "photo_AQAD1.jpg"
        );
        assert_eq!(stored_name("voice", None, "u", None), "voice_u.ogg");
        assert_eq!(stored_name("document", None, "u", None), "doc_u");
        assert_eq!(stored_name("document", None, "u", Some("pdf")), "doc_u.pdf");
        assert_eq!(
            stored_name("document", Some("../x.pdf"), "u", None),
            "x.pdf"
        );
        assert_eq!(stored_name("audio", None, "u", Some("mp3")), "audio_u.mp3");
        assert_eq!(stored_name("video", None, "u", None), "video_u.mp4");
        assert_eq!(
            stored_name("video_note", None, "u", None),
            "videonote_u.mp4"
        );
        assert_eq!(
            stored_name("sticker", None, "u", Some("tgs")),
            "sticker_u.tgs"
        );
        assert_eq!(
            stored_name("photo", Some("ignored.png"), "u", Some("jpg")),
            "photo_u.jpg"
        );
        assert_eq!(
            stored_name("document", Some("  "), "u/../v", None),
            "doc_u_.._v"
        );
    }

    #[test]
    fn collisions_get_suffixes_and_nothing_is_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let write_tmp = |content: &str| {
            let tmp = dir.path().join(format!(".tmp-{content}"));
            std::fs::write(&tmp, content).unwrap();
            tmp
        };
        let first = place(&write_tmp("one"), dir.path(), "report.pdf").unwrap();
        let second = place(&write_tmp("two"), dir.path(), "report.pdf").unwrap();
        let third = place(&write_tmp("three"), dir.path(), "report.pdf").unwrap();
        let plain = place(&write_tmp("four"), dir.path(), "notes").unwrap();
        let plain2 = place(&write_tmp("five"), dir.path(), "notes").unwrap();
        let name = |p: &Path| p.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(name(&first), "report.pdf");
        assert_eq!(name(&second), "report_1.pdf");
        assert_eq!(name(&third), "report_2.pdf");
        assert_eq!(name(&plain2), "notes_1");
        assert_eq!(std::fs::read_to_string(&first).unwrap(), "one");
        assert_eq!(std::fs::read_to_string(&second).unwrap(), "two");
        assert_eq!(std::fs::read_to_string(&plain).unwrap(), "four");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| name(&e.unwrap().path()))
            .filter(|n| n.starts_with(".tmp"))
            .collect();
        assert!(left.is_empty(), "temporary files removed: {left:?}");
    }

    #[test]
    fn a_hostile_name_cannot_escape_the_directory() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("day");
        std::fs::create_dir(&dir).unwrap();
        let tmp = dir.join(".tmp");
        std::fs::write(&tmp, "x").unwrap();
        let path = place(&tmp, &dir, "../../escape.txt").unwrap();
        assert_eq!(path.parent().unwrap(), dir);
        assert!(!root.path().join("escape.txt").exists());
    }
}
