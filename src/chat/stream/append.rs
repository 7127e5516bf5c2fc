//! Append mode: every flushed piece of text becomes new messages and every indicator a small
//! message of its own; nothing is edited except to attach the keyboard at the end.
//!
//! Used when configured (`append_mode`) and after edit mode gave up on refused edits.

use crate::address::MessageRef;
use crate::chat::api::ApiError;
use crate::ops::Buttons as Keyboard;

use super::editor::{Editor, Shown, shown_as};
use super::indicators::Indicator;
use super::ops::Effort;
use super::render::{piece_chunks, settled_len};
use super::text::common_prefix_len;

/// What append mode has sent so far.
#[derive(Debug, Default)]
pub(super) struct AppendState {
    /// The prefix of the turn's text that has been sent.
    pub sent_text: String,
    /// Messages sent in append mode, in order.
    pub ids: Vec<MessageRef>,
    /// The last text message (the keyboard goes there if no text is left at the end).
    pub last_text: Option<Shown>,
    /// The last message sent was this indicator (repeats are not sent again).
    pub last_indicator: Option<Indicator>,
    /// The overflow notice, once the reply reached its message limit (nothing
    /// more is sent; the keyboard goes here).
    pub notice: Option<Shown>,
}

impl AppendState {
    /// Append mode taking over from edit mode, whose messages show `sent_text`.
    pub(super) fn continuing(sent_text: String, last_text: Option<Shown>) -> Self {
        Self {
            sent_text,
            last_text,
            ..Self::default()
        }
    }
}

impl Editor {
    /// Whether the reply has no message yet (the next one answers the user's message).
    fn reply_is_empty(&self) -> bool {
        self.live.is_empty() && self.append.as_ref().is_none_or(|a| a.ids.is_empty())
    }

    /// Sends the flushed text that has not been sent yet.
    pub(super) async fn append_flushed(&mut self, effort: Effort) {
        let Some(app) = self.append.as_ref() else {
            return;
        };
        let flushed = self
            .text
            .text()
            .get(..self.co.flushed())
            .unwrap_or_default();
        let settled = &flushed[..settled_len(flushed)];
        let covered = common_prefix_len(&app.sent_text, settled);
        if covered < app.sent_text.len() {
            tracing::debug!("text already sent was rewritten; sending the new text from there");
        }
        let chunks = piece_chunks(self.ops.markup.as_ref(), &settled[covered..]);
        let settled = settled.to_owned();
        if let Err(e) = self.send_text(&chunks, None, effort).await {
            tracing::warn!(error = %e, "could not send a piece of the reply");
            return;
        }
        if let Some(app) = self.append.as_mut() {
            app.sent_text = settled;
        }
    }

    /// Sends an indicator as its own message (not again right after the same one).
    pub(super) async fn append_indicator(&mut self, indicator: Indicator) {
        if self
            .append
            .as_ref()
            .is_none_or(|a| a.last_indicator.as_ref() == Some(&indicator))
        {
            return;
        }
        let reply_to = if self.reply_is_empty() {
            self.reply_to.clone()
        } else {
            None
        };
        let markup = indicator.markup(self.ops.markup.as_ref(), 1);
        match self.ops.send(&markup, reply_to, None, Effort::Live).await {
            Ok(id) => {
                if let Some(app) = self.append.as_mut() {
                    app.ids.push(id);
                    app.last_indicator = Some(indicator);
                }
            }
            Err(e) => tracing::debug!(error = %e, "could not send an indicator"),
        }
    }

    /// Final delivery in append mode: sends what of `md` has not been sent, the keyboard on the
    /// last message (attached to the last text message if nothing is left to send).
    pub(super) async fn append_final(
        &mut self,
        md: &str,
        keyboard: Option<Keyboard>,
    ) -> Result<(), ApiError> {
        let Some(app) = self.append.as_ref() else {
            return Ok(());
        };
        if let Some(notice) = app.notice.clone() {
            self.cut = true;
            if let Some(kb) = keyboard
                && let Err(e) = self
                    .ops
                    .edit(&notice.id, &notice.html, Some(kb), Effort::Final)
                    .await
            {
                tracing::warn!(error = %e, "could not attach the keyboard to the reply");
            }
            return Ok(());
        }
        let covered = common_prefix_len(&app.sent_text, md);
        let chunks = piece_chunks(self.ops.markup.as_ref(), &md[covered..]);
        if !chunks.is_empty() {
            return self.send_text(&chunks, keyboard, Effort::Final).await;
        }
        let (Some(kb), Some(last)) = (keyboard, app.last_text.clone()) else {
            return Ok(());
        };
        if let Err(e) = self
            .ops
            .edit(&last.id, &last.html, Some(kb), Effort::Final)
            .await
        {
            tracing::warn!(error = %e, "could not attach the keyboard to the reply");
        }
        Ok(())
    }

    /// Sends text chunks as new messages, `keyboard` on the last. Stops at the first
    /// failure, and at the message limit (sending the overflow notice instead).
    async fn send_text(
        &mut self,
        chunks: &[String],
        keyboard: Option<Keyboard>,
        effort: Effort,
    ) -> Result<(), ApiError> {
        let Some(app) = self.append.as_ref() else {
            return Ok(());
        };
        if app.notice.is_some() || chunks.is_empty() {
            return Ok(());
        }
        let room = self
            .settings
            .max_messages
            .max(1)
            .saturating_sub(self.live.len() + app.ids.len());
        // The last message of the limit is kept for the notice.
        if chunks.len() >= room {
            let fits = room.saturating_sub(1);
            Box::pin(self.send_text(&chunks[..fits.min(chunks.len())], None, effort)).await?;
            let notice = self.notice_markup();
            let id = self
                .ops
                .send(&notice, None, keyboard.clone(), effort)
                .await?;
            self.cut = true;
            if let Some(app) = self.append.as_mut() {
                app.ids.push(id.clone());
                app.notice = Some(shown_as(id, &notice, keyboard));
            }
            return Ok(());
        }
        for (i, chunk) in chunks.iter().enumerate() {
            let kb = if i + 1 == chunks.len() {
                keyboard.clone()
            } else {
                None
            };
            let reply_to = if self.reply_is_empty() {
                self.reply_to.clone()
            } else {
                None
            };
            let id = self.ops.send(chunk, reply_to, kb.clone(), effort).await?;
            if let Some(app) = self.append.as_mut() {
                app.ids.push(id.clone());
                app.last_text = Some(shown_as(id, chunk, kb));
                app.last_indicator = None;
            }
        }
        Ok(())
    }
}
