//! The handshake, the frames and the command layer over the API.

use super::{ApiRig, Client, TOKEN, TURN, deltas};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// The `error` frame that answers a failed `auth`, after which the socket closes.
async fn auth_error(c: &mut Client) -> Value {
    let e = c.recv_plain().await.expect("an error frame");
    assert_eq!(e["type"], "error", "{e}");
    assert!(c.closed().await, "the socket closes after {e}");
    e
}

#[tokio::test]
async fn every_auth_error_is_named_and_closes_the_socket() {
    let rig = ApiRig::start(|_| {}).await;
    let addr = rig.addr;

    // Nothing within 10 s.
    let mut silent = Client::connect(addr).await;
    let started = Instant::now();
    let e = auth_error(&mut silent).await;
    assert_eq!(e["code"], "auth_timeout");
    assert!(
        started.elapsed() >= Duration::from_secs(9),
        "{:?}",
        started.elapsed()
    );

    // A frame that is not a text frame, not JSON, or not auth.
    for first in [
        Message::binary(vec![1u8, 2, 3]),
        Message::text("hello"),
        Message::text(json!({"type": "message", "text": "hi"}).to_string()),
    ] {
        let mut c = Client::connect(addr).await;
        c.send_raw(first).await;
        assert_eq!(auth_error(&mut c).await["code"], "auth_required");
    }

    // A wrong token, then a missing or malformed key.
    let mut c = Client::connect(addr).await;
    let key = c.public_key();
    c.send_raw(Message::text(
        json!({"type": "auth", "token": "wrong", "e2e_pk": key}).to_string(),
    ))
    .await;
    let e = auth_error(&mut c).await;
    assert_eq!(
        (e["code"].as_str(), e["message"].as_str()),
        (Some("auth_failed"), Some("Invalid token"))
    );
    for bad in [json!(null), json!("AAAA"), json!(12)] {
        let mut c = Client::connect(addr).await;
        c.send_raw(Message::text(
            json!({"type": "auth", "token": TOKEN, "e2e_pk": bad}).to_string(),
        ))
        .await;
        let e = auth_error(&mut c).await;
        assert_eq!(e["code"], "auth_failed");
        assert_eq!(e["message"], "e2e_pk required or invalid");
    }

    // The good one: plaintext auth_ok with the server's key and the chat.
    let ok = rig.client(json!({"chat_id": 77, "channel_id": 3})).await;
    assert_eq!(ok.auth_ok["chat_id"], 77);
    assert_eq!(ok.auth_ok["channel_id"], 3);
    assert_eq!(ok.auth_ok["active_provider"], "claude");
    assert_eq!(ok.auth_ok["active_model"], "sonnet");
    let providers = ok.auth_ok["providers"].as_array().unwrap();
    let claude = providers
        .iter()
        .find(|p| p["id"] == "claude")
        .expect("claude offered");
    assert!(
        claude["models"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "sonnet")
    );
    // The token never reaches the log.
    assert!(!rig.log().contains(TOKEN));
}

#[tokio::test]
async fn health_counts_sockets_limits_connections_and_messages_and_shutdown_closes() {
    let rig = ApiRig::start(|c| {
        c["api"]["max_connections"] = json!(2);
        c["api"]["messages_per_minute"] = json!(2);
    })
    .await;
    let url = format!("http://{}/health", rig.addr);
    let health = || async {
        let body = reqwest::get(&url).await.unwrap().text().await.unwrap();
        serde_json::from_str::<Value>(&body).unwrap()
    };
    assert_eq!(health().await, json!({"status": "ok", "connections": 0}));
    let a = rig.client(json!({})).await;
    let b = Client::connect(rig.addr).await;
    assert_eq!(health().await, json!({"status": "ok", "connections": 2}));
    let third = tokio_tungstenite::connect_async(format!("ws://{}/ws", rig.addr)).await;
    let err = third.expect_err("a third socket is refused");
    assert!(err.to_string().contains("503"), "{err}");
    drop((a, b));
    let start = Instant::now();
    while health().await["connections"] != 0 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "sockets never counted down"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Two messages a minute: the third is refused, the socket stays.
    let mut c = rig.client(json!({})).await;
    for _ in 0..2 {
        c.say("/help").await;
        assert_eq!(c.result().await.len(), 1);
    }
    c.say("/help").await;
    assert_eq!(c.recv(TURN).await["code"], "rate_limited");
    // Shutdown closes the sockets with 1001.
    rig.daemon
        .as_ref()
        .unwrap()
        .signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(c.close_code(Duration::from_secs(20)).await, Some(1001));
}

