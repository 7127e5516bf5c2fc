//! `ductor onboarding` end to end: the real binary in a pseudo-terminal (keys typed as a
//! person types them, Ctrl-C included) and without a terminal (`--yes` and flags),
//! against the fake Bot API on loopback: a malformed and a refused token are named in
//! one sentence and asked again, a good one shows the bot's @name, the user id is picked
//! up from a `/start`, the config is written once and privately, and a cancel writes
//! nothing.

#[path = "../support/mod.rs"]
mod support;

use rexpect::session::PtySession;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use support::daemon::{bin, token};
use support::fake_telegram::{BotId, DEFAULT_USER_ID, FakeTelegram};

/// A machine for the wizard: an empty home, a user home without CLI logins, no CLIs on
/// `PATH`, a fixed timezone.
struct Machine {
    dir: tempfile::TempDir,
}

impl Machine {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("user")).unwrap();
        Self { dir }
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("ductor home")
    }

    fn config(&self) -> PathBuf {
        self.home().join("config/config.json")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin("ductor"));
        cmd.arg("--home").arg(self.home()).args(args);
        cmd.env_clear()
            .env("HOME", self.dir.path().join("user"))
            .env("PATH", "/usr/bin:/bin")
            .env("TZ", "Europe/Berlin")
            .env("TERM", "xterm");
        cmd
    }

    fn config_json(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.config()).unwrap()).unwrap()
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

const BOT_TOKEN: u64 = 100_700_001;

async fn fake_with_bot() -> (FakeTelegram, BotId) {
    let fake = FakeTelegram::start().await;
    let bot = fake.add_bot(&token(BOT_TOKEN), "wizard_bot");
    (fake, bot)
}

fn spawn(cmd: Command) -> PtySession {
    rexpect::session::spawn_with_options(
        cmd,
        rexpect::reader::Options::new()
            .timeout_ms(Some(30_000))
            .strip_ansi_escape_codes(true),
    )
    .expect("the wizard starts in a pseudo-terminal")
}

