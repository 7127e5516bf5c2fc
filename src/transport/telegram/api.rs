//! The Telegram Bot API client: teloxide's `Bot` with our timeouts and base URL,
//! the [`ChatApi`] implementation used by the streaming editor, and the other calls
//! the transport makes (typing, reactions, callback answers, commands, files).
//! Every error is classified into [`ApiError`].

use super::media::{self, UploadKind};
use crate::transport::chat_api::{ApiError, BoxFut, Button, ChatApi, ChatTarget, OutMessage};
use std::path::Path;
use std::time::Duration;
use teloxide::payloads::{
    AnswerCallbackQuerySetters, EditMessageTextSetters, SendAudioSetters, SendChatActionSetters,
    SendDocumentSetters, SendMessageSetters, SendPhotoSetters, SendVideoSetters, SendVoiceSetters,
    SetMessageReactionSetters,
};
use teloxide::prelude::Requester;
use teloxide::types::{
    BotCommand, CallbackQueryId, ChatAction, ChatId, InlineKeyboardButton, InlineKeyboardMarkup,
    InputFile, MessageId, ParseMode, ReactionType, ReplyParameters, ThreadId,
};
use teloxide::{ApiError as TgError, Bot, RequestError};

/// Seconds a `getUpdates` long poll may wait on the server.
pub const POLL_TIMEOUT_SECS: u32 = 25;

/// The Telegram client of one agent.
#[derive(Debug, Clone)]
pub struct TgApi {
    bot: Bot,
}

/// Maps a teloxide error to our classification.
pub fn classify(err: &RequestError) -> ApiError {
    match err {
        RequestError::RetryAfter(secs) => {
            ApiError::RetryAfter(secs.duration().max(Duration::from_secs(1)))
        }
        RequestError::Api(api) => classify_api(api),
        RequestError::MigrateToChatId(id) => {
            ApiError::BadRequest(format!("group migrated to {id}"))
        }
        RequestError::Network(e) => ApiError::Network(e.without_url_ref()),
        RequestError::InvalidJson { source, .. } => {
            ApiError::Network(format!("invalid response: {source}"))
        }
        RequestError::Io(e) => ApiError::Network(e.to_string()),
    }
}

trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for std::sync::Arc<reqwest::Error> {
    fn without_url_ref(&self) -> String {
        // The URL contains the bot token: never let it into a message or log.
        let mut text = self.to_string();
        if let Some(url) = self.url() {
            text = text.replace(url.as_str(), "<telegram api>");
        }
        crate::logging::redact(&text)
    }
}

fn classify_api(api: &TgError) -> ApiError {
    match api {
        TgError::MessageNotModified => ApiError::NotModified,
        TgError::MessageToEditNotFound
        | TgError::MessageToDeleteNotFound
        | TgError::MessageToReplyNotFound
        | TgError::MessageIdInvalid
        | TgError::MessageCantBeEdited
        | TgError::MessageCantBeDeleted => ApiError::NotFound(api.to_string()),
        TgError::MessageIsTooLong | TgError::EditedMessageIsTooLong => ApiError::TooLong,
        TgError::CantParseEntities(s) => ApiError::BadHtml(s.clone()),
        TgError::BotBlocked
        | TgError::BotKicked
        | TgError::BotKickedFromSupergroup
        | TgError::BotKickedFromChannel
        | TgError::CantInitiateConversation
        | TgError::UserDeactivated
        | TgError::ChatNotFound
        | TgError::NotEnoughRightsToPostMessages => ApiError::Forbidden(api.to_string()),
        TgError::Unknown(s) => {
            let lower = s.to_ascii_lowercase();
            if lower.contains("not modified") {
                ApiError::NotModified
            } else if lower.contains("can't parse entities") {
                ApiError::BadHtml(s.clone())
            } else if lower.contains("not found") {
                ApiError::NotFound(s.clone())
            } else if lower.contains("too long") {
                ApiError::TooLong
            } else if lower.starts_with("forbidden") {
                ApiError::Forbidden(s.clone())
            } else {
                ApiError::BadRequest(s.clone())
            }
        }
        other => ApiError::BadRequest(other.to_string()),
    }
}

fn markup(keyboard: &[Vec<Button>]) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(keyboard.iter().map(|row| {
        row.iter()
            .map(|b| InlineKeyboardButton::callback(b.label.clone(), b.data.clone()))
            .collect::<Vec<_>>()
    }))
}

fn thread(to: ChatTarget) -> Option<ThreadId> {
    to.thread_id.map(|t| ThreadId(MessageId(t as i32)))
}

impl TgApi {
    /// A client for `token` talking to `api_url` (no trailing slash needed).
    pub fn new(token: &str, api_url: &str) -> Result<Self, String> {
        let client = teloxide::net::default_reqwest_settings()
            .timeout(Duration::from_secs(u64::from(POLL_TIMEOUT_SECS) + 20))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let url: reqwest::Url = api_url
            .trim_end_matches('/')
            .parse()
            .map_err(|e| format!("telegram_api_url `{api_url}` is not a URL: {e}"))?;
        Ok(Self {
            bot: Bot::with_client(token, client).set_api_url(url),
        })
    }

    /// The underlying teloxide bot.
    pub fn bot(&self) -> &Bot {
        &self.bot
    }

    /// Shows "typing…" in the chat (lasts ~5 s).
    pub async fn typing(&self, to: ChatTarget) {
        let mut req = self
            .bot
            .send_chat_action(ChatId(to.chat_id), ChatAction::Typing);
        if let Some(t) = thread(to) {
            req = req.message_thread_id(t);
        }
        if let Err(e) = req.await {
            tracing::debug!(error = %classify(&e), "typing action failed");
        }
    }

