//! Integration tests of the fake Bot API server, with teloxide 0.17 as the client (as ductor uses
//! it) plus a raw HTTP client for what teloxide cannot send (form bodies, unknown methods).

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::fake_telegram::{BotId, DEFAULT_USER_ID, FakeTelegram, Fault, Incoming, Outcome};
use teloxide::net::Download;
use teloxide::prelude::*;
use teloxide::types::{
    BotCommand, ChatMemberKind, FileId, InlineKeyboardButton, InlineKeyboardMarkup, InputFile,
    MediaKind, MessageId, MessageKind, ParseMode, ReactionType, ReplyParameters, ThreadId,
    UpdateKind,
};
use teloxide::{ApiError, RequestError};

const TOKEN: &str = "123456:TEST-token";
const USER: i64 = DEFAULT_USER_ID;
const SHORT: Duration = Duration::from_secs(5);

async fn setup() -> (FakeTelegram, BotId, Bot) {
    let fake = FakeTelegram::start().await;
    let id = fake.add_bot(TOKEN, "ductor_test_bot");
    let bot = Bot::new(TOKEN).set_api_url(fake.api_url().parse().expect("fake url parses"));
    (fake, id, bot)
}

fn api_err<T: std::fmt::Debug>(r: Result<T, RequestError>) -> ApiError {
    match r {
        Err(RequestError::Api(e)) => e,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// Telegram's description of an error (teloxide wraps unknown ones as `Unknown`).
fn desc(e: &ApiError) -> String {
    match e {
        ApiError::Unknown(s) => s.clone(),
        other => other.to_string(),
    }
}

async fn updates(bot: &Bot, offset: i32) -> Vec<Update> {
    bot.get_updates()
        .offset(offset)
        .timeout(0)
        .await
        .expect("getUpdates")
}

fn text_of(u: &Update) -> Option<&str> {
    match &u.kind {
        UpdateKind::Message(m) => m.text(),
        _ => None,
    }
}

/// Minimal HTTP/1.1 client over a TCP socket: `(status, JSON body)`.
async fn raw(
    fake: &FakeTelegram,
    method: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = fake.api_url().trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&host)
        .await
        .expect("connect");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("write head");
    stream.write_all(body).await.expect("write body");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let text = String::from_utf8_lossy(&response).into_owned();
    let (headers, body) = text.split_once("\r\n\r\n").expect("http response");
    let status = headers
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let body = if headers
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut rest = body;
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            out.push_str(&tail[..n]);
            rest = &tail[n + 2..];
        }
        out
    } else {
        body.to_owned()
    };
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

// ----- basics -----

#[tokio::test]
async fn get_me_returns_a_full_user_that_teloxide_parses() {
    let (fake, _, bot) = setup().await;
    let me = bot.get_me().await.expect("getMe");
    assert_eq!(me.username(), "ductor_test_bot");
    assert_eq!(me.user.id.0, 123_456);
    assert!(me.user.is_bot && me.can_join_groups && me.can_read_all_group_messages);
    assert!(!me.supports_inline_queries);
    assert_eq!(
        fake.calls()[0].method,
        "getMe",
        "PascalCase GetMe is logged in Telegram's spelling"
    );
}

#[tokio::test]
async fn unknown_token_is_401_and_unknown_method_404() {
    let (fake, _, _) = setup().await;
    let stranger = Bot::new("999:NOPE").set_api_url(fake.api_url().parse().unwrap());
    assert_eq!(api_err(stranger.get_me().await), ApiError::InvalidToken);
    let (status, body) = raw(
        &fake,
        "POST",
        &format!("/bot{TOKEN}/sendTelepathy"),
        "application/json",
        b"{}",
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"ok": false, "error_code": 404, "description": "Not Found"})
    );
    let (status, body) = raw(&fake, "GET", "/bot999:NOPE/getMe", "text/plain", b"").await;
    assert_eq!(
        (status, body["description"].as_str()),
        (401, Some("Unauthorized"))
    );
}

#[tokio::test]
async fn form_query_and_case_insensitive_methods_are_accepted_and_garbage_is_a_400() {
    let (fake, bot, _) = setup().await;
    fake.user_sends_text(bot, USER, "hi");
    let body = format!("chat_id={USER}&text=%3Cb%3Eform%3C%2Fb%3E&parse_mode=HTML");
    let (status, resp) = raw(
        &fake,
        "POST",
        &format!("/bot{TOKEN}/SENDMESSAGE"),
        "application/x-www-form-urlencoded",
        body.as_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp["result"]["text"], "form");
    assert_eq!(resp["result"]["entities"][0]["type"], "bold");
    let (status, resp) = raw(
        &fake,
        "GET",
        &format!("/bot{TOKEN}/sendmessage?chat_id={USER}&text=query"),
        "text/plain",
        b"",
    )
    .await;
    assert_eq!(
        (status, resp["result"]["text"].as_str()),
        (200, Some("query"))
    );
    for garbage in [&b"{not json"[..], b"[1,2]", b"\xff\xfe"] {
        let (status, resp) = raw(
            &fake,
            "POST",
            &format!("/bot{TOKEN}/sendMessage"),
            "application/json",
            garbage,
        )
        .await;
        assert_eq!(status, 400, "{resp}");
        assert_eq!(resp["ok"], false);
    }
    let (status, _) = raw(
        &fake,
        "POST",
        &format!("/bot{TOKEN}/sendMessage"),
        "multipart/form-data; boundary=x",
        b"--x\r\nbroken",
    )
    .await;
    assert_eq!(status, 400);
    let (status, resp) = raw(
        &fake,
        "POST",
        &format!("/bot{TOKEN}/editMessageText"),
        "application/json",
        br#"{"chat_id":{"a":1},"message_id":"x","text":"t"}"#,
    )
    .await;
    assert_eq!(status, 400, "{resp}");
}

// ----- long polling -----

#[tokio::test]
async fn long_poll_returns_early_on_a_new_update_and_offset_confirms() {
    let (fake, bot_id, bot) = setup().await;
    let poller = bot.clone();
    let started = tokio::time::Instant::now();
    let poll = tokio::spawn(async move { poller.get_updates().timeout(10).await });
    fake.wait_until(SHORT, |w| {
        w.calls_of("getUpdates")
            .iter()
            .any(|c| c.outcome == Outcome::Pending)
            .then_some(())
    })
    .await;
    let sent = fake.user_sends_text(bot_id, USER, "hello");
    let got = poll.await.unwrap().expect("getUpdates");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "long poll did not return early"
    );
    assert_eq!(got.len(), 1);
    assert_eq!(i64::from(got[0].id.0), sent.update_id.unwrap());
    assert_eq!(text_of(&got[0]), Some("hello"));
    // Without confirming, the update is delivered again; after confirming, never.
    assert_eq!(updates(&bot, 0).await.len(), 1);
    let next = got[0].id.0 as i32 + 1;
    assert!(updates(&bot, next).await.is_empty());
    assert!(
        updates(&bot, 0).await.is_empty(),
        "a confirmed update was redelivered"
    );
    assert_eq!(fake.read(|w| w.pending_updates(bot_id)), 0);
}

#[tokio::test]
async fn long_poll_times_out_with_an_empty_list() {
    let (_fake, _, bot) = setup().await;
    let started = tokio::time::Instant::now();
    let got = bot.get_updates().timeout(1).await.expect("getUpdates");
    assert!(got.is_empty());
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "returned before the timeout"
    );
}

#[tokio::test]
async fn limit_and_negative_offset_behave_like_telegram() {
    let (fake, bot_id, bot) = setup().await;
    let ids: Vec<i64> = (0..4)
        .map(|i| {
            fake.user_sends_text(bot_id, USER, &format!("m{i}"))
                .update_id
                .unwrap()
        })
        .collect();
    let first_two = bot.get_updates().limit(2).await.unwrap();
    assert_eq!(
        first_two
            .iter()
            .map(|u| i64::from(u.id.0))
            .collect::<Vec<_>>(),
        ids[..2]
    );
    let last = bot.get_updates().offset(-1).await.unwrap();
    assert_eq!(last.len(), 1);
    assert_eq!(text_of(&last[0]), Some("m3"));
    assert_eq!(
        updates(&bot, 0).await.len(),
        1,
        "negative offset forgets the earlier updates"
    );
}

