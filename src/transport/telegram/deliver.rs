//! Posts the agent's background deliveries ([`Outgoing`]) in the chats: notices as
//! messages, injections as a notice followed by a turn in the conversation's session.
//! A conversation without a chat (chat id 0) goes to the primary chat (the first
//! allowed user).

use super::format::{callback_data_for, html_to_plain, prepare_reply};
use super::{Telegram, dispatch, outfiles};
use crate::session::outbox::{OutboxRx, Outgoing};
use crate::state::sessions::SessionKey;
use crate::transport::chat_api::{ApiError, Button, ChatApi, ChatTarget, OutMessage};
use std::sync::Arc;
use std::time::Duration;

/// Where a delivery for `key` goes.
fn route(tg: &Telegram, key: SessionKey) -> Option<SessionKey> {
    if key.chat_id != 0 {
        return Some(key);
    }
    let primary = *tg.env().config().allowed_user_ids.first()?;
    Some(SessionKey::telegram(primary, None))
}

/// Waits between attempts while Telegram cannot be reached.
const NETWORK_BACKOFF_SECS: [u64; 6] = [1, 2, 4, 8, 16, 30];

/// The agent is shutting down before the message could be sent: it stays in the
/// outbox journal for the next start.
#[derive(Debug)]
struct Interrupted;

/// Sends one message, waiting out flood control and network trouble (until shutdown);
/// rejected HTML goes out as plain text. Other refusals (blocked bot, unknown chat) are
/// logged and given up: retrying cannot help.
async fn send_patiently(
    tg: &Telegram,
    target: ChatTarget,
    msg: OutMessage,
) -> Result<(), Interrupted> {
    let mut msg = msg;
    let mut network_failures = 0usize;
    loop {
        let wait = match tg.api.send(target, msg.clone()).await {
            Ok(_) => return Ok(()),
            Err(ApiError::RetryAfter(wait)) => wait,
            Err(ApiError::Network(e)) => {
                let step = network_failures.min(NETWORK_BACKOFF_SECS.len() - 1);
                let wait = Duration::from_secs(NETWORK_BACKOFF_SECS[step]);
                network_failures += 1;
                tracing::debug!(error = %e, ?wait, "delivery failed; retrying");
                wait
            }
            Err(ApiError::BadHtml(e) | ApiError::BadRequest(e)) if msg.html => {
                tracing::warn!(error = %e, "delivery rejected; sending as plain text");
                msg.text = html_to_plain(&msg.text);
                msg.html = false;
                continue;
            }
            Err(ApiError::NotFound(_)) if msg.reply_to.is_some() => {
                msg.reply_to = None;
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, chat = target.chat_id, "delivery refused; dropping it");
                return Ok(());
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = tg.shutdown.cancelled() => return Err(Interrupted),
        }
    }
}

/// Posts Markdown `text` in the conversation `key`.
async fn post(tg: &Telegram, key: &SessionKey, text: &str) -> Result<(), Interrupted> {
    post_reply(tg, key, text, None, None).await
}

/// Posts an answer: `[button:…]` markers become a keyboard on the last message
/// (callback data `<button_prefix><label>`), `<file:…>` tags are uploaded after it.
async fn post_reply(
    tg: &Telegram,
    key: &SessionKey,
    text: &str,
    reply_to: Option<i64>,
    button_prefix: Option<&str>,
) -> Result<(), Interrupted> {
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
        send_patiently(tg, target, msg).await?;
    }
    outfiles::send_all(tg, target, &reply.files, None).await;
    Ok(())
}

/// Consumes the outbox until the agent stops. Each item is acknowledged once it is in
/// its chat (an injection: once its turn starts, or the user dropped it from the queue).
pub async fn run(tg: Arc<Telegram>, mut outbox: OutboxRx) {
    while let Some(delivery) = outbox.recv().await {
        match delivery.item.clone() {
            Outgoing::Notice { key, text } => {
                if let Some(key) = route(&tg, key)
                    && post(&tg, &key, &text).await.is_err()
                {
                    return;
                }
                delivery.done();
            }
            Outgoing::Post {
                key,
                text,
                reply_to,
                button_prefix,
            } => {
                if let Some(key) = route(&tg, key)
                    && post_reply(&tg, &key, &text, reply_to, button_prefix.as_deref())
                        .await
                        .is_err()
                {
                    return;
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
                if let Some(n) = notice
                    && post(&tg, &key, &n).await.is_err()
                {
                    return;
                }
                dispatch::submit_acknowledged(&tg, key, prompt, move || delivery.done()).await;
            }
        }
    }
}
