//! `inflight_turns.json` (§1.8, keyed by chat **and** topic): a foreground turn is
//! recorded when it starts and removed when it ends. Entries left over after a
//! restart are turns that were interrupted; each is announced once (then marked
//! `is_recovery`) and kept for a day so the chat's "Retry" button can re-run it.

use crate::address::Address;
use crate::persist::Persisted;
use crate::session::freshness;
use crate::state::Lenient;
use crate::state::inflight::{InflightFile, InflightTurn};
use chrono::{DateTime, Utc};
use std::path::Path;

/// How long an interrupted turn can still be retried.
pub const RETRY_WINDOW_HOURS: i64 = 24;

/// The in-flight registry of one agent.
#[derive(Debug, Clone)]
pub struct InflightStore {
    file: Persisted<InflightFile>,
}

impl InflightStore {
    /// Loads the file.
    pub fn load(path: &Path) -> Self {
        Self {
            file: Persisted::load(path),
        }
    }

    /// Records that a turn of `key` started.
    pub fn begin(&self, key: &Address, turn: InflightTurn) {
        self.file
            .update(|f| f.turns.insert(key.to_string(), Lenient::Ok(turn)));
    }

    /// Records that the turn of `key` ended.
    pub fn complete(&self, key: &Address) {
        self.file.update(|f| f.turns.remove(&key.to_string()));
    }

    /// Turns interrupted by the last shutdown that nobody was told about yet,
    /// younger than `max_age`. They are marked as announced and kept for Retry;
    /// older or stale entries are dropped.
    pub fn take_interrupted(
        &self,
        transport: &str,
        max_age: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Vec<(String, InflightTurn)> {
        self.file.update(|f| {
            let mut out = Vec::new();
            f.turns.retain(|key, entry| {
                let Lenient::Ok(turn) = entry else {
                    return false;
                };
                if turn.transport != transport {
                    return true;
                }
                let age = freshness::parse_time(&turn.started_at)
                    .map_or(chrono::Duration::MAX, |t| now - t);
                if turn.is_recovery {
                    return age <= chrono::Duration::hours(RETRY_WINDOW_HOURS);
                }
                if age > max_age {
                    return false;
                }
                turn.is_recovery = true;
                out.push((key.clone(), turn.clone()));
                true
            });
            out
        })
    }

    /// Removes and returns the interrupted turn of `key` (the Retry button).
    pub fn take_for_retry(&self, key: &str) -> Option<InflightTurn> {
        self.file.update(|f| match f.turns.get(key) {
            Some(Lenient::Ok(t)) if t.is_recovery => {
                let t = t.clone();
                f.turns.remove(key);
                Some(t)
            }
            _ => None,
        })
    }

    /// Waits until all changes are written.
    pub async fn flush(&self) {
        self.file.flush().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(started: &str) -> InflightTurn {
        serde_json::from_value(serde_json::json!({
            "chat_id": 1, "topic_id": 9, "prompt": "do it", "started_at": started
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn interrupted_turns_are_announced_once_and_retried_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inflight_turns.json");
        let store = InflightStore::load(&path);
        let now = Utc::now();
        let key = Address::new("tg", 1, Some(9));
        store.begin(&key, turn(&freshness::format_time(now)));
        store.begin(
            &Address::new("tg", 2, None),
            turn("2020-01-01T00:00:00+00:00"),
        );
        store.flush().await;
        // Restart.
        let store = InflightStore::load(&path);
        assert!(
            store
                .take_interrupted("mx", chrono::Duration::minutes(20), now)
                .is_empty(),
            "another transport's turns are not announced here"
        );
        let found = store.take_interrupted("tg", chrono::Duration::minutes(20), now);
        assert_eq!(found.len(), 1, "the old one is dropped");
        assert_eq!(found[0].0, "tg:1:9");
        assert!(
            store
                .take_interrupted("tg", chrono::Duration::minutes(20), now)
                .is_empty()
        );
        assert_eq!(store.take_for_retry("tg:1:9").unwrap().prompt, "do it");
        assert!(store.take_for_retry("tg:1:9").is_none());
    }
}
