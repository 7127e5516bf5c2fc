//! Memory upkeep end to end (§8.5): the genuine claude CLI compacts its context
//! in a user's turn, and ductor follows with one silent flush turn in the same
//! session; a second compaction within `memory_flush.dedup_seconds` brings none.
//!
//! How claude is made to compact against the mock: claude's auto-compaction
//! compares the context size (the `usage` of its last request plus what came
//! since) with a threshold. Two variables of the genuine CLI move that threshold
//! within reach (`CLAUDE_CODE_AUTO_COMPACT_WINDOW`, at least 100 000 tokens, and
//! `CLAUDE_AUTOCOMPACT_PCT_OVERRIDE`, a percentage of the window less 20 000);
//! they go into the `env` block of claude's `settings.json`, so ductor's own
//! environment is untouched. The threshold is put a few thousand tokens above
//! the first turn's size (the mock reports a request's size as its `usage`); a
//! long answer then pushes the context over it, and claude compacts before the
//! request of the next user message: a summarising request to the mock (scripted
//! here), `status: compacting`, `compact_boundary` in the stream, then the answer.
//! A compaction needs a few exchanges before it (else claude reports
//! `too_few_groups`), hence the greeting first. claude keeps the latest messages
//! through a compaction, so the long answer is still in the context afterwards
//! and the next turn (the flush, or the next user message) compacts once more.
//!
//! A `/compact` written in the chat is no ductor command: it reaches claude as
//! its own slash command, which compacts the same way.

use super::{CHAT, TgRig};
use crate::support::mock_llm::{RecordedRequest, Reply};
use ductor::config::AgentConfig;
use serde_json::json;
use std::time::{Duration, Instant};

/// Longest wait for one turn or one flush.
const TURN: Duration = Duration::from_mins(1);
/// Tokens between the first turn's size and the compaction threshold, and again
/// between the threshold and the size after a long answer.
const MARGIN: u64 = 2_000;
/// claude's compaction window here (`CLAUDE_CODE_AUTO_COMPACT_WINDOW`, its minimum).
const WINDOW: u64 = 100_000;
/// What claude keeps free of the window for the model's output.
const OUTPUT_RESERVE: u64 = 20_000;
/// A text in claude's summarising request (its compaction prompt).
const SUMMARY_REQUEST: &str = "Respond with TEXT ONLY";
/// The mock's summary of the conversation.
const SUMMARY: &str = "<analysis>Greetings and long answers.</analysis>\n<summary>\
     EARLIER_TURNS_SUMMARY: the person said hello and asked for long answers.</summary>";
/// The mock's answer to the flush turn (must never reach the chat).
const FLUSH_REPLY: &str = "Nothing new worth keeping. FLUSH_NOOP";
/// A prompt with a long answer.
const LONG: &str = "LONGTURN";
/// The length of the long answer: `2 * MARGIN` tokens (the mock counts four
/// characters a token). It comes as one delta, so that claude's whole output for
/// that turn (the delta, the message, the result: about 50 KB) fits in a pipe's
/// buffer: claude 2.1.197 exits without writing what is left when its stdout pipe
/// is full at the end of a turn (a final result lost, seen with a 40 KB answer in
/// small deltas).
const LONG_CHARS: usize = 4 * 2 * MARGIN as usize;
/// The end of the long answer.
const LONG_END: &str = "END_OF_THE_LONG_ANSWER";

/// The default flush prompt, as the flush turn sends it.
fn flush_prompt() -> String {
    AgentConfig::default().memory_flush["flush_prompt"]
        .as_str()
        .expect("a default flush prompt")
        .to_owned()
}

