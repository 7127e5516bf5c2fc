//! `/status`: this conversation's session and model, what runs, the providers'
//! logins, the streaming settings and (on the main agent) every agent's health.

use super::{Ctx, Response};
use crate::md;
use crate::provider::ProviderKind;
use crate::provider::auth::AuthStatus;
use crate::session::Lane;
use crate::session::store::{Target, default_target};
use std::fmt::Write as _;

fn on_off(ctx: &Ctx<'_>, v: bool) -> String {
    ctx.text().t(if v { "status.on" } else { "status.off" })
}

/// The provider/model of this conversation (the configured one if it has none yet).
pub fn session_target(ctx: &Ctx<'_>) -> Target {
    let core = ctx.core();
    core.conversations
        .engine()
        .sessions
        .target(&ctx.address)
        .unwrap_or_else(|| default_target(&core.config.get()))
}

/// One line per provider: authenticated, installed, not found.
pub fn auth_state(ctx: &Ctx<'_>, s: AuthStatus) -> String {
    let text = ctx.text();
    match s {
        AuthStatus::Authenticated { .. } => text.t("status.authenticated"),
        AuthStatus::Installed => text.t("status.installed"),
        AuthStatus::NotFound => text.t("status.not_found"),
    }
}

/// `/status`.
pub async fn status(ctx: &Ctx<'_>) -> Response {
    let text = ctx.text();
    let core = ctx.core();
    let target = session_target(ctx);
    let mut out = text.f("status.title", &[("agent", &md::code(core.paths.name()))]);
    out.push('\n');
    session_lines(ctx, &target, &mut out);
    let busy = core.conversations.is_running(&ctx.address, &Lane::Main);
    let _ = writeln!(
        out,
        "{}",
        text.t(if busy { "status.busy" } else { "status.idle" })
    );
    let key = ctx.address.to_string();
    for w in core.live.warm().into_iter().filter(|w| w.key == key) {
        let _ = writeln!(
            out,
            "{}",
            text.f(
                "status.live",
                &[
                    ("provider", w.provider.display_name()),
                    ("minutes", &(w.age.as_secs() / 60).to_string()),
                    ("memory", &(w.rss_kib / 1024).to_string()),
                ],
            )
        );
    }
    background_lines(ctx, &mut out);
    provider_lines(ctx, &mut out);
    if core.paths.is_main() {
        agent_lines(ctx, &mut out).await;
    }
    Response::say(out.trim_end().to_owned())
}

fn session_lines(ctx: &Ctx<'_>, target: &Target, out: &mut String) {
    let text = ctx.text();
    let core = ctx.core();
    let config = core.config.get();
    let bucket = core
        .conversations
        .engine()
        .sessions
        .get(&ctx.address)
        .and_then(|r| r.provider_sessions.get(target.provider.as_str()).cloned())
        .filter(|b| !b.session_id.is_empty());
    let line = match bucket {
        Some(b) => {
            let sid: String = b.session_id.chars().take(8).collect();
            text.f(
                "status.session",
                &[
                    ("sid", &md::code(&format!("{sid}..."))),
                    ("messages", &b.message_count.to_string()),
                    ("tokens", &b.total_tokens.to_string()),
                    ("cost", &format!("{:.4}", b.total_cost_usd)),
                ],
            )
        }
        None => text.t("status.no_session"),
    };
    let _ = writeln!(out, "{line}");
    let default = default_target(&config);
    let provider = target.provider.display_name();
    let model = md::code(&target.model);
    let model_line = if target.model == default.model && target.provider == default.provider {
        text.f("status.model", &[("provider", provider), ("model", &model)])
    } else {
        let configured = md::escape(&format!("{} / {}", default.provider, default.model));
        text.f(
            "status.model_configured",
            &[
                ("provider", provider),
                ("model", &model),
                ("configured", &configured),
            ],
        )
    };
    let _ = writeln!(out, "{model_line}");
    if let Some(e) = target
        .effort
        .as_deref()
        .filter(|_| target.provider != ProviderKind::Gemini)
    {
        let _ = writeln!(
            out,
            "{}",
            text.f("status.effort", &[("effort", &md::escape(e))])
        );
    }
}

/// Background runs of this chat: named sessions and tasks that run now.
fn background_lines(ctx: &Ctx<'_>, out: &mut String) {
    let runs = ctx.core().conversations.board().list(|e| {
        e.address.same_chat(&ctx.address)
            && !e.foreground
            && e.state == crate::session::runs::RunState::Running
    });
    if runs.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{}", ctx.text().t("status.background"));
    for r in runs {
        let secs = r.since.elapsed().as_secs();
        let preview: String = r.preview.chars().take(40).collect();
        let _ = writeln!(
            out,
            "{} {} _({secs}s)_",
            md::code(&r.lane.to_string()),
            md::one_line(&preview),
        );
    }
}

fn provider_lines(ctx: &Ctx<'_>, out: &mut String) {
    let text = ctx.text();
    let core = ctx.core();
    let _ = writeln!(out, "\n{}", text.t("status.providers"));
    for (p, s) in crate::provider::auth::for_agent(&core.paths) {
        let _ = writeln!(
            out,
            "{}",
            md::escape(&text.f(
                "status.provider_line",
                &[("provider", p.as_str()), ("state", &auth_state(ctx, s))]
            ))
        );
    }
    let config = core.config.get();
    let s = &config.streaming;
    let mode = if !s.enabled {
        "off"
    } else if s.append_mode {
        "append"
    } else {
        "edit"
    };
    let streaming = text.f(
        "status.streaming",
        &[
            ("mode", mode),
            ("tools", &on_off(ctx, s.show_tool_progress)),
            ("thinking", &on_off(ctx, s.show_thinking_indicator)),
            ("reasoning", &on_off(ctx, s.show_reasoning_stream)),
        ],
    );
    let _ = writeln!(out, "{streaming}");
}

async fn agent_lines(ctx: &Ctx<'_>, out: &mut String) {
    use crate::ipc::message::AgentStatus;
    let Some(h) = super::agents::health(ctx).await else {
        return;
    };
    let _ = writeln!(out, "\n{}", ctx.text().t("status.agents"));
    for a in h.agents {
        let glyph = match a.status {
            AgentStatus::Running => "●",
            AgentStatus::Starting => "◐",
            AgentStatus::Crashed => "✖",
            AgentStatus::Stopped => "○",
        };
        let up = crate::cli::status::uptime_human(a.uptime_seconds);
        let restarts = if a.restart_count > 0 {
            format!(" ⟳{}", a.restart_count)
        } else {
            String::new()
        };
        let _ = writeln!(out, "{glyph} {} — {up}{restarts}", md::escape(&a.name));
    }
}
