//! The hub on a real agent home, without CLI runs: restart recovery, start-up
//! cleanup, cancel/delete rules, questions and refusals.

use super::*;
use crate::address::{Address, Destination};
use crate::config::AgentConfig;
use crate::provider::ProviderKind;
use crate::session::outbox::{self, OutboxRx, Outgoing};
use serde_json::json;
use submit::{default_name, resolve_target};

struct Rig {
    inner: crate::core::testing::Rig,
    hub: TaskHub,
    outbox: OutboxRx,
}

fn task(id: &str, status: &str, completed_h_ago: f64) -> serde_json::Value {
    let now = registry::now();
    json!({
        "task_id": id, "chat_id": 42, "parent_agent": "main", "name": format!("T-{id}"),
        "original_prompt": "do it", "provider": "claude", "model": "sonnet",
        "status": status, "created_at": now - 100.0 * 3600.0,
        "completed_at": if status == "running" || status == "waiting" {
            serde_json::Value::Null
        } else {
            json!(now - completed_h_ago * 3600.0)
        },
        "session_id": if status == "failed" { "" } else { "sess-1" },
        "priority": "background", "thread_id": 3,
    })
}

/// A hub over a home whose `tasks.json` holds `tasks`; task folders exist for `folders`.
fn rig(tasks: &[serde_json::Value], folders: &[&str], config: AgentConfig) -> Rig {
    let tasks = tasks.to_vec();
    let folders: Vec<String> = folders.iter().map(|f| (*f).to_owned()).collect();
    let mut inner = crate::core::testing::rig(config, move |paths| {
        std::fs::write(paths.tasks_file(), json!({ "tasks": tasks }).to_string()).unwrap();
        for f in &folders {
            std::fs::create_dir_all(paths.tasks_dir().join(f)).unwrap();
            std::fs::write(
                paths.tasks_dir().join(f).join("TASKMEMORY.md"),
                "partial notes",
            )
            .unwrap();
            let old = std::time::SystemTime::now() - Duration::from_mins(2);
            let handle = std::fs::File::open(paths.tasks_dir().join(f)).unwrap();
            handle.set_modified(old).unwrap();
        }
    });
    let hub = inner.core.tasks.clone();
    let (_, empty) = outbox::outbox();
    let outbox = std::mem::replace(&mut inner.outbox, empty);
    Rig { inner, hub, outbox }
}

impl Rig {
    fn status(&self, id: &str) -> Option<String> {
        self.hub.registry().get(id).map(|r| r.status)
    }

    fn folder(&self, id: &str) -> bool {
        self.inner.paths().tasks_dir().join(id).is_dir()
    }
}

