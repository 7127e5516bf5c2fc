//! Chats and membership: `getChat`, `getChatMember`, `leaveChat`, pins, and callback answers.

use serde_json::{Value, json};

use super::super::error::{ApiError, ApiResult};
use super::super::json;
use super::super::params::Params;
use super::super::state::{ChatKind, MemberStatus, State, unix_now};
use super::Ctx;

/// Longest `answerCallbackQuery` notification text.
const CALLBACK_TEXT_LIMIT: usize = 200;

/// `answerCallbackQuery`: each query can be answered once, by the bot that received it.
pub fn answer_callback_query(st: &mut State, ctx: Ctx, p: &Params) -> ApiResult {
    let invalid = || {
        ApiError::bad_request(
            "query is too old and response timeout expired or query ID is invalid",
        )
    };
    let id = p.opt_str("callback_query_id").unwrap_or_default();
    if p.opt_str("text")
        .is_some_and(|t| t.chars().count() > CALLBACK_TEXT_LIMIT)
    {
        return Err(ApiError::bad_request("MESSAGE_TOO_LONG"));
    }
    let q = st
        .callbacks
        .get_mut(&id)
        .filter(|q| q.bot == ctx.bot && !q.answered)
        .ok_or_else(invalid)?;
    q.answered = true;
    Ok(Value::Bool(true))
}

/// `getChat`.
pub fn get_chat(st: &State, _ctx: Ctx, p: &Params) -> ApiResult {
    let id = st.resolve_chat(&p.chat()?)?;
    let chat = st
        .chats
        .get(&id)
        .ok_or_else(|| ApiError::bad_request("chat not found"))?;
    Ok(json::chat_full(st, chat))
}

/// `getChatMember`: the bot's tracked status, or `member` for known users.
pub fn get_chat_member(st: &State, ctx: Ctx, p: &Params) -> ApiResult {
    let chat_id = st.resolve_chat(&p.chat()?)?;
    let user_id = p
        .opt_i64("user_id")?
        .ok_or_else(|| ApiError::bad_request("invalid user_id specified"))?;
    let chat = st
        .chats
        .get(&chat_id)
        .ok_or_else(|| ApiError::bad_request("chat not found"))?;
    if let Some(b) = st.bots.get(&user_id) {
        let status = match chat.kind {
            ChatKind::Private => MemberStatus::Member,
            _ => b
                .membership
                .get(&chat_id)
                .copied()
                .unwrap_or(MemberStatus::Left),
        };
        return Ok(json::chat_member(&json::bot_user(b), status.as_str()));
    }
    let user = st
        .users
        .get(&user_id)
        .ok_or_else(|| ApiError::bad_request("user not found"))?;
    if chat.kind == ChatKind::Private && chat_id != user_id && user_id != ctx.bot {
        return Err(ApiError::bad_request("user not found"));
    }
    Ok(json::chat_member(&json::user(user), "member"))
}

/// `leaveChat`: the bot becomes `left` and gets its own `my_chat_member` update.
pub fn leave_chat(st: &mut State, ctx: Ctx, p: &Params) -> ApiResult {
    let chat_id = st.writable_chat(ctx.bot, &p.chat()?)?.id;
    let chat = st
        .chats
        .get(&chat_id)
        .ok_or_else(|| ApiError::bad_request("chat not found"))?;
    if chat.kind == ChatKind::Private {
        return Err(ApiError::bad_request(
            "chat member status can't be changed in private chats",
        ));
    }
    let bot = st.bot(ctx.bot)?;
    let old = bot
        .membership
        .get(&chat_id)
        .copied()
        .unwrap_or(MemberStatus::Member);
    let bot_v = json::bot_user(bot);
    let payload = json!({
        "chat": json::chat(st, chat),
        "from": bot_v,
        "date": unix_now(),
        "old_chat_member": json::chat_member(&bot_v, old.as_str()),
        "new_chat_member": json::chat_member(&bot_v, "left"),
    });
    st.bot_mut(ctx.bot)?
        .membership
        .insert(chat_id, MemberStatus::Left);
    st.enqueue(ctx.bot, "my_chat_member", payload);
    Ok(Value::Bool(true))
}

/// `pinChatMessage` (supergroups need the bot to be an administrator).
pub fn pin_chat_message(st: &mut State, ctx: Ctx, p: &Params) -> ApiResult {
    let chat = st.writable_chat(ctx.bot, &p.chat()?)?;
    let chat_id = chat.id;
    let needs_admin = matches!(chat.kind, ChatKind::Supergroup | ChatKind::Channel);
    let id = p.message_id("message_id")?;
    let key = st.conv_key(ctx.bot, chat_id);
    if st.message(key, id).is_none() {
        return Err(ApiError::bad_request("message to pin not found"));
    }
    let is_admin = st.bot(ctx.bot)?.membership.get(&chat_id) == Some(&MemberStatus::Administrator);
    if needs_admin && !is_admin {
        return Err(ApiError::bad_request(
            "not enough rights to manage pinned messages in the chat",
        ));
    }
    if let Some(m) = st.message_mut(key, id) {
        m.pinned = true;
    }
    Ok(Value::Bool(true))
}

/// `unpinChatMessage` (without `message_id`: the most recent pin).
pub fn unpin_chat_message(st: &mut State, ctx: Ctx, p: &Params) -> ApiResult {
    let chat_id = st.writable_chat(ctx.bot, &p.chat()?)?.id;
    let key = st.conv_key(ctx.bot, chat_id);
    let id = if let Some(id) = p.opt_i32("message_id")? {
        id
    } else {
        let latest = st.convs.get(&key).and_then(|c| {
            c.messages
                .values()
                .rev()
                .find(|m| m.pinned && !m.deleted)
                .map(|m| m.id)
        });
        let Some(id) = latest else {
            return Ok(Value::Bool(true));
        };
        id
    };
    let m = st
        .message_mut(key, id)
        .filter(|m| m.pinned)
        .ok_or_else(|| ApiError::bad_request("message to unpin not found"))?;
    m.pinned = false;
    Ok(Value::Bool(true))
}

/// `unpinAllChatMessages`.
pub fn unpin_all_chat_messages(st: &mut State, ctx: Ctx, p: &Params) -> ApiResult {
    let chat_id = st.writable_chat(ctx.bot, &p.chat()?)?.id;
    let key = st.conv_key(ctx.bot, chat_id);
    if let Some(conv) = st.convs.get_mut(&key) {
        for m in conv.messages.values_mut() {
            m.pinned = false;
        }
    }
    Ok(Value::Bool(true))
}
