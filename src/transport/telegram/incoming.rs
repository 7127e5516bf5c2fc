//! Incoming Telegram messages reduced to what ductor uses, so the rest of the
//! transport does not depend on teloxide's types.

use super::auth::ChatKind;
use super::media::download::known_size;
pub use crate::chat::media::Attachment;
use chrono::{DateTime, Utc};
use teloxide::types::{ExternalReplyInfoKind, Message, MessageKind, MessageOrigin, Seconds};

/// The message a user replied to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quoted {
    /// Its id.
    pub message_id: i64,
    /// Whether the bot wrote it.
    pub from_bot: bool,
    /// Who wrote it, as the model is told.
    pub author: String,
    /// Its text or caption (or the selected quote).
    pub text: String,
    /// What it carries besides text (see [`crate::ops::Quote::media`]).
    pub media: Option<String>,
}

/// One incoming message.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// Chat id.
    pub chat_id: i64,
    /// Chat kind.
    pub chat_kind: ChatKind,
    /// `private`, `group`, `supergroup`, `channel`.
    pub chat_type: &'static str,
    /// Chat title (groups) or the user's name (private).
    pub chat_title: String,
    /// Forum topic of the message (only for topic messages).
    pub thread_id: Option<i64>,
    /// Message id.
    pub message_id: i64,
    /// Sender id.
    pub user_id: Option<i64>,
    /// Sender's first name.
    pub first_name: String,
    /// Whether the sender is a bot.
    pub from_bot: bool,
    /// When Telegram received it.
    pub date: DateTime<Utc>,
    /// Text or caption.
    pub text: String,
    /// Whether the text came from a caption.
    pub is_caption: bool,
    /// The message replied to.
    pub reply_to: Option<Quoted>,
    /// For a forwarded message: who wrote it originally.
    pub forwarded_from: Option<String>,
    /// A forum topic was created or renamed: its name.
    pub topic_name: Option<String>,
    /// An attached file.
    pub attachment: Option<Attachment>,
    /// The album the attachment belongs to (`media_group_id`).
    pub media_group_id: Option<String>,
}

fn chat_kind(msg: &Message) -> (ChatKind, &'static str) {
    let chat = &msg.chat;
    if chat.is_private() {
        (ChatKind::Private, "private")
    } else if chat.is_channel() {
        (ChatKind::Channel, "channel")
    } else if chat.is_supergroup() {
        (ChatKind::Group, "supergroup")
    } else {
        (ChatKind::Group, "group")
    }
}

fn attachment(msg: &Message) -> Option<Attachment> {
    if let Some(sizes) = msg.photo() {
        let best = sizes
            .iter()
            .max_by_key(|p| u64::from(p.width) * u64::from(p.height))?;
        return Some(Attachment {
            file_id: best.file.id.0.clone(),
            unique_id: best.file.unique_id.0.clone(),
            kind: "photo",
            file_name: None,
            mime: Some("image/jpeg".into()),
            size: known_size(Some(u64::from(best.file.size))),
        });
    }
    if let Some(d) = msg.document() {
        return Some(Attachment {
            file_id: d.file.id.0.clone(),
            unique_id: d.file.unique_id.0.clone(),
            kind: "document",
            file_name: d.file_name.clone(),
            mime: d.mime_type.as_ref().map(ToString::to_string),
            size: known_size(Some(u64::from(d.file.size))),
        });
    }
    if let Some(v) = msg.voice() {
        return Some(Attachment {
            file_id: v.file.id.0.clone(),
            unique_id: v.file.unique_id.0.clone(),
            kind: "voice",
            file_name: None,
            mime: v.mime_type.as_ref().map(ToString::to_string),
            size: known_size(Some(u64::from(v.file.size))),
        });
    }
    if let Some(a) = msg.audio() {
        return Some(Attachment {
            file_id: a.file.id.0.clone(),
            unique_id: a.file.unique_id.0.clone(),
            kind: "audio",
            file_name: a.file_name.clone(),
            mime: a.mime_type.as_ref().map(ToString::to_string),
            size: known_size(Some(u64::from(a.file.size))),
        });
    }
    if let Some(v) = msg.video() {
        return Some(Attachment {
            file_id: v.file.id.0.clone(),
            unique_id: v.file.unique_id.0.clone(),
            kind: "video",
            file_name: v.file_name.clone(),
            mime: v.mime_type.as_ref().map(ToString::to_string),
            size: known_size(Some(u64::from(v.file.size))),
        });
    }
    if let Some(v) = msg.video_note() {
        return Some(Attachment {
            file_id: v.file.id.0.clone(),
            unique_id: v.file.unique_id.0.clone(),
            kind: "video_note",
            file_name: None,
            mime: Some("video/mp4".into()),
            size: known_size(Some(u64::from(v.file.size))),
        });
    }
    if let Some(s) = msg.sticker() {
        return Some(Attachment {
            file_id: s.file.id.0.clone(),
            unique_id: s.file.unique_id.0.clone(),
            kind: "sticker",
            file_name: None,
            mime: None,
            size: known_size(Some(u64::from(s.file.size))),
        });
    }
    None
}

