//! Conversations on Matrix against a real Synapse.

use super::*;
use matrix_sdk::ruma::api::client::room::create_room::v3::Request;
use matrix_sdk::ruma::events::reaction::ReactionEventContent;
use matrix_sdk::ruma::events::relation::Annotation;
use std::fmt::Write as _;
use support::mock_llm::Reply;

#[tokio::test]
async fn hello_in_a_room_gets_the_models_answer() {
    let rig = MxRig::start(|_| {}).await;
    rig.mock
        .script("MX_HELLO", Reply::text("Hello from the model, in a room."));
    let room = rig.user.room_with(&rig.bot, false).await;
    rig.user.say(&room, "MX_HELLO please").await;
    let answer = rig
        .user
        .wait_message(&room, &rig.bot, "the answer", |m| {
            m.body.contains("Hello from the model, in a room.")
        })
        .await;
    assert_eq!(answer.kind, "m.text");
    let html = answer.html.expect("formatted body");
    assert!(html.contains("Hello from the model"), "{html}");
    assert!(
        std::fs::read_to_string(rig.home.root.join("matrix_store/room_id_map.json"))
            .unwrap()
            .contains(room.room_id().as_str())
    );
}

#[tokio::test]
async fn an_encrypted_dm_is_answered_end_to_end_encrypted() {
    let rig = MxRig::start(|_| {}).await;
    rig.mock
        .script("MX_SECRET", Reply::text("The secret answer is 42."));
    let room = rig.user.room_with(&rig.bot, true).await;
    assert!(
        room.latest_encryption_state().await.unwrap().is_encrypted(),
        "a DM is encrypted"
    );
    rig.user.say(&room, "MX_SECRET tell me").await;
    let answer = rig
        .user
        .wait_message(&room, &rig.bot, "the decrypted answer", |m| {
            m.body.contains("The secret answer is 42.")
        })
        .await;
    assert_eq!(answer.body.trim(), "The secret answer is 42.");
    // The model saw the plain text: the bot decrypted the user's message.
    let asked = rig
        .mock
        .requests()
        .iter()
        .any(|r| format!("{r:?}").contains("MX_SECRET tell me"));
    assert!(asked, "the model got the decrypted prompt");
    // The bot's device is cross-signed by its owner, so strict clients trust it.
    let creds: Value = serde_json::from_str(
        &std::fs::read_to_string(rig.home.root.join("matrix_store/credentials.json")).unwrap(),
    )
    .unwrap();
    let device_id: matrix_sdk::ruma::OwnedDeviceId = creds["device_id"].as_str().unwrap().into();
    let enc = rig.user.client.encryption();
    let start = Instant::now();
    loop {
        let _ = enc.request_user_identity(&rig.bot).await;
        if let Some(d) = enc.get_device(&rig.bot, &device_id).await.unwrap()
            && d.is_cross_signed_by_owner()
        {
            break;
        }
        assert!(
            start.elapsed() < TURN,
            "the bot's device is not cross-signed"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn a_message_that_cannot_be_decrypted_is_answered_once() {
    let rig = MxRig::start(|_| {}).await;
    let room = rig.user.room_with(&rig.bot, true).await;
    // An encrypted event whose session the bot never got (sent over plain HTTP, so
    // the user's client cannot attach a key to it).
    let token = rig.synapse.login("alice", PASSWORD).await;
    let body = json!({
        "algorithm": "m.megolm.v1.aes-sha2",
        "ciphertext": "AwgAEnB5Y2lwaGVydGV4dCBub3QgcmVhbA",
        "device_id": "NOSUCHDEVICE",
        "sender_key": "aGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8",
        "session_id": "c2Vzc2lvbiB0aGF0IG5ldmVyIGV4aXN0ZWQ"
    });
    let path = format!(
        "/_matrix/client/v3/rooms/{}/send/m.room.encrypted/utd-1",
        room.room_id()
    );
    let (status, v) = rig
        .synapse
        .call(reqwest::Method::PUT, &path, Some(&token), Some(&body))
        .await;
    assert_eq!(status, 200, "{v}");
    let note = rig
        .user
        .wait_message(&room, &rig.bot, "the could-not-decrypt note", |m| {
            m.body.contains("could not decrypt")
        })
        .await;
    assert!(note.body.contains("🔒"), "{}", note.body);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let notes = rig
        .user
        .from(&room, &rig.bot)
        .iter()
        .filter(|m| m.body.contains("could not decrypt"))
        .count();
    assert_eq!(notes, 1, "told once");
    assert!(rig.mock.requests().is_empty(), "nothing reached the model");
}

#[tokio::test]
async fn a_long_answer_is_split_and_complete() {
    let rig = MxRig::start(|_| {}).await;
    let mut text = String::new();
    for i in 0..400 {
        let _ = writeln!(text, "Line {i:03} of a long answer, with some words.");
    }
    assert!(text.len() > 12_000);
    rig.mock.script("MX_LONG", Reply::text(text.clone()));
    let room = rig.user.room_with(&rig.bot, false).await;
    rig.user.say(&room, "MX_LONG").await;
    rig.user
        .wait_message(&room, &rig.bot, "the last line", |m| {
            m.body.contains("Line 399 of a long answer")
        })
        .await;
    // Give the final edits a moment, then check every line arrived exactly once.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(rig.user.from(&room, &rig.bot).len() >= 2, "split");
    rig.each_once(
        &room,
        (0..400).map(|i| format!("Line {i:03} of a long answer")),
    );
}

#[tokio::test]
async fn a_user_not_allowed_is_refused_without_joining() {
    let rig = MxRig::start(|_| {}).await;
    rig.synapse.register("mallory", PASSWORD, false).await;
    let mallory = User::login(&rig.synapse, "mallory").await;
    let mut req = Request::new();
    req.name = Some("mallory's room".into());
    req.invite = vec![rig.bot.clone()];
    let room = mallory.client.create_room(req).await.unwrap();
    let start = Instant::now();
    loop {
        let log = rig.log();
        if log.contains("invite refused") {
            break;
        }
        assert!(start.elapsed() < TURN, "no refusal in the log: {log}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let members = room
        .members(matrix_sdk::RoomMemberships::JOIN)
        .await
        .unwrap();
    assert!(
        members.iter().all(|m| m.user_id() != rig.bot),
        "the bot never joined"
    );
}

#[tokio::test]
async fn model_choice_by_reaction_and_stop_leaves_no_process() {
    let rig = MxRig::start(|_| {}).await;
    let room = rig.user.room_with(&rig.bot, false).await;
    let menu = rig.model_menu(&room).await;
    // The bot offers the digits as reactions.
    let start = Instant::now();
    while !rig
        .user
        .inbox
        .lock()
        .unwrap()
        .reactions
        .iter()
        .any(|(e, k, s)| e == &menu.id && k == "1\u{fe0f}\u{20e3}" && s == &rig.bot)
    {
        assert!(start.elapsed() < TURN, "no digit reactions on the menu");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    room.send(ReactionEventContent::new(Annotation::new(
        menu.id.clone(),
        "1\u{fe0f}\u{20e3}".into(),
    )))
    .await
    .unwrap();
    // The menu changes in place (an edit of the same message).
    let before = menu.body.clone();
    rig.user
        .wait_message(&room, &rig.bot, "the menu after the choice", |m| {
            m.id == menu.id && m.edits > 0 && m.body != before
        })
        .await;

    // A turn that takes long, then !stop: no CLI process is left.
    rig.mock.script(
        "MX_SLOW",
        Reply::text("slow ".repeat(400)).chunk_delay(Duration::from_millis(200)),
    );
    rig.user.say(&room, "MX_SLOW").await;
    let start = Instant::now();
    while rig.cli_processes().is_empty() {
        assert!(start.elapsed() < TURN, "the CLI never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    rig.user.say(&room, "!stop").await;
    let start = Instant::now();
    while !rig.cli_processes().is_empty() {
        assert!(
            start.elapsed() < TURN,
            "CLI processes left: {:?}",
            rig.cli_processes()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_typed_number_takes_the_choice() {
    let rig = MxRig::start(|_| {}).await;
    let room = rig.user.room_with(&rig.bot, false).await;
    let menu = rig.model_menu(&room).await;
    let before = menu.body.clone();
    rig.user.say(&room, "1").await;
    rig.user
        .wait_message(&room, &rig.bot, "the menu after typing 1", |m| {
            m.id == menu.id && m.edits > 0 && m.body != before
        })
        .await;
    assert!(
        rig.mock.requests().is_empty(),
        "the number went to the menu, not to the model"
    );
}

#[tokio::test]
async fn with_mention_only_a_group_room_needs_a_mention() {
    let rig = MxRig::start(|c| c["group_mention_only"] = json!(true)).await;
    rig.mock
        .script("MX_MENTIONED", Reply::text("You called me."));
    let room = rig.user.room_with(&rig.bot, false).await;
    rig.user.say(&room, "MX_IGNORED nobody asked").await;
    rig.user
        .say(&room, &format!("{} MX_MENTIONED hi", rig.bot))
        .await;
    rig.user
        .wait_message(&room, &rig.bot, "the answer to the mention", |m| {
            m.body.contains("You called me.")
        })
        .await;
    let asked: Vec<String> = rig
        .mock
        .requests()
        .iter()
        .map(|r| format!("{r:?}"))
        .collect();
    assert!(
        asked.iter().all(|r| !r.contains("MX_IGNORED")),
        "the message without a mention never reached the model"
    );
}

#[tokio::test]
async fn an_allowed_invite_is_joined_and_greeted_with_a_pinned_notice() {
    let rig = MxRig::start(|_| {}).await;
    std::fs::write(
        rig.home.root.join("workspace/JOIN_NOTIFICATION.md"),
        "**Hello room**, I am the ductor bot.",
    )
    .unwrap();
    // The bot may pin: power level 50 in this room (state events need 50).
    let mut req = Request::new();
    req.name = Some("room with a moderator bot".into());
    req.invite = vec![rig.bot.clone()];
    req.power_level_content_override =
        Some(serde_json::from_value(json!({"users": {rig.bot.to_string(): 50}})).unwrap());
    let room = rig.user.client.create_room(req).await.unwrap();
    let notice = rig
        .user
        .wait_message(&room, &rig.bot, "the join notice", |m| {
            m.body.contains("Hello room")
        })
        .await;
    let start = Instant::now();
    loop {
        let _ = rig
            .user
            .client
            .sync_once(matrix_sdk::config::SyncSettings::default())
            .await;
        let pinned = room.load_pinned_events().await.unwrap().unwrap_or_default();
        if pinned.contains(&notice.id) {
            break;
        }
        assert!(
            start.elapsed() < TURN,
            "the notice was not pinned: {pinned:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn start_in_a_group_room_posts_the_join_notice_again() {
    let rig = MxRig::start(|_| {}).await;
    let room = rig.user.room_with(&rig.bot, false).await;
    // The seeded notice greets the room when the bot joins it.
    let joined = rig
        .user
        .wait_message(&room, &rig.bot, "the join notice", |m| {
            m.body.contains("I am a ductor agent")
        })
        .await;
    rig.user.say(&room, "!start").await;
    rig.user
        .wait_message(&room, &rig.bot, "the welcome", |m| m.body.contains("/help"))
        .await;
    rig.user
        .wait_message(&room, &rig.bot, "the notice after !start", |m| {
            m.body.contains("I am a ductor agent") && m.id != joined.id
        })
        .await;
}

#[tokio::test]
async fn an_answer_leaves_only_its_outcome_as_a_reaction() {
    // Matrix reactions add up: the 👀/✍ stages would stay, so only the outcome is sent.
    let rig = MxRig::start(|_| {}).await;
    rig.mock
        .script("MX_OUTCOME", Reply::text("Done, with a thumbs up."));
    let room = rig.user.room_with(&rig.bot, false).await;
    let asked = rig.user.say(&room, "MX_OUTCOME please").await;
    rig.user
        .wait_message(&room, &rig.bot, "the answer", |m| {
            m.body.contains("Done, with a thumbs up.")
        })
        .await;
    let on_question = |inbox: &Inbox| -> Vec<String> {
        inbox
            .reactions
            .iter()
            .filter(|(e, _, s)| e == &asked && s == &rig.bot)
            .map(|(_, k, _)| k.clone())
            .collect()
    };
    let start = Instant::now();
    while on_question(&rig.user.inbox.lock().unwrap()).is_empty() {
        assert!(start.elapsed() < TURN, "no outcome reaction");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Anything else would have arrived with it.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(on_question(&rig.user.inbox.lock().unwrap()), vec!["👍"]);
}
