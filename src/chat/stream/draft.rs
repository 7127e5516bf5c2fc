//! Draft mode: the tail of the reply streams into a native draft (an animated
//! preview without edit-rate costs, Telegram's `sendMessageDraft`) while everything
//! before it is real messages, exactly as in edit mode. The draft is shown at once
//! (empty: the client's "Thinking…"), shown again before it would expire during a
//! long tool run, made a real message before anything else is posted in the chat
//! ([`Editor::commit_draft`]), and replaced by the real messages of the final text.
//! A chat that refuses drafts goes on in edit mode.

use tokio::time::Instant;

use crate::chat::api::ApiError;

use super::editor::{Editor, Pass};
use super::ops::Effort;
use std::time::Duration;

/// A draft disappears about 30 s after its last update: it is shown again sooner.
pub const DRAFT_REFRESH: Duration = Duration::from_secs(20);

/// The reply's draft.
#[derive(Debug)]
pub(super) struct DraftState {
    /// Non-zero; the same id animates one preview.
    pub id: u64,
    /// The markup it shows, when it shows something.
    pub shown: Option<String>,
    /// When it was last sent.
    pub sent_at: Instant,
}

impl DraftState {
    pub(super) fn new() -> Self {
        let id = u64::from_str_radix(&crate::util::random_hex(6), 16).unwrap_or(1);
        Self {
            id: id.max(1),
            shown: None,
            sent_at: Instant::now(),
        }
    }
}

impl Editor {
    /// Shows the empty draft ("Thinking…") as the turn starts.
    pub(super) async fn open_draft(&mut self) {
        if self.draft.is_some() {
            self.show_draft(String::new()).await;
        }
    }

    /// When the draft must be shown again so that it does not expire.
    pub(super) fn draft_refresh_at(&self) -> Option<Instant> {
        let d = self.draft.as_ref()?;
        d.shown.as_ref()?;
        Some(d.sent_at + DRAFT_REFRESH)
    }

    /// Shows the draft again (a long tool run writes nothing for a while).
    pub(super) async fn refresh_draft(&mut self) {
        let Some(text) = self.draft.as_ref().and_then(|d| d.shown.clone()) else {
            return;
        };
        self.show_draft(text).await;
    }

    /// Sends `html` as the draft; a refusal switches the reply to edit mode.
    async fn show_draft(&mut self, html: String) {
        let Some(id) = self.draft.as_ref().map(|d| d.id) else {
            return;
        };
        match self.ops.draft(id, &html).await {
            Ok(()) => {
                if let Some(d) = &mut self.draft {
                    d.shown = Some(html);
                    d.sent_at = Instant::now();
                }
            }
            Err(e @ (ApiError::BadRequest(_) | ApiError::NotFound(_) | ApiError::Forbidden(_))) => {
                tracing::info!(error = %e, "draft refused; the reply streams by edits");
                self.draft = None;
            }
            Err(e) => {
                // Network trouble: the next round or refresh tries again.
                tracing::debug!(error = %e, "draft not shown");
                if let Some(d) = &mut self.draft {
                    d.sent_at = Instant::now();
                }
            }
        }
    }

    /// A live round in draft mode: every chunk but the last (and every chunk already
    /// a real message) is synced as in edit mode, the last one is the draft.
    pub(super) async fn draft_round(&mut self, chunks: &[String]) -> Pass {
        let real = chunks
            .len()
            .saturating_sub(1)
            .max(self.live.len())
            .min(chunks.len());
        let pass = self.sync(&chunks[..real], None, Effort::Live).await;
        if !matches!(pass, Pass::Unchanged | Pass::Synced | Pass::Partial) {
            return pass;
        }
        if let Some(tail) = chunks.get(real) {
            let unchanged = self
                .draft
                .as_ref()
                .is_some_and(|d| d.shown.as_deref() == Some(tail.as_str()));
            if !unchanged {
                self.show_draft(tail.clone()).await;
                if self.draft.is_none() {
                    // Refused: the tail goes out as a message now.
                    return self.sync(chunks, None, Effort::Live).await;
                }
                return match pass {
                    Pass::Partial => Pass::Partial,
                    _ => Pass::Synced,
                };
            }
        }
        pass
    }

    /// Makes the draft's text real messages now (something else is about to be
    /// posted in the chat, which would make the draft disappear).
    pub(super) async fn commit_draft(&mut self) {
        if self.draft.is_none() {
            return;
        }
        self.co.flush_all(self.text.text());
        let m = &self.ops.markup;
        let html =
            super::render::live_html(m.as_ref(), self.text.text(), self.co.flushed(), &self.marks);
        if m.visible_len(&html) == 0 {
            return;
        }
        let chunks = m.split(&html, m.limit());
        let chunks = self.capped(chunks);
        if let Pass::Stopped(e) = self.sync(&chunks, None, Effort::Live).await {
            tracing::debug!(error = %e, "could not make the draft a message");
        }
        if let Some(d) = &mut self.draft {
            // The message replaced the draft.
            d.shown = None;
        }
    }

    /// Whether the draft shows any text.
    pub(super) fn draft_has_text(&self) -> bool {
        self.draft
            .as_ref()
            .and_then(|d| d.shown.as_deref())
            .is_some_and(|s| !s.trim().is_empty())
    }
}
