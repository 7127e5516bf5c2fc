//! The Telegram-only commands: `/where` (the chats in `chat_activity.json`) and
//! `/leave <group id>`.

use super::Telegram;
use crate::md;
use crate::ops::Reply;
use std::fmt::Write as _;
use teloxide::prelude::Requester;

/// `/where`: the chats in `chat_activity.json`, grouped.
pub fn where_(tg: &Telegram) -> Reply {
    let text = tg.text();
    let records = tg.activity.records();
    if records.is_empty() {
        return Reply::text(md::escape(&text.t("groups.none")));
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
                    other => format!(" \\[{other}\\]"),
                };
                format!(
                    "{} — {} ({}){extra}",
                    md::code(&r.chat_id.to_string()),
                    md::escape(&r.title),
                    md::escape(&r.chat_type)
                )
            })
            .collect();
        if !lines.is_empty() {
            let _ = write!(out, "\n\n{}\n{}", text.t(title), lines.join("\n"));
        }
    }
    Reply::text(out)
}

/// `/leave <group_id>`.
pub async fn leave(tg: &Telegram, args: &str) -> Reply {
    let text = tg.text();
    let Ok(chat) = args.trim().parse::<i64>() else {
        return Reply::text(md::escape(&text.t("groups.leave_usage")));
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
            Reply::text(md::escape(
                &text.f("groups.left_ok", &[("chat", &chat.to_string())]),
            ))
        }
        Err(e) => {
            let err = super::api::classify(&e).to_string();
            Reply::text(md::escape(&text.f(
                "groups.leave_failed",
                &[("chat", &chat.to_string()), ("error", &err)],
            )))
        }
    }
}
