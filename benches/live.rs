//! Live CLI figures (prints, asserts nothing), against the mock model API: user message
//! → first visible text with a warm live process (the same process, its previous turn
//! done) versus a cold one-shot run of the same CLI, and the RSS of an idle live
//! process (the CLI's whole process group).
//!
//! Run: `cargo bench --bench live` (needs `.ci/install-clis`).

#[path = "../tests/support/mod.rs"]
mod support;

use ductor::provider::ProviderKind;
use ductor::provider::event::Event;
use ductor::provider::live::driver::LiveProcess;
use ductor::provider::live::{LiveCodec, LiveEvent, StartSpec};
use ductor::provider::live::{claude, codex, gemini};
use ductor::provider::parse::parser_for;
use std::time::{Duration, Instant};
use support::clis::{self, CliEnv};
use support::mock_llm::MockLlm;
use tokio::io::AsyncBufReadExt;

const ROUNDS: usize = 10;

fn is_text(ev: &Event) -> bool {
    matches!(ev, Event::TextDelta { .. } | Event::Text { .. })
}

/// A cold one-shot run: spawn → first text event.
async fn cold(env: &CliEnv, provider: ProviderKind, args: &[&str]) -> Duration {
    let mut cmd = env.command(provider.binary(), &env.workspace());
    cmd.args(args);
    let start = Instant::now();
    let mut child = cmd.spawn().expect("the CLI starts");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut parser = parser_for(provider);
    let mut events = Vec::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        parser.line(&line, &mut events);
        if events.iter().any(is_text) {
            let took = start.elapsed();
            let _ = child.kill().await;
            return took;
        }
    }
    panic!("{provider}: no text in a cold run");
}

/// A turn on a warm process: send → first text event; then waits for the turn's end.
async fn warm_turn(proc: &mut LiveProcess, prompt: &str) -> Duration {
    let start = Instant::now();
    proc.send_turn(prompt).await.unwrap();
    let mut first = None;
    loop {
        match proc.next().await.expect("the live CLI stays up") {
            LiveEvent::Event(ev) if first.is_none() && is_text(&ev) => {
                first = Some(start.elapsed());
            }
            LiveEvent::TurnEnded(_) => return first.expect("the turn had text"),
            _ => {}
        }
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// How one CLI is run cold and live.
struct Setup {
    provider: ProviderKind,
    cold_args: Vec<&'static str>,
    live_args: Vec<&'static str>,
    model: Option<&'static str>,
    codec: fn() -> Box<dyn LiveCodec>,
}

async fn measure(setup: Setup) {
    let Setup {
        provider,
        cold_args,
        live_args,
        model,
        codec,
    } = setup;
    let mock = MockLlm::start().await;
    let root = clis::test_dir("bench-live");
    let env = CliEnv::new(root.path(), &mock.base_url());
    let mut colds = Vec::new();
    for _ in 0..ROUNDS {
        colds.push(cold(&env, provider, &cold_args).await);
    }
    let mut cmd = env.command(provider.binary(), &env.workspace());
    cmd.args(&live_args);
    let spec = StartSpec {
        cwd: env.workspace(),
        resume: None,
        model: model.map(str::to_owned),
    };
    let mut proc = LiveProcess::spawn(cmd, codec(), &spec).await.unwrap();
    let first = warm_turn(&mut proc, "Say hello").await;
    let mut warms = Vec::new();
    for i in 0..ROUNDS {
        warms.push(warm_turn(&mut proc, &format!("Say hello {i}")).await);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss = proc.rss_kib();
    proc.shutdown().await;
    let (c, w) = (median(colds), median(warms));
    println!(
        "{provider}: first text cold one-shot {:.0} ms, live process first turn {:.0} ms, \
         warm turn {:.0} ms ({:.2} × cold; median of {ROUNDS}); idle live process RSS {:.1} MiB",
        c.as_secs_f64() * 1e3,
        first.as_secs_f64() * 1e3,
        w.as_secs_f64() * 1e3,
        w.as_secs_f64() / c.as_secs_f64(),
        rss as f64 / 1024.0
    );
}

const GEMINI_MODEL: &str = "gemini-3.8-flash";

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut live_claude: Vec<&str> = claude::LIVE_ARGS.to_vec();
    live_claude.extend(["--permission-mode", "default"]);
    let setups = [
        Setup {
            provider: ProviderKind::Claude,
            cold_args: vec![
                "-p",
                "--output-format",
                "stream-json",
                "--verbose",
                "--include-partial-messages",
                "Say hello",
            ],
            live_args: live_claude,
            model: None,
            codec: || Box::new(claude::ClaudeCodec::default()),
        },
        Setup {
            provider: ProviderKind::Codex,
            cold_args: vec![
                "exec",
                "--json",
                "--skip-git-repo-check",
                "--dangerously-bypass-approvals-and-sandbox",
                "Say hello",
            ],
            live_args: codex::LIVE_ARGS.to_vec(),
            model: None,
            codec: || Box::new(codex::CodexCodec::new(codex::Policy::default())),
        },
        Setup {
            provider: ProviderKind::Gemini,
            cold_args: vec![
                "-p",
                "Say hello",
                "--output-format",
                "stream-json",
                "-m",
                GEMINI_MODEL,
            ],
            live_args: gemini::LIVE_ARGS.to_vec(),
            model: Some(GEMINI_MODEL),
            codec: || Box::new(gemini::GeminiLive::new()),
        },
    ];
    rt.block_on(async {
        for setup in setups {
            measure(setup).await;
        }
    });
}
