//! The status reactions of a turn: which emoji the user's message gets, in which
//! order, and what stays at the end.

use super::{ReactionMode, Reactions, outcome_emoji, tool_emoji};
use crate::access::Opened;
use crate::address::{Address, MessageRef};
use crate::chat::api::{ApiError, BoxFut, ChatApi, OutMessage};
use crate::config::model::SceneConfig;
use crate::provider::ProviderKind;
use crate::provider::event::{FailureKind, Outcome, Usage};
use crate::session::TurnFinish;
use crate::session::store::Target;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// The emoji this module reacts with, all in Telegram's fixed set (which refuses
/// `✅` and `❌`), spelled as Telegram lists them (no variation selector).
const TELEGRAM_ACCEPTS: [&str; 7] = ["👀", "✍", "👍", "👎", "😱", "🤔", "👨\u{200d}💻"];

/// A chat that records the bot's reactions.
struct Recorder {
    replace: bool,
    log: Mutex<Vec<Option<String>>>,
}

impl Recorder {
    fn new(replace: bool) -> Self {
        Self {
            replace,
            log: Mutex::new(Vec::new()),
        }
    }

    fn log(&self) -> Vec<Option<String>> {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl ChatApi for Recorder {
    fn send<'a>(
        &'a self,
        _to: &'a Address,
        _msg: OutMessage,
    ) -> BoxFut<'a, Result<MessageRef, ApiError>> {
        Box::pin(async { Err(ApiError::BadRequest("reactions only".into())) })
    }

    fn edit<'a>(
        &'a self,
        _to: &'a Address,
        _id: &'a MessageRef,
        _msg: OutMessage,
    ) -> BoxFut<'a, Result<(), ApiError>> {
        Box::pin(async { Err(ApiError::BadRequest("reactions only".into())) })
    }

    fn delete<'a>(
        &'a self,
        _to: &'a Address,
        _id: &'a MessageRef,
    ) -> BoxFut<'a, Result<(), ApiError>> {
        Box::pin(async { Err(ApiError::BadRequest("reactions only".into())) })
    }

    fn send_file<'a>(
        &'a self,
        _to: &'a Address,
        _file: Opened,
        _reply_to: Option<MessageRef>,
    ) -> BoxFut<'a, Result<MessageRef, ApiError>> {
        Box::pin(async { Err(ApiError::BadRequest("reactions only".into())) })
    }

    fn react<'a>(
        &'a self,
        _to: &'a Address,
        id: &'a MessageRef,
        emoji: Option<&'a str>,
    ) -> BoxFut<'a, ()> {
        assert_eq!(id.as_str(), "7", "the reaction goes on the user's message");
        if let Some(e) = emoji {
            assert!(TELEGRAM_ACCEPTS.contains(&e), "Telegram refuses {e}");
        }
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(emoji.map(str::to_owned));
        Box::pin(async {})
    }

    fn reactions_replace(&self) -> bool {
        self.replace
    }
}

fn scene(status_reactions: bool, status_reaction: bool) -> SceneConfig {
    SceneConfig {
        status_reaction,
        status_reactions,
        ..SceneConfig::default()
    }
}

fn finish(outcome: Outcome, cancelled: bool) -> TurnFinish {
    TurnFinish {
        outcome,
        target: Target {
            provider: ProviderKind::Claude,
            model: "sonnet".into(),
            effort: None,
        },
        cancelled,
        recovered: false,
        refused: false,
        elapsed: Duration::from_secs(1),
    }
}

fn completed() -> Outcome {
    Outcome::Completed {
        text: "done".into(),
        session_id: None,
        usage: Usage::default(),
        permission_denials: Vec::new(),
    }
}

fn failed(kind: FailureKind) -> Outcome {
    Outcome::Failed {
        kind,
        detail: "boom".into(),
        session_id: None,
    }
}

/// Runs a turn through the reactions: received, started, a shell tool, then `fin`.
async fn run_turn(scene: &SceneConfig, replace: bool, fin: &TurnFinish) -> Vec<Option<String>> {
    let api = Recorder::new(replace);
    let to = Address::new("tg", 1, None);
    let mut r = Reactions::new(scene, &api, Some(MessageRef::from(7)));
    r.received(&api, &to).await;
    r.started(&api, &to).await;
    r.tool(&api, &to, "Bash").await;
    r.finished(&api, &to, fin).await;
    api.log()
}

fn some(emoji: &[&str]) -> Vec<Option<String>> {
    emoji.iter().map(|e| Some((*e).to_owned())).collect()
}

#[test]
fn the_outcome_picks_the_final_reaction() {
    assert_eq!(outcome_emoji(&finish(completed(), false)), Some("👍"));
    assert_eq!(
        outcome_emoji(&finish(failed(FailureKind::Timeout), false)),
        Some("😱")
    );
    for kind in [
        FailureKind::Crashed,
        FailureKind::AuthExpired,
        FailureKind::RateLimited,
        FailureKind::Other,
    ] {
        assert_eq!(outcome_emoji(&finish(failed(kind), false)), Some("👎"));
    }
    // Stopped: whatever the CLI said last, nothing stays.
    assert_eq!(
        outcome_emoji(&finish(failed(FailureKind::Cancelled), false)),
        None
    );
    assert_eq!(outcome_emoji(&finish(completed(), true)), None);
    assert_eq!(
        outcome_emoji(&finish(failed(FailureKind::Timeout), true)),
        None
    );
}

