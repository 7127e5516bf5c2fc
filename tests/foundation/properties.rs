//! Property tests of the parsers that face untrusted input: the Markdown → Telegram
//! HTML renderer and splitter, the bus frame codec, the callback-data codec, the
//! file-tag parser and the file rules, incoming file names and the config loader.
//!
//! Each property runs proptest's default number of cases (256) in the normal test
//! run; `PROPTEST_CASES=100000 cargo nextest run --test foundation properties` runs
//! longer searches (failures are shrunk and printed with their seed).

use crate::support::fake_telegram::html;
use bytes::BytesMut;
use ductor::chat::markers::extract_file_tags;
use ductor::chat::media::names::sanitize;
use ductor::ipc::codec::{BusCodec, Frame};
use ductor::ops::action::{Action, MAX_ENCODED};
use ductor::transport::telegram::format::{
    html_to_plain, markdown_to_html, split_html, visible_len,
};
use proptest::prelude::*;
use tokio_util::codec::Decoder;

/// Markdown-heavy text: every character the renderer treats specially, and some
/// that Telegram's HTML does.
fn markdownish() -> impl Strategy<Value = String> {
    proptest::string::string_regex(
        "([a-zA-Z0-9 ]|[*_`~#>|\\-\\[\\]()!<>&\"'\\\\]|\n|\n\n|```|\\*\\*|__|ä|😀|\t){0,300}",
    )
    .expect("valid regex")
}

/// Words and inline Markdown marks, without links (whose targets leave the text)
/// and without fences (whose info string does).
fn linkless() -> impl Strategy<Value = String> {
    proptest::string::string_regex("([a-z0-9]{1,8}|[ *_`#>\\-]|\n|\n\n|\\*\\*){0,200}")
        .expect("valid regex")
        // Three single backticks in a row open a fence after all.
        .prop_filter("no fences", |s| !s.contains("```"))
}

fn alnum(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).collect()
}

proptest! {
    #[test]
    fn rendered_markdown_is_html_telegram_accepts(md in markdownish()) {
        let out = markdown_to_html(&md);
        prop_assert!(html::parse(&out).is_ok(), "{md:?} → {out:?}: {:?}", html::parse(&out).err());
    }

    #[test]
    fn every_chunk_is_valid_fits_and_nothing_is_lost(md in markdownish(), limit in 20usize..400) {
        let whole = markdown_to_html(&md);
        let chunks = split_html(&whole, limit);
        for c in &chunks {
            prop_assert!(html::parse(c).is_ok(), "chunk {c:?} of {md:?}");
            prop_assert!(visible_len(c) <= limit, "{} > {limit}: {c:?}", visible_len(c));
        }
        let joined: String = chunks.iter().map(|c| html_to_plain(c)).collect();
        prop_assert_eq!(alnum(&joined), alnum(&html_to_plain(&whole)));
    }

    #[test]
    fn the_words_of_the_markdown_survive_rendering(md in linkless()) {
        prop_assert_eq!(alnum(&html_to_plain(&markdown_to_html(&md))), alnum(&md));
    }

    #[test]
    fn the_frame_codec_never_panics_or_buffers_beyond_one_frame(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..100), 0..40),
    ) {
        const MAX: usize = 64;
        let mut codec = BusCodec::new(MAX);
        let mut src = BytesMut::new();
        for chunk in chunks {
            src.extend_from_slice(&chunk);
            while let Some(frame) = codec.decode(&mut src).expect("decoding never fails") {
                if let Frame::Data(d) = frame {
                    prop_assert!(d.len() <= MAX);
                }
            }
            prop_assert!(src.len() <= MAX + 4 + 100, "{} bytes held", src.len());
        }
    }

    #[test]
    fn any_callback_data_decodes_and_reencodes_within_the_limit(data in ".{0,80}") {
        let action = Action::decode(&data);
        prop_assert!(action.encode().len() <= MAX_ENCODED);
    }

    #[test]
    fn model_buttons_round_trip_and_never_become_actions(label in ".{0,60}") {
        let a = Action::Answer(label.clone());
        let back = Action::decode(&a.encode());
        if a.fits() {
            prop_assert_eq!(back, a);
        } else {
            prop_assert!(matches!(back, Action::Answer(l) if label.starts_with(&l)));
        }
    }

    #[test]
    fn file_tags_come_from_the_text_and_leave_it(text in "([a-z/ .]|<file:|>|\n){0,120}") {
        let (rest, files) = extract_file_tags(&text);
        for f in &files {
            prop_assert!(!f.is_empty() && text.contains(f.as_str()), "{f:?} not in {text:?}");
        }
        prop_assert!(rest.len() <= text.len());
    }

    #[test]
    fn sanitised_names_are_plain_file_names(raw in ".{0,400}") {
        let name = sanitize(&raw);
        prop_assert!(!name.is_empty() && name != "." && name != "..");
        prop_assert!(!name.contains('/') && !name.contains('\0'));
        prop_assert!(!name.chars().any(char::is_control));
        prop_assert!(name.len() <= 200 && name.chars().count() <= 120, "{name:?}");
    }

    #[test]
    fn arbitrary_json_as_config_is_loaded_or_refused(doc in json_value()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, doc.to_string()).unwrap();
        // Either way no panic; a refusal names the file.
        if let Err(e) = ductor::config::load_config_file(&path) {
            prop_assert!(e.to_string().contains("config.json"), "{e}");
        }
    }

    #[test]
    fn arbitrary_bytes_as_config_are_refused_without_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, &bytes).unwrap();
        let _ = ductor::config::load_config_file(&path);
    }
}

