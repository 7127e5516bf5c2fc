//! `webhooks.json`: bookkeeping after a run, following external edits, surviving a
//! broken file; and a taken port.

use crate::harness::{HOOK_TOKEN, Rig, eventually, hooks};
use ductor::webhooks::{self, WebhookError};
use serde_json::{Value, json};

#[tokio::test]
async fn a_finished_run_is_recorded_in_the_file() {
    let mut rig = Rig::start().await;
    assert_eq!(
        rig.post_bearer("bearer", HOOK_TOKEN, &json!({}))
            .await
            .status,
        202
    );
    let call = rig.next_call().await;
    assert_eq!(
        rig.on_disk()["hooks"][0]["trigger_count"],
        0,
        "nothing is recorded before the run ends"
    );
    call.done.finish(Some("error:timeout".into()));
    eventually(5, "first run recorded", async || {
        rig.on_disk()["hooks"][0]["trigger_count"] == 1
    })
    .await;
    let disk = rig.on_disk();
    let hook = &disk["hooks"][0];
    assert_eq!(hook["last_error"], "error:timeout");
    let at = hook["last_triggered_at"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok(), "{at}");
    assert_eq!(hook["custom_key"], "kept");
    assert_eq!(disk["top_level_extra"], 1);
    assert_eq!(
        disk["hooks"].as_array().unwrap().last().unwrap(),
        &json!({"id": "unparsable", "enabled": "nope"}),
        "a record that does not parse is kept as it was"
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(rig.path()).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    // A dispatcher that drops its `Done` still gets the run counted.
    assert_eq!(
        rig.post_bearer("bearer", HOOK_TOKEN, &json!({}))
            .await
            .status,
        202
    );
    drop(rig.next_call().await);
    eventually(5, "dropped run recorded", async || {
        rig.on_disk()["hooks"][0]["trigger_count"] == 2
    })
    .await;
    assert_eq!(
        rig.on_disk()["hooks"][0]["last_error"],
        "the run ended without a result"
    );
    assert_eq!(
        rig.post_bearer("bearer", HOOK_TOKEN, &json!({}))
            .await
            .status,
        202
    );
    rig.next_call().await.done.finish(None);
    eventually(5, "success recorded", async || {
        rig.on_disk()["hooks"][0]["trigger_count"] == 3
    })
    .await;
    assert_eq!(rig.on_disk()["hooks"][0]["last_error"], Value::Null);
    assert_eq!(rig.store.get("bearer").unwrap().trigger_count, 3);
    assert_eq!(rig.store.last_load_error(), None);
    rig.stop().await;
}

#[tokio::test]
async fn external_edits_are_followed_and_a_broken_file_keeps_the_old_hooks() {
    let rig = Rig::start().await;
    // A broken edit: the hooks loaded before keep working.
    std::fs::write(rig.path(), "{\"hooks\": [ oops").unwrap();
    eventually(10, "load error noticed", async || {
        rig.store.last_load_error().is_some()
    })
    .await;
    let err = rig.store.last_load_error().unwrap();
    assert!(err.contains("webhooks.json"), "{err}");
    assert_eq!(
        rig.post_bearer("bearer", HOOK_TOKEN, &json!({}))
            .await
            .status,
        202
    );
    assert_eq!(
        std::fs::read_to_string(rig.path()).unwrap(),
        "{\"hooks\": [ oops",
        "the user's file is left alone"
    );
    // The fix adds a hook: it is served without a restart.
    let mut fixed = hooks();
    fixed["hooks"].as_array_mut().unwrap().push(json!({
        "id": "added", "mode": "wake", "prompt_template": "new", "token": HOOK_TOKEN
    }));
    ductor::store::write_json(&rig.path(), &fixed).unwrap();
    eventually(10, "the added hook is served", async || {
        rig.post_bearer("added", HOOK_TOKEN, &json!({}))
            .await
            .status
            == 202
    })
    .await;
    assert_eq!(rig.store.last_load_error(), None);
    // Removing a hook externally stops it.
    let mut removed = fixed.clone();
    removed["hooks"]
        .as_array_mut()
        .unwrap()
        .retain(|h| h["id"] != "a");
    ductor::store::write_json(&rig.path(), &removed).unwrap();
    eventually(10, "the removed hook is gone", async || {
        rig.post_bearer("a", HOOK_TOKEN, &json!({})).await.error() == (404, "hook_not_found")
    })
    .await;
    rig.stop().await;
}

#[tokio::test]
async fn a_taken_port_is_a_clear_error() {
    let rig = Rig::start().await;
    let err = webhooks::bind("127.0.0.1", rig.addr.port())
        .await
        .unwrap_err();
    assert!(matches!(err, WebhookError::PortTaken { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("webhooks: 127.0.0.1:{} is already in use", rig.addr.port())
    );
    let port = rig.addr.port();
    rig.stop().await;
    // After shutdown the port is free again.
    assert!(webhooks::bind("127.0.0.1", port).await.is_ok());
}
