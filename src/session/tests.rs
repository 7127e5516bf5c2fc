//! The turn pipeline and its actors with a scripted launcher: queueing, cancel, the
//! two kinds of stop, lanes beside each other, stop-all, the stale-session retry of
//! every binding, and idle actors leaving the map.

use super::*;
use crate::config::AgentConfig;
use crate::core::testing::{USER, rig};
use crate::exec::fake::Script;
use std::sync::Arc;
use tokio::sync::Notify;

fn chat() -> Address {
    Address::new("tg", USER, None)
}

/// Submits a turn and returns the receiver of its updates.
async fn submit(
    conv: &Conversations,
    address: &Address,
    lane: Lane,
    prompt: &str,
    timeout: TimeoutKind,
) -> (u64, mpsc::Receiver<TurnUpdate>) {
    let (tx, rx) = mpsc::channel(64);
    let req = TurnRequest {
        timeout,
        ..TurnRequest::new(lane, prompt.into(), tx)
    };
    (conv.submit(address, req).await, rx)
}

/// The next update that is not a CLI event.
async fn next(rx: &mut mpsc::Receiver<TurnUpdate>) -> TurnUpdate {
    loop {
        let u = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("an update in time")
            .expect("the turn reports");
        if !matches!(u, TurnUpdate::Event(_)) {
            return u;
        }
    }
}

async fn finished(rx: &mut mpsc::Receiver<TurnUpdate>) -> TurnFinish {
    loop {
        if let TurnUpdate::Finished(f) = next(rx).await {
            return *f;
        }
    }
}

