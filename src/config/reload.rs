//! Live reload of a running agent's config (§3.4, done better): the agent watches the
//! main `config/config.json` and `agents.json` (inotify, polling as a fallback,
//! debounced) and, on a change, reads its effective config exactly as at start-up
//! (defaults merged, range-checked; a sub-agent re-merged with its `agents.json` entry).
//!
//! - A malformed or invalid edit changes nothing. It is logged, and the main agent
//!   posts one notice to its primary chat naming `file:line:col`; the same content is
//!   never reported twice.
//! - The hot keys ([`HOT_KEYS`]) are taken from the new file into a copy of the running
//!   config, which replaces the [`super::LiveConfig`] whole: a running turn keeps the
//!   snapshot it started with, the next one sees the change. Conversations that were on
//!   the old default model follow the new one; cron timers follow a new
//!   `user_timezone`; waiting runs look at a new `max_concurrent_runs`.
//! - Every other changed key keeps its running value and is named in one
//!   "needs a restart" notice. The agent's identity (name, home, token, transport)
//!   therefore never reverts, whatever the files say.
//!
//! Reads the config files and never writes them (a sub-agent must not write the main
//! home). Services that must react to a change (the Telegram menu on `language`)
//! subscribe to [`super::LiveConfig::subscribe`] themselves.

use super::load::{ConfigError, read_config_file};
use super::{AgentConfig, agents};
use crate::address::{Address, Destination};
use crate::core::Core;
use crate::paths::Home;
use crate::session::outbox::Outgoing;
use crate::session::store::{Target, default_target};
use crate::store::StoreError;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Top-level keys a running agent applies at once: everything it reads per turn,
/// per run or per request. All other keys need a restart.
pub const HOT_KEYS: &[&str] = &[
    // §3.4's hot set.
    "model",
    "provider",
    "reasoning_effort",
    "cli_timeout",
    "max_budget_usd",
    "max_turns",
    "max_session_messages",
    "idle_timeout_minutes",
    "session_age_warning_hours",
    "daily_reset_hour",
    "daily_reset_enabled",
    "permission_mode",
    "file_access",
    "user_timezone",
    "streaming",
    "heartbeat",
    "cleanup",
    "cli_parameters",
    "project_roots",
    "allowed_user_ids",
    "allowed_group_ids",
    "allowed_channel_ids",
    "group_mention_only",
    "scene",
    "image",
    "language",
    // Also read live by this implementation.
    "file_access_allow",
    "cli_mode",
    "live",
    "append_system_prompt_files",
    "gemini_api_key",
    "abort_words",
    "max_concurrent_runs",
    "max_reply_messages",
    "timeouts",
    "tasks",
    "cron_delivery_retry",
    "cron_preflight",
    "memory_flush",
    "memory_reflection",
    // The launcher reads the sandbox settings at every run.
    "docker",
    "sandbox",
    "memory_compaction",
    "skills",
    "notifications",
    "transcription",
];

/// Blocks read live except for some fields (the webhook and API servers bind
/// once): the other fields apply at once, these need a restart.
const PARTLY_HOT: &[(&str, &[&str])] = &[
    ("webhooks", &["enabled", "host", "port"]),
    ("api", &["enabled", "host", "port", "allow_public"]),
];

/// Keys a sub-agent does not report as waiting for a restart: the supervisor
/// restarts it when its bot identity changes, `ductor_home` is always its own,
/// `supervisor` is read by the supervisor only, the webhook server runs in the
/// main agent only, and so does the direct API unless a sub-agent's entry has an
/// `api` block of its own.
const SUB_AGENT_QUIET: &[&str] = &[
    "telegram_token",
    "transport",
    "transports",
    "ductor_home",
    "supervisor",
    "webhooks.enabled",
    "webhooks.host",
    "webhooks.port",
    // A sub-agent's API is off unless its own entry has one.
    "api.enabled",
    "api.host",
    "api.port",
    "api.allow_public",
];

