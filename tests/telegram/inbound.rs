//! What an incoming message means before it becomes a turn (issue 20): a reply to a
//! voice note, photo or document tells the model what it quotes (§2.1, #135); abort
//! and interrupt words and the stop-all phrases (§13.4); the one-shot 👀 of
//! `scene.seen_reaction`; the session-age note every 10th message
//! (`session_age_warning_hours`); a channel leaves the allow list (§6.9).

use super::{CHAT, TgRig};
use crate::support::fake_telegram::{Incoming, MessageView};
use image::{ImageFormat, Rgb, RgbImage};
use serde_json::json;
use std::time::Duration;

const TURN: Duration = Duration::from_mins(1);

/// Waits until the bot answered message `id` (its text contains `needle`).
async fn answered(rig: &TgRig, id: i32, needle: &str) -> Vec<MessageView> {
    rig.wait_text(CHAT, id, needle, TURN).await
}

fn png() -> Vec<u8> {
    let img = RgbImage::from_fn(24, 16, |x, y| Rgb([(x * 9) as u8, (y * 11) as u8, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png).unwrap();
    out.into_inner()
}

#[tokio::test]
async fn replies_to_a_voice_note_photo_or_document_say_what_they_quote() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    let ogg = b"OggS\0\x02\0\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0\0\0\0\0\x01\x13OpusHead".to_vec();
    let voice = rig.tg.user_sends_voice(rig.bot, CHAT, ogg, 12);
    let photo = rig
        .tg
        .user_sends_photo(rig.bot, CHAT, png(), Some("my cat"));
    let doc = rig.tg.user_sends_document(
        rig.bot,
        CHAT,
        b"q1 10\nq2 20\n".to_vec(),
        "report.pdf",
        "application/pdf",
        Some("Q3 numbers"),
    );
    for (id, question) in [
        (voice.message_id, "what did I say there?"),
        (photo.message_id, "whose cat is it?"),
        (doc.message_id, "sum that up"),
    ] {
        rig.tg
            .user_sends(rig.bot, CHAT, Incoming::text(question).reply_to(id));
    }
    let quoted = |what: &str, question: &str| {
        format!(
            "The user is replying to this quoted message [quoted from Alice (@alice)]:\n> {what}\n\nThe user's message:\n{question}"
        )
    };
    let asked = rig.wait_prompt("what did I say there?").await;
    assert!(
        asked.contains(&quoted("[voice note, 0:12]", "what did I say there?")),
        "{asked:?}"
    );
    let asked = rig.wait_prompt("whose cat is it?").await;
    assert!(
        asked.contains(&quoted("[photo] my cat", "whose cat is it?")),
        "{asked:?}"
    );
    let asked = rig.wait_prompt("sum that up").await;
    assert!(
        asked.contains(&quoted("[document: report.pdf] Q3 numbers", "sum that up")),
        "{asked:?}"
    );
}

#[tokio::test]
async fn stop_all_works_without_abort_words_and_bare_words_stay_text() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    let slow = rig.say("MOCK_SLOW");
    rig.wait_text(CHAT, slow.message_id, "slow-chunk-", TURN)
        .await;
    // A bare interrupt word is a message like any other: it waits in the queue.
    let skip = rig.say("skip");
    let bot = rig.bot;
    rig.tg
        .wait_until(TURN, move |w| {
            w.visible_messages(bot, CHAT).into_iter().find(|m| {
                m.reply_to == Some(skip.message_id)
                    && m.text.as_deref() == Some("[Message in queue...]")
            })
        })
        .await;
    // The explicit phrase stops the running turn at once, ahead of the queue.
    let all = rig.say("Stop all");
    let reply = answered(&rig, all.message_id, "across all agents").await;
    assert!(
        reply.iter().any(|m| m.contains("Stopped 1 process(es)")),
        "{reply:#?}"
    );
    rig.wait_no_cli().await;
    // A bare "wait" with abort_words off reaches the model as text.
    let wait = rig.say("wait");
    answered(&rig, wait.message_id, "You said: \"wait\"").await;
    let prompts: Vec<String> = rig
        .mock
        .requests()
        .into_iter()
        .map(|r| r.last_user_text)
        .collect();
    assert!(
        !prompts.iter().any(|p| p.contains("Stop all")),
        "the phrase never reached the model: {prompts:?}"
    );
}

