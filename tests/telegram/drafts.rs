//! Native drafts (Bot API 9.5+) end to end: a private chat's answer streams into a
//! draft and arrives as one final message; a group streams by edits; Telegram's Stop
//! on the draft stops the CLI and keeps the partial answer; a server without drafts
//! falls back to edits for that chat, remembered; a long edited answer ends in a new
//! message that notifies; a message with a `date_time` entity is answered.

use super::{BOT, CHAT, TgRig};
use crate::support::fake_telegram::Incoming;
use crate::support::mock_llm::Reply;
use serde_json::json;
use std::time::Duration;

const TURN: Duration = Duration::from_secs(90);

/// The shipped streaming settings (draft mode) with the rig's quick interval.
fn drafting(c: &mut serde_json::Value) {
    c["streaming"] = json!({"edit_interval_seconds": 1.0});
}

/// Pieces of the answer of [`slow_answer`].
const PIECES: usize = 250;

/// An answer of about 4 KB (one message) that streams for about `seconds`.
fn slow_answer(seconds: u64) -> Reply {
    Reply::text("Streamed words. ".repeat(PIECES).trim_end())
        .chunk_delay(Duration::from_millis(seconds * 1000 / (2 * PIECES) as u64))
}

#[tokio::test]
async fn a_private_answer_streams_into_a_draft_and_arrives_as_one_message() {
    let rig = TgRig::start("claude", "sonnet", drafting).await;
    rig.mock.script("DRAFTME", slow_answer(3));
    let sent = rig.say("DRAFTME please");
    let msgs = rig
        .wait_done(sent.message_id, "Streamed words. Streamed words.")
        .await;
    let drafts = rig.tg.drafts(rig.bot, CHAT);
    assert!(drafts.len() >= 2, "{drafts:#?}");
    assert_eq!(drafts[0].text, "", "Thinking… first");
    assert!(drafts.iter().all(|d| d.can_stop), "with Telegram's Stop");
    assert!(
        drafts
            .windows(2)
            .all(|w| w[1].text.len() >= w[0].text.len()),
        "the draft grows"
    );
    assert_eq!(msgs.len(), 1, "one final message: {msgs:#?}");
    let text = msgs[0].text.clone().unwrap_or_default();
    assert_eq!(text.matches("Streamed").count(), PIECES, "the whole answer");
    assert_eq!(rig.tg.count("editMessageText"), 0, "no edits");
    assert!(
        rig.tg.visible_draft(rig.bot, CHAT, None).is_none(),
        "the final message replaced the draft"
    );
}

#[tokio::test]
async fn a_group_answer_streams_by_edits_without_drafts() {
    let gid = std::cell::Cell::new(0);
    let rig = TgRig::start_with(
        "claude",
        "sonnet",
        |c| {
            drafting(c);
            c["allowed_group_ids"] = json!([gid.get()]);
        },
        |tg, bot| {
            let g = tg.create_supergroup("Team", false);
            tg.bot_added_to_chat(bot, g, CHAT, false);
            gid.set(g);
        },
    )
    .await;
    let gid = gid.get();
    rig.mock.script("DRAFTME", slow_answer(4));
    rig.tg
        .user_sends_text(rig.bot, gid, &format!("@{BOT} DRAFTME please"));
    rig.wait_from(rig.bot, gid, "Streamed words. Streamed words.")
        .await;
    rig.tg
        .wait_until(TURN, |w| (w.count("editMessageText") > 0).then_some(()))
        .await;
    assert!(rig.tg.drafts(rig.bot, gid).is_empty());
    assert_eq!(rig.tg.count("sendMessageDraft"), 0);
}

#[tokio::test]
async fn telegrams_stop_on_the_draft_stops_the_cli_and_keeps_the_partial_answer() {
    let rig = TgRig::start("claude", "sonnet", drafting).await;
    rig.mock.script("DRAFTME", slow_answer(30));
    let sent = rig.say("DRAFTME please");
    let bot = rig.bot;
    let draft = rig
        .tg
        .wait_until(TURN, move |w| {
            w.visible_draft(bot, CHAT, None)
                .filter(|d| d.text.contains("Streamed words"))
        })
        .await;
    rig.tg
        .user_stops_generation(rig.bot, CHAT, None, draft.draft_id)
        .expect("the draft can be stopped");
    let msgs = rig.wait_done(sent.message_id, "Stopped.").await;
    let text: String = msgs.iter().filter_map(|m| m.text.clone()).collect();
    assert!(text.contains("Streamed words"), "{text}");
    assert!(
        text.matches("Streamed").count() < PIECES,
        "stopped before the end: {text}"
    );
    rig.wait_no_cli().await;
    // The next message resumes the session.
    let next = rig.say("Say hello");
    let msgs = rig.wait_done(next.message_id, "Hello from mock-llm").await;
    let all: String = msgs.iter().filter_map(|m| m.text.clone()).collect();
    assert!(!all.contains("prior_assistant_turns=0"), "resumed: {all}");
}

