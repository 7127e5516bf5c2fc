//! One test per (CLI, case).

use super::{Rig, model_for};
use ductor::provider::ProviderKind;
use ductor::provider::event::{Event, FailureKind, Outcome};
use ductor::provider::runner::TimeoutPolicy;
use std::time::Duration;

fn failure(o: &Outcome) -> (FailureKind, String) {
    match o {
        Outcome::Failed { kind, detail, .. } => (*kind, detail.clone()),
        other @ Outcome::Completed { .. } => panic!("expected a failure, got {other:?}"),
    }
}

async fn plain(p: ProviderKind) {
    let rig = Rig::new(&format!("{p}-plain")).await;
    let r = rig.turn(p, "Say hello", None).await;
    let text = r.text();
    assert!(
        text.contains("Hello from mock-llm") && text.contains("prior_assistant_turns=0"),
        "{text}"
    );
    assert!(r.outcome.session_id().is_some_and(|s| !s.is_empty()));
    assert!(
        matches!(r.events.first(), Some(Event::SessionStarted { .. })),
        "{:?}",
        r.events.first()
    );
    let reqs = rig.mock.requests();
    assert!(
        reqs.iter().any(|q| q.last_user_text.contains("Say hello")),
        "{}",
        rig.mock.summary()
    );
    let model = reqs.last().unwrap().model.clone();
    if p != ProviderKind::Claude {
        assert_eq!(
            model.as_deref(),
            Some(model_for(p)),
            "the configured model reaches the API"
        );
    }
}

async fn tool(p: ProviderKind) {
    let rig = Rig::new(&format!("{p}-tool")).await;
    let r = rig.turn(p, "MOCK_TOOL: run a shell command", None).await;
    let text = r.text();
    assert!(text.contains("mock-tool-output"), "{text}");
    assert!(r.events.iter().any(|e| matches!(e, Event::ToolStarted { summary, .. } if summary.contains("echo mock-tool-output"))), "{:#?}", r.events);
    assert!(
        r.events
            .iter()
            .any(|e| matches!(e, Event::ToolFinished { ok: true, .. })),
        "{:#?}",
        r.events
    );
}

async fn resume(p: ProviderKind) {
    let rig = Rig::new(&format!("{p}-resume")).await;
    let first = rig.turn(p, "Say hello", None).await;
    let id = first.outcome.session_id().unwrap().to_owned();
    let second = rig.turn(p, "And again", Some(id.clone())).await;
    assert_eq!(
        second.outcome.session_id(),
        Some(id.as_str()),
        "same session id"
    );
    let text = second.text();
    assert!(
        text.contains("prior_assistant_turns=1"),
        "the history was sent: {text}"
    );
}

async fn auth_expired(p: ProviderKind) {
    let rig = Rig::new(&format!("{p}-401")).await;
    let r = rig.turn(p, "MOCK_ERROR_401", None).await;
    let (kind, detail) = failure(&r.outcome);
    assert_eq!(kind, FailureKind::AuthExpired, "{detail}");
}

async fn server_error(p: ProviderKind) {
    let rig = Rig::new(&format!("{p}-500")).await;
    let r = rig.turn(p, "MOCK_ERROR_500", None).await;
    let (kind, detail) = failure(&r.outcome);
    assert_eq!(kind, FailureKind::Other, "{detail}");
    // codex words a 500 as its own "high demand" notice; the others keep the server's text.
    let said = match p {
        ProviderKind::Codex => "high demand",
        _ => "internal server error",
    };
    assert!(
        detail.contains(said),
        "the failure says what happened: {detail}"
    );
}

async fn rate_limited(p: ProviderKind) {
    let rig = Rig::new(&format!("{p}-429")).await;
    let r = rig.turn(p, "MOCK_ERROR_429", None).await;
    let (kind, detail) = failure(&r.outcome);
    assert_eq!(kind, FailureKind::RateLimited, "{detail}");
}

async fn unknown_session(p: ProviderKind) {
    let rig = Rig::new(&format!("{p}-stale")).await;
    let stale = match p {
        ProviderKind::Claude => "5b0e2f4c-1d7a-4c1e-9b1a-2f3e4d5c6b7a",
        _ => "019a0000-0000-7000-8000-000000000000",
    };
    let r = rig.turn(p, "Say hello", Some(stale.to_owned())).await;
    let (kind, detail) = failure(&r.outcome);
    assert_eq!(kind, FailureKind::SessionNotFound, "{detail}");
}

