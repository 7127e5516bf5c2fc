//! Live CLI sessions end to end: ductor with `permission_mode` `default` (so
//! `cli_mode` `auto` is live), the genuine CLIs against the mock model API, the fake
//! Bot API. A shell command the CLI wants to run becomes a message with buttons:
//! Allow once runs it, Deny blocks it, Allow for this session lets the same call run
//! unasked next time; one warm process serves the turns; `/stop` leaves no process; a
//! restart turns a waiting request into an expired one; a question is answered by
//! button; a message sent while a turn runs is added to it.

use super::{CHAT, TgRig};
use crate::support::fake_telegram::MessageView;
use crate::support::mock_llm::Reply;
use serde_json::json;
use std::time::Duration;

const TURN: Duration = Duration::from_secs(90);

/// A rig whose CLIs ask before they run tools; `tweak` edits the config further.
pub(super) async fn asking(
    provider: &str,
    model: &str,
    tweak: impl FnOnce(&mut serde_json::Value),
) -> TgRig {
    TgRig::start(provider, model, |c| {
        c["permission_mode"] = json!("default");
        tweak(c);
    })
    .await
}

/// Waits for the bot's message in `chat` after `after` containing `needle` that has
/// request buttons.
pub(super) async fn request_after(rig: &TgRig, chat: i64, after: i32, needle: &str) -> MessageView {
    let bot = rig.bot;
    let needle = needle.to_owned();
    rig.tg
        .wait_until(TURN, move |w| {
            w.visible_messages(bot, chat).into_iter().find(|m| {
                m.from_bot == Some(bot)
                    && m.message_id > after
                    && m.contains(&needle)
                    && m.callback_data().iter().any(|d| d.starts_with("ak:"))
            })
        })
        .await
}

/// The data of `msg`'s request button ending with `suffix`.
pub(super) fn button(msg: &MessageView, suffix: &str) -> String {
    msg.callback_data()
        .into_iter()
        .find(|d| d.starts_with("ak:") && d.ends_with(suffix))
        .unwrap_or_else(|| panic!("no {suffix} button in {:?}", msg.buttons()))
}

/// Waits until message `id` of `chat` has no buttons and contains `needle`.
pub(super) async fn settled(rig: &TgRig, chat: i64, id: i32, needle: &str) -> MessageView {
    let bot = rig.bot;
    let needle = needle.to_owned();
    rig.tg
        .wait_until(TURN, move |w| {
            w.message(bot, chat, id)
                .filter(|m| m.callback_data().is_empty() && m.contains(&needle))
        })
        .await
}

/// The live processes whose command line contains `marker`.
pub(super) fn live_processes(rig: &TgRig, marker: &str) -> Vec<(i32, String)> {
    rig.cli_processes()
        .into_iter()
        .filter(|(_, cmd)| cmd.contains(marker) && !cmd.contains("__reap"))
        .collect()
}

/// Presses the request button of `msg` whose data ends with `suffix`.
fn press(rig: &TgRig, msg: &MessageView, suffix: &str) {
    rig.tg
        .user_presses_button(rig.bot, msg.chat_id, msg.message_id, &button(msg, suffix));
}

/// The bot's request messages after `after`.
fn requests_after(rig: &TgRig, after: i32) -> Vec<MessageView> {
    rig.replies_after(CHAT, after)
        .into_iter()
        .filter(|m| m.callback_data().iter().any(|d| d.starts_with("ak:")))
        .collect()
}

