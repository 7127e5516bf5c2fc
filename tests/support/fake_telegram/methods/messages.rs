//! Text messages and what bots do to messages: send, draft, edit, delete, react, chat actions.

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::super::error::{ApiError, ApiResult};
use super::super::json;
use super::super::params::Params;
use super::super::state::{
    ChatKind, ConvKey, DraftRec, MemberStatus, MsgRec, Sender, State, unix_now,
};
use super::super::text::{self, utf16_len};
use super::Ctx;
use super::common::{
    TEXT_LIMIT, after_write, caption, flood_check, message_text, reply_markup, target, thread,
};

/// How long a chat action stays visible.
const CHAT_ACTION_TTL: Duration = Duration::from_secs(5);

const CHAT_ACTIONS: &[&str] = &[
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
];

/// The emoji a bot may react with (Bot API `ReactionTypeEmoji`), spelled exactly as Telegram
/// lists them: no variation selectors (`❤`, `✍`, not `❤️`, `✍️`).
pub const REACTION_EMOJI: &[&str] = &[
    "❤",
    "👍",
    "👎",
    "🔥",
    "🥰",
    "👏",
    "😁",
    "🤔",
    "🤯",
    "😱",
    "🤬",
    "😢",
    "🎉",
    "🤩",
    "🤮",
    "💩",
    "🙏",
    "👌",
    "🕊",
    "🤡",
    "🥱",
    "🥴",
    "😍",
    "🐳",
    "❤\u{200d}🔥",
    "🌚",
    "🌭",
    "💯",
    "🤣",
    "⚡",
    "🍌",
    "🏆",
    "💔",
    "🤨",
    "😐",
    "🍓",
    "🍾",
    "💋",
    "🖕",
    "😈",
    "😴",
    "😭",
    "🤓",
    "👻",
    "👨\u{200d}💻",
    "👀",
    "🎃",
    "🙈",
    "😇",
    "😨",
    "🤝",
    "✍",
    "🤗",
    "🫡",
    "🎅",
    "🎄",
    "☃",
    "💅",
    "🤪",
    "🗿",
    "🆒",
    "💘",
    "🙉",
    "🦄",
    "😘",
    "💊",
    "🙊",
    "😎",
    "👾",
    "🤷\u{200d}♂",
    "🤷",
    "🤷\u{200d}♀",
    "😡",
];

/// `sendMessage`.
pub fn send_message(st: &mut State, ctx: Ctx, p: &Params) -> ApiResult {
    let text = message_text(p, "message is too long")?;
    let markup = reply_markup(p)?;
    let t = target(st, ctx, p)?;
    flood_check(st, ctx.bot, t.chat_id)?;
    let mut m = MsgRec::new(t.chat_id, Sender::Bot(ctx.bot), unix_now());
    m.thread_id = t.thread_id;
    m.text = Some(text);
    m.reply_to = t.reply_to;
    m.quote = t.quote;
    m.reply_markup = markup;
    let id = st.push_message(t.key, m);
    after_write(st, ctx.bot, t.chat_id);
    rendered(st, t.key, id)
}

/// The stored message as `Message` JSON.
pub fn rendered(st: &State, key: ConvKey, id: i32) -> ApiResult {
    st.convs
        .get(&key)
        .and_then(|c| c.messages.get(&id))
        .map(|m| json::message(st, key, m))
        .ok_or_else(|| ApiError::bad_request("message not found"))
}

/// `sendMessageDraft` (Bot API 9.3, 10.0, 10.3): stream a partial reply into a private chat.
///
/// `text` may be empty or absent (Telegram shows a "Thinking…" placeholder); drafts do not exist
/// in groups (`TEXTDRAFT_PEER_INVALID`). Each accepted call is recorded with its time, so tests
/// see the whole stream; the latest per `(chat, thread, draft_id)` stays visible for 30 s, until
/// the bot sends a normal message there, or until the user stops it.
pub fn send_message_draft(st: &mut State, ctx: Ctx, p: &Params) -> ApiResult {
    let draft_id = p.req_i64("draft_id", "draft_id is empty")?;
    if draft_id == 0 {
        return Err(ApiError::bad_request("invalid draft_id specified"));
    }
    let text = text::from_params(p, "text", "parse_mode", "entities")?.unwrap_or_default();
    if utf16_len(&text.text) > TEXT_LIMIT {
        return Err(ApiError::bad_request("message is too long"));
    }
    let chat_id = st.resolve_chat(&p.chat()?)?;
    if st.chats.get(&chat_id).map(|c| c.kind) != Some(ChatKind::Private) {
        return Err(ApiError::bad_request("TEXTDRAFT_PEER_INVALID"));
    }
    let thread_id = thread(st.writable_chat(ctx.bot, &p.chat()?)?, p)?;
    let (can_stop, keep_on_stop) = (p.opt_bool("can_stop"), p.opt_bool("keep_on_stop"));
    st.bot_mut(ctx.bot)?.drafts.push(DraftRec {
        chat_id,
        thread_id,
        draft_id,
        text,
        can_stop,
        keep_on_stop,
        at: Instant::now(),
        ended: false,
    });
    Ok(Value::Bool(true))
}

