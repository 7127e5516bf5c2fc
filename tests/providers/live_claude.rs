//! claude's live mode end to end: the genuine CLI in `--input-format stream-json
//! --permission-prompt-tool stdio` against the mock model API, driven through
//! `LiveProcess` + `ClaudeCodec`. A writing shell command asks first: allowed once it
//! runs, denied it does not (and the turn still ends), allowed for the session the
//! same call is not asked again; two turns share one warm process; an interrupt ends
//! the turn and the process takes the next one; nothing is left after shutdown.

use crate::support::clis::{self, CliEnv};
use crate::support::daemon::{processes_of, wait_no_processes};
use crate::support::mock_llm::MockLlm;
use ductor::provider::event::{FailureKind, Outcome};
use ductor::provider::live::claude::{ClaudeCodec, LIVE_ARGS};
use ductor::provider::live::driver::LiveProcess;
use ductor::provider::live::{Answer, Ask, AskKind, Decision, LiveEvent, StartSpec};
use std::time::Duration;

const WAIT: Duration = Duration::from_mins(1);

struct Live {
    _mock: MockLlm,
    root: tempfile::TempDir,
    env: CliEnv,
    proc: LiveProcess,
}

impl Live {
    async fn start() -> Self {
        let mock = MockLlm::start().await;
        let root = clis::test_dir("live-claude");
        let env = CliEnv::new(root.path(), &mock.base_url());
        let mut cmd = env.command("claude", &env.workspace());
        cmd.args(LIVE_ARGS).args(["--permission-mode", "default"]);
        let spec = StartSpec {
            cwd: env.workspace(),
            ..StartSpec::default()
        };
        let proc = LiveProcess::spawn(cmd, Box::new(ClaudeCodec::default()), &spec)
            .await
            .expect("claude starts");
        Self {
            _mock: mock,
            root,
            env,
            proc,
        }
    }

    /// Events until the next ask or the end of the turn.
    async fn until_ask_or_end(&mut self) -> Result<Ask, Outcome> {
        loop {
            let ev = tokio::time::timeout(WAIT, self.proc.next())
                .await
                .expect("claude answers in time")
                .unwrap_or_else(|| panic!("claude ended: {}", self.proc.stderr_tail()));
            match ev {
                LiveEvent::Ask(ask) => return Ok(ask),
                LiveEvent::TurnEnded(outcome) => return Err(outcome),
                _ => {}
            }
        }
    }

    async fn turn_end(&mut self) -> Outcome {
        match self.until_ask_or_end().await {
            Err(outcome) => outcome,
            Ok(ask) => panic!("unexpected ask {ask:?}"),
        }
    }

    fn file(&self, name: &str) -> std::path::PathBuf {
        self.env.workspace().join(name)
    }
}

fn text(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Completed { text, .. } => text,
        other @ Outcome::Failed { .. } => panic!("turn failed: {other:?}"),
    }
}

#[tokio::test]
async fn claude_live_approvals_turns_and_interrupt() {
    let mut live = Live::start().await;
    let pid = live.proc.pgid();

    // Allowed once: the command runs.
    live.proc
        .send_turn("MOCK_TOOL_CMD<<touch allowed.txt>>")
        .await
        .unwrap();
    let ask = live
        .until_ask_or_end()
        .await
        .expect("a writing command asks");
    let AskKind::Approval {
        tool,
        preview,
        choices,
    } = &ask.kind
    else {
        panic!("{ask:?}")
    };
    assert_eq!(tool, "Bash");
    assert!(preview.contains("touch allowed.txt"), "{preview}");
    assert!(choices.contains(&Decision::AllowSession) && choices.contains(&Decision::Deny));
    live.proc
        .answer(&ask.id, &Answer::Decision(Decision::AllowOnce))
        .await
        .unwrap();
    let done = live.turn_end().await;
    assert!(text(&done).contains("The tool ran"), "{done:?}");
    assert!(live.file("allowed.txt").exists());

    // Denied: it does not run, and the turn still ends.
    live.proc
        .send_turn("MOCK_TOOL_CMD<<touch denied.txt>>")
        .await
        .unwrap();
    let ask = live.until_ask_or_end().await.expect("asked again");
    live.proc
        .answer(&ask.id, &Answer::Decision(Decision::Deny))
        .await
        .unwrap();
    let done = live.turn_end().await;
    assert!(
        matches!(done, Outcome::Completed { ref permission_denials, .. } if !permission_denials.is_empty()),
        "{done:?}"
    );
    assert!(!live.file("denied.txt").exists());

    // Allowed for the session: the same command is not asked the second time.
    live.proc
        .send_turn("MOCK_TOOL_CMD<<touch session.txt>>")
        .await
        .unwrap();
    let ask = live.until_ask_or_end().await.expect("asked");
    live.proc
        .answer(&ask.id, &Answer::Decision(Decision::AllowSession))
        .await
        .unwrap();
    live.turn_end().await;
    std::fs::remove_file(live.file("session.txt")).unwrap();
    live.proc
        .send_turn("MOCK_TOOL_CMD<<touch session.txt>>")
        .await
        .unwrap();
    let again = live.until_ask_or_end().await;
    assert!(again.is_err(), "not asked again: {again:?}");
    assert!(live.file("session.txt").exists());

    // The same warm process remembers the earlier turns.
    live.proc.send_turn("Say hello").await.unwrap();
    let done = live.turn_end().await;
    assert!(!text(&done).contains("prior_assistant_turns=0"), "{done:?}");
    assert_eq!(live.proc.pgid(), pid, "one process for every turn");

    // An interrupt ends the running turn; the process takes the next one.
    live.proc.send_turn("MOCK_SLOW").await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    live.proc.interrupt().await.unwrap();
    let done = live.turn_end().await;
    assert!(
        matches!(
            done,
            Outcome::Failed {
                kind: FailureKind::Cancelled,
                ..
            }
        ),
        "{done:?}"
    );
    live.proc.send_turn("Say hello again").await.unwrap();
    let done = live.turn_end().await;
    assert!(text(&done).contains("Hello from mock-llm"), "{done:?}");

    let root = live.root.path().to_path_buf();
    live.proc.shutdown().await;
    wait_no_processes(&root, Duration::from_secs(10)).await;
    assert!(processes_of(&root).is_empty());
}