/// How long a burst of writes must settle before the file is read.
const SETTLE: Duration = Duration::from_millis(300);

/// What differs between the running config and the files.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Diff {
    /// Keys applied at once.
    pub hot: Vec<String>,
    /// Keys (or `block.field`) that keep their running value until a restart.
    pub restart: Vec<String>,
}

/// The top-level view of a config as JSON (the keys of `config.json`).
fn fields(config: &AgentConfig) -> Map<String, Value> {
    match serde_json::to_value(config) {
        Ok(Value::Object(map)) => map,
        // AgentConfig is a struct of JSON-representable fields (see `default_document`).
        _ => Map::new(),
    }
}

/// Which keys changed from `running` to `fresh`, and which of them apply at once.
pub fn diff(running: &AgentConfig, fresh: &AgentConfig) -> Diff {
    let (before, after) = (fields(running), fields(fresh));
    let mut out = Diff::default();
    for (key, new) in &after {
        let old = before.get(key).unwrap_or(&Value::Null);
        if old == new {
            continue;
        }
        if let Some((_, bound)) = PARTLY_HOT.iter().find(|(k, _)| k == key) {
            let moved: Vec<&str> = bound
                .iter()
                .copied()
                .filter(|f| old.get(f) != new.get(f))
                .collect();
            if strip(old, bound) != strip(new, bound) {
                out.hot.push(key.clone());
            }
            out.restart
                .extend(moved.into_iter().map(|f| format!("{key}.{f}")));
        } else if HOT_KEYS.contains(&key.as_str()) {
            out.hot.push(key.clone());
        } else {
            out.restart.push(key.clone());
        }
    }
    out
}

/// `block` without `fields`.
fn strip(block: &Value, fields: &[&str]) -> Value {
    let mut b = block.clone();
    if let Some(obj) = b.as_object_mut() {
        for f in fields {
            obj.remove(*f);
        }
    }
    b
}

/// The running config with the `keys` of `fresh` (a partly hot block keeps its
/// running bound fields).
pub fn apply(
    running: &AgentConfig,
    fresh: &AgentConfig,
    keys: &[String],
) -> Result<AgentConfig, serde_json::Error> {
    let mut doc = fields(running);
    let new = fields(fresh);
    for key in keys {
        let Some(mut value) = new.get(key).cloned() else {
            continue;
        };
        if let Some((_, bound)) = PARTLY_HOT.iter().find(|(k, _)| k == key)
            && let (Some(v), Some(old)) = (value.as_object_mut(), doc.get(key))
        {
            for f in *bound {
                match old.get(*f) {
                    Some(o) => v.insert((*f).to_owned(), o.clone()),
                    None => v.remove(*f),
                };
            }
        }
        doc.insert(key.clone(), value);
    }
    serde_json::from_value(Value::Object(doc))
}

/// The effective config of agent `name` as the files say now, read without writing
/// anything; `None` when the main config file or the agent's entry is gone.
pub fn read_effective(home: &Home, name: &str) -> Result<Option<AgentConfig>, ConfigError> {
    let Some(main) = read_config_file(&home.main().config_file())? else {
        return Ok(None);
    };
    if name == crate::paths::MAIN_AGENT {
        return Ok(Some(main.config));
    }
    let entries = agents::load_agents(&home.agents_file())?;
    agents::agent_config(home, name, &main.raw, &entries)
}

/// The file an error is about.
fn error_path(e: &ConfigError) -> Option<&Path> {
    match e {
        ConfigError::Store(
            StoreError::Io { path, .. }
            | StoreError::Parse { path, .. }
            | StoreError::Serialize { path, .. },
        )
        | ConfigError::WrongShape { path, .. }
        | ConfigError::OutOfRange { path, .. } => Some(path),
        ConfigError::UnknownAgent(_) => None,
    }
}

