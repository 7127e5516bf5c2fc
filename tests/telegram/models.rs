//! Codex model discovery end to end: the agent asks the genuine codex
//! (`app-server` `model/list`) for its models, caches them in
//! `config/codex_models.json`, and the `/model` wizard's codex page offers exactly
//! those. The expected list is read from the same installed codex by the test
//! itself, over its own JSON-RPC exchange.

use super::{CHAT, TgRig};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const WAIT: Duration = Duration::from_mins(1);

/// `(id, displayName, efforts)` of every visible model the installed codex lists.
async fn codex_lists(rig: &TgRig) -> Vec<(String, String, Vec<String>)> {
    let mut cmd = rig.cli.command("codex", &rig.cli.workspace());
    cmd.arg("app-server").stdin(Stdio::piped());
    let mut child = cmd.spawn().expect("start codex app-server");
    let mut stdin = child.stdin.take().unwrap();
    let requests = [
        json!({"id": 1, "method": "initialize", "params": {"clientInfo": {"name": "test", "version": "1"}}}),
        json!({"method": "initialized"}),
        json!({"id": 2, "method": "model/list", "params": {}}),
    ];
    for r in requests {
        stdin.write_all(format!("{r}\n").as_bytes()).await.unwrap();
    }
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let answer = tokio::time::timeout(WAIT, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let msg: Value = serde_json::from_str(&line).unwrap_or_default();
            if msg["id"] == 2 {
                return msg;
            }
        }
        panic!("codex ended without answering model/list");
    })
    .await
    .expect("codex answers model/list");
    drop(stdin);
    let _ = child.kill().await;
    assert!(
        answer["result"]["nextCursor"].is_null(),
        "one page expected: {answer}"
    );
    answer["result"]["data"]
        .as_array()
        .expect("a model list")
        .iter()
        .filter(|m| m["hidden"] != true)
        .map(|m| {
            let efforts = m["supportedReasoningEfforts"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e["reasoningEffort"].as_str().map(str::to_owned))
                .collect();
            (
                m["id"].as_str().unwrap().to_owned(),
                m["displayName"].as_str().unwrap().to_owned(),
                efforts,
            )
        })
        .collect()
}

/// Waits until ductor's cache file exists and parses.
async fn wait_cache(path: &Path) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && let Ok(v) = serde_json::from_str::<Value>(&text)
        {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no codex model cache at {}",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn codex_models_are_discovered_cached_and_offered_by_the_model_wizard() {
    use std::os::unix::fs::PermissionsExt;
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    let expected = codex_lists(&rig).await;
    assert!(!expected.is_empty());
    let expected_ids: Vec<&str> = expected.iter().map(|(id, _, _)| id.as_str()).collect();

    // The cache: the discovered list, stamped, private.
    let path = rig.home.root.join("config/codex_models.json");
    let cache = wait_cache(&path).await;
    let stamp = cache["last_updated"].as_str().expect("last_updated");
    let at = chrono::DateTime::parse_from_rfc3339(stamp).expect("RFC 3339 date");
    let age = chrono::Utc::now() - at.with_timezone(&chrono::Utc);
    assert!(
        age >= chrono::Duration::zero() && age < chrono::Duration::minutes(10),
        "{stamp}"
    );
    let cached: Vec<&str> = cache["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(cached, expected_ids);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    // The wizard's codex page: exactly these models, by their display names.
    rig.say("/model");
    let menu = rig.wait_msg(CHAT, "Choose a provider").await;
    let id = menu.message_id;
    rig.tg.user_presses_button(rig.bot, CHAT, id, "ms:p:codex");
    let page = rig
        .tg
        .wait_until(WAIT, |w| {
            w.message(rig.bot, CHAT, id)
                .filter(|m| m.callback_data().iter().any(|d| d.starts_with("ms:m:")))
        })
        .await;
    let offered: Vec<(String, String)> = page
        .buttons()
        .into_iter()
        .flatten()
        .filter_map(|b| {
            let model = b.callback_data?.strip_prefix("ms:m:")?.to_owned();
            Some((model, b.text))
        })
        .collect();
    let want: Vec<(String, String)> = expected
        .iter()
        .map(|(id, name, _)| (id.clone(), name.clone()))
        .collect();
    assert_eq!(offered, want);

    // A discovered model's efforts are the ones codex listed for it.
    let (model, _, efforts) = expected
        .iter()
        .max_by_key(|(_, _, e)| e.len())
        .unwrap()
        .clone();
    rig.tg
        .user_presses_button(rig.bot, CHAT, id, &format!("ms:m:{model}"));
    let step = rig.wait_edit(CHAT, id, "Reasoning effort for").await;
    let offered_efforts: Vec<String> = step
        .callback_data()
        .into_iter()
        .filter_map(|d| {
            d.strip_prefix("ms:r:")
                .and_then(|rest| rest.strip_suffix(&format!(":{model}")))
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(offered_efforts, efforts);
    let last = efforts.last().unwrap();
    rig.tg
        .user_presses_button(rig.bot, CHAT, id, &format!("ms:r:{last}:{model}"));
    let done = rig.wait_edit(CHAT, id, "Model switched").await;
    assert!(
        done.contains(&model) && done.contains(last),
        "{}",
        done.content()
    );
}
