//! Simulated users: messages, media, button presses, edits, reactions, and membership changes,
//! each turned into the updates Telegram would deliver.
//!
//! These are test-side actions: misuse (an unknown group, a button that is not there) is a bug
//! in the test and panics with a clear message.

use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};

use super::files::{guess_mime, image_dims, register_photo};
use super::json;
use super::methods::common::utf16_find;
use super::state::{
    CallbackRec, ChatKind, ConvKey, Media, MediaKind, MemberStatus, MsgRec, Sender, State,
    TopicRec, unix_now,
};
use super::text;

/// The user who speaks in groups unless a test says otherwise (`Alice`, `@alice`).
pub const DEFAULT_USER_ID: i64 = 1_000_001;

#[derive(Clone, Debug)]
enum Content {
    Text(String),
    File {
        kind: MediaKind,
        data: Bytes,
        file_name: Option<String>,
        mime: Option<String>,
        duration: Option<i64>,
    },
}

/// A message a simulated user sends; build it, then pass it to `FakeTelegram::user_sends`.
#[derive(Clone, Debug)]
pub struct Incoming {
    content: Content,
    caption: Option<String>,
    from: Option<i64>,
    thread: Option<i32>,
    reply_to: Option<i32>,
    quote: Option<String>,
    date: Option<i64>,
    album: Option<String>,
    forwarded_from: Option<String>,
    entities: Vec<Value>,
}

impl Incoming {
    fn new(content: Content) -> Self {
        Self {
            content,
            caption: None,
            from: None,
            thread: None,
            reply_to: None,
            quote: None,
            date: None,
            album: None,
            forwarded_from: None,
            entities: Vec::new(),
        }
    }

    /// A text message (commands, mentions and links get their entities as on Telegram).
    pub fn text(text: impl Into<String>) -> Self {
        Self::new(Content::Text(text.into()))
    }

    /// A document (file) with name and MIME type.
    pub fn document(data: impl Into<Bytes>, file_name: &str, mime: &str) -> Self {
        Self::new(Content::File {
            kind: MediaKind::Document,
            data: data.into(),
            file_name: Some(file_name.to_owned()),
            mime: Some(mime.to_owned()),
            duration: None,
        })
    }

    /// A photo (a `photo` array of sizes; dimensions read from the image header, else 1280×960).
    pub fn photo(data: impl Into<Bytes>) -> Self {
        Self::new(Content::File {
            kind: MediaKind::Photo,
            data: data.into(),
            file_name: None,
            mime: None,
            duration: None,
        })
    }

    /// A voice note (`audio/ogg`).
    pub fn voice(data: impl Into<Bytes>, duration_secs: i64) -> Self {
        Self::new(Content::File {
            kind: MediaKind::Voice,
            data: data.into(),
            file_name: None,
            mime: Some("audio/ogg".to_owned()),
            duration: Some(duration_secs),
        })
    }

    /// An audio file.
    pub fn audio(data: impl Into<Bytes>, file_name: &str, duration_secs: i64) -> Self {
        Self::new(Content::File {
            kind: MediaKind::Audio,
            data: data.into(),
            file_name: Some(file_name.to_owned()),
            mime: guess_mime(file_name).map(str::to_owned),
            duration: Some(duration_secs),
        })
    }

    /// A video.
    pub fn video(data: impl Into<Bytes>, file_name: &str, duration_secs: i64) -> Self {
        Self::new(Content::File {
            kind: MediaKind::Video,
            data: data.into(),
            file_name: Some(file_name.to_owned()),
            mime: Some("video/mp4".to_owned()),
            duration: Some(duration_secs),
        })
    }

    /// Caption of a media message.
    #[must_use]
    pub fn caption(mut self, caption: impl Into<String>) -> Self {
        self.caption = Some(caption.into());
        self
    }

    /// Sender in a group (private chats are always from the chat's user).
    #[must_use]
    pub fn from(mut self, user_id: i64) -> Self {
        self.from = Some(user_id);
        self
    }

