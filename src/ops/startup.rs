//! The startup notice (§1.7, improved). Every start rewrites `startup_state.json`
//! (boot id, start time, version, still running) and an orderly shutdown marks it
//! clean, so the next start tells a first start, a reboot, an upgrade and a crash
//! (the file still says running: killed, crashed, or stopped without the shutdown
//! path) apart from a plain restart, which says nothing. One short notice goes to
//! `notifications.startup_targets` through the outbox: an empty list means the
//! primary chat, a list whose entries are all disabled means silence. After
//! `/restart` or an upgrade from a chat the sentinel's own message says it; no
//! startup notice then.
//!
//! Owns `startup_state.json` of its agent; reads `restart-sentinel.json` and
//! `upgrade-sentinel.json` but never consumes them (the transport does, §1.6).

use crate::address::{Address, Destination, TELEGRAM};
use crate::core::Core;
use crate::md;
use crate::paths::AgentPaths;
use crate::session::freshness;
use crate::session::outbox::Outgoing;
use crate::state::sentinel::StartupState;
use crate::store::{self, LoadReport};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use std::path::PathBuf;

/// The version of this binary.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The kernel's boot id (Linux); it changes with every boot.
const BOOT_ID_FILE: &str = "/proc/sys/kernel/random/boot_id";

/// How this start relates to the previous one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartKind {
    /// No earlier start is known (no file, or one that cannot be read).
    FirstStart,
    /// A different ductor version ran before.
    Upgrade {
        /// The version that ran before.
        from: String,
    },
    /// The machine rebooted since the last start.
    Reboot,
    /// The last run did not stop in order (crash, `kill -9`, out of memory).
    Crash,
    /// An orderly restart, or one whose end is unknown (the original's file): silent.
    Restart,
}

/// Classifies a start from the previous state (`None`: missing or unreadable).
/// An upgrade is told before a reboot, a reboot before a crash; an unknown boot id
/// or version (the original's file, non-Linux) never claims a reboot or an upgrade,
/// and an unknown end never claims a crash.
pub fn classify(previous: Option<&StartupState>, boot_id: &str, version: &str) -> StartKind {
    let Some(prev) = previous.filter(|p| !p.boot_id.is_empty() || p.version.is_some()) else {
        return StartKind::FirstStart;
    };
    if let Some(from) = prev
        .version
        .as_deref()
        .filter(|v| !v.is_empty() && *v != version)
    {
        return StartKind::Upgrade {
            from: from.to_owned(),
        };
    }
    if !prev.boot_id.is_empty() && !boot_id.is_empty() && prev.boot_id != boot_id {
        return StartKind::Reboot;
    }
    if prev.clean_exit == Some(false) {
        return StartKind::Crash;
    }
    StartKind::Restart
}

/// The kernel's boot id, empty when unknown.
pub fn boot_id() -> String {
    std::fs::read_to_string(BOOT_ID_FILE)
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// This run's record in `startup_state.json`.
#[derive(Debug)]
pub struct Startup {
    path: PathBuf,
    state: StartupState,
    /// How this start relates to the previous one.
    pub kind: StartKind,
}

impl Startup {
    /// Reads what the previous start left, classifies this start and records it as
    /// running (a file that is not JSON is moved aside first).
    pub fn begin(paths: &AgentPaths) -> Self {
        Self::begin_with(paths, &boot_id(), VERSION, Utc::now())
    }

    /// [`Startup::begin`] with the boot id, version and time given.
    pub fn begin_with(
        paths: &AgentPaths,
        boot_id: &str,
        version: &str,
        now: DateTime<Utc>,
    ) -> Self {
        let path = paths.startup_state_file();
        let (previous, report) = store::load_state::<StartupState>(&path);
        let previous = matches!(report, LoadReport::Loaded).then_some(previous);
        let kind = classify(previous.as_ref(), boot_id, version);
        let state = StartupState {
            boot_id: boot_id.to_owned(),
            started_at: freshness::format_time(now),
            version: Some(version.to_owned()),
            clean_exit: Some(false),
            stopped_at: None,
            extra: previous.map(|p| p.extra).unwrap_or_default(),
        };
        let startup = Self { path, state, kind };
        startup.save();
        tracing::info!(kind = ?startup.kind, "start recorded");
        startup
    }

    /// The run stops in order: the next start will not report a crash.
    pub fn finish(mut self) {
        self.state.clean_exit = Some(true);
        self.state.stopped_at = Some(freshness::format_time(Utc::now()));
        self.save();
    }

    fn save(&self) {
        if let Err(e) = store::write_json(&self.path, &self.state) {
            tracing::error!(error = %e, "cannot record the start; the next start may be misreported");
        }
    }
}

/// One entry of `notifications.startup_targets`.
#[derive(Debug, Deserialize)]
struct Target {
    #[serde(default = "enabled")]
    enabled: bool,
    #[serde(default)]
    chat_id: Option<i64>,
    #[serde(default)]
    topic_id: Option<i64>,
    #[serde(default)]
    transport: Option<String>,
}

fn enabled() -> bool {
    true
}

/// Where notices of `list` (`startup_targets`, `upgrade_targets`) go: a missing or
/// empty list → the primary chat; otherwise each enabled entry (without `chat_id`:
/// the primary chat), without repeats. Malformed entries are skipped with a warning,
/// so a list of only disabled or broken entries means silence.
pub fn targets(notifications: &Value, list: &str) -> Vec<Destination> {
    let entries = match &notifications[list] {
        Value::Array(a) if !a.is_empty() => a,
        Value::Array(_) | Value::Null => return vec![Destination::Primary],
        other => {
            tracing::warn!(list, value = %other, "notifications: not a list; using the primary chat");
            return vec![Destination::Primary];
        }
    };
    let mut out: Vec<Destination> = Vec::new();
    for entry in entries {
        let target = match serde_json::from_value::<Target>(entry.clone()) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(list, entry = %entry, error = %e, "notifications: entry skipped");
                continue;
            }
        };
        if !target.enabled {
            continue;
        }
        let transport = match target.transport.as_deref() {
            None | Some("" | "telegram") => TELEGRAM,
            Some(other) => other,
        };
        let to = Destination::from_address(Address::new(
            transport,
            target.chat_id.unwrap_or(0),
            target.topic_id,
        ));
        if !out.contains(&to) {
            out.push(to);
        }
    }
    out
}

