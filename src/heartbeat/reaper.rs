//! The stale-run reaper: a run that has been going for more than twice its longest
//! possible timeout on the wall clock is stopped. Timeouts are kept on tokio's clock,
//! which stands still while the machine sleeps; after a suspend a run can outlive its
//! deadline by hours, and this catches it. Runs every five minutes, heartbeat or not
//! (the original only reaped inside heartbeat ticks, i.e. never by default).

use crate::config::AgentConfig;
use crate::core::Core;
use crate::exec::TimeoutKind;
use crate::session::runs::RunState;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the reaper looks.
pub const EVERY: Duration = Duration::from_mins(5);

/// The longest a run of `kind` may take, all activity extensions included.
fn longest(config: &AgentConfig, kind: TimeoutKind) -> Duration {
    let p = crate::exec::request::timeout_policy(config, kind);
    let extensions = if p.extend_on_activity {
        p.max_extensions
    } else {
        0
    };
    p.base + p.extension * extensions
}

/// Runs until `shutdown`.
pub async fn run(core: Arc<Core>, shutdown: CancellationToken) {
    let mut seen = HashMap::new();
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => { sweep(&core, &mut seen).await; }
        }
    }
}

/// One look: stops the runs past twice their longest timeout; returns how many.
/// `seen` keeps each run's start on the wall clock between looks.
pub async fn sweep<S: std::hash::BuildHasher>(
    core: &Core,
    seen: &mut HashMap<u64, DateTime<Utc>, S>,
) -> usize {
    let wall = (core.clock)();
    let running = core
        .conversations
        .board()
        .list(|r| r.state == RunState::Running);
    seen.retain(|entry, _| running.iter().any(|r| r.entry == *entry));
    let config = core.config.get();
    let mut stopped = 0;
    for r in running {
        let start = *seen.entry(r.entry).or_insert_with(|| {
            wall - chrono::Duration::from_std(r.since.elapsed()).unwrap_or_default()
        });
        let age = (wall - start).to_std().unwrap_or_default();
        if age <= longest(&config, r.timeout) * 2 {
            continue;
        }
        tracing::warn!(
            address = %r.address,
            lane = %r.lane,
            age_s = age.as_secs(),
            "stopping a run far past its timeout (the machine was likely suspended)"
        );
        if core.conversations.stop_running(&r.address, &r.lane).await {
            stopped += 1;
        }
    }
    stopped
}
