//! Files in both directions: what the user sends lands in
//! `workspace/telegram_files/<date>/` and reaches the model as an `[INCOMING FILE]`
//! block; files the agent sends go out as photos, documents, … by type.

use super::{CHAT, TgRig};
use crate::support::daemon::token;
use crate::support::fake_telegram::{FakeTelegram, Fault};
use crate::support::mock_llm::Reply;
use ductor::chat::media::{self, MediaError};
use ductor::config::AgentConfig;
use ductor::paths::Home;
use ductor::transport::telegram::api::TgApi;
use ductor::transport::telegram::incoming::Attachment;
use image::{ImageFormat, Rgb, RgbImage};
use serde_json::json;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::Duration;

const TURN: Duration = Duration::from_mins(1);

fn image_bytes(w: u32, h: u32, format: ImageFormat) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, y| Rgb([(x * 7) as u8, (y * 5) as u8, 120]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// Every stored file under `telegram_files/<date>/` (not the index, not temp files).
fn stored_files(workspace: &Path) -> Vec<PathBuf> {
    let root = workspace.join("telegram_files");
    let mut out = Vec::new();
    for day in std::fs::read_dir(&root).into_iter().flatten().flatten() {
        if day.path().is_dir() {
            for f in std::fs::read_dir(day.path()).unwrap().flatten() {
                out.push(f.path());
            }
        }
    }
    out.sort();
    out
}

impl TgRig {
    fn workspace(&self) -> PathBuf {
        self.home.root.join("workspace")
    }

    /// Waits until the model has received a prompt containing `needle`; returns it.
    pub(crate) async fn wait_prompt(&self, needle: &str) -> String {
        let start = std::time::Instant::now();
        loop {
            if let Some(p) = self
                .mock
                .requests()
                .into_iter()
                .map(|r| r.last_user_text)
                .find(|t| t.contains(needle))
            {
                return p;
            }
            assert!(
                start.elapsed() < TURN,
                "no prompt with {needle:?}; got {:?}",
                self.mock
                    .requests()
                    .iter()
                    .map(|r| &r.last_user_text)
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test]
async fn a_photo_is_stored_by_date_and_its_path_reaches_the_model() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    let jpeg = image_bytes(64, 48, ImageFormat::Jpeg);
    rig.tg
        .user_sends_photo(rig.bot, CHAT, jpeg.clone(), Some("MOCK_ECHO what is this?"));
    let prompt = rig.wait_prompt("[INCOMING FILE]").await;
    let files = stored_files(&rig.workspace());
    assert_eq!(files.len(), 1, "{files:?}");
    let file = &files[0];
    assert_eq!(std::fs::read(file).unwrap(), jpeg, "stored byte for byte");
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("photo_") && file.extension().unwrap() == "jpg",
        "{name}"
    );
    let day = file
        .parent()
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d").is_ok(),
        "{day}"
    );
    assert!(prompt.contains(&file.display().to_string()), "{prompt}");
    assert!(
        prompt.contains(&format!("telegram_files/{day}/{name}")),
        "{prompt}"
    );
    assert!(prompt.contains("Type: image/jpeg"), "{prompt}");
    assert!(
        prompt.contains("User message: MOCK_ECHO what is this?"),
        "{prompt}"
    );
    // The echo comes back to the chat: the turn ran once, as a reply.
    rig.wait_text(CHAT, 0, "what is this?", TURN).await;
    let index =
        std::fs::read_to_string(rig.workspace().join("telegram_files/_index.yaml")).unwrap();
    assert!(index.contains("total_files: 1"), "{index}");
    assert!(index.contains(&format!("name: \"{name}\"")), "{index}");
}

#[tokio::test]
async fn a_document_keeps_a_safe_name_and_the_model_gets_its_details() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    let pdf = b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer\n%%EOF\n".to_vec();
    rig.tg.user_sends_document(
        rig.bot,
        CHAT,
        pdf.clone(),
        "../../Q1 report.pdf",
        "application/pdf",
        Some("MOCK_ECHO summarise"),
    );
    let prompt = rig.wait_prompt("summarise").await;
    let files = stored_files(&rig.workspace());
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].file_name().unwrap(), "Q1 report.pdf");
    assert_eq!(std::fs::read(&files[0]).unwrap(), pdf);
    assert!(!rig.home.root.join("Q1 report.pdf").exists());
    for needle in [
        &files[0].display().to_string(),
        "Type: application/pdf",
        "Original filename: ../../Q1 report.pdf",
        "User message: MOCK_ECHO summarise",
    ] {
        assert!(prompt.contains(needle), "{needle} missing:\n{prompt}");
    }
    // The same name again gets a suffix instead of replacing the first file.
    rig.tg.user_sends_document(
        rig.bot,
        CHAT,
        b"%PDF-1.7 second".to_vec(),
        "Q1 report.pdf",
        "application/pdf",
        None,
    );
    let second = rig.wait_prompt("Q1 report_1.pdf").await;
    assert!(second.contains("no message with the file"), "{second}");
    assert_eq!(
        std::fs::read(&files[0]).unwrap(),
        pdf,
        "first file untouched"
    );
}

