//! Named sessions (§7.1): extra CLI conversations inside a chat and topic, run in
//! the background (`/session`) or followed up in the foreground (`@name`), and the
//! inter-agent sessions an agent answers other agents in (`ia.<sender>…`).
//!
//! Each session is a lane of its conversation ([`Lane::Named`]): its turns go
//! through the conversation pipeline one at a time, its CLI session lives in
//! `named_sessions.json` ([`registry`], [`binding`]). Background results leave through
//! the outbox. Must not talk to a chat transport.

pub mod binding;
pub mod interagent;
pub mod names;
pub mod registry;

use crate::address::{Address, Destination, MessageRef};
use crate::config::LiveConfig;
use crate::exec::TimeoutKind;
use crate::session::outbox::{OutboxTx, Outgoing};
use crate::session::store::Target;
use crate::session::{Conversations, Job, Lane, Ran, TurnFinish};
use crate::state::named_sessions::NamedSessionRecord;
use registry::{CreateError, NamedRegistry};
use std::sync::{Arc, Mutex, PoisonError};

pub use binding::{NamedBinding, target_of};

/// Background runs (named sessions) allowed per chat at once.
pub const MAX_BACKGROUND_PER_CHAT: usize = 5;

/// Why a named-session request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NamedError {
    /// No session of that name here.
    #[error("there is no session `{0}` here")]
    Unknown(String),
    /// The session is busy (a streamed follow-up must wait for it).
    #[error("session `{0}` is still running")]
    Busy(String),
    /// Too many sessions here.
    #[error("too many sessions ({0} max)")]
    TooMany(usize),
    /// Too many background runs in this chat.
    #[error("too many background runs in this chat ({0} max)")]
    TooManyBackground(usize),
    /// Nothing to send.
    #[error("the prompt is empty")]
    EmptyPrompt,
}

/// The named sessions of one agent. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Named {
    registry: NamedRegistry,
    conversations: Conversations,
    outbox: OutboxTx,
    config: LiveConfig,
    agent: String,
    interrupted: Arc<Mutex<Vec<NamedSessionRecord>>>,
}

impl Named {
    /// The named sessions over `registry` (loaded with [`NamedRegistry::load`], whose
    /// interrupted runs are `interrupted`).
    pub fn new(
        registry: NamedRegistry,
        interrupted: Vec<NamedSessionRecord>,
        conversations: Conversations,
        outbox: OutboxTx,
        config: LiveConfig,
    ) -> Self {
        let agent = conversations.engine().paths.name().to_owned();
        Self {
            registry,
            conversations,
            outbox,
            config,
            agent,
            interrupted: Arc::new(Mutex::new(interrupted)),
        }
    }

    /// `named_sessions.json`.
    pub fn registry(&self) -> &NamedRegistry {
        &self.registry
    }

    /// The session `name` at `address`.
    pub fn get(&self, address: &Address, name: &str) -> Option<NamedSessionRecord> {
        self.registry.get(address, name)
    }

    /// Whether a turn of the session runs or waits.
    pub fn is_busy(&self, address: &Address, name: &str) -> bool {
        self.conversations
            .board()
            .has_work(address, &Lane::named(name))
    }

    /// Background runs of the user's named sessions in the chat of `address` (all
    /// topics; inter-agent sessions do not count).
    fn background_runs(&self, address: &Address) -> usize {
        self.conversations.board().count(|e| {
            e.address.same_chat(address)
                && e.lane.name().is_some_and(|n| !registry::is_interagent(n))
                && !e.foreground
        })
    }

    fn check_background_slot(&self, address: &Address) -> Result<(), NamedError> {
        if self.background_runs(address) >= MAX_BACKGROUND_PER_CHAT {
            return Err(NamedError::TooManyBackground(MAX_BACKGROUND_PER_CHAT));
        }
        Ok(())
    }

    /// Starts a new session at `address` on `target` with `prompt` in the background;
    /// its result is posted there, replying to `reply_to`. Returns the new session.
    pub async fn start(
        &self,
        address: &Address,
        target: &Target,
        prompt: &str,
        reply_to: Option<MessageRef>,
    ) -> Result<NamedSessionRecord, NamedError> {
        if prompt.trim().is_empty() {
            return Err(NamedError::EmptyPrompt);
        }
        self.check_background_slot(address)?;
        let name = names::generate(|n| self.registry.exists(address, n));
        let record = self
            .registry
            .create(address, &name, target, prompt)
            .map_err(|CreateError::TooMany(max)| NamedError::TooMany(max))?;
        self.spawn_background(address, &record.name, prompt, reply_to)
            .await;
        Ok(record)
    }

    /// Sends session `name` a follow-up that runs in the background (after a turn
    /// of it still going).
    pub async fn follow_up_background(
        &self,
        address: &Address,
        name: &str,
        prompt: &str,
        reply_to: Option<MessageRef>,
    ) -> Result<NamedSessionRecord, NamedError> {
        let record = self
            .get(address, name)
            .ok_or_else(|| NamedError::Unknown(name.to_owned()))?;
        if prompt.trim().is_empty() {
            return Err(NamedError::EmptyPrompt);
        }
        self.check_background_slot(address)?;
        self.spawn_background(address, &record.name, prompt, reply_to)
            .await;
        Ok(record)
    }