#[tokio::test]
async fn with_abort_words_a_bare_skip_interrupts_the_running_turn() {
    let rig = TgRig::start("claude", "sonnet", |c| c["abort_words"] = json!(true)).await;
    let slow = rig.say("MOCK_SLOW");
    rig.wait_text(CHAT, slow.message_id, "slow-chunk-", TURN)
        .await;
    let skip = rig.say("skip");
    answered(&rig, skip.message_id, "Interrupted 1 process").await;
    rig.wait_no_cli().await;
    assert!(
        rig.mock
            .requests()
            .iter()
            .all(|r| r.last_user_text != "skip"),
        "the word did not reach the model"
    );
    // Still only bare words: a sentence with the word is a message.
    let sentence = rig.say("skip the intro");
    answered(&rig, sentence.message_id, "You said: \"skip the intro\"").await;
}

#[tokio::test]
async fn seen_reaction_marks_a_message_with_eyes_that_stay() {
    let rig = TgRig::start("claude", "sonnet", |c| {
        c["scene"] =
            json!({"seen_reaction": true, "status_reactions": false, "status_reaction": false});
    })
    .await;
    let hello = rig.say("hello");
    answered(&rig, hello.message_id, "You said: \"hello\"").await;
    let bot = rig.bot;
    rig.tg
        .wait_until(TURN, move |w| {
            let m = w.message(bot, CHAT, hello.message_id)?;
            (m.reactions == ["👀"]).then_some(())
        })
        .await;
    // One reaction, set once, never changed or removed after the answer.
    let again = rig.say("again");
    answered(&rig, again.message_id, "You said: \"again\"").await;
    assert_eq!(rig.reactions_on(hello.message_id), [Some("👀".to_owned())]);
    assert_eq!(
        rig.tg
            .message(bot, CHAT, hello.message_id)
            .unwrap()
            .reactions,
        ["👀"]
    );
}

#[tokio::test]
async fn an_old_session_suggests_new_every_tenth_message() {
    let created = chrono::Utc::now() - chrono::Duration::hours(30);
    let sessions = json!({
        format!("tg:{CHAT}"): {
            "transport": "tg",
            "chat_id": CHAT,
            "topic_id": null,
            "topic_name": null,
            "provider": "claude",
            "model": "sonnet",
            "reasoning_effort": null,
            "created_at": created.to_rfc3339(),
            "last_active": chrono::Utc::now().to_rfc3339(),
            "provider_sessions": {
                "claude": {"session_id": "", "message_count": 8, "total_cost_usd": 0.0, "total_tokens": 0}
            }
        }
    });
    let rig = TgRig::start_prepared(
        "claude",
        "sonnet",
        |tg, bot| tg.open_private_chat(bot, CHAT),
        |home| std::fs::write(home.root.join("sessions.json"), sessions.to_string()).unwrap(),
    )
    .await;
    // The 9th message: no note.
    let ninth = rig.say("ninth");
    rig.wait_done(ninth.message_id, "You said: \"ninth\"").await;
    let note = "Use /new for a fresh start.";
    assert!(
        !rig.text_after(CHAT, ninth.message_id).contains(note),
        "{}",
        rig.text_after(CHAT, ninth.message_id)
    );
    // The 10th: the answer ends with the note.
    let tenth = rig.say("tenth");
    let msgs = rig.wait_done(tenth.message_id, note).await;
    let last = msgs.last().and_then(|m| m.text.clone()).unwrap_or_default();
    assert!(
        last.contains("You said: \"tenth\"")
            && last.ends_with("[Session is 30h old. Use /new for a fresh start.]"),
        "{last:?}"
    );
    // The 11th: none again.
    let eleventh = rig.say("eleventh");
    rig.wait_done(eleventh.message_id, "You said: \"eleventh\"")
        .await;
    assert!(!rig.text_after(CHAT, tenth.message_id + 1).contains(note));
}

#[tokio::test]
async fn a_channel_taken_off_the_allow_list_is_left() {
    let channel = std::cell::Cell::new(0);
    let rig = TgRig::start_with(
        "claude",
        "sonnet",
        |c| c["allowed_channel_ids"] = json!([channel.get()]),
        |tg, bot| {
            let news = tg.create_channel("News");
            tg.bot_added_to_chat(bot, news, CHAT, true);
            channel.set(news);
        },
    )
    .await;
    let news = channel.get();
    let post = rig.tg.channel_post(rig.bot, news, "first post");
    rig.wait_text(news, post.message_id, "You said", TURN).await;
    // A live edit of the allow list: the running agent says so and leaves the channel.
    rig.home
        .edit_config(|c| c["allowed_channel_ids"] = json!([]));
    rig.wait_text(news, post.message_id, "no longer on my allow list", TURN)
        .await;
    rig.tg
        .wait_until(TURN, move |w| {
            w.calls_of("leaveChat")
                .iter()
                .any(|c| c.chat_id() == Some(news) && c.succeeded())
                .then_some(())
        })
        .await;
}
