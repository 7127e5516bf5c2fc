//! Tests of the codex codec: transcripts captured from the pinned `codex app-server`
//! against the mock model API (`tests/fixtures/cli-streams/live/codex-*.jsonl`, made by
//! `tests/providers/live_codex.rs` `record_codex_transcripts`) are replayed through it: every
//! line the codec writes must be the line codex got, in order; then the events are
//! checked. Hand-written lines cover what the mock cannot make codex do.

use super::*;

/// What a replayed transcript produced.
struct Replay {
    events: Vec<LiveEvent>,
    /// The lines written for each `answer` action.
    answers: Vec<Vec<Value>>,
}

impl Replay {
    fn ends(&self) -> Vec<&Outcome> {
        self.events
            .iter()
            .filter_map(|e| match e {
                LiveEvent::TurnEnded(o) => Some(o),
                _ => None,
            })
            .collect()
    }

    fn asks(&self) -> Vec<&Ask> {
        self.events
            .iter()
            .filter_map(|e| match e {
                LiveEvent::Ask(a) => Some(a),
                _ => None,
            })
            .collect()
    }

    fn has(&self, want: impl Fn(&Event) -> bool) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e, LiveEvent::Event(ev) if want(ev)))
    }
}

/// The `initialize` request names ductor's version, which moves; the rest must match.
fn comparable(mut line: Value) -> Value {
    if let Some(info) = line.pointer_mut("/params/clientInfo/version") {
        *info = json!("VERSION");
    }
    line
}

fn to_answer(shown: &Value) -> Answer {
    match shown.get("answers") {
        Some(pairs) => Answer::Answers(serde_json::from_value(pairs.clone()).unwrap()),
        None => Answer::Decision(serde_json::from_value(shown.clone()).unwrap()),
    }
}

fn act(codec: &mut CodexCodec, action: &Value, answers: &mut Vec<Vec<Value>>) -> Vec<String> {
    let text = action["text"].as_str().unwrap_or_default();
    match action["action"].as_str().unwrap() {
        "start" => codec.start(&StartSpec {
            cwd: action["cwd"].as_str().unwrap().into(),
            ..StartSpec::default()
        }),
        "send_turn" => codec.send_turn(text),
        "interrupt" => codec.interrupt(),
        "steer" => codec.steer(text).expect("a running turn takes more text"),
        "answer" => {
            let id = action["id"].as_str().unwrap();
            let lines = codec.answer(id, &to_answer(&action["answer"])).unwrap();
            answers.push(
                lines
                    .iter()
                    .map(|l| serde_json::from_str(l).unwrap())
                    .collect(),
            );
            lines
        }
        other => panic!("unknown action {other}"),
    }
}

fn replay(name: &str) -> Replay {
    let path = format!(
        "{}/tests/fixtures/cli-streams/live/codex-{name}.jsonl",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let mut codec = CodexCodec::new(Policy::default());
    let mut written: VecDeque<Value> = VecDeque::new();
    let mut events = Vec::new();
    let mut answers = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let entry: Value = serde_json::from_str(line).unwrap();
        if let Some(got) = entry.get("stdin") {
            let wrote = written.pop_front().unwrap_or_else(|| {
                panic!("{name}:{}: codex got {got}, the codec wrote nothing", n + 1)
            });
            assert_eq!(
                comparable(wrote),
                comparable(got.clone()),
                "{name}:{}",
                n + 1
            );
            continue;
        }
        let lines = match entry.get("stdout") {
            Some(Value::String(raw)) => codec.on_line(raw, &mut events),
            Some(msg) => codec.on_line(&msg.to_string(), &mut events),
            None => act(&mut codec, &entry, &mut answers),
        };
        written.extend(
            lines
                .iter()
                .map(|l| serde_json::from_str::<Value>(l).unwrap()),
        );
    }
    assert!(
        written.is_empty(),
        "{name}: written but not in the transcript: {written:?}"
    );
    Replay { events, answers }
}

fn completed_text(o: &Outcome) -> &str {
    match o {
        Outcome::Completed { text, .. } => text,
        other @ Outcome::Failed { .. } => panic!("{other:?}"),
    }
}

fn failed_kind(o: &Outcome) -> FailureKind {
    match o {
        Outcome::Failed { kind, .. } => *kind,
        other @ Outcome::Completed { .. } => panic!("{other:?}"),
    }
}

