//! `/diagnose` shows `ductor doctor`'s checks of the home, the live ones included.

use crate::{BOT, CHAT, TgRig};
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

const WAIT: Duration = Duration::from_mins(1);

#[tokio::test]
async fn diagnose_shows_the_doctors_checks() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    // A problem the doctor names: a readable .env.
    let env = rig.home.root.join(".env");
    std::fs::write(&env, "SOME_KEY=x\n").unwrap();
    std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o644)).unwrap();
    rig.say("/diagnose");
    let token_line = format!("telegram main: the token is valid (@{BOT})");
    let d = rig.wait_msg(CHAT, &token_line).await;
    let text = d.text.clone().unwrap_or_default();
    let line = |needle: &str| {
        text.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in\n{text}"))
            .to_owned()
    };
    assert!(line(&token_line).starts_with("· "), "{text}");
    // The agent asks the supervisor's bus, which answers.
    assert!(line("bus: ductor runs (pid").starts_with("· "), "{text}");
    assert!(
        line("claude (configured): ").contains("logged in"),
        "{text}"
    );
    let env_line = line(&format!("{} holds secrets", env.display()));
    assert!(
        env_line.starts_with("✗ ") && env_line.contains("chmod 600"),
        "{text}"
    );
    assert!(!text.contains("AAtesttoken"), "a token leaked: {text}");
}

#[tokio::test]
async fn diagnose_shows_the_codex_cache_every_agents_health_and_the_last_problems() {
    let (rig, _) =
        TgRig::start_with_agents("claude", "sonnet", &[("sub1", "claude", "haiku")]).await;
    let cache = serde_json::json!({
        "last_updated": "2026-11-30T08:15:00+00:00",
        "models": [
            {"id": "gpt-older", "display_name": "Older"},
            {"id": "gpt-house-default", "display_name": "House", "is_default": true},
        ],
    });
    std::fs::write(
        rig.home.root.join("config/codex_models.json"),
        cache.to_string(),
    )
    .unwrap();
    // Problems in the log, one with a bot token in it, among ordinary lines.
    let log = rig.home.root.join("logs/agent.log");
    let mut lines = std::fs::read_to_string(&log).unwrap_or_default();
    lines.push_str(
        "agent=main 2026-12-01T10:00:00.000000Z ERROR ductor::test: upload failed for \
         https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendPhoto\n\
         agent=main 2026-12-01T10:00:01.000000Z  WARN ductor::test: the disk is getting full\n\
         agent=main 2026-12-01T10:00:02.000000Z  INFO ductor::test: an ordinary line\n",
    );
    // A token that a line cut at 300 characters would halve: redacted before the cut.
    let prefix = "agent=main 2026-12-01T10:00:03.000000Z ERROR ductor::test: retrying ";
    let url = "https://api.telegram.org/bot987654321";
    let pad = "x".repeat(285 - prefix.len() - url.len());
    lines.push_str(prefix);
    lines.push_str(&pad);
    lines.push_str(url);
    lines.push_str(":ZZtopSecretTokenValue0123456789abcd/getMe\n");
    std::fs::write(&log, lines).unwrap();
    let asked = rig.say("/diagnose");
    // Long: it may take more than one message; the doctor's checks come last.
    let text: String = rig
        .wait_text(CHAT, asked.message_id, "as ductor doctor shows them", WAIT)
        .await
        .iter()
        .filter_map(|m| m.text.clone())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.contains(
            "Codex models: cache of 2026-11-30 08:15 UTC · 2 models · default gpt-house-default"
        ),
        "{text}"
    );
    assert!(text.contains("main — running"), "{text}");
    assert!(text.contains("sub1 — running"), "{text}");
    let problems = text
        .split("Last warnings and errors")
        .nth(1)
        .unwrap_or_default();
    assert!(problems.contains("upload failed"), "{problems}");
    assert!(problems.contains("the disk is getting full"), "{problems}");
    assert!(
        problems.find("upload failed") < problems.find("the disk is getting full"),
        "oldest first: {problems}"
    );
    let block_end = problems.find("Checks").unwrap_or(problems.len());
    assert!(
        !problems[..block_end].contains("an ordinary line"),
        "only warnings and errors: {problems}"
    );
    assert!(
        !text.contains("AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"),
        "a token leaked: {text}"
    );
    assert!(problems.contains("retrying xxx"), "{problems}");
    assert!(!text.contains("ZZtop"), "a cut token leaked: {text}");
}
