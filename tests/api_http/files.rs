//! `GET /files`: the bearer, the `path` query, the file rules of `crate::access`
//! (roots and the secret deny-list), folders, and the bytes of an allowed file.

use crate::http::{self, Reply};
use crate::{ApiRig, TOKEN};
use serde_json::json;
use std::path::Path;

fn target(path: &Path) -> String {
    let raw = path.display().to_string();
    let q: String = form_urlencoded::byte_serialize(raw.as_bytes()).collect();
    format!("/files?path={q}")
}

async fn fetch(rig: &ApiRig, path: &Path) -> Reply {
    http::get(rig.addr, &target(path), Some(TOKEN)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn files_need_the_token_and_a_path_inside_the_roots() {
    let rig = ApiRig::start(|c| c["file_access"] = json!("workspace")).await;
    let report = rig.workspace().join("output/report 1.txt");
    std::fs::create_dir_all(report.parent().unwrap()).unwrap();
    std::fs::write(&report, "quarterly numbers\n").unwrap();

    let no_token = http::get(rig.addr, &target(&report), None).await;
    assert_eq!(no_token.status, 401);
    assert_eq!(no_token.json(), json!({"error": "unauthorized"}));
    let wrong = http::get(rig.addr, &target(&report), Some("not-the-token")).await;
    assert_eq!(
        (wrong.status, wrong.json()),
        (401, json!({"error": "unauthorized"}))
    );

    let no_path = http::get(rig.addr, "/files", Some(TOKEN)).await;
    assert_eq!(no_path.status, 400, "{no_path:?}");

    let ok = fetch(&rig, &report).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body, b"quarterly numbers\n");
    assert_eq!(ok.header("content-type"), Some("text/plain"));
    assert_eq!(ok.header("content-length"), Some("18"));

    // A folder is not a file.
    let folder = fetch(&rig, &rig.workspace().join("output")).await;
    assert_eq!(folder.status, 404);
    // Outside the workspace (the roots of `file_access: workspace`).
    let outside = tempfile::tempdir().unwrap();
    let elsewhere = outside.path().join("elsewhere.txt");
    std::fs::write(&elsewhere, "not yours").unwrap();
    let refused = fetch(&rig, &elsewhere).await;
    assert_eq!(
        (refused.status, refused.json()),
        (403, json!({"error": "forbidden"}))
    );
    assert_eq!(
        fetch(&rig, &outside.path().join("missing.txt"))
            .await
            .status,
        403
    );
    // A missing file reached through `..` is outside too: 403 whether it exists or not.
    let dotdot = rig.workspace().join("../../../etc/ductor-no-such-file");
    assert_eq!(fetch(&rig, &dotdot).await.status, 403);
    // A symlink in the workspace to a file outside is refused too.
    let link = rig.workspace().join("link.txt");
    std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
    assert_eq!(fetch(&rig, &link).await.status, 403);
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_are_refused_even_with_file_access_all() {
    let rig = ApiRig::start(|c| c["file_access"] = json!("all")).await;
    std::fs::write(rig.home.root.join(".env"), "OPENAI_API_KEY=sk-secret\n").unwrap();
    for secret in [
        rig.home.root.join("config/config.json"),
        rig.home.root.join(".env"),
        rig.home.root.join("workspace/../config/config.json"),
    ] {
        let r = fetch(&rig, &secret).await;
        assert_eq!(r.status, 403, "{}: {r:?}", secret.display());
        assert!(!String::from_utf8_lossy(&r.body).contains(TOKEN));
        assert!(!String::from_utf8_lossy(&r.body).contains("sk-secret"));
    }
    // Anything else readable goes with `all`.
    let outside = tempfile::tempdir().unwrap();
    let elsewhere = outside.path().join("data.bin");
    let bytes: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    std::fs::write(&elsewhere, &bytes).unwrap();
    let ok = fetch(&rig, &elsewhere).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body.len(), bytes.len());
    assert!(ok.body == bytes, "the bytes arrive unchanged");
}
