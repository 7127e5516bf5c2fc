//! Sandboxed runs end to end: a real `ductor` (supervisor + agent) in a temporary
//! home, the fake Bot API, the genuine CLIs against the mock model API — with every
//! CLI run inside bubblewrap, a private Docker daemon's container or podman's.
//! Each case proves where the tool ran (its pid namespace differs from the test's),
//! that ductor's secrets are not visible inside, that `/stop` leaves no process
//! inside or outside, and that a broken sandbox fails closed (nothing runs, the chat
//! is told why).

#[path = "../support/mod.rs"]
mod support;

mod bwrap;
mod containers;

use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;
use support::clis::{self, CliEnv};
use support::daemon::{Daemon, TestHome, processes_of};
use support::fake_telegram::{BotId, DEFAULT_USER_ID, FakeTelegram, MessageView, Sent};
use support::mock_llm::MockLlm;

/// The user's private chat with the bot.
pub const CHAT: i64 = DEFAULT_USER_ID;
/// How long a sandboxed turn may take (the first container turn creates it).
pub const WAIT: Duration = Duration::from_mins(2);

/// One ductor whose runs happen in a sandbox.
pub struct SbRig {
    /// The fake Bot API.
    pub tg: FakeTelegram,
    /// The main agent's bot.
    pub bot: BotId,
    /// The mock model API.
    pub mock: MockLlm,
    /// The CLIs' offline environment.
    pub cli: CliEnv,
    _cli_root: tempfile::TempDir,
    /// The ductor home.
    pub home: TestHome,
    /// The running ductor.
    pub daemon: Option<Daemon>,
}

impl SbRig {
    /// Starts ductor with `sandbox` as its `sandbox` block and `env` added to its
    /// environment (where the engine is).
    pub async fn start(provider: &str, sandbox: Value, env: &[(String, String)]) -> Self {
        Self::start_with(provider, sandbox, env, |_| {}).await
    }

    /// Like [`SbRig::start`], with `tweak` applied to the config.
    pub async fn start_with(
        provider: &str,
        sandbox: Value,
        env: &[(String, String)],
        tweak: impl FnOnce(&mut Value),
    ) -> Self {
        let tg = FakeTelegram::start().await;
        let bot = tg.add_bot(&support::daemon::token(100_000_001), "ductor_test_bot");
        let mock = MockLlm::start().await;
        let cli_root = clis::test_dir("sbcli");
        let cli = CliEnv::new(cli_root.path(), &mock.base_url());
        let home = TestHome::new();
        let url = tg.api_url();
        let model = match provider {
            "codex" => clis::CODEX_MODEL,
            "gemini" => "gemini-3.8-flash",
            _ => "sonnet",
        };
        home.edit_config(|c| {
            c["telegram_api_url"] = json!(url);
            c["provider"] = json!(provider);
            c["model"] = json!(model);
            c["streaming"] = json!({"edit_interval_seconds": 1.0});
            c["sandbox"] = sandbox;
            tweak(c);
        });
        let mut vars = cli.vars();
        vars.extend(env.iter().cloned());
        let daemon = home.start_with_env(&vars);
        let rig = Self {
            tg,
            bot,
            mock,
            cli,
            _cli_root: cli_root,
            home,
            daemon: Some(daemon),
        };
        rig.tg
            .wait_until(Duration::from_secs(30), |w| {
                (w.count("getUpdates") > 0).then_some(())
            })
            .await;
        rig
    }

    /// The user writes `text`.
    pub fn say(&self, text: &str) -> Sent {
        self.tg.user_sends_text(self.bot, CHAT, text)
    }

    /// Waits until the bot's messages after `after` contain `needle`.
    pub async fn wait_text(&self, after: i32, needle: &str) -> Vec<MessageView> {
        let bot = self.bot;
        let wanted = needle.to_owned();
        let found = self
            .tg
            .try_wait_until(WAIT, move |w| {
                let msgs: Vec<MessageView> = w
                    .visible_messages(bot, CHAT)
                    .into_iter()
                    .filter(|m| m.from_bot == Some(bot) && m.message_id > after && !m.deleted)
                    .collect();
                let all: String = msgs
                    .iter()
                    .filter_map(|m| m.text.clone())
                    .collect::<Vec<_>>()
                    .join("\n");
                all.contains(&wanted).then_some(msgs)
            })
            .await;
        let mock = self.mock.summary();
        found.unwrap_or_else(|_| {
            panic!(
                "no {needle:?} after message {after}: {:?}\nmock: {mock}\nagent log:\n{}",
                self.text_after(after),
                self.agent_log()
            )
        })
    }

