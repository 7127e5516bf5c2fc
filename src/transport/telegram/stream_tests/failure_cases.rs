//! Telegram errors while streaming and at the end, failed and cancelled turns.

use std::time::Duration;

use super::fake::{FakeChat, Op};
use super::*;
use crate::chat::api::ApiError;

/// Streams `n` paragraphs, one every 2.5 s, each flushed by its blank line.
async fn paragraphs(h: &EditorHandle, n: usize) -> String {
    let mut full = String::new();
    for i in 0..n {
        let p = format!("Paragraph {i} {}\n\n", "with some words ".repeat(14));
        full.push_str(&p);
        h.event(delta(&p)).await;
        wait_ms(2500).await;
    }
    full
}

#[tokio::test(start_paused = true)]
async fn flood_control_is_waited_out_and_the_final_text_arrives() {
    let chat = FakeChat::scripted(Box::new(|n, _, _| {
        (n % 2 == 1).then_some(ApiError::RetryAfter(Duration::from_secs(3)))
    }));
    let h = editor(&chat, StreamSettings::default());
    let mut full = paragraphs(&h, 4).await;
    full.push_str(&"Tail sentence. ".repeat(300));
    h.event(delta(&full[full.len() - 15 * 300..])).await;
    h.event(block(&full)).await;
    let done = h.finish(completed()).await;

    assert!(done.delivered);
    assert_eq!(squash(&chat_plain(&chat)), squash(&expected_plain(&full)));
    let calls = chat.calls();
    assert!(
        calls.iter().any(|c| c.err.is_some()),
        "flood control happened"
    );
    for pair in calls.windows(2) {
        if matches!(pair[0].err, Some(ApiError::RetryAfter(_))) {
            assert!(
                pair[1].at.saturating_sub(pair[0].at) >= Duration::from_secs(3),
                "{pair:#?}"
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn not_modified_counts_as_success() {
    let edits = std::sync::atomic::AtomicUsize::new(0);
    let chat = FakeChat::scripted(Box::new(move |_, op, _| {
        let first_edits =
            op == Op::Edit && edits.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 3;
        first_edits.then_some(ApiError::NotModified)
    }));
    let h = editor(&chat, StreamSettings::default());
    let full = paragraphs(&h, 5).await;
    h.event(block(full.trim())).await;
    let done = h.finish(completed()).await;

    let count = |op| chat.calls().iter().filter(|c| c.op == op).count();
    assert_eq!(count(Op::Send), 1, "no fallback to append mode");
    assert_eq!(count(Op::Edit), 4, "one edit per paragraph, none retried");
    assert_eq!(squash(&chat_plain(&chat)), squash(&full));
    assert!(done.delivered);
}

#[tokio::test(start_paused = true)]
async fn rejected_html_falls_back_to_plain_text() {
    let chat = FakeChat::scripted(Box::new(|_, _, msg| {
        msg.filter(|m| m.markup && m.text.contains("<b>"))
            .map(|_| ApiError::BadMarkup("can't parse entities".into()))
    }));
    let h = editor(&chat, StreamSettings::default());
    h.event(delta("Hello **bold** world")).await;
    wait_ms(1000).await;
    h.event(delta(" and **more**.")).await;
    h.event(block("Hello **bold** world and **more**.")).await;
    let done = h.finish(completed()).await;

    let msgs = chat.messages();
    assert_eq!(msgs.len(), 1);
    assert!(!msgs[0].1.markup);
    assert_eq!(msgs[0].1.text, "Hello bold world and more.");
    let ops: Vec<Op> = chat.ok_calls().iter().map(|c| c.op).collect();
    assert_eq!(ops, vec![Op::Send, Op::Edit], "plain send, then plain edit");
    assert!(done.delivered);
}

#[tokio::test(start_paused = true)]
async fn repeated_refused_edits_switch_to_append_mode() {
    let chat = FakeChat::scripted(Box::new(|_, op, _| {
        (op == Op::Edit).then(|| ApiError::BadRequest("message can't be edited".into()))
    }));
    let h = editor(&chat, StreamSettings::default());
    let mut full = paragraphs(&h, 6).await;
    full.push_str("Last words.");
    h.event(delta("Last words.")).await;
    h.event(block(&full)).await;
    let done = h.finish(completed()).await;

    let calls = chat.calls();
    let edits: Vec<usize> = (0..calls.len())
        .filter(|&i| calls[i].op == Op::Edit)
        .collect();
    assert_eq!(
        edits.len(),
        3,
        "three refused edits, then no more: {calls:#?}"
    );
    assert!(calls[edits[2] + 1..].iter().all(|c| c.op == Op::Send));
    assert!(calls.iter().filter(|c| c.op == Op::Send).count() >= 3);
    assert_eq!(
        squash(&chat_plain(&chat)),
        squash(&full),
        "nothing lost, nothing doubled"
    );
    assert_eq!(done.message_ids.len(), chat.messages().len());
    assert!(done.delivered);
}

#[tokio::test(start_paused = true)]
async fn a_message_deleted_by_the_user_is_sent_again() {
    let chat = FakeChat::new();
    let h = editor(&chat, StreamSettings::default());
    h.event(delta("First part.")).await;
    wait_ms(1000).await;
    let first = chat.messages()[0].0.clone();
    chat.user_deletes(&first);
    h.event(delta(" Second part.")).await;
    h.event(block("First part. Second part.")).await;
    let done = h.finish(completed()).await;

    let msgs = chat.messages();
    assert_eq!(msgs.len(), 1);
    assert_ne!(msgs[0].0, first);
    assert_eq!(plain(&msgs[0].1), "First part. Second part.");
    assert_eq!(msgs[0].1.reply_to, Some(user_msg()));
    assert_eq!(done.message_ids, vec![msgs[0].0.clone()]);
}

#[tokio::test(start_paused = true)]
async fn an_unreachable_chat_is_retried_with_backoff_then_reported() {
    let chat = FakeChat::scripted(Box::new(|n, _, _| {
        (n > 0).then(|| ApiError::Network("connection reset".into()))
    }));
    let h = editor(&chat, StreamSettings::default());
    h.event(delta("Partial")).await;
    wait_ms(1000).await;
    h.event(block("Partial answer, then the network died."))
        .await;
    let done = h.finish(completed()).await;

    assert!(!done.delivered);
    let calls = chat.calls();
    let gaps: Vec<Duration> = calls[1..]
        .windows(2)
        .map(|p| p[1].at.saturating_sub(p[0].at))
        .collect();
    let secs = |s| Duration::from_secs(s);
    assert_eq!(gaps, vec![secs(1), secs(2), secs(4)], "{calls:#?}");
}

#[tokio::test(start_paused = true)]
async fn a_failed_turn_keeps_the_partial_text_and_adds_the_sentence() {
    let chat = FakeChat::new();
    let h = editor(&chat, StreamSettings::default());
    h.event(delta("Working on it")).await;
    wait_ms(1000).await;
    h.event(block("Working on it")).await;
    h.event(tool("Bash")).await;
    h.event(delta(" and more")).await;
    let done = h
        .finish(Finish::Failed {
            message: "Session Error: rate limited.".into(),
        })
        .await;

    let msgs = chat.messages();
    assert_eq!(msgs.len(), 2);
    assert_eq!(plain(&msgs[0].1), "Working on it\n\nand more");
    assert_eq!(msgs[1].1.text, "Session Error: rate limited.");
    assert!(!msgs[1].1.markup);
    assert_eq!(msgs[1].1.reply_to, None);
    assert_eq!(done.message_ids, vec![msgs[0].0.clone(), msgs[1].0.clone()]);
}

#[tokio::test(start_paused = true)]
async fn a_failed_turn_without_text_replies_with_the_sentence_only() {
    let chat = FakeChat::new();
    let h = editor(&chat, StreamSettings::default());
    h.event(tool("Bash")).await;
    wait_ms(100).await;
    assert_eq!(chat.messages().len(), 1, "the indicator was shown");
    let done = h
        .finish(Finish::Failed {
            message: "It broke.".into(),
        })
        .await;
    let msgs = chat.messages();
    assert_eq!(msgs.len(), 1, "the indicator message is gone");
    assert_eq!(msgs[0].1.text, "It broke.");
    assert_eq!(msgs[0].1.reply_to, Some(user_msg()));
    assert_eq!(done.message_ids, vec![msgs[0].0.clone()]);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_turn_with_nothing_shown_sends_nothing() {
    let chat = FakeChat::new();
    let h = editor(&chat, StreamSettings::default());
    h.event(delta("not yet shown")).await;
    wait_ms(100).await;
    let done = h.finish(Finish::Cancelled).await;
    assert!(chat.calls().is_empty());
    assert!(done.message_ids.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_turn_keeps_its_text_without_indicators() {
    let chat = FakeChat::new();
    let h = editor(&chat, StreamSettings::default());
    h.event(delta("Half an answer")).await;
    wait_ms(1000).await;
    h.event(block("Half an answer")).await;
    h.event(tool("Grep")).await;
    h.event(delta(" and a bit")).await;
    let done = h.finish(Finish::Cancelled).await;
    assert_eq!(chat_plain(&chat), "Half an answer\n\nand a bit");
    assert_eq!(done.message_ids.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_handle_finalizes_as_cancelled() {
    let chat = FakeChat::new();
    let h = editor(&chat, StreamSettings::default());
    h.event(delta("Shown")).await;
    wait_ms(1000).await;
    h.event(tool("Bash")).await;
    drop(h);
    wait_ms(100).await;
    assert_eq!(chat_plain(&chat), "Shown");
}
