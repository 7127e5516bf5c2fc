//! One non-streaming run in a named session: wait for the session's previous run,
//! resume its CLI session (a stale one is replaced once), record the outcome in the
//! registry. Used by `/session` background runs, by inter-agent requests and by the
//! recovery of runs a restart interrupted.

use super::registry::Scope;
use crate::agent::cli_run::{self, TimeoutKind};
use crate::provider::ProviderKind;
use crate::provider::event::{Event, Outcome};
use crate::session::TurnEnv;
use crate::session::background::{self, BackgroundSpec};
use crate::session::outbox::Outgoing;
use crate::session::store::Target;
use crate::state::named_sessions::NamedSessionRecord;
use crate::state::sessions::SessionKey;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The background-run label of a session (for targeted cancels).
pub fn label(scope: Scope, name: &str) -> String {
    format!(
        "ns:{}:{}:{}",
        scope.chat_id,
        scope.topic_id.unwrap_or(0),
        name.to_ascii_lowercase()
    )
}

/// The provider/model/effort a session runs on.
pub fn target_of(record: &NamedSessionRecord) -> Target {
    Target {
        provider: record.provider.parse().unwrap_or(ProviderKind::Claude),
        model: record.model.clone(),
        effort: record.reasoning_effort.clone().filter(|e| !e.is_empty()),
    }
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// The CLI's outcome.
    pub outcome: Outcome,
    /// Wall time, including the wait for the session's previous run.
    pub elapsed: Duration,
    /// The stored session was gone and the run started a fresh one.
    pub recovered: bool,
    /// Whether it was cancelled (`/sessions` End, `stop_all`).
    pub cancelled: bool,
    /// The session the run used (provider/model for messages).
    pub record: NamedSessionRecord,
}

impl RunResult {
    /// Whether the CLI completed.
    pub fn ok(&self) -> bool {
        matches!(self.outcome, Outcome::Completed { .. })
    }

    /// The answer, or a one-line description of the failure.
    pub fn text(&self) -> String {
        match &self.outcome {
            Outcome::Completed { text, .. } => text.clone(),
            Outcome::Failed { kind, detail, .. } => {
                let detail = detail.trim();
                if detail.is_empty() {
                    format!("{kind:?}")
                } else {
                    detail.to_owned()
                }
            }
        }
    }
}

/// Runs `prompt` in session `name` of `scope`, after any run of it still going.
/// `None` when the session does not exist (any more), or when the agent is
/// shutting down (the session then stays `running` and is resumed at the next start).
pub async fn run_in_session(
    env: &TurnEnv,
    scope: Scope,
    name: &str,
    prompt: &str,
    timeout: TimeoutKind,
    cancel: CancellationToken,
) -> Option<RunResult> {
    let started = Instant::now();
    let lock = env.named.lock(scope, name);
    let _guard = tokio::select! {
        g = lock.lock() => g,
        () = cancel.cancelled() => return None,
    };
    let record = env.named.registry.get(scope, name)?;
    if !env.named.registry.begin(scope, name, prompt) {
        return None;
    }
    let target = target_of(&record);
    let resume = Some(record.session_id.clone()).filter(|s| !s.is_empty());
    let mut outcome = once(
        env,
        scope,
        name,
        prompt,
        &target,
        resume.clone(),
        timeout,
        &cancel,
    )
    .await;
    let stale = outcome.is_stale_session();
    let recovered = stale && resume.is_some() && !cancel.is_cancelled();
    if recovered {
        tracing::warn!(
            session = name,
            "named session is gone; starting a new one and retrying once"
        );
        env.named.registry.reset_session(scope, name, &target);
        outcome = once(env, scope, name, prompt, &target, None, timeout, &cancel).await;
    }
    if env.shutting_down() {
        return None;
    }
    let ok = matches!(outcome, Outcome::Completed { .. });
    env.named
        .registry
        .finish(scope, name, outcome.session_id(), ok);
    Some(RunResult {
        elapsed: started.elapsed(),
        recovered,
        cancelled: cancel.is_cancelled(),
        record,
        outcome,
    })
}

#[allow(clippy::too_many_arguments)]
async fn once(
    env: &TurnEnv,
    scope: Scope,
    name: &str,
    prompt: &str,
    target: &Target,
    resume: Option<String>,
    timeout: TimeoutKind,
    cancel: &CancellationToken,
) -> Outcome {
    let config = env.config();
    let workspace = env.paths.workspace();
    let append = if resume.is_none() {
        let roster = env.roster().await;
        crate::session::prompt::new_session_preamble(&config, &env.paths, &roster, &workspace)
    } else {
        None
    };
    let spec = BackgroundSpec {
        label: label(scope, name),
        target: target.clone(),
        prompt: prompt.to_owned(),
        resume,
        append_system_prompt: append,
        identity: cli_run::identity(&config, &env.paths, scope.chat_id, scope.topic_id),
        timeout,
        cwd: None,
    };
    let registry = env.named.registry.clone();
    background::run(env, spec, cancel.clone(), move |ev| {
        if let Event::SessionStarted { session_id } = ev {
            registry.set_session_id(scope, name, session_id);
        }
    })
    .await
}

/// The result message of a background run (Markdown): status heading, then the answer.
pub fn result_markdown(env: &TurnEnv, name: &str, r: &RunResult, prompt: &str) -> String {
    let text = crate::i18n::catalog(&env.config().language);
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
        format!("_{}_", preview.replace('_', "\\_").trim())
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

/// Starts a background run of session `name`; its result is posted in the
/// conversation, replying to `reply_to`, with the agent's buttons routed back to
/// the session (`ns:<name>:<label>`).
pub fn spawn_background(
    env: Arc<TurnEnv>,
    slot: super::BackgroundSlot,
    scope: Scope,
    name: String,
    prompt: String,
    reply_to: Option<i64>,
) {
    tokio::spawn(async move {
        let _slot = slot;
        let cancel = CancellationToken::new();
        let Some(r) =
            run_in_session(&env, scope, &name, &prompt, TimeoutKind::Background, cancel).await
        else {
            return;
        };
        let text = result_markdown(&env, &name, &r, &prompt);
        let _ = env.outbox.send(Outgoing::Post {
            key: SessionKey::telegram(scope.chat_id, scope.topic_id),
            text,
            reply_to,
            button_prefix: Some(format!("ns:{name}:")),
        });
    });
}

/// Runs the last prompt of every user session a restart interrupted again (§1.8);
/// inter-agent sessions just become idle (their asker is gone).
pub fn resume_interrupted(env: &Arc<TurnEnv>) {
    let text = crate::i18n::catalog(&env.config().language);
    for record in env.named.take_interrupted() {
        if super::registry::is_interagent(&record.name) || record.last_prompt.trim().is_empty() {
            continue;
        }
        let Some(slot) = super::NamedSessions::background_slot(env, record.chat_id) else {
            tracing::warn!(session = %record.name, "too many background runs; not resuming");
            continue;
        };
        let scope = Scope {
            chat_id: record.chat_id,
            topic_id: record.topic_id,
        };
        tracing::info!(session = %record.name, "resuming a named session interrupted by a restart");
        let _ = env.outbox.send(Outgoing::Notice {
            key: SessionKey::telegram(scope.chat_id, scope.topic_id),
            text: text.f("named.resuming_md", &[("name", &record.name)]),
        });
        spawn_background(
            env.clone(),
            slot,
            scope,
            record.name.clone(),
            record.last_prompt.clone(),
            None,
        );
    }
}
