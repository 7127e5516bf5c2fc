//! The editor's state and edit mode: events update the text and the indicators, throttled live
//! rounds bring the chat's messages in line with the rendered view.

use tokio::time::Instant;

use crate::address::MessageRef;
use crate::chat::api::ApiError;
use crate::ops::Buttons as Keyboard;
use crate::provider::event::Event;

use super::append::AppendState;
use super::coalescer::{Coalescer, Rules};
use super::indicators::{Indicator, Mark, push_mark, tool_display_name};
use super::ops::{Effort, Ops};
use super::render::{live_html, settled_len};
use super::text::Transcript;
use super::{StreamSettings, SystemIndicator};

/// A message of the reply as we last set it.
#[derive(Debug, Clone)]
pub(super) struct Shown {
    /// The message.
    pub id: MessageRef,
    /// The markup chunk it shows (what we asked for, even if it went out as plain text).
    pub html: String,
    /// Its keyboard.
    pub keyboard: Option<Keyboard>,
    /// Live edits it has had (capped by [`crate::chat::api::Dialect::edit_cap`]).
    pub edits: u32,
}

/// How a pass over the desired chunks ended.
#[derive(Debug)]
pub(super) enum Pass {
    /// Every message already showed its chunk: no call was made.
    Unchanged,
    /// All messages show their chunks now.
    Synced,
    /// Some edits were refused; the next round tries again.
    Partial,
    /// A call failed for good (network, forbidden, endless flood control).
    Stopped(ApiError),
    /// Too many refused edits in a row: continue in append mode.
    Degrade,
}

/// Everything one turn's editor task owns.
pub(super) struct Editor {
    pub ops: Ops,
    pub settings: StreamSettings,
    /// The user's message the reply answers.
    pub reply_to: Option<MessageRef>,
    pub text: Transcript,
    pub co: Coalescer,
    /// Indicators in the live view (edit mode).
    pub marks: Vec<Mark>,
    pub thinking_shown: bool,
    /// The reply's messages in edit mode; index = chunk index.
    pub live: Vec<Shown>,
    /// Append mode state, once in append mode.
    pub append: Option<AppendState>,
    /// Earliest start of the next live round.
    pub next_round: Option<Instant>,
    /// A live round scheduled for the end of the current interval.
    pub deferred: Option<Instant>,
    /// Refused edits in a row.
    pub edit_failures: u32,
    /// The bot may not write here: no more live rounds (the final delivery still tries).
    pub blocked: bool,
    /// The text shown by the last live round that went through completely.
    pub synced_text: String,
    /// The reply reached `max_messages` and was cut: the rest comes as a file.
    pub cut: bool,
    /// The native draft the tail of the reply streams into (draft mode).
    pub draft: Option<super::draft::DraftState>,
    /// When the editor started (for `notify_after`).
    pub started: Instant,
}

impl Editor {
    /// A fresh editor; in append mode from the start if configured.
    pub(super) fn new(ops: Ops, settings: StreamSettings, reply_to: Option<MessageRef>) -> Self {
        let append = (settings.append_mode || !ops.markup.edits()).then(AppendState::default);
        let draft = (settings.draft && append.is_none() && ops.drafts())
            .then(super::draft::DraftState::new);
        Self {
            draft,
            started: Instant::now(),
            ops,
            settings,
            reply_to,
            text: Transcript::default(),
            co: Coalescer::default(),
            marks: Vec::new(),
            thinking_shown: false,
            live: Vec::new(),
            append,
            next_round: None,
            deferred: None,
            edit_failures: 0,
            blocked: false,
            synced_text: String::new(),
            cut: false,
        }
    }

    /// The overflow notice in the transport's markup.
    pub(super) fn notice_markup(&self) -> String {
        let m = &self.ops.markup;
        m.italic(&m.escape(&self.settings.overflow_notice))
    }

    /// `chunks` within `max_messages` (the last one then being the notice).
    pub(super) fn capped(&mut self, chunks: Vec<String>) -> Vec<String> {
        match crate::chat::overflow::cap(&chunks, self.settings.max_messages, &self.notice_markup())
        {
            Some(kept) => {
                self.cut = true;
                kept
            }
            None => chunks,
        }
    }

    fn rules(&self) -> Rules {
        Rules {
            min_chars: self.settings.min_chars,
            max_chars: self.settings.max_chars,
            idle: self.settings.idle,
            sentence_break: self.settings.sentence_break,
        }
    }

