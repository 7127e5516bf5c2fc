//! Foundation figures (prints, asserts nothing): idle memory of the supervisor
//! plus one agent, time from start to all agents registered, and bus round trips
//! routed through the supervisor to an agent.
//!
//! Run: `cargo bench --bench foundation`.

use ductor::ipc::BusClient;
use ductor::ipc::message::{AgentStatus, Body, PeerRole, Ping};
use ductor::paths::Home;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

fn write_home(root: &Path, subs: usize) {
    std::fs::create_dir_all(root.join("config")).unwrap();
    let cfg = serde_json::json!({
        "telegram_token": "100000001:AAtesttokentesttokentesttokentestt",
        "allowed_user_ids": [1],
        "telegram_api_url": "http://127.0.0.1:9",
    });
    std::fs::write(root.join("config/config.json"), cfg.to_string()).unwrap();
    let agents: Vec<_> = (0..subs)
        .map(|i| serde_json::json!({"name": format!("sub{i}"), "telegram_token": format!("10000001{i}:AAtesttokentesttokentesttokentestt"), "allowed_user_ids": [1]}))
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

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let bin = env!("CARGO_BIN_EXE_ductor");
    for (label, subs) in [("main only", 0usize), ("main + 2 sub-agents", 2)] {
        let dir = tempfile::Builder::new()
            .prefix("dbench")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap();
        write_home(dir.path(), subs);
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
        println!(
            "[{label}] start → all {} agent(s) registered: {:.1} ms",
            subs + 1,
            start_to_registered.as_secs_f64() * 1e3
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
