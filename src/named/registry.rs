//! `named_sessions.json` as a registry keyed by transport, chat **and topic** and
//! name (the original keyed by chat only, so sessions leaked across forum topics).

use crate::address::Address;
use crate::persist::Persisted;
use crate::session::store::Target;
use crate::state::Lenient;
use crate::state::named_sessions::{NamedSessionRecord, NamedSessionsFile};
use std::path::Path;

/// Active user sessions allowed per chat and topic.
pub const MAX_USER_SESSIONS: usize = 10;
/// Inter-agent sessions kept per chat and topic (oldest idle ones are evicted).
pub const MAX_IA_SESSIONS: usize = 32;
/// Longest stored prompt preview.
const PREVIEW_CHARS: usize = 60;
/// Longest stored last prompt.
const LAST_PROMPT_CHARS: usize = 4000;

/// Whether a name belongs to an inter-agent session.
pub fn is_interagent(name: &str) -> bool {
    name.starts_with("ia.") || name.starts_with("ia-")
}

/// The live user sessions (not inter-agent, not ended) of `address`.
fn user_sessions<'a>(
    file: &'a NamedSessionsFile,
    address: &'a Address,
) -> impl Iterator<Item = &'a NamedSessionRecord> {
    file.records()
        .filter(move |r| at(r, address))
        .filter(|r| !is_interagent(&r.name) && r.status != "ended")
}

/// Whether `r` lives at `address`.
pub fn at(r: &NamedSessionRecord, address: &Address) -> bool {
    r.transport == address.transport
        && r.chat_id == address.chat_id
        && r.topic_id == address.topic_id
}

fn matches(r: &NamedSessionRecord, address: &Address, name: &str) -> bool {
    at(r, address) && r.name.eq_ignore_ascii_case(name)
}

