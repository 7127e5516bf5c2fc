//! `sessions.json` as a domain object: which provider/model a conversation uses,
//! the resume id of each provider bucket, counters and freshness. One writer (a
//! [`Persisted`] task); each conversation's record is only changed by its session
//! actor or by a command serialised through that actor.

use super::freshness::{self, Staleness};
use crate::address::Address;
use crate::config::AgentConfig;
use crate::persist::Persisted;
use crate::provider::ProviderKind;
use crate::provider::event::Usage;
use crate::state::Lenient;
use crate::state::sessions::{ProviderBucket, SessionRecord, SessionsFile};
use chrono::{DateTime, Utc};
use std::path::Path;

/// Provider, model and effort of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Provider CLI.
    pub provider: ProviderKind,
    /// Model name as given to the CLI.
    pub model: String,
    /// Reasoning effort (`None` = the CLI's default).
    pub effort: Option<String>,
}

/// The configured default provider/model/effort of an agent.
pub fn default_target(config: &AgentConfig) -> Target {
    Target {
        provider: config.provider.parse().unwrap_or(ProviderKind::Claude),
        model: config.model.clone(),
        effort: Some(config.reasoning_effort.clone()).filter(|e| !e.is_empty()),
    }
}

/// What a turn should run with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Provider/model/effort of this turn.
    pub target: Target,
    /// Session id to resume (`None` = a new CLI session).
    pub resume: Option<String>,
    /// Turns already in this provider bucket.
    pub message_count: u64,
    /// Why the conversation started over, if it did.
    pub staleness: Staleness,
}

/// The sessions of one agent.
#[derive(Debug, Clone)]
pub struct SessionStore {
    file: Persisted<SessionsFile>,
}

fn new_record(key: &Address, target: &Target, now: DateTime<Utc>) -> SessionRecord {
    SessionRecord {
        transport: key.transport.clone(),
        chat_id: key.chat_id,
        topic_id: key.topic_id,
        topic_name: None,
        provider: target.provider.to_string(),
        model: target.model.clone(),
        reasoning_effort: target.effort.clone(),
        created_at: freshness::format_time(now),
        last_active: freshness::format_time(now),
        provider_sessions: std::collections::BTreeMap::new(),
        extra: serde_json::Map::new(),
    }
}

impl SessionStore {
    /// Loads `sessions.json`, migrating legacy keys and fields.
    pub fn load(path: &Path) -> Self {
        let file: Persisted<SessionsFile> = Persisted::load(path);
        let migrated = file.read(|f| {
            let mut copy = f.clone();
            copy.migrate().then_some(copy)
        });
        if let Some(m) = migrated {
            tracing::info!(path = %path.display(), "migrated legacy sessions.json entries");
            file.update(|f| *f = m);
        }
        crate::state::warn_raw(
            "sessions.json",
            file.read(|f| f.0.values().cloned().collect::<Vec<_>>())
                .iter(),
        );
        Self { file }
    }

    /// Waits until all changes are written.
    pub async fn flush(&self) {
        self.file.flush().await;
    }

    /// A copy of the record of `key`.
    pub fn get(&self, key: &Address) -> Option<SessionRecord> {
        self.file.read(|f| f.get(key).cloned())
    }

    /// Every readable record (for `/status`, `/sessions`).
    pub fn all(&self) -> Vec<SessionRecord> {
        self.file
            .read(|f| f.0.values().filter_map(Lenient::ok).cloned().collect())
    }

    fn with_record<R>(&self, key: &Address, f: impl FnOnce(&mut SessionRecord) -> R) -> Option<R> {
        self.file.update(|file| {
            file.0
                .get_mut(&key.to_string())
                .and_then(Lenient::ok_mut)
                .map(f)
        })
    }

    /// The target stored for a conversation, if it has one.
    pub fn target(&self, key: &Address) -> Option<Target> {
        self.get(key).and_then(|r| {
            Some(Target {
                provider: r.provider.parse().ok()?,
                model: r.model.clone(),
                effort: r.reasoning_effort.clone(),
            })
        })
    }