    /// Forum topic (`message_thread_id`).
    #[must_use]
    pub fn in_thread(mut self, thread_id: i32) -> Self {
        self.thread = Some(thread_id);
        self
    }

    /// Reply to a message of the same chat (`reply_to_message` is filled in).
    #[must_use]
    pub fn reply_to(mut self, message_id: i32) -> Self {
        self.reply_to = Some(message_id);
        self
    }

    /// Quote part of the replied message (`quote`); it must occur in that message.
    #[must_use]
    pub fn quote(mut self, text: impl Into<String>) -> Self {
        self.quote = Some(text.into());
        self
    }

    /// Forwarded from a user who hides their account (`forward_origin` of type
    /// `hidden_user` with this name).
    #[must_use]
    pub fn forwarded_from(mut self, name: impl Into<String>) -> Self {
        self.forwarded_from = Some(name.into());
        self
    }

    /// Part of an album: messages with the same `media_group_id` (media only).
    #[must_use]
    pub fn in_album(mut self, media_group_id: impl Into<String>) -> Self {
        self.album = Some(media_group_id.into());
        self
    }

    /// An extra `MessageEntity` on the text (or caption), as raw JSON, e.g. a Bot API 9.5
    /// `{"type":"date_time","offset":0,"length":8,"unix_time":1767225600}`. It must carry
    /// `type`, `offset` and `length` and lie inside the text (checked when sent).
    #[must_use]
    pub fn with_entity(mut self, entity: Value) -> Self {
        self.entities.push(entity);
        self
    }

    /// A `date_time` entity (Bot API 9.5) over the first occurrence of `covered` in the text,
    /// meaning the moment `unix_time`.
    #[must_use]
    pub fn with_date_time(self, covered: &str, unix_time: i64) -> Self {
        let body = match &self.content {
            Content::Text(t) => t.trim(),
            Content::File { .. } => self.caption.as_deref().unwrap_or("").trim(),
        };
        let Some(offset) = utf16_find(body, covered) else {
            panic!("fake Telegram: {covered:?} does not occur in {body:?}");
        };
        let length = text::utf16_len(covered);
        self.with_entity(json!({
            "type": "date_time", "offset": offset, "length": length, "unix_time": unix_time,
        }))
    }

    /// `date` in Unix seconds.
    #[must_use]
    pub fn sent_at(mut self, unix_secs: i64) -> Self {
        self.date = Some(unix_secs);
        self
    }

    /// `date` this long ago (a message that arrived while the bot was down).
    #[must_use]
    pub fn sent_ago(mut self, ago: Duration) -> Self {
        self.date = Some(unix_now() - ago.as_secs() as i64);
        self
    }
}

/// A user message that was created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sent {
    /// Its `message_id` (for a created topic: the topic's `message_thread_id`).
    pub message_id: i32,
    /// The update queued for the addressed bot (`None` if privacy mode, membership or
    /// `allowed_updates` kept it from the bot).
    pub update_id: Option<i64>,
}

/// A button press that was created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pressed {
    /// `callback_query.id`, to be answered with `answerCallbackQuery`.
    pub query_id: String,
    /// The queued `callback_query` update.
    pub update_id: Option<i64>,
}

fn chat_user(st: &mut State, bot: i64, chat_id: i64, from: Option<i64>) -> (ConvKey, i64) {
    assert!(
        st.bots.contains_key(&bot),
        "fake Telegram: unknown bot id {bot}"
    );
    if chat_id > 0 {
        st.ensure_user(chat_id);
        let rec = st.bots.get_mut(&bot).expect("checked above");
        rec.opened_private.insert(chat_id);
        rec.blocked_by.remove(&chat_id);
        return (
            ConvKey {
                chat_id,
                bot: Some(bot),
            },
            chat_id,
        );
    }
    let Some(chat) = st.chats.get(&chat_id) else {
        panic!(
            "fake Telegram: unknown chat {chat_id}: create it with create_group/create_supergroup"
        );
    };
    assert!(
        chat.kind != ChatKind::Private,
        "fake Telegram: chat {chat_id} is private"
    );
    let user = from.unwrap_or(DEFAULT_USER_ID);
    st.ensure_user(user);
    st.bots
        .get_mut(&bot)
        .expect("checked above")
        .membership
        .entry(chat_id)
        .or_insert(MemberStatus::Member);
    (ConvKey { chat_id, bot: None }, user)
}

