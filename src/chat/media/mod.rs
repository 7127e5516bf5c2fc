//! Media the user sends (§6.8), the same for every transport: [`receive`] fetches an
//! attachment (through the transport's [`Fetch`]) into `<files dir>/<YYYY-MM-DD>/`
//! (UTC) under a safe, collision-free name, detects its type from its bytes,
//! downscales large images and runs the configured transcription hook for
//! recordings; [`update_index`] then brings `_index.yaml` up to date. [`prompt_block`] turns
//! the result into the `[INCOMING FILE]` text the CLI reads.
//!
//! Owns the transport's files tree (`telegram_files/`, …). Never writes outside it,
//! never runs a CLI.

pub mod image;
pub mod index;
pub mod mime;
pub mod names;
pub mod order;
pub mod prompt;
pub mod temp;
pub mod tools;
pub mod transcribe;

use crate::chat::api::BoxFut;
use crate::config::AgentConfig;
use crate::i18n::Catalog;
use crate::paths::AgentPaths;
use chrono::{DateTime, Utc};
use std::io::Read;
use std::path::{Path, PathBuf};
use temp::TempFile;

pub use order::{Sequencer, Slot};
pub use prompt::prompt_block;

/// A file attached to a message, as its transport describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The transport's handle to fetch it (a Telegram `file_id`, a Matrix URI).
    pub file_id: String,
    /// A stable unique id (for file names).
    pub unique_id: String,
    /// `photo`, `document`, `voice`, `audio`, `video`, `video_note`, `sticker`.
    pub kind: &'static str,
    /// Original file name, when there is one.
    pub file_name: Option<String>,
    /// MIME type announced by the sender.
    pub mime: Option<String>,
    /// Size in bytes, when known.
    pub size: Option<u64>,
}

/// How a transport fetches the bytes of an attachment.
pub trait Fetch: Send + Sync {
    /// Largest file it can fetch, in bytes.
    fn limit(&self) -> u64;
    /// Writes the file of `att` into `dst` (created, must not exist), at most
    /// [`Fetch::limit`] bytes; returns the byte count.
    fn fetch<'a>(
        &'a self,
        att: &'a Attachment,
        dst: &'a Path,
    ) -> BoxFut<'a, Result<u64, MediaError>>;
}

/// Why a received file could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// Over the bot download limit; `size` when known.
    #[error("file is too big to download ({} bytes)", size.map_or_else(|| "unknown".to_owned(), |s| s.to_string()))]
    TooBig {
        /// Size in bytes, when known.
        size: Option<u64>,
    },
    /// The Bot API or the network failed.
    #[error("download failed: {0}")]
    Download(String),
    /// Writing to disk failed.
    #[error("cannot store {}: {source}", path.display())]
    Storage {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl MediaError {
    /// The one-line reply the user gets (`limit` = the transport's download limit).
    pub fn user_message(&self, text: &Catalog, limit: u64) -> String {
        let limit = prompt::human_size(limit);
        match self {
            Self::TooBig { size: Some(size) } => text.f(
                "media.too_big",
                &[("size", &prompt::human_size(*size)), ("limit", &limit)],
            ),
            Self::TooBig { size: None } => text.f("media.too_big_unknown", &[("limit", &limit)]),
            Self::Download(_) | Self::Storage { .. } => text.t("media.failed"),
        }
    }
}

/// Recordings get a transcript: audio or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaClass {
    /// Voice notes and audio files (`transcription.audio_command`).
    Audio,
    /// Videos and video notes (`transcription.video_command`).
    Video,
}

