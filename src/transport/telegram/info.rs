//! Informational and maintenance commands: `/memory`, `/info`, `/diagnose`,
//! `/where`, `/leave`, `/agent_commands`, `/restart`.

use super::Telegram;
use super::commands::reply;
use super::dispatch::key_of;
use super::format::{escape_html, markdown_to_html};
use super::incoming::Incoming;
use crate::provider::auth::AuthStatus;
use crate::state::sentinel::RestartSentinel;
use std::fmt::Write as _;
use teloxide::prelude::Requester;

/// Lines of the agent log `/diagnose` shows.
pub const DIAGNOSE_LOG_LINES: usize = 50;
/// Characters of log `/diagnose` shows at most (the message limit is 4096).
const DIAGNOSE_LOG_CHARS: usize = 2800;

/// `/memory`.
pub async fn memory(tg: &Telegram, inc: &Incoming) {
    let text = tg.text();
    let path = tg.paths().main_memory();
    let body = std::fs::read_to_string(&path).unwrap_or_default();
    let title = text.f(
        "memory.title",
        &[("path", &escape_html(&path.display().to_string()))],
    );
    let content = if body.trim().is_empty() {
        escape_html(&text.t("memory.empty"))
    } else {
        let mut md = body.trim().to_owned();
        if md.len() > 3500 {
            let mut end = 3500;
            while !md.is_char_boundary(end) {
                end -= 1;
            }
            md.truncate(end);
            md.push_str("\n…");
        }
        markdown_to_html(&md)
    };
    reply(
        tg,
        inc,
        format!("{title}\n\n{content}\n\n{}", text.t("memory.tip")),
        None,
    )
    .await;
}

/// `/info`.
pub async fn info(tg: &Telegram, inc: &Incoming) {
    let paths = tg.paths();
    let html = tg.text().f(
        "info.text",
        &[
            ("version", crate::VERSION),
            ("agent", &escape_html(paths.name())),
            ("home", &escape_html(&paths.root().display().to_string())),
        ],
    );
    reply(tg, inc, html, None).await;
}

/// The last `n` lines of this agent's log, bounded to fit a message.
fn log_tail(tg: &Telegram, n: usize) -> String {
    let mut lines = crate::logging::tail(&tg.paths().log_file(), n);
    let mut total: usize = lines.iter().map(|l| l.len() + 1).sum();
    while total > DIAGNOSE_LOG_CHARS && !lines.is_empty() {
        total -= lines[0].len() + 1;
        lines.remove(0);
    }
    crate::logging::redact(&lines.join("\n"))
}

/// `/diagnose`.
pub async fn diagnose(tg: &Telegram, inc: &Incoming) {
    let text = tg.text();
    let env = tg.env();
    let config = env.config();
    let mut out = text.f(
        "diagnose.title",
        &[
            ("version", crate::VERSION),
            ("agent", &escape_html(env.paths.name())),
        ],
    );
    let _ = write!(
        out,
        "\n{}",
        text.f(
            "diagnose.configured",
            &[
                ("provider", &config.provider),
                ("model", &escape_html(&config.model))
            ]
        )
    );
    let t = env
        .sessions
        .target(&key_of(inc))
        .unwrap_or_else(|| env.default_target(&config));
    let _ = write!(
        out,
        "\n{}",
        text.f(
            "diagnose.effective",
            &[
                ("provider", t.provider.as_str()),
                ("model", &escape_html(&t.model))
            ]
        )
    );
    for (p, s) in crate::agent::cli_run::provider_auth(&env.paths) {
        let state = match s {
            AuthStatus::Authenticated { .. } => text.t("status.authenticated"),
            AuthStatus::Installed => text.t("status.installed"),
            AuthStatus::NotFound => text.t("status.not_found"),
        };
        let _ = write!(out, "\n[{p}] {state}");
    }
    let codex = &env.catalogue.codex;
    let _ = write!(out, "\ncodex models: {}", codex.len());
    let log = log_tail(tg, DIAGNOSE_LOG_LINES);
    let _ = write!(
        out,
        "\n\n{}\n<pre>{}</pre>",
        text.f(
            "diagnose.log",
            &[("count", &DIAGNOSE_LOG_LINES.to_string())]
        ),
        if log.is_empty() {
            escape_html(&text.t("diagnose.no_log"))
        } else {
            escape_html(&log)
        }
    );
    reply(tg, inc, out, None).await;
}

/// `/where`: the chats in `chat_activity.json`, grouped.
pub async fn where_(tg: &Telegram, inc: &Incoming) {
    let text = tg.text();
    let records = tg.activity.records();
    if records.is_empty() {
        reply(tg, inc, escape_html(&text.t("groups.none")), None).await;
        return;
    }
    let mut out = text.t("groups.title");
    let sections = [
        ("groups.active", vec!["active"]),
        ("groups.rejected", vec!["rejected"]),
        ("groups.left", vec!["left", "kicked", "auto_left"]),
    ];
    for (title, statuses) in sections {
        let lines: Vec<String> = records
            .iter()
            .filter(|r| statuses.contains(&r.status.as_str()))
            .map(|r| {
                let extra = match r.status.as_str() {
                    "rejected" => format!(" — {}x rejected", r.rejected_count),
                    "active" => String::new(),
                    other => format!(" [{other}]"),
                };
                format!(
                    "<code>{}</code> — {} ({}){extra}",
                    r.chat_id,
                    escape_html(&r.title),
                    escape_html(&r.chat_type)
                )
            })
            .collect();
        if !lines.is_empty() {
            let _ = write!(out, "\n\n{}\n{}", text.t(title), lines.join("\n"));
        }
    }
    reply(tg, inc, out, None).await;
}

/// `/leave <group_id>`.
pub async fn leave(tg: &Telegram, inc: &Incoming, args: &str) {
    let text = tg.text();
    let Ok(chat) = args.trim().parse::<i64>() else {
        reply(tg, inc, text.t("groups.leave_usage"), None).await;
        return;
    };
    match tg.api.bot().leave_chat(teloxide::types::ChatId(chat)).await {
        Ok(_) => {
            tg.activity.membership(
                super::activity::ChatInfo {
                    chat_id: chat,
                    chat_type: "group",
                    title: "",
                },
                "left",
                false,
            );
            reply(
                tg,
                inc,
                text.f("groups.left_ok", &[("chat", &chat.to_string())]),
                None,
            )
            .await;
        }
        Err(e) => {
            let err = super::api::classify(&e).to_string();
            let html = text.f(
                "groups.leave_failed",
                &[("chat", &chat.to_string()), ("error", &escape_html(&err))],
            );
            reply(tg, inc, html, None).await;
        }
    }
}

/// `/agent_commands`.
pub async fn agent_commands(tg: &Telegram, inc: &Incoming) {
    reply(tg, inc, tg.text().t("agents.commands"), None).await;
}

/// `/restart`: leave a sentinel so the next start says "restarted" here, then
/// ask the agent to exit with code 42 (the supervisor restarts it at once).
pub async fn restart(tg: &Telegram, inc: &Incoming) {
    let text = tg.text();
    let sentinel = RestartSentinel {
        chat_id: inc.chat_id,
        topic_id: inc.thread_id,
        message: text.t("restart.done"),
        timestamp: crate::session::freshness::format_time(chrono::Utc::now()),
    };
    if let Err(e) = crate::store::write_json(&tg.paths().restart_sentinel(), &sentinel) {
        tracing::error!("{e}");
    }
    reply(tg, inc, escape_html(&text.t("restart.restarting")), None).await;
    tracing::info!(chat = inc.chat_id, "restart requested from the chat");
    tg.restart.cancel();
}