#[test]
fn an_allowed_command_runs_and_the_next_turn_remembers_the_first() {
    let r = replay("approval-allowed");
    let LiveEvent::Ready {
        session_id: Some(session),
    } = &r.events[0]
    else {
        panic!("first the session: {:?}", r.events[0]);
    };
    let asks = r.asks();
    assert_eq!(asks.len(), 1);
    assert_eq!(
        asks[0],
        &Ask {
            id: "0".into(),
            kind: AskKind::Approval {
                tool: "Shell".into(),
                preview: "touch /home/user/work/approval-allowed && echo touched".into(),
                choices: vec![
                    Decision::AllowOnce,
                    Decision::AllowSession,
                    Decision::AllowAlways,
                    Decision::Deny
                ],
            }
        }
    );
    assert_eq!(
        r.answers,
        [vec![json!({"id": 0, "result": {"decision": "accept"}})]]
    );
    assert!(
        r.has(|e| matches!(e, Event::ToolStarted { name, summary, .. }
        if name == "Shell" && summary.contains("touch /home/user/work/approval-allowed")))
    );
    assert!(r.has(
        |e| matches!(e, Event::ToolFinished { ok: true, excerpt, .. } if excerpt == "touched")
    ));
    assert!(r.has(|e| matches!(e, Event::TextDelta { .. })));
    assert!(
        !r.events
            .iter()
            .any(|e| matches!(e, LiveEvent::Withdrawn { .. })),
        "answered here, not withdrawn"
    );
    let ends = r.ends();
    assert_eq!(ends.len(), 2);
    assert!(completed_text(ends[0]).contains("touched"));
    assert_eq!(ends[0].session_id(), Some(session.as_str()));
    let Outcome::Completed { usage, .. } = ends[0] else {
        unreachable!()
    };
    assert!(
        usage.input_tokens > 0 && usage.output_tokens > 0,
        "{usage:?}"
    );
    let second = completed_text(ends[1]);
    assert!(
        second.contains("Say hello") && !second.contains("prior_assistant_turns=0"),
        "{second}"
    );
    assert_eq!(ends[1].session_id(), Some(session.as_str()));
}

#[test]
fn a_denied_command_does_not_run_and_the_turn_still_ends() {
    let r = replay("approval-denied");
    assert_eq!(
        r.answers,
        [vec![json!({"id": 0, "result": {"decision": "decline"}})]]
    );
    assert!(r.has(|e| matches!(e, Event::ToolFinished { ok: false, .. })));
    let ends = r.ends();
    assert!(
        completed_text(ends[0]).contains("rejected by user"),
        "{:?}",
        ends[0]
    );
    assert_eq!(ends.len(), 2);
}

#[test]
fn allowed_for_the_session_the_same_command_is_not_asked_again() {
    let r = replay("approval-session");
    assert_eq!(r.asks().len(), 1, "one ask for two identical calls");
    assert_eq!(
        r.answers,
        [vec![
            json!({"id": 0, "result": {"decision": "acceptForSession"}})
        ]]
    );
    let ends = r.ends();
    assert_eq!(ends.len(), 2);
    assert!(completed_text(ends[1]).contains("touched"));
}

#[test]
fn interrupts_cancel_the_turn_withdraw_its_ask_and_the_next_turn_runs() {
    let r = replay("interrupted");
    let ends = r.ends();
    assert_eq!(ends.len(), 3);
    assert_eq!(failed_kind(ends[0]), FailureKind::Cancelled);
    assert_eq!(failed_kind(ends[1]), FailureKind::Cancelled);
    assert!(completed_text(ends[2]).contains("Say hi"));
    let ask = r.asks()[0].id.clone();
    let withdrawn = r
        .events
        .iter()
        .position(|e| *e == LiveEvent::Withdrawn { id: ask.clone() })
        .expect("the pending ask is withdrawn");
    let second_end = r
        .events
        .iter()
        .position(|e| matches!(e, LiveEvent::TurnEnded(o) if std::ptr::eq(o, ends[1])))
        .unwrap();
    assert!(
        withdrawn < second_end,
        "its buttons go before the turn ends"
    );
    assert_eq!(
        r.events
            .iter()
            .filter(|e| matches!(e, LiveEvent::Withdrawn { .. }))
            .count(),
        1,
        "codex's later serverRequest/resolved adds nothing"
    );
}

