//! The update observer of the main agent (§8.7): the first check about a minute
//! after the start, then at most once a day; a new release is announced once, to
//! `notifications.upgrade_targets`, with the Upgrade button. When it last checked
//! and what it last announced are kept in `update_check.json`, so a restart
//! neither checks early nor announces again. Off with `update_check: false`, and
//! for a build from a source checkout.

use super::index::IndexError;
use super::install::InstallMode;
use super::{Upgrader, Version};
use crate::core::Core;
use crate::session::outbox::{OfferButton, Outgoing};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The first check after the start.
pub const FIRST_DELAY: Duration = Duration::from_mins(1);
/// Between two checks.
pub const INTERVAL: Duration = Duration::from_hours(24);
/// After a check that failed.
pub const RETRY: Duration = Duration::from_hours(1);

/// `update_check.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckState {
    /// When the last check answered (ISO 8601 UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_check: Option<DateTime<Utc>>,
    /// The last version announced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notified: Option<String>,
}

/// One version check (the index, or a fake in tests).
pub type Check = Arc<
    dyn Fn() -> Pin<Box<dyn Future<Output = Result<Option<Version>, IndexError>> + Send>>
        + Send
        + Sync,
>;

/// The clock (wall time; tests derive it from the paused tokio clock).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Starts the observer of the main agent when `update_check` is on and ductor was
/// not built from a source checkout.
pub fn spawn(core: Arc<Core>, stop: CancellationToken) {
    if !core.paths.is_main() {
        return;
    }
    let config = core.config.get();
    if !config.update_check {
        tracing::info!("update check off (update_check: false)");
        return;
    }
    let url = config.update_index_url.clone();
    let up = match Upgrader::for_this_process(&core.paths.home(), &url, true) {
        Ok(u) => u,
        Err(e) => {
            tracing::warn!(error = %e, "update check off: cannot find the ductor executable");
            return;
        }
    };
    tokio::spawn(async move {
        if let InstallMode::Source { checkout } = up.mode().await {
            tracing::info!(checkout = %checkout.display(), "update check off: running from a source checkout");
            return;
        }
        let check: Check = Arc::new(move || {
            let up = up.clone();
            Box::pin(async move { up.check().await })
        });
        run(core, check, Arc::new(Utc::now), stop).await;
    });
}

/// How long to wait before the next check.
pub fn next_wait(state: &CheckState, now: DateTime<Utc>, first: bool) -> Duration {
    let due = state.last_check.map_or(Duration::ZERO, |last| {
        let since = (now - last).to_std().unwrap_or(Duration::ZERO);
        // A clock that went back counts as "just checked", never as "wait years".
        INTERVAL.saturating_sub(since)
    });
    if first { due.max(FIRST_DELAY) } else { due }
}

/// Checks on schedule until `stop`.
pub async fn run(core: Arc<Core>, check: Check, clock: Clock, stop: CancellationToken) {
    let file = core.paths.home().update_check_file();
    let mut first = true;
    let mut retry: Option<Duration> = None;
    loop {
        let (mut state, _) = crate::store::load_state::<CheckState>(&file);
        let wait = retry
            .take()
            .unwrap_or_else(|| next_wait(&state, clock(), first));
        first = false;
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = stop.cancelled() => return,
        }
        if !core.config.get().update_check {
            retry = Some(RETRY);
            continue;
        }
        match check().await {
            Err(e) => {
                tracing::warn!(error = %e, "update check failed; trying again in an hour");
                retry = Some(RETRY);
            }
            Ok(found) => {
                state.last_check = Some(clock());
                match found {
                    Some(v) if state.notified.as_deref() != Some(&v.to_string()) => {
                        tracing::info!(version = %v, "a new ductor version is available");
                        announce(&core, &v);
                        state.notified = Some(v.to_string());
                    }
                    Some(v) => tracing::debug!(version = %v, "update check: already announced"),
                    None => tracing::debug!("update check: up to date"),
                }
                if let Err(e) = crate::store::write_json(&file, &state) {
                    tracing::error!(error = %e, "cannot record the update check");
                }
            }
        }
    }
}

