//! The live launcher and hub against a tiny shell "CLI" speaking a line protocol of
//! its own (through a test codec): reuse of the warm process, a new one for another
//! session, approvals answered, refused to others, timed out, a question answered by
//! text, an interrupt that keeps the process, `close` during a turn, a crash.

use super::live::{AnswerError, AskChoice, LiveHub, LiveLauncher};
use super::{BoxFuture, Launch, Launcher, LiveTurn, OpenError, Opened, TimeoutKind};
use crate::config::{AgentConfig, LiveConfig};
use crate::provider::ProviderKind;
use crate::provider::command::TurnSpec;
use crate::provider::event::{AskEnd, Event, FailureKind, Outcome, Usage};
use crate::provider::live::driver::LiveProcess;
use crate::provider::live::{
    Answer, Ask, AskKind, Decision, LiveCodec, LiveEvent, Question, StartSpec,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The "CLI": `T <text>` is a turn. `ask` asks approval 1 and answers with what it
/// got; `question` asks question 2; `slow` waits for `I` (interrupt) and ends as
/// cancelled; `die` exits; anything else is echoed. `S <text>` (steer) is echoed
/// into the running turn.
const SCRIPT: &str = r#"
echo "R sess-$$"
while IFS= read -r line; do
  case "$line" in
    "T ask") echo "A 1"; IFS= read -r ans; echo "X got ${ans}"; echo "E ok";;
    "T question") echo "Q 2"; IFS= read -r ans; echo "X got ${ans}"; echo "E ok";;
    "T slow") while IFS= read -r int; do
        case "$int" in I) echo "C stopped"; break;; S\ *) echo "X steered ${int#S }";; esac
      done;;
    "T die") exit 3;;
    T\ *) echo "X ${line#T }"; echo "E ok";;
    S\ *) echo "X steered ${line#S }";;
  esac
done
"#;

#[derive(Default)]
struct LineCodec {
    text: String,
}

fn done(text: &str) -> LiveEvent {
    LiveEvent::TurnEnded(Outcome::Completed {
        text: text.to_owned(),
        session_id: None,
        usage: Usage::default(),
        permission_denials: Vec::new(),
    })
}

impl LiveCodec for LineCodec {
    fn start(&mut self, _spec: &StartSpec) -> Vec<String> {
        Vec::new()
    }
    fn send_turn(&mut self, text: &str) -> Vec<String> {
        self.text.clear();
        vec![format!("T {text}")]
    }
    fn answer(&mut self, id: &str, answer: &Answer) -> Result<Vec<String>, String> {
        let a = match answer {
            Answer::Decision(d) => format!("{d:?}"),
            Answer::DenyWith(r) => format!("deny:{r}"),
            Answer::Answers(a) => a.iter().map(|(_, x)| x.as_str()).collect(),
            Answer::Cancel => "cancel".into(),
        };
        Ok(vec![format!("{id}={a}")])
    }
    fn interrupt(&mut self) -> Vec<String> {
        vec!["I".into()]
    }
    fn steer(&mut self, text: &str) -> Option<Vec<String>> {
        Some(vec![format!("S {text}")])
    }
    fn on_line(&mut self, line: &str, out: &mut Vec<LiveEvent>) -> Vec<String> {
        let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
        match tag {
            "R" => out.push(LiveEvent::Ready {
                session_id: Some(rest.to_owned()),
            }),
            "A" => out.push(LiveEvent::Ask(Ask {
                id: rest.to_owned(),
                kind: AskKind::Approval {
                    tool: "Bash".into(),
                    preview: "touch x".into(),
                    choices: vec![Decision::AllowOnce, Decision::AllowSession, Decision::Deny],
                },
            })),
            "Q" => out.push(LiveEvent::Ask(Ask {
                id: rest.to_owned(),
                kind: AskKind::Question {
                    questions: vec![Question {
                        text: "Which color?".into(),
                        options: vec!["Red".into(), "Blue".into()],
                    }],
                },
            })),
            "X" => {
                self.text.push_str(rest);
                out.push(LiveEvent::Event(Event::Text {
                    text: rest.to_owned(),
                }));
            }
            "E" => out.push(done(&self.text)),
            "C" => out.push(LiveEvent::TurnEnded(Outcome::Failed {
                kind: FailureKind::Cancelled,
                detail: rest.to_owned(),
                session_id: None,
            })),
            _ => {}
        }
        Vec::new()
    }
}

