//! What tests observe: the call log, uploads, and chats as the user sees them.
//!
//! These are plain snapshots (owned values); `World` reads them out of the state under the lock.

use std::time::SystemTime;

use bytes::Bytes;
use serde_json::Value;
use tokio::time::Instant;

use super::error::ApiError;
use super::state::{ConvKey, MsgRec, Sender, State};
use super::text::Entity;

/// A bot registered with `FakeTelegram::add_bot`; the number is the bot's user id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BotId(pub i64);

/// How an API call ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Still running (a long poll, or a request being handled).
    Pending,
    /// `{"ok":true,"result":..}`.
    Ok(Value),
    /// `{"ok":false,..}`.
    Err(ApiError),
    /// The client went away before the answer was ready.
    Abandoned,
}

/// One API call as the server saw it.
#[derive(Clone, Debug)]
pub struct Call {
    /// Position in the log (0-based, in arrival order).
    pub seq: u64,
    /// The bot whose token was used (`None` for an unknown token).
    pub bot: Option<BotId>,
    /// Method name in Telegram's spelling (`sendMessage`), whatever case the client used.
    pub method: String,
    /// Parameters (files are not included; see `uploads`).
    pub params: Value,
    /// Result or error.
    pub outcome: Outcome,
    /// Wall-clock arrival time.
    pub at: SystemTime,
    /// Arrival on tokio's clock (follows `tokio::time::pause`).
    pub started: Instant,
    /// When the answer was sent.
    pub finished: Option<Instant>,
}

impl Call {
    /// Whether this is a call of `method` (case-insensitive).
    pub fn is(&self, method: &str) -> bool {
        self.method.eq_ignore_ascii_case(method)
    }

    /// A parameter as text.
    pub fn param_str(&self, name: &str) -> Option<String> {
        match self.params.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    /// A parameter as an integer (numbers or numeric strings).
    pub fn param_i64(&self, name: &str) -> Option<i64> {
        match self.params.get(name)? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// A JSON parameter (objects, or strings holding JSON as form requests send them).
    pub fn param_json(&self, name: &str) -> Option<Value> {
        match self.params.get(name)? {
            Value::String(s) => serde_json::from_str(s).ok(),
            Value::Null => None,
            other => Some(other.clone()),
        }
    }

    /// `chat_id` as a number.
    pub fn chat_id(&self) -> Option<i64> {
        self.param_i64("chat_id")
    }

    /// The `result` of a successful call.
    pub fn result(&self) -> Option<&Value> {
        match &self.outcome {
            Outcome::Ok(v) => Some(v),
            _ => None,
        }
    }

    /// The error of a refused call.
    pub fn error(&self) -> Option<&ApiError> {
        match &self.outcome {
            Outcome::Err(e) => Some(e),
            _ => None,
        }
    }

    /// Whether the call succeeded.
    pub fn succeeded(&self) -> bool {
        matches!(self.outcome, Outcome::Ok(_))
    }
}

/// A file a bot uploaded (multipart), as received.
#[derive(Clone, Debug)]
pub struct Upload {
    /// Uploading bot.
    pub bot: BotId,
    /// `sendDocument`, `sendPhoto`, ...
    pub method: String,
    /// Chat it was sent to.
    pub chat_id: i64,
    /// Message that carries it.
    pub message_id: i32,
    /// `file_id` assigned by the fake.
    pub file_id: String,
    /// File name from the multipart part (teloxide sends `""` for unnamed memory files).
    pub file_name: Option<String>,
    /// MIME type from the part header or guessed from the name.
    pub mime: Option<String>,
    /// The bytes.
    pub data: Bytes,
}

/// An inline keyboard button.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Button {
    /// Label.
    pub text: String,
    /// `callback_data`, if a callback button.
    pub callback_data: Option<String>,
    /// `url`, if a link button.
    pub url: Option<String>,
    /// `style` (`primary`, `success`, `danger`; Bot API 9.4), if set.
    pub style: Option<String>,
    /// `disabled: true` (Bot API 10.3): shown greyed out, pressing it does nothing.
    pub disabled: bool,
}

/// One `sendMessageDraft` update as the server accepted it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DraftView {
    /// `draft_id` (the same id animates one preview).
    pub draft_id: i64,
    /// `message_thread_id` (a topic of the private chat), if any.
    pub thread_id: Option<i32>,
    /// Plain text after parsing (empty: Telegram's "Thinking…" placeholder).
    pub text: String,
    /// Entities of `text`.
    pub entities: Vec<Entity>,
    /// `can_stop`: the user sees a Stop button.
    pub can_stop: bool,
    /// `keep_on_stop`: a stopped draft stays in the chat as a message.
    pub keep_on_stop: bool,
    /// When the call arrived (tokio's clock, follows `tokio::time::pause`).
    pub at: Instant,
    /// This update is what the user sees now: the latest of its draft, less than 30 s old, and
    /// not yet replaced by a message or stopped.
    pub visible: bool,
}

