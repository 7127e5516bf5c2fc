//! Telegram figures (prints, asserts nothing), with a real `ductor` + agent against
//! the fake Bot API and a fake `claude` that answers instantly (this binary, run
//! under the name `claude`):
//! - user message → first `sendMessage`, in total and after the CLI's first line;
//! - agent CPU time per MB of streamed answer;
//! - 200 chats streaming at once: agent CPU time and peak RSS.
//!
//! Run: `cargo bench --bench telegram`.

#[path = "../tests/support/mod.rs"]
#[allow(dead_code, unused_imports, missing_docs, clippy::all, clippy::pedantic)]
mod support;

use serde_json::json;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};
use support::daemon::{TestHome, agent_pid, token};
use support::fake_telegram::FakeTelegram;

fn monotonic_ns() -> u128 {
    let ts = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).unwrap();
    ts.tv_sec() as u128 * 1_000_000_000 + ts.tv_nsec() as u128
}

/// The fake CLI: a claude-shaped stream of `DUCTOR_BENCH_BYTES` bytes of text in
/// 400-byte deltas, the first carrying the monotonic time it was written at.
fn fake_claude() {
    let total: usize = std::env::var("DUCTOR_BENCH_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let pause: u64 = std::env::var("DUCTOR_BENCH_PAUSE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut out = std::io::stdout().lock();
    let sid = format!("bench-{}", std::process::id());
    writeln!(
        out,
        r#"{{"type":"system","subtype":"init","session_id":"{sid}"}}"#
    )
    .unwrap();
    let mut full = String::new();
    let mut first = true;
    while full.len() < total {
        let piece = if first {
            first = false;
            let mut p = format!("T{}T ", monotonic_ns());
            while p.len() < 400 {
                p.push_str("lorem ipsum dolor sit amet. ");
            }
            p
        } else {
            "lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(7)
        };
        full.push_str(&piece);
        let delta = json!({"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":piece}},"session_id":sid});
        writeln!(out, "{delta}").unwrap();
        out.flush().unwrap();
        if pause > 0 {
            std::thread::sleep(Duration::from_millis(pause));
        }
    }
    let assistant = json!({"type":"assistant","message":{"content":[{"type":"text","text":full}]},"session_id":sid});
    writeln!(out, "{assistant}").unwrap();
    let result = json!({"type":"result","subtype":"success","is_error":false,"result":full,"session_id":sid,"usage":{"input_tokens":1,"output_tokens":1},"total_cost_usd":0.0});
    writeln!(out, "{result}").unwrap();
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
}

fn status_kb(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

fn ticks_per_sec() -> f64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .map_or(100.0, |v| v as f64)
}

struct Rig {
    tg: FakeTelegram,
    bot: support::fake_telegram::BotId,
    home: TestHome,
    _daemon: support::daemon::Daemon,
    _bin: tempfile::TempDir,
}

async fn rig(bytes: usize, pause_ms: u64, users: &[i64]) -> Rig {
    let tg = FakeTelegram::start().await;
    let bot = tg.add_bot(&token(100_000_001), "bench_bot");
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(std::env::current_exe().unwrap(), bin.path().join("claude"))
        .unwrap();
    let home = TestHome::new();
    let url = tg.api_url();
    let users = users.to_vec();
    home.edit_config(|c| {
        c["telegram_api_url"] = json!(url);
        c["allowed_user_ids"] = json!(users);
        c["provider"] = json!("claude");
        c["scene"] = json!({"status_reaction": false});
        c["streaming"] = json!({"edit_interval_seconds": 1.0});
        // Stream the whole megabyte into messages (the default sends it as a file after 20).
        c["max_reply_messages"] = json!(400);
    });
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let env = vec![
        ("PATH".to_owned(), path),
        ("ANTHROPIC_API_KEY".to_owned(), "bench".to_owned()),
        ("DUCTOR_BENCH_BYTES".to_owned(), bytes.to_string()),
        ("DUCTOR_BENCH_PAUSE_MS".to_owned(), pause_ms.to_string()),
    ];
    let daemon = home.start_with_env(&env);
    tg.wait_until(Duration::from_secs(30), |w| {
        (w.count("getUpdates") > 0).then_some(())
    })
    .await;
    Rig {
        tg,
        bot,
        home,
        _daemon: daemon,
        _bin: bin,
    }
}

