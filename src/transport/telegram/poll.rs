//! Long polling. Network trouble and server errors back off and retry forever; the
//! last handled update id is persisted (`telegram_state.json`) so a restart neither
//! loses nor repeats messages. Messages that waited while ductor was down are
//! handled when younger than [`MAX_BACKLOG_AGE`]; older ones get one note per chat.

use super::api::{POLL_TIMEOUT_SECS, TgApi, classify};
use super::recover::GetUpdatesRaw;
use super::{Me, StartError, Telegram, address, dispatch};
use crate::chat::api::{ApiError, OutMessage};
use crate::persist::Persisted;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use teloxide::prelude::Requester;
use teloxide::types::UpdateKind;
use tokio_util::sync::CancellationToken;

/// Messages older than this when they reach us are not run.
pub const MAX_BACKLOG_AGE: chrono::Duration = chrono::Duration::minutes(10);

/// `telegram_state.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PollState {
    /// Highest update id handled.
    #[serde(default)]
    pub last_update_id: u32,
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_secs(1u64 << attempt.min(6)).min(Duration::from_mins(1))
}

/// Calls `getMe` until it works (network errors retry with backoff). `Ok(None)`
/// when shut down first; an error when the token is refused.
pub async fn connect(api: &TgApi, shutdown: &CancellationToken) -> Result<Option<Me>, StartError> {
    let mut attempt = 0;
    loop {
        let res = tokio::select! {
            () = shutdown.cancelled() => return Ok(None),
            r = api.bot().get_me() => r,
        };
        match res {
            Ok(me) => {
                return Ok(Some(Me {
                    id: me.id.0 as i64,
                    username: me.username.clone().unwrap_or_default(),
                }));
            }
            Err(teloxide::RequestError::Api(teloxide::ApiError::InvalidToken)) => {
                return Err(StartError::BadToken("Unauthorized".into()));
            }
            Err(e) => {
                let wait = backoff(attempt);
                tracing::warn!(error = %classify(&e), ?wait, "cannot reach the Telegram Bot API; retrying");
                attempt += 1;
                tokio::select! {
                    () = shutdown.cancelled() => return Ok(None),
                    () = tokio::time::sleep(wait) => {}
                }
            }
        }
    }
}

/// The update kind of Telegram's Stop button on a draft (teloxide does not know it).
const STOPPED: &str = "stopped_message_generation";

/// `stopped_message_generation {chat, message_thread_id?, draft_id}`: the user pressed
/// Stop on the draft of a running answer. The turn that streams into that draft is
/// interrupted (its CLI stopped, the partial answer kept as a message marked as
/// stopped); a stale or foreign stop does nothing.
async fn stopped_generation(tg: &Arc<Telegram>, raw: &serde_json::Value, offset: u32) {
    let id = raw.get("update_id").and_then(serde_json::Value::as_u64);
    if id.is_none_or(|id| id < u64::from(offset)) {
        return;
    }
    let stop = &raw[STOPPED];
    let chat_id = stop
        .get("chat")
        .and_then(|c| c.get("id"))
        .and_then(serde_json::Value::as_i64);
    let draft = stop.get("draft_id").and_then(serde_json::Value::as_u64);
    let (Some(chat_id), Some(draft)) = (chat_id, draft) else {
        tracing::warn!("a stopped_message_generation update without chat or draft; ignored");
        return;
    };
    let thread = stop
        .get("message_thread_id")
        .and_then(serde_json::Value::as_i64);
    // Drafts are private chats: the chat is the user; only allowed users stop.
    let config = tg.config();
    if !super::auth::allowed(
        &config,
        super::auth::ChatKind::Private,
        chat_id,
        Some(chat_id),
    ) {
        tracing::info!(
            chat = chat_id,
            "a stop from a chat that is not allowed; ignored"
        );
        return;
    }
    if tg.api.shown_draft(chat_id, thread) != Some(draft) {
        tracing::debug!(
            chat = chat_id,
            draft,
            "a stop for a draft that is not shown; ignored"
        );
        return;
    }
    let to = address(chat_id, thread);
    let stopped = tg
        .ops()
        .core
        .conversations
        .stop_running(&to, &crate::session::Lane::Main)
        .await;
    tracing::info!(chat = %to, stopped, "Stop pressed on the draft");
}

/// Polls until shutdown, dispatching every update.
pub async fn run(tg: Arc<Telegram>) {
    let state: Persisted<PollState> =
        Persisted::load(&tg.ops().core.paths.root().join("telegram_state.json"));
    let mut offset = state.read(|s| s.last_update_id).saturating_add(1);
    let mut attempt = 0;
    let allowed = vec![
        "message",
        "channel_post",
        "callback_query",
        "my_chat_member",
        // Bot API 10.3: the user pressed Stop on a draft.
        STOPPED,
    ];
    loop {
        let req = teloxide::requests::JsonRequest::new(
            tg.api.bot().clone(),
            GetUpdatesRaw {
                offset: offset as i32,
                timeout: POLL_TIMEOUT_SECS,
                allowed_updates: allowed.clone(),
            },
        );
        let res = tokio::select! {
            () = tg.fe.shutdown.cancelled() => break,
            r = req => r,
        };
        let updates = match res {
            Ok(u) => {
                attempt = 0;
                u
            }
            Err(e) => {
                let err = classify(&e);
                let wait = match &err {
                    ApiError::RetryAfter(d) => *d,
                    _ => backoff(attempt),
                };
                attempt += 1;
                tracing::warn!(error = %err, ?wait, "getUpdates failed; retrying");
                tokio::select! {
                    () = tg.fe.shutdown.cancelled() => break,
                    () = tokio::time::sleep(wait) => {}
                }
                continue;
            }
        };
        // The offset is saved before anything runs: a crash in the middle of the batch
        // must not run its turns a second time after the restart.
        let newest = updates
            .iter()
            .filter_map(|u| u.get("update_id").and_then(serde_json::Value::as_u64))
            .filter_map(|id| u32::try_from(id).ok())
            .max();
        if let Some(newest) = newest.filter(|n| *n >= offset) {
            state.update(|s| s.last_update_id = newest);
            if let Err(e) = state.save().await {
                tracing::error!("{e}; a restart may handle these updates again");
            }
        }
        let mut old_per_chat: BTreeMap<(i64, Option<i64>), usize> = BTreeMap::new();
        for raw in updates {
            if raw.get(STOPPED).is_some() {
                stopped_generation(&tg, &raw, offset).await;
                continue;
            }
            let Some(update) = super::recover::read(&raw) else {
                continue;
            };
            let id = update.id.0;
            if id < offset {
                continue;
            }
            if let UpdateKind::Message(msg) | UpdateKind::ChannelPost(msg) = &update.kind {
                let age = chrono::Utc::now() - msg.date;
                if age > MAX_BACKLOG_AGE && dispatch::is_authorised_message(&tg, msg) {
                    let thread = msg
                        .is_topic_message
                        .then(|| msg.thread_id.map(|t| i64::from(t.0.0)))
                        .flatten();
                    *old_per_chat.entry((msg.chat.id.0, thread)).or_default() += 1;
                    continue;
                }
            }
            dispatch::update(&tg, update).await;
        }
        if let Some(newest) = newest {
            offset = offset.max(newest.saturating_add(1));
        }
        for ((chat_id, thread_id), count) in old_per_chat {
            let text = tg
                .text()
                .f("session.old_ignored", &[("count", &count.to_string())]);
            let to = address(chat_id, thread_id);
            let _ = tg
                .fe
                .send_message(&to, OutMessage::plain(text), false)
                .await;
        }
    }
    state.flush().await;
}