async fn broken_stream(p: ProviderKind) {
    let rig = Rig::new(&format!("{p}-broken")).await;
    let r = rig.turn(p, "MOCK_BROKEN", None).await;
    if p == ProviderKind::Claude {
        // claude re-asks without streaming and recovers the full answer.
        assert!(r.text().contains("mock-llm"), "{:?}", r.outcome);
    } else {
        let (kind, detail) = failure(&r.outcome);
        assert_eq!(kind, FailureKind::Other, "{detail}");
        let said = match p {
            ProviderKind::Codex => "stream disconnected",
            _ => "without a finish reason",
        };
        assert!(detail.contains(said), "{detail}");
    }
}

async fn cancel_mid_stream(p: ProviderKind) {
    let rig = Rig::new(&format!("{p}-cancel")).await;
    let (r, took) = rig
        .cancel_when(
            p,
            "MOCK_SLOW",
            |e| matches!(e, Event::SessionStarted { .. }),
            Duration::from_millis(700),
        )
        .await;
    let (kind, _) = failure(&r.outcome);
    assert_eq!(kind, FailureKind::Cancelled);
    assert!(took < Duration::from_secs(8), "cancel took {took:?}");
    // The model stream was cut, not finished.
    rig.mock
        .wait_for_disconnects(1, Duration::from_secs(5))
        .await;
}

async fn cancel_during_tool(p: ProviderKind) {
    let rig = Rig::new(&format!("{p}-canceltool")).await;
    let (r, took) = rig
        .cancel_when(
            p,
            "MOCK_TOOL_CMD<<sleep 60>>",
            |e| matches!(e, Event::ToolStarted { summary, .. } if summary.contains("sleep 60")),
            Duration::from_millis(300),
        )
        .await;
    let (kind, _) = failure(&r.outcome);
    assert_eq!(kind, FailureKind::Cancelled);
    assert!(took < Duration::from_secs(8), "cancel took {took:?}");
    assert!(
        !std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
            std::fs::read(e.path().join("cmdline")).is_ok_and(|c| c == b"sleep\x0060\x00")
                && std::fs::read(e.path().join("environ")).is_ok_and(|env| {
                    String::from_utf8_lossy(&env).contains(&rig.root.path().display().to_string())
                })
        }),
        "the tool's sleep 60 survived"
    );
}

async fn timeout(p: ProviderKind) {
    let rig = Rig::new(&format!("{p}-timeout")).await;
    let secs = if p == ProviderKind::Gemini { 8 } else { 5 };
    let (mut rx, _cancel, handle) = rig.start(
        p,
        "MOCK_SLOW",
        None,
        Some(TimeoutPolicy::fixed(Duration::from_secs(secs))),
    );
    while rx.recv().await.is_some() {}
    let outcome = handle.await.unwrap();
    let (kind, _) = failure(&outcome);
    assert_eq!(kind, FailureKind::Timeout);
    rig.assert_clean().await;
}

async fn background_process_of_a_finished_run_is_killed(p: ProviderKind) {
    let rig = Rig::new(&format!("{p}-bg")).await;
    let r = rig
        .turn(
            p,
            "MOCK_TOOL_CMD<<sleep 61 > /dev/null 2>&1 & echo started>>",
            None,
        )
        .await;
    assert!(r.text().contains("started"), "{}", r.text());
    // `turn` asserts that nothing of the run is left, the backgrounded sleep included.
}

async fn child_sees_the_turn_identity(p: ProviderKind) {
    let rig = Rig::new(&format!("{p}-env")).await;
    let r = rig
        .turn(
            p,
            "MOCK_TOOL_CMD<<echo id=$DUCTOR_AGENT_NAME/$DUCTOR_CHAT_ID/$DUCTOR_AGENT_ROLE>>",
            None,
        )
        .await;
    let text = r.text();
    assert!(text.contains("id=main/42/main"), "{text}");
}

async fn system_prompt_reaches_the_model(p: ProviderKind) {
    let mut rig = Rig::new(&format!("{p}-system")).await;
    rig.append_system_prompt = Some("DUCTOR-MEMORY-MARKER: the user likes tea".into());
    let r = rig.turn(p, "MOCK_TOOL: run a shell command", None).await;
    assert!(r.text().contains("mock-tool-output"), "{}", r.text());
    let reqs = rig.mock.requests();
    let turn = reqs
        .iter()
        .find(|q| q.last_user_text.contains("run a shell command"))
        .unwrap_or_else(|| panic!("{}", rig.mock.summary()));
    assert!(
        turn.system.contains("DUCTOR-MEMORY-MARKER"),
        "in the system prompt: {}",
        turn.system
    );
    assert!(
        !turn.last_user_text.contains("DUCTOR-MEMORY-MARKER"),
        "not in the user's message"
    );
    if p == ProviderKind::Gemini {
        // ductor's base prompt replaced gemini's and names the tools of the run.
        assert!(turn.system.contains("run_shell_command"), "{}", turn.system);
        assert!(!turn.system.contains("${AvailableTools}"));
    }
    let scratch: Vec<_> = std::fs::read_dir(rig.home.main().tmp_dir())
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(scratch.is_empty(), "turn files removed: {scratch:?}");
}

