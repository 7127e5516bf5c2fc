//! Foundation figures (prints, asserts nothing), with a real `ductor` whose agents
//! poll the fake Bot API over loopback: time from start to all agents registered
//! and to every bot's first `getUpdates`, idle memory of the supervisor plus one
//! agent while it long-polls, and bus round trips routed through the supervisor
//! to an agent.
//!
//! Run: `cargo bench --bench foundation`.

#[path = "../tests/support/mod.rs"]
#[allow(dead_code, unused_imports, missing_docs, clippy::all, clippy::pedantic)]
mod support;

use ductor::ipc::BusClient;
use ductor::ipc::message::{AgentStatus, Body, PeerRole, Ping};
use ductor::paths::Home;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::daemon::token;
use support::fake_telegram::FakeTelegram;

fn rss_kb(pid: u32) -> (u64, u64) {
    let field = |file: &str, key: &str| {
        std::fs::read_to_string(format!("/proc/{pid}/{file}"))
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0)
    };
    (field("status", "VmRSS:"), field("smaps_rollup", "Pss:"))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Writes a home with a main agent and `subs` sub-agents, each a bot of `tg`.
fn write_home(root: &Path, subs: usize, tg: &FakeTelegram) {
    std::fs::create_dir_all(root.join("config")).unwrap();
    let main = token(100_000_001);
    tg.add_bot(&main, "bench_bot");
    let cfg = serde_json::json!({
        "telegram_token": main,
        "allowed_user_ids": [1],
        "telegram_api_url": tg.api_url(),
    });
    std::fs::write(root.join("config/config.json"), cfg.to_string()).unwrap();
    let agents: Vec<_> = (0..subs)
        .map(|i| {
            let t = token(100_000_002 + i as u64);
            tg.add_bot(&t, &format!("sub{i}_bot"));
            serde_json::json!({"name": format!("sub{i}"), "telegram_token": t, "allowed_user_ids": [1]})
        })
        .collect();
    std::fs::write(
        root.join("agents.json"),
        serde_json::Value::from(agents).to_string(),
    )
    .unwrap();
}

async fn wait_all_running(home: &Home, n: usize) -> Duration {
    let start = Instant::now();
    loop {
        if let Ok(h) = ductor::cli::status::fetch_health(home).await
            && h.agents.len() == n
            && h.agents.iter().all(|a| a.status == AgentStatus::Running)
        {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "agents did not start"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Waits until each of `bots` bots called `getUpdates`; the time since `t0`.
async fn wait_all_polling(tg: &FakeTelegram, bots: usize, t0: Instant) -> Duration {
    tg.wait_until(Duration::from_secs(20), |w| {
        let mut polling: Vec<_> = w
            .calls_of("getUpdates")
            .into_iter()
            .filter_map(|c| c.bot)
            .collect();
        polling.sort_unstable();
        polling.dedup();
        (polling.len() == bots).then_some(())
    })
    .await;
    t0.elapsed()
}

#[tokio::main]
async fn main() {
    let bin = env!("CARGO_BIN_EXE_ductor");
    for (label, subs) in [("main only", 0usize), ("main + 2 sub-agents", 2)] {
        let dir = tempfile::Builder::new()
            .prefix("dbench")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap();
        let tg = FakeTelegram::start().await;
        write_home(dir.path(), subs, &tg);
        let home = Home::new(dir.path());
        let t0 = Instant::now();
        let mut child = Command::new(bin)
            .arg("--home")
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let _ = wait_all_running(&home, subs + 1).await;
        let start_to_registered = t0.elapsed();
        let start_to_polling = wait_all_polling(&tg, subs + 1, t0).await;
        println!(
            "[{label}] start → all {} agent(s) registered: {:.1} ms; → every bot's first getUpdates: {:.1} ms",
            subs + 1,
            start_to_registered.as_secs_f64() * 1e3,
            start_to_polling.as_secs_f64() * 1e3
        );
        if subs == 0 {
            tokio::time::sleep(Duration::from_secs(2)).await;
            let h = ductor::cli::status::fetch_health(&home).await.unwrap();
            let agent = h.agents[0].pid.unwrap();
            let (s_rss, s_pss) = rss_kb(child.id());
            let (a_rss, a_pss) = rss_kb(agent);
            println!(
                "[{label}] idle RSS: supervisor {:.1} MB + agent {:.1} MB = {:.1} MB (PSS {:.1} MB)",
                s_rss as f64 / 1024.0,
                a_rss as f64 / 1024.0,
                (s_rss + a_rss) as f64 / 1024.0,
                (s_pss + a_pss) as f64 / 1024.0
            );
            let (client, _inbox) = BusClient::connect(&home.bus_socket(), PeerRole::Client, None)
                .await
                .unwrap();
            for _ in 0..200 {
                client
                    .request(
                        Some("main"),
                        Body::Ping(Ping::default()),
                        Duration::from_secs(2),
                    )
                    .await
                    .unwrap();
            }
            let mut samples = Vec::with_capacity(5000);
            for _ in 0..5000 {
                let t = Instant::now();
                client
                    .request(
                        Some("main"),
                        Body::Ping(Ping {
                            payload: "x".into(),
                        }),
                        Duration::from_secs(2),
                    )
                    .await
                    .unwrap();
                samples.push(t.elapsed());
            }
            samples.sort();
            println!(
                "[{label}] bus round trip peer → supervisor → agent → back: p50 {:.0} µs, p99 {:.0} µs (5000 pings)",
                percentile(&samples, 0.50).as_secs_f64() * 1e6,
                percentile(&samples, 0.99).as_secs_f64() * 1e6
            );
        }
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        let _ = child.wait();
    }
}
