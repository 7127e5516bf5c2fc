//! Fetching a file from the Bot API: `getFile`, then a streamed download from
//! `{telegram_api_url}/file/bot{token}/{file_path}` into a temporary file, never
//! more than [`DOWNLOAD_LIMIT`] bytes.
//!
//! Transfers use their own HTTP client with a long timeout: the transport's client
//! is tuned for long polling (~45 s for a whole request), too short for 20 MB on a
//! slow link.

use crate::chat::media::MediaError;
use crate::transport::telegram::api::classify;
use futures_util::StreamExt;
use std::path::Path;
use std::time::Duration;
use teloxide::Bot;
use teloxide::prelude::Requester;
use teloxide::types::FileId;
use tokio::io::AsyncWriteExt;

/// Largest file a bot may download through the public Bot API (20 MB).
pub const DOWNLOAD_LIMIT: u64 = 20 * 1024 * 1024;
/// How long one upload or download may take.
pub const TRANSFER_TIMEOUT: Duration = Duration::from_mins(10);

/// teloxide fills a missing `file_size` with `u32::MAX`: that means "unknown".
pub fn known_size(size: Option<u64>) -> Option<u64> {
    size.filter(|s| *s != u64::from(u32::MAX))
}

/// A bot like `bot` (same token and API URL) whose client allows long transfers.
pub fn transfer_bot(bot: &Bot) -> Bot {
    match teloxide::net::default_reqwest_settings()
        .timeout(TRANSFER_TIMEOUT)
        .build()
    {
        Ok(client) => Bot::with_client(bot.token(), client).set_api_url(bot.api_url()),
        Err(e) => {
            tracing::warn!(error = %e, "cannot build a transfer client; using the default one");
            bot.clone()
        }
    }
}

fn too_big_reply(text: &str) -> bool {
    text.to_ascii_lowercase().contains("file is too big")
}

/// Downloads `file_id` into `dst` (created, must not exist); returns the byte count.
pub async fn fetch(bot: &Bot, file_id: &str, dst: &Path) -> Result<u64, MediaError> {
    let file = match bot.get_file(FileId(file_id.to_owned())).await {
        Ok(f) => f,
        Err(e) => {
            let reason = classify(&e).to_string();
            return Err(if too_big_reply(&reason) {
                MediaError::TooBig { size: None }
            } else {
                MediaError::Download(reason)
            });
        }
    };
    if let Some(size) = known_size(Some(u64::from(file.size)))
        && size > DOWNLOAD_LIMIT
    {
        return Err(MediaError::TooBig { size: Some(size) });
    }
    let storage = |e: std::io::Error| MediaError::Storage {
        path: dst.to_owned(),
        source: e,
    };
    let mut out = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dst)
        .await
        .map_err(storage)?;
    let transfer = transfer_bot(bot);
    let stream = teloxide::net::download_file_stream(
        transfer.client(),
        transfer.api_url(),
        transfer.token(),
        &file.path,
    );
    let mut stream = std::pin::pin!(stream);
    let mut written: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            MediaError::Download(classify(&teloxide::RequestError::Network(e.into())).to_string())
        })?;
        written += chunk.len() as u64;
        if written > DOWNLOAD_LIMIT {
            return Err(MediaError::TooBig { size: None });
        }
        out.write_all(&chunk).await.map_err(storage)?;
    }
    out.flush().await.map_err(storage)?;
    out.sync_all().await.map_err(storage)?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_sizes_and_refusals() {
        assert_eq!(known_size(Some(u64::from(u32::MAX))), None);
        assert_eq!(known_size(Some(5)), Some(5));
        assert!(too_big_reply("Bad Request: file is too big"));
        assert!(!too_big_reply("Bad Request: invalid file_id"));
    }
}
