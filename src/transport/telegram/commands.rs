//! Chat commands (§2.1): `/start`, `/help`, `/new`, `/reset`, `/stop`,
//! `/interrupt`, `/status`, and the command menu (`setMyCommands`).

use super::Telegram;
use super::dispatch::key_of;
use super::format::escape_html;
use super::incoming::Incoming;
use crate::provider::ProviderKind;
use crate::provider::auth::AuthStatus;
use crate::session::store::Target;
use crate::transport::chat_api::{Button, ChatApi, ChatTarget, OutMessage};
use std::fmt::Write as _;
use std::sync::Arc;

/// Commands shown in Telegram's command menu, in order.
pub const MENU: &[&str] = &[
    "new",
    "reset",
    "stop",
    "interrupt",
    "session",
    "sessions",
    "model",
    "effort",
    "tasks",
    "status",
    "memory",
    "agents",
    "stop_all",
    "agent_commands",
    "showfiles",
    "info",
    "help",
    "diagnose",
    "restart",
];

/// Publishes the command menu in the configured language.
pub async fn publish_menu(tg: &Telegram) {
    let text = tg.text();
    let list: Vec<(&str, String)> = MENU
        .iter()
        .map(|c| (*c, text.t(&format!("commands.{c}"))))
        .collect();
    if let Err(e) = tg.api.set_commands(&list).await {
        tracing::warn!(error = %e, "cannot publish the command menu");
    }
}

/// Bare words that abort when `abort_words` is on (§13.4).
pub fn is_abort_word(text: &str) -> bool {
    const WORDS: &[&str] = &[
        "stop",
        "abort",
        "cancel",
        "halt",
        "hold",
        "wait",
        "quit",
        "exit",
        "stopp",
        "warte",
        "abbruch",
        "abbrechen",
        "aufhören",
    ];
    let t = text.trim().to_lowercase();
    !t.contains(char::is_whitespace) && WORDS.contains(&t.as_str())
}

fn target(inc: &Incoming) -> ChatTarget {
    ChatTarget {
        chat_id: inc.chat_id,
        thread_id: inc.thread_id,
    }
}

/// Sends an HTML reply to `inc`.
pub async fn reply(
    tg: &Telegram,
    inc: &Incoming,
    html: String,
    keyboard: Option<Vec<Vec<Button>>>,
) {
    let msg = OutMessage::html(html)
        .replying_to(Some(inc.message_id))
        .with_keyboard(keyboard);
    if let Err(e) = tg.api.send(target(inc), msg).await {
        tracing::warn!(error = %e, "cannot send a command reply");
    }
}

/// Handles `/cmd args`; false when the command is not ours (it then goes to the agent).
pub async fn handle(tg: &Arc<Telegram>, inc: &Incoming, cmd: &str, args: &str) -> bool {
    match cmd {
        "start" => start(tg, inc).await,
        "help" => reply(tg, inc, tg.text().t("help.text"), None).await,
        "new" => new(tg, inc, true).await,
        "reset" => new(tg, inc, false).await,
        "stop" => stop(tg, inc).await,
        "interrupt" => interrupt(tg, inc).await,
        "status" => status(tg, inc).await,
        "model" => super::model::command(tg, inc, args).await,
        "effort" => super::model::effort_command(tg, inc).await,
        "memory" => super::info::memory(tg, inc).await,
        "info" => super::info::info(tg, inc).await,
        "diagnose" => super::info::diagnose(tg, inc).await,
        "where" => super::info::where_(tg, inc).await,
        "leave" => super::info::leave(tg, inc, args).await,
        "agent_commands" => super::info::agent_commands(tg, inc).await,
        "restart" => super::info::restart(tg, inc).await,
        "showfiles" => super::showfiles::command(tg, target(inc), inc.message_id, args).await,
        "session" => super::named::session_command(tg, inc, args).await,
        "agents" => super::agents::list(tg, inc).await,
        "agent_start" | "agent_stop" | "agent_restart" => {
            super::agents::control(tg, inc, cmd, args).await;
        }
        "stop_all" => super::agents::stop_all(tg, inc).await,
        "sessions" => super::named::sessions_command(tg, inc).await,
        "tasks" => super::tasks::command(tg, inc).await,
        _ => return false,
    }
    true
}

fn provider_name(p: ProviderKind) -> &'static str {
    p.display_name()
}

fn session_target(tg: &Telegram, inc: &Incoming) -> Target {
    let env = tg.env();
    env.sessions
        .target(&key_of(inc))
        .unwrap_or_else(|| env.default_target(&env.config()))
}

async fn start(tg: &Telegram, inc: &Incoming) {
    let text = tg.text();
    let env = tg.env();
    let config = env.config();
    let auth = crate::agent::cli_run::provider_auth(&env.paths);
    let ready: Vec<&str> = auth
        .iter()
        .filter(|(_, s)| s.is_authenticated())
        .map(|(p, _)| provider_name(*p))
        .collect();
    let auth_line = if ready.is_empty() {
        text.t("start.auth_none")
    } else {
        text.f(
            "start.auth_ok",
            &[
                ("providers", &ready.join(" + ")),
                ("model", &escape_html(&config.model)),
            ],
        )
    };
    let html = text.f(
        "start.welcome",
        &[
            ("name", &escape_html(&inc.first_name)),
            ("agent", &escape_html(env.paths.name())),
            ("auth", &auth_line),
        ],
    );
    let keyboard = (1..=3)
        .map(|i| {
            vec![Button {
                label: text.t(&format!("start.button{i}")),
                data: format!("w:{i}"),
            }]
        })
        .collect();
    reply(tg, inc, html, Some(keyboard)).await;
}