#[tokio::test]
async fn claude_asks_by_button_once_denied_for_the_session_and_stop_ends_it() {
    let rig = asking("claude", "sonnet", |_| {}).await;
    let workspace = rig.home.root.join("workspace");

    // Allow once: the command runs.
    let sent = rig.say("MOCK_TOOL_CMD<<touch allowed.txt>>");
    let ask = request_after(&rig, CHAT, sent.message_id, "wants to use").await;
    let text = ask.text.clone().unwrap_or_default();
    assert!(
        text.contains("Bash") && text.contains("touch allowed.txt"),
        "{text}"
    );
    let labels: Vec<String> = ask
        .buttons()
        .into_iter()
        .flatten()
        .map(|b| b.text)
        .collect();
    for l in ["Allow once", "Allow for this session", "Deny"] {
        assert!(labels.iter().any(|x| x == l), "{labels:?}");
    }
    // Coloured where Telegram can (Bot API 9.4): allow green, deny red.
    let style = |label: &str| {
        ask.buttons()
            .into_iter()
            .flatten()
            .find(|b| b.text == label)
            .and_then(|b| b.style)
    };
    assert_eq!(style("Allow once").as_deref(), Some("success"));
    assert_eq!(style("Deny").as_deref(), Some("danger"));
    press(&rig, &ask, ":o");
    rig.wait_done(sent.message_id, "The tool ran").await;
    assert!(workspace.join("allowed.txt").exists());
    settled(&rig, CHAT, ask.message_id, "Allowed once.").await;
    let live = live_processes(&rig, "--permission-prompt-tool");
    assert_eq!(live.len(), 1, "one warm claude: {live:#?}");

    // Deny: it does not run; the turn still ends with the model's answer.
    let sent = rig.say("MOCK_TOOL_CMD<<touch denied.txt>>");
    let ask = request_after(&rig, CHAT, sent.message_id, "wants to use").await;
    press(&rig, &ask, ":d");
    settled(&rig, CHAT, ask.message_id, "Denied.").await;
    rig.wait_done(sent.message_id, "prior_assistant_turns")
        .await;
    assert!(!workspace.join("denied.txt").exists());

    // Allowed for the session: the same call is not asked again.
    let sent = rig.say("MOCK_TOOL_CMD<<touch session.txt>>");
    let ask = request_after(&rig, CHAT, sent.message_id, "wants to use").await;
    press(&rig, &ask, ":s");
    rig.wait_done(sent.message_id, "The tool ran").await;
    settled(&rig, CHAT, ask.message_id, "Allowed for this session.").await;
    std::fs::remove_file(workspace.join("session.txt")).unwrap();
    let sent = rig.say("MOCK_TOOL_CMD<<touch session.txt>>");
    rig.wait_done(sent.message_id, "The tool ran").await;
    assert!(workspace.join("session.txt").exists());
    assert!(
        requests_after(&rig, sent.message_id).is_empty(),
        "not asked again"
    );
    let again = live_processes(&rig, "--permission-prompt-tool");
    assert_eq!(again, live, "the same warm process took every turn");
    let status = rig.say("/status");
    rig.wait_text(
        CHAT,
        status.message_id,
        "Warm Claude process: up 0 min",
        TURN,
    )
    .await;

    // `/stop` ends the warm process too.
    let stop = rig.say("/stop");
    rig.wait_text(CHAT, stop.message_id, "", TURN).await;
    rig.wait_no_cli().await;
    // The next message starts a new process that resumes the session.
    let sent = rig.say("Say hello");
    let msgs = rig.wait_done(sent.message_id, "Hello from mock-llm").await;
    let all: String = msgs.iter().filter_map(|m| m.text.clone()).collect();
    assert!(!all.contains("prior_assistant_turns=0"), "resumed: {all}");
}

