//! Received media: an `m.image`/`m.file`/`m.audio`/`m.video` event as the shared
//! [`Attachment`] (its media source — plain `mxc://` or the encrypted file's keys — kept
//! as JSON in `file_id`), fetched and decrypted through the SDK ([`MxFetch`]) into
//! `workspace/matrix_files/<date>/` by the shared media code.

use crate::chat::api::BoxFut;
use crate::chat::media::{Attachment, Fetch, MediaError};
use matrix_sdk::Client;
use matrix_sdk::media::{MediaFormat, MediaRequestParameters};
use matrix_sdk::ruma::events::room::MediaSource;
use matrix_sdk::ruma::events::room::message::{MessageType, OriginalSyncRoomMessageEvent};
use std::path::Path;

/// Largest file fetched (a whole file is held in memory while it is decrypted).
pub const DOWNLOAD_LIMIT: u64 = 50 * 1024 * 1024;

/// The caption of a media message (its body, unless that is just the file name).
pub fn caption(msg: &MessageType) -> String {
    let (body, filename) = match msg {
        MessageType::Image(c) => (&c.body, c.filename.as_ref()),
        MessageType::File(c) => (&c.body, c.filename.as_ref()),
        MessageType::Audio(c) => (&c.body, c.filename.as_ref()),
        MessageType::Video(c) => (&c.body, c.filename.as_ref()),
        _ => return String::new(),
    };
    match filename {
        Some(f) if f != body => body.clone(),
        _ => String::new(),
    }
}

/// The attachment of a media message, if it is one.
pub fn attachment(m: &OriginalSyncRoomMessageEvent) -> Option<Attachment> {
    let (kind, source, name, mime, size) = match &m.content.msgtype {
        MessageType::Image(c) => (
            "photo",
            &c.source,
            c.filename.clone().unwrap_or_else(|| c.body.clone()),
            c.info.as_ref().and_then(|i| i.mimetype.clone()),
            c.info.as_ref().and_then(|i| i.size).map(u64::from),
        ),
        MessageType::File(c) => (
            "document",
            &c.source,
            c.filename.clone().unwrap_or_else(|| c.body.clone()),
            c.info.as_ref().and_then(|i| i.mimetype.clone()),
            c.info.as_ref().and_then(|i| i.size).map(u64::from),
        ),
        MessageType::Audio(c) => (
            "audio",
            &c.source,
            c.filename.clone().unwrap_or_else(|| c.body.clone()),
            c.info.as_ref().and_then(|i| i.mimetype.clone()),
            c.info.as_ref().and_then(|i| i.size).map(u64::from),
        ),
        MessageType::Video(c) => (
            "video",
            &c.source,
            c.filename.clone().unwrap_or_else(|| c.body.clone()),
            c.info.as_ref().and_then(|i| i.mimetype.clone()),
            c.info.as_ref().and_then(|i| i.size).map(u64::from),
        ),
        _ => return None,
    };
    let unique: String = m
        .event_id
        .as_str()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(24)
        .collect();
    Some(Attachment {
        file_id: serde_json::to_string(&source_json(source)).ok()?,
        unique_id: unique,
        kind,
        file_name: Some(name).filter(|n| !n.trim().is_empty()),
        mime,
        size,
    })
}

fn source_json(source: &MediaSource) -> serde_json::Value {
    match source {
        MediaSource::Plain(uri) => serde_json::json!({"url": uri}),
        MediaSource::Encrypted(file) => serde_json::json!({"file": file}),
    }
}

fn source_from(json: &str) -> Option<MediaSource> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    if let Some(file) = v.get("file") {
        return serde_json::from_value(file.clone())
            .ok()
            .map(|f| MediaSource::Encrypted(Box::new(f)));
    }
    let url = v.get("url")?.as_str()?;
    Some(MediaSource::Plain(url.into()))
}

/// Fetches (and decrypts) media through the client.
#[derive(Debug)]
pub struct MxFetch {
    client: Client,
}

impl MxFetch {
    /// Fetches with `client`.
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

impl Fetch for MxFetch {
    fn limit(&self) -> u64 {
        DOWNLOAD_LIMIT
    }

    fn fetch<'a>(
        &'a self,
        att: &'a Attachment,
        dst: &'a Path,
    ) -> BoxFut<'a, Result<u64, MediaError>> {
        Box::pin(async move {
            let source = source_from(&att.file_id)
                .ok_or_else(|| MediaError::Download("not a Matrix media source".into()))?;
            let request = MediaRequestParameters {
                source,
                format: MediaFormat::File,
            };
            let data = self
                .client
                .media()
                .get_media_content(&request, false)
                .await
                .map_err(|e| MediaError::Download(e.to_string()))?;
            let len = data.len() as u64;
            if len > DOWNLOAD_LIMIT {
                return Err(MediaError::TooBig { size: Some(len) });
            }
            let path = dst.to_path_buf();
            tokio::task::spawn_blocking(move || {
                use std::io::Write;
                use std::os::unix::fs::OpenOptionsExt;
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)?;
                f.write_all(&data)?;
                f.sync_all()
            })
            .await
            .map_err(|e| MediaError::Download(e.to_string()))?
            .map_err(|source| MediaError::Storage {
                path: dst.to_path_buf(),
                source,
            })?;
            Ok(len)
        })
    }
}
