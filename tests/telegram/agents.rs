//! Sub-agents over the bus: the main agent's CLI asks `sub1` with `ductor ask`
//! (sync and async), unknown agents fail with the roster, `/stop_all` stops runs
//! on every agent, shared knowledge reaches every agent's memory, `/agents` and
//! `/agent_stop|start`.

use super::support::daemon::{bin, processes_of};
use super::support::mock_llm::Reply;
use super::{CHAT, TgRig};
use std::time::{Duration, Instant};

impl TgRig {
    /// Runs `ductor <args>` as the CLI of agent `agent` would (its `DUCTOR_*` variables).
    fn tool(&self, agent: &str, args: &[&str]) -> std::process::Output {
        std::process::Command::new(bin("ductor"))
            .args(args)
            .env_remove("DUCTOR_HOME")
            .env("DUCTOR_ROOT", &self.home.root)
            .env("DUCTOR_AGENT_NAME", agent)
            .env("DUCTOR_CHAT_ID", CHAT.to_string())
            .output()
            .expect("run ductor")
    }
}

/// CLI processes (and their reapers) of the home: everything but ductor and its agents.
fn cli_processes(root: &std::path::Path) -> Vec<(i32, String)> {
    let sup = bin("ductor").display().to_string();
    let agent = bin("ductor-agent").display().to_string();
    processes_of(root)
        .into_iter()
        .filter(|(_, cmd)| {
            cmd.contains("__reap") || !(cmd.starts_with(&sup) || cmd.starts_with(&agent))
        })
        .collect()
}

fn sub_answers(rig: &TgRig) {
    rig.mock.script(
        "[INTER-AGENT MESSAGE from 'main' to 'sub1']",
        Reply::text("My name is sub1, at your service."),
    );
}

