//! Runs that do not stream into a chat: background tasks, named-session background
//! runs and inter-agent requests. Each is registered while it runs so `stop_all`
//! can cancel it, and ends with the CLI's [`Outcome`].

use super::TurnEnv;
use super::store::Target;
use crate::agent::cli_run::{self, RunContext, TimeoutKind};
use crate::provider::command::TurnSpec;
use crate::provider::env::TurnIdentity;
use crate::provider::event::{Event, FailureKind, Outcome};
use crate::provider::runner;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// One background run.
#[derive(Debug, Clone)]
pub struct BackgroundSpec {
    /// Label for logs and for targeted cancels (`task:<id>`, `ns:<name>`, `ia:<sender>`).
    pub label: String,
    /// Provider/model/effort.
    pub target: Target,
    /// The prompt.
    pub prompt: String,
    /// Session to resume.
    pub resume: Option<String>,
    /// Extra system instructions for a new session.
    pub append_system_prompt: Option<String>,
    /// `DUCTOR_*` identity of the run.
    pub identity: TurnIdentity,
    /// Which timeout applies.
    pub timeout: TimeoutKind,
    /// Working directory (the workspace unless given).
    pub cwd: Option<PathBuf>,
}

/// Background runs in progress, by label (for `stop_all` and targeted cancels).
#[derive(Debug, Default)]
pub struct BackgroundRuns {
    next: AtomicU64,
    runs: Mutex<HashMap<u64, (String, CancellationToken)>>,
}

impl BackgroundRuns {
    fn register(&self, label: &str, token: CancellationToken) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.runs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id, (label.to_owned(), token));
        id
    }

    fn unregister(&self, id: u64) {
        self.runs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&id);
    }

    /// Cancels runs whose label satisfies `pred`; returns how many.
    pub fn cancel_where(&self, pred: impl Fn(&str) -> bool) -> u32 {
        let runs = self
            .runs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut n = 0;
        for (label, token) in runs.values() {
            if pred(label) && !token.is_cancelled() {
                token.cancel();
                n += 1;
            }
        }
        n
    }

    /// Labels of the runs in progress.
    pub fn labels(&self) -> Vec<String> {
        self.runs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .map(|(l, _)| l.clone())
            .collect()
    }
}

/// Runs `spec` to its end (non-streaming); `cancel` stops it. Events other than the
/// outcome are dropped except for `on_event`, which sees them all.
pub async fn run(
    env: &TurnEnv,
    spec: BackgroundSpec,
    cancel: CancellationToken,
    mut on_event: impl FnMut(&Event) + Send,
) -> Outcome {
    let config = env.config();
    let ctx = RunContext {
        config: &config,
        paths: &env.paths,
        cwd: spec.cwd.clone().unwrap_or_else(|| env.paths.workspace()),
        identity: spec.identity.clone(),
        timeout: spec.timeout,
    };
    let turn = TurnSpec {
        prompt: spec.prompt.clone(),
        model: Some(spec.target.model.clone()).filter(|m| !m.is_empty()),
        effort: spec.target.effort.clone(),
        resume: spec.resume.clone(),
        append_system_prompt: spec.append_system_prompt.clone(),
    };
    let request = match cli_run::build_request(&ctx, spec.target.provider, &turn) {
        Ok(r) => r,
        Err(e) => return Outcome::cannot_prepare(&e),
    };
    let id = env.background.register(&spec.label, cancel.clone());
    tracing::info!(label = %spec.label, provider = %spec.target.provider, "background run started");
    let (tx, mut rx) = mpsc::channel::<Event>(256);
    let run = tokio::spawn(runner::run(request, tx, cancel));
    while let Some(ev) = rx.recv().await {
        on_event(&ev);
    }
    let outcome = run.await.unwrap_or_else(|e| Outcome::Failed {
        kind: FailureKind::Crashed,
        detail: format!("the run task failed: {e}"),
        session_id: None,
    });
    env.background.unregister(id);
    outcome
}
