//! Heartbeat end to end: the genuine CLI resumes the user's session with the
//! heartbeat prompt; an ack stays out of the chat, an alert reaches it.

use super::{CHAT, TgRig};
use crate::support::mock_llm::Reply;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

#[tokio::test]
async fn a_heartbeat_alert_reaches_the_chat_and_an_ack_is_suppressed() {
    let rig = TgRig::start("claude", "sonnet", |c| {
        c["heartbeat"] = json!({
            "enabled": true, "interval_minutes": 0.05, "cooldown_minutes": 0,
            "quiet_start": 0, "quiet_end": 0,
            "prompt": "HBCHECK: anything worth telling? Else reply HEARTBEAT_OK"
        });
    })
    .await;
    let alert = Arc::new(AtomicBool::new(false));
    let a = alert.clone();
    rig.mock.script_fn("HBCHECK", move |_| {
        if a.load(Ordering::Relaxed) {
            Reply::text("HEARTBEAT_OK\n\nALERT: the nightly backup did not run.")
        } else {
            Reply::text("HEARTBEAT_OK")
        }
    });
    let sent = rig.say("hello there");
    rig.wait_from(rig.bot, CHAT, "You said: \"hello there\"")
        .await;
    let session = rig.wait_session("claude", |id| id.is_some()).await;
    let beats = |rig: &TgRig| {
        rig.mock
            .requests()
            .iter()
            .filter(|r| r.last_user_text.contains("HBCHECK"))
            .count()
    };
    let start = std::time::Instant::now();
    while beats(&rig) < 2 {
        assert!(start.elapsed() < Duration::from_mins(1), "no heartbeat");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let text = rig.text_after(CHAT, sent.message_id);
    assert!(
        !text.contains("HEARTBEAT_OK"),
        "an ack is not posted: {text}"
    );
    alert.store(true, Ordering::Relaxed);
    let msg = rig
        .wait_from(rig.bot, CHAT, "ALERT: the nightly backup did not run.")
        .await;
    assert!(!msg.contains("HEARTBEAT_OK"), "the token is stripped");
    assert_eq!(
        rig.session_id("claude"),
        session,
        "the heartbeat ran in the user's own session"
    );
}
