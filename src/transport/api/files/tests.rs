//! Unit tests of `GET /files` and `POST /upload` (through warp's test client).

use super::*;
use crate::config::AgentConfig;
use crate::ops::Ops;
use std::os::unix::fs::MetadataExt;
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "s3cret-token";
const BOUNDARY: &str = "XyZbOuNdArY";

fn config(api: serde_json::Value) -> AgentConfig {
    let mut c = AgentConfig {
        file_access: "workspace".into(),
        ..AgentConfig::default()
    };
    c.api = api;
    c.image.max_dimension = 50;
    c
}

fn rig(max_upload: u64) -> (crate::core::testing::Rig, BoxedFilter<(Response,)>) {
    let r = crate::core::testing::rig(
        config(json!({"token": TOKEN, "max_upload_bytes": max_upload})),
        |_| {},
    );
    let ctx = ApiContext::new(Arc::new(Ops::new(r.core.clone())), CancellationToken::new());
    (r, routes(ctx))
}

fn chunks(parts: &[&[u8]]) -> impl Stream<Item = Result<bytes::Bytes, std::io::Error>> + use<> {
    let owned: Vec<Result<bytes::Bytes, std::io::Error>> = parts
        .iter()
        .map(|p| Ok(bytes::Bytes::copy_from_slice(p)))
        .collect();
    futures_util::stream::iter(owned)
}

/// Files (not folders) under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, file, data) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let disposition = match file {
            Some(f) => format!("form-data; name=\"{name}\"; filename=\"{f}\""),
            None => format!("form-data; name=\"{name}\""),
        };
        body.extend_from_slice(format!("Content-Disposition: {disposition}\r\n\r\n").as_bytes());
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn post(
    filter: &BoxedFilter<(Response,)>,
    auth: Option<&str>,
    body: Vec<u8>,
) -> (u16, serde_json::Value) {
    let mut req = warp::test::request()
        .method("POST")
        .path("/upload")
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let res = req.reply(filter).await;
    let json = serde_json::from_slice(res.body()).unwrap_or(serde_json::Value::Null);
    (res.status().as_u16(), json)
}

async fn get(
    filter: &BoxedFilter<(Response,)>,
    auth: Option<&str>,
    query: &str,
) -> warp::http::Response<bytes::Bytes> {
    let mut req = warp::test::request().path(&format!("/files{query}"));
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    req.reply(filter).await
}

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

#[tokio::test]
async fn staging_counts_bytes_and_leaves_nothing_when_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("api_files");
    let (tmp, size) = stage(&root, chunks(&[b"hello ", b"world"]), 11)
        .await
        .unwrap();
    assert_eq!(size, 11);
    assert_eq!(std::fs::read(tmp.path()).unwrap(), b"hello world");
    assert_eq!(std::fs::metadata(tmp.path()).unwrap().mode() & 0o777, 0o600);
    assert_eq!(std::fs::metadata(&root).unwrap().mode() & 0o777, 0o700);
    drop(tmp);
    assert!(files_under(&root).is_empty());
    let err = stage(&root, chunks(&[b"hello ", b"world!"]), 11)
        .await
        .unwrap_err();
    assert_eq!(err, Failure::TooLarge);
    assert!(files_under(&root).is_empty(), "{:?}", files_under(&root));
    let broken = futures_util::stream::iter(vec![
        Ok(bytes::Bytes::from_static(b"abc")),
        Err(std::io::Error::other("reset")),
    ]);
    assert_eq!(
        stage(&root, broken, 100).await.unwrap_err(),
        Failure::BadBody
    );
    assert!(files_under(&root).is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_silent_upload_times_out_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let silent = chunks(&[b"abc"]).chain(futures_util::stream::pending());
    let err = stage(dir.path(), silent, 100).await.unwrap_err();
    assert_eq!(err, Failure::Timeout);
    assert!(files_under(dir.path()).is_empty());
    assert_eq!(Failure::Timeout.status(), StatusCode::REQUEST_TIMEOUT);
}