/// Where the problem is (`config/config.json:3:17`, relative to the home when the
/// file is inside it) and what it is.
pub fn locate(e: &ConfigError, home: &Home) -> (String, String) {
    let shown = |p: &Path| {
        p.strip_prefix(home.root())
            .unwrap_or(p)
            .display()
            .to_string()
    };
    match e {
        ConfigError::Store(StoreError::Parse {
            path,
            line,
            column,
            message,
        }) if *line > 0 => (format!("{}:{line}:{column}", shown(path)), message.clone()),
        ConfigError::Store(StoreError::Parse { path, message, .. }) => {
            (shown(path), message.clone())
        }
        ConfigError::OutOfRange { path, problems } => (shown(path), problems.join("; ")),
        other => match error_path(other) {
            Some(path) => (shown(path), other.to_string()),
            None => (String::new(), other.to_string()),
        },
    }
}

/// One line for the log and the tests: `config/config.json:3:17: what is wrong`.
pub fn describe(e: &ConfigError, home: &Home) -> String {
    match locate(e, home) {
        (at, what) if at.is_empty() => what,
        (at, what) => format!("{at}: {what}"),
    }
}

/// A hash of a file's content (`None` when unreadable).
fn content_hash(path: &Path) -> Option<u64> {
    let bytes = std::fs::read(path).ok()?;
    let mut h = DefaultHasher::new();
    bytes.hash(&mut h);
    Some(h.finish())
}

/// What one look at the files did (for the log and for tests).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Hot keys applied to the running agent.
    pub applied: Vec<String>,
    /// Keys named in a new "needs a restart" notice.
    pub restart_notice: Vec<String>,
    /// A problem reported now (described as in the notice).
    pub reported: Option<String>,
}

/// The reload state of one agent: what was reported already.
#[derive(Debug)]
pub struct Reloader {
    core: Arc<Core>,
    home: Home,
    name: String,
    /// Content hash of each file whose error was reported.
    reported_bad: BTreeMap<PathBuf, Option<u64>>,
    /// Keys last named as waiting for a restart.
    waiting: BTreeSet<String>,
    settle: Duration,
}

impl Reloader {
    /// The reloader of the agent of `core`.
    pub fn new(core: Arc<Core>) -> Self {
        Self {
            home: core.paths.home(),
            name: core.paths.name().to_owned(),
            core,
            reported_bad: BTreeMap::new(),
            waiting: BTreeSet::new(),
            settle: SETTLE,
        }
    }

    /// Like [`Reloader::new`], waiting `settle` before reporting a broken file
    /// (a file still being written is not broken).
    pub fn with_settle(core: Arc<Core>, settle: Duration) -> Self {
        Self {
            settle,
            ..Self::new(core)
        }
    }

    /// Reads the files and applies what changed; see the module docs.
    pub async fn check(&mut self) -> Outcome {
        let (home, name) = (self.home.clone(), self.name.clone());
        let read = tokio::task::spawn_blocking(move || {
            let effective = read_effective(&home, &name);
            // The main agent also checks `agents.json`, so a broken edit of it is reported.
            let registry = (name == crate::paths::MAIN_AGENT)
                .then(|| agents::load_agents(&home.agents_file()).err())
                .flatten();
            (effective, registry)
        })
        .await;
        let Ok((effective, registry)) = read else {
            tracing::error!("config reload: the reader task failed");
            return Outcome::default();
        };
        let mut out = Outcome::default();
        let (config_file, agents_file) = (self.home.main().config_file(), self.home.agents_file());
        if let Some(e) = registry {
            out.reported = self.report(&e).await;
        } else if self.is_main() {
            self.reported_bad.remove(&agents_file);
        }
        match effective {
            Ok(Some(fresh)) => {
                self.reported_bad.remove(&config_file);
                if !self.is_main() {
                    self.reported_bad.remove(&agents_file);
                }
                self.take(&fresh, &mut out);
            }
            Ok(None) => tracing::debug!("config reload: the file or the agent's entry is gone"),
            Err(e) => out.reported = self.report(&e).await.or(out.reported),
        }
        out
    }

