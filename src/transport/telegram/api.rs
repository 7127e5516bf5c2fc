//! The Telegram Bot API client: teloxide's `Bot` with our timeouts and base URL, the
//! [`ChatApi`] the shared chat machinery writes through (messages, typing, reactions,
//! files), the [`Fetch`] it downloads media with, and the calls only the transport
//! makes (callback answers, the command menu). Every error is classified into
//! [`ApiError`]; button actions travel as their compact form (callback data).

use super::media::{self, UploadKind};
use crate::access::Opened;
use crate::address::{Address, MessageRef};
use crate::chat::api::{ApiError, BoxFut, ChatApi, OutMessage};
use crate::chat::media::{Attachment, Fetch, MediaError};
use crate::ops::{Button, Picture};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use teloxide::payloads::{
    AnswerCallbackQuerySetters, EditMessageCaptionSetters, EditMessageTextSetters,
    PinChatMessageSetters, SendAudioSetters, SendChatActionSetters, SendDocumentSetters,
    SendMessageSetters, SendPhotoSetters, SendVideoSetters, SendVoiceSetters,
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
    /// Chats whose server refused a draft (an older or self-hosted Bot API): their
    /// replies stream by edits from then on.
    no_drafts: Arc<Mutex<HashSet<i64>>>,
    /// The draft each chat (and topic) shows last.
    shown_drafts: Arc<Mutex<HashMap<DraftPlace, u64>>>,
}

/// Where a draft shows: chat and topic.
type DraftPlace = (i64, Option<i64>);

/// `sendMessageDraft` (Bot API 9.3+, `can_stop`/`keep_on_stop` 10.3), which teloxide
/// does not know: sent as a raw request that keeps teloxide's error mapping.
#[derive(Debug, Clone, serde::Serialize)]
struct SendMessageDraft {
    chat_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_thread_id: Option<i64>,
    draft_id: u64,
    text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    parse_mode: Option<&'static str>,
    can_stop: bool,
    keep_on_stop: bool,
}

/// `sendMessage` with a keyboard whose buttons carry a `style` (Bot API 9.4, which
/// teloxide does not know); servers that predate it ignore the field.
#[derive(Debug, Clone, serde::Serialize)]
struct SendStyled {
    chat_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_thread_id: Option<i64>,
    text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    parse_mode: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_parameters: Option<ReplyParameters>,
    reply_markup: serde_json::Value,
}

impl teloxide::requests::Payload for SendStyled {
    type Output = serde_json::Value;
    const NAME: &'static str = "SendMessage";
}

/// `editMessageText` with a styled keyboard (see [`SendStyled`]).
#[derive(Debug, Clone, serde::Serialize)]
struct EditStyled {
    chat_id: i64,
    message_id: i32,
    text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    parse_mode: Option<&'static str>,
    reply_markup: serde_json::Value,
}

impl teloxide::requests::Payload for EditStyled {
    type Output = serde_json::Value;
    const NAME: &'static str = "EditMessageText";
}

/// A keyboard as the Bot API's JSON, with the buttons' styles.
fn styled_markup(keyboard: &[Vec<Button>]) -> serde_json::Value {
    let rows: Vec<Vec<serde_json::Value>> = keyboard
        .iter()
        .map(|row| {
            row.iter()
                .map(|b| {
                    let mut v = match b.url() {
                        Some(url) => serde_json::json!({ "text": b.label, "url": url }),
                        None => serde_json::json!({
                            "text": b.label, "callback_data": b.action.encode()
                        }),
                    };
                    if let Some(s) = b.style {
                        v["style"] = serde_json::Value::from(s.as_str());
                    }
                    v
                })
                .collect()
        })
        .collect();
    serde_json::json!({ "inline_keyboard": rows })
}

/// The keyboard of `msg` when any of its buttons has a style.
fn styled(msg: &OutMessage) -> Option<serde_json::Value> {
    let k = msg.buttons.as_ref()?;
    k.iter()
        .flatten()
        .any(|b| b.style.is_some())
        .then(|| styled_markup(k))
}

impl teloxide::requests::Payload for SendMessageDraft {
    type Output = bool;
    const NAME: &'static str = "SendMessageDraft";
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
        TgError::CantParseEntities(s) => ApiError::BadMarkup(s.clone()),
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
                ApiError::BadMarkup(s.clone())
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

/// A keyboard: links as URL buttons (a link Telegram could not take is left out),
/// every other button with its action as callback data.
fn markup(keyboard: &[Vec<Button>]) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(keyboard.iter().map(|row| {
        row.iter()
            .filter_map(|b| match b.url() {
                Some(url) => match reqwest::Url::parse(url) {
                    Ok(url) => Some(InlineKeyboardButton::url(b.label.clone(), url)),
                    Err(e) => {
                        tracing::warn!(url, error = %e, "a link button with a bad URL left out");
                        None
                    }
                },
                None => Some(InlineKeyboardButton::callback(
                    b.label.clone(),
                    b.action.encode(),
                )),
            })
            .collect::<Vec<_>>()
    }))
}