/// Queues the offer of `latest` for every upgrade target; returns how many.
pub fn announce(core: &Core, latest: &Version) -> usize {
    let reply = crate::ops::upgrade::offer(core.text(), latest);
    let buttons: Vec<Vec<OfferButton>> = reply
        .buttons
        .iter()
        .map(|row| {
            row.iter()
                .map(|b| OfferButton::new(&b.label, &b.action))
                .collect()
        })
        .collect();
    let config = core.config.get();
    let mut queued = 0;
    for to in crate::ops::startup::targets(&config.notifications, "upgrade_targets") {
        let item = Outgoing::Offer {
            to,
            text: reply.markdown.clone(),
            buttons: buttons.clone(),
        };
        if core.outbox.send(item).is_ok() {
            queued += 1;
        }
    }
    queued
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Destination;
    use crate::config::AgentConfig;
    use crate::core::testing::{Rig, rig, tokio_clock};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fake index: what it answers and how often it was asked.
    #[derive(Clone, Default)]
    struct FakeIndex {
        latest: Arc<Mutex<Option<Result<Version, ()>>>>,
        asked: Arc<AtomicUsize>,
    }

    impl FakeIndex {
        fn answer(&self, v: Option<&str>) {
            *self.latest.lock().unwrap() = v.map(|v| Ok(Version::parse(v).unwrap()));
        }
        fn fail(&self) {
            *self.latest.lock().unwrap() = Some(Err(()));
        }
        fn asked(&self) -> usize {
            self.asked.load(Ordering::SeqCst)
        }
        fn check(&self) -> Check {
            let me = self.clone();
            Arc::new(move || {
                me.asked.fetch_add(1, Ordering::SeqCst);
                let answer = me.latest.lock().unwrap().clone();
                Box::pin(async move {
                    match answer {
                        None => Ok(None),
                        Some(Ok(v)) => Ok(Some(v)),
                        Some(Err(())) => Err(IndexError::Garbage {
                            url: "fake".into(),
                            reason: "not an index".into(),
                        }),
                    }
                })
            })
        }
    }

    fn start(r: &Rig, index: &FakeIndex, at: DateTime<Utc>) -> CancellationToken {
        let stop = CancellationToken::new();
        tokio::spawn(run(
            r.core.clone(),
            index.check(),
            tokio_clock(at),
            stop.clone(),
        ));
        stop
    }

    async fn pass(d: Duration) {
        tokio::time::sleep(d).await;
        // Let the observer finish what the wake-up started.
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    /// The offers queued so far: (destination, text, compact actions).
    fn offers(r: &mut Rig) -> Vec<(Destination, String, Vec<String>)> {
        let mut out = Vec::new();
        while let Ok(d) = r.outbox.try_recv() {
            let Outgoing::Offer { to, text, buttons } = d.item.clone() else {
                panic!("{:?}", d.item)
            };
            let actions = buttons.iter().flatten().map(|b| b.action.clone()).collect();
            out.push((to, text, actions));
            d.done();
        }
        out
    }

    #[tokio::test(start_paused = true)]
    async fn a_minute_after_start_then_daily_and_each_version_once() {
        let mut r = rig(AgentConfig::default(), |_| {});
        let index = FakeIndex::default();
        index.answer(Some("9.1.0"));
        let t0 = Utc::now();
        let stop = start(&r, &index, t0);
        pass(Duration::from_secs(59)).await;
        assert_eq!(index.asked(), 0, "not in the first minute");
        pass(Duration::from_secs(2)).await;
        assert_eq!(index.asked(), 1);
        let got = offers(&mut r);
        assert_eq!(got.len(), 1, "{got:?}");
        let (to, text, actions) = &got[0];
        assert_eq!(*to, Destination::Primary);
        assert!(
            text.contains("9.1.0") && text.contains(crate::VERSION),
            "{text}"
        );
        assert_eq!(actions, &["upg:yes:9.1.0", "upg:no"]);

        // The next check a day later; the same version is not announced again.
        pass(Duration::from_hours(23)).await;
        assert_eq!(index.asked(), 1, "at most once a day");
        pass(Duration::from_hours(1)).await;
        assert_eq!(index.asked(), 2);
        assert!(offers(&mut r).is_empty());

        // A failed check is retried within the hour, without a notice.
        index.fail();
        pass(INTERVAL).await;
        assert_eq!(index.asked(), 3);
        index.answer(Some("9.2.0"));
        pass(RETRY).await;
        assert_eq!(index.asked(), 4);
        let got = offers(&mut r);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].2[0], "upg:yes:9.2.0");
        stop.cancel();

        // A restart an hour later neither checks early nor announces again.
        pass(Duration::from_hours(1)).await;
        let file = r.core.paths.home().update_check_file();
        let state: CheckState = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        assert_eq!(state.notified.as_deref(), Some("9.2.0"));
        let last = state.last_check.unwrap();
        let now = last + chrono::Duration::hours(1);
        let stop = start(&r, &index, now);
        pass(Duration::from_hours(22)).await;
        assert_eq!(index.asked(), 4, "the day since the last check is not over");
        pass(Duration::from_hours(1) + Duration::from_secs(1)).await;
        assert_eq!(index.asked(), 5);
        assert!(
            offers(&mut r).is_empty(),
            "9.2.0 was announced before the restart"
        );
        stop.cancel();
    }

    #[tokio::test(start_paused = true)]
    async fn update_check_off_asks_nobody() {
        let config = AgentConfig {
            update_check: false,
            ..AgentConfig::default()
        };
        let r = rig(config, |_| {});
        let index = FakeIndex::default();
        index.answer(Some("9.1.0"));
        // `spawn` does not even start the loop; the loop also looks before each check.
        spawn(r.core.clone(), CancellationToken::new());
        let stop = start(&r, &index, Utc::now());
        pass(Duration::from_hours(72)).await;
        assert_eq!(index.asked(), 0);
        assert!(!r.core.paths.home().update_check_file().exists());
        stop.cancel();
    }

    #[tokio::test(start_paused = true)]
    async fn a_broken_state_file_is_set_aside_and_targets_are_followed() {
        let config = AgentConfig {
            notifications: serde_json::json!({"upgrade_targets": [
                {"chat_id": -100, "topic_id": 3},
                {"chat_id": 5, "enabled": false}
            ]}),
            ..AgentConfig::default()
        };
        let mut r = rig(config, |p| {
            std::fs::write(p.home().update_check_file(), "{not json").unwrap();
        });
        let index = FakeIndex::default();
        index.answer(Some("9.1.0"));
        let stop = start(&r, &index, Utc::now());
        pass(FIRST_DELAY + Duration::from_secs(1)).await;
        assert_eq!(index.asked(), 1);
        let got = offers(&mut r);
        assert_eq!(
            got.iter().map(|o| o.0.clone()).collect::<Vec<_>>(),
            vec![Destination::Chat(crate::address::Address::new(
                crate::address::TELEGRAM,
                -100,
                Some(3)
            ))]
        );
        let kept = std::fs::read_dir(r.dir.path()).unwrap().flatten().any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("update_check.json.corrupt-")
        });
        assert!(kept, "the broken file is moved aside");
        stop.cancel();
    }

    #[tokio::test]
    async fn the_offer_reaches_a_chat_with_buttons_that_work() {
        use crate::ops::Action;
        use crate::transport::memory::{Memory, MemoryDirectory};
        let mut r = crate::core::testing::rig_with(
            AgentConfig::default(),
            |_| {},
            Arc::new(MemoryDirectory(7)),
        );
        let (_, empty) = crate::session::outbox::outbox();
        let outbox = std::mem::replace(&mut r.outbox, empty);
        let mem = Memory::start(&r.core, outbox, 7);
        assert_eq!(announce(&r.core, &Version::parse("9.1.0").unwrap()), 1);
        let offer = mem
            .wait_for("with the offer", |m| m.text.contains("9.1.0 is available"))
            .await;
        assert_eq!(
            offer.buttons,
            vec![
                (
                    "Upgrade to 9.1.0".to_owned(),
                    Action::Upgrade("9.1.0".into())
                ),
                ("Not now".to_owned(), Action::UpgradeDismiss),
            ]
        );
        // This test runs from a source checkout: the button says so, installs nothing.
        mem.press("Upgrade to 9.1.0").await;
        mem.wait_for("saying it runs from source", |m| {
            m.text.contains("source checkout")
        })
        .await;
        assert!(!r.core.paths.home().upgrade_sentinel().exists());
    }

    #[test]
    fn the_offer_is_journaled_in_a_stable_shape() {
        let item = Outgoing::Offer {
            to: Destination::Primary,
            text: "new".into(),
            buttons: vec![vec![OfferButton::new(
                "Upgrade",
                &crate::ops::Action::Upgrade("9.1.0".into()),
            )]],
        };
        let json = serde_json::to_value(&item).unwrap();
        assert_eq!(json["kind"], "offer");
        assert_eq!(
            json["buttons"],
            serde_json::json!([[{"label": "Upgrade", "action": "upg:yes:9.1.0"}]])
        );
        assert_eq!(serde_json::from_value::<Outgoing>(json).unwrap(), item);
    }

    #[test]
    fn the_originals_upgrade_sentinel_loads() {
        let s: crate::state::sentinel::UpgradeSentinel = serde_json::from_str(
            r#"{"chat_id": 5, "old_version": "0.19.0", "new_version": "0.20.1"}"#,
        )
        .unwrap();
        assert_eq!(
            (s.transport.as_str(), s.chat_id, s.topic_id),
            (crate::address::TELEGRAM, 5, None)
        );
        assert_eq!(
            (s.old_version.as_str(), s.new_version.as_str()),
            ("0.19.0", "0.20.1")
        );
    }

    #[test]
    fn the_wait_follows_the_last_check() {
        let now = Utc::now();
        let never = CheckState::default();
        assert_eq!(next_wait(&never, now, true), FIRST_DELAY);
        assert_eq!(next_wait(&never, now, false), Duration::ZERO);
        let recent = CheckState {
            last_check: Some(now - chrono::Duration::hours(20)),
            notified: None,
        };
        assert_eq!(next_wait(&recent, now, true), Duration::from_hours(4));
        let future = CheckState {
            last_check: Some(now + chrono::Duration::days(400)),
            notified: None,
        };
        assert_eq!(
            next_wait(&future, now, false),
            INTERVAL,
            "a clock that went back"
        );
    }
}