#[test]
fn the_mode_follows_the_scene_and_the_transport() {
    assert_eq!(
        ReactionMode::of(&SceneConfig::default(), true),
        ReactionMode::Status
    );
    assert_eq!(
        ReactionMode::of(&scene(true, false), false),
        ReactionMode::Outcome
    );
    assert_eq!(
        ReactionMode::of(&scene(false, true), true),
        ReactionMode::Stages
    );
    assert_eq!(
        ReactionMode::of(&scene(false, true), false),
        ReactionMode::Stages
    );
    assert_eq!(
        ReactionMode::of(&scene(false, false), true),
        ReactionMode::Off
    );
}

#[tokio::test]
async fn status_reactions_go_eyes_writing_outcome() {
    let on = SceneConfig::default();
    assert_eq!(
        run_turn(&on, true, &finish(completed(), false)).await,
        some(&["👀", "✍", "👍"])
    );
    assert_eq!(
        run_turn(&on, true, &finish(failed(FailureKind::Crashed), false)).await,
        some(&["👀", "✍", "👎"])
    );
    assert_eq!(
        run_turn(&on, true, &finish(failed(FailureKind::Timeout), false)).await,
        some(&["👀", "✍", "😱"])
    );
    let mut stopped = some(&["👀", "✍"]);
    stopped.push(None);
    assert_eq!(
        run_turn(&on, true, &finish(completed(), true)).await,
        stopped
    );
}

#[tokio::test]
async fn where_reactions_add_up_only_the_outcome_is_sent() {
    let on = SceneConfig::default();
    assert_eq!(
        run_turn(&on, false, &finish(completed(), false)).await,
        some(&["👍"])
    );
    assert!(
        run_turn(&on, false, &finish(completed(), true))
            .await
            .is_empty(),
        "a stopped turn leaves nothing to remove"
    );
}

#[tokio::test]
async fn the_originals_stage_reactions_are_kept_when_status_reactions_are_off() {
    let mut stages = some(&["🤔", "👨\u{200d}💻"]);
    stages.push(None);
    assert_eq!(
        run_turn(&scene(false, true), true, &finish(completed(), false)).await,
        stages
    );
    assert!(
        run_turn(&scene(false, false), true, &finish(completed(), false))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_dropped_turn_loses_its_eyes() {
    let api = Recorder::new(true);
    let to = Address::new("tg", 1, None);
    let mut r = Reactions::new(&SceneConfig::default(), &api, Some(MessageRef::from(7)));
    r.received(&api, &to).await;
    r.dropped(&api, &to).await;
    assert_eq!(api.log(), vec![Some("👀".to_owned()), None]);
}

#[test]
fn tool_emoji_are_all_accepted_by_telegram() {
    for name in [
        "Read", "Grep", "Edit", "Write", "Bash", "shell", "WebFetch", "x",
    ] {
        assert!(TELEGRAM_ACCEPTS.contains(&tool_emoji(name)), "{name}");
    }
}

#[tokio::test]
async fn seen_reaction_is_one_eyes_that_stays_when_status_reactions_are_off() {
    let seen = SceneConfig {
        seen_reaction: true,
        ..scene(false, false)
    };
    assert_eq!(ReactionMode::of(&seen, true), ReactionMode::Seen);
    // Where reactions only add up (Matrix) a read receipt says it instead.
    assert_eq!(ReactionMode::of(&seen, false), ReactionMode::Off);
    // Status reactions of either kind win.
    for (new, old) in [(true, false), (false, true)] {
        let both = SceneConfig {
            seen_reaction: true,
            ..scene(new, old)
        };
        assert_ne!(ReactionMode::of(&both, true), ReactionMode::Seen);
    }
}

#[test]
fn an_old_session_gets_the_age_note_every_tenth_message() {
    use super::session_age;
    let h = chrono::TimeDelta::hours;
    assert_eq!(session_age(h(13), 12, 10), Some(("session.age_hours", 13)));
    assert_eq!(session_age(h(13), 12, 20), Some(("session.age_hours", 13)));
    assert_eq!(session_age(h(13), 12, 11), None);
    assert_eq!(session_age(h(13), 12, 0), None);
    assert_eq!(session_age(h(11), 12, 10), None);
    assert_eq!(session_age(h(47), 12, 10), Some(("session.age_hours", 47)));
    assert_eq!(
        session_age(h(24 * 5 + 3), 12, 30),
        Some(("session.age_days", 5))
    );
    // 0 turns the note off.
    assert_eq!(session_age(h(1000), 0, 10), None);
    // A session dated in the future (a clock change) is not old.
    assert_eq!(session_age(h(-30), 12, 10), None);
}