/// Who wrote a forwarded (or externally replied-to) message.
fn origin_name(origin: &MessageOrigin) -> String {
    match origin {
        MessageOrigin::User { sender_user, .. } => user_name(sender_user),
        MessageOrigin::HiddenUser {
            sender_user_name, ..
        } => sender_user_name.clone(),
        MessageOrigin::Chat {
            sender_chat,
            author_signature,
            ..
        }
        | MessageOrigin::Channel {
            chat: sender_chat,
            author_signature,
            ..
        } => {
            let title = sender_chat.title().unwrap_or("a chat");
            match author_signature {
                Some(sig) => format!("{sig} in {title}"),
                None => title.to_owned(),
            }
        }
    }
}

fn user_name(user: &teloxide::types::User) -> String {
    match &user.username {
        Some(u) => format!("{} (@{u})", user.full_name()),
        None => user.full_name(),
    }
}

/// A duration as a clock shows it: `0:12`, `3:05`, `1:02:03`.
fn clock(d: Seconds) -> String {
    crate::util::clock(u64::from(d.seconds()))
}

/// `kind: detail` or `kind` alone when there is no detail.
fn named(kind: &str, detail: Option<&str>) -> String {
    match detail.map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => format!("{kind}: {d}"),
        None => kind.to_owned(),
    }
}

/// What an audio file is called: performer and title, else its file name.
fn audio_name(a: &teloxide::types::Audio) -> Option<String> {
    match (&a.performer, &a.title) {
        (Some(p), Some(t)) => Some(format!("{p} – {t}")),
        (None, Some(t)) => Some(t.clone()),
        _ => a.file_name.clone(),
    }
}

/// How each kind of media is named, whether the replied-to message is in this chat
/// or another one.
mod name {
    use super::{audio_name, clock, named};
    use teloxide::types::{
        Animation, Audio, Contact, Document, Poll, Sticker, Venue, Video, VideoNote, Voice,
    };

    pub fn gif(a: &Animation) -> String {
        format!("GIF, {}", clock(a.duration))
    }
    pub fn voice(v: &Voice) -> String {
        format!("voice note, {}", clock(v.duration))
    }
    pub fn audio(a: &Audio) -> String {
        format!(
            "{}, {}",
            named("audio", audio_name(a).as_deref()),
            clock(a.duration)
        )
    }
    pub fn video(v: &Video) -> String {
        format!(
            "{}, {}",
            named("video", v.file_name.as_deref()),
            clock(v.duration)
        )
    }
    pub fn video_note(v: &VideoNote) -> String {
        format!("video message, {}", clock(v.duration))
    }
    pub fn document(d: &Document) -> String {
        named("document", d.file_name.as_deref())
    }
    pub fn sticker(s: &Sticker) -> String {
        named("sticker", s.emoji.as_deref())
    }
    pub fn venue(v: &Venue) -> String {
        named("venue", Some(&v.title))
    }
    pub fn contact(c: &Contact) -> String {
        named("contact", Some(&c.first_name))
    }
    pub fn poll(p: &Poll) -> String {
        named("poll", Some(&p.question))
    }
}

