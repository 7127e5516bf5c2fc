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

impl TgRig {
    /// A rig whose CLIs ask before they run tools.
    async fn asking(provider: &str, model: &str) -> Self {
        Self::start(provider, model, |c| {
            c["permission_mode"] = json!("default");
        })
        .await
    }

    /// Waits for the bot's message after `after` containing `needle` that has
    /// buttons (a request of the CLI).
    async fn wait_request(&self, after: i32, needle: &str) -> MessageView {
        let bot = self.bot;
        let needle = needle.to_owned();
        self.tg
            .wait_until(TURN, move |w| {
                w.visible_messages(bot, CHAT).into_iter().find(|m| {
                    m.from_bot == Some(bot)
                        && m.message_id > after
                        && m.contains(&needle)
                        && !m.callback_data().is_empty()
                })
            })
            .await
    }

    /// Presses the button of `msg` whose data ends with `suffix`.
    fn press(&self, msg: &MessageView, suffix: &str) {
        let data = msg
            .callback_data()
            .into_iter()
            .find(|d| d.starts_with("ak:") && d.ends_with(suffix))
            .unwrap_or_else(|| panic!("no {suffix} button in {:?}", msg.buttons()));
        self.tg
            .user_presses_button(self.bot, CHAT, msg.message_id, &data);
    }

    /// Waits until message `id` has no buttons and contains `needle`.
    async fn wait_settled(&self, id: i32, needle: &str) -> MessageView {
        let bot = self.bot;
        let needle = needle.to_owned();
        self.tg
            .wait_until(TURN, move |w| {
                w.message(bot, CHAT, id)
                    .filter(|m| m.callback_data().is_empty() && m.contains(&needle))
            })
            .await
    }

    /// The live processes of `program` (the CLI in its two-way mode).
    fn live_processes(&self, marker: &str) -> Vec<(i32, String)> {
        self.cli_processes()
            .into_iter()
            .filter(|(_, cmd)| cmd.contains(marker) && !cmd.contains("__reap"))
            .collect()
    }

    /// Messages with buttons the bot wrote after `after`.
    fn requests_after(&self, after: i32) -> Vec<MessageView> {
        self.replies_after(CHAT, after)
            .into_iter()
            .filter(|m| m.callback_data().iter().any(|d| d.starts_with("ak:")))
            .collect()
    }
}

#[tokio::test]
async fn claude_asks_by_button_once_denied_for_the_session_and_stop_ends_it() {
    let rig = TgRig::asking("claude", "sonnet").await;
    let workspace = rig.home.root.join("workspace");

    // Allow once: the command runs.
    let sent = rig.say("MOCK_TOOL_CMD<<touch allowed.txt>>");
    let ask = rig.wait_request(sent.message_id, "wants to use").await;
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
    rig.press(&ask, ":o");
    rig.wait_done(sent.message_id, "The tool ran").await;
    assert!(workspace.join("allowed.txt").exists());
    rig.wait_settled(ask.message_id, "Allowed once.").await;
    let live = rig.live_processes("--permission-prompt-tool");
    assert_eq!(live.len(), 1, "one warm claude: {live:#?}");

    // Deny: it does not run; the turn still ends with the model's answer.
    let sent = rig.say("MOCK_TOOL_CMD<<touch denied.txt>>");
    let ask = rig.wait_request(sent.message_id, "wants to use").await;
    rig.press(&ask, ":d");
    rig.wait_settled(ask.message_id, "Denied.").await;
    rig.wait_done(sent.message_id, "prior_assistant_turns")
        .await;
    assert!(!workspace.join("denied.txt").exists());

    // Allowed for the session: the same call is not asked again.
    let sent = rig.say("MOCK_TOOL_CMD<<touch session.txt>>");
    let ask = rig.wait_request(sent.message_id, "wants to use").await;
    rig.press(&ask, ":s");
    rig.wait_done(sent.message_id, "The tool ran").await;
    rig.wait_settled(ask.message_id, "Allowed for this session.")
        .await;
    std::fs::remove_file(workspace.join("session.txt")).unwrap();
    let sent = rig.say("MOCK_TOOL_CMD<<touch session.txt>>");
    rig.wait_done(sent.message_id, "The tool ran").await;
    assert!(workspace.join("session.txt").exists());
    assert!(
        rig.requests_after(sent.message_id).is_empty(),
        "not asked again"
    );
    let again = rig.live_processes("--permission-prompt-tool");
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
    let rig = TgRig::asking("claude", "sonnet").await;
    let sent = rig.say("MOCK_TOOL_CMD<<touch never.txt>>");
    let ask = rig.wait_request(sent.message_id, "wants to use").await;
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
    let settled = rig.wait_settled(ask.message_id, "expired").await;
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
    let rig = TgRig::asking("codex", "gpt-5.5").await;
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
    let ask = rig.wait_request(sent.message_id, "Which color?").await;
    let labels: Vec<String> = ask
        .buttons()
        .into_iter()
        .flatten()
        .map(|b| b.text)
        .collect();
    assert_eq!(labels, ["Red", "Blue"]);
    rig.press(&ask, ":1");
    rig.wait_settled(ask.message_id, "Answered: Blue").await;
    rig.wait_done(sent.message_id, "Blue").await;

    // A slow command runs (allowed once); a message sent meanwhile is offered as
    // more text for the running turn.
    let sent = rig.say("MOCK_TOOL_CMD<<sleep 3 && echo slept>>");
    let ask = rig.wait_request(sent.message_id, "wants to use").await;
    rig.press(&ask, ":o");
    rig.wait_settled(ask.message_id, "Allowed once.").await;
    let extra = rig.say("STEERED words");
    let queued = rig.wait_request(extra.message_id, "in queue").await;
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
