//! Checks shared by the sending and editing methods: target chat, topic and reply, inline
//! keyboards, text and caption limits, flood control.

use serde_json::{Value, json};
use tokio::time::Instant;

use super::super::error::ApiError;
use super::super::params::Params;
use super::super::state::{ChatRec, ConvKey, State};
use super::super::text::{self, Formatted, utf16_len};
use super::Ctx;

/// Message text limit, in UTF-16 code units after entity parsing.
pub const TEXT_LIMIT: usize = 4096;
/// Caption limit.
pub const CAPTION_LIMIT: usize = 1024;
/// `callback_data` limit in bytes.
pub const CALLBACK_DATA_LIMIT: usize = 64;

/// Inline button `style` values (Bot API 9.4); anything else is `BUTTON_STYLE_INVALID`.
pub const BUTTON_STYLES: &[&str] = &["primary", "success", "danger"];

/// Where a new message goes.
pub struct Target {
    pub chat_id: i64,
    pub key: ConvKey,
    pub thread_id: Option<i32>,
    pub reply_to: Option<i32>,
    pub quote: Option<Value>,
}

/// Position of `needle` in `hay`, in UTF-16 code units.
pub fn utf16_find(hay: &str, needle: &str) -> Option<usize> {
    hay.find(needle).map(|byte| utf16_len(&hay[..byte]))
}

/// `message_thread_id`: a topic of the forum, or of the private chat in topic mode.
pub fn thread(chat: &ChatRec, p: &Params) -> Result<Option<i32>, ApiError> {
    match p.opt_i32("message_thread_id")? {
        None => Ok(None),
        Some(t) if chat.topics.contains_key(&t) => Ok(Some(t)),
        Some(_) => Err(ApiError::bad_request("message thread not found")),
    }
}

/// Resolve chat, topic and reply of a sending method.
pub fn target(st: &State, ctx: Ctx, p: &Params) -> Result<Target, ApiError> {
    let chat = st.writable_chat(ctx.bot, &p.chat()?)?;
    let chat_id = chat.id;
    let key = st.conv_key(ctx.bot, chat_id);
    let mut thread_id = thread(chat, p)?;
    let (reply_id, allow_without, quote_text) =
        match p.opt_json("reply_parameters", "reply parameters")? {
            Some(rp) => (
                rp.get("message_id").and_then(Value::as_i64),
                rp.get("allow_sending_without_reply")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                rp.get("quote").and_then(Value::as_str).map(str::to_owned),
            ),
            None => (
                p.opt_i64("reply_to_message_id")?,
                p.opt_bool("allow_sending_without_reply"),
                None,
            ),
        };
    let mut reply_to = None;
    let mut quote = None;
    if let Some(id) = reply_id {
        match i32::try_from(id).ok().and_then(|id| st.message(key, id)) {
            Some(m) => {
                reply_to = Some(m.id);
                thread_id = thread_id.or(m.thread_id);
                if let Some(q) = quote_text {
                    let source = m
                        .text
                        .as_ref()
                        .or(m.caption.as_ref())
                        .map_or("", |t| t.text.as_str());
                    let position = utf16_find(source, &q)
                        .ok_or_else(|| ApiError::bad_request("QUOTE_TEXT_INVALID"))?;
                    quote = Some(json!({ "text": q, "position": position, "is_manual": true }));
                }
            }
            None if allow_without => {}
            None => return Err(ApiError::bad_request("message to be replied not found")),
        }
    }
    Ok(Target {
        chat_id,
        key,
        thread_id,
        reply_to,
        quote,
    })
}

fn valid_button_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    ["http://", "https://", "tg://"]
        .iter()
        .any(|p| lower.starts_with(p) && lower.len() > p.len())
}

