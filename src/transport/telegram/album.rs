//! Albums: Telegram delivers the photos (or documents) of one album as separate messages
//! that share a `media_group_id`. They are collected until no new part has arrived for a
//! short quiet window and then become one turn, so the agent sees the album as a whole
//! instead of answering each picture on its own.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::mpsc;

use super::incoming::{Attachment, Incoming};

/// How long an album stays open after its last part arrived. Telegram sends the parts
/// back to back (usually in one `getUpdates` answer), so this only bounds the wait.
pub const QUIET: Duration = Duration::from_millis(1200);

/// One received part of an album (or a single media message).
#[derive(Debug, Clone)]
pub struct Part {
    /// The message.
    pub inc: Incoming,
    /// Its file.
    pub att: Attachment,
    /// Its caption as meant for this bot (mentions stripped).
    pub caption: String,
}

/// Albums being collected, per chat and `media_group_id`.
#[derive(Debug, Default)]
pub struct Albums {
    open: Mutex<HashMap<(i64, String), mpsc::UnboundedSender<Part>>>,
}

impl Albums {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<(i64, String), mpsc::UnboundedSender<Part>>> {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether an album of `chat` with this id is being collected.
    pub fn is_open(&self, chat: i64, group: &str) -> bool {
        self.lock().contains_key(&(chat, group.to_owned()))
    }

    /// Adds `part` to its open album. Returns the receiver of a new album when `part` is
    /// the first one: the caller then runs [`Albums::collect`] with it.
    pub fn add(&self, group: &str, part: Part) -> Option<mpsc::UnboundedReceiver<Part>> {
        let key = (part.inc.chat_id, group.to_owned());
        let mut open = self.lock();
        let part = match open.get(&key) {
            Some(tx) => match tx.send(part) {
                Ok(()) => return None,
                Err(mpsc::error::SendError(part)) => part,
            },
            None => part,
        };
        let (tx, rx) = mpsc::unbounded_channel();
        // The receiver is alive right here: the send cannot fail.
        let _ = tx.send(part);
        open.insert(key, tx);
        Some(rx)
    }

    /// Collects the parts of an album until none arrived for `quiet`, then closes it. A
    /// part that comes after the close starts a new album.
    pub async fn collect(
        &self,
        chat: i64,
        group: &str,
        mut rx: mpsc::UnboundedReceiver<Part>,
        quiet: Duration,
    ) -> Vec<Part> {
        let mut parts = Vec::new();
        while let Ok(Some(part)) = tokio::time::timeout(quiet, rx.recv()).await {
            parts.push(part);
        }
        // Closed under the lock: afterwards nobody can send into this album any more, and
        // what was sent before the close is still in the channel.
        drop(self.lock().remove(&(chat, group.to_owned())));
        while let Ok(part) = rx.try_recv() {
            parts.push(part);
        }
        parts.sort_by_key(|p| p.inc.message_id);
        parts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn part(chat: i64, id: i64, group: &str) -> Part {
        let msg: teloxide::types::Message = serde_json::from_value(serde_json::json!({
            "message_id": id,
            "date": 1_700_000_000,
            "chat": {"id": chat, "type": "private", "first_name": "U"},
            "from": {"id": chat, "is_bot": false, "first_name": "U"},
            "media_group_id": group,
            "photo": [{"file_id": format!("f{id}"), "file_unique_id": format!("u{id}"),
                       "width": 10, "height": 10, "file_size": 100}]
        }))
        .unwrap();
        let inc = Incoming::from_message(&msg, 1);
        let att = inc.attachment.clone().unwrap();
        assert_eq!(inc.media_group_id.as_deref(), Some(group));
        Part {
            inc,
            att,
            caption: String::new(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn parts_arriving_close_together_make_one_album() {
        let albums = Arc::new(Albums::default());
        let rx = albums
            .add("g1", part(5, 11, "g1"))
            .expect("first part opens it");
        assert!(albums.is_open(5, "g1"));
        let collector = {
            let albums = albums.clone();
            tokio::spawn(async move { albums.collect(5, "g1", rx, QUIET).await })
        };
        for id in [13, 12] {
            tokio::time::sleep(QUIET / 2).await;
            assert!(albums.add("g1", part(5, id, "g1")).is_none(), "joins");
        }
        // Another chat's album with the same id is a different album.
        assert!(albums.add("g1", part(6, 20, "g1")).is_some());
        let parts = collector.await.unwrap();
        let ids: Vec<i64> = parts.iter().map(|p| p.inc.message_id).collect();
        assert_eq!(ids, [11, 12, 13], "all parts, in message order");
        assert!(!albums.is_open(5, "g1"));
        // A late part starts a new album instead of getting lost.
        assert!(albums.add("g1", part(5, 14, "g1")).is_some());
    }
}
