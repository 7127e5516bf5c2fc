//! codex's live mode end to end: the genuine `codex app-server` against the mock model
//! API, through [`LiveProcess`] and [`CodexCodec`] — several turns on one warm process,
//! approvals allowed once, for the session and denied, an interrupted turn, a question,
//! steering; after `shutdown()` no process of the run is left.
//!
//! `record_codex_transcripts` (ignored) records the transcripts under
//! `tests/fixtures/cli-streams/live/codex-*.jsonl` that the codec's unit tests replay:
//! `cargo nextest run --test providers --run-ignored only live_codex::record_codex_transcripts`.

use super::support::clis::{self, CliEnv};
use super::support::daemon::{processes_of, wait_no_processes};
use super::support::mock_llm::{MockLlm, Reply};
use ductor::provider::event::{Event, FailureKind, Outcome};
use ductor::provider::live::codex::{CodexCodec, LIVE_ARGS, Policy};
use ductor::provider::live::driver::LiveProcess;
use ductor::provider::live::{Answer, Ask, AskKind, Decision, LiveCodec, LiveEvent, StartSpec};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

/// How long one turn may take.
const TURN: Duration = Duration::from_secs(90);

/// The question the mock makes codex ask (`request_user_input`).
fn question_call() -> Value {
    json!({"questions": [{
        "id": "color", "header": "Color", "question": "Which color?",
        "options": [
            {"label": "Red", "description": "warm"},
            {"label": "Blue", "description": "cool"}
        ]
    }]})
}

/// The mock, the offline environment and the workspace of one test.
struct Rig {
    mock: MockLlm,
    root: tempfile::TempDir,
    env: CliEnv,
}

impl Rig {
    async fn new(label: &str) -> Self {
        let mock = MockLlm::start().await;
        mock.script(
            "ASK_COLOR",
            Reply::text("I need to ask.").with_call("request_user_input", question_call()),
        );
        let root = clis::test_dir(label);
        let env = CliEnv::new(root.path(), &mock.base_url());
        Self { mock, root, env }
    }

    fn spec(&self) -> StartSpec {
        StartSpec {
            cwd: self.env.workspace(),
            resume: None,
            model: None,
        }
    }

    fn command(&self) -> tokio::process::Command {
        let mut command = self.env.command("codex", &self.env.workspace());
        command.args(LIVE_ARGS);
        command
    }

    async fn spawn(&self) -> LiveProcess {
        let codec = Box::new(CodexCodec::new(Policy::default()));
        LiveProcess::spawn(self.command(), codec, &self.spec())
            .await
            .expect("spawn codex app-server")
    }

    /// `MOCK_TOOL_CMD` running a `touch` of `name` in the workspace (a writing command,
    /// so codex asks).
    fn touch(&self, name: &str) -> (String, PathBuf) {
        let path = self.env.workspace().join(name);
        let prompt = format!("MOCK_TOOL_CMD<<touch {} && echo touched>>", path.display());
        (prompt, path)
    }

    async fn assert_clean(&self) {
        if !processes_of(self.root.path()).is_empty() {
            wait_no_processes(self.root.path(), Duration::from_secs(5)).await;
        }
    }
}

/// Events of one turn up to its end; `on_ask` answers each ask (`None`: leave it).
async fn turn(
    live: &mut LiveProcess,
    mut on_ask: impl FnMut(&Ask) -> Option<Answer>,
) -> (Vec<LiveEvent>, Outcome) {
    let mut events = Vec::new();
    let run = async {
        while let Some(ev) = live.next().await {
            if let LiveEvent::Ask(ask) = &ev
                && let Some(answer) = on_ask(ask)
            {
                live.answer(&ask.id.clone(), &answer).await.expect("answer");
            }
            if let LiveEvent::TurnEnded(outcome) = &ev {
                let outcome = outcome.clone();
                events.push(ev);
                return Some(outcome);
            }
            events.push(ev);
        }
        None
    };
    let outcome = tokio::time::timeout(TURN, run).await;
    match outcome {
        Ok(Some(outcome)) => (events, outcome),
        Ok(None) => panic!("codex ended: {events:#?}\nstderr: {}", live.stderr_tail()),
        Err(tokio::time::error::Elapsed { .. }) => panic!("the turn did not end: {events:#?}"),
    }
}

/// Reads events up to the first that matches `hit` and returns it.
async fn until(live: &mut LiveProcess, hit: impl Fn(&LiveEvent) -> bool) -> LiveEvent {
    let wait = async {
        while let Some(ev) = live.next().await {
            if hit(&ev) {
                return ev;
            }
        }
        panic!("codex ended");
    };
    tokio::time::timeout(TURN, wait)
        .await
        .expect("the event comes")
}

