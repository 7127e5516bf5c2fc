//! Automation figures (prints, asserts nothing):
//! - webhook throughput on loopback: requests/s and p99 for refused calls (401) and
//!   accepted ones (202, with a dispatcher that returns at once), one connection per
//!   call, each from its own forwarded client address so no limit interferes;
//! - the agent's CPU time while 1,000 cron jobs wait (slots a year away), against
//!   none, with the real `ductor` polling the fake Bot API.
//!
//! Run: `cargo bench --bench automation`.

#[path = "../tests/support/mod.rs"]
#[allow(dead_code, unused_imports, missing_docs, clippy::all, clippy::pedantic)]
mod support;

use ductor::secret::Secret;
use ductor::webhooks::{self, Dispatch, Done, Hook, HookStore, WebhookSettings};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::daemon::{TestHome, agent_pid, token};
use support::fake_telegram::FakeTelegram;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Debug)]
struct AtOnce;

impl Dispatch for AtOnce {
    fn dispatch(&self, _hook: Hook, _prompt: String, done: Done) {
        done.finish(None);
    }
}

async fn call(port: u16, token: &str, client: u32) -> u16 {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let body = r#"{"status":"green"}"#;
    let ip = std::net::Ipv4Addr::from(client);
    let req = format!(
        "POST /hooks/ci HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         X-Forwarded-For: {ip}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

async fn webhook_throughput() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("webhooks.json");
    let hooks = json!({"hooks": [{"id": "ci", "mode": "wake", "enabled": true,
        "prompt_template": "Build {{status}}", "auth_mode": "bearer",
        "token": "bench-token-0123456789abcdef"}]});
    std::fs::write(&path, hooks.to_string()).unwrap();
    let store = Arc::new(HookStore::open(&path));
    let listener = webhooks::bind("127.0.0.1", 0).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let settings = WebhookSettings {
        enabled: true,
        token: Secret::new("global-bench-token"),
        rate_limit_per_minute: u32::MAX / 4,
        trust_forwarded_for: true,
        ..WebhookSettings::default()
    };
    let stop = tokio_util::sync::CancellationToken::new();
    let server = webhooks::serve(
        listener,
        store,
        Arc::new(AtOnce),
        Arc::new(move || settings.clone()),
        stop.clone(),
    );
    for (label, tok, want) in [
        ("refused (401)", "wrong", 401),
        ("accepted (202)", "bench-token-0123456789abcdef", 202),
    ] {
        let n = 2000u32;
        let mut samples = Vec::with_capacity(n as usize);
        let t0 = Instant::now();
        for i in 0..n {
            let t = Instant::now();
            let got = call(port, tok, 0x0a00_0000 + i).await;
            assert_eq!(got, want, "{label}");
            samples.push(t.elapsed());
        }
        let total = t0.elapsed();
        samples.sort();
        let p99 = samples[samples.len() * 99 / 100];
        println!(
            "webhooks {label}: {:.0} requests/s, p99 {:.2} ms ({n} calls, one connection each)",
            f64::from(n) / total.as_secs_f64(),
            p99.as_secs_f64() * 1e3
        );
    }
    stop.cancel();
    server.stopped().await;
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
}

async fn idle_cron_cpu(jobs: usize) {
    let tg = FakeTelegram::start().await;
    tg.add_bot(&token(100_000_001), "bench_bot");
    let home = TestHome::new();
    let url = tg.api_url();
    home.edit_config(|c| c["telegram_api_url"] = json!(url));
    let list: Vec<_> = (0..jobs)
        .map(|i| {
            json!({"id": format!("job-{i}"), "title": format!("Job {i}"),
                   "schedule": format!("{} {} 1 1 *", i % 60, i % 24), "enabled": true})
        })
        .collect();
    std::fs::write(
        home.root.join("cron_jobs.json"),
        json!({ "jobs": list }).to_string(),
    )
    .unwrap();
    let _daemon = home.start();
    tg.wait_until(Duration::from_secs(30), |w| {
        (w.count("getUpdates") > 0).then_some(())
    })
    .await;
    let h = home.health().await.unwrap();
    let agent = agent_pid(&h, "main");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = cpu_ticks(agent);
    let window = Duration::from_secs(20);
    tokio::time::sleep(window).await;
    let ticks = cpu_ticks(agent) - before;
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .map_or(100.0, |v| v as f64);
    println!(
        "{jobs} cron jobs: agent CPU from start to 2 s after its first getUpdates {:.0} ms; \
         then {:.0} ms over {} s idle (clock tick {:.0} ms)",
        before as f64 / hz * 1e3,
        ticks as f64 / hz * 1e3,
        window.as_secs(),
        1e3 / hz
    );
}

#[tokio::main]
async fn main() {
    webhook_throughput().await;
    idle_cron_cpu(0).await;
    idle_cron_cpu(1000).await;
}
