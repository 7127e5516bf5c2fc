//! Chat calls with the error policy of the streaming editor: flood control is waited out,
//! rejected markup falls back to plain text, and (for the final delivery) network trouble is
//! retried with backoff.

use std::sync::Arc;
use std::time::Duration;

use crate::address::{Address, MessageRef};
use crate::chat::api::{ApiError, BoxFut, ChatApi, Dialect, OutMessage};
use crate::ops::Buttons as Keyboard;

/// How hard a call tries before giving up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Effort {
    /// Live update: wait out flood control, give up on anything else (the next round retries).
    Live,
    /// Final delivery: also retry network trouble and refusals with backoff.
    Final,
}

/// Flood-control waits per call before it counts as failed (each wait is as long as Telegram
/// asks).
const MAX_FLOOD_WAITS: u32 = 8;

/// The chat API bound to one chat, its dialect, plus the retry policy.
pub(super) struct Ops {
    api: Arc<dyn ChatApi>,
    /// How the chat's messages are written.
    pub markup: Arc<dyn Dialect>,
    target: Address,
    backoff: Vec<Duration>,
}

impl Ops {
    /// Calls into `api` for `target`; `backoff` = waits between final-delivery retries.
    pub(super) fn new(
        api: Arc<dyn ChatApi>,
        markup: Arc<dyn Dialect>,
        target: Address,
        backoff: Vec<Duration>,
    ) -> Self {
        Self {
            api,
            markup,
            target,
            backoff,
        }
    }

    /// Runs one API call, retrying per `effort`.
    async fn call<'x, T>(
        &'x self,
        effort: Effort,
        op: impl Fn(&'x dyn ChatApi, &'x Address) -> BoxFut<'x, Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        let mut flood_waits = 0;
        let mut backoff = self.backoff.iter();
        loop {
            let err = match op(self.api.as_ref(), &self.target).await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            match &err {
                ApiError::RetryAfter(wait) if flood_waits < MAX_FLOOD_WAITS => {
                    flood_waits += 1;
                    tracing::debug!(?wait, "flood control while streaming; waiting");
                    tokio::time::sleep(*wait).await;
                }
                ApiError::Network(_) | ApiError::Forbidden(_) if effort == Effort::Final => {
                    let Some(wait) = backoff.next() else {
                        return Err(err);
                    };
                    tracing::debug!(?wait, error = %err, "final delivery failed; retrying");
                    tokio::time::sleep(*wait).await;
                }
                _ => return Err(err),
            }
        }
    }

    /// Sends one markup chunk; falls back to plain text when the transport rejects the markup
    /// (or the request), and to no reply when the message to answer is gone.
    pub(super) async fn send(
        &self,
        html: &str,
        reply_to: Option<MessageRef>,
        keyboard: Option<Keyboard>,
        effort: Effort,
    ) -> Result<MessageRef, ApiError> {
        let msg = OutMessage::markup(html)
            .replying_to(reply_to)
            .with_buttons(keyboard);
        match self.send_msg(msg.clone(), effort).await {
            Err(ApiError::BadMarkup(e) | ApiError::BadRequest(e)) => {
                tracing::warn!(error = %e, "message markup rejected; sending plain text");
                let plain = OutMessage {
                    text: self.markup.to_plain(html),
                    markup: false,
                    ..msg
                };
                self.send_msg(plain, effort).await
            }
            other => other,
        }
    }

    /// Sends a plain-text message (no HTML parsing).
    pub(super) async fn send_plain(
        &self,
        text: &str,
        reply_to: Option<MessageRef>,
        effort: Effort,
    ) -> Result<MessageRef, ApiError> {
        self.send_msg(OutMessage::plain(text).replying_to(reply_to), effort)
            .await
    }

    /// Sends `msg`, dropping `reply_to` if the message to answer no longer exists.
    async fn send_msg(&self, msg: OutMessage, effort: Effort) -> Result<MessageRef, ApiError> {
        let sent = self.call(effort, |api, to| api.send(to, msg.clone())).await;
        match sent {
            Err(ApiError::NotFound(_)) if msg.reply_to.is_some() => {
                let msg = msg.replying_to(None);
                self.call(effort, |api, to| api.send(to, msg.clone())).await
            }
            other => other,
        }
    }

    /// Replaces message `id` with a markup chunk; "not modified" is success, rejected markup
    /// is retried as plain text. Other errors go to the caller.
    pub(super) async fn edit(
        &self,
        id: &MessageRef,
        html: &str,
        keyboard: Option<Keyboard>,
        effort: Effort,
    ) -> Result<(), ApiError> {
        let msg = OutMessage::markup(html).with_buttons(keyboard);
        match self.edit_msg(id, msg.clone(), effort).await {
            Err(ApiError::BadMarkup(e)) => {
                tracing::warn!(error = %e, "markup edit rejected; editing as plain text");
                let plain = OutMessage {
                    text: self.markup.to_plain(html),
                    markup: false,
                    ..msg
                };
                self.edit_msg(id, plain, effort).await
            }
            other => other,
        }
    }

    /// Edits message `id`, treating "not modified" as done.
    async fn edit_msg(
        &self,
        id: &MessageRef,
        msg: OutMessage,
        effort: Effort,
    ) -> Result<(), ApiError> {
        match self
            .call(effort, |api, to| api.edit(to, id, msg.clone()))
            .await
        {
            Err(ApiError::NotModified) | Ok(()) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Whether the chat takes drafts.
    pub(super) fn drafts(&self) -> bool {
        self.api.drafts(&self.target)
    }

    /// Shows a markup chunk as draft `draft_id`; rejected markup is retried as plain
    /// text. Flood control is waited out; other errors go to the caller.
    pub(super) async fn draft(&self, draft_id: u64, html: &str) -> Result<(), ApiError> {
        let msg = OutMessage::markup(html);
        let sent = self
            .call(Effort::Live, |api, to| {
                api.draft(to, draft_id, msg.clone(), true)
            })
            .await;
        match sent {
            Err(ApiError::BadMarkup(e)) => {
                tracing::debug!(error = %e, "draft markup rejected; showing plain text");
                let plain = OutMessage::plain(self.markup.to_plain(html));
                self.call(Effort::Live, |api, to| {
                    api.draft(to, draft_id, plain.clone(), true)
                })
                .await
            }
            other => other,
        }
    }

    /// Deletes message `id`; a message that is already gone counts as deleted.
    pub(super) async fn delete(&self, id: &MessageRef, effort: Effort) -> Result<(), ApiError> {
        match self.call(effort, |api, to| api.delete(to, id)).await {
            Err(ApiError::NotFound(_)) | Ok(()) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
