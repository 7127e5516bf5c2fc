//! A reply on Matrix tells the model what it quotes (§2.1, #135): the replied-to event
//! is loaded, its text, or its caption and media, labelled with its author.

use super::*;
use matrix_sdk::ruma::events::relation::{InReplyTo, Reply as ReplyTo};
use matrix_sdk::ruma::events::room::message::{
    FileMessageEventContent, MessageType, Relation, ReplacementMetadata, RoomMessageEventContent,
};
use matrix_sdk::ruma::{OwnedEventId, owned_mxc_uri};

/// A text message that replies to `to`.
fn reply(text: &str, to: &OwnedEventId) -> RoomMessageEventContent {
    let mut content = RoomMessageEventContent::text_plain(text);
    content.relates_to = Some(Relation::Reply(ReplyTo::new(InReplyTo::new(to.clone()))));
    content
}

/// The prompt the model got that contains `needle`.
async fn prompt_with(rig: &MxRig, needle: &str) -> String {
    let start = Instant::now();
    loop {
        if let Some(r) = rig
            .mock
            .requests()
            .into_iter()
            .find(|r| r.last_user_text.contains(needle))
        {
            return r.last_user_text;
        }
        assert!(
            start.elapsed() < Duration::from_mins(1),
            "no prompt with {needle:?}: {}",
            rig.mock.summary()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_reply_names_the_quoted_answer_or_document() {
    let rig = MxRig::start(|_| {}).await;
    let room = rig.user.room_with(&rig.bot, false).await;
    rig.user.say(&room, "hello there").await;
    let answer = rig
        .user
        .wait_message(&room, &rig.bot, "the answer", |m| {
            m.body.contains("You said: \"hello there\"")
        })
        .await;
    room.send(reply("why that?", &answer.id)).await.unwrap();
    let asked = prompt_with(&rig, "why that?").await;
    assert!(
        asked.contains("[quoted from you (your earlier answer)]:\n> Hello from mock-llm. You said: \"hello there\""),
        "{asked:?}"
    );
    assert!(
        asked.ends_with("The user's message:\nwhy that?"),
        "{asked:?}"
    );
    // A file (its content is never fetched here: only the event is quoted).
    let mut file = FileMessageEventContent::plain(
        "Q3 numbers".into(),
        owned_mxc_uri!("mxc://test.local/nosuchfile"),
    );
    file.filename = Some("report.pdf".into());
    let doc = room
        .send(RoomMessageEventContent::new(MessageType::File(file)))
        .await
        .unwrap()
        .response
        .event_id;
    room.send(reply("sum that up", &doc)).await.unwrap();
    let asked = prompt_with(&rig, "sum that up").await;
    let alice = rig.user.client.user_id().unwrap().to_string();
    assert!(
        asked.contains(&format!(
            "[quoted from {alice}]:\n> [document: report.pdf] Q3 numbers\n\nThe user's message:\nsum that up"
        )),
        "{asked:?}"
    );
    // An edited message is quoted as it reads after the edit.
    let draft = rig.user.say(&room, "draft words").await;
    let edit = RoomMessageEventContent::text_plain("final words")
        .make_replacement(ReplacementMetadata::new(draft.clone(), None));
    room.send(edit).await.unwrap();
    room.send(reply("is that right?", &draft)).await.unwrap();
    let asked = prompt_with(&rig, "is that right?").await;
    assert!(
        asked.contains(&format!("[quoted from {alice}]:\n> final words\n\n")),
        "{asked:?}"
    );
}
