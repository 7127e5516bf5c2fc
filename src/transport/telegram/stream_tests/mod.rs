//! Tests of the transport-neutral streaming editor ([`crate::chat::stream`]) with
//! Telegram's dialect (HTML, 4096 characters, edits) against a fake chat that
//! answers like the Bot API, on tokio's paused clock.

mod append_cases;
mod draft_cases;
mod edit_cases;
mod failure_cases;
mod fake;
mod long_cases;

use std::sync::Arc;
use std::time::Duration;

use crate::address::{Address, MessageRef};
use crate::chat::api::OutMessage;
use crate::provider::event::Event;
use crate::transport::telegram::format::{Html, html_to_plain, markdown_to_html};

use crate::chat::stream::{EditorHandle, Finish, StreamSettings, start};
use fake::FakeChat;

/// The chat the tests write to.
fn target() -> Address {
    Address::new("tg", 7, None)
}

/// The user's message the reply answers.
fn user_msg() -> MessageRef {
    MessageRef::from(42)
}

/// Starts an editor on `chat`.
fn editor(chat: &Arc<FakeChat>, settings: StreamSettings) -> EditorHandle {
    start(
        chat.clone(),
        Arc::new(Html),
        target(),
        Some(user_msg()),
        settings,
    )
}

fn delta(s: &str) -> Event {
    Event::TextDelta { text: s.into() }
}

fn block(s: &str) -> Event {
    Event::Text { text: s.into() }
}

fn tool(name: &str) -> Event {
    Event::ToolStarted {
        id: None,
        name: name.into(),
        summary: "ls".into(),
    }
}

/// A successful end with no fallback, footer or special placeholder.
fn completed() -> Finish {
    completed_with("", None)
}

fn completed_with(fallback: &str, footer: Option<&str>) -> Finish {
    Finish::Completed {
        fallback_text: fallback.into(),
        footer: footer.map(Into::into),
        empty_placeholder: "(nothing to say)".into(),
    }
}

async fn wait_ms(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// Feeds `text` as deltas of `piece` characters, `gap_ms` apart, then the whole block.
async fn stream_block(h: &EditorHandle, text: &str, piece: usize, gap_ms: u64) {
    let chars: Vec<char> = text.chars().collect();
    for part in chars.chunks(piece.max(1)) {
        h.event(delta(&part.iter().collect::<String>())).await;
        wait_ms(gap_ms).await;
    }
    h.event(block(text)).await;
}

/// What the user sees of a message, without formatting.
fn plain(msg: &OutMessage) -> String {
    if msg.markup {
        fake::check_html(&msg.text).unwrap_or_else(|e| panic!("{e}"))
    } else {
        msg.text.clone()
    }
}

/// The text of the whole chat, message after message.
fn chat_plain(chat: &FakeChat) -> String {
    chat.messages().iter().map(|(_, m)| plain(m)).collect()
}

/// `s` without any whitespace (splitting may drop whitespace at cuts).
fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The plain text a Markdown answer shows once formatted.
fn expected_plain(md: &str) -> String {
    html_to_plain(&markdown_to_html(md))
}

/// Texts of all calls that carried content.
fn all_texts(chat: &FakeChat) -> Vec<String> {
    chat.calls()
        .into_iter()
        .filter_map(|c| c.msg.map(|m| m.text))
        .collect()
}
