//! Messages from the agent's background work (tasks, inter-agent answers, named
//! sessions, supervisor notices) to its chats. The agent routes each item to the
//! transport that owns its destination; the transport posts a notice as it is, and
//! for an injection posts its notice and then runs the prompt as a turn in the
//! conversation's main lane (through its actor, so never beside a running turn),
//! where the user sees the agent's reply.
//!
//! The outbox is durable: every item is journaled in `outbox.json` (by one writer
//! task, like every state file) until the transport reports it [`Delivery::done`] —
//! a notice once posted, an injection once its turn started (from then on
//! `inflight_turns.json` covers it). Items still pending when the agent stops or dies
//! are delivered again on the next start (at-least-once: a crash between posting and
//! acknowledging may repeat a notice).

use crate::address::{Destination, MessageRef};
use crate::persist::Persisted;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::mpsc;

/// One delivery to a chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outgoing {
    /// A message (Markdown) for the users of a conversation.
    Notice {
        /// Where to post it.
        #[serde(rename = "key")]
        to: Destination,
        /// Markdown text.
        text: String,
    },
    /// A result (Markdown with `<file:…>` tags and `[button:…]` markers) for a
    /// conversation, replying to `reply_to`; its buttons are follow-ups in named
    /// session `session` (plain answers when `None`).
    Post {
        /// Where to post it.
        #[serde(rename = "key")]
        to: Destination,
        /// Markdown text.
        text: String,
        /// Message it answers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<MessageRef>,
        /// The named session its buttons continue.
        #[serde(
            default,
            rename = "button_prefix",
            with = "session_prefix",
            skip_serializing_if = "Option::is_none"
        )]
        session: Option<String>,
    },
    /// A result of an automation (a cron job), posted like [`Outgoing::Post`];
    /// whether it reached its chat is reported under `receipt` (see
    /// [`OutboxTx::subscribe`]).
    Report {
        /// Where to post it.
        #[serde(rename = "key")]
        to: Destination,
        /// Markdown text.
        text: String,
        /// The key its outcome is reported under (`cron:<id>`).
        receipt: String,
    },
    /// A notice with ductor's own buttons (the update notice's Upgrade button).
    Offer {
        /// Where to post it.
        #[serde(rename = "key")]
        to: Destination,
        /// Markdown text.
        text: String,
        /// Button rows under it.
        buttons: Vec<Vec<OfferButton>>,
    },
    /// An optional notice, then a turn with `prompt` in the conversation's session.
    Inject {
        /// The conversation.
        #[serde(rename = "key")]
        to: Destination,
        /// Markdown notice posted first.
        notice: Option<String>,
        /// Prompt of the turn.
        prompt: String,
    },
}

impl Outgoing {
    /// Where the item goes.
    pub fn destination(&self) -> &Destination {
        match self {
            Self::Notice { to, .. }
            | Self::Post { to, .. }
            | Self::Report { to, .. }
            | Self::Offer { to, .. }
            | Self::Inject { to, .. } => to,
        }
    }
}

/// A button of an [`Outgoing::Offer`]: its label and the compact form of its action
/// ([`crate::ops::Action::encode`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferButton {
    /// The label.
    pub label: String,
    /// The action, compact.
    pub action: String,
}

impl OfferButton {
    /// The button for `action`.
    pub fn new(label: impl Into<String>, action: &crate::ops::Action) -> Self {
        Self {
            label: label.into(),
            action: action.encode(),
        }
    }

    /// The command layer's buttons for `rows`.
    pub fn rows(rows: &[Vec<OfferButton>]) -> crate::ops::Buttons {
        rows.iter()
            .map(|row| {
                row.iter()
                    .map(|b| {
                        crate::ops::Button::new(&b.label, crate::ops::Action::decode(&b.action))
                    })
                    .collect()
            })
            .collect()
    }
}

/// The journal keeps the buttons' session as the original callback prefix
/// (`ns:<name>:`), which is what earlier versions wrote.
mod session_prefix {
    use serde::{Deserialize, Deserializer, Serializer};

