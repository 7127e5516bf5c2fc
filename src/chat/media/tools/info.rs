//! `ductor media info <file>`: type (from the content), size, time, and the
//! dimensions of a picture or the duration and streams of a recording (through
//! `ffprobe` when it is installed).

use super::video::{RunError, probe};
use super::{Tools, shown, sniff};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use std::io::{BufReader, Seek, SeekFrom};

/// Width and height of the picture in `file` (of type `mime`), read from its header.
fn dimensions(file: &std::fs::File, mime: &str) -> Option<(u32, u32)> {
    if mime == "image/gif" {
        // Logical screen size: two little-endian u16 after `GIF89a`.
        use std::os::unix::fs::FileExt;
        let mut b = [0u8; 4];
        file.read_exact_at(&mut b, 6).ok()?;
        return Some((
            u32::from(u16::from_le_bytes([b[0], b[1]])),
            u32::from(u16::from_le_bytes([b[2], b[3]])),
        ));
    }
    let mut f = file.try_clone().ok()?;
    f.seek(SeekFrom::Start(0)).ok()?;
    image::ImageReader::new(BufReader::new(f))
        .with_guessed_format()
        .ok()?
        .into_dimensions()
        .ok()
}

/// What `ductor media info` prints for `raw`.
pub async fn info(tools: &Tools, raw: &str) -> Result<Value, String> {
    let opened = tools.open(raw)?;
    let mime = sniff(&opened)?;
    let modified = opened
        .file
        .metadata()
        .and_then(|m| m.modified())
        .ok()
        .map(|t| DateTime::<Utc>::from(t).to_rfc3339_opts(SecondsFormat::Secs, true));
    let mut out = json!({
        "path": opened.path,
        "relative": shown(tools.paths(), &opened.path),
        "name": opened.path.file_name().map(|n| n.to_string_lossy()),
        "mime": mime,
        "size": opened.size,
        "size_human": crate::util::human_size(opened.size),
        "modified": modified,
    });
    let picture = mime.starts_with("image/");
    if picture && let Some((w, h)) = dimensions(&opened.file, &mime) {
        out["width"] = json!(w);
        out["height"] = json!(h);
        return Ok(out);
    }
    if picture || mime.starts_with("audio/") || mime.starts_with("video/") {
        match probe(&opened.path).await {
            Ok(p) => {
                if let Some(v) = p.first_video() {
                    out["width"] = v["width"].clone();
                    out["height"] = v["height"].clone();
                }
                if !picture {
                    out["duration_seconds"] = p.duration().map_or(Value::Null, |d| json!(d));
                }
                out["media"] = p.summary();
            }
            Err(missing @ RunError::Missing(_)) => {
                out["note"] = json!(missing.message(tools.sandboxed));
            }
            Err(RunError::Failed(e)) => out["probe_error"] = json!(e),
        }
    }
    Ok(out)
}
