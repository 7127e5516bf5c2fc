//! Issue acceptance: streaming replies, queue, stop, sessions, recovery, errors.

use super::{BOT, CHAT, TgRig};
use crate::support::daemon::agent_pid;
use crate::support::fake_telegram::{Fault, MessageView, Outcome as CallOutcome};
use crate::support::mock_llm::Reply;
use serde_json::json;
use std::fmt::Write as _;
use std::time::Duration;

const TURN: Duration = Duration::from_mins(1);

/// Collapses whitespace so texts split at different places compare equal.
fn norm(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Numbered prose, paragraphs of five sentences, about `len` characters.
fn prose(len: usize) -> String {
    let mut out = String::new();
    let mut n = 1;
    while out.len() < len {
        if n > 1 {
            out.push_str(if (n - 1) % 5 == 0 { "\n\n" } else { " " });
        }
        let _ = write!(
            out,
            "Sentence {n} of a long answer, plain prose & <angle> text."
        );
        n += 1;
    }
    out
}

/// The reactions a turn leaves on the user's message: the outcome (👍 done, 👎 failed,
/// 😱 timed out) stays.
pub(crate) const FINAL_REACTIONS: [&str; 3] = ["👍", "👎", "😱"];

/// Whether the bot's reaction on the user's message `m` says its turn is over: an
/// outcome, or none (a stopped turn; the original's stage reactions are removed at the
/// end) — never 👀 (waiting) or ✍ (running).
pub(crate) fn reaction_over(m: &MessageView) -> bool {
    match m.reactions.as_slice() {
        [] => true,
        [one] => FINAL_REACTIONS.contains(&one.as_str()),
        _ => false,
    }
}

impl TgRig {
    /// Waits until the turn answering `user_msg` is over: the bot's text after it
    /// contains `needle` and the reaction on the user's message is a final one.
    pub(crate) async fn wait_done(&self, user_msg: i32, needle: &str) -> Vec<MessageView> {
        let bot = self.bot;
        let needle = needle.to_owned();
        self.tg
            .wait_until(TURN, move |w| {
                let user = w.message(bot, CHAT, user_msg)?;
                let msgs: Vec<MessageView> = w
                    .visible_messages(bot, CHAT)
                    .into_iter()
                    .filter(|m| m.from_bot == Some(bot) && m.message_id > user_msg && !m.deleted)
                    .collect();
                let all: String = msgs
                    .iter()
                    .filter_map(|m| m.text.clone())
                    .collect::<Vec<_>>()
                    .join("\n");
                (all.contains(&needle) && reaction_over(&user)).then_some(msgs)
            })
            .await
    }

    /// CLI processes of this rig (everything using its CLI environment but ductor itself).
    pub(crate) fn cli_processes(&self) -> Vec<(i32, String)> {
        crate::support::daemon::cli_processes_of(self.cli.root())
    }

    pub(crate) async fn wait_no_cli(&self) {
        let start = std::time::Instant::now();
        loop {
            let left = self.cli_processes();
            if left.is_empty() {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "CLI processes left: {left:#?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test]
async fn hello_gets_the_models_answer_as_a_reply() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    let sent = rig.say("hello");
    let expected = "Hello from mock-llm. You said: \"hello\" (prior_assistant_turns=0).";
    let msgs = rig
        .wait_done(sent.message_id, "prior_assistant_turns=0")
        .await;
    assert_eq!(msgs.len(), 1, "{msgs:#?}");
    assert_eq!(msgs[0].text.as_deref(), Some(expected));
    assert_eq!(
        msgs[0].reply_to,
        Some(sent.message_id),
        "the answer replies to the user's message"
    );
    assert!(rig.tg.count("sendChatAction") >= 1, "typing was shown");
    let commands = rig.tg.commands(rig.bot);
    assert!(commands.iter().any(|(c, _)| c == "stop"), "{commands:?}");
    rig.wait_no_cli().await;
}

#[tokio::test]
async fn a_long_answer_is_split_into_valid_messages_without_loss() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    let text = prose(12_000);
    rig.mock.script("MOCK_BIG", Reply::text(text.clone()));
    let sent = rig.say("MOCK_BIG please");
    let last_sentence = text
        .rsplit(". ")
        .next()
        .unwrap()
        .trim_end_matches('.')
        .to_owned();
    let msgs = rig.wait_done(sent.message_id, &last_sentence).await;
    assert!(msgs.len() >= 3, "{} messages", msgs.len());
    let joined: String = msgs
        .iter()
        .filter_map(|m| m.text.clone())
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(norm(&joined), norm(&text), "nothing lost or doubled");
    for m in &msgs {
        let len = m.text.as_deref().unwrap_or_default().encode_utf16().count();
        assert!(len <= 4096, "message {} has {len} units", m.message_id);
    }
    // Every send/edit the agent made was accepted by the HTML validator.
    let rejected: Vec<_> = rig
        .tg
        .calls()
        .into_iter()
        .filter(|c| matches!(c.method.as_str(), "sendMessage" | "editMessageText"))
        .filter(|c| matches!(&c.outcome, CallOutcome::Err(e) if e.description.contains("parse entities")))
        .collect();
    assert!(rejected.is_empty(), "{rejected:#?}");
}

#[tokio::test]
async fn flood_control_delays_but_never_loses_the_final_text() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    rig.tg.set_flood_control(CHAT, Duration::from_secs(3));
    let text = prose(5_000);
    rig.mock.script(
        "MOCK_FLOOD",
        Reply::text(text.clone()).chunk_delay(Duration::from_millis(40)),
    );
    let sent = rig.say("MOCK_FLOOD");
    let last_sentence = text
        .rsplit(". ")
        .next()
        .unwrap()
        .trim_end_matches('.')
        .to_owned();
    let msgs = rig.wait_done(sent.message_id, &last_sentence).await;
    let joined: String = msgs
        .iter()
        .filter_map(|m| m.text.clone())
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(norm(&joined), norm(&text));
    let throttled = rig
        .tg
        .calls()
        .iter()
        .filter(|c| matches!(&c.outcome, CallOutcome::Err(e) if e.code == 429))
        .count();
    assert!(throttled > 0, "flood control was hit at least once");
}

#[tokio::test]
async fn a_message_while_busy_is_queued_and_its_cancel_works() {
    const OTHER: i64 = 1_000_002;
    let rig = TgRig::start("claude", "sonnet", |c| {
        c["allowed_user_ids"] = json!([CHAT, OTHER]);
    })
    .await;
    let slow = rig.say("MOCK_SLOW");
    rig.wait_text(CHAT, slow.message_id, "slow-chunk", TURN)
        .await;
    let queued = rig.say("queued hello");
    let cancel_me = rig.say("cancel me please");
    let bot = rig.bot;
    let indicator = rig
        .tg
        .wait_until(TURN, move |w| {
            w.visible_messages(bot, CHAT).into_iter().find(|m| {
                m.reply_to == Some(cancel_me.message_id)
                    && m.text.as_deref() == Some("[Message in queue...]")
            })
        })
        .await;
    let data = indicator.callback_data();
    assert_eq!(data.len(), 1, "{data:?}");
    assert!(data[0].starts_with("mq:"));
    // Another (allowed) user who learns the button's data cannot cancel it from
    // their own chat.
    rig.tg.add_user(OTHER, "Mallory", None);
    let theirs = rig.tg.user_sends_text(rig.bot, OTHER, "hello");
    let forged = rig
        .tg
        .user_sends_callback(rig.bot, OTHER, theirs.message_id, &data[0]);
    let query = forged.query_id.clone();
    rig.tg
        .wait_until(TURN, move |w| {
            w.calls_of("answerCallbackQuery")
                .iter()
                .any(|c| c.params["callback_query_id"] == query.as_str())
                .then_some(())
        })
        .await;
    let still = rig.tg.message(rig.bot, CHAT, indicator.message_id).unwrap();
    assert_eq!(still.text.as_deref(), Some("[Message in queue...]"));
    rig.tg
        .user_presses_button(rig.bot, CHAT, indicator.message_id, &data[0]);
    let id = indicator.message_id;
    rig.tg
        .wait_until(TURN, move |w| {
            w.message(bot, CHAT, id)
                .filter(|m| m.text.as_deref() == Some("[Message cancelled.]"))
        })
        .await;
    // /interrupt ends the slow turn but keeps the queue: the first queued one runs.
    let int = rig.say("/interrupt");
    rig.wait_text(CHAT, int.message_id, "Interrupted 1 process", TURN)
        .await;
    rig.wait_done(queued.message_id, "You said: \"queued hello\"")
        .await;
    assert!(
        !rig.mock
            .requests()
            .iter()
            .any(|r| r.last_user_text.contains("cancel me")),
        "the cancelled message never reached the model"
    );
    // Its queue indicator was removed when it started.
    let queue_left = rig
        .replies_after(CHAT, queued.message_id)
        .into_iter()
        .any(|m| {
            m.reply_to == Some(queued.message_id)
                && m.text.as_deref() == Some("[Message in queue...]")
        });
    assert!(!queue_left);
}

#[tokio::test]
async fn stop_mid_stream_kills_the_cli_and_the_next_message_resumes() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    let slow = rig.say("MOCK_SLOW");
    rig.wait_text(CHAT, slow.message_id, "slow-chunk", TURN)
        .await;
    let before = rig.wait_session("claude", |s| s.is_some()).await;
    let stop = rig.say("/stop");
    rig.wait_text(CHAT, stop.message_id, "Agent stopped", TURN)
        .await;
    rig.wait_no_cli().await;
    let next = rig.say("hello again");
    rig.wait_done(next.message_id, "hello again").await;
    assert_eq!(rig.session_id("claude"), before, "the same session resumed");
    let last = rig.mock.requests().into_iter().last().unwrap();
    assert_eq!(last.session_id().map(str::to_owned), before);
    let nothing = rig.say("/stop");
    rig.wait_text(CHAT, nothing.message_id, "Nothing running", TURN)
        .await;
}

#[tokio::test]
async fn unauthorised_users_get_nothing_and_start_nothing() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    let stranger = 2_000_002;
    rig.tg.add_user(stranger, "Mallory", Some("mallory"));
    rig.tg
        .user_sends_text(rig.bot, stranger, "hello, run rm -rf /");
    rig.tg.user_sends_text(rig.bot, stranger, "/status");
    // The allowed user's message is handled after them: once it is answered, the
    // stranger's were definitely seen.
    let sent = rig.say("hello");
    rig.wait_done(sent.message_id, "You said: \"hello\"").await;
    assert!(
        rig.tg.calls_for(stranger).is_empty(),
        "{:#?}",
        rig.tg.calls_for(stranger)
    );
    assert!(
        !rig.mock
            .requests()
            .iter()
            .any(|r| r.last_user_text.contains("rm -rf"))
    );
    let activity: serde_json::Value = serde_json::from_slice(
        &tokio::fs::read(rig.home.root.join("chat_activity.json"))
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        activity["records"][stranger.to_string()]["rejected_count"],
        json!(2)
    );
}

