//! The group audit (§6.9, §8.7): at start, every 24 hours and as soon as
//! `allowed_group_ids` or `allowed_channel_ids` change, the bot leaves every group
//! and channel it is in (recorded `active` or `rejected` in `chat_activity.json`)
//! that the config no longer allows, after a short notice there; the chat is
//! recorded `auto_left`. A chat that is already gone (the bot was removed, the chat
//! deleted) is recorded `left`; a leave that fails for a passing reason (network,
//! flood control) is tried again at the next audit, never in a loop.

use super::activity::{ChatActivity, ChatInfo};
use super::{Telegram, address};
use crate::chat::api::{ApiError, BoxFut, OutMessage};
use crate::config::{AgentConfig, LiveConfig};
use crate::state::chat_activity::ChatActivityRecord;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the audit runs without a config change.
pub const EVERY: Duration = Duration::from_hours(24);

/// What the audit does to a chat: the Bot API, or a test's stand-in.
pub trait Exit: Send + Sync {
    /// Posts `text` in the chat (best effort: a chat that refuses it is left anyway).
    fn notify<'a>(&'a self, chat_id: i64, text: &'a str) -> BoxFut<'a, ()>;
    /// Leaves the chat.
    fn leave(&self, chat_id: i64) -> BoxFut<'_, Result<(), ApiError>>;
}

impl Exit for Telegram {
    fn notify<'a>(&'a self, chat_id: i64, text: &'a str) -> BoxFut<'a, ()> {
        Box::pin(async move {
            let msg = OutMessage::plain(text);
            let _ = self
                .fe
                .send_message(&address(chat_id, None), msg, false)
                .await;
        })
    }

    fn leave(&self, chat_id: i64) -> BoxFut<'_, Result<(), ApiError>> {
        Box::pin(self.api.leave_chat(chat_id))
    }
}

/// The groups and channels of `records` the bot is in that `config` does not allow
/// (private chats are never left).
pub fn unwanted(records: &[ChatActivityRecord], config: &AgentConfig) -> Vec<ChatActivityRecord> {
    let group_ok = |id: &i64| config.allowed_group_ids.contains(id);
    let channel_ok = |id: &i64| config.allowed_channel_ids.contains(id);
    records
        .iter()
        .filter(|r| matches!(r.status.as_str(), "active" | "rejected"))
        .filter(|r| match r.chat_type.as_str() {
            "channel" => !channel_ok(&r.chat_id),
            "group" | "supergroup" => !group_ok(&r.chat_id),
            // A record without a type: a group or channel when its id is negative.
            "" => r.chat_id < 0 && !group_ok(&r.chat_id) && !channel_ok(&r.chat_id),
            _ => false,
        })
        .cloned()
        .collect()
}

/// One audit: leaves the chats [`unwanted`] names, saying `notice` there first.
/// Returns the chats that are no longer served (left, or found gone).
pub async fn audit(
    activity: &ChatActivity,
    config: &AgentConfig,
    exit: &dyn Exit,
    notice: &str,
) -> Vec<i64> {
    let mut gone = Vec::new();
    for r in unwanted(&activity.records(), config) {
        let info = ChatInfo {
            chat_id: r.chat_id,
            chat_type: &r.chat_type,
            title: &r.title,
        };
        exit.notify(r.chat_id, notice).await;
        let status = match exit.leave(r.chat_id).await {
            Ok(()) => {
                tracing::info!(chat = r.chat_id, title = %r.title, "left a chat that is no longer allowed");
                "auto_left"
            }
            Err(e @ (ApiError::Network(_) | ApiError::RetryAfter(_))) => {
                tracing::warn!(chat = r.chat_id, error = %e, "cannot leave a chat that is no longer allowed; trying again at the next audit");
                continue;
            }
            Err(e) => {
                tracing::info!(chat = r.chat_id, error = %e, "a chat that is no longer allowed is gone already");
                "left"
            }
        };
        activity.membership(info, status, false);
        gone.push(r.chat_id);
    }
    gone
}

/// The allow lists the audit follows.
fn allow_lists(c: &AgentConfig) -> (Vec<i64>, Vec<i64>) {
    (c.allowed_group_ids.clone(), c.allowed_channel_ids.clone())
}

/// Runs `audit` now, then every [`EVERY`] and at once whenever the allow lists of
/// `config` change (other changes do not count), until `stop`.
pub async fn schedule<F, Fut>(config: LiveConfig, stop: CancellationToken, mut audit: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut changes = config.subscribe();
    let mut watching = true;
    loop {
        let audited = allow_lists(&config.get());
        audit().await;
        let due = tokio::time::Instant::now() + EVERY;
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep_until(due) => break,
                changed = changes.changed(), if watching => {
                    if changed.is_err() {
                        watching = false;
                        continue;
                    }
                    // Compared with what was audited, not with the change's `before`: a
                    // slow watcher sees only the latest of several changes.
                    let now = allow_lists(&changes.borrow_and_update().after);
                    if now != audited {
                        break;
                    }
                }
            }
        }
    }
}

