//! File helpers: image dimensions from headers, MIME guesses from names, photo size sets.

use bytes::Bytes;

use super::state::State;

/// Telegram's limit for `getFile` (bot downloads).
pub const DOWNLOAD_LIMIT: usize = 20 * 1024 * 1024;
/// Telegram's limit for multipart uploads.
pub const UPLOAD_LIMIT: usize = 50 * 1024 * 1024;

fn be16(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_be_bytes([
        *d.get(at)?,
        *d.get(at + 1)?,
    ])))
}

fn le16(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_le_bytes([
        *d.get(at)?,
        *d.get(at + 1)?,
    ])))
}

fn be32(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(d.get(at..at + 4)?.try_into().ok()?))
}

fn le24(d: &[u8], at: usize) -> Option<u32> {
    Some(
        u32::from(*d.get(at)?) | u32::from(*d.get(at + 1)?) << 8 | u32::from(*d.get(at + 2)?) << 16,
    )
}

/// Width and height of a PNG, JPEG, GIF, BMP or WebP image; `None` if not an image.
pub fn image_dims(d: &[u8]) -> Option<(u32, u32)> {
    if d.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some((be32(d, 16)?, be32(d, 20)?));
    }
    if d.starts_with(b"GIF87a") || d.starts_with(b"GIF89a") {
        return Some((le16(d, 6)?, le16(d, 8)?));
    }
    if d.starts_with(b"BM") {
        let w = i32::from_le_bytes(d.get(18..22)?.try_into().ok()?);
        let h = i32::from_le_bytes(d.get(22..26)?.try_into().ok()?);
        return Some((w.unsigned_abs(), h.unsigned_abs()));
    }
    if d.starts_with(b"RIFF") && d.get(8..12) == Some(b"WEBP") {
        return match d.get(12..16)? {
            b"VP8X" => Some((le24(d, 24)? + 1, le24(d, 27)? + 1)),
            b"VP8 " => Some((le16(d, 26)? & 0x3fff, le16(d, 28)? & 0x3fff)),
            b"VP8L" => {
                let bits = u32::from_le_bytes(d.get(21..25)?.try_into().ok()?);
                Some(((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1))
            }
            _ => None,
        };
    }
    if d.starts_with(&[0xff, 0xd8]) {
        let mut i = 2;
        while i + 9 < d.len() {
            if d[i] != 0xff {
                i += 1;
                continue;
            }
            let marker = d[i + 1];
            if (0xc0..=0xcf).contains(&marker) && !matches!(marker, 0xc4 | 0xc8 | 0xcc) {
                return Some((be16(d, i + 7)?, be16(d, i + 5)?));
            }
            i += 2 + be16(d, i + 2)? as usize;
        }
    }
    None
}

/// MIME type Telegram would report for a file name.
pub fn guess_mime(file_name: &str) -> Option<&'static str> {
    let ext = file_name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "pdf" => "application/pdf",
        "txt" | "log" => "text/plain",
        "md" => "text/markdown",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "json" => "application/json",
        "xml" => "application/xml",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "tar" => "application/x-tar",
        "py" => "text/x-python",
        "js" => "text/javascript",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "svg" => "image/svg+xml",
        "mp3" => "audio/mpeg",
        "m4a" => "audio/mp4",
        "ogg" | "oga" | "opus" => "audio/ogg",
        "wav" => "audio/x-wav",
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        _ => return None,
    })
}

/// Extension of a file name (without dot), or `default`.
pub fn extension(file_name: Option<&str>, default: &str) -> String {
    file_name
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase())
        .filter(|e| !e.is_empty() && e.len() <= 8 && e.bytes().all(|b| b.is_ascii_alphanumeric()))
        .unwrap_or_else(|| default.to_owned())
}

fn fit(dims: (u32, u32), bound: u32) -> (u32, u32) {
    let (w, h) = dims;
    let longest = w.max(h).max(1);
    if longest <= bound {
        return dims;
    }
    let scale = |v: u32| ((u64::from(v) * u64::from(bound)) / u64::from(longest)).max(1) as u32;
    (scale(w), scale(h))
}

/// Register a photo as Telegram's size set (thumbnails first, the largest ≤ 1280 px last).
///
/// Every size carries the original bytes: the fake does not resample images.
pub fn register_photo(st: &mut State, data: &Bytes, dims: (u32, u32)) -> Vec<String> {
    let longest = dims.0.max(dims.1);
    let mut sizes: Vec<(u32, u32)> = [90, 320, 800]
        .into_iter()
        .filter(|b| longest > *b)
        .map(|b| fit(dims, b))
        .collect();
    sizes.push(fit(dims, 1280));
    sizes
        .into_iter()
        .map(|d| {
            st.register_file(
                "photos",
                "jpg",
                data.clone(),
                Some("image/jpeg".to_owned()),
                None,
                Some(d),
            )
        })
        .collect()
}
