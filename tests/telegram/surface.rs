//! The rest of the command surface: model switching, directives, file browser,
//! restart, topics, diagnostics.

use super::{BOT, CHAT, TgRig};
use crate::support::daemon::agent_pid;
use crate::support::fake_telegram::{Incoming, MessageView};
use crate::support::mock_llm::Api;
use serde_json::{Value, json};
use std::time::Duration;

const TURN: Duration = Duration::from_mins(1);

impl TgRig {
    /// Waits for a bot message in `chat` (any thread) containing `needle`.
    pub(crate) async fn wait_msg(&self, chat: i64, needle: &str) -> MessageView {
        let bot = self.bot;
        let needle = needle.to_owned();
        self.tg
            .wait_until(TURN, move |w| {
                w.visible_messages(bot, chat)
                    .into_iter()
                    .rev()
                    .find(|m| m.from_bot == Some(bot) && !m.deleted && m.contains(&needle))
            })
            .await
    }

    /// Waits until message `id` contains `needle`.
    pub(crate) async fn wait_edit(&self, chat: i64, id: i32, needle: &str) -> MessageView {
        let bot = self.bot;
        let needle = needle.to_owned();
        self.tg
            .wait_until(TURN, move |w| {
                w.message(bot, chat, id).filter(|m| m.contains(&needle))
            })
            .await
    }

    fn config(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.home.root.join("config/config.json")).unwrap())
            .unwrap()
    }

    /// Walks the `/model` wizard to `provider` / `model` (picking `medium` effort when asked).
    async fn switch_model(&self, provider: &str, model: &str) -> MessageView {
        self.say("/model");
        let menu = self.wait_msg(CHAT, "Choose a provider").await;
        self.tg
            .user_presses_button(self.bot, CHAT, menu.message_id, &format!("ms:p:{provider}"));
        let id = menu.message_id;
        let models = self.wait_edit(CHAT, id, "model").await;
        assert!(
            models.callback_data().contains(&format!("ms:m:{model}")),
            "{:?}",
            models.callback_data()
        );
        self.tg
            .user_presses_button(self.bot, CHAT, id, &format!("ms:m:{model}"));
        let next = self
            .tg
            .wait_until(TURN, move |w| {
                w.message(self.bot, CHAT, id)
                    .filter(|m| m.contains("Reasoning effort for") || m.contains("Model switched"))
            })
            .await;
        if next.contains("Reasoning effort for") {
            self.tg
                .user_presses_button(self.bot, CHAT, id, &format!("ms:r:medium:{model}"));
            return self.wait_edit(CHAT, id, "Model switched").await;
        }
        next
    }
}

#[tokio::test]
async fn model_wizard_switches_providers_and_each_resumes_its_own_session() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    let one = rig.say("one");
    rig.wait_msg(CHAT, "You said: \"one\"").await;
    let claude_sid = rig.wait_session("claude", |s| s.is_some()).await.unwrap();
    let _ = one;

    let summary = rig.switch_model("codex", "gpt-5.5").await;
    assert!(
        summary.contains("claude / sonnet → codex / gpt-5.5"),
        "{summary:?}"
    );
    let cfg = rig.config();
    assert_eq!(
        (cfg["provider"].as_str(), cfg["model"].as_str()),
        (Some("codex"), Some("gpt-5.5"))
    );
    assert!(cfg["streaming"].is_object(), "other keys kept");
    rig.say("two");
    rig.wait_msg(CHAT, "You said: \"two\" (prior_assistant_turns=0)")
        .await;
    assert_eq!(rig.mock.requests().last().unwrap().api, Api::OpenAi);
    let codex_sid = rig.wait_session("codex", |s| s.is_some()).await.unwrap();

    let summary = rig.switch_model("claude", "sonnet").await;
    let short: String = claude_sid.chars().take(8).collect();
    assert!(
        summary.contains(&format!("Resumes session {short}")),
        "{summary:?}"
    );
    assert!(summary.contains("1 message"), "{summary:?}");
    assert_eq!(rig.config()["provider"], "claude");
    rig.say("three");
    rig.wait_msg(CHAT, "You said: \"three\" (prior_assistant_turns=1)")
        .await;
    assert_eq!(
        rig.mock.requests().last().unwrap().session_id(),
        Some(claude_sid.as_str())
    );

    rig.switch_model("codex", "gpt-5.5").await;
    rig.say("four");
    rig.wait_msg(CHAT, "You said: \"four\" (prior_assistant_turns=1)")
        .await;
    assert_eq!(rig.session_id("codex"), Some(codex_sid));
}

