//! The `ductor` command line: config errors, status, agents add/list/remove.

use crate::support::daemon::{TestHome, token};
use serde_json::Value;
use std::time::Duration;

#[test]
fn malformed_config_is_a_one_line_error_and_stays_untouched() {
    let home = TestHome::new();
    let path = home.root.join("config/config.json");
    let text = "{\n  \"telegram_token\": \"x\",\n  \"allowed_user_ids\": [1,]\n}\n";
    std::fs::write(&path, text).unwrap();
    let out = home.run(&[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("config.json") && err.contains("line 3"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn extreme_numbers_in_the_config_are_named_at_start() {
    let home = TestHome::new();
    home.edit_config(|c| {
        c["timeouts"]["normal"] = serde_json::json!(-5);
        c["supervisor"]["restart_backoff_seconds"] = serde_json::json!([1, 1e300]);
    });
    let before = std::fs::read(home.root.join("config/config.json")).unwrap();
    let out = home.run(&[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("timeouts.normal: -5")
            && err.contains("supervisor.restart_backoff_seconds[1]"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(home.root.join("config/config.json")).unwrap(),
        before,
        "the file is left as it was"
    );
}

#[test]
fn malformed_agents_json_at_start_is_a_one_line_error() {
    let home = TestHome::new();
    home.write_agents_raw(b"[{\"name\": \"a\"}");
    let out = home.run(&[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("agents.json") && err.contains("line 1"),
        "{err}"
    );
}

#[test]
fn unconfigured_home_names_the_missing_keys_and_exits_2() {
    let home = TestHome::new();
    std::fs::remove_file(home.root.join("config/config.json")).unwrap();
    let out = home.run(&[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("config.json")
            && err.contains("telegram_token")
            && err.contains("allowed_user_ids"),
        "{err}"
    );
    // The defaults were written so the user can fill them in.
    let cfg: Value =
        serde_json::from_slice(&std::fs::read(home.root.join("config/config.json")).unwrap())
            .unwrap();
    assert_eq!(cfg["streaming"]["edit_interval_seconds"], 2.0);
    assert_eq!(cfg["telegram_api_url"], "https://api.telegram.org");
}

#[tokio::test]
async fn status_works_stopped_and_running() {
    let home = TestHome::new();
    let out = home.run(&["status"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).contains("not running"));
    let daemon = home.start();
    home.wait_running(&["main"], Duration::from_secs(10)).await;
    let out = home.run(&["status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(&format!("running (pid {}", daemon.pid())),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("main") && l.contains("running")),
        "{text}"
    );
}

#[tokio::test]
async fn agents_add_list_remove() {
    let home = TestHome::new();
    let add = |args: &[&str]| {
        let mut all = vec!["agents", "add"];
        all.extend_from_slice(args);
        home.run(&all)
    };
    let t = token(100_000_005);
    let out = add(&[
        "helper",
        "--token",
        &t,
        "--users",
        "1,2",
        "--provider",
        "codex",
        "--model",
        "gpt-5.5",
    ]);
    assert!(out.status.success(), "{out:?}");
    let agents: Value =
        serde_json::from_slice(&std::fs::read(home.root.join("agents.json")).unwrap()).unwrap();
    assert_eq!(agents[0]["name"], "helper");
    assert_eq!(agents[0]["allowed_user_ids"], serde_json::json!([1, 2]));
    assert_eq!(agents[0]["provider"], "codex");

    for (args, want) in [
        (
            vec!["helper", "--token", t.as_str(), "--users", "1"],
            "already exists",
        ),
        (
            vec!["main", "--token", t.as_str(), "--users", "1"],
            "reserved",
        ),
        (
            vec!["bad name", "--token", t.as_str(), "--users", "1"],
            "lower-case",
        ),
        (
            vec!["other", "--token", "nope", "--users", "1"],
            "bot token",
        ),
        (vec!["other", "--token", t.as_str()], "user id"),
    ] {
        let out = add(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
    let out = home.run(&["agents", "list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("helper") && text.contains("codex") && text.contains("main"),
        "{text}"
    );

    std::fs::create_dir_all(home.root.join("agents/helper/workspace")).unwrap();
    let out = home.run(&["agents", "remove", "helper"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&home.root.join("agents/helper").display().to_string()),
        "{text}"
    );
    assert!(
        home.root.join("agents/helper/workspace").is_dir(),
        "data kept"
    );
    let agents: Value =
        serde_json::from_slice(&std::fs::read(home.root.join("agents.json")).unwrap()).unwrap();
    assert_eq!(agents, serde_json::json!([]));
    assert_eq!(
        home.run(&["agents", "remove", "helper"]).status.code(),
        Some(1)
    );
}

#[test]
fn completions_and_version() {
    let home = TestHome::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = home.run(&["completions", shell]);
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("ductor"));
    }
    let out = home.run(&["--version"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(ductor::VERSION));
    let out = std::process::Command::new(crate::support::daemon::bin("ductor-agent"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("started and supervised by `ductor`"));
}

#[test]
fn ductor_keeps_its_files_private_and_gives_the_cli_the_users_umask() {
    use std::os::unix::fs::PermissionsExt;
    let home = TestHome::new();
    // An open home from an earlier version, and a config others can read.
    std::fs::set_permissions(&home.root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = home.root.join("config/config.json");
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = home.run(&["doctor"]);
    assert_eq!(out.status.code(), Some(1));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("config.json holds secrets") && report.contains("chmod 700"),
        "{report}"
    );
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(&home.root, std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = home.run(&["doctor"]);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(!report.contains("holds secrets"), "{report}");
    // The per-run reaper restores the user's umask for the CLI (ductor's own is 077).
    let bin = crate::support::daemon::bin("ductor-agent");
    let out = std::process::Command::new(bin)
        .args([
            "__reap",
            "--",
            "sh",
            "-c",
            "umask; echo ${DUCTOR_USER_UMASK:-gone}",
        ])
        .env("DUCTOR_USER_UMASK", "027")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "0027\ngone\n");
}

#[test]
fn uninstall_asks_before_deleting_the_home_and_keeps_it_unless_told() {
    use std::io::Write as _;
    let home = TestHome::new();
    let uninstall = |args: &[&str], answer: &str| {
        let mut child = home
            .ductor()
            .arg("uninstall")
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(answer.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, text) = uninstall(&[], "n\n");
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("[y/N]") && text.contains("kept"), "{text}");
    assert!(home.root.join("config/config.json").exists());
    let (_, text) = uninstall(&[], "\n");
    assert!(text.contains("kept"), "an empty answer keeps it: {text}");
    let (_, text) = uninstall(&["--keep-home"], "");
    assert!(text.contains("kept") && !text.contains("[y/N]"), "{text}");
    let (code, text) = uninstall(&[], "yes\n");
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("deleted") && text.contains("cargo uninstall ductor"),
        "{text}"
    );
    assert!(!home.root.exists());
}

#[tokio::test]
async fn uninstall_stops_a_running_ductor_before_deleting_its_home() {
    let home = TestHome::new();
    let mut daemon = home.start();
    home.wait_running(&["main"], Duration::from_secs(10)).await;
    let out = home.run(&["uninstall", "--yes"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("ductor stopped") && text.contains("deleted"),
        "{text}"
    );
    assert_eq!(
        daemon.wait(Duration::from_secs(10)),
        Some(0),
        "the supervisor ended"
    );
    assert!(!home.root.exists());
}

#[test]
fn agents_add_reads_the_token_from_a_file_or_stdin_never_needing_argv() {
    use std::io::Write as _;
    let home = TestHome::new();
    let file = home.root.join("tok.txt");
    std::fs::write(&file, format!("\n  {}  \n", token(100_000_006))).unwrap();
    let out = home.run(&[
        "agents",
        "add",
        "filed",
        "--token-file",
        file.to_str().unwrap(),
        "--users",
        "1",
        "--description",
        "reads the news",
    ]);
    assert!(out.status.success(), "{out:?}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("process list"));
    let mut child = home
        .ductor()
        .args([
            "agents",
            "add",
            "piped",
            "--token-file",
            "-",
            "--users",
            "1",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let piped = token(100_000_007);
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{piped}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let agents: Value =
        serde_json::from_slice(&std::fs::read(home.root.join("agents.json")).unwrap()).unwrap();
    assert_eq!(agents[0]["telegram_token"], token(100_000_006));
    assert_eq!(agents[0]["description"], "reads the news");
    assert_eq!(agents[1]["telegram_token"], piped);
    let empty = home.root.join("empty.txt");
    std::fs::write(&empty, "\n").unwrap();
    let out = home.run(&[
        "agents",
        "add",
        "none",
        "--token-file",
        empty.to_str().unwrap(),
        "--users",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("holds no token"),
        "{out:?}"
    );
    let out = home.run(&[
        "agents",
        "add",
        "argv",
        "--token",
        &token(100_000_008),
        "--users",
        "1",
    ]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("visible in the process list"));
}
