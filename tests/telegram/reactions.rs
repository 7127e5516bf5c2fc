//! Status reactions on the user's message (`scene.status_reactions`, on by default):
//! 👀 received, ✍ working, then 👍 done, 👎 failed or 😱 timed out, which stays; a
//! stopped or cancelled turn loses its reaction. Off, the original's stage emoji
//! (`scene.status_reaction`) come back.

use super::{CHAT, TgRig};
use crate::conversation::reaction_over;
use crate::support::fake_telegram::Outcome as CallOutcome;
use serde_json::{Value, json};
use std::time::Duration;

const TURN: Duration = Duration::from_mins(1);

/// The emoji of a `reaction` parameter (a JSON array, or its text in a form).
fn emoji_of(reaction: &Value) -> Option<String> {
    let list = match reaction {
        Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
        other => other.clone(),
    };
    list.get(0)
        .and_then(|r| r.get("emoji"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

impl TgRig {
    /// Every reaction the bot set on message `id` of the private chat, in order
    /// (`None`: removed). Each was accepted by the server.
    pub(crate) fn reactions_on(&self, id: i32) -> Vec<Option<String>> {
        self.tg
            .calls_of("setMessageReaction")
            .into_iter()
            .filter(|c| c.params["message_id"].to_string().trim_matches('"') == id.to_string())
            .map(|c| {
                assert!(
                    matches!(c.outcome, CallOutcome::Ok(_)),
                    "refused reaction: {c:#?}"
                );
                emoji_of(&c.params["reaction"])
            })
            .collect()
    }

    /// Waits until the reaction on message `id` is `emoji` (`None`: no reaction).
    async fn wait_reaction(&self, id: i32, emoji: Option<&str>) {
        let (bot, want) = (self.bot, emoji.map(str::to_owned));
        self.tg
            .wait_until(TURN, move |w| {
                let m = w.message(bot, CHAT, id)?;
                (m.reactions.first() == want.as_ref() && m.reactions.len() <= 1).then_some(())
            })
            .await;
    }
}

fn some(emoji: &[&str]) -> Vec<Option<String>> {
    emoji.iter().map(|e| Some((*e).to_owned())).collect()
}

#[tokio::test]
async fn a_turn_shows_eyes_then_writing_and_ends_with_thumbs_up() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    let sent = rig.say("hello");
    rig.wait_done(sent.message_id, "prior_assistant_turns=0")
        .await;
    rig.wait_reaction(sent.message_id, Some("👍")).await;
    assert_eq!(rig.reactions_on(sent.message_id), some(&["👀", "✍", "👍"]));
    // ✍ comes before the answer's first text, 👍 after its last.
    let calls = rig.tg.calls_for(CHAT);
    let reaction_at = |emoji: &str| {
        calls
            .iter()
            .position(|c| {
                c.method == "setMessageReaction"
                    && emoji_of(&c.params["reaction"]).as_deref() == Some(emoji)
            })
            .unwrap()
    };
    let answers: Vec<usize> = calls
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            matches!(
                c.method.as_str(),
                "sendMessage" | "editMessageText" | "sendMessageDraft"
            )
        })
        .map(|(i, _)| i)
        .collect();
    assert!(!answers.is_empty());
    assert!(reaction_at("👀") < reaction_at("✍"));
    assert!(reaction_at("✍") < answers[0], "{calls:#?}");
    assert!(answers[answers.len() - 1] < reaction_at("👍"), "{calls:#?}");
}

#[tokio::test]
async fn a_failed_turn_ends_with_thumbs_down() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    let sent = rig.say("MOCK_ERROR_401");
    rig.wait_done(sent.message_id, "not logged in").await;
    rig.wait_reaction(sent.message_id, Some("👎")).await;
    assert_eq!(rig.reactions_on(sent.message_id), some(&["👀", "✍", "👎"]));
}

#[tokio::test]
async fn a_timed_out_turn_ends_with_a_scream() {
    let rig = TgRig::start("claude", "sonnet", |c| {
        c["timeouts"]["normal"] = json!(2);
        c["timeouts"]["extend_on_activity"] = json!(false);
    })
    .await;
    let sent = rig.say("MOCK_SLOW");
    rig.wait_done(sent.message_id, "took longer than").await;
    rig.wait_reaction(sent.message_id, Some("😱")).await;
    assert_eq!(rig.reactions_on(sent.message_id), some(&["👀", "✍", "😱"]));
    rig.wait_no_cli().await;
}

#[tokio::test]
async fn a_cancelled_queued_turn_and_a_stopped_one_lose_their_reaction() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    let slow = rig.say("MOCK_SLOW");
    // Running (it streams for 30 s).
    rig.wait_reaction(slow.message_id, Some("✍")).await;
    let queued = rig.say("cancel me please");
    let bot = rig.bot;
    let indicator = rig
        .tg
        .wait_until(TURN, move |w| {
            w.visible_messages(bot, CHAT).into_iter().find(|m| {
                m.reply_to == Some(queued.message_id)
                    && m.text.as_deref() == Some("[Message in queue...]")
            })
        })
        .await;
    // Waiting in the queue: 👀.
    rig.wait_reaction(queued.message_id, Some("👀")).await;
    let data = indicator.callback_data();
    rig.tg
        .user_presses_button(rig.bot, CHAT, indicator.message_id, &data[0]);
    rig.wait_reaction(queued.message_id, None).await;
    let mut dropped = some(&["👀"]);
    dropped.push(None);
    assert_eq!(rig.reactions_on(queued.message_id), dropped);
    // /stop ends the running turn: no outcome on it.
    let stop = rig.say("/stop");
    rig.wait_text(CHAT, stop.message_id, "Agent stopped", TURN)
        .await;
    rig.wait_reaction(slow.message_id, None).await;
    let mut stopped = some(&["👀", "✍"]);
    stopped.push(None);
    assert_eq!(rig.reactions_on(slow.message_id), stopped);
    let over = rig.tg.message(rig.bot, CHAT, slow.message_id).unwrap();
    assert!(reaction_over(&over));
}

#[tokio::test]
async fn with_status_reactions_off_only_the_original_stage_emoji_remain() {
    let rig = TgRig::start("claude", "sonnet", |c| {
        c["scene"] = json!({"status_reactions": false, "status_reaction": false});
    })
    .await;
    let sent = rig.say("hello");
    rig.wait_done(sent.message_id, "prior_assistant_turns=0")
        .await;
    // An outcome reaction would follow the answer within milliseconds.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(rig.tg.count("setMessageReaction"), 0);
    drop(rig);

    let rig = TgRig::start("claude", "sonnet", |c| {
        c["scene"] = json!({"status_reactions": false, "status_reaction": true});
    })
    .await;
    let sent = rig.say("MOCK_TOOL: run a shell command");
    rig.wait_done(sent.message_id, "mock-tool-output").await;
    rig.wait_reaction(sent.message_id, None).await;
    let log = rig.reactions_on(sent.message_id);
    assert_eq!(log.first(), Some(&Some("🤔".to_owned())), "{log:?}");
    assert!(log.contains(&Some("👨\u{200d}💻".to_owned())), "{log:?}");
    assert_eq!(log.last(), Some(&None), "{log:?}");
    for outcome in ["👀", "✍", "👍", "👎", "😱"] {
        assert!(!log.contains(&Some(outcome.to_owned())), "{log:?}");
    }
}
