//! `ductor config get|set`: effective values with secrets masked, typed values,
//! typos refused with a suggestion, invalid values refused before anything is
//! written, and a sub-agent's `agents.json` entry.

use crate::support::daemon::{TestHome, token};
use serde_json::{Value, json};

fn run(home: &TestHome, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["config"];
    all.extend_from_slice(args);
    let out = home.run(&all);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn config(home: &TestHome) -> Value {
    serde_json::from_slice(&std::fs::read(home.root.join("config/config.json")).unwrap()).unwrap()
}

#[test]
fn get_prints_effective_values_and_masks_secrets() {
    let home = TestHome::new();
    let (code, out, _) = run(&home, &["get", "model"]);
    assert_eq!(
        (code, out.trim()),
        (0, "\"opus\""),
        "a default is effective"
    );
    let (_, out, _) = run(&home, &["get", "streaming.min_chars"]);
    assert_eq!(out.trim(), "200");
    let (_, out, _) = run(&home, &["get", "telegram_token"]);
    assert_eq!(out.trim(), "\"***\"");
    let (_, out, _) = run(&home, &["get", "telegram_token", "--reveal"]);
    assert_eq!(out.trim(), format!("\"{}\"", token(100_000_001)));
    let (_, out, _) = run(&home, &["get", "webhooks"]);
    let block: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(block["port"], 8742);
    let (code, _, err) = run(&home, &["get", "streming"]);
    assert_eq!(code, 1);
    assert!(err.contains("did you mean `streaming`"), "{err}");
    let (code, _, err) = run(&home, &["get", "streaming.enabeld"]);
    assert_eq!(code, 1);
    assert!(err.contains("did you mean `streaming.enabled`"), "{err}");
}

#[test]
fn set_writes_a_valid_value_and_says_when_it_applies() {
    let home = TestHome::new();
    home.edit_config(|c| c["future_key"] = json!({"kept": true}));
    let (code, out, err) = run(&home, &["set", "streaming.enabled", "false"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("applies it at once"), "{out}");
    let c = config(&home);
    assert_eq!(c["streaming"]["enabled"], false);
    assert_eq!(c["future_key"], json!({"kept": true}), "other keys survive");
    assert_eq!(c["telegram_token"], token(100_000_001));

    let (code, _, err) = run(&home, &["set", "heartbeat.group_targets.0.chat_id", "-100"]);
    assert_eq!(code, 0, "{err}");
    let hb = &config(&home)["heartbeat"];
    assert_eq!(hb["group_targets"][0]["chat_id"], -100);
    assert_eq!(
        hb["interval_minutes"], 30,
        "the block's other fields are kept"
    );

    let (code, out, _) = run(&home, &["set", "model", "4"]);
    assert_eq!(code, 0);
    assert_eq!(config(&home)["model"], "4", "{out}");
    let (code, out, _) = run(&home, &["set", "model", "4"]);
    assert_eq!(code, 0);
    assert!(out.contains("already"), "{out}");

    let (code, out, _) = run(&home, &["set", "telegram_token", &token(100_000_009)]);
    assert_eq!(code, 0);
    assert!(
        out.contains("restart") && out.contains("telegram_token"),
        "{out}"
    );
    assert!(
        !out.contains(&token(100_000_009)),
        "no secret in the output: {out}"
    );

    let (code, out, _) = run(&home, &["set", "webhooks.rate_limit_per_minute", "5"]);
    assert_eq!(code, 0);
    assert!(out.contains("at once"), "{out}");
    let (code, out, _) = run(&home, &["set", "webhooks.port", "9000"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("webhooks.port") && out.contains("restart"),
        "{out}"
    );
}

#[test]
fn set_refuses_what_start_up_would_refuse_and_writes_nothing() {
    let home = TestHome::new();
    let path = home.root.join("config/config.json");
    let before = std::fs::read(&path).unwrap();
    for (args, needle) in [
        (vec!["set", "timeouts.normal", "-5"], "timeouts.normal: -5"),
        (vec!["set", "allowed_user_ids", "[]"], "allowed_user_ids"),
        (
            vec!["set", "streaming.enabled", "\"yes\""],
            "takes true or false, not text",
        ),
        (
            vec!["set", "heartbeat.interval_minutes", "soon"],
            "takes a number",
        ),
        (vec!["set", "modle", "sonnet"], "did you mean `model`"),
        (vec!["set", "telegram_token", "nope"], "bot token"),
        (
            vec!["set", "heartbeat.group_targets.5.chat_id", "1"],
            "no item 5",
        ),
    ] {
        let (code, _, err) = run(&home, &args);
        assert_eq!(code, 1, "{args:?}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "{args:?} wrote the file"
        );
    }
}

#[test]
fn agent_entries_are_read_merged_and_set_in_place() {
    let home = TestHome::new();
    home.edit_config(|c| c["streaming"] = json!({"min_chars": 50}));
    home.write_agents(&json!([
        {"name": "sub1", "telegram_token": token(100_000_002), "allowed_user_ids": [1],
         "model": "haiku", "custom": 1},
        {"name": "Bad Name"}
    ]));
    let (_, out, _) = run(&home, &["get", "--agent", "sub1", "model"]);
    assert_eq!(out.trim(), "\"haiku\"");
    let (_, out, _) = run(&home, &["get", "--agent", "sub1", "streaming.min_chars"]);
    assert_eq!(out.trim(), "50", "inherited from the main config");
    let (_, out, _) = run(&home, &["get", "--agent", "sub1", "telegram_token"]);
    assert_eq!(out.trim(), "\"***\"");

    let (code, out, err) = run(
        &home,
        &["set", "--agent", "sub1", "streaming.enabled", "false"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("at once"), "{out}");
    let agents: Value =
        serde_json::from_slice(&std::fs::read(home.root.join("agents.json")).unwrap()).unwrap();
    assert_eq!(agents[0]["streaming"]["enabled"], false);
    assert_eq!(
        agents[0]["streaming"]["min_chars"], 50,
        "the entry's new block starts from the effective one"
    );
    assert_eq!(agents[0]["custom"], 1, "unknown keys survive");
    assert_eq!(
        agents[1]["name"], "Bad Name",
        "entries ductor skips are kept"
    );
    assert!(
        config(&home)["streaming"].get("enabled").is_none(),
        "main untouched"
    );

    let (code, out, _) = run(
        &home,
        &[
            "set",
            "--agent",
            "sub1",
            "telegram_token",
            &token(100_000_003),
        ],
    );
    assert_eq!(code, 0);
    assert!(out.contains("restarts this agent"), "{out}");
    let (code, _, err) = run(&home, &["set", "--agent", "sub1", "log_levl", "DEBUG"]);
    assert_eq!(code, 1);
    assert!(err.contains("did you mean `log_level`"), "{err}");
    let (code, _, err) = run(&home, &["set", "--agent", "nobody", "model", "x"]);
    assert_eq!(code, 1);
    assert!(err.contains("no agent named `nobody`"), "{err}");
}
