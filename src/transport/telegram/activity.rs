//! `chat_activity.json` (§4.8): the chats the bot has seen, for `/where`, with
//! rejections counted (unauthorised input gets no reply but is recorded here).

use crate::persist::Persisted;
use crate::session::freshness;
use crate::state::Lenient;
use crate::state::chat_activity::{ChatActivityFile, ChatActivityRecord};
use chrono::{DateTime, Utc};
use std::path::Path;

/// Records of rejected chats kept at most (the oldest go first).
const MAX_REJECTED: usize = 200;
/// Days a rejected chat is remembered after its last message.
const REJECTED_DAYS: i64 = 30;

/// The chat activity registry of one agent.
#[derive(Debug, Clone)]
pub struct ChatActivity {
    file: Persisted<ChatActivityFile>,
}

/// What we know about a chat when recording it.
#[derive(Debug, Clone, Copy)]
pub struct ChatInfo<'a> {
    /// Chat id.
    pub chat_id: i64,
    /// `private`, `group`, `supergroup`, `channel`.
    pub chat_type: &'a str,
    /// Title or user name.
    pub title: &'a str,
}

impl ChatActivity {
    /// Loads the file.
    pub fn load(path: &Path) -> Self {
        Self {
            file: Persisted::load(path),
        }
    }

    fn upsert(&self, info: ChatInfo<'_>, f: impl FnOnce(&mut ChatActivityRecord)) {
        let at = Utc::now();
        let now = freshness::format_time(at);
        self.file.update(|file| {
            prune_rejected(file, info.chat_id, at);
            let entry = file
                .records
                .entry(info.chat_id.to_string())
                .or_insert_with(|| {
                    Lenient::Ok(ChatActivityRecord {
                        chat_id: info.chat_id,
                        chat_type: info.chat_type.to_owned(),
                        title: info.title.to_owned(),
                        first_seen: now.clone(),
                        last_seen: now.clone(),
                        status: "active".into(),
                        allowed: false,
                        rejected_count: 0,
                        extra: serde_json::Map::new(),
                    })
                });
            if let Lenient::Ok(rec) = entry {
                rec.last_seen.clone_from(&now);
                if !info.title.is_empty() {
                    info.title.clone_into(&mut rec.title);
                }
                f(rec);
            }
        });
    }

    /// An authorised message arrived.
    pub fn seen(&self, info: ChatInfo<'_>) {
        self.upsert(info, |r| {
            r.allowed = true;
            "active".clone_into(&mut r.status);
        });
    }

    /// Input from this chat was rejected.
    pub fn rejected(&self, info: ChatInfo<'_>) {
        self.upsert(info, |r| {
            r.allowed = false;
            r.rejected_count += 1;
            if r.status != "left" && r.status != "kicked" && r.status != "auto_left" {
                "rejected".clone_into(&mut r.status);
            }
        });
    }

    /// A member who may not use the bot wrote in a chat that is served: counted,
    /// without changing the chat's standing.
    pub fn member_rejected(&self, info: ChatInfo<'_>) {
        self.upsert(info, |r| r.rejected_count += 1);
    }

    /// The bot's membership changed (`active`, `left`, `kicked`, `auto_left`).
    pub fn membership(&self, info: ChatInfo<'_>, status: &str, allowed: bool) {
        self.upsert(info, |r| {
            // Our own leave is reported back as "left": keep the more precise reason.
            if !(status == "left" && r.status == "auto_left") {
                status.clone_into(&mut r.status);
            }
            r.allowed = allowed;
        });
    }

    /// All records.
    pub fn records(&self) -> Vec<ChatActivityRecord> {
        self.file.read(|f| {
            f.records
                .values()
                .filter_map(Lenient::ok)
                .cloned()
                .collect()
        })
    }

    /// Rejections counted for `chat_id` (tests and `/where`).
    pub fn rejected_count(&self, chat_id: i64) -> u64 {
        self.file.read(|f| {
            f.records
                .get(&chat_id.to_string())
                .and_then(Lenient::ok)
                .map_or(0, |r| r.rejected_count)
        })
    }
}

/// Forgets rejected chats (never served, not `keep`) last seen more than
/// [`REJECTED_DAYS`] ago, and the oldest beyond [`MAX_REJECTED`]: strangers writing
/// to the bot cannot grow the file without end.
fn prune_rejected(file: &mut ChatActivityFile, keep: i64, now: DateTime<Utc>) {
    let seen = |r: &ChatActivityRecord| freshness::parse_time(&r.last_seen);
    let horizon = now - chrono::Duration::days(REJECTED_DAYS);
    let keep = keep.to_string();
    file.records.retain(|id, entry| match entry {
        Lenient::Ok(r) if *id != keep && r.status == "rejected" && !r.allowed => {
            seen(r).is_some_and(|t| t > horizon)
        }
        _ => true,
    });
    let mut rejected: Vec<(Option<DateTime<Utc>>, String)> = file
        .records
        .iter()
        .filter_map(|(id, e)| match e {
            Lenient::Ok(r) if *id != keep && r.status == "rejected" && !r.allowed => {
                Some((seen(r), id.clone()))
            }
            _ => None,
        })
        .collect();
    if rejected.len() >= MAX_REJECTED {
        rejected.sort();
        for (_, id) in rejected.iter().take(rejected.len() + 1 - MAX_REJECTED) {
            file.records.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(chat_id: i64) -> ChatInfo<'static> {
        ChatInfo {
            chat_id,
            chat_type: "private",
            title: "x",
        }
    }

    #[tokio::test]
    async fn rejected_chats_are_capped_and_a_member_does_not_flip_a_served_group() {
        let dir = tempfile::tempdir().unwrap();
        let a = ChatActivity::load(&dir.path().join("chat_activity.json"));
        a.seen(info(-100));
        a.member_rejected(info(-100));
        let group = a.records().into_iter().find(|r| r.chat_id == -100).unwrap();
        assert!(group.allowed && group.status == "active", "{group:?}");
        assert_eq!(group.rejected_count, 1);
        for id in 1..=(MAX_REJECTED as i64 + 50) {
            a.rejected(info(id));
        }
        let records = a.records();
        let rejected = records.iter().filter(|r| r.status == "rejected").count();
        assert!(rejected <= MAX_REJECTED, "{rejected}");
        assert!(
            records.iter().any(|r| r.chat_id == -100),
            "served chats stay"
        );
        assert!(
            records
                .iter()
                .any(|r| r.chat_id == MAX_REJECTED as i64 + 50),
            "the newest stays"
        );
    }

    #[test]
    fn old_rejections_expire() {
        let mut file = ChatActivityFile::default();
        let old = freshness::format_time(Utc::now() - chrono::Duration::days(REJECTED_DAYS + 1));
        file.records.insert(
            "7".into(),
            Lenient::Ok(ChatActivityRecord {
                chat_id: 7,
                chat_type: "private".into(),
                title: String::new(),
                first_seen: old.clone(),
                last_seen: old,
                status: "rejected".into(),
                allowed: false,
                rejected_count: 3,
                extra: serde_json::Map::new(),
            }),
        );
        prune_rejected(&mut file, 0, Utc::now());
        assert!(file.records.is_empty());
    }
}