    // serde's `with` contract hands the field by reference.
    #[allow(clippy::ref_option)]
    pub fn serialize<S: Serializer>(v: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(name) => s.serialize_str(&format!("ns:{name}:")),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        let raw = Option::<String>::deserialize(d)?;
        Ok(raw.and_then(|p| {
            p.strip_prefix("ns:")
                .map(|n| n.trim_end_matches(':').to_owned())
                .filter(|n| !n.is_empty())
        }))
    }
}

/// The journal file: items not yet delivered, by id.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct JournalFile {
    #[serde(default)]
    pending: BTreeMap<u64, Outgoing>,
}

/// Pending items: in memory only, or mirrored to a file by its writer task.
#[derive(Debug)]
enum Journal {
    Memory(Mutex<JournalFile>),
    File(Persisted<JournalFile>),
}

impl Journal {
    fn change<R>(&self, f: impl FnOnce(&mut JournalFile) -> R) -> R {
        match self {
            Self::Memory(m) => f(&mut m.lock().unwrap_or_else(PoisonError::into_inner)),
            Self::File(p) => p.update(f),
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
        self.journal.change(|file| file.pending.remove(&self.id));
    }

    /// An injection's notice is in the chat: a redelivery after a restart runs only
    /// its turn (the notice is not posted twice).
    pub fn notice_posted(&mut self) {
        if let Outgoing::Inject { notice, .. } = &mut self.item {
            *notice = None;
        }
        self.journal.change(|file| {
            if let Some(Outgoing::Inject { notice, .. }) = file.pending.get_mut(&self.id) {
                *notice = None;
            }
        });
    }
}

/// Sending half, held by everything that produces chat messages.
#[derive(Debug, Clone)]
pub struct OutboxTx {
    tx: mpsc::UnboundedSender<Delivery>,
    journal: Arc<Journal>,
    next: Arc<Mutex<u64>>,
    receipts: Arc<Mutex<Vec<Subscriber>>>,
}

/// A receipt subscriber: key prefix and channel.
type Subscriber = (String, mpsc::UnboundedSender<Receipt>);

/// Whether a [`Outgoing::Report`] reached its chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The report's receipt key.
    pub key: String,
    /// It was posted (false: the chat refused it).
    pub delivered: bool,
}

/// The receiver is gone (the agent is shutting down); the item stays journaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the chat transport is gone")]
pub struct Closed;

impl OutboxTx {
    /// Journals `item` and hands it to the router. Never blocks: the journal is
    /// written by its own task.
    pub fn send(&self, item: Outgoing) -> Result<(), Closed> {
        let id = {
            let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
            *next += 1;
            *next - 1
        };
        self.journal
            .change(|file| file.pending.insert(id, item.clone()));
        self.tx
            .send(Delivery {
                item,
                id,
                journal: self.journal.clone(),
            })
            .map_err(|_| Closed)
    }

    /// Receipts of reports whose key starts with `prefix` arrive on the returned channel.
    pub fn subscribe(&self, prefix: &str) -> mpsc::UnboundedReceiver<Receipt> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.receipts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((prefix.to_owned(), tx));
        rx
    }

    /// Tells the subscribers of `key` whether its report reached the chat.
    pub fn report(&self, key: &str, delivered: bool) {
        let subs = self.receipts.lock().unwrap_or_else(PoisonError::into_inner);
        for (prefix, tx) in subs.iter() {
            if key.starts_with(prefix.as_str()) {
                let _ = tx.send(Receipt {
                    key: key.to_owned(),
                    delivered,
                });
            }
        }
    }

    /// Waits until the journal on disk reflects every change so far.
    pub async fn flush(&self) {
        if let Journal::File(p) = self.journal.as_ref() {
            p.flush().await;
        }
    }
}

/// Receiving half, owned by the agent's router.
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

