//! Notices and membership: the startup notice (first start, crash, reboot; silent
//! after a clean restart), the join notice in an allowed group (pinned), leaving a
//! group that is not or no longer allowed (the audit), and channel posts.

use super::{BOT, CHAT, TgRig};
use crate::support::daemon::{agent_pid, token};
use crate::support::fake_telegram::{BotId, FakeTelegram};
use ductor::ipc::message::AgentStatus;
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_mins(1);

/// The first line of the seeded `JOIN_NOTIFICATION.md`.
const JOIN_TEXT: &str = "I am a ductor agent";

impl TgRig {
    /// A rig set up by `before` (on the fake) and `prepare` (on the home), with `tweak`.
    async fn start_full(
        tweak: impl FnOnce(&mut Value),
        before: impl FnOnce(&FakeTelegram, BotId),
        prepare: impl FnOnce(&crate::support::daemon::TestHome),
    ) -> Self {
        let tg = FakeTelegram::start().await;
        let bot = tg.add_bot(&token(100_000_001), BOT);
        before(&tg, bot);
        Self::launch(tg, bot, "claude", "sonnet", tweak, prepare).await
    }

    /// `startup_state.json` of the main agent.
    fn startup_state(&self) -> Value {
        let text = std::fs::read_to_string(self.home.root.join("startup_state.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// Waits until the main agent runs in a process other than `old`; returns its pid.
    async fn wait_new_agent(&self, old: u32) -> u32 {
        let h = self
            .home
            .wait_health(WAIT, "a new main agent", |h| {
                h.agents.iter().any(|a| {
                    a.name == "main"
                        && a.status == AgentStatus::Running
                        && a.pid.is_some_and(|p| p != old)
                })
            })
            .await;
        agent_pid(&h, "main")
    }

    /// The bot's texts in `chat` after message `after`.
    fn texts_after(&self, chat: i64, after: i32) -> Vec<String> {
        self.replies_after(chat, after)
            .into_iter()
            .filter_map(|m| m.text)
            .collect()
    }

    /// The status `chat_activity.json` records for `chat`.
    async fn activity_status(&self, chat: i64) -> String {
        let path = self.home.root.join("chat_activity.json");
        let start = std::time::Instant::now();
        loop {
            let status = std::fs::read_to_string(&path)
                .ok()
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .and_then(|v| {
                    v["records"][chat.to_string()]["status"]
                        .as_str()
                        .map(str::to_owned)
                });
            if let Some(s) = status.filter(|s| s != "active") {
                return s;
            }
            if start.elapsed() > Duration::from_secs(10) {
                return "active".into();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn signal(pid: u32, sig: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig).unwrap();
}

#[tokio::test]
async fn a_first_start_and_a_crash_are_announced_and_a_clean_restart_is_not() {
    let rig = TgRig::start_prepared(
        "claude",
        "sonnet",
        |tg, bot| tg.open_private_chat(bot, CHAT),
        |home| std::fs::remove_file(home.root.join("startup_state.json")).unwrap(),
    )
    .await;
    let first = rig.wait_msg(CHAT, "for the first time").await;
    let state = rig.startup_state();
    assert_eq!(state["clean_exit"], json!(false), "running: {state}");
    assert_eq!(state["version"], json!(env!("CARGO_PKG_VERSION")));
    // Killed: the new process finds the run unfinished.
    let killed = agent_pid(&rig.home.health().await.unwrap(), "main");
    signal(killed, nix::sys::signal::Signal::SIGKILL);
    let crash = rig.wait_msg(CHAT, "did not shut down cleanly").await;
    assert!(crash.message_id > first.message_id);
    let pid = rig.wait_new_agent(killed).await;
    // SIGHUP: the agent stops in order (exit 42) and the supervisor starts it again.
    signal(pid, nix::sys::signal::Signal::SIGHUP);
    rig.wait_new_agent(pid).await;
    let hello = rig.say("hello after the restart");
    rig.wait_text(CHAT, hello.message_id, "You said", WAIT)
        .await;
    let later = rig.texts_after(CHAT, crash.message_id);
    assert!(
        later
            .iter()
            .all(|t| !t.contains("Back online") && !t.contains("first time")),
        "a clean restart is silent: {later:#?}"
    );
    assert_eq!(rig.startup_state()["clean_exit"], json!(false));
}

#[tokio::test]
async fn a_reboot_seen_in_the_originals_file_is_told_to_the_configured_target() {
    let group = std::cell::Cell::new(0);
    let rig = TgRig::start_full(
        |c| {
            c["allowed_group_ids"] = json!([group.get()]);
            c["notifications"] = json!({"startup_targets": [
                {"chat_id": group.get(), "enabled": true},
                {"chat_id": CHAT, "enabled": false},
            ]});
        },
        |tg, bot| {
            let g = tg.create_supergroup("Ops", false);
            tg.bot_added_to_chat(bot, g, CHAT, true);
            tg.open_private_chat(bot, CHAT);
            group.set(g);
        },
        |home| {
            // What the original wrote: no version, no end marker, another boot.
            let old = json!({"boot_id": "00000000-0000-4000-8000-000000000000",
                             "started_at": "2026-01-01T00:00:00+00:00"});
            std::fs::write(home.root.join("startup_state.json"), old.to_string()).unwrap();
        },
    )
    .await;
    let group = group.get();
    rig.wait_msg(group, "Back online after a system reboot")
        .await;
    let state = rig.startup_state();
    assert_ne!(
        state["boot_id"],
        json!("00000000-0000-4000-8000-000000000000")
    );
    // The private chat is not a target: it hears nothing of the start.
    let hello = rig.say("ping");
    rig.wait_text(CHAT, hello.message_id, "You said", WAIT)
        .await;
    let private = rig.texts_after(CHAT, 0);
    assert!(
        private.iter().all(|t| !t.contains("Back online")),
        "{private:#?}"
    );
}

#[tokio::test]
async fn groups_are_greeted_and_pinned_strangers_and_groups_no_longer_allowed_are_left() {
    // The audit runs at start (after a restart with a changed config) and on a live edit.
    let ids = std::cell::Cell::new((0, 0, 0));
    let mut rig = TgRig::start_full(
        |c| c["allowed_group_ids"] = json!([ids.get().0, ids.get().1]),
        |tg, bot| {
            let team = tg.create_supergroup("Team", false);
            tg.bot_added_to_chat(bot, team, CHAT, true);
            let plain = tg.create_group("Plain");
            tg.bot_added_to_chat(bot, plain, CHAT, false);
            let strangers = tg.create_supergroup("Strangers", false);
            tg.bot_added_to_chat(bot, strangers, CHAT, false);
            ids.set((team, plain, strangers));
        },
        |_| {},
    )
    .await;
    let (team, plain, strangers) = ids.get();
    let bot = rig.bot;
    // An allowed group: the join notice, pinned without a notification.
    let greeting = rig.wait_msg(team, JOIN_TEXT).await;
    let pin = rig
        .tg
        .wait_until(WAIT, move |w| {
            w.calls_of("pinChatMessage")
                .into_iter()
                .find(|c| c.chat_id() == Some(team) && c.succeeded())
                .cloned()
        })
        .await;
    assert_eq!(
        pin.param_i64("message_id"),
        Some(greeting.message_id.into())
    );
    assert!(pin.param_json("disable_notification") == Some(json!(true)));
    assert!(
        rig.tg
            .message(bot, team, greeting.message_id)
            .unwrap()
            .pinned
    );
    rig.wait_msg(plain, JOIN_TEXT).await;
    // Not allowed: a notice, then the bot leaves.
    rig.wait_msg(strangers, "not on my allow list").await;
    rig.tg
        .wait_until(WAIT, move |w| {
            w.calls_of("leaveChat")
                .iter()
                .any(|c| c.chat_id() == Some(strangers) && c.succeeded())
                .then_some(())
        })
        .await;
    assert_eq!(rig.activity_status(strangers).await, "auto_left");
    // A promotion to administrator is not a second join.
    rig.tg.bot_added_to_chat(bot, plain, CHAT, true);
    let ping = rig.say("ping");
    rig.wait_text(CHAT, ping.message_id, "You said", WAIT).await;
    // The allow list loses `plain` while the agent is down: the audit at start leaves it.
    drop(rig.daemon.take());
    rig.home
        .edit_config(|c| c["allowed_group_ids"] = json!([team]));
    rig.daemon = Some(rig.home.start_with_env(&rig.cli.vars()));
    rig.wait_msg(plain, "no longer on my allow list").await;
    rig.tg
        .wait_until(WAIT, move |w| {
            w.calls_of("leaveChat")
                .iter()
                .any(|c| c.chat_id() == Some(plain) && c.succeeded())
                .then_some(())
        })
        .await;
    assert_eq!(rig.activity_status(plain).await, "auto_left");
    let greetings = rig
        .tg
        .bot_messages(bot, plain)
        .into_iter()
        .filter(|m| m.contains(JOIN_TEXT))
        .count();
    assert_eq!(greetings, 1, "greeted once");
    assert!(
        !rig.tg
            .calls_of("leaveChat")
            .iter()
            .any(|c| c.chat_id() == Some(team)),
        "an allowed group stays"
    );
    // A live edit of the allow list: the running agent leaves at once.
    rig.home.edit_config(|c| c["allowed_group_ids"] = json!([]));
    rig.wait_msg(team, "no longer on my allow list").await;
    assert_eq!(rig.activity_status(team).await, "auto_left");
}

#[tokio::test]
async fn channel_posts_are_answered_in_an_allowed_channel_only() {
    let ids = std::cell::Cell::new((0, 0));
    let rig = TgRig::start_full(
        |c| c["allowed_channel_ids"] = json!([ids.get().0]),
        |tg, bot| {
            let news = tg.create_channel("News");
            tg.bot_added_to_chat(bot, news, CHAT, true);
            let other = tg.create_channel("Other");
            tg.bot_added_to_chat(bot, other, CHAT, true);
            // Posted before the agent reads that it must leave.
            tg.channel_post(bot, other, "hello from elsewhere");
            ids.set((news, other));
        },
        |_| {},
    )
    .await;
    let (news, other) = ids.get();
    let bot = rig.bot;
    rig.wait_msg(other, "allowed_channel_ids").await;
    let post = rig.tg.channel_post(bot, news, "hello channel");
    let reply = rig.wait_text(news, post.message_id, "You said", WAIT).await;
    assert!(
        reply.iter().any(|m| m.contains("hello channel")),
        "{reply:#?}"
    );
    // Commands work in a channel too.
    let new = rig.tg.channel_post(bot, news, "/new");
    rig.wait_text(news, new.message_id, "Session reset", WAIT)
        .await;
    let elsewhere = rig.texts_after(other, 0);
    assert!(
        elsewhere.iter().all(|t| !t.contains("You said")),
        "{elsewhere:#?}"
    );
    assert!(
        rig.mock
            .requests()
            .iter()
            .all(|r| !r.last_user_text.contains("elsewhere")),
        "a post of a channel that is not allowed never reaches the model"
    );
    // No join notice is posted into a channel (its subscribers would all see it).
    assert!(
        rig.texts_after(news, 0)
            .iter()
            .all(|t| !t.contains(JOIN_TEXT)),
        "no join notice in a channel"
    );
}
