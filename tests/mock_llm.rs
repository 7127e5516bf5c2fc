//! The genuine `claude`, `codex` and `gemini` CLIs run end to end against the project's mock
//! model API (`support::mock_llm`) in the offline environment of `support::clis`: a plain
//! answer (gemini also through its model router), a real shell tool call, a resumed session,
//! HTTP errors, a broken stream, cancellation by signal mid-stream, and the scripting features
//! (`MOCK_LONG`, `MOCK_ECHO`, custom scripts). Each CLI's cases run concurrently (at most
//! `clis::run::MAX_CONCURRENT` CLI processes at a time); each case has its own mock and state dir.
//!
//! Needs the pinned CLIs (`.ci/install-clis`, or `DUCTOR_TEST_CLI_DIR`); fails without them.

mod support;

use std::os::unix::process::ExitStatusExt as _;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use support::clis::run::{CliOutput, CliRun};
use support::clis::{self, CliEnv};
use support::mock_llm::{Api, MockLlm, RecordedRequest, Reply};

/// Longest a single CLI run may take before the test fails.
const RUN_TIMEOUT: Duration = Duration::from_secs(90);
/// How soon a CLI must exit after the cancelling signal.
const CANCEL_GRACE: Duration = Duration::from_secs(5);
/// Gemini model that skips the router (`auto` would first ask `gemini-3.5-flash-lite`).
const GEMINI_MODEL: &str = "gemini-3.8-flash";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_runs_offline_against_the_mock() {
    suite(Cli::Claude).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_runs_offline_against_the_mock() {
    suite(Cli::Codex).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_runs_offline_against_the_mock() {
    suite(Cli::Gemini).await;
}

/// A missing CLI must fail loudly, naming the installer.
#[test]
fn a_missing_cli_panics_with_the_installer_hint() {
    let panic = std::panic::catch_unwind(|| clis::cli_path("no-such-cli")).expect_err("must panic");
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains(".ci/install-clis"), "{message}");
}

/// Endpoints the mock does not know are answered 404, logged and kept for inspection.
#[tokio::test]
async fn unknown_endpoints_get_404_and_are_recorded() {
    let mock = MockLlm::start().await;
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", mock.port()))
        .await
        .expect("connect to the mock");
    let request = "GET /v1/no-such-thing?x=1 HTTP/1.1\r\nHost: mock\r\nConnection: close\r\n\r\n";
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    assert!(response.starts_with("HTTP/1.1 404"), "{response}");
    assert!(
        response.contains("mock-llm: unknown endpoint GET /v1/no-such-thing"),
        "{response}"
    );
    let others = mock.other_requests();
    assert_eq!(others.len(), 1);
    assert_eq!(others[0].path, "/v1/no-such-thing?x=1");
    assert_eq!(others[0].scenario, "unknown");
    assert!(mock.requests().is_empty());
}

async fn suite(cli: Cli) {
    tokio::join!(
        plain(cli),
        tool(cli),
        resume(cli),
        http_error(cli, 401),
        http_error(cli, 500),
        http_error(cli, 429),
        broken_stream(cli),
        cancel_mid_stream(cli),
        scripting(cli),
    );
}

/// A prompt without keyword gets the default answer, with the prompt's marker and no history.
async fn plain(cli: Cli) {
    let case = Case::new(cli).await;
    let prompt = format!("Say hello to the mock, plain case of {}", cli.name());
    // gemini: leave the model on `auto` here so its router request is exercised too.
    let args = match cli {
        Cli::Gemini => strings(&[
            "-p",
            &prompt,
            "--output-format",
            "stream-json",
            "--approval-mode",
            "yolo",
        ]),
        _ => cli.args(&prompt),
    };
    let run = case.run(&args).await;
    assert!(cli.succeeded(&run), "{run}");
    let answer = cli.answer(&run.lines);
    assert!(answer.contains("prior_assistant_turns=0"), "{run}");
    assert!(
        answer.contains(&format!("You said: \"{}", &prompt[..40])),
        "{run}"
    );
    assert!(cli.session_id(&run.lines).is_some(), "no session id: {run}");

    let requests = case.mock.requests();
    let main: Vec<&RecordedRequest> = requests.iter().filter(|r| !r.wants_json).collect();
    assert_eq!(main.len(), 1, "{}", case.mock.summary());
    let request = main[0];
    assert_eq!(request.scenario, "default");
    assert_eq!(
        request.last_user_text, prompt,
        "CLI context blocks must not count as prompt"
    );
    assert!(request.stream);
    assert!(!request.system.is_empty(), "system prompt recorded");
    let (api, key_header, key) = match cli {
        Cli::Claude => (Api::Anthropic, "x-api-key", "mock-anthropic-key"),
        Cli::Codex => (Api::OpenAi, "authorization", "Bearer mock-openai-key"),
        Cli::Gemini => (Api::Gemini, "x-goog-api-key", "mock-gemini-key"),
    };
    assert_eq!(request.api, api);
    assert_eq!(request.header(key_header), Some(key));
    if cli == Cli::Gemini {
        let router = requests
            .iter()
            .find(|r| r.wants_json)
            .expect("gemini's router request");
        assert!(router.path.ends_with(":generateContent"), "{}", router.path);
        assert_eq!(
            request.model.as_deref(),
            Some(GEMINI_MODEL),
            "a low score routes to flash"
        );
    } else {
        assert_eq!(request.session_id(), cli.session_id(&run.lines).as_deref());
    }
    let unknown: Vec<_> = case
        .mock
        .other_requests()
        .into_iter()
        .filter(|r| r.scenario == "unknown")
        .collect();
    assert!(
        unknown.is_empty(),
        "endpoints the mock does not know: {unknown:?}"
    );
}

/// `MOCK_TOOL`: the CLI really runs its shell tool and sends the output back.
async fn tool(cli: Cli) {
    let case = Case::new(cli).await;
    let run = case.run(&cli.args("MOCK_TOOL: run a shell command")).await;
    assert!(cli.succeeded(&run), "{run}");
    let tool_output = match cli {
        Cli::Claude => run
            .of_type("user")
            .iter()
            .map(|l| l["tool_use_result"]["stdout"].to_string())
            .collect(),
        Cli::Codex => run
            .of_type("item.completed")
            .iter()
            .filter(|l| l["item"]["type"] == "command_execution")
            .map(|l| l["item"]["aggregated_output"].to_string())
            .collect(),
        Cli::Gemini => run
            .of_type("tool_result")
            .iter()
            .map(|l| l["output"].to_string())
            .collect::<String>(),
    };
    assert!(
        tool_output.contains("mock-tool-output"),
        "tool did not run: {run}"
    );
    let answer = cli.answer(&run.lines);
    assert!(
        answer.contains("The tool ran. Its output was:") && answer.contains("mock-tool-output"),
        "{run}"
    );

    let requests = case.mock.requests();
    assert_eq!(requests.len(), 2, "{}", case.mock.summary());
    assert!(requests[0].tool_results.is_empty());
    assert_eq!(requests[1].tool_results.len(), 1);
    assert!(requests[1].tool_results[0].contains("mock-tool-output"));
    assert_eq!(requests[1].prior_assistant_turns, 1);
    let shell_tool = match cli {
        Cli::Claude => "Bash",
        Cli::Codex => "exec_command",
        Cli::Gemini => "run_shell_command",
    };
    assert!(
        requests[0].tool_names.iter().any(|t| t == shell_tool),
        "{:?}",
        requests[0].tool_names
    );
}

/// The second turn, resumed by session id, carries the first turn's history.
async fn resume(cli: Cli) {
    let case = Case::new(cli).await;
    let first = case.run(&cli.args("Remember the word apricot.")).await;
    assert!(cli.succeeded(&first), "{first}");
    let session = cli.session_id(&first.lines).expect("session id of turn 1");
    let second = case
        .run(&cli.resume_args(&session, "Which word did I ask you to remember?"))
        .await;
    assert!(cli.succeeded(&second), "{second}");
    assert_eq!(
        cli.session_id(&second.lines).as_deref(),
        Some(session.as_str()),
        "{second}"
    );
    assert!(
        cli.answer(&second.lines)
            .contains("prior_assistant_turns=1"),
        "{second}"
    );
    let requests = case.mock.requests();
    let last = requests.last().expect("requests");
    assert_eq!(last.last_user_text, "Which word did I ask you to remember?");
    assert_eq!(last.prior_assistant_turns, 1);
}

/// `MOCK_ERROR_401` / `_429` / `_500`: the run ends with the CLI's error result, fast.
async fn http_error(cli: Cli, status: u16) {
    let case = Case::new(cli).await;
    let keyword = format!("MOCK_ERROR_{status}");
    let run = case.run(&cli.args(&keyword)).await;
    assert!(!cli.succeeded(&run), "{run}");
    let mock_message = match status {
        401 => "mock-llm: invalid API key",
        429 => "mock-llm: rate limited",
        _ => "mock-llm: internal server error",
    };
    match cli {
        Cli::Claude => {
            let result = run.last_of_type("result");
            assert_eq!(result["is_error"], true, "{run}");
            assert_eq!(result["api_error_status"], status, "{run}");
            assert!(cli.answer(&run.lines).contains(mock_message), "{run}");
            assert_eq!(run.status.code(), Some(1), "{run}");
        }
        Cli::Codex => {
            // codex keeps the server's message for 401 only: 429 becomes "exceeded retry
            // limit, last status: 429 …", 500 a generic "high demand" notice.
            let failed = run.last_of_type("turn.failed")["error"]["message"].to_string();
            let expected = match status {
                401 => mock_message,
                429 => "429 Too Many Requests",
                _ => "high demand",
            };
            assert!(failed.contains(expected), "{run}");
            assert_eq!(run.status.code(), Some(1), "{run}");
        }
        Cli::Gemini => {
            let result = run.last_of_type("result");
            assert_eq!(result["status"], "error", "{run}");
            assert!(
                result["error"]["message"]
                    .to_string()
                    .contains(mock_message),
                "{run}"
            );
            // gemini exits with the HTTP status, truncated to 8 bits.
            assert_eq!(run.status.code(), Some(i32::from(status & 0xff)), "{run}");
        }
    }
    let requests = case.mock.requests();
    assert!(
        requests.iter().all(|r| r.scenario == keyword),
        "{}",
        case.mock.summary()
    );
    let retries_ok = (1..=4).contains(&requests.len());
    assert!(retries_ok, "retries must stay low: {}", case.mock.summary());
    assert!(
        run.elapsed < Duration::from_secs(30),
        "took {:?}",
        run.elapsed
    );
}

/// `MOCK_BROKEN`: claude recovers without streaming; codex and gemini report the broken stream.
async fn broken_stream(cli: Cli) {
    let case = Case::new(cli).await;
    let run = case.run(&cli.args("MOCK_BROKEN stream please")).await;
    match cli {
        Cli::Claude => {
            assert!(cli.succeeded(&run), "{run}");
            assert!(
                cli.answer(&run.lines).contains("prior_assistant_turns=0"),
                "{run}"
            );
            let requests = case.mock.requests();
            assert!(
                requests.iter().any(|r| !r.stream),
                "no non-streaming retry: {}",
                case.mock.summary()
            );
        }
        Cli::Codex => {
            let failed = run.last_of_type("turn.failed");
            assert!(
                failed["error"]["message"]
                    .to_string()
                    .contains("mock-llm: stream broke"),
                "{run}"
            );
        }
        Cli::Gemini => {
            assert_eq!(run.last_of_type("result")["status"], "error", "{run}");
            let errors = run.of_type("error");
            assert!(
                errors
                    .iter()
                    .any(|e| e["message"].to_string().contains("finish reason")),
                "{run}"
            );
        }
    }
}

/// `MOCK_SLOW`, cancelled mid-stream the way an orchestrator would: claude SIGINT, codex
/// SIGTERM, gemini SIGTERM to its process group. The CLI exits quickly and the mock sees the
/// stream dropped.
async fn cancel_mid_stream(cli: Cli) {
    let case = Case::new(cli).await;
    let running = case
        .spawn(&cli.args("MOCK_SLOW please stream slowly"))
        .await;
    case.mock.wait_for_requests(1, RUN_TIMEOUT).await;
    match cli {
        // codex --json shows no text deltas: give the stream a moment instead.
        Cli::Codex => tokio::time::sleep(Duration::from_millis(600)).await,
        _ => {
            running
                .wait_for_line(|l| l.to_string().contains("slow-chunk-4 "), RUN_TIMEOUT)
                .await;
        }
    }
    let (signal, group) = match cli {
        Cli::Claude => (Signal::SIGINT, false),
        Cli::Codex => (Signal::SIGTERM, false),
        Cli::Gemini => (Signal::SIGTERM, true),
    };
    let sent = Instant::now();
    running.signal(signal, group);
    let run = running.finish(CANCEL_GRACE).await;
    let took = sent.elapsed();
    assert!(took < CANCEL_GRACE, "exit took {took:?}: {run}");
    match cli {
        Cli::Claude => {
            // Usually a `result` error_during_execution / aborted_streaming; but now and then
            // (SIGINT with its default disposition, under load) claude exits 0 with no more
            // output at all.
            assert_eq!(run.status.code(), Some(0), "{run}");
            if let Some(result) = run.of_type("result").last() {
                assert_eq!(result["subtype"], "error_during_execution", "{run}");
                assert_eq!(result["terminal_reason"], "aborted_streaming", "{run}");
            }
        }
        Cli::Codex => {
            let ended =
                run.status.signal() == Some(15) || run.status.code().is_some_and(|c| c != 0);
            assert!(ended, "{run}");
            assert!(run.of_type("turn.completed").is_empty(), "{run}");
        }
        Cli::Gemini => assert!(run.of_type("result").is_empty(), "{run}"),
    }
    let disconnects = case.mock.wait_for_disconnects(1, CANCEL_GRACE).await;
    assert_eq!(disconnects[0].seq, case.mock.requests()[0].seq);
}

/// One run per CLI exercising a scripting feature: claude `MOCK_LONG`, codex `MOCK_ECHO`,
/// gemini a custom script with `MOCK_TOOL_CMD`-style follow-up.
async fn scripting(cli: Cli) {
    let case = Case::new(cli).await;
    match cli {
        Cli::Claude => {
            let run = case.run(&cli.args("MOCK_LONG<<6000>>")).await;
            assert!(cli.succeeded(&run), "{run}");
            let answer = cli.answer(&run.lines);
            assert!(answer.len() >= 6000, "{} chars", answer.len());
            assert!(
                answer.starts_with("Sentence 1 of the long mock answer. Sentence 2 "),
                "{answer}"
            );
            assert!(answer.contains(".\n\nSentence 6 "), "paragraphs: {answer}");
            let deltas = run
                .of_type("stream_event")
                .iter()
                .filter(|l| l["event"]["delta"]["type"] == "text_delta")
                .count();
            assert!(deltas > 100, "only {deltas} deltas");
        }
        Cli::Codex => {
            let prompt = "MOCK_ECHO\nline two with /some/injected/path.txt\n  and «unicode» ✓";
            let run = case.run(&cli.args(prompt)).await;
            assert!(cli.succeeded(&run), "{run}");
            assert_eq!(cli.answer(&run.lines), prompt, "{run}");
        }
        Cli::Gemini => {
            case.mock.script(
                "CUSTOM_PONG",
                Reply::text("pong from a custom script").with_tool("printf 'custom-%s\\n' 42"),
            );
            let run = case.run(&cli.args("CUSTOM_PONG please")).await;
            assert!(cli.succeeded(&run), "{run}");
            let answer = cli.answer(&run.lines);
            assert!(answer.starts_with("pong from a custom script"), "{run}");
            assert!(
                answer.contains("custom-42"),
                "tool output of the custom command: {run}"
            );
            let requests = case.mock.requests();
            assert!(
                requests.iter().all(|r| r.scenario == "CUSTOM_PONG"),
                "{}",
                case.mock.summary()
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cli {
    Claude,
    Codex,
    Gemini,
}

impl Cli {
    fn name(self) -> &'static str {
        match self {
            Self::Claude => "claude",
            Self::Codex => "codex",
            Self::Gemini => "gemini",
        }
    }

    /// Arguments for a new headless session answering `prompt`, tools allowed.
    fn args(self, prompt: &str) -> Vec<String> {
        match self {
            Self::Claude => strings(&[
                "-p",
                "--output-format",
                "stream-json",
                "--verbose",
                "--include-partial-messages",
                "--permission-mode",
                "bypassPermissions",
                prompt,
            ]),
            Self::Codex => strings(&[
                "exec",
                "--json",
                "--skip-git-repo-check",
                "--dangerously-bypass-approvals-and-sandbox",
                prompt,
            ]),
            Self::Gemini => strings(&[
                "-p",
                prompt,
                "--output-format",
                "stream-json",
                "--approval-mode",
                "yolo",
                "-m",
                GEMINI_MODEL,
            ]),
        }
    }

    /// Arguments resuming `session` with `prompt`.
    fn resume_args(self, session: &str, prompt: &str) -> Vec<String> {
        let mut args = self.args(prompt);
        match self {
            Self::Codex => {
                args.pop();
                args.extend(strings(&["resume", session, prompt]));
            }
            Self::Claude | Self::Gemini => args.extend(strings(&["--resume", session])),
        }
        args
    }

    /// Whether the run's last event says success: claude `result.is_error == false`, codex
    /// `turn.completed` and no `turn.failed`, gemini `result.status == "success"`.
    fn succeeded(self, run: &CliOutput) -> bool {
        let last = |kind: &str| run.lines.iter().rev().find(|l| l["type"] == kind);
        match self {
            Self::Claude => last("result").is_some_and(|r| r["is_error"] == false),
            Self::Codex => last("turn.completed").is_some() && last("turn.failed").is_none(),
            Self::Gemini => last("result").is_some_and(|r| r["status"] == "success"),
        }
    }

    fn session_id(self, lines: &[Value]) -> Option<String> {
        let (kind, field) = match self {
            Self::Claude => ("system", "session_id"),
            Self::Codex => ("thread.started", "thread_id"),
            Self::Gemini => ("init", "session_id"),
        };
        let line = lines.iter().find(|l| l["type"] == kind)?;
        line[field].as_str().map(str::to_owned)
    }

    /// The final answer text: claude `result.result`, codex the last `agent_message`, gemini all
    /// assistant deltas (it has no final-answer field).
    fn answer(self, lines: &[Value]) -> String {
        match self {
            Self::Claude => {
                let result = lines.iter().rev().find(|l| l["type"] == "result");
                result
                    .and_then(|r| r["result"].as_str())
                    .unwrap_or_default()
                    .to_owned()
            }
            Self::Codex => lines
                .iter()
                .rev()
                .find(|l| l["type"] == "item.completed" && l["item"]["type"] == "agent_message")
                .and_then(|l| l["item"]["text"].as_str())
                .unwrap_or_default()
                .to_owned(),
            Self::Gemini => lines
                .iter()
                .filter(|l| l["type"] == "message" && l["role"] == "assistant")
                .filter_map(|l| l["content"].as_str())
                .collect(),
        }
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|&a| a.to_owned()).collect()
}

/// One test case: its own mock and CLI state dir.
struct Case {
    cli: Cli,
    mock: MockLlm,
    env: CliEnv,
    _root: tempfile::TempDir,
}

impl Case {
    async fn new(cli: Cli) -> Self {
        let mock = MockLlm::start().await;
        let root = clis::test_dir(cli.name());
        let env = CliEnv::new(root.path(), &mock.base_url());
        Self {
            cli,
            mock,
            env,
            _root: root,
        }
    }

    async fn spawn(&self, args: &[String]) -> CliRun {
        self.env.spawn(self.cli.name(), args).await
    }

    async fn run(&self, args: &[String]) -> CliOutput {
        self.spawn(args).await.finish(RUN_TIMEOUT).await
    }
}
