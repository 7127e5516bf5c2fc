//! Daily cleanup of old files (§8.6): once a day, in the hour `cleanup.check_hour`
//! of the user's time zone, regular files older than their folder's limit are
//! deleted and the subfolders that leaves empty are pruned:
//!
//! | folder (under `workspace/`) | days |
//! |---|---|
//! | `telegram_files/`, `matrix_files/` | `media_files_days` (legacy `telegram_files_days`) |
//! | `api_files/` | `api_files_days` |
//! | `output_to_user/` | `output_to_user_days` |
//!
//! `0` days keeps a folder's files forever. The media index (`_index.yaml`) is kept
//! and rebuilt after a sweep removed files from its folder. Symlinks are never
//! followed nor deleted (see [`sweep`]). The config is read afresh at every check.
//!
//! Owns nothing but those folders' contents; never touches `tasks/`, `cron_tasks/`,
//! logs or anything outside the agent's workspace.

mod sweep;

pub use sweep::{Rule, Swept, sweep};

use crate::chat::media::index;
use crate::config::LiveConfig;
use crate::config::model::CleanupConfig;
use crate::cron::Clock;
use crate::paths::AgentPaths;
use chrono::{DateTime, NaiveDate, Timelike, Utc};
use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const DAY: Duration = Duration::from_hours(24);

/// One folder the cleanup sweeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    /// The folder.
    pub path: PathBuf,
    /// Files older than this many days go (never 0: such folders are not listed).
    pub days: u32,
    /// Whether it is an incoming-media folder with an `_index.yaml`.
    pub media: bool,
}

/// The folders to sweep under `config` (those with a limit of 0 days are left out).
pub fn folders(paths: &AgentPaths, config: &CleanupConfig) -> Vec<Folder> {
    [
        (paths.telegram_files_dir(), config.media_files_days, true),
        (paths.matrix_files_dir(), config.media_files_days, true),
        (paths.api_files_dir(), config.api_files_days, true),
        (
            paths.output_to_user_dir(),
            config.output_to_user_days,
            false,
        ),
    ]
    .into_iter()
    .filter(|(_, days, _)| *days > 0)
    .map(|(path, days, media)| Folder { path, days, media })
    .collect()
}

/// Sweeps every folder now (blocking file work): files last modified more than
/// their folder's days before `now` go. Media indexes of folders that lost files
/// are rebuilt.
pub fn run_once(paths: &AgentPaths, config: &CleanupConfig, now: SystemTime) -> Swept {
    let mut total = Swept::default();
    for folder in folders(paths, config) {
        let cutoff = now
            .checked_sub(DAY * folder.days)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let rule = Rule {
            cutoff,
            keep_at_top: folder.media.then_some(index::INDEX_FILE),
        };
        let swept = sweep(&folder.path, rule);
        if folder.media
            && swept.files > 0
            && let Err(e) = index::rebuild(&folder.path, DateTime::<Utc>::from(now))
        {
            tracing::warn!(error = %e, "cleanup: cannot rebuild the media index");
        }
        if swept != Swept::default() {
            tracing::info!(folder = %folder.path.display(), days = folder.days, files = swept.files,
                bytes = swept.bytes, dirs = swept.dirs, errors = swept.errors, "cleanup: old files removed");
        }
        total += swept;
    }
    total
}

/// Starts the daily cleanup of the agent at `paths`; it stops with `shutdown`.
pub fn spawn(paths: AgentPaths, config: LiveConfig, shutdown: CancellationToken) -> JoinHandle<()> {
    spawn_with_clock(paths, config, shutdown, crate::cron::system_clock())
}

/// Like [`spawn`], following the wall clock `clock`.
pub fn spawn_with_clock(
    paths: AgentPaths,
    config: LiveConfig,
    shutdown: CancellationToken,
    clock: Clock,
) -> JoinHandle<()> {
    tokio::spawn(schedule(config, clock, shutdown, move |cleanup| {
        let paths = paths.clone();
        async move {
            let work =
                tokio::task::spawn_blocking(move || run_once(&paths, &cleanup, SystemTime::now()));
            if let Err(e) = work.await {
                tracing::error!(error = %e, "cleanup: the sweep failed");
            }
        }
    }))
}

/// Once-a-day bookkeeping: due in the check hour of a local day it has not run on.
#[derive(Debug, Default)]
struct Daily {
    last_run: Option<NaiveDate>,
    warned_hour: Option<u32>,
}

impl Daily {
    /// Whether to run now, given the local time's date and hour; books the run.
    fn due(&mut self, date: NaiveDate, hour: u32, config: &CleanupConfig) -> bool {
        if !config.enabled {
            return false;
        }
        if config.check_hour > 23 {
            if self.warned_hour != Some(config.check_hour) {
                self.warned_hour = Some(config.check_hour);
                tracing::warn!(
                    check_hour = config.check_hour,
                    "cleanup.check_hour must be 0-23; the cleanup does not run"
                );
            }
            return false;
        }
        if hour != config.check_hour || self.last_run == Some(date) {
            return false;
        }
        self.last_run = Some(date);
        true
    }
}

/// Checks at the start and then at the top of every local hour (re-reading the
/// config and the clock each time, so zone changes and a suspended machine are
/// handled), calling `run` when the cleanup is due.
async fn schedule<F, Fut>(config: LiveConfig, clock: Clock, shutdown: CancellationToken, mut run: F)
where
    F: FnMut(CleanupConfig) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut daily = Daily::default();
    loop {
        let snapshot = config.get();
        let tz = crate::session::freshness::user_tz(&snapshot);
        let local = clock().with_timezone(&tz);
        if daily.due(local.date_naive(), local.hour(), &snapshot.cleanup) {
            let cleanup = snapshot.cleanup.clone();
            drop(snapshot);
            tokio::select! {
                () = run(cleanup) => {}
                () = shutdown.cancelled() => return,
            }
        }
        // Re-read after the run: it may have taken a while.
        let local = clock().with_timezone(&tz);
        let into_hour = u64::from(local.minute() * 60 + local.second());
        // One second past the boundary, so the wake-up is inside the new hour.
        let wait = Duration::from_secs(3600 - into_hour.min(3599) + 1);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = shutdown.cancelled() => return,
        }
    }
}

#[cfg(test)]
mod tests;