fn asks(events: &[LiveEvent]) -> Vec<&Ask> {
    events
        .iter()
        .filter_map(|e| match e {
            LiveEvent::Ask(a) => Some(a),
            _ => None,
        })
        .collect()
}

fn completed(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Completed { text, .. } => text,
        other @ Outcome::Failed { .. } => panic!("the turn failed: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn codex_live_takes_turns_asks_and_obeys_allow_once_and_deny() {
    let rig = Rig::new("codex-live-approvals").await;
    let mut live = rig.spawn().await;
    let (allowed, allowed_path) = rig.touch("allowed");
    live.send_turn(&allowed).await.unwrap();
    let (events, outcome) = turn(&mut live, |_| Some(Answer::Decision(Decision::AllowOnce))).await;
    let session = match &events[0] {
        LiveEvent::Ready {
            session_id: Some(id),
        } => id.clone(),
        other => panic!("first the session: {other:?}"),
    };
    let asked = asks(&events);
    assert_eq!(asked.len(), 1, "{events:#?}");
    match &asked[0].kind {
        AskKind::Approval {
            tool,
            preview,
            choices,
        } => {
            assert_eq!(tool, "Shell");
            assert!(
                preview.contains("touch ") && preview.contains("allowed"),
                "{preview}"
            );
            assert_eq!(choices[..2], [Decision::AllowOnce, Decision::AllowSession]);
            assert_eq!(choices.last(), Some(&Decision::Deny));
        }
        other @ AskKind::Question { .. } => panic!("{other:?}"),
    }
    assert!(allowed_path.exists(), "AllowOnce ran the command");
    assert!(completed(&outcome).contains("touched"), "{outcome:?}");
    assert_eq!(outcome.session_id(), Some(session.as_str()));

    // The same warm process answers the next turn and remembers the first.
    live.send_turn("Say hello").await.unwrap();
    let (events, outcome) = turn(&mut live, |a| panic!("nothing to ask: {a:?}")).await;
    let text = completed(&outcome);
    assert!(
        text.contains("Hello from mock-llm") && !text.contains("prior_assistant_turns=0"),
        "{text}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, LiveEvent::Event(Event::TextDelta { .. })))
    );

    let (denied, denied_path) = rig.touch("denied");
    live.send_turn(&denied).await.unwrap();
    let (events, outcome) = turn(&mut live, |_| Some(Answer::Decision(Decision::Deny))).await;
    assert_eq!(asks(&events).len(), 1);
    assert!(!denied_path.exists(), "Deny blocked the command");
    assert!(
        completed(&outcome).contains("rejected"),
        "the model is told: {outcome:?}"
    );

    assert!(
        !processes_of(rig.root.path()).is_empty(),
        "the check sees codex"
    );
    live.shutdown().await;
    rig.assert_clean().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn codex_live_allow_for_the_session_is_not_asked_again() {
    let rig = Rig::new("codex-live-session").await;
    let mut live = rig.spawn().await;
    let (prompt, path) = rig.touch("again");
    live.send_turn(&prompt).await.unwrap();
    let (events, _) = turn(&mut live, |_| {
        Some(Answer::Decision(Decision::AllowSession))
    })
    .await;
    assert_eq!(asks(&events).len(), 1);
    assert!(path.exists());
    std::fs::remove_file(&path).unwrap();
    live.send_turn(&prompt).await.unwrap();
    let (events, outcome) = turn(&mut live, |a| panic!("asked again: {a:?}")).await;
    assert!(asks(&events).is_empty());
    assert!(
        path.exists(),
        "the second identical call ran without asking"
    );
    completed(&outcome);
    live.shutdown().await;
    rig.assert_clean().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn codex_live_always_allow_outlives_the_process() {
    let rig = Rig::new("codex-live-always").await;
    let mut live = rig.spawn().await;
    // One plain command: the rule codex proposes is its prefix (`touch <path>`).
    let path = rig.env.workspace().join("always");
    let prompt = format!("MOCK_TOOL_CMD<<touch {}>>", path.display());
    live.send_turn(&prompt).await.unwrap();
    let (events, _) = turn(&mut live, |_| Some(Answer::Decision(Decision::AllowAlways))).await;
    assert_eq!(asks(&events).len(), 1);
    assert!(path.exists());
    live.shutdown().await;
    std::fs::remove_file(&path).unwrap();

    // A new process, a new thread: the rule codex saved still allows the command.
    let mut live = rig.spawn().await;
    live.send_turn(&prompt).await.unwrap();
    let (events, outcome) = turn(&mut live, |a| panic!("asked again: {a:?}")).await;
    assert!(asks(&events).is_empty());
    assert!(path.exists(), "{outcome:?}");
    live.shutdown().await;
    rig.assert_clean().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn codex_live_interrupt_cancels_the_turn_and_the_process_goes_on() {
    let rig = Rig::new("codex-live-interrupt").await;
    let mut live = rig.spawn().await;
    live.send_turn("MOCK_SLOW").await.unwrap();
    until(&mut live, |e| {
        matches!(e, LiveEvent::Event(Event::TextDelta { .. }))
    })
    .await;
    live.interrupt().await.unwrap();
    let (_, outcome) = turn(&mut live, |_| None).await;
    assert!(
        matches!(
            outcome,
            Outcome::Failed {
                kind: FailureKind::Cancelled,
                ..
            }
        ),
        "{outcome:?}"
    );

    // A pending approval is withdrawn by the interrupt.
    let (prompt, path) = rig.touch("never");
    live.send_turn(&prompt).await.unwrap();
    let LiveEvent::Ask(asked) = until(&mut live, |e| matches!(e, LiveEvent::Ask(_))).await else {
        unreachable!("until returns a match");
    };
    live.interrupt().await.unwrap();
    let (events, outcome) = turn(&mut live, |_| None).await;
    let id = asked.id;
    assert!(events.contains(&LiveEvent::Withdrawn { id }), "{events:#?}");
    assert!(matches!(
        outcome,
        Outcome::Failed {
            kind: FailureKind::Cancelled,
            ..
        }
    ));
    assert!(!path.exists());

    live.send_turn("Say hi").await.unwrap();
    let (_, outcome) = turn(&mut live, |_| None).await;
    assert!(completed(&outcome).contains("Say hi"));
    live.shutdown().await;
    rig.assert_clean().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn codex_live_question_is_answered_and_steering_reaches_the_turn() {
    let rig = Rig::new("codex-live-question").await;
    let mut live = rig.spawn().await;
    live.send_turn("ASK_COLOR").await.unwrap();
    let (events, outcome) = turn(&mut live, |ask| match &ask.kind {
        AskKind::Question { questions } => {
            assert_eq!(questions[0].text, "Which color?");
            assert_eq!(questions[0].options, ["Red", "Blue"]);
            Some(Answer::Answers(vec![(
                "Which color?".into(),
                "Blue".into(),
            )]))
        }
        other @ AskKind::Approval { .. } => panic!("{other:?}"),
    })
    .await;
    assert_eq!(asks(&events).len(), 1);
    assert!(completed(&outcome).contains("Blue"), "{outcome:?}");

    // A message added while a (slow) command runs reaches the model in the same turn.
    live.send_turn("MOCK_TOOL_CMD<<sleep 2 && echo slept>>")
        .await
        .unwrap();
    let mut steered = false;
    let mut events = Vec::new();
    let run = async {
        while let Some(ev) = live.next().await {
            match &ev {
                LiveEvent::Ask(a) => {
                    let allow = Answer::Decision(Decision::AllowOnce);
                    live.answer(&a.id.clone(), &allow).await.unwrap();
                    // The command now sleeps: the model is not called before it ends.
                    steered = live.steer("STEERED words").await.unwrap();
                }
                LiveEvent::TurnEnded(o) => return o.clone(),
                _ => {}
            }
            events.push(ev);
        }
        panic!("codex ended: {events:#?}");
    };
    let outcome = tokio::time::timeout(TURN, run)
        .await
        .expect("the turn ends");
    assert!(steered);
    assert!(completed(&outcome).contains("STEERED words"), "{outcome:?}");
    live.shutdown().await;
    rig.assert_clean().await;
}

/// Drives codex with the codec directly and records everything for the fixtures.
struct Recorder {
    codec: CodexCodec,
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
    log: Vec<Value>,
    queue: std::collections::VecDeque<LiveEvent>,
}

impl Recorder {
    async fn start(rig: &Rig) -> Self {
        let mut command = rig.command();
        command.stdin(Stdio::piped());
        let mut child = command.spawn().expect("spawn codex app-server");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                let _ = tx.send(line);
            }
        });
        let mut me = Self {
            codec: CodexCodec::new(Policy::default()),
            child,
            stdin,
            lines,
            log: Vec::new(),
            queue: std::collections::VecDeque::default(),
        };
        let spec = rig.spec();
        me.log.push(json!({"action": "start", "cwd": spec.cwd}));
        let lines = me.codec.start(&spec);
        me.write(lines).await;
        me
    }

    async fn write(&mut self, lines: Vec<String>) {
        for line in lines {
            self.log
                .push(json!({"stdin": serde_json::from_str::<Value>(&line).unwrap()}));
            self.stdin
                .write_all(format!("{line}\n").as_bytes())
                .await
                .unwrap();
        }
        self.stdin.flush().await.unwrap();
    }

    async fn act(&mut self, action: Value, lines: Vec<String>) {
        self.log.push(action);
        self.write(lines).await;
    }

    async fn send_turn(&mut self, text: &str) {
        let lines = self.codec.send_turn(text);
        self.act(json!({"action": "send_turn", "text": text}), lines)
            .await;
    }

    async fn answer(&mut self, id: &str, answer: &Answer, shown: Value) {
        let lines = self.codec.answer(id, answer).unwrap();
        self.act(
            json!({"action": "answer", "id": id, "answer": shown}),
            lines,
        )
        .await;
    }

    async fn next(&mut self) -> LiveEvent {
        loop {
            if let Some(ev) = self.queue.pop_front() {
                return ev;
            }
            let line = tokio::time::timeout(TURN, self.lines.recv())
                .await
                .expect("codex answers")
                .expect("codex runs");
            self.log.push(
                json!({"stdout": serde_json::from_str::<Value>(&line).unwrap_or(json!(line))}),
            );
            let mut out = Vec::new();
            let replies = self.codec.on_line(&line, &mut out);
            self.queue.extend(out);
            self.write(replies).await;
        }
    }

    async fn until(&mut self, hit: impl Fn(&LiveEvent) -> bool) -> LiveEvent {
        loop {
            let ev = self.next().await;
            if hit(&ev) {
                return ev;
            }
        }
    }

    async fn ask(&mut self) -> Ask {
        match self.until(|e| matches!(e, LiveEvent::Ask(_))).await {
            LiveEvent::Ask(a) => a,
            _ => unreachable!(),
        }
    }

    async fn end(&mut self) {
        self.until(|e| matches!(e, LiveEvent::TurnEnded(_))).await;
    }

    /// Writes the transcript with local paths replaced by `/home/user`.
    async fn save(mut self, rig: &Rig, name: &str) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        let root = rig.root.path().to_string_lossy().into_owned();
        let port = format!("127.0.0.1:{}", rig.mock.port());
        let mut text = String::new();
        for entry in &self.log {
            text.push_str(
                &entry
                    .to_string()
                    .replace(&root, "/home/user")
                    .replace(&port, "127.0.0.1:PORT"),
            );
            text.push('\n');
        }
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cli-streams/live");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("codex-{name}.jsonl")), text).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "records the fixtures of the codec's unit tests"]
async fn record_codex_transcripts() {
    let rig = Rig::new("codex-live-capture").await;
    let allow = |d: Decision| (Answer::Decision(d), json!(d));

    for (name, decision) in [
        ("approval-allowed", Decision::AllowOnce),
        ("approval-denied", Decision::Deny),
        ("approval-session", Decision::AllowSession),
    ] {
        let mut rec = Recorder::start(&rig).await;
        let (prompt, path) = rig.touch(name);
        rec.send_turn(&prompt).await;
        let ask = rec.ask().await;
        let (answer, shown) = allow(decision);
        rec.answer(&ask.id, &answer, shown).await;
        rec.end().await;
        let _ = std::fs::remove_file(&path);
        let second = if decision == Decision::AllowSession {
            prompt.clone()
        } else {
            "Say hello".into()
        };
        rec.send_turn(&second).await;
        rec.end().await;
        rec.save(&rig, name).await;
    }

    let mut rec = Recorder::start(&rig).await;
    rec.send_turn("MOCK_SLOW").await;
    rec.until(|e| matches!(e, LiveEvent::Event(Event::TextDelta { .. })))
        .await;
    let lines = rec.codec.interrupt();
    rec.act(json!({"action": "interrupt"}), lines).await;
    rec.end().await;
    let (prompt, _) = rig.touch("never");
    rec.send_turn(&prompt).await;
    rec.ask().await;
    let lines = rec.codec.interrupt();
    rec.act(json!({"action": "interrupt"}), lines).await;
    rec.end().await;
    rec.send_turn("Say hi").await;
    rec.end().await;
    rec.save(&rig, "interrupted").await;

    let mut rec = Recorder::start(&rig).await;
    rec.send_turn("ASK_COLOR").await;
    let ask = rec.ask().await;
    let answer = Answer::Answers(vec![("Which color?".into(), "Blue".into())]);
    rec.answer(
        &ask.id,
        &answer,
        json!({"answers": [["Which color?", "Blue"]]}),
    )
    .await;
    rec.end().await;
    rec.send_turn("MOCK_TOOL_CMD<<sleep 2 && echo slept>>")
        .await;
    let ask = rec.ask().await;
    let (answer, shown) = allow(Decision::AllowOnce);
    rec.answer(&ask.id, &answer, shown).await;
    let lines = rec.codec.steer("STEERED words").unwrap();
    rec.act(json!({"action": "steer", "text": "STEERED words"}), lines)
        .await;
    rec.end().await;
    rec.send_turn("MOCK_ERROR_401").await;
    rec.end().await;
    rec.save(&rig, "question-steer-error").await;
}