/// Waits until `n` turns run.
async fn running(conv: &Conversations, n: usize) {
    for _ in 0..500 {
        if conv.board().count(|e| e.state == runs::RunState::Running) == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("expected {n} running turns");
}

/// A launcher that holds every run until `gate` is notified (or the run is stopped).
fn hold_all(r: &crate::core::testing::Rig) -> Arc<Notify> {
    let gate = Arc::new(Notify::new());
    let g = gate.clone();
    r.launcher
        .respond(move |job| Script::reply(&format!("s-{}", job.spec.prompt), "done").held(&g));
    gate
}

#[tokio::test]
async fn a_busy_lane_queues_and_a_queued_turn_can_be_cancelled() {
    let r = rig(AgentConfig::default(), |_| {});
    let conv = &r.core.conversations;
    let gate = hold_all(&r);
    let (_, mut first) = submit(conv, &chat(), Lane::Main, "one", TimeoutKind::Interactive).await;
    assert!(matches!(next(&mut first).await, TurnUpdate::Started { .. }));
    let (entry, mut second) =
        submit(conv, &chat(), Lane::Main, "two", TimeoutKind::Interactive).await;
    assert!(matches!(next(&mut second).await, TurnUpdate::Queued { entry: e } if e == entry));
    assert!(conv.board().has_work(&chat(), &Lane::Main));
    let elsewhere = Address::new("tg", 7, None);
    assert!(
        !conv.cancel_queued(&elsewhere, entry).await,
        "another chat cannot cancel it"
    );
    assert!(conv.cancel_queued(&chat(), entry).await);
    assert!(matches!(
        next(&mut second).await,
        TurnUpdate::Dropped { by_stop: false }
    ));
    assert!(!conv.cancel_queued(&chat(), entry).await, "only once");
    gate.notify_waiters();
    assert!(finished(&mut first).await.ok());
    assert_eq!(
        r.launcher.launched().len(),
        1,
        "the cancelled turn never ran"
    );
}

#[tokio::test]
async fn stop_drops_the_queue_and_interrupt_keeps_it() {
    let r = rig(AgentConfig::default(), |_| {});
    let conv = &r.core.conversations;
    let _gate = hold_all(&r);
    // /interrupt: the running turn ends, the queued one runs next.
    let (_, mut a) = submit(conv, &chat(), Lane::Main, "a", TimeoutKind::Interactive).await;
    assert!(matches!(next(&mut a).await, TurnUpdate::Started { .. }));
    let (_, mut b) = submit(conv, &chat(), Lane::Main, "b", TimeoutKind::Interactive).await;
    assert!(matches!(next(&mut b).await, TurnUpdate::Queued { .. }));
    let topic = Address::new("tg", USER, Some(9));
    assert_eq!(conv.interrupt_chat(&topic).await, 1, "chat-wide");
    let fin = finished(&mut a).await;
    assert!(fin.cancelled);
    assert!(matches!(next(&mut b).await, TurnUpdate::Started { .. }));
    // /stop: the running turn ends and the queue is discarded.
    let (_, mut c) = submit(conv, &chat(), Lane::Main, "c", TimeoutKind::Interactive).await;
    assert!(matches!(next(&mut c).await, TurnUpdate::Queued { .. }));
    let report = conv.stop(&chat()).await;
    assert_eq!((report.stopped, report.discarded), (1, 1));
    assert!(finished(&mut b).await.cancelled);
    assert!(matches!(
        next(&mut c).await,
        TurnUpdate::Dropped { by_stop: true }
    ));
    let prompts: Vec<String> = r
        .launcher
        .launched()
        .into_iter()
        .map(|l| l.spec.prompt)
        .collect();
    assert_eq!(prompts, ["a", "b"]);
}

#[tokio::test]
async fn lanes_run_beside_each_other_each_in_its_own_session() {
    let r = rig(AgentConfig::default(), |_| {});
    let core = &r.core;
    let conv = &core.conversations;
    let target = store::default_target(&core.config.get());
    let named = core
        .named
        .registry()
        .create(&chat(), "redowl", &target, "p")
        .unwrap();
    let gate = hold_all(&r);
    let task = core
        .tasks
        .create(&crate::tasks::NewTask {
            prompt: "background work".into(),
            origin: Some(chat()),
            ..Default::default()
        })
        .unwrap();
    // The task's own run started at creation.
    let (_, mut main) = submit(conv, &chat(), Lane::Main, "main", TimeoutKind::Interactive).await;
    let (_, mut ns) = submit(
        conv,
        &chat(),
        Lane::named(&named.name),
        "named",
        TimeoutKind::Interactive,
    )
    .await;
    running(conv, 3).await;
    assert!(matches!(next(&mut main).await, TurnUpdate::Started { .. }));
    assert!(matches!(next(&mut ns).await, TurnUpdate::Started { .. }));
    let launched = r.launcher.launched();
    assert_eq!(launched.len(), 3);
    let task_run = launched
        .iter()
        .find(|l| l.identity.task_id.as_deref() == Some(task.task_id.as_str()))
        .expect("the task ran with its id");
    assert!(
        task_run.spec.append_system_prompt.is_none(),
        "no chat preamble"
    );
    gate.notify_waiters();
    finished(&mut main).await;
    finished(&mut ns).await;
    // Each lane kept its own CLI session.
    let engine = conv.engine();
    assert_eq!(
        engine.sessions.get(&chat()).unwrap().provider_sessions["claude"].session_id,
        "s-main"
    );
    assert_eq!(
        core.named.get(&chat(), "redowl").unwrap().session_id,
        "s-named"
    );
    for _ in 0..500 {
        if core.tasks.registry().get(&task.task_id).unwrap().status == "done" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let rec = core.tasks.registry().get(&task.task_id).unwrap();
    assert_eq!(rec.status, "done");
    assert!(rec.session_id.starts_with("s-background work"), "{rec:?}");
}

#[tokio::test]
async fn stop_all_stops_every_lane_and_drops_every_queue() {
    let r = rig(AgentConfig::default(), |_| {});
    let core = &r.core;
    let conv = &core.conversations;
    let target = store::default_target(&core.config.get());
    core.named
        .registry()
        .create(&chat(), "redowl", &target, "p")
        .unwrap();
    let _gate = hold_all(&r);
    let task = core
        .tasks
        .create(&crate::tasks::NewTask {
            prompt: "long".into(),
            origin: Some(chat()),
            ..Default::default()
        })
        .unwrap();
    let (_, mut main) = submit(conv, &chat(), Lane::Main, "m", TimeoutKind::Interactive).await;
    let (_, mut queued) = submit(conv, &chat(), Lane::Main, "q", TimeoutKind::Interactive).await;
    assert!(matches!(next(&mut queued).await, TurnUpdate::Queued { .. }));
    let (_, mut ns) = submit(
        conv,
        &chat(),
        Lane::named("redowl"),
        "n",
        TimeoutKind::Background,
    )
    .await;
    running(conv, 3).await;
    // `/stop` leaves background work alone.
    let report = conv.stop(&chat()).await;
    assert_eq!((report.stopped, report.discarded), (1, 1));
    assert!(finished(&mut main).await.cancelled);
    assert!(matches!(
        next(&mut queued).await,
        TurnUpdate::Dropped { .. }
    ));
    running(conv, 2).await;
    let report = conv.stop_all().await;
    assert_eq!(report.stopped, 2, "the named run and the task");
    assert!(finished(&mut ns).await.cancelled);
    for _ in 0..500 {
        if core.tasks.registry().get(&task.task_id).unwrap().status == "cancelled" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert_eq!(
        core.tasks.registry().get(&task.task_id).unwrap().status,
        "cancelled"
    );
    running(conv, 0).await;
}

/// A launcher whose CLI has forgotten every session it is asked to resume.
fn forgetful(r: &crate::core::testing::Rig) {
    r.launcher.respond(|job| match &job.spec.resume {
        Some(_) => Script::stale(),
        None => Script::reply("fresh", "answered fresh"),
    });
}

fn assert_retried_once(r: &crate::core::testing::Rig, stale_id: &str) {
    let resumes: Vec<Option<String>> = r
        .launcher
        .launched()
        .into_iter()
        .map(|l| l.spec.resume)
        .collect();
    assert_eq!(resumes, [Some(stale_id.to_owned()), None]);
}

#[tokio::test]
async fn a_stale_chat_session_is_reset_and_retried_once() {
    let r = rig(AgentConfig::default(), |_| {});
    let conv = &r.core.conversations;
    conv.engine().sessions.resolve(
        &chat(),
        &store::default_target(&r.core.config.get()),
        None,
        &r.core.config.get(),
        chrono::Utc::now(),
    );
    conv.engine().sessions.preserve_id(
        &chat(),
        crate::provider::ProviderKind::Claude,
        Some("gone-1"),
        chrono::Utc::now(),
    );
    forgetful(&r);
    let (_, mut rx) = submit(conv, &chat(), Lane::Main, "hi", TimeoutKind::Interactive).await;
    let mut saw_reset = false;
    let fin = loop {
        match next(&mut rx).await {
            TurnUpdate::SessionReset => saw_reset = true,
            TurnUpdate::Finished(f) => break *f,
            _ => {}
        }
    };
    assert!(saw_reset && fin.recovered && fin.ok());
    assert_retried_once(&r, "gone-1");
    assert_eq!(
        conv.engine()
            .sessions
            .get(&chat())
            .unwrap()
            .provider_sessions["claude"]
            .session_id,
        "fresh"
    );
}

#[tokio::test]
async fn a_stale_named_session_is_reset_and_retried_once() {
    let r = rig(AgentConfig::default(), |_| {});
    let core = &r.core;
    let target = store::default_target(&core.config.get());
    core.named
        .registry()
        .create(&chat(), "redowl", &target, "p")
        .unwrap();
    core.named
        .registry()
        .set_session_id(&chat(), "redowl", "gone-2");
    forgetful(&r);
    let Ran::Finished(fin) = core
        .named
        .run(&chat(), "redowl", "go on".into(), TimeoutKind::Background)
        .await
    else {
        panic!("the run ends")
    };
    assert!(fin.recovered && fin.ok());
    assert_retried_once(&r, "gone-2");
    assert_eq!(
        core.named.get(&chat(), "redowl").unwrap().session_id,
        "fresh"
    );
}

#[tokio::test]
async fn a_stale_task_session_is_reset_and_retried_once_on_resume() {
    let r = rig(AgentConfig::default(), |paths| {
        let now = crate::tasks::registry::now();
        let tasks = serde_json::json!({"tasks": [{
            "task_id": "0000000a", "chat_id": USER, "parent_agent": "main", "name": "T",
            "original_prompt": "do it", "provider": "claude", "model": "sonnet",
            "status": "done", "session_id": "gone-3", "created_at": now - 60.0,
            "completed_at": now, "priority": "background"
        }]});
        std::fs::write(paths.tasks_file(), tasks.to_string()).unwrap();
        std::fs::create_dir_all(paths.tasks_dir().join("0000000a")).unwrap();
    });
    let core = &r.core;
    forgetful(&r);
    core.tasks.resume("0000000a", "more please").unwrap();
    for _ in 0..500 {
        if core.tasks.registry().get("0000000a").unwrap().status == "done"
            && r.launcher.launched().len() == 2
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let rec = core.tasks.registry().get("0000000a").unwrap();
    assert_eq!(
        (rec.status.as_str(), rec.session_id.as_str()),
        ("done", "fresh")
    );
    assert_retried_once(&r, "gone-3");
}

#[tokio::test]
async fn a_refused_lane_says_why() {
    let r = rig(AgentConfig::default(), |_| {});
    let conv = &r.core.conversations;
    let (_, mut rx) = submit(
        conv,
        &chat(),
        Lane::named("nosuch"),
        "x",
        TimeoutKind::Interactive,
    )
    .await;
    let fin = finished(&mut rx).await;
    assert!(fin.refused && fin.text().contains("no session `nosuch`"));
    assert!(r.launcher.launched().is_empty());
}

#[tokio::test(start_paused = true)]
async fn idle_actors_leave_the_map_and_come_back_on_demand() {
    let r = rig(AgentConfig::default(), |_| {});
    let conv = &r.core.conversations;
    let (_, mut rx) = submit(conv, &chat(), Lane::Main, "one", TimeoutKind::Interactive).await;
    assert!(finished(&mut rx).await.ok());
    assert_eq!(conv.actor_count(), 1);
    tokio::time::sleep(actor::IDLE_RETIRE / 2).await;
    assert_eq!(conv.actor_count(), 1, "not idle long enough");
    tokio::time::sleep(actor::IDLE_RETIRE).await;
    assert_eq!(conv.actor_count(), 0, "retired");
    let (_, mut rx) = submit(conv, &chat(), Lane::Main, "two", TimeoutKind::Interactive).await;
    assert!(finished(&mut rx).await.ok());
    assert_eq!(conv.actor_count(), 1);
}

#[tokio::test]
async fn a_turn_stopped_while_it_waits_never_starts_its_cli() {
    let r = rig(AgentConfig::default(), |_| {});
    let conv = &r.core.conversations;
    let gate = hold_all(&r);
    let (_, mut first) = submit(conv, &chat(), Lane::Main, "one", TimeoutKind::Interactive).await;
    assert!(matches!(next(&mut first).await, TurnUpdate::Started { .. }));
    let stop = CancellationToken::new();
    let (tx, mut waiting) = mpsc::channel(64);
    let req = TurnRequest {
        cancel: Some(stop.clone()),
        ..TurnRequest::new(Lane::Main, "two".into(), tx)
    };
    conv.submit(&chat(), req).await;
    assert!(matches!(
        next(&mut waiting).await,
        TurnUpdate::Queued { .. }
    ));
    stop.cancel();
    gate.notify_waiters();
    assert!(finished(&mut first).await.ok());
    let fin = finished(&mut waiting).await;
    assert!(fin.cancelled && !fin.ok());
    assert_eq!(
        r.launcher.launched().len(),
        1,
        "the stopped turn never launched"
    );
}

#[tokio::test]
async fn interrupted_named_runs_resume_within_the_background_limit() {
    let sessions: Vec<serde_json::Value> = (0..8)
        .map(|i| {
            serde_json::json!({
                "name": format!("s{i}"), "chat_id": USER, "provider": "claude",
                "model": "opus", "status": "running", "last_prompt": format!("go {i}"),
                "topic_id": if i % 2 == 0 { serde_json::Value::Null } else { serde_json::json!(i) },
            })
        })
        .collect();
    let r = rig(AgentConfig::default(), move |paths| {
        std::fs::write(
            paths.named_sessions_file(),
            serde_json::json!({ "sessions": sessions }).to_string(),
        )
        .unwrap();
    });
    let _gate = hold_all(&r);
    r.core.named.resume_interrupted().await;
    let background = r
        .core
        .conversations
        .board()
        .count(|e| e.address.same_chat(&chat()) && !e.foreground);
    assert_eq!(background, crate::named::MAX_BACKGROUND_PER_CHAT);
    let target = store::default_target(&r.core.config.get());
    let refused = r
        .core
        .named
        .start(&chat(), &target, "one more", None)
        .await
        .unwrap_err();
    assert_eq!(
        refused,
        crate::named::NamedError::TooManyBackground(crate::named::MAX_BACKGROUND_PER_CHAT)
    );
    // Inter-agent requests do not take the user's slots.
    r.core.conversations.stop_all().await;
    running(&r.core.conversations, 0).await;
    r.core
        .named
        .registry()
        .ensure_interagent(&chat(), "ia.sub1.t0.x1", &target, "q");
    let named = r.core.named.clone();
    tokio::spawn(async move {
        named
            .run(
                &chat(),
                "ia.sub1.t0.x1",
                "q".into(),
                TimeoutKind::InterAgent,
            )
            .await
    });
    running(&r.core.conversations, 1).await;
    for i in 0..crate::named::MAX_BACKGROUND_PER_CHAT {
        r.core
            .named
            .start(&chat(), &target, &format!("job {i}"), None)
            .await
            .expect("a user slot");
    }
}

#[tokio::test]
async fn the_agent_runs_at_most_max_concurrent_runs_clis_at_once() {
    let config = AgentConfig {
        max_concurrent_runs: 2,
        ..AgentConfig::default()
    };
    let r = rig(config, |_| {});
    let conv = &r.core.conversations;
    let gate = hold_all(&r);
    let mut rxs = Vec::new();
    // Four conversations (one of them background work) want to run.
    for i in 0..4 {
        let at = Address::new("tg", 100 + i, None);
        let kind = if i == 3 {
            TimeoutKind::Background
        } else {
            TimeoutKind::Interactive
        };
        rxs.push(
            submit(conv, &at, Lane::Main, &format!("p{i}"), kind)
                .await
                .1,
        );
    }
    for _ in 0..500 {
        if r.core.slots.waiting() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert_eq!(r.core.slots.waiting(), 2, "two runs wait");
    assert_eq!(r.launcher.launched().len(), 2, "two slots, two CLIs");
    assert_eq!(r.core.slots.running(), 2);
    // Each release lets the next one in, until all four ran.
    for _ in 0..4 {
        gate.notify_waiters();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for rx in &mut rxs {
        assert!(finished(rx).await.ok());
    }
    assert_eq!(r.launcher.launched().len(), 4);
    assert_eq!(r.core.slots.running(), 0);
}