    /// The bot's text after `after`.
    pub fn text_after(&self, after: i32) -> String {
        self.tg
            .bot_messages(self.bot, CHAT)
            .into_iter()
            .filter(|m| m.message_id > after && !m.deleted)
            .filter_map(|m| m.text)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The tail of the main agent's log.
    pub fn agent_log(&self) -> String {
        let log =
            std::fs::read_to_string(self.home.root.join("logs/agent.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// The main agent's workspace.
    pub fn workspace(&self) -> PathBuf {
        self.home.home().main().workspace()
    }

    /// Runs `cmd` through the agent's CLI (its shell tool) and waits for the answer.
    pub async fn tool(&self, cmd: &str) -> String {
        let sent = self.say(&format!("MOCK_TOOL_CMD<<{cmd}>>"));
        let msgs = self.wait_text(sent.message_id, "The tool ran").await;
        msgs.iter()
            .filter_map(|m| m.text.clone())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Live processes of this home whose command line contains `needle`.
    pub fn procs(&self, needle: &str) -> Vec<(i32, String)> {
        processes_of(&self.home.root)
            .into_iter()
            .filter(|(_, c)| c.contains(needle))
            .collect()
    }

    /// Waits until no process of this home names `needle`.
    pub async fn wait_gone(&self, needle: &str) {
        let start = std::time::Instant::now();
        while !self.procs(needle).is_empty() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "still running: {:?}",
                self.procs(needle)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until a process of this home names `needle`.
    pub async fn wait_running(&self, needle: &str) {
        let start = std::time::Instant::now();
        while self.procs(needle).is_empty() {
            assert!(
                start.elapsed() < WAIT,
                "{needle} never started\n{}\n{}",
                self.mock.summary(),
                self.agent_log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The pid namespace of this test process (the host's, as far as ductor knows).
pub fn host_pid_ns() -> String {
    std::fs::read_link("/proc/self/ns/pid")
        .unwrap()
        .display()
        .to_string()
}

/// The tool command that proves where it ran and what it sees: the pid namespace
/// goes to `proof.txt`; reading ductor's config goes to `leak.txt` with its status.
pub fn proof_command(rig: &SbRig) -> String {
    let config = rig.home.home().main().config_file();
    format!(
        "readlink /proc/self/ns/pid > proof.txt; cat {} > leak.txt 2>&1; echo rc=$? >> leak.txt",
        config.display()
    )
}

/// Checks what [`proof_command`] left in the workspace.
pub fn assert_ran_inside(rig: &SbRig) {
    let ws = rig.workspace();
    let proof = std::fs::read_to_string(ws.join("proof.txt")).expect("proof.txt in the workspace");
    assert!(proof.starts_with("pid:["), "{proof}");
    assert_ne!(
        proof.trim(),
        host_pid_ns(),
        "the tool ran in the host's pid namespace"
    );
    let leak = std::fs::read_to_string(ws.join("leak.txt")).expect("leak.txt");
    assert!(
        !leak.contains("telegram_token"),
        "config visible inside: {leak}"
    );
    assert!(!leak.contains("rc=0"), "{leak}");
}

/// A message while the sandbox cannot run: the chat says so, the model is never
/// asked, no CLI process starts on the host.
pub async fn assert_fails_closed(rig: &SbRig, why: &str) {
    let before = rig.mock.requests().len();
    let sent = rig.say("MOCK_TOOL_CMD<<echo should-not-run > escaped.txt>>");
    let msgs = rig.wait_text(sent.message_id, "Nothing was run").await;
    let text: String = msgs.iter().filter_map(|m| m.text.clone()).collect();
    assert!(text.contains(why), "{text}");
    assert!(text.contains("ductor docker status"), "{text}");
    assert_eq!(
        rig.mock.requests().len(),
        before,
        "a CLI ran: {}",
        rig.mock.summary()
    );
    assert!(!rig.workspace().join("escaped.txt").exists());
    assert!(
        support::daemon::cli_processes_of(&rig.home.root).is_empty(),
        "{:?}",
        support::daemon::cli_processes_of(&rig.home.root)
    );
}