    fn is_main(&self) -> bool {
        self.name == crate::paths::MAIN_AGENT
    }

    /// Reports `e` unless this content was reported already or is still changing.
    async fn report(&mut self, e: &ConfigError) -> Option<String> {
        let path = error_path(e).map_or_else(|| self.home.agents_file(), Path::to_path_buf);
        let before = content_hash(&path);
        if self.reported_bad.get(&path) == Some(&before) {
            return None;
        }
        // A file caught half-written is not an error: wait, and leave it to the next event.
        tokio::time::sleep(self.settle).await;
        if content_hash(&path) != before {
            return None;
        }
        self.reported_bad.insert(path, before);
        let text = describe(e, &self.home);
        tracing::error!(agent = %self.name, "config not applied: {text}");
        if self.is_main() {
            let (at, what) = locate(e, &self.home);
            let notice = self.core.text().f(
                "config.invalid",
                &[
                    ("at", &crate::md::code(&at)),
                    ("error", &crate::md::one_line(&what)),
                ],
            );
            self.notify(notice);
        }
        Some(text)
    }

    /// Applies the hot keys of `fresh` and tells about the rest.
    fn take(&mut self, fresh: &AgentConfig, out: &mut Outcome) {
        let running = self.core.config.get();
        let d = diff(&running, fresh);
        if !d.hot.is_empty() {
            match apply(&running, fresh, &d.hot) {
                Ok(next) => {
                    tracing::info!(agent = %self.name, keys = %d.hot.join(", "), "config reloaded");
                    self.core.config.set(next);
                    self.follow(&running, fresh, &d.hot);
                    out.applied.clone_from(&d.hot);
                }
                Err(e) => tracing::error!(error = %e, "config reload: cannot apply the change"),
            }
        }
        let waiting: BTreeSet<String> = d
            .restart
            .into_iter()
            .filter(|k| self.is_main() || !SUB_AGENT_QUIET.contains(&k.as_str()))
            .collect();
        let new_keys = waiting.difference(&self.waiting).next().is_some();
        if new_keys {
            let keys: Vec<String> = waiting.iter().cloned().collect();
            tracing::warn!(agent = %self.name, keys = %keys.join(", "), "config changed; these keys need a restart");
            let list = keys
                .iter()
                .map(|k| crate::md::code(k))
                .collect::<Vec<_>>()
                .join(", ");
            let notice = self
                .core
                .text()
                .f("config.needs_restart", &[("keys", &list)]);
            self.notify(notice);
            out.restart_notice = keys;
        }
        self.waiting = waiting;
    }

    /// What else must move with the applied keys.
    fn follow(&self, before: &AgentConfig, fresh: &AgentConfig, keys: &[String]) {
        let has = |k: &str| keys.iter().any(|x| x == k);
        if has("provider") || has("model") || has("reasoning_effort") {
            let moved = follow_default(&self.core, before, fresh);
            if moved > 0 {
                tracing::info!(
                    conversations = moved,
                    "conversations on the old default model follow the new one"
                );
            }
        }
        if has("user_timezone") {
            self.core.cron.reload(true);
        }
        if has("max_concurrent_runs") {
            self.core.slots.recheck();
        }
    }

    fn notify(&self, text: String) {
        let item = Outgoing::Notice {
            to: Destination::Primary,
            text,
        };
        if self.core.outbox.send(item).is_err() {
            tracing::warn!("config reload: the outbox is closed; notice dropped");
        }
    }
}