#[tokio::test]
async fn a_file_over_20_mb_gets_one_clear_reply_and_no_turn() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    let big = vec![b'x'; 21 * 1024 * 1024];
    let sent = rig.tg.user_sends_document(
        rig.bot,
        CHAT,
        big,
        "dump.log",
        "text/plain",
        Some("please read"),
    );
    let replies = rig.wait_text(CHAT, sent.message_id, "too big", TURN).await;
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert!(replies[0].contains("20.0 MB"), "{replies:?}");
    assert_eq!(replies[0].reply_to, Some(sent.message_id));
    // A later message is answered normally, and it is the only thing the model saw.
    let next = rig.say("after the big file");
    rig.wait_text(CHAT, next.message_id, "after the big file", TURN)
        .await;
    let prompts: Vec<String> = rig
        .mock
        .requests()
        .into_iter()
        .map(|r| r.last_user_text)
        .collect();
    assert!(
        prompts.iter().all(|p| !p.contains("please read")),
        "{prompts:?}"
    );
    assert!(stored_files(&rig.workspace()).is_empty());
    assert_eq!(
        rig.tg.count("getFile"),
        0,
        "refused from the announced size"
    );
}

#[tokio::test]
async fn a_text_sent_right_after_a_photo_does_not_overtake_it() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    // A slow download: the text arrives while the photo is still being fetched.
    rig.tg
        .inject_failure("getFile", 1, Fault::Delay(Duration::from_secs(2)));
    rig.tg.user_sends_photo(
        rig.bot,
        CHAT,
        image_bytes(32, 32, ImageFormat::Png),
        Some("first the photo"),
    );
    rig.say("then this question");
    rig.wait_prompt("then this question").await;
    let prompts: Vec<String> = rig
        .mock
        .requests()
        .into_iter()
        .map(|r| r.last_user_text)
        .collect();
    let photo = prompts.iter().position(|p| p.contains("first the photo"));
    let text = prompts
        .iter()
        .position(|p| p.contains("then this question"));
    assert!(photo.is_some() && photo < text, "{prompts:?}");
    let slow = rig.tg.calls_of("getFile");
    let took = slow[0]
        .finished
        .map(|f| f.duration_since(slow[0].started))
        .unwrap();
    assert!(
        took >= Duration::from_secs(2),
        "the delay was served: {took:?}"
    );
}

#[tokio::test]
async fn an_album_becomes_one_turn_with_all_its_files() {
    use crate::support::fake_telegram::Incoming;
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    rig.wait_polling().await;
    let first = rig.tg.user_sends(
        rig.bot,
        CHAT,
        Incoming::photo(image_bytes(40, 30, ImageFormat::Jpeg))
            .caption("MOCK_ECHO compare these")
            .in_album("album-1"),
    );
    for size in [50, 60] {
        rig.tg.user_sends(
            rig.bot,
            CHAT,
            Incoming::photo(image_bytes(size, size, ImageFormat::Png)).in_album("album-1"),
        );
    }
    let msgs = rig
        .wait_text(
            CHAT,
            first.message_id,
            "compare these",
            Duration::from_secs(90),
        )
        .await;
    let echoed: String = msgs.iter().filter_map(|m| m.text.clone()).collect();
    assert_eq!(echoed.matches("[INCOMING FILE]").count(), 3, "{echoed}");
    let turns: Vec<String> = rig
        .mock
        .requests()
        .into_iter()
        .map(|r| r.last_user_text)
        .filter(|t| t.contains("[INCOMING FILE]"))
        .collect();
    assert_eq!(turns.len(), 1, "one turn for the album: {turns:?}");
    assert_eq!(stored_files(&rig.workspace()).len(), 3);
    for file in stored_files(&rig.workspace()) {
        assert!(
            turns[0].contains(&file.display().to_string()),
            "{}",
            turns[0]
        );
    }
    assert_eq!(
        msgs[0].reply_to,
        Some(first.message_id),
        "the answer replies to the album's first message"
    );
}

