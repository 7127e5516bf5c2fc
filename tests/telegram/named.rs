//! Named sessions: `/session` runs in the background and posts its result with
//! the session's buttons, `@name` continues it (streamed, tagged, its own resumed
//! CLI session), `/session @name` follows up in the background, `/sessions` ends
//! them, and a run a restart interrupted runs again.

use super::support::fake_telegram::Incoming;
use super::support::mock_llm::Reply;
use super::{CHAT, TgRig};
use serde_json::{Value, json};
use std::time::Duration;

const TURN: Duration = Duration::from_mins(1);

/// The session name from the "Session <name> started" reply.
fn started_name(text: &str) -> String {
    text.split("Session ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .unwrap_or_default()
        .to_owned()
}

fn named_file(rig: &TgRig) -> Value {
    let text =
        std::fs::read_to_string(rig.home.root.join("named_sessions.json")).unwrap_or_default();
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

fn record<'a>(file: &'a Value, name: &str) -> Option<&'a Value> {
    file["sessions"]
        .as_array()?
        .iter()
        .find(|s| s["name"] == name)
}

/// Waits until the stored record of `name` satisfies `pred` (the file is written
/// shortly after the chat sees the result); returns it.
/// A record whose first run is over (a new record starts idle with no messages).
fn ran_once(r: &Value) -> bool {
    r["status"] == "idle" && r["message_count"].as_u64() >= Some(1)
}

async fn wait_record(rig: &TgRig, name: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let start = std::time::Instant::now();
    loop {
        let file = named_file(rig);
        if let Some(r) = record(&file, name).filter(|r| pred(r)) {
            return r.clone();
        }
        assert!(start.elapsed() < Duration::from_secs(5), "{name}: {file}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_named_session_runs_in_the_background_and_continues_with_its_own_session() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    rig.mock.script(
        "RESEARCH_TOPIC",
        Reply::text("Research done.\n\n[button:Go deeper]"),
    );
    let sent = rig.say("/session RESEARCH_TOPIC in the background");
    let started = rig.wait_text(CHAT, sent.message_id, "started", TURN).await;
    let all: String = started.iter().filter_map(|m| m.text.clone()).collect();
    let name = started_name(&all);
    assert!(name.len() >= 5, "a generated name: {all}");
    let done = rig
        .wait_text(CHAT, sent.message_id, &format!("[{name}] Complete"), TURN)
        .await;
    let result = done
        .iter()
        .find(|m| m.contains("Complete"))
        .expect("result message");
    assert!(result.contains("Research done."), "{:?}", result.text);
    assert_eq!(result.reply_to, Some(sent.message_id));
    let buttons = result.buttons();
    assert_eq!(
        buttons[0][0].callback_data.as_deref(),
        Some(format!("ns:{name}:Go deeper").as_str())
    );
    let rec = wait_record(&rig, &name, ran_once).await;
    let first_id = rec["session_id"].as_str().unwrap().to_owned();
    assert!(!first_id.is_empty());
    assert_eq!(
        rig.session_id("claude"),
        None,
        "the chat's own session is untouched"
    );

    let follow = rig.say(&format!("@{name} and now the details"));
    let streamed = rig
        .wait_text(CHAT, follow.message_id, "prior_assistant_turns=1", TURN)
        .await;
    let text: String = streamed.iter().filter_map(|m| m.text.clone()).collect();
    assert!(
        text.contains(&format!("[{name} | claude]")),
        "tagged: {text}"
    );
    let resumed = rig
        .mock
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.last_user_text.contains("and now the details"))
        .unwrap();
    assert_eq!(
        resumed.session_id(),
        Some(first_id.as_str()),
        "resumed its own session"
    );
    wait_record(&rig, &name, |r| r["message_count"] == 2).await;

    // The result's button is a follow-up in the session.
    rig.tg.user_presses_button(
        rig.bot,
        CHAT,
        result.message_id,
        &format!("ns:{name}:Go deeper"),
    );
    rig.wait_text(CHAT, follow.message_id, "prior_assistant_turns=2", TURN)
        .await;

    // Background follow-up.
    let bg = rig.say(&format!("/session @{name} one more thing"));
    rig.wait_text(CHAT, bg.message_id, "Follow-up sent", TURN)
        .await;
    let done = rig
        .wait_text(CHAT, bg.message_id, "prior_assistant_turns=3", TURN)
        .await;
    assert!(
        done.iter()
            .any(|m| m.contains(&format!("[{name}] Complete")))
    );

    // /sessions lists it; End removes it.
    let list = rig.say("/sessions");
    let shown = rig.wait_text(CHAT, list.message_id, &name, TURN).await;
    let msg = shown.iter().find(|m| m.contains(&name)).unwrap();
    rig.tg
        .user_presses_button(rig.bot, CHAT, msg.message_id, &format!("nsc:end:{name}"));
    rig.wait_text(CHAT, list.message_id, "ended", TURN).await;
    let start = std::time::Instant::now();
    while record(&named_file(&rig), &name).is_some() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "ended session still stored"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let gone = rig.say(&format!("@{name} are you there"));
    // Not a session any more: an ordinary message for the chat's own session.
    rig.wait_text(CHAT, gone.message_id, "You said", TURN).await;
}

