//! Routing of updates (§6.1): authorisation first (unauthorised input is counted and
//! otherwise ignored), duplicates dropped, group addressing, then the command layer:
//! commands, plain messages, media. A conversation's input is handled in order; what
//! may take long (most commands, media downloads, input behind them) runs beside the
//! poll loop, so one slow chat never holds up the others.

use super::activity::ChatInfo;
use super::auth::{self, ChatKind};
use super::incoming::{Incoming, addressed_text, parse_command};
use super::{Telegram, address, album, callbacks};
use crate::address::{Address, MessageRef};
use crate::chat::api::OutMessage;
use crate::chat::media;
use crate::ops::{self, Ctx, Sender};
use std::future::Future;
use std::sync::Arc;
use teloxide::types::{Message, Update, UpdateKind};

/// Whether a raw message would be served (used to count old backlog messages).
pub fn is_authorised_message(tg: &Telegram, msg: &Message) -> bool {
    let inc = Incoming::from_message(msg, tg.me.id);
    auth::allowed(&tg.config(), inc.chat_kind, inc.chat_id, inc.user_id)
}

/// Handles one update.
pub async fn update(tg: &Arc<Telegram>, update: Update) {
    match update.kind {
        // A channel post has no sender: the channel itself is authorised (§6.9).
        UpdateKind::Message(msg) | UpdateKind::ChannelPost(msg) => message(tg, &msg).await,
        UpdateKind::CallbackQuery(q) => callbacks::handle(tg, q).await,
        UpdateKind::MyChatMember(m) => membership(tg, &m).await,
        other => tracing::debug!(kind = ?std::mem::discriminant(&other), "update ignored"),
    }
}

/// The bot was added to or removed from a chat: record it, leave chats that are not
/// allowed (with a short notice), and greet an allowed group it has just joined with
/// `JOIN_NOTIFICATION.md`.
async fn membership(tg: &Telegram, m: &teloxide::types::ChatMemberUpdated) {
    let config = tg.config();
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
        let key = if m.chat.is_channel() {
            "groups.channel_not_allowed"
        } else {
            "groups.not_allowed"
        };
        let note = tg.text().f(key, &[("chat", &chat_id.to_string())]);
        let _ = tg
            .fe
            .send_message(&address(chat_id, None), OutMessage::plain(note), false)
            .await;
        if let Err(e) = tg.api.leave_chat(chat_id).await {
            tracing::warn!(error = %e, "cannot leave the chat");
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
    // Only a real join: a promotion to administrator is a membership update too.
    let arrived = joined && !m.old_chat_member.is_present();
    if arrived && !m.chat.is_private() && !m.chat.is_channel() {
        tg.fe.greet(&address(chat_id, None)).await;
    }
}

fn info(inc: &Incoming) -> ChatInfo<'_> {
    ChatInfo {
        chat_id: inc.chat_id,
        chat_type: inc.chat_type,
        title: &inc.chat_title,
    }
}

/// The conversation of a message.
pub fn address_of(inc: &Incoming) -> Address {
    address(inc.chat_id, inc.thread_id)
}

/// The command layer's view of a message.
pub fn ctx<'a>(tg: &'a Telegram, inc: &Incoming) -> Ctx<'a> {
    Ctx {
        ops: tg.ops(),
        address: address_of(inc),
        sender: Sender {
            first_name: inc.first_name.clone(),
            id: inc.user_id.map(|u| u.to_string()),
        },
        message: Some(MessageRef::from(inc.message_id)),
    }
}

/// Runs `work` for conversation `key` after everything of it that came before; beside
/// the poll loop.
pub fn in_order(
    tg: &Arc<Telegram>,
    key: &Address,
    work: impl Future<Output = ()> + Send + 'static,
) {
    let mut slot = tg.order.enter(key);
    tokio::spawn(async move {
        slot.wait().await;
        work.await;
        drop(slot);
    });
}

/// Runs `work` right here when nothing of the conversation waits, else in order after it.
async fn now_or_in_order(
    tg: &Arc<Telegram>,
    key: &Address,
    work: impl Future<Output = ()> + Send + 'static,
) {
    if tg.order.busy(key) {
        in_order(tg, key, work);
    } else {
        work.await;
    }
}

