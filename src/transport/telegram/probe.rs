//! One-off questions to the Bot API outside a running agent: is this token good
//! (`getMe`, for the onboarding wizard, `ductor agents add` and `ductor doctor`), and
//! who is writing to the bot right now (the wizard's "send /start" step).
//!
//! Plain HTTP, not teloxide: the answers carry the server's `Date` header (the
//! doctor's clock check) and the errors must never show the request URL, which
//! holds the token.

use chrono::{DateTime, Utc};
use serde_json::Value;
use std::time::Duration;

/// What `getMe` says about a bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotInfo {
    /// Its numeric id.
    pub id: i64,
    /// Its `@username` (without the `@`).
    pub username: String,
    /// Its display name.
    pub first_name: String,
    /// The server's clock (from the HTTP `Date` header), when it sent one.
    pub server_time: Option<DateTime<Utc>>,
}

/// Why a token could not be checked. Every variant's text is one sentence a user
/// can act on, and none contains the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// The server refused the token.
    #[error(
        "Telegram refused this token (401 Unauthorized): copy it again from @BotFather, it looks like 123456789:AA…"
    )]
    BadToken,
    /// The text cannot be a token at all.
    #[error("this is not a bot token: it looks like 123456789:AA… (digits, a colon, then letters)")]
    Malformed,
    /// Another program polls this bot (or a webhook is set).
    #[error(
        "another program is reading this bot's messages (409 Conflict: a running ductor or a webhook); stop it and try again"
    )]
    Conflict,
    /// The server could not be reached or answered nonsense.
    #[error("cannot reach the Telegram Bot API at {url}: {reason}")]
    Unreachable {
        /// The API base URL (no token).
        url: String,
        /// What went wrong.
        reason: String,
    },
}

/// Someone who wrote to the bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    /// Their numeric user id (what `allowed_user_ids` holds).
    pub id: i64,
    /// Their first name.
    pub first_name: String,
    /// Their `@username`, when they have one.
    pub username: Option<String>,
}

fn client(timeout: Duration) -> Result<reqwest::Client, ProbeError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| ProbeError::Unreachable {
            url: String::new(),
            reason: e.to_string(),
        })
}

/// Calls `method` with `body`; the `result` of a successful answer and the `Date`
/// header.
async fn call(
    api_url: &str,
    token: &str,
    method: &str,
    body: &Value,
    timeout: Duration,
) -> Result<(Value, Option<DateTime<Utc>>), ProbeError> {
    if !crate::secret::looks_like_bot_token(token) {
        return Err(ProbeError::Malformed);
    }
    let base = api_url.trim_end_matches('/');
    let unreachable = |reason: String| ProbeError::Unreachable {
        url: base.to_owned(),
        reason,
    };
    let resp = client(timeout)?
        .post(format!("{base}/bot{token}/{method}"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| unreachable(e.without_url().to_string()))?;
    let status = resp.status();
    let date = crate::transport::probe::server_date(&resp);
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| unreachable(e.without_url().to_string()))?;
    match status.as_u16() {
        401 | 404 => return Err(ProbeError::BadToken),
        409 => return Err(ProbeError::Conflict),
        _ => {}
    }
    let answer: Value = serde_json::from_slice(&bytes)
        .map_err(|_| unreachable(format!("HTTP {status} without a Bot API answer")))?;
    if answer.get("ok").and_then(Value::as_bool) == Some(true) {
        return Ok((answer.get("result").cloned().unwrap_or(Value::Null), date));
    }
    let desc = answer
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("no description");
    Err(unreachable(format!("HTTP {status}: {desc}")))
}

