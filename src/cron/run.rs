//! One run of a job: quiet hours, the optional preflight script, overrides, the
//! dependency queue, the one-shot CLI run in the task folder, delivery, status.

use super::store::Job;
use super::{Cron, Trigger};
use crate::address::Destination;
use crate::exec::TimeoutKind;
use crate::provider::event::{FailureKind, Outcome};
use crate::session::outbox::{Outgoing, Receipt};
use crate::session::{Job as RunJob, Lane, Plan, Ran};
use serde_json::{Map, Value, json};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::sync::mpsc;

/// How a one-shot run ended: the status written to the file and the text for the chat.
#[derive(Debug, Clone, PartialEq)]
pub struct Ended {
    /// `success`, `error:timeout`, `error:exit_<code>`, …
    pub status: String,
    /// The answer, or a bracketed sentence saying why there is none.
    pub text: String,
}

impl Ended {
    fn new(status: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            status: status.into(),
            text: text.into(),
        }
    }
}

/// The exit code named by a crash detail (`… exited with code 3 …`).
fn exit_code(detail: &str) -> Option<i32> {
    let rest = detail.split("exited with code ").nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit() && c != '-')
        .next()?
        .parse()
        .ok()
}

/// The status and text of a finished run.
pub(crate) fn ended(outcome: &Outcome, provider: &str, timeout_secs: f64) -> Ended {
    match outcome {
        Outcome::Completed { text, .. } => Ended::new("success", text.trim()),
        Outcome::Failed { kind, detail, .. } => match kind {
            FailureKind::Timeout => Ended::new(
                "error:timeout",
                format!(
                    "[Cron job timed out after {}s]",
                    timeout_secs.round() as u64
                ),
            ),
            FailureKind::CliMissing => Ended::new(
                format!("error:cli_not_found_{provider}"),
                format!("[{provider} CLI not found]"),
            ),
            FailureKind::Cancelled => Ended::new("error:cancelled", "[Cron job stopped]"),
            other => {
                let status = exit_code(detail).map_or_else(
                    || format!("error:{}", crate::provider::runner::kind_name(*other)),
                    |c| format!("error:exit_{c}"),
                );
                Ended::new(status, format!("[Cron job failed: {}]", detail.trim()))
            }
        },
    }
}

impl Cron {
    /// Runs job `id` to its end and books it.
    pub(super) async fn execute(&self, id: &str, trigger: Trigger) {
        let Some(job) = self.job(id) else {
            return;
        };
        if trigger != Trigger::Manual && !job.enabled {
            return;
        }
        if trigger == Trigger::Schedule
            && let Some((start, end)) = job.overrides.quiet()
        {
            let config = self.inner.parts.config.get();
            let tz = crate::session::freshness::user_tz(&config);
            let hour = chrono::Timelike::hour(&self.now().with_timezone(&tz));
            if super::schedule::in_quiet_hours(hour, start, end) {
                tracing::debug!(job = %id, hour, "quiet hours; skipped");
                return;
            }
        }
        let started = self.now();
        let end = {
            let _running = Running::start(self, id);
            self.run_job(&job).await
        };
        let skipped = end.status == "success:preflight"
            || end.status == "error:folder_missing"
            || (end.status == "success" && job.silent_on_success);
        let text = report_text(&job, &end.text);
        // Booked before the result leaves, so its receipt always finds the run; the
        // text stays in the file until the chat took it (also across a restart).
        let mut fields = Map::new();
        fields.insert(
            "last_run_at".into(),
            crate::session::freshness::format_time(started).into(),
        );
        fields.insert("last_run_status".into(), end.status.clone().into());
        let delivery = if skipped { "skipped" } else { "pending" };
        fields.insert("last_delivery_status".into(), delivery.into());
        for key in [
            "last_delivery_error",
            "delivery_retry_attempts",
            "next_delivery_retry_at",
        ] {
            fields.insert(key.into(), Value::Null);
        }
        fields.insert(
            "last_result_text".into(),
            if skipped {
                Value::Null
            } else {
                text.clone().into()
            },
        );
        self.write(id, fields);
        if !skipped && !self.send_report(&job, text) {
            let mut failed = Map::new();
            failed.insert("last_delivery_status".into(), "failed".into());
            self.write(id, failed);
        }
        tracing::info!(job = %id, status = %end.status, delivery, "cron job ran");
    }