#[tokio::test]
async fn a_voice_note_is_transcribed_by_the_configured_command() {
    let rig = TgRig::start("claude", "sonnet", |c| {
        c["transcription"] = json!({
            "audio_command": "sh -c 'echo \"please water the plants ($(basename \"$1\"))\"' sh"
        });
    })
    .await;
    let ogg = b"OggS\0\x02\0\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0\0\0\0\0\x01\x13OpusHead".to_vec();
    rig.tg.user_sends_voice(rig.bot, CHAT, ogg, 3);
    let prompt = rig.wait_prompt("[INCOMING FILE]").await;
    let files = stored_files(&rig.workspace());
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("voice_") && files[0].extension().unwrap() == "ogg",
        "{name}"
    );
    assert!(
        prompt.contains(&format!("please water the plants ({name})")),
        "{prompt}"
    );
    assert!(prompt.contains("Type: audio/ogg"), "{prompt}");
}

#[tokio::test]
async fn files_the_agent_sends_go_out_as_photo_or_document() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    let out = rig.workspace().join("output_to_user");
    std::fs::create_dir_all(&out).unwrap();
    let png = image_bytes(40, 30, ImageFormat::Png);
    let pdf = b"%PDF-1.4\n%%EOF\n".to_vec();
    std::fs::write(out.join("chart.png"), &png).unwrap();
    std::fs::write(out.join("report.pdf"), &pdf).unwrap();
    rig.mock.script(
        "MOCK_SEND",
        Reply::text(format!(
            "Here: <file:{}> and <file:{}>",
            out.join("chart.png").display(),
            out.join("report.pdf").display()
        )),
    );
    rig.say("MOCK_SEND");
    let uploads = rig
        .tg
        .wait_until(TURN, |w| {
            let u = w.uploads().to_vec();
            (u.len() >= 2).then_some(u)
        })
        .await;
    assert_eq!(uploads.len(), 2, "{uploads:?}");
    assert_eq!(uploads[0].method, "sendPhoto");
    assert_eq!(&uploads[0].data[..], &png[..]);
    assert_eq!(uploads[1].method, "sendDocument");
    assert_eq!(uploads[1].file_name.as_deref(), Some("report.pdf"));
    assert_eq!(&uploads[1].data[..], &pdf[..]);
}

#[tokio::test]
async fn a_refused_photo_is_sent_again_as_a_document() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    let out = rig.workspace().join("output_to_user");
    std::fs::create_dir_all(&out).unwrap();
    let png = image_bytes(40, 30, ImageFormat::Png);
    std::fs::write(out.join("chart.png"), &png).unwrap();
    rig.tg
        .fail_next("sendPhoto", Fault::bad_request("PHOTO_INVALID_DIMENSIONS"));
    rig.mock.script(
        "MOCK_SEND",
        Reply::text(format!("<file:{}>", out.join("chart.png").display())),
    );
    rig.say("MOCK_SEND");
    let uploads = rig
        .tg
        .wait_until(TURN, |w| {
            let u = w.uploads().to_vec();
            (!u.is_empty()).then_some(u)
        })
        .await;
    assert_eq!(uploads.len(), 1, "{uploads:?}");
    assert_eq!(uploads[0].method, "sendDocument");
    assert_eq!(&uploads[0].data[..], &png[..]);
    let photo = rig.tg.calls_of("sendPhoto");
    assert_eq!(photo.len(), 1, "tried as a photo first");
    assert!(
        matches!(&photo[0].outcome, crate::support::fake_telegram::Outcome::Err(e) if e.code == 400),
        "and refused: {:?}",
        photo[0].outcome
    );
}

/// A fake Bot API with one user message carrying a document; returns the API
/// client and the attachment as ductor would extract it.
async fn fake_with_document(
    data: Vec<u8>,
    name: &str,
    mime: &str,
) -> (FakeTelegram, TgApi, Attachment) {
    let tg = FakeTelegram::start().await;
    let bot_token = token(100_000_002);
    let bot = tg.add_bot(&bot_token, "media_bot");
    let size = data.len() as u64;
    let sent = tg.user_sends_document(bot, CHAT, data, name, mime, None);
    let media = tg
        .message(bot, CHAT, sent.message_id)
        .and_then(|m| m.media)
        .expect("document message");
    let api = TgApi::new(&bot_token, &tg.api_url()).unwrap();
    let att = Attachment {
        file_id: media.file_id,
        unique_id: "AQADtest".into(),
        kind: "document",
        file_name: Some(name.to_owned()),
        mime: Some(mime.to_owned()),
        size: Some(size),
    };
    (tg, api, att)
}

