//! Draft mode (a native draft streams the answer; real messages at the end), its
//! refresh during long tool runs, the commit before other messages, the fallback to
//! edits when drafts are refused, a stopped draft kept as a message, and the
//! notifying last message of a long edited answer.

use std::time::Duration;

use super::fake::{FakeChat, Op};
use super::*;
use crate::chat::api::ApiError;

fn drafting() -> StreamSettings {
    StreamSettings {
        notify_after: None,
        stopped_note: "⏹ Stopped.".into(),
        ..StreamSettings::default()
    }
}

fn ops(chat: &FakeChat, op: Op) -> Vec<super::fake::Call> {
    chat.calls().into_iter().filter(|c| c.op == op).collect()
}

#[tokio::test(start_paused = true)]
async fn a_streamed_answer_shows_drafts_then_exactly_one_final_message() {
    let chat = FakeChat::with_drafts(Box::new(|_, _, _| None));
    let h = editor(&chat, drafting());
    let answer = "First paragraph of the answer.\n\nSecond paragraph, a bit longer. ".repeat(8);
    stream_block(&h, &answer, 40, 100).await;
    let done = h.finish(completed()).await;
    let drafts = ops(&chat, Op::Draft);
    assert!(drafts.len() >= 2, "{drafts:#?}");
    assert_eq!(
        drafts[0].msg.as_ref().map(|m| m.text.as_str()),
        Some(""),
        "the empty draft (Thinking…) comes first"
    );
    assert!(ops(&chat, Op::Edit).is_empty(), "no edits in draft mode");
    let sends = ops(&chat, Op::Send);
    assert_eq!(sends.len(), 1, "{sends:#?}");
    assert_eq!(done.message_ids.len(), 1);
    assert_eq!(squash(&chat_plain(&chat)), squash(&expected_plain(&answer)));
    assert_eq!(
        chat.messages()[0].1.reply_to,
        Some(user_msg()),
        "the answer replies to the user"
    );
}

#[tokio::test(start_paused = true)]
async fn a_long_tool_run_refreshes_the_draft_before_it_expires() {
    let chat = FakeChat::with_drafts(Box::new(|_, _, _| None));
    let h = editor(&chat, drafting());
    stream_block(&h, "Let me run the tests first.\n\n", 10, 50).await;
    h.event(tool("Bash")).await;
    tokio::time::sleep(Duration::from_mins(1)).await;
    stream_block(&h, "All green.", 10, 50).await;
    h.finish(completed()).await;
    let drafts = ops(&chat, Op::Draft);
    let gaps: Vec<Duration> = drafts
        .windows(2)
        .map(|w| w[1].at.saturating_sub(w[0].at))
        .collect();
    let longest = gaps.iter().max().copied().unwrap_or_default();
    assert!(
        longest <= crate::chat::stream::DRAFT_REFRESH,
        "the draft went {longest:?} without an update: {gaps:?}"
    );
    assert_eq!(ops(&chat, Op::Send).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_draft_becomes_a_message_before_another_message_is_posted() {
    let chat = FakeChat::with_drafts(Box::new(|_, _, _| None));
    let h = editor(&chat, drafting());
    stream_block(&h, "I will now change the config file.", 10, 50).await;
    wait_ms(3000).await;
    h.commit().await;
    let sends = ops(&chat, Op::Send);
    assert_eq!(sends.len(), 1, "the draft's text is a message now");
    assert!(plain(sends[0].msg.as_ref().unwrap()).contains("change the config"));
    // (another message would be posted here, e.g. an approval request)
    stream_block(&h, " Done: it is changed.", 10, 50).await;
    h.finish(completed()).await;
    assert_eq!(
        squash(&chat_plain(&chat)),
        squash("I will now change the config file. Done: it is changed."),
        "nothing lost or doubled"
    );
}

#[tokio::test(start_paused = true)]
async fn a_refused_draft_streams_by_edits() {
    let chat = FakeChat::new();
    let refusing = FakeChat::with_drafts(Box::new(|_, op, _| {
        (op == Op::Draft).then(|| ApiError::BadRequest("TEXTDRAFT_PEER_INVALID".into()))
    }));
    for chat in [chat, refusing] {
        let h = editor(&chat, drafting());
        let answer = "Some answer that streams for a while. ".repeat(20);
        stream_block(&h, &answer, 40, 200).await;
        h.finish(completed()).await;
        assert!(!ops(&chat, Op::Send).is_empty());
        assert!(!ops(&chat, Op::Edit).is_empty(), "streamed by edits");
        assert!(
            ops(&chat, Op::Draft)
                .iter()
                .filter(|c| c.err.is_some())
                .count()
                <= 1,
            "asked once at most"
        );
        assert_eq!(squash(&chat_plain(&chat)), squash(&expected_plain(&answer)));
    }
}

#[tokio::test(start_paused = true)]
async fn a_stopped_draft_is_kept_as_a_message_marked_as_stopped() {
    let chat = FakeChat::with_drafts(Box::new(|_, _, _| None));
    let h = editor(&chat, drafting());
    stream_block(&h, "Half of the answer", 5, 100).await;
    wait_ms(3000).await;
    let done = h.finish(Finish::Cancelled).await;
    assert_eq!(done.message_ids.len(), 1);
    let text = chat_plain(&chat);
    assert!(
        text.contains("Half of the answer") && text.contains("Stopped."),
        "{text}"
    );

    // Stopped before any text: nothing is posted.
    let quiet = FakeChat::with_drafts(Box::new(|_, _, _| None));
    let h = editor(&quiet, drafting());
    assert!(h.finish(Finish::Cancelled).await.message_ids.is_empty());
    assert!(ops(&quiet, Op::Send).is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_long_edited_answer_ends_in_a_new_message_that_notifies() {
    let chat = FakeChat::new();
    let h = editor(
        &chat,
        StreamSettings {
            notify_after: Some(Duration::from_secs(10)),
            ..StreamSettings::default()
        },
    );
    stream_block(&h, "Working on it. ", 5, 100).await;
    tokio::time::sleep(Duration::from_secs(15)).await;
    stream_block(&h, "Finished.", 5, 100).await;
    let done = h.finish(completed()).await;
    let sends = ops(&chat, Op::Send);
    assert_eq!(sends.len(), 2, "the preview, then the final message");
    let deletes = ops(&chat, Op::Delete);
    assert_eq!(deletes.len(), 1, "the edited preview is gone");
    assert_eq!(deletes[0].id, sends[0].id);
    assert_eq!(done.message_ids, vec![sends[1].id.clone().unwrap()]);
    assert_eq!(
        squash(&chat_plain(&chat)),
        squash("Working on it. Finished.")
    );

    // A quick answer is edited in place as before.
    let quick = FakeChat::new();
    let h = editor(
        &quick,
        StreamSettings {
            notify_after: Some(Duration::from_secs(10)),
            ..StreamSettings::default()
        },
    );
    stream_block(&h, "Quick answer.", 5, 100).await;
    h.finish(completed()).await;
    assert_eq!(ops(&quick, Op::Send).len(), 1);
    assert!(ops(&quick, Op::Delete).is_empty());
}