fn channel(journal: Journal) -> (OutboxTx, OutboxRx) {
    let (tx, rx) = mpsc::unbounded_channel();
    let items: Vec<(u64, Outgoing)> = journal.change(|f| {
        f.pending
            .iter()
            .map(|(id, item)| (*id, item.clone()))
            .collect()
    });
    let next = items.last().map_or(0, |(id, _)| id + 1);
    let journal = Arc::new(journal);
    for (id, item) in items {
        // The receiver is alive right here.
        let _ = tx.send(Delivery {
            item,
            id,
            journal: journal.clone(),
        });
    }
    (
        OutboxTx {
            tx,
            journal,
            next: Arc::new(Mutex::new(next)),
            receipts: Arc::default(),
        },
        OutboxRx { rx },
    )
}

/// An outbox kept in memory only (tests, tools without an agent home).
pub fn outbox() -> (OutboxTx, OutboxRx) {
    channel(Journal::Memory(Mutex::default()))
}

/// The agent's durable outbox, journaled in `path`; items left pending by the previous
/// run come out first. A corrupt journal is moved aside (see [`crate::store::load_state`]).
/// Must be called inside a tokio runtime.
pub fn durable(path: &Path) -> (OutboxTx, OutboxRx) {
    let file: Persisted<JournalFile> = Persisted::load(path);
    let pending = file.read(|f| f.pending.len());
    if pending > 0 {
        tracing::info!(
            count = pending,
            "delivering what the previous run left in the outbox"
        );
    }
    channel(Journal::File(file))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Address;

    fn notice(text: &str) -> Outgoing {
        Outgoing::Notice {
            to: Destination::Chat(Address::new("tg", 5, Some(7))),
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
                to: Destination::Chat(Address::new("tg", 5, None)),
                notice: None,
                prompt: "result".into(),
            })
            .unwrap();
            tx.send(notice("three")).unwrap();
            rx.recv().await.unwrap().done();
            // Taken but not acknowledged: the agent died while delivering it.
            let _ = rx.recv().await.unwrap();
            tx.flush().await;
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
        tx.flush().await;
        drop((tx, rx));
        let (_tx, mut rx) = durable(&path);
        assert!(rx.try_recv().is_err(), "nothing left");
    }

    #[tokio::test]
    async fn a_corrupt_journal_is_moved_aside() {
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
        tx.flush().await;
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"tg:5:7\""), "{text}");
    }

    #[tokio::test]
    async fn a_posted_notice_is_not_posted_again_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.json");
        {
            let (tx, mut rx) = durable(&path);
            tx.send(Outgoing::Inject {
                to: Destination::Primary,
                notice: Some("Task done".into()),
                prompt: "relay it".into(),
            })
            .unwrap();
            let mut d = rx.recv().await.unwrap();
            d.notice_posted();
            // The agent stops while the turn still waits in the queue.
            drop(d);
            tx.flush().await;
        }
        let (_tx, mut rx) = durable(&path);
        let again = rx.recv().await.unwrap();
        assert_eq!(
            again.item,
            Outgoing::Inject {
                to: Destination::Primary,
                notice: None,
                prompt: "relay it".into(),
            }
        );
    }

    #[test]
    fn journals_of_the_previous_version_load() {
        let old = r#"{"pending": {
            "3": {"kind": "notice", "key": "tg:0", "text": "hi"},
            "4": {"kind": "post", "key": "tg:5:7", "text": "r", "reply_to": 12, "button_prefix": "ns:redowl:"},
            "5": {"kind": "inject", "key": "tg:5", "notice": null, "prompt": "p"}
        }}"#;
        let file: JournalFile = serde_json::from_str(old).unwrap();
        assert_eq!(file.pending[&3].destination(), &Destination::Primary);
        match &file.pending[&4] {
            Outgoing::Post {
                to,
                reply_to,
                session,
                ..
            } => {
                assert_eq!(to, &Destination::Chat(Address::new("tg", 5, Some(7))));
                assert_eq!(reply_to.as_ref().and_then(MessageRef::as_i64), Some(12));
                assert_eq!(session.as_deref(), Some("redowl"));
            }
            other => panic!("{other:?}"),
        }
        let again = serde_json::to_value(&file).unwrap();
        assert_eq!(again["pending"]["4"]["button_prefix"], "ns:redowl:");
        assert_eq!(again["pending"]["4"]["reply_to"], 12);
    }
}
