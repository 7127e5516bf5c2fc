//! What a (re)started agent tells its chats: the restart sentinel (`/restart` →
//! "restarted") and turns that a crash or restart interrupted, each with a Retry
//! button that re-runs the same prompt in the same session.

use super::Telegram;
use super::format::escape_html;
use crate::state::sentinel::RestartSentinel;
use crate::transport::chat_api::{Button, ChatApi, ChatTarget, OutMessage};
use std::sync::Arc;

/// Runs once after connecting.
pub async fn on_start(tg: &Arc<Telegram>) {
    consume_restart_sentinel(tg).await;
    announce_interrupted(tg).await;
}

async fn consume_restart_sentinel(tg: &Telegram) {
    let path = tg.paths().restart_sentinel();
    let Ok(bytes) = std::fs::read(&path) else {
        return;
    };
    let _ = std::fs::remove_file(&path);
    match serde_json::from_slice::<RestartSentinel>(&bytes) {
        Ok(s) => {
            let target = ChatTarget {
                chat_id: s.chat_id,
                thread_id: s.topic_id,
            };
            let text = if s.message.is_empty() {
                "Restarted.".to_owned()
            } else {
                s.message
            };
            if let Err(e) = tg.api.send(target, OutMessage::plain(text)).await {
                tracing::warn!(error = %e, "cannot send the restart notice");
            }
        }
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "unreadable restart sentinel ignored");
        }
    }
}

async fn announce_interrupted(tg: &Telegram) {
    let config = tg.env().config();
    let max_age = chrono::Duration::seconds((config.timeouts.normal * 2.0).max(1200.0) as i64);
    let turns = tg
        .env()
        .inflight
        .take_interrupted(max_age, chrono::Utc::now());
    for (key, turn) in turns {
        if turn.chat_id == 0 {
            continue;
        }
        let text = tg.text();
        let preview: String = turn.prompt_preview.chars().take(100).collect();
        let html = escape_html(&text.f(
            "session.interrupted",
            &[("preview", &format!("“{preview}”"))],
        ));
        let keyboard = vec![vec![Button {
            label: text.t("session.retry_button"),
            data: format!("rt:{key}"),
        }]];
        let target = ChatTarget {
            chat_id: turn.chat_id,
            thread_id: turn.topic_id,
        };
        let msg = OutMessage::html(html)
            .replying_to(turn.message_id)
            .with_keyboard(Some(keyboard));
        if let Err(e) = tg.api.send(target, msg).await {
            tracing::warn!(error = %e, chat = turn.chat_id, "cannot announce an interrupted turn");
        }
    }
}