    /// Whether session `name` can take a streamed follow-up now (it exists and is idle).
    pub fn check_follow_up(
        &self,
        address: &Address,
        name: &str,
    ) -> Result<NamedSessionRecord, NamedError> {
        let record = self
            .get(address, name)
            .ok_or_else(|| NamedError::Unknown(name.to_owned()))?;
        if self.is_busy(address, name) {
            return Err(NamedError::Busy(record.name));
        }
        Ok(record)
    }

    /// Ends session `name`: its turns are stopped and it leaves the registry.
    pub async fn end(&self, address: &Address, name: &str) -> bool {
        self.conversations
            .stop_lane(address, &Lane::named(name))
            .await;
        self.registry.end(address, name)
    }

    /// Ends every user session at `address`; returns how many.
    pub async fn end_all(&self, address: &Address) -> usize {
        let mut n = 0;
        for r in self.registry.list(address) {
            if self.end(address, &r.name).await {
                n += 1;
            }
        }
        n
    }

    /// The job of running `prompt` in session `name`.
    fn job(name: &str, prompt: String, timeout: TimeoutKind) -> Job {
        Job {
            lane: Lane::named(name),
            prompt,
            timeout,
            cancel: None,
            purpose: crate::session::Purpose::Turn,
        }
    }

    /// Runs `prompt` in session `name` at `address` and waits for the end.
    pub async fn run(
        &self,
        address: &Address,
        name: &str,
        prompt: String,
        timeout: TimeoutKind,
    ) -> Ran {
        self.conversations
            .run(address, Self::job(name, prompt, timeout), |_| {})
            .await
    }

    /// Submits a background run (it counts against the limit from here on) and posts
    /// its result when it ends; a run that a stop dropped or a shutdown cut off posts
    /// nothing (the shutdown leaves it to the next start).
    async fn spawn_background(
        &self,
        address: &Address,
        name: &str,
        prompt: &str,
        reply_to: Option<MessageRef>,
    ) {
        let job = Self::job(name, prompt.to_owned(), TimeoutKind::Background);
        let ended = self.conversations.start_run(address, job, |_| {}).await;
        let named = self.clone();
        let (address, name, prompt) = (address.clone(), name.to_owned(), prompt.to_owned());
        tokio::spawn(async move {
            let Ran::Finished(finish) = ended.await else {
                return;
            };
            let text = named.result_markdown(&name, &finish, &prompt);
            let _ = named.outbox.send(Outgoing::Post {
                to: Destination::Chat(address),
                text,
                reply_to,
                session: Some(name),
            });
        });
    }

    /// The result message of a background run (Markdown): status heading, then the answer.
    fn result_markdown(&self, name: &str, r: &TurnFinish, prompt: &str) -> String {
        let text = crate::i18n::catalog(&self.config.get().language);
        let secs = r.elapsed.as_secs().to_string();
        let args = [("name", name), ("secs", secs.as_str())];
        let mut out = if r.cancelled {
            text.f("named.cancelled_md", &args)
        } else if r.ok() {
            text.f("named.complete_md", &args)
        } else {
            text.f("named.failed_md", &args)
        };
        if r.recovered {
            out.push_str("\n\n");
            out.push_str(&text.t("named.recovered_md"));
        }
        let body = if r.cancelled {
            let preview: String = prompt.chars().take(200).collect();
            format!("_{}_", crate::md::escape(preview.trim()))
        } else if r.ok() {
            r.text()
        } else {
            r.text().chars().take(2000).collect()
        };
        if !body.trim().is_empty() {
            out.push_str("\n\n");
            out.push_str(&body);
        }
        out
    }

    /// Runs the last prompt of every user session a restart interrupted again (§1.8);
    /// inter-agent sessions just become idle (their asker is gone).
    pub async fn resume_interrupted(&self) {
        let text = crate::i18n::catalog(&self.config.get().language);
        let records = std::mem::take(
            &mut *self
                .interrupted
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for record in records {
            if registry::is_interagent(&record.name) || record.last_prompt.trim().is_empty() {
                continue;
            }
            let address = Address::new(&record.transport, record.chat_id, record.topic_id);
            if self.check_background_slot(&address).is_err() {
                tracing::warn!(session = %record.name, "too many background runs; not resuming");
                continue;
            }
            tracing::info!(agent = %self.agent, session = %record.name, "resuming a named session interrupted by a restart");
            let _ = self.outbox.send(Outgoing::Notice {
                to: Destination::Chat(address.clone()),
                text: text.f("named.resuming_md", &[("name", &record.name)]),
            });
            self.spawn_background(&address, &record.name, &record.last_prompt, None)
                .await;
        }
    }
}