    /// Resolves the session for a turn: creates the record if needed, starts over
    /// when it is stale, and picks the resume id of the target provider's bucket.
    /// `override_target` (a one-turn `@model`) decides the provider/model of this
    /// turn without changing the conversation's default.
    pub fn resolve(
        &self,
        key: &Address,
        default: &Target,
        override_target: Option<&Target>,
        config: &AgentConfig,
        now: DateTime<Utc>,
    ) -> Resolved {
        let tz = freshness::user_tz(config);
        self.file.update(|file| {
            let skey = key.to_string();
            if !matches!(file.0.get(&skey), Some(Lenient::Ok(_))) {
                file.0
                    .insert(skey.clone(), Lenient::Ok(new_record(key, default, now)));
            }
            let Some(Lenient::Ok(record)) = file.0.get_mut(&skey) else {
                unreachable!("record inserted above")
            };
            let session_target = Target {
                provider: record.provider.parse().unwrap_or(default.provider),
                model: if record.model.is_empty() {
                    default.model.clone()
                } else {
                    record.model.clone()
                },
                effort: record
                    .reasoning_effort
                    .clone()
                    .or_else(|| default.effort.clone()),
            };
            let target = override_target.cloned().unwrap_or(session_target);
            let count = record
                .provider_sessions
                .get(target.provider.as_str())
                .map_or(0, |b| b.message_count);
            let last = freshness::parse_time(&record.last_active);
            let staleness = freshness::staleness(config, tz, last, count, now);
            match staleness {
                Staleness::Idle | Staleness::DailyReset => {
                    let topic_name = record.topic_name.take();
                    let provider = record.provider.clone();
                    let model = record.model.clone();
                    let effort = record.reasoning_effort.clone();
                    *record = new_record(key, default, now);
                    record.topic_name = topic_name;
                    record.provider = provider;
                    record.model = model;
                    record.reasoning_effort = effort;
                }
                Staleness::MessageCap => {
                    record.provider_sessions.remove(target.provider.as_str());
                }
                Staleness::Fresh => {}
            }
            let bucket = record.provider_sessions.get(target.provider.as_str());
            Resolved {
                resume: bucket
                    .map(|b| b.session_id.clone())
                    .filter(|s| !s.is_empty()),
                message_count: bucket.map_or(0, |b| b.message_count),
                target,
                staleness,
            }
        })
    }

    /// Records a completed turn: session id, one more message, cost and tokens.
    pub fn record_success(
        &self,
        key: &Address,
        provider: ProviderKind,
        session_id: Option<&str>,
        usage: &Usage,
        now: DateTime<Utc>,
    ) {
        self.with_record(key, |r| {
            let b = r.provider_sessions.entry(provider.to_string()).or_default();
            started(b, now);
            if let Some(id) = session_id.filter(|s| !s.is_empty()) {
                id.clone_into(&mut b.session_id);
            }
            b.message_count += 1;
            b.total_cost_usd += usage.cost_usd.unwrap_or(0.0);
            b.total_tokens += usage.total_tokens();
            r.last_active = freshness::format_time(now);
        });
    }

    /// Keeps the session id of a turn that failed or was stopped, so the next
    /// message resumes it (no message counted).
    pub fn preserve_id(
        &self,
        key: &Address,
        provider: ProviderKind,
        session_id: Option<&str>,
        now: DateTime<Utc>,
    ) {
        let Some(id) = session_id.filter(|s| !s.is_empty()) else {
            return;
        };
        self.with_record(key, |r| {
            let b = r.provider_sessions.entry(provider.to_string()).or_default();
            started(b, now);
            id.clone_into(&mut b.session_id);
            r.last_active = freshness::format_time(now);
        });
    }

    /// Clears one provider bucket (the next turn of that provider starts fresh).
    /// Returns the session id that was dropped.
    pub fn reset_bucket(&self, key: &Address, provider: ProviderKind) -> Option<String> {
        self.with_record(key, |r| r.provider_sessions.remove(provider.as_str()))
            .flatten()
            .map(|b: ProviderBucket| b.session_id)
    }

    /// Sets the conversation's provider/model/effort (creating the record).
    pub fn set_target(&self, key: &Address, target: &Target, now: DateTime<Utc>) {
        self.file.update(|file| {
            let skey = key.to_string();
            if !matches!(file.0.get(&skey), Some(Lenient::Ok(_))) {
                file.0
                    .insert(skey.clone(), Lenient::Ok(new_record(key, target, now)));
            }
            if let Some(Lenient::Ok(r)) = file.0.get_mut(&skey) {
                r.provider = target.provider.to_string();
                r.model.clone_from(&target.model);
                r.reasoning_effort.clone_from(&target.effort);
            }
        });
    }