/// Media attached to a message.
#[derive(Clone, Debug)]
pub struct MediaView {
    /// `photo`, `document`, `audio`, `video`, `voice`.
    pub kind: &'static str,
    /// `file_id` (the largest size for photos).
    pub file_id: String,
    /// File name, if any.
    pub file_name: Option<String>,
    /// MIME type, if known.
    pub mime: Option<String>,
    /// The bytes.
    pub data: Bytes,
}

/// A message as the user sees it now (after parsing and edits).
#[derive(Clone, Debug)]
pub struct MessageView {
    /// Chat.
    pub chat_id: i64,
    /// Message id.
    pub message_id: i32,
    /// Forum topic (`message_thread_id`).
    pub thread_id: Option<i32>,
    /// Sent by this bot.
    pub from_bot: Option<BotId>,
    /// Sent by this user.
    pub from_user: Option<i64>,
    /// `date` (Unix seconds).
    pub date: i64,
    /// Plain text after HTML parsing.
    pub text: Option<String>,
    /// Entities of `text`.
    pub entities: Vec<Entity>,
    /// Caption (media).
    pub caption: Option<String>,
    /// Entities of `caption`.
    pub caption_entities: Vec<Entity>,
    /// Attached media.
    pub media: Option<MediaView>,
    /// Inline keyboard (`{"inline_keyboard":[[..]]}`).
    pub reply_markup: Option<Value>,
    /// Explicit reply target.
    pub reply_to: Option<i32>,
    /// Quoted part of the replied message.
    pub quote: Option<String>,
    /// Number of successful edits.
    pub edit_count: u32,
    /// `edit_date` of the last edit.
    pub edit_date: Option<i64>,
    /// Deleted (no longer visible).
    pub deleted: bool,
    /// Pinned.
    pub pinned: bool,
    /// Emoji reactions set by bots.
    pub reactions: Vec<String>,
    /// Service message kind (`forum_topic_created`, ...).
    pub service: Option<String>,
}

impl MessageView {
    /// Text, or caption, or `""`.
    pub fn content(&self) -> &str {
        self.text
            .as_deref()
            .or(self.caption.as_deref())
            .unwrap_or("")
    }

    /// Whether the visible text or caption contains `needle`.
    pub fn contains(&self, needle: &str) -> bool {
        self.content().contains(needle)
    }

