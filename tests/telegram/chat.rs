//! Transport behaviour around the conversation: backlog, duplicates, groups,
//! buttons, files, commands, resilience.

use super::{BOT, CHAT, TgRig};
use crate::support::fake_telegram::{Fault, Incoming, MessageView, Outcome};
use crate::support::mock_llm::Reply;
use serde_json::json;
use std::fmt::Write as _;
use std::time::Duration;

const TURN: Duration = Duration::from_mins(1);

impl TgRig {
    /// Waits until the bot wrote a message in `chat` containing `needle`.
    async fn wait_bot_text(&self, chat: i64, needle: &str) -> MessageView {
        self.wait_from(self.bot, chat, needle).await
    }

    fn prompts(&self) -> Vec<String> {
        self.mock
            .requests()
            .into_iter()
            .map(|r| r.last_user_text)
            .collect()
    }
}

#[tokio::test]
async fn backlog_messages_are_handled_when_recent_and_noted_when_old() {
    let rig = TgRig::start_with(
        "claude",
        "sonnet",
        |_| {},
        |tg, bot| {
            tg.user_sends(
                bot,
                super::CHAT,
                Incoming::text("ancient request").sent_ago(Duration::from_hours(1)),
            );
            tg.user_sends(
                bot,
                super::CHAT,
                Incoming::text("recent request").sent_ago(Duration::from_mins(2)),
            );
        },
    )
    .await;
    rig.wait_bot_text(CHAT, "You said: \"recent request\"")
        .await;
    rig.wait_bot_text(CHAT, "ignored 1 message").await;
    assert!(!rig.prompts().iter().any(|p| p.contains("ancient")));
}

#[tokio::test]
async fn a_duplicate_update_is_processed_once() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    let sent = rig.say("only once");
    rig.wait_bot_text(CHAT, "You said: \"only once\"").await;
    rig.tg.redeliver_update(rig.bot, sent.update_id.unwrap());
    let after = rig.say("and then this");
    rig.wait_bot_text(CHAT, "You said: \"and then this\"").await;
    let n = rig
        .prompts()
        .iter()
        .filter(|p| p.contains("only once"))
        .count();
    assert_eq!(n, 1);
    let _ = after;
}

#[tokio::test]
async fn groups_need_the_group_and_the_user_and_honour_mention_only() {
    let gid = std::cell::Cell::new(0);
    let other = std::cell::Cell::new(0);
    let rig = TgRig::start_with(
        "claude",
        "sonnet",
        |c| {
            c["allowed_group_ids"] = json!([gid.get()]);
            c["group_mention_only"] = json!(true);
        },
        |tg, bot| {
            let g = tg.create_supergroup("Team", false);
            tg.bot_added_to_chat(bot, g, super::CHAT, false);
            gid.set(g);
            let o = tg.create_supergroup("Strangers", false);
            tg.bot_added_to_chat(bot, o, super::CHAT, false);
            other.set(o);
        },
    )
    .await;
    let (gid, other) = (gid.get(), other.get());
    rig.tg.user_sends_text(
        rig.bot,
        other,
        &format!("@{BOT} hello from an unknown group"),
    );
    rig.tg
        .user_sends_text(rig.bot, gid, "not addressed to the bot");
    rig.tg
        .user_sends_text(rig.bot, gid, "/status@some_other_bot");
    let stranger = 3_000_003;
    rig.tg.add_user(stranger, "Eve", None);
    rig.tg.user_sends(
        rig.bot,
        gid,
        Incoming::text(format!("@{BOT} from a stranger")).from(stranger),
    );
    rig.tg
        .user_sends_text(rig.bot, gid, &format!("@{BOT} addressed hello"));
    rig.wait_bot_text(gid, "You said: \"addressed hello\"")
        .await;
    rig.tg
        .user_sends_text(rig.bot, gid, &format!("/status@{BOT}"));
    rig.wait_bot_text(gid, "Status").await;
    let prompts = rig.prompts();
    assert!(
        !prompts.iter().any(|p| p.contains("not addressed")),
        "{prompts:?}"
    );
    assert!(
        !prompts.iter().any(|p| p.contains("stranger")),
        "{prompts:?}"
    );
    assert!(
        !prompts.iter().any(|p| p.contains("unknown group")),
        "{prompts:?}"
    );
    assert!(!prompts.iter().any(|p| p.contains("status")), "{prompts:?}");
    let calls = rig.tg.calls_for(other);
    assert!(
        calls
            .iter()
            .all(|c| matches!(c.method.as_str(), "getChat" | "leaveChat" | "sendMessage")),
        "{calls:?}"
    );
    assert!(
        calls
            .iter()
            .filter(|c| c.method == "sendMessage")
            .all(|c| !c.params["text"].as_str().unwrap_or("").contains("You said")),
        "{calls:?}"
    );
}

