//! The gemini live codec over the dialogues captured from the pinned `gemini --acp`
//! (`tests/fixtures/cli-streams/live/gemini-*.jsonl`): gemini's lines are fed to the
//! codec, and every line the client wrote in the capture must be what the codec
//! writes at that point.

use super::*;
use crate::provider::event::Usage;
use std::path::PathBuf;

/// One captured message.
#[derive(Clone)]
enum Step {
    /// The client wrote it.
    ToCli(Value),
    /// Gemini wrote it.
    FromCli(String),
}

fn fixture(name: &str) -> Vec<Step> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cli-streams/live")
        .join(format!("gemini-{name}.jsonl"));
    let text = std::fs::read_to_string(&path).unwrap();
    text.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            if let Some(to) = v.get("to_cli") {
                Step::ToCli(to.clone())
            } else {
                Step::FromCli(v["from_cli"].to_string())
            }
        })
        .collect()
}

fn spec(resume: Option<&str>) -> StartSpec {
    StartSpec {
        cwd: PathBuf::from("/home/user/work"),
        resume: resume.map(str::to_owned),
        model: Some("gemini-3.8-flash".into()),
    }
}

/// Replays a captured dialogue. `act` is called for every line the client wrote
/// that is not a reply to a gemini line (the start, turns, answers, interrupts) and
/// returns what the codec writes for that action; replies to gemini lines come from
/// `on_line`. Every written line must equal the captured one. Returns the events.
fn replay(
    name: &str,
    codec: &mut GeminiLive,
    mut act: impl FnMut(&mut GeminiLive, &Value, &[LiveEvent]) -> Vec<String>,
) -> Vec<LiveEvent> {
    let mut events = Vec::new();
    let mut written: VecDeque<String> = VecDeque::new();
    for step in fixture(name) {
        match step {
            Step::FromCli(line) => {
                assert!(
                    written.is_empty(),
                    "{name}: not written by the capture: {written:?}"
                );
                written.extend(codec.on_line(&line, &mut events));
            }
            Step::ToCli(want) => {
                if written.is_empty() {
                    written.extend(act(codec, &want, &events));
                }
                let got = written
                    .pop_front()
                    .unwrap_or_else(|| panic!("{name}: the codec did not write {want}"));
                assert_eq!(serde_json::from_str::<Value>(&got).unwrap(), want, "{name}");
            }
        }
    }
    assert!(
        written.is_empty(),
        "{name}: written after the end: {written:?}"
    );
    events
}

/// The action behind a captured client line: start, a turn (its prompt text), an
/// answer to the last ask with `decision`, an interrupt.
fn act_with(
    decision: Decision,
) -> impl FnMut(&mut GeminiLive, &Value, &[LiveEvent]) -> Vec<String> {
    move |codec, want, events| match want["method"].as_str() {
        Some("initialize") => codec.start(&spec(None)),
        Some("session/prompt") => codec.send_turn(
            want.pointer("/params/prompt/0/text")
                .unwrap()
                .as_str()
                .unwrap(),
        ),
        Some("session/cancel") => codec.interrupt(),
        _ => {
            let id = last_ask(events).id;
            codec.answer(&id, &Answer::Decision(decision)).unwrap()
        }
    }
}

fn last_ask(events: &[LiveEvent]) -> Ask {
    events
        .iter()
        .rev()
        .find_map(|e| match e {
            LiveEvent::Ask(a) => Some(a.clone()),
            _ => None,
        })
        .expect("an ask")
}

fn ends(events: &[LiveEvent]) -> Vec<Outcome> {
    events
        .iter()
        .filter_map(|e| match e {
            LiveEvent::TurnEnded(o) => Some(o.clone()),
            _ => None,
        })
        .collect()
}

fn completed_text(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Completed { text, .. } => text,
        other @ Outcome::Failed { .. } => panic!("not completed: {other:?}"),
    }
}

fn ready_session(events: &[LiveEvent]) -> String {
    events
        .iter()
        .find_map(|e| match e {
            LiveEvent::Ready { session_id } => session_id.clone(),
            _ => None,
        })
        .expect("ready with a session id")
}