/// Whether a group message reaches a bot (privacy mode lets through commands, mentions, replies).
fn reaches(st: &State, bot: i64, m: &MsgRec) -> bool {
    let Some(b) = st.bots.get(&bot) else {
        return false;
    };
    let status = b.membership.get(&m.chat_id).copied();
    if !status.is_some_and(MemberStatus::is_present) {
        return false;
    }
    if b.reads_all_group_messages
        || status == Some(MemberStatus::Administrator)
        || m.service.is_some()
    {
        return true;
    }
    let mention = format!("@{}", b.username).to_ascii_lowercase();
    let body = m.text.as_ref().or(m.caption.as_ref());
    let addressed = body.is_some_and(|t| {
        t.entities.iter().any(|e| {
            let s = e.slice(&t.text).to_ascii_lowercase();
            (e.kind == "bot_command"
                && s.split_once('@')
                    .is_none_or(|(_, to)| format!("@{to}") == mention))
                || (e.kind == "mention" && s == mention)
        })
    });
    let key = ConvKey {
        chat_id: m.chat_id,
        bot: None,
    };
    let replies_to_bot = m
        .reply_to
        .and_then(|r| st.message(key, r))
        .is_some_and(|r| r.sender == Sender::Bot(bot));
    addressed || replies_to_bot
}

/// Store a user message and deliver it; returns the update id for `bot`.
fn deliver(st: &mut State, bot: i64, key: ConvKey, msg: MsgRec, kind: &str) -> Sent {
    let id = st.push_message(key, msg);
    let Some(m) = st.message(key, id).cloned() else {
        unreachable!("just stored")
    };
    let payload = json::message(st, key, &m);
    if key.bot.is_some() {
        let update_id = st.enqueue(bot, kind, payload);
        return Sent {
            message_id: id,
            update_id,
        };
    }
    let mut own = None;
    let members: Vec<i64> = st.bots.keys().copied().collect();
    for b in members {
        if reaches(st, b, &m) {
            let u = st.enqueue(b, kind, payload.clone());
            if b == bot {
                own = u;
            }
        }
    }
    Sent {
        message_id: id,
        update_id: own,
    }
}

