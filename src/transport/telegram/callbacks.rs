//! Inline keyboard presses (§2.2). Every query is answered at once; then `w:`
//! (welcome prompts), `mq:` (cancel a queued message), `rt:` (retry an interrupted
//! turn); anything else is an agent-authored button whose label becomes the next
//! message (the pressed message is annotated and loses its keyboard).

use super::auth::{self, ChatKind};
use super::format::escape_html;
use super::{Telegram, dispatch};
use crate::state::sessions::SessionKey;
use crate::transport::chat_api::{ChatApi, ChatTarget, OutMessage};
use std::sync::Arc;
use teloxide::types::CallbackQuery;

struct Origin {
    target: ChatTarget,
    message_id: i64,
    text: String,
    kind: ChatKind,
}

fn origin(q: &CallbackQuery) -> Option<Origin> {
    let m = q.message.as_ref()?;
    let chat = m.chat();
    let regular = m.regular_message();
    let kind = if chat.is_private() {
        ChatKind::Private
    } else if chat.is_channel() {
        ChatKind::Channel
    } else {
        ChatKind::Group
    };
    Some(Origin {
        target: ChatTarget {
            chat_id: chat.id.0,
            thread_id: regular
                .filter(|r| r.is_topic_message)
                .and_then(|r| r.thread_id.map(|t| i64::from(t.0.0))),
        },
        message_id: i64::from(m.id().0),
        text: regular
            .and_then(|r| r.text())
            .unwrap_or_default()
            .to_owned(),
        kind,
    })
}

/// Handles one callback query.
pub async fn handle(tg: &Arc<Telegram>, q: CallbackQuery) {
    let Some(o) = origin(&q) else {
        tg.api.answer_callback(&q.id.0, None).await;
        return;
    };
    let config = tg.env().config();
    if !auth::allowed(&config, o.kind, o.target.chat_id, Some(q.from.id.0 as i64)) {
        tracing::info!(
            chat = o.target.chat_id,
            user = q.from.id.0,
            "ignored a button press from an unauthorised user"
        );
        return;
    }
    let data = q.data.clone().unwrap_or_default();
    let text = tg.text();
    let key = SessionKey::telegram(o.target.chat_id, o.target.thread_id);
    if let Some(n) = data.strip_prefix("w:") {
        tg.api.answer_callback(&q.id.0, None).await;
        let prompt = text.t(&format!("start.prompt{n}"));
        if prompt.starts_with("start.") {
            return;
        }
        annotate(tg, &o, &text.t(&format!("start.button{n}"))).await;
        dispatch::submit_to(tg, key, Some(o.message_id), prompt, None, false).await;
    } else if let Some(entry) = data.strip_prefix("mq:") {
        let cancelled = match entry.parse::<u64>() {
            Ok(e) => tg.sessions.cancel_queued(e).await,
            Err(_) => false,
        };
        let note = (!cancelled).then(|| text.t("queue.gone"));
        tg.api.answer_callback(&q.id.0, note.as_deref()).await;
        if !cancelled {
            let _ = tg
                .api
                .edit(
                    o.target,
                    o.message_id,
                    OutMessage::plain(text.t("queue.gone")),
                )
                .await;
        }
    } else if data.starts_with("tsc:") {
        tg.api.answer_callback(&q.id.0, None).await;
        super::tasks::callback(tg, o.target, o.message_id, &data).await;
    } else if data.starts_with("ms:") {
        tg.api.answer_callback(&q.id.0, None).await;
        super::model::callback(tg, &key, o.target, o.message_id, &data).await;
    } else if data.starts_with("sf:") || data.starts_with("sf!") {
        tg.api.answer_callback(&q.id.0, None).await;
        if let Some(prompt) = super::showfiles::callback(tg, o.target, o.message_id, &data).await {
            dispatch::submit_to(tg, key, Some(o.message_id), prompt, None, false).await;
        }
    } else if data.starts_with("ns:") || data.starts_with("nsc:") {
        tg.api.answer_callback(&q.id.0, None).await;
        if data.starts_with("ns:") {
            let label = data.splitn(3, ':').nth(2).unwrap_or_default();
            annotate(tg, &o, label).await;
        }
        super::named::callback(tg, key, o.target, o.message_id, &data).await;
    } else if let Some(k) = data.strip_prefix("rt:") {
        tg.api.answer_callback(&q.id.0, None).await;
        match tg.env().inflight.take_for_retry(k) {
            Some(turn) => {
                let _ = tg
                    .api
                    .edit(o.target, o.message_id, OutMessage::plain(o.text.clone()))
                    .await;
                let reply_to = turn.message_id.or(Some(o.message_id));
                dispatch::submit_to(tg, key, reply_to, turn.prompt, None, true).await;
            }
            None => {
                let _ = tg
                    .api
                    .edit(
                        o.target,
                        o.message_id,
                        OutMessage::plain(text.t("session.retry_gone")),
                    )
                    .await;
            }
        }
    } else {
        tg.api.answer_callback(&q.id.0, None).await;
        annotate(tg, &o, &data).await;
        dispatch::submit_to(tg, key, Some(o.message_id), data, None, false).await;
    }
}

/// Appends "[USER ANSWER] label" to the pressed message and removes its keyboard.
async fn annotate(tg: &Telegram, o: &Origin, label: &str) {
    let note = tg.text().f("session.user_answer", &[("label", label)]);
    let html = format!("{}\n\n<i>{}</i>", escape_html(&o.text), escape_html(&note));
    if let Err(e) = tg
        .api
        .edit(o.target, o.message_id, OutMessage::html(html))
        .await
    {
        tracing::debug!(error = %e, "cannot annotate the pressed message");
    }
}