#[test]
fn allow_once_runs_the_tool_and_a_second_turn_follows() {
    let mut codec = GeminiLive::new();
    let events = replay("allow-once", &mut codec, act_with(Decision::AllowOnce));
    let sid = ready_session(&events);
    let ask = last_ask(&events);
    assert_eq!(
        ask.kind,
        AskKind::Approval {
            tool: "Shell".into(),
            preview: "touch allowed.txt && echo made".into(),
            choices: vec![Decision::AllowOnce, Decision::AllowSession, Decision::Deny],
        }
    );
    // The tool is announced before the ask and finishes after it ran.
    let at = |want: &dyn Fn(&LiveEvent) -> bool| events.iter().position(want).unwrap();
    let started = at(&|e| {
        matches!(e, LiveEvent::Event(Event::ToolStarted { name, summary, .. })
        if name == "Shell" && summary == "touch allowed.txt && echo made")
    });
    let asked = at(&|e| matches!(e, LiveEvent::Ask(_)));
    let finished = at(&|e| matches!(e, LiveEvent::Event(Event::ToolFinished { ok: true, .. })));
    assert!(started < asked && asked < finished, "{events:#?}");
    let ends = ends(&events);
    assert_eq!(ends.len(), 2, "{events:#?}");
    let first = completed_text(&ends[0]);
    assert!(
        first.starts_with("The tool ran. Its output was:") && first.contains("made"),
        "{first}"
    );
    match &ends[0] {
        Outcome::Completed {
            session_id, usage, ..
        } => {
            assert_eq!(session_id.as_deref(), Some(sid.as_str()));
            // The usage gemini reported in the first prompt's answer.
            let tokens = fixture("allow-once")
                .into_iter()
                .find_map(|s| match s {
                    Step::FromCli(l) if l.contains("stopReason") => {
                        let v: Value = serde_json::from_str(&l).unwrap();
                        Some(v["result"]["_meta"]["quota"]["token_count"].clone())
                    }
                    _ => None,
                })
                .unwrap();
            assert_eq!(
                *usage,
                Usage {
                    input_tokens: tokens["input_tokens"].as_u64().unwrap(),
                    output_tokens: tokens["output_tokens"].as_u64().unwrap(),
                    cost_usd: None
                }
            );
            assert!(usage.input_tokens > 0);
        }
        Outcome::Failed { .. } => unreachable!(),
    }
    assert!(completed_text(&ends[1]).contains("prior_assistant_turns=2"));
    // Each turn announces its session; the text of the first block is whole once.
    let starts = events
        .iter()
        .filter(|e| matches!(e, LiveEvent::Event(Event::SessionStarted { session_id }) if *session_id == sid))
        .count();
    assert_eq!(starts, 2);
    assert!(events.contains(&LiveEvent::Event(Event::Text {
        text: "I will run a shell command.".into()
    })));
}

#[test]
fn deny_rejects_the_call_and_the_turn_still_ends() {
    let mut codec = GeminiLive::new();
    let events = replay("deny", &mut codec, act_with(Decision::Deny));
    let ask = last_ask(&events);
    let call = events
        .iter()
        .find_map(|e| match e {
            LiveEvent::Event(Event::ToolStarted { id, .. }) => id.clone(),
            _ => None,
        })
        .unwrap();
    assert!(events.contains(&LiveEvent::Event(Event::ToolFinished {
        id: Some(call),
        ok: false,
        excerpt: "denied".into()
    })));
    let ends = ends(&events);
    assert_eq!(ends.len(), 1);
    assert!(completed_text(&ends[0]).contains("was canceled by the user"));
    // The ask is answered: answering it again is an error.
    assert!(
        codec
            .answer(&ask.id, &Answer::Decision(Decision::Deny))
            .is_err()
    );
}

#[test]
fn allow_for_the_session_is_not_asked_again() {
    let mut codec = GeminiLive::new();
    let events = replay(
        "allow-session",
        &mut codec,
        act_with(Decision::AllowSession),
    );
    let asks = events
        .iter()
        .filter(|e| matches!(e, LiveEvent::Ask(_)))
        .count();
    assert_eq!(asks, 1, "{events:#?}");
    let ran = events
        .iter()
        .filter(|e| matches!(e, LiveEvent::Event(Event::ToolFinished { ok: true, .. })))
        .count();
    assert_eq!(ran, 2);
    // Each call is announced once: the asked one at its ask, the other at its start.
    let started = events
        .iter()
        .filter(|e| matches!(e, LiveEvent::Event(Event::ToolStarted { .. })))
        .count();
    assert_eq!(started, 2);
    assert_eq!(ends(&events).len(), 2);
}

