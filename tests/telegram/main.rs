//! Telegram conversation end to end: a real `ductor` (supervisor + agent process)
//! in a temporary home, the fake Bot API over real HTTP, and the genuine CLIs
//! against the mock model API. Tests look at the chat as the user sees it.

#[path = "../support/mod.rs"]
mod support;

mod agents;
mod chat;
mod config_reload;
mod conversation;
mod diagnose;
mod drafts;
mod groups;
mod heartbeat;
mod inbound;
mod live;
mod live_more;
mod media;
mod memory;
mod models;
mod named;
mod notices;
mod parity;
mod reactions;
mod surface;
mod tasks;
mod topics;
mod webhooks;
mod welcome;

use serde_json::json;
use std::time::Duration;
use support::clis::{self, CliEnv};
use support::daemon::{Daemon, TestHome, token};
use support::fake_telegram::{BotId, DEFAULT_USER_ID, FakeTelegram, MessageView, Sent};
use support::mock_llm::MockLlm;

/// Bot username of the main agent.
pub const BOT: &str = "ductor_test_bot";

/// Everything one chat test needs.
pub struct TgRig {
    /// The fake Bot API.
    pub tg: FakeTelegram,
    /// The main agent's bot.
    pub bot: BotId,
    /// The mock model API.
    pub mock: MockLlm,
    /// Offline CLI environment (its own root).
    pub cli: CliEnv,
    _cli_root: tempfile::TempDir,
    /// The ductor home.
    pub home: TestHome,
    /// The running ductor.
    pub daemon: Option<Daemon>,
}

/// The user's private chat with the bot.
pub const CHAT: i64 = DEFAULT_USER_ID;

impl TgRig {
    /// A rig whose main agent uses `provider`/`model`; `tweak` edits the config.
    pub async fn start(
        provider: &str,
        model: &str,
        tweak: impl FnOnce(&mut serde_json::Value),
    ) -> Self {
        Self::start_with(provider, model, tweak, |_, _| {}).await
    }

    /// Like [`TgRig::start`], running `before` on the fake before ductor starts
    /// (e.g. to queue messages that arrived while it was down).
    pub async fn start_with(
        provider: &str,
        model: &str,
        tweak: impl FnOnce(&mut serde_json::Value),
        before: impl FnOnce(&FakeTelegram, BotId),
    ) -> Self {
        let tg = FakeTelegram::start().await;
        let bot = tg.add_bot(&token(100_000_001), BOT);
        before(&tg, bot);
        Self::launch(tg, bot, provider, model, tweak, |_| {}).await
    }

    /// Like [`TgRig::start_with`], with `prepare` run on the home before ductor starts
    /// (state files a previous run left behind).
    pub async fn start_prepared(
        provider: &str,
        model: &str,
        before: impl FnOnce(&FakeTelegram, BotId),
        prepare: impl FnOnce(&TestHome),
    ) -> Self {
        let tg = FakeTelegram::start().await;
        let bot = tg.add_bot(&token(100_000_001), BOT);
        before(&tg, bot);
        Self::launch(tg, bot, provider, model, |_| {}, prepare).await
    }

    /// A rig with sub-agents `(name, provider, model)`, each with its own bot
    /// (`<name>_bot`, returned in order) serving the same user.
    pub async fn start_with_agents(
        provider: &str,
        model: &str,
        subs: &[(&str, &str, &str)],
    ) -> (Self, Vec<BotId>) {
        let tg = FakeTelegram::start().await;
        let bot = tg.add_bot(&token(100_000_001), BOT);
        let mut bots = Vec::new();
        let mut entries = Vec::new();
        for (i, (name, provider, model)) in subs.iter().enumerate() {
            let t = token(100_000_002 + i as u64);
            bots.push(tg.add_bot(&t, &format!("{name}_bot")));
            entries.push(json!({
                "name": name,
                "telegram_token": t,
                "allowed_user_ids": [CHAT],
                "provider": provider,
                "model": model,
            }));
        }
        let agents = json!(entries);
        let rig = Self::launch(
            tg,
            bot,
            provider,
            model,
            |_| {},
            |h| h.write_agents(&agents),
        )
        .await;
        for b in &bots {
            rig.tg
                .wait_until(Duration::from_secs(30), |w| {
                    w.calls()
                        .iter()
                        .any(|c| c.bot == Some(*b) && c.method == "getUpdates")
                        .then_some(())
                })
                .await;
        }
        (rig, bots)
    }