#[tokio::test]
async fn small_parts_are_bounded() {
    assert_eq!(
        read_small(chunks(&[b"ab", b"cd"]), 4).await,
        Ok(Some(b"abcd".to_vec()))
    );
    assert_eq!(read_small(chunks(&[b"ab", b"cde"]), 4).await, Ok(None));
}

#[test]
fn download_names_are_plain_ascii() {
    assert_eq!(
        disposition("report 1.pdf"),
        "attachment; filename=\"report 1.pdf\""
    );
    assert_eq!(
        disposition("a\"b\\c\r\nd€.txt"),
        "attachment; filename=\"a_b_c__d_.txt\""
    );
}

#[tokio::test]
async fn files_need_the_bearer_and_follow_the_file_rules() {
    let (r, filter) = rig(1024);
    let ws = r.paths().workspace();
    std::fs::write(ws.join("report.txt"), "the report").unwrap();
    std::fs::create_dir_all(ws.join("folder")).unwrap();
    let q = |p: &Path| format!("?path={}", p.display());
    let report = q(&ws.join("report.txt"));
    for auth in [None, Some("Bearer wrong"), Some(TOKEN)] {
        let res = get(&filter, auth, &report).await;
        assert_eq!(res.status(), 401, "{auth:?}");
        assert_eq!(res.body().as_ref(), br#"{"error":"unauthorized"}"#);
    }
    let b = bearer();
    let auth = Some(b.as_str());
    assert_eq!(get(&filter, auth, "").await.status(), 400);
    assert_eq!(get(&filter, auth, "?path=").await.status(), 400);
    let res = get(&filter, auth, &report).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.body().as_ref(), b"the report");
    assert_eq!(res.headers()["content-type"], "text/plain");
    assert_eq!(res.headers()["content-length"], "10");
    // Relative paths are read from the workspace.
    assert_eq!(
        get(&filter, auth, "?path=report.txt").await.body().as_ref(),
        b"the report"
    );
    assert_eq!(
        get(&filter, auth, &q(&ws.join("folder"))).await.status(),
        404
    );
    assert_eq!(
        get(&filter, auth, &q(&ws.join("nope.txt"))).await.status(),
        404
    );
    // Secrets and everything outside the workspace (`file_access: workspace`).
    let config = r.paths().config_file();
    std::fs::write(&config, "{}").unwrap();
    for denied in [
        config.clone(),
        PathBuf::from("/etc/hostname"),
        PathBuf::from("/etc/no-such-file"),
    ] {
        let res = get(&filter, auth, &q(&denied)).await;
        assert_eq!(res.status(), 403, "{}", denied.display());
        assert_eq!(res.body().as_ref(), br#"{"error":"forbidden"}"#);
    }
    let sneaky = format!("?path={}/../config/config.json", ws.display());
    assert_eq!(get(&filter, auth, &sneaky).await.status(), 403);
}

#[tokio::test]
async fn an_upload_is_stored_privately_with_its_prompt() {
    let (r, filter) = rig(1024);
    let b = bearer();
    let body = multipart(&[
        ("file", Some("../../notes: draft.txt"), b"buy milk"),
        ("caption", None, b"what is on the list?"),
    ]);
    let (status, json) = post(&filter, Some(&b), body).await;
    assert_eq!(status, 200, "{json}");
    let path = PathBuf::from(json["path"].as_str().unwrap());
    let day = Utc::now().format("%Y-%m-%d").to_string();
    assert_eq!(
        path,
        r.paths()
            .api_files_dir()
            .join(&day)
            .join("notes_ draft.txt")
    );
    assert_eq!(json["name"], "notes_ draft.txt");
    assert_eq!(json["mime"], "text/plain");
    assert_eq!(json["size"], 8);
    assert_eq!(std::fs::read(&path).unwrap(), b"buy milk");
    assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
    let day_dir = path.parent().unwrap();
    assert_eq!(std::fs::metadata(day_dir).unwrap().mode() & 0o777, 0o700);
    let prompt = json["prompt"].as_str().unwrap();
    assert!(
        prompt.starts_with("[INCOMING FILE]\nThe user sent you a file via API."),
        "{prompt}"
    );
    assert!(
        prompt.contains(&format!("api_files/{day}/notes_ draft.txt")),
        "{prompt}"
    );
    assert!(
        prompt.contains("User message: what is on the list?"),
        "{prompt}"
    );
    let index = std::fs::read_to_string(r.paths().api_files_dir().join("_index.yaml")).unwrap();
    assert!(index.contains("notes_ draft.txt"), "{index}");
    // The same name again gets a suffix.
    let again = multipart(&[("file", Some("notes: draft.txt"), b"x")]);
    let (_, json) = post(&filter, Some(&b), again).await;
    assert_eq!(json["name"], "notes_ draft_1.txt");
    assert!(json["prompt"].as_str().unwrap().contains("sent no message"));
}

#[tokio::test]
async fn refused_uploads_leave_nothing_on_disk() {
    let (r, filter) = rig(1024);
    let b = bearer();
    let files = r.paths().api_files_dir();
    let ok = multipart(&[("file", Some("a.txt"), b"a")]);
    let (status, json) = post(&filter, None, ok.clone()).await;
    assert_eq!((status, json), (401, json!({"error": "unauthorized"})));
    let (status, _) = post(&filter, Some("Bearer nope"), ok).await;
    assert_eq!(status, 401);
    let caption_first = multipart(&[("caption", None, b"hi"), ("file", Some("a.txt"), b"a")]);
    let (status, json) = post(&filter, Some(&b), caption_first).await;
    assert_eq!(
        (status, json),
        (400, json!({"error": "file_part_required"}))
    );
    let big = vec![b'x'; 1025];
    let (status, json) = post(
        &filter,
        Some(&b),
        multipart(&[("file", Some("big.bin"), &big)]),
    )
    .await;
    assert_eq!((status, json), (413, json!({"error": "payload_too_large"})));
    let long = vec![b'c'; MAX_CAPTION + 1];
    let body = multipart(&[("file", Some("a.txt"), b"a"), ("caption", None, &long)]);
    assert_eq!(post(&filter, Some(&b), body).await.0, 400);
    assert!(files_under(&files).is_empty(), "{:?}", files_under(&files));
    // Not multipart at all.
    let res = warp::test::request()
        .method("POST")
        .path("/upload")
        .header("authorization", &b)
        .body("plain")
        .reply(&filter)
        .await;
    assert_eq!(res.status(), 400);
    // Exactly the limit is fine.
    let edge = vec![b'y'; 1024];
    let (status, json) = post(
        &filter,
        Some(&b),
        multipart(&[("file", Some("edge.bin"), &edge)]),
    )
    .await;
    assert_eq!((status, json["size"].as_u64()), (200, Some(1024)));
}

#[tokio::test]
async fn a_large_image_is_downscaled() {
    let (r, filter) = rig(10 * 1024 * 1024);
    let img = image::RgbImage::from_fn(200, 40, |x, y| {
        image::Rgb([(x % 256) as u8, (y * 6) as u8, 90])
    });
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let b = bearer();
    let (status, json) = post(
        &filter,
        Some(&b),
        multipart(&[("file", Some("wide.png"), &png)]),
    )
    .await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["name"], "wide.webp");
    assert_eq!(json["mime"], "image/webp");
    let path = PathBuf::from(json["path"].as_str().unwrap());
    let (w, h) = image::image_dimensions(&path).unwrap();
    assert_eq!((w, h), (50, 10));
    assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
    assert!(json["prompt"].as_str().unwrap().contains("50×10"));
    // Only the stored picture is left (and the index).
    let left = files_under(&r.paths().api_files_dir());
    assert_eq!(left.len(), 2, "{left:?}");
}
