//! Direct API figures (prints, asserts nothing but correctness of what it measures):
//! - the box alone: `text_delta` frames sealed per second by the server's
//!   [`Session`] and opened per second by a client's `crypto_box`;
//! - loopback: frames per second and the latency of one `text_delta` from the
//!   server's encrypt to the client's decrypt over a real `WebSocket` (warp server,
//!   `tokio-tungstenite` client), against the same frames in plaintext — the
//!   difference is what the encryption adds;
//! - the agent's RSS with 100 authenticated idle connections against none, with the
//!   real `ductor` and its API on an ephemeral loopback port.
//!
//! Run: `cargo bench --bench api`.

#[path = "../tests/support/mod.rs"]
#[allow(dead_code, unused_imports, missing_docs, clippy::all, clippy::pedantic)]
mod support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use crypto_box::aead::{Aead, OsRng};
use crypto_box::{PublicKey, SalsaBox, SecretKey};
use ductor::transport::api::crypto::Session;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::time::{Duration, Instant};
use support::daemon::{TestHome, agent_pid, token};
use support::fake_telegram::FakeTelegram;
use tokio_tungstenite::tungstenite::Message;
use warp::Filter;

/// A typical streamed piece of an answer.
const DELTA: &str = "the quick brown fox jumps over the lazy dog, ";

fn open(client: &SalsaBox, frame: &str) -> Vec<u8> {
    let raw = STANDARD.decode(frame).unwrap();
    client.decrypt(raw[..24].into(), &raw[24..]).unwrap()
}

fn box_alone() {
    let client = SecretKey::generate(&mut OsRng);
    let mut server = Session::new(&client.public_key());
    let server_pk = PublicKey::from(
        <[u8; 32]>::try_from(STANDARD.decode(server.public_key()).unwrap()).unwrap(),
    );
    let client_box = SalsaBox::new(&server_pk, &client);
    let plain = json!({"type": "text_delta", "data": DELTA}).to_string();
    let n = 100_000;
    let t = Instant::now();
    let frames: Vec<String> = (0..n).map(|_| server.seal(plain.as_bytes())).collect();
    let seal = t.elapsed();
    let t = Instant::now();
    for f in &frames {
        assert_eq!(open(&client_box, f).len(), plain.len());
    }
    let opened = t.elapsed();
    println!(
        "box alone ({} B JSON, {} B frame): seal {:.0} frames/s ({:.1} µs each), open {:.0} frames/s ({:.1} µs each)",
        plain.len(),
        frames[0].len(),
        f64::from(n) / seal.as_secs_f64(),
        seal.as_secs_f64() * 1e6 / f64::from(n),
        f64::from(n) / opened.as_secs_f64(),
        opened.as_secs_f64() * 1e6 / f64::from(n),
    );
}