#[tokio::test]
async fn a_newer_poll_terminates_the_pending_one_with_409() {
    let (fake, _, bot) = setup().await;
    let first = bot.clone();
    let pending = tokio::spawn(async move { first.get_updates().timeout(10).await });
    fake.wait_until(SHORT, |w| {
        w.calls_of("getUpdates")
            .iter()
            .any(|c| c.outcome == Outcome::Pending)
            .then_some(())
    })
    .await;
    let second = bot.get_updates().timeout(1).await;
    let first_result = pending.await.unwrap();
    assert_eq!(api_err(first_result), ApiError::TerminatedByOtherGetUpdates);
    assert!(second.expect("the newer poll wins").is_empty());
    let conflict = fake
        .calls_of("getUpdates")
        .into_iter()
        .find_map(|c| c.error().cloned())
        .unwrap();
    assert_eq!(conflict.code, 409);
}

#[tokio::test]
async fn allowed_updates_and_delete_webhook_drop_pending() {
    let (fake, bot_id, bot) = setup().await;
    let sent = fake.user_sends_text(bot_id, USER, "before");
    let msg = bot
        .send_message(ChatId(USER), "pick")
        .reply_markup(InlineKeyboardMarkup::new([[
            InlineKeyboardButton::callback("A", "a"),
        ]]))
        .await
        .unwrap();
    bot.delete_webhook()
        .drop_pending_updates(true)
        .await
        .unwrap();
    assert!(
        updates(&bot, 0).await.is_empty(),
        "drop_pending_updates kept {sent:?}"
    );
    bot.get_updates()
        .allowed_updates([teloxide::types::AllowedUpdate::Message])
        .timeout(0)
        .await
        .unwrap();
    assert_eq!(
        fake.user_presses_button(bot_id, USER, msg.id.0, "a")
            .update_id,
        None
    );
    assert!(
        fake.user_sends_text(bot_id, USER, "after")
            .update_id
            .is_some()
    );
    // Reactions are not delivered by default, only when asked for.
    assert_eq!(fake.user_reacts(bot_id, USER, msg.id.0, "👍"), None);
    let info = bot.get_webhook_info().await.unwrap();
    assert_eq!(info.pending_update_count, 1);
}

#[tokio::test]
async fn old_and_duplicate_updates() {
    let (fake, bot_id, bot) = setup().await;
    let old = fake.user_sends(
        bot_id,
        USER,
        Incoming::text("while down").sent_ago(Duration::from_hours(1)),
    );
    let dup = fake
        .redeliver_update(bot_id, old.update_id.unwrap())
        .unwrap();
    let got = updates(&bot, 0).await;
    assert_eq!(got.len(), 2);
    assert_eq!(i64::from(got[1].id.0), dup);
    let (UpdateKind::Message(a), UpdateKind::Message(b)) = (&got[0].kind, &got[1].kind) else {
        panic!("{got:?}")
    };
    assert_eq!(a.id, b.id, "a duplicate carries the same message");
    assert!(
        chrono::Utc::now()
            .signed_duration_since(a.date)
            .num_seconds()
            >= 3599
    );
}

// ----- sending, HTML, limits -----

#[tokio::test]
async fn send_message_with_html_stores_plain_text_and_entities() {
    let (fake, bot_id, bot) = setup().await;
    fake.user_sends_text(bot_id, USER, "hi");
    let html = "<b>Bold</b> &lt;tag&gt; &amp; <a href=\"https://example.org\">link</a> \
                <pre><code class=\"language-rust\">fn x() {}</code></pre> <tg-spoiler>s</tg-spoiler> &#128512; &unknown;";
    let msg = bot
        .send_message(ChatId(USER), html)
        .parse_mode(ParseMode::Html)
        .await
        .expect("valid HTML");
    let plain = "Bold <tag> & link fn x() {} s 😀 &unknown;";
    assert_eq!(msg.text(), Some(plain));
    assert_eq!(msg.from.as_ref().unwrap().id.0, 123_456);
    let stored = fake.message(bot_id, USER, msg.id.0).unwrap();
    assert_eq!(stored.text.as_deref(), Some(plain));
    assert_eq!(stored.entity_texts("bold"), ["Bold"]);
    assert_eq!(stored.entity_texts("text_link"), ["link"]);
    assert_eq!(stored.entity_texts("pre"), ["fn x() {}"]);
    assert_eq!(stored.entity_texts("spoiler"), ["s"]);
    let pre = stored.entities.iter().find(|e| e.kind == "pre").unwrap();
    assert_eq!(pre.language.as_deref(), Some("rust"));
    assert!(
        stored.entities.iter().all(|e| e.kind != "code"),
        "code inside pre merges into pre"
    );
    assert_eq!(msg.entities().unwrap().len(), stored.entities.len());
}

#[tokio::test]
async fn invalid_html_is_rejected_like_telegram() {
    let (fake, bot_id, bot) = setup().await;
    fake.user_sends_text(bot_id, USER, "hi");
    let cases = [
        (
            "<div>x</div>",
            "Unsupported start tag \"div\" at byte offset 0",
        ),
        (
            "a <b>x",
            "Can't find end tag corresponding to start tag \"b\"",
        ),
        (
            "<b><i>x</b></i>",
            "Unmatched end tag at byte offset 7, expected \"</i>\", found \"</b>\"",
        ),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("1 < 2", "Unsupported start tag \"\" at byte offset 2"),
        ("<b", "Unclosed start tag at byte offset 0"),
        (
            "<span>x</span>",
            "Tag \"span\" must have class \"tg-spoiler\" at byte offset 0",
        ),
        ("<br>", "Unsupported start tag \"br\" at byte offset 0"),
    ];
    for (html, detail) in cases {
        let err = api_err(
            bot.send_message(ChatId(USER), html)
                .parse_mode(ParseMode::Html)
                .await,
        );
        assert_eq!(
            err,
            ApiError::CantParseEntities(format!("Bad Request: can't parse entities: {detail}")),
            "{html}"
        );
    }
    assert!(fake.bot_messages(bot_id, USER).is_empty());
    let ok = [
        "<blockquote expandable>q</blockquote>",
        "<b>a<i>b</i></b>",
        "<tg-emoji emoji-id=\"5368324170671202286\">👍</tg-emoji>",
    ];
    for html in ok {
        bot.send_message(ChatId(USER), html)
            .parse_mode(ParseMode::Html)
            .await
            .unwrap_or_else(|e| panic!("{html}: {e}"));
    }
    let quote = fake.bot_messages(bot_id, USER)[0].clone();
    assert_eq!(quote.entities[0].kind, "expandable_blockquote");
}

#[tokio::test]
async fn the_4096_limit_counts_utf16_units_after_parsing() {
    let (fake, bot_id, bot) = setup().await;
    fake.user_sends_text(bot_id, USER, "hi");
    let tagged = "<b>x</b>".repeat(700) + "y".repeat(4096 - 700).as_str();
    assert!(tagged.len() > 5000);
    let ok = bot
        .send_message(ChatId(USER), tagged)
        .parse_mode(ParseMode::Html)
        .await
        .expect("4096 visible chars fit");
    assert_eq!(ok.text().unwrap().chars().count(), 4096);
    let over = "<i>z</i>".repeat(97) + "y".repeat(4000).as_str();
    assert_eq!(
        api_err(
            bot.send_message(ChatId(USER), over)
                .parse_mode(ParseMode::Html)
                .await
        ),
        ApiError::MessageIsTooLong
    );
    // An emoji outside the BMP counts twice.
    assert!(
        bot.send_message(ChatId(USER), "😀".repeat(2048))
            .await
            .is_ok()
    );
    assert_eq!(
        api_err(bot.send_message(ChatId(USER), "😀".repeat(2049)).await),
        ApiError::MessageIsTooLong
    );
    // Editing past the limit is Telegram's other wording.
    assert_eq!(
        api_err(
            bot.edit_message_text(ChatId(USER), ok.id, "w".repeat(4097))
                .await
        ),
        ApiError::EditedMessageIsTooLong
    );
}

#[tokio::test]
async fn empty_text_after_parsing_is_rejected() {
    let (fake, bot_id, bot) = setup().await;
    fake.user_sends_text(bot_id, USER, "hi");
    for text in ["", "   \n ", "<b> </b>"] {
        assert_eq!(
            api_err(
                bot.send_message(ChatId(USER), text)
                    .parse_mode(ParseMode::Html)
                    .await
            ),
            ApiError::MessageTextIsEmpty,
            "{text:?}"
        );
    }
    let trimmed = bot
        .send_message(ChatId(USER), "\n  <b>hi</b>  \n")
        .parse_mode(ParseMode::Html)
        .await
        .unwrap();
    assert_eq!(trimmed.text(), Some("hi"));
    assert_eq!(trimmed.entities().unwrap()[0].offset, 0);
}

