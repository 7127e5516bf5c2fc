//! The Matrix transport end to end: a real Synapse on loopback (tests/support/synapse),
//! a real `ductor` (supervisor + agent process) in a temporary home with
//! `transports: ["matrix"]`, the genuine claude CLI against the mock model API, and a
//! second `matrix-sdk` client playing the user (with its own crypto store, so encrypted
//! rooms are real end-to-end encryption between two devices).

#![cfg(feature = "matrix")]
#![recursion_limit = "256"]

#[path = "../support/mod.rs"]
mod support;

mod cases;
mod inbound;
mod more;
mod user;

pub use user::*;

use matrix_sdk::ruma::OwnedUserId;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::clis::{self, CliEnv};
use support::daemon::{Daemon, TestHome};
use support::mock_llm::MockLlm;
use support::synapse::Synapse;

/// A running ductor on Matrix.
pub struct MxRig {
    /// The homeserver.
    pub synapse: Synapse,
    /// The mock model API.
    pub mock: MockLlm,
    /// Offline CLI environment.
    pub cli: CliEnv,
    _cli_root: tempfile::TempDir,
    /// The ductor home.
    pub home: TestHome,
    /// The running ductor.
    pub daemon: Option<Daemon>,
    /// The bot's user id.
    pub bot: OwnedUserId,
    /// The allowed user.
    pub user: User,
}

impl MxRig {
    /// A rig on a Synapse with raised rate limits.
    pub async fn start(tweak: impl FnOnce(&mut Value)) -> Self {
        Self::on(Synapse::start().await, tweak).await
    }

    /// A rig on `synapse`; `tweak` edits the config.
    pub async fn on(synapse: Synapse, tweak: impl FnOnce(&mut Value)) -> Self {
        let bot: OwnedUserId = synapse
            .register("ductor", PASSWORD, false)
            .await
            .try_into()
            .unwrap();
        let alice: OwnedUserId = synapse
            .register("alice", PASSWORD, false)
            .await
            .try_into()
            .unwrap();
        let mock = MockLlm::start().await;
        let cli_root = clis::test_dir("mxcli");
        let cli = CliEnv::new(cli_root.path(), &mock.base_url());
        let home = TestHome::new();
        let url = synapse.url();
        home.edit_config(|c| {
            c["transport"] = json!("matrix");
            c["transports"] = json!(["matrix"]);
            c["provider"] = json!("claude");
            c["model"] = json!("sonnet");
            c["matrix"] = json!({
                "homeserver": url, "user_id": bot.to_string(), "password": PASSWORD,
                "allowed_users": [alice.to_string()]
            });
            tweak(c);
        });
        let daemon = home.start_with_env(&cli.vars());
        let user = User::login(&synapse, "alice").await;
        Self {
            synapse,
            mock,
            cli,
            _cli_root: cli_root,
            home,
            daemon: Some(daemon),
            bot,
            user,
        }
    }

    /// The agent's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.home.root.join("logs/agent.log")).unwrap_or_default()
    }

    /// Asks for the model menu in `room`; returns it once it shows its choices.
    pub async fn model_menu(&self, room: &matrix_sdk::Room) -> Seen {
        self.user.say(room, "!model").await;
        self.user
            .wait_message(room, &self.bot, "the model menu", |m| {
                m.body.contains("1\u{fe0f}\u{20e3}")
            })
            .await
    }

    /// Checks that each of `needles` appears exactly once in the bot's messages in
    /// `room` (edits applied).
    pub fn each_once(&self, room: &matrix_sdk::Room, needles: impl IntoIterator<Item = String>) {
        let all = self
            .user
            .from(room, &self.bot)
            .iter()
            .map(|m| m.body.clone())
            .collect::<Vec<_>>()
            .join("\n");
        for n in needles {
            assert_eq!(all.matches(&n).count(), 1, "{n} once in {all}");
        }
    }

    /// CLI processes of this rig.
    pub fn cli_processes(&self) -> Vec<(i32, String)> {
        support::daemon::cli_processes_of(self.cli.root())
    }
}
