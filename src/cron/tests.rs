//! The scheduler over a real core with a scripted launcher, on tokio's paused clock.

use crate::address::{Address, Destination};
use crate::config::AgentConfig;
use crate::core::testing::{OneUser, Rig, rig_at, tokio_clock};
use crate::exec::TimeoutKind;
use crate::exec::fake::Script;
use crate::session::outbox::Outgoing;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

fn utc(s: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .with_timezone(&chrono::Utc)
}

fn job(id: &str, schedule: &str, extra: &Value) -> Value {
    let mut v = json!({"id": id, "title": format!("Job {id}"), "schedule": schedule,
        "task_folder": id, "agent_instruction": format!("do {id}"), "enabled": true,
        "chat_id": 42, "transport": "tg"});
    if let (Some(m), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    v
}

fn rig(jobs: &[Value], config: AgentConfig, start: &str) -> Rig {
    let jobs = jobs.to_vec();
    rig_at(
        config,
        move |paths| {
            for j in &jobs {
                let id = j["id"].as_str().unwrap();
                super::folder::create(&paths.cron_tasks_dir(), id, id, "x").unwrap();
            }
            std::fs::write(paths.cron_jobs_file(), json!({ "jobs": jobs }).to_string()).unwrap();
        },
        Arc::new(OneUser),
        tokio_clock(utc(start)),
    )
}

fn record(r: &Rig, id: &str) -> Value {
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(r.paths().cron_jobs_file()).unwrap())
            .unwrap();
    v["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["id"] == id)
        .cloned()
        .unwrap()
}

async fn wait_record(r: &Rig, id: &str, pred: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..2000 {
        let rec = record(r, id);
        if pred(&rec) {
            return rec;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{}", record(r, id));
}

async fn next_item(r: &mut Rig) -> Outgoing {
    tokio::time::timeout(Duration::from_hours(48), r.outbox.recv())
        .await
        .expect("an outbox item")
        .expect("outbox open")
        .item
}

#[tokio::test(start_paused = true)]
async fn a_job_runs_at_its_slot_in_its_folder_and_its_result_is_booked_on_receipt() {
    let mut r = rig(
        &[job("news", "*/15 * * * *", &json!({}))],
        AgentConfig::default(),
        "2026-12-03T10:07:00Z",
    );
    let clock = r.core.cron.now_for_tests();
    match next_item(&mut r).await {
        Outgoing::Report { to, text, receipt } => {
            assert_eq!(to, Destination::Chat(Address::new("tg", 42, None)));
            assert!(
                text.starts_with("**⏰ Job news**") && text.contains("echo: do news"),
                "{text}"
            );
            assert_eq!(receipt, "cron:news");
        }
        other => panic!("{other:?}"),
    }
    let now = clock();
    assert!(
        now >= utc("2026-12-03T10:15:00Z") && now < utc("2026-12-03T10:16:00Z"),
        "{now}"
    );
    let launch = r.launcher.launched().remove(0);
    assert_eq!(launch.cwd, r.paths().cron_tasks_dir().join("news"));
    assert_eq!(launch.timeout, TimeoutKind::Automation);
    assert!(launch.spec.resume.is_none());
    assert!(launch.spec.prompt.contains("news_MEMORY.md"));
    let rec = wait_record(&r, "news", |j| j["last_run_status"] == "success").await;
    assert_eq!(rec["last_delivery_status"], "pending");
    r.core.outbox.report("cron:news", true);
    wait_record(&r, "news", |j| j["last_delivery_status"] == "ok").await;
    // The next slot runs too, in a new session.
    assert!(matches!(next_item(&mut r).await, Outgoing::Report { .. }));
    assert!(clock() >= utc("2026-12-03T10:30:00Z"));
    assert!(
        r.launcher
            .launched()
            .iter()
            .all(|l| l.spec.resume.is_none())
    );
}

#[tokio::test(start_paused = true)]
async fn quiet_hours_across_midnight_skip_the_night_slots() {
    let mut r = rig(
        &[job(
            "hourly",
            "0 * * * *",
            &json!({"quiet_start": 22, "quiet_end": 7}),
        )],
        AgentConfig::default(),
        "2026-12-03T21:30:00Z",
    );
    let clock = r.core.cron.now_for_tests();
    assert!(matches!(next_item(&mut r).await, Outgoing::Report { .. }));
    let now = clock();
    assert!(
        now >= utc("2026-12-04T07:00:00Z") && now < utc("2026-12-04T07:01:00Z"),
        "{now}"
    );
    assert_eq!(r.launcher.launched().len(), 1, "no night slot ran");
}

#[tokio::test(start_paused = true)]
async fn silent_on_success_posts_nothing() {
    let mut r = rig(
        &[job(
            "quiet",
            "0 11 * * *",
            &json!({"silent_on_success": true}),
        )],
        AgentConfig::default(),
        "2026-12-03T10:59:00Z",
    );
    let rec = wait_record(&r, "quiet", |j| j["last_run_status"] == "success").await;
    assert_eq!(rec["last_delivery_status"], "skipped");
    assert!(r.outbox.try_recv().is_err());
}

#[tokio::test(start_paused = true)]
async fn jobs_sharing_a_dependency_run_one_after_another() {
    let gate = Arc::new(Notify::new());
    let extra = json!({"dependency": "db"});
    let r = rig(
        &[
            job("a", "0 11 * * *", &extra),
            job("b", "0 11 * * *", &extra),
        ],
        AgentConfig::default(),
        "2026-12-03T10:59:00Z",
    );
    let held = gate.clone();
    r.launcher
        .respond(move |l| Script::reply("s", &format!("done {}", l.spec.prompt.len())).held(&held));
    tokio::time::sleep(Duration::from_mins(2)).await;
    assert_eq!(
        r.launcher.launched().len(),
        1,
        "the second waits for the first"
    );
    gate.notify_one();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(r.launcher.launched().len(), 2);
    gate.notify_one();
}

#[tokio::test(start_paused = true)]
async fn a_refused_result_goes_to_the_primary_chat_and_is_retried() {
    let config = AgentConfig {
        cron_delivery_retry: json!({"enabled": true, "interval_seconds": 60, "max_attempts": 2}),
        ..AgentConfig::default()
    };
    let mut r = rig(
        &[job("news", "0 11 * * *", &json!({"chat_id": 777}))],
        config,
        "2026-12-03T10:59:00Z",
    );
    let first = next_item(&mut r).await;
    let Outgoing::Report { text, .. } = &first else {
        panic!("{first:?}");
    };
    r.core.outbox.report("cron:news", false);
    match next_item(&mut r).await {
        Outgoing::Notice { to, text: notice } => {
            assert_eq!(to, Destination::Primary);
            assert!(
                notice.contains("Cron delivery failed") && notice.contains("chat 777"),
                "{notice}"
            );
            assert!(notice.contains("echo: do news"), "{notice}");
        }
        other => panic!("{other:?}"),
    }
    let rec = wait_record(&r, "news", |j| j["last_delivery_status"] == "failed").await;
    assert_eq!(rec["last_result_text"].as_str(), Some(text.as_str()));
    // The sweep posts the kept text again without running the job again.
    match next_item(&mut r).await {
        Outgoing::Report {
            text: again, to, ..
        } => {
            assert_eq!(&again, text);
            assert_eq!(to, Destination::Chat(Address::new("tg", 777, None)));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(r.launcher.launched().len(), 1);
    wait_record(&r, "news", |j| j["delivery_retry_attempts"] == 1).await;
    r.core.outbox.report("cron:news", true);
    let rec = wait_record(&r, "news", |j| j["last_delivery_status"] == "ok").await;
    assert!(rec.get("last_result_text").is_none());
}

#[tokio::test(start_paused = true)]
async fn an_edit_reschedules_without_cancelling_the_running_job() {
    let gate = Arc::new(Notify::new());
    let mut r = rig(
        &[job("long", "0 11 * * *", &json!({}))],
        AgentConfig::default(),
        "2026-12-03T10:59:00Z",
    );
    let held = gate.clone();
    r.launcher
        .respond(move |_| Script::reply("s", "finished work").held(&held));
    tokio::time::sleep(Duration::from_mins(2)).await;
    assert_eq!(r.launcher.launched().len(), 1);
    // Someone changes the schedule while it runs.
    let path = r.paths().cron_jobs_file();
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    v["jobs"][0]["schedule"] = json!("30 11 * * *");
    std::fs::write(&path, v.to_string()).unwrap();
    r.core.cron.reload(false);
    gate.notify_one();
    match next_item(&mut r).await {
        Outgoing::Report { text, .. } => assert!(text.contains("finished work"), "{text}"),
        other => panic!("{other:?}"),
    }
    // The new slot (11:30) runs.
    gate.notify_one();
    assert!(matches!(next_item(&mut r).await, Outgoing::Report { .. }));
    assert_eq!(r.launcher.launched().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_malformed_file_keeps_the_schedule_and_says_why() {
    let mut r = rig(
        &[
            job("news", "0 11 * * *", &json!({})),
            job("bad", "0 25 * * *", &json!({})),
        ],
        AgentConfig::default(),
        "2026-12-03T10:59:00Z",
    );
    std::fs::write(r.paths().cron_jobs_file(), "{\"jobs\": [").unwrap();
    r.core.cron.reload(false);
    let err = r.core.cron.load_error().unwrap();
    assert!(err.contains("cannot be read"), "{err}");
    let list = r.core.cron.list();
    assert_eq!(list.len(), 2);
    assert!(list[1].problem.as_deref().unwrap().contains("0 25 * * *"));
    assert!(matches!(next_item(&mut r).await, Outgoing::Report { .. }));
    assert_eq!(
        std::fs::read_to_string(r.paths().cron_jobs_file()).unwrap(),
        "{\"jobs\": [",
        "the broken file is not replaced"
    );
}

#[tokio::test]
async fn a_preflight_marker_skips_the_run() {
    let config = AgentConfig {
        cron_preflight: json!({"enabled": true, "timeout_seconds": 20.0, "skip_marker": "HEARTBEAT_OK"}),
        ..AgentConfig::default()
    };
    let r = rig(
        &[job("check", "0 0 1 1 *", &json!({}))],
        config,
        "2026-12-03T10:59:00Z",
    );
    let script = r
        .paths()
        .cron_tasks_dir()
        .join("check/scripts/preflight.py");
    std::fs::write(&script, "print('nothing new')\nprint('HEARTBEAT_OK')\n").unwrap();
    assert!(r.core.cron.run_now("check"));
    let rec = wait_record(&r, "check", |j| j["last_run_status"].is_string()).await;
    assert_eq!(rec["last_run_status"], "success:preflight");
    assert_eq!(rec["last_delivery_status"], "skipped");
    assert!(r.launcher.launched().is_empty());
    // Any other last line runs the job.
    std::fs::write(&script, "print('news!')\n").unwrap();
    assert!(r.core.cron.run_now("check"));
    wait_record(&r, "check", |j| j["last_run_status"] == "success").await;
    assert_eq!(r.launcher.launched().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn only_jobs_that_ask_for_it_catch_up_a_slot_missed_while_down() {
    let missed = json!({"last_run_at": "2026-12-02T09:00:00+00:00"});
    let mut once = missed.clone();
    once["catch_up"] = json!("once");
    let mut r = rig(
        &[
            job("eager", "0 9 * * *", &once),
            job("lazy", "0 9 * * *", &missed),
        ],
        AgentConfig::default(),
        "2026-12-03T10:00:00Z",
    );
    let clock = r.core.cron.now_for_tests();
    match next_item(&mut r).await {
        Outgoing::Report { receipt, .. } => assert_eq!(receipt, "cron:eager"),
        other => panic!("{other:?}"),
    }
    assert!(
        clock() < utc("2026-12-03T10:01:00Z"),
        "at start, not at the next slot"
    );
    assert_eq!(
        r.launcher.launched().len(),
        1,
        "the other job waits for its slot"
    );
    // A job that already ran at its latest slot does not run again.
    let mut done = once.clone();
    done["last_run_at"] = json!("2026-12-03T09:00:05+00:00");
    let r = rig(
        &[job("eager", "0 9 * * *", &done)],
        AgentConfig::default(),
        "2026-12-03T10:00:00Z",
    );
    tokio::time::sleep(Duration::from_mins(5)).await;
    assert!(r.launcher.launched().is_empty());
}
