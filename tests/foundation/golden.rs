//! Files written by the original ductor 0.20 load unchanged.

use ductor::config::{self, agents::merge_sub_agent};
use ductor::paths::Home;
use ductor::state::named_sessions::NamedSessionsFile;
use ductor::state::sessions::{SessionKey, SessionsFile};
use ductor::state::{cron_jobs::CronJobsFile, tasks::TasksFile, webhooks::WebhooksFile};
use ductor::store::{self, LoadReport};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/original")
        .join(name)
}

fn read(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(fixture(name)).unwrap()).unwrap()
}

/// Every key/value of `orig` is present, unchanged, in `loaded` (which may have more).
fn assert_superset(orig: &Value, loaded: &Value, path: &str) {
    match (orig, loaded) {
        (Value::Object(o), Value::Object(l)) => {
            for (k, v) in o {
                let lv = l.get(k).unwrap_or_else(|| panic!("{path}.{k} was dropped"));
                assert_superset(v, lv, &format!("{path}.{k}"));
            }
        }
        _ => assert_eq!(orig, loaded, "{path} changed"),
    }
}

#[test]
fn original_config_loads_keeps_every_key_and_is_written_back_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    std::fs::copy(fixture("config.json"), &path).unwrap();
    let loaded = config::load_config_file(&path).unwrap();
    let orig = read("config.json");
    assert_superset(&orig, &loaded.raw, "config");
    let on_disk: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_superset(&orig, &on_disk, "config(on disk)");
    assert_eq!(
        on_disk["telegram_api_url"], "https://api.telegram.org",
        "new key added"
    );
    let c = &loaded.config;
    assert_eq!(
        (c.provider.as_str(), c.model.as_str(), c.language.as_str()),
        ("claude", "sonnet", "de")
    );
    assert_eq!(c.allowed_group_ids, [-1_001_234_567_890]);
    assert!((c.timeouts.normal - 600.0).abs() < f64::EPSILON);
    assert!(c.gemini_api_key.is_none());
    assert_eq!(c.project_roots["ductor-rs"], "~/src/ductor-rs");
    assert!(c.streaming.show_reasoning_stream);
    assert_eq!(
        orig["_comment"], on_disk["_comment"],
        "unknown keys are kept"
    );
    let again = config::load_config_file(&path).unwrap();
    assert!(!again.written, "a complete file is not rewritten");
}

#[test]
fn original_agents_json_loads_and_merges() {
    let entries = config::load_agents(&fixture("agents.json")).unwrap();
    assert_eq!(entries.len(), 2);
    let main = read("config.json");
    let home = Home::new("/srv/ductor");
    let codex = merge_sub_agent(&main, &entries[0], &home);
    let typed = config::load::typed(Path::new("agents.json"), &codex).unwrap();
    assert_eq!(
        (typed.provider.as_str(), typed.model.as_str()),
        ("codex", "gpt-5.5")
    );
    assert_eq!(typed.allowed_group_ids, Vec::<i64>::new());
    assert_eq!(typed.ductor_home, "/srv/ductor/agents/codex-agent");
    let researcher = merge_sub_agent(&main, &entries[1], &home);
    assert_eq!(researcher["transport"], "matrix");
    assert_eq!(
        researcher["streaming"],
        serde_json::json!({"enabled": false})
    );
    assert_eq!(
        researcher["matrix"]["homeserver"],
        "https://matrix.example.org"
    );
    // Writing the registry back keeps every key.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("agents.json");
    config::agents::save_agents(&out, &entries).unwrap();
    let back: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(back, read("agents.json"));
}

fn roundtrip<T: DeserializeOwned + Serialize + Default>(name: &str) -> T {
    let (state, report): (T, _) = store::load_state(&fixture(name));
    assert_eq!(report, LoadReport::Loaded, "{name}");
    let back = serde_json::to_value(&state).unwrap();
    assert_eq!(back, read(name), "{name} changes on a load/save round trip");
    state
}

#[test]
fn original_state_files_round_trip_unchanged() {
    let sessions: SessionsFile = roundtrip("sessions.json");
    let rec = sessions
        .get(&SessionKey::new("tg", -1_001_234_567_890, Some(42)))
        .unwrap();
    assert_eq!(rec.topic_name.as_deref(), Some("ductor-rs"));
    assert_eq!(rec.provider_sessions["gemini"].message_count, 7);
    let named: NamedSessionsFile = roundtrip("named_sessions.json");
    assert_eq!(named.records().count(), 2);
    let tasks: TasksFile = roundtrip("tasks.json");
    assert_eq!(tasks.records().next().unwrap().thread_id, Some(5));
    let cron: CronJobsFile = roundtrip("cron_jobs.json");
    assert_eq!(cron.records().next().unwrap().schedule, "0 9 * * *");
    let hooks: WebhooksFile = roundtrip("webhooks.json");
    assert_eq!(hooks.records().next().unwrap().mode, "wake");
}