    /// Handles one event of the turn.
    pub(super) async fn on_event(&mut self, ev: Event) {
        match ev {
            Event::TextDelta { text } => {
                self.text.delta(&text);
                self.after_text(false).await;
            }
            Event::Text { text } => {
                let flushed = self.co.flushed();
                let before = self.text.text().get(..flushed).map(str::to_owned);
                self.text.block(&text);
                let replaced = before.as_deref() != self.text.text().get(..flushed);
                self.after_text(replaced).await;
            }
            Event::ToolStarted { name, .. } => {
                if self.settings.show_tool_progress {
                    self.indicator(Indicator::Tool(tool_display_name(&name)))
                        .await;
                } else if self.co.flush_all(self.text.text()) {
                    self.changed().await;
                }
            }
            Event::Thinking { text } => {
                if self.settings.show_reasoning_stream && !text.trim().is_empty() {
                    self.post_reasoning(&text).await;
                } else {
                    self.on_system(SystemIndicator::Thinking).await;
                }
            }
            Event::Compacting => self.on_system(SystemIndicator::Compacting).await,
            Event::SessionStarted { .. }
            | Event::Compacted
            | Event::ToolFinished { .. }
            | Event::Retrying { .. }
            | Event::Usage(_)
            | Event::Warning { .. }
            // Requests get messages of their own (the turn's view posts them).
            | Event::Ask { .. }
            | Event::AskResolved { .. } => {}
        }
    }

    /// Shows a system indicator (`[THINKING]` only once per turn and only if enabled).
    pub(super) async fn on_system(&mut self, indicator: SystemIndicator) {
        let indicator = match indicator {
            SystemIndicator::Thinking => {
                if !self.settings.show_thinking_indicator || self.thinking_shown {
                    return;
                }
                self.thinking_shown = true;
                Indicator::Thinking
            }
            SystemIndicator::Compacting => Indicator::Compacting,
            SystemIndicator::Recovering => Indicator::Recovering,
        };
        self.indicator(indicator).await;
    }

    /// Posts one block of reasoning as messages of its own, beside the reply (which keeps
    /// being edited in place). Best effort: a failure is logged, the reply goes on.
    async fn post_reasoning(&mut self, text: &str) {
        // A draft would disappear under the new message: it becomes one first.
        self.commit_draft().await;
        let m = self.ops.markup.clone();
        let label = format!("{}\n", m.bold(&m.escape("Thinking")));
        let visible_label = m.visible_len(&label);
        let escaped = m.escape(text.trim());
        for chunk in m.split(&escaped, m.limit().saturating_sub(visible_label).max(1)) {
            let html = format!("{label}{}", m.italic(&chunk));
            if let Err(e) = self.ops.send(&html, None, None, Effort::Live).await {
                tracing::debug!(error = %e, "could not post the reasoning");
                return;
            }
        }
    }

    /// The idle timer fired: flush everything buffered.
    pub(super) async fn on_idle(&mut self) {
        if self.co.flush_all(self.text.text()) {
            self.changed().await;
        }
    }

    /// The deferred live round is due.
    pub(super) async fn on_deferred(&mut self) {
        self.deferred = None;
        self.live_round().await;
    }

    async fn after_text(&mut self, replaced_visible: bool) {
        let rules = self.rules();
        let moved = self.co.on_text(self.text.text(), &rules, Instant::now());
        if moved || replaced_visible {
            self.changed().await;
        }
    }

    /// Flushes the text and places an indicator after it.
    async fn indicator(&mut self, indicator: Indicator) {
        self.co.flush_all(self.text.text());
        if self.append.is_some() {
            self.append_flushed(Effort::Live).await;
            self.append_indicator(indicator).await;
        } else {
            push_mark(
                &mut self.marks,
                self.text.text(),
                self.co.flushed(),
                indicator,
            );
            self.request_round().await;
        }
    }

    /// The flushed text changed.
    async fn changed(&mut self) {
        if self.append.is_some() {
            self.append_flushed(Effort::Live).await;
        } else {
            self.request_round().await;
        }
    }

    /// Runs a live round now if the interval allows, else makes sure one runs at its end.
    async fn request_round(&mut self) {
        if self.deferred.is_some() || self.blocked {
            return;
        }
        match self.next_round {
            Some(at) if at > Instant::now() => self.deferred = Some(at),
            _ => self.live_round().await,
        }
    }