#[test]
fn interrupt_cancels_the_stream_and_a_pending_ask_and_the_session_goes_on() {
    let mut codec = GeminiLive::new();
    let events = replay("interrupt", &mut codec, act_with(Decision::AllowOnce));
    let ends = ends(&events);
    assert_eq!(ends.len(), 3, "{events:#?}");
    for end in &ends[..2] {
        assert!(
            matches!(
                end,
                Outcome::Failed {
                    kind: FailureKind::Cancelled,
                    session_id: Some(_),
                    ..
                }
            ),
            "{end:?}"
        );
    }
    assert!(completed_text(&ends[2]).contains("still there?"));
    // The ask pending at the interrupt was withdrawn before its turn ended.
    let ask = last_ask(&events);
    let withdrawn = events
        .iter()
        .position(|e| *e == LiveEvent::Withdrawn { id: ask.id.clone() })
        .expect("withdrawn");
    let second_end = events
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e, LiveEvent::TurnEnded(_)))
        .nth(1)
        .unwrap()
        .0;
    assert!(withdrawn < second_end);
    // The streamed pieces before the cancel were delivered.
    assert!(events.contains(&LiveEvent::Event(Event::TextDelta {
        text: "slow-chunk-2 ".into()
    })));
}

#[test]
fn an_api_error_fails_the_turn_classified_and_the_next_turn_runs() {
    let mut codec = GeminiLive::new();
    let events = replay("error", &mut codec, act_with(Decision::AllowOnce));
    let ends = ends(&events);
    assert_eq!(ends.len(), 2);
    match &ends[0] {
        Outcome::Failed {
            kind,
            detail,
            session_id,
        } => {
            assert_eq!(*kind, FailureKind::AuthExpired);
            assert_eq!(
                detail,
                "API Error 401 UNAUTHENTICATED: mock-llm: invalid API key"
            );
            assert!(session_id.is_some());
        }
        other @ Outcome::Completed { .. } => panic!("{other:?}"),
    }
    assert!(completed_text(&ends[1]).contains("after the error"));
}

#[test]
fn a_session_gemini_cannot_load_fails_the_waiting_turn_as_not_found() {
    for case in ["load-oneshot", "load-live"] {
        let steps = fixture(case);
        let Step::ToCli(load) = &steps[2].clone() else {
            panic!("{case}: the load request")
        };
        let sid = load["params"]["sessionId"].as_str().unwrap().to_owned();
        let mut codec = GeminiLive::new();
        let mut events = Vec::new();
        let start = codec.start(&spec(Some(&sid)));
        // A turn sent before the handshake waits for it.
        assert!(codec.send_turn("hello again").is_empty());
        let mut written: Vec<String> = start;
        for step in steps {
            if let Step::FromCli(line) = step {
                written.extend(codec.on_line(&line, &mut events));
            }
        }
        let requests: Vec<Value> = written
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(requests[1], *load, "{case}");
        assert!(!events.iter().any(|e| matches!(e, LiveEvent::Ready { .. })));
        // The waiting turn went out as a prompt; gemini's answer ends it.
        assert_eq!(requests[2]["method"], "session/prompt");
        let answer = json!({"jsonrpc": "2.0", "id": requests[2]["id"],
            "error": {"code": -32602, "message": format!("Session not found: {sid}")}});
        codec.on_line(&answer.to_string(), &mut events);
        let ends = ends(&events);
        assert_eq!(ends.len(), 1, "{case}");
        assert!(
            matches!(&ends[0], Outcome::Failed { kind: FailureKind::SessionNotFound, detail, .. }
                if detail.contains("Invalid session identifier")),
            "{case}: {:?}",
            ends[0]
        );
    }
}

