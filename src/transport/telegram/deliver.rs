//! Posts the agent's background deliveries ([`Outgoing`]) in the chats: notices as
//! messages, injections as a notice followed by a turn in the conversation's session.
//! A conversation without a chat (chat id 0) goes to the primary chat (the first
//! allowed user).

use super::format::{callback_data_for, html_to_plain, prepare_reply};
use super::{Telegram, dispatch, outfiles};
use crate::session::outbox::{OutboxRx, Outgoing};
use crate::state::sessions::SessionKey;
use crate::transport::chat_api::{Button, ChatApi, ChatTarget, OutMessage};
use std::sync::Arc;

/// Where a delivery for `key` goes.
fn route(tg: &Telegram, key: SessionKey) -> Option<SessionKey> {
    if key.chat_id != 0 {
        return Some(key);
    }
    let primary = *tg.env().config().allowed_user_ids.first()?;
    Some(SessionKey::telegram(primary, None))
}

/// Posts Markdown `text` in the conversation `key`.
pub async fn post(tg: &Telegram, key: &SessionKey, text: &str) {
    post_reply(tg, key, text, None, None).await;
}

/// Posts an answer: `[button:…]` markers become a keyboard on the last message
/// (callback data `<button_prefix><label>`), `<file:…>` tags are uploaded after it.
pub async fn post_reply(
    tg: &Telegram,
    key: &SessionKey,
    text: &str,
    reply_to: Option<i64>,
    button_prefix: Option<&str>,
) {
    let target = ChatTarget {
        chat_id: key.chat_id,
        thread_id: key.topic_id,
    };
    let reply = prepare_reply(text);
    let keyboard: Vec<Vec<Button>> = reply
        .buttons
        .iter()
        .map(|row| {
            row.iter()
                .map(|label| Button {
                    label: label.clone(),
                    data: callback_data_for(&format!("{}{label}", button_prefix.unwrap_or(""))),
                })
                .collect()
        })
        .collect();
    let last = reply.chunks.len().saturating_sub(1);
    for (i, chunk) in reply.chunks.iter().enumerate() {
        let mut msg = OutMessage::html(chunk.clone());
        if i == 0 {
            msg = msg.replying_to(reply_to);
        }
        if i == last {
            msg = msg.with_keyboard(Some(keyboard.clone()));
        }
        if let Err(e) = tg.api.send(target, msg.clone()).await {
            tracing::warn!(error = %e, "delivery failed; sending as plain text");
            let mut plain = msg;
            plain.text = html_to_plain(chunk);
            plain.html = false;
            let _ = tg.api.send(target, plain).await;
        }
    }
    outfiles::send_all(tg, target, &reply.files, None).await;
}

/// Consumes the outbox until the agent stops. Each item is acknowledged once it is in
/// its chat (an injection: once its turn starts, or the user dropped it from the queue).
pub async fn run(tg: Arc<Telegram>, mut outbox: OutboxRx) {
    while let Some(delivery) = outbox.recv().await {
        match delivery.item.clone() {
            Outgoing::Notice { key, text } => {
                if let Some(key) = route(&tg, key) {
                    post(&tg, &key, &text).await;
                }
                delivery.done();
            }
            Outgoing::Post {
                key,
                text,
                reply_to,
                button_prefix,
            } => {
                if let Some(key) = route(&tg, key) {
                    post_reply(&tg, &key, &text, reply_to, button_prefix.as_deref()).await;
                }
                delivery.done();
            }
            Outgoing::Inject {
                key,
                notice,
                prompt,
            } => {
                let Some(key) = route(&tg, key) else {
                    tracing::warn!(
                        "no chat to deliver a background result to (allowed_user_ids is empty)"
                    );
                    delivery.done();
                    continue;
                };
                if let Some(n) = notice {
                    post(&tg, &key, &n).await;
                }
                dispatch::submit_acknowledged(&tg, key, prompt, move || delivery.done()).await;
            }
        }
    }
}
