//! The real-Synapse test support (`support::synapse`) end to end: a homeserver on
//! loopback, two users registered through the shared-secret API, password logins,
//! a room, a message one user sends and the other sees in `/sync`; the message rate
//! limit raised by `Synapse::start` and kept at Synapse's default by
//! `Synapse::start_with_default_limits`; and the server gone after a drop.

#[path = "../support/mod.rs"]
mod support;

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::synapse::Synapse;

/// Creates a room as `token`'s user, inviting `invite`; returns the room id.
async fn create_room(s: &Synapse, token: &str, invite: &[&str]) -> String {
    let body = json!({"preset": "private_chat", "invite": invite});
    let (status, v) = s
        .call(
            Method::POST,
            "/_matrix/client/v3/createRoom",
            Some(token),
            Some(&body),
        )
        .await;
    assert_eq!(status, 200, "createRoom: {v}");
    v["room_id"].as_str().expect("room_id").to_owned()
}

/// Sends a text message; returns the status and the answer.
async fn send_text(s: &Synapse, token: &str, room: &str, txn: &str, text: &str) -> (u16, Value) {
    let room = utf8_percent_encode(room, NON_ALPHANUMERIC);
    let path = format!("/_matrix/client/v3/rooms/{room}/send/m.room.message/{txn}");
    let body = json!({"msgtype": "m.text", "body": text});
    s.call(Method::PUT, &path, Some(token), Some(&body)).await
}

/// Long-polls `/sync` as `token`'s user until `room`'s timeline holds an event
/// matching `pred`; returns that event.
async fn wait_event(s: &Synapse, token: &str, room: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    let mut since = String::new();
    while start.elapsed() < Duration::from_secs(20) {
        let path = format!("/_matrix/client/v3/sync?timeout=2000{since}");
        let (status, v) = s.call(Method::GET, &path, Some(token), None).await;
        assert_eq!(status, 200, "sync: {v}");
        let events = v["rooms"]["join"][room]["timeline"]["events"].as_array();
        if let Some(e) = events.into_iter().flatten().find(|e| pred(e)) {
            return e.clone();
        }
        since = format!("&since={}", v["next_batch"].as_str().expect("next_batch"));
    }
    panic!("no matching event in {room} within 20 s{}", s.log_tail());
}

#[tokio::test]
async fn two_users_talk_through_a_real_synapse() {
    let s = Synapse::start().await;
    assert!(s.url().starts_with("http://127.0.0.1:"), "{}", s.url());
    assert_eq!(s.server_name(), "test.local");

    let alice = s.register("alice", "alice-pw", true).await;
    let bob = s.register("bob", "bob-pw", false).await;
    assert_eq!(
        (alice.as_str(), bob.as_str()),
        ("@alice:test.local", "@bob:test.local")
    );

    // Registration set the password: a wrong one is refused, the right one works.
    let wrong = json!({
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": "bob"},
        "password": "not-bobs",
    });
    let (status, v) = s
        .call(Method::POST, "/_matrix/client/v3/login", None, Some(&wrong))
        .await;
    assert_eq!(
        (status, v["errcode"].as_str()),
        (403, Some("M_FORBIDDEN")),
        "{v}"
    );
    let alice_token = s.login("alice", "alice-pw").await;
    let bob_token = s.login(&bob, "bob-pw").await;
    let (_, who) = s
        .call(
            Method::GET,
            "/_matrix/client/v3/account/whoami",
            Some(&bob_token),
            None,
        )
        .await;
    assert_eq!(who["user_id"], bob.as_str());

    // The admin flag reached Synapse: only alice may use the admin API.
    let path = format!(
        "/_synapse/admin/v2/users/{}",
        utf8_percent_encode(&bob, NON_ALPHANUMERIC)
    );
    let (status, v) = s.call(Method::GET, &path, Some(&alice_token), None).await;
    assert_eq!((status, v["admin"].as_bool()), (200, Some(false)), "{v}");
    let (status, _) = s.call(Method::GET, &path, Some(&bob_token), None).await;
    assert_eq!(status, 403);

    let room = create_room(&s, &alice_token, &[&bob]).await;
    let join = format!(
        "/_matrix/client/v3/join/{}",
        utf8_percent_encode(&room, NON_ALPHANUMERIC)
    );
    let (status, v) = s
        .call(Method::POST, &join, Some(&bob_token), Some(&json!({})))
        .await;
    assert_eq!(status, 200, "join: {v}");

    let (status, v) = send_text(&s, &alice_token, &room, "t0", "hello bob").await;
    assert_eq!(status, 200, "send: {v}");
    let event = wait_event(&s, &bob_token, &room, |e| {
        e["content"]["body"] == "hello bob"
    })
    .await;
    assert_eq!(event["sender"], alice.as_str());
    assert_eq!(event["event_id"], v["event_id"]);

    // Raised limits: far more than Synapse's default burst of 10 messages goes through.
    for i in 1..=30 {
        let (status, v) =
            send_text(&s, &alice_token, &room, &format!("t{i}"), &format!("n{i}")).await;
        assert_eq!(status, 200, "message {i} was refused: {v}");
    }

    // Dropping the server stops and reaps it: the process and the port are gone.
    let (pid, url) = (s.pid(), s.url());
    drop(s);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "Synapse {pid} survived"
    );
    let gone = reqwest::Client::builder().no_proxy().build().unwrap();
    assert!(
        gone.get(format!("{url}/_matrix/client/versions"))
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn default_limits_throttle_a_burst_of_messages() {
    let s = Synapse::start_with_default_limits().await;
    s.register("carol", "carol-pw", false).await;
    let token = s.login("carol", "carol-pw").await;
    let room = create_room(&s, &token, &[]).await;

    // Synapse's default `rc_message` (0.2/s, burst 10) refuses a quick burst.
    let mut sent = 0;
    let mut refused = None;
    for i in 0..30 {
        let (status, v) = send_text(&s, &token, &room, &format!("t{i}"), &format!("n{i}")).await;
        if status == 200 {
            sent += 1;
        } else {
            refused = Some((status, v));
            break;
        }
    }
    let (status, v) = refused.expect("30 quick messages and none refused");
    assert_eq!(
        (status, v["errcode"].as_str()),
        (429, Some("M_LIMIT_EXCEEDED")),
        "{v}"
    );
    assert!(v["retry_after_ms"].as_u64().is_some_and(|ms| ms > 0), "{v}");
    assert!(
        (5..=10).contains(&sent),
        "{sent} messages went through before the limit"
    );
}
