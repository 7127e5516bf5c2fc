//! Live config reload end to end: `config.json` edited while ductor runs. A model
//! switch reaches the next turn of the running conversation without a restart, a
//! new language re-publishes the command menu, a restart-only key is named in one
//! notice, and a broken edit is reported once with `file:line:col` and changes
//! nothing.

use super::{CHAT, TgRig};
use crate::support::fake_telegram::{BotId, MessageView};
use serde_json::json;
use std::time::Duration;

const TURN: Duration = Duration::from_mins(1);

impl TgRig {
    /// The model the mock was asked for by the turn whose prompt contains `prompt`.
    fn model_of(&self, prompt: &str) -> String {
        let reqs = self.mock.requests();
        reqs.iter()
            .find(|r| r.last_user_text.contains(prompt))
            .and_then(|r| r.model.clone())
            .unwrap_or_else(|| panic!("no request for {prompt:?}: {}", self.mock.summary()))
    }

    /// The bot's messages in the private chat containing `needle`.
    fn notices_with(&self, needle: &str) -> Vec<MessageView> {
        self.tg
            .bot_messages(self.bot, CHAT)
            .into_iter()
            .filter(|m| !m.deleted && m.contains(needle))
            .collect()
    }

    /// The user says `text` and waits for the model's answer to it.
    async fn turn(&self, text: &str) {
        self.turn_with(self.bot, text).await;
    }

    /// The user says `text` to `bot` and waits for the model's answer to it.
    async fn turn_with(&self, bot: BotId, text: &str) {
        let sent = self.tg.user_sends_text(bot, CHAT, text);
        let needle = format!("You said: \"{text}\"");
        self.tg
            .wait_until(TURN, move |w| {
                w.visible_messages(bot, CHAT).into_iter().find(|m| {
                    m.from_bot == Some(bot)
                        && m.message_id > sent.message_id
                        && !m.deleted
                        && m.contains(&needle)
                })
            })
            .await;
    }
}

#[tokio::test]
async fn a_model_switch_applies_to_the_next_turn_and_restart_keys_are_named_once() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    rig.turn("first question").await;
    assert!(rig.model_of("first question").contains("sonnet"));

    rig.home.edit_config(|c| {
        c["model"] = json!("haiku");
        c["language"] = json!("de");
        c["log_level"] = json!("DEBUG");
    });
    rig.wait_from(rig.bot, CHAT, "log_level").await;
    rig.turn("second question").await;
    let model = rig.model_of("second question");
    assert!(
        model.contains("haiku"),
        "the next turn runs on the new model: {model}"
    );
    let notice = rig.notices_with("log_level");
    assert_eq!(notice.len(), 1, "{notice:#?}");
    let text = notice[0].text.clone().unwrap_or_default();
    assert!(
        text.contains("Neustart") && !text.contains("model"),
        "only the restart key is named, in the new language: {text}"
    );
    rig.tg
        .wait_until(Duration::from_secs(20), |w| {
            w.calls()
                .iter()
                .any(|c| {
                    c.method == "setMyCommands"
                        && c.params.to_string().contains("Neue Sitzung beginnen")
                })
                .then_some(())
        })
        .await;

    // Back to English: the English menu shows the reload is through.
    let menus = rig.tg.calls_of("setMyCommands").len();
    rig.home.edit_config(|c| {
        c["model"] = json!("sonnet");
        c["language"] = json!("en");
        c["log_level"] = json!("DEBUG");
    });
    rig.tg
        .wait_until(Duration::from_secs(20), move |w| {
            (w.calls_of("setMyCommands").len() > menus).then_some(())
        })
        .await;
    rig.turn("third question").await;
    assert!(rig.model_of("third question").contains("sonnet"));
    assert_eq!(
        rig.notices_with("log_level").len(),
        1,
        "a key already named is not named again"
    );
}

#[tokio::test]
async fn a_broken_edit_is_reported_once_and_changes_nothing() {
    let rig = TgRig::start_with(
        "claude",
        "sonnet",
        |_| {},
        |tg, bot| tg.open_private_chat(bot, CHAT),
    )
    .await;
    let path = rig.home.root.join("config/config.json");
    let good = std::fs::read_to_string(&path).unwrap();
    let broken = "{\n  \"model\": \"haiku\"\n  \"provider\": \"claude\"\n}\n";
    std::fs::write(&path, broken).unwrap();
    let notice = rig.wait_from(rig.bot, CHAT, "config/config.json:3:3").await;
    assert!(notice.contains("not applied"), "{:?}", notice.text);

    // The same content saved again is not reported again, and the model stays.
    std::fs::write(&path, broken).unwrap();
    rig.turn("still here?").await;
    assert!(rig.model_of("still here?").contains("sonnet"));

    // A valid edit after it applies; its restart notice shows the watcher got past
    // the earlier save.
    let mut fixed: serde_json::Value = serde_json::from_str(&good).unwrap();
    fixed["update_check"] = json!(false);
    std::fs::write(&path, serde_json::to_vec_pretty(&fixed).unwrap()).unwrap();
    rig.wait_from(rig.bot, CHAT, "update_check").await;
    assert_eq!(
        rig.notices_with("config/config.json:3:3").len(),
        1,
        "reported once"
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        serde_json::to_string_pretty(&fixed).unwrap(),
        "the watcher never rewrites the file"
    );
}

#[tokio::test]
async fn a_sub_agent_follows_its_agents_json_entry_and_the_main_config() {
    let (rig, bots) =
        TgRig::start_with_agents("claude", "sonnet", &[("sub1", "claude", "sonnet")]).await;
    let sub = bots[0];
    rig.turn_with(sub, "sub first").await;
    assert!(rig.model_of("sub first").contains("sonnet"));

    let entry = |model: &str| {
        json!([{
            "name": "sub1", "telegram_token": crate::support::daemon::token(100_000_002),
            "allowed_user_ids": [CHAT], "provider": "claude", "model": model,
            "log_level": "DEBUG"
        }])
    };
    rig.home.write_agents(&entry("haiku"));
    rig.wait_from(sub, CHAT, "log_level").await;
    rig.turn_with(sub, "sub second").await;
    assert!(rig.model_of("sub second").contains("haiku"));

    // A main config change reaches the sub-agent too (the entry does not set it).
    rig.home
        .edit_config(|c| c["slack"]["bot_token"] = json!("xoxb-1"));
    rig.wait_from(sub, CHAT, "slack").await;
    assert!(
        rig.tg
            .bot_messages(sub, CHAT)
            .iter()
            .all(|m| !m.contains("telegram_token")),
        "the sub-agent's identity is not reported as changed"
    );
}