#[tokio::test]
async fn a_directive_runs_one_turn_elsewhere_without_changing_the_default() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    rig.say("@codex hi there");
    rig.wait_msg(CHAT, "You said: \"hi there\"").await;
    let codex = rig.mock.requests().pop().unwrap();
    assert_eq!(codex.api, Api::OpenAi);
    assert_eq!(
        codex.last_user_text, "hi there",
        "the directive is not part of the prompt"
    );
    assert_eq!(rig.config()["provider"], "claude");
    rig.say("and now");
    rig.wait_msg(CHAT, "You said: \"and now\"").await;
    assert_eq!(rig.mock.requests().last().unwrap().api, Api::Anthropic);
    rig.say("@gpt-5.5");
    rig.wait_msg(CHAT, "Next message will use: gpt-5.5").await;
    let n = rig.mock.requests().len();
    rig.say("write to email@opus.example");
    rig.wait_msg(CHAT, "You said: \"write to email@opus.example\"")
        .await;
    let reqs = rig.mock.requests();
    assert_eq!(reqs.len(), n + 1, "a directive-only message runs nothing");
    let last = reqs.last().unwrap();
    assert_eq!(
        last.api,
        Api::Anthropic,
        "a directive alone persists nothing (its reply says to send `@gpt-5.5 <text>`); an address in the text is no directive"
    );
    assert_eq!(last.last_user_text, "write to email@opus.example");
}

#[tokio::test]
async fn effort_applies_to_this_conversation() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    rig.say("before");
    rig.wait_msg(CHAT, "You said: \"before\"").await;
    let first = rig.mock.requests().pop().unwrap();
    assert_eq!(
        first.body["output_config"]["effort"], "medium",
        "{}",
        first.body
    );
    rig.say("/effort");
    let menu = rig.wait_msg(CHAT, "Reasoning effort for").await;
    assert!(menu.callback_data().contains(&"ms:e:high".to_owned()));
    rig.tg
        .user_presses_button(rig.bot, CHAT, menu.message_id, "ms:e:high");
    rig.wait_edit(CHAT, menu.message_id, "high").await;
    let sessions: Value = serde_json::from_slice(
        &std::fs::read(rig.home.root.join("sessions.json")).unwrap_or_default(),
    )
    .unwrap_or(json!({}));
    let _ = sessions;
    rig.say("hello");
    rig.wait_msg(CHAT, "You said: \"hello\"").await;
    // What reached the model API: claude asks for this effort.
    let last = rig.mock.requests().pop().unwrap();
    assert_eq!(
        last.body["output_config"]["effort"], "high",
        "{}",
        last.body
    );
    let sessions: Value =
        serde_json::from_slice(&std::fs::read(rig.home.root.join("sessions.json")).unwrap())
            .unwrap();
    assert_eq!(sessions[format!("tg:{CHAT}")]["reasoning_effort"], "high");
    assert_eq!(
        rig.config()["reasoning_effort"],
        "medium",
        "the default is untouched"
    );
}

#[tokio::test]
async fn showfiles_browses_into_folders_and_refuses_escapes() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    std::fs::write(rig.home.root.join("workspace/notes.txt"), "n").unwrap();
    rig.say("/showfiles");
    let root = rig.wait_msg(CHAT, "📁").await;
    assert!(
        root.callback_data().contains(&"sf:workspace".to_owned()),
        "{:?}",
        root.callback_data()
    );
    rig.tg
        .user_presses_button(rig.bot, CHAT, root.message_id, "sf:workspace");
    let ws = rig.wait_edit(CHAT, root.message_id, "notes.txt").await;
    assert!(
        ws.callback_data().contains(&"sf:".to_owned()),
        "an Up button"
    );
    rig.tg
        .user_sends_callback(rig.bot, CHAT, root.message_id, "sf:../");
    rig.wait_edit(CHAT, root.message_id, "outside the ductor home")
        .await;
    rig.say("/showfiles ../..");
    rig.wait_msg(CHAT, "outside the ductor home").await;
    // Secrets are neither listed nor opened.
    assert!(
        !root
            .callback_data()
            .iter()
            .any(|d| d == "sf:config" || d == "sf:run"),
        "{:?}",
        root.callback_data()
    );
    rig.say("/showfiles config");
    rig.wait_msg(CHAT, "holds secrets").await;
}

#[tokio::test]
async fn restart_replaces_the_agent_process_and_says_so() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    let h = rig.home.health().await.unwrap();
    let old = agent_pid(&h, "main");
    rig.say("/restart");
    rig.wait_msg(CHAT, "Restarting").await;
    rig.wait_msg(CHAT, "Restarted.").await;
    let h = rig.home.health().await.unwrap();
    let new = agent_pid(&h, "main");
    assert_ne!(old, new, "a new agent process");
    assert!(
        !rig.home.root.join("restart-sentinel.json").exists(),
        "sentinel consumed"
    );
    let main = h.agents.iter().find(|a| a.name == "main").unwrap();
    assert_eq!(main.restart_count, 1);
    assert!(
        main.last_error.is_none(),
        "exit 42 is not a crash: {main:?}"
    );
}