/// A user message into a chat.
pub fn send(st: &mut State, bot: i64, chat_id: i64, inc: Incoming) -> Sent {
    let (key, user) = chat_user(st, bot, chat_id, inc.from);
    let mut m = MsgRec::new(
        chat_id,
        Sender::User(user),
        inc.date.unwrap_or_else(unix_now),
    );
    if let Some(t) = inc.thread {
        let known = st
            .chats
            .get(&chat_id)
            .is_some_and(|c| c.topics.contains_key(&t));
        assert!(
            known,
            "fake Telegram: chat {chat_id} has no topic {t} (use user_creates_topic)"
        );
        m.thread_id = Some(t);
    }
    if let Some(r) = inc.reply_to {
        let Some(target) = st.message(key, r) else {
            panic!("fake Telegram: message {r} does not exist in chat {chat_id}");
        };
        m.reply_to = Some(r);
        m.thread_id = m.thread_id.or(target.thread_id);
        if let Some(q) = inc.quote {
            let source = target
                .text
                .as_ref()
                .or(target.caption.as_ref())
                .map_or("", |t| t.text.as_str());
            let Some(position) = utf16_find(source, &q) else {
                panic!("fake Telegram: quote {q:?} does not occur in message {r}");
            };
            m.quote = Some(json!({ "text": q, "position": position, "is_manual": true }));
        }
    }
    if let Some(name) = inc.forwarded_from {
        m.forward_origin = Some(json!({
            "type": "hidden_user",
            "date": m.date - 60,
            "sender_user_name": name,
        }));
    }
    if let Some(group) = inc.album {
        assert!(
            !matches!(inc.content, Content::Text(_)),
            "fake Telegram: only media can be part of an album"
        );
        m.media_group_id = Some(group);
    }
    match inc.content {
        Content::Text(t) => m.text = Some(text::plain(&t)),
        Content::File {
            kind,
            data,
            file_name,
            mime,
            duration,
        } => {
            let files = match kind {
                MediaKind::Photo => {
                    let dims = image_dims(&data).unwrap_or((1280, 960));
                    register_photo(st, &data, dims)
                }
                MediaKind::Voice => vec![st.register_file("voice", "oga", data, mime, None, None)],
                MediaKind::Audio => {
                    let ext = super::files::extension(file_name.as_deref(), "mp3");
                    vec![st.register_file("music", &ext, data, mime, file_name, None)]
                }
                MediaKind::Video => {
                    let ext = super::files::extension(file_name.as_deref(), "mp4");
                    vec![st.register_file("videos", &ext, data, mime, file_name, Some((640, 360)))]
                }
                MediaKind::Document => {
                    let ext = super::files::extension(file_name.as_deref(), "bin");
                    vec![st.register_file("documents", &ext, data, mime, file_name, None)]
                }
            };
            m.media = Some(Media {
                kind,
                files,
                duration,
                performer: None,
                title: None,
            });
            m.caption = inc
                .caption
                .map(|c| text::plain(&c))
                .filter(|c| !c.text.is_empty());
        }
    }
    add_entities(&mut m, inc.entities);
    deliver(st, bot, key, m, "message")
}

/// Add test-given entities to the text or caption; a malformed one is a bug in the test.
fn add_entities(m: &mut MsgRec, entities: Vec<Value>) {
    if entities.is_empty() {
        return;
    }
    let Some(body) = m.text.as_mut().or(m.caption.as_mut()) else {
        panic!("fake Telegram: entities need a text or caption");
    };
    let len = text::utf16_len(&body.text);
    for raw in entities {
        let entity: text::Entity = serde_json::from_value(raw.clone())
            .unwrap_or_else(|e| panic!("fake Telegram: bad entity {raw}: {e}"));
        assert!(
            entity.length > 0 && entity.offset + entity.length <= len,
            "fake Telegram: entity {raw} lies outside the text {:?} ({len} UTF-16 units)",
            body.text
        );
        body.entities.push(entity);
    }
    text::sort_entities(&mut body.entities);
}

/// A post in a channel by its administrator: every bot that sits in the channel gets it.
pub fn channel_post(st: &mut State, bot: i64, chat_id: i64, text: &str) -> Sent {
    let is_channel = st
        .chats
        .get(&chat_id)
        .is_some_and(|c| c.kind == ChatKind::Channel);
    assert!(
        is_channel,
        "fake Telegram: chat {chat_id} is not a channel (use create_channel)"
    );
    st.ensure_user(DEFAULT_USER_ID);
    let key = ConvKey { chat_id, bot: None };
    let mut m = MsgRec::new(chat_id, Sender::User(DEFAULT_USER_ID), unix_now());
    m.text = Some(text::plain(text));
    deliver(st, bot, key, m, "channel_post")
}

/// A forum topic created by a user (service message; its id is the topic's thread id). In a
/// private chat (a positive `chat_id`) this is the chat's topic mode (Bot API 9.3); the fake keeps
/// one topic list per private chat, shared by the bots.
pub fn create_topic(st: &mut State, bot: i64, chat_id: i64, name: &str) -> Sent {
    let forum = chat_id > 0 || st.chats.get(&chat_id).is_some_and(|c| c.is_forum);
    assert!(
        forum,
        "fake Telegram: chat {chat_id} is not a forum supergroup"
    );
    let (key, user) = chat_user(st, bot, chat_id, None);
    let next = st.convs.get(&key).map_or(1, |c| c.next_id.max(1));
    let mut m = MsgRec::new(chat_id, Sender::User(user), unix_now());
    m.thread_id = Some(next);
    m.service = Some((
        "forum_topic_created".to_owned(),
        json!({ "name": name, "icon_color": 7_322_096 }),
    ));
    if let Some(chat) = st.chats.get_mut(&chat_id) {
        chat.topics.insert(
            next,
            TopicRec {
                name: name.to_owned(),
                icon_color: 7_322_096,
            },
        );
    }
    deliver(st, bot, key, m, "message")
}

