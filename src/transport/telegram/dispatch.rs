//! Routing of updates (§6.1): authorisation first (unauthorised input is counted
//! and otherwise ignored), duplicates dropped, group addressing, commands, then the
//! message becomes a turn for its conversation's session actor.

use super::activity::ChatInfo;
use super::auth::{self, ChatKind};
use super::incoming::{Incoming, addressed_text, parse_command};
use super::{Telegram, album, callbacks, commands, media, render};
use crate::session::TurnRequest;
use crate::state::sessions::SessionKey;
use crate::transport::chat_api::{ChatApi, ChatTarget, OutMessage};
use std::sync::Arc;
use teloxide::types::{Message, Update, UpdateKind};
use tokio::sync::mpsc;

/// Whether a raw message would be served (used to count old backlog messages).
pub fn is_authorised_message(tg: &Telegram, msg: &Message) -> bool {
    let inc = Incoming::from_message(msg, tg.me.id);
    auth::allowed(&tg.env().config(), inc.chat_kind, inc.chat_id, inc.user_id)
}

/// Handles one update.
pub async fn update(tg: &Arc<Telegram>, update: Update) {
    match update.kind {
        UpdateKind::Message(msg) => message(tg, &msg).await,
        UpdateKind::CallbackQuery(q) => callbacks::handle(tg, q).await,
        UpdateKind::MyChatMember(m) => membership(tg, &m).await,
        other => tracing::debug!(kind = ?std::mem::discriminant(&other), "update ignored"),
    }
}

/// The bot was added to or removed from a chat: record it, and leave chats that
/// are not allowed (with a short notice).
async fn membership(tg: &Telegram, m: &teloxide::types::ChatMemberUpdated) {
    let config = tg.env().config();
    let chat_id = m.chat.id.0;
    let (chat_type, allowed) = if m.chat.is_channel() {
        ("channel", config.allowed_channel_ids.contains(&chat_id))
    } else if m.chat.is_supergroup() {
        ("supergroup", config.allowed_group_ids.contains(&chat_id))
    } else {
        ("group", config.allowed_group_ids.contains(&chat_id))
    };
    let title = m.chat.title().unwrap_or_default().to_owned();
    let info = ChatInfo {
        chat_id,
        chat_type,
        title: &title,
    };
    let joined = m.new_chat_member.is_present();
    if joined && !allowed && !m.chat.is_private() {
        tracing::warn!(
            chat = chat_id,
            "added to a chat that is not allowed; leaving it"
        );
        let note = tg
            .text()
            .f("groups.not_allowed", &[("chat", &chat_id.to_string())]);
        let target = ChatTarget {
            chat_id,
            thread_id: None,
        };
        let _ = tg
            .api
            .send(
                target,
                OutMessage::plain(super::format::html_to_plain(&note)),
            )
            .await;
        if let Err(e) = teloxide::prelude::Requester::leave_chat(tg.api.bot(), m.chat.id).await {
            tracing::warn!(error = %super::api::classify(&e), "cannot leave the chat");
        }
        tg.activity.membership(info, "auto_left", false);
        return;
    }
    let status = if joined {
        "active"
    } else if m.new_chat_member.is_banned() {
        "kicked"
    } else {
        "left"
    };
    tg.activity.membership(info, status, allowed);
}

fn info(inc: &Incoming) -> ChatInfo<'_> {
    ChatInfo {
        chat_id: inc.chat_id,
        chat_type: inc.chat_type,
        title: &inc.chat_title,
    }
}

/// The conversation key of a message.
pub fn key_of(inc: &Incoming) -> SessionKey {
    SessionKey::telegram(inc.chat_id, inc.thread_id)
}

