//! More live CLI sessions end to end (the genuine CLIs with `permission_mode`
//! `default`, the mock model API, the fake Bot API): gemini's approvals by button,
//! `/interrupt` keeping the warm process, a warm process killed between turns, a
//! request nobody answers, and a group where only the turn's starter may answer.

use super::live::{asking, button, live_processes, request_after, settled};
use super::{BOT, CHAT, TgRig};
use crate::conversation::reaction_over;
use crate::support::fake_telegram::{Incoming, Pressed};
use serde_json::json;
use std::time::{Duration, Instant};

const TURN: Duration = Duration::from_secs(90);

/// Marker of claude's two-way mode in its command line.
const CLAUDE_LIVE: &str = "--permission-prompt-tool";

/// Waits until the turn answering `user_msg` in `chat` is over: the bot's text after
/// it contains one of `needles` and the reaction is a final one. Returns that text.
async fn turn_over(rig: &TgRig, chat: i64, user_msg: i32, needles: &[&str]) -> String {
    let bot = rig.bot;
    let needles: Vec<String> = needles.iter().map(|n| (*n).to_owned()).collect();
    rig.tg
        .wait_until(TURN, move |w| {
            let user = w.message(bot, chat, user_msg)?;
            let all: String = w
                .visible_messages(bot, chat)
                .into_iter()
                .filter(|m| m.from_bot == Some(bot) && m.message_id > user_msg && !m.deleted)
                .filter_map(|m| m.text)
                .collect::<Vec<_>>()
                .join("\n");
            (needles.iter().any(|n| all.contains(n.as_str())) && reaction_over(&user))
                .then_some(all)
        })
        .await
}

/// Waits until the live processes with `marker` satisfy `pred`; returns them.
async fn wait_live(
    rig: &TgRig,
    marker: &str,
    pred: impl Fn(&[(i32, String)]) -> bool,
) -> Vec<(i32, String)> {
    let start = Instant::now();
    loop {
        let now = live_processes(rig, marker);
        if pred(&now) {
            return now;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "live processes never matched: {now:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether claude's transcript of session `id` under `dir` contains `needle`.
fn transcript_has(dir: &std::path::Path, id: &str, needle: &str) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let path = e.path();
        if path.is_dir() {
            return transcript_has(&path, id, needle);
        }
        path.file_name()
            .is_some_and(|n| n.to_string_lossy() == format!("{id}.jsonl"))
            && std::fs::read_to_string(&path).is_ok_and(|t| t.contains(needle))
    })
}