#[tokio::test]
async fn new_starts_a_new_session() {
    let rig = TgRig::start("codex", "gpt-5.5", |_| {}).await;
    let first = rig.say("first");
    rig.wait_done(first.message_id, "You said: \"first\"").await;
    let a = rig.wait_session("codex", |s| s.is_some()).await.unwrap();
    let second = rig.say("second");
    let msgs = rig
        .wait_done(second.message_id, "prior_assistant_turns=1")
        .await;
    assert!(!msgs.is_empty());
    assert_eq!(
        rig.session_id("codex").as_deref(),
        Some(a.as_str()),
        "resumed"
    );
    let new = rig.say("/new");
    rig.wait_text(CHAT, new.message_id, "Session reset", TURN)
        .await;
    let third = rig.say("third");
    rig.wait_done(third.message_id, "prior_assistant_turns=0")
        .await;
    let b = rig
        .wait_session("codex", |s| s.is_some_and(|s| s != a))
        .await;
    assert_ne!(b.as_deref(), Some(a.as_str()));
}

#[tokio::test]
async fn killed_agent_comes_back_and_offers_to_retry_the_interrupted_turn() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    let slow = rig.say("MOCK_SLOW please");
    rig.wait_text(CHAT, slow.message_id, "slow-chunk", TURN)
        .await;
    let session = rig.wait_session("claude", |s| s.is_some()).await;
    let h = rig.home.health().await.unwrap();
    let pid = agent_pid(&h, "main");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let bot = rig.bot;
    let notice = rig
        .tg
        .wait_until(TURN, move |w| {
            w.visible_messages(bot, CHAT).into_iter().find(|m| {
                m.text
                    .as_deref()
                    .is_some_and(|t| t.contains("interrupted by a restart"))
            })
        })
        .await;
    let data = notice.callback_data();
    assert_eq!(data, [format!("rt:tg:{CHAT}")]);
    // The CLI of the killed agent did not survive it.
    rig.wait_no_cli().await;
    let before = rig.mock.requests().len();
    rig.tg
        .user_presses_button(rig.bot, CHAT, notice.message_id, &data[0]);
    let reqs = rig.mock.wait_for_requests(before + 1, TURN).await;
    let retried = reqs.last().unwrap();
    assert!(retried.last_user_text.contains("MOCK_SLOW please"));
    assert_eq!(
        retried.session_id().map(str::to_owned),
        session,
        "same session"
    );
    // The first run and the retry; the new agent did not replay the message on its
    // own (its update was acknowledged before the turn started).
    let runs = rig
        .mock
        .requests()
        .iter()
        .filter(|r| r.last_user_text.contains("MOCK_SLOW please"))
        .count();
    assert_eq!(runs, 2, "{}", rig.mock.summary());
    let stop = rig.say("/stop");
    rig.wait_text(CHAT, stop.message_id, "Agent stopped", TURN)
        .await;
}

