//! One task's runs: each is a non-streaming CLI turn on the parent agent's config
//! (label `task:<id>`, so `stop_all` reaches it; timeout `tasks.timeout_seconds`;
//! `DUCTOR_TASK_ID` set), in the agent workspace. When a run ends the outcome is
//! classified under the hub's lock — an answer that arrived meanwhile starts the
//! next run at once — and the ending is delivered to the parent chat.

use super::delivery::{self, Ending};
use super::{Status, TaskHub, folder, prompt, registry};
use crate::agent::cli_run::{self, TimeoutKind};
use crate::provider::ProviderKind;
use crate::provider::event::{Event, FailureKind, Outcome};
use crate::session::TurnEnv;
use crate::session::background::{self, BackgroundSpec};
use crate::session::store::Target;
use crate::state::tasks::TaskRecord;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// What to do after a run.
enum Step {
    /// Run again in the same session with this prompt.
    Continue(String),
    /// The task stops here; deliver `ending` (if any) for `rec`.
    End {
        rec: Option<Box<TaskRecord>>,
        ending: Option<Ending>,
    },
}

fn target_of(rec: &TaskRecord, env: &TurnEnv) -> Target {
    let default = env.default_target(&env.config());
    Target {
        provider: rec
            .provider
            .parse::<ProviderKind>()
            .unwrap_or(default.provider),
        model: rec.model.clone(),
        effort: Some(rec.reasoning_effort.clone()).filter(|e| !e.is_empty()),
    }
}

/// A failure's reason as shown to the parent.
fn reason(kind: FailureKind, detail: &str, timeout_secs: f64) -> String {
    match kind {
        FailureKind::Timeout => format!("Timeout after {}s", timeout_secs.round() as u64),
        _ if detail.trim().is_empty() => "CLI error".to_owned(),
        _ => folder::clip(detail.trim(), 500),
    }
}

impl TaskHub {
    /// Runs task `id` in the background, starting with `prompt`.
    pub(super) fn spawn(
        &self,
        env: Arc<TurnEnv>,
        id: String,
        prompt: String,
        resume: Option<String>,
        cancel: CancellationToken,
        ended: watch::Sender<bool>,
    ) {
        let hub = self.clone();
        self.inner.tracker.spawn(async move {
            hub.drive(&env, &id, prompt, resume, &cancel).await;
            ended.send_replace(true);
        });
    }

    async fn drive(
        &self,
        env: &Arc<TurnEnv>,
        id: &str,
        mut prompt: String,
        mut resume: Option<String>,
        cancel: &CancellationToken,
    ) {
        loop {
            let Some(rec) = self.inner.registry.get(id) else {
                self.active().remove(id);
                return;
            };
            let config = env.config();
            let mut identity = cli_run::identity(&config, &env.paths, rec.chat_id, rec.thread_id);
            identity.task_id = Some(id.to_owned());
            let spec = BackgroundSpec {
                label: format!("task:{id}"),
                target: target_of(&rec, env),
                prompt: std::mem::take(&mut prompt),
                resume: resume.take(),
                append_system_prompt: None,
                identity,
                timeout: TimeoutKind::Task,
                cwd: None,
            };
            let started = Instant::now();
            let mut tools = 0u32;
            let registry = &self.inner.registry;
            let outcome = background::run(env, spec, cancel.clone(), |ev| match ev {
                Event::SessionStarted { session_id } => {
                    registry.update(id, |r| r.session_id.clone_from(session_id));
                }
                Event::ToolStarted { .. } => tools += 1,
                _ => {}
            })
            .await;
            let run_secs = started.elapsed().as_secs_f64();
            match self.after_run(env, id, &outcome, run_secs, tools + 1) {
                Step::Continue(next) => {
                    let memory = folder::memory_path(&self.inner.tasks_dir, id);
                    prompt = prompt::resume_prompt(&next, &memory);
                    resume = self
                        .inner
                        .registry
                        .get(id)
                        .map(|r| r.session_id)
                        .filter(|s| !s.is_empty());
                    tracing::info!(task = %id, "task continues with the parent's answer");
                }
                Step::End { rec, ending } => {
                    if let (Some(rec), Some(ending)) = (rec, ending) {
                        delivery::ending(env, &self.inner.tasks_dir, &rec, &ending, run_secs);
                    }
                    return;
                }
            }
        }
    }

    /// Books the run and decides, under the hub's lock, how the task goes on.
    fn after_run(
        &self,
        env: &TurnEnv,
        id: &str,
        outcome: &Outcome,
        run_secs: f64,
        turns: u32,
    ) -> Step {
        let registry = &self.inner.registry;
        let timeout = env.config().tasks.timeout_seconds;
        let mut active = self.active();
        let session = outcome.session_id().map(str::to_owned);
        let has_session = registry
            .update(id, |r| {
                r.num_turns += turns;
                r.elapsed_seconds += run_secs;
                if let Some(s) = &session {
                    r.session_id.clone_from(s);
                }
                !r.session_id.is_empty()
            })
            .unwrap_or(false);
        let stopping = self.inner.stop.is_cancelled() || env.shutting_down();
        let cancelled = matches!(
            outcome,
            Outcome::Failed {
                kind: FailureKind::Cancelled,
                ..
            }
        );
        let entry = active.get_mut(id);
        let asked = entry.as_ref().is_some_and(|a| a.asked);
        if let Some(a) = entry
            && !cancelled
            && !stopping
            && has_session
            && let Some(next) = a.follow_up.take()
        {
            a.asked = false;
            return Step::Continue(next);
        }
        active.remove(id);
        let (status, ending, result) = match outcome {
            Outcome::Completed { text, .. } if asked => (Status::Waiting, None, Some(text)),
            Outcome::Completed { text, .. } => (
                Status::Done,
                Some(Ending::Done {
                    result: text.clone(),
                }),
                Some(text),
            ),
            // Cut off by shutdown: stays `running`, the next start reports it.
            Outcome::Failed { .. } if cancelled && stopping => (Status::Running, None, None),
            Outcome::Failed { .. } if cancelled => {
                (Status::Cancelled, Some(Ending::Cancelled), None)
            }
            Outcome::Failed { kind, detail, .. } => (
                Status::Failed,
                Some(Ending::Failed {
                    reason: reason(*kind, detail, timeout),
                }),
                None,
            ),
        };
        let rec = registry.update(id, |r| {
            registry::set_status(r, status);
            if status.is_finished() {
                r.completed_at = Some(registry::now());
            }
            match &ending {
                Some(Ending::Failed { reason }) => r.error.clone_from(reason),
                _ => r.error.clear(),
            }
            if let Some(text) = result {
                r.result_preview = folder::clip(text.trim(), 200);
            }
            Box::new(r.clone())
        });
        drop(active);
        tracing::info!(task = %id, status = status.as_str(), secs = run_secs.round(), "task run ended");
        Step::End { rec, ending }
    }
}
