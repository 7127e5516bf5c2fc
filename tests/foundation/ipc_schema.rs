//! `ipc-schema/` is generated from the Rust types; this test fails when the types,
//! the schemas or the examples drift apart (run with `UPDATE_GOLDEN=1` to rewrite).

use ductor::ipc::message::Envelope;
use ductor::ipc::{PROTOCOL_VERSION, schema};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("ipc-schema")
}

fn update() -> bool {
    crate::support::golden::update()
}

fn check_file(path: &Path, want: &Value) {
    let text = format!("{}\n", serde_json::to_string_pretty(want).unwrap());
    if update() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &text).unwrap();
        return;
    }
    let have: Value = serde_json::from_slice(
        &std::fs::read(path)
            .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display())),
    )
    .unwrap();
    assert_eq!(
        &have,
        want,
        "{} is out of date (run with UPDATE_GOLDEN=1)",
        path.display()
    );
}

/// Every `type` tag the Rust `Body` enum can produce, read from its schema.
fn body_types() -> BTreeSet<String> {
    let envelope = &schema::schemas()[0].1;
    envelope["oneOf"]
        .as_array()
        .expect("the envelope schema lists its message variants")
        .iter()
        .map(|variant| {
            variant["properties"]["type"]["const"]
                .as_str()
                .expect("each variant has a const type tag")
                .to_owned()
        })
        .collect()
}

#[test]
fn schemas_match_the_rust_types() {
    let mut files = BTreeSet::new();
    for (name, s) in schema::schemas() {
        check_file(&dir().join(&name), &s);
        files.insert(name);
    }
    let on_disk: BTreeSet<String> = std::fs::read_dir(dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".schema.json"))
        .collect();
    assert_eq!(on_disk, files, "stale or missing schema files");
    let version = std::fs::read_to_string(dir().join("PROTOCOL_VERSION")).unwrap();
    assert_eq!(version.trim(), PROTOCOL_VERSION.to_string());
}

#[test]
fn examples_cover_every_message_and_round_trip() {
    let examples = schema::examples();
    let mut types = BTreeSet::new();
    for env in &examples {
        let t = env.body.type_name().to_owned();
        let value = serde_json::to_value(env).unwrap();
        check_file(&dir().join("examples").join(format!("{t}.json")), &value);
        let text = std::fs::read(dir().join("examples").join(format!("{t}.json"))).unwrap();
        let back: Envelope = serde_json::from_slice(&text).unwrap();
        assert_eq!(&back, env, "{t}.json does not deserialize to its example");
        assert!(types.insert(t.clone()), "two examples for {t}");
    }
    assert_eq!(
        types,
        body_types(),
        "every message type needs exactly one example"
    );
    let schema_types: BTreeSet<String> = schema::schemas()
        .into_iter()
        .filter_map(|(n, _)| n.strip_suffix(".schema.json").map(str::to_owned))
        .filter(|n| n != "envelope")
        .collect();
    assert_eq!(
        types, schema_types,
        "every message type needs its schema file"
    );
    let on_disk: BTreeSet<String> = std::fs::read_dir(dir().join("examples"))
        .unwrap()
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_string_lossy()
                .strip_suffix(".json")
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(on_disk, types, "stale example files");
}

#[test]
fn frames_of_the_previous_build_without_transports_still_parse() {
    use ductor::ipc::message::Body;
    let old = [
        r#"{"v":1,"id":7,"type":"ask","sender":"main","chat_id":5,"message":"hi"}"#,
        r#"{"v":1,"id":8,"type":"ask_result","task_id":"t1","agent":"sub1","ok":true,"text":"x","chat_id":5}"#,
        r#"{"v":1,"id":9,"type":"task_create","prompt":"p","chat_id":5}"#,
    ];
    for frame in old {
        let env: Envelope = serde_json::from_str(frame).unwrap_or_else(|e| panic!("{frame}: {e}"));
        let transport = match env.body {
            Body::Ask(a) => a.transport,
            Body::AskResult(r) => r.transport,
            Body::TaskCreate(c) => c.transport,
            other => panic!("{other:?}"),
        };
        assert_eq!(transport, "tg", "{frame}");
    }
}