#[tokio::test]
async fn expired_login_is_explained_in_one_sentence() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    let sent = rig.say("MOCK_ERROR_401");
    let msgs = rig.wait_done(sent.message_id, "not logged in").await;
    let text = msgs
        .iter()
        .filter_map(|m| m.text.clone())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.contains("Claude is not logged in any more") && text.contains("claude /login"),
        "{text}"
    );
    assert!(!text.to_lowercase().contains("no response"));
}

#[tokio::test]
async fn tool_progress_is_shown_while_streaming_and_removed_at_the_end() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    let sent = rig.say("MOCK_TOOL: run a shell command");
    let msgs = rig.wait_done(sent.message_id, "mock-tool-output").await;
    let final_text = msgs
        .iter()
        .filter_map(|m| m.text.clone())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(!final_text.contains("[TOOL"), "{final_text}");
    let showed_tool = rig
        .tg
        .calls()
        .iter()
        .filter(|c| matches!(c.method.as_str(), "sendMessage" | "editMessageText"))
        .any(|c| {
            c.param_str("text")
                .is_some_and(|t| t.contains("[TOOL: Shell]"))
        });
    assert!(showed_tool, "the tool indicator was visible while it ran");
    let _ = BOT;
    let _ = Fault::bad_request("unused");
}