#[tokio::test]
async fn a_bot_cannot_start_a_conversation_and_blocked_bots_get_403() {
    let (fake, bot_id, bot) = setup().await;
    let err = api_err(bot.send_message(ChatId(USER), "hi").await);
    assert_eq!(
        desc(&err),
        "Forbidden: bot can't initiate conversation with a user"
    );
    assert_eq!(
        api_err(bot.send_message(ChatId(42), "hi").await),
        ApiError::ChatNotFound
    );
    fake.open_private_chat(bot_id, USER);
    bot.send_message(ChatId(USER), "hi")
        .await
        .expect("after /start");
    let sent = bot
        .send_message(ChatId(USER), "before the block")
        .await
        .unwrap();
    fake.user_blocks_bot(bot_id, USER);
    assert_eq!(
        api_err(bot.send_message(ChatId(USER), "hi").await),
        ApiError::BotBlocked
    );
    assert_eq!(
        api_err(bot.edit_message_text(ChatId(USER), sent.id, "edit").await),
        ApiError::BotBlocked
    );
    // Writing to the bot again unblocks it.
    fake.user_sends_text(bot_id, USER, "/start");
    bot.send_message(ChatId(USER), "welcome back")
        .await
        .expect("unblocked");
}

// ----- edits, deletes, keyboards -----

#[tokio::test]
async fn edits_behave_like_telegram() {
    let (fake, bot_id, bot) = setup().await;
    fake.user_sends_text(bot_id, USER, "hi");
    let keyboard = InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("Yes", "y")]]);
    let msg = bot
        .send_message(ChatId(USER), "<b>v1</b>")
        .parse_mode(ParseMode::Html)
        .reply_markup(keyboard.clone())
        .await
        .unwrap();
    let same = bot
        .edit_message_text(ChatId(USER), msg.id, "<b>v1</b>")
        .parse_mode(ParseMode::Html)
        .reply_markup(keyboard.clone())
        .await;
    assert_eq!(api_err(same), ApiError::MessageNotModified);
    // Same text without the bold entity is a change.
    bot.edit_message_text(ChatId(USER), msg.id, "v1")
        .reply_markup(keyboard.clone())
        .await
        .expect("entities differ");
    // An edit without reply_markup removes the keyboard.
    let edited = bot
        .edit_message_text(ChatId(USER), msg.id, "v1")
        .await
        .expect("keyboard removed is a change");
    assert!(edited.reply_markup().is_none());
    assert!(edited.edit_date().is_some());
    let stored = fake.message(bot_id, USER, msg.id.0).unwrap();
    assert_eq!(
        (stored.edit_count, stored.reply_markup.is_none()),
        (2, true)
    );
    assert_eq!(
        api_err(
            bot.edit_message_text(ChatId(USER), MessageId(9999), "x")
                .await
        ),
        ApiError::MessageToEditNotFound
    );
    let user_msg = fake.user_sends_text(bot_id, USER, "mine").message_id;
    assert_eq!(
        desc(&api_err(
            bot.edit_message_text(ChatId(USER), MessageId(user_msg), "x")
                .await
        )),
        "Bad Request: message can't be edited"
    );
    bot.edit_message_reply_markup(ChatId(USER), msg.id)
        .reply_markup(keyboard)
        .await
        .unwrap();
    assert_eq!(
        fake.message(bot_id, USER, msg.id.0)
            .unwrap()
            .callback_data(),
        ["y"]
    );
    bot.delete_message(ChatId(USER), msg.id).await.unwrap();
    assert!(fake.message(bot_id, USER, msg.id.0).unwrap().deleted);
    assert_eq!(
        api_err(bot.delete_message(ChatId(USER), msg.id).await),
        ApiError::MessageToDeleteNotFound
    );
    assert_eq!(
        api_err(bot.edit_message_text(ChatId(USER), msg.id, "z").await),
        ApiError::MessageToEditNotFound
    );
    assert_eq!(
        fake.visible_messages(bot_id, USER)
            .iter()
            .map(|m| m.content().to_owned())
            .collect::<Vec<_>>(),
        ["hi", "mine"]
    );
}

#[tokio::test]
async fn callback_data_over_64_bytes_is_rejected() {
    let (fake, bot_id, bot) = setup().await;
    fake.user_sends_text(bot_id, USER, "hi");
    let ok = "é".repeat(32);
    assert_eq!(ok.len(), 64);
    bot.send_message(ChatId(USER), "ok")
        .reply_markup(InlineKeyboardMarkup::new([[
            InlineKeyboardButton::callback("a", ok),
        ]]))
        .await
        .expect("64 bytes fit");
    let long = "é".repeat(32) + "x";
    let err = bot
        .send_message(ChatId(USER), "no")
        .reply_markup(InlineKeyboardMarkup::new([[
            InlineKeyboardButton::callback("a", long),
        ]]))
        .await;
    assert_eq!(api_err(err), ApiError::ButtonDataInvalid);
}

#[tokio::test]
async fn callback_query_round_trip() {
    let (fake, bot_id, bot) = setup().await;
    fake.user_sends_text(bot_id, USER, "hi");
    let msg = bot
        .send_message(ChatId(USER), "Choose")
        .reply_markup(InlineKeyboardMarkup::new([[
            InlineKeyboardButton::callback("One", "ms:p:claude"),
        ]]))
        .await
        .unwrap();
    let pressed = fake.user_presses_button(bot_id, USER, msg.id.0, "ms:p:claude");
    let got = updates(&bot, 0).await;
    let UpdateKind::CallbackQuery(q) = &got.last().unwrap().kind else {
        panic!("{got:?}")
    };
    assert_eq!(q.data.as_deref(), Some("ms:p:claude"));
    assert_eq!(q.id.0, pressed.query_id);
    assert!(!q.chat_instance.is_empty());
    assert_eq!(q.regular_message().unwrap().id, msg.id);
    assert_eq!(q.from.id.0 as i64, USER);
    bot.answer_callback_query(q.id.clone())
        .text("ok")
        .await
        .expect("first answer");
    assert_eq!(
        fake.read(|w| w.callback_answered(&pressed.query_id)),
        Some(true)
    );
    let again = api_err(bot.answer_callback_query(q.id.clone()).await);
    assert!(
        desc(&again)
            .contains("query is too old and response timeout expired or query ID is invalid"),
        "{again}"
    );
    let unknown = api_err(
        bot.answer_callback_query(teloxide::types::CallbackQueryId("nope".into()))
            .await,
    );
    assert!(desc(&unknown).starts_with("Bad Request: query is too old"));
}

#[tokio::test]
async fn replies_and_quotes() {
    let (fake, bot_id, bot) = setup().await;
    let bot_msg = {
        fake.open_private_chat(bot_id, USER);
        bot.send_message(ChatId(USER), "The answer is 42.")
            .await
            .unwrap()
    };
    fake.user_sends(
        bot_id,
        USER,
        Incoming::text("why?").reply_to(bot_msg.id.0).quote("42"),
    );
    let got = updates(&bot, 0).await;
    let UpdateKind::Message(m) = &got[0].kind else {
        panic!()
    };
    assert_eq!(m.reply_to_message().unwrap().id, bot_msg.id);
    assert_eq!(m.quote().unwrap().text, "42");
    let reply = bot
        .send_message(ChatId(USER), "because")
        .reply_parameters(ReplyParameters::new(m.id))
        .await
        .unwrap();
    assert_eq!(reply.reply_to_message().unwrap().id, m.id);
    assert_eq!(
        fake.message(bot_id, USER, reply.id.0).unwrap().reply_to,
        Some(m.id.0)
    );
    let missing = bot
        .send_message(ChatId(USER), "x")
        .reply_parameters(ReplyParameters::new(MessageId(777)))
        .await;
    assert_eq!(api_err(missing), ApiError::MessageToReplyNotFound);
    let allowed = bot
        .send_message(ChatId(USER), "x")
        .reply_parameters(ReplyParameters::new(MessageId(777)).allow_sending_without_reply())
        .await
        .unwrap();
    assert!(allowed.reply_to_message().is_none());
}

