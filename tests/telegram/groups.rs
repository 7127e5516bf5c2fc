//! Commands that manage groups and agents: `/leave <group_id>` from the private chat,
//! `/restart` sent in a group (the notice comes back in that group), and
//! `/agent_restart <name>` (a sub-agent restarts as a new process; `main` refused).

use super::support::daemon::agent_pid;
use super::{CHAT, TgRig};
use ductor::ipc::message::AgentStatus;
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_mins(1);

/// A rig whose main agent serves one allowed supergroup (returned) that `CHAT` is in.
async fn with_group(title: &str) -> (TgRig, i64) {
    let gid = std::cell::Cell::new(0);
    let rig = TgRig::start_with(
        "claude",
        "sonnet",
        |c| c["allowed_group_ids"] = json!([gid.get()]),
        |tg, bot| {
            let g = tg.create_supergroup(title, false);
            tg.bot_added_to_chat(bot, g, CHAT, true);
            gid.set(g);
        },
    )
    .await;
    let gid = gid.get();
    (rig, gid)
}

#[tokio::test]
async fn leave_makes_the_bot_leave_a_group_and_records_it() {
    let (rig, gid) = with_group("Team").await;
    rig.tg.user_sends_text(rig.bot, gid, "hello group");
    rig.wait_msg(gid, "You said: \"hello group\"").await;

    rig.say("/leave");
    rig.wait_msg(CHAT, "Usage: /leave").await;
    assert_eq!(rig.tg.count("leaveChat"), 0, "no id: nothing left");

    rig.say(&format!("/leave {gid}"));
    rig.wait_msg(CHAT, &format!("Left chat {gid}.")).await;
    let calls = rig.tg.calls_of("leaveChat");
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].chat_id(), Some(gid));
    assert!(calls[0].succeeded());
    // The activity file is written in the background: wait for the record.
    let path = rig.home.root.join("chat_activity.json");
    let start = std::time::Instant::now();
    loop {
        let activity: Value = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let status = activity
            .pointer(&format!("/records/{gid}/status"))
            .or_else(|| activity.pointer(&format!("/{gid}/status")))
            .cloned();
        if status == Some(json!("left")) {
            break;
        }
        assert!(start.elapsed() < WAIT, "not recorded as left: {activity:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    rig.say("/where");
    let listed = rig.wait_msg(CHAT, "Left").await;
    let text = listed.text.unwrap_or_default();
    let left = text.split("Left").nth(1).unwrap_or_default();
    assert!(left.contains(&gid.to_string()), "{text}");

    // A chat the bot is not in: Telegram's refusal is told, nothing recorded.
    rig.say("/leave -100999");
    rig.wait_msg(CHAT, "Could not leave -100999").await;
}

#[tokio::test]
async fn restart_sent_in_a_group_is_announced_back_in_that_group() {
    let (rig, gid) = with_group("Ops").await;
    let old = agent_pid(&rig.home.health().await.expect("health"), "main");
    let asked = rig.tg.user_sends_text(rig.bot, gid, "/restart");
    let restarting = rig.wait_msg(gid, "Restarting").await;
    assert_eq!(restarting.reply_to, Some(asked.message_id));
    let done = rig.wait_msg(gid, "Restarted.").await;
    assert!(done.message_id > restarting.message_id);
    let h = rig.home.health().await.expect("health");
    assert_ne!(agent_pid(&h, "main"), old, "a new agent process");
    let private = rig.tg.bot_messages(rig.bot, CHAT);
    assert!(
        private.iter().all(|m| !m.contains("Restart")),
        "the private chat hears nothing of the group's restart: {private:#?}"
    );
    // The restarted agent answers in the group.
    rig.tg.user_sends_text(rig.bot, gid, "still there?");
    rig.wait_msg(gid, "You said: \"still there?\"").await;
}

/// The pid of agent `name` once it runs as a registered process other than `not`.
async fn running_pid(rig: &TgRig, name: &str, not: Option<u32>) -> u32 {
    let start = std::time::Instant::now();
    loop {
        let h = rig.home.health().await;
        let row = h
            .as_ref()
            .and_then(|h| h.agents.iter().find(|a| a.name == name).cloned());
        if let Some(a) = &row
            && a.status == AgentStatus::Running
            && a.pid.is_some()
            && a.pid != not
        {
            return a.pid.unwrap_or_default();
        }
        assert!(
            start.elapsed() < WAIT,
            "{name} never ran (other than {not:?}): {h:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn agent_restart_gives_a_sub_agent_a_new_process_and_refuses_main() {
    let (rig, bots) =
        TgRig::start_with_agents("claude", "sonnet", &[("sub1", "claude", "haiku")]).await;
    let old_main = running_pid(&rig, "main", None).await;
    let old_sub = running_pid(&rig, "sub1", None).await;

    rig.say("/agent_restart");
    rig.wait_msg(CHAT, "Usage: /agent_restart").await;
    rig.say("/agent_restart main");
    rig.wait_msg(CHAT, "Could not").await;
    rig.tg.user_sends_text(bots[0], CHAT, "/agent_restart sub1");
    rig.wait_from(bots[0], CHAT, "Only the main agent").await;

    // Names are taken in any case.
    rig.say("/agent_restart Sub1");
    rig.wait_msg(CHAT, "Restarted: sub1").await;
    let new_sub = running_pid(&rig, "sub1", Some(old_sub)).await;
    assert_ne!(new_sub, old_sub, "sub1 is a new process");
    assert_eq!(
        running_pid(&rig, "main", None).await,
        old_main,
        "main is untouched"
    );
    let h = rig.home.health().await.expect("health");
    let sub1 = h.agents.iter().find(|a| a.name == "sub1").unwrap();
    assert!(sub1.last_error.is_none(), "a restart is no crash: {sub1:?}");
    // The restarted sub-agent answers in its own chat.
    rig.tg.user_sends_text(bots[0], CHAT, "hello sub1");
    rig.wait_from(bots[0], CHAT, "You said: \"hello sub1\"")
        .await;
}

#[tokio::test]
async fn start_in_a_group_also_posts_and_pins_the_join_notice() {
    let (rig, gid) = with_group("Crew").await;
    let bot = rig.bot;
    // Joining posted the notice once.
    rig.wait_msg(gid, "I am a ductor agent").await;
    let pins_before = rig.tg.calls_of("pinChatMessage").len();
    let asked = rig.tg.user_sends_text(bot, gid, "/start").message_id;
    let notice_id = rig
        .tg
        .wait_until(WAIT, move |w| {
            w.visible_messages(bot, gid).into_iter().find(|m| {
                m.message_id > asked
                    && m.text
                        .as_deref()
                        .is_some_and(|t| t.contains("I am a ductor agent"))
            })
        })
        .await
        .message_id;
    let welcome = rig
        .tg
        .bot_messages(rig.bot, gid)
        .into_iter()
        .find(|m| m.message_id > asked && m.media.is_some())
        .expect("the welcome picture");
    assert!(welcome.contains("ductor agent"));
    assert!(welcome.message_id < notice_id, "welcome first");
    let pin = rig
        .tg
        .wait_until(WAIT, move |w| {
            w.calls_of("pinChatMessage")
                .into_iter()
                .find(|c| c.param_i64("message_id") == Some(notice_id.into()))
                .cloned()
        })
        .await;
    assert_eq!(pin.param_json("disable_notification"), Some(json!(true)));
    assert!(rig.tg.calls_of("pinChatMessage").len() > pins_before);
    // In the private chat /start is the welcome alone.
    let private = rig.say("/start");
    rig.wait_msg(CHAT, "ductor agent").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = rig.replies_after(CHAT, private.message_id);
    assert_eq!(after.len(), 1, "{after:#?}");
}
