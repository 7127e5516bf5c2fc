//! The Telegram side of media: downloading a received file through the Bot API
//! ([`download`], at most 20 MB) and choosing how a file the agent sends goes out
//! ([`outgoing`]: photo, video, audio, voice or document). Storing, naming, type
//! detection, downscaling and transcription are shared ([`crate::chat::media`]).

pub mod download;
pub mod outgoing;

pub use outgoing::{UploadKind, upload_kind};

#[cfg(test)]
mod tests {
    use super::download::DOWNLOAD_LIMIT;
    use crate::chat::media::{Attachment, MediaError, receive};
    use crate::config::AgentConfig;
    use crate::transport::telegram::api::TgApi;
    use chrono::Utc;

    fn attachment(size: Option<u64>) -> Attachment {
        Attachment {
            file_id: "f".into(),
            unique_id: "u".into(),
            kind: "document",
            file_name: Some("huge.bin".into()),
            mime: None,
            size,
        }
    }

    #[tokio::test]
    async fn oversize_files_are_refused_before_anything_is_written() {
        let home = tempfile::tempdir().unwrap();
        let paths = crate::paths::Home::new(home.path()).main();
        // Nothing listens there: a refusal must not even ask the Bot API.
        let api = TgApi::new("1:x", "http://127.0.0.1:9").unwrap();
        let config = AgentConfig::default();
        let now = Utc::now();
        let dir = paths.telegram_files_dir();
        let err = receive(
            &api,
            &dir,
            &paths,
            &config,
            &attachment(Some(DOWNLOAD_LIMIT + 1)),
            now,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, MediaError::TooBig { size: Some(s) } if s == DOWNLOAD_LIMIT + 1));
        assert!(!dir.exists());
        let reply = err.user_message(crate::i18n::catalog("en"), DOWNLOAD_LIMIT);
        assert!(
            reply.contains("20.0 MB") && reply.contains("too big"),
            "{reply}"
        );
        // An unknown size is not a refusal by itself.
        let err = receive(&api, &dir, &paths, &config, &attachment(None), now)
            .await
            .unwrap_err();
        assert!(matches!(err, MediaError::Download(_)), "{err:?}");
        let day = dir.join(now.format("%Y-%m-%d").to_string());
        let left: Vec<_> = std::fs::read_dir(&day).unwrap().collect();
        assert!(
            left.is_empty(),
            "a failed download leaves nothing: {left:?}"
        );
    }
}
