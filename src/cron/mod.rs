//! Cron jobs (`cron_jobs.json`): each enabled job with a valid schedule has a timer
//! that sleeps until its next slot, then runs the job as a one-shot lane of the
//! turn pipeline (a new CLI session in `workspace/cron_tasks/<folder>/`, so it never
//! shares a session with a chat, and `/stop_all` and shutdown stop it). Its result
//! goes through the durable outbox to the chat that created the job, else to the
//! primary chat; a chat that refuses it gets the result in the primary chat instead,
//! and the text is kept for the optional retry sweep (`cron_delivery_retry`).
//!
//! The file is watched: an external edit that changes a job's schedule, zone or
//! switch reschedules the idle timers (a running job is never cancelled); the
//! agent's own status writes change none of these and reschedule nothing. A file
//! that does not parse keeps the previous schedule, and the error is shown by
//! `/cron` and `ductor cron list`.

pub mod folder;
mod run;
pub use run::Ended;
pub mod schedule;
pub mod store;
#[cfg(test)]
mod tests;

use crate::address::{Address, Directory};
use crate::config::LiveConfig;
use crate::paths::AgentPaths;
use crate::provider::models::ModelCatalogue;
use crate::session::Conversations;
use crate::session::outbox::OutboxTx;
use chrono::{DateTime, Utc};
use schedule::{Schedule, resolve_zone};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use store::{CronFile, Job};
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The wall clock (tests drive it from tokio's paused clock).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// What the cron service is built from.
#[derive(Clone)]
pub struct CronParts {
    /// The agent's paths.
    pub paths: AgentPaths,
    /// The agent's config.
    pub config: LiveConfig,
    /// Where the runs go.
    pub conversations: Conversations,
    /// Where results go.
    pub outbox: OutboxTx,
    /// Which chats the agent serves.
    pub directory: Arc<dyn Directory>,
    /// Models per provider (overrides are checked against it).
    pub catalogue: Arc<ModelCatalogue>,
    /// The wall clock.
    pub clock: Clock,
}

impl std::fmt::Debug for CronParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CronParts").finish_non_exhaustive()
    }
}

/// How a run was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// Its schedule (quiet hours apply).
    Schedule,
    /// "Run now" (from `/cron` or `ductor cron run`).
    Manual,
    /// The latest slot missed while ductor was down (`catch_up: "once"`).
    CatchUp,
}

/// A job as `/cron` and `ductor cron list` show it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobInfo {
    /// The job.
    pub job: Job,
    /// Its zone's name.
    pub zone: String,
    /// Next run, in the job's zone (`None`: disabled or invalid).
    pub next_run: Option<DateTime<chrono_tz::Tz>>,
    /// What is wrong with its schedule or zone.
    pub problem: Option<String>,
    /// It is running now.
    pub running: bool,
}

impl JobInfo {
    /// What `job` looks like at `now`: its zone, next run and problems
    /// (`running` is left false).
    pub fn of(job: Job, user_timezone: &str, now: DateTime<Utc>) -> Self {
        let zone = resolve_zone(job.timezone.as_deref(), user_timezone);
        let mut problems: Vec<String> = zone
            .invalid
            .iter()
            .map(|z| format!("`{z}` is not a time zone (using {})", zone.tz))
            .collect();
        let next_run = match Schedule::parse(&job.schedule) {
            Ok(s) if job.enabled => s
                .next_after(zone.tz, now)
                .map(|t| t.with_timezone(&zone.tz)),
            Ok(_) => None,
            Err(e) => {
                problems.push(e);
                None
            }
        };
        Self {
            zone: zone.tz.to_string(),
            next_run,
            problem: (!problems.is_empty()).then(|| problems.join("; ")),
            running: false,
            job,
        }
    }
}

#[derive(Default)]
struct State {
    jobs: Vec<Job>,
    load_error: Option<String>,
    timers: HashMap<String, AbortHandle>,
    /// Runs going on, by job id (a manual run may overlap a scheduled one).
    running: HashMap<String, u32>,
}

struct Inner {
    parts: CronParts,
    file: CronFile,
    state: Mutex<State>,
    deps: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    tracker: TaskTracker,
    stop: CancellationToken,
}