// ----- flood control and injected faults -----

#[tokio::test]
async fn flood_control_answers_retry_after() {
    let (fake, bot_id, bot) = setup().await;
    fake.user_sends_text(bot_id, USER, "hi");
    fake.set_flood_control(USER, Duration::from_secs(3));
    let first = bot.send_message(ChatId(USER), "one").await.unwrap();
    match bot.send_message(ChatId(USER), "two").await {
        Err(RequestError::RetryAfter(secs)) => assert_eq!(secs.seconds(), 3),
        other => panic!("expected RetryAfter, got {other:?}"),
    }
    assert!(matches!(
        bot.edit_message_text(ChatId(USER), first.id, "edit").await,
        Err(RequestError::RetryAfter(_))
    ));
    let refused = fake
        .calls_of("sendMessage")
        .last()
        .unwrap()
        .error()
        .cloned()
        .unwrap();
    assert_eq!((refused.code, refused.retry_after), (429, Some(3)));
    fake.set_flood_control_enabled(false);
    bot.send_message(ChatId(USER), "three")
        .await
        .expect("flood control off");
    assert_eq!(fake.bot_messages(bot_id, USER).len(), 2);
}

#[tokio::test]
async fn injected_faults_hit_the_next_call_only() {
    let (fake, bot_id, bot) = setup().await;
    fake.user_sends_text(bot_id, USER, "hi");
    fake.fail_next("SendMessage", Fault::retry_after(7));
    assert!(
        matches!(bot.send_message(ChatId(USER), "a").await, Err(RequestError::RetryAfter(s)) if s.seconds() == 7)
    );
    bot.send_message(ChatId(USER), "b")
        .await
        .expect("fault was one-off");
    fake.fail_next("sendMessage", Fault::bad_request("chat not found"));
    assert_eq!(
        api_err(bot.send_message(ChatId(USER), "c").await),
        ApiError::ChatNotFound
    );
    fake.fail_next("getMe", Fault::server_error(502));
    let (status, body) = raw(
        &fake,
        "POST",
        &format!("/bot{TOKEN}/getMe"),
        "application/json",
        b"{}",
    )
    .await;
    assert_eq!(
        (status, body["description"].as_str()),
        (502, Some("Bad Gateway"))
    );
    fake.fail_next("getMe", Fault::Delay(Duration::from_millis(300)));
    let started = tokio::time::Instant::now();
    bot.get_me().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
}

// ----- files -----

#[tokio::test]
async fn multipart_uploads_are_stored() {
    let (fake, bot_id, bot) = setup().await;
    fake.user_sends_text(bot_id, USER, "hi");
    let doc = bot
        .send_document(
            ChatId(USER),
            InputFile::memory(b"report body".to_vec()).file_name("report.txt"),
        )
        .caption("<b>Report</b>")
        .parse_mode(ParseMode::Html)
        .await
        .expect("sendDocument");
    let MessageKind::Common(common) = &doc.kind else {
        panic!()
    };
    let MediaKind::Document(d) = &common.media_kind else {
        panic!("{doc:?}")
    };
    assert_eq!(d.document.file_name.as_deref(), Some("report.txt"));
    assert_eq!(d.caption.as_deref(), Some("Report"));
    let up = fake.uploads();
    assert_eq!(up.len(), 1);
    assert_eq!(
        (
            &up[0].data[..],
            up[0].file_name.as_deref(),
            up[0].mime.as_deref()
        ),
        (&b"report body"[..], Some("report.txt"), Some("text/plain"))
    );
    assert_eq!(up[0].message_id, doc.id.0);
    let png = tiny_png(40, 30);
    let photo = bot
        .send_photo(ChatId(USER), InputFile::memory(png))
        .await
        .expect("sendPhoto");
    assert_eq!(
        photo.photo().unwrap().last().map(|p| (p.width, p.height)),
        Some((40, 30))
    );
    let not_image = bot
        .send_photo(
            ChatId(USER),
            InputFile::memory(b"%PDF-1.4".to_vec()).file_name("x.jpg"),
        )
        .await;
    assert_eq!(
        desc(&api_err(not_image)),
        "Bad Request: IMAGE_PROCESS_FAILED"
    );
    let voice = bot
        .send_voice(ChatId(USER), InputFile::memory(b"OggS....".to_vec()))
        .await
        .unwrap();
    assert_eq!(
        voice
            .voice()
            .unwrap()
            .mime_type
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some("audio/ogg")
    );
    let reused = bot
        .send_document(ChatId(USER), InputFile::file_id(d.document.file.id.clone()))
        .await
        .unwrap();
    assert_eq!(reused.document().unwrap().file.id, d.document.file.id);
    assert_eq!(fake.uploads().len(), 3, "a file_id resend is not an upload");
}

fn tiny_png(w: u32, h: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    png.extend_from_slice(&w.to_be_bytes());
    png.extend_from_slice(&h.to_be_bytes());
    png.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
    png
}

#[tokio::test]
async fn user_files_can_be_fetched_and_downloaded() {
    let (fake, bot_id, bot) = setup().await;
    let body: Vec<u8> = (0..=255).cycle().take(10_000).collect();
    fake.user_sends_document(
        bot_id,
        USER,
        body.clone(),
        "data.bin",
        "application/octet-stream",
        Some("here"),
    );
    fake.user_sends_photo(bot_id, USER, tiny_png(2000, 1000), None);
    let got = updates(&bot, 0).await;
    let UpdateKind::Message(m) = &got[0].kind else {
        panic!()
    };
    let doc = m.document().expect("document");
    assert_eq!((doc.file.size, m.caption()), (10_000, Some("here")));
    let file = bot.get_file(doc.file.id.clone()).await.expect("getFile");
    assert!(file.path.contains('/'), "{}", file.path);
    let mut downloaded = Vec::new();
    bot.download_file(&file.path, &mut downloaded)
        .await
        .expect("download");
    assert_eq!(downloaded, body);
    assert!(fake.calls_of("downloadFile")[0].succeeded());
    let UpdateKind::Message(p) = &got[1].kind else {
        panic!()
    };
    let sizes = p.photo().unwrap();
    assert!(sizes.len() >= 2);
    assert_eq!(
        (sizes.last().unwrap().width, sizes.last().unwrap().height),
        (1280, 640)
    );
    assert_eq!(
        desc(&api_err(bot.get_file(FileId("bogus".into())).await)),
        "Bad Request: invalid file_id"
    );
}

#[tokio::test]
async fn files_over_20_mb_cannot_be_fetched() {
    let (fake, bot_id, bot) = setup().await;
    fake.user_sends_document(
        bot_id,
        USER,
        vec![0_u8; 20 * 1024 * 1024 + 1],
        "big.bin",
        "application/octet-stream",
        None,
    );
    let got = updates(&bot, 0).await;
    let UpdateKind::Message(m) = &got[0].kind else {
        panic!()
    };
    let err = api_err(bot.get_file(m.document().unwrap().file.id.clone()).await);
    assert_eq!(desc(&err), "Bad Request: file is too big");
}

// ----- groups, topics, membership -----

#[tokio::test]
async fn forum_topics_keep_thread_ids() {
    let (fake, bot_id, bot) = setup().await;
    let chat = fake.create_supergroup("Team", true);
    fake.bot_added_to_chat(bot_id, chat, USER, true);
    let topic = fake.user_creates_topic(bot_id, chat, "Research");
    let in_topic = fake.user_sends(
        bot_id,
        chat,
        Incoming::text("in topic").in_thread(topic.message_id),
    );
    let got = updates(&bot, 0).await;
    assert!(
        matches!(&got[0].kind, UpdateKind::MyChatMember(m) if matches!(m.new_chat_member.kind, ChatMemberKind::Administrator(_)))
    );
    let UpdateKind::Message(created) = &got[1].kind else {
        panic!("{got:?}")
    };
    assert!(
        matches!(created.kind, MessageKind::ForumTopicCreated(_)),
        "{created:?}"
    );
    let UpdateKind::Message(m) = &got[2].kind else {
        panic!()
    };
    assert_eq!(m.id.0, in_topic.message_id);
    assert_eq!(m.thread_id, Some(ThreadId(MessageId(topic.message_id))));
    assert!(m.is_topic_message && m.chat.is_supergroup());
    // Telegram quirk: a topic message that replies to nothing replies to the topic's first message.
    assert_eq!(m.reply_to_message().map(|r| r.id.0), Some(topic.message_id));
    let teloxide::types::ChatKind::Public(public) = &m.chat.kind else {
        panic!()
    };
    assert!(matches!(&public.kind, teloxide::types::PublicChatKind::Supergroup(s) if s.is_forum));
    let reply = bot
        .send_message(ChatId(chat), "answer")
        .message_thread_id(ThreadId(MessageId(topic.message_id)))
        .await
        .unwrap();
    assert_eq!(reply.thread_id, Some(ThreadId(MessageId(topic.message_id))));
    assert!(reply.is_topic_message);
    let stored = fake.message(bot_id, chat, reply.id.0).unwrap();
    assert_eq!(stored.thread_id, Some(topic.message_id));
    bot.pin_chat_message(ChatId(chat), reply.id)
        .await
        .expect("administrators can pin");
    let info = bot
        .get_chat(ChatId(chat))
        .await
        .expect("getChat parses a forum");
    assert_eq!(info.title(), Some("Team"));
    let wrong = bot
        .send_message(ChatId(chat), "x")
        .message_thread_id(ThreadId(MessageId(4242)))
        .await;
    assert_eq!(
        desc(&api_err(wrong)),
        "Bad Request: message thread not found"
    );
}