    /// Sets `fields` on job `id` and takes the file in again.
    fn write(&self, id: &str, fields: Map<String, Value>) {
        match self.inner.file.set_fields(id, fields) {
            Ok(true) => {}
            Ok(false) => tracing::warn!(job = %id, "the job was removed; its run is not booked"),
            Err(e) => tracing::error!(job = %id, error = %e, "cannot book the job"),
        }
        self.reload(false);
    }

    /// Everything before delivery: folder, preflight, overrides, queue, the CLI.
    async fn run_job(&self, job: &Job) -> Ended {
        let paths = &self.inner.parts.paths;
        let folder = paths.cron_tasks_dir().join(&job.task_folder);
        if job.task_folder.contains('/') || job.task_folder.contains("..") || !folder.is_dir() {
            return Ended::new(
                "error:folder_missing",
                format!("[task folder {} is missing]", job.task_folder),
            );
        }
        if self.preflight_says_skip(&folder).await {
            return Ended::new("success:preflight", String::new());
        }
        let Some(address) = self.address_of(job) else {
            return Ended::new("error:no_chat", "[no chat to run the job for]");
        };
        let key = format!("cron:{}", job.id);
        self.run_oneshot(&key, folder, &job.overrides, instruction(job), &address)
            .await
    }

    /// Runs `prompt` once in a new CLI session in `folder`, as lane `key` at
    /// `address`, with `overrides` (provider/model/effort, CLI arguments, the
    /// dependency queue). Cron jobs and webhook `cron_task` hooks run this way.
    pub async fn run_oneshot(
        &self,
        key: &str,
        folder: std::path::PathBuf,
        overrides: &crate::state::fields::RunOverrides,
        prompt: String,
        address: &crate::address::Address,
    ) -> Ended {
        let config = self.inner.parts.config.get();
        let target = match crate::tasks::resolve_target(
            &self.inner.parts.catalogue,
            &config,
            overrides.provider.as_deref(),
            overrides.model.as_deref(),
            overrides.reasoning_effort.as_deref(),
        ) {
            Ok(t) => t,
            Err(e) => return Ended::new("error:bad_override", format!("[{e}]")),
        };
        let provider = target.provider.to_string();
        self.inner.parts.conversations.engine().oneshot().prepare(
            key,
            Plan {
                target,
                resume: None,
                cwd: folder,
                preamble: false,
                task_id: None,
                extra_args: overrides.cli_parameters.clone(),
            },
        );
        let queue = overrides.dependency.as_deref().map(|d| self.dependency(d));
        let _turn = match &queue {
            Some(q) => Some(q.lock().await),
            None => None,
        };
        let run = RunJob {
            lane: Lane::Oneshot(key.to_owned()),
            prompt,
            timeout: TimeoutKind::Automation,
            cancel: None,
            purpose: crate::session::Purpose::Turn,
        };
        match self
            .inner
            .parts
            .conversations
            .run(address, run, |_| {})
            .await
        {
            Ran::Finished(f) => ended(&f.outcome, &provider, config.cli_timeout),
            Ran::Dropped => Ended::new("error:cancelled", "[Cron job stopped]"),
            Ran::CutOff => Ended::new("error:interrupted", "[Cron job cut off by a shutdown]"),
        }
    }

    /// The FIFO queue of dependency `name`.
    fn dependency(&self, name: &str) -> std::sync::Arc<tokio::sync::Mutex<()>> {
        self.inner
            .deps
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(name.to_owned())
            .or_default()
            .clone()
    }

