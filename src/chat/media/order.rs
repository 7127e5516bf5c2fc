//! Keeps a conversation's input in order while earlier input is still being handled
//! (media being fetched, a slow command).
//!
//! Downloading (and transcribing) runs in its own task so other chats are not held
//! up, but a text sent right after a photo must not overtake it. Each media message
//! takes a [`Slot`] in its conversation's line; a later message of that conversation
//! takes the next slot while the line is busy and submits only after the slots
//! before it are done.

use crate::address::Address as SessionKey;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::watch;

/// Per-conversation lines of pending submissions.
#[derive(Debug, Default)]
pub struct Sequencer {
    tails: Mutex<HashMap<SessionKey, watch::Receiver<()>>>,
}

/// A place in a conversation's line; dropping it lets the next one go.
#[derive(Debug)]
pub struct Slot {
    before: Option<watch::Receiver<()>>,
    _done: watch::Sender<()>,
}

impl Sequencer {
    /// Takes the next place in `key`'s line.
    pub fn enter(&self, key: &SessionKey) -> Slot {
        let (done, rx) = watch::channel(());
        let mut tails = self
            .tails
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        tails.retain(|_, r| r.has_changed().is_ok());
        let before = tails.insert(key.clone(), rx);
        Slot {
            before,
            _done: done,
        }
    }

    /// Whether something of `key` is still waiting for its turn.
    pub fn busy(&self, key: &SessionKey) -> bool {
        self.tails
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(key)
            .is_some_and(|r| r.has_changed().is_ok())
    }
}

impl Slot {
    /// Waits until every earlier slot of the conversation is gone.
    pub async fn wait(&mut self) {
        if let Some(before) = &mut self.before {
            // `changed` fails once the sender (the earlier slot) is dropped.
            while before.changed().await.is_ok() {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn later_messages_wait_for_earlier_media() {
        let seq = Arc::new(Sequencer::default());
        let key = SessionKey::new("tg", 1, None);
        let other = SessionKey::new("tg", 2, None);
        assert!(!seq.busy(&key));
        let first = seq.enter(&key);
        assert!(seq.busy(&key));
        assert!(!seq.busy(&other));
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut second = seq.enter(&key);
        let l2 = log.clone();
        let waiter = tokio::spawn(async move {
            second.wait().await;
            l2.lock().unwrap().push("second");
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        log.lock().unwrap().push("first");
        drop(first);
        waiter.await.unwrap();
        assert_eq!(*log.lock().unwrap(), ["first", "second"]);
        assert!(!seq.busy(&key), "line empty once every slot is gone");
        let mut lone = seq.enter(&other);
        tokio::time::timeout(Duration::from_secs(1), lone.wait())
            .await
            .expect("nothing before it");
    }
}
