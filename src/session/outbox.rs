//! Messages from the agent's background work (tasks, inter-agent answers, named
//! sessions, supervisor notices) to its chats. The transport owns the receiving end:
//! a notice is posted as it is; an injection posts its notice and then runs the
//! prompt as a turn in the conversation's session (through its actor, so never
//! concurrently with a running turn), where the user sees the agent's reply.
//!
//! The outbox is durable: every item is journaled in `outbox.json` (atomically) until
//! the transport reports it [`Delivery::done`] — a notice once posted, an injection
//! once its turn started (from then on `inflight_turns.json` covers it). Items still
//! pending when the agent stops or dies are delivered again on the next start, so a
//! task result that finished during a restart is not lost (at-least-once: a crash
//! between posting and acknowledging may repeat a notice).

use crate::state::sessions::SessionKey;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// One delivery to a chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outgoing {
    /// A message (Markdown) for the users of a conversation.
    Notice {
        /// Where to post it.
        key: SessionKey,
        /// Markdown text.
        text: String,
    },
    /// A result (Markdown with `<file:…>` tags and `[button:…]` markers) for a
    /// conversation, replying to `reply_to`; button presses send
    /// `<button_prefix><label>` back (plain label when no prefix).
    Post {
        /// Where to post it.
        key: SessionKey,
        /// Markdown text.
        text: String,
        /// Message it answers.
        reply_to: Option<i64>,
        /// Callback-data prefix of the buttons (`ns:<name>:`).
        button_prefix: Option<String>,
    },
    /// An optional notice, then a turn with `prompt` in the conversation's session.
    Inject {
        /// The conversation.
        key: SessionKey,
        /// Markdown notice posted first.
        notice: Option<String>,
        /// Prompt of the turn.
        prompt: String,
    },
}

/// The journal file: items not yet delivered, by id.
#[derive(Debug, Default, Serialize, Deserialize)]
struct JournalFile {
    #[serde(default)]
    pending: BTreeMap<u64, Outgoing>,
}

/// Pending items, mirrored to a file when there is one.
#[derive(Debug)]
struct Journal {
    path: Option<PathBuf>,
    state: Mutex<(u64, JournalFile)>,
}

impl Journal {
    fn change(&self, f: impl FnOnce(&mut u64, &mut JournalFile)) {
        let mut guard = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (next, file) = &mut *guard;
        f(next, file);
        if let Some(path) = &self.path
            && let Err(e) = crate::store::write_json(path, file)
        {
            tracing::warn!(error = %e, "cannot write the outbox journal; pending deliveries may be lost on restart");
        }
    }
}

/// One item taken from the outbox. Dropping it without [`Delivery::done`] keeps it
/// pending: it is delivered again on the next start.
#[derive(Debug)]
pub struct Delivery {
    /// What to deliver.
    pub item: Outgoing,
    id: u64,
    journal: Arc<Journal>,
}

impl Delivery {
    /// The item reached its chat (or its turn started): forget it.
    pub fn done(self) {
        self.journal.change(|_, file| {
            file.pending.remove(&self.id);
        });
    }
}

/// Sending half, held by everything that produces chat messages.
#[derive(Debug, Clone)]
pub struct OutboxTx {
    tx: mpsc::UnboundedSender<Delivery>,
    journal: Arc<Journal>,
}

/// The receiver is gone (the agent is shutting down); the item stays journaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the chat transport is gone")]
pub struct Closed;

impl OutboxTx {
    /// Journals `item` and hands it to the transport.
    pub fn send(&self, item: Outgoing) -> Result<(), Closed> {
        let mut id = 0;
        self.journal.change(|next, file| {
            id = *next;
            *next += 1;
            file.pending.insert(id, item.clone());
        });
        self.tx
            .send(Delivery {
                item,
                id,
                journal: self.journal.clone(),
            })
            .map_err(|_| Closed)
    }
}

/// Receiving half, owned by the transport.
#[derive(Debug)]
pub struct OutboxRx {
    rx: mpsc::UnboundedReceiver<Delivery>,
}

impl OutboxRx {
    /// The next item; `None` once every sender is gone.
    pub async fn recv(&mut self) -> Option<Delivery> {
        self.rx.recv().await
    }

    /// The next item if one is waiting.
    pub fn try_recv(&mut self) -> Result<Delivery, mpsc::error::TryRecvError> {
        self.rx.try_recv()
    }
}

fn channel(path: Option<PathBuf>, pending: JournalFile) -> (OutboxTx, OutboxRx) {
    let (tx, rx) = mpsc::unbounded_channel();
    let next = pending.pending.keys().next_back().map_or(0, |k| k + 1);
    let items: Vec<(u64, Outgoing)> = pending
        .pending
        .iter()
        .map(|(id, item)| (*id, item.clone()))
        .collect();
    let journal = Arc::new(Journal {
        path,
        state: Mutex::new((next, pending)),
    });
    for (id, item) in items {
        // The receiver is alive right here.
        let _ = tx.send(Delivery {
            item,
            id,
            journal: journal.clone(),
        });
    }
    (OutboxTx { tx, journal }, OutboxRx { rx })
}

/// An outbox kept in memory only (tests, tools without an agent home).
pub fn outbox() -> (OutboxTx, OutboxRx) {
    channel(None, JournalFile::default())
}

/// The agent's durable outbox, journaled in `path`; items left pending by the previous
/// run come out first. A corrupt journal is moved aside (see [`crate::store::load_state`]).
pub fn durable(path: &Path) -> (OutboxTx, OutboxRx) {
    let (pending, _report) = crate::store::load_state::<JournalFile>(path);
    if !pending.pending.is_empty() {
        tracing::info!(
            count = pending.pending.len(),
            "delivering what the previous run left in the outbox"
        );
    }
    channel(Some(path.to_path_buf()), pending)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(text: &str) -> Outgoing {
        Outgoing::Notice {
            key: SessionKey::telegram(5, Some(7)),
            text: text.into(),
        }
    }

    #[tokio::test]
    async fn undelivered_items_survive_a_restart_and_delivered_ones_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.json");
        {
            let (tx, mut rx) = durable(&path);
            tx.send(notice("one")).unwrap();
            tx.send(Outgoing::Inject {
                key: SessionKey::telegram(5, None),
                notice: None,
                prompt: "result".into(),
            })
            .unwrap();
            tx.send(notice("three")).unwrap();
            rx.recv().await.unwrap().done();
            // Taken but not acknowledged: the agent died while delivering it.
            let _ = rx.recv().await.unwrap();
        }
        let (tx, mut rx) = durable(&path);
        let first = rx.recv().await.unwrap();
        assert!(matches!(&first.item, Outgoing::Inject { prompt, .. } if prompt == "result"));
        let second = rx.recv().await.unwrap();
        assert_eq!(second.item, notice("three"));
        first.done();
        second.done();
        tx.send(notice("four")).unwrap();
        let fourth = rx.recv().await.unwrap();
        assert_eq!(fourth.item, notice("four"));
        fourth.done();
        drop((tx, rx));
        let (_tx, mut rx) = durable(&path);
        assert!(rx.try_recv().is_err(), "nothing left");
    }

    #[test]
    fn a_corrupt_journal_is_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.json");
        std::fs::write(&path, "{not json").unwrap();
        let (tx, mut rx) = durable(&path);
        assert!(rx.try_recv().is_err());
        let moved: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains(".corrupt-"))
            .collect();
        assert_eq!(moved.len(), 1);
        tx.send(notice("x")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"tg:5:7\""), "{text}");
    }
}