#[tokio::test]
async fn privacy_mode_and_removal_from_groups() {
    let (fake, bot_id, bot) = setup().await;
    fake.set_privacy_mode(bot_id, true);
    assert!(!bot.get_me().await.unwrap().can_read_all_group_messages);
    let chat = fake.create_supergroup("Ops", false);
    fake.bot_added_to_chat(bot_id, chat, USER, false);
    assert_eq!(
        fake.user_sends_text(bot_id, chat, "chatter").update_id,
        None
    );
    assert!(
        fake.user_sends_text(bot_id, chat, "/status")
            .update_id
            .is_some()
    );
    assert_eq!(
        fake.user_sends_text(bot_id, chat, "/status@other_bot")
            .update_id,
        None
    );
    assert!(
        fake.user_sends_text(bot_id, chat, "hey @ductor_test_bot")
            .update_id
            .is_some()
    );
    let got = updates(&bot, 0).await;
    let UpdateKind::Message(cmd) = &got[1].kind else {
        panic!()
    };
    assert_eq!(
        cmd.entities().unwrap()[0].kind,
        teloxide::types::MessageEntityKind::BotCommand
    );
    bot.pin_chat_message(ChatId(chat), cmd.id)
        .await
        .expect_err("members cannot pin in supergroups");
    fake.bot_removed_from_chat(bot_id, chat, USER);
    assert_eq!(
        api_err(bot.send_message(ChatId(chat), "still here?").await),
        ApiError::BotKickedFromSupergroup
    );
    let group = fake.create_group("Small");
    fake.user_sends_text(bot_id, group, "hi /start");
    bot.leave_chat(ChatId(group)).await.unwrap();
    let err = api_err(bot.send_message(ChatId(group), "x").await);
    assert_eq!(
        desc(&err),
        "Forbidden: bot is not a member of the group chat"
    );
    let member = bot
        .get_chat_member(ChatId(group), UserId(123_456))
        .await
        .unwrap();
    assert!(matches!(member.kind, ChatMemberKind::Left));
}

#[tokio::test]
async fn chat_info_actions_reactions_and_pins() {
    let (fake, bot_id, bot) = setup().await;
    let user_msg = fake.user_sends_text(bot_id, USER, "hello").message_id;
    let chat = bot.get_chat(ChatId(USER)).await.expect("getChat parses");
    assert_eq!(chat.first_name(), Some("Alice"));
    bot.send_chat_action(ChatId(USER), teloxide::types::ChatAction::Typing)
        .await
        .unwrap();
    assert_eq!(
        fake.read(|w| w.chat_action(bot_id, USER, None)).as_deref(),
        Some("typing")
    );
    bot.send_message(ChatId(USER), "done").await.unwrap();
    assert_eq!(
        fake.read(|w| w.chat_action(bot_id, USER, None)),
        None,
        "a message ends the chat action"
    );
    let thinking = ReactionType::Emoji {
        emoji: "🤔".into()
    };
    bot.set_message_reaction(ChatId(USER), MessageId(user_msg))
        .reaction(vec![thinking])
        .await
        .unwrap();
    assert_eq!(
        fake.message(bot_id, USER, user_msg).unwrap().reactions,
        ["🤔"]
    );
    let with_selector = ReactionType::Emoji {
        emoji: "✍️".into()
    };
    let err = api_err(
        bot.set_message_reaction(ChatId(USER), MessageId(user_msg))
            .reaction(vec![with_selector])
            .await,
    );
    assert_eq!(desc(&err), "Bad Request: REACTION_INVALID");
    bot.set_message_reaction(ChatId(USER), MessageId(user_msg))
        .await
        .unwrap();
    assert!(
        fake.message(bot_id, USER, user_msg)
            .unwrap()
            .reactions
            .is_empty()
    );
    bot.pin_chat_message(ChatId(USER), MessageId(user_msg))
        .await
        .unwrap();
    assert!(fake.message(bot_id, USER, user_msg).unwrap().pinned);
    let me = bot
        .get_chat_member(ChatId(USER), UserId(USER as u64))
        .await
        .unwrap();
    assert!(matches!(me.kind, ChatMemberKind::Member(_)));
}

// ----- commands -----

#[tokio::test]
async fn set_my_commands_validates_and_stores() {
    let (fake, bot_id, bot) = setup().await;
    let commands = vec![
        BotCommand::new("new", "Start a new session"),
        BotCommand::new("stop_all", "Stop everything"),
    ];
    bot.set_my_commands(commands.clone())
        .await
        .expect("valid commands");
    assert_eq!(bot.get_my_commands().await.unwrap(), commands);
    assert_eq!(
        fake.commands(bot_id)[1],
        ("stop_all".to_owned(), "Stop everything".to_owned())
    );
    let invalid = [
        BotCommand::new("Start", "uppercase"),
        BotCommand::new("", "empty"),
        BotCommand::new("a".repeat(33), "too long"),
        BotCommand::new("with-dash", "dash"),
    ];
    for c in invalid {
        let err = api_err(bot.set_my_commands(vec![c.clone()]).await);
        assert_eq!(desc(&err), "Bad Request: BOT_COMMAND_INVALID", "{c:?}");
    }
    for description in [String::new(), "d".repeat(257)] {
        let err = api_err(
            bot.set_my_commands(vec![BotCommand::new("ok", description)])
                .await,
        );
        assert_eq!(desc(&err), "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID");
    }
    bot.set_my_commands(vec![BotCommand::new("ok", "d".repeat(256))])
        .await
        .expect("256 chars fit");
    bot.delete_my_commands().await.unwrap();
    assert!(bot.get_my_commands().await.unwrap().is_empty());
}

// ----- observation helpers -----

#[tokio::test]
async fn wait_helpers_see_what_the_bot_does() {
    let (fake, bot_id, bot) = setup().await;
    fake.user_sends_text(bot_id, USER, "hi");
    let sender = bot.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let m = sender.send_message(ChatId(USER), "working…").await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        sender
            .edit_message_text(ChatId(USER), m.id, "<i>done</i>")
            .parse_mode(ParseMode::Html)
            .await
            .unwrap();
    });
    let m = fake.wait_for_text(bot_id, USER, "done", SHORT).await;
    assert_eq!(
        (m.edit_count, m.entity_texts("italic")),
        (1, vec!["done".to_owned()])
    );
    assert_eq!(
        fake.wait_for_calls("editMessageText", 1, SHORT).await.len(),
        1
    );
    assert_eq!(fake.calls_for(USER).len(), 2);
    let timeout = fake
        .try_wait_until(Duration::from_millis(200), |w| {
            w.count("sendPhoto").checked_sub(1)
        })
        .await;
    assert!(
        timeout
            .unwrap_err()
            .recent_calls
            .contains("editMessageText")
    );
}