#[test]
fn legacy_sessions_are_migrated() {
    let (mut sessions, _): (SessionsFile, _) = store::load_state(&fixture("sessions.legacy.json"));
    assert!(sessions.migrate());
    let dm = sessions
        .get(&SessionKey::new("tg", 123_456_789, None))
        .unwrap();
    assert_eq!(dm.provider_sessions["claude"].message_count, 12);
    assert_eq!(
        dm.provider_sessions["claude"].session_id,
        "5f3c2b1a-1111-2222-3333-444455556666"
    );
    let topic = sessions
        .get(&SessionKey::new("tg", -1_001_234_567_890, Some(42)))
        .unwrap();
    assert_eq!(topic.provider_sessions["codex"].total_tokens, 900);
    let keys: Vec<&String> = sessions.0.keys().collect();
    assert_eq!(keys, ["tg:-1001234567890:42", "tg:123456789"]);
}

#[test]
fn corrupt_state_file_is_moved_aside_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tasks.json");
    std::fs::write(&path, "{\"tasks\": [").unwrap();
    let (tasks, report): (TasksFile, _) = store::load_state(&path);
    assert_eq!(tasks.items.len(), 0);
    let LoadReport::Quarantined(moved) = report else {
        panic!("{report:?}")
    };
    assert_eq!(std::fs::read_to_string(moved).unwrap(), "{\"tasks\": [");
    // A record with a wrong shape is kept verbatim instead of dropping the file.
    std::fs::write(
        &path,
        r#"{"tasks": [{"task_id": 5}, {"task_id": "abcd0123", "status": "done"}]}"#,
    )
    .unwrap();
    let (tasks, report): (TasksFile, _) = store::load_state(&path);
    assert_eq!(report, LoadReport::Loaded);
    assert_eq!(tasks.records().count(), 1);
    assert_eq!(
        serde_json::to_value(&tasks).unwrap()["tasks"][0],
        serde_json::json!({"task_id": 5})
    );
}

fn current(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/current")
        .join(name)
}

/// Loads a file of today's format and writes it back: nothing may change.
fn current_roundtrip<T: DeserializeOwned + Serialize + Default>(name: &str) -> T {
    let (state, report): (T, _) = store::load_state(&current(name));
    assert_eq!(report, LoadReport::Loaded, "{name}");
    let back = serde_json::to_value(&state).unwrap();
    let orig: Value = serde_json::from_slice(&std::fs::read(current(name)).unwrap()).unwrap();
    assert_eq!(back, orig, "{name} changes on a load/save round trip");
    state
}

#[test]
fn todays_files_with_transports_round_trip_unchanged() {
    use ductor::address::MessageRef;
    use ductor::state::inflight::InflightFile;
    use ductor::state::sentinel::RestartSentinel;
    let tasks: TasksFile = current_roundtrip("tasks.json");
    let recs: Vec<_> = tasks.records().collect();
    assert_eq!(
        (recs[0].transport.as_str(), recs[0].chat_id),
        ("mx", 4_242_424_242)
    );
    assert_eq!(
        recs[1].transport, "tg",
        "a task without a transport is Telegram's"
    );
    let named: NamedSessionsFile = current_roundtrip("named_sessions.json");
    assert_eq!(named.records().next().unwrap().transport, "mx");
    let inflight: InflightFile = current_roundtrip("inflight_turns.json");
    let turns: Vec<_> = inflight.turns.values().filter_map(|t| t.ok()).collect();
    assert_eq!(
        turns[0].message_id,
        Some(MessageRef::new("$event:matrix.example.org"))
    );
    assert_eq!(
        turns[1].message_id.as_ref().and_then(MessageRef::as_i64),
        Some(991)
    );
    let sentinel: RestartSentinel =
        serde_json::from_slice(&std::fs::read(current("restart-sentinel.json")).unwrap()).unwrap();
    assert_eq!(
        (sentinel.transport.as_str(), sentinel.topic_id),
        ("mx", None)
    );
    let old: RestartSentinel =
        serde_json::from_str(r#"{"chat_id": 5, "message": "Restarted."}"#).unwrap();
    assert_eq!(old.transport, "tg", "the original's sentinel is Telegram's");
}