/// The bot's own live message for an edit, with Telegram's errors.
fn editable<'a>(
    st: &'a mut State,
    ctx: Ctx,
    p: &Params,
) -> Result<(ConvKey, &'a mut MsgRec), ApiError> {
    if p.has("inline_message_id") {
        return Err(ApiError::bad_request(
            "fake Telegram does not emulate inline messages",
        ));
    }
    let chat_id = st.writable_chat(ctx.bot, &p.chat()?)?.id;
    let id = p.message_id("message_id")?;
    let key = st.conv_key(ctx.bot, chat_id);
    let m = st
        .message_mut(key, id)
        .ok_or_else(|| ApiError::bad_request("message to edit not found"))?;
    if m.sender != Sender::Bot(ctx.bot) {
        return Err(ApiError::bad_request("message can't be edited"));
    }
    Ok((key, m))
}

fn not_modified() -> ApiError {
    ApiError::bad_request(
        "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
    )
}

fn finish_edit(st: &mut State, ctx: Ctx, key: ConvKey, id: i32) -> ApiResult {
    after_write(st, ctx.bot, key.chat_id);
    rendered(st, key, id)
}

/// `editMessageText`. Without `reply_markup` the keyboard is removed.
pub fn edit_message_text(st: &mut State, ctx: Ctx, p: &Params) -> ApiResult {
    let text = message_text(p, "MESSAGE_TOO_LONG")?;
    let markup = reply_markup(p)?;
    let (key, m) = editable(st, ctx, p)?;
    if m.text.is_none() {
        return Err(ApiError::bad_request(
            "there is no text in the message to edit",
        ));
    }
    if m.text.as_ref() == Some(&text) && m.reply_markup == markup {
        return Err(not_modified());
    }
    let id = m.id;
    flood_check(st, ctx.bot, key.chat_id)?;
    if let Some(m) = st.message_mut(key, id) {
        m.text = Some(text);
        m.reply_markup = markup;
        m.edit_date = Some(unix_now());
        m.edits += 1;
    }
    finish_edit(st, ctx, key, id)
}

/// `editMessageCaption`.
pub fn edit_message_caption(st: &mut State, ctx: Ctx, p: &Params) -> ApiResult {
    let new_caption = caption(p)?;
    let markup = reply_markup(p)?;
    let (key, m) = editable(st, ctx, p)?;
    if m.media.is_none() {
        return Err(ApiError::bad_request(
            "there is no caption in the message to edit",
        ));
    }
    if m.caption == new_caption && m.reply_markup == markup {
        return Err(not_modified());
    }
    let id = m.id;
    flood_check(st, ctx.bot, key.chat_id)?;
    if let Some(m) = st.message_mut(key, id) {
        m.caption = new_caption;
        m.reply_markup = markup;
        m.edit_date = Some(unix_now());
        m.edits += 1;
    }
    finish_edit(st, ctx, key, id)
}

/// `editMessageReplyMarkup`. Without `reply_markup` the keyboard is removed.
pub fn edit_message_reply_markup(st: &mut State, ctx: Ctx, p: &Params) -> ApiResult {
    let markup = reply_markup(p)?;
    let (key, m) = editable(st, ctx, p)?;
    if m.reply_markup == markup {
        return Err(not_modified());
    }
    let id = m.id;
    flood_check(st, ctx.bot, key.chat_id)?;
    if let Some(m) = st.message_mut(key, id) {
        m.reply_markup = markup;
        m.edit_date = Some(unix_now());
        m.edits += 1;
    }
    finish_edit(st, ctx, key, id)
}