    /// Sets (or with `None` removes) the bot's reaction on a message.
    pub async fn react(&self, chat_id: i64, message_id: i64, emoji: Option<&str>) {
        let reaction: Vec<ReactionType> = emoji
            .map(|e| ReactionType::Emoji {
                emoji: e.to_owned(),
            })
            .into_iter()
            .collect();
        let req = self
            .bot
            .set_message_reaction(ChatId(chat_id), MessageId(message_id as i32))
            .reaction(reaction);
        if let Err(e) = req.await {
            tracing::debug!(error = %classify(&e), "reaction failed");
        }
    }

    /// Answers a callback query (stops the button's spinner).
    pub async fn answer_callback(&self, id: &str, text: Option<&str>) {
        let mut req = self
            .bot
            .answer_callback_query(CallbackQueryId(id.to_owned()));
        if let Some(t) = text {
            req = req.text(t);
        }
        if let Err(e) = req.await {
            tracing::debug!(error = %classify(&e), "answering a callback failed");
        }
    }

    /// Publishes the command menu.
    pub async fn set_commands(&self, commands: &[(&str, String)]) -> Result<(), ApiError> {
        let list: Vec<BotCommand> = commands
            .iter()
            .map(|(c, d)| BotCommand::new(*c, d.clone()))
            .collect();
        self.bot
            .set_my_commands(list)
            .await
            .map(|_| ())
            .map_err(|e| classify(&e))
    }

    /// Sends a file as a photo, video, audio, voice note or document, chosen by its
    /// bytes, then its extension (§6.6, [`media::upload_kind`]); a typed upload that
    /// Telegram refuses is retried as a document. Uses a client with a long timeout.
    pub async fn send_file(
        &self,
        to: ChatTarget,
        path: &Path,
        reply_to: Option<i64>,
    ) -> Result<i64, ApiError> {
        let (head, size) = file_head(path)
            .await
            .map_err(|e| ApiError::BadRequest(format!("cannot read {}: {e}", path.display())))?;
        if size > media::outgoing::UPLOAD_LIMIT {
            return Err(ApiError::BadRequest(format!(
                "{} is over the 50 MB upload limit",
                path.display()
            )));
        }
        let kind = media::upload_kind(path, &head, size);
        let bot = media::download::transfer_bot(&self.bot);
        let reply = reply_to
            .map(|id| ReplyParameters::new(MessageId(id as i32)).allow_sending_without_reply());
        macro_rules! upload {
            ($method:ident) => {{
                let mut req = bot.$method(ChatId(to.chat_id), InputFile::file(path));
                if let Some(t) = thread(to) {
                    req = req.message_thread_id(t);
                }
                if let Some(r) = reply.clone() {
                    req = req.reply_parameters(r);
                }
                req.await.map(|m| i64::from(m.id.0))
            }};
        }
        let typed = match kind {
            UploadKind::Photo => Some(upload!(send_photo)),
            UploadKind::Video => Some(upload!(send_video)),
            UploadKind::Audio => Some(upload!(send_audio)),
            UploadKind::Voice => Some(upload!(send_voice)),
            UploadKind::Document => None,
        };
        match typed {
            Some(Ok(id)) => return Ok(id),
            Some(Err(e)) => {
                let err = classify(&e);
                if matches!(err, ApiError::Forbidden(_)) {
                    return Err(err);
                }
                tracing::info!(?kind, error = %err, "typed upload refused; sending as document");
            }
            None => {}
        }
        upload!(send_document).map_err(|e| classify(&e))
    }
}

/// The first bytes of a file (for type detection) and its size.
async fn file_head(path: &Path) -> std::io::Result<(Vec<u8>, u64)> {
    use tokio::io::AsyncReadExt;
    let file = tokio::fs::File::open(path).await?;
    let size = file.metadata().await?.len();
    let mut head = Vec::with_capacity(media::mime::SNIFF_LEN);
    file.take(media::mime::SNIFF_LEN as u64)
        .read_to_end(&mut head)
        .await?;
    Ok((head, size))
}

impl ChatApi for TgApi {
    fn send(&self, to: ChatTarget, msg: OutMessage) -> BoxFut<'_, Result<i64, ApiError>> {
        Box::pin(async move {
            let mut req = self.bot.send_message(ChatId(to.chat_id), msg.text);
            if msg.html {
                req = req.parse_mode(ParseMode::Html);
            }
            if let Some(t) = thread(to) {
                req = req.message_thread_id(t);
            }
            if let Some(id) = msg.reply_to {
                req = req.reply_parameters(
                    ReplyParameters::new(MessageId(id as i32)).allow_sending_without_reply(),
                );
            }
            if let Some(k) = &msg.keyboard {
                req = req.reply_markup(markup(k));
            }
            req.await
                .map(|m| i64::from(m.id.0))
                .map_err(|e| classify(&e))
        })
    }

    fn edit(&self, to: ChatTarget, id: i64, msg: OutMessage) -> BoxFut<'_, Result<(), ApiError>> {
        Box::pin(async move {
            let mut req =
                self.bot
                    .edit_message_text(ChatId(to.chat_id), MessageId(id as i32), msg.text);
            if msg.html {
                req = req.parse_mode(ParseMode::Html);
            }
            if let Some(k) = &msg.keyboard {
                req = req.reply_markup(markup(k));
            }
            req.await.map(|_| ()).map_err(|e| classify(&e))
        })
    }

    fn delete(&self, to: ChatTarget, id: i64) -> BoxFut<'_, Result<(), ApiError>> {
        Box::pin(async move {
            self.bot
                .delete_message(ChatId(to.chat_id), MessageId(id as i32))
                .await
                .map(|_| ())
                .map_err(|e| classify(&e))
        })
    }
}