/// A user renames forum topic `topic` (a `forum_topic_edited` service message in the topic).
pub fn rename_topic(st: &mut State, bot: i64, chat_id: i64, topic: i32, name: &str) -> Sent {
    let forum = chat_id > 0 || st.chats.get(&chat_id).is_some_and(|c| c.is_forum);
    assert!(
        forum,
        "fake Telegram: chat {chat_id} is not a forum supergroup"
    );
    let (key, user) = chat_user(st, bot, chat_id, None);
    let mut m = MsgRec::new(chat_id, Sender::User(user), unix_now());
    m.thread_id = Some(topic);
    m.service = Some(("forum_topic_edited".to_owned(), json!({ "name": name })));
    if let Some(t) = st
        .chats
        .get_mut(&chat_id)
        .and_then(|c| c.topics.get_mut(&topic))
    {
        name.clone_into(&mut t.name);
    }
    deliver(st, bot, key, m, "message")
}

/// A user edits their own text message (`edited_message`).
pub fn edit_text(
    st: &mut State,
    bot: i64,
    chat_id: i64,
    message_id: i32,
    new_text: &str,
) -> Option<i64> {
    let key = st.conv_key(bot, chat_id);
    let m = st.message_mut(key, message_id).unwrap_or_else(|| {
        panic!("fake Telegram: message {message_id} does not exist in chat {chat_id}")
    });
    assert!(
        matches!(m.sender, Sender::User(_)),
        "fake Telegram: message {message_id} is not a user's"
    );
    m.text = Some(text::plain(new_text));
    m.edit_date = Some(unix_now());
    m.edits += 1;
    let m = m.clone();
    let payload = json::message(st, key, &m);
    st.enqueue(bot, "edited_message", payload)
}

/// A user reacts to a message (`message_reaction`, delivered only if the bot asked for it).
pub fn react(
    st: &mut State,
    bot: i64,
    chat_id: i64,
    message_id: i32,
    emoji: &str,
    from: Option<i64>,
) -> Option<i64> {
    let (key, user) = chat_user(st, bot, chat_id, from);
    assert!(
        st.message(key, message_id).is_some(),
        "fake Telegram: message {message_id} does not exist"
    );
    let chat = st
        .chats
        .get(&chat_id)
        .map_or(Value::Null, |c| json::chat(st, c));
    let user_v = json::sender(st, Sender::User(user));
    let payload = json!({
        "chat": chat,
        "message_id": message_id,
        "user": user_v,
        "date": unix_now(),
        "old_reaction": [],
        "new_reaction": [{ "type": "emoji", "emoji": emoji }],
    });
    st.enqueue(bot, "message_reaction", payload)
}