fn clip(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Why a session could not be created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreateError {
    /// Too many active sessions in this chat/topic.
    #[error("too many sessions ({0} max)")]
    TooMany(usize),
}

/// The named sessions of one agent.
#[derive(Debug, Clone)]
pub struct NamedRegistry {
    file: Persisted<NamedSessionsFile>,
}

impl NamedRegistry {
    /// Loads the file; sessions that were `running` become `idle` (returned for recovery).
    pub fn load(path: &Path) -> (Self, Vec<NamedSessionRecord>) {
        let file: Persisted<NamedSessionsFile> = Persisted::load(path);
        let interrupted = file.update(|f| {
            let mut out = Vec::new();
            for item in &mut f.items {
                if let Lenient::Ok(r) = item
                    && r.status == "running"
                {
                    "idle".clone_into(&mut r.status);
                    out.push(r.clone());
                }
            }
            f.items
                .retain(|i| i.ok().is_none_or(|r| r.status != "ended"));
            out
        });
        (Self { file }, interrupted)
    }

    /// A copy of one session.
    pub fn get(&self, address: &Address, name: &str) -> Option<NamedSessionRecord> {
        self.file
            .read(|f| f.records().find(|r| matches(r, address, name)).cloned())
    }

    /// User sessions (not inter-agent) of a chat/topic, oldest first.
    pub fn list(&self, address: &Address) -> Vec<NamedSessionRecord> {
        self.file
            .read(|f| user_sessions(f, address).cloned().collect())
    }

    /// Whether `name` is taken in `address`.
    pub fn exists(&self, address: &Address, name: &str) -> bool {
        self.get(address, name).is_some()
    }

    /// Creates a user session named `name` (which the caller made unique).
    pub fn create(
        &self,
        address: &Address,
        name: &str,
        target: &Target,
        prompt: &str,
    ) -> Result<NamedSessionRecord, CreateError> {
        let record = Self::new_record(address, name, target, prompt);
        // Counted and added in one change, so two creations cannot both pass the limit.
        self.file.update(|f| {
            if user_sessions(f, address).count() >= MAX_USER_SESSIONS {
                return Err(CreateError::TooMany(MAX_USER_SESSIONS));
            }
            f.items.push(Lenient::Ok(record.clone()));
            Ok(record)
        })
    }

    fn new_record(
        address: &Address,
        name: &str,
        target: &Target,
        prompt: &str,
    ) -> NamedSessionRecord {
        NamedSessionRecord {
            name: name.to_owned(),
            chat_id: address.chat_id,
            provider: target.provider.to_string(),
            model: target.model.clone(),
            session_id: String::new(),
            prompt_preview: clip(prompt, PREVIEW_CHARS),
            status: "idle".into(),
            created_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
            message_count: 0,
            last_prompt: String::new(),
            transport: address.transport.clone(),
            reasoning_effort: target.effort.clone(),
            topic_id: address.topic_id,
            extra: serde_json::Map::new(),
        }
    }

    /// The inter-agent session `name` in `address`, created when missing (the oldest
    /// idle inter-agent sessions are evicted beyond [`MAX_IA_SESSIONS`]).
    pub fn ensure_interagent(
        &self,
        address: &Address,
        name: &str,
        target: &Target,
        prompt: &str,
    ) -> NamedSessionRecord {
        if let Some(r) = self.get(address, name) {
            return r;
        }
        let record = Self::new_record(address, name, target, prompt);
        self.file.update(|f| {
            let mut ia: Vec<(usize, f64)> = f
                .items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| item.ok().map(|r| (i, r)))
                .filter(|(_, r)| at(r, address) && is_interagent(&r.name) && r.status != "running")
                .map(|(i, r)| (i, r.created_at))
                .collect();
            if ia.len() >= MAX_IA_SESSIONS {
                ia.sort_by(|a, b| a.1.total_cmp(&b.1));
                let drop = ia[0].0;
                f.items.remove(drop);
            }
            f.items.push(Lenient::Ok(record.clone()));
        });
        record
    }

    fn update(
        &self,
        address: &Address,
        name: &str,
        f: impl FnOnce(&mut NamedSessionRecord),
    ) -> bool {
        self.file.update(|file| {
            match file
                .items
                .iter_mut()
                .filter_map(Lenient::ok_mut)
                .find(|r| matches(r, address, name))
            {
                Some(r) => {
                    f(r);
                    true
                }
                None => false,
            }
        })
    }

    /// Marks a run starting with `prompt`; false when the session is gone.
    pub fn begin(&self, address: &Address, name: &str, prompt: &str) -> bool {
        self.update(address, name, |r| {
            "running".clone_into(&mut r.status);
            r.last_prompt = clip(prompt, LAST_PROMPT_CHARS);
        })
    }

    /// Records the end of a run: the session id (kept after failures too), one more
    /// message when it succeeded, status back to idle.
    pub fn finish(&self, address: &Address, name: &str, session_id: Option<&str>, ok: bool) {
        self.update(address, name, |r| {
            if let Some(id) = session_id.filter(|s| !s.is_empty()) {
                id.clone_into(&mut r.session_id);
            }
            if ok {
                r.message_count += 1;
            }
            if r.status == "running" {
                "idle".clone_into(&mut r.status);
            }
        });
    }

    /// Keeps the session id a run announced (a run the agent does not survive resumes it).
    pub fn set_session_id(&self, address: &Address, name: &str, session_id: &str) {
        if session_id.is_empty() {
            return;
        }
        self.update(address, name, |r| session_id.clone_into(&mut r.session_id));
    }

    /// Forgets the CLI session (a stale id, or a provider switch).
    pub fn reset_session(&self, address: &Address, name: &str, target: &Target) {
        self.update(address, name, |r| {
            r.session_id.clear();
            r.message_count = 0;
            r.provider = target.provider.to_string();
            r.model.clone_from(&target.model);
        });
    }

    /// Ends (removes) a session.
    pub fn end(&self, address: &Address, name: &str) -> bool {
        self.file.update(|f| {
            let before = f.items.len();
            f.items
                .retain(|i| i.ok().is_none_or(|r| !matches(r, address, name)));
            before != f.items.len()
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
    use crate::provider::ProviderKind;

    fn target() -> Target {
        Target {
            provider: ProviderKind::Claude,
            model: "opus".into(),
            effort: None,
        }
    }

    #[tokio::test]
    async fn sessions_are_per_chat_and_topic_and_limited() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("named_sessions.json");
        let (reg, _) = NamedRegistry::load(&path);
        let a = &Address::new("tg", 1, Some(5));
        let b = &Address::new("tg", 1, None);
        let other_transport = &Address::new("mx", 1, Some(5));
        reg.create(a, "redowl", &target(), "p").unwrap();
        assert!(reg.get(a, "redowl").is_some());
        assert!(
            reg.get(b, "redowl").is_none(),
            "topics do not share sessions"
        );
        assert!(
            reg.get(other_transport, "redowl").is_none(),
            "transports do not share sessions"
        );
        for i in 0..9 {
            reg.create(a, &format!("s{i}"), &target(), "p").unwrap();
        }
        assert_eq!(
            reg.create(a, "eleven", &target(), "p"),
            Err(CreateError::TooMany(10))
        );
        reg.ensure_interagent(a, "ia.main.t5.x1", &target(), "q");
        assert_eq!(reg.list(a).len(), 10, "inter-agent sessions do not count");
        assert!(reg.begin(a, "redowl", "go"));
        reg.flush().await;
        let (again, interrupted) = NamedRegistry::load(&path);
        assert_eq!(
            interrupted.len(),
            1,
            "running → idle, remembered for recovery"
        );
        assert_eq!(again.get(a, "redowl").unwrap().status, "idle");
        again.finish(a, "redowl", Some("sid"), true);
        assert_eq!(again.get(a, "redowl").unwrap().message_count, 1);
        assert!(again.end(a, "redowl"));
        assert!(again.get(a, "redowl").is_none());
    }
}
