//! Posts the agent's background deliveries ([`Outgoing`]) in the chats: notices as
//! messages, injections as a notice followed by a turn in the conversation's session.
//! A conversation without a chat (chat id 0) goes to the primary chat (the first
//! allowed user).

use super::format::{markdown_to_html, split_html};
use super::{Telegram, dispatch};
use crate::session::outbox::{OutboxRx, Outgoing};
use crate::state::sessions::SessionKey;
use crate::transport::chat_api::{ChatApi, ChatTarget, OutMessage};
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
    let target = ChatTarget {
        chat_id: key.chat_id,
        thread_id: key.topic_id,
    };
    for chunk in split_html(&markdown_to_html(text), super::format::MESSAGE_LIMIT) {
        if let Err(e) = tg.api.send(target, OutMessage::html(chunk.clone())).await {
            tracing::warn!(error = %e, "delivery failed; sending as plain text");
            let _ = tg
                .api
                .send(
                    target,
                    OutMessage::plain(super::format::html_to_plain(&chunk)),
                )
                .await;
        }
    }
}

/// Consumes the outbox until the agent stops.
pub async fn run(tg: Arc<Telegram>, mut outbox: OutboxRx) {
    while let Some(item) = outbox.recv().await {
        match item {
            Outgoing::Notice { key, text } => {
                if let Some(key) = route(&tg, key) {
                    post(&tg, &key, &text).await;
                }
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
                    continue;
                };
                if let Some(n) = notice {
                    post(&tg, &key, &n).await;
                }
                dispatch::submit_to(&tg, key, None, prompt, None, false).await;
            }
        }
    }
}
