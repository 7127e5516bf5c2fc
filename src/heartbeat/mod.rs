//! Heartbeat (§8.4): now and then the agent is asked, in the user's own session,
//! whether there is something worth saying — an idea, a reminder, a warning. An
//! answer that is only the ack token (`HEARTBEAT_OK`) is dropped and leaves the
//! session as it was; anything else is posted into the chat.
//!
//! A conversation is left alone while anything of its chat runs or waits, when it has
//! no session (or one of another provider than the configured one), and when it was
//! active within the cooldown. Nothing runs in quiet hours (the user's timezone).
//! `group_targets` add group chats, each with its own prompt, ack, quiet hours and,
//! when set, its own interval. Unlike the original: after a suspend (more than twice
//! the interval passed on the wall clock) one beat is skipped instead of several
//! firing at once; a failing heartbeat tells its chat what failed at most once an
//! hour; the stale-run reaper ([`reaper`]) runs whether heartbeats are on or not.

pub mod reaper;
pub mod settings;

use crate::address::Address;
use crate::address::Destination;
use crate::core::Core;
use crate::exec::TimeoutKind;
use crate::session::conversation::strip_ack;
use crate::session::outbox::{Outgoing, Receipt};
use crate::session::{Job, Lane, Purpose, Ran};
use chrono::{DateTime, Timelike, Utc};
pub use settings::{GroupTarget, Settings};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Receipt keys of heartbeat posts start with this.
const RECEIPT_PREFIX: &str = "heartbeat:";
/// A failing heartbeat tells its chat at most this often.
const FAILURE_NOTICE_EVERY: Duration = Duration::from_hours(1);

/// Starts the heartbeat and the stale-run reaper; both end with `shutdown`.
pub fn spawn(core: Arc<Core>, shutdown: CancellationToken) -> JoinHandle<()> {
    let reaper = tokio::spawn(reaper::run(core.clone(), shutdown.clone()));
    tokio::spawn(async move {
        Heartbeat::new(core).run(shutdown).await;
        let _ = reaper.await;
    })
}

/// What one heartbeat of one conversation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Beat {
    /// It did not run, and why.
    Skipped(&'static str),
    /// The agent had nothing to say.
    Acked,
    /// The answer was handed to the chat.
    Posted,
    /// The run failed (the chat was told, at most once an hour).
    Failed,
}

/// When a cadence last fired.
#[derive(Debug, Clone, Copy)]
struct Cadence {
    last: Instant,
    last_wall: DateTime<Utc>,
}

impl Cadence {
    fn new(wall: DateTime<Utc>) -> Self {
        Self {
            last: Instant::now(),
            last_wall: wall,
        }
    }

    /// Fires at `wall`: false when the machine was asleep for much of the interval
    /// (the beat is skipped; the cadence starts over).
    fn fire(&mut self, wall: DateTime<Utc>, interval: Duration) -> bool {
        let elapsed = (wall - self.last_wall).to_std().unwrap_or_default();
        self.last = Instant::now();
        self.last_wall = wall;
        if elapsed > interval * 2 {
            tracing::warn!(
                elapsed_s = elapsed.as_secs(),
                "heartbeat: the system was likely suspended; skipping this beat"
            );
            return false;
        }
        true
    }
}

