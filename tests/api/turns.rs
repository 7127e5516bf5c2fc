//! Turns over the API with the genuine claude CLI: streaming, abort, disconnects,
//! and background results that wait for the client.

use super::{ApiRig, TURN, deltas};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

#[tokio::test]
async fn an_encrypted_turn_streams_deltas_and_ends_with_one_result() {
    let rig = ApiRig::start(|_| {}).await;
    let mut c = rig.client(json!({"chat_id": 42})).await;
    c.say("MOCK_LONG<<400>>").await;
    let frames = c.result().await;
    let result = frames.last().unwrap();
    let text = result["text"].as_str().unwrap();
    assert!(
        text.contains("Sentence 1 of the long mock answer."),
        "{result}"
    );
    assert!(text.len() >= 400);
    let streamed = deltas(&frames);
    assert!(
        frames.iter().filter(|f| f["type"] == "text_delta").count() > 1,
        "streamed in pieces: {frames:#?}"
    );
    assert_eq!(
        streamed.trim(),
        text.trim(),
        "the deltas add up to the result"
    );
    assert_eq!(result["stream_fallback"], false);
    assert_eq!(result["files"], json!([]));
    // The session is the API chat's own, and the next turn resumes it.
    c.say("hello again").await;
    let again = c.result().await.pop().unwrap();
    assert!(
        again["text"]
            .as_str()
            .unwrap()
            .contains("prior_assistant_turns=1"),
        "{again}"
    );
}

#[tokio::test]
async fn a_tool_call_shows_as_tool_activity() {
    let rig = ApiRig::start(|_| {}).await;
    let mut c = rig.client(json!({})).await;
    c.say("MOCK_TOOL").await;
    let frames = c.result().await;
    assert!(
        frames
            .iter()
            .any(|f| f["type"] == "tool_activity" && f["data"] == "Bash"),
        "{frames:#?}"
    );
    let text = frames.last().unwrap()["text"].as_str().unwrap().to_owned();
    assert!(text.contains("mock-tool-output"), "{text}");
}

#[tokio::test]
async fn abort_mid_stream_stops_at_once_and_leaves_no_process() {
    let rig = ApiRig::start(|_| {}).await;
    let mut c = rig.client(json!({})).await;
    c.say("MOCK_SLOW").await;
    c.until(TURN, |f| {
        f["type"] == "text_delta" && f["data"].as_str().unwrap_or("").contains("slow-chunk-1")
    })
    .await;
    let asked = Instant::now();
    c.send(&json!({"type": "abort"})).await;
    let frames = c
        .until(Duration::from_secs(20), |f| f["type"] == "abort_ok")
        .await;
    assert_eq!(frames.last().unwrap()["killed"], 1, "{frames:#?}");
    // Read while the turn ran: answered long before the 30 s answer would end.
    assert!(
        asked.elapsed() < Duration::from_secs(10),
        "{:?}",
        asked.elapsed()
    );
    rig.wait_cli("abort leaves no CLI process", <[_]>::is_empty)
        .await;
    // The connection goes on (the stopped turn's `result` may come after `abort_ok`).
    c.say("after the abort").await;
    let mut last = c.result().await;
    while last.last().unwrap()["stopped"] == true {
        last = c.result().await;
    }
    assert!(
        last.last().unwrap()["text"]
            .as_str()
            .unwrap()
            .contains("after the abort")
    );
}

#[tokio::test]
async fn stop_all_and_interrupt_words_act_as_their_commands() {
    let rig = ApiRig::start(|c| c["abort_words"] = json!(true)).await;
    let mut c = rig.client(json!({})).await;
    // A bare interrupt word (with abort_words): like /interrupt, not a stop.
    c.say("MOCK_SLOW one").await;
    c.until(TURN, |f| {
        f["type"] == "text_delta" && f["data"].as_str().unwrap_or("").contains("slow-chunk-1")
    })
    .await;
    c.say("skip").await;
    let frames = c
        .until(TURN, |f| {
            f["type"] == "result" && f["text"].as_str().unwrap_or("").contains("Interrupted")
        })
        .await;
    assert!(
        !frames.iter().any(|f| f["type"] == "abort_ok"),
        "{frames:#?}"
    );
    rig.wait_cli("the interrupted turn ends", |p| claude_runs(p) == 0)
        .await;
    // "stop all": every agent's work, answered like /stop_all.
    c.say("MOCK_SLOW two").await;
    c.until(TURN, |f| {
        f["type"] == "text_delta" && f["data"].as_str().unwrap_or("").contains("slow-chunk-1")
    })
    .await;
    c.say("Stop  all").await;
    let frames = c
        .until(TURN, |f| {
            f["type"] == "result"
                && f["text"]
                    .as_str()
                    .unwrap_or("")
                    .contains("across all agents")
        })
        .await;
    assert!(
        !frames.iter().any(|f| f["type"] == "abort_ok"),
        "{frames:#?}"
    );
    rig.wait_cli("stop all leaves no CLI process", <[_]>::is_empty)
        .await;
}