    /// Keyboard rows.
    pub fn buttons(&self) -> Vec<Vec<Button>> {
        let Some(rows) = self
            .reply_markup
            .as_ref()
            .and_then(|m| m.get("inline_keyboard"))
            .and_then(Value::as_array)
        else {
            return Vec::new();
        };
        rows.iter()
            .map(|row| {
                row.as_array()
                    .map(|r| {
                        r.iter()
                            .map(|b| Button {
                                text: b
                                    .get("text")
                                    .and_then(Value::as_str)
                                    .unwrap_or("")
                                    .to_owned(),
                                callback_data: b
                                    .get("callback_data")
                                    .and_then(Value::as_str)
                                    .map(str::to_owned),
                                url: b.get("url").and_then(Value::as_str).map(str::to_owned),
                                style: b.get("style").and_then(Value::as_str).map(str::to_owned),
                                disabled: b
                                    .get("disabled")
                                    .and_then(Value::as_bool)
                                    .unwrap_or(false),
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            })
            .collect()
    }

    /// All `callback_data` of the keyboard, row by row.
    pub fn callback_data(&self) -> Vec<String> {
        self.buttons()
            .into_iter()
            .flatten()
            .filter_map(|b| b.callback_data)
            .collect()
    }

    /// The substrings covered by entities of `kind` (e.g. every `bold` part).
    pub fn entity_texts(&self, kind: &str) -> Vec<String> {
        let (text, entities) = match &self.text {
            Some(t) => (t.as_str(), &self.entities),
            None => (
                self.caption.as_deref().unwrap_or(""),
                &self.caption_entities,
            ),
        };
        entities
            .iter()
            .filter(|e| e.kind == kind)
            .map(|e| e.slice(text))
            .collect()
    }
}

fn view_message(st: &State, m: &MsgRec) -> MessageView {
    let media = m.media.as_ref().and_then(|media| {
        let file = st.files.get(media.files.last()?)?;
        Some(MediaView {
            kind: media.kind.field(),
            file_id: file.file_id.clone(),
            file_name: file.file_name.clone(),
            mime: file.mime.clone(),
            data: file.data.clone(),
        })
    });
    MessageView {
        chat_id: m.chat_id,
        message_id: m.id,
        thread_id: m.thread_id,
        from_bot: match m.sender {
            Sender::Bot(b) => Some(BotId(b)),
            Sender::User(_) => None,
        },
        from_user: match m.sender {
            Sender::User(u) => Some(u),
            Sender::Bot(_) => None,
        },
        date: m.date,
        text: m.text.as_ref().map(|t| t.text.clone()),
        entities: m
            .text
            .as_ref()
            .map(|t| t.entities.clone())
            .unwrap_or_default(),
        caption: m.caption.as_ref().map(|t| t.text.clone()),
        caption_entities: m
            .caption
            .as_ref()
            .map(|t| t.entities.clone())
            .unwrap_or_default(),
        media,
        reply_markup: m.reply_markup.clone(),
        reply_to: m.reply_to,
        quote: m
            .quote
            .as_ref()
            .and_then(|q| q.get("text"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        edit_count: m.edits,
        edit_date: m.edit_date,
        deleted: m.deleted,
        pinned: m.pinned,
        reactions: m
            .reactions
            .iter()
            .filter_map(|r| r.get("emoji").and_then(Value::as_str).map(str::to_owned))
            .collect(),
        service: m.service.as_ref().map(|(k, _)| k.clone()),
    }
}

/// Read access to the whole fake, for `FakeTelegram::read` and `wait_until` closures.
pub struct World<'a> {
    pub(super) st: &'a State,
}

impl World<'_> {
    /// Every call so far, in arrival order.
    pub fn calls(&self) -> &[Call] {
        &self.st.calls
    }

    /// Calls of one method (case-insensitive).
    pub fn calls_of(&self, method: &str) -> Vec<&Call> {
        self.st.calls.iter().filter(|c| c.is(method)).collect()
    }

    /// Calls whose `chat_id` is `chat_id`.
    pub fn calls_for(&self, chat_id: i64) -> Vec<&Call> {
        self.st
            .calls
            .iter()
            .filter(|c| c.chat_id() == Some(chat_id))
            .collect()
    }

    /// Number of calls of `method` (including pending and failed ones).
    pub fn count(&self, method: &str) -> usize {
        self.st.calls.iter().filter(|c| c.is(method)).count()
    }

    fn conv(&self, bot: BotId, chat_id: i64) -> Option<&super::state::Conv> {
        let key: ConvKey = self.st.conv_key(bot.0, chat_id);
        self.st.convs.get(&key)
    }

    /// All messages of a chat as `bot` sees it, deleted ones included.
    pub fn messages(&self, bot: BotId, chat_id: i64) -> Vec<MessageView> {
        self.conv(bot, chat_id)
            .map(|c| {
                c.messages
                    .values()
                    .map(|m| view_message(self.st, m))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The messages still visible in the chat (not deleted), oldest first.
    pub fn visible_messages(&self, bot: BotId, chat_id: i64) -> Vec<MessageView> {
        self.messages(bot, chat_id)
            .into_iter()
            .filter(|m| !m.deleted)
            .collect()
    }

    /// Visible messages sent by the bot.
    pub fn bot_messages(&self, bot: BotId, chat_id: i64) -> Vec<MessageView> {
        self.visible_messages(bot, chat_id)
            .into_iter()
            .filter(|m| m.from_bot == Some(bot))
            .collect()
    }

    /// One message (also when deleted).
    pub fn message(&self, bot: BotId, chat_id: i64, message_id: i32) -> Option<MessageView> {
        self.conv(bot, chat_id)?
            .messages
            .get(&message_id)
            .map(|m| view_message(self.st, m))
    }

    /// Files uploaded by bots, in order.
    pub fn uploads(&self) -> &[Upload] {
        &self.st.uploads
    }

    /// Updates queued for the bot and not yet confirmed.
    pub fn pending_updates(&self, bot: BotId) -> usize {
        self.st.bots.get(&bot.0).map_or(0, |b| b.queue.len())
    }

    /// Commands for the default scope and no language: `(command, description)`.
    pub fn commands(&self, bot: BotId) -> Vec<(String, String)> {
        self.commands_for(bot, &serde_json::json!({"type": "default"}), "")
    }

    /// Commands for a scope object and language code.
    pub fn commands_for(&self, bot: BotId, scope: &Value, language: &str) -> Vec<(String, String)> {
        let key = (super::methods::bot::scope_key(scope), language.to_owned());
        self.st
            .bots
            .get(&bot.0)
            .and_then(|b| b.commands.get(&key))
            .map(|list| {
                list.iter()
                    .map(|c| {
                        let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
                        (s("command"), s("description"))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The chat action currently shown (it lasts 5 s or until the bot's next message).
    pub fn chat_action(&self, bot: BotId, chat_id: i64, thread: Option<i32>) -> Option<String> {
        let (action, until) = self
            .st
            .bots
            .get(&bot.0)?
            .chat_actions
            .get(&(chat_id, thread))?;
        (Instant::now() < *until).then(|| action.clone())
    }

    /// The text of the latest accepted `sendMessageDraft` in a chat (any thread and draft id,
    /// visible or not).
    pub fn draft(&self, bot: BotId, chat_id: i64) -> Option<String> {
        self.drafts(bot, chat_id).pop().map(|d| d.text)
    }

    /// Every accepted `sendMessageDraft` update in a chat (all threads), oldest first.
    pub fn drafts(&self, bot: BotId, chat_id: i64) -> Vec<DraftView> {
        let Some(b) = self.st.bots.get(&bot.0) else {
            return Vec::new();
        };
        b.drafts
            .iter()
            .enumerate()
            .filter(|(_, d)| d.chat_id == chat_id)
            .map(|(i, d)| DraftView {
                draft_id: d.draft_id,
                thread_id: d.thread_id,
                text: d.text.text.clone(),
                entities: d.text.entities.clone(),
                can_stop: d.can_stop,
                keep_on_stop: d.keep_on_stop,
                at: d.at,
                visible: b.draft_visible(i),
            })
            .collect()
    }

    /// The drafts on screen in `(chat, thread)`, one per draft id, oldest update first.
    pub fn visible_drafts(&self, bot: BotId, chat_id: i64, thread: Option<i32>) -> Vec<DraftView> {
        self.drafts(bot, chat_id)
            .into_iter()
            .filter(|d| d.visible && d.thread_id == thread)
            .collect()
    }

    /// The draft on screen in `(chat, thread)` (the most recently updated if several ids are).
    pub fn visible_draft(
        &self,
        bot: BotId,
        chat_id: i64,
        thread: Option<i32>,
    ) -> Option<DraftView> {
        self.visible_drafts(bot, chat_id, thread).pop()
    }

    /// Whether a callback query was answered (`None` if unknown).
    pub fn callback_answered(&self, query_id: &str) -> Option<bool> {
        self.st.callbacks.get(query_id).map(|c| c.answered)
    }

    /// The bytes of a stored file.
    pub fn file_bytes(&self, file_id: &str) -> Option<Bytes> {
        self.st.files.get(file_id).map(|f| f.data.clone())
    }
}