/// A server that answers each frame of the client (after its first, the client's
/// public key) with one `text_delta` stamped with the time it was made, sealed when
/// `sealed`; with `burst`, it sends `n` frames at once instead.
async fn stream_server(n: u32, sealed: bool, burst: bool, base: Instant) -> std::net::SocketAddr {
    let route = warp::path("ws")
        .and(warp::ws())
        .map(move |ws: warp::ws::Ws| {
            ws.on_upgrade(move |mut socket| async move {
                let Some(Ok(first)) = socket.next().await else {
                    return;
                };
                let key = <[u8; 32]>::try_from(STANDARD.decode(first.to_str().unwrap()).unwrap())
                    .unwrap();
                let mut session = Session::new(&PublicKey::from(key));
                socket
                    .send(warp::ws::Message::text(session.public_key()))
                    .await
                    .unwrap();
                for i in 0..n {
                    if !burst && !matches!(socket.next().await, Some(Ok(_))) {
                        return;
                    }
                    let at = base.elapsed().as_nanos() as u64;
                    let plain =
                        json!({"type": "text_delta", "data": DELTA, "i": i, "t": at}).to_string();
                    let text = if sealed {
                        session.seal(plain.as_bytes())
                    } else {
                        plain
                    };
                    if socket.send(warp::ws::Message::text(text)).await.is_err() {
                        return;
                    }
                }
            })
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(warp::serve(route).incoming(listener).run());
    addr
}

/// Frames per second and one-way latencies (µs, sorted: from before the server's
/// encrypt to after the client's decrypt) of one run.
async fn stream_run(n: u32, sealed: bool, burst: bool) -> (f64, Vec<f64>) {
    let base = Instant::now();
    let addr = stream_server(n, sealed, burst, base).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .unwrap();
    let secret = SecretKey::generate(&mut OsRng);
    ws.send(Message::text(
        STANDARD.encode(secret.public_key().as_bytes()),
    ))
    .await
    .unwrap();
    let Some(Ok(Message::Text(server))) = ws.next().await else {
        panic!("no server key");
    };
    let server = <[u8; 32]>::try_from(STANDARD.decode(server.as_str()).unwrap()).unwrap();
    let client_box = SalsaBox::new(&PublicKey::from(server), &secret);
    let mut lat = Vec::with_capacity(n as usize);
    let t0 = Instant::now();
    for i in 0..n {
        if !burst {
            ws.send(Message::text("next")).await.unwrap();
        }
        let Some(Ok(Message::Text(text))) = ws.next().await else {
            panic!("stream ended at {i}");
        };
        let plain = if sealed {
            open(&client_box, text.as_str())
        } else {
            text.as_bytes().to_vec()
        };
        let now = base.elapsed().as_nanos() as u64;
        let v: serde_json::Value = serde_json::from_slice(&plain).unwrap();
        assert_eq!(v["i"], i);
        lat.push((now - v["t"].as_u64().unwrap()) as f64 / 1e3);
    }
    let rate = f64::from(n) / t0.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    (rate, lat)
}

async fn loopback() {
    let n = 20_000;
    for sealed in [false, true] {
        let (rate, _) = stream_run(n, sealed, true).await;
        println!(
            "loopback burst {}: {rate:.0} frames/s ({n} frames)",
            if sealed { "sealed   " } else { "plaintext" },
        );
    }
    let n = 5_000;
    let mut p50s = [0.0; 2];
    for (i, sealed) in [false, true].into_iter().enumerate() {
        let (_, lat) = stream_run(n, sealed, false).await;
        let p = |q: usize| lat[lat.len() * q / 100];
        p50s[i] = p(50);
        println!(
            "loopback one frame at a time {}: server → client p50 {:.0} µs, p99 {:.0} µs ({n} frames)",
            if sealed { "sealed   " } else { "plaintext" },
            p(50),
            p(99),
        );
    }
    println!(
        "added by the encryption per text_delta (p50, encrypt → decrypt): {:.1} µs",
        p50s[1] - p50s[0]
    );
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

async fn idle_connections(n: usize) {
    let tg = FakeTelegram::start().await;
    tg.add_bot(&token(100_000_001), "bench_bot");
    let home = TestHome::new();
    let url = tg.api_url();
    let api_token = "bench-api-token-0123456789";
    home.edit_config(|c| {
        c["telegram_api_url"] = json!(url);
        c["api"] = json!({"enabled": true, "port": 0, "token": api_token,
                          "max_connections": n + 10});
    });
    let _daemon = home.start();
    let port_file = home.root.join("run/api.port");
    let start = Instant::now();
    let addr = loop {
        if let Some(a) = std::fs::read_to_string(&port_file)
            .ok()
            .and_then(|t| t.trim().parse::<std::net::SocketAddr>().ok())
        {
            break a;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "no API");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let agent = agent_pid(&home.health().await.unwrap(), "main");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = rss_kib(agent);
    let mut sockets = Vec::with_capacity(n);
    for _ in 0..n {
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .unwrap();
        let key = STANDARD.encode(SecretKey::generate(&mut OsRng).public_key().as_bytes());
        let auth = json!({"type": "auth", "token": api_token, "e2e_pk": key});
        ws.send(Message::text(auth.to_string())).await.unwrap();
        let Some(Ok(Message::Text(ok))) = ws.next().await else {
            panic!("no auth_ok");
        };
        assert!(ok.as_str().contains("auth_ok"), "{ok}");
        sockets.push(ws);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(agent);
    let health = reqwest::get(format!("http://{addr}/health"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    println!(
        "agent RSS: {before} KiB idle, {after} KiB with {n} authenticated idle connections \
         (+{} KiB, {:.1} KiB each); /health {health}",
        after.saturating_sub(before),
        after.saturating_sub(before) as f64 / n as f64
    );
    drop(sockets);
}

#[tokio::main]
async fn main() {
    box_alone();
    loopback().await;
    idle_connections(100).await;
}
