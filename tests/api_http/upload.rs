//! `POST /upload`: the bearer, the `file`-first rule, a stored upload with its
//! `[INCOMING FILE]` prompt, an image downscaled, and an upload over 50 MiB refused
//! with nothing left on disk.

use crate::http::{self, Piece};
use crate::{ApiRig, TOKEN, files_under};
use serde_json::json;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

#[tokio::test(flavor = "multi_thread")]
async fn uploads_are_stored_privately_and_answer_the_prompt() {
    let rig = ApiRig::start(|_| {}).await;
    let body = || {
        http::file_body(
            "../shopping list.txt",
            b"milk\neggs\n",
            Some("what do I need?"),
        )
    };

    let r = http::upload(rig.addr, None, body()).await;
    assert_eq!(
        (r.status, r.json()),
        (401, json!({"error": "unauthorized"}))
    );
    let r = http::upload(rig.addr, Some("wrong"), body()).await;
    assert_eq!(r.status, 401);

    // The first part must be the file.
    let mut caption_first = http::part_head("caption", None, None);
    caption_first.extend_from_slice(b"hello");
    caption_first.extend(http::between());
    caption_first.extend(http::part_head("file", Some("a.txt"), None));
    caption_first.extend_from_slice(b"a");
    caption_first.extend(http::closing());
    let r = http::upload(rig.addr, Some(TOKEN), vec![Piece::Bytes(caption_first)]).await;
    assert_eq!(r.status, 400, "{r:?}");
    assert!(files_under(&rig.api_files()).is_empty());

    let r = http::upload(rig.addr, Some(TOKEN), body()).await;
    assert_eq!(r.status, 200, "{r:?}");
    let answer = r.json();
    let path = PathBuf::from(answer["path"].as_str().unwrap());
    let day = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert_eq!(path, rig.api_files().join(&day).join("shopping list.txt"));
    assert_eq!(answer["name"], "shopping list.txt");
    assert_eq!(answer["mime"], "text/plain");
    assert_eq!(answer["size"], 10);
    assert_eq!(std::fs::read(&path).unwrap(), b"milk\neggs\n");
    assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
    for dir in [rig.api_files(), rig.api_files().join(&day)] {
        assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
    }
    let prompt = answer["prompt"].as_str().unwrap();
    assert!(prompt.starts_with("[INCOMING FILE]"), "{prompt}");
    assert!(prompt.contains("via API"), "{prompt}");
    assert!(prompt.contains(&path.display().to_string()), "{prompt}");
    assert!(prompt.contains("User message: what do I need?"), "{prompt}");
    // The stored file can be fetched back through /files.
    let target = format!(
        "/files?path={}",
        form_urlencoded::byte_serialize(path.display().to_string().as_bytes()).collect::<String>()
    );
    let back = http::get(rig.addr, &target, Some(TOKEN)).await;
    assert_eq!(
        (back.status, back.body.as_slice()),
        (200, &b"milk\neggs\n"[..])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_large_image_is_downscaled() {
    let rig = ApiRig::start(|_| {}).await;
    let img = image::RgbImage::from_fn(2400, 120, |x, y| {
        image::Rgb([(x % 251) as u8, (y % 120) as u8 * 2, 77])
    });
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let r = http::upload(
        rig.addr,
        Some(TOKEN),
        http::file_body("panorama.png", &png, None),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    let answer = r.json();
    assert_eq!(answer["name"], "panorama.webp");
    assert_eq!(answer["mime"], "image/webp");
    let path = PathBuf::from(answer["path"].as_str().unwrap());
    assert_eq!(image::image_dimensions(&path).unwrap(), (2000, 100));
    assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
    assert!(answer["prompt"].as_str().unwrap().contains("2000×100"));
    // Only the picture and the folder's index are there.
    let mut left: Vec<String> = files_under(&rig.api_files())
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["_index.yaml", "panorama.webp"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_over_50_mib_gets_413_and_leaves_nothing() {
    let rig = ApiRig::start(|_| {}).await;
    let pieces = vec![
        Piece::Bytes(http::part_head(
            "file",
            Some("huge.bin"),
            Some("application/octet-stream"),
        )),
        Piece::Repeat(b'z', 60 * 1024 * 1024),
        Piece::Bytes(http::closing()),
    ];
    let r = http::upload(rig.addr, Some(TOKEN), pieces).await;
    assert_eq!(
        (r.status, r.json()),
        (413, json!({"error": "payload_too_large"}))
    );
    let left = files_under(&rig.api_files());
    assert!(left.is_empty(), "left on disk: {left:?}");
    let dates: Vec<_> = std::fs::read_dir(rig.api_files())
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(dates.is_empty(), "no date folder either: {dates:?}");
    // The API still takes a normal upload afterwards.
    let ok = http::upload(
        rig.addr,
        Some(TOKEN),
        http::file_body("small.txt", b"ok", None),
    )
    .await;
    assert_eq!(ok.status, 200, "{ok:?}");
}
