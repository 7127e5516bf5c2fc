//! One foreground turn inside a session actor: resolve the session, run the CLI,
//! stream its events to the transport, record the outcome, recover a stale session
//! once (§5.8). Transport-neutral: everything the user sees goes out as
//! [`TurnUpdate`]s.

use super::freshness::Staleness;
use super::store::Target;
use super::{TurnEnv, TurnRequest, TurnUpdate};
use crate::agent::cli_run::{self, RunContext, TimeoutKind};
use crate::provider::command::TurnSpec;
use crate::provider::event::{Event, FailureKind, Outcome};
use crate::provider::runner;
use crate::state::inflight::InflightTurn;
use crate::state::sessions::SessionKey;
use chrono::Utc;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How a finished turn ended, for the transport.
#[derive(Debug, Clone)]
pub struct TurnFinish {
    /// The outcome of the (last) run.
    pub outcome: Outcome,
    /// Provider/model the turn ran on.
    pub target: Target,
    /// Whether the user stopped it (`/stop`, `/interrupt`).
    pub cancelled: bool,
}

fn preview(prompt: &str) -> String {
    prompt.chars().take(100).collect()
}

/// Runs `req` for `key` to its end.
pub async fn run_turn(
    env: Arc<TurnEnv>,
    key: SessionKey,
    req: TurnRequest,
    cancel: CancellationToken,
) {
    let updates = req.updates.clone();
    let config = env.config();
    let default = env.default_target(&config);
    let resolved = env.sessions.resolve(
        &key,
        &default,
        req.target_override.as_ref(),
        &config,
        Utc::now(),
    );
    if resolved.staleness == Staleness::Idle || resolved.staleness == Staleness::DailyReset {
        tracing::info!(%key, ?resolved.staleness, "conversation starts over");
    }
    let _ = updates
        .send(TurnUpdate::Started {
            target: resolved.target.clone(),
            resume: resolved.resume.clone(),
        })
        .await;
    env.inflight.begin(
        &key,
        InflightTurn {
            chat_id: key.chat_id,
            topic_id: key.topic_id,
            transport: key.transport.clone(),
            provider: resolved.target.provider.to_string(),
            model: resolved.target.model.clone(),
            session_id: resolved.resume.clone().unwrap_or_default(),
            prompt_preview: preview(&req.prompt),
            prompt: req.prompt.clone(),
            message_id: req.reply_to,
            started_at: super::freshness::format_time(Utc::now()),
            is_recovery: req.is_recovery,
            path: "normal".into(),
            extra: serde_json::Map::new(),
        },
    );
    let mut outcome = run_once(
        &env,
        &key,
        &req,
        &resolved.target,
        resolved.resume.clone(),
        &cancel,
    )
    .await;
    let stale = matches!(
        outcome,
        Outcome::Failed {
            kind: FailureKind::SessionNotFound,
            ..
        }
    );
    if stale && resolved.resume.is_some() && !cancel.is_cancelled() {
        tracing::warn!(%key, "stored session is gone; starting a new one and retrying once");
        env.sessions.reset_bucket(&key, resolved.target.provider);
        let _ = updates.send(TurnUpdate::SessionReset).await;
        outcome = run_once(&env, &key, &req, &resolved.target, None, &cancel).await;
    }
    let now = Utc::now();
    match &outcome {
        Outcome::Completed {
            session_id, usage, ..
        } => {
            env.sessions.record_success(
                &key,
                resolved.target.provider,
                session_id.as_deref(),
                usage,
                now,
            );
        }
        Outcome::Failed {
            kind, session_id, ..
        } => {
            if *kind != FailureKind::SessionNotFound {
                env.sessions.preserve_id(
                    &key,
                    resolved.target.provider,
                    session_id.as_deref(),
                    now,
                );
            }
        }
    }
    if env.shutting_down() {
        // Leave the in-flight record: the next start offers a Retry.
        return;
    }
    env.inflight.complete(&key);
    let _ = updates
        .send(TurnUpdate::Finished(Box::new(TurnFinish {
            outcome,
            target: resolved.target,
            cancelled: cancel.is_cancelled(),
        })))
        .await;
}

/// One CLI run of the turn (the first, or the retry with a fresh session).
async fn run_once(
    env: &TurnEnv,
    key: &SessionKey,
    req: &TurnRequest,
    target: &Target,
    resume: Option<String>,
    cancel: &CancellationToken,
) -> Outcome {
    let config = env.config();
    let topic_name = env.sessions.get(key).and_then(|r| r.topic_name);
    let cwd = super::prompt::working_dir(&config, &env.paths, key, topic_name.as_deref());
    let append = if resume.is_none() {
        let roster = env.roster().await;
        super::prompt::new_session_preamble(&config, &env.paths, &roster, &cwd)
    } else {
        None
    };
    let spec = TurnSpec {
        prompt: req.prompt.clone(),
        model: Some(target.model.clone()).filter(|m| !m.is_empty()),
        effort: target.effort.clone(),
        resume,
        append_system_prompt: append,
    };
    let ctx = RunContext {
        config: &config,
        paths: &env.paths,
        cwd,
        identity: cli_run::identity(&config, &env.paths, key.chat_id, key.topic_id),
        timeout: TimeoutKind::Interactive,
    };
    let request = match cli_run::build_request(&ctx, target.provider, &spec) {
        Ok(r) => r,
        Err(e) => {
            return Outcome::Failed {
                kind: FailureKind::Crashed,
                detail: format!("cannot prepare the CLI call: {e}"),
                session_id: None,
            };
        }
    };
    let (tx, mut rx) = mpsc::channel::<Event>(256);
    let run = tokio::spawn(runner::run(request, tx, cancel.clone()));
    while let Some(ev) = rx.recv().await {
        if let Event::SessionStarted { session_id } = &ev {
            // Keep the id right away: if the agent dies mid-turn, Retry resumes it.
            env.sessions
                .preserve_id(key, target.provider, Some(session_id), Utc::now());
        }
        let _ = req.updates.send(TurnUpdate::Event(ev)).await;
    }
    run.await.unwrap_or_else(|e| Outcome::Failed {
        kind: FailureKind::Crashed,
        detail: format!("the run task failed: {e}"),
        session_id: None,
    })
}