#[tokio::test]
async fn sessions_belong_to_their_topic() {
    let gid = std::cell::Cell::new(0);
    let rig = TgRig::start_with(
        "claude",
        "sonnet",
        |c| c["allowed_group_ids"] = json!([gid.get()]),
        |tg, bot| {
            let g = tg.create_supergroup("Projects", true);
            tg.bot_added_to_chat(bot, g, CHAT, true);
            gid.set(g);
        },
    )
    .await;
    let gid = gid.get();
    let topic = rig
        .tg
        .user_creates_topic(rig.bot, gid, "Backend")
        .message_id;
    let sent = rig.tg.user_sends(
        rig.bot,
        gid,
        Incoming::text("/session hello from the topic").in_thread(topic),
    );
    let bot = rig.bot;
    let started = rig
        .tg
        .wait_until(TURN, move |w| {
            w.visible_messages(bot, gid)
                .into_iter()
                .find(|m| m.message_id > sent.message_id && m.contains("started"))
        })
        .await;
    assert_eq!(started.thread_id, Some(topic), "answered in the topic");
    let name = started_name(started.text.as_deref().unwrap_or_default());
    let rec = wait_record(&rig, &name, ran_once).await;
    assert_eq!(rec["chat_id"], gid);
    assert_eq!(rec["topic_id"], topic);
    // Elsewhere (the private chat) the name means nothing: the words go to the agent.
    let elsewhere = rig.say(&format!("@{name} are you there"));
    rig.wait_text(
        CHAT,
        elsewhere.message_id,
        &format!("You said: \"@{name} are you there\""),
        TURN,
    )
    .await;
    let file = named_file(&rig);
    assert_eq!(record(&file, &name).unwrap()["message_count"], 1, "{file}");
}

#[tokio::test]
async fn a_named_run_interrupted_by_a_restart_runs_again() {
    let mut rig = TgRig::start("claude", "sonnet", |_| {}).await;
    rig.mock.script(
        "LONG_JOB",
        Reply::chunks((0..20).map(|i| format!("step-{i} ")))
            .chunk_delay(Duration::from_millis(300)),
    );
    let sent = rig.say("/session LONG_JOB please");
    let started = rig.wait_text(CHAT, sent.message_id, "started", TURN).await;
    let all: String = started.iter().filter_map(|m| m.text.clone()).collect();
    let name = started_name(&all);
    // Its CLI is talking to the model: the run is under way.
    rig.mock.wait_for_requests(1, TURN).await;
    let mut daemon = rig.daemon.take().unwrap();
    daemon.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(daemon.wait(Duration::from_secs(20)), Some(0));
    let file = named_file(&rig);
    assert_eq!(record(&file, &name).unwrap()["status"], "running", "{file}");
    rig.daemon = Some(rig.home.start_with_env(&rig.cli.vars()));
    rig.wait_text(CHAT, sent.message_id, "interrupted by a restart", TURN)
        .await;
    let done = rig
        .wait_text(CHAT, sent.message_id, &format!("[{name}] Complete"), TURN)
        .await;
    assert!(done.iter().any(|m| m.contains("step-19")));
}

#[tokio::test]
async fn ending_a_session_stops_its_streamed_follow_up() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    let sleeps = || {
        super::support::daemon::processes_of(&rig.home.root)
            .into_iter()
            .filter(|(_, cmd)| cmd.contains("sleep 60"))
            .count()
    };
    let sent = rig.say("/session warm up");
    let done = rig.wait_text(CHAT, sent.message_id, "Complete", TURN).await;
    let all: String = done.iter().filter_map(|m| m.text.clone()).collect();
    let name = started_name(&all);
    wait_record(&rig, &name, ran_once).await;

    let follow = rig.say(&format!("@{name} MOCK_TOOL_CMD<<sleep 60>>"));
    let start = std::time::Instant::now();
    while sleeps() == 0 {
        assert!(start.elapsed() < TURN, "the follow-up never ran its tool");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let list = rig.say("/sessions");
    let shown = rig.wait_text(CHAT, list.message_id, &name, TURN).await;
    let msg = shown.iter().find(|m| m.contains(&name)).unwrap();
    rig.tg
        .user_presses_button(rig.bot, CHAT, msg.message_id, &format!("nsc:end:{name}"));
    rig.wait_text(CHAT, list.message_id, "ended", TURN).await;
    let start = std::time::Instant::now();
    while sleeps() > 0 {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the follow-up's tool still runs"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(record(&named_file(&rig), &name).is_none(), "ended");
    // The chat itself is free again.
    let next = rig.say("hello again");
    rig.wait_text(CHAT, next.message_id, "You said", TURN).await;
    assert!(follow.message_id < next.message_id);
}
