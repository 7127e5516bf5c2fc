//! One foreground turn inside a session actor: resolve the session, run the CLI,
//! stream its events to the transport, record the outcome, recover a stale session
//! once (§5.8). Transport-neutral: everything the user sees goes out as
//! [`TurnUpdate`]s.

use super::freshness::Staleness;
use super::store::Target;
use super::{TurnEnv, TurnRequest, TurnUpdate};
use crate::agent::cli_run::{self, RunContext, TimeoutKind};
use crate::named::registry::Scope;
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

/// Where a turn's CLI session lives.
#[derive(Debug, Clone, Copy)]
enum Place<'a> {
    /// The conversation's own session (`sessions.json`), in its project directory.
    Conversation,
    /// A named session of the conversation, in the workspace.
    Named(Scope, &'a str),
}

/// Runs `req` for `key` to its end.
pub async fn run_turn(
    env: Arc<TurnEnv>,
    key: SessionKey,
    req: TurnRequest,
    cancel: CancellationToken,
) {
    if let Some(name) = req.named.clone() {
        run_named_turn(&env, &key, &req, &name, &cancel).await;
        return;
    }
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
        Place::Conversation,
    )
    .await;
    let stale = outcome.is_stale_session();
    if stale && resolved.resume.is_some() && !cancel.is_cancelled() {
        tracing::warn!(%key, "stored session is gone; starting a new one and retrying once");
        env.sessions.reset_bucket(&key, resolved.target.provider);
        let _ = updates.send(TurnUpdate::SessionReset).await;
        outcome = run_once(
            &env,
            &key,
            &req,
            &resolved.target,
            None,
            &cancel,
            Place::Conversation,
        )
        .await;
    }
    record_outcome(&env, &key, resolved.target.provider, &outcome);
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

/// Stores what a conversation turn left behind: the session id and usage after a
/// success; the id after a failure unless the session was gone.
fn record_outcome(
    env: &TurnEnv,
    key: &SessionKey,
    provider: crate::provider::ProviderKind,
    outcome: &Outcome,
) {
    let now = Utc::now();
    match outcome {
        Outcome::Completed {
            session_id, usage, ..
        } => {
            env.sessions
                .record_success(key, provider, session_id.as_deref(), usage, now);
        }
        Outcome::Failed {
            kind, session_id, ..
        } => {
            if *kind != FailureKind::SessionNotFound {
                env.sessions
                    .preserve_id(key, provider, session_id.as_deref(), now);
            }
        }
    }
}

/// A streamed `@name` follow-up in a named session: refused while the session runs
/// in the background; a stale CLI session is replaced once.
async fn run_named_turn(
    env: &TurnEnv,
    key: &SessionKey,
    req: &TurnRequest,
    name: &str,
    cancel: &CancellationToken,
) {
    let updates = &req.updates;
    let scope = Scope {
        chat_id: key.chat_id,
        topic_id: key.topic_id,
    };
    let refuse = |detail: String, target: Target| {
        TurnUpdate::Finished(Box::new(TurnFinish {
            outcome: Outcome::Failed {
                kind: FailureKind::Other,
                detail,
                session_id: None,
            },
            target,
            cancelled: false,
        }))
    };
    let default = env.default_target(&env.config());
    let lock = env.named.lock(scope, name);
    let Ok(_guard) = lock.try_lock() else {
        let _ = updates
            .send(refuse(
                format!("session `{name}` is still running"),
                default,
            ))
            .await;
        return;
    };
    let Some(record) = env.named.registry.get(scope, name) else {
        let _ = updates
            .send(refuse(
                format!("there is no session `{name}` here"),
                default,
            ))
            .await;
        return;
    };
    let target = crate::named::run::target_of(&record);
    let resume = Some(record.session_id.clone()).filter(|s| !s.is_empty());
    let _ = updates
        .send(TurnUpdate::Started {
            target: target.clone(),
            resume: resume.clone(),
        })
        .await;
    env.named.registry.begin(scope, name, &req.prompt);
    let place = Place::Named(scope, name);
    let mut outcome = run_once(env, key, req, &target, resume.clone(), cancel, place).await;
    let stale = outcome.is_stale_session();
    if stale && resume.is_some() && !cancel.is_cancelled() {
        env.named.registry.reset_session(scope, name, &target);
        let _ = updates.send(TurnUpdate::SessionReset).await;
        outcome = run_once(env, key, req, &target, None, cancel, place).await;
    }
    if env.shutting_down() {
        // The session stays `running`: the next start resumes it.
        return;
    }
    let ok = matches!(outcome, Outcome::Completed { .. });
    env.named
        .registry
        .finish(scope, name, outcome.session_id(), ok);
    let _ = updates
        .send(TurnUpdate::Finished(Box::new(TurnFinish {
            outcome,
            target,
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
    place: Place<'_>,
) -> Outcome {
    let config = env.config();
    let cwd = match place {
        Place::Conversation => {
            let topic_name = env.sessions.get(key).and_then(|r| r.topic_name);
            super::prompt::working_dir(&config, &env.paths, key, topic_name.as_deref())
        }
        Place::Named(..) => env.paths.workspace(),
    };
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
        Err(e) => return Outcome::cannot_prepare(&e),
    };
    let (tx, mut rx) = mpsc::channel::<Event>(256);
    let run = tokio::spawn(runner::run(request, tx, cancel.clone()));
    while let Some(ev) = rx.recv().await {
        if let Event::SessionStarted { session_id } = &ev {
            // Keep the id right away: if the agent dies mid-turn, Retry resumes it.
            match place {
                Place::Conversation => {
                    env.sessions
                        .preserve_id(key, target.provider, Some(session_id), Utc::now());
                }
                Place::Named(scope, name) => {
                    env.named.registry.set_session_id(scope, name, session_id);
                }
            }
        }
        let _ = req.updates.send(TurnUpdate::Event(ev)).await;
    }
    run.await.unwrap_or_else(|e| Outcome::Failed {
        kind: FailureKind::Crashed,
        detail: format!("the run task failed: {e}"),
        session_id: None,
    })
}
