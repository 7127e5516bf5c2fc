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