#[tokio::test]
async fn an_old_session_gets_the_age_note_every_tenth_answer() {
    let began = chrono::Utc::now() - chrono::Duration::hours(30);
    let sessions = json!({
        "api:77": {
            "transport": "api", "chat_id": 77, "topic_id": null, "topic_name": null,
            "provider": "claude", "model": "sonnet",
            "created_at": began.to_rfc3339(), "last_active": chrono::Utc::now().to_rfc3339(),
            "provider_sessions": {
                "claude": {"session_id": "", "message_count": 8, "total_cost_usd": 0.0,
                           "total_tokens": 0, "started_at": began.to_rfc3339()}
            }
        }
    });
    let rig = ApiRig::start_prepared(
        |_| {},
        |home| std::fs::write(home.root.join("sessions.json"), sessions.to_string()).unwrap(),
    )
    .await;
    let mut c = rig.client(json!({"chat_id": 77})).await;
    let note = "Use /new for a fresh start.";
    c.say("ninth").await;
    let ninth = c.result().await;
    let text = ninth.last().unwrap()["text"].as_str().unwrap().to_owned();
    assert!(text.contains("ninth") && !text.contains(note), "{text}");
    c.say("tenth").await;
    let tenth = c.result().await;
    let text = tenth.last().unwrap()["text"].as_str().unwrap().to_owned();
    // Markdown, like every `result`: the brackets are escaped.
    assert!(
        text.contains("tenth")
            && text.ends_with(r"\[Session is 30h old. Use /new for a fresh start.\]"),
        "{text}"
    );
}

/// The CLI runs themselves (not their reaper wrappers).
fn claude_runs(p: &[(i32, String)]) -> usize {
    p.iter()
        .filter(|(_, cmd)| cmd.contains("claude") && !cmd.contains("__reap"))
        .count()
}

/// The highest `slow-chunk-N` in `frames`.
fn last_chunk(frames: &[Value]) -> Option<u32> {
    frames
        .iter()
        .filter_map(|f| f["data"].as_str())
        .flat_map(|d| d.split("slow-chunk-").skip(1))
        .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .max()
}

#[tokio::test]
async fn a_disconnect_stops_only_its_own_turn() {
    let rig = ApiRig::start(|_| {}).await;
    // Same chat id, two channels: the original stopped everything of the chat id.
    let mut a = rig.client(json!({"chat_id": 9})).await;
    let mut b = rig.client(json!({"chat_id": 9, "channel_id": 2})).await;
    a.say("MOCK_SLOW from a").await;
    b.say("MOCK_SLOW from b").await;
    for c in [&mut a, &mut b] {
        c.until(TURN, |f| {
            f["type"] == "text_delta" && f["data"].as_str().unwrap_or("").contains("slow-chunk")
        })
        .await;
    }
    rig.wait_cli("two slow turns run", |p| claude_runs(p) == 2)
        .await;
    drop(a);
    let dropped = Instant::now();
    rig.wait_cli("a's turn stops", |p| claude_runs(p) == 1)
        .await;
    assert!(
        dropped.elapsed() < Duration::from_secs(10),
        "{:?}",
        dropped.elapsed()
    );
    // b's CLI goes on producing: chunks beyond what had been made when a's stopped.
    let mut seen = b.until(TURN, |f| f["type"] == "text_delta").await;
    let mark = last_chunk(&seen).unwrap_or(0);
    let more = b
        .until(TURN, move |f| {
            last_chunk(std::slice::from_ref(f)).is_some_and(|n| n >= mark + 5)
        })
        .await;
    seen.extend(more);
    assert!(!seen.iter().any(|f| f["type"] == "result"), "{seen:#?}");
    assert_eq!(claude_runs(&rig.cli_processes()), 1, "b's CLI still runs");
    b.send(&json!({"type": "abort"})).await;
    b.until(TURN, |f| f["type"] == "abort_ok").await;
    rig.wait_cli("no CLI left", <[_]>::is_empty).await;
}