/// A user (`from`, by default the default user) presses an inline button
/// (`callback_query`); `check` requires the button to exist.
pub fn press(
    st: &mut State,
    bot: i64,
    chat_id: i64,
    message_id: i32,
    data: &str,
    check: bool,
    from: Option<i64>,
) -> Pressed {
    let (key, user) = chat_user(st, bot, chat_id, from);
    let Some(m) = st.message(key, message_id).cloned() else {
        panic!("fake Telegram: message {message_id} does not exist in chat {chat_id}");
    };
    if check {
        let buttons: Vec<&Value> = m
            .reply_markup
            .as_ref()
            .and_then(|k| k.get("inline_keyboard"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_array)
            .flatten()
            .collect();
        let data_of = |b: &Value| {
            b.get("callback_data")
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let all: Vec<String> = buttons.iter().filter_map(|b| data_of(b)).collect();
        let Some(button) = buttons.iter().find(|b| data_of(b).as_deref() == Some(data)) else {
            panic!(
                "fake Telegram: message {message_id} has no button with callback_data {data:?}; buttons: {all:?}"
            );
        };
        assert!(
            !button
                .get("disabled")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            "fake Telegram: the button with callback_data {data:?} on message {message_id} is disabled; pressing it sends no callback"
        );
    }
    let query_id = format!("{}", 4_300_000_000_000_000_000_u64 + st.next_callback);
    st.next_callback += 1;
    st.callbacks.insert(
        query_id.clone(),
        CallbackRec {
            bot,
            answered: false,
        },
    );
    let chat_instance = format!(
        "{}",
        (chat_id.unsigned_abs().wrapping_mul(2_654_435_761) ^ bot.unsigned_abs())
            % 9_000_000_000_000_000_000
    );
    let payload = json!({
        "id": query_id,
        "from": json::sender(st, Sender::User(user)),
        "message": json::message(st, key, &m),
        "chat_instance": chat_instance,
        "data": data,
    });
    let update_id = st.enqueue(bot, "callback_query", payload);
    Pressed {
        query_id,
        update_id,
    }
}

/// Change the bot's status in a chat and queue `my_chat_member` (changed by `by_user`).
pub fn set_bot_status(
    st: &mut State,
    bot: i64,
    chat_id: i64,
    by_user: i64,
    new: MemberStatus,
) -> Option<i64> {
    st.ensure_user(by_user);
    let Some(chat) = st.chats.get(&chat_id).cloned() else {
        panic!("fake Telegram: unknown chat {chat_id}");
    };
    let b = st
        .bots
        .get_mut(&bot)
        .unwrap_or_else(|| panic!("fake Telegram: unknown bot id {bot}"));
    let old = if chat.kind == ChatKind::Private {
        if new == MemberStatus::Kicked {
            b.blocked_by.insert(chat_id);
        } else {
            b.blocked_by.remove(&chat_id);
            b.opened_private.insert(chat_id);
        }
        if new == MemberStatus::Kicked {
            MemberStatus::Member
        } else {
            MemberStatus::Kicked
        }
    } else {
        b.membership
            .insert(chat_id, new)
            .unwrap_or(MemberStatus::Left)
    };
    let bot_v = json::bot_user(b);
    let payload = json!({
        "chat": json::chat(st, &chat),
        "from": json::sender(st, Sender::User(by_user)),
        "date": unix_now(),
        "old_chat_member": json::chat_member(&bot_v, old.as_str()),
        "new_chat_member": json::chat_member(&bot_v, new.as_str()),
    });
    st.enqueue(bot, "my_chat_member", payload)
}

/// The user presses Stop on a visible draft sent with `can_stop` (`stopped_message_generation`).
pub fn stop_generation(
    st: &mut State,
    bot: i64,
    chat_id: i64,
    thread_id: Option<i32>,
    draft_id: i64,
) -> Option<i64> {
    let b = st.bots.get_mut(&bot)?;
    let index = b
        .visible_drafts(chat_id, thread_id)
        .into_iter()
        .find(|i| b.drafts[*i].draft_id == draft_id)?;
    let draft = b.drafts[index].clone();
    if !draft.can_stop {
        return None;
    }
    b.drafts[index].ended = true;
    if draft.keep_on_stop && !draft.text.text.is_empty() {
        let key = ConvKey {
            chat_id,
            bot: Some(bot),
        };
        let mut m = MsgRec::new(chat_id, Sender::Bot(bot), unix_now());
        m.thread_id = thread_id;
        m.text = Some(draft.text);
        st.push_message(key, m);
    }
    let chat = st
        .chats
        .get(&chat_id)
        .map_or(Value::Null, |c| json::chat(st, c));
    let mut payload = json!({ "chat": chat, "draft_id": draft_id });
    if let Some(t) = thread_id {
        payload["message_thread_id"] = json!(t);
    }
    st.enqueue(bot, "stopped_message_generation", payload)
}