/// JSON documents whose keys are those of the config (and some others), with values
/// of every type.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(serde_json::Value::from),
        ".{0,12}".prop_map(serde_json::Value::from),
    ];
    let keys = prop_oneof![
        Just("timeouts".to_owned()),
        Just("normal".to_owned()),
        Just("streaming".to_owned()),
        Just("allowed_user_ids".to_owned()),
        Just("telegram_token".to_owned()),
        Just("max_concurrent_runs".to_owned()),
        Just("supervisor".to_owned()),
        Just("restart_backoff_seconds".to_owned()),
        Just("provider".to_owned()),
        "[a-z_]{1,10}",
    ];
    leaf.prop_recursive(4, 40, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            proptest::collection::btree_map(keys.clone(), inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

#[test]
fn a_relative_path_never_opens_outside_the_workspace() {
    use ductor::access::FileAccess;
    let dir = tempfile::tempdir().unwrap();
    let home = ductor::paths::Home::new(dir.path());
    let paths = home.main();
    let workspace = paths.workspace();
    std::fs::create_dir_all(workspace.join("a/b")).unwrap();
    std::fs::write(workspace.join("a/b/f.txt"), b"ok").unwrap();
    std::fs::write(dir.path().join("outside.txt"), b"no").unwrap();
    std::os::unix::fs::symlink(dir.path().join("outside.txt"), workspace.join("a/link")).unwrap();
    let config = ductor::config::AgentConfig {
        file_access: "workspace".into(),
        ..Default::default()
    };
    let access = FileAccess::with_env(&config, &paths, &|_| None, dir.path());
    let real_ws = workspace.canonicalize().unwrap();
    let segments = prop_oneof![
        Just(".."),
        Just("."),
        Just("a"),
        Just("b"),
        Just("f.txt"),
        Just("link"),
        Just("outside.txt"),
        Just(""),
    ];
    let mut runner = proptest::test_runner::TestRunner::default();
    runner
        .run(
            &(proptest::collection::vec(segments, 0..8), any::<bool>()),
            |(parts, absolute)| {
                let rel = parts.join("/");
                let raw = if absolute {
                    format!("{}/{rel}", workspace.display())
                } else {
                    rel
                };
                if let Ok(opened) = access.open(&raw, &workspace.join("a")) {
                    prop_assert!(
                        opened.path.starts_with(&real_ws),
                        "{raw:?} → {:?}",
                        opened.path
                    );
                }
                Ok(())
            },
        )
        .unwrap();
}
