//! Webhooks end to end: the main agent serves `webhooks.json` on loopback; a `wake`
//! hook's call becomes a turn in the chat, a `cron_task` hook's call runs in its
//! task folder and its result is posted, each on the genuine CLI.

use super::{CHAT, TgRig};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const WAKE_TOKEN: &str = "wake-token-0123456789abcdef0123456789";
const TASK_TOKEN: &str = "task-token-0123456789abcdef0123456789";

/// POSTs `body` to `/hooks/<id>` with a bearer token; the HTTP status.
async fn post(port: u16, id: &str, token: &str, body: &Value) -> Option<u16> {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    let body = body.to_string();
    let req = format!(
        "POST /hooks/{id} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).await.ok()?;
    out.split_whitespace().nth(1)?.parse().ok()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn hook(id: &str, mode: &str, token: &str, template: &str, folder: Option<&str>) -> Value {
    json!({"id": id, "title": format!("Hook {id}"), "mode": mode, "enabled": true,
           "prompt_template": template, "task_folder": folder, "auth_mode": "bearer",
           "token": token})
}

#[tokio::test]
async fn a_wake_call_becomes_a_chat_turn_and_a_cron_task_call_posts_its_result() {
    let port = free_port();
    let rig = TgRig::start_prepared(
        "claude",
        "sonnet",
        |tg, bot| tg.open_private_chat(bot, CHAT),
        |home| {
            home.edit_config(|c| {
                c["webhooks"] = json!({"enabled": true, "host": "127.0.0.1", "port": port,
                                       "token": "", "max_body_bytes": 262_144,
                                       "rate_limit_per_minute": 30});
            });
            let hooks = json!({"hooks": [
                hook("ci", "wake", WAKE_TOKEN, "Build {{status}} for {{repo.name}}", None),
                hook("nightly", "cron_task", TASK_TOKEN, "Summarise {{count}} failures", Some("nightly")),
            ]});
            std::fs::write(home.root.join("webhooks.json"), hooks.to_string()).unwrap();
            std::fs::create_dir_all(home.root.join("workspace/cron_tasks/nightly")).unwrap();
        },
    )
    .await;
    // The server comes up with the agent.
    let start = std::time::Instant::now();
    let wake = json!({"status": "green", "repo": {"name": "ductor"}});
    let status = loop {
        if let Some(s) = post(port, "ci", WAKE_TOKEN, &wake).await {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the server never listened"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status, 202);
    assert_eq!(post(port, "ci", "wrong", &wake).await, Some(401));
    // The wake prompt ran as a turn of the chat, fenced as untrusted input.
    let answer = rig.wait_from(rig.bot, CHAT, "Hello from mock-llm").await;
    assert!(answer.text.is_some());
    let seen = rig.mock.requests();
    let prompt = seen
        .iter()
        .map(|r| r.last_user_text.clone())
        .find(|t| t.contains("Build green for ductor"))
        .unwrap_or_else(|| panic!("{}", rig.mock.summary()));
    assert!(prompt.contains("#-- EXTERNAL WEBHOOK PAYLOAD"), "{prompt}");
    // The cron_task hook runs in its folder and its result is posted.
    assert_eq!(
        post(port, "nightly", TASK_TOKEN, &json!({"count": 3})).await,
        Some(202)
    );
    let posted = rig.wait_from(rig.bot, CHAT, "Webhook: Hook nightly").await;
    let text = posted.text.unwrap_or_default();
    assert!(
        text.contains("Hello from mock-llm"),
        "the model's answer: {text}"
    );
    assert!(
        rig.mock
            .requests()
            .iter()
            .any(|r| r.last_user_text.contains("Summarise 3 failures")),
        "{}",
        rig.mock.summary()
    );
    // Bookkeeping and the generated global token are on disk.
    let start = std::time::Instant::now();
    loop {
        let v: Value = serde_json::from_str(
            &std::fs::read_to_string(rig.home.root.join("webhooks.json")).unwrap(),
        )
        .unwrap();
        if v["hooks"][1]["trigger_count"] == 1 {
            assert_eq!(v["hooks"][0]["trigger_count"], 1);
            assert!(v["hooks"][1]["last_error"].is_null(), "{v}");
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let config: Value = serde_json::from_str(
        &std::fs::read_to_string(rig.home.root.join("config/config.json")).unwrap(),
    )
    .unwrap();
    assert!(
        config["webhooks"]["token"]
            .as_str()
            .is_some_and(|t| t.len() >= 32),
        "{}",
        config["webhooks"]
    );
}