#[tokio::test]
async fn a_restart_fails_running_tasks_tells_their_chats_and_cleans_up() {
    let mut r = rig(
        &[
            task("0000000a", "running", 0.0),
            task("0000000b", "done", 1.0),
            task("0000000c", "done", 1.0),
        ],
        &["0000000a", "0000000b", "deadbeef", "my-notes"],
        AgentConfig::default(),
    );
    let a = r.hub.registry().get("0000000a").unwrap();
    assert_eq!(a.status, "failed");
    assert_eq!(a.error, maintenance::RESTART_REASON);
    match r.outbox.try_recv().unwrap().item {
        Outgoing::Notice { to, text } => {
            assert_eq!(to, Destination::Chat(Address::new("tg", 42, Some(3))));
            assert!(
                text.contains("T-0000000a") && text.contains("restarted"),
                "{text}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(r.status("0000000b").as_deref(), Some("done"));
    assert!(
        r.status("0000000c").is_none(),
        "finished task without folder dropped"
    );
    assert!(!r.folder("deadbeef"), "orphan folder removed");
    assert!(r.folder("my-notes"), "foreign folder kept");
    assert!(r.outbox.try_recv().is_err());
}

#[tokio::test]
async fn retention_applies_at_start() {
    let mut config = AgentConfig::default();
    config.tasks.finished_retention_hours = 48;
    config.tasks.finished_keep_last = 2;
    let ids = ["00000001", "00000002", "00000003", "00000004"];
    let r = rig(
        &[
            task(ids[0], "done", 1.0),
            task(ids[1], "failed", 2.0),
            task(ids[2], "cancelled", 3.0),
            task(ids[3], "done", 72.0),
        ],
        &ids,
        config,
    );
    let left: Vec<String> = r.hub.list(None).into_iter().map(|t| t.task_id).collect();
    assert_eq!(left.len(), 2);
    assert!(left.contains(&ids[0].to_owned()) && left.contains(&ids[1].to_owned()));
    assert!(!r.folder(ids[2]) && !r.folder(ids[3]) && r.folder(ids[0]));
}

#[tokio::test]
async fn cancel_and_delete_follow_the_status() {
    let mut r = rig(
        &[
            task("0000000a", "waiting", 0.0),
            task("0000000b", "done", 1.0),
        ],
        &["0000000a", "0000000b"],
        AgentConfig::default(),
    );
    assert!(
        matches!(r.hub.delete("0000000a"), Err(TaskError::Conflict(m)) if m.contains("waiting"))
    );
    assert!(matches!(
        r.hub.delete("nosuch00"),
        Err(TaskError::NotFound(_))
    ));
    // A finished task keeps its result.
    assert!(
        matches!(r.hub.cancel("0000000b").await, Err(TaskError::Conflict(m)) if m.contains("already finished (done)"))
    );
    assert_eq!(r.status("0000000b").as_deref(), Some("done"));
    // A waiting task has no run: cancelled at once, its notes stay, its chat is told.
    r.hub.cancel("0000000a").await.unwrap();
    assert_eq!(r.status("0000000a").as_deref(), Some("cancelled"));
    let memory = folder::memory_path(r.hub.tasks_dir(), "0000000a");
    assert_eq!(std::fs::read_to_string(memory).unwrap(), "partial notes");
    match r.outbox.try_recv().unwrap().item {
        Outgoing::Notice { text, .. } => assert!(text.contains("T-0000000a` cancelled"), "{text}"),
        other => panic!("{other:?}"),
    }
    r.hub.delete("0000000a").unwrap();
    assert!(r.status("0000000a").is_none() && !r.folder("0000000a"));
    assert_eq!(r.hub.delete_finished(&Address::new("tg", 42, None)), 1);
    assert!(r.hub.list(None).is_empty() && !r.folder("0000000b"));
}

#[tokio::test]
async fn a_question_is_injected_with_the_task_id_and_how_to_answer() {
    let mut r = rig(
        &[task("0000000a", "waiting", 0.0)],
        &["0000000a"],
        AgentConfig::default(),
    );
    r.hub.ask_parent("0000000a", "  Which colour?  ").unwrap();
    let rec = r.hub.registry().get("0000000a").unwrap();
    assert_eq!(
        (rec.question_count, rec.last_question.as_str()),
        (1, "Which colour?")
    );
    match r.outbox.try_recv().unwrap().item {
        Outgoing::Inject { to, notice, prompt } => {
            assert_eq!(to, Destination::Chat(Address::new("tg", 42, Some(3))));
            assert_eq!(
                notice.as_deref(),
                Some("**Task `0000000a` has a question:** Which colour?")
            );
            assert!(prompt.starts_with(
                "[QUESTION FROM BACKGROUND TASK: task_id=0000000a name=T-0000000a]\nWhich colour?"
            ));
            assert!(prompt.contains("ductor task resume 0000000a"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        r.hub.ask_parent("nosuch00", "q"),
        Err(TaskError::NotFound(_))
    ));
    assert!(matches!(
        r.hub.ask_parent("0000000a", " "),
        Err(TaskError::BadRequest(_))
    ));
}

#[tokio::test]
async fn refusals_are_typed() {
    let r = rig(
        &[task("0000000f", "failed", 1.0)],
        &["0000000f"],
        AgentConfig::default(),
    );
    let err = r.hub.resume("0000000f", "again").unwrap_err();
    assert!(
        matches!(&err, TaskError::Conflict(m) if m.contains("no CLI session")),
        "{err}"
    );
    assert!(matches!(
        r.hub.resume("nosuch00", "x"),
        Err(TaskError::NotFound(_))
    ));
    let bad = NewTask {
        prompt: "x".into(),
        provider: Some("grok".into()),
        ..NewTask::default()
    };
    assert!(matches!(r.hub.create(&bad), Err(TaskError::BadRequest(m)) if m.contains("grok")));
    let empty = NewTask::default();
    assert!(matches!(
        r.hub.create(&empty),
        Err(TaskError::BadRequest(_))
    ));

    let mut off = AgentConfig::default();
    off.tasks.enabled = false;
    let r = rig(&[], &[], off);
    let new = NewTask {
        prompt: "x".into(),
        ..NewTask::default()
    };
    assert_eq!(r.hub.create(&new).unwrap_err(), TaskError::Disabled);
    assert_eq!(
        r.hub.resume("0000000f", "x").unwrap_err(),
        TaskError::Disabled
    );
    // Over the bus the refusal carries its code.
    let answer = wire::answer(
        Some(&r.hub),
        crate::ipc::Body::TaskCreate(crate::ipc::message::TaskCreate {
            prompt: "x".into(),
            ..Default::default()
        }),
    )
    .await;
    match answer {
        crate::ipc::Body::Error(e) => assert_eq!(e.code, crate::ipc::ErrorCode::Disabled),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn tasks_start_tasks_only_as_deep_as_configured() {
    let r = rig(&[], &[], AgentConfig::default());
    let top = r
        .hub
        .create(&NewTask {
            prompt: "plan the trip".into(),
            ..NewTask::default()
        })
        .unwrap();
    assert_eq!(top.depth, 1);
    let child = r
        .hub
        .create(&NewTask {
            prompt: "find flights".into(),
            parent: Some(top.task_id.clone()),
            ..NewTask::default()
        })
        .unwrap();
    assert_eq!(child.depth, 2);
    let grandchild = NewTask {
        prompt: "and hotels".into(),
        parent: Some(child.task_id.clone()),
        ..NewTask::default()
    };
    assert_eq!(
        r.hub.create(&grandchild).unwrap_err(),
        TaskError::TooDeep { max: 2 }
    );
    let unknown_parent = NewTask {
        prompt: "x".into(),
        parent: Some("ffffffff".into()),
        ..NewTask::default()
    };
    assert_eq!(r.hub.create(&unknown_parent).unwrap().depth, 2);
}

#[tokio::test]
async fn targets_follow_the_overrides() {
    let config = AgentConfig::default();
    let env = crate::provider::models::ModelCatalogue::new(
        crate::provider::models::codex_fallback_models(),
        Vec::new(),
    );
    let t = resolve_target(&env, &config, None, None, None).unwrap();
    assert_eq!(
        (t.provider, t.model.as_str()),
        (ProviderKind::Claude, "opus")
    );
    let t = resolve_target(&env, &config, None, Some("sonnet"), None).unwrap();
    assert_eq!(
        (t.provider, t.model.as_str()),
        (ProviderKind::Claude, "sonnet")
    );
    let t = resolve_target(&env, &config, Some("codex"), None, None).unwrap();
    assert_eq!(t.provider, ProviderKind::Codex);
    assert!(!t.model.is_empty() && t.effort.is_none());
    let t = resolve_target(&env, &config, Some("codex"), None, Some("HIGH")).unwrap();
    assert_eq!(
        t.effort.as_deref(),
        Some("high"),
        "--thinking sets the effort"
    );
    let t = resolve_target(&env, &config, None, Some("sonnet"), Some("low")).unwrap();
    assert_eq!(t.effort.as_deref(), Some("low"));
    let bad = resolve_target(&env, &config, None, None, Some("galaxy-brain")).unwrap_err();
    assert!(
        matches!(&bad, TaskError::BadRequest(m) if m.contains("galaxy-brain") && m.contains("high")),
        "{bad:?}"
    );
    let none = resolve_target(&env, &config, Some("gemini"), None, Some("high")).unwrap_err();
    assert!(matches!(&none, TaskError::BadRequest(m) if m.contains("no reasoning effort")));
    assert_eq!(default_name("Find flights\nmore"), "Find flights");
    assert!(default_name(&"word ".repeat(20)).ends_with('…'));
}

#[tokio::test]
async fn a_cancel_racing_the_answer_to_a_question_cancels_the_task() {
    let r = rig(
        &[task("0000000a", "waiting", 0.0)],
        &["0000000a"],
        AgentConfig::default(),
    );
    // The task runs, asks, and gets its answer queued behind the run; then the user
    // cancels just as the run completes (the stop finds nothing left to stop).
    {
        let mut active = r.hub.active();
        let _ended = activate(&mut active, "0000000a", Address::new("tg", 42, Some(3)));
        let a = active.get_mut("0000000a").unwrap();
        a.asked = true;
        a.follow_up = Some("blue".into());
        a.cancel.cancel();
    }
    let end = runner::RunEnd {
        outcome: crate::provider::event::Outcome::Completed {
            text: "asked".into(),
            session_id: Some("sess-1".into()),
            usage: crate::provider::event::Usage::default(),
            permission_denials: Vec::new(),
        },
        secs: 1.0,
        turns: 1,
        cut_off: false,
    };
    assert!(matches!(
        r.hub.after_run("0000000a", &end),
        runner::Step::End { .. }
    ));
    assert_eq!(r.status("0000000a").as_deref(), Some("cancelled"));
}

#[test]
fn a_long_result_is_cut_with_a_pointer_to_the_whole() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("0000000a")).unwrap();
    let long = "ä".repeat(delivery::INLINE_RESULT);
    let shown = delivery::inline_result(dir.path(), "0000000a", &long);
    assert!(
        shown.len() < delivery::INLINE_RESULT + 300,
        "{}",
        shown.len()
    );
    let saved = dir.path().join("0000000a/RESULT.md");
    assert!(shown.contains(&saved.display().to_string()));
    assert_eq!(std::fs::read_to_string(saved).unwrap(), long);
    assert_eq!(
        delivery::inline_result(dir.path(), "0000000a", "short"),
        "short"
    );
}
