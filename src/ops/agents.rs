//! Multi-agent commands: `/agents` (every agent's health and model),
//! `/agent_start|/agent_stop|/agent_restart <name>` (main agent only; the supervisor
//! does the work) and `/stop_all` (every run on every agent).

use super::{Command, Ctx, Response};
use crate::ipc::message::{
    AgentAction, AgentControl, AgentStatus, HealthReport, HealthRequest, StopAll,
};
use crate::ipc::{Body, IpcError};
use crate::md;
use std::fmt::Write as _;
use std::time::Duration;

/// How long `/stop_all` waits for every agent (the supervisor waits 15 s per agent).
const STOP_ALL_WAIT: Duration = Duration::from_secs(20);
/// How long a start/stop/restart may take.
const CONTROL_WAIT: Duration = Duration::from_secs(30);

/// Every agent's health, from the supervisor.
pub async fn health(ctx: &Ctx<'_>) -> Option<HealthReport> {
    let bus = ctx.core().bus.as_ref()?;
    match bus
        .request(
            None,
            Body::HealthRequest(HealthRequest {}),
            Duration::from_secs(3),
        )
        .await
    {
        Ok(Body::Health(h)) => Some(h),
        _ => None,
    }
}

/// `provider / model` of agent `name` from its config (`?` when unreadable).
fn model_of(ctx: &Ctx<'_>, name: &str) -> String {
    match crate::config::load_agent(&ctx.core().paths.home(), name) {
        Ok(c) => format!("{} / {}", c.provider, c.model),
        Err(_) => "?".into(),
    }
}

/// An agent's status as `/agents` and `/info` show it: a glyph and the UI key of
/// its state.
pub(super) fn glyph_and_state(status: AgentStatus) -> (&'static str, &'static str) {
    match status {
        AgentStatus::Running => ("🟢", "agents.state_running"),
        AgentStatus::Starting => ("🟡", "agents.state_starting"),
        AgentStatus::Crashed => ("🔴", "agents.state_crashed"),
        AgentStatus::Stopped => ("⚪", "agents.state_stopped"),
    }
}

/// ` · ⟳N` after an agent restarted N times, else nothing.
pub(super) fn restarts(count: u32) -> String {
    if count > 0 {
        format!(" · ⟳{count}")
    } else {
        String::new()
    }
}

/// `/agents`.
pub async fn list(ctx: &Ctx<'_>) -> Response {
    let text = ctx.text();
    let Some(h) = health(ctx).await else {
        return Response::say(text.t("agents.no_bus"));
    };
    let mut out = text.t("agents.title");
    for a in &h.agents {
        let (glyph, state) = glyph_and_state(a.status);
        let state = text.t(state);
        let restarts = restarts(a.restart_count);
        let _ = write!(
            out,
            "\n{}",
            text.f(
                "agents.line",
                &[
                    ("glyph", glyph),
                    ("name", &md::escape(&a.name)),
                    ("state", &state),
                    ("model", &md::escape(&model_of(ctx, &a.name))),
                    (
                        "uptime",
                        &crate::cli::status::uptime_human(a.uptime_seconds)
                    ),
                    ("restarts", &restarts),
                ],
            )
        );
        if let Some(e) = a.last_error.as_deref().filter(|e| !e.is_empty()) {
            let short: String = e.chars().take(200).collect();
            let _ = write!(
                out,
                "\n{}",
                text.f("agents.last_error", &[("error", &md::one_line(&short))])
            );
        }
    }
    Response::say(out)
}

/// `/agent_start`, `/agent_stop`, `/agent_restart`.
pub async fn control(ctx: &Ctx<'_>, command: Command, args: &str) -> Response {
    let text = ctx.text();
    let (action, done_key) = match command {
        Command::AgentStart => (AgentAction::Start, "agents.started"),
        Command::AgentStop => (AgentAction::Stop, "agents.stopped"),
        _ => (AgentAction::Restart, "agents.restarted"),
    };
    if !ctx.core().paths.is_main() {
        return Response::say(text.t("agents.main_only"));
    }
    // Agent names are lower case (§2.1): `/agent_restart Sub1` means `sub1`.
    let name = args
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_lowercase();
    let name = name.as_str();
    if name.is_empty() {
        return Response::say(md::escape(
            &text.f("agents.usage", &[("command", command.name())]),
        ));
    }
    let Some(bus) = &ctx.core().bus else {
        return Response::say(text.t("agents.no_bus"));
    };
    let body = Body::AgentControl(AgentControl {
        name: name.to_owned(),
        action,
    });
    let reply = match bus.request(None, body, CONTROL_WAIT).await {
        Ok(_) => text.f(
            "agents.done",
            &[("action", &text.t(done_key)), ("name", &md::escape(name))],
        ),
        Err(e) => {
            let msg = match e {
                IpcError::Remote(_, m) => m,
                other => other.to_string(),
            };
            text.f(
                "agents.failed",
                &[
                    ("action", &command.name().replace("agent_", "")),
                    ("name", &md::escape(name)),
                    ("error", &md::escape(&msg)),
                ],
            )
        }
    };
    Response::say(reply)
}

/// `/stop_all`: every chat turn, named-session run, task and inter-agent request
/// on every agent.
pub async fn stop_all(ctx: &Ctx<'_>) -> Response {
    let text = ctx.text();
    let core = ctx.core();
    let local = || async { core.conversations.stop_all().await.stopped as u32 };
    let (count, missing) = match &core.bus {
        Some(bus) => {
            let running = health(ctx).await.map_or(0, |h| {
                h.agents
                    .iter()
                    .filter(|a| a.status == AgentStatus::Running)
                    .count()
            });
            match bus
                .request(None, Body::StopAll(StopAll {}), STOP_ALL_WAIT)
                .await
            {
                Ok(Body::Stopped(s)) => (s.count, running.saturating_sub(s.agents as usize)),
                _ => (local().await, running.max(1)),
            }
        }
        None => (local().await, 0),
    };
    let msg = if missing == 0 {
        text.f("agents.stop_all_done", &[("count", &count.to_string())])
    } else {
        text.f(
            "agents.stop_all_partial",
            &[
                ("count", &count.to_string()),
                ("missing", &missing.to_string()),
            ],
        )
    };
    Response::say(md::escape(&msg))
}