#[tokio::test]
async fn get_file_refusing_a_big_file_is_a_typed_error_and_leaves_nothing() {
    let big = vec![0u8; 20 * 1024 * 1024 + 1];
    let (_tg, api, mut att) = fake_with_document(big, "big.bin", "application/octet-stream").await;
    // Telegram did not announce a size: only `getFile` can refuse.
    att.size = None;
    let home = tempfile::tempdir().unwrap();
    let paths = Home::new(home.path()).main();
    let err = media::receive(
        &api,
        &paths.telegram_files_dir(),
        &paths,
        &AgentConfig::default(),
        &att,
        chrono::Utc::now(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, MediaError::TooBig { size: None }), "{err:?}");
    assert!(stored_files(&paths.workspace()).is_empty());
    let day_dirs: Vec<_> = std::fs::read_dir(paths.telegram_files_dir())
        .unwrap()
        .flatten()
        .flat_map(|d| std::fs::read_dir(d.path()).unwrap().flatten())
        .collect();
    assert!(day_dirs.is_empty(), "no temp file left: {day_dirs:?}");
}

#[tokio::test]
async fn a_large_image_is_replaced_by_a_downscaled_copy() {
    let png = image_bytes(300, 150, ImageFormat::Png);
    let (_tg, api, att) = fake_with_document(png.clone(), "diagram.png", "image/png").await;
    let home = tempfile::tempdir().unwrap();
    let paths = Home::new(home.path()).main();
    let mut config = AgentConfig::default();
    config.image.max_dimension = 100;
    let now = "2025-05-01T23:59:00Z".parse().unwrap();
    let r = media::receive(
        &api,
        &paths.telegram_files_dir(),
        &paths,
        &config,
        &att,
        now,
    )
    .await
    .unwrap();
    assert_eq!(r.relative, "telegram_files/2025-05-01/diagram.webp");
    assert_eq!(r.mime, "image/webp");
    assert_eq!(r.resized, Some((100, 50)));
    assert_eq!(
        stored_files(&paths.workspace()),
        std::slice::from_ref(&r.path),
        "original gone"
    );
    let dims = image::ImageReader::open(&r.path)
        .unwrap()
        .with_guessed_format()
        .unwrap()
        .into_dimensions()
        .unwrap();
    assert_eq!(dims, (100, 50));
    assert_eq!(r.size, std::fs::metadata(&r.path).unwrap().len());
    let block = media::prompt_block(&r, "", ductor::i18n::catalog("en"));
    assert!(block.contains("downscaled to 100×50"), "{block}");
    // A broken image is kept as it came.
    let mut broken = png;
    broken.truncate(60);
    let (_tg2, api2, att2) = fake_with_document(broken.clone(), "broken.png", "image/png").await;
    let r = media::receive(
        &api2,
        &paths.telegram_files_dir(),
        &paths,
        &config,
        &att2,
        now,
    )
    .await
    .unwrap();
    assert_eq!(r.relative, "telegram_files/2025-05-01/broken.png");
    assert_eq!(std::fs::read(&r.path).unwrap(), broken);
}

#[tokio::test]
async fn a_quoted_tag_naming_the_config_sends_nothing_secret() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    let out = rig.workspace().join("output_to_user");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("chart.txt"), "fine").unwrap();
    let config = rig.home.root.join("config/config.json");
    // A tool's output the model merely quotes, plus a relative path in its working dir.
    rig.mock.script(
        "MOCK_QUOTE",
        Reply::text(format!(
            "The tool printed: <file:{}>\nAnd here is the chart: <file:output_to_user/chart.txt>",
            config.display()
        )),
    );
    rig.say("MOCK_QUOTE");
    rig.wait_msg(CHAT, "holds secrets").await;
    let uploads = rig
        .tg
        .wait_until(TURN, |w| {
            let u = w.uploads().to_vec();
            (!u.is_empty()).then_some(u)
        })
        .await;
    assert_eq!(uploads.len(), 1, "{uploads:?}");
    assert_eq!(uploads[0].file_name.as_deref(), Some("chart.txt"));
    assert_eq!(&uploads[0].data[..], b"fine");
    let token = std::fs::read_to_string(&config).unwrap();
    assert!(token.contains("telegram_token"));
    let bot = rig.bot;
    let all = rig
        .tg
        .wait_until(TURN, move |w| Some(w.visible_messages(bot, CHAT)))
        .await;
    for m in all {
        assert!(!m.contains("AAtesttoken"), "the token leaked: {m:?}");
    }
}
