//! Multi-agent commands: `/agents` (every agent's health and model),
//! `/agent_start|/agent_stop|/agent_restart <name>` (main agent only; the
//! supervisor does the work) and `/stop_all` (every run on every agent).

use super::Telegram;
use super::commands::reply;
use super::format::escape_html;
use super::incoming::Incoming;
use crate::ipc::message::{
    AgentAction, AgentControl, AgentStatus, HealthReport, HealthRequest, StopAll,
};
use crate::ipc::{Body, IpcError};
use std::fmt::Write as _;
use std::time::Duration;

/// How long `/stop_all` waits for every agent (the supervisor waits 15 s per agent).
const STOP_ALL_WAIT: Duration = Duration::from_secs(20);
/// How long a start/stop/restart may take.
const CONTROL_WAIT: Duration = Duration::from_secs(30);

async fn health(tg: &Telegram) -> Option<HealthReport> {
    let bus = tg.bus.as_ref()?;
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
fn model_of(tg: &Telegram, name: &str) -> String {
    match crate::agent::load_config(&tg.paths().home(), name) {
        Ok(c) => format!("{} / {}", c.provider, c.model),
        Err(_) => "?".into(),
    }
}

/// `/agents`.
pub async fn list(tg: &Telegram, inc: &Incoming) {
    let text = tg.text();
    let Some(h) = health(tg).await else {
        reply(tg, inc, text.t("agents.no_bus"), None).await;
        return;
    };
    let mut out = text.t("agents.title");
    for a in &h.agents {
        let (glyph, state) = match a.status {
            AgentStatus::Running => ("🟢", "running"),
            AgentStatus::Starting => ("🟡", "starting"),
            AgentStatus::Crashed => ("🔴", "crashed"),
            AgentStatus::Stopped => ("⚪", "stopped"),
        };
        let restarts = if a.restart_count > 0 {
            format!(" · ⟳{}", a.restart_count)
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "\n{}",
            text.f(
                "agents.line",
                &[
                    ("glyph", glyph),
                    ("name", &escape_html(&a.name)),
                    ("state", state),
                    ("model", &escape_html(&model_of(tg, &a.name))),
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
                text.f("agents.last_error", &[("error", &escape_html(&short))])
            );
        }
    }
    reply(tg, inc, out, None).await;
}

/// `/agent_start`, `/agent_stop`, `/agent_restart`.
pub async fn control(tg: &Telegram, inc: &Incoming, command: &str, args: &str) {
    let text = tg.text();
    let (action, done_key) = match command {
        "agent_start" => (AgentAction::Start, "agents.started"),
        "agent_stop" => (AgentAction::Stop, "agents.stopped"),
        _ => (AgentAction::Restart, "agents.restarted"),
    };
    if !tg.paths().is_main() {
        reply(tg, inc, text.t("agents.main_only"), None).await;
        return;
    }
    let name = args.split_whitespace().next().unwrap_or_default();
    if name.is_empty() {
        reply(
            tg,
            inc,
            text.f("agents.usage", &[("command", command)]),
            None,
        )
        .await;
        return;
    }
    let Some(bus) = &tg.bus else {
        reply(tg, inc, text.t("agents.no_bus"), None).await;
        return;
    };
    let body = Body::AgentControl(AgentControl {
        name: name.to_owned(),
        action,
    });
    let html = match bus.request(None, body, CONTROL_WAIT).await {
        Ok(_) => text.f(
            "agents.done",
            &[("action", &text.t(done_key)), ("name", &escape_html(name))],
        ),
        Err(e) => {
            let msg = match e {
                IpcError::Remote(_, m) => m,
                other => other.to_string(),
            };
            text.f(
                "agents.failed",
                &[
                    ("action", &command.replace("agent_", "")),
                    ("name", &escape_html(name)),
                    ("error", &escape_html(&msg)),
                ],
            )
        }
    };
    reply(tg, inc, html, None).await;
}

/// `/stop_all`: every chat turn, named-session run, task and inter-agent request
/// on every agent.
pub async fn stop_all(tg: &Telegram, inc: &Incoming) {
    let text = tg.text();
    let (count, missing) = match &tg.bus {
        Some(bus) => {
            let running = health(tg).await.map_or(0, |h| {
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
                _ => (tg.sessions.stop_everything().await, running.max(1)),
            }
        }
        None => (tg.sessions.stop_everything().await, 0),
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
    reply(tg, inc, escape_html(&msg), None).await;
}