#[tokio::test]
async fn edited_messages_media_groups_and_drafts() {
    let (fake, bot_id, bot) = setup().await;
    let sent = fake.user_sends_text(bot_id, USER, "typo");
    fake.user_edits_text(bot_id, USER, sent.message_id, "fixed")
        .expect("edited_message is delivered");
    let got = updates(&bot, 0).await;
    let UpdateKind::EditedMessage(edited) = &got[1].kind else {
        panic!("{got:?}")
    };
    assert_eq!(
        (edited.id.0, edited.text()),
        (sent.message_id, Some("fixed"))
    );
    assert!(edited.edit_date().is_some());

    let album = bot
        .send_media_group(
            ChatId(USER),
            [
                teloxide::types::InputMedia::Photo(
                    teloxide::types::InputMediaPhoto::new(InputFile::memory(tiny_png(10, 10)))
                        .caption("first"),
                ),
                teloxide::types::InputMedia::Photo(teloxide::types::InputMediaPhoto::new(
                    InputFile::memory(tiny_png(20, 10)),
                )),
            ],
        )
        .await
        .expect("sendMediaGroup");
    assert_eq!(album.len(), 2);
    assert!(album[0].media_group_id().is_some());
    assert_eq!(album[0].media_group_id(), album[1].media_group_id());
    assert_eq!(album[0].caption(), Some("first"));
    assert_eq!(fake.uploads().len(), 2);

    let draft =
        json!({"chat_id": USER, "draft_id": 7, "text": "<b>partial</b>", "parse_mode": "HTML"});
    let (status, body) = raw(
        &fake,
        "POST",
        &format!("/bot{TOKEN}/sendMessageDraft"),
        "application/json",
        draft.to_string().as_bytes(),
    )
    .await;
    assert_eq!((status, &body["result"]), (200, &json!(true)), "{body}");
    assert_eq!(
        fake.read(|w| w.draft(bot_id, USER)).as_deref(),
        Some("partial")
    );
}

// ----- robustness -----

#[test]
fn the_html_parser_never_panics_and_keeps_entities_in_bounds() {
    use support::fake_telegram::{html, text::utf16_len};
    const PIECES: &[&str] = &[
        "<",
        ">",
        "</",
        "&",
        "&lt;",
        "&#",
        "&#x1F600;",
        "&#0;",
        ";",
        "b",
        "i",
        "a",
        "pre",
        "code",
        " href=\"",
        "\"",
        "'",
        "=",
        " ",
        "\n",
        "é",
        "😀",
        "span class=tg-spoiler",
        "blockquote",
        " expandable",
        "tg-emoji emoji-id=\"1\"",
        "class=\"language-x\"",
        "/",
    ];
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let mut accepted = 0;
    for _ in 0..20_000 {
        let mut input = String::new();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        for k in 0..(seed % 12) {
            input.push_str(PIECES[((seed >> (k * 5)) % PIECES.len() as u64) as usize]);
        }
        if let Ok(parsed) = html::parse(&input) {
            accepted += 1;
            let len = utf16_len(&parsed.text);
            for e in &parsed.entities {
                assert!(
                    e.length > 0 && e.offset + e.length <= len,
                    "{input:?} -> {parsed:?}"
                );
            }
        }
    }
    assert!(
        accepted > 100,
        "the generator should also produce valid HTML"
    );
}

#[tokio::test]
async fn no_method_answers_5xx_to_malformed_parameters() {
    let (fake, bot_id, _) = setup().await;
    fake.user_sends_text(bot_id, USER, "hi");
    let payloads = [
        json!({}),
        json!({"chat_id": "@nobody", "message_id": -1, "text": {"a": 1}, "reply_markup": "[", "timeout": "x"}),
        json!({"chat_id": USER, "message_id": 1, "text": "t", "reply_markup": {"inline_keyboard": [[{"text": 5}]]},
               "entities": [{"type": "bold", "offset": u64::MAX, "length": 5}],
               "reply_parameters": {"message_id": "x"}, "commands": [{}], "reaction": 3, "media": "[{}]",
               "photo": "attach://missing", "document": "", "file_id": [], "callback_query_id": 1,
               "allowed_updates": "nope", "limit": -5, "offset": "-9999999999999"}),
        json!({"chat_id": USER, "message_ids": [1, 2, "x"], "action": "dancing", "scope": {"type": "moon"},
               "language_code": "english", "user_id": "me", "draft_id": 0, "url": "http://insecure"}),
    ];
    for method in support::fake_telegram::methods::KNOWN {
        for payload in &payloads {
            let (status, body) = raw(
                &fake,
                "POST",
                &format!("/bot{TOKEN}/{method}"),
                "application/json",
                payload.to_string().as_bytes(),
            )
            .await;
            assert!(status < 500, "{method} {payload} -> {status} {body}");
            if status != 200 {
                assert_eq!(
                    (body["ok"].as_bool(), body["error_code"].as_u64()),
                    (Some(false), Some(u64::from(status)))
                );
                assert!(body["description"].as_str().is_some_and(|d| !d.is_empty()));
            }
        }
    }
}

// ----- newer Bot API: drafts, stopping generation, button styles, date_time entities -----

/// POST a JSON body to `method` with the raw client.
async fn post(fake: &FakeTelegram, method: &str, body: &Value) -> (u16, Value) {
    raw(
        fake,
        "POST",
        &format!("/bot{TOKEN}/{method}"),
        "application/json",
        body.to_string().as_bytes(),
    )
    .await
}