fn thread(to: &Address) -> Option<ThreadId> {
    to.topic_id.map(|t| ThreadId(MessageId(t as i32)))
}

/// A Telegram message id.
fn message_id(id: &MessageRef) -> Result<MessageId, ApiError> {
    id.as_i64()
        .and_then(|n| i32::try_from(n).ok())
        .map(MessageId)
        .ok_or_else(|| ApiError::NotFound(format!("`{id}` is not a Telegram message")))
}

fn reply_parameters(id: Option<&MessageRef>) -> Option<ReplyParameters> {
    let id = message_id(id?).ok()?;
    Some(ReplyParameters::new(id).allow_sending_without_reply())
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
            no_drafts: Arc::default(),
            shown_drafts: Arc::default(),
        })
    }

    /// The draft `chat_id` (topic `thread`) shows last, if any: a Stop press for
    /// another draft is stale.
    pub fn shown_draft(&self, chat_id: i64, thread: Option<i64>) -> Option<u64> {
        self.shown_drafts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(chat_id, thread))
            .copied()
    }

    /// The underlying teloxide bot.
    pub fn bot(&self) -> &Bot {
        &self.bot
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

    /// Pins message `id` in `chat_id` without notifying the members.
    pub async fn pin_silently(&self, chat_id: i64, id: &MessageRef) -> Result<(), ApiError> {
        self.bot
            .pin_chat_message(ChatId(chat_id), message_id(id)?)
            .disable_notification(true)
            .await
            .map(|_| ())
            .map_err(|e| classify(&e))
    }

    /// Leaves the group or channel `chat_id`.
    pub async fn leave_chat(&self, chat_id: i64) -> Result<(), ApiError> {
        self.bot
            .leave_chat(ChatId(chat_id))
            .await
            .map(|_| ())
            .map_err(|e| classify(&e))
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
    async fn upload(
        &self,
        to: &Address,
        opened: Opened,
        reply_to: Option<&MessageRef>,
    ) -> Result<MessageRef, ApiError> {
        let path = opened.path.clone();
        let size = opened.size;
        if size > media::outgoing::UPLOAD_LIMIT {
            return Err(ApiError::BadRequest(format!(
                "{} is over the 50 MB upload limit",
                path.display()
            )));
        }
        let head = file_head(&opened.file)
            .map_err(|e| ApiError::BadRequest(format!("cannot read {}: {e}", path.display())))?;
        let kind = media::upload_kind(&path, &head, size);
        let name = path
            .file_name()
            .map_or_else(|| "file".to_owned(), |n| n.to_string_lossy().into_owned());
        let bot = media::download::transfer_bot(&self.bot);
        let reply = reply_parameters(reply_to);
        // Every attempt reads the file that was checked, from its start: the path is
        // never opened again.
        let input = || -> Result<InputFile, ApiError> {
            let mut handle = opened.file.try_clone().map_err(|e| {
                ApiError::BadRequest(format!("cannot read {}: {e}", path.display()))
            })?;
            std::io::Seek::rewind(&mut handle).map_err(|e| {
                ApiError::BadRequest(format!("cannot read {}: {e}", path.display()))
            })?;
            Ok(InputFile::read(tokio::fs::File::from_std(handle)).file_name(name.clone()))
        };
        macro_rules! upload {
            ($method:ident) => {{
                let mut req = bot.$method(ChatId(to.chat_id), input()?);
                if let Some(t) = thread(to) {
                    req = req.message_thread_id(t);
                }
                if let Some(r) = reply.clone() {
                    req = req.reply_parameters(r);
                }
                req.await.map(|m| MessageRef::from(i64::from(m.id.0)))
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

/// The first bytes of an open file (for type detection), read without moving it.
fn file_head(file: &std::fs::File) -> std::io::Result<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    let mut head = vec![0u8; crate::chat::media::mime::SNIFF_LEN];
    let mut filled = 0;
    while filled < head.len() {
        match file.read_at(&mut head[filled..], filled as u64)? {
            0 => break,
            n => filled += n,
        }
    }
    head.truncate(filled);
    Ok(head)
}

/// The longest caption of a photo, in characters after entity parsing.
const CAPTION_LIMIT: usize = 1024;

impl TgApi {
    /// Replaces the caption (and buttons) of the picture message `id`.
    async fn edit_caption(
        &self,
        to: &Address,
        id: MessageId,
        msg: OutMessage,
    ) -> Result<(), ApiError> {
        let mut req = self
            .bot
            .edit_message_caption(ChatId(to.chat_id), id)
            .caption(msg.text);
        if msg.markup {
            req = req.parse_mode(ParseMode::Html);
        }
        if let Some(k) = &msg.buttons {
            req = req.reply_markup(markup(k));
        }
        req.await.map(|_| ()).map_err(|e| classify(&e))
    }

    /// `sendPhoto` of one of ductor's pictures, with `caption` (its text, buttons and
    /// reply target; an empty text: no caption).
    async fn send_photo_bytes(
        &self,
        to: &Address,
        picture: Picture,
        caption: OutMessage,
    ) -> Result<MessageRef, ApiError> {
        let bot = media::download::transfer_bot(&self.bot);
        let file = InputFile::memory(picture.bytes).file_name(picture.name);
        let mut req = bot.send_photo(ChatId(to.chat_id), file);
        if !caption.text.is_empty() {
            req = req.caption(caption.text);
            if caption.markup {
                req = req.parse_mode(ParseMode::Html);
            }
        }
        if let Some(t) = thread(to) {
            req = req.message_thread_id(t);
        }
        if let Some(r) = reply_parameters(caption.reply_to.as_ref()) {
            req = req.reply_parameters(r);
        }
        if let Some(k) = &caption.buttons {
            req = req.reply_markup(markup(k));
        }
        req.await
            .map(|m| MessageRef::from(i64::from(m.id.0)))
            .map_err(|e| classify(&e))
    }
}

impl ChatApi for TgApi {
    fn send<'a>(
        &'a self,
        to: &'a Address,
        msg: OutMessage,
    ) -> BoxFut<'a, Result<MessageRef, ApiError>> {
        Box::pin(async move {
            if let Some(reply_markup) = styled(&msg) {
                let payload = SendStyled {
                    chat_id: to.chat_id,
                    message_thread_id: to.topic_id,
                    text: msg.text,
                    parse_mode: msg.markup.then_some("HTML"),
                    reply_parameters: reply_parameters(msg.reply_to.as_ref()),
                    reply_markup,
                };
                let sent = teloxide::requests::JsonRequest::new(self.bot.clone(), payload)
                    .await
                    .map_err(|e| classify(&e))?;
                return sent
                    .get("message_id")
                    .and_then(serde_json::Value::as_i64)
                    .map(MessageRef::from)
                    .ok_or_else(|| ApiError::Network("a sent message without id".into()));
            }
            let mut req = self.bot.send_message(ChatId(to.chat_id), msg.text);
            if msg.markup {
                req = req.parse_mode(ParseMode::Html);
            }
            if let Some(t) = thread(to) {
                req = req.message_thread_id(t);
            }
            if let Some(r) = reply_parameters(msg.reply_to.as_ref()) {
                req = req.reply_parameters(r);
            }
            if let Some(k) = &msg.buttons {
                req = req.reply_markup(markup(k));
            }
            req.await
                .map(|m| MessageRef::from(i64::from(m.id.0)))
                .map_err(|e| classify(&e))
        })
    }

    fn edit<'a>(
        &'a self,
        to: &'a Address,
        id: &'a MessageRef,
        msg: OutMessage,
    ) -> BoxFut<'a, Result<(), ApiError>> {
        Box::pin(async move {
            let id = message_id(id)?;
            if let Some(reply_markup) = styled(&msg) {
                let payload = EditStyled {
                    chat_id: to.chat_id,
                    message_id: id.0,
                    text: msg.text,
                    parse_mode: msg.markup.then_some("HTML"),
                    reply_markup,
                };
                return teloxide::requests::JsonRequest::new(self.bot.clone(), payload)
                    .await
                    .map(|_| ())
                    .map_err(|e| classify(&e));
            }
            let mut req = self
                .bot
                .edit_message_text(ChatId(to.chat_id), id, msg.text.clone());
            if msg.markup {
                req = req.parse_mode(ParseMode::Html);
            }
            if let Some(k) = &msg.buttons {
                req = req.reply_markup(markup(k));
            }
            match req.await.map_err(|e| classify(&e)) {
                // A picture (the welcome screen) has a caption instead of a text.
                Err(ApiError::BadRequest(e)) if e.contains("no text in the message") => {
                    self.edit_caption(to, id, msg).await
                }
                other => other.map(|_| ()),
            }
        })
    }

    fn delete<'a>(
        &'a self,
        to: &'a Address,
        id: &'a MessageRef,
    ) -> BoxFut<'a, Result<(), ApiError>> {
        Box::pin(async move {
            let id = message_id(id)?;
            self.bot
                .delete_message(ChatId(to.chat_id), id)
                .await
                .map(|_| ())
                .map_err(|e| classify(&e))
        })
    }

    fn typing<'a>(&'a self, to: &'a Address) -> BoxFut<'a, ()> {
        Box::pin(async move {
            let mut req = self
                .bot
                .send_chat_action(ChatId(to.chat_id), ChatAction::Typing);
            if let Some(t) = thread(to) {
                req = req.message_thread_id(t);
            }
            if let Err(e) = req.await {
                tracing::debug!(error = %classify(&e), "typing action failed");
            }
        })
    }

    fn stop_button(&self, _to: &Address) -> bool {
        true
    }

    fn quiet_edits(&self) -> bool {
        true
    }

    fn drafts(&self, to: &Address) -> bool {
        // Drafts exist in private chats only (a private chat's id is the user's).
        to.chat_id > 0
            && !self
                .no_drafts
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .contains(&to.chat_id)
    }

    fn draft<'a>(
        &'a self,
        to: &'a Address,
        draft_id: u64,
        msg: OutMessage,
        stoppable: bool,
    ) -> BoxFut<'a, Result<(), ApiError>> {
        Box::pin(async move {
            let payload = SendMessageDraft {
                chat_id: to.chat_id,
                message_thread_id: to.topic_id,
                draft_id,
                text: msg.text,
                parse_mode: msg.markup.then_some("HTML"),
                can_stop: stoppable,
                // ductor keeps a stopped answer itself, marked as stopped.
                keep_on_stop: false,
            };
            let res = teloxide::requests::JsonRequest::new(self.bot.clone(), payload).await;
            match res.map_err(|e| classify(&e)) {
                Ok(_) => {
                    self.shown_drafts
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert((to.chat_id, to.topic_id), draft_id);
                    Ok(())
                }
                Err(e @ (ApiError::BadRequest(_) | ApiError::NotFound(_))) => {
                    tracing::info!(chat = to.chat_id, error = %e, "drafts refused here; streaming by edits in this chat");
                    self.no_drafts
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert(to.chat_id);
                    Err(e)
                }
                Err(e) => Err(e),
            }
        })
    }

    fn react<'a>(
        &'a self,
        to: &'a Address,
        id: &'a MessageRef,
        emoji: Option<&'a str>,
    ) -> BoxFut<'a, ()> {
        Box::pin(async move {
            let Ok(id) = message_id(id) else {
                return;
            };
            let reaction: Vec<ReactionType> = emoji
                .map(|e| ReactionType::Emoji {
                    emoji: e.to_owned(),
                })
                .into_iter()
                .collect();
            let req = self
                .bot
                .set_message_reaction(ChatId(to.chat_id), id)
                .reaction(reaction);
            if let Err(e) = req.await {
                tracing::debug!(error = %classify(&e), "reaction failed");
            }
        })
    }

    fn pin<'a>(&'a self, to: &'a Address, id: &'a MessageRef) -> BoxFut<'a, Result<(), ApiError>> {
        Box::pin(self.pin_silently(to.chat_id, id))
    }

    fn send_file<'a>(
        &'a self,
        to: &'a Address,
        file: Opened,
        reply_to: Option<MessageRef>,
    ) -> BoxFut<'a, Result<MessageRef, ApiError>> {
        Box::pin(async move { self.upload(to, file, reply_to.as_ref()).await })
    }

    fn caption_limit(&self) -> usize {
        CAPTION_LIMIT
    }

    fn is_group(&self, to: &Address) -> bool {
        // Groups, supergroups and channels have negative ids; private chats the user's.
        to.chat_id < 0
    }

    fn send_picture<'a>(
        &'a self,
        to: &'a Address,
        picture: Picture,
        caption: OutMessage,
    ) -> BoxFut<'a, Result<MessageRef, ApiError>> {
        Box::pin(self.send_photo_bytes(to, picture, caption))
    }
}

impl Fetch for TgApi {
    fn limit(&self) -> u64 {
        media::download::DOWNLOAD_LIMIT
    }

    fn fetch<'a>(
        &'a self,
        att: &'a Attachment,
        dst: &'a Path,
    ) -> BoxFut<'a, Result<u64, MediaError>> {
        Box::pin(media::download::fetch(&self.bot, &att.file_id, dst))
    }
}
