//! Append mode: only new messages, indicators as their own messages, the keyboard at the end.

use super::fake::{FakeChat, Op};
use super::*;

fn append() -> StreamSettings {
    StreamSettings {
        append_mode: true,
        ..StreamSettings::default()
    }
}

#[tokio::test(start_paused = true)]
async fn append_mode_only_sends_new_messages() {
    let chat = FakeChat::new();
    let h = editor(&chat, append());
    let first = format!("First paragraph. {}", "Some words here. ".repeat(15));
    h.event(delta(&first)).await;
    h.event(block(&first)).await;
    h.event(tool("Bash")).await;
    h.event(tool("Bash")).await;
    h.event(tool("Read")).await;
    wait_ms(3000).await;
    h.event(delta("Second part, ")).await;
    wait_ms(1000).await;
    h.event(delta("still going.\n\n[button:OK]")).await;
    h.event(block("Second part, still going.\n\n[button:OK]"))
        .await;
    let done = h.finish(completed()).await;

    let calls = chat.calls();
    assert!(calls.iter().all(|c| c.op == Op::Send), "{calls:#?}");
    let texts: Vec<String> = chat.messages().iter().map(|(_, m)| plain(m)).collect();
    assert_eq!(
        texts,
        vec![
            first.trim().to_owned(),
            "[TOOL: Shell]".to_owned(),
            "[TOOL: Read]".to_owned(),
            "Second part,".to_owned(),
            "still going.".to_owned(),
        ]
    );
    let msgs = chat.messages();
    assert_eq!(msgs[0].1.reply_to, Some(user_msg()));
    assert!(msgs[1..].iter().all(|(_, m)| m.reply_to.is_none()));
    assert!(msgs.last().and_then(|(_, m)| m.buttons.clone()).is_some());
    assert!(
        msgs[..msgs.len() - 1]
            .iter()
            .all(|(_, m)| m.buttons.is_none())
    );
    assert_eq!(
        done.message_ids,
        msgs.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>()
    );
}

#[tokio::test(start_paused = true)]
async fn append_mode_attaches_the_keyboard_by_editing_the_last_text() {
    let chat = FakeChat::new();
    let h = editor(&chat, append());
    h.event(delta("Pick one\n[button:A] [button:B]")).await;
    wait_ms(1000).await;
    h.event(block("Pick one\n[button:A] [button:B]")).await;
    h.finish(completed()).await;

    let calls = chat.calls();
    let ops: Vec<Op> = calls.iter().map(|c| c.op).collect();
    assert_eq!(ops, vec![Op::Send, Op::Edit]);
    let edit = calls[1].msg.clone().expect("edit content");
    assert_eq!(
        edit.text,
        calls[0].msg.clone().expect("sent").text,
        "same text"
    );
    let kb = edit.buttons.expect("keyboard attached");
    assert_eq!(
        kb[0].iter().map(|b| b.action.encode()).collect::<Vec<_>>(),
        ["a:A", "a:B"]
    );
    assert_eq!(chat_plain(&chat), "Pick one");
}

#[tokio::test(start_paused = true)]
async fn append_mode_sends_a_long_tail_in_several_messages() {
    let chat = FakeChat::new();
    let h = editor(&chat, append());
    let tail = "Fill the message with words. ".repeat(400);
    h.event(block(&tail)).await;
    let done = h.finish(completed_with("", Some("footer"))).await;
    let msgs = chat.messages();
    assert!(msgs.len() >= 3);
    assert!(
        chat.calls()
            .iter()
            .all(|c| c.op == Op::Send && c.err.is_none())
    );
    assert_eq!(squash(&chat_plain(&chat)), squash(&format!("{tail}footer")));
    assert_eq!(done.message_ids.len(), msgs.len());
}