#[tokio::test]
async fn an_answer_over_the_message_limit_comes_whole_as_a_file() {
    let rig = TgRig::start("claude", "sonnet", |c| {
        c["max_reply_messages"] = json!(2);
    })
    .await;
    let sent = rig.say("MOCK_LONG<<20000>>");
    let bot = rig.bot;
    let upload = rig
        .tg
        .wait_until(TURN, move |w| {
            w.uploads()
                .iter()
                .find(|u| u.bot == bot && u.chat_id == CHAT)
                .cloned()
        })
        .await;
    let whole = String::from_utf8_lossy(&upload.data).into_owned();
    assert!(whole.len() >= 20_000, "{} bytes", whole.len());
    assert!(whole.trim_end().ends_with("of the long mock answer."));
    assert!(
        upload
            .file_name
            .as_deref()
            .is_some_and(|n| n.starts_with("answer-")
                && std::path::Path::new(n)
                    .extension()
                    .is_some_and(|e| e == "md")),
        "{:?}",
        upload.file_name
    );
    let msgs: Vec<_> = rig
        .replies_after(CHAT, sent.message_id)
        .into_iter()
        .filter(|m| m.text.is_some())
        .collect();
    assert_eq!(msgs.len(), 2, "{msgs:#?}");
    assert!(
        msgs[1].contains("longer than 2 messages"),
        "{:?}",
        msgs[1].text
    );
}