#[tokio::test]
async fn a_server_without_drafts_falls_back_to_edits_for_that_chat() {
    let rig = TgRig::start_with("claude", "sonnet", drafting, |tg, _| {
        tg.set_drafts_supported(false);
    })
    .await;
    rig.mock.script("DRAFTME", slow_answer(3));
    let sent = rig.say("DRAFTME please");
    rig.wait_done(sent.message_id, "Streamed words. Streamed words.")
        .await;
    assert!(rig.tg.count("editMessageText") > 0, "streamed by edits");
    let tried = rig.tg.count("sendMessageDraft");
    assert_eq!(tried, 1, "asked once");
    let again = rig.say("DRAFTME again");
    rig.wait_done(again.message_id, "Streamed words. Streamed words.")
        .await;
    assert_eq!(rig.tg.count("sendMessageDraft"), tried, "remembered");
}

#[tokio::test]
async fn a_long_answer_streamed_by_edits_ends_in_a_new_message() {
    let rig = TgRig::start("claude", "sonnet", |c| {
        c["streaming"] = json!({
            "mode": "edit", "edit_interval_seconds": 1.0, "notify_after_seconds": 2
        });
    })
    .await;
    rig.mock.script("DRAFTME", slow_answer(5));
    let sent = rig.say("DRAFTME please");
    let msgs = rig
        .wait_done(sent.message_id, "Streamed words. Streamed words.")
        .await;
    assert_eq!(msgs.len(), 1, "{msgs:#?}");
    assert!(
        rig.tg.count("deleteMessage") >= 1,
        "the preview was deleted"
    );
    assert!(rig.tg.count("editMessageText") >= 1, "it streamed by edits");
    let sends = rig
        .tg
        .calls()
        .iter()
        .filter(|c| c.is("sendMessage") && c.params["chat_id"] == json!(CHAT))
        .count();
    assert!(sends >= 2, "preview and final message: {sends}");
    assert_eq!(rig.tg.count("sendMessageDraft"), 0);
}

#[tokio::test]
async fn a_message_with_a_date_time_entity_is_answered() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    let sent = rig.tg.user_sends(
        rig.bot,
        CHAT,
        Incoming::text("remind me tomorrow at noon").with_date_time("tomorrow", 1_767_225_600),
    );
    rig.wait_done(sent.message_id, "remind me tomorrow at noon")
        .await;
}

#[tokio::test]
async fn the_stop_button_under_an_edited_answer_stops_the_cli() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    rig.mock.script("DRAFTME", slow_answer(30));
    let sent = rig.say("DRAFTME please");
    let bot = rig.bot;
    let streaming = rig
        .tg
        .wait_until(TURN, move |w| {
            w.visible_messages(bot, CHAT).into_iter().find(|m| {
                m.from_bot == Some(bot)
                    && m.message_id > sent.message_id
                    && m.callback_data() == ["sp"]
            })
        })
        .await;
    rig.tg
        .user_presses_button(rig.bot, CHAT, streaming.message_id, "sp");
    rig.wait_no_cli().await;
    let bot = rig.bot;
    let kept = rig
        .tg
        .wait_until(TURN, move |w| {
            w.message(bot, CHAT, streaming.message_id)
                .filter(|m| m.callback_data().is_empty())
        })
        .await;
    assert!(kept.contains("Streamed words"), "{kept:?}");
    // A completed answer keeps no Stop button.
    let next = rig.say("Say hello");
    let msgs = rig.wait_done(next.message_id, "Hello from mock-llm").await;
    assert!(
        msgs.iter().all(|m| m.callback_data().is_empty()),
        "{msgs:#?}"
    );
}
