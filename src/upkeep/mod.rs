//! Memory upkeep after a compaction (§8.5). When a CLI compacts its context during a
//! user's turn, what the conversation taught it may be lost from its window; so once
//! that turn ended, a silent flush turn runs in the same session asking the agent to
//! write what is worth keeping into `MAINMEMORY.md` (output discarded; at most once
//! per conversation within `memory_flush.dedup_seconds`). Then, when `MAINMEMORY.md`
//! has grown to `memory_compaction.trigger_lines`, a one-shot run rewrites it to
//! about `target_lines`, keeping recent entries verbatim.
//!
//! The rewrite is checked, unlike the original's: the previous file is kept as
//! `MAINMEMORY.md.bak`, and a rewrite that drops the shared-knowledge block or
//! shrinks the file below a sanity floor is undone.

pub mod settings;

use crate::address::Address;
use crate::core::Core;
use crate::exec::TimeoutKind;
use crate::memory::{END, START};
use crate::session::{Job, Lane, Purpose, Ran};
pub use settings::Settings;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The one-shot lane of the compaction run.
const COMPACTION_LANE: &str = "memory:compaction";

/// Starts the upkeep of `core`'s memory; ends with `shutdown`.
pub fn spawn(core: Arc<Core>, shutdown: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let Some(mut compactions) = core.conversations.engine().take_compactions() else {
            tracing::error!("memory upkeep: already running");
            return;
        };
        let mut upkeep = Upkeep::new(core);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                next = compactions.recv() => match next {
                    Some(address) => { upkeep.after_compaction(&address).await; }
                    None => return,
                },
            }
        }
    })
}

/// What the compaction of `MAINMEMORY.md` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compaction {
    /// Off, or the file is below the trigger.
    NotNeeded,
    /// The agent left the file as it was.
    Unchanged,
    /// The file was rewritten from `before` to `after` lines.
    Done {
        /// Lines before.
        before: usize,
        /// Lines after.
        after: usize,
    },
    /// The rewrite was undone, and why.
    Rejected(String),
    /// The run failed (the file is as it was).
    Failed(String),
}

/// The upkeep of one agent.
#[derive(Debug)]
pub struct Upkeep {
    core: Arc<Core>,
    /// When each conversation was last flushed.
    flushed: HashMap<Address, Instant>,
}

impl Upkeep {
    /// The upkeep of `core`.
    pub fn new(core: Arc<Core>) -> Self {
        Self {
            core,
            flushed: HashMap::new(),
        }
    }

    /// The flush (unless one ran within the dedup window), then the compaction.
    /// Returns whether a flush ran, and what the compaction did.
    pub async fn after_compaction(&mut self, address: &Address) -> (bool, Compaction) {
        let s = Settings::from_config(&self.core.config.get());
        let flushed = s.flush_enabled && self.flush(address, &s).await;
        (flushed, self.compact(address).await)
    }

    async fn flush(&mut self, address: &Address, s: &Settings) -> bool {
        let now = Instant::now();
        if let Some(last) = self.flushed.get(address)
            && !s.dedup.is_zero()
            && now.duration_since(*last) < s.dedup
        {
            tracing::debug!(%address, "memory flush: done recently");
            return false;
        }
        self.flushed.insert(address.clone(), now);
        let job = Job {
            lane: Lane::Main,
            prompt: s.flush_prompt.clone(),
            timeout: TimeoutKind::Automation,
            cancel: None,
            purpose: Purpose::Upkeep,
        };
        match self.core.conversations.run(address, job, |_| {}).await {
            Ran::Finished(f) if f.ok() => {
                tracing::info!(%address, "memory flushed after a compaction");
            }
            Ran::Finished(f) => {
                tracing::warn!(%address, error = %f.text(), "memory flush failed");
            }
            Ran::Dropped | Ran::CutOff => {}
        }
        true
    }

    /// Compacts `MAINMEMORY.md` when it reached the trigger (a one-shot run at
    /// `address`), and checks the rewrite.
    pub async fn compact(&self, address: &Address) -> Compaction {
        let s = Settings::from_config(&self.core.config.get());
        let path = self.core.paths.main_memory();
        let Ok(before) = std::fs::read_to_string(&path) else {
            return Compaction::NotNeeded;
        };
        let lines = before.lines().count();
        if !s.compaction_enabled || lines < s.trigger_lines {
            return Compaction::NotNeeded;
        }
        let backup = path.with_extension("md.bak");
        if let Err(e) = crate::store::write_atomic(&backup, before.as_bytes()) {
            return Compaction::Failed(format!("cannot keep {}: {e}", backup.display()));
        }
        let ended = self
            .core
            .cron
            .run_oneshot(
                COMPACTION_LANE,
                self.core.paths.workspace(),
                &crate::state::fields::RunOverrides::default(),
                s.compaction_prompt(),
                address,
            )
            .await;
        let after = std::fs::read_to_string(&path).unwrap_or_default();
        if ended.status != "success" {
            self.restore(&before, &after);
            return Compaction::Failed(ended.text);
        }
        if after == before {
            return Compaction::Unchanged;
        }
        match check(&before, &after, &s) {
            Ok(()) => {
                let after = after.lines().count();
                tracing::info!(before = lines, after, "MAINMEMORY.md compacted");
                Compaction::Done {
                    before: lines,
                    after,
                }
            }
            Err(why) => {
                tracing::warn!(reason = %why, "MAINMEMORY.md rewrite rejected; the previous file is back");
                self.restore(&before, &after);
                Compaction::Rejected(why)
            }
        }
    }

    /// Puts `before` back when the file is not `before` any more.
    fn restore(&self, before: &str, after: &str) {
        if before != after
            && let Err(e) =
                crate::store::write_atomic(&self.core.paths.main_memory(), before.as_bytes())
        {
            tracing::error!(error = %e, "cannot restore MAINMEMORY.md (the copy is MAINMEMORY.md.bak)");
        }
    }
}

/// The shared-knowledge block of a memory file (markers included), if it has one.
fn shared_block(text: &str) -> Option<&str> {
    let a = text.find(START)?;
    let b = a + text[a..].find(END)? + END.len();
    Some(&text[a..b])
}

/// Whether the rewrite `after` of `before` may stay.
fn check(before: &str, after: &str, s: &Settings) -> Result<(), String> {
    if let Some(block) = shared_block(before)
        && shared_block(after) != Some(block)
    {
        return Err("the rewrite changed or dropped the shared knowledge block".into());
    }
    let floor = s.floor();
    let lines = after.lines().filter(|l| !l.trim().is_empty()).count();
    if lines < floor {
        return Err(format!(
            "the rewrite kept only {lines} lines (at least {floor} expected)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
