//! `chat_activity.json` (§4.8): the chats the bot has seen, for `/where`, with
//! rejections counted (unauthorised input gets no reply but is recorded here).

use crate::persist::Persisted;
use crate::session::freshness;
use crate::state::Lenient;
use crate::state::chat_activity::{ChatActivityFile, ChatActivityRecord};
use chrono::Utc;
use std::path::Path;

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
        let now = freshness::format_time(Utc::now());
        self.file.update(|file| {
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
