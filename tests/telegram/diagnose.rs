//! `/diagnose` shows `ductor doctor`'s checks of the home, the live ones included.

use crate::{BOT, CHAT, TgRig};
use std::os::unix::fs::PermissionsExt;

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