/// Moves the conversations that use the old default provider/model (they never
/// chose another one) to the new default; returns how many moved. A conversation
/// keeps its own effort unless it had the old default effort or changes provider.
fn follow_default(core: &Core, before: &AgentConfig, after: &AgentConfig) -> usize {
    let (old, new) = (default_target(before), default_target(after));
    if old == new {
        return 0;
    }
    let sessions = &core.conversations.engine().sessions;
    let now = chrono::Utc::now();
    let mut moved = 0;
    for r in sessions.all() {
        if r.model.is_empty() || r.provider != old.provider.as_str() || r.model != old.model {
            continue;
        }
        let effort = if r.reasoning_effort == old.effort || new.provider != old.provider {
            new.effort.clone()
        } else {
            r.reasoning_effort.clone()
        };
        let target = Target {
            provider: new.provider,
            model: new.model.clone(),
            effort,
        };
        if target.model == r.model
            && target.provider.as_str() == r.provider
            && target.effort == r.reasoning_effort
        {
            continue;
        }
        sessions.set_target(
            &Address::new(&r.transport, r.chat_id, r.topic_id),
            &target,
            now,
        );
        moved += 1;
    }
    moved
}

/// Watches the agent's config files until `stop`, applying changes as they come.
pub fn spawn(core: Arc<Core>, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
    let mut reloader = Reloader::new(core);
    tokio::spawn(async move {
        let home = reloader.home.clone();
        let (_config_watch, mut config_rx) =
            crate::watch::watch_files(&home.main().config_dir(), &["config.json"], SETTLE);
        let (_agents_watch, mut agents_rx) =
            crate::watch::watch_files(home.root(), &["agents.json"], SETTLE);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                Some(_) = config_rx.recv() => {}
                Some(_) = agents_rx.recv() => {}
                else => return,
            }
            reloader.check().await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::{Rig, rig};
    use crate::provider::ProviderKind;
    use crate::secret::Secret;
    use serde_json::json;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn base() -> Value {
        json!({
            "telegram_token": "111:main", "allowed_user_ids": [42],
            "provider": "claude", "model": "opus",
            "webhooks": {"port": 8742, "rate_limit_per_minute": 30}
        })
    }

    /// A main agent whose running config is what `base()` in its config.json says.
    fn main_rig() -> (Rig, Reloader) {
        let r = rig(AgentConfig::default(), |p| {
            write(&p.config_file(), &base().to_string());
        });
        let home = r.core.paths.home();
        r.core
            .config
            .set(read_effective(&home, "main").unwrap().unwrap());
        let reloader = Reloader::with_settle(r.core.clone(), Duration::ZERO);
        (r, reloader)
    }

    fn edit(r: &Rig, f: impl FnOnce(&mut Value)) {
        let mut v = base();
        f(&mut v);
        write(&r.core.paths.config_file(), &v.to_string());
    }

    fn notices(r: &mut Rig) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(d) = r.outbox.try_recv() {
            match d.item {
                Outgoing::Notice {
                    to: Destination::Primary,
                    text,
                } => out.push(text),
                other => panic!("unexpected delivery {other:?}"),
            }
        }
        out
    }

    #[test]
    fn diff_splits_hot_keys_from_restart_keys() {
        let running = AgentConfig::default();
        assert_eq!(diff(&running, &running), Diff::default());
        let mut fresh = running.clone();
        fresh.model = "sonnet".into();
        fresh.streaming.enabled = false;
        fresh.telegram_token = Secret::new("222:other");
        fresh.docker["enabled"] = json!(true);
        fresh.slack["bot_token"] = json!("xoxb-1");
        fresh.webhooks["port"] = json!(9000);
        fresh.webhooks["rate_limit_per_minute"] = json!(5);
        let d = diff(&running, &fresh);
        assert_eq!(d.hot, ["model", "streaming", "docker", "webhooks"]);
        assert_eq!(d.restart, ["telegram_token", "webhooks.port", "slack"]);
    }

    #[test]
    fn apply_takes_only_the_hot_keys_and_keeps_bound_fields() {
        let running = AgentConfig {
            telegram_token: Secret::new("111:main"),
            gemini_api_key: Some(Secret::new("g-key")),
            ..AgentConfig::default()
        };
        assert_eq!(
            apply(&running, &running, &[]).unwrap(),
            running,
            "a config survives the round trip"
        );
        let mut fresh = running.clone();
        fresh.model = "sonnet".into();
        fresh.telegram_token = Secret::new("222:other");
        fresh.webhooks["port"] = json!(9000);
        fresh.webhooks["rate_limit_per_minute"] = json!(5);
        let d = diff(&running, &fresh);
        let next = apply(&running, &fresh, &d.hot).unwrap();
        assert_eq!(next.model, "sonnet");
        assert_eq!(
            next.telegram_token.expose(),
            "111:main",
            "identity never reverts"
        );
        assert_eq!(next.webhooks["port"], 8742, "the server keeps its port");
        assert_eq!(next.webhooks["rate_limit_per_minute"], 5);
    }

    #[tokio::test]
    async fn a_valid_edit_applies_hot_keys_and_names_the_rest_once() {
        let (mut r, mut reloader) = main_rig();
        assert_eq!(
            reloader.check().await,
            Outcome::default(),
            "nothing changed"
        );
        let before = r.core.config.get();
        edit(&r, |c| {
            c["model"] = json!("sonnet");
            c["language"] = json!("de");
        });
        let out = reloader.check().await;
        assert_eq!(out.applied, ["model", "language"]);
        assert_eq!(r.core.config.get().model, "sonnet");
        assert_eq!(
            before.model, "opus",
            "a snapshot taken before stays as it was"
        );
        assert!(notices(&mut r).is_empty(), "hot keys need no notice");

        edit(&r, |c| {
            c["model"] = json!("sonnet");
            c["language"] = json!("de");
            c["telegram_token"] = json!("222:new");
            c["webhooks"]["port"] = json!(9100);
        });
        let out = reloader.check().await;
        assert!(out.applied.is_empty(), "{out:?}");
        assert_eq!(out.restart_notice, ["telegram_token", "webhooks.port"]);
        let sent = notices(&mut r);
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert!(
            sent[0].contains("`telegram_token`") && sent[0].contains("`webhooks.port`"),
            "{}",
            sent[0]
        );
        assert!(
            sent[0].contains("Neustart"),
            "in the new language: {}",
            sent[0]
        );
        assert_eq!(r.core.config.get().telegram_token.expose(), "111:main");
        assert_eq!(r.core.config.get().webhooks["port"], 8742);

        edit(&r, |c| {
            c["model"] = json!("haiku");
            c["language"] = json!("de");
            c["telegram_token"] = json!("222:new");
            c["webhooks"]["port"] = json!(9100);
        });
        let out = reloader.check().await;
        assert_eq!(out.applied, ["model"]);
        assert!(out.restart_notice.is_empty(), "already named: {out:?}");
        assert!(notices(&mut r).is_empty());
    }

    #[tokio::test]
    async fn a_broken_edit_changes_nothing_and_is_reported_once() {
        let (mut r, mut reloader) = main_rig();
        let file = r.core.paths.config_file();
        write(
            &file,
            "{\n  \"model\": \"sonnet\",\n  \"provider\": \"claude\"\n  \"x\": 1\n}\n",
        );
        let out = reloader.check().await;
        let reported = out.reported.clone().expect("reported");
        assert!(
            reported.starts_with("config/config.json:4:3: "),
            "{reported}"
        );
        assert!(out.applied.is_empty());
        assert_eq!(r.core.config.get().model, "opus");
        let sent = notices(&mut r);
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert!(sent[0].contains("`config/config.json:4:3`"), "{}", sent[0]);

        assert_eq!(
            reloader.check().await,
            Outcome::default(),
            "same content, no repeat"
        );
        assert!(notices(&mut r).is_empty());

        edit(&r, |c| c["timeouts"] = json!({"normal": -1}));
        let out = reloader.check().await;
        assert!(
            out.reported
                .as_deref()
                .unwrap()
                .contains("timeouts.normal: -1"),
            "{out:?}"
        );
        assert_eq!(notices(&mut r).len(), 1, "a new problem is reported");

        edit(&r, |c| c["model"] = json!("sonnet"));
        let out = reloader.check().await;
        assert_eq!(out.applied, ["model"]);
        write(&file, "{");
        assert!(
            reloader.check().await.reported.is_some(),
            "broken again: reported again"
        );
    }

    #[tokio::test]
    async fn a_broken_agents_json_is_reported_by_the_main_agent() {
        let (mut r, mut reloader) = main_rig();
        write(&r.core.paths.home().agents_file(), "[{\"name\": \"a\"}");
        let out = reloader.check().await;
        assert!(
            out.reported.unwrap().starts_with("agents.json:1:"),
            "reported"
        );
        assert_eq!(notices(&mut r).len(), 1);
        edit(&r, |c| c["model"] = json!("sonnet"));
        let out = reloader.check().await;
        assert_eq!(out.applied, ["model"], "config.json still applies");
        assert!(out.reported.is_none(), "agents.json was reported already");
    }

    #[tokio::test]
    async fn conversations_on_the_old_default_follow_the_new_one() {
        let (r, mut reloader) = main_rig();
        let sessions = &r.core.conversations.engine().sessions;
        let now = chrono::Utc::now();
        let follows = Address::new("tg", 42, None);
        let chose = Address::new("tg", 42, Some(7));
        let target = |p, m: &str, e: Option<&str>| Target {
            provider: p,
            model: m.into(),
            effort: e.map(str::to_owned),
        };
        sessions.set_target(
            &follows,
            &target(ProviderKind::Claude, "opus", Some("medium")),
            now,
        );
        sessions.set_target(&chose, &target(ProviderKind::Codex, "gpt-5.5", None), now);
        edit(&r, |c| c["model"] = json!("sonnet"));
        reloader.check().await;
        assert_eq!(
            sessions.target(&follows),
            Some(target(ProviderKind::Claude, "sonnet", Some("medium")))
        );
        assert_eq!(
            sessions.target(&chose),
            Some(target(ProviderKind::Codex, "gpt-5.5", None)),
            "a conversation that chose its model keeps it"
        );
    }

    #[tokio::test]
    async fn a_sub_agent_re_merges_both_files_and_keeps_its_identity() {
        let (mut r, _) = main_rig();
        let home = r.core.paths.home();
        let entry = |model: &str, token: &str| {
            json!([{"name": "sub1", "telegram_token": token, "allowed_user_ids": [42],
                "model": model}])
            .to_string()
        };
        write(&home.agents_file(), &entry("haiku", "333:sub"));
        r.core
            .config
            .set(read_effective(&home, "sub1").unwrap().unwrap());
        let mut reloader = Reloader {
            name: "sub1".into(),
            ..Reloader::with_settle(r.core.clone(), Duration::ZERO)
        };
        assert_eq!(r.core.config.get().model, "haiku");

        edit(&r, |c| {
            c["model"] = json!("sonnet");
            c["streaming"] = json!({"enabled": false});
            c["slack"] = json!({"bot_token": "xoxb-1"});
        });
        let out = reloader.check().await;
        assert_eq!(out.applied, ["streaming"], "the entry's model wins");
        assert_eq!(out.restart_notice, ["slack"]);
        assert_eq!(r.core.config.get().model, "haiku");
        assert!(!r.core.config.get().streaming.enabled);

        write(&home.agents_file(), &entry("opus", "444:changed"));
        let out = reloader.check().await;
        assert_eq!(out.applied, ["model"]);
        assert!(
            out.restart_notice.is_empty(),
            "the supervisor restarts it: {out:?}"
        );
        assert_eq!(r.core.config.get().telegram_token.expose(), "333:sub");
        assert_eq!(
            r.core.config.get().ductor_home,
            home.agent("sub1").root().display().to_string()
        );
        assert_eq!(notices(&mut r).len(), 1, "only the slack notice");

        write(&home.main().config_file(), "{");
        assert!(reloader.check().await.reported.is_some());
        assert!(notices(&mut r).is_empty(), "the main agent tells the chat");
    }
}
