use super::*;
use crate::config::AgentConfig;
use crate::core::testing::{Rig, USER, rig, user_turn};
use crate::exec::fake::Script;
use crate::provider::event::Event;
use std::fmt::Write as _;
use std::time::Duration;

fn user() -> Address {
    Address::new("tg", USER, None)
}

/// A user's turn whose CLI compacts its context.
async fn compacting_turn(rig: &Rig) {
    rig.launcher.respond(|_| {
        let mut s = Script::reply("s-1", "done");
        s.events.insert(1, Event::Compacting);
        s.events.insert(2, Event::Compacted);
        s
    });
    assert!(matches!(
        user_turn(&rig.core, &user(), "long talk").await,
        Ran::Finished(f) if f.ok()
    ));
    rig.launcher.respond(|_| Script::reply("s-1", "FLUSH_NOOP"));
}

fn flushes(rig: &Rig) -> usize {
    rig.launcher
        .launched()
        .iter()
        .filter(|l| l.spec.prompt.contains("FLUSH_NOOP"))
        .count()
}

#[tokio::test(start_paused = true)]
async fn a_compaction_brings_one_silent_flush_in_the_same_session() {
    let rig = rig(AgentConfig::default(), |_| {});
    let stop = CancellationToken::new();
    let task = spawn(rig.core.clone(), stop.clone());
    compacting_turn(&rig).await;
    let count = |rig: &Rig| {
        let r = rig
            .core
            .conversations
            .engine()
            .sessions
            .get(&user())
            .unwrap();
        r.provider_sessions[&r.provider].message_count
    };
    for _ in 0..50 {
        if flushes(&rig) == 1 && rig.core.conversations.board().count(|_| true) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(flushes(&rig), 1);
    let flush = rig.launcher.launched().pop().unwrap();
    assert_eq!(
        flush.spec.resume.as_deref(),
        Some("s-1"),
        "the same session"
    );
    assert_eq!(
        count(&rig),
        1,
        "the flush is not a message of the conversation"
    );
    // A second compaction within the dedup window: no second flush.
    compacting_turn(&rig).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(flushes(&rig), 1);
    // After it: another flush.
    tokio::time::sleep(Duration::from_mins(5)).await;
    compacting_turn(&rig).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(flushes(&rig), 2);
    stop.cancel();
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_compaction_that_failed_brings_no_flush() {
    let rig = rig(AgentConfig::default(), |_| {});
    let stop = CancellationToken::new();
    let task = spawn(rig.core.clone(), stop.clone());
    // claude says `compacting`, then the compaction fails: no boundary.
    rig.launcher.respond(|_| {
        let mut s = Script::reply("s-1", "done");
        s.events.insert(1, Event::Compacting);
        s
    });
    let _ = user_turn(&rig.core, &user(), "talk").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(rig.launcher.launched().len(), 1);
    stop.cancel();
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_turn_without_compaction_brings_no_flush() {
    let rig = rig(AgentConfig::default(), |_| {});
    let stop = CancellationToken::new();
    let task = spawn(rig.core.clone(), stop.clone());
    let _ = user_turn(&rig.core, &user(), "short talk").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(rig.launcher.launched().len(), 1);
    stop.cancel();
    task.await.unwrap();
}

/// A memory file of `n` dated entries with the shared block in the middle.
fn memory(n: usize) -> String {
    let mut text = String::from("# Main Memory\n\n## Learned Facts\n");
    for i in 0..n {
        let _ = writeln!(text, "- 2026-05-{:02}: fact number {i}", i % 28 + 1);
    }
    let _ = write!(text, "\n{START}\n- the team uses Rust\n{END}\n");
    text
}

/// A core whose compaction run rewrites the memory file with `rewrite(old)`.
fn compacting(rewrite: fn(&str) -> String) -> Rig {
    let rig = rig(AgentConfig::default(), |p| {
        std::fs::write(p.main_memory(), memory(80)).unwrap();
    });
    let file = rig.paths().main_memory();
    rig.launcher.respond(move |launch| {
        assert!(launch.spec.prompt.contains("COMPACT_NOOP"));
        assert!(launch.spec.resume.is_none(), "a fresh session");
        let old = std::fs::read_to_string(&file).unwrap();
        std::fs::write(&file, rewrite(&old)).unwrap();
        Script::reply("c-1", "Compacted.")
    });
    rig
}

#[tokio::test]
async fn a_sound_rewrite_stays_and_the_old_file_is_kept() {
    let rig = compacting(|old| {
        let keep: Vec<&str> = old
            .lines()
            .filter(|l| !l.contains("fact number 1"))
            .collect();
        format!("{}\n", keep.join("\n"))
    });
    let upkeep = Upkeep::new(rig.core.clone());
    let done = upkeep.compact(&user()).await;
    assert!(
        matches!(done, Compaction::Done { before, after } if after < before),
        "{done:?}"
    );
    let bak = rig.paths().main_memory().with_extension("md.bak");
    assert_eq!(std::fs::read_to_string(bak).unwrap(), memory(80));
}

#[tokio::test]
async fn a_rewrite_that_drops_shared_knowledge_or_nearly_everything_is_undone() {
    for rewrite in [
        (|old: &str| old[..old.find(START).unwrap()].to_owned()) as fn(&str) -> String,
        |_| format!("# Main Memory\n{START}\n- the team uses Rust\n{END}\n"),
    ] {
        let rig = compacting(rewrite);
        let upkeep = Upkeep::new(rig.core.clone());
        let done = upkeep.compact(&user()).await;
        assert!(matches!(done, Compaction::Rejected(_)), "{done:?}");
        assert_eq!(
            std::fs::read_to_string(rig.paths().main_memory()).unwrap(),
            memory(80),
            "the previous file is back"
        );
    }
}

#[tokio::test]
async fn a_small_file_or_a_disabled_compaction_is_left_alone() {
    let rig = rig(AgentConfig::default(), |p| {
        std::fs::write(p.main_memory(), memory(10)).unwrap();
    });
    let upkeep = Upkeep::new(rig.core.clone());
    assert_eq!(upkeep.compact(&user()).await, Compaction::NotNeeded);
    let off = AgentConfig {
        memory_compaction: serde_json::json!({"enabled": false}),
        ..AgentConfig::default()
    };
    let rig = crate::core::testing::rig(off, |p| {
        std::fs::write(p.main_memory(), memory(100)).unwrap();
    });
    let upkeep = Upkeep::new(rig.core.clone());
    assert_eq!(upkeep.compact(&user()).await, Compaction::NotNeeded);
    assert!(rig.launcher.launched().is_empty());
}