    /// Runs `scripts/preflight.py` when `cron_preflight.enabled`: true when it exits 0
    /// and its last line is the skip marker. Anything else (also a timeout) runs the job.
    async fn preflight_says_skip(&self, folder: &Path) -> bool {
        let config = self.inner.parts.config.get();
        let p = &config.cron_preflight;
        if !p["enabled"].as_bool().unwrap_or(false) {
            return false;
        }
        let script = folder.join("scripts/preflight.py");
        if !script.is_file() {
            return false;
        }
        let secs = p["timeout_seconds"]
            .as_f64()
            .filter(|s| *s > 0.0)
            .unwrap_or(15.0);
        let marker = p["skip_marker"]
            .as_str()
            .unwrap_or("HEARTBEAT_OK")
            .to_owned();
        let mut cmd = tokio::process::Command::new("python3");
        cmd.arg(&script)
            .current_dir(folder)
            .env("DUCTOR_HOME", self.inner.parts.paths.home().root())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let Ok(child) = cmd.spawn() else {
            tracing::warn!(script = %script.display(), "cannot start the preflight script; running the job");
            return false;
        };
        let Some(done) =
            crate::procs::finish_within(child, Duration::from_secs_f64(secs), 64 * 1024).await
        else {
            tracing::warn!(secs, "preflight timed out; running the job");
            return false;
        };
        let stdout = String::from_utf8_lossy(&done.stdout);
        let last = stdout.lines().rev().find(|l| !l.trim().is_empty());
        done.status.is_ok_and(|s| s.success()) && last.map(str::trim) == Some(marker.as_str())
    }

    /// Hands a result to the outbox, to the job's chat or else the primary chat.
    fn send_report(&self, job: &Job, text: String) -> bool {
        let to = job
            .chat_id
            .and_then(|_| self.address_of(job))
            .map_or(Destination::Primary, Destination::Chat);
        let item = Outgoing::Report {
            to,
            text,
            receipt: format!("cron:{}", job.id),
        };
        self.inner.parts.outbox.send(item).is_ok()
    }

    /// Books receipts: a refused result goes to the primary chat and is kept for
    /// the retry sweep.
    pub(super) fn handle_receipts(&self, mut receipts: mpsc::UnboundedReceiver<Receipt>) {
        let cron = self.clone();
        let stop = self.inner.stop.clone();
        self.inner.tracker.spawn(async move {
            loop {
                let receipt = tokio::select! {
                    () = stop.cancelled() => return,
                    r = receipts.recv() => match r { Some(r) => r, None => return },
                };
                cron.booked(&receipt);
            }
        });
    }

    fn booked(&self, receipt: &Receipt) {
        let Some(id) = receipt.key.strip_prefix("cron:") else {
            return;
        };
        let mut fields = Map::new();
        if receipt.delivered {
            fields.insert("last_delivery_status".into(), "ok".into());
            fields.insert("last_result_text".into(), Value::Null);
            fields.insert("next_delivery_retry_at".into(), Value::Null);
        } else {
            fields.insert("last_delivery_status".into(), "failed".into());
            fields.insert(
                "last_delivery_error".into(),
                "the chat refused the message".into(),
            );
            // Told once, on the first refusal, and only when the chat was not the
            // primary one already.
            if let Some(job) = self.job(id)
                && job.delivery_retry_attempts == 0
                && job.chat_id.is_some()
            {
                self.fallback(&job, job.last_result_text.as_deref().unwrap_or_default());
            }
        }
        self.write(id, fields);
    }

    /// Tells the primary chat that a result could not reach its chat.
    fn fallback(&self, job: &Job, text: &str) {
        let place = match (job.chat_id, job.topic_id) {
            (Some(c), Some(t)) => format!("chat {c} / topic {t}"),
            (Some(c), None) => format!("chat {c}"),
            _ => "its chat".to_owned(),
        };
        let notice = format!(
            "**Cron delivery failed**\nTask **{}** could not be delivered to {place}.\n\n---\n{text}",
            job.title
        );
        let _ = self.inner.parts.outbox.send(Outgoing::Notice {
            to: Destination::Primary,
            text: notice,
        });
    }

