//! Provider figures (prints, asserts nothing): claude stream parser throughput on a
//! large synthetic stream, and runner overhead from a CLI's first stdout byte to
//! the first event delivered.
//!
//! Run: `cargo bench --bench providers`.

use ductor::provider::ProviderKind;
use ductor::provider::command::Invocation;
use ductor::provider::parse::parser_for;
use ductor::provider::runner::{self, RunRequest, TimeoutPolicy};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cli-streams")
}

fn parser_throughput() {
    let mut sample = String::new();
    for case in ["claude-tool", "claude-plain", "claude-tool-default-perms"] {
        sample
            .push_str(&std::fs::read_to_string(fixtures().join(format!("{case}.jsonl"))).unwrap());
    }
    let long = "Lorem ipsum dolor sit amet, \\\"quoted\\\" and\\nnew lines. ".repeat(200);
    sample
        .push_str(r#"{"type":"assistant","message":{"id":"m","content":[{"type":"text","text":""#);
    sample.push_str(&long);
    sample.push_str("\"}]},\"parent_tool_use_id\":null,\"session_id\":\"s\"}\n");
    let lines: Vec<&str> = sample.lines().collect();
    let rounds = (256 << 20) / sample.len();
    let mut events = Vec::with_capacity(1024);
    let start = Instant::now();
    let mut parser = parser_for(ProviderKind::Claude);
    let mut n_events = 0;
    for _ in 0..rounds {
        for line in &lines {
            parser.line(line, &mut events);
        }
        n_events += events.len();
        events.clear();
    }
    let secs = start.elapsed().as_secs_f64();
    let mb = (rounds * sample.len()) as f64 / 1e6;
    println!(
        "claude parser: {mb:.0} MB ({n_events} events) in {secs:.2} s = {:.0} MB/s",
        mb / secs
    );
}

fn monotonic_ns() -> u128 {
    let ts = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).unwrap();
    ts.tv_sec() as u128 * 1_000_000_000 + ts.tv_nsec() as u128
}

async fn runner_overhead() {
    let dir = tempfile::tempdir().unwrap();
    // This bench binary is its own fake CLI (see `main`): a native program whose
    // first line carries the CLOCK_MONOTONIC time at which it was written.
    let fake = std::env::current_exe().unwrap();
    let reaper = Path::new(env!("CARGO_BIN_EXE_ductor-agent")).to_path_buf();
    let mut samples = Vec::new();
    let mut spawn_to_end = Vec::new();
    for _ in 0..500 {
        let req = RunRequest {
            provider: ProviderKind::Claude,
            invocation: Invocation {
                program: fake.display().to_string(),
                args: vec![],
                env: vec![],
                temp_files: vec![],
                stdin: None,
            },
            cwd: dir.path().to_path_buf(),
            env: std::env::vars_os()
                .chain([("DUCTOR_BENCH_FAKE_CLI".into(), "1".into())])
                .collect(),
            timeout: TimeoutPolicy::fixed(Duration::from_secs(30)),
            reaper: Some(reaper.clone()),
            shell_status: true,
            signals: None,
        };
        let (tx, mut rx) = mpsc::channel(16);
        let t0 = Instant::now();
        let run = tokio::spawn(runner::run(req, tx, CancellationToken::new()));
        if let Some(ductor::provider::event::Event::SessionStarted { session_id }) = rx.recv().await
        {
            let now = monotonic_ns();
            let written: u128 = session_id.parse().unwrap();
            samples.push(Duration::from_nanos((now - written) as u64));
        }
        while rx.recv().await.is_some() {}
        run.await.unwrap();
        spawn_to_end.push(t0.elapsed());
    }
    samples.sort();
    spawn_to_end.sort();
    let pct = |v: &[Duration], p: f64| v[((v.len() - 1) as f64 * p) as usize];
    println!(
        "runner overhead, CLI writes first line → event delivered: p50 {:.0} µs, p90 {:.0} µs, p99 {:.0} µs, max {:.0} µs ({} runs)",
        pct(&samples, 0.5).as_secs_f64() * 1e6,
        pct(&samples, 0.9).as_secs_f64() * 1e6,
        pct(&samples, 0.99).as_secs_f64() * 1e6,
        samples.last().unwrap().as_secs_f64() * 1e6,
        samples.len()
    );
    println!(
        "whole run of a trivial CLI through the reaper (spawn → outcome): p50 {:.1} ms, p99 {:.1} ms",
        pct(&spawn_to_end, 0.5).as_secs_f64() * 1e3,
        pct(&spawn_to_end, 0.99).as_secs_f64() * 1e3
    );
}

fn fake_cli() {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let line = format!(
        "{{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"{}\"}}\n",
        monotonic_ns()
    );
    out.write_all(line.as_bytes()).unwrap();
    out.flush().unwrap();
    out.write_all(b"{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"result\":\"ok\",\"session_id\":\"x\"}\n").unwrap();
}

fn main() {
    if std::env::var_os("DUCTOR_BENCH_FAKE_CLI").is_some() {
        fake_cli();
        return;
    }
    parser_throughput();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(runner_overhead());
}