/// A prompt over Linux's 128 KiB limit for one argument reaches the model whole (it
/// goes in through stdin, never through argv).
async fn huge_prompt(p: ProviderKind) {
    let rig = Rig::new(&format!("{p}-huge")).await;
    let body = "lorem ipsum dolor sit amet ".repeat(6_000);
    let prompt = format!("Say hello BEGIN-MARK {body} END-MARK");
    assert!(prompt.len() > 128 * 1024);
    let r = rig.turn(p, &prompt, None).await;
    assert!(r.text().contains("Hello from mock-llm"), "{}", r.text());
    let seen = rig
        .mock
        .requests()
        .into_iter()
        .map(|q| q.last_user_text)
        .find(|t| t.contains("BEGIN-MARK"))
        .expect("the prompt reached the model");
    assert!(
        seen.contains("END-MARK") && seen.contains(&body),
        "the prompt arrived whole"
    );
}

macro_rules! cases {
    ($($provider:ident => $p:expr),*) => {
        $(
            mod $provider {
                use super::*;
                #[tokio::test] async fn plain_answer() { plain($p).await }
                #[tokio::test] async fn shell_tool_then_answer() { tool($p).await }
                #[tokio::test] async fn resume_carries_history() { resume($p).await }
                #[tokio::test] async fn http_401_is_auth_expired() { auth_expired($p).await }
                #[tokio::test] async fn http_500_fails_with_detail() { server_error($p).await }
                #[tokio::test] async fn http_429_is_rate_limited() { rate_limited($p).await }
                #[tokio::test] async fn an_unknown_resume_id_is_session_not_found() { unknown_session($p).await }
                #[tokio::test] async fn broken_stream() { super::broken_stream($p).await }
                #[tokio::test] async fn cancel_mid_stream_leaves_nothing() { cancel_mid_stream($p).await }
                #[tokio::test] async fn cancel_during_sleep_tool_leaves_nothing() { cancel_during_tool($p).await }
                #[tokio::test] async fn timeout_stops_the_run() { super::timeout($p).await }
                #[tokio::test] async fn background_process_is_killed_after_the_turn() { background_process_of_a_finished_run_is_killed($p).await }
                #[tokio::test] async fn child_environment_carries_the_turn_identity() { child_sees_the_turn_identity($p).await }
                #[tokio::test] async fn system_prompt_reaches_the_model() { super::system_prompt_reaches_the_model($p).await }
                #[tokio::test] async fn a_prompt_over_the_argument_limit_arrives_whole() { huge_prompt($p).await }
            }
        )*
    };
}

cases!(claude => ProviderKind::Claude, codex => ProviderKind::Codex, gemini => ProviderKind::Gemini);

/// `ductor-agent run-once` prints the normalized events and the outcome as JSON lines.
#[tokio::test]
async fn run_once_prints_normalized_events() {
    let rig = Rig::new("run-once").await;
    let out = tokio::process::Command::new(crate::support::daemon::bin("ductor-agent"))
        .arg("--home")
        .arg(rig.home.root())
        .args([
            "run-once",
            "--provider",
            "codex",
            "--model",
            "gpt-5.5",
            "--",
            "Say",
            "hello",
        ])
        .env_clear()
        .envs(rig.cli.vars())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["type"], "session_started");
    let last = lines.last().unwrap();
    assert_eq!(last["outcome"], "completed");
    assert!(
        last["text"]
            .as_str()
            .unwrap()
            .contains("Hello from mock-llm"),
        "{last}"
    );
    rig.assert_clean().await;
    // A missing CLI is a clear failure, not a hang.
    let out = tokio::process::Command::new(crate::support::daemon::bin("ductor-agent"))
        .arg("--home")
        .arg(rig.home.root())
        .args(["run-once", "--provider", "gemini", "hi"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", rig.cli.home())
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("\"kind\":\"cli_missing\""), "{stdout}");
}
