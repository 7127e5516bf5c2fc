//! The browser chat page end to end: a real `ductor` (supervisor + agent) in a
//! temporary home with the direct API on a free loopback port, the genuine claude
//! CLI against the mock model API, and headless Chromium driven over `WebDriver`
//! opening `GET /`. Tests do what a user does on the page and look at what the user
//! sees.

#[path = "../support/mod.rs"]
mod support;

mod driver;
mod page;

use driver::Browser;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::clis::{self, CliEnv};
use support::daemon::{Daemon, TestHome, token};
use support::fake_telegram::FakeTelegram;
use support::mock_llm::MockLlm;

/// The API token of the test homes.
pub const TOKEN: &str = "browser-test-token-0123456789";

/// A running ductor with its API, and a browser.
pub struct PageRig {
    /// The browser.
    pub browser: Browser,
    /// The mock model API.
    pub mock: MockLlm,
    /// The CLIs' environment (its root holds their state).
    pub cli: CliEnv,
    _cli_root: tempfile::TempDir,
    _tg: FakeTelegram,
    /// The ductor home.
    pub home: TestHome,
    /// The running ductor.
    pub daemon: Option<Daemon>,
    /// The API's address.
    pub addr: SocketAddr,
}

impl PageRig {
    /// ductor on claude/sonnet with the API on `port` (0: any free port), and a
    /// browser window of `width`×`height` that has not opened the page yet.
    pub async fn start(port: u16, width: u32, height: u32) -> Self {
        // The browser first: without one the test fails before starting anything else.
        let browser = Browser::start(width, height).await;
        let tg = FakeTelegram::start().await;
        tg.add_bot(&token(100_000_001), "ductor_test_bot");
        let mock = MockLlm::start().await;
        let cli_root = clis::test_dir("brcli");
        let cli = CliEnv::new(cli_root.path(), &mock.base_url());
        let home = TestHome::new();
        let url = tg.api_url();
        home.edit_config(|c| {
            c["telegram_api_url"] = json!(url);
            c["provider"] = json!("claude");
            c["model"] = json!("sonnet");
            c["api"] = json!({"enabled": true, "port": port, "token": TOKEN});
        });
        let daemon = home.start_with_env(&cli.vars());
        let addr = home.api_addr().await;
        Self {
            browser,
            mock,
            cli,
            _cli_root: cli_root,
            _tg: tg,
            home,
            daemon: Some(daemon),
            addr,
        }
    }

    /// The page's URL.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The agent's workspace.
    pub fn workspace(&self) -> PathBuf {
        self.home.root.join("workspace")
    }

    /// Opens the page and signs in with `token`; waits until it is online.
    pub async fn open_signed_in(&self) {
        self.browser.client.goto(&self.url()).await.unwrap();
        self.sign_in(TOKEN, false).await;
        self.wait_online().await;
    }

    /// Types `token` into the sign-in form and submits it.
    pub async fn sign_in(&self, token: &str, remember: bool) {
        self.browser
            .wait_js(
                "the sign-in form",
                "return !document.getElementById('login').hidden;",
            )
            .await;
        self.type_into("token", token).await;
        if remember {
            self.click("remember").await;
        }
        self.click("connect").await;
    }

    /// Waits until the page says it is online.
    pub async fn wait_online(&self) {
        self.browser
            .wait_js(
                "the page to be online",
                "return document.getElementById('conn').dataset.state === 'online';",
            )
            .await;
    }

    /// Clicks the element with `id`.
    pub async fn click(&self, id: &str) {
        let el = self
            .browser
            .client
            .find(fantoccini::Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("no #{id}: {e}"));
        el.click()
            .await
            .unwrap_or_else(|e| panic!("click #{id}: {e}"));
    }

    /// Types `text` into the element with `id`.
    pub async fn type_into(&self, id: &str, text: &str) {
        let el = self
            .browser
            .client
            .find(fantoccini::Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("no #{id}: {e}"));
        el.send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into #{id}: {e}"));
    }

    /// Writes `text` in the composer and presses Send.
    pub async fn say(&self, text: &str) {
        self.type_into("input", text).await;
        self.click("send").await;
    }

    /// The texts of the bot's messages, oldest first.
    pub async fn bot_texts(&self) -> Vec<String> {
        let v = self
            .browser
            .js(
                "return Array.from(document.querySelectorAll('.msg.bot .body')).map(b => b.textContent);",
                Vec::new(),
            )
            .await;
        serde_json::from_value(v).unwrap()
    }

    /// Waits until a finished bot message contains `needle`; returns its index.
    pub async fn wait_answer(&self, needle: &str) -> usize {
        let script = format!(
            "const all = Array.from(document.querySelectorAll('.msg.bot'));
             const i = all.findIndex(m => !m.classList.contains('streaming')
                 && m.querySelector('.body').textContent.includes({}));
             return i < 0 ? null : i;",
            Value::String(needle.to_owned())
        );
        let v = self
            .browser
            .wait_js(&format!("an answer with {needle:?}"), &script)
            .await;
        usize::try_from(v.as_u64().unwrap()).unwrap()
    }

    /// Waits until the model received a prompt containing `needle`; returns it.
    pub async fn wait_prompt(&self, needle: &str) -> String {
        let start = Instant::now();
        loop {
            if let Some(p) = self
                .mock
                .requests()
                .into_iter()
                .map(|r| r.last_user_text)
                .find(|t| t.contains(needle))
            {
                return p;
            }
            assert!(
                start.elapsed() < driver::WAIT,
                "no prompt with {needle:?}; got {:?}",
                self.mock
                    .requests()
                    .into_iter()
                    .map(|r| r.last_user_text)
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// CLI processes of this rig (everything in its CLI environment but ductor).
    pub fn cli_processes(&self) -> Vec<(i32, String)> {
        support::daemon::cli_processes_of(self.cli.root())
    }
}

/// A loopback port that is free now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// `target/`: where the screenshot of the page goes.
pub fn target_dir() -> &'static Path {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is target/tmp")
}