    /// The forum topics of `chat`'s chat that have a record, by topic id.
    pub fn topics(&self, chat: &Address) -> Vec<SessionRecord> {
        let mut out: Vec<SessionRecord> = self
            .all()
            .into_iter()
            .filter(|r| {
                r.topic_id.is_some() && r.chat_id == chat.chat_id && r.transport == chat.transport
            })
            .collect();
        out.sort_by_key(|r| r.topic_id);
        out
    }

    /// The topic of `chat`'s chat whose cached name is `name` (case-insensitive,
    /// surrounding spaces ignored).
    pub fn topic_named(&self, chat: &Address, name: &str) -> Option<Address> {
        let want = name.trim().to_lowercase();
        self.topics(chat)
            .into_iter()
            .find(|r| {
                r.topic_name
                    .as_deref()
                    .is_some_and(|n| n.trim().to_lowercase() == want)
            })
            .map(|r| Address::new(&r.transport, r.chat_id, r.topic_id))
    }

    /// Caches a forum topic's name (creating the topic's record, which then takes
    /// the configured provider and model on its first turn).
    pub fn set_topic_name(&self, key: &Address, name: &str) {
        self.file.update(|file| {
            let skey = key.to_string();
            if !matches!(file.0.get(&skey), Some(Lenient::Ok(_))) {
                let mut record = new_record(
                    key,
                    &Target {
                        provider: ProviderKind::Claude,
                        model: String::new(),
                        effort: None,
                    },
                    Utc::now(),
                );
                record.provider.clear();
                file.0.insert(skey.clone(), Lenient::Ok(record));
            }
            if let Some(Lenient::Ok(r)) = file.0.get_mut(&skey) {
                r.topic_name = Some(name.to_owned());
            }
        });
    }
}

