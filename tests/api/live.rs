//! Live CLI sessions over the API: ductor with `permission_mode` `default` (so
//! `cli_mode` `auto` is live), the genuine claude CLI against the mock model API. A
//! shell command the CLI wants to run arrives as an `approval` frame; an `action`
//! frame with one of its button ids answers it, an `approval_resolved` frame says how
//! it ended and the turn's `result` follows. A press for a request that is not
//! pending (unknown, or already answered) is answered with a `result` that says it
//! expired, and the connection goes on. A question (claude's `AskUserQuestion`) is
//! answered by an option's button or by the next `message`.

use super::{ApiRig, Client, TURN};
use crate::support::mock_llm::Reply;
use serde_json::{Value, json};
use std::time::Duration;

/// The sentence of a press on a request that is not pending (`live.expired`).
const EXPIRED: &str = "This request has expired (the turn ended or the agent restarted).";

/// A rig whose claude asks before it runs tools.
async fn asking() -> ApiRig {
    ApiRig::start(|c| {
        c["permission_mode"] = json!("default");
    })
    .await
}

/// The (label, id) of every button of `frame`, row by row.
fn buttons(frame: &Value) -> Vec<(String, String)> {
    frame["buttons"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row.as_array().into_iter().flatten())
        .map(|b| {
            (
                b["label"].as_str().unwrap_or_default().to_owned(),
                b["id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The id of the button labelled `label` of `frame`.
fn button(frame: &Value, label: &str) -> String {
    buttons(frame)
        .into_iter()
        .find(|(l, _)| l == label)
        .unwrap_or_else(|| panic!("no {label} button in {frame}"))
        .1
}

/// The live claude processes of `rig` (those with the permission prompt tool).
fn live_claudes(rig: &ApiRig) -> Vec<(i32, String)> {
    rig.cli_processes()
        .into_iter()
        .filter(|(_, cmd)| cmd.contains("--permission-prompt-tool") && !cmd.contains("__reap"))
        .collect()
}

/// Says `text` and returns the `approval` frame it leads to; no `result` comes
/// before it (the turn waits for the answer).
async fn ask(c: &mut Client, text: &str) -> Value {
    c.say(text).await;
    let frames = c.until(TURN, |f| f["type"] == "approval").await;
    assert!(
        !frames.iter().any(|f| f["type"] == "result"),
        "the turn ended before it asked: {frames:#?}"
    );
    frames.last().unwrap().clone()
}

/// Presses `id` and returns the frames up to the turn's `result`, checking that
/// exactly one `approval_resolved` for `ask` with `note` and `decision` came first.
async fn answer(c: &mut Client, ask: &Value, id: &str, note: &str, decision: &str) -> Vec<Value> {
    c.send(&json!({"type": "action", "id": id})).await;
    let frames = c.result().await;
    let resolved: Vec<&Value> = frames
        .iter()
        .filter(|f| f["type"] == "approval_resolved")
        .collect();
    assert_eq!(resolved.len(), 1, "{frames:#?}");
    let r = resolved[0];
    assert_eq!(r["id"], ask["id"], "{r}");
    assert_eq!(r["text"], note, "{r}");
    assert_eq!(
        r["end"],
        json!({"end": "decided", "decision": decision}),
        "{r}"
    );
    frames
}

/// Checks the fields and buttons of an approval for claude's `Bash` running `cmd`;
/// returns its id.
fn check_bash_approval(ask: &Value, cmd: &str) -> String {
    assert_eq!(ask["kind"], "approval", "{ask}");
    assert_eq!(ask["tool"], "Bash", "{ask}");
    assert!(ask["preview"].as_str().unwrap().contains(cmd), "{ask}");
    let text = ask["text"].as_str().unwrap();
    assert!(
        text.contains("wants to use") && text.contains("Bash") && text.contains(cmd),
        "{ask}"
    );
    let choices = ask["choices"].as_array().unwrap();
    assert!(
        choices.contains(&json!("allow_once")) && choices.contains(&json!("deny")),
        "{ask}"
    );
    let id = ask["id"].as_str().expect("a request id").to_owned();
    assert!(!id.is_empty());
    let all = buttons(ask);
    let labels: Vec<&str> = all.iter().map(|(l, _)| l.as_str()).collect();
    for l in ["Allow once", "Deny"] {
        assert!(labels.contains(&l), "{labels:?}");
    }
    // Every button answers this request.
    for (_, b) in &all {
        assert!(b.starts_with(&format!("ak:{id}:")), "{b} in {ask}");
    }
    id
}

#[tokio::test]
async fn an_approval_frame_is_answered_by_action_allow_once_runs_and_deny_blocks() {
    let rig = asking().await;
    let workspace = rig.home.root.join("workspace");
    let mut c = rig.client(json!({"chat_id": 77})).await;

    // Allow once: the command runs, the request says so, the turn ends.
    let first = ask(&mut c, "MOCK_TOOL_CMD<<touch api.txt>>").await;
    check_bash_approval(&first, "touch api.txt");
    assert!(
        !workspace.join("api.txt").exists(),
        "ran before it was allowed"
    );
    let once = button(&first, "Allow once");
    assert!(once.ends_with(":o"), "{once}");
    let frames = answer(&mut c, &first, &once, "Allowed once.", "allow_once").await;
    let result = frames.last().unwrap();
    assert!(
        result["text"].as_str().unwrap().contains("The tool ran"),
        "{frames:#?}"
    );
    assert!(
        workspace.join("api.txt").exists(),
        "the allowed command ran"
    );
    let live = live_claudes(&rig);
    assert_eq!(live.len(), 1, "one warm claude: {live:#?}");

    // The same button again: the request is over; nothing runs, the press is
    // answered with a note.
    let before = rig.mock.requests().len();
    c.send(&json!({"type": "action", "id": once})).await;
    let note = c.result().await.pop().unwrap();
    assert_eq!(note["text"], EXPIRED, "{note}");

    // Deny: it does not run; the turn still ends with the model's answer.
    let second = ask(&mut c, "MOCK_TOOL_CMD<<touch denied.txt>>").await;
    let id = check_bash_approval(&second, "touch denied.txt");
    assert_ne!(id, first["id"].as_str().unwrap(), "a new request, a new id");
    let deny = button(&second, "Deny");
    assert!(deny.ends_with(":d"), "{deny}");
    let frames = answer(&mut c, &second, &deny, "Denied.", "deny").await;
    let result = frames.last().unwrap();
    assert!(
        result["text"]
            .as_str()
            .unwrap()
            .contains("prior_assistant_turns"),
        "{frames:#?}"
    );
    assert!(
        !workspace.join("denied.txt").exists(),
        "the denied command ran"
    );
    assert!(rig.mock.requests().len() > before, "the second turn ran");
    assert_eq!(
        live_claudes(&rig),
        live,
        "the same warm process took both turns"
    );
}

#[tokio::test]
async fn an_action_for_an_unknown_request_says_it_expired_and_the_connection_goes_on() {
    let rig = asking().await;
    let mut c = rig.client(json!({"chat_id": 78})).await;
    for id in ["ak:zzzz:o", "ak:zzzz:d", "ak:zzzz:3"] {
        c.send(&json!({"type": "action", "id": id})).await;
        let frames = c
            .until(Duration::from_secs(20), |f| f["type"] == "result")
            .await;
        assert_eq!(frames.len(), 1, "{frames:#?}");
        let note = &frames[0];
        assert_eq!(note["text"], EXPIRED, "{note}");
        assert!(note.get("buttons").is_none(), "{note}");
    }
    assert!(rig.mock.requests().is_empty(), "no turn ran");
    // The agent and the connection are fine: a turn runs as usual.
    c.say("Say hello").await;
    let result = c.result().await.pop().unwrap();
    assert!(
        result["text"]
            .as_str()
            .unwrap()
            .contains("Hello from mock-llm"),
        "{result}"
    );
}

#[tokio::test]
async fn a_question_frame_is_answered_by_a_message_or_by_an_option_button() {
    let rig = asking().await;
    rig.mock.script(
        "ASK_COLOR",
        Reply::text("I need to ask.").with_call(
            "AskUserQuestion",
            json!({"questions": [{
                "question": "Which color?", "header": "Color", "multiSelect": false,
                "options": [
                    {"label": "Red", "description": "warm"},
                    {"label": "Blue", "description": "cool"}
                ]
            }]}),
        ),
    );
    let mut c = rig.client(json!({"chat_id": 79})).await;

    // Written as the next message: that text is the answer, not a new turn.
    let q = ask(&mut c, "ASK_COLOR").await;
    assert_eq!(q["kind"], "question", "{q}");
    assert_eq!(
        q["questions"],
        json!([{"text": "Which color?", "options": ["Red", "Blue"]}]),
        "{q}"
    );
    assert!(q["text"].as_str().unwrap().contains("Which color?"), "{q}");
    let id = q["id"].as_str().unwrap();
    let all = buttons(&q);
    assert_eq!(
        all,
        [
            ("Red".to_owned(), format!("ak:{id}:0")),
            ("Blue".to_owned(), format!("ak:{id}:1"))
        ],
        "{q}"
    );
    c.say("Green").await;
    let frames = c.result().await;
    let resolved = frames
        .iter()
        .find(|f| f["type"] == "approval_resolved")
        .unwrap_or_else(|| panic!("no approval_resolved: {frames:#?}"));
    assert_eq!(resolved["id"], q["id"], "{resolved}");
    assert_eq!(resolved["text"], "Answered: Green", "{resolved}");
    assert_eq!(
        resolved["end"],
        json!({"end": "answered", "answers": ["Green"]}),
        "{resolved}"
    );
    let text = frames.last().unwrap()["text"].as_str().unwrap().to_owned();
    assert!(text.contains("\"Which color?\"=\"Green\""), "{text}");
    let turns = rig
        .mock
        .requests()
        .iter()
        .filter(|r| r.last_user_text.contains("Green"))
        .count();
    assert_eq!(
        turns,
        0,
        "the answer ran no turn of its own: {}",
        rig.mock.summary()
    );

    // By button: the option's label is the answer.
    let q = ask(&mut c, "ASK_COLOR").await;
    let blue = button(&q, "Blue");
    c.send(&json!({"type": "action", "id": blue})).await;
    let frames = c.result().await;
    let resolved = frames
        .iter()
        .find(|f| f["type"] == "approval_resolved")
        .unwrap_or_else(|| panic!("no approval_resolved: {frames:#?}"));
    assert_eq!(resolved["text"], "Answered: Blue", "{resolved}");
    let text = frames.last().unwrap()["text"].as_str().unwrap().to_owned();
    assert!(text.contains("\"Which color?\"=\"Blue\""), "{text}");
}