/// A rig whose claude compacts once its context grew by a long answer, with
/// `memory` as the upkeep blocks of the config.
async fn compacting_rig(memory: serde_json::Value) -> TgRig {
    let rig = TgRig::start("claude", "sonnet", |c| {
        c["memory_flush"] = memory["memory_flush"].clone();
        c["memory_compaction"] = memory["memory_compaction"].clone();
    })
    .await;
    rig.mock.script(SUMMARY_REQUEST, Reply::text(SUMMARY));
    rig.mock.script("FLUSH_NOOP", Reply::text(FLUSH_REPLY));
    rig.mock.script("COMPACT_NOOP", Reply::text("COMPACT_NOOP"));
    let filler = "Long answer filler text. ";
    let long = format!("{}{LONG_END}", filler.repeat(LONG_CHARS / filler.len()));
    rig.mock.script(LONG, Reply::chunks([long]));
    rig
}

/// The user writes `text`; waits until the turn is over: the bot's answer
/// contains `needle` and the status reaction on the message is gone.
async fn turn(rig: &TgRig, text: &str, needle: &str) {
    let sent = rig.say(text);
    let (bot, id, needle) = (rig.bot, sent.message_id, needle.to_owned());
    let done = rig
        .tg
        .try_wait_until(TURN, move |w| {
            let user = w.message(bot, CHAT, id)?;
            let answer: String = w
                .visible_messages(bot, CHAT)
                .into_iter()
                .filter(|m| m.from_bot == Some(bot) && m.message_id > id && !m.deleted)
                .filter_map(|m| m.text)
                .collect();
            (answer.contains(&needle) && crate::conversation::reaction_over(&user)).then_some(())
        })
        .await;
    if let Err(e) = done {
        let log = std::fs::read_to_string(rig.home.home().main().logs_dir().join("agent.log"))
            .unwrap_or_default();
        panic!(
            "turn {text:?} not over: {e}\nchat after it: {}\nmock: {}\nagent log:\n{}",
            tail(&rig.text_after(CHAT, id), 400),
            rig.mock.summary(),
            tail(&log, 6000)
        );
    }
}