#[test]
fn turns_sent_while_one_runs_wait_for_its_end() {
    let mut codec = GeminiLive::new();
    let mut events = Vec::new();
    codec.start(&spec(None));
    codec.on_line(
        r#"{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":1}}"#,
        &mut events,
    );
    let model = codec.on_line(
        r#"{"jsonrpc":"2.0","id":1,"result":{"sessionId":"s1"}}"#,
        &mut events,
    );
    assert_eq!(
        serde_json::from_str::<Value>(&model[0]).unwrap(),
        json!({"jsonrpc":"2.0","id":2,"method":"session/set_model","params":{"sessionId":"s1","modelId":"gemini-3.8-flash"}})
    );
    // The model switch is refused: a warning, and the session is ready anyway.
    let none = codec.on_line(
        r#"{"jsonrpc":"2.0","id":2,"error":{"code":-32602,"message":"no such model"}}"#,
        &mut events,
    );
    assert!(none.is_empty());
    assert!(events.contains(&LiveEvent::Ready {
        session_id: Some("s1".into())
    }));
    assert!(events.iter().any(
        |e| matches!(e, LiveEvent::Event(Event::Warning { message }) if message.contains("no such model"))
    ));
    let first = codec.send_turn("one");
    assert_eq!(first.len(), 1);
    assert!(
        codec.send_turn("two").is_empty(),
        "gemini would abort the running prompt"
    );
    assert_eq!(codec.steer("more"), None);
    let next = codec.on_line(
        r#"{"jsonrpc":"2.0","id":3,"result":{"stopReason":"end_turn"}}"#,
        &mut events,
    );
    let next: Value = serde_json::from_str(&next[0]).unwrap();
    assert_eq!(next["method"], "session/prompt");
    assert_eq!(next["params"]["prompt"][0]["text"], "two");
    assert_eq!(ends(&events).len(), 1);
}

#[test]
fn unknown_requests_get_an_error_and_garbage_is_ignored() {
    let mut codec = GeminiLive::new();
    let mut events = Vec::new();
    codec.start(&spec(None));
    for line in [
        "",
        "not json",
        "[1,2]",
        "null",
        r#"{"jsonrpc":"2.0","id":99,"result":{}}"#,
        r#"{"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"x","update":{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"stray"}}}}"#,
        r#"{"jsonrpc":"2.0","method":"brand/new","params":{}}"#,
        r#"{"jsonrpc":"2.0","id":"weird","result":{}}"#,
    ] {
        assert!(codec.on_line(line, &mut events).is_empty(), "{line}");
    }
    assert!(events.is_empty(), "{events:?}");
    let reply = codec.on_line(
        r#"{"jsonrpc":"2.0","id":7,"method":"fs/read_text_file","params":{"path":"/etc/passwd"}}"#,
        &mut events,
    );
    let reply: Value = serde_json::from_str(&reply[0]).unwrap();
    assert_eq!(reply["id"], 7);
    assert_eq!(reply["error"]["code"], -32601);
    // A permission request outside a turn is given up at once.
    let reply = codec.on_line(
        r#"{"jsonrpc":"2.0","id":8,"method":"session/request_permission","params":{"options":[{"optionId":"proceed_once","kind":"allow_once"}],"toolCall":{"toolCallId":"t"}}}"#,
        &mut events,
    );
    assert_eq!(
        serde_json::from_str::<Value>(&reply[0]).unwrap(),
        json!({"jsonrpc":"2.0","id":8,"result":{"outcome":{"outcome":"cancelled"}}})
    );
    assert!(events.is_empty());
}

#[test]
fn edit_permissions_preview_the_diff_and_offer_what_gemini_offers() {
    let call = json!({"toolCallId": "w1", "title": "Writing to a.txt", "kind": "edit",
        "content": [{"type": "diff", "path": "/w/a.txt", "oldText": "a\nb\nc", "newText": "a\nB\nc"}]});
    assert_eq!(
        call_preview(&call),
        "Writing to a.txt\n--- /w/a.txt\n-b\n+B"
    );
    let options = json!([
        {"optionId": "proceed_always", "kind": "allow_always"},
        {"optionId": "proceed_always_and_save", "kind": "allow_always"},
        {"optionId": "proceed_once", "kind": "allow_once"},
        {"optionId": "cancel", "kind": "reject_once"},
        {"optionId": "never", "kind": "reject_always"},
        {"optionId": "odd", "kind": "future_kind"}
    ]);
    assert_eq!(
        decisions(Some(&options)),
        vec![
            (Decision::AllowOnce, "proceed_once".to_owned()),
            (Decision::AllowSession, "proceed_always".to_owned()),
            (Decision::AllowAlways, "proceed_always_and_save".to_owned()),
            (Decision::Deny, "cancel".to_owned()),
        ]
    );
    assert_eq!(short_diff("p", "", "new"), "--- p\n+new");
}

