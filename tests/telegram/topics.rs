//! Forum topics and what runs in a chat: `/new @TopicName` resets another topic by
//! its cached name (learned from the topic's creation and renames), `/new` inside a
//! topic resets and stops only that topic, `/status` lists the chat's named-session
//! runs, background tasks and other topics' turns with their age, and `/sessions`
//! lists the chat's topic sessions beside the named sessions.

use super::{CHAT, TgRig};
use crate::support::daemon::processes_of;
use crate::support::fake_telegram::{Incoming, MessageView, Sent};
use crate::support::mock_llm::Reply;
use serde_json::{Value, json};
use std::time::Duration;

const TURN: Duration = Duration::from_secs(90);

/// A rig with a forum supergroup the bot is in (allowed); returns it and the group id.
async fn forum() -> (TgRig, i64) {
    forum_with(|_| {}).await
}

/// Like [`forum`], with `tweak` editing the config further.
async fn forum_with(tweak: impl FnOnce(&mut Value)) -> (TgRig, i64) {
    let gid = std::cell::Cell::new(0);
    let rig = TgRig::start_with(
        "claude",
        "sonnet",
        |c| {
            c["allowed_group_ids"] = json!([gid.get()]);
            tweak(c);
        },
        |tg, bot| {
            let g = tg.create_supergroup("Projects", true);
            tg.bot_added_to_chat(bot, g, CHAT, true);
            gid.set(g);
        },
    )
    .await;
    let gid = gid.get();
    (rig, gid)
}

impl TgRig {
    /// The user writes `text` in topic `topic` of group `gid` (`None`: outside topics).
    fn say_in(&self, gid: i64, topic: Option<i32>, text: &str) -> Sent {
        let msg = Incoming::text(text);
        let msg = match topic {
            Some(t) => msg.in_thread(t),
            None => msg,
        };
        self.tg.user_sends(self.bot, gid, msg)
    }

    /// Waits for the bot's message in `gid` after `after`, in thread `topic`, containing
    /// `needle`.
    async fn reply_in(
        &self,
        gid: i64,
        topic: Option<i32>,
        after: i32,
        needle: &str,
    ) -> MessageView {
        let bot = self.bot;
        let needle = needle.to_owned();
        self.tg
            .wait_until(TURN, move |w| {
                w.visible_messages(bot, gid).into_iter().find(|m| {
                    m.from_bot == Some(bot)
                        && !m.deleted
                        && m.message_id > after
                        && m.thread_id == topic
                        && m.contains(&needle)
                })
            })
            .await
    }

    /// A turn in `topic` of `gid`: sends `text` and waits for the mock's answer.
    async fn talk_in(&self, gid: i64, topic: Option<i32>, text: &str) -> MessageView {
        let sent = self.say_in(gid, topic, text);
        self.reply_in(
            gid,
            topic,
            sent.message_id,
            &format!("You said: \"{text}\""),
        )
        .await
    }