/// The last `max` bytes of `text` (at a character boundary).
fn tail(text: &str, max: usize) -> &str {
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// Model requests whose last user text contains `needle`.
fn requests_with(rig: &TgRig, needle: &str) -> Vec<RecordedRequest> {
    rig.mock
        .requests()
        .into_iter()
        .filter(|r| r.last_user_text.contains(needle))
        .collect()
}

/// Waits until `n` model requests whose last user text contains `needle`
/// reached the mock; returns them.
async fn wait_requests(rig: &TgRig, needle: &str, n: usize) -> Vec<RecordedRequest> {
    let start = Instant::now();
    loop {
        let found = requests_with(rig, needle);
        if found.len() >= n {
            return found;
        }
        assert!(
            start.elapsed() < TURN,
            "{} request(s) with {needle:?}, {n} expected: {}",
            found.len(),
            rig.mock.summary()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `n` flush turns reached the mock; returns them.
async fn wait_flushes(rig: &TgRig, n: usize) -> Vec<RecordedRequest> {
    wait_requests(rig, &flush_prompt(), n).await
}

/// Whether `r` is claude's summarising request (its compaction).
fn is_summary(r: &RecordedRequest) -> bool {
    r.last_user_text.contains(SUMMARY_REQUEST)
}

/// Whether claude compacted in the turn whose prompt contains `text`: the
/// request before its answer, in the same session, is a summarising one.
fn compacted_in(rig: &TgRig, text: &str) -> bool {
    let requests = rig.mock.requests();
    let answer = requests
        .iter()
        .find(|r| r.last_user_text.contains(text) && !is_summary(r))
        .unwrap_or_else(|| panic!("no request for {text:?}: {}", rig.mock.summary()));
    requests
        .iter()
        .filter(|r| r.seq < answer.seq && r.session_id() == answer.session_id())
        .max_by_key(|r| r.seq)
        .is_some_and(is_summary)
}

/// Greets, then sets claude's compaction threshold `MARGIN` tokens above the
/// size of that first request; returns the session id.
async fn greet_and_arm(rig: &TgRig) -> String {
    turn(rig, "hello memory", "You said: \"hello memory\"").await;
    let size = rig
        .mock
        .requests()
        .iter()
        .map(|r| r.body.to_string().len() as u64 / 4)
        .max()
        .expect("the first turn reached the mock");
    let effective = WINDOW - OUTPUT_RESERVE;
    let threshold = size + MARGIN;
    assert!(threshold < effective, "first request of {size} tokens");
    #[allow(clippy::cast_precision_loss)]
    let pct = threshold as f64 * 100.0 / effective as f64;
    let settings = json!({"env": {
        "CLAUDE_CODE_AUTO_COMPACT_WINDOW": WINDOW.to_string(),
        "CLAUDE_AUTOCOMPACT_PCT_OVERRIDE": format!("{pct:.3}"),
    }});
    std::fs::write(
        rig.cli.claude_config_dir().join("settings.json"),
        serde_json::to_vec_pretty(&settings).unwrap(),
    )
    .unwrap();
    rig.wait_session("claude", |id| id.is_some())
        .await
        .expect("a session")
}

/// A long answer, then a message in whose turn claude compacts.
async fn grow_and_compact(rig: &TgRig, label: &str) {
    let long = format!("{LONG} {label}");
    turn(rig, &long, LONG_END).await;
    assert!(!compacted_in(rig, &long), "{}", rig.mock.summary());
    let text = format!("after the long answer {label}");
    turn(rig, &text, &format!("You said: \"{text}")).await;
    assert!(
        compacted_in(rig, &text),
        "claude compacted in this turn: {}",
        rig.mock.summary()
    );
}

/// Nothing of the flush (nor of a compaction run) shows in the chat.
fn assert_no_flush_in_chat(rig: &TgRig) {
    let text = rig.text_after(CHAT, 0);
    for leak in ["FLUSH_NOOP", FLUSH_REPLY, "COMPACT_NOOP", "durable facts"] {
        assert!(!text.contains(leak), "{leak:?} reached the chat: {text}");
    }
}

/// One more plain turn (the lane is serial: a flush queued after the previous
/// turn runs before it).
async fn ping(rig: &TgRig, label: &str) {
    tokio::time::sleep(Duration::from_secs(1)).await;
    let text = format!("ping {label}");
    turn(rig, &text, &format!("You said: \"{text}")).await;
}

#[tokio::test]
async fn a_compaction_brings_one_silent_flush_in_the_same_session() {
    let rig = compacting_rig(json!({
        "memory_flush": {"enabled": true, "dedup_seconds": 3600},
        "memory_compaction": {"enabled": true, "trigger_lines": 70},
    }))
    .await;
    let memory = rig.home.home().main().main_memory();
    let memory_before = std::fs::read_to_string(&memory).unwrap_or_default();
    assert!(memory_before.lines().count() < 70, "{memory_before}");
    let session = greet_and_arm(&rig).await;

    grow_and_compact(&rig, "one").await;
    let flushes = wait_flushes(&rig, 1).await;
    let flush = &flushes[0];
    assert_eq!(
        flush.session_id(),
        Some(session.as_str()),
        "the flush resumes the user's session"
    );
    assert!(flush.prior_assistant_turns > 0, "the flush saw the history");
    let last_user_turn = requests_with(&rig, "after the long answer one")
        .into_iter()
        .map(|r| r.seq)
        .max()
        .unwrap();
    assert!(flush.seq > last_user_turn, "the flush follows the turn");
    ping(&rig, "one").await;
    assert_eq!(rig.session_id("claude").as_deref(), Some(session.as_str()));
    assert_no_flush_in_chat(&rig);

    grow_and_compact(&rig, "two").await;
    ping(&rig, "two").await;
    assert_eq!(
        requests_with(&rig, &flush_prompt()).len(),
        1,
        "no second flush within dedup_seconds: {}",
        rig.mock.summary()
    );
    assert!(
        requests_with(&rig, "COMPACT_NOOP").is_empty(),
        "MAINMEMORY.md is below trigger_lines: no compaction run"
    );
    assert_eq!(
        std::fs::read_to_string(&memory).unwrap_or_default(),
        memory_before
    );
    assert!(!memory.with_extension("md.bak").exists());
    assert_eq!(rig.session_id("claude").as_deref(), Some(session.as_str()));
    assert_no_flush_in_chat(&rig);
}

#[tokio::test]
async fn without_dedup_every_compaction_flushes_and_a_long_memory_is_compacted() {
    let rig = compacting_rig(json!({
        "memory_flush": {"enabled": true, "dedup_seconds": 0},
        "memory_compaction": {"enabled": true, "trigger_lines": 5, "target_lines": 3},
    }))
    .await;
    let memory = rig.home.home().main().main_memory();
    let long_memory = (1..=8)
        .map(|i| format!("- fact number {i}"))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    std::fs::create_dir_all(memory.parent().unwrap()).unwrap();
    std::fs::write(&memory, &long_memory).unwrap();
    let session = greet_and_arm(&rig).await;

    grow_and_compact(&rig, "one").await;
    let flushes = wait_flushes(&rig, 1).await;
    assert_eq!(flushes[0].session_id(), Some(session.as_str()));
    let runs = wait_requests(&rig, "COMPACT_NOOP", 1).await;
    ping(&rig, "one").await;
    assert!(
        runs[0].seq > flushes[0].seq,
        "the compaction run follows the flush"
    );
    assert_ne!(
        runs[0].session_id(),
        Some(session.as_str()),
        "the compaction is a one-shot run of its own"
    );

    // The context still held the long answer (claude keeps the latest messages
    // through a compaction), so claude compacted again in the flush turn: that
    // compaction, not in a user's turn, brings no flush of its own.
    assert!(
        compacted_in(&rig, &flush_prompt()),
        "{}",
        rig.mock.summary()
    );

    grow_and_compact(&rig, "two").await;
    let flushes = wait_flushes(&rig, 2).await;
    assert_eq!(flushes[1].session_id(), Some(session.as_str()));
    wait_requests(&rig, "COMPACT_NOOP", 2).await;
    ping(&rig, "two").await;
    assert_eq!(requests_with(&rig, &flush_prompt()).len(), 2);
    // The agent answered COMPACT_NOOP: the file stays, its copy is kept.
    assert_eq!(std::fs::read_to_string(&memory).unwrap(), long_memory);
    assert_eq!(
        std::fs::read_to_string(memory.with_extension("md.bak")).unwrap(),
        long_memory
    );
    assert_eq!(rig.session_id("claude").as_deref(), Some(session.as_str()));
    assert_no_flush_in_chat(&rig);
}

/// `/compact` is no ductor command: it reaches claude, whose own slash command
/// compacts the session (two exchanges are enough), and the flush follows.
#[tokio::test]
async fn compact_from_the_chat_reaches_claude_and_brings_a_flush() {
    let rig = compacting_rig(json!({
        "memory_flush": {"enabled": true, "dedup_seconds": 3600},
        "memory_compaction": {"enabled": true, "trigger_lines": 70},
    }))
    .await;
    turn(&rig, "hello memory", "You said: \"hello memory").await;
    turn(&rig, "second message", "You said: \"second message").await;
    let session = rig.session_id("claude").expect("a session");
    rig.say("/compact");
    // claude's own /compact answers nothing: the chat says what happened.
    rig.wait_from(rig.bot, CHAT, "Context compacted").await;
    let flushes = wait_flushes(&rig, 1).await;
    let summaries = requests_with(&rig, SUMMARY_REQUEST);
    assert_eq!(summaries.len(), 1, "{}", rig.mock.summary());
    assert_eq!(summaries[0].session_id(), Some(session.as_str()));
    assert!(flushes[0].seq > summaries[0].seq);
    assert_eq!(flushes[0].session_id(), Some(session.as_str()));
    ping(&rig, "one").await;
    assert_eq!(rig.session_id("claude").as_deref(), Some(session.as_str()));
    assert_eq!(requests_with(&rig, &flush_prompt()).len(), 1);
    assert_no_flush_in_chat(&rig);
}