#[tokio::test]
async fn a_client_shares_the_telegram_dm_only_by_naming_it() {
    let rig = ApiRig::start(|_| {}).await;
    let dm = "tg:1000001";
    let mut c = Client::connect(rig.addr).await;
    let auth = json!({"type": "auth", "token": TOKEN, "e2e_pk": c.public_key(), "session": dm});
    c.send_raw(Message::text(auth.to_string())).await;
    assert_eq!(auth_error(&mut c).await["message"], "Unknown session");
    // The DM talks to the agent first.
    rig.tg.open_private_chat(rig.bot, 1_000_001);
    rig.tg
        .user_sends_text(rig.bot, 1_000_001, "hello from telegram");
    let start = Instant::now();
    loop {
        let sessions = std::fs::read_to_string(rig.home.root.join("sessions.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .unwrap_or_default();
        if sessions[dm]["provider_sessions"]["claude"]["session_id"].is_string() {
            break;
        }
        assert!(start.elapsed() < TURN, "no DM session: {sessions:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The API's default chat has the same number but is a conversation of its own.
    let mut own = rig.client(json!({})).await;
    assert_eq!(own.auth_ok["chat_id"], 1_000_001);
    own.say("hi from the api").await;
    let first = own.result().await.pop().unwrap();
    assert!(
        first["text"]
            .as_str()
            .unwrap()
            .contains("prior_assistant_turns=0"),
        "{first}"
    );
    // Named, the DM's session is resumed (through the DM's own actor).
    let mut shared = rig.client(json!({"session": dm})).await;
    shared.say("and from the api").await;
    let resumed = shared.result().await.pop().unwrap();
    assert!(
        resumed["text"]
            .as_str()
            .unwrap()
            .contains("prior_assistant_turns=1"),
        "{resumed}"
    );
}

#[tokio::test]
async fn a_tampered_frame_and_a_replayed_nonce_are_refused_and_the_connection_stays() {
    let rig = ApiRig::start(|_| {}).await;
    let mut c = rig.client(json!({})).await;

    let mut raw = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        c.seal(&json!({"type": "message", "text": "tampered"})),
    )
    .unwrap();
    let last = raw.len() - 1;
    raw[last] ^= 0x40;
    c.send_raw(Message::text(base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        raw,
    )))
    .await;
    let e = c.recv(TURN).await;
    assert_eq!(e["code"], "decrypt_failed", "{e}");

    // The connection stays: a genuine frame works, and the same frame again is refused.
    let frame = c.seal(&json!({"type": "message", "text": "REPLAY_ME once"}));
    c.send_raw(Message::text(frame.clone())).await;
    let frames = c.result().await;
    assert!(
        frames.last().unwrap()["text"]
            .as_str()
            .unwrap()
            .contains("You said: \"REPLAY_ME once\""),
        "{frames:#?}"
    );
    c.send_raw(Message::text(frame)).await;
    let e = c.recv(TURN).await;
    assert_eq!(e["code"], "decrypt_failed", "{e}");
    assert!(e["message"].as_str().unwrap().contains("nonce"), "{e}");
    // Unknown types and empty messages have their own codes; the socket stays open.
    c.send(&json!({"type": "dance"})).await;
    assert_eq!(c.recv(TURN).await["code"], "unknown_type");
    c.say("   ").await;
    assert_eq!(c.recv(TURN).await["code"], "empty");
    c.say("after the replay").await;
    let frames = c.result().await;
    assert!(
        deltas(&frames).contains("after the replay")
            || frames.last().unwrap()["text"]
                .as_str()
                .unwrap()
                .contains("after the replay")
    );
    let replays = rig
        .mock
        .requests()
        .iter()
        .filter(|r| r.last_user_text.contains("REPLAY_ME"))
        .count();
    assert_eq!(replays, 1, "the replayed frame ran no second turn");
}

/// The first button whose id satisfies `pred`.
fn button(frame: &Value, pred: impl Fn(&str) -> bool) -> String {
    frame["buttons"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row.as_array().into_iter().flatten())
        .filter_map(|b| b["id"].as_str())
        .find(|id| pred(id))
        .unwrap_or_else(|| panic!("no such button in {frame}"))
        .to_owned()
}

#[tokio::test]
async fn a_slash_command_answers_with_buttons_and_their_ids_act() {
    let rig = ApiRig::start(|_| {}).await;
    let mut c = rig.client(json!({"chat_id": 5})).await;
    c.say("/model").await;
    let menu = c.result().await.pop().unwrap();
    let claude = button(&menu, |id| id == "ms:p:claude");
    c.send(&json!({"type": "action", "id": claude})).await;
    let models = c.result().await.pop().unwrap();
    let haiku = button(&models, |id| id == "ms:m:haiku");
    c.send(&json!({"type": "action", "id": haiku})).await;
    let efforts = c.result().await.pop().unwrap();
    let high = button(&efforts, |id| id.starts_with("ms:r:high:"));
    c.send(&json!({"type": "action", "id": high})).await;
    let switched = c.result().await.pop().unwrap();
    assert!(
        switched["text"].as_str().unwrap().contains("haiku"),
        "{switched}"
    );
    // The next turn runs on the chosen model.
    c.say("which model").await;
    c.result().await;
    let asked = rig
        .mock
        .requests()
        .into_iter()
        .rfind(|r| r.last_user_text.contains("which model"))
        .expect("the turn reached the model");
    assert!(
        asked.model.unwrap_or_default().contains("haiku"),
        "{}",
        rig.mock.summary()
    );
    // /status is a command of the command layer too, answered as a result.
    c.say("/status").await;
    let status = c.result().await.pop().unwrap();
    assert!(
        status["text"].as_str().unwrap().contains("haiku"),
        "{status}"
    );
    // The API chat is its own conversation, never the Telegram DM's.
    let sessions = std::fs::read_to_string(rig.home.root.join("sessions.json")).unwrap();
    let sessions: Value = serde_json::from_str(&sessions).unwrap();
    assert!(sessions.get("api:5").is_some(), "{sessions:#}");
    assert!(sessions.get("tg:5").is_none() && sessions.get("5").is_none());
}

#[tokio::test]
async fn an_empty_token_is_generated_saved_and_kept_out_of_the_log() {
    let rig = ApiRig::start(|c| c["api"]["token"] = json!("")).await;
    let config: Value =
        serde_json::from_slice(&std::fs::read(rig.home.root.join("config/config.json")).unwrap())
            .unwrap();
    let token = config["api"]["token"].as_str().unwrap().to_owned();
    assert!(token.len() >= 40, "a generated token: {token:?}");
    assert_eq!(config["api"]["port"], 0, "the rest of the block is kept");
    let c = Client::authenticated(rig.addr, &token, json!({})).await;
    assert_eq!(c.auth_ok["type"], "auth_ok");
    let mut old = Client::connect(rig.addr).await;
    let auth = json!({"type": "auth", "token": TOKEN, "e2e_pk": old.public_key()});
    old.send_raw(Message::text(auth.to_string())).await;
    assert_eq!(auth_error(&mut old).await["code"], "auth_failed");
    assert!(!rig.log().contains(&token));
}

/// Any web page the user visits could try `ws://127.0.0.1:8741/ws`: a browser's
/// WebSocket from another origin is refused before it is upgraded; one from the
/// API's own page (same host) and a program (no `Origin`) are let in.
#[tokio::test]
async fn a_websocket_from_another_web_origin_is_refused() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let rig = ApiRig::start(|_| {}).await;
    let addr = rig.addr;
    let with_origin = |origin: &str| {
        let mut req = format!("ws://{addr}/ws").into_client_request().unwrap();
        req.headers_mut().insert("origin", origin.parse().unwrap());
        req
    };
    match tokio_tungstenite::connect_async(with_origin("https://evil.example")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status(), 403);
        }
        other => panic!("a foreign origin must be refused: {:?}", other.map(|_| ())),
    }
    let own = tokio_tungstenite::connect_async(with_origin(&format!("http://{addr}"))).await;
    assert!(own.is_ok(), "the API's own page: {:?}", own.map(|_| ()));
    let _program = Client::connect(addr).await;
}