/// Validate `reply_markup`; returns the inline keyboard to store (other markups are not stored
/// on the message, as in Telegram's `Message.reply_markup`).
pub fn reply_markup(p: &Params) -> Result<Option<Value>, ApiError> {
    let Some(markup) = p.opt_json("reply_markup", "reply keyboard markup")? else {
        return Ok(None);
    };
    let Some(obj) = markup.as_object() else {
        return Err(ApiError::bad_request("object expected as reply markup"));
    };
    let Some(rows) = obj.get("inline_keyboard") else {
        return Ok(None);
    };
    let rows = rows.as_array().ok_or_else(|| {
        ApiError::bad_request(
            "field \"inline_keyboard\" of the InlineKeyboardMarkup must be an Array",
        )
    })?;
    let button_error = |detail: &str| {
        ApiError::bad_request(format!("can't parse inline keyboard button: {detail}"))
    };
    let mut kept = Vec::new();
    let mut count = 0;
    for row in rows {
        let row = row.as_array().ok_or_else(|| {
            ApiError::bad_request(
                "field \"inline_keyboard\" of the InlineKeyboardMarkup must be an Array of Arrays",
            )
        })?;
        for button in row {
            let b = button
                .as_object()
                .ok_or_else(|| button_error("InlineKeyboardButton must be an Object"))?;
            if !b.get("text").is_some_and(Value::is_string) {
                return Err(button_error("Field \"text\" must be of type String"));
            }
            if let Some(style) = b.get("style")
                && !style.as_str().is_some_and(|s| BUTTON_STYLES.contains(&s))
            {
                return Err(ApiError::bad_request("BUTTON_STYLE_INVALID"));
            }
            if b.get("disabled").is_some_and(|d| !d.is_boolean()) {
                return Err(button_error("Field \"disabled\" must be of type Boolean"));
            }
            if let Some(data) = b.get("callback_data") {
                let data = data.as_str().ok_or_else(|| {
                    button_error("Field \"callback_data\" must be of type String")
                })?;
                if data.is_empty() || data.len() > CALLBACK_DATA_LIMIT {
                    return Err(ApiError::bad_request("BUTTON_DATA_INVALID"));
                }
            } else if let Some(url) = b.get("url") {
                if !url.as_str().is_some_and(valid_button_url) {
                    return Err(ApiError::bad_request("BUTTON_URL_INVALID"));
                }
            } else if ![
                "web_app",
                "login_url",
                "switch_inline_query",
                "switch_inline_query_current_chat",
                "switch_inline_query_chosen_chat",
                "copy_text",
                "callback_game",
                "pay",
            ]
            .iter()
            .any(|k| b.contains_key(*k))
            {
                return Err(button_error(
                    "Text buttons are unallowed in the inline keyboard",
                ));
            }
            count += 1;
        }
        if !row.is_empty() {
            kept.push(Value::Array(row.clone()));
        }
    }
    if count > 100 {
        return Err(ApiError::bad_request("REPLY_MARKUP_TOO_LONG"));
    }
    Ok((!kept.is_empty()).then(|| json!({ "inline_keyboard": kept })))
}

/// `text` + `parse_mode`/`entities` of a message, with Telegram's empty and length checks.
pub fn message_text(p: &Params, too_long: &str) -> Result<Formatted, ApiError> {
    let f = text::from_params(p, "text", "parse_mode", "entities")?.unwrap_or_default();
    if f.text.is_empty() {
        return Err(ApiError::bad_request("message text is empty"));
    }
    if utf16_len(&f.text) > TEXT_LIMIT {
        return Err(ApiError::bad_request(too_long));
    }
    Ok(f)
}

/// `caption` + `parse_mode`/`caption_entities` (absent or empty → `None`).
pub fn caption(p: &Params) -> Result<Option<Formatted>, ApiError> {
    let Some(f) = text::from_params(p, "caption", "parse_mode", "caption_entities")? else {
        return Ok(None);
    };
    if f.text.is_empty() {
        return Ok(None);
    }
    if utf16_len(&f.text) > CAPTION_LIMIT {
        return Err(ApiError::bad_request("message caption is too long"));
    }
    Ok(Some(f))
}

/// 429 if the bot wrote to this chat less than the configured interval ago.
pub fn flood_check(st: &State, bot: i64, chat_id: i64) -> Result<(), ApiError> {
    if !st.flood.enabled {
        return Ok(());
    }
    let Some(interval) = st
        .flood
        .per_chat
        .get(&chat_id)
        .copied()
        .or(st.flood.default)
    else {
        return Ok(());
    };
    let Some(last) = st.bots.get(&bot).and_then(|b| b.last_send.get(&chat_id)) else {
        return Ok(());
    };
    let elapsed = Instant::now().saturating_duration_since(*last);
    if elapsed >= interval {
        return Ok(());
    }
    let secs = interval
        .saturating_sub(elapsed)
        .as_secs_f64()
        .ceil()
        .max(1.0) as u32;
    Err(ApiError::retry_after(secs))
}

/// Note a send or edit: starts the flood interval and ends the chat action.
pub fn after_write(st: &mut State, bot: i64, chat_id: i64) {
    if let Some(b) = st.bots.get_mut(&bot) {
        b.last_send.insert(chat_id, Instant::now());
        b.chat_actions.retain(|(chat, _), _| *chat != chat_id);
    }
}
