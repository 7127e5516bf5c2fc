//! Inline keyboard presses (§2.2): the callback data is decoded into an
//! [`Action`] and handed to the command layer; the query is answered (with the
//! response's note, if any) and the pressed message updated as the response says.
//! Presses are handled in their conversation's order; cancelling a queued message
//! happens at once.

use super::auth::{self, ChatKind};
use super::{Telegram, address, dispatch};
use crate::address::MessageRef;
use crate::ops::{self, Action, Ctx, Sender};
use std::sync::Arc;
use teloxide::types::CallbackQuery;

struct Origin {
    address: crate::address::Address,
    message: MessageRef,
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
    let topic = regular
        .filter(|r| r.is_topic_message)
        .and_then(|r| r.thread_id.map(|t| i64::from(t.0.0)));
    Some(Origin {
        address: address(chat.id.0, topic),
        message: MessageRef::from(i64::from(m.id().0)),
        text: regular
            .and_then(|r| r.text().or_else(|| r.caption()))
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
    let config = tg.config();
    if !auth::allowed(&config, o.kind, o.address.chat_id, Some(q.from.id.0 as i64)) {
        tracing::info!(
            chat = o.address.chat_id,
            user = q.from.id.0,
            "ignored a button press from an unauthorised user"
        );
        return;
    }
    let action = Action::decode(q.data.as_deref().unwrap_or_default());
    // Cancelling or steering a queued message and answering a live CLI's request are
    // quick and may have a note for the button ("only the starter can answer"), so
    // they are answered after the work; everything else at once, so the button stops
    // spinning even when the work takes a while.
    let immediate = matches!(
        action,
        Action::CancelQueued(_) | Action::Steer(_) | Action::Ask { .. }
    );
    if !immediate {
        tg.api.answer_callback(&q.id.0, None).await;
    }
    let t = tg.clone();
    let line = o.address.clone();
    let work = async move {
        let ctx = Ctx {
            ops: t.ops(),
            address: o.address.clone(),
            sender: Sender {
                first_name: q.from.first_name.clone(),
                id: Some(q.from.id.0.to_string()),
            },
            message: Some(o.message.clone()),
        };
        let response = ops::action(&ctx, action).await;
        let toast =
            t.fe.respond_pressed(&o.address, &o.message, &o.text, response)
                .await;
        if immediate {
            t.api.answer_callback(&q.id.0, toast.as_deref()).await;
        }
    };
    if immediate {
        work.await;
    } else {
        dispatch::in_order(tg, &line, work);
    }
}