/// Opens the shell "CLI"; one-shot launches are not expected.
#[derive(Debug, Default)]
struct ShellLauncher {
    opened: AtomicUsize,
}

impl Launcher for ShellLauncher {
    fn launch(
        &self,
        _job: Launch,
        _events: mpsc::Sender<Event>,
        _cancel: CancellationToken,
    ) -> BoxFuture<Outcome> {
        panic!("a live turn ran one-shot")
    }

    fn open_live(&self, job: &Launch) -> BoxFuture<Result<Opened, OpenError>> {
        self.opened.fetch_add(1, Ordering::SeqCst);
        let spec = StartSpec {
            cwd: job.cwd.clone(),
            ..StartSpec::default()
        };
        Box::pin(async move {
            let mut cmd = tokio::process::Command::new("sh");
            cmd.arg("-c").arg(SCRIPT);
            LiveProcess::spawn(cmd, Box::new(LineCodec::default()), &spec)
                .await
                .map(|process| Opened {
                    process,
                    cleanup: None,
                })
                .map_err(|e| OpenError::Failed(Outcome::cannot_prepare(&e)))
        })
    }
}

struct Rig {
    config: LiveConfig,
    hub: Arc<LiveHub>,
    shell: Arc<ShellLauncher>,
    launcher: LiveLauncher,
    dir: tempfile::TempDir,
}

fn rig(tweak: impl FnOnce(&mut AgentConfig)) -> Rig {
    let mut config = AgentConfig {
        permission_mode: "default".into(),
        ..AgentConfig::default()
    };
    tweak(&mut config);
    let config = LiveConfig::new(config);
    let hub = LiveHub::new(config.clone());
    let shell = Arc::new(ShellLauncher::default());
    let launcher = LiveLauncher::new(shell.clone(), hub.clone());
    Rig {
        config,
        hub,
        shell,
        launcher,
        dir: tempfile::tempdir().unwrap(),
    }
}

impl Rig {
    fn tweak(&self, f: impl FnOnce(&mut AgentConfig)) {
        let mut c = (*self.config.get()).clone();
        f(&mut c);
        self.config.set(c);
    }

    fn job(&self, prompt: &str, resume: Option<&str>, starter: Option<&str>) -> Launch {
        let paths = crate::paths::Home::new(self.dir.path()).main();
        let address = crate::address::Address::new("tg", 1, None);
        Launch {
            provider: ProviderKind::Claude,
            spec: TurnSpec {
                prompt: prompt.into(),
                resume: resume.map(str::to_owned),
                ..TurnSpec::default()
            },
            cwd: self.dir.path().to_path_buf(),
            identity: crate::exec::request::identity(&AgentConfig::default(), &paths, &address),
            timeout: TimeoutKind::Interactive,
            extra_args: Vec::new(),
            live: Some(LiveTurn {
                key: "tg:1".into(),
                starter: starter.map(str::to_owned),
                runs_live: true,
            }),
        }
    }

    /// Starts a turn; its events arrive on the receiver.
    fn turn(
        &self,
        job: Launch,
        cancel: &CancellationToken,
    ) -> (tokio::task::JoinHandle<Outcome>, mpsc::Receiver<Event>) {
        let (tx, rx) = mpsc::channel(64);
        let run = tokio::spawn(self.launcher.launch(job, tx, cancel.clone()));
        (run, rx)
    }
}

async fn next_ask(rx: &mut mpsc::Receiver<Event>) -> (String, AskKind) {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Some(Event::Ask { id, ask })) => return (id, ask),
            Ok(Some(_)) => {}
            other => panic!("no ask: {other:?}"),
        }
    }
}

async fn resolution(rx: &mut mpsc::Receiver<Event>) -> AskEnd {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Some(Event::AskResolved { how, .. })) => return how,
            Ok(Some(_)) => {}
            other => panic!("not resolved: {other:?}"),
        }
    }
}

fn text(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Completed { text, .. } => text,
        Outcome::Failed { .. } => panic!("{outcome:?}"),
    }
}

