//! Matrix figures (prints; asserts only that what it measures happened), on a real
//! Synapse on loopback with raised rate limits, the real `ductor` and the genuine claude
//! CLI against the mock model API:
//! - user message → first visible text of the answer and → its final edit, in a room
//!   and in an encrypted direct chat (median and max of several turns);
//! - the agent's RSS, idle after those turns, with Matrix against the same agent on
//!   Telegram only (fake Bot API);
//! - the size of the release `ductor-agent` (and, when built, the one without the
//!   feature: `cargo build --release --no-default-features --target-dir target/no-matrix`).
//!
//! Run: `.ci/install-clis && cargo bench --bench matrix`.

#![recursion_limit = "256"]

#[path = "../tests/support/mod.rs"]
#[allow(dead_code, unused_imports, missing_docs, clippy::all, clippy::pedantic)]
mod support;

#[path = "../tests/matrix/user.rs"]
#[allow(dead_code, missing_docs, clippy::all, clippy::pedantic)]
mod user;

use serde_json::json;
use std::time::{Duration, Instant};
use support::clis::{self, CliEnv};
use support::daemon::{TestHome, agent_pid, token};
use support::fake_telegram::FakeTelegram;
use support::mock_llm::{MockLlm, Reply};
use support::synapse::Synapse;
use user::{PASSWORD, User};

const TURNS: usize = 5;

/// Resident memory of `pid` in KiB: (all, anonymous) — the rest is clean pages of the
/// binary, which the kernel can drop under pressure.
fn rss_kib(pid: u32) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    (field("Rss:"), field("Anonymous:"))
}

fn answer() -> Reply {
    let chunks: Vec<String> = (0..20)
        .map(|i| format!("Piece {i:02} of the benchmark answer. "))
        .collect();
    Reply::chunks(chunks).chunk_delay(Duration::from_millis(50))
}

fn stats(label: &str, mut v: Vec<Duration>) {
    v.sort();
    println!(
        "{label}: median {:.0} ms, max {:.0} ms ({} turns)",
        v[v.len() / 2].as_secs_f64() * 1e3,
        v[v.len() - 1].as_secs_f64() * 1e3,
        v.len()
    );
}

/// Turns in `room`: (first visible text, final edit) per turn.
async fn turns(u: &User, room: &matrix_sdk::Room, bot: &matrix_sdk::ruma::OwnedUserId, tag: &str) {
    let (mut first, mut last) = (Vec::new(), Vec::new());
    for t in 0..TURNS {
        let before = u.from(room, bot).len();
        let start = Instant::now();
        u.say(room, &format!("MX_BENCH {tag} {t}")).await;
        loop {
            if u.from(room, bot).len() > before {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        first.push(start.elapsed());
        loop {
            if u.from(room, bot)
                .last()
                .is_some_and(|m| m.body.contains("Piece 19 of the benchmark answer."))
            {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(90), "no final edit");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        last.push(start.elapsed());
    }
    stats(&format!("{tag}: message → first visible text"), first);
    stats(&format!("{tag}: message → final edit"), last);
}

/// The Matrix agent's RSS idle before any turn and after the turns.
async fn matrix_agent(cli: &CliEnv) -> ((u64, u64), (u64, u64)) {
    let synapse = Synapse::start().await;
    let bot: matrix_sdk::ruma::OwnedUserId = synapse
        .register("ductor", PASSWORD, false)
        .await
        .try_into()
        .unwrap();
    let alice = synapse.register("alice", PASSWORD, false).await;
    let home = TestHome::new();
    let url = synapse.url();
    home.edit_config(|c| {
        c["transport"] = json!("matrix");
        c["transports"] = json!(["matrix"]);
        c["provider"] = json!("claude");
        c["model"] = json!("sonnet");
        c["matrix"] = json!({"homeserver": url, "user_id": bot.to_string(),
                             "password": PASSWORD, "allowed_users": [alice],
                             "edit_interval_seconds": 0.5});
    });
    let _daemon = home.start_with_env(&cli.vars());
    let u = User::login(&synapse, "alice").await;
    let room = u.room_with(&bot, false).await;
    let agent = agent_pid(&home.health().await.unwrap(), "main");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle = rss_kib(agent);
    turns(&u, &room, &bot, "room").await;
    let dm = u.room_with(&bot, true).await;
    turns(&u, &dm, &bot, "encrypted DM").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    (idle, rss_kib(agent))
}

async fn telegram_agent(cli: &CliEnv) -> (u64, u64) {
    let tg = FakeTelegram::start().await;
    tg.add_bot(&token(100_000_001), "bench_bot");
    let home = TestHome::new();
    let url = tg.api_url();
    home.edit_config(|c| {
        c["telegram_api_url"] = json!(url);
        c["provider"] = json!("claude");
        c["model"] = json!("sonnet");
    });
    let _daemon = home.start_with_env(&cli.vars());
    let agent = agent_pid(
        &home.wait_running(&["main"], Duration::from_secs(30)).await,
        "main",
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    rss_kib(agent)
}

fn size(path: &str) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.len())
}

#[tokio::main]
async fn main() {
    let mock = MockLlm::start().await;
    mock.script("MX_BENCH", answer());
    let cli_root = clis::test_dir("mxbench");
    let cli = CliEnv::new(cli_root.path(), &mock.base_url());
    let (mx_idle, mx_after) = matrix_agent(&cli).await;
    let tg = telegram_agent(&cli).await;
    println!(
        "agent RSS idle (anonymous in brackets): Telegram only {} KiB ({}); with Matrix {} KiB ({}) \
         before any turn — Matrix adds {} KiB ({} anonymous); {} KiB ({}) after {} turns",
        tg.0,
        tg.1,
        mx_idle.0,
        mx_idle.1,
        mx_idle.0.saturating_sub(tg.0),
        mx_idle.1.saturating_sub(tg.1),
        mx_after.0,
        mx_after.1,
        2 * TURNS
    );
    let with = size("target/release/ductor-agent");
    let without = size("target/no-matrix/release/ductor-agent");
    match (with, without) {
        (Some(w), Some(wo)) => println!(
            "release ductor-agent: {:.1} MB with Matrix, {:.1} MB without",
            w as f64 / 1e6,
            wo as f64 / 1e6
        ),
        (Some(w), None) => println!(
            "release ductor-agent: {:.1} MB with Matrix (build target/no-matrix for the other figure)",
            w as f64 / 1e6
        ),
        _ => println!("no release ductor-agent in target/release"),
    }
}