/// A file received and stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Absolute path of the stored file.
    pub path: PathBuf,
    /// The same path relative to the workspace (`<files dir>/<date>/<name>`).
    pub relative: String,
    /// MIME type detected from its content.
    pub mime: String,
    /// Size in bytes as stored.
    pub size: u64,
    /// Kind: `photo`, `document`, `voice`, `audio`, `video`, `video_note`, `sticker`.
    pub kind: &'static str,
    /// The sender's file name, when there was one.
    pub original_name: Option<String>,
    /// Transcript of a recording (from the configured hook).
    pub transcript: Option<String>,
    /// Why the configured hook gave no transcript (`None` when none is configured).
    pub transcript_error: Option<String>,
    /// New size `(width, height)` when the image was downscaled.
    pub resized: Option<(u32, u32)>,
}

impl Received {
    /// Whether this is a recording that a transcript belongs to.
    pub fn class(&self) -> Option<MediaClass> {
        classify(self.kind, &self.mime)
    }
}

fn classify(kind: &str, mime: &str) -> Option<MediaClass> {
    match kind {
        "voice" | "audio" => Some(MediaClass::Audio),
        "video" | "video_note" => Some(MediaClass::Video),
        "document" if mime.starts_with("audio/") => Some(MediaClass::Audio),
        "document" if mime.starts_with("video/") => Some(MediaClass::Video),
        _ => None,
    }
}

/// Brings `<files dir>/_index.yaml` up to date after files arrived (once per
/// received message or album); only date folders changed since it was written are
/// read again.
pub async fn update_index(files_dir: &Path, now: DateTime<Utc>) {
    let root = files_dir.to_path_buf();
    let index_root = root.clone();
    if let Err(e) = blocking(&root, move || {
        index::update(&index_root, now).map_err(std::io::Error::other)
    })
    .await
    {
        tracing::warn!(error = %e, "cannot update the media index");
    }
}

/// The first [`mime::SNIFF_LEN`] bytes of a file (for type detection).
pub fn read_head(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(mime::SNIFF_LEN);
    std::fs::File::open(path)?
        .take(mime::SNIFF_LEN as u64)
        .read_to_end(&mut buf)?;
    Ok(buf)
}

/// Runs blocking file work off the async threads.
async fn blocking<T: Send + 'static>(
    path: &Path,
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, MediaError> {
    let storage = |source| MediaError::Storage {
        path: path.to_owned(),
        source,
    };
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| storage(std::io::Error::other(e.to_string())))?
        .map_err(storage)
}

/// The extension a default name gets for a detected type.
fn default_ext(kind: &str, mime: &str) -> Option<&'static str> {
    match (kind, mime) {
        ("sticker", "application/gzip" | "application/x-tgsticker") => Some("tgs"),
        (_, "application/octet-stream") => None,
        _ => mime::extension_for(mime),
    }
}

/// Downscales `src` when it is a large still image; `(file, scaled)` to store.
async fn prepare_image(
    src: TempFile,
    dir: &Path,
    mime: &str,
    head: &[u8],
    config: &AgentConfig,
) -> (TempFile, Option<image::Scaled>) {
    if !image::eligible(mime, head) {
        return (src, None);
    }
    let out = TempFile::new(dir);
    let (from, to, mime_owned, image_config) = (
        src.path().to_owned(),
        out.path().to_owned(),
        mime.to_owned(),
        config.image.clone(),
    );
    let permit = image::DOWNSCALES.acquire().await;
    let result = tokio::task::spawn_blocking(move || {
        image::downscale(&from, &mime_owned, &to, &image_config)
    })
    .await;
    drop(permit);
    match result {
        Ok(Ok(Some(scaled))) => {
            tracing::debug!(
                width = scaled.width,
                height = scaled.height,
                "image downscaled"
            );
            (out, Some(scaled))
        }
        Ok(Ok(None)) => (src, None),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "cannot downscale an image; keeping the original");
            (src, None)
        }
        Err(e) => {
            tracing::warn!(error = %e, "image task failed; keeping the original");
            (src, None)
        }
    }
}