async fn latency() {
    let user = support::fake_telegram::DEFAULT_USER_ID;
    let r = rig(600, 0, &[user]).await;
    let mut total = Vec::new();
    let mut after_cli = Vec::new();
    for i in 0..60 {
        let before = r.tg.count("sendMessage");
        let t0 = Instant::now();
        r.tg.user_sends_text(r.bot, user, &format!("message {i}"));
        let text =
            r.tg.wait_until(Duration::from_secs(30), |w| {
                let sends = w.calls_of("sendMessage");
                (sends.len() > before)
                    .then(|| sends[before].param_str("text").unwrap_or_default().clone())
            })
            .await;
        let now = monotonic_ns();
        total.push(t0.elapsed());
        if let Some(ns) = text.split('T').nth(1).and_then(|v| v.parse::<u128>().ok()) {
            after_cli.push(Duration::from_nanos((now - ns) as u64));
        }
        // Let the turn finish before the next message.
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    total.sort();
    after_cli.sort();
    let pct = |v: &[Duration], p: f64| v[((v.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e3;
    println!(
        "user message → first sendMessage: p50 {:.1} ms, p99 {:.1} ms (includes starting the CLI)",
        pct(&total, 0.5),
        pct(&total, 0.99)
    );
    println!(
        "CLI's first line → first sendMessage: p50 {:.2} ms, p99 {:.2} ms ({} turns)",
        pct(&after_cli, 0.5),
        pct(&after_cli, 0.99),
        after_cli.len()
    );
}

async fn cpu_per_mb() {
    let user = support::fake_telegram::DEFAULT_USER_ID;
    let mb = 1 << 20;
    let r = rig(mb, 1, &[user]).await;
    let h = r.home.health().await.unwrap();
    let agent = agent_pid(&h, "main");
    let before = cpu_ticks(agent);
    let t0 = Instant::now();
    r.tg.user_sends_text(r.bot, user, "stream a megabyte");
    let bot = r.bot;
    r.tg.wait_until(Duration::from_mins(10), move |w| {
        let done = w.visible_messages(bot, user).len() >= 256
            && w.calls()
                .iter()
                .rev()
                .take(5)
                .all(|c| c.method != "editMessageText");
        done.then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let cpu = (cpu_ticks(agent) - before) as f64 / ticks_per_sec();
    println!(
        "1 MB streamed into ~256 messages in {:.1} s: agent CPU {:.2} s",
        t0.elapsed().as_secs_f64(),
        cpu
    );
}

async fn many_chats() {
    let users: Vec<i64> = (0..200).map(|i| 5_000_000 + i).collect();
    let r = rig(8_000, 20, &users).await;
    for u in &users {
        r.tg.add_user(*u, "User", None);
    }
    let h = r.home.health().await.unwrap();
    let agent = agent_pid(&h, "main");
    let before = cpu_ticks(agent);
    let t0 = Instant::now();
    for u in &users {
        r.tg.user_sends_text(r.bot, *u, "go");
    }
    let mut peak = 0;
    let bot = r.bot;
    let users2 = users.clone();
    let done = async {
        r.tg.wait_until(Duration::from_mins(15), move |w| {
            users2
                .iter()
                .all(|u| {
                    w.visible_messages(bot, *u)
                        .iter()
                        .filter(|m| m.from_bot == Some(bot))
                        .count()
                        >= 2
                })
                .then_some(())
        })
        .await;
    };
    tokio::pin!(done);
    loop {
        tokio::select! {
            () = &mut done => break,
            () = tokio::time::sleep(Duration::from_millis(200)) => {
                peak = peak.max(status_kb(agent, "VmRSS:"));
            }
        }
    }
    let cpu = (cpu_ticks(agent) - before) as f64 / ticks_per_sec();
    println!(
        "200 chats streaming 8 KB each at once: done in {:.1} s, agent CPU {:.2} s, agent RSS peak {:.1} MB (VmHWM {:.1} MB)",
        t0.elapsed().as_secs_f64(),
        cpu,
        peak as f64 / 1024.0,
        status_kb(agent, "VmHWM:") as f64 / 1024.0
    );
    let _ = Path::new("");
}

fn main() {
    let exe = std::env::args().next().unwrap_or_default();
    if Path::new(&exe).file_name().is_some_and(|n| n == "claude") {
        fake_claude();
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        latency().await;
        cpu_per_mb().await;
        many_chats().await;
    });
}
