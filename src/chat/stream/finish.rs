//! The end of a turn: the final text replaces the live view (indicators gone, markers turned
//! into a keyboard and file list), surplus messages are removed, a failure gets its sentence.

use crate::address::MessageRef;
use crate::chat::markers::{Prepared, prepare};

use super::editor::{Editor, Pass};
use super::ops::Effort;
use super::render::{completed_markdown, keyboard};
use super::{Delivered, Finish};

impl Editor {
    /// Whether any message of the reply exists.
    fn shown_anything(&self) -> bool {
        !self.live.is_empty()
            || self.append.as_ref().is_some_and(|a| !a.ids.is_empty())
            || self.draft_has_text()
    }

    /// The reply's messages in order.
    fn message_ids(&self) -> Vec<MessageRef> {
        let mut ids: Vec<MessageRef> = self.live.iter().map(|m| m.id.clone()).collect();
        if let Some(app) = &self.append {
            ids.extend(app.ids.iter().cloned());
        }
        ids
    }

    /// Flushes, delivers the final text and reports what was delivered.
    pub(super) async fn finish(mut self, end: Finish) -> Delivered {
        self.deferred = None;
        if matches!(end, Finish::Cancelled) {
            // Stopped by the user, who is looking: no new message to notify them.
            self.settings.notify_after = None;
        }
        self.co.flush_all(self.text.text());
        let streamed = self.text.text().to_owned();
        let (md, reply, failure) = match end {
            Finish::Completed {
                fallback_text,
                footer,
                empty_placeholder,
            } => {
                let footer = footer.as_deref();
                let mut md =
                    completed_markdown(&streamed, &fallback_text, footer, &empty_placeholder);
                let m = self.ops.markup.clone();
                let mut reply = prepare(m.as_ref(), &md);
                if reply.chunks.is_empty() && reply.files.is_empty() {
                    // Only markers (or blank Markdown): still tell the user the turn is over.
                    md = completed_markdown("", "", footer, &empty_placeholder);
                    reply.chunks = prepare(m.as_ref(), &md).chunks;
                }
                (md, reply, None)
            }
            Finish::Failed { message } => {
                let reply = prepare(self.ops.markup.as_ref(), &streamed);
                (streamed, reply, Some(message))
            }
            Finish::Cancelled => {
                if !self.shown_anything() {
                    return Delivered {
                        message_ids: Vec::new(),
                        files: Vec::new(),
                        delivered: true,
                        whole: None,
                    };
                }
                // A draft is no message: what it showed becomes one, marked as
                // stopped (the user pressed Stop, or the turn was stopped).
                let streamed = match (&self.draft, self.settings.stopped_note.trim()) {
                    (Some(_), note) if !note.is_empty() => {
                        format!("{}\n\n_{note}_", streamed.trim_end())
                    }
                    _ => streamed,
                };
                let reply = prepare(self.ops.markup.as_ref(), &streamed);
                (streamed, reply, None)
            }
        };
        let mut reply = reply;
        // Cut to the message limit here; append mode cuts as it sends.
        self.cut = false;
        if self.append.is_none() {
            reply.chunks = self.capped(std::mem::take(&mut reply.chunks));
        }
        let mut delivered = self.deliver(&md, &reply).await;
        let mut message_ids = self.message_ids();
        if let Some(message) = failure {
            let reply_to = if message_ids.is_empty() {
                self.reply_to.clone()
            } else {
                None
            };
            match self.ops.send_plain(&message, reply_to, Effort::Final).await {
                Ok(id) => message_ids.push(id),
                Err(e) => {
                    tracing::warn!(error = %e, "could not send the failure message");
                    delivered = false;
                }
            }
        }
        Delivered {
            message_ids,
            files: reply.files,
            delivered,
            whole: self.cut.then_some(md),
        }
    }

    /// An answer streamed by edits for longer than `notify_after`: its last message is
    /// taken out of the reply, so that the final sync sends it anew (a new message
    /// notifies the user; an edit does not). Returns the old message, deleted once the
    /// new one is out.
    fn notify_instead_of_edit(&mut self) -> Option<crate::address::MessageRef> {
        let after = self.settings.notify_after?;
        if self.draft.is_some() || self.started.elapsed() < after {
            return None;
        }
        self.live.pop().map(|shown| shown.id)
    }

    /// Final sync of the text; false if it could not be delivered.
    async fn deliver(&mut self, md: &str, reply: &Prepared) -> bool {
        let kb = keyboard(&reply.buttons);
        if self.append.is_some() {
            return match self.append_final(md, kb).await {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(error = %e, "could not deliver the end of the reply");
                    false
                }
            };
        }
        let replaced = self.notify_instead_of_edit();
        let ok = match self.sync(&reply.chunks, kb, Effort::Final).await {
            Pass::Unchanged | Pass::Synced | Pass::Partial | Pass::Degrade => true,
            Pass::Stopped(e) => {
                tracing::warn!(error = %e, "could not deliver the reply");
                false
            }
        };
        if let Some(old) = replaced.filter(|_| ok)
            && let Err(e) = self.ops.delete(&old, Effort::Live).await
        {
            tracing::debug!(id = %old, error = %e, "could not delete the edited preview");
        }
        if ok {
            for surplus in self.live.split_off(reply.chunks.len().min(self.live.len())) {
                if let Err(e) = self.ops.delete(&surplus.id, Effort::Live).await {
                    tracing::debug!(id = %surplus.id, error = %e, "could not delete a surplus message");
                }
            }
        }
        ok
    }
}