    /// Every `cron_delivery_retry.interval_seconds`, posts kept results of jobs that
    /// are not running again (never re-running the job), `max_attempts` times at most.
    pub(super) fn sweep_retries(&self) {
        let cron = self.clone();
        let stop = self.inner.stop.clone();
        self.inner.tracker.spawn(async move {
            loop {
                let c = cron.inner.parts.config.get().cron_delivery_retry.clone();
                let every = c["interval_seconds"]
                    .as_u64()
                    .filter(|s| *s > 0)
                    .unwrap_or(300);
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_secs(every)) => {}
                }
                if c["enabled"].as_bool().unwrap_or(false) {
                    let max = c["max_attempts"].as_u64().unwrap_or(12);
                    cron.retry_failed(u32::try_from(max).unwrap_or(u32::MAX), every);
                }
            }
        });
    }

    fn retry_failed(&self, max: u32, every: u64) {
        let jobs = self.state().jobs.clone();
        let mut wrote = false;
        for job in jobs {
            let Some(text) = job.last_result_text.clone() else {
                continue;
            };
            if job.last_delivery_status.as_deref() != Some("failed")
                || job.delivery_retry_attempts >= max
                || self.is_running(&job.id)
                || job.chat_id.is_none()
            {
                continue;
            }
            let Some(address) = self.address_of(&job) else {
                continue;
            };
            let next = self.now() + chrono::Duration::seconds(i64::try_from(every).unwrap_or(300));
            let mut fields = Map::new();
            fields.insert(
                "delivery_retry_attempts".into(),
                json!(job.delivery_retry_attempts + 1),
            );
            fields.insert(
                "next_delivery_retry_at".into(),
                crate::session::freshness::format_time(next).into(),
            );
            fields.insert("last_delivery_status".into(), "pending".into());
            if self.inner.file.set_fields(&job.id, fields).is_err() {
                continue;
            }
            wrote = true;
            let _ = self.inner.parts.outbox.send(Outgoing::Report {
                to: Destination::Chat(address),
                text,
                receipt: format!("cron:{}", job.id),
            });
        }
        if wrote {
            self.reload(false);
        }
    }
}

/// Counts a run of a job while it goes on.
struct Running<'a> {
    cron: &'a Cron,
    id: String,
}

impl<'a> Running<'a> {
    fn start(cron: &'a Cron, id: &str) -> Self {
        *cron.state().running.entry(id.to_owned()).or_default() += 1;
        Self {
            cron,
            id: id.to_owned(),
        }
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let mut state = self.cron.state();
        if let Some(n) = state.running.get_mut(&self.id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                state.running.remove(&self.id);
            }
        }
    }
}

/// The prompt of a run: the job's instruction and what to do with its memory file.
fn instruction(job: &Job) -> String {
    format!(
        "{}\n\nBefore you finish: read {folder}_MEMORY.md in this folder (create it if it is \
         missing) and add the date, the time and what you did this run. Your final answer is \
         delivered to the user automatically: reply only with what the user should read, no \
         confirmation that something was sent.",
        job.instruction,
        folder = job.task_folder
    )
}

/// The chat text of a result.
fn report_text(job: &Job, text: &str) -> String {
    let body = if text.trim().is_empty() {
        "(no answer)"
    } else {
        text
    };
    format!("**⏰ {}**\n\n{body}", job.title)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(kind: FailureKind, detail: &str) -> Outcome {
        Outcome::Failed {
            kind,
            detail: detail.into(),
            session_id: None,
        }
    }

    #[test]
    fn statuses_follow_the_originals_words() {
        let ok = Outcome::Completed {
            text: " done ".into(),
            session_id: None,
            usage: crate::provider::event::Usage::default(),
            permission_denials: Vec::new(),
        };
        assert_eq!(ended(&ok, "claude", 1800.0), Ended::new("success", "done"));
        assert_eq!(
            ended(&failed(FailureKind::Timeout, ""), "claude", 1800.0),
            Ended::new("error:timeout", "[Cron job timed out after 1800s]")
        );
        assert_eq!(
            ended(&failed(FailureKind::CliMissing, "x"), "codex", 1.0).status,
            "error:cli_not_found_codex"
        );
        assert_eq!(
            ended(
                &failed(
                    FailureKind::Crashed,
                    "gemini exited with code 42 without a final result"
                ),
                "gemini",
                1.0
            )
            .status,
            "error:exit_42"
        );
        assert_eq!(
            ended(&failed(FailureKind::AuthExpired, "401"), "claude", 1.0).status,
            "error:auth_expired"
        );
    }
}