/// The heartbeat of one agent. Cheap to clone.
#[derive(Clone)]
pub struct Heartbeat {
    core: Arc<Core>,
    /// Conversations with a beat in flight.
    running: Arc<Mutex<HashSet<Address>>>,
    /// When each conversation was last told that its heartbeat failed.
    failures: Arc<Mutex<HashMap<Address, DateTime<Utc>>>>,
    /// Group posts waiting for their receipt: key → (chat, text).
    pending: Arc<Mutex<HashMap<String, (Address, String)>>>,
    seq: Arc<AtomicU64>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Heartbeat {
    /// The heartbeat of `core`.
    pub fn new(core: Arc<Core>) -> Self {
        Self {
            core,
            running: Arc::default(),
            failures: Arc::default(),
            pending: Arc::default(),
            seq: Arc::default(),
        }
    }

    fn now(&self) -> DateTime<Utc> {
        (self.core.clock)()
    }

    /// The loop: one cadence for the private chats and the groups without their own
    /// interval, one per group with its own. The config is read at every wake.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut receipts = self.core.outbox.subscribe(RECEIPT_PREFIX);
        let mut changes = self.core.config.subscribe();
        let mut main = Cadence::new(self.now());
        let mut own: HashMap<Address, Cadence> = HashMap::new();
        loop {
            let s = Settings::from_config(&self.core.config.get());
            own.retain(|a, _| {
                s.groups
                    .iter()
                    .any(|g| g.address == *a && g.interval.is_some())
            });
            for g in &s.groups {
                if g.interval.is_some() {
                    own.entry(g.address.clone())
                        .or_insert_with(|| Cadence::new(self.now()));
                }
            }
            let next = s
                .groups
                .iter()
                .filter_map(|g| Some(own.get(&g.address)?.last + g.interval?))
                .fold(main.last + s.interval, Instant::min);
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep_until(next) => {}
                // A changed interval or target list applies from the next wake.
                r = changes.changed() => {
                    if r.is_err() {
                        return;
                    }
                    continue;
                }
                Some(receipt) = receipts.recv() => {
                    self.on_receipt(&receipt);
                    continue;
                }
            }
            let now = Instant::now();
            if now >= main.last + s.interval && main.fire(self.now(), s.interval) && s.enabled {
                self.tick(&s);
            }
            for g in &s.groups {
                let (Some(interval), Some(c)) = (g.interval, own.get_mut(&g.address)) else {
                    continue;
                };
                if now >= c.last + interval && c.fire(self.now(), interval) && s.enabled {
                    self.spawn_group(&s, g);
                }
            }
        }
    }

    /// One beat of the main cadence: every private chat of an allowed user with a
    /// session, then the groups without their own interval.
    fn tick(&self, s: &Settings) {
        if self.quiet(s.quiet) {
            tracing::debug!("heartbeat: quiet hours");
            return;
        }
        let users = self.core.config.get().allowed_user_ids.clone();
        let chats: Vec<Address> = self
            .core
            .conversations
            .engine()
            .sessions
            .all()
            .into_iter()
            .filter(|r| r.topic_id.is_none() && users.contains(&r.chat_id))
            .map(|r| Address::new(&r.transport, r.chat_id, None))
            .collect();
        for address in chats {
            let (me, prompt, ack) = (self.clone(), s.prompt.clone(), s.ack.clone());
            tokio::spawn(async move { me.beat(&address, &prompt, &ack, false).await });
        }
        for g in s.groups.iter().filter(|g| g.interval.is_none()) {
            self.spawn_group(s, g);
        }
    }

    fn spawn_group(&self, s: &Settings, g: &GroupTarget) {
        if self.quiet(g.quiet(s)) {
            return;
        }
        let me = self.clone();
        let (address, prompt, ack) = (
            g.address.clone(),
            g.prompt(s).to_owned(),
            g.ack(s).to_owned(),
        );
        tokio::spawn(async move { me.beat(&address, &prompt, &ack, true).await });
    }

    fn quiet(&self, (start, end): (u32, u32)) -> bool {
        let tz = crate::session::freshness::user_tz(&self.core.config.get());
        let hour = self.now().with_timezone(&tz).hour();
        crate::cron::schedule::in_quiet_hours(hour, start, end)
    }

    /// Why the conversation at `address` gets no heartbeat now, if it does not.
    fn skip_reason(&self, address: &Address, s: &Settings) -> Option<&'static str> {
        let core = &self.core;
        if !core.directory.serves(address) {
            return Some("no transport of this agent serves the chat");
        }
        let busy = core
            .conversations
            .board()
            .count(|r| r.address.same_chat(address));
        if busy > 0 {
            return Some("busy");
        }
        let Some(record) = core.conversations.engine().sessions.get(address) else {
            return Some("no session");
        };
        let Some(bucket) = record
            .provider_sessions
            .get(&record.provider)
            .filter(|b| !b.session_id.is_empty())
        else {
            return Some("no session");
        };
        let config = core.config.get();
        if record.provider != config.provider {
            return Some("the session runs on another provider");
        }
        let last = crate::session::freshness::parse_time(&record.last_active);
        let tz = crate::session::freshness::user_tz(&config);
        let staleness = crate::session::freshness::staleness(
            &config,
            tz,
            last,
            bucket.message_count,
            self.now(),
        );
        if staleness != crate::session::freshness::Staleness::Fresh {
            // The next message starts over; a heartbeat must not start a session.
            return Some("the session expired");
        }
        let idle = last.map_or(Duration::MAX, |t| {
            (self.now() - t).to_std().unwrap_or_default()
        });
        if idle < s.cooldown {
            return Some("active within the cooldown");
        }
        None
    }

    /// One heartbeat of the conversation at `address`.
    pub async fn beat(&self, address: &Address, prompt: &str, ack: &str, group: bool) -> Beat {
        if !lock(&self.running).insert(address.clone()) {
            return Beat::Skipped("the previous heartbeat still runs");
        }
        let beat = self.beat_once(address, prompt, ack, group).await;
        lock(&self.running).remove(address);
        tracing::debug!(%address, ?beat, "heartbeat");
        beat
    }

    async fn beat_once(&self, address: &Address, prompt: &str, ack: &str, group: bool) -> Beat {
        let s = Settings::from_config(&self.core.config.get());
        if let Some(why) = self.skip_reason(address, &s) {
            return Beat::Skipped(why);
        }
        let job = Job {
            lane: Lane::Main,
            prompt: prompt.to_owned(),
            timeout: TimeoutKind::Interactive,
            cancel: None,
            purpose: Purpose::Heartbeat {
                ack: ack.to_owned(),
            },
        };
        let finish = match self.core.conversations.run(address, job, |_| {}).await {
            Ran::Finished(f) => f,
            Ran::Dropped | Ran::CutOff => return Beat::Skipped("stopped"),
        };
        if finish.cancelled {
            return Beat::Skipped("stopped");
        }
        if !finish.ok() {
            self.failed(address, &finish.text());
            return Beat::Failed;
        }
        lock(&self.failures).remove(address);
        let text = strip_ack(&finish.text(), ack).to_owned();
        if text.is_empty() {
            return Beat::Acked;
        }
        let key = format!(
            "{RECEIPT_PREFIX}{}",
            self.seq.fetch_add(1, Ordering::Relaxed)
        );
        if group {
            lock(&self.pending).insert(key.clone(), (address.clone(), text.clone()));
        }
        let _ = self.core.outbox.send(Outgoing::Report {
            to: Destination::Chat(address.clone()),
            text,
            receipt: key,
        });
        Beat::Posted
    }

    /// Tells the chat what failed, unless it was told within the hour.
    fn failed(&self, address: &Address, what: &str) {
        tracing::warn!(%address, error = %what, "heartbeat failed");
        let now = self.now();
        {
            let mut told = lock(&self.failures);
            let recent = told
                .get(address)
                .is_some_and(|t| (now - *t).to_std().unwrap_or_default() < FAILURE_NOTICE_EVERY);
            if recent {
                return;
            }
            told.insert(address.clone(), now);
        }
        let what = crate::util::truncate_bytes(what.trim(), 300);
        let text = self.core.text().f("heartbeat.failed", &[("error", what)]);
        let _ = self.core.outbox.send(Outgoing::Notice {
            to: Destination::Chat(address.clone()),
            text,
        });
    }

    /// A heartbeat post reached its chat or not; a group that refused it is reported
    /// to the primary chat, with the text.
    fn on_receipt(&self, receipt: &Receipt) {
        let Some((address, text)) = lock(&self.pending).remove(&receipt.key) else {
            return;
        };
        if receipt.delivered {
            return;
        }
        tracing::warn!(%address, "heartbeat: delivery to the group failed");
        let topic = address
            .topic_id
            .map(|t| format!(" / topic {t}"))
            .unwrap_or_default();
        let chat = format!("{}{topic}", address.chat_id);
        let notice = self.core.text().f(
            "heartbeat.delivery_failed",
            &[("chat", &chat), ("text", &text)],
        );
        let _ = self.core.outbox.send(Outgoing::Notice {
            to: Destination::Primary,
            text: notice,
        });
    }
}

#[cfg(test)]
mod tests;