/// The notice (Markdown) for `kind` in the language of `text`; `None` for a plain restart.
pub fn notice(text: &crate::i18n::Catalog, kind: &StartKind) -> Option<String> {
    let version = md::escape(VERSION);
    Some(match kind {
        StartKind::Restart => return None,
        StartKind::FirstStart => text.f("startup.first_start", &[("version", &version)]),
        StartKind::Upgrade { from } => text.f(
            "startup.upgrade",
            &[("version", &version), ("from", &md::escape(from))],
        ),
        StartKind::Reboot => text.t("startup.reboot"),
        StartKind::Crash => text.t("startup.crash"),
    })
}

/// Queues the startup notice for this start, unless the start was a plain restart,
/// a `/restart` or a chat's upgrade whose sentinel will say so (in that chat). Returns how many notices were queued.
pub fn announce(core: &Core, kind: &StartKind) -> usize {
    if core.paths.restart_sentinel().exists() {
        tracing::debug!("restart sentinel present: its message replaces the startup notice");
        return 0;
    }
    if core.paths.is_main() && core.paths.home().upgrade_sentinel().exists() {
        tracing::debug!("upgrade sentinel present: its message replaces the startup notice");
        return 0;
    }
    let Some(text) = notice(core.text(), kind) else {
        return 0;
    };
    let config = core.config.get();
    let mut queued = 0;
    for to in targets(&config.notifications, "startup_targets") {
        let item = Outgoing::Notice {
            to,
            text: text.clone(),
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
    use crate::core::testing::rig;
    use serde_json::json;

    fn state(boot: &str, version: Option<&str>, clean: Option<bool>) -> StartupState {
        StartupState {
            boot_id: boot.into(),
            started_at: "2026-05-01T10:00:00+00:00".into(),
            version: version.map(str::to_owned),
            clean_exit: clean,
            ..StartupState::default()
        }
    }

    #[test]
    fn each_kind_of_start_is_told_apart() {
        let k = |prev: Option<StartupState>| classify(prev.as_ref(), "boot-a", "1.2.0");
        assert_eq!(k(None), StartKind::FirstStart);
        assert_eq!(k(Some(state("", None, None))), StartKind::FirstStart);
        assert_eq!(
            k(Some(state("boot-a", Some("1.2.0"), Some(true)))),
            StartKind::Restart
        );
        assert_eq!(
            k(Some(state("boot-a", Some("1.2.0"), Some(false)))),
            StartKind::Crash
        );
        assert_eq!(
            k(Some(state("boot-b", Some("1.2.0"), Some(false)))),
            StartKind::Reboot,
            "a power cut is a reboot, not a crash"
        );
        assert_eq!(
            k(Some(state("boot-b", Some("1.1.0"), Some(true)))),
            StartKind::Upgrade {
                from: "1.1.0".into()
            }
        );
        // The original's file: no version, no end marker.
        assert_eq!(k(Some(state("boot-a", None, None))), StartKind::Restart);
        assert_eq!(k(Some(state("boot-b", None, None))), StartKind::Reboot);
        // An unknown boot id (not Linux) claims no reboot.
        assert_eq!(
            classify(
                Some(&state("boot-a", Some("1.2.0"), Some(true))),
                "",
                "1.2.0"
            ),
            StartKind::Restart
        );
    }

    #[test]
    fn the_file_tells_a_crash_from_an_orderly_stop() {
        let dir = tempfile::tempdir().unwrap();
        let paths = crate::paths::Home::new(dir.path()).main();
        let now = Utc::now();
        let first = Startup::begin_with(&paths, "boot-a", "1.0.0", now);
        assert_eq!(first.kind, StartKind::FirstStart);
        let on_disk: Value =
            serde_json::from_slice(&std::fs::read(paths.startup_state_file()).unwrap()).unwrap();
        assert_eq!(on_disk["clean_exit"], json!(false));
        assert_eq!(on_disk["boot_id"], json!("boot-a"));
        assert_eq!(on_disk["version"], json!("1.0.0"));
        // Killed: no finish.
        drop(first);
        let second = Startup::begin_with(&paths, "boot-a", "1.0.0", now);
        assert_eq!(second.kind, StartKind::Crash);
        second.finish();
        let third = Startup::begin_with(&paths, "boot-a", "1.0.0", now);
        assert_eq!(third.kind, StartKind::Restart);
        third.finish();
        assert_eq!(
            Startup::begin_with(&paths, "boot-a", "1.1.0", now).kind,
            StartKind::Upgrade {
                from: "1.0.0".into()
            }
        );
    }

    #[test]
    fn the_originals_file_loads_and_keeps_unknown_keys_and_a_broken_one_is_kept_aside() {
        let dir = tempfile::tempdir().unwrap();
        let paths = crate::paths::Home::new(dir.path()).main();
        let file = paths.startup_state_file();
        std::fs::write(
            &file,
            r#"{"boot_id": "boot-a", "started_at": "2026-05-01T10:00:00+00:00", "host": "pi"}"#,
        )
        .unwrap();
        let s = Startup::begin_with(&paths, "boot-a", "1.0.0", Utc::now());
        assert_eq!(
            s.kind,
            StartKind::Restart,
            "no crash claimed for the original"
        );
        let on_disk: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        assert_eq!(on_disk["host"], json!("pi"));
        std::fs::write(&file, "{not json").unwrap();
        let s = Startup::begin_with(&paths, "boot-a", "1.0.0", Utc::now());
        assert_eq!(s.kind, StartKind::FirstStart);
        let kept = std::fs::read_dir(file.parent().unwrap())
            .unwrap()
            .flatten()
            .any(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("startup_state.json.corrupt-")
            });
        assert!(kept, "the broken file is moved aside, not lost");
    }

    #[test]
    fn targets_default_to_the_primary_chat_and_all_disabled_is_silence() {
        let primary = vec![Destination::Primary];
        assert_eq!(targets(&json!({}), "startup_targets"), primary);
        assert_eq!(
            targets(&json!({"startup_targets": []}), "startup_targets"),
            primary
        );
        assert_eq!(
            targets(&json!({"startup_targets": "nonsense"}), "startup_targets"),
            primary
        );
        let off = json!({"startup_targets": [{"enabled": false, "chat_id": 5}]});
        assert!(targets(&off, "startup_targets").is_empty());
        let mixed = json!({"startup_targets": [
            {"chat_id": -100, "topic_id": 7, "transport": "telegram"},
            {"chat_id": "not a number"},
            42,
            {"enabled": true},
            {"chat_id": -100, "topic_id": 7},
            {"chat_id": 9, "transport": "mx", "enabled": true},
        ]});
        assert_eq!(
            targets(&mixed, "startup_targets"),
            vec![
                Destination::Chat(Address::new(TELEGRAM, -100, Some(7))),
                Destination::Primary,
                Destination::Chat(Address::new("mx", 9, None)),
            ]
        );
    }

    #[tokio::test]
    async fn announce_queues_one_notice_per_target_and_defers_to_the_restart_sentinel() {
        let config = crate::config::AgentConfig {
            notifications: json!({"startup_targets": [{"chat_id": -100}, {"enabled": true}]}),
            ..crate::config::AgentConfig::default()
        };
        let mut r = rig(config, |_| {});
        assert_eq!(announce(&r.core, &StartKind::Restart), 0);
        assert_eq!(announce(&r.core, &StartKind::Crash), 2);
        let mut seen = Vec::new();
        while let Ok(d) = r.outbox.try_recv() {
            let Outgoing::Notice { to, text } = d.item.clone() else {
                panic!("{:?}", d.item)
            };
            assert!(text.contains("did not shut down cleanly"), "{text}");
            seen.push(to);
            d.done();
        }
        assert_eq!(
            seen,
            vec![
                Destination::Chat(Address::new(TELEGRAM, -100, None)),
                Destination::Primary
            ]
        );
        std::fs::write(r.paths().restart_sentinel(), r#"{"chat_id": 42}"#).unwrap();
        assert_eq!(
            announce(&r.core, &StartKind::Upgrade { from: "0.1".into() }),
            0
        );
        assert!(r.outbox.try_recv().is_err());
    }

    #[test]
    fn notices_are_localised() {
        let de = crate::i18n::catalog("de");
        let en = crate::i18n::catalog("en");
        for kind in [
            StartKind::FirstStart,
            StartKind::Reboot,
            StartKind::Crash,
            StartKind::Upgrade { from: "0.9".into() },
        ] {
            let (d, e) = (notice(de, &kind).unwrap(), notice(en, &kind).unwrap());
            assert_ne!(d, e, "{kind:?} has a German text");
            assert!(!e.contains('{'), "{e}");
        }
        assert!(
            notice(en, &StartKind::Upgrade { from: "0.9".into() })
                .unwrap()
                .contains("0.9")
        );
    }
}
