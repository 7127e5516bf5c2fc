//! Bot API methods, one module per area. Each handler is synchronous and runs under the state
//! lock; only `getUpdates` waits, and its waiting half lives in `server`.

pub mod bot;
pub mod chat;
pub mod common;
pub mod media;
pub mod messages;
pub mod updates;

use super::error::{ApiError, ApiResult};
use super::params::Params;
use super::state::State;

/// Methods the fake knows, in Telegram's spelling (requests match them case-insensitively).
pub const KNOWN: &[&str] = &[
    "getMe",
    "logOut",
    "close",
    "getUpdates",
    "getWebhookInfo",
    "setWebhook",
    "deleteWebhook",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
    "sendMessage",
    "sendMessageDraft",
    "editMessageText",
    "editMessageCaption",
    "editMessageReplyMarkup",
    "deleteMessage",
    "deleteMessages",
    "sendChatAction",
    "setMessageReaction",
    "answerCallbackQuery",
    "getChat",
    "getChatMember",
    "leaveChat",
    "pinChatMessage",
    "unpinChatMessage",
    "unpinAllChatMessages",
    "getFile",
    "sendDocument",
    "sendPhoto",
    "sendAudio",
    "sendVideo",
    "sendVoice",
    "sendMediaGroup",
];

/// Real Bot API methods the fake deliberately does not emulate (answered with a clear 400).
const NOT_EMULATED: &[&str] = &[
    "forwardMessage",
    "forwardMessages",
    "copyMessage",
    "copyMessages",
    "sendAnimation",
    "sendVideoNote",
    "sendSticker",
    "sendLocation",
    "sendVenue",
    "sendContact",
    "sendPoll",
    "sendDice",
    "editMessageMedia",
    "stopPoll",
    "answerInlineQuery",
    "getChatAdministrators",
    "getChatMemberCount",
    "createForumTopic",
    "editForumTopic",
    "closeForumTopic",
    "deleteForumTopic",
    "setMyName",
    "setMyDescription",
    "setMyShortDescription",
    "setChatMenuButton",
    "getUserProfilePhotos",
];

/// Telegram's spelling of a method name sent in any case; `None` if Telegram has no such method here.
pub fn canonical(method: &str) -> Option<&'static str> {
    KNOWN
        .iter()
        .chain(NOT_EMULATED)
        .find(|m| m.eq_ignore_ascii_case(method))
        .copied()
}

/// Who is calling.
#[derive(Clone, Copy, Debug)]
pub struct Ctx {
    /// Bot id of the token.
    pub bot: i64,
}

/// Run one synchronous method (everything but `getUpdates`).
pub fn dispatch(st: &mut State, ctx: Ctx, method: &str, p: &Params) -> ApiResult {
    match method {
        "getMe" => bot::get_me(st, ctx),
        "logOut" | "close" => Ok(serde_json::Value::Bool(true)),
        "getWebhookInfo" => bot::get_webhook_info(st, ctx),
        "setWebhook" => bot::set_webhook(st, ctx, p),
        "deleteWebhook" => bot::delete_webhook(st, ctx, p),
        "setMyCommands" => bot::set_my_commands(st, ctx, p),
        "getMyCommands" => bot::get_my_commands(st, ctx, p),
        "deleteMyCommands" => bot::delete_my_commands(st, ctx, p),
        "sendMessage" => messages::send_message(st, ctx, p),
        // A server older than Bot API 9.3 answers like for any unknown method.
        "sendMessageDraft" if !st.drafts_supported => Err(ApiError::not_found()),
        "sendMessageDraft" => messages::send_message_draft(st, ctx, p),
        "editMessageText" => messages::edit_message_text(st, ctx, p),
        "editMessageCaption" => messages::edit_message_caption(st, ctx, p),
        "editMessageReplyMarkup" => messages::edit_message_reply_markup(st, ctx, p),
        "deleteMessage" => messages::delete_message(st, ctx, p),
        "deleteMessages" => messages::delete_messages(st, ctx, p),
        "sendChatAction" => messages::send_chat_action(st, ctx, p),
        "setMessageReaction" => messages::set_message_reaction(st, ctx, p),
        "answerCallbackQuery" => chat::answer_callback_query(st, ctx, p),
        "getChat" => chat::get_chat(st, ctx, p),
        "getChatMember" => chat::get_chat_member(st, ctx, p),
        "leaveChat" => chat::leave_chat(st, ctx, p),
        "pinChatMessage" => chat::pin_chat_message(st, ctx, p),
        "unpinChatMessage" => chat::unpin_chat_message(st, ctx, p),
        "unpinAllChatMessages" => chat::unpin_all_chat_messages(st, ctx, p),
        "getFile" => media::get_file(st, ctx, p),
        "sendDocument" | "sendPhoto" | "sendAudio" | "sendVideo" | "sendVoice" => {
            media::send_media(st, ctx, method, p)
        }
        "sendMediaGroup" => media::send_media_group(st, ctx, p),
        other if NOT_EMULATED.contains(&other) => Err(ApiError::bad_request(format!(
            "fake Telegram does not emulate method {other}"
        ))),
        _ => Err(ApiError::not_found()),
    }
}