/// The media of a replied-to message as the model is told (§2.1, #135): `voice note,
/// 0:12`, `photo`, `document: report.pdf`; `None` for plain text. An animation comes
/// before the document it also carries.
fn media_of(msg: &Message) -> Option<String> {
    msg.animation()
        .map(name::gif)
        .or_else(|| msg.photo().map(|_| "photo".to_owned()))
        .or_else(|| msg.voice().map(name::voice))
        .or_else(|| msg.audio().map(name::audio))
        .or_else(|| msg.video().map(name::video))
        .or_else(|| msg.video_note().map(name::video_note))
        .or_else(|| msg.document().map(name::document))
        .or_else(|| msg.sticker().map(name::sticker))
        .or_else(|| msg.venue().map(name::venue))
        .or_else(|| msg.location().map(|_| "location".to_owned()))
        .or_else(|| msg.contact().map(name::contact))
        .or_else(|| msg.poll().map(name::poll))
        .or_else(|| msg.dice().map(|_| "dice".to_owned()))
}

/// The media of a message in another chat that `msg` replies to.
fn external_media_of(kind: &ExternalReplyInfoKind) -> String {
    use ExternalReplyInfoKind as K;
    match kind {
        K::Animation(a) => name::gif(a),
        K::Photo(_) => "photo".into(),
        K::Voice(v) => name::voice(v),
        K::Audio(a) => name::audio(a),
        K::Video(v) => name::video(v),
        K::VideoNote(v) => name::video_note(v),
        K::Document(d) => name::document(d),
        K::Sticker(s) => name::sticker(s),
        K::Venue(v) => name::venue(v),
        K::Location(_) => "location".into(),
        K::Contact(c) => name::contact(c),
        K::Poll(p) => name::poll(p),
        K::Dice(_) => "dice".into(),
        K::Story(_) => "story".into(),
        K::PaidMedia(_) => "paid media".into(),
        K::Game(_) => "game".into(),
        K::Checklist(_) => "checklist".into(),
        K::Giveaway(_) | K::GiveawayWinners(_) => "giveaway".into(),
        K::Invoice(_) => "invoice".into(),
    }
}

/// The message `msg` replies to: in this chat, or in another one (`external_reply`).
fn quoted(msg: &Message, bot_id: i64) -> Option<Quoted> {
    let selected = msg.quote().map(|q| q.text.clone());
    if let Some(r) = msg.reply_to_message() {
        let from_bot = r.from.as_ref().is_some_and(|u| u.id.0 as i64 == bot_id);
        let author = if from_bot {
            "you (your earlier answer)".to_owned()
        } else if let Some(origin) = r.forward_origin() {
            origin_name(origin)
        } else if let Some(chat) = &r.sender_chat {
            chat.title().unwrap_or("a chat").to_owned()
        } else {
            r.from.as_ref().map(user_name).unwrap_or_default()
        };
        return Some(Quoted {
            message_id: i64::from(r.id.0),
            from_bot,
            author,
            text: selected
                .or_else(|| r.text().or(r.caption()).map(str::to_owned))
                .unwrap_or_default(),
            media: media_of(r),
        });
    }
    let MessageKind::Common(common) = &msg.kind else {
        return None;
    };
    let external = common.external_reply.as_ref()?;
    Some(Quoted {
        message_id: external.message_id.map_or(0, |m| i64::from(m.0)),
        from_bot: false,
        author: origin_name(&external.origin),
        text: selected.unwrap_or_default(),
        media: Some(external_media_of(&external.kind)),
    })
}

fn topic_name(msg: &Message) -> Option<String> {
    match &msg.kind {
        MessageKind::ForumTopicCreated(c) => Some(c.forum_topic_created.name.clone()),
        MessageKind::ForumTopicEdited(e) => e.forum_topic_edited.name.clone(),
        _ => None,
    }
}