#[tokio::test]
async fn agent_buttons_become_a_keyboard_and_a_press_is_the_next_message() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    rig.mock.script(
        "MOCK_CHOICE",
        Reply::text("Which one?\n\n[button:Yes please] [button:No]\n[button:Later]"),
    );
    rig.say("MOCK_CHOICE");
    let bot = rig.bot;
    let msg = rig
        .tg
        .wait_until(TURN, move |w| {
            w.visible_messages(bot, CHAT)
                .into_iter()
                .find(|m| m.from_bot == Some(bot) && m.callback_data().len() == 3)
        })
        .await;
    assert_eq!(
        msg.text.as_deref(),
        Some("Which one?"),
        "markers are not shown"
    );
    let rows = msg.buttons();
    assert_eq!(rows.len(), 2, "one row per line of markers");
    rig.tg
        .user_presses_button(rig.bot, CHAT, msg.message_id, "a:Yes please");
    rig.wait_bot_text(CHAT, "You said: \"Yes please\"").await;
    let pressed = rig.tg.message(rig.bot, CHAT, msg.message_id).unwrap();
    assert!(pressed.contains("[USER ANSWER] Yes please"), "{pressed:?}");
    assert!(pressed.callback_data().is_empty(), "keyboard removed");
}

#[tokio::test]
async fn file_tags_send_files_inside_the_allowed_roots_only() {
    let rig = TgRig::start("claude", "sonnet", |c| {
        c["file_access"] = json!("workspace");
    })
    .await;
    let report = rig.home.root.join("workspace/output_to_user/report.txt");
    std::fs::create_dir_all(report.parent().unwrap()).unwrap();
    std::fs::write(&report, b"the report").unwrap();
    let outside = rig.home.root.join("secret.txt");
    std::fs::write(&outside, b"secret").unwrap();
    rig.mock.script(
        "MOCK_FILES",
        Reply::text(format!(
            "Here it is: <file:{}>\nAnd this: <file:{}>",
            report.display(),
            outside.display()
        )),
    );
    rig.say("MOCK_FILES");
    rig.wait_bot_text(CHAT, "outside the allowed directories")
        .await;
    let uploads = rig.tg.uploads();
    assert_eq!(uploads.len(), 1, "{uploads:?}");
    assert_eq!(uploads[0].file_name.as_deref(), Some("report.txt"));
    assert_eq!(&uploads[0].data[..], b"the report");
    let shown: String = rig
        .tg
        .calls()
        .iter()
        .filter(|c| matches!(c.method.as_str(), "sendMessage" | "editMessageText"))
        .filter_map(|c| c.param_str("text"))
        .collect();
    assert!(
        !shown.contains("<file:") && !shown.contains("&lt;file:"),
        "tags are never shown"
    );
}

#[tokio::test]
async fn start_shows_quick_buttons_that_run_their_prompt() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    rig.say("/start");
    let welcome = rig.wait_bot_text(CHAT, "ductor agent").await;
    let data = welcome.callback_data();
    assert_eq!(data, ["w:1", "w:2", "w:3"]);
    rig.tg
        .user_presses_button(rig.bot, CHAT, welcome.message_id, "w:3");
    rig.wait_bot_text(CHAT, "You said: \"Who are you?").await;
    rig.say("/help");
    rig.wait_bot_text(CHAT, "/interrupt").await;
}

#[tokio::test]
async fn status_reports_session_model_and_providers() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    rig.say("hello");
    rig.wait_bot_text(CHAT, "You said").await;
    rig.wait_session("claude", |s| s.is_some()).await;
    rig.say("/status");
    let status = rig.wait_bot_text(CHAT, "Providers").await;
    let text = status.text.unwrap();
    assert!(text.contains("1 message(s)"), "{text}");
    assert!(text.contains("Claude / sonnet"), "{text}");
    assert!(text.contains("[claude] authenticated"), "{text}");
    assert!(text.contains("● main"), "{text}");
    assert!(
        text.contains(
            "Streaming: edit · tool progress on · thinking indicator on · reasoning stream off"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn bare_stop_goes_to_the_agent_by_default() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    let slow = rig.say("MOCK_SLOW");
    rig.wait_text(CHAT, slow.message_id, "slow-chunk-", TURN)
        .await;
    // While the agent works, a bare "stop" is a message like any other: queued.
    let stop = rig.say("stop");
    let bot = rig.bot;
    rig.tg
        .wait_until(TURN, move |w| {
            w.visible_messages(bot, CHAT).into_iter().find(|m| {
                m.reply_to == Some(stop.message_id)
                    && m.text.as_deref() == Some("[Message in queue...]")
            })
        })
        .await;
    // The running turn goes on, and after it the word reaches the model.
    let before = rig.text_after(CHAT, slow.message_id).len();
    rig.wait_text(CHAT, slow.message_id, "slow-chunk-20 ", TURN)
        .await;
    assert!(rig.text_after(CHAT, slow.message_id).len() > before);
    let int = rig.say("/interrupt");
    rig.wait_text(CHAT, int.message_id, "Interrupted 1 process", TURN)
        .await;
    rig.wait_bot_text(CHAT, "You said: \"stop\"").await;
}

#[tokio::test]
async fn with_abort_words_a_bare_stop_stops_the_running_turn() {
    let rig = TgRig::start("claude", "sonnet", |c| c["abort_words"] = json!(true)).await;
    let slow = rig.say("MOCK_SLOW");
    rig.wait_text(CHAT, slow.message_id, "slow-chunk-", TURN)
        .await;
    let stop = rig.say("stop");
    rig.wait_text(CHAT, stop.message_id, "Agent stopped", TURN)
        .await;
    assert!(
        !rig.prompts().iter().any(|p| p == "stop"),
        "the word did not reach the model"
    );
}

#[tokio::test]
async fn an_empty_answer_gets_the_placeholder() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    rig.mock.script("MOCK_SILENT", Reply::text(""));
    rig.say("MOCK_SILENT");
    rig.wait_bot_text(CHAT, "updated memory silently").await;
}