/// Checks `token` with `getMe` at `api_url`.
pub async fn get_me(api_url: &str, token: &str, timeout: Duration) -> Result<BotInfo, ProbeError> {
    let (me, server_time) = call(api_url, token, "getMe", &serde_json::json!({}), timeout).await?;
    let id = me.get("id").and_then(Value::as_i64);
    let username = me.get("username").and_then(Value::as_str);
    match (id, username) {
        (Some(id), Some(username)) => Ok(BotInfo {
            id,
            username: username.to_owned(),
            first_name: me
                .get("first_name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            server_time,
        }),
        _ => Err(ProbeError::Unreachable {
            url: api_url.trim_end_matches('/').to_owned(),
            reason: "getMe answered without a bot id and username".into(),
        }),
    }
}

/// The sender of a private message in one update, with the update's id.
fn private_sender(update: &Value) -> Option<(i64, Option<Sender>)> {
    let update_id = update.get("update_id")?.as_i64()?;
    let sender = update
        .get("message")
        .filter(|m| m.pointer("/chat/type").and_then(Value::as_str) == Some("private"))
        .and_then(|m| m.get("from"))
        .filter(|f| f.get("is_bot").and_then(Value::as_bool) != Some(true))
        .and_then(|from| {
            Some(Sender {
                id: from.get("id")?.as_i64()?,
                first_name: from
                    .get("first_name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                username: from
                    .get("username")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            })
        });
    Some((update_id, sender))
}

/// Waits up to `wait` for the next private message to the bot and returns its
/// sender; `Ok(None)` when nobody wrote in time. Messages that were already waiting
/// are skipped (they may be old), and the one found is acknowledged so the agent
/// does not answer it later.
pub async fn wait_for_sender(
    api_url: &str,
    token: &str,
    wait: Duration,
) -> Result<Option<Sender>, ProbeError> {
    let deadline = tokio::time::Instant::now() + wait;
    // Skip the backlog: ask for the newest update only and start after it.
    let (backlog, _) = call(
        api_url,
        token,
        "getUpdates",
        &serde_json::json!({"offset": -1, "timeout": 0}),
        Duration::from_secs(15),
    )
    .await?;
    let mut offset = backlog
        .as_array()
        .and_then(|a| a.last())
        .and_then(|u| u.get("update_id"))
        .and_then(Value::as_i64)
        .map_or(0, |id| id + 1);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        let poll = left.as_secs().clamp(1, 25);
        let body =
            serde_json::json!({"offset": offset, "timeout": poll, "allowed_updates": ["message"]});
        let (updates, _) = call(
            api_url,
            token,
            "getUpdates",
            &body,
            Duration::from_secs(poll + 15),
        )
        .await?;
        for update in updates.as_array().map(Vec::as_slice).unwrap_or_default() {
            let Some((id, sender)) = private_sender(update) else {
                continue;
            };
            offset = offset.max(id + 1);
            if let Some(sender) = sender {
                let ack = serde_json::json!({"offset": offset, "timeout": 0});
                // Best effort: an unacknowledged /start is merely answered later.
                let _ = call(api_url, token, "getUpdates", &ack, Duration::from_secs(15)).await;
                return Ok(Some(sender));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_private_human_messages_name_a_sender() {
        let private = serde_json::json!({"update_id": 7, "message": {"chat": {"type": "private"}, "from": {"id": 42, "first_name": "Ada", "is_bot": false}}});
        let group = serde_json::json!({"update_id": 8, "message": {"chat": {"type": "group"}, "from": {"id": 42, "first_name": "Ada"}}});
        let callback = serde_json::json!({"update_id": 9, "callback_query": {}});
        assert_eq!(
            private_sender(&private),
            Some((
                7,
                Some(Sender {
                    id: 42,
                    first_name: "Ada".into(),
                    username: None
                })
            ))
        );
        assert_eq!(private_sender(&group), Some((8, None)));
        assert_eq!(private_sender(&callback), Some((9, None)));
        assert_eq!(private_sender(&serde_json::json!({"message": {}})), None);
    }

    #[tokio::test]
    async fn errors_never_show_the_token() {
        let token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";
        // Nothing listens on this port.
        let err = get_me("http://127.0.0.1:9", token, Duration::from_secs(2))
            .await
            .unwrap_err();
        assert!(matches!(err, ProbeError::Unreachable { .. }), "{err:?}");
        assert!(!err.to_string().contains("AAHdq"), "{err}");
        assert_eq!(
            get_me("http://127.0.0.1:9", "nonsense", Duration::from_secs(2)).await,
            Err(ProbeError::Malformed)
        );
    }
}