#[tokio::test]
async fn main_asks_a_sub_agent_and_uses_its_answer() {
    let (rig, _) =
        TgRig::start_with_agents("claude", "sonnet", &[("sub1", "codex", "gpt-5.2")]).await;
    sub_answers(&rig);
    rig.say("MOCK_TOOL_CMD<<ductor ask sub1 what is your name>>");
    let reply = rig.wait_from(rig.bot, CHAT, "The tool ran").await;
    assert!(
        reply.contains("My name is sub1, at your service."),
        "main's reply carries the sub-agent's answer: {:?}",
        reply.text
    );
    let asked: Vec<_> = rig
        .mock
        .requests()
        .into_iter()
        .filter(|r| {
            r.last_user_text
                .contains("[INTER-AGENT MESSAGE from 'main' to 'sub1']")
        })
        .collect();
    assert_eq!(asked.len(), 1, "sub1's CLI got the wrapped question once");
    assert!(asked[0].last_user_text.contains("what is your name"));
    assert!(
        asked[0].path.starts_with("/v1/responses"),
        "sub1 runs codex: {}",
        asked[0].path
    );
    let named = std::fs::read_to_string(rig.home.root.join("agents/sub1/named_sessions.json"))
        .expect("sub1 keeps its inter-agent session");
    assert!(named.contains("\"ia.main.t0.x"), "{named}");

    let out = rig.tool("main", &["ask", "nosuch", "hi"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nosuch") && err.contains("main") && err.contains("sub1"),
        "unknown agent → the roster: {err}"
    );
    let out = rig.tool("main", &["ask", "main", "hi"]);
    assert_eq!(out.status.code(), Some(1), "asking yourself is refused");
}

#[tokio::test]
async fn an_async_ask_returns_a_task_id_and_the_answer_is_injected_later() {
    let (rig, bots) =
        TgRig::start_with_agents("claude", "sonnet", &[("sub1", "claude", "haiku")]).await;
    let sub = bots[0];
    // A bot can only write to users who talked to it first.
    rig.tg.user_sends_text(sub, CHAT, "/help");
    rig.wait_from(sub, CHAT, "/new").await;
    rig.mock.script(
        "[INTER-AGENT MESSAGE from 'main' to 'sub1']",
        Reply::text("Plan summarised: three steps.").chunk_delay(Duration::from_millis(300)),
    );
    rig.mock.script(
        "[ASYNC INTER-AGENT RESPONSE from 'sub1'",
        Reply::text("Relaying to you: sub1 says the plan has three steps."),
    );
    rig.say("MOCK_TOOL_CMD<<ductor ask --async --summary 'the plan' sub1 summarise the plan>>");
    let first = rig.wait_from(rig.bot, CHAT, "The tool ran").await;
    let text = first.text.clone().unwrap_or_default();
    let id: String = text
        .split("output was:")
        .nth(1)
        .unwrap_or_default()
        .trim()
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    assert_eq!(id.len(), 12, "the tool printed a 12-hex task id: {text}");
    let notice = rig.wait_from(sub, CHAT, "Async task received").await;
    assert!(notice.contains("main") && notice.contains(&id) && notice.contains("the plan"));
    let answer = rig.wait_from(rig.bot, CHAT, "Answer from").await;
    assert!(answer.contains("sub1") && answer.contains(&id));
    rig.wait_from(rig.bot, CHAT, "Relaying to you: sub1 says")
        .await;
    let injected = rig
        .mock
        .requests()
        .into_iter()
        .find(|r| {
            r.last_user_text
                .contains("[ASYNC INTER-AGENT RESPONSE from 'sub1'")
        })
        .expect("the result was injected into main's session");
    assert!(
        injected
            .last_user_text
            .contains("Plan summarised: three steps.")
    );
    assert!(
        injected.prior_assistant_turns >= 1,
        "injected into the chat's existing session"
    );
}

#[tokio::test]
async fn an_async_answer_with_reply_to_goes_to_that_agents_chat_with_the_user() {
    let (rig, bots) = TgRig::start_with_agents(
        "claude",
        "sonnet",
        &[("sub1", "claude", "haiku"), ("sub2", "claude", "haiku")],
    )
    .await;
    let (sub1, sub2) = (bots[0], bots[1]);
    for bot in [sub1, sub2] {
        rig.tg.user_sends_text(bot, CHAT, "/help");
        rig.wait_from(bot, CHAT, "/new").await;
    }
    rig.mock.script(
        "[INTER-AGENT MESSAGE from 'main' to 'sub1']",
        Reply::text("Checked: the build is green."),
    );
    rig.mock.script(
        "[ASYNC INTER-AGENT RESPONSE from 'sub1'",
        Reply::text("sub2 here, relaying: the build is green."),
    );
    rig.say("MOCK_TOOL_CMD<<ductor ask --async --reply-to sub2 sub1 check the build>>");
    rig.wait_from(rig.bot, CHAT, "The tool ran").await;
    // The result lands in sub2's chat with the same user, as a turn of sub2.
    let answer = rig.wait_from(sub2, CHAT, "Answer from").await;
    assert!(answer.contains("sub1"), "{:?}", answer.text);
    rig.wait_from(sub2, CHAT, "sub2 here, relaying").await;
    let injected = rig
        .mock
        .requests()
        .into_iter()
        .find(|r| {
            r.last_user_text
                .contains("[ASYNC INTER-AGENT RESPONSE from 'sub1'")
        })
        .expect("injected into sub2's session");
    assert!(
        injected
            .last_user_text
            .contains("Checked: the build is green.")
    );
    // With --reply-to the asked agent's users get no "received" notice, and main gets
    // no answer.
    let texts = |bot| -> String {
        rig.tg
            .bot_messages(bot, CHAT)
            .into_iter()
            .filter_map(|m| m.text)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let sub1_texts = texts(sub1);
    assert!(!sub1_texts.contains("Async task received"), "{sub1_texts}");
    assert!(!texts(rig.bot).contains("Answer from"));
}

#[tokio::test]
async fn stop_all_stops_runs_on_every_agent() {
    let (rig, bots) =
        TgRig::start_with_agents("claude", "sonnet", &[("sub1", "claude", "haiku")]).await;
    let sub = bots[0];
    rig.say("MOCK_SLOW");
    rig.tg.user_sends_text(sub, CHAT, "MOCK_SLOW");
    rig.wait_from(rig.bot, CHAT, "slow-chunk-").await;
    rig.wait_from(sub, CHAT, "slow-chunk-").await;
    assert!(!cli_processes(&rig.home.root).is_empty());
    rig.say("/stop_all");
    let reply = rig.wait_from(rig.bot, CHAT, "across all agents").await;
    assert!(reply.contains("Stopped 2 process(es)"), "{:?}", reply.text);
    let start = Instant::now();
    while !cli_processes(&rig.home.root).is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "CLI processes left: {:#?}",
            cli_processes(&rig.home.root)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn shared_knowledge_reaches_every_agents_memory() {
    let (rig, _) =
        TgRig::start_with_agents("claude", "sonnet", &[("sub1", "claude", "haiku")]).await;
    let memories = [
        rig.home.root.join("workspace/memory_system/MAINMEMORY.md"),
        rig.home
            .root
            .join("agents/sub1/workspace/memory_system/MAINMEMORY.md"),
    ];
    let out = rig.tool(
        "sub1",
        &[
            "shared-memory",
            "append",
            "- The staging server is staging-7.",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let start = Instant::now();
    loop {
        let done = memories.iter().all(|p| {
            std::fs::read_to_string(p).is_ok_and(|m| {
                m.contains("--- SHARED KNOWLEDGE START ---")
                    && m.contains("- The staging server is staging-7.")
            })
        });
        if done {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "shared knowledge did not arrive"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let shown = rig.tool("main", &["shared-memory", "show"]);
    assert!(String::from_utf8_lossy(&shown.stdout).contains("staging-7"));
}

#[tokio::test]
async fn agents_lists_health_and_main_starts_and_stops_sub_agents() {
    let (rig, bots) = TgRig::start_with_agents(
        "claude",
        "sonnet",
        &[("sub1", "gemini", "gemini-3.8-flash")],
    )
    .await;
    rig.say("/agents");
    let list = rig.wait_from(rig.bot, CHAT, "Agents").await;
    assert!(
        list.contains("main") && list.contains("claude / sonnet"),
        "{:?}",
        list.text
    );
    assert!(list.contains("sub1") && list.contains("gemini / gemini-3.8-flash"));
    rig.tg.user_sends_text(bots[0], CHAT, "/agent_stop main");
    rig.wait_from(bots[0], CHAT, "Only the main agent").await;
    rig.say("/agent_stop sub1");
    rig.wait_from(rig.bot, CHAT, "Stopped: sub1").await;
    let h = rig.home.health().await.expect("health");
    let sub1 = h.agents.iter().find(|a| a.name == "sub1").unwrap();
    assert_eq!(sub1.status, ductor::ipc::message::AgentStatus::Stopped);
    rig.say("/agent_stop main");
    rig.wait_from(rig.bot, CHAT, "Could not").await;
    rig.say("/agent_start sub1");
    rig.wait_from(rig.bot, CHAT, "Started: sub1").await;
    rig.home
        .wait_running(&["main", "sub1"], Duration::from_secs(20))
        .await;
}

#[tokio::test]
async fn a_sub_agents_model_switch_is_kept_in_agents_json() {
    let (rig, bots) =
        TgRig::start_with_agents("claude", "sonnet", &[("sub1", "claude", "haiku")]).await;
    rig.tg.user_sends_text(bots[0], CHAT, "/model opus");
    rig.wait_from(bots[0], CHAT, "opus").await;
    let path = rig.home.root.join("agents.json");
    let start = Instant::now();
    loop {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let entry = v
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == "sub1")
            .unwrap()
            .clone();
        if entry["model"] == "opus" {
            assert_eq!(entry["provider"], "claude");
            assert!(
                entry["telegram_token"].is_string(),
                "the rest of the entry is kept"
            );
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "agents.json not updated: {entry}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let main: serde_json::Value =
        serde_json::from_slice(&std::fs::read(rig.home.root.join("config/config.json")).unwrap())
            .unwrap();
    assert_eq!(
        main["model"], "sonnet",
        "the main agent's config is not touched"
    );
}

#[tokio::test]
async fn a_tool_speaks_for_the_agent_whose_cli_started_it() {
    let (rig, _) =
        TgRig::start_with_agents("claude", "sonnet", &[("sub1", "codex", "gpt-5.2")]).await;
    sub_answers(&rig);
    // main's CLI claims to be someone else: the hub knows better.
    rig.say("MOCK_TOOL_CMD<<DUCTOR_AGENT_NAME=sub7 ductor ask sub1 who is asking>>");
    let reply = rig.wait_from(rig.bot, CHAT, "The tool ran").await;
    assert!(reply.contains("My name is sub1"), "{:?}", reply.text);
    assert!(
        !rig.mock
            .requests()
            .iter()
            .any(|r| r.last_user_text.contains("from 'sub7'")),
        "the forged sender reached sub1"
    );
    // …and cannot reach another agent's tasks.
    rig.say("MOCK_TOOL_CMD<<DUCTOR_AGENT_NAME=sub1 ductor task list>>");
    let reply = rig.wait_from(rig.bot, CHAT, "own tasks").await;
    assert!(
        reply.contains("a tool of main can only reach main's own tasks"),
        "{:?}",
        reply.text
    );
}

#[tokio::test]
async fn an_ask_whose_asker_gave_up_stops_on_the_asked_agent() {
    let (rig, _) =
        TgRig::start_with_agents("claude", "sonnet", &[("sub1", "claude", "haiku")]).await;
    let home = rig.home.root.clone();
    let asking = std::thread::spawn(move || {
        std::process::Command::new(bin("ductor"))
            .args(["ask", "--timeout", "8", "sub1", "MOCK_SLOW please"])
            .env_remove("DUCTOR_HOME")
            .env("DUCTOR_ROOT", &home)
            .env("DUCTOR_AGENT_NAME", "main")
            .env("DUCTOR_CHAT_ID", CHAT.to_string())
            .output()
            .expect("run ductor")
    });
    let start = Instant::now();
    while !rig
        .mock
        .requests()
        .iter()
        .any(|r| r.last_user_text.contains("MOCK_SLOW please"))
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "sub1 never started on it"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let out = tokio::task::spawn_blocking(move || asking.join().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("did not answer within 8 s"), "{err}");
    // MOCK_SLOW streams for 30 s; nobody waits for it any more.
    let start = Instant::now();
    while !cli_processes(&rig.home.root).is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "sub1 kept working for nobody: {:#?}",
            cli_processes(&rig.home.root)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