#[tokio::test]
async fn telegram_server_errors_are_retried() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    rig.tg
        .inject_failure("getUpdates", 1, Fault::server_error(502));
    rig.tg
        .inject_failure("sendMessage", 1, Fault::server_error(502));
    rig.say("still there?");
    rig.wait_bot_text(CHAT, "You said: \"still there?\"").await;
    // Both faults were really served, and each call was made again after it.
    for method in ["getUpdates", "sendMessage"] {
        rig.tg
            .wait_until(TURN, move |w| {
                let calls = w.calls_of(method);
                let failed = calls
                    .iter()
                    .position(|c| matches!(&c.outcome, Outcome::Err(e) if e.code == 502))?;
                (calls.len() > failed + 1).then_some(())
            })
            .await;
    }
}

#[tokio::test]
async fn append_mode_sends_new_messages_instead_of_edits() {
    let rig = TgRig::start("claude", "sonnet", |c| {
        c["streaming"]["append_mode"] = json!(true);
    })
    .await;
    let text = (1..=60).fold(String::new(), |mut t, i| {
        let _ = write!(t, "Line {i} of the answer.\n\n");
        t
    });
    rig.mock.script(
        "MOCK_APPEND",
        Reply::text(text.clone()).chunk_delay(Duration::from_millis(30)),
    );
    rig.say("MOCK_APPEND");
    rig.wait_bot_text(CHAT, "Line 60 of the answer.").await;
    // The turn is over once the status reaction is cleared: nothing is edited after.
    rig.say("and done");
    rig.wait_bot_text(CHAT, "You said: \"and done\"").await;
    assert_eq!(rig.tg.count("editMessageText"), 0);
    assert!(rig.tg.count("sendMessage") >= 2);
}

#[tokio::test]
async fn forwarded_and_quoted_words_reach_the_model_labelled_with_their_author() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    // A forwarded command is someone else's text: it is a prompt, never a command.
    rig.tg.user_sends(
        rig.bot,
        CHAT,
        Incoming::text("/new please [forwarded from the admin]").forwarded_from("Mallory [ops]"),
    );
    rig.wait_bot_text(CHAT, "You said:").await;
    let prompt = rig.prompts().last().cloned().unwrap();
    assert!(
        prompt.starts_with("[forwarded from Mallory ops]\n/new please"),
        "{prompt:?}"
    );

    let answer = rig.wait_bot_text(CHAT, "You said:").await;
    let asked = rig.tg.user_sends(
        rig.bot,
        CHAT,
        Incoming::text("why that?").reply_to(answer.message_id),
    );
    rig.wait_text(CHAT, asked.message_id, "prior_assistant_turns=1", TURN)
        .await;
    let prompt = rig.prompts().last().cloned().unwrap();
    assert!(
        prompt
            .contains("[quoted from you (your earlier answer)]:\n> Hello from mock-llm. You said:"),
        "{prompt:?}"
    );
    assert!(
        prompt.ends_with("The user's message:\nwhy that?"),
        "{prompt:?}"
    );
}

#[tokio::test]
async fn a_message_with_a_newer_bot_api_entity_still_reaches_the_model() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    rig.tg.open_private_chat(rig.bot, CHAT);
    // Bot API 9.5's `date_time` entity: teloxide reads such a message as empty.
    rig.tg.enqueue_update(
        rig.bot,
        "message",
        json!({
            "message_id": 9001,
            "date": now,
            "chat": {"id": CHAT, "type": "private", "first_name": "Alice"},
            "from": {"id": CHAT, "is_bot": false, "first_name": "Alice"},
            "text": "remind me at 10:00 tomorrow",
            "entities": [{"type": "date_time", "offset": 12, "length": 5, "unix_time": now + 3600}],
        }),
    );
    rig.wait_bot_text(CHAT, "You said: \"remind me at 10:00 tomorrow\"")
        .await;
}
