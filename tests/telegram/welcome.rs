//! `/start`: the welcome picture with the welcome text as its caption and the three
//! prompt buttons (a press edits the caption and runs the prompt); a refused caption
//! sends the picture alone and the text after it. `/info`: links as URL buttons.

use super::support::fake_telegram::{Fault, MessageView};
use super::{CHAT, TgRig};
use std::time::Duration;

const WAIT: Duration = Duration::from_mins(1);
/// The picture ductor ships.
const WELCOME_PNG: &[u8] = include_bytes!("../../defaults/welcome.png");

/// The bot's photos in `chat`.
fn photos(rig: &TgRig, chat: i64) -> Vec<MessageView> {
    rig.tg
        .bot_messages(rig.bot, chat)
        .into_iter()
        .filter(|m| m.media.as_ref().is_some_and(|p| p.kind == "photo"))
        .collect()
}

#[tokio::test]
async fn start_sends_the_welcome_picture_with_the_text_as_caption() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    let asked = rig.say("/start");
    let welcome = rig.wait_msg(CHAT, "ductor agent").await;
    let media = welcome.media.clone().expect("a picture");
    assert_eq!(media.kind, "photo");
    assert_eq!(media.data.as_ref(), WELCOME_PNG, "the shipped picture");
    assert!(welcome.text.is_none(), "the text is the caption");
    let caption = welcome.caption.clone().unwrap_or_default();
    assert!(caption.starts_with("Hi "), "{caption}");
    assert!(caption.contains("main"), "{caption}");
    assert!(
        welcome.entity_texts("bold").iter().any(|b| b == "main"),
        "the caption keeps its markup: {:?}",
        welcome.caption_entities
    );
    assert_eq!(welcome.reply_to, Some(asked.message_id));
    assert_eq!(welcome.callback_data(), ["w:1", "w:2", "w:3"]);
    assert_eq!(rig.tg.count("sendPhoto"), 1);
    assert_eq!(
        rig.replies_after(CHAT, asked.message_id).len(),
        1,
        "one message: the captioned picture"
    );

    // A prompt button: the caption notes the choice, the keyboard goes, the prompt runs.
    rig.tg
        .user_presses_button(rig.bot, CHAT, welcome.message_id, "w:1");
    rig.wait_msg(CHAT, "You said: \"What do you know about me?")
        .await;
    let pressed = rig
        .tg
        .wait_until(WAIT, move |w| {
            w.message(rig.bot, CHAT, welcome.message_id)
                .filter(|m| m.callback_data().is_empty())
        })
        .await;
    let caption = pressed.caption.unwrap_or_default();
    assert!(caption.contains("ductor agent"), "{caption}");
    assert!(caption.contains("What do you know about me?"), "{caption}");
    assert!(pressed.media.is_some(), "still the picture");
}

#[tokio::test]
async fn a_refused_caption_sends_the_picture_then_the_text() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    rig.tg.fail_next(
        "sendPhoto",
        Fault::bad_request("can't parse entities: unsupported start tag"),
    );
    let asked = rig.say("/start");
    let text = rig
        .tg
        .wait_until(WAIT, |w| {
            w.visible_messages(rig.bot, CHAT).into_iter().find(|m| {
                m.text
                    .as_deref()
                    .is_some_and(|t| t.contains("ductor agent"))
            })
        })
        .await;
    assert_eq!(text.callback_data(), ["w:1", "w:2", "w:3"]);
    let sent = photos(&rig, CHAT);
    assert_eq!(sent.len(), 1, "{sent:#?}");
    let picture = &sent[0];
    assert!(picture.caption.is_none(), "resent without the caption");
    assert_eq!(picture.media.as_ref().unwrap().data.as_ref(), WELCOME_PNG);
    assert!(picture.message_id < text.message_id, "picture first");
    let calls = rig.tg.calls_of("sendPhoto");
    assert_eq!(calls.len(), 2, "the captioned one, then the bare one");
    assert!(calls[0].param_str("caption").is_some() && calls[0].error().is_some());
    assert!(calls[1].param_str("caption").is_none() && calls[1].succeeded());
    assert_eq!(rig.replies_after(CHAT, asked.message_id).len(), 2);
    // The text's buttons work as before.
    rig.tg
        .user_presses_button(rig.bot, CHAT, text.message_id, "w:3");
    rig.wait_msg(CHAT, "You said: \"Who are you?").await;
}

#[tokio::test]
async fn info_links_are_url_buttons() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    rig.say("/info");
    let info = rig.wait_msg(CHAT, ductor::VERSION).await;
    let text = info.text.clone().unwrap_or_default();
    assert!(text.contains("self-hosted chat orchestrator"), "{text}");
    assert!(text.contains("Agent main · up "), "{text}");
    assert!(!text.contains("up ?"), "the uptime is known: {text}");
    assert!(text.contains("Agents"), "{text}");
    assert!(text.contains("main — running"), "{text}");
    let buttons: Vec<_> = info.buttons().into_iter().flatten().collect();
    assert!(buttons.len() >= 2, "{buttons:?}");
    for b in &buttons {
        assert!(b.callback_data.is_none(), "a link is no callback: {b:?}");
        assert!(
            b.url.as_deref().is_some_and(|u| u.starts_with("https://")),
            "{b:?}"
        );
    }
    let home = env!("CARGO_PKG_HOMEPAGE");
    assert!(
        buttons
            .iter()
            .any(|b| b.text == "Project page" && b.url.as_deref() == Some(home))
    );
    assert!(
        buttons
            .iter()
            .any(|b| b.text == "Releases" && b.url.as_deref() == Some(&format!("{home}/versions")))
    );
}