/// Types `keys` (no newline) and makes sure they reach the terminal.
fn key(p: &mut PtySession, keys: &str) -> Result<(), rexpect::error::Error> {
    p.send(keys)?;
    p.flush()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wizard_checks_the_token_picks_up_the_user_and_writes_the_config() {
    let (fake, bot) = fake_with_bot().await;
    let m = Machine::new();
    let cmd = m.command(&[
        "onboarding",
        "--telegram-api-url",
        &fake.api_url(),
        "--sandbox",
        "none",
        "--no-service",
    ]);
    let sender = fake.clone();
    let typed = tokio::task::spawn_blocking(move || -> Result<(), rexpect::error::Error> {
        let mut p = spawn(cmd);
        p.exp_string("claude")?;
        p.exp_string("not found: npm install -g @anthropic-ai/claude-code")?;
        p.exp_string("Continue?")?;
        key(&mut p, "y")?;
        p.exp_string("Chat transport")?;
        key(&mut p, "\r")?;
        p.exp_string("Bot token")?;
        p.send_line("just some text")?;
        p.exp_string("this is not a bot token")?;
        p.exp_string("Bot token")?;
        // Well formed, but not a token the server knows.
        p.send_line(&token(100_700_002))?;
        p.exp_string("Telegram refused this token (401 Unauthorized)")?;
        p.exp_string("Bot token")?;
        p.send_line(&token(BOT_TOKEN))?;
        p.exp_string("the token belongs to @wizard_bot")?;
        p.exp_string("Allowed user ids")?;
        p.send_line("")?;
        p.exp_string("Send /start to @wizard_bot")?;
        sender.user_sends_text(bot, DEFAULT_USER_ID, "/start");
        p.exp_string(&format!("Allow Alice @alice (id {DEFAULT_USER_ID})?"))?;
        key(&mut p, "y")?;
        p.exp_string("Group ids")?;
        p.send_line("-1001234")?;
        p.exp_string("Provider")?;
        key(&mut p, "\r")?;
        p.exp_string("Model")?;
        key(&mut p, "\r")?;
        p.exp_string("Timezone")?;
        p.send_line("Mars/Olympus")?;
        p.exp_string("`Mars/Olympus` is not an IANA timezone")?;
        p.exp_string("Timezone")?;
        p.send_line("")?;
        p.exp_string("Write this to")?;
        key(&mut p, "y")?;
        p.exp_string("wrote")?;
        p.exp_string("Start ductor with:")?;
        p.exp_eof()?;
        Ok(())
    })
    .await
    .unwrap();
    typed.expect("the wizard went as a person would see it");
    let c = m.config_json();
    assert_eq!(c["telegram_token"], token(BOT_TOKEN));
    assert_eq!(c["allowed_user_ids"], serde_json::json!([DEFAULT_USER_ID]));
    assert_eq!(c["allowed_group_ids"], serde_json::json!([-1_001_234]));
    assert_eq!(c["telegram_api_url"], fake.api_url());
    assert_eq!(
        c["user_timezone"], "Europe/Berlin",
        "the detected zone is the default"
    );
    assert_eq!(c["provider"], "claude");
    assert_eq!(c["sandbox"]["backend"], "none");
    assert!(c.get("streaming").is_some(), "merged with the defaults");
    assert_eq!(mode(&m.config()), 0o600);
    assert_eq!(mode(&m.home()), 0o700);
    // The /start that gave the id was acknowledged: the agent will not answer it later.
    assert_eq!(fake.queued_updates(bot), 0, "the /start was confirmed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_at_the_hidden_token_prompt_writes_nothing() {
    let (fake, _bot) = fake_with_bot().await;
    let m = Machine::new();
    let cmd = m.command(&["onboarding", "--telegram-api-url", &fake.api_url()]);
    let run = tokio::task::spawn_blocking(move || -> Result<String, rexpect::error::Error> {
        let mut p = spawn(cmd);
        p.exp_string("Continue?")?;
        key(&mut p, "y")?;
        p.exp_string("Chat transport")?;
        key(&mut p, "\r")?;
        p.exp_string("Bot token")?;
        // Half a token typed (hidden), then Ctrl-C.
        key(&mut p, "1234")?;
        p.send_control('c')?;
        p.exp_string("cancelled: nothing was written")?;
        p.exp_eof()
    })
    .await
    .unwrap();
    run.expect("Ctrl-C ends the wizard with its sentence");
    assert!(!m.config().exists(), "no config");
    assert!(!m.home().exists(), "not even the home was made");
}

fn run_plain(cmd: &mut Command) -> (i32, String) {
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yes_with_flags_sets_up_without_a_terminal() {
    let (fake, _bot) = fake_with_bot().await;
    let m = Machine::new();
    let token_file = m.dir.path().join("token");
    std::fs::write(&token_file, format!("{}\n", token(BOT_TOKEN))).unwrap();
    let api = fake.api_url();
    let base = |extra: &[&str]| {
        let mut args = vec![
            "onboarding",
            "--yes",
            "--telegram-api-url",
            api.as_str(),
            "--provider",
            "codex",
            "--sandbox",
            "none",
            "--timezone",
            "America/New_York",
            "--no-service",
        ];
        args.extend_from_slice(extra);
        m.command(&args)
    };
    let token_arg = token_file.to_str().unwrap();

    let (code, text) =
        tokio::task::block_in_place(|| run_plain(&mut base(&["--token-file", token_arg])));
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("--users"),
        "the missing answer names its flag: {text}"
    );
    assert!(!m.config().exists());

    let wrong = m.dir.path().join("wrong");
    std::fs::write(&wrong, token(100_700_009)).unwrap();
    let (code, text) = tokio::task::block_in_place(|| {
        run_plain(&mut base(&[
            "--token-file",
            wrong.to_str().unwrap(),
            "--users",
            "5",
        ]))
    });
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("Telegram refused this token"), "{text}");
    assert!(
        !text.contains("AAtesttoken"),
        "the token is never printed: {text}"
    );
    assert!(!m.config().exists());

    let (code, text) = tokio::task::block_in_place(|| {
        run_plain(&mut base(&[
            "--token-file",
            token_arg,
            "--users",
            "5,6",
            "--groups",
            "-100",
        ]))
    });
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("@wizard_bot"), "{text}");
    let c = m.config_json();
    assert_eq!(c["allowed_user_ids"], serde_json::json!([5, 6]));
    assert_eq!(c["allowed_group_ids"], serde_json::json!([-100]));
    assert_eq!(c["provider"], "codex");
    assert_eq!(c["user_timezone"], "America/New_York");

    // Run again on the configured home: the current answers are the defaults, and
    // every other key the user had set is kept.
    let path = m.config();
    let mut edited = m.config_json();
    edited["language"] = "de".into();
    std::fs::write(&path, serde_json::to_string_pretty(&edited).unwrap()).unwrap();
    let (code, text) = tokio::task::block_in_place(|| {
        let mut again = m.command(&["onboarding", "--yes", "--no-service", "--timezone", "UTC"]);
        run_plain(&mut again)
    });
    assert_eq!(code, 0, "{text}");
    let c = m.config_json();
    assert_eq!(c["allowed_user_ids"], serde_json::json!([5, 6]), "kept");
    assert_eq!(c["provider"], "codex", "kept");
    assert_eq!(c["language"], "de", "an unrelated key is kept");
    assert_eq!(c["user_timezone"], "UTC");
}