#[test]
fn a_question_is_answered_steering_reaches_the_turn_and_a_401_fails_it() {
    let r = replay("question-steer-error");
    assert_eq!(
        r.asks()[0].kind,
        AskKind::Question {
            questions: vec![Question {
                text: "Which color?".into(),
                options: vec!["Red".into(), "Blue".into()],
            }]
        }
    );
    assert_eq!(
        r.answers[0],
        [json!({"id": 0, "result": {"answers": {"color": {"answers": ["Blue"]}}}})]
    );
    let ends = r.ends();
    assert_eq!(ends.len(), 3);
    assert!(completed_text(ends[0]).contains("Blue"));
    assert!(
        completed_text(ends[1]).contains("STEERED words"),
        "{:?}",
        ends[1]
    );
    assert_eq!(failed_kind(ends[2]), FailureKind::AuthExpired);
    assert!(
        r.has(|e| matches!(e, Event::Retrying { attempt: 1, detail } if detail.contains("401")))
    );
}

/// A codec whose thread `t` is ready, with the lines it wrote on the way.
fn ready() -> (CodexCodec, Vec<LiveEvent>) {
    let mut c = CodexCodec::new(Policy::default());
    let mut out = Vec::new();
    c.start(&StartSpec::default());
    c.on_line(r#"{"id":0,"result":{}}"#, &mut out);
    c.on_line(r#"{"id":1,"result":{"thread":{"id":"t"}}}"#, &mut out);
    (c, out)
}

#[test]
fn garbage_unknown_messages_and_stray_responses_are_ignored() {
    let (mut c, _) = ready();
    let mut out = Vec::new();
    for line in [
        "",
        "not json",
        "[1,2]",
        "{}",
        r#"{"method":"brand/new","params":{"x":[1]}}"#,
        r#"{"id":99,"result":{}}"#,
        r#"{"id":"x","error":{"message":"?"}}"#,
        r#"{"method":"item/completed","params":{"item":{"type":"agentMessage","text":7}}}"#,
        r#"{"method":"turn/completed","params":{"turn":"odd"}}"#,
        r#"{"method":"serverRequest/resolved","params":{"requestId":5}}"#,
    ] {
        assert!(c.on_line(line, &mut out).is_empty(), "{line}");
    }
    assert!(out.is_empty(), "{out:?}");
}

#[test]
fn a_server_request_ductor_does_not_handle_gets_an_error_reply() {
    let (mut c, _) = ready();
    let mut out = Vec::new();
    let lines = c.on_line(
        r#"{"id":"k","method":"mcpServer/elicitation/request","params":{}}"#,
        &mut out,
    );
    let reply: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(reply["id"], "k");
    assert_eq!(reply["error"]["code"], METHOD_NOT_FOUND);
    assert!(out.is_empty());
}

#[test]
fn turns_wait_for_the_thread_and_for_each_other() {
    let mut c = CodexCodec::new(Policy::default());
    let mut out = Vec::new();
    c.start(&StartSpec {
        resume: Some("old".into()),
        model: Some("gpt-5.5".into()),
        ..StartSpec::default()
    });
    assert!(c.send_turn("one").is_empty(), "queued until ready");
    let lines = c.on_line(r#"{"id":0,"result":{}}"#, &mut out);
    let resume: Value = serde_json::from_str(&lines[1]).unwrap();
    assert_eq!(resume["method"], "thread/resume");
    assert_eq!(resume["params"]["threadId"], "old");
    assert_eq!(resume["params"]["model"], "gpt-5.5");
    let lines = c.on_line(r#"{"id":1,"result":{"thread":{"id":"old"}}}"#, &mut out);
    assert_eq!(
        out,
        [LiveEvent::Ready {
            session_id: Some("old".into())
        }]
    );
    let start: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(start["params"]["input"][0]["text"], "one");
    assert!(c.send_turn("two").is_empty(), "one turn at a time");
    assert!(
        c.steer("more").is_none(),
        "no turn id yet: queue it instead"
    );
    c.on_line(r#"{"id":2,"result":{"turn":{"id":"u1"}}}"#, &mut out);
    let steer: Value = serde_json::from_str(&c.steer("more").unwrap()[0]).unwrap();
    assert_eq!(steer["params"]["expectedTurnId"], "u1");
    let lines = c.on_line(
        r#"{"method":"turn/completed","params":{"threadId":"old","turn":{"id":"u1","status":"completed"}}}"#,
        &mut out,
    );
    let next: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(next["params"]["input"][0]["text"], "two");
}

#[test]
fn an_interrupt_before_the_turn_id_is_known_is_sent_once_it_is() {
    let (mut c, _) = ready();
    let mut out = Vec::new();
    c.send_turn("go");
    assert!(c.interrupt().is_empty());
    let lines = c.on_line(r#"{"id":2,"result":{"turn":{"id":"u"}}}"#, &mut out);
    let sent: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(sent["method"], "turn/interrupt");
    assert_eq!(sent["params"], json!({"threadId": "t", "turnId": "u"}));
    assert!(c.interrupt().is_empty(), "sent once");
}

#[test]
fn a_thread_that_cannot_be_resumed_fails_the_waiting_turn() {
    let mut c = CodexCodec::new(Policy::default());
    let mut out = Vec::new();
    c.start(&StartSpec {
        resume: Some("gone".into()),
        ..StartSpec::default()
    });
    c.send_turn("hello");
    c.on_line(r#"{"id":0,"result":{}}"#, &mut out);
    c.on_line(
        r#"{"id":1,"error":{"code":-32600,"message":"no rollout found for thread id gone"}}"#,
        &mut out,
    );
    assert!(matches!(
        &out[..],
        [LiveEvent::TurnEnded(Outcome::Failed {
            kind: FailureKind::SessionNotFound,
            ..
        })]
    ));
}

#[test]
fn a_file_change_is_previewed_from_its_item_and_answers_must_fit() {
    let (mut c, _) = ready();
    let mut out = Vec::new();
    c.send_turn("edit");
    c.on_line(r#"{"id":2,"result":{"turn":{"id":"u"}}}"#, &mut out);
    c.on_line(
        r#"{"method":"item/started","params":{"threadId":"t","item":{"type":"fileChange","id":"f","status":"inProgress","changes":[{"path":"/w/a.rs","kind":{"type":"update","move_path":null},"diff":"-old\n+new\n"}]}}}"#,
        &mut out,
    );
    c.on_line(
        r#"{"id":7,"method":"item/fileChange/requestApproval","params":{"threadId":"t","turnId":"u","itemId":"f"}}"#,
        &mut out,
    );
    assert!(out.contains(&LiveEvent::Event(Event::ToolStarted {
        id: Some("f".into()),
        name: "Edit".into(),
        summary: "update /w/a.rs".into()
    })));
    let ask = out.iter().find_map(|e| match e {
        LiveEvent::Ask(a) => Some(a.clone()),
        _ => None,
    });
    assert_eq!(
        ask,
        Some(Ask {
            id: "7".into(),
            kind: AskKind::Approval {
                tool: "Edit".into(),
                preview: "update /w/a.rs\n-old\n+new".into(),
                choices: vec![Decision::AllowOnce, Decision::AllowSession, Decision::Deny],
            }
        })
    );
    assert!(
        c.answer("7", &Answer::Decision(Decision::AllowAlways))
            .is_err()
    );
    assert!(c.answer("7", &Answer::Answers(vec![])).is_err());
    assert!(
        c.answer("8", &Answer::Decision(Decision::AllowOnce))
            .is_err()
    );
    assert_eq!(
        c.answer("7", &Answer::DenyWith("no".into())).unwrap(),
        [r#"{"id":7,"result":{"decision":"decline"}}"#]
    );
    assert!(c.answer("7", &Answer::Cancel).is_err(), "answered already");
}

#[test]
fn codex_error_codes_decide_the_failure_kind() {
    let kind = |error: Value| failure_kind(&error, &bounded_detail(&error_text(&error)));
    assert_eq!(
        kind(json!({"message": "too big", "codexErrorInfo": "contextWindowExceeded"})),
        FailureKind::ContextTooLong
    );
    assert_eq!(
        kind(
            json!({"message": "x", "codexErrorInfo": {"httpConnectionFailed": {"httpStatusCode": 429}}})
        ),
        FailureKind::RateLimited
    );
    assert_eq!(
        kind(json!({"message": "stream disconnected", "codexErrorInfo": "other"})),
        FailureKind::Other
    );
}

#[test]
fn a_working_directory_that_is_not_utf8_is_sent_lossily_not_a_panic() {
    use std::os::unix::ffi::OsStrExt as _;
    let cwd = std::ffi::OsStr::from_bytes(b"/w/\xff").into();
    let mut c = CodexCodec::new(Policy::default());
    c.start(&StartSpec {
        cwd,
        ..StartSpec::default()
    });
    let lines = c.on_line(r#"{"id":0,"result":{}}"#, &mut Vec::new());
    let start: Value = serde_json::from_str(&lines[1]).unwrap();
    assert_eq!(start["method"], "thread/start");
    assert_eq!(start["params"]["cwd"], "/w/\u{fffd}");
    assert_eq!(start["params"]["approvalPolicy"], "untrusted");
}