    /// `sessions.json` as it is now.
    fn sessions(&self) -> Value {
        std::fs::read(self.home.root.join("sessions.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null)
    }

    /// Waits until `pred` holds for `sessions.json`; returns it.
    async fn wait_sessions(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let start = std::time::Instant::now();
        loop {
            let v = self.sessions();
            if pred(&v) {
                return v;
            }
            assert!(start.elapsed() < TURN, "{what}: {v:#}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Processes of this rig whose command line contains `marker`.
    fn running(&self, marker: &str) -> usize {
        processes_of(&self.home.root)
            .into_iter()
            .filter(|(_, cmd)| cmd.contains(marker))
            .count()
    }

    /// Waits until processes with `marker` are there (`true`) or gone (`false`).
    async fn wait_running(&self, marker: &str, present: bool) {
        let start = std::time::Instant::now();
        while (self.running(marker) > 0) != present {
            assert!(
                start.elapsed() < TURN,
                "{marker}: present should be {present}\n{}",
                self.mock.summary()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The claude session id of conversation `key` in `sessions`.
fn sid(sessions: &Value, key: &str) -> Option<String> {
    sessions[key]["provider_sessions"]["claude"]["session_id"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

#[tokio::test]
async fn new_with_a_topic_name_resets_that_topic_and_nothing_else() {
    let (rig, gid) = forum().await;
    let backend = rig
        .tg
        .user_creates_topic(rig.bot, gid, "Backend")
        .message_id;
    let front = rig
        .tg
        .user_creates_topic(rig.bot, gid, "Frontend")
        .message_id;
    rig.talk_in(gid, None, "hi main").await;
    rig.talk_in(gid, Some(backend), "hi backend").await;
    rig.talk_in(gid, Some(front), "hi front").await;
    let (main_key, backend_key, front_key) = (
        format!("tg:{gid}"),
        format!("tg:{gid}:{backend}"),
        format!("tg:{gid}:{front}"),
    );
    let before = rig
        .wait_sessions("every conversation has a session", |v| {
            [&main_key, &backend_key, &front_key]
                .iter()
                .all(|k| sid(v, k).is_some())
        })
        .await;

    // From another topic, by name, in other letter case.
    let cmd = rig.say_in(gid, Some(front), "/new @backend");
    let reply = rig
        .reply_in(gid, Some(front), cmd.message_id, "Backend")
        .await;
    assert!(reply.contains("reset"), "{:?}", reply.text);
    let after = rig
        .wait_sessions("the Backend topic's session is gone", |v| {
            sid(v, &backend_key).is_none()
        })
        .await;
    assert_eq!(after[&backend_key]["topic_name"], "Backend");
    assert_eq!(sid(&after, &main_key), sid(&before, &main_key));
    assert_eq!(sid(&after, &front_key), sid(&before, &front_key));
    // The reset topic starts over; the others go on.
    rig.talk_in(gid, Some(backend), "again backend").await;
    let sent = rig.say_in(gid, Some(front), "again front");
    rig.reply_in(gid, Some(front), sent.message_id, "prior_assistant_turns=1")
        .await;
    let sent = rig.say_in(gid, Some(backend), "third backend");
    rig.reply_in(
        gid,
        Some(backend),
        sent.message_id,
        "prior_assistant_turns=1",
    )
    .await;
    assert_ne!(
        sid(&rig.sessions(), &backend_key),
        sid(&before, &backend_key)
    );

    // An unknown name changes nothing and says which topics there are.
    let frozen = rig.sessions();
    let cmd = rig.say_in(gid, None, "/new @Nowhere");
    let reply = rig.reply_in(gid, None, cmd.message_id, "Nowhere").await;
    let text = reply.text.clone().unwrap_or_default();
    assert!(
        text.contains("Backend") && text.contains("Frontend"),
        "{text}"
    );
    assert!(!text.contains(&gid.to_string()), "{text}");
    for k in [&main_key, &backend_key, &front_key] {
        assert_eq!(sid(&rig.sessions(), k), sid(&frozen, k), "{k}");
    }

    // A renamed topic is found by its new name only.
    rig.tg.user_renames_topic(rig.bot, gid, front, "Web");
    rig.wait_sessions("the new name is cached", |v| {
        v[&front_key]["topic_name"] == "Web"
    })
    .await;
    let cmd = rig.say_in(gid, None, "/new @Frontend");
    rig.reply_in(gid, None, cmd.message_id, "Frontend").await;
    assert_eq!(sid(&rig.sessions(), &front_key), sid(&frozen, &front_key));
    let cmd = rig.say_in(gid, None, "/new @WEB");
    rig.reply_in(gid, None, cmd.message_id, "Web").await;
    let done = rig
        .wait_sessions("the renamed topic's session is gone", |v| {
            sid(v, &front_key).is_none()
        })
        .await;
    assert_eq!(sid(&done, &main_key), sid(&frozen, &main_key));
    assert_eq!(sid(&done, &backend_key), sid(&frozen, &backend_key));
}

#[tokio::test]
async fn new_inside_a_topic_stops_and_resets_only_that_topic() {
    let (rig, gid) = forum().await;
    let backend = rig
        .tg
        .user_creates_topic(rig.bot, gid, "Backend")
        .message_id;
    let front = rig
        .tg
        .user_creates_topic(rig.bot, gid, "Frontend")
        .message_id;
    let main_key = format!("tg:{gid}");
    let backend_key = format!("tg:{gid}:{backend}");
    rig.talk_in(gid, None, "hi main").await;
    rig.talk_in(gid, Some(backend), "hi backend").await;
    let before = rig
        .wait_sessions("main and Backend have sessions", |v| {
            sid(v, &main_key).is_some() && sid(v, &backend_key).is_some()
        })
        .await;
    // A long turn in each topic.
    rig.say_in(gid, Some(backend), "MOCK_TOOL_CMD<<sleep 60>>");
    rig.say_in(gid, Some(front), "MOCK_TOOL_CMD<<sleep 61>>");
    rig.wait_running("sleep 60", true).await;
    rig.wait_running("sleep 61", true).await;

    // `/status` outside the topics shows both turns, each with its topic and age.
    let cmd = rig.say_in(gid, None, "/status");
    let status = rig
        .reply_in(gid, None, cmd.message_id, "Running in this chat")
        .await;
    let text = status.text.clone().unwrap_or_default();
    for topic in ["Backend", "Frontend"] {
        assert!(
            text.lines()
                .any(|l| l.contains(&format!("answer · {topic}")) && l.ends_with(')')),
            "{text}"
        );
    }
    assert!(text.contains("Running: nothing"), "{text}");

    let cmd = rig.say_in(gid, Some(backend), "/new");
    rig.reply_in(gid, Some(backend), cmd.message_id, "Session reset")
        .await;
    rig.wait_running("sleep 60", false).await;
    assert!(
        rig.running("sleep 61") > 0,
        "the other topic's turn runs on"
    );
    let after = rig
        .wait_sessions("the Backend session is gone", |v| {
            sid(v, &backend_key).is_none()
        })
        .await;
    assert_eq!(sid(&after, &main_key), sid(&before, &main_key));
    // The main conversation goes on in its session.
    let sent = rig.say_in(gid, None, "still main");
    rig.reply_in(gid, None, sent.message_id, "prior_assistant_turns=1")
        .await;
    // The topic starts over.
    let sent = rig.say_in(gid, Some(backend), "fresh");
    rig.reply_in(
        gid,
        Some(backend),
        sent.message_id,
        "prior_assistant_turns=0",
    )
    .await;
    assert!(rig.running("sleep 61") > 0);
}

/// Marker of every task prompt (the suffix ductor appends).
const TASK_MARK: &str = "[ductor background task ";

#[tokio::test]
async fn status_lists_named_runs_and_tasks_of_the_chat_with_their_age() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    // A named session whose run sleeps.
    let sent = rig.say("/session MOCK_TOOL_CMD<<sleep 60>>");
    let started = rig.wait_text(CHAT, sent.message_id, "started", TURN).await;
    let all: String = started.iter().filter_map(|m| m.text.clone()).collect();
    let name = all
        .split_once("Session ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no name in {all:?}"))
        .to_owned();
    rig.wait_running("sleep 60", true).await;
    // A task of this chat whose run sleeps, created as the agent's tool would.
    rig.mock.script_fn("SLEEP_TASK", |r| {
        if r.tool_results.is_empty() && r.last_user_text.contains(TASK_MARK) {
            Reply::tool("sleep 61")
        } else {
            Reply::builtin(r)
        }
    });
    let out = rig
        .home
        .ductor()
        .env("DUCTOR_AGENT_NAME", "main")
        .env("DUCTOR_CHAT_ID", CHAT.to_string())
        .env_remove("DUCTOR_TASK_ID")
        .args(["task", "create", "--name", "Long job", "SLEEP_TASK"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run ductor task");
    assert!(out.status.success(), "{out:?}");
    rig.wait_running("sleep 61", true).await;

    let cmd = rig.say("/status");
    let status = rig
        .wait_text(CHAT, cmd.message_id, "Running in this chat", TURN)
        .await;
    let text = status
        .iter()
        .filter_map(|m| m.text.clone())
        .collect::<Vec<_>>()
        .join("\n");
    let named = text
        .lines()
        .find(|l| l.starts_with("▶") && l.contains(&name))
        .unwrap_or_else(|| panic!("no line of {name}: {text}"));
    assert!(named.contains("MOCK_TOOL_CMD"), "its prompt: {named}");
    assert!(named.ends_with(')'), "its age: {named}");
    let task = text
        .lines()
        .find(|l| l.contains("Task") && l.contains("Long job"))
        .unwrap_or_else(|| panic!("no task line: {text}"));
    assert!(task.contains("running") && task.ends_with(')'), "{task}");
    // The private chat's own turn is idle; nothing of other chats is listed.
    assert!(text.contains("Running: nothing"), "{text}");
}

#[tokio::test]
async fn sessions_lists_the_chats_topics_beside_its_named_sessions() {
    let (rig, gid) = forum().await;
    let backend = rig
        .tg
        .user_creates_topic(rig.bot, gid, "Backend")
        .message_id;
    let ideas = rig.tg.user_creates_topic(rig.bot, gid, "Ideas").message_id;
    rig.talk_in(gid, Some(backend), "one").await;
    rig.talk_in(gid, Some(backend), "two").await;
    // Ideas has a name but no turn yet; a named session runs in the chat itself.
    let sent = rig.say_in(gid, None, "/session hello there");
    let done = rig.reply_in(gid, None, sent.message_id, "Complete").await;
    let text = done.text.clone().unwrap_or_default();
    let name = text
        .trim_start_matches('[')
        .split(']')
        .next()
        .unwrap_or_default()
        .to_owned();
    assert!(!name.is_empty(), "{text}");

    let cmd = rig.say_in(gid, None, "/sessions");
    let list = rig.reply_in(gid, None, cmd.message_id, "Topics").await;
    let text = list.text.clone().unwrap_or_default();
    assert!(text.contains(&name), "the named session: {text}");
    let line = |n: &str| {
        text.lines()
            .find(|l| l.contains(n) && l.contains("last active"))
            .unwrap_or_else(|| panic!("no line for {n}: {text}"))
            .to_owned()
    };
    let b = line("Backend");
    assert!(b.starts_with(&format!("{}.", 1)), "{b}");
    assert!(
        b.contains("Claude / sonnet") && b.contains("2 message(s)"),
        "{b}"
    );
    assert!(b.ends_with(" ago"), "{b}");
    let i = line("Ideas");
    assert!(
        i.contains("Claude / sonnet") && i.contains("0 message(s)"),
        "{i}"
    );
    assert!(backend < ideas);
    // Inside a topic the list shows the chat's topics too (and no named session of
    // the chat itself, which belongs to its own conversation).
    let cmd = rig.say_in(gid, Some(ideas), "/sessions");
    let list = rig
        .reply_in(gid, Some(ideas), cmd.message_id, "Topics")
        .await;
    let text = list.text.clone().unwrap_or_default();
    assert!(text.contains("Backend") && !text.contains(&name), "{text}");
}

#[tokio::test]
async fn status_shows_other_topics_warm_processes_and_new_by_name_ends_only_that_one() {
    // Live CLI sessions: a turn leaves its process warm for the next one.
    let (rig, gid) = forum_with(|c| c["permission_mode"] = json!("default")).await;
    let backend = rig
        .tg
        .user_creates_topic(rig.bot, gid, "Backend")
        .message_id;
    let front = rig
        .tg
        .user_creates_topic(rig.bot, gid, "Frontend")
        .message_id;
    rig.talk_in(gid, Some(backend), "hi backend").await;
    rig.talk_in(gid, Some(front), "hi front").await;
    let live = || super::live::live_processes(&rig, "--permission-prompt-tool").len();
    let start = std::time::Instant::now();
    while live() < 2 {
        assert!(start.elapsed() < TURN, "no warm process per topic");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Outside the topics: both warm processes, each with its topic and age.
    let cmd = rig.say_in(gid, None, "/status");
    let status = rig
        .reply_in(gid, None, cmd.message_id, "Running in this chat")
        .await;
    let text = status.text.clone().unwrap_or_default();
    for topic in ["Backend", "Frontend"] {
        assert!(
            text.contains(&format!("Warm Claude process in {topic}: up ")),
            "{text}"
        );
    }
    // Inside a topic: its name, its own warm process, and the other one's.
    let cmd = rig.say_in(gid, Some(backend), "/status");
    let status = rig
        .reply_in(gid, Some(backend), cmd.message_id, "Topic: Backend")
        .await;
    let text = status.text.clone().unwrap_or_default();
    assert!(text.contains("Warm Claude process: up "), "{text}");
    assert!(text.contains("Warm Claude process in Frontend"), "{text}");
    assert!(!text.contains("process in Backend"), "{text}");

    // `/new @Frontend` from the chat ends Frontend's process only.
    let cmd = rig.say_in(gid, None, "/new @frontend");
    rig.reply_in(gid, None, cmd.message_id, "Frontend").await;
    let start = std::time::Instant::now();
    while live() != 1 {
        assert!(start.elapsed() < TURN, "{} live processes", live());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cmd = rig.say_in(gid, None, "/status");
    let status = rig
        .reply_in(gid, None, cmd.message_id, "Running in this chat")
        .await;
    let text = status.text.clone().unwrap_or_default();
    assert!(text.contains("Warm Claude process in Backend"), "{text}");
    assert!(!text.contains("process in Frontend"), "{text}");
}
