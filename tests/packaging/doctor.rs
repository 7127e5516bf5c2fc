//! The real `ductor doctor` on a temporary home, against the fake Bot API: a broken
//! home gets one line per problem and exit status 1; a healthy one exit status 0
//! with the bots' names.

use super::support::clis;
use super::support::daemon::{TestHome, token};
use super::support::fake_telegram::FakeTelegram;
use serde_json::json;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

/// Runs `ductor doctor` on `home` with a user environment of its own (no service
/// installed, CLI homes inside the test home) and the test's CLIs on `PATH`.
async fn doctor(home: &TestHome, extra: &[(&str, &str)]) -> (Output, String) {
    let user = home.root.join("user");
    std::fs::create_dir_all(user.join("config")).unwrap();
    let mut cmd = home.ductor();
    cmd.arg("doctor")
        .env("XDG_CONFIG_HOME", user.join("config"))
        .env("PATH", clis::path_with_clis())
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("CLAUDE_CODE_OAUTH_TOKEN")
        .env_remove("DUCTOR_SUPERVISOR");
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let out = tokio::process::Command::from(cmd)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out, text)
}

/// The line of `stdout` marked as a problem that contains every one of `parts`.
fn problem_line<'a>(stdout: &'a str, parts: &[&str]) -> &'a str {
    stdout
        .lines()
        .find(|l| l.starts_with("✗ ") && parts.iter().all(|p| l.contains(p)))
        .unwrap_or_else(|| panic!("no problem line with {parts:?} in\n{stdout}"))
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_on_a_broken_home_lists_each_problem() {
    let tg = FakeTelegram::start().await;
    let home = TestHome::new();
    let config = home.root.join("config/config.json");
    // A syntax error: its file, line and column, and the file is left alone.
    let broken = "{\n  \"telegram_token\": \"1:a\",\n  \"allowed_user_ids\": [1,]\n}\n";
    std::fs::write(&config, broken).unwrap();
    chmod(&config, 0o600);
    let (out, stdout) = doctor(&home, &[]).await;
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    problem_line(&stdout, &[&format!("{}:3:26: ", config.display())]);
    assert_eq!(std::fs::read_to_string(&config).unwrap(), broken);

    // A valid config whose token the Bot API refuses, a time zone that is not one, a
    // readable .env, and a sub-agent whose token is refused too.
    home.write_config(&json!({
        "telegram_token": token(100_000_001),
        "allowed_user_ids": [1_000_001],
        "telegram_api_url": tg.api_url(),
        "user_timezone": "Mars/Olympus",
    }));
    chmod(&config, 0o600);
    let env = home.root.join(".env");
    std::fs::write(&env, "OPENAI_API_KEY=sk-test\n").unwrap();
    chmod(&env, 0o644);
    home.write_agents(&json!([{
        "name": "helper",
        "telegram_token": token(100_000_002),
        "allowed_user_ids": [1_000_001],
    }]));
    chmod(&home.root.join("agents.json"), 0o600);
    let (out, stdout) = doctor(&home, &[]).await;
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    problem_line(&stdout, &["telegram main: ", "Telegram refused this token"]);
    problem_line(
        &stdout,
        &["telegram helper: ", "Telegram refused this token"],
    );
    problem_line(&stdout, &["\"Mars/Olympus\"", "not an IANA time zone"]);
    problem_line(&stdout, &[&env.display().to_string(), "chmod 600"]);
    // No token is ever printed.
    assert!(!stdout.contains(&token(100_000_001)) && !stdout.contains("AAtesttoken"));
    assert!(
        stdout.trim_end().ends_with("fix the lines marked ✗"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_on_a_healthy_home_finds_nothing_and_names_the_bots() {
    let tg = FakeTelegram::start().await;
    tg.add_bot(&token(100_000_001), "healthy_bot");
    tg.add_bot(&token(100_000_002), "helper_bot");
    let home = TestHome::new();
    home.write_config(&json!({
        "telegram_token": token(100_000_001),
        "allowed_user_ids": [1_000_001],
        "telegram_api_url": tg.api_url(),
        "user_timezone": "Europe/Berlin",
        "provider": "claude",
    }));
    chmod(&home.root.join("config/config.json"), 0o600);
    home.write_agents(&json!([{
        "name": "helper",
        "telegram_token": token(100_000_002),
        "allowed_user_ids": [1_000_001],
    }]));
    chmod(&home.root.join("agents.json"), 0o600);
    chmod(&home.root, 0o700);
    let claude = clis::cli_path("claude");
    let (out, stdout) = doctor(&home, &[("ANTHROPIC_API_KEY", "sk-ant-test")]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains('✗'), "{stdout}");
    for line in [
        "· telegram main: the token is valid (@healthy_bot)",
        "· telegram helper: the token is valid (@helper_bot)",
        "· user_timezone: Europe/Berlin",
        "· bus: ductor is not running",
        "· service: not installed",
    ] {
        assert!(
            stdout.lines().any(|l| l.starts_with(line)),
            "{line} missing in\n{stdout}"
        );
    }
    // The clock against the fake server's Date header, and the genuine CLI's version.
    assert!(
        stdout.lines().any(|l| l.starts_with("· clock: within ")),
        "{stdout}"
    );
    let claude_line = stdout
        .lines()
        .find(|l| l.starts_with("· claude (configured): "))
        .unwrap_or_else(|| panic!("no claude line in\n{stdout}"));
    assert!(
        claude_line.contains("(Claude Code)")
            && claude_line.contains(&format!("at {}", claude.display()))
            && claude_line.ends_with("logged in"),
        "{claude_line}"
    );
    assert!(stdout.trim_end().ends_with("no problems found"), "{stdout}");
}