    /// Renders the live view and syncs the chat to it.
    async fn live_round(&mut self) {
        if self.append.is_some() || self.blocked {
            return;
        }
        let flushed = self.co.flushed();
        let m = &self.ops.markup;
        let html = live_html(m.as_ref(), self.text.text(), flushed, &self.marks);
        let chunks = m.split(&html, m.limit());
        let chunks = self.capped(chunks);
        let shown = self.text.text().get(..flushed).unwrap_or_default();
        let shown = shown[..settled_len(shown)].to_owned();
        let pass = if self.draft.is_some() {
            self.draft_round(&chunks).await
        } else {
            let stop = self.settings.stop_label.clone().map(|label| {
                vec![vec![crate::ops::Button::new(
                    label,
                    crate::ops::Action::StopTurn,
                )]]
            });
            self.sync(&chunks, stop, Effort::Live).await
        };
        let retry = match pass {
            Pass::Unchanged => {
                self.synced_text = shown;
                return;
            }
            Pass::Synced => {
                self.synced_text = shown;
                false
            }
            Pass::Partial => true,
            Pass::Stopped(e) => {
                tracing::warn!(error = %e, "live update of the reply failed");
                self.blocked = matches!(e, ApiError::Forbidden(_));
                !self.blocked
            }
            Pass::Degrade => {
                tracing::info!(
                    failures = self.edit_failures,
                    "edits refused or capped; the reply goes on in new messages"
                );
                self.deferred = None;
                self.append = Some(AppendState::continuing(
                    std::mem::take(&mut self.synced_text),
                    self.live.last().cloned(),
                ));
                self.append_flushed(Effort::Live).await;
                return;
            }
        };
        let next = Instant::now() + self.settings.edit_interval;
        self.next_round = Some(next);
        if retry {
            // Try again at the end of the interval even if no new text arrives.
            self.deferred = Some(next);
        }
    }

    /// The reply to set on message `index`: only the first one answers the user.
    pub(super) fn reply_for(&self, index: usize) -> Option<MessageRef> {
        if index == 0 {
            self.reply_to.clone()
        } else {
            None
        }
    }

    /// Sends `chunk` as message `i` of the reply (new, or in place of a lost or stale one).
    async fn post(
        &mut self,
        i: usize,
        chunk: &str,
        kb: Option<Keyboard>,
        effort: Effort,
    ) -> Result<(), ApiError> {
        let id = self
            .ops
            .send(chunk, self.reply_for(i), kb.clone(), effort)
            .await?;
        let shown = shown_as(id, chunk, kb);
        match self.live.get_mut(i) {
            Some(slot) => *slot = shown,
            None => self.live.push(shown),
        }
        Ok(())
    }

    /// Brings the edit-mode messages in line with `chunks` (the last one carrying `keyboard`):
    /// edits what changed, sends what is missing. Surplus messages are left for the caller.
    pub(super) async fn sync(
        &mut self,
        chunks: &[String],
        keyboard: Option<Keyboard>,
        effort: Effort,
    ) -> Pass {
        let mut pass = Pass::Unchanged;
        for (i, chunk) in chunks.iter().enumerate() {
            let kb = if i + 1 == chunks.len() {
                keyboard.clone()
            } else {
                None
            };
            let Some(shown) = self.live.get(i) else {
                if let Err(e) = self.post(i, chunk, kb, effort).await {
                    return Pass::Stopped(e);
                }
                mark_synced(&mut pass);
                continue;
            };
            if shown.html == *chunk && shown.keyboard == kb {
                continue;
            }
            let id = shown.id.clone();
            let edits = shown.edits;
            if effort == Effort::Live && self.ops.markup.edit_cap().is_some_and(|cap| edits >= cap)
            {
                tracing::debug!(%id, edits, "edit cap reached; the reply goes on in new messages");
                return Pass::Degrade;
            }
            mark_synced(&mut pass);
            match self.ops.edit(&id, chunk, kb.clone(), effort).await {
                Ok(()) => {
                    self.edit_failures = 0;
                    self.live[i] = shown_as(id, chunk, kb);
                    self.live[i].edits = edits + 1;
                }
                Err(ApiError::NotFound(_)) => {
                    tracing::debug!(%id, "message of the reply was deleted; sending it again");
                    if let Err(e) = self.post(i, chunk, kb, effort).await {
                        return Pass::Stopped(e);
                    }
                }
                Err(e @ (ApiError::BadRequest(_) | ApiError::TooLong | ApiError::BadMarkup(_))) => {
                    tracing::debug!(%id, error = %e, "edit refused");
                    if effort == Effort::Final {
                        // The text must arrive: post the chunk anew and drop the stale message.
                        if let Err(e) = self.post(i, chunk, kb, effort).await {
                            return Pass::Stopped(e);
                        }
                        if let Err(e) = self.ops.delete(&id, Effort::Live).await {
                            tracing::debug!(%id, error = %e, "could not delete a stale message");
                        }
                        continue;
                    }
                    self.edit_failures += 1;
                    if self.edit_failures >= self.settings.max_edit_failures.max(1) {
                        return Pass::Degrade;
                    }
                    pass = Pass::Partial;
                }
                Err(e) => return Pass::Stopped(e),
            }
        }
        pass
    }
}

/// The record of a message showing `html`.
pub(super) fn shown_as(id: MessageRef, html: &str, keyboard: Option<Keyboard>) -> Shown {
    Shown {
        id,
        html: html.to_owned(),
        keyboard,
        edits: 0,
    }
}

/// Records that a call went through; a `Partial` pass stays partial.
fn mark_synced(pass: &mut Pass) {
    if !matches!(pass, Pass::Partial) {
        *pass = Pass::Synced;
    }
}