#[tokio::test]
async fn gemini_allow_once_runs_the_command_and_deny_blocks_it() {
    let rig = asking("gemini", "gemini-3.8-flash", |_| {}).await;
    let workspace = rig.home.root.join("workspace");

    let sent = rig.say("MOCK_TOOL_CMD<<touch gem_allowed.txt && echo made>>");
    let ask = request_after(&rig, CHAT, sent.message_id, "wants to use").await;
    let text = ask.text.clone().unwrap_or_default();
    assert!(
        text.contains("Gemini") && text.contains("touch gem_allowed.txt"),
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
    rig.tg
        .user_presses_button(rig.bot, CHAT, ask.message_id, &button(&ask, ":o"));
    rig.wait_done(sent.message_id, "The tool ran").await;
    assert!(workspace.join("gem_allowed.txt").exists());
    settled(&rig, CHAT, ask.message_id, "Allowed once.").await;
    let warm = live_processes(&rig, "--acp");
    assert_eq!(warm.len(), 1, "one warm gemini: {warm:#?}");

    // Denied: the command does not run and the turn still ends with the answer.
    let sent = rig.say("MOCK_TOOL_CMD<<touch gem_denied.txt && echo made>>");
    let ask = request_after(&rig, CHAT, sent.message_id, "wants to use").await;
    rig.tg
        .user_presses_button(rig.bot, CHAT, ask.message_id, &button(&ask, ":d"));
    settled(&rig, CHAT, ask.message_id, "Denied.").await;
    let msgs = rig
        .wait_done(sent.message_id, "prior_assistant_turns")
        .await;
    let all: String = msgs.iter().filter_map(|m| m.text.clone()).collect();
    assert!(all.contains("canceled by the user"), "{all}");
    assert!(!workspace.join("gem_denied.txt").exists());
    assert_eq!(
        live_processes(&rig, "--acp"),
        warm,
        "the same warm gemini took the second turn"
    );
}

#[tokio::test]
async fn interrupt_keeps_the_warm_claude_for_the_next_message() {
    let rig = asking("claude", "sonnet", |_| {}).await;
    let first = rig.say("hello there");
    rig.wait_done(first.message_id, "prior_assistant_turns=0")
        .await;
    let warm = wait_live(&rig, CLAUDE_LIVE, |p| p.len() == 1).await;

    let slow = rig.say("MOCK_SLOW");
    rig.wait_text(CHAT, slow.message_id, "slow-chunk", TURN)
        .await;
    let int = rig.say("/interrupt");
    rig.wait_text(CHAT, int.message_id, "Interrupted 1 process", TURN)
        .await;
    // The turn ends as stopped: no error, the stream cut short.
    let id = slow.message_id;
    let bot = rig.bot;
    rig.tg
        .wait_until(TURN, move |w| {
            w.message(bot, CHAT, id).filter(|m| m.reactions.is_empty())
        })
        .await;
    let answer = rig.text_after(CHAT, slow.message_id);
    assert!(answer.contains("slow-chunk-0"), "{answer}");
    assert!(!answer.contains("slow-chunk-149"), "{answer}");
    for bad in ["stopped unexpectedly", "took longer", "Agent stopped"] {
        assert!(!answer.contains(bad), "{answer}");
    }
    // The same process goes back to the pool and takes the next message.
    let after = wait_live(&rig, CLAUDE_LIVE, |p| !p.is_empty()).await;
    assert_eq!(after, warm, "the interrupted process stays warm");
    let next = rig.say("Say hello");
    let msgs = rig.wait_done(next.message_id, "Hello from mock-llm").await;
    let all: String = msgs.iter().filter_map(|m| m.text.clone()).collect();
    assert!(!all.contains("prior_assistant_turns=0"), "resumed: {all}");
    assert_eq!(
        live_processes(&rig, CLAUDE_LIVE),
        warm,
        "the same warm process took the turn after the interrupt"
    );
}

#[tokio::test]
async fn a_warm_claude_killed_between_turns_is_replaced_and_the_session_resumes() {
    let rig = asking("claude", "sonnet", |_| {}).await;
    let first = rig.say("hello there");
    rig.wait_done(first.message_id, "prior_assistant_turns=0")
        .await;
    let warm = wait_live(&rig, CLAUDE_LIVE, |p| p.len() == 1).await;
    let session = rig.wait_session("claude", |s| s.is_some()).await;
    // claude writes its transcript a moment after the turn; a kill before that loses
    // the session in the CLI itself.
    let id = session.clone().unwrap();
    let start = Instant::now();
    while !transcript_has(
        &rig.cli.root().join("claude/projects"),
        &id,
        "Hello from mock-llm",
    ) {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "claude never saved session {id}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(warm[0].0),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    wait_live(&rig, CLAUDE_LIVE, <[_]>::is_empty).await;

    let next = rig.say("Say hello");
    let all = turn_over(
        &rig,
        CHAT,
        next.message_id,
        &["Hello from mock-llm", "stopped unexpectedly"],
    )
    .await;
    assert!(all.contains("Hello from mock-llm"), "answered: {all}");
    assert!(!all.contains("stopped unexpectedly"), "{all}");
    assert!(!all.contains("prior_assistant_turns=0"), "resumed: {all}");
    assert_eq!(rig.session_id("claude"), session, "the same session");
    let now = wait_live(&rig, CLAUDE_LIVE, |p| p.len() == 1).await;
    assert_ne!(now[0].0, warm[0].0, "a new process");
}

#[tokio::test]
async fn a_request_nobody_answers_is_denied_after_the_approval_timeout() {
    let rig = asking("claude", "sonnet", |c| {
        c["live"] = json!({"approval_timeout_seconds": 10});
    })
    .await;
    let sent = rig.say("MOCK_TOOL_CMD<<touch unanswered.txt>>");
    let ask = request_after(&rig, CHAT, sent.message_id, "wants to use").await;
    let asked = Instant::now();
    let note = settled(&rig, CHAT, ask.message_id, "Not answered in time: denied.").await;
    let waited = asked.elapsed();
    assert!(
        waited >= Duration::from_secs(8) && waited < Duration::from_secs(40),
        "denied after {waited:?}"
    );
    assert!(note.contains("touch unanswered.txt"), "{note:?}");
    rig.wait_done(sent.message_id, "prior_assistant_turns")
        .await;
    assert!(!rig.home.root.join("workspace/unanswered.txt").exists());
}

#[tokio::test]
async fn in_a_group_only_the_starter_answers_a_request() {
    const OTHER: i64 = 1_000_002;
    let gid = std::cell::Cell::new(0);
    let rig = TgRig::start_with(
        "claude",
        "sonnet",
        |c| {
            c["permission_mode"] = json!("default");
            c["allowed_group_ids"] = json!([gid.get()]);
            c["allowed_user_ids"] = json!([CHAT, OTHER]);
        },
        |tg, bot| {
            tg.add_user(OTHER, "Bea", None);
            let g = tg.create_supergroup("Team", false);
            tg.bot_added_to_chat(bot, g, CHAT, false);
            gid.set(g);
        },
    )
    .await;
    let gid = gid.get();
    let sent = rig.tg.user_sends(
        rig.bot,
        gid,
        Incoming::text(format!("@{BOT} MOCK_TOOL_CMD<<touch grouped.txt>>")).from(CHAT),
    );
    let ask = request_after(&rig, gid, sent.message_id, "wants to use").await;
    let once = button(&ask, ":o");

    // Someone else's press does nothing but tell them why.
    let Pressed { query_id, .. } =
        rig.tg
            .user_presses_button_as(rig.bot, gid, ask.message_id, &once, OTHER);
    let q = query_id.clone();
    rig.tg
        .wait_until(TURN, move |w| {
            w.calls_of("answerCallbackQuery")
                .iter()
                .any(|c| c.params["callback_query_id"] == q.as_str())
                .then_some(())
        })
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let still = rig.tg.message(rig.bot, gid, ask.message_id).unwrap();
    assert_eq!(still.callback_data(), ask.callback_data(), "still asking");
    assert_eq!(still.text, ask.text);
    assert!(!rig.home.root.join("workspace/grouped.txt").exists());

    // The starter's press runs it.
    rig.tg
        .user_presses_button_as(rig.bot, gid, ask.message_id, &once, CHAT);
    settled(&rig, gid, ask.message_id, "Allowed once.").await;
    turn_over(&rig, gid, sent.message_id, &["The tool ran"]).await;
    assert!(rig.home.root.join("workspace/grouped.txt").exists());

    // The other user was told why nothing happened.
    let toasts: Vec<String> = rig
        .tg
        .calls_of("answerCallbackQuery")
        .into_iter()
        .filter(|c| c.params["callback_query_id"] == query_id.as_str())
        .map(|c| c.params["text"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        toasts
            .iter()
            .any(|t| t == "Only the person who started this turn can answer."),
        "the answers to the other user's press: {toasts:?}"
    );
}