fn can_delete(st: &State, ctx: Ctx, key: ConvKey, m: &MsgRec) -> bool {
    if m.sender == Sender::Bot(ctx.bot) || key.bot.is_some() {
        return true;
    }
    st.bots
        .get(&ctx.bot)
        .and_then(|b| b.membership.get(&key.chat_id))
        .is_some_and(|s| *s == MemberStatus::Administrator)
}

/// `deleteMessage`.
pub fn delete_message(st: &mut State, ctx: Ctx, p: &Params) -> ApiResult {
    let chat_id = st.writable_chat(ctx.bot, &p.chat()?)?.id;
    let id = p.message_id("message_id")?;
    let key = st.conv_key(ctx.bot, chat_id);
    let m = st
        .message(key, id)
        .ok_or_else(|| ApiError::bad_request("message to delete not found"))?;
    if !can_delete(st, ctx, key, m) {
        return Err(ApiError::bad_request("message can't be deleted"));
    }
    if let Some(m) = st.message_mut(key, id) {
        m.deleted = true;
    }
    Ok(Value::Bool(true))
}

/// `deleteMessages`: deletes those of 1–100 ids that exist.
pub fn delete_messages(st: &mut State, ctx: Ctx, p: &Params) -> ApiResult {
    let chat_id = st.writable_chat(ctx.bot, &p.chat()?)?.id;
    let ids: Vec<i32> = match p.opt_json("message_ids", "message identifiers")? {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_i64)
            .filter_map(|v| i32::try_from(v).ok())
            .collect(),
        _ => {
            return Err(ApiError::bad_request(
                "message identifiers are not specified",
            ));
        }
    };
    if ids.is_empty() || ids.len() > 100 {
        return Err(ApiError::bad_request(
            "too many message identifiers specified",
        ));
    }
    let key = st.conv_key(ctx.bot, chat_id);
    let deletable: Vec<i32> = ids
        .into_iter()
        .filter(|id| {
            st.message(key, *id)
                .is_some_and(|m| can_delete(st, ctx, key, m))
        })
        .collect();
    if deletable.is_empty() {
        return Err(ApiError::bad_request("message to delete not found"));
    }
    for id in deletable {
        if let Some(m) = st.message_mut(key, id) {
            m.deleted = true;
        }
    }
    Ok(Value::Bool(true))
}

/// `sendChatAction`: shown for 5 s or until the bot's next message in the chat.
pub fn send_chat_action(st: &mut State, ctx: Ctx, p: &Params) -> ApiResult {
    let action = p.opt_str("action").unwrap_or_default();
    if !CHAT_ACTIONS.contains(&action.as_str()) {
        return Err(ApiError::bad_request("wrong parameter action in request"));
    }
    let t = target(st, ctx, p)?;
    st.bot_mut(ctx.bot)?.chat_actions.insert(
        (t.chat_id, t.thread_id),
        (action, Instant::now() + CHAT_ACTION_TTL),
    );
    Ok(Value::Bool(true))
}

/// `setMessageReaction`: at most one reaction, emoji from Telegram's list.
pub fn set_message_reaction(st: &mut State, ctx: Ctx, p: &Params) -> ApiResult {
    let chat_id = st.writable_chat(ctx.bot, &p.chat()?)?.id;
    let id = p.message_id("message_id")?;
    let reactions = match p.opt_json("reaction", "reaction types")? {
        None => Vec::new(),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(ApiError::bad_request(
                "can't parse reaction types JSON object",
            ));
        }
    };
    if reactions.len() > 1 {
        return Err(ApiError::bad_request("REACTIONS_TOO_MANY"));
    }
    for r in &reactions {
        let ok = match r.get("type").and_then(Value::as_str) {
            Some("emoji") => r
                .get("emoji")
                .and_then(Value::as_str)
                .is_some_and(|e| REACTION_EMOJI.contains(&e)),
            Some("custom_emoji") => r.get("custom_emoji_id").is_some_and(Value::is_string),
            _ => false,
        };
        if !ok {
            return Err(ApiError::bad_request("REACTION_INVALID"));
        }
    }
    let key = st.conv_key(ctx.bot, chat_id);
    let m = st
        .message_mut(key, id)
        .ok_or_else(|| ApiError::bad_request("MESSAGE_ID_INVALID"))?;
    m.reactions = reactions;
    Ok(Value::Bool(true))
}
