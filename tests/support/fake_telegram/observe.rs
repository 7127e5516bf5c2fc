//! Observation and waiting on `FakeTelegram`: the call log, chats as the user sees them, and
//! `wait_until` helpers that re-check after every change (no sleeps-and-hope).
//!
//! Read-only: nothing here changes the fake's state.

use std::time::Duration;

use super::FakeTelegram;
use super::view::{BotId, Call, DraftView, MessageView, Outcome, Upload, World};

/// The test did not see what it waited for in time.
#[derive(Clone, Debug)]
pub struct WaitTimeout {
    /// The last calls the server saw, one line each.
    pub recent_calls: String,
}

impl std::fmt::Display for WaitTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "fake Telegram: condition not met in time; recent calls:\n{}",
            self.recent_calls
        )
    }
}

impl FakeTelegram {
    // ----- observation -----

    /// Run `f` over a consistent view of everything (do not call the handle inside `f`).
    pub fn read<T>(&self, f: impl FnOnce(&World<'_>) -> T) -> T {
        self.shared.read(|st| f(&World { st }))
    }

    /// Every API call so far, in arrival order.
    pub fn calls(&self) -> Vec<Call> {
        self.read(|w| w.calls().to_vec())
    }

    /// Calls of one method (case-insensitive).
    pub fn calls_of(&self, method: &str) -> Vec<Call> {
        self.read(|w| w.calls_of(method).into_iter().cloned().collect())
    }

    /// Calls addressed to `chat_id`.
    pub fn calls_for(&self, chat_id: i64) -> Vec<Call> {
        self.read(|w| w.calls_for(chat_id).into_iter().cloned().collect())
    }

    /// Number of calls of `method`.
    pub fn count(&self, method: &str) -> usize {
        self.read(|w| w.count(method))
    }

    /// Messages still visible in a chat as `bot` sees it, oldest first.
    pub fn visible_messages(&self, bot: BotId, chat_id: i64) -> Vec<MessageView> {
        self.read(|w| w.visible_messages(bot, chat_id))
    }

    /// Visible messages the bot sent in the chat.
    pub fn bot_messages(&self, bot: BotId, chat_id: i64) -> Vec<MessageView> {
        self.read(|w| w.bot_messages(bot, chat_id))
    }

    /// One message (also when deleted).
    pub fn message(&self, bot: BotId, chat_id: i64, message_id: i32) -> Option<MessageView> {
        self.read(|w| w.message(bot, chat_id, message_id))
    }

    /// Every accepted `sendMessageDraft` update in a chat, oldest first, with its time,
    /// `can_stop`/`keep_on_stop`, and whether it is what the user sees now.
    pub fn drafts(&self, bot: BotId, chat_id: i64) -> Vec<DraftView> {
        self.read(|w| w.drafts(bot, chat_id))
    }

    /// The draft on screen in `(chat, thread)`: at most 30 s since its last update, not replaced
    /// by a normal bot message there, not stopped.
    pub fn visible_draft(
        &self,
        bot: BotId,
        chat_id: i64,
        thread: Option<i32>,
    ) -> Option<DraftView> {
        self.read(|w| w.visible_draft(bot, chat_id, thread))
    }

    /// Files uploaded by bots.
    pub fn uploads(&self) -> Vec<Upload> {
        self.read(|w| w.uploads().to_vec())
    }

    /// The bot's commands for the default scope.
    pub fn commands(&self, bot: BotId) -> Vec<(String, String)> {
        self.read(|w| w.commands(bot))
    }

    // ----- waiting -----

    /// Wait until `f` returns `Some`, re-checking after every change; `Err` after `timeout`.
    pub async fn try_wait_until<T>(
        &self,
        timeout: Duration,
        mut f: impl FnMut(&World<'_>) -> Option<T>,
    ) -> Result<T, WaitTimeout> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut changes = self.shared.subscribe();
        loop {
            if let Some(v) = self.read(&mut f) {
                return Ok(v);
            }
            if tokio::time::timeout_at(deadline, changes.changed())
                .await
                .is_err()
            {
                return self.read(&mut f).ok_or_else(|| WaitTimeout {
                    recent_calls: self.recent_calls(30),
                });
            }
        }
    }

    /// Like `try_wait_until`, panicking with the recent calls on timeout.
    pub async fn wait_until<T>(
        &self,
        timeout: Duration,
        f: impl FnMut(&World<'_>) -> Option<T>,
    ) -> T {
        match self.try_wait_until(timeout, f).await {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        }
    }

    /// Wait for a visible message in the chat matching `pred`.
    pub async fn wait_for_message(
        &self,
        bot: BotId,
        chat_id: i64,
        timeout: Duration,
        pred: impl Fn(&MessageView) -> bool,
    ) -> MessageView {
        self.wait_until(timeout, |w| {
            w.visible_messages(bot, chat_id)
                .into_iter()
                .find(|m| pred(m))
        })
        .await
    }

    /// Wait for a visible bot message whose text or caption contains `needle`.
    pub async fn wait_for_text(
        &self,
        bot: BotId,
        chat_id: i64,
        needle: &str,
        timeout: Duration,
    ) -> MessageView {
        self.wait_for_message(bot, chat_id, timeout, |m| {
            m.from_bot == Some(bot) && m.contains(needle)
        })
        .await
    }

    /// Wait until at least `n` calls of `method` have finished; returns them.
    pub async fn wait_for_calls(&self, method: &str, n: usize, timeout: Duration) -> Vec<Call> {
        self.wait_until(timeout, |w| {
            let done: Vec<Call> = w
                .calls_of(method)
                .into_iter()
                .filter(|c| c.outcome != Outcome::Pending)
                .cloned()
                .collect();
            (done.len() >= n).then_some(done)
        })
        .await
    }

    /// One line per recent call: `#seq method chat=… → ok|error`.
    pub fn recent_calls(&self, n: usize) -> String {
        self.read(|w| {
            let calls = w.calls();
            calls[calls.len().saturating_sub(n)..]
                .iter()
                .map(|c| {
                    let outcome = match &c.outcome {
                        Outcome::Pending => "pending".to_owned(),
                        Outcome::Ok(_) => "ok".to_owned(),
                        Outcome::Err(e) => e.to_string(),
                        Outcome::Abandoned => "abandoned".to_owned(),
                    };
                    let chat = c
                        .chat_id()
                        .map(|id| format!(" chat={id}"))
                        .unwrap_or_default();
                    format!("  #{} {}{chat} -> {outcome}", c.seq, c.method)
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
    }
}