/// The pending items of the outbox journal.
fn pending(rig: &ApiRig) -> Vec<Value> {
    std::fs::read_to_string(rig.home.root.join("outbox.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| v["pending"].as_object().cloned())
        .map(|m| m.into_values().collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_task_result_waits_for_the_client_and_arrives_on_reconnect() {
    let rig = ApiRig::start(|_| {}).await;
    let gate = rig.home.root.join("task-gate");
    let wait_gate = format!(
        "while [ ! -e {} ]; do sleep 0.1; done; echo gate-open",
        gate.display()
    );
    // The task's own CLI waits for the gate; the parent's request is left alone.
    rig.mock.script_fn("GATED_TASK", move |r| {
        if r.tool_results.is_empty() && r.last_user_text.contains("[ductor background task ") {
            super::support::mock_llm::Reply::tool(wait_gate.clone())
        } else {
            super::support::mock_llm::Reply::builtin(r)
        }
    });
    let mut c = rig.client(json!({"chat_id": 31})).await;
    c.say(r#"MOCK_TOOL_CMD<<ductor task create --name Gate "GATED_TASK">>"#)
        .await;
    let created = c.result().await.pop().unwrap();
    assert!(
        created["text"].as_str().unwrap().contains("created"),
        "{created}"
    );
    drop(c);
    std::fs::write(&gate, b"").unwrap();
    // The result waits in the outbox journal for a client of chat 31.
    let start = Instant::now();
    while !pending(&rig).iter().any(|p| {
        p["key"] == "api:31"
            && p["notice"]
                .as_str()
                .unwrap_or("")
                .contains("Task `Gate` completed")
    }) {
        assert!(
            start.elapsed() < TURN,
            "no pending delivery: {:?}\ntasks: {}\nlog: {}",
            pending(&rig),
            std::fs::read_to_string(rig.home.root.join("tasks.json")).unwrap_or_default(),
            rig.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Another chat's client gets nothing of it.
    let mut other = rig.client(json!({"chat_id": 32})).await;
    let mut back = rig.client(json!({"chat_id": 31})).await;
    let notice = back.result().await.pop().unwrap();
    assert_eq!(notice["background"], true, "{notice}");
    assert!(
        notice["text"]
            .as_str()
            .unwrap()
            .contains("Task `Gate` completed"),
        "{notice}"
    );
    // The agent then answers the injected result in the chat's session.
    let answer = back.result().await.pop().unwrap();
    assert!(
        answer["text"]
            .as_str()
            .unwrap()
            .contains("BACKGROUND TASK COMPLETED"),
        "{answer}"
    );
    let start = Instant::now();
    while !pending(&rig).is_empty() {
        assert!(start.elapsed() < TURN, "still pending: {:?}", pending(&rig));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    other.say("/status").await;
    let status = other.result().await;
    assert_eq!(status.len(), 1, "only its own answer: {status:#?}");
}

#[tokio::test]
async fn after_a_restart_the_chat_hears_of_it_and_can_retry_the_interrupted_turn() {
    let rig = ApiRig::start(|_| {}).await;
    let before = support_pid(&rig).await;
    let mut c = rig.client(json!({"chat_id": 12})).await;
    c.say("MOCK_SLOW interrupted").await;
    c.until(TURN, |f| {
        f["type"] == "text_delta" && f["data"].as_str().unwrap_or("").contains("slow-chunk")
    })
    .await;
    c.say("/restart").await;
    assert_eq!(
        c.close_code(TURN).await,
        Some(1001),
        "the old agent closes its sockets"
    );
    // The new agent (a new process, a new port) tells the chat's first client.
    let start = Instant::now();
    while support_pid(&rig).await == before {
        assert!(start.elapsed() < TURN, "the agent never restarted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut back = reconnect(&rig, json!({"chat_id": 12})).await;
    let mut notes = Vec::new();
    while !notes
        .iter()
        .any(|f: &Value| f["buttons"].to_string().contains("rt:api:12"))
    {
        notes.push(back.result().await.pop().unwrap());
    }
    assert!(notes.iter().all(|f| f["background"] == true), "{notes:#?}");
    let retry = notes
        .iter()
        .flat_map(|f| f["buttons"].as_array().cloned().unwrap_or_default())
        .flat_map(|row| row.as_array().cloned().unwrap_or_default())
        .find(|b| b["id"] == "rt:api:12")
        .unwrap();
    back.send(&json!({"type": "action", "id": retry["id"]}))
        .await;
    back.until(TURN, |f| {
        f["type"] == "text_delta" && f["data"].as_str().unwrap_or("").contains("slow-chunk")
    })
    .await;
    let requests = rig
        .mock
        .requests()
        .into_iter()
        .filter(|r| r.last_user_text.contains("MOCK_SLOW interrupted"))
        .count();
    assert!(
        requests >= 2,
        "the retry ran the prompt again: {}",
        rig.mock.summary()
    );
    back.send(&json!({"type": "abort"})).await;
    back.until(TURN, |f| f["type"] == "abort_ok").await;
}

/// The main agent's pid now.
async fn support_pid(rig: &ApiRig) -> Option<u32> {
    let h = rig.home.health().await?;
    h.agents
        .iter()
        .find(|a| a.name == "main" && a.status == ductor::ipc::message::AgentStatus::Running)
        .and_then(|a| a.pid)
}

/// A client of the agent's API as it is now (after a restart the port is a new one:
/// `run/api.port` is read again until a connection is taken).
async fn reconnect(rig: &ApiRig, extra: Value) -> super::Client {
    let start = Instant::now();
    loop {
        let addr = rig.home.api_addr().await;
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return super::Client::authenticated(addr, super::TOKEN, extra).await;
        }
        assert!(start.elapsed() < TURN, "the API never came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