async fn message(tg: &Arc<Telegram>, msg: &Message) {
    let inc = Incoming::from_message(msg, tg.me.id);
    if inc.from_bot {
        return;
    }
    let config = tg.env().config();
    if !auth::allowed(&config, inc.chat_kind, inc.chat_id, inc.user_id) {
        tracing::info!(chat = inc.chat_id, user = ?inc.user_id, "ignored message from an unauthorised chat or user");
        tg.activity.rejected(info(&inc));
        return;
    }
    if !tg
        .dedup
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .first_time(inc.chat_id, inc.message_id)
    {
        tracing::debug!(
            chat = inc.chat_id,
            message = inc.message_id,
            "duplicate update dropped"
        );
        return;
    }
    tg.activity.seen(info(&inc));
    if let Some(name) = &inc.topic_name {
        tg.env().sessions.set_topic_name(&key_of(&inc), name);
        return;
    }
    let Some(text) = text_for_us(tg, &inc, &config) else {
        // An album's uncaptioned parts carry no mention: they follow the part that had one.
        if let (Some(group), Some(att)) = (&inc.media_group_id, &inc.attachment)
            && tg.albums.is_open(inc.chat_id, group)
        {
            let part = album::Part {
                att: att.clone(),
                caption: String::new(),
                inc: inc.clone(),
            };
            start_media(tg, part);
        }
        return;
    };
    if let Some((cmd, args)) = parse_command(&text, &tg.me.username)
        && commands::handle(tg, &inc, &cmd, args).await
    {
        return;
    }
    if config.abort_words && commands::is_abort_word(&text) {
        commands::stop(tg, &inc).await;
        return;
    }
    if let Some(att) = inc.attachment.clone() {
        start_media(
            tg,
            album::Part {
                inc,
                att,
                caption: text,
            },
        );
        return;
    }
    if let Some((name, rest)) = super::named::addressed(tg, &key_of(&inc), &text) {
        let prompt = build_prompt(&inc, &rest);
        super::named::follow_up(tg, key_of(&inc), Some(inc.message_id), &name, prompt).await;
        return;
    }
    let Some((text, target_override)) = apply_directives(tg, &inc, &text).await else {
        return;
    };
    let prompt = build_prompt(&inc, &text);
    if prompt.trim().is_empty() {
        return;
    }
    let key = key_of(&inc);
    // Behind a media download of this chat, the text waits for its turn.
    let slot = tg
        .media_order
        .busy(&key)
        .then(|| tg.media_order.enter(&key));
    let waits = slot.is_some();
    let tg = tg.clone();
    let submit = async move {
        if let Some(mut slot) = slot {
            slot.wait().await;
        }
        let reply_to = Some(inc.message_id);
        submit_to(&tg, key, reply_to, prompt, target_override, false).await;
    };
    if waits {
        tokio::spawn(submit);
    } else {
        submit.await;
    }
}

/// The text of a message meant for this bot (group mentions stripped); `None` for
/// `/cmd@otherbot` and, with `group_mention_only`, for group messages not
/// addressed to it.
fn text_for_us(
    tg: &Telegram,
    inc: &Incoming,
    config: &crate::config::AgentConfig,
) -> Option<String> {
    // `/cmd@otherbot` is for another bot, in groups and in private chats alike.
    let for_other_bot = parse_command(&inc.text, &tg.me.username).is_none()
        && inc.text.starts_with('/')
        && inc
            .text
            .split_whitespace()
            .next()
            .is_some_and(|c| c.contains('@'));
    if for_other_bot {
        return None;
    }
    if inc.chat_kind != ChatKind::Group {
        return Some(inc.text.clone());
    }
    let (addressed, stripped) = addressed_text(inc, &tg.me.username);
    if config.group_mention_only && !addressed {
        return None;
    }
    Some(stripped)
}

/// Leading `@model`/`@provider` directives: a one-turn override. A message of
/// directives only is answered with what the next message would use (`None`).
async fn apply_directives(
    tg: &Telegram,
    inc: &Incoming,
    text: &str,
) -> Option<(String, Option<crate::session::store::Target>)> {
    if !text.trim_start().starts_with('@') {
        return Some((text.to_owned(), None));
    }
    let known = tg.env().catalogue.known_ids();
    let d = crate::provider::directives::parse_directives(text, &known);
    if d.provider_override.is_none() && d.model_override.is_none() {
        return Some((text.to_owned(), None));
    }
    let target =
        super::model::directive_target(tg, d.provider_override, d.model_override.as_deref());
    if d.is_directive_only {
        if let Some(t) = &target {
            let name = if t.model.is_empty() {
                t.provider.to_string()
            } else {
                t.model.clone()
            };
            let html = tg.text().f(
                "model.next_uses",
                &[("model", &super::format::escape_html(&name))],
            );
            super::commands::reply(tg, inc, html, None).await;
        }
        return None;
    }
    Some((d.text, target))
}

/// Starts storing a media message (beside the poll loop; a slot keeps this chat's order).
/// A part of an album joins the album that is being collected, or opens it.
fn start_media(tg: &Arc<Telegram>, part: album::Part) {
    let key = key_of(&part.inc);
    let Some(group) = part.inc.media_group_id.clone() else {
        let slot = tg.media_order.enter(&key);
        tokio::spawn(media_message(tg.clone(), vec![part], slot));
        return;
    };
    let chat = part.inc.chat_id;
    if let Some(rx) = tg.albums.add(&group, part) {
        let slot = tg.media_order.enter(&key);
        let tg = tg.clone();
        tokio::spawn(async move {
            let parts = tg.albums.collect(chat, &group, rx, album::QUIET).await;
            media_message(tg, parts, slot).await;
        });
    }
}

