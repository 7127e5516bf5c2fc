//! The one turn pipeline every run goes through, whatever its lane: plan (the lane's
//! binding resolves provider, model, session and working directory, or refuses) →
//! run through the launcher → record → on a stale session, reset it and retry once →
//! report. Everything the user sees leaves as [`TurnUpdate`]s; nothing here knows
//! which transport, if any, listens.

use super::{Engine, Plan, TurnFinish, TurnRequest, TurnUpdate};
use crate::address::Address;
use crate::exec::Launch;
use crate::provider::command::TurnSpec;
use crate::provider::event::{Event, FailureKind, Outcome};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Runs `req` at `address` to its end (inside the lane's actor).
pub(super) async fn run_turn(
    engine: Arc<Engine>,
    address: Address,
    req: TurnRequest,
    cancel: CancellationToken,
) {
    let started = Instant::now();
    let binding = engine.binding(req.lane.kind());
    let updates = req.updates.clone();
    let plan = match binding.plan(&address, &req) {
        Ok(p) => p,
        Err(refusal) => {
            let finish = TurnFinish {
                outcome: Outcome::Failed {
                    kind: FailureKind::Other,
                    detail: refusal,
                    session_id: None,
                },
                target: super::store::default_target(&engine.config.get()),
                cancelled: false,
                recovered: false,
                refused: true,
                elapsed: started.elapsed(),
            };
            let _ = updates.send(TurnUpdate::Finished(Box::new(finish))).await;
            return;
        }
    };
    let _ = updates
        .send(TurnUpdate::Started {
            target: plan.target.clone(),
            resume: plan.resume.clone(),
            cwd: plan.cwd.clone(),
        })
        .await;
    binding.begin(&address, &req, &plan);
    let (mut outcome, mut compacted) =
        attempt(&engine, &address, &req, &plan, plan.resume.clone(), &cancel).await;
    let mut recovered = false;
    if outcome.is_stale_session() && plan.resume.is_some() && !cancel.is_cancelled() {
        tracing::warn!(%address, lane = %req.lane, "stored session is gone; starting a new one and retrying once");
        binding.reset(&address, &req.lane, &plan.target);
        let _ = updates.send(TurnUpdate::SessionReset).await;
        recovered = true;
        (outcome, compacted) = attempt(&engine, &address, &req, &plan, None, &cancel).await;
    }
    let shutting_down = engine.shutting_down();
    binding.finish(&address, &req, &plan, &outcome, shutting_down);
    if shutting_down {
        // The binding left its record in place: the next start recovers the run.
        return;
    }
    if compacted && matches!(outcome, Outcome::Completed { .. }) {
        // The CLI compacted its context during this turn: memory upkeep follows.
        engine.compacted(&address);
    }
    let finish = TurnFinish {
        outcome,
        target: plan.target,
        cancelled: cancel.is_cancelled(),
        recovered,
        refused: false,
        elapsed: started.elapsed(),
    };
    let _ = updates.send(TurnUpdate::Finished(Box::new(finish))).await;
}

/// One CLI run of the turn (the first, or the retry with a fresh session), and
/// whether the CLI compacted the context of a main-lane user turn.
async fn attempt(
    engine: &Engine,
    address: &Address,
    req: &TurnRequest,
    plan: &Plan,
    resume: Option<String>,
    cancel: &CancellationToken,
) -> (Outcome, bool) {
    if cancel.is_cancelled() {
        // Stopped while it waited: the CLI is never started.
        let outcome = Outcome::Failed {
            kind: FailureKind::Cancelled,
            detail: "stopped before it started".into(),
            session_id: resume,
        };
        return (outcome, false);
    }
    let config = engine.config.get();
    let users_turn = req.lane == super::Lane::Main && req.purpose.is_turn();
    let append = if resume.is_none() && plan.preamble {
        let roster = engine.roster().await;
        let preamble =
            super::prompt::new_session_preamble(&config, &engine.paths, &roster, &plan.cwd);
        if users_turn {
            let brief = super::hooks::DELEGATION_BRIEF;
            Some(preamble.map_or_else(|| brief.to_owned(), |p| format!("{p}\n\n{brief}")))
        } else {
            preamble
        }
    } else {
        None
    };
    let mut identity = crate::exec::request::identity(&config, &engine.paths, address);
    identity.task_id.clone_from(&plan.task_id);
    let job = Launch {
        provider: plan.target.provider,
        spec: TurnSpec {
            prompt: with_notes(
                engine,
                address,
                plan,
                &req.prompt,
                resume.is_none(),
                users_turn,
            ),
            model: Some(plan.target.model.clone()).filter(|m| !m.is_empty()),
            effort: plan.target.effort.clone(),
            resume,
            append_system_prompt: append,
        },
        cwd: plan.cwd.clone(),
        identity,
        timeout: req.timeout,
        extra_args: plan.extra_args.clone(),
        // A user's own turns may run in the conversation's warm live process; other
        // runs of the main lane (heartbeats, memory upkeep) make it step aside.
        live: (req.lane == super::Lane::Main).then(|| crate::exec::LiveTurn {
            key: address.to_string(),
            starter: req.by.clone(),
            runs_live: users_turn && req.timeout == crate::exec::TimeoutKind::Interactive,
        }),
    };
    let binding = engine.binding(req.lane.kind());
    let (tx, mut rx) = mpsc::channel::<Event>(256);
    let run = tokio::spawn(engine.launcher.launch(job, tx, cancel.clone()));
    let mut compacted = false;
    while let Some(ev) = rx.recv().await {
        compacted |= users_turn && ev == Event::Compacted;
        if let Event::SessionStarted { session_id } = &ev {
            // Kept at once: if the agent dies mid-turn, the next start resumes it.
            binding.session_started(address, req, plan.target.provider, session_id);
        }
        let _ = req.updates.send(TurnUpdate::Event(ev)).await;
    }
    let outcome = run.await.unwrap_or_else(|e| Outcome::Failed {
        kind: FailureKind::Crashed,
        detail: format!("the run task failed: {e}"),
        session_id: None,
    });
    (outcome, compacted)
}

/// The prompt of a main-lane user turn with its memory notes (§8.5) appended; other
/// turns' prompts as they are.
fn with_notes(
    engine: &Engine,
    address: &Address,
    plan: &Plan,
    prompt: &str,
    fresh: bool,
    users_turn: bool,
) -> String {
    if !users_turn {
        return prompt.to_owned();
    }
    let count = engine
        .sessions
        .get(address)
        .and_then(|r| {
            r.provider_sessions
                .get(&plan.target.provider.to_string())
                .map(|b| b.message_count)
        })
        .filter(|_| !fresh)
        .unwrap_or(0);
    match super::hooks::notes(&engine.config.get(), count + 1, fresh) {
        Some(notes) => format!("{prompt}\n\n{notes}"),
        None => prompt.to_owned(),
    }
}
