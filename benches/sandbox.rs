//! Sandbox figures (prints, asserts nothing): the per-turn overhead of each backend
//! against the host with an instant CLI (launch → first event, launch → outcome),
//! and the first turn's cost when the container must be created.
//!
//! The instant CLI is a shell script named `claude` that reads its prompt and prints
//! an init and a result line. It lives in `<tmp>/provider-clis/node_modules/.bin`,
//! mounted at `/mnt/provider-clis` in the test image (whose `PATH` looks there) and
//! put first on `PATH` for the host and bwrap. Docker runs as a private daemon, podman
//! with a private store (the test suite's support code); each backend is measured in
//! a child process of this bench with the engine's environment.
//!
//! Run: `cargo bench --bench sandbox` (needs `.ci/install-sandbox` and
//! `.ci/install-clis`).

#[path = "../tests/support/mod.rs"]
mod support;

use ductor::address::Address;
use ductor::config::{AgentConfig, LiveConfig};
use ductor::exec::{Launch, Launcher, TimeoutKind, request};
use ductor::paths::Home;
use ductor::provider::ProviderKind;
use ductor::provider::command::TurnSpec;
use ductor::provider::event::Outcome;
use ductor::sandbox::SandboxLauncher;
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};
use support::sandbox::{self, Engine};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const TURNS: usize = 30;
const IMAGE: &str = "ductor-sandbox-test";

const INSTANT_CLI: &str = "#!/bin/sh\ncat > /dev/null\n\
echo '{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"bench\"}'\n\
echo '{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"result\":\"ok\",\"session_id\":\"bench\"}'\n";

/// One turn: (launch → first event, launch → outcome).
async fn turn(
    launcher: &SandboxLauncher,
    home: &Home,
    config: &AgentConfig,
) -> (Duration, Duration) {
    let paths = home.main();
    let job = Launch {
        provider: ProviderKind::Claude,
        spec: TurnSpec {
            prompt: "hi".into(),
            model: None,
            effort: None,
            resume: None,
            append_system_prompt: None,
        },
        cwd: paths.workspace(),
        identity: request::identity(config, &paths, &Address::new("tg", 42, None)),
        timeout: TimeoutKind::Interactive,
        extra_args: Vec::new(),
        live: None,
    };
    let (tx, mut rx) = mpsc::channel(64);
    let t0 = Instant::now();
    let run = tokio::spawn(launcher.launch(job, tx, CancellationToken::new()));
    let first = rx.recv().await.map(|_| t0.elapsed());
    while rx.recv().await.is_some() {}
    let outcome = run.await.unwrap();
    let total = t0.elapsed();
    if let Outcome::Failed { detail, kind, .. } = &outcome {
        panic!("the turn failed ({kind:?}): {detail}");
    }
    (first.unwrap_or(total), total)
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    v[((v.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e3
}

/// The child: `backend`'s figures.
async fn measure(backend: &str, dir: &Path) {
    let home = Home::new(dir.join(format!("home-{backend}")));
    ductor::home::seed_agent_home(&home.main()).unwrap();
    let config = AgentConfig {
        sandbox: json!({
            "backend": backend, "image": IMAGE, "container": format!("bench-{backend}"),
            "auto_build": false, "network": "host",
            "mounts": [dir.join("provider-clis")],
        }),
        ..AgentConfig::default()
    };
    let launcher = SandboxLauncher::new(home.main(), LiveConfig::new(config.clone()));
    let (first_event, first_total) = turn(&launcher, &home, &config).await;
    let mut firsts = Vec::new();
    let mut totals = Vec::new();
    for _ in 0..TURNS {
        let (f, t) = turn(&launcher, &home, &config).await;
        firsts.push(f);
        totals.push(t);
    }
    let label = if backend == "none" { "host" } else { backend };
    println!(
        "{label:>6}: launch → first event p50 {:.1} ms, p90 {:.1} ms; launch → outcome p50 {:.1} ms ({TURNS} turns); first turn {:.0} ms to first event, {:.0} ms in all{}",
        pct(&mut firsts, 0.5),
        pct(&mut firsts, 0.9),
        pct(&mut totals, 0.5),
        first_event.as_secs_f64() * 1e3,
        first_total.as_secs_f64() * 1e3,
        if matches!(backend, "docker" | "podman") {
            " (container created)"
        } else {
            ""
        }
    );
}

fn child(backend: &str, dir: &Path, engine_env: &[(String, String)]) {
    let bin = dir.join("provider-clis/node_modules/.bin");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .env("DUCTOR_BENCH_BACKEND", backend)
        .env("DUCTOR_BENCH_DIR", dir)
        .env("PATH", path)
        .envs(engine_env.iter().map(|(k, v)| (k, v)))
        .status()
        .unwrap();
    assert!(status.success(), "{backend} bench failed");
}

fn main() {
    if let (Ok(backend), Ok(dir)) = (
        std::env::var("DUCTOR_BENCH_BACKEND"),
        std::env::var("DUCTOR_BENCH_DIR"),
    ) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(measure(&backend, Path::new(&dir)));
        return;
    }
    let dir = tempfile::Builder::new()
        .prefix("sbb")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let bin = dir.path().join("provider-clis/node_modules/.bin");
    std::fs::create_dir_all(&bin).unwrap();
    let cli = bin.join("claude");
    std::fs::write(&cli, INSTANT_CLI).unwrap();
    std::fs::set_permissions(&cli, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    child("none", dir.path(), &[]);
    child("bwrap", dir.path(), &[]);
    let docker = sandbox::docker::PrivateDocker::start();
    sandbox::build_test_image(&docker, IMAGE);
    child("docker", dir.path(), &docker.env());
    let _ = docker.output(&["rm", "-f", "bench-docker"]);
    drop(docker);
    let podman = sandbox::podman::Podman::new();
    sandbox::build_test_image(&podman, IMAGE);
    child("podman", dir.path(), &podman.env());
    let _ = podman.output(&["rm", "-f", "bench-podman"]);
}
