//! What a (re)started agent tells the chats of one transport: the restart sentinel
//! (`/restart` → "restarted"), the upgrade sentinel ("upgraded from X to Y") and the turns a crash or restart interrupted, each with
//! a Retry button that re-runs the same prompt in the same session.

use super::{Action, Button, Ops, Reply};
use crate::address::{Address, MessageRef};
use crate::md;
use crate::state::sentinel::RestartSentinel;

/// One message for a chat at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    /// Where.
    pub address: Address,
    /// What.
    pub reply: Reply,
    /// The message it answers.
    pub reply_to: Option<MessageRef>,
}

/// The announcements for the chats of `transport`; each is produced once.
pub fn on_start(ops: &Ops, transport: &str) -> Vec<Announcement> {
    let mut out = Vec::new();
    if let Some(a) = restart_sentinel(ops, transport) {
        out.push(a);
    }
    if let Some((address, reply)) = super::upgrade::announcement(&ops.core, transport) {
        out.push(Announcement {
            address,
            reply,
            reply_to: None,
        });
    }
    out.extend(interrupted(ops, transport));
    out
}

/// The restart sentinel, when it names a chat of `transport` (consumed then).
fn restart_sentinel(ops: &Ops, transport: &str) -> Option<Announcement> {
    let path = ops.core.paths.restart_sentinel();
    let bytes = std::fs::read(&path).ok()?;
    match serde_json::from_slice::<RestartSentinel>(&bytes) {
        Ok(s) if s.transport != transport => None,
        Ok(s) => {
            let _ = std::fs::remove_file(&path);
            let text = if s.message.is_empty() {
                "Restarted.".to_owned()
            } else {
                s.message
            };
            Some(Announcement {
                address: Address::new(&s.transport, s.chat_id, s.topic_id),
                reply: Reply::text(md::escape(&text)),
                reply_to: None,
            })
        }
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            tracing::warn!(path = %path.display(), error = %e, "unreadable restart sentinel ignored");
            None
        }
    }
}

/// Turns of `transport` that a restart interrupted, with their Retry buttons.
fn interrupted(ops: &Ops, transport: &str) -> Vec<Announcement> {
    let core = &ops.core;
    let config = core.config.get();
    let text = core.text();
    let max_age = chrono::Duration::seconds((config.timeouts.normal * 2.0).max(1200.0) as i64);
    let turns = core.conversations.engine().inflight.take_interrupted(
        transport,
        max_age,
        chrono::Utc::now(),
    );
    turns
        .into_iter()
        .filter(|(_, turn)| turn.chat_id != 0)
        .map(|(key, turn)| {
            let preview: String = turn.prompt_preview.chars().take(100).collect();
            let preview = preview.split_whitespace().collect::<Vec<_>>().join(" ");
            let body = md::escape(&text.f(
                "session.interrupted",
                &[("preview", &format!("“{preview}”"))],
            ));
            let buttons = vec![vec![Button::new(
                text.t("session.retry_button"),
                Action::Retry(key),
            )]];
            Announcement {
                address: Address::new(&turn.transport, turn.chat_id, turn.topic_id),
                reply: Reply::text(body).with_buttons(buttons),
                reply_to: turn.message_id,
            }
        })
        .collect()
}