#[tokio::test]
async fn one_warm_process_per_session_and_its_id_is_reported() {
    let r = rig(|_| {});
    let never = CancellationToken::new();
    let (run, mut rx) = r.turn(r.job("hello", None, None), &never);
    let first = run.await.unwrap();
    assert_eq!(text(&first), "hello");
    let mut session = None;
    while let Ok(ev) = rx.try_recv() {
        if let Event::SessionStarted { session_id } = ev {
            session = Some(session_id);
        }
    }
    let session = session.expect("the session id is reported");
    assert_eq!(first.session_id(), Some(session.as_str()));
    assert_eq!(r.hub.warm().len(), 1);

    // The same session: the warm process takes it.
    let (run, _rx) = r.turn(r.job("again", Some(&session), None), &never);
    assert_eq!(text(&run.await.unwrap()), "again");
    assert_eq!(r.shell.opened.load(Ordering::SeqCst), 1);
    // Another session (after `/new`, a reset): a new process.
    let (run, _rx) = r.turn(r.job("fresh", None, None), &never);
    run.await.unwrap();
    assert_eq!(r.shell.opened.load(Ordering::SeqCst), 2);
    assert_eq!(r.hub.warm().len(), 1, "the old one ended");
    r.hub.shutdown().await;
    assert_eq!(r.hub.count(), 0);
}

#[tokio::test]
async fn approvals_are_answered_by_the_starter_only_and_questions_by_text() {
    let r = rig(|_| {});
    let never = CancellationToken::new();
    let (run, mut rx) = r.turn(r.job("ask", None, Some("alice")), &never);
    let (key, ask) = next_ask(&mut rx).await;
    assert!(matches!(ask, AskKind::Approval { .. }));
    let bob = r
        .hub
        .answer(&key, AskChoice::Decision(Decision::AllowOnce), Some("bob"));
    assert_eq!(bob.await, Err(AnswerError::NotYours));
    let unfit = r
        .hub
        .answer(&key, AskChoice::Decision(Decision::AllowAlways), None);
    assert_eq!(unfit.await, Err(AnswerError::Unfit), "not offered");
    r.hub
        .answer(
            &key,
            AskChoice::Decision(Decision::AllowSession),
            Some("alice"),
        )
        .await
        .unwrap();
    assert_eq!(
        resolution(&mut rx).await,
        AskEnd::Decided {
            decision: Decision::AllowSession
        }
    );
    assert_eq!(text(&run.await.unwrap()), "got 1=AllowSession");
    assert_eq!(
        r.hub.answer(&key, AskChoice::Option(0), None).await,
        Err(AnswerError::Expired)
    );

    let session = r.hub.warm()[0].key.clone();
    assert_eq!(session, "tg:1");
    let resume = None;
    let (run, mut rx) = r.turn(r.job("question", resume, None), &never);
    let (key, _) = next_ask(&mut rx).await;
    assert_eq!(
        r.hub.question_for("tg:1", Some("anyone")),
        Some(key.clone())
    );
    assert_eq!(r.hub.question_for("tg:2", None), None);
    r.hub
        .answer(&key, AskChoice::Text("Green".into()), None)
        .await
        .unwrap();
    assert_eq!(
        resolution(&mut rx).await,
        AskEnd::Answered {
            answers: vec!["Green".into()]
        }
    );
    assert_eq!(text(&run.await.unwrap()), "got 2=Green");
    r.hub.shutdown().await;
}

#[tokio::test]
async fn an_unanswered_request_is_denied_after_the_timeout() {
    let r = rig(|c| c.live.approval_timeout_seconds = 1);
    let never = CancellationToken::new();
    let (run, mut rx) = r.turn(r.job("ask", None, None), &never);
    let (key, _) = next_ask(&mut rx).await;
    assert_eq!(resolution(&mut rx).await, AskEnd::TimedOut);
    assert_eq!(text(&run.await.unwrap()), "got 1=Deny");
    assert_eq!(
        r.hub
            .answer(&key, AskChoice::Decision(Decision::AllowOnce), None)
            .await,
        Err(AnswerError::Expired)
    );
    r.hub.shutdown().await;
}