/// Marks a bucket that has not run a turn yet as beginning `now` (a new CLI
/// session: after `/new`, a reset or a stale session its bucket was removed).
fn started(bucket: &mut ProviderBucket, now: DateTime<Utc>) {
    if bucket.started_at.is_none() && bucket.message_count == 0 && bucket.session_id.is_empty() {
        bucket.started_at = Some(freshness::format_time(now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(p: ProviderKind, m: &str) -> Target {
        Target {
            provider: p,
            model: m.into(),
            effort: None,
        }
    }

    #[tokio::test]
    async fn a_cli_session_remembers_when_it_began_until_it_is_reset() {
        let dir = tempfile::tempdir().unwrap();
        let store = SessionStore::load(&dir.path().join("sessions.json"));
        let key = Address::new("tg", 1, None);
        let claude = target(ProviderKind::Claude, "opus");
        store.resolve(&key, &claude, None, &AgentConfig::default(), Utc::now());
        let began = |store: &SessionStore| {
            store.get(&key).unwrap().provider_sessions["claude"]
                .started_at
                .clone()
        };
        let day1 = Utc::now() - chrono::TimeDelta::days(3);
        let ok = |at| {
            store.record_success(
                &key,
                ProviderKind::Claude,
                Some("c-1"),
                &Usage::default(),
                at,
            );
        };
        ok(day1);
        ok(day1 + chrono::TimeDelta::hours(5));
        assert_eq!(began(&store), Some(freshness::format_time(day1)));
        // `/new` or a reset removes the bucket: the next session begins anew.
        store.reset_bucket(&key, ProviderKind::Claude);
        let later = day1 + chrono::TimeDelta::days(2);
        store.preserve_id(&key, ProviderKind::Claude, Some("c-2"), later);
        ok(later + chrono::TimeDelta::hours(1));
        assert_eq!(began(&store), Some(freshness::format_time(later)));
        // A bucket of an older file (turns counted, no start) keeps none: the
        // record's created_at stands in.
        store.with_record(&key, |r| {
            let b = r.provider_sessions.get_mut("claude").unwrap();
            b.started_at = None;
        });
        ok(later + chrono::TimeDelta::hours(2));
        assert_eq!(began(&store), None);
    }

    #[tokio::test]
    async fn buckets_per_provider_and_resume() {
        let dir = tempfile::tempdir().unwrap();
        let store = SessionStore::load(&dir.path().join("sessions.json"));
        let key = Address::new("tg", 1, None);
        let cfg = AgentConfig::default();
        let now = Utc::now();
        let claude = target(ProviderKind::Claude, "opus");
        let r = store.resolve(&key, &claude, None, &cfg, now);
        assert_eq!(r.resume, None);
        store.record_success(
            &key,
            ProviderKind::Claude,
            Some("c-1"),
            &Usage::default(),
            now,
        );
        let r = store.resolve(&key, &claude, None, &cfg, now);
        assert_eq!((r.resume.as_deref(), r.message_count), (Some("c-1"), 1));
        // A one-turn codex override uses (and fills) the codex bucket only.
        let codex = target(ProviderKind::Codex, "gpt-5.5");
        let r = store.resolve(&key, &claude, Some(&codex), &cfg, now);
        assert_eq!(r.target.provider, ProviderKind::Codex);
        assert_eq!(r.resume, None);
        store.record_success(
            &key,
            ProviderKind::Codex,
            Some("x-1"),
            &Usage::default(),
            now,
        );
        let r = store.resolve(&key, &claude, None, &cfg, now);
        assert_eq!(r.resume.as_deref(), Some("c-1"), "claude bucket untouched");
        assert_eq!(
            store.reset_bucket(&key, ProviderKind::Claude).as_deref(),
            Some("c-1")
        );
        assert_eq!(store.resolve(&key, &claude, None, &cfg, now).resume, None);
        let r = store.resolve(&key, &claude, Some(&codex), &cfg, now);
        assert_eq!(r.resume.as_deref(), Some("x-1"));
        store.flush().await;
        let reloaded = SessionStore::load(&dir.path().join("sessions.json"));
        assert_eq!(
            reloaded.get(&key).unwrap().provider_sessions["codex"].session_id,
            "x-1"
        );
    }

    #[tokio::test]
    async fn topics_are_found_by_their_cached_name_in_their_own_chat() {
        let dir = tempfile::tempdir().unwrap();
        let store = SessionStore::load(&dir.path().join("sessions.json"));
        let chat = Address::new("tg", -100, None);
        store.set_topic_name(&Address::new("tg", -100, Some(7)), "Backend");
        store.set_topic_name(&Address::new("tg", -100, Some(3)), "Front End");
        store.set_topic_name(&Address::new("tg", -200, Some(9)), "Elsewhere");
        store.set_target(&chat, &target(ProviderKind::Claude, "opus"), Utc::now());
        let ids: Vec<_> = store.topics(&chat).iter().map(|r| r.topic_id).collect();
        assert_eq!(ids, [Some(3), Some(7)], "only this chat's topics, by id");
        assert_eq!(
            store.topic_named(&Address::new("tg", -100, Some(3)), "BACKEND "),
            Some(Address::new("tg", -100, Some(7)))
        );
        assert_eq!(
            store.topic_named(&chat, "front end"),
            Some(Address::new("tg", -100, Some(3)))
        );
        assert_eq!(store.topic_named(&chat, "Elsewhere"), None);
        assert_eq!(
            store.topic_named(&Address::new("mx", -100, None), "Backend"),
            None
        );
    }

    #[tokio::test]
    async fn idle_session_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let store = SessionStore::load(&dir.path().join("sessions.json"));
        let key = Address::new("tg", 1, Some(5));
        let cfg = AgentConfig {
            idle_timeout_minutes: 10,
            ..AgentConfig::default()
        };
        let t0 = Utc::now();
        let claude = target(ProviderKind::Claude, "opus");
        store.resolve(&key, &claude, None, &cfg, t0);
        store.record_success(
            &key,
            ProviderKind::Claude,
            Some("old"),
            &Usage::default(),
            t0,
        );
        store.set_topic_name(&key, "Project");
        let r = store.resolve(
            &key,
            &claude,
            None,
            &cfg,
            t0 + chrono::Duration::minutes(11),
        );
        assert_eq!(r.staleness, Staleness::Idle);
        assert_eq!(r.resume, None);
        assert_eq!(
            store.get(&key).unwrap().topic_name.as_deref(),
            Some("Project")
        );
    }
}
