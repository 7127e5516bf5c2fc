//! The bot itself: `getMe`, webhook state, and the command menu.

use serde_json::{Value, json};

use super::super::error::{ApiError, ApiResult};
use super::super::json;
use super::super::params::Params;
use super::super::state::State;
use super::Ctx;

/// `getMe`.
pub fn get_me(st: &State, ctx: Ctx) -> ApiResult {
    Ok(json::me(st.bot(ctx.bot)?))
}

/// `getWebhookInfo`.
pub fn get_webhook_info(st: &State, ctx: Ctx) -> ApiResult {
    let b = st.bot(ctx.bot)?;
    Ok(json!({
        "url": b.webhook_url.clone().unwrap_or_default(),
        "has_custom_certificate": false,
        "pending_update_count": b.queue.len(),
    }))
}

/// `setWebhook`: stored only (nothing is delivered); a pending long poll is terminated.
pub fn set_webhook(st: &mut State, ctx: Ctx, p: &Params) -> ApiResult {
    let url = p.opt_str("url").unwrap_or_default();
    let drop_pending = p.opt_bool("drop_pending_updates");
    let b = st.bot_mut(ctx.bot)?;
    if url.is_empty() {
        b.webhook_url = None;
    } else {
        if !url.to_ascii_lowercase().starts_with("https://") {
            return Err(ApiError::bad_request(
                "bad webhook: An HTTPS URL must be provided for webhook",
            ));
        }
        b.webhook_url = Some(url);
        b.active_poll = None;
    }
    if drop_pending {
        b.queue.clear();
    }
    Ok(Value::Bool(true))
}

/// `deleteWebhook`, honouring `drop_pending_updates`.
pub fn delete_webhook(st: &mut State, ctx: Ctx, p: &Params) -> ApiResult {
    let drop_pending = p.opt_bool("drop_pending_updates");
    let b = st.bot_mut(ctx.bot)?;
    b.webhook_url = None;
    if drop_pending {
        b.queue.clear();
    }
    Ok(Value::Bool(true))
}

/// A stable key for a `BotCommandScope` object (missing scope = `default`).
pub fn scope_key(scope: &Value) -> String {
    let field = |k: &str| match scope.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let kind = field("type");
    let kind = if kind.is_empty() {
        "default".to_owned()
    } else {
        kind
    };
    format!("{kind}:{}:{}", field("chat_id"), field("user_id"))
}

/// `BotCommandScope` types.
const SCOPES: &[&str] = &[
    "default",
    "all_private_chats",
    "all_group_chats",
    "all_chat_administrators",
    "chat",
    "chat_administrators",
    "chat_member",
];

fn scope_and_language(p: &Params) -> Result<(String, String), ApiError> {
    let scope = p
        .opt_json("scope", "bot command scope")?
        .unwrap_or(Value::Null);
    let kind = scope
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("default");
    if !SCOPES.contains(&kind) {
        return Err(ApiError::bad_request("unsupported bot command scope type"));
    }
    let language = p.opt_str("language_code").unwrap_or_default();
    if !(language.is_empty()
        || (language.len() == 2 && language.bytes().all(|c| c.is_ascii_lowercase())))
    {
        return Err(ApiError::bad_request("invalid language code specified"));
    }
    Ok((scope_key(&scope), language))
}

/// `setMyCommands`: at most 100 commands, names `[a-z0-9_]{1,32}`, descriptions 1–256 characters.
pub fn set_my_commands(st: &mut State, ctx: Ctx, p: &Params) -> ApiResult {
    let commands = match p.opt_json("commands", "bot commands")? {
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(ApiError::bad_request(
                "can't parse bot commands JSON object",
            ));
        }
        None => return Err(ApiError::bad_request("parameter \"commands\" is required")),
    };
    if commands.len() > 100 {
        return Err(ApiError::bad_request("BOT_COMMANDS_TOO_MUCH"));
    }
    let mut stored = Vec::with_capacity(commands.len());
    for c in &commands {
        let name = c.get("command").and_then(Value::as_str).unwrap_or("");
        let description = c.get("description").and_then(Value::as_str).unwrap_or("");
        let valid_name = (1..=32).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid_name {
            return Err(ApiError::bad_request("BOT_COMMAND_INVALID"));
        }
        let len = description.trim().chars().count();
        if !(1..=256).contains(&len) {
            return Err(ApiError::bad_request("BOT_COMMAND_DESCRIPTION_INVALID"));
        }
        stored.push(json!({ "command": name, "description": description }));
    }
    let key = scope_and_language(p)?;
    let b = st.bot_mut(ctx.bot)?;
    if stored.is_empty() {
        b.commands.remove(&key);
    } else {
        b.commands.insert(key, stored);
    }
    Ok(Value::Bool(true))
}

/// `getMyCommands` for exactly the given scope and language.
pub fn get_my_commands(st: &State, ctx: Ctx, p: &Params) -> ApiResult {
    let key = scope_and_language(p)?;
    Ok(Value::Array(
        st.bot(ctx.bot)?
            .commands
            .get(&key)
            .cloned()
            .unwrap_or_default(),
    ))
}

/// `deleteMyCommands`.
pub fn delete_my_commands(st: &mut State, ctx: Ctx, p: &Params) -> ApiResult {
    let key = scope_and_language(p)?;
    st.bot_mut(ctx.bot)?.commands.remove(&key);
    Ok(Value::Bool(true))
}