#[tokio::test]
async fn a_request_left_by_a_restart_says_it_expired_and_its_buttons_do_nothing() {
    let rig = asking("claude", "sonnet", |_| {}).await;
    let sent = rig.say("MOCK_TOOL_CMD<<touch never.txt>>");
    let ask = request_after(&rig, CHAT, sent.message_id, "wants to use").await;
    // The agent keeps the request's message on record right after posting it.
    let record = rig.home.root.join("live_requests.json");
    let t0 = std::time::Instant::now();
    while !std::fs::read_to_string(&record).is_ok_and(|r| r.contains("never.txt")) {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "the request is not on record"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let h = rig.home.health().await.unwrap();
    let pid = crate::support::daemon::agent_pid(&h, "main");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let settled = settled(&rig, CHAT, ask.message_id, "expired").await;
    assert!(settled.contains("touch never.txt"), "{settled:?}");
    // The CLI of the killed agent did not survive it.
    rig.wait_no_cli().await;
    // A stale press (a client that still shows the buttons) answers nothing.
    let data = ask.callback_data()[0].clone();
    let before = rig.mock.requests().len();
    rig.tg
        .user_sends_callback(rig.bot, CHAT, ask.message_id, &data);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(rig.mock.requests().len(), before);
    assert!(!rig.home.root.join("workspace/never.txt").exists());
    assert!(rig.cli_processes().is_empty());
}

#[tokio::test]
async fn codex_question_by_button_and_a_message_added_to_the_running_turn() {
    let rig = asking("codex", "gpt-5.5", |_| {}).await;
    rig.mock.script(
        "ASK_COLOR",
        Reply::text("I need to ask.").with_call(
            "request_user_input",
            json!({"questions": [{
                "id": "color", "header": "Color", "question": "Which color?",
                "options": [
                    {"label": "Red", "description": "warm"},
                    {"label": "Blue", "description": "cool"}
                ]
            }]}),
        ),
    );
    let sent = rig.say("ASK_COLOR");
    let ask = request_after(&rig, CHAT, sent.message_id, "Which color?").await;
    let labels: Vec<String> = ask
        .buttons()
        .into_iter()
        .flatten()
        .map(|b| b.text)
        .collect();
    assert_eq!(labels, ["Red", "Blue"]);
    press(&rig, &ask, ":1");
    settled(&rig, CHAT, ask.message_id, "Answered: Blue").await;
    rig.wait_done(sent.message_id, "Blue").await;

    // A slow command runs (allowed once); a message sent meanwhile is offered as
    // more text for the running turn.
    let sent = rig.say("MOCK_TOOL_CMD<<sleep 3 && echo slept>>");
    let ask = request_after(&rig, CHAT, sent.message_id, "wants to use").await;
    press(&rig, &ask, ":o");
    settled(&rig, CHAT, ask.message_id, "Allowed once.").await;
    let extra = rig.say("STEERED words");
    let bot = rig.bot;
    let queued = rig
        .tg
        .wait_until(TURN, move |w| {
            w.visible_messages(bot, CHAT).into_iter().find(|m| {
                m.from_bot == Some(bot)
                    && m.message_id > extra.message_id
                    && m.contains("in queue")
                    && !m.callback_data().is_empty()
            })
        })
        .await;
    let steer = queued
        .callback_data()
        .into_iter()
        .find(|d| d.starts_with("st:"))
        .unwrap_or_else(|| panic!("no steer button: {:?}", queued.buttons()));
    rig.tg
        .user_presses_button(rig.bot, CHAT, queued.message_id, &steer);
    let msgs = rig.wait_done(sent.message_id, "STEERED words").await;
    assert!(!msgs.is_empty());
    let indicator = rig
        .tg
        .message(rig.bot, CHAT, queued.message_id)
        .expect("the queue indicator");
    assert!(
        indicator.contains("Added to the running turn"),
        "{indicator:?}"
    );
    // It reached the model once, inside that turn, and never ran as a turn of its own.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let reqs = rig.mock.requests();
    let steered: Vec<usize> = reqs
        .iter()
        .enumerate()
        .filter(|(_, r)| r.last_user_text.contains("STEERED words"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(steered, [reqs.len() - 1], "{}", rig.mock.summary());
    let stop = rig.say("/stop");
    rig.wait_text(CHAT, stop.message_id, "", TURN).await;
    rig.wait_no_cli().await;
}
