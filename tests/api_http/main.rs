//! The direct API's HTTP side end to end: a real `ductor` (supervisor + agent
//! process) in a temporary home with `api.enabled` on an ephemeral loopback port,
//! talked to over real sockets — `GET /files` and `POST /upload` — and the
//! `ductor api enable|disable|status` commands of the real binary.

#[path = "../support/mod.rs"]
mod support;

mod cli;
mod files;
mod http;
mod upload;

use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::PathBuf;
use support::daemon::{Daemon, TestHome, token};
use support::fake_telegram::FakeTelegram;

/// The API token of the test homes.
pub const TOKEN: &str = "api-http-test-token-0123456789";

/// A running ductor with its API.
pub struct ApiRig {
    /// The fake Bot API (the agent always runs its Telegram transport).
    pub tg: FakeTelegram,
    /// The ductor home.
    pub home: TestHome,
    /// The running ductor.
    pub daemon: Option<Daemon>,
    /// Where the API listens.
    pub addr: SocketAddr,
}

impl ApiRig {
    /// A rig whose `api` block is `{"enabled": true, "port": 0, "token": TOKEN}`
    /// plus whatever `tweak` changes in the config.
    pub async fn start(tweak: impl FnOnce(&mut Value)) -> Self {
        let home = TestHome::new();
        home.edit_config(|c| {
            c["api"] = json!({"enabled": true, "port": 0, "token": TOKEN});
            tweak(c);
        });
        Self::start_in(home).await
    }

    /// Starts ductor in `home` (its config already enables the API).
    pub async fn start_in(home: TestHome) -> Self {
        let tg = FakeTelegram::start().await;
        tg.add_bot(&token(100_000_001), "ductor_test_bot");
        let url = tg.api_url();
        home.edit_config(|c| c["telegram_api_url"] = json!(url));
        let daemon = home.start();
        let addr = home.api_addr().await;
        Self {
            tg,
            home,
            daemon: Some(daemon),
            addr,
        }
    }

    /// The agent's workspace.
    pub fn workspace(&self) -> PathBuf {
        self.home.root.join("workspace")
    }

    /// The API's upload folder.
    pub fn api_files(&self) -> PathBuf {
        self.workspace().join("api_files")
    }
}

/// Every file (not folder) under `dir`, hidden ones included.
pub fn files_under(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}
