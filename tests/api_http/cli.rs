//! `ductor api enable|disable|status` through the real binary: the block written
//! with its defaults and a token that is not printed unless asked, then a ductor
//! started on that config serving the API, and `status` seeing it answer.

use crate::support::daemon::TestHome;
use crate::{ApiRig, http};
use serde_json::{Value, json};

fn api(home: &TestHome, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["api"];
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
fn enable_writes_the_block_and_keeps_the_token_to_itself() {
    let home = TestHome::new();
    home.edit_config(|c| c["api"] = json!({"port": 9100, "future": "kept"}));
    let (code, out, err) = api(&home, &["enable"]);
    assert_eq!(code, 0, "{err}");
    let c = config(&home);
    let block = &c["api"];
    assert_eq!(block["enabled"], true);
    assert_eq!(
        (&block["port"], &block["future"]),
        (&json!(9100), &json!("kept"))
    );
    assert_eq!(block["host"], "127.0.0.1");
    assert_eq!(block["allow_public"], false);
    let token = block["token"].as_str().unwrap().to_owned();
    assert!(token.len() >= 32, "a real token: {token}");
    assert!(!out.contains(&token), "not printed unasked: {out}");
    assert!(out.contains("http://127.0.0.1:9100/"), "{out}");
    assert!(
        c["telegram_token"].is_string(),
        "the rest of the config stays"
    );

    let (code, out, _) = api(&home, &["enable", "--show-token"]);
    assert_eq!(code, 0);
    assert!(out.contains(&token), "{out}");
    assert_eq!(
        config(&home)["api"]["token"],
        token.as_str(),
        "made only once"
    );

    let (code, out, _) = api(&home, &["status"]);
    assert_eq!(code, 0);
    for line in [
        "enabled: yes",
        "host: 127.0.0.1",
        "port: 9100",
        "web_ui: on",
        "token: set",
    ] {
        assert!(out.contains(line), "{line} in {out}");
    }
    assert!(out.contains("no answer"), "nothing runs: {out}");
    assert!(!out.contains(&token));

    let (code, out, _) = api(&home, &["disable"]);
    assert_eq!(code, 0);
    assert!(out.contains("disabled"), "{out}");
    let block = config(&home)["api"].clone();
    assert_eq!(
        (&block["enabled"], &block["token"]),
        (&json!(false), &json!(token))
    );
    assert!(api(&home, &["status"]).1.contains("enabled: no"));

    // A broken block is refused and left alone.
    home.edit_config(|c| c["api"] = json!([1]));
    let (code, _, err) = api(&home, &["enable"]);
    assert_eq!(code, 1);
    assert!(err.contains("not an object"), "{err}");
    assert_eq!(config(&home)["api"], json!([1]));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_enabled_api_runs_and_status_sees_it() {
    let home = TestHome::new();
    let (code, _, err) = api(&home, &["enable"]);
    assert_eq!(code, 0, "{err}");
    // An ephemeral port for the test; the generated token stays.
    home.edit_config(|c| c["api"]["port"] = json!(0));
    let token = config(&home)["api"]["token"].as_str().unwrap().to_owned();
    let rig = ApiRig::start_in(home).await;
    let health = http::get(rig.addr, "/health", None).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["status"], "ok");
    let (code, out, _) = api(&rig.home, &["status"]);
    assert_eq!(code, 0);
    assert!(
        out.contains(&format!("answers at http://{}/", rig.addr)),
        "{out}"
    );
    assert!(out.contains("ductor: running"), "{out}");
    // The generated token opens the API.
    let r = http::upload(rig.addr, Some(&token), http::file_body("a.txt", b"a", None)).await;
    assert_eq!(r.status, 200, "{r:?}");
    // Switching it off while ductor runs says what it takes.
    let (code, out, _) = api(&rig.home, &["disable"]);
    assert_eq!(code, 0);
    assert!(out.contains("ductor restart"), "{out}");
}