    async fn launch(
        tg: FakeTelegram,
        bot: BotId,
        provider: &str,
        model: &str,
        tweak: impl FnOnce(&mut serde_json::Value),
        prepare: impl FnOnce(&TestHome),
    ) -> Self {
        let mock = MockLlm::start().await;
        let cli_root = clis::test_dir("tgcli");
        let cli = CliEnv::new(cli_root.path(), &mock.base_url());
        let home = TestHome::new();
        let url = tg.api_url();
        home.edit_config(|c| {
            c["telegram_api_url"] = json!(url);
            c["provider"] = json!(provider);
            c["model"] = json!(model);
            // Most tests watch the answer grow in a message: edit mode (the
            // default, drafts, has tests of its own).
            c["streaming"] = json!({"edit_interval_seconds": 1.0, "mode": "edit"});
            tweak(c);
        });
        prepare(&home);
        let daemon = home.start_with_env(&cli.vars());
        let rig = Self {
            tg,
            bot,
            mock,
            cli,
            _cli_root: cli_root,
            home,
            daemon: Some(daemon),
        };
        rig.wait_polling().await;
        rig
    }

    /// Waits until the agent polls for updates.
    pub async fn wait_polling(&self) {
        self.tg
            .wait_until(Duration::from_secs(20), |w| {
                (w.count("getUpdates") > 0).then_some(())
            })
            .await;
    }

    /// Waits (90 s at most) for a visible message of `bot` in `chat` containing `needle`.
    pub async fn wait_from(&self, bot: BotId, chat: i64, needle: &str) -> MessageView {
        let needle = needle.to_owned();
        self.tg
            .wait_until(Duration::from_secs(90), move |w| {
                w.visible_messages(bot, chat)
                    .into_iter()
                    .find(|m| m.from_bot == Some(bot) && !m.deleted && m.contains(&needle))
            })
            .await
    }

    /// The user writes `text` in the private chat.
    pub fn say(&self, text: &str) -> Sent {
        self.tg.user_sends_text(self.bot, CHAT, text)
    }

    /// The bot's visible messages in `chat` that reply to (or follow) `after`.
    pub fn replies_after(&self, chat: i64, after: i32) -> Vec<MessageView> {
        self.tg
            .bot_messages(self.bot, chat)
            .into_iter()
            .filter(|m| m.message_id > after && !m.deleted)
            .collect()
    }

    /// Waits until the bot's messages after `after` contain `needle`; returns them.
    pub async fn wait_text(
        &self,
        chat: i64,
        after: i32,
        needle: &str,
        timeout: Duration,
    ) -> Vec<MessageView> {
        let bot = self.bot;
        let needle = needle.to_owned();
        self.tg
            .wait_until(timeout, move |w| {
                let msgs: Vec<MessageView> = w
                    .visible_messages(bot, chat)
                    .into_iter()
                    .filter(|m| m.from_bot == Some(bot) && m.message_id > after && !m.deleted)
                    .collect();
                let all: String = msgs
                    .iter()
                    .filter_map(|m| m.text.clone())
                    .collect::<Vec<_>>()
                    .join("\n");
                all.contains(&needle).then_some(msgs)
            })
            .await
    }

    /// The text of the bot's messages after `after`, concatenated.
    pub fn text_after(&self, chat: i64, after: i32) -> String {
        self.replies_after(chat, after)
            .iter()
            .filter_map(|m| m.text.clone())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The session id stored for the private chat and `provider`.
    pub fn session_id(&self, provider: &str) -> Option<String> {
        let text = std::fs::read_to_string(self.home.root.join("sessions.json")).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        v[format!("tg:{CHAT}")]["provider_sessions"][provider]["session_id"]
            .as_str()
            .map(str::to_owned)
    }

    /// Waits until the stored session id of `provider` satisfies `pred`.
    pub async fn wait_session(
        &self,
        provider: &str,
        pred: impl Fn(Option<&str>) -> bool,
    ) -> Option<String> {
        let start = std::time::Instant::now();
        loop {
            let id = self.session_id(provider);
            if pred(id.as_deref()) {
                return id;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "session id never matched; last {id:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