/// The transport's audit loop (until shutdown).
pub async fn run(tg: Arc<Telegram>) {
    let config = tg.fe.core().config.clone();
    let stop = tg.fe.shutdown.clone();
    schedule(config, stop, move || {
        let tg = tg.clone();
        async move {
            let notice = tg.text().t("groups.no_longer_allowed");
            let config = tg.config();
            audit(&tg.activity, &config, tg.as_ref(), &notice).await;
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Records what the audit did; leaving some chats fails.
    #[derive(Default)]
    struct Recorder {
        notified: Mutex<Vec<i64>>,
        left: Mutex<Vec<i64>>,
        fail: Vec<(i64, ApiError)>,
    }

    impl Exit for Recorder {
        fn notify<'a>(&'a self, chat_id: i64, _text: &'a str) -> BoxFut<'a, ()> {
            self.notified.lock().unwrap().push(chat_id);
            Box::pin(async {})
        }

        fn leave(&self, chat_id: i64) -> BoxFut<'_, Result<(), ApiError>> {
            let failure = self.fail.iter().find(|(id, _)| *id == chat_id);
            let result = failure.map_or_else(
                || {
                    self.left.lock().unwrap().push(chat_id);
                    Ok(())
                },
                |(_, e)| Err(e.clone()),
            );
            Box::pin(async move { result })
        }
    }

    fn record(activity: &ChatActivity, chat_id: i64, chat_type: &str) {
        activity.seen(ChatInfo {
            chat_id,
            chat_type,
            title: "t",
        });
    }

    fn status(activity: &ChatActivity, chat_id: i64) -> String {
        activity
            .records()
            .into_iter()
            .find(|r| r.chat_id == chat_id)
            .map(|r| r.status)
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn leaves_only_groups_and_channels_no_longer_allowed_and_tolerates_failures() {
        let dir = tempfile::tempdir().unwrap();
        let activity = ChatActivity::load(&dir.path().join("chat_activity.json"));
        record(&activity, 7, "private");
        record(&activity, -1, "group");
        record(&activity, -2, "supergroup");
        record(&activity, -3, "channel");
        record(&activity, -4, "channel");
        record(&activity, -5, "supergroup");
        record(&activity, -6, "supergroup");
        // Already left earlier: not touched again.
        record(&activity, -8, "group");
        activity.membership(
            ChatInfo {
                chat_id: -8,
                chat_type: "group",
                title: "t",
            },
            "left",
            false,
        );
        // A non-allowed group the bot still sits in (its messages were refused).
        activity.rejected(ChatInfo {
            chat_id: -9,
            chat_type: "supergroup",
            title: "t",
        });
        let config = AgentConfig {
            allowed_user_ids: vec![7],
            allowed_group_ids: vec![-1],
            allowed_channel_ids: vec![-3],
            ..AgentConfig::default()
        };
        let exit = Recorder {
            fail: vec![
                (-5, ApiError::Forbidden("bot was kicked".into())),
                (-6, ApiError::Network("connection reset".into())),
            ],
            ..Recorder::default()
        };
        let mut gone = audit(&activity, &config, &exit, "bye").await;
        gone.sort_unstable();
        assert_eq!(gone, vec![-9, -5, -4, -2]);
        let mut notified = exit.notified.lock().unwrap().clone();
        notified.sort_unstable();
        assert_eq!(notified, vec![-9, -6, -5, -4, -2]);
        for (id, want) in [
            (7, "active"),
            (-1, "active"),
            (-2, "auto_left"),
            (-3, "active"),
            (-4, "auto_left"),
            (-5, "left"),
            (-6, "active"),
            (-8, "left"),
            (-9, "auto_left"),
        ] {
            assert_eq!(status(&activity, id), want, "chat {id}");
        }
        // The next audit tries only the chat whose leave failed for a passing reason.
        let again = Recorder::default();
        assert_eq!(audit(&activity, &config, &again, "bye").await, vec![-6]);
        assert_eq!(*again.left.lock().unwrap(), vec![-6]);
    }

    #[tokio::test(start_paused = true)]
    async fn audits_at_start_daily_and_when_the_allow_lists_change() {
        let live = LiveConfig::default();
        let count = Arc::new(AtomicUsize::new(0));
        let stop = CancellationToken::new();
        let counter = count.clone();
        let task = tokio::spawn(schedule(live.clone(), stop.clone(), move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async {}
        }));
        let step = Duration::from_secs(1);
        tokio::time::sleep(step).await;
        assert_eq!(count.load(Ordering::SeqCst), 1, "at start");
        let mut c = (*live.get()).clone();
        c.model = "haiku".into();
        live.set(c.clone());
        tokio::time::sleep(step).await;
        assert_eq!(count.load(Ordering::SeqCst), 1, "other keys do not count");
        c.allowed_group_ids = vec![-100];
        live.set(c.clone());
        tokio::time::sleep(step).await;
        assert_eq!(
            count.load(Ordering::SeqCst),
            2,
            "an allow-list change at once"
        );
        c.allowed_channel_ids = vec![-200];
        live.set(c);
        tokio::time::sleep(step).await;
        assert_eq!(count.load(Ordering::SeqCst), 3, "channels count too");
        tokio::time::sleep(EVERY.checked_sub(2 * step).unwrap()).await;
        assert_eq!(
            count.load(Ordering::SeqCst),
            3,
            "not before a day has passed"
        );
        tokio::time::sleep(2 * step).await;
        assert_eq!(
            count.load(Ordering::SeqCst),
            4,
            "a day after the last audit"
        );
        stop.cancel();
        task.await.unwrap();
    }
}