/// `getUpdates` as raw JSON (teloxide 0.17 cannot parse the newer update and entity kinds).
async fn raw_updates(fake: &FakeTelegram, allowed: Option<Value>) -> Vec<Value> {
    let mut body = json!({"timeout": 0});
    if let Some(a) = allowed {
        body["allowed_updates"] = a;
    }
    let (status, resp) = post(fake, "getUpdates", &body).await;
    assert_eq!(status, 200, "{resp}");
    resp["result"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn drafts_are_validated_and_every_update_is_recorded() {
    let (fake, bot_id, _) = setup().await;
    fake.user_sends_text(bot_id, USER, "hi");
    let draft = |id: i64, text: &str| json!({"chat_id": USER, "draft_id": id, "text": text, "parse_mode": "HTML", "can_stop": true});
    assert_eq!(
        post(&fake, "sendMessageDraft", &draft(7, "<b>par</b>"))
            .await
            .0,
        200
    );
    // Unknown fields (and fields of other methods) are ignored.
    let mut update = draft(7, "<b>partial</b> answer");
    update["keep_on_stop"] = json!("true");
    update["some_future_field"] = json!({"x": 1});
    update["reply_parameters"] = json!({"message_id": 999});
    let (status, body) = post(&fake, "sendMessageDraft", &update).await;
    assert_eq!((status, &body), (200, &json!({"ok": true, "result": true})));
    let history = fake.drafts(bot_id, USER);
    assert_eq!(history.len(), 2);
    assert_eq!(
        (history[0].text.as_str(), history[0].visible),
        ("par", false)
    );
    let latest = &history[1];
    assert_eq!(
        (latest.draft_id, latest.text.as_str()),
        (7, "partial answer")
    );
    assert!(latest.visible && latest.can_stop && latest.keep_on_stop);
    assert_eq!(latest.entities[0].kind, "bold");
    assert!(latest.at >= history[0].at);

    // An empty text is Telegram's "Thinking…" placeholder (Bot API 10.0).
    let (status, _) = post(
        &fake,
        "sendMessageDraft",
        &json!({"chat_id": USER, "draft_id": 8}),
    )
    .await;
    assert_eq!(status, 200);
    let shown = fake
        .visible_draft(bot_id, USER, None)
        .expect("a draft is on screen");
    assert_eq!(
        (shown.draft_id, shown.text.as_str(), shown.can_stop),
        (8, "", false)
    );
    assert_eq!(fake.read(|w| w.visible_drafts(bot_id, USER, None)).len(), 2);
}

#[tokio::test]
async fn draft_refusals_are_telegrams_and_an_old_server_does_not_know_the_method() {
    let (fake, bot_id, _) = setup().await;
    fake.user_sends_text(bot_id, USER, "hi");
    let draft = |id: i64, text: &str| json!({"chat_id": USER, "draft_id": id, "text": text, "parse_mode": "HTML"});
    let group = fake.create_group("team");
    fake.bot_added_to_chat(bot_id, group, USER, false);
    let long = format!("<b>{}</b>", "a".repeat(4096));
    let cases = [
        (
            json!({"chat_id": USER, "text": "x"}),
            400,
            "Bad Request: draft_id is empty",
        ),
        (
            draft(0, "x"),
            400,
            "Bad Request: invalid draft_id specified",
        ),
        (
            draft(9, &format!("{long}a")),
            400,
            "Bad Request: message is too long",
        ),
        (
            draft(9, "<b>x"),
            400,
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\"",
        ),
        (
            json!({"chat_id": group, "draft_id": 9, "text": "x"}),
            400,
            "Bad Request: TEXTDRAFT_PEER_INVALID",
        ),
        (
            json!({"chat_id": USER, "draft_id": 9, "text": "x", "message_thread_id": 77}),
            400,
            "Bad Request: message thread not found",
        ),
        (
            json!({"chat_id": 555, "draft_id": 9, "text": "x"}),
            400,
            "Bad Request: chat not found",
        ),
    ];
    for (body, code, description) in cases {
        let (status, resp) = post(&fake, "sendMessageDraft", &body).await;
        assert_eq!(
            (status, resp["description"].as_str()),
            (code, Some(description)),
            "{body}"
        );
    }
    assert_eq!(
        post(&fake, "sendMessageDraft", &draft(9, &long)).await.0,
        200,
        "4096 after parsing"
    );
    fake.add_user(2_000_002, "Bob", None);
    let (status, _) = post(
        &fake,
        "sendMessageDraft",
        &json!({"chat_id": 2_000_002, "draft_id": 1}),
    )
    .await;
    assert_eq!(status, 403, "the user never started the bot");
    assert_eq!(
        fake.drafts(bot_id, USER).len(),
        1,
        "refused calls leave no draft"
    );

    // A server that predates drafts answers like for any unknown method.
    fake.set_drafts_supported(false);
    let (status, body) = post(&fake, "sendMessageDraft", &draft(10, "x")).await;
    assert_eq!(
        (status, body),
        (
            404,
            json!({"ok": false, "error_code": 404, "description": "Not Found"})
        )
    );
    assert_eq!(fake.drafts(bot_id, USER).len(), 1);
    fake.set_drafts_supported(true);
    assert_eq!(
        post(&fake, "sendMessageDraft", &draft(10, "x")).await.0,
        200
    );
}

#[tokio::test]
async fn a_message_replaces_the_drafts_of_its_chat_or_topic_and_drafts_expire_after_30_s() {
    let (fake, bot_id, bot) = setup().await;
    fake.user_sends_text(bot_id, USER, "hi");
    let topic = fake.user_creates_topic(bot_id, USER, "Research").message_id;
    let draft = |id: i64, thread: Option<i32>| {
        let mut body = json!({"chat_id": USER, "draft_id": id, "text": format!("draft {id}")});
        if let Some(t) = thread {
            body["message_thread_id"] = json!(t);
        }
        body
    };
    assert_eq!(
        post(&fake, "sendMessageDraft", &draft(1, None)).await.0,
        200
    );
    assert_eq!(
        post(&fake, "sendMessageDraft", &draft(2, Some(topic)))
            .await
            .0,
        200
    );
    assert_eq!(
        fake.visible_draft(bot_id, USER, Some(topic))
            .unwrap()
            .draft_id,
        2
    );

    bot.send_message(ChatId(USER), "final").await.unwrap();
    assert_eq!(
        fake.visible_draft(bot_id, USER, None),
        None,
        "the message replaced it"
    );
    assert_eq!(
        fake.visible_draft(bot_id, USER, Some(topic))
            .map(|d| d.text),
        Some("draft 2".to_owned()),
        "a message outside the topic leaves the topic's draft"
    );
    bot.send_message(ChatId(USER), "in topic")
        .message_thread_id(ThreadId(MessageId(topic)))
        .await
        .unwrap();
    assert_eq!(fake.visible_draft(bot_id, USER, Some(topic)), None);
    assert_eq!(
        post(&fake, "sendMessageDraft", &draft(3, None)).await.0,
        200
    );
    bot.send_document(
        ChatId(USER),
        InputFile::memory(b"x".to_vec()).file_name("a.txt"),
    )
    .await
    .unwrap();
    assert_eq!(
        fake.visible_draft(bot_id, USER, None),
        None,
        "media replaces drafts too"
    );
    assert!(fake.drafts(bot_id, USER).iter().all(|d| !d.visible));

    // 30 s after its last update a draft is gone; a refresh keeps it.
    assert_eq!(
        post(&fake, "sendMessageDraft", &draft(4, None)).await.0,
        200
    );
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(20)).await;
    tokio::time::resume();
    assert_eq!(
        post(&fake, "sendMessageDraft", &draft(4, None)).await.0,
        200
    );
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(25)).await;
    assert!(
        fake.visible_draft(bot_id, USER, None).is_some(),
        "refreshed 25 s ago"
    );
    tokio::time::advance(Duration::from_secs(6)).await;
    assert_eq!(fake.visible_draft(bot_id, USER, None), None, "expired");
    let history = fake.drafts(bot_id, USER);
    assert_eq!(history.len(), 5);
    assert!(history[4].at.duration_since(history[3].at) >= Duration::from_secs(20));
}

#[tokio::test]
async fn stopping_a_generation_queues_the_update_and_keeps_or_drops_the_draft() {
    let (fake, bot_id, _) = setup().await;
    fake.user_sends_text(bot_id, USER, "hi");
    let topic = fake.user_creates_topic(bot_id, USER, "Ideas").message_id;
    raw_updates(&fake, None).await;
    let send = |id: i64, thread: Option<i32>, can_stop: bool, keep: bool| {
        let mut body = json!({"chat_id": USER, "draft_id": id, "text": "<i>half</i> an answer",
            "parse_mode": "HTML", "can_stop": can_stop, "keep_on_stop": keep});
        if let Some(t) = thread {
            body["message_thread_id"] = json!(t);
        }
        body
    };
    let queued = fake.queued_updates(bot_id);
    assert_eq!(
        post(&fake, "sendMessageDraft", &send(5, None, false, false))
            .await
            .0,
        200
    );
    assert_eq!(
        fake.user_stops_generation(bot_id, USER, None, 5),
        None,
        "no Stop button"
    );
    assert_eq!(
        fake.user_stops_generation(bot_id, USER, None, 6),
        None,
        "no such draft"
    );
    assert_eq!(fake.queued_updates(bot_id), queued);
    assert!(fake.visible_draft(bot_id, USER, None).is_some());

    assert_eq!(
        post(&fake, "sendMessageDraft", &send(5, None, true, false))
            .await
            .0,
        200
    );
    let id = fake
        .user_stops_generation(bot_id, USER, None, 5)
        .expect("queued");
    let got = raw_updates(&fake, None).await;
    let last = got.last().unwrap();
    assert_eq!(last["update_id"].as_i64(), Some(id));
    let stopped = &last["stopped_message_generation"];
    assert_eq!(stopped["draft_id"], 5);
    assert_eq!(
        (
            stopped["chat"]["id"].as_i64(),
            stopped["chat"]["type"].as_str()
        ),
        (Some(USER), Some("private"))
    );
    assert!(stopped.get("message_thread_id").is_none());
    assert_eq!(
        fake.visible_draft(bot_id, USER, None),
        None,
        "the draft is gone"
    );
    assert!(fake.bot_messages(bot_id, USER).is_empty(), "and not kept");
    assert_eq!(
        fake.user_stops_generation(bot_id, USER, None, 5),
        None,
        "stopped once"
    );

    // keep_on_stop turns the draft into a message of the topic.
    assert_eq!(
        post(&fake, "sendMessageDraft", &send(6, Some(topic), true, true))
            .await
            .0,
        200
    );
    fake.user_stops_generation(bot_id, USER, Some(topic), 6)
        .expect("queued");
    let got = raw_updates(&fake, Some(json!([]))).await;
    let got: Vec<&Value> = got
        .iter()
        .filter(|u| u["update_id"].as_i64() > Some(id))
        .collect();
    assert_eq!(
        got[0]["stopped_message_generation"]["message_thread_id"],
        topic
    );
    let kept = fake.bot_messages(bot_id, USER);
    assert_eq!(kept.len(), 1);
    assert_eq!(
        (kept[0].content(), kept[0].thread_id),
        ("half an answer", Some(topic))
    );
    assert_eq!(kept[0].entity_texts("italic"), ["half"]);
    assert_eq!(fake.visible_draft(bot_id, USER, Some(topic)), None);
}