async fn message(tg: &Arc<Telegram>, msg: &Message) {
    let inc = Incoming::from_message(msg, tg.me.id);
    if inc.from_bot {
        return;
    }
    let config = tg.config();
    if !auth::allowed(&config, inc.chat_kind, inc.chat_id, inc.user_id) {
        tracing::info!(chat = inc.chat_id, user = ?inc.user_id, "ignored message from an unauthorised chat or user");
        if auth::chat_allowed(&config, inc.chat_kind, inc.chat_id) {
            // A member who may not use the bot, in a group that may: the group stays
            // served; only the rejection is counted.
            tg.activity.member_rejected(info(&inc));
        } else {
            tg.activity.rejected(info(&inc));
        }
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
    let key = address_of(&inc);
    if let Some(name) = &inc.topic_name {
        tg.ops()
            .core
            .conversations
            .engine()
            .sessions
            .set_topic_name(&key, name);
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
    // Someone else's words, forwarded, are never a command or a stop word.
    let forwarded = inc.forwarded_from.is_some();
    if !forwarded
        && let Some((cmd, args)) = parse_command(&text, &tg.me.username)
        && command(tg, &inc, &cmd, args.to_owned())
    {
        return;
    }
    if !forwarded && ops::is_abort(tg.ops(), &text) {
        let r = ops::message(&ctx(tg, &inc), &text, &ops::Origin::default()).await;
        tg.fe
            .respond(&key, Some(MessageRef::from(inc.message_id)), r)
            .await;
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
    let t = tg.clone();
    let line = key.clone();
    now_or_in_order(tg, &line, async move {
        let r = ops::message(&ctx(&t, &inc), &text, &inc.origin()).await;
        t.fe.respond(&key, Some(MessageRef::from(inc.message_id)), r)
            .await;
    })
    .await;
}

/// Handles `/cmd args`; false when the command is not ours (it then goes to the agent).
fn command(tg: &Arc<Telegram>, inc: &Incoming, cmd: &str, args: String) -> bool {
    let key = address_of(inc);
    let t = tg.clone();
    let inc = inc.clone();
    match cmd {
        "where" | "leave" => {
            let cmd = cmd.to_owned();
            let line = key.clone();
            in_order(tg, &line, async move {
                let reply = if cmd == "where" {
                    super::info::where_(&t)
                } else {
                    super::info::leave(&t, &args).await
                };
                t.fe.post_reply(&key, &reply, Some(MessageRef::from(inc.message_id)))
                    .await;
            });
            true
        }
        _ => {
            let Some(spec) = ops::table::lookup(cmd) else {
                return false;
            };
            let line = key.clone();
            let work = async move {
                let Some(r) = ops::command(&ctx(&t, &inc), spec.name, &args).await else {
                    return;
                };
                t.fe.respond(&key, Some(MessageRef::from(inc.message_id)), r)
                    .await;
            };
            if spec.immediate {
                tokio::spawn(work);
            } else {
                in_order(tg, &line, work);
            }
            true
        }
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

/// Starts storing a media message (beside the poll loop, in the conversation's order).
/// A part of an album joins the album that is being collected, or opens it.
fn start_media(tg: &Arc<Telegram>, part: album::Part) {
    let key = address_of(&part.inc);
    let Some(group) = part.inc.media_group_id.clone() else {
        let slot = tg.order.enter(&key);
        tokio::spawn(media_message(tg.clone(), vec![part], slot));
        return;
    };
    let chat = part.inc.chat_id;
    if let Some(rx) = tg.albums.add(&group, part) {
        let slot = tg.order.enter(&key);
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
    let to = address_of(&first.inc);
    crate::chat::api::ChatApi::typing(tg.api.as_ref(), &to).await;
    let config = tg.config();
    let paths = tg.ops().core.paths.clone();
    let files_dir = paths.telegram_files_dir();
    let mut received = Vec::with_capacity(parts.len());
    for part in &parts {
        let r = media::receive(
            tg.api.as_ref(),
            &files_dir,
            &paths,
            &config,
            &part.att,
            chrono::Utc::now(),
        )
        .await;
        received.push(r);
    }
    media::update_index(&files_dir, chrono::Utc::now()).await;
    slot.wait().await;
    let mut blocks = Vec::new();
    let limit = super::media::download::DOWNLOAD_LIMIT;
    for (part, r) in parts.iter().zip(received) {
        match r {
            Ok(r) => blocks.push(media::prompt_block(&r, &part.caption, tg.text())),
            Err(e) => {
                tracing::warn!(chat = part.inc.chat_id, kind = part.att.kind, error = %e, "incoming file refused");
                let reply = OutMessage::plain(e.user_message(tg.text(), limit))
                    .replying_to(Some(MessageRef::from(part.inc.message_id)));
                let _ = tg.fe.send_message(&to, reply, false).await;
            }
        }
    }
    if !blocks.is_empty() {
        let prompt = ops::framed(&first.inc.origin(), &blocks.join("\n\n"));
        let submit = ops::Submit::main(prompt, Some(MessageRef::from(first.inc.message_id)));
        tg.fe.submit(&to, submit).await;
    }
}