impl Incoming {
    /// Extracts what ductor needs from a teloxide message; `bot_id` tells replies to the bot apart.
    pub fn from_message(msg: &Message, bot_id: i64) -> Self {
        let (chat_kind, chat_type) = chat_kind(msg);
        let text = msg.text().map(str::to_owned);
        let is_caption = text.is_none() && msg.caption().is_some();
        let reply_to = quoted(msg, bot_id);
        let chat_title = msg
            .chat
            .title()
            .or(msg.chat.first_name())
            .or(msg.chat.username())
            .unwrap_or_default()
            .to_owned();
        Self {
            chat_id: msg.chat.id.0,
            chat_kind,
            chat_type,
            chat_title,
            thread_id: if msg.is_topic_message {
                msg.thread_id.map(|t| i64::from(t.0.0))
            } else {
                None
            },
            message_id: i64::from(msg.id.0),
            user_id: msg.from.as_ref().map(|u| u.id.0 as i64),
            first_name: msg
                .from
                .as_ref()
                .map(|u| u.first_name.clone())
                .unwrap_or_default(),
            from_bot: msg.from.as_ref().is_some_and(|u| u.is_bot),
            date: msg.date,
            text: text
                .or_else(|| msg.caption().map(str::to_owned))
                .unwrap_or_default(),
            is_caption,
            reply_to,
            forwarded_from: msg.forward_origin().map(origin_name),
            topic_name: topic_name(msg),
            attachment: attachment(msg),
            media_group_id: msg.media_group_id().map(ToString::to_string),
        }
    }
}

impl Incoming {
    /// What the message carries that its sender did not write.
    pub fn origin(&self) -> crate::ops::Origin {
        crate::ops::Origin {
            quote: self.reply_to.as_ref().map(|q| crate::ops::Quote {
                author: q.author.clone(),
                text: q.text.clone(),
                media: q.media.clone(),
            }),
            forwarded_from: self.forwarded_from.clone(),
        }
    }
}

/// A `/command` addressed to this bot: name (lower-case) and the rest of the text.
/// `None` for plain text and for commands addressed to another bot.
pub fn parse_command<'a>(text: &'a str, bot_username: &str) -> Option<(String, &'a str)> {
    let rest = text.strip_prefix('/')?;
    let (head, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let (name, target) = head
        .split_once('@')
        .map_or((head, None), |(n, t)| (n, Some(t)));
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    if let Some(t) = target
        && !t.eq_ignore_ascii_case(bot_username)
    {
        return None;
    }
    Some((name.to_ascii_lowercase(), args.trim()))
}

/// Whether a group message is addressed to the bot (mention, reply, command with
/// `@bot`), and the text with the mention removed.
pub fn addressed_text(inc: &Incoming, bot_username: &str) -> (bool, String) {
    let mention = format!("@{bot_username}");
    let lower = inc.text.to_lowercase();
    let mention_lower = mention.to_lowercase();
    let replied = inc.reply_to.as_ref().is_some_and(|q| q.from_bot);
    match lower.find(&mention_lower) {
        Some(pos)
            if inc.text.is_char_boundary(pos) && inc.text.is_char_boundary(pos + mention.len()) =>
        {
            let mut text = inc.text.clone();
            let is_command_suffix = pos > 0 && !inc.text[..pos].ends_with(char::is_whitespace);
            if !is_command_suffix {
                text.replace_range(pos..pos + mention.len(), "");
            }
            (true, text.trim().to_owned())
        }
        _ => (replied, inc.text.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_for_us_and_others() {
        assert_eq!(parse_command("/stop", "mybot"), Some(("stop".into(), "")));
        assert_eq!(
            parse_command("/New@MyBot  now", "mybot"),
            Some(("new".into(), "now"))
        );
        assert_eq!(parse_command("/stop@otherbot", "mybot"), None);
        assert_eq!(parse_command("hello /stop", "mybot"), None);
        assert_eq!(parse_command("/", "mybot"), None);
        assert_eq!(parse_command("/a-b", "mybot"), None);
    }

    #[test]
    fn durations_read_like_a_clock() {
        let c = |s| clock(Seconds::from_seconds(s));
        assert_eq!(
            [c(0), c(12), c(185), c(3723)],
            ["0:00", "0:12", "3:05", "1:02:03"]
        );
        assert_eq!(
            named("document", Some(" report.pdf ")),
            "document: report.pdf"
        );
        assert_eq!(named("document", Some("")), "document");
        assert_eq!(named("sticker", None), "sticker");
    }
}
