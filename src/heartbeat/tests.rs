use super::*;
use crate::address::Directory;
use crate::config::AgentConfig;
use crate::core::testing::{Rig, USER, rig_at};
use crate::exec::fake::Script;
use crate::provider::event::{FailureKind, Outcome};
use std::sync::atomic::AtomicI64;

/// A directory serving every Telegram chat (private and groups).
#[derive(Debug)]
struct AllOfTelegram;

impl Directory for AllOfTelegram {
    fn primary(&self) -> Option<Address> {
        Some(Address::new("tg", USER, None))
    }
    fn serves(&self, a: &Address) -> bool {
        a.transport == "tg"
    }
    fn transports(&self) -> Vec<String> {
        vec!["tg".into()]
    }
}

/// A wall clock at noon UTC following tokio's paused clock, plus a jump the test
/// can add (a suspend).
fn clock() -> (crate::cron::Clock, Arc<AtomicI64>) {
    let jump = Arc::new(AtomicI64::new(0));
    let j = jump.clone();
    let base = crate::core::testing::tokio_clock(
        chrono::DateTime::parse_from_rfc3339("2026-06-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc),
    );
    let clock: crate::cron::Clock =
        Arc::new(move || base() + chrono::Duration::seconds(j.load(Ordering::Relaxed)));
    (clock, jump)
}

fn config(enabled: bool) -> AgentConfig {
    AgentConfig {
        allowed_user_ids: vec![USER],
        user_timezone: "UTC".into(),
        heartbeat: serde_json::json!({"enabled": enabled, "interval_minutes": 30,
            "cooldown_minutes": 5, "quiet_start": 21, "quiet_end": 8}),
        ..AgentConfig::default()
    }
}

fn user() -> Address {
    Address::new("tg", USER, None)
}

fn start(config: AgentConfig) -> (Rig, Arc<AtomicI64>) {
    let (clock, jump) = clock();
    (rig_at(config, |_| {}, Arc::new(AllOfTelegram), clock), jump)
}

/// A user's turn, so the chat has a session.
async fn talk(rig: &Rig, at: &Address) {
    assert!(matches!(
        crate::core::testing::user_turn(&rig.core, at, "hello").await,
        Ran::Finished(f) if f.ok()
    ));
}

fn count(rig: &Rig, at: &Address) -> (u64, String) {
    let r = rig.core.conversations.engine().sessions.get(at).unwrap();
    let b = &r.provider_sessions[&r.provider];
    (b.message_count, r.last_active)
}

fn drain(rig: &mut Rig) -> Vec<Outgoing> {
    let mut out = Vec::new();
    while let Ok(d) = rig.outbox.try_recv() {
        out.push(d.item);
    }
    out
}

fn answer(rig: &Rig, text: &'static str) {
    rig.launcher.respond(move |_| Script::reply("s-1", text));
}

fn fail(rig: &Rig) {
    rig.launcher.respond(|_| Script {
        events: Vec::new(),
        hold: None,
        outcome: Outcome::Failed {
            kind: FailureKind::AuthExpired,
            detail: "Invalid API key · please run /login".into(),
            session_id: None,
        },
    });
}

const PROMPT: &str = "Anything to say? Else HEARTBEAT_OK";

#[tokio::test(start_paused = true)]
async fn skips_acks_and_posts() {
    let (mut rig, _) = start(config(true));
    let hb = Heartbeat::new(rig.core.clone());
    let at = user();
    let beat = |hb: &Heartbeat| {
        let (hb, at) = (hb.clone(), at.clone());
        async move { hb.beat(&at, PROMPT, "HEARTBEAT_OK", false).await }
    };
    assert_eq!(beat(&hb).await, Beat::Skipped("no session"));
    answer(&rig, "hi there");
    talk(&rig, &at).await;
    assert_eq!(beat(&hb).await, Beat::Skipped("active within the cooldown"));
    tokio::time::advance(Duration::from_mins(6)).await;
    let before = count(&rig, &at);
    answer(&rig, "HEARTBEAT_OK.");
    assert_eq!(beat(&hb).await, Beat::Acked);
    let launched = rig.launcher.launched();
    let last = launched.last().unwrap();
    assert_eq!(last.spec.prompt, PROMPT, "no memory notes on a heartbeat");
    assert_eq!(last.spec.resume.as_deref(), Some("s-1"), "the real session");
    assert_eq!(
        count(&rig, &at),
        before,
        "an ack leaves the session as it was"
    );
    assert!(drain(&mut rig).is_empty());
    answer(&rig, "HEARTBEAT_OK Your backup job failed twice today.");
    assert_eq!(beat(&hb).await, Beat::Posted);
    assert_eq!(count(&rig, &at).0, before.0 + 1);
    match drain(&mut rig).as_slice() {
        [Outgoing::Report { to, text, .. }] => {
            assert_eq!(to, &Destination::Chat(at.clone()));
            assert_eq!(text, "Your backup job failed twice today.");
        }
        other => panic!("{other:?}"),
    }
    let expired = AgentConfig {
        idle_timeout_minutes: 10,
        ..config(true)
    };
    rig.core.config.set(expired);
    tokio::time::advance(Duration::from_mins(11)).await;
    assert_eq!(beat(&hb).await, Beat::Skipped("the session expired"));
    let mut c = config(true);
    c.provider = "codex".into();
    rig.core.config.set(c);
    tokio::time::advance(Duration::from_mins(6)).await;
    assert_eq!(
        beat(&hb).await,
        Beat::Skipped("the session runs on another provider")
    );
}

#[tokio::test(start_paused = true)]
async fn a_busy_chat_is_left_alone() {
    let (rig, _) = start(config(true));
    let at = user();
    answer(&rig, "hi");
    talk(&rig, &at).await;
    tokio::time::advance(Duration::from_mins(6)).await;
    let gate = Arc::new(tokio::sync::Notify::new());
    let g = gate.clone();
    rig.launcher
        .respond(move |_| Script::reply("s-1", "slow").held(&g));
    let job = Job {
        lane: Lane::named("side"),
        prompt: "long".into(),
        timeout: TimeoutKind::Background,
        cancel: None,
        purpose: Purpose::Turn,
    };
    let running = rig.core.conversations.start_run(&at, job, |_| {}).await;
    let hb = Heartbeat::new(rig.core.clone());
    assert_eq!(
        hb.beat(&at, PROMPT, "HEARTBEAT_OK", false).await,
        Beat::Skipped("busy")
    );
    gate.notify_waiters();
    let _ = running.await;
}

#[tokio::test(start_paused = true)]
async fn failures_are_told_at_most_once_an_hour() {
    let (mut rig, _) = start(config(true));
    let at = user();
    answer(&rig, "hi");
    talk(&rig, &at).await;
    let hb = Heartbeat::new(rig.core.clone());
    fail(&rig);
    for _ in 0..3 {
        tokio::time::advance(Duration::from_mins(10)).await;
        assert_eq!(
            hb.beat(&at, PROMPT, "HEARTBEAT_OK", false).await,
            Beat::Failed
        );
    }
    let told = drain(&mut rig);
    assert_eq!(told.len(), 1, "{told:?}");
    let Outgoing::Notice { text, .. } = &told[0] else {
        panic!("{told:?}")
    };
    assert!(
        text.contains("Heartbeat failed") && text.contains("/login"),
        "{text}"
    );
    tokio::time::advance(Duration::from_mins(40)).await;
    assert_eq!(
        hb.beat(&at, PROMPT, "HEARTBEAT_OK", false).await,
        Beat::Failed
    );
    assert_eq!(drain(&mut rig).len(), 1, "an hour later it is told again");
}

#[tokio::test(start_paused = true)]
async fn the_loop_beats_on_its_interval_not_in_quiet_hours_nor_after_a_suspend() {
    let (rig, jump) = start(config(true));
    let at = user();
    answer(&rig, "hi");
    talk(&rig, &at).await;
    answer(&rig, "HEARTBEAT_OK");
    let stop = CancellationToken::new();
    let task = tokio::spawn(Heartbeat::new(rig.core.clone()).run(stop.clone()));
    let heartbeats = |rig: &Rig| {
        rig.launcher
            .launched()
            .iter()
            .filter(|l| l.spec.prompt.contains("HEARTBEAT_OK"))
            .count()
    };
    tokio::time::sleep(Duration::from_mins(29)).await;
    assert_eq!(heartbeats(&rig), 0);
    tokio::time::sleep(Duration::from_mins(2)).await;
    assert_eq!(heartbeats(&rig), 1, "one beat after 30 minutes");
    // The machine sleeps for three hours: the next beat is skipped, not tripled.
    jump.store(3 * 3600, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_mins(30)).await;
    assert_eq!(heartbeats(&rig), 1, "skipped after a suspend");
    tokio::time::sleep(Duration::from_mins(30)).await;
    assert_eq!(heartbeats(&rig), 2, "back on its cadence");
    // 12:00 + 1:31 + 3:00 jump = 16:31; jump on to 21:30: quiet hours.
    jump.store(8 * 3600, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_mins(30)).await;
    jump.store(8 * 3600, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_mins(30)).await;
    assert_eq!(heartbeats(&rig), 2, "nothing in quiet hours");
    stop.cancel();
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn disabled_means_no_beat_and_turning_it_on_applies_live() {
    let (rig, _) = start(config(false));
    let at = user();
    answer(&rig, "hi");
    talk(&rig, &at).await;
    let stop = CancellationToken::new();
    let task = tokio::spawn(Heartbeat::new(rig.core.clone()).run(stop.clone()));
    tokio::time::sleep(Duration::from_mins(61)).await;
    assert_eq!(rig.launcher.launched().len(), 1);
    rig.core.config.set(config(true));
    tokio::time::sleep(Duration::from_mins(31)).await;
    assert_eq!(rig.launcher.launched().len(), 2, "on without a restart");
    stop.cancel();
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_group_that_refuses_the_post_is_reported_to_the_primary_chat() {
    let mut c = config(true);
    c.allowed_group_ids = vec![-100];
    c.heartbeat["group_targets"] =
        serde_json::json!([{"chat_id": -100, "topic_id": 3, "ack_token": "ALL_GOOD"}]);
    let (mut rig, _) = start(c);
    let group = Address::new("tg", -100, Some(3));
    answer(&rig, "hi");
    talk(&rig, &group).await;
    tokio::time::advance(Duration::from_mins(6)).await;
    let hb = Heartbeat::new(rig.core.clone());
    let s = Settings::from_config(&rig.core.config.get());
    let g = &s.groups[0];
    answer(&rig, "ALL_GOOD");
    assert_eq!(
        hb.beat(&group, g.prompt(&s), g.ack(&s), true).await,
        Beat::Acked
    );
    answer(&rig, "The deploy is stuck.");
    assert_eq!(
        hb.beat(&group, g.prompt(&s), g.ack(&s), true).await,
        Beat::Posted
    );
    let Outgoing::Report { receipt, .. } = drain(&mut rig).remove(0) else {
        panic!()
    };
    hb.on_receipt(&Receipt {
        key: receipt,
        delivered: false,
    });
    match drain(&mut rig).as_slice() {
        [Outgoing::Notice { to, text }] => {
            assert_eq!(to, &Destination::Primary);
            assert!(text.contains("-100 / topic 3") && text.contains("The deploy is stuck."));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn the_reaper_stops_a_run_far_past_its_timeout_on_the_wall_clock() {
    let (rig, jump) = start(config(false));
    let at = user();
    let gate = Arc::new(tokio::sync::Notify::new());
    let g = gate.clone();
    rig.launcher
        .respond(move |_| Script::reply("s-1", "slow").held(&g));
    let job = Job {
        lane: Lane::Main,
        prompt: "work".into(),
        timeout: TimeoutKind::Automation,
        cancel: None,
        purpose: Purpose::Turn,
    };
    let running = rig.core.conversations.start_run(&at, job, |_| {}).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut seen = HashMap::new();
    assert_eq!(reaper::sweep(&rig.core, &mut seen).await, 0);
    // cli_timeout 1800 s: a run 59 minutes old is fine, one past an hour is not.
    jump.store(59 * 60, Ordering::Relaxed);
    assert_eq!(reaper::sweep(&rig.core, &mut seen).await, 0);
    jump.store(61 * 60, Ordering::Relaxed);
    assert_eq!(reaper::sweep(&rig.core, &mut seen).await, 1);
    match running.await {
        Ran::Finished(f) => assert!(f.cancelled),
        other => panic!("{other:?}"),
    }
}