#[tokio::test]
async fn a_rate_limit_is_explained_in_one_sentence() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    let sent = rig.say("MOCK_ERROR_429");
    let msgs = rig
        .wait_done(sent.message_id, "hit a rate or usage limit")
        .await;
    let text = msgs
        .iter()
        .filter_map(|m| m.text.clone())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.starts_with("Claude hit a rate or usage limit"),
        "{text}"
    );
    assert!(!text.contains("mock-llm: rate limited\n"), "{text}");
}

/// The whole chat flow on codex or gemini: an answer, a resumed second turn, and a
/// session id the CLI no longer knows (its files were lost) replaced without the
/// user seeing an error.
async fn chat_flow_on(provider: &str, model: &str, stale: &str) {
    let sessions = json!({
        format!("tg:{CHAT}"): {
            "transport": "tg",
            "chat_id": CHAT,
            "topic_id": null,
            "topic_name": null,
            "provider": provider,
            "model": model,
            "reasoning_effort": "medium",
            "created_at": "2026-05-01T10:00:00+00:00",
            "last_active": (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339(),
            "provider_sessions": {
                provider: {"session_id": stale, "message_count": 3, "total_cost_usd": 0.0, "total_tokens": 10}
            }
        }
    });
    let rig = TgRig::start_prepared(
        provider,
        model,
        |tg, bot| tg.open_private_chat(bot, CHAT),
        |home| {
            std::fs::write(home.root.join("sessions.json"), sessions.to_string()).unwrap();
        },
    )
    .await;
    let first = rig.say("hello there");
    rig.wait_done(first.message_id, "prior_assistant_turns=0")
        .await;
    let id = rig
        .wait_session(provider, |id| id.is_some_and(|id| id != stale))
        .await
        .unwrap();
    let second = rig.say("and again");
    let msgs = rig
        .wait_done(second.message_id, "prior_assistant_turns=1")
        .await;
    assert_eq!(msgs.len(), 1, "{msgs:#?}");
    assert_eq!(rig.session_id(provider).as_deref(), Some(id.as_str()));
    let all = rig.text_after(CHAT, 0);
    assert!(!all.to_lowercase().contains("error"), "{all}");
    let reqs = rig.mock.requests();
    assert!(
        reqs.iter().all(|r| r.model.as_deref() == Some(model)),
        "{}",
        rig.mock.summary()
    );
    rig.wait_no_cli().await;
}

#[tokio::test]
async fn the_chat_flow_works_on_codex() {
    chat_flow_on(
        "codex",
        crate::support::clis::CODEX_MODEL,
        "019a0000-0000-7000-8000-000000000000",
    )
    .await;
}

#[tokio::test]
async fn the_chat_flow_works_on_gemini() {
    chat_flow_on(
        "gemini",
        "gemini-3.8-flash",
        "5b0e2f4c-1d7a-4c1e-9b1a-2f3e4d5c6b7a",
    )
    .await;
}