#[test]
fn answers_that_do_not_fit_are_refused_and_a_missing_reject_cancels() {
    let mut codec = GeminiLive::new();
    let mut events = Vec::new();
    codec.start(&spec(None));
    codec.on_line(r#"{"jsonrpc":"2.0","id":0,"result":{}}"#, &mut events);
    codec.on_line(
        r#"{"jsonrpc":"2.0","id":1,"result":{"sessionId":"s"}}"#,
        &mut events,
    );
    codec.on_line(r#"{"jsonrpc":"2.0","id":2,"result":{}}"#, &mut events);
    codec.send_turn("go");
    codec.on_line(
        r#"{"jsonrpc":"2.0","id":"p-1","method":"session/request_permission","params":{"sessionId":"s","options":[{"optionId":"proceed_once","kind":"allow_once"}],"toolCall":{"toolCallId":"t","title":"rm x","kind":"execute"}}}"#,
        &mut events,
    );
    let ask = last_ask(&events);
    assert_eq!(ask.id, "p-1");
    assert!(
        codec
            .answer("p-1", &Answer::Decision(Decision::AllowSession))
            .is_err()
    );
    assert!(codec.answer("p-1", &Answer::Answers(vec![])).is_err());
    assert!(codec.answer("nope", &Answer::Cancel).is_err());
    let reply = codec.answer("p-1", &Answer::DenyWith("no".into())).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&reply[0]).unwrap(),
        json!({"jsonrpc":"2.0","id":"p-1","result":{"outcome":{"outcome":"cancelled"}}})
    );
}

#[test]
fn thoughts_and_failed_tools_are_events_and_the_answer_follows_the_last_tool() {
    let mut codec = GeminiLive::new();
    let mut events = Vec::new();
    codec.start(&StartSpec::default());
    codec.on_line(r#"{"jsonrpc":"2.0","id":0,"result":{}}"#, &mut events);
    codec.on_line(
        r#"{"jsonrpc":"2.0","id":1,"result":{"sessionId":"s"}}"#,
        &mut events,
    );
    assert_eq!(
        codec.send_turn("go").len(),
        1,
        "no model: ready after session/new"
    );
    let update = |u: Value| {
        json!({"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"s","update":u}})
            .to_string()
    };
    for line in [
        update(
            json!({"sessionUpdate":"agent_thought_chunk","content":{"type":"text","text":"**Plan**\nlook"}}),
        ),
        update(
            json!({"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"Reading."}}),
        ),
        update(
            json!({"sessionUpdate":"tool_call","toolCallId":"r1","status":"in_progress","title":"a.txt","kind":"read"}),
        ),
        update(
            json!({"sessionUpdate":"tool_call_update","toolCallId":"r1","status":"failed","content":[{"type":"content","content":{"type":"text","text":"no such file"}}],"kind":"read"}),
        ),
        update(
            json!({"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"It is missing."}}),
        ),
        r#"{"jsonrpc":"2.0","id":2,"result":{"stopReason":"end_turn"}}"#.to_owned(),
    ] {
        codec.on_line(&line, &mut events);
    }
    assert_eq!(completed_text(&ends(&events)[0]), "It is missing.");
    let events: Vec<Event> = events
        .into_iter()
        .filter_map(|e| match e {
            LiveEvent::Event(e) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(
        events,
        vec![
            Event::SessionStarted {
                session_id: "s".into()
            },
            Event::Thinking {
                text: "**Plan**\nlook".into()
            },
            Event::TextDelta {
                text: "Reading.".into()
            },
            Event::Text {
                text: "Reading.".into()
            },
            Event::ToolStarted {
                id: Some("r1".into()),
                name: "Read".into(),
                summary: "a.txt".into()
            },
            Event::ToolFinished {
                id: Some("r1".into()),
                ok: false,
                excerpt: "no such file".into()
            },
            Event::TextDelta {
                text: "It is missing.".into()
            },
            Event::Text {
                text: "It is missing.".into()
            },
            Event::Usage(Usage::default()),
        ]
    );
}