#[tokio::test]
async fn a_forum_topic_has_its_own_session_and_gets_answers_in_the_topic() {
    let gid = std::cell::Cell::new(0);
    let rig = TgRig::start_with(
        "claude",
        "sonnet",
        |c| c["allowed_group_ids"] = json!([gid.get()]),
        |tg, bot| {
            let g = tg.create_supergroup("Projects", true);
            tg.bot_added_to_chat(bot, g, super::CHAT, true);
            gid.set(g);
        },
    )
    .await;
    let gid = gid.get();
    rig.say("in private");
    rig.wait_msg(CHAT, "You said: \"in private\"").await;
    let topic = rig
        .tg
        .user_creates_topic(rig.bot, gid, "Backend")
        .message_id;
    rig.tg.user_sends(
        rig.bot,
        gid,
        Incoming::text("in the topic").in_thread(topic),
    );
    let answer = rig.wait_msg(gid, "You said: \"in the topic\"").await;
    assert_eq!(answer.thread_id, Some(topic));
    let typing_in_topic = rig
        .tg
        .calls_of("sendChatAction")
        .iter()
        .any(|c| c.param_i64("message_thread_id") == Some(i64::from(topic)));
    assert!(typing_in_topic);
    let start = std::time::Instant::now();
    let (topic_sid, private_sid) = loop {
        let v: Value =
            serde_json::from_slice(&std::fs::read(rig.home.root.join("sessions.json")).unwrap())
                .unwrap();
        let t = v[format!("tg:{gid}:{topic}")].clone();
        let p = v[format!("tg:{CHAT}")].clone();
        if t["provider_sessions"]["claude"]["session_id"].is_string() {
            assert_eq!(t["topic_name"], "Backend");
            break (
                t["provider_sessions"]["claude"]["session_id"].clone(),
                p["provider_sessions"]["claude"]["session_id"].clone(),
            );
        }
        assert!(start.elapsed() < TURN);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_ne!(topic_sid, private_sid, "own session per topic");
    let _ = BOT;
}

#[tokio::test]
async fn diagnose_memory_info_and_where() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    rig.say("/diagnose");
    let d = rig.wait_msg(CHAT, "Last 50 log lines").await;
    assert!(d.contains("connected to Telegram"), "{:?}", d.text);
    assert!(d.contains("[claude] authenticated"));
    std::fs::write(
        rig.home.root.join("workspace/memory_system/MAINMEMORY.md"),
        "# Main Memory\n- likes **tea**\n",
    )
    .unwrap();
    rig.say("/memory");
    rig.wait_msg(CHAT, "likes tea").await;
    rig.say("/info");
    rig.wait_msg(CHAT, ductor::VERSION).await;
    rig.say("/where");
    rig.wait_msg(CHAT, &CHAT.to_string()).await;
    rig.say("/agent_commands");
    rig.wait_msg(CHAT, "ductor ask").await;
    let commands = rig.tg.commands(rig.bot);
    assert!(commands.iter().any(|(c, _)| c == "model"));
    assert!(commands.iter().any(|(c, _)| c == "diagnose"));
}

#[tokio::test]
async fn an_unallowed_group_is_left_with_a_notice() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    let gid = rig.tg.create_supergroup("Random", false);
    rig.tg.bot_added_to_chat(rig.bot, gid, CHAT, false);
    rig.tg
        .wait_until(TURN, |w| (w.count("leaveChat") > 0).then_some(()))
        .await;
    let notice = rig
        .tg
        .calls_of("sendMessage")
        .into_iter()
        .find(|c| c.param_i64("chat_id") == Some(gid))
        .expect("a notice before leaving");
    assert!(
        notice
            .param_str("text")
            .unwrap()
            .contains("not on my allow list")
    );
    let path = rig.home.root.join("chat_activity.json");
    let start = std::time::Instant::now();
    loop {
        let activity: Value = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null);
        if activity["records"][gid.to_string()]["status"] == "auto_left" {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "not recorded: {activity}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn german_ui_strings_when_configured() {
    let rig = TgRig::start("claude", "sonnet", |c| c["language"] = json!("de")).await;
    rig.say("/stop");
    rig.wait_msg(CHAT, "Gerade läuft nichts.").await;
    let commands = rig.tg.commands(rig.bot);
    assert!(
        commands
            .iter()
            .any(|(c, d)| c == "new" && d.contains("Sitzung")),
        "{commands:?}"
    );
}
