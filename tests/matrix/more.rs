//! Restarts, rate limits, media and live CLI requests on Matrix.

use super::*;
use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use support::mock_llm::Reply;

fn device_of(rig: &MxRig) -> String {
    let text =
        std::fs::read_to_string(rig.home.root.join("matrix_store/credentials.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["device_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_restart_keeps_the_device_and_answers_what_came_while_down() {
    let mut rig = MxRig::start(|_| {}).await;
    rig.mock.script("MX_FIRST", Reply::text("First answer."));
    rig.mock
        .script("MX_WHILE_DOWN", Reply::text("Answered after the restart."));
    let room = rig.user.room_with(&rig.bot, true).await;
    rig.user.say(&room, "MX_FIRST").await;
    rig.user
        .wait_message(&room, &rig.bot, "the first answer", |m| {
            m.body.contains("First answer.")
        })
        .await;
    let device = device_of(&rig);
    drop(rig.daemon.take());
    rig.user.say(&room, "MX_WHILE_DOWN").await;
    rig.daemon = Some(rig.home.start_with_env(&rig.cli.vars()));
    let answer = rig
        .user
        .wait_message(
            &room,
            &rig.bot,
            "the answer to the message sent while down",
            |m| m.body.contains("Answered after the restart."),
        )
        .await;
    assert_eq!(answer.kind, "m.text");
    assert_eq!(device_of(&rig), device, "the same device after the restart");
    let store = rig.home.root.join("matrix_store");
    let mode = std::fs::metadata(&store).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    let mode = std::fs::metadata(store.join("credentials.json"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
}

#[tokio::test]
async fn edits_under_the_default_rate_limit_end_with_the_whole_answer() {
    let synapse = Synapse::start_with_default_limits().await;
    let rig = MxRig::on(synapse, |c| {
        c["matrix"]["edit_interval_seconds"] = json!(1.0);
    })
    .await;
    let mut text = String::new();
    for i in 0..60 {
        let _ = write!(text, "Sentence {i:02} of a streamed answer. ");
        if i % 5 == 4 {
            text.push_str("\n\n");
        }
    }
    rig.mock.script(
        "MX_STREAM",
        Reply::text(text.clone()).chunk_delay(Duration::from_millis(300)),
    );
    let room = rig.user.room_with(&rig.bot, false).await;
    rig.user.say(&room, "MX_STREAM").await;
    let answer = rig
        .user
        .wait_message(&room, &rig.bot, "the final edit", |m| {
            m.body.contains("Sentence 59 of a streamed answer.")
        })
        .await;
    assert!(answer.edits >= 2, "streamed by edits: {answer:?}");
    rig.each_once(
        &room,
        (0..60).map(|i| format!("Sentence {i:02} of a streamed answer.")),
    );
}

#[tokio::test]
async fn an_image_in_and_a_file_out() {
    let rig = MxRig::start(|_| {}).await;
    let out = rig.home.root.join("workspace/output_to_user");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("report.txt"), b"the report body\n").unwrap();
    rig.mock.script(
        "[INCOMING FILE]",
        Reply::text(format!(
            "I looked at it. <file:{}>",
            out.join("report.txt").display()
        )),
    );
    let room = rig.user.room_with(&rig.bot, true).await;
    // A tiny PNG (1×1, valid).
    let png: Vec<u8> = vec![
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f,
        0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8,
        0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00,
        0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ];
    room.send_attachment(
        "pixel.png",
        &"image/png".parse().unwrap(),
        png.clone(),
        matrix_sdk::attachment::AttachmentConfig::new(),
    )
    .await
    .unwrap();
    rig.user
        .wait_message(&room, &rig.bot, "the answer", |m| {
            m.body.contains("I looked at it.")
        })
        .await;
    let file = rig
        .user
        .wait_message(&room, &rig.bot, "the uploaded file", |m| m.kind == "m.file")
        .await;
    assert_eq!(file.body, "report.txt");
    // The image was stored (decrypted) under matrix_files/<date>/.
    let root = rig.home.root.join("workspace/matrix_files");
    let stored: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .filter(|d| d.path().is_dir())
        .flat_map(|d| std::fs::read_dir(d.path()).unwrap().flatten())
        .map(|f| std::fs::read(f.path()).unwrap())
        .collect();
    assert!(stored.contains(&png), "the decrypted image is stored");
}

#[tokio::test]
async fn a_live_cli_asks_in_the_room_and_a_typed_number_allows_it() {
    let rig = MxRig::start(|c| c["permission_mode"] = json!("default")).await;
    let room = rig.user.room_with(&rig.bot, false).await;
    rig.user
        .say(&room, "MOCK_TOOL_CMD<<touch matrix-allowed.txt>>")
        .await;
    let ask = rig
        .user
        .wait_message(&room, &rig.bot, "the approval request", |m| {
            m.body.contains("wants to use") && m.body.contains("touch matrix-allowed.txt")
        })
        .await;
    // The choices are numbered in order: Allow once is the first.
    assert!(ask.body.contains("Allow once"), "{}", ask.body);
    rig.user.say(&room, "1").await;
    rig.user
        .wait_message(&room, &rig.bot, "the request settled", |m| {
            m.id == ask.id && m.edits > 0 && m.body.contains("Allowed once.")
        })
        .await;
    rig.user
        .wait_message(&room, &rig.bot, "the answer", |m| {
            m.body.contains("The tool ran")
        })
        .await;
    assert!(rig.home.root.join("workspace/matrix-allowed.txt").exists());
    rig.user.say(&room, "!stop").await;
    let start = Instant::now();
    while !rig.cli_processes().is_empty() {
        assert!(start.elapsed() < TURN, "{:?}", rig.cli_processes());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