#[tokio::test]
async fn an_interrupt_keeps_the_process_and_close_ends_it_after_the_turn() {
    let r = rig(|_| {});
    let cancel = CancellationToken::new();
    let (run, _rx) = r.turn(r.job("slow", None, None), &cancel);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        r.hub.can_steer("tg:1"),
        "claude takes more text while it runs"
    );
    assert!(r.hub.steer("tg:1", "more").await);
    cancel.cancel();
    let outcome = run.await.unwrap();
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
    assert_eq!(r.hub.warm().len(), 1, "still warm");
    let session = outcome.session_id().map(str::to_owned);
    assert!(session.is_some());

    // `/stop` during a turn: the process ends once the turn is over.
    let cancel = CancellationToken::new();
    let (run, _rx) = r.turn(r.job("slow", session.as_deref(), None), &cancel);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(r.hub.close("tg:1").await, "a turn runs");
    cancel.cancel();
    run.await.unwrap();
    assert_eq!(r.hub.count(), 0);
    assert_eq!(r.shell.opened.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_crash_ends_the_turn_and_the_next_one_opens_a_new_process() {
    let r = rig(|_| {});
    let never = CancellationToken::new();
    let (run, _rx) = r.turn(r.job("die", None, None), &never);
    let outcome = run.await.unwrap();
    assert!(
        matches!(outcome, Outcome::Failed { kind: FailureKind::Crashed, ref session_id, .. } if session_id.is_some()),
        "{outcome:?}"
    );
    assert_eq!(r.hub.count(), 0);
    let resume = outcome.session_id().map(str::to_owned);
    let (run, _rx) = r.turn(r.job("back", resume.as_deref(), None), &never);
    assert_eq!(text(&run.await.unwrap()), "back");
    assert_eq!(r.shell.opened.load(Ordering::SeqCst), 2);
    r.hub.shutdown().await;
}

#[tokio::test]
async fn a_one_shot_run_of_the_conversation_ends_its_warm_process_first() {
    let r = rig(|_| {});
    let never = CancellationToken::new();
    let (run, _rx) = r.turn(r.job("hello", None, None), &never);
    run.await.unwrap();
    assert_eq!(r.hub.warm().len(), 1);
    // A heartbeat of the same conversation runs one-shot (the shell launcher
    // panics on one-shot runs: the warm process must be gone before it).
    let mut job = r.job("heartbeat", None, None);
    if let Some(l) = &mut job.live {
        l.runs_live = false;
    }
    let (tx, _rx) = mpsc::channel(8);
    let run = tokio::spawn(r.launcher.launch(job, tx, never.clone()));
    assert!(run.await.is_err(), "it ran one-shot");
    assert_eq!(r.hub.count(), 0, "the warm process ended first");
}

#[tokio::test]
async fn upkeep_ends_idle_and_oversized_warm_processes() {
    let r = rig(|c| c.live.memory_cap_mb = 1 << 20);
    let never = CancellationToken::new();
    let (run, _rx) = r.turn(r.job("hello", None, None), &never);
    run.await.unwrap();
    assert_eq!(r.hub.upkeep().await, 0, "young and small: kept");
    assert_eq!(r.hub.warm().len(), 1);
    let info = &r.hub.warm()[0];
    assert!(info.rss_kib > 0, "its memory is measured");

    // Over the memory cap (a reload lowers it): ended.
    r.tweak(|c| c.live.memory_cap_mb = 0);
    assert_eq!(r.hub.upkeep().await, 1);
    assert_eq!(r.hub.count(), 0);

    // Idle longer than `idle_minutes`: ended.
    r.tweak(|c| {
        c.live.memory_cap_mb = 1 << 20;
        c.live.idle_minutes = 0;
    });
    let (run, _rx) = r.turn(r.job("hello", None, None), &never);
    run.await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(r.hub.upkeep().await, 1);
    assert_eq!(r.hub.count(), 0);
}

#[tokio::test]
async fn a_warm_process_killed_while_it_waited_is_replaced_for_the_next_turn() {
    let r = rig(|_| {});
    let never = CancellationToken::new();
    let (run, _rx) = r.turn(r.job("hello", None, None), &never);
    let session = run.await.unwrap().session_id().map(str::to_owned);
    let pid = r.hub.warm()[0].pid;
    crate::procs::signal_group(pid, nix::sys::signal::Signal::SIGKILL);
    // Either the check before the turn or the silent end during it sees the death;
    // the user gets the answer from a new process.
    let (run, _rx) = r.turn(r.job("again", session.as_deref(), None), &never);
    assert_eq!(text(&run.await.unwrap()), "again");
    assert_eq!(r.shell.opened.load(Ordering::SeqCst), 2);
    assert_ne!(r.hub.warm()[0].pid, pid);
    r.hub.shutdown().await;
}