#[test]
fn an_unconfigured_start_without_a_terminal_points_to_the_wizard() {
    let m = Machine::new();
    let (code, text) = run_plain(&mut m.command(&[]));
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("ductor onboarding"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_add_checks_the_token_live_and_asks_for_it_hidden() {
    let (fake, _bot) = fake_with_bot().await;
    let helper = token(100_700_003);
    fake.add_bot(&helper, "helper_bot");
    let m = Machine::new();
    let token_file = m.dir.path().join("token");
    std::fs::write(&token_file, token(BOT_TOKEN)).unwrap();
    let mut setup = m.command(&[
        "onboarding",
        "--yes",
        "--no-service",
        "--telegram-api-url",
        &fake.api_url(),
        "--token-file",
        token_file.to_str().unwrap(),
        "--users",
        "7",
    ]);
    let (code, text) = tokio::task::block_in_place(|| run_plain(&mut setup));
    assert_eq!(code, 0, "{text}");

    // A token Telegram refuses is not added.
    let refused = m.dir.path().join("refused");
    std::fs::write(&refused, token(100_700_004)).unwrap();
    let mut add = m.command(&[
        "agents",
        "add",
        "news",
        "--token-file",
        refused.to_str().unwrap(),
        "--users",
        "7",
    ]);
    let (code, text) = tokio::task::block_in_place(|| run_plain(&mut add));
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("Telegram refused this token"), "{text}");
    assert!(
        !m.home().join("agents.json").exists()
            || !std::fs::read_to_string(m.home().join("agents.json"))
                .unwrap()
                .contains("news")
    );

    // On a terminal the token is asked for hidden, re-asked when refused.
    let cmd = m.command(&[
        "agents",
        "add",
        "news",
        "--users",
        "7",
        "--provider",
        "gemini",
        "--model",
        "auto",
    ]);
    let helper_typed = helper.clone();
    let typed = tokio::task::spawn_blocking(move || -> Result<String, rexpect::error::Error> {
        let mut p = spawn(cmd);
        p.exp_string("Telegram bot token")?;
        p.send_line(&token(100_700_005))?;
        p.exp_string("Telegram refused this token")?;
        p.exp_string("Telegram bot token")?;
        p.send_line(&helper_typed)?;
        p.exp_string("the token belongs to @helper_bot")?;
        p.exp_eof()
    })
    .await
    .unwrap()
    .expect("agents add asks for the token on the terminal");
    assert!(
        !typed.contains("AAtesttoken"),
        "the typed token is not echoed: {typed}"
    );
    let agents: Value =
        serde_json::from_str(&std::fs::read_to_string(m.home().join("agents.json")).unwrap())
            .unwrap();
    assert_eq!(agents[0]["name"], "news");
    assert_eq!(agents[0]["telegram_token"], helper);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_keeps_or_removes_the_data_as_asked() {
    let (fake, _bot) = fake_with_bot().await;
    let m = Machine::new();
    let token_file = m.dir.path().join("token");
    std::fs::write(&token_file, token(BOT_TOKEN)).unwrap();
    let api = fake.api_url();
    let tf = token_file.to_str().unwrap().to_owned();
    let run = |verb: &str, users: &str, extra: &[&str]| {
        let mut args = vec![
            verb,
            "--yes",
            "--no-service",
            "--telegram-api-url",
            api.as_str(),
            "--token-file",
            tf.as_str(),
            "--users",
            users,
        ];
        args.extend_from_slice(extra);
        let mut cmd = m.command(&args);
        tokio::task::block_in_place(|| run_plain(&mut cmd))
    };
    let (code, text) = run("onboarding", "7", &[]);
    assert_eq!(code, 0, "{text}");
    let kept_file = m.home().join("sessions.json");
    std::fs::write(&kept_file, "{}").unwrap();

    let (code, text) = run("reset", "8", &["--keep-data"]);
    assert_eq!(code, 0, "{text}");
    assert!(kept_file.exists(), "kept: {text}");
    assert_eq!(m.config_json()["allowed_user_ids"], serde_json::json!([8]));

    let (code, text) = run("reset", "7", &["--remove-data"]);
    assert_eq!(code, 0, "{text}");
    assert!(!kept_file.exists(), "removed: {text}");
    assert!(
        m.home().join("workspace").is_dir(),
        "the home is seeded again"
    );
    assert_eq!(m.config_json()["allowed_user_ids"], serde_json::json!([7]));
}

/// A loopback server answering `/_matrix/client/versions` like a homeserver.
async fn fake_homeserver() -> String {
    use warp::Filter;
    let versions = warp::path!("_matrix" / "client" / "versions")
        .map(|| warp::reply::json(&serde_json::json!({"versions": ["v1.11"]})));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(warp::serve(versions).incoming(listener).run());
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_is_set_up_from_flags_after_the_homeserver_answers() {
    let homeserver = fake_homeserver().await;
    let m = Machine::new();
    let password = m.dir.path().join("password");
    std::fs::write(&password, "correct horse\n").unwrap();
    let args = |server: &str| {
        m.command(&[
            "onboarding",
            "--yes",
            "--no-service",
            "--transport",
            "matrix",
            "--matrix-homeserver",
            server,
            "--matrix-user",
            "@bot:localhost",
            "--matrix-password-file",
            password.to_str().unwrap(),
            "--matrix-users",
            "@me:localhost",
            "--provider",
            "gemini",
            "--timezone",
            "UTC",
        ])
    };
    // Something that is not a homeserver (the fake answers 404 elsewhere) is refused.
    let mut wrong = args(&format!("{homeserver}/not-here"));
    let (code, text) = tokio::task::block_in_place(|| run_plain(&mut wrong));
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("is not a Matrix homeserver"), "{text}");
    assert!(!m.config().exists());

    let mut right = args(&homeserver);
    let (code, text) = tokio::task::block_in_place(|| run_plain(&mut right));
    assert_eq!(code, 0, "{text}");
    let c = m.config_json();
    assert_eq!(c["transport"], "matrix");
    assert_eq!(c["transports"], serde_json::json!(["matrix"]));
    assert_eq!(c["matrix"]["homeserver"], homeserver);
    assert_eq!(c["matrix"]["user_id"], "@bot:localhost");
    assert_eq!(c["matrix"]["password"], "correct horse");
    assert_eq!(
        c["matrix"]["allowed_users"],
        serde_json::json!(["@me:localhost"])
    );
    assert!(
        !text.contains("correct horse"),
        "the password is never printed: {text}"
    );
}