#[tokio::test]
async fn stopped_generation_is_filtered_by_allowed_updates_like_other_kinds() {
    let (fake, bot_id, _) = setup().await;
    fake.user_sends_text(bot_id, USER, "hi");
    let stop = |id: i64| {
        let fake = fake.clone();
        async move {
            let body = json!({"chat_id": USER, "draft_id": id, "text": "...", "can_stop": true});
            assert_eq!(post(&fake, "sendMessageDraft", &body).await.0, 200);
            let update = fake.user_stops_generation(bot_id, USER, None, id);
            assert_eq!(
                fake.visible_draft(bot_id, USER, None),
                None,
                "stopped either way"
            );
            update
        }
    };
    assert!(stop(1).await.is_some(), "delivered by default");
    raw_updates(&fake, Some(json!(["message"]))).await;
    assert_eq!(stop(2).await, None, "not asked for");
    raw_updates(&fake, None).await;
    assert_eq!(stop(3).await, None, "an absent list keeps the previous one");
    raw_updates(
        &fake,
        Some(json!(["message", "stopped_message_generation"])),
    )
    .await;
    assert!(stop(4).await.is_some(), "listed");
    raw_updates(&fake, Some(json!(["callback_query"]))).await;
    raw_updates(&fake, Some(json!([]))).await;
    assert!(
        stop(5).await.is_some(),
        "an empty list means the default kinds"
    );
}

#[tokio::test]
async fn inline_buttons_keep_style_and_disabled_and_disabled_ones_cannot_be_pressed() {
    let (fake, bot_id, _) = setup().await;
    fake.user_sends_text(bot_id, USER, "hi");
    let keyboard = json!({"inline_keyboard": [[
        {"text": "Yes", "callback_data": "y", "style": "success"},
        {"text": "No", "callback_data": "n", "style": "danger", "disabled": true},
        {"text": "Site", "url": "https://example.org", "icon_custom_emoji_id": "5368324170671202286"},
    ]]});
    let (status, body) = post(
        &fake,
        "sendMessage",
        &json!({"chat_id": USER, "text": "ok?", "reply_markup": keyboard}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let id = body["result"]["message_id"].as_i64().unwrap() as i32;
    let buttons = fake.message(bot_id, USER, id).unwrap().buttons();
    let seen: Vec<(Option<&str>, bool)> = buttons[0]
        .iter()
        .map(|b| (b.style.as_deref(), b.disabled))
        .collect();
    assert_eq!(
        seen,
        [
            (Some("success"), false),
            (Some("danger"), true),
            (None, false)
        ]
    );

    let bad = |button: Value| json!({"chat_id": USER, "text": "t", "reply_markup": {"inline_keyboard": [[button]]}});
    for (button, description) in [
        (
            json!({"text": "a", "callback_data": "a", "style": "blue"}),
            "Bad Request: BUTTON_STYLE_INVALID",
        ),
        (
            json!({"text": "a", "callback_data": "a", "style": 1}),
            "Bad Request: BUTTON_STYLE_INVALID",
        ),
        (
            json!({"text": "a", "callback_data": "a", "disabled": "yes"}),
            "Bad Request: can't parse inline keyboard button: Field \"disabled\" must be of type Boolean",
        ),
    ] {
        let (status, resp) = post(&fake, "sendMessage", &bad(button.clone())).await;
        assert_eq!(
            (status, resp["description"].as_str()),
            (400, Some(description)),
            "{button}"
        );
        let edit =
            json!({"chat_id": USER, "message_id": id, "reply_markup": bad(button)["reply_markup"]});
        assert_eq!(post(&fake, "editMessageReplyMarkup", &edit).await.0, 400);
    }

    let pressed = fake.user_presses_button(bot_id, USER, id, "y");
    assert!(pressed.update_id.is_some());
    let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        fake.user_presses_button(bot_id, USER, id, "n")
    }))
    .expect_err("a disabled button sends no callback");
    let message = refused
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("disabled"), "{message}");
    let forged = fake.user_sends_callback(bot_id, USER, id, "n");
    assert!(
        forged.update_id.is_some(),
        "a forged callback still arrives"
    );
}

#[tokio::test]
async fn edits_store_button_styles_and_disabled_flags() {
    let (fake, bot_id, bot) = setup().await;
    fake.user_sends_text(bot_id, USER, "hi");
    let sent = bot
        .send_message(ChatId(USER), "pick")
        .reply_markup(InlineKeyboardMarkup::new([[
            InlineKeyboardButton::callback("Go", "g"),
        ]]))
        .await
        .unwrap();
    let id = sent.id.0;
    assert_eq!(
        fake.message(bot_id, USER, id).unwrap().buttons()[0][0].style,
        None
    );
    let primary =
        json!({"inline_keyboard": [[{"text": "Go", "callback_data": "g", "style": "primary"}]]});
    let (status, _) = post(
        &fake,
        "editMessageReplyMarkup",
        &json!({"chat_id": USER, "message_id": id, "reply_markup": primary}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        fake.message(bot_id, USER, id).unwrap().buttons()[0][0]
            .style
            .as_deref(),
        Some("primary")
    );
    let off =
        json!({"inline_keyboard": [[{"text": "Go", "callback_data": "g", "disabled": true}]]});
    let (status, _) = post(
        &fake,
        "editMessageText",
        &json!({"chat_id": USER, "message_id": id, "text": "done", "reply_markup": off}),
    )
    .await;
    assert_eq!(status, 200);
    let now = fake.message(bot_id, USER, id).unwrap().buttons();
    assert!(now[0][0].disabled && now[0][0].style.is_none());
}

#[tokio::test]
async fn unknown_fields_are_ignored_and_reactions_use_telegrams_spelling() {
    let (fake, bot_id, bot) = setup().await;
    let user_msg = fake.user_sends_text(bot_id, USER, "hello").message_id;
    let (status, body) = post(
        &fake,
        "sendMessage",
        &json!({"chat_id": USER, "text": "hi", "some_future_field": {"x": [1]}, "rich": true}),
    )
    .await;
    assert_eq!((status, body["result"]["text"].as_str()), (200, Some("hi")));
    assert_eq!(
        "✍".chars().collect::<Vec<_>>(),
        ['\u{270D}'],
        "no variation selector"
    );
    for emoji in ["👀", "✍", "👍", "👎", "😱", "⚡", "🔥", "🤔"] {
        bot.set_message_reaction(ChatId(USER), MessageId(user_msg))
            .reaction(vec![ReactionType::Emoji {
                emoji: emoji.into(),
            }])
            .await
            .unwrap_or_else(|e| panic!("{emoji}: {e}"));
        assert_eq!(
            fake.message(bot_id, USER, user_msg).unwrap().reactions,
            [emoji]
        );
    }
    for emoji in ["✅", "❌", "✍\u{FE0F}"] {
        let err = api_err(
            bot.set_message_reaction(ChatId(USER), MessageId(user_msg))
                .reaction(vec![ReactionType::Emoji {
                    emoji: emoji.into(),
                }])
                .await,
        );
        assert_eq!(desc(&err), "Bad Request: REACTION_INVALID", "{emoji}");
    }
}

#[tokio::test]
async fn user_messages_can_carry_date_time_entities() {
    let (fake, bot_id, _) = setup().await;
    let text = "  remind me tomorrow at 9 about 🎂 #cake";
    let sent = fake.user_sends(
        bot_id,
        USER,
        Incoming::text(text)
            .with_date_time("tomorrow at 9", 1_767_258_000)
            .with_entity(json!({"type": "date_time", "offset": 33, "length": 5, "unix_time": 0, "date_time_format": "r"})),
    );
    let got = raw_updates(&fake, None).await;
    let message = &got.last().unwrap()["message"];
    assert_eq!(message["message_id"], sent.message_id);
    let entities = message["entities"].as_array().unwrap();
    assert!(
        entities.contains(
            &json!({"type": "date_time", "offset": 10, "length": 13, "unix_time": 1_767_258_000})
        ),
        "{entities:?}"
    );
    assert!(entities.contains(&json!({"type": "date_time", "offset": 33, "length": 5, "unix_time": 0, "date_time_format": "r"})));
    assert!(
        entities.iter().any(|e| e["type"] == "hashtag"),
        "server-side entities stay"
    );
    let view = fake.message(bot_id, USER, sent.message_id).unwrap();
    assert_eq!(view.entity_texts("date_time"), ["tomorrow at 9", "#cake"]);
    let outside = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        fake.user_sends(
            bot_id,
            USER,
            Incoming::text("short").with_entity(
                json!({"type": "date_time", "offset": 3, "length": 9, "unix_time": 1}),
            ),
        )
    }));
    assert!(outside.is_err(), "an entity outside the text is a test bug");
}