/// The cron jobs of one agent. Cheap to clone.
#[derive(Clone)]
pub struct Cron {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Cron {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cron").finish_non_exhaustive()
    }
}

/// The parts of a job that decide when it runs.
fn timing(job: &Job) -> (String, String, bool, Option<String>) {
    (
        job.id.clone(),
        job.schedule.clone(),
        job.enabled,
        job.timezone.clone(),
    )
}

impl Cron {
    /// Loads the jobs and starts their timers, the file watcher, the receipt handler
    /// and the retry sweep. Inside a tokio runtime.
    pub fn start(parts: CronParts) -> Self {
        let file = CronFile::new(&parts.paths.cron_jobs_file());
        let receipts = parts.outbox.subscribe("cron:");
        let cron = Self {
            inner: Arc::new(Inner {
                parts,
                file,
                state: Mutex::default(),
                deps: Mutex::default(),
                tracker: TaskTracker::new(),
                stop: CancellationToken::new(),
            }),
        };
        cron.reload(true);
        cron.catch_up();
        cron.watch();
        cron.handle_receipts(receipts);
        cron.sweep_retries();
        cron
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn now(&self) -> DateTime<Utc> {
        (self.inner.parts.clock)()
    }

    /// The clock the jobs follow.
    #[cfg(test)]
    pub fn now_for_tests(&self) -> Clock {
        self.inner.parts.clock.clone()
    }

    /// Whether a run of job `id` is going on.
    fn is_running(&self, id: &str) -> bool {
        self.state().running.get(id).is_some_and(|n| *n > 0)
    }

    /// The job `id` as last read.
    pub fn job(&self, id: &str) -> Option<Job> {
        self.state().jobs.iter().find(|j| j.id == id).cloned()
    }

    /// Why `cron_jobs.json` could not be read the last time (the previous jobs stay).
    pub fn load_error(&self) -> Option<String> {
        self.state().load_error.clone()
    }

    /// Reads the file again; reschedules when a job's timing changed (or `force`).
    pub fn reload(&self, force: bool) {
        let read = self.inner.file.read();
        let mut state = self.state();
        match read {
            Ok(file) => {
                let jobs = store::jobs(&file);
                let changed = force
                    || jobs.iter().map(timing).collect::<Vec<_>>()
                        != state.jobs.iter().map(timing).collect::<Vec<_>>();
                state.jobs = jobs;
                state.load_error = None;
                if changed {
                    drop(state);
                    self.reschedule();
                }
            }
            Err(e) => {
                if state.load_error.as_deref() != Some(e.as_str()) {
                    tracing::error!(error = %e, "cron_jobs.json cannot be read; keeping the previous schedule");
                }
                state.load_error = Some(e);
            }
        }
    }

    /// Replaces every idle timer (running jobs go on).
    fn reschedule(&self) {
        let mut state = self.state();
        for (_, timer) in state.timers.drain() {
            timer.abort();
        }
        let ids: Vec<String> = state
            .jobs
            .iter()
            .filter(|j| j.enabled)
            .map(|j| j.id.clone())
            .collect();
        for id in ids {
            let cron = self.clone();
            let key = id.clone();
            let handle = self
                .inner
                .tracker
                .spawn(async move { cron.timer(&key).await });
            state.timers.insert(id, handle.abort_handle());
        }
    }

    /// The zone and schedule of `job`, or what is wrong with them.
    fn when(&self, job: &Job) -> (schedule::Zone, Result<Schedule, String>) {
        let config = self.inner.parts.config.get();
        let zone = resolve_zone(job.timezone.as_deref(), &config.user_timezone);
        (zone, Schedule::parse(&job.schedule))
    }

    async fn timer(&self, id: &str) {
        loop {
            let Some(job) = self.job(id).filter(|j| j.enabled) else {
                return;
            };
            let (zone, sched) = self.when(&job);
            let Ok(sched) = sched else {
                return;
            };
            let Some(at) = sched.next_after(zone.tz, self.now()) else {
                return;
            };
            self.sleep_until(at).await;
            let cron = self.clone();
            let key = id.to_owned();
            // The run is its own task: a reschedule aborts this timer, never the run.
            let run = self
                .inner
                .tracker
                .spawn(async move { cron.execute(&key, Trigger::Schedule).await });
            let _ = run.await;
        }
    }

    /// Sleeps until the wall clock reaches `at`. A wall clock that is still more than
    /// 30 s early after the sleep (it was set back) is waited for again, five times
    /// at most.
    async fn sleep_until(&self, at: DateTime<Utc>) {
        for attempt in 0..6 {
            let left = (at - self.now()).to_std().unwrap_or_default();
            if left.is_zero() || (attempt > 0 && left <= Duration::from_secs(30)) {
                return;
            }
            tokio::time::sleep(left).await;
        }
    }

    /// Runs, once, the latest slot missed while ductor was down of jobs with
    /// `catch_up: "once"`.
    fn catch_up(&self) {
        let now = self.now();
        let jobs = self.state().jobs.clone();
        for job in jobs.into_iter().filter(|j| j.enabled && j.catch_up_once) {
            let (zone, Ok(sched)) = self.when(&job) else {
                continue;
            };
            let Some(slot) = sched.last_at_or_before(zone.tz, now) else {
                continue;
            };
            let last = job
                .last_run_at
                .as_deref()
                .and_then(crate::session::freshness::parse_time);
            if last.is_none_or(|l| l < slot) {
                tracing::info!(job = %job.id, %slot, "running a slot missed while ductor was down");
                let cron = self.clone();
                self.inner
                    .tracker
                    .spawn(async move { cron.execute(&job.id, Trigger::CatchUp).await });
            }
        }
    }

    fn watch(&self) {
        let path = self.inner.file.path().to_owned();
        let Some(dir) = path.parent().map(std::path::Path::to_path_buf) else {
            return;
        };
        let (watcher, mut changes) =
            crate::watch::watch_files(&dir, &["cron_jobs.json"], Duration::from_millis(300));
        let cron = self.clone();
        let stop = self.inner.stop.clone();
        self.inner.tracker.spawn(async move {
            let _watcher = watcher;
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    changed = changes.recv() => {
                        if changed.is_none() {
                            return;
                        }
                        cron.reload(false);
                    }
                }
            }
        });
    }

    /// Every job with its next run and problems, in file order.
    pub fn list(&self) -> Vec<JobInfo> {
        let jobs = self.state().jobs.clone();
        let (now, user_tz) = (
            self.now(),
            self.inner.parts.config.get().user_timezone.clone(),
        );
        jobs.into_iter()
            .map(|job| {
                let mut info = JobInfo::of(job, &user_tz, now);
                info.running = self.is_running(&info.job.id);
                info
            })
            .collect()
    }

    /// Switches job `id` on or off (written to the file, then rescheduled).
    pub fn set_enabled(&self, id: &str, enabled: bool) -> Result<bool, String> {
        let mut fields = serde_json::Map::new();
        fields.insert("enabled".into(), enabled.into());
        let found = self.inner.file.set_fields(id, fields)?;
        self.reload(false);
        Ok(found)
    }

    /// Starts job `id` now (quiet hours do not apply); false when there is no such job.
    pub fn run_now(&self, id: &str) -> bool {
        if self.job(id).is_none() {
            return false;
        }
        let cron = self.clone();
        let key = id.to_owned();
        self.inner
            .tracker
            .spawn(async move { cron.execute(&key, Trigger::Manual).await });
        true
    }

    /// The address a job's run and result belong to (its chat, else the primary one).
    fn address_of(&self, job: &Job) -> Option<Address> {
        match job.chat_id {
            Some(chat) => Some(Address::new(
                job.transport.as_deref().unwrap_or(crate::address::TELEGRAM),
                chat,
                job.topic_id,
            )),
            None => self.inner.parts.directory.primary(),
        }
    }

    /// Stops the timers and waits (at most `limit`) for running jobs; the pipeline's
    /// shutdown stops their CLIs.
    pub async fn shutdown(&self, limit: Duration) {
        self.inner.stop.cancel();
        for (_, timer) in self.state().timers.drain() {
            timer.abort();
        }
        self.inner.tracker.close();
        let _ = tokio::time::timeout(limit, self.inner.tracker.wait()).await;
    }
}
