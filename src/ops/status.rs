//! `/status`: this conversation's session and model, what runs in the chat (named
//! sessions, background tasks, other topics' turns, live processes, each with its
//! age), the providers' logins, the streaming settings and (on the main agent)
//! every agent's health.

use super::{Ctx, Response};
use crate::address::Address;
use crate::md;
use crate::provider::ProviderKind;
use crate::provider::auth::AuthStatus;
use crate::session::Lane;
use crate::session::runs::RunState;
use crate::session::store::{Target, default_target};
use crate::tasks::{Status, status_of};
use std::fmt::Write as _;
use std::time::Duration;

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
    let own = core
        .conversations
        .board()
        .list(|e| e.address == ctx.address && e.lane == Lane::Main && e.state == RunState::Running);
    let busy = match own.first() {
        Some(r) => text.f("status.busy", &[("age", &age(r.since.elapsed()))]),
        None => text.t("status.idle"),
    };
    let _ = writeln!(out, "{busy}");
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
    activity_lines(ctx, &mut out);
    provider_lines(ctx, &mut out);
    if core.paths.is_main() {
        agent_lines(ctx, &mut out).await;
    }
    Response::say(out.trim_end().to_owned())
}

fn session_lines(ctx: &Ctx<'_>, target: &Target, out: &mut String) {
    let text = ctx.text();
    let core = ctx.core();
    if ctx.address.topic_id.is_some() {
        let topic = topic_label(ctx, &ctx.address);
        let _ = writeln!(out, "{}", text.f("status.topic", &[("topic", &topic)]));
    }
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

/// How long ago: `42s`, `3 min`, `2 h 5 min`.
pub(super) fn age(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{} min", s / 60),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

/// The Markdown name of forum topic `address` of this chat: its cached name, else
/// `Topic #<id>`; the chat itself for an address without a topic.
pub(super) fn topic_label(ctx: &Ctx<'_>, address: &Address) -> String {
    let text = ctx.text();
    let Some(id) = address.topic_id else {
        return text.t("status.main_chat");
    };
    let name = ctx
        .core()
        .conversations
        .engine()
        .sessions
        .get(address)
        .and_then(|r| r.topic_name)
        .filter(|n| !n.trim().is_empty());
    match name {
        Some(n) => format!("**{}**", md::one_line(&n)),
        None => text.f("status.topic_fallback", &[("id", &id.to_string())]),
    }
}

/// ` · <topic>` for something of another topic of this chat than the one asking.
fn elsewhere(ctx: &Ctx<'_>, address: &Address) -> String {
    if address.topic_id == ctx.address.topic_id {
        String::new()
    } else {
        format!(" · {}", topic_label(ctx, address))
    }
}

/// The first `n` characters of `s` on one line (escaped), `…` when cut.
fn preview(s: &str, n: usize) -> String {
    let cut: String = s.chars().take(n).collect();
    let more = if s.chars().count() > n { "…" } else { "" };
    format!("{}{more}", md::one_line(&cut))
}

/// What else runs in this chat, in any of its topics, each with its age: turns of
/// named sessions and of other conversations, one-shot runs, background tasks
/// (running or waiting for an answer) and warm live processes.
fn activity_lines(ctx: &Ctx<'_>, out: &mut String) {
    let mut lines = run_lines(ctx);
    lines.extend(task_lines(ctx));
    lines.extend(warm_lines(ctx));
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{}", ctx.text().t("status.activity"));
    for l in lines {
        let _ = writeln!(out, "{l}");
    }
}

/// Running turns of this chat besides this conversation's own (shown above) and
/// tasks' (listed from the registry, which also knows the waiting ones).
fn run_lines(ctx: &Ctx<'_>) -> Vec<String> {
    let runs = ctx.core().conversations.board().list(|e| {
        e.address.same_chat(&ctx.address)
            && e.state == RunState::Running
            && !matches!(e.lane, Lane::Task(_))
            && !(e.address == ctx.address && e.lane == Lane::Main)
    });
    runs.into_iter()
        .map(|r| {
            let what = match &r.lane {
                Lane::Named(name) => md::code(name),
                Lane::Main => ctx.text().t("status.run_chat"),
                other => md::code(&other.to_string()),
            };
            format!(
                "▶ {what}{} {} _({})_",
                elsewhere(ctx, &r.address),
                preview(&r.preview, 40),
                age(r.since.elapsed())
            )
        })
        .collect()
}

/// Background tasks of this chat that run or wait for an answer, aged from creation.
fn task_lines(ctx: &Ctx<'_>) -> Vec<String> {
    let text = ctx.text();
    let now = crate::tasks::registry::now();
    ctx.core()
        .tasks
        .list(Some(&ctx.address))
        .into_iter()
        .filter(|r| matches!(status_of(r), Status::Running | Status::Waiting))
        .map(|r| {
            let secs = (now - r.created_at).max(0.0);
            let status = status_of(&r);
            let line = text.f(
                "status.task_line",
                &[
                    ("id", &md::code(&r.task_id)),
                    ("name", &md::one_line(&r.name)),
                    (
                        "status",
                        &text.t(&format!("tasks.status_{}", status.as_str())),
                    ),
                    (
                        "age",
                        &age(Duration::try_from_secs_f64(secs).unwrap_or_default()),
                    ),
                ],
            );
            line + elsewhere(ctx, &crate::tasks::address_of(&r)).as_str()
        })
        .collect()
}

/// Warm live processes of this chat's other conversations (this one's is above).
fn warm_lines(ctx: &Ctx<'_>) -> Vec<String> {
    let own = ctx.address.to_string();
    ctx.core()
        .live
        .warm()
        .into_iter()
        .filter(|w| w.key != own)
        .filter_map(|w| {
            let address = Address::parse(&w.key).filter(|a| a.same_chat(&ctx.address))?;
            Some(ctx.text().f(
                "status.live_in",
                &[
                    ("provider", w.provider.display_name()),
                    ("place", &topic_label(ctx, &address)),
                    ("age", &age(w.age)),
                    ("memory", &(w.rss_kib / 1024).to_string()),
                ],
            ))
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AgentConfig;
    use crate::core::testing::{rig, user_turn};
    use crate::ops::{Ops, Sender, command};

    fn ctx<'a>(ops: &'a Ops, address: &Address) -> Ctx<'a> {
        Ctx {
            ops,
            address: address.clone(),
            sender: Sender::default(),
            message: None,
        }
    }

    async fn say(ops: &Ops, at: &Address, name: &str, args: &str) -> String {
        command(&ctx(ops, at), name, args)
            .await
            .and_then(|r| r.reply)
            .map(|r| r.markdown)
            .unwrap_or_default()
    }

    #[test]
    fn ages_read_as_seconds_minutes_and_hours() {
        let s = Duration::from_secs;
        assert_eq!(age(s(0)), "0s");
        assert_eq!(age(s(59)), "59s");
        assert_eq!(age(s(180)), "3 min");
        assert_eq!(age(s(7_500)), "2 h 5 min");
    }

    #[tokio::test]
    async fn topics_are_reset_by_name_and_listed_beside_named_sessions() {
        let r = rig(AgentConfig::default(), |_| {});
        let ops = Ops::new(r.core.clone());
        let chat = Address::new("tg", -100, None);
        let backend = Address::new("tg", -100, Some(7));
        let unnamed = Address::new("tg", -100, Some(9));
        let other_chat = Address::new("tg", -200, Some(7));
        let sessions = r.core.conversations.engine().sessions.clone();
        sessions.set_topic_name(&backend, "Backend");
        sessions.set_topic_name(&other_chat, "Backend");
        for at in [&chat, &backend, &unnamed, &other_chat] {
            user_turn(&r.core, at, "hi").await;
        }
        let bucket = |a: &Address| {
            sessions
                .get(a)
                .and_then(|r| r.provider_sessions.values().next().cloned())
                .map(|b| b.session_id)
        };

        let list = say(&ops, &chat, "sessions", "").await;
        assert!(list.contains("No named sessions here"), "{list}");
        let topics = &list[list.find("**Topics**").expect(&list)..];
        let lines: Vec<&str> = topics.lines().skip(1).collect();
        assert_eq!(lines.len(), 2, "this chat's topics only: {list}");
        assert!(lines[0].starts_with("1. **Backend** · "), "{list}");
        assert!(lines[0].contains("· 1 message(s) · last active 0s ago"));
        assert!(lines[1].starts_with("2. Topic #9 · "), "{list}");

        let missing = say(&ops, &chat, "new", "@Nowhere").await;
        assert!(
            missing.contains("**Nowhere**") && missing.contains("`Backend`"),
            "{missing}"
        );
        assert!(bucket(&backend).is_some(), "an unknown name resets nothing");

        let done = say(&ops, &unnamed, "new", "@ backend ").await;
        assert!(done.contains("Backend"), "{done}");
        assert_eq!(bucket(&backend), None, "reset");
        for kept in [&chat, &unnamed, &other_chat] {
            assert!(bucket(kept).is_some(), "{kept} untouched");
        }

        let status = say(&ops, &chat, "status", "").await;
        assert!(status.contains("Running: nothing"), "{status}");
        assert!(!status.contains("Running in this chat"), "{status}");
    }
}