/// Runs the configured transcription hook for a recording.
async fn transcribe(
    class: Option<MediaClass>,
    path: &Path,
    paths: &AgentPaths,
    config: &AgentConfig,
) -> (Option<String>, Option<String>) {
    let command = match class {
        Some(MediaClass::Audio) => &config.transcription.audio_command,
        Some(MediaClass::Video) => &config.transcription.video_command,
        None => return (None, None),
    };
    if command.trim().is_empty() {
        return (None, None);
    }
    match transcribe::run(command, path, &paths.workspace(), transcribe::TIMEOUT).await {
        Ok(text) => (Some(text), None),
        Err(e) => {
            tracing::warn!(file = %path.display(), error = %e, "transcription failed");
            (None, Some(e.to_string()))
        }
    }
}

/// Fetches `att` into today's (UTC, from `now`) folder under `files_dir` and prepares
/// it for the CLI. Nothing is left behind on failure; a too-large file is refused
/// before anything is written.
pub async fn receive(
    fetch: &dyn Fetch,
    files_dir: &Path,
    paths: &AgentPaths,
    config: &AgentConfig,
    att: &Attachment,
    now: DateTime<Utc>,
) -> Result<Received, MediaError> {
    if let Some(size) = att.size
        && size > fetch.limit()
    {
        return Err(MediaError::TooBig { size: Some(size) });
    }
    let day = files_dir.join(now.format("%Y-%m-%d").to_string());
    let day_dir = day.clone();
    blocking(&day, move || std::fs::create_dir_all(&day_dir)).await?;
    let tmp = TempFile::new(&day);
    fetch.fetch(att, tmp.path()).await?;
    let tmp_path = tmp.path().to_owned();
    let head = blocking(tmp.path(), move || read_head(&tmp_path)).await?;
    let detected = mime::detect(&head, att.file_name.as_deref(), att.mime.as_deref());
    let (file, scaled) = if att.kind == "sticker" {
        (tmp, None)
    } else {
        prepare_image(tmp, &day, &detected, &head, config).await
    };
    let (mime, ext) = match &scaled {
        Some(s) => (s.mime.to_owned(), Some(s.ext)),
        None => (detected.clone(), default_ext(att.kind, &detected)),
    };
    let mut name = names::stored_name(att.kind, att.file_name.as_deref(), &att.unique_id, ext);
    if let Some(s) = &scaled {
        name = names::with_extension(&name, s.ext);
    }
    let (from, dir) = (file.path().to_owned(), day.clone());
    let path = blocking(&day, move || names::place(&from, &dir, &name)).await?;
    // `place` moved it; the original download (if an image was scaled) is dropped here.
    file.keep();
    let stored = path.clone();
    let size = blocking(&path, move || std::fs::metadata(&stored).map(|m| m.len())).await?;
    let relative = path
        .strip_prefix(paths.workspace())
        .map_or_else(|_| path.display().to_string(), |p| p.display().to_string());
    tracing::info!(kind = att.kind, file = %relative, size, mime, "received a file");
    let class = classify(att.kind, &mime);
    let (transcript, transcript_error) = transcribe(class, &path, paths, config).await;
    Ok(Received {
        path,
        relative,
        mime,
        size,
        kind: att.kind,
        original_name: att.file_name.clone(),
        transcript,
        transcript_error,
        resized: scaled.map(|s| (s.width, s.height)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recordings_by_kind_and_type() {
        assert_eq!(classify("voice", "audio/ogg"), Some(MediaClass::Audio));
        assert_eq!(classify("video_note", "video/mp4"), Some(MediaClass::Video));
        assert_eq!(classify("document", "audio/mpeg"), Some(MediaClass::Audio));
        assert_eq!(classify("document", "application/pdf"), None);
        assert_eq!(classify("photo", "image/jpeg"), None);
        assert_eq!(default_ext("sticker", "application/gzip"), Some("tgs"));
        assert_eq!(default_ext("document", OCTET), None);
        assert_eq!(default_ext("audio", "audio/mpeg"), Some("mp3"));
    }

    const OCTET: &str = mime::OCTET_STREAM;
}
