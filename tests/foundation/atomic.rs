//! Atomic writes survive SIGKILL at any moment: after each kill the file parses
//! and holds one complete version.

use ductor::store;
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const CHILD_ENV: &str = "DUCTOR_ATOMIC_WRITER_FILE";

fn payload(seq: u64) -> String {
    // Sizes vary so a torn write would be visible.
    format!("{seq}-").repeat((seq % 97) as usize * 40 + 1)
}

fn content(seq: u64) -> Value {
    json!({"seq": seq, "payload": payload(seq)})
}

/// Not a test of its own: the child process of the kill test. Rewrites the file
/// in a loop, continuing from the sequence number it finds.
#[test]
#[ignore = "child process of every_write_survives_sigkill"]
fn writer_child() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let path = Path::new(&path);
    let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let mut seq = v["seq"].as_u64().unwrap();
    println!("ready");
    loop {
        seq += 1;
        store::write_json(path, &content(seq)).unwrap();
    }
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn every_write_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    store::write_json(&path, &content(0)).unwrap();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("seed {seed}");
    let mut rng = Rng(seed);
    let exe = std::env::current_exe().unwrap();
    let mut last = 0;
    let mut advanced = 0;
    for round in 0..200 {
        let mut child = Command::new(&exe)
            .args([
                "atomic::writer_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait until it runs, then kill it at a random moment of its write loop.
        let mut out = child.stdout.take().unwrap();
        let mut buf = [0u8; 16];
        let _ = std::io::Read::read(&mut out, &mut buf);
        std::thread::sleep(Duration::from_micros(rng.next() % 20_000));
        child.kill().unwrap();
        child.wait().unwrap();
        let text = std::fs::read(&path).unwrap();
        let v: Value = serde_json::from_slice(&text)
            .unwrap_or_else(|e| panic!("round {round}: file does not parse after SIGKILL: {e}"));
        let seq = v["seq"].as_u64().unwrap();
        assert_eq!(v, content(seq), "round {round}: torn content");
        assert!(seq >= last, "round {round}: went back from {last} to {seq}");
        if seq > last {
            advanced += 1;
        }
        last = seq;
    }
    assert!(
        advanced > 100,
        "the writer made progress in most rounds ({advanced})"
    );
}