/// Stores the files of a message (or of an album), then submits them as one turn of
/// `[INCOMING FILE]` blocks that answers the first message; a file that cannot be stored
/// gets a one-line reply and is left out.
async fn media_message(tg: Arc<Telegram>, parts: Vec<album::Part>, mut slot: media::Slot) {
    let Some(first) = parts.first() else {
        return;
    };
    let target = ChatTarget {
        chat_id: first.inc.chat_id,
        thread_id: first.inc.thread_id,
    };
    tg.api.typing(target).await;
    let config = tg.env().config();
    let mut received = Vec::with_capacity(parts.len());
    for part in &parts {
        let r = media::receive(&tg.api, tg.paths(), &config, &part.att, chrono::Utc::now()).await;
        received.push(r);
    }
    media::update_index(tg.paths(), chrono::Utc::now()).await;
    slot.wait().await;
    let mut blocks = Vec::new();
    for (part, r) in parts.iter().zip(received) {
        match r {
            Ok(r) => blocks.push(media::prompt_block(&r, &part.caption, tg.text())),
            Err(e) => {
                tracing::warn!(chat = part.inc.chat_id, kind = part.att.kind, error = %e, "incoming file refused");
                let reply = OutMessage::plain(e.user_message(tg.text()))
                    .replying_to(Some(part.inc.message_id));
                if let Err(e) = tg.api.send(target, reply).await {
                    tracing::warn!(error = %e, "cannot tell the user about the refused file");
                }
            }
        }
    }
    if !blocks.is_empty() {
        submit(
            &tg,
            &first.inc,
            build_prompt(&first.inc, &blocks.join("\n\n")),
        )
        .await;
    }
}

/// The prompt for a message: the quoted message first when the user replied to one.
fn build_prompt(inc: &Incoming, text: &str) -> String {
    match &inc.reply_to {
        Some(q) if !q.text.trim().is_empty() => {
            let quoted: String = q
                .text
                .lines()
                .map(|l| format!("> {l}"))
                .collect::<Vec<_>>()
                .join("\n");
            format!(
                "The user is replying to this quoted message:\n{quoted}\n\nThe user's message:\n{text}"
            )
        }
        _ => text.to_owned(),
    }
}

/// Starts a turn for `inc` with `prompt` and renders it.
pub async fn submit(tg: &Arc<Telegram>, inc: &Incoming, prompt: String) {
    submit_to(tg, key_of(inc), Some(inc.message_id), prompt, None, false).await;
}

/// Starts a turn in conversation `key` and calls `ack` once the turn has left the queue:
/// started (from then on an interruption is recorded in `inflight_turns.json`) or
/// dropped by the user. A turn still queued when the agent stops is never acknowledged.
pub async fn submit_acknowledged(
    tg: &Arc<Telegram>,
    key: SessionKey,
    prompt: String,
    ack: impl FnOnce() + Send + 'static,
) {
    let render = rendered(tg, &key, None, None);
    let (updates, mut rx) = mpsc::channel(256);
    tokio::spawn(async move {
        let mut ack = Some(ack);
        while let Some(update) = rx.recv().await {
            if matches!(
                update,
                crate::session::TurnUpdate::Started { .. }
                    | crate::session::TurnUpdate::Dropped { .. }
            ) && let Some(ack) = ack.take()
            {
                ack();
            }
            if render.send(update).await.is_err() {
                break;
            }
        }
    });
    tg.sessions
        .submit(&key, TurnRequest::new(prompt, updates))
        .await;
}

/// Starts a turn in conversation `key`, replying to `reply_to`.
pub async fn submit_to(
    tg: &Arc<Telegram>,
    key: SessionKey,
    reply_to: Option<i64>,
    prompt: String,
    target_override: Option<crate::session::store::Target>,
    is_recovery: bool,
) {
    let updates = rendered(tg, &key, reply_to, None);
    tg.sessions
        .submit(
            &key,
            TurnRequest {
                target_override,
                reply_to,
                is_recovery,
                ..TurnRequest::new(prompt, updates)
            },
        )
        .await;
}

/// Starts a streamed follow-up in named session `name` of conversation `key`; the
/// answer is tagged `[name | provider]`.
pub async fn submit_named(
    tg: &Arc<Telegram>,
    key: SessionKey,
    reply_to: Option<i64>,
    prompt: String,
    name: &str,
    provider: &str,
) {
    let tag = format!("**[{name} | {provider}]**");
    let updates = rendered(tg, &key, reply_to, Some(tag));
    tg.sessions
        .submit(
            &key,
            TurnRequest {
                reply_to,
                named: Some(name.to_owned()),
                ..TurnRequest::new(prompt, updates)
            },
        )
        .await;
}

/// A channel whose updates are rendered in the chat of `key`.
fn rendered(
    tg: &Arc<Telegram>,
    key: &SessionKey,
    reply_to: Option<i64>,
    tag: Option<String>,
) -> mpsc::Sender<crate::session::TurnUpdate> {
    let (tx, rx) = mpsc::channel(256);
    let target = ChatTarget {
        chat_id: key.chat_id,
        thread_id: key.topic_id,
    };
    tokio::spawn(render::turn_tagged(tg.clone(), target, reply_to, tag, rx));
    tx
}