/// `/new` (reset the configured default provider's bucket and go back to the
/// configured model) and `/reset` (reset the active provider's bucket).
async fn new(tg: &Telegram, inc: &Incoming, back_to_default: bool) {
    let env = tg.env().clone();
    let key = key_of(inc);
    let default = env.default_target(&env.config());
    let active = session_target(tg, inc);
    let provider = if back_to_default {
        default.provider
    } else {
        active.provider
    };
    let store = env.sessions.clone();
    let k = key.clone();
    tg.sessions
        .exclusive(&key, move || {
            store.reset_bucket(&k, provider);
            if back_to_default {
                store.set_target(&k, &default, chrono::Utc::now());
            }
        })
        .await;
    let html = escape_html(
        &tg.text()
            .f("session.reset", &[("provider", provider_name(provider))]),
    );
    reply(tg, inc, html, None).await;
}

/// `/stop`: stop this conversation's run and discard its queue.
pub async fn stop(tg: &Telegram, inc: &Incoming) {
    let report = tg.sessions.stop(&key_of(inc)).await;
    let text = tg.text();
    let msg = if report.stopped_run || report.discarded > 0 {
        text.f(
            "stop.stopped",
            &[("provider", provider_name(session_target(tg, inc).provider))],
        )
    } else {
        text.t("stop.nothing")
    };
    reply(tg, inc, escape_html(&msg), None).await;
}

async fn interrupt(tg: &Telegram, inc: &Incoming) {
    let n = tg.sessions.interrupt_chat(inc.chat_id).await;
    let text = tg.text();
    let msg = if n > 0 {
        text.f("interrupt.done", &[("count", &n.to_string())])
    } else {
        text.t("interrupt.nothing")
    };
    reply(tg, inc, escape_html(&msg), None).await;
}

fn on_off(tg: &Telegram, v: bool) -> String {
    tg.text().t(if v { "status.on" } else { "status.off" })
}

async fn status(tg: &Telegram, inc: &Incoming) {
    let text = tg.text();
    let env = tg.env();
    let key = key_of(inc);
    let target = session_target(tg, inc);
    let mut out = text.f("status.title", &[("agent", &escape_html(env.paths.name()))]);
    out.push('\n');
    status_session(tg, &key, &target, &mut out);
    let busy = tg.sessions.is_busy(&key).await;
    let _ = writeln!(
        out,
        "{}",
        text.t(if busy { "status.busy" } else { "status.idle" })
    );
    status_providers(tg, &mut out);
    if env.paths.is_main() {
        status_agents(tg, &mut out).await;
    }
    reply(tg, inc, out.trim_end().to_owned(), None).await;
}

fn status_session(
    tg: &Telegram,
    key: &crate::state::sessions::SessionKey,
    target: &Target,
    out: &mut String,
) {
    let text = tg.text();
    let env = tg.env();
    let config = env.config();
    let bucket = env
        .sessions
        .get(key)
        .and_then(|r| r.provider_sessions.get(target.provider.as_str()).cloned())
        .filter(|b| !b.session_id.is_empty());
    let line = match bucket {
        Some(b) => {
            let sid: String = b.session_id.chars().take(8).collect();
            text.f(
                "status.session",
                &[
                    ("sid", &format!("{sid}...")),
                    ("messages", &b.message_count.to_string()),
                    ("tokens", &b.total_tokens.to_string()),
                    ("cost", &format!("{:.4}", b.total_cost_usd)),
                ],
            )
        }
        None => text.t("status.no_session"),
    };
    let _ = writeln!(out, "{line}");
    let default = env.default_target(&config);
    let provider = provider_name(target.provider);
    let model = escape_html(&target.model);
    let model_line = if target.model == default.model && target.provider == default.provider {
        text.f("status.model", &[("provider", provider), ("model", &model)])
    } else {
        let configured = escape_html(&format!("{} / {}", default.provider, default.model));
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
            text.f("status.effort", &[("effort", &escape_html(e))])
        );
    }
}

fn status_providers(tg: &Telegram, out: &mut String) {
    let text = tg.text();
    let env = tg.env();
    let _ = writeln!(out, "\n{}", text.t("status.providers"));
    for (p, s) in crate::agent::cli_run::provider_auth(&env.paths) {
        let state = match s {
            AuthStatus::Authenticated { .. } => text.t("status.authenticated"),
            AuthStatus::Installed => text.t("status.installed"),
            AuthStatus::NotFound => text.t("status.not_found"),
        };
        let _ = writeln!(
            out,
            "{}",
            text.f(
                "status.provider_line",
                &[("provider", p.as_str()), ("state", &state)]
            )
        );
    }
    let config = env.config();
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
            ("tools", &on_off(tg, s.show_tool_progress)),
            ("thinking", &on_off(tg, s.show_thinking_indicator)),
            ("reasoning", &on_off(tg, s.show_reasoning_stream)),
        ],
    );
    let _ = writeln!(out, "{streaming}");
}

async fn status_agents(tg: &Telegram, out: &mut String) {
    use crate::ipc::message::{AgentStatus, HealthRequest};
    let Some(bus) = &tg.bus else {
        return;
    };
    let req = crate::ipc::Body::HealthRequest(HealthRequest {});
    let Ok(crate::ipc::Body::Health(h)) = bus
        .request(None, req, std::time::Duration::from_secs(2))
        .await
    else {
        return;
    };
    let _ = writeln!(out, "\n{}", tg.text().t("status.agents"));
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
        let _ = writeln!(out, "{glyph} {} — {up}{restarts}", escape_html(&a.name));
    }
}
