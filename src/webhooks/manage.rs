//! The management side of [`HookStore`] for `ductor webhooks add|edit|remove|rotate-token`:
//! validated changes of `webhooks.json`, each one read-modify-write under the lock.

use super::hook::{HmacAuth, Hook, HookAuth, HookMode};
use super::store::{HookError, HookStore, generate_token, now_iso, record_mut};
use crate::secret::Secret;
use crate::state::Lenient;
use crate::state::fields::RunOverrides;
use crate::state::webhooks::WebhookRecord;
use serde_json::{Map, Value};

/// A hook to create. `auth` defaults to bearer with a generated token.
#[derive(Debug, Clone, Default)]
pub struct NewHook {
    /// Id: 1–64 of `a-z`, `0-9`, `-`, `_`.
    pub id: String,
    /// Human title.
    pub title: String,
    /// Longer description.
    pub description: String,
    /// `wake` (default) or `cron_task`.
    pub mode: HookMode,
    /// The prompt with `{{field}}` placeholders (required).
    pub prompt_template: String,
    /// Folder of a `cron_task` hook (required for it).
    pub task_folder: Option<String>,
    /// Auth; a bearer hook without a token gets a generated one.
    pub auth: HookAuth,
    /// How `cron_task` runs are run (the CLI settings only for `cron_task`).
    pub overrides: RunOverrides,
}

/// Changes to a hook: `None` leaves a setting as it is; for optional settings
/// `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct HookChanges {
    /// New title.
    pub title: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// Enable or disable.
    pub enabled: Option<bool>,
    /// New mode.
    pub mode: Option<HookMode>,
    /// New template.
    pub prompt_template: Option<String>,
    /// New task folder.
    pub task_folder: Option<Option<String>>,
    /// New auth (a bearer one without a token keeps the current token or gets a new one).
    pub auth: Option<HookAuth>,
    /// Provider override.
    pub provider: Option<Option<String>>,
    /// Model override.
    pub model: Option<Option<String>>,
    /// Reasoning effort override.
    pub reasoning_effort: Option<Option<String>>,
    /// Extra CLI arguments.
    pub cli_parameters: Option<Vec<String>>,
    /// Quiet hours start.
    pub quiet_start: Option<Option<u8>>,
    /// Quiet hours end.
    pub quiet_end: Option<Option<u8>>,
    /// Dependency key.
    pub dependency: Option<Option<String>>,
    /// Replay window for signed timestamps, seconds (`None` inside: the default).
    pub replay_tolerance_seconds: Option<Option<u64>>,
}

/// Whether `id` is a valid hook id (1–64 of `a-z`, `0-9`, `-`, `_`).
pub fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn opt(v: Option<&String>) -> Value {
    v.map_or(Value::Null, |s| Value::String(s.clone()))
}

/// Writes the auth keys of `auth` (other keys stay).
fn write_auth(f: &mut Map<String, Value>, auth: &HookAuth) {
    match auth {
        HookAuth::Bearer { token } => {
            f.insert("auth_mode".into(), "bearer".into());
            f.insert("token".into(), token.expose().into());
        }
        HookAuth::Hmac(h) => {
            let source = |p: &Option<super::hook::Pattern>| {
                p.as_ref().map_or(String::new(), |p| p.source().to_owned())
            };
            f.insert("auth_mode".into(), "hmac".into());
            f.insert("hmac_secret".into(), h.secret.expose().into());
            f.insert("hmac_header".into(), h.header.clone().into());
            f.insert("hmac_algorithm".into(), h.algorithm.as_str().into());
            f.insert("hmac_encoding".into(), h.encoding.as_str().into());
            f.insert("hmac_sig_prefix".into(), h.sig_prefix.clone().into());
            f.insert("hmac_sig_regex".into(), source(&h.sig_regex).into());
            f.insert(
                "hmac_payload_prefix_regex".into(),
                source(&h.payload_prefix_regex).into(),
            );
        }
    }
}

/// A bearer auth with a token: the given one, else `keep`, else a new one.
fn with_token(auth: HookAuth, keep: Option<&Secret>) -> Result<HookAuth, HookError> {
    match auth {
        HookAuth::Bearer { token } if token.is_empty() => Ok(HookAuth::Bearer {
            token: match keep.filter(|t| !t.is_empty()) {
                Some(t) => t.clone(),
                None => Secret::new(generate_token()?),
            },
        }),
        other => Ok(other),
    }
}

/// Checks that a hook's settings fit together.
pub fn validate(hook: &Hook) -> Result<(), HookError> {
    let invalid = |m: String| Err(HookError::Invalid(m));
    if !valid_id(&hook.id) {
        return Err(HookError::InvalidId(hook.id.clone()));
    }
    if hook.prompt_template.trim().is_empty() {
        return invalid(format!("hook {:?}: the prompt template is empty", hook.id));
    }
    match &hook.mode {
        HookMode::CronTask if hook.task_folder.is_none() => {
            return invalid(format!(
                "hook {:?}: a cron_task hook needs a task folder",
                hook.id
            ));
        }
        HookMode::Wake if hook.overrides.changes_the_cli() => {
            return invalid(format!(
                "hook {:?}: provider, model, reasoning effort and CLI parameters are for cron_task hooks; a wake hook uses the chat's",
                hook.id
            ));
        }
        HookMode::Other(m) => {
            return invalid(format!(
                "hook {:?}: unknown mode {m:?} (wake or cron_task)",
                hook.id
            ));
        }
        _ => {}
    }
    if let HookAuth::Hmac(h) = &hook.auth {
        validate_hmac(&hook.id, h)?;
    }
    Ok(())
}

fn validate_hmac(id: &str, h: &HmacAuth) -> Result<(), HookError> {
    let invalid = |m: String| Err(HookError::Invalid(format!("hook {id:?}: {m}")));
    if warp::http::HeaderName::from_bytes(h.header.as_bytes()).is_err() {
        return invalid(format!(
            "{:?} is not a valid signature header name",
            h.header
        ));
    }
    if h.secret.is_empty() {
        return invalid("an HMAC hook needs a secret".into());
    }
    if let Some(p) = h.invalid_patterns().next() {
        return invalid(format!("the regex {:?} does not compile", p.source()));
    }
    Ok(())
}

fn check_hours(id: &str, hours: [Option<u8>; 2]) -> Result<(), HookError> {
    if hours.iter().flatten().any(|h| *h > 23) {
        return Err(HookError::Invalid(format!(
            "hook {id:?}: quiet hours are 0-23"
        )));
    }
    Ok(())
}

impl NewHook {
    /// The record to store, keys in the original's order.
    fn into_record(self, auth: &HookAuth) -> WebhookRecord {
        let mut f = Map::new();
        f.insert("title".into(), self.title.into());
        f.insert("description".into(), self.description.into());
        f.insert("prompt_template".into(), self.prompt_template.into());
        f.insert("task_folder".into(), opt(self.task_folder.as_ref()));
        // Every auth key with the original's defaults, then this hook's values.
        for (key, default) in [
            ("auth_mode", "bearer"),
            ("token", ""),
            ("hmac_secret", ""),
            ("hmac_header", ""),
            ("hmac_algorithm", "sha256"),
            ("hmac_encoding", "hex"),
            ("hmac_sig_prefix", "sha256="),
            ("hmac_sig_regex", ""),
            ("hmac_payload_prefix_regex", ""),
        ] {
            f.insert(key.into(), default.into());
        }
        write_auth(&mut f, auth);
        f.insert("created_at".into(), now_iso().into());
        f.insert("trigger_count".into(), 0.into());
        f.insert("last_triggered_at".into(), Value::Null);
        f.insert("last_error".into(), Value::Null);
        let o = self.overrides;
        f.insert("provider".into(), opt(o.provider.as_ref()));
        f.insert("model".into(), opt(o.model.as_ref()));
        f.insert("reasoning_effort".into(), opt(o.reasoning_effort.as_ref()));
        f.insert("cli_parameters".into(), o.cli_parameters.into());
        f.insert("quiet_start".into(), o.quiet_start.into());
        f.insert("quiet_end".into(), o.quiet_end.into());
        f.insert("dependency".into(), opt(o.dependency.as_ref()));
        WebhookRecord {
            id: self.id,
            mode: self.mode.as_str().to_owned(),
            enabled: true,
            fields: f,
        }
    }
}

impl HookChanges {
    fn apply(self, r: &mut WebhookRecord, auth: Option<&HookAuth>) {
        let f = &mut r.fields;
        let mut set = |key: &str, v: Value| {
            f.insert(key.to_owned(), v);
        };
        if let Some(v) = self.title {
            set("title", v.into());
        }
        if let Some(v) = self.description {
            set("description", v.into());
        }
        if let Some(v) = self.prompt_template {
            set("prompt_template", v.into());
        }
        let optional = [
            ("task_folder", self.task_folder),
            ("provider", self.provider),
            ("model", self.model),
            ("reasoning_effort", self.reasoning_effort),
            ("dependency", self.dependency),
        ];
        for (key, v) in optional {
            if let Some(v) = v {
                set(key, opt(v.as_ref()));
            }
        }
        if let Some(v) = self.cli_parameters {
            set("cli_parameters", v.into());
        }
        if let Some(v) = self.quiet_start {
            set("quiet_start", v.into());
        }
        if let Some(v) = self.quiet_end {
            set("quiet_end", v.into());
        }
        if let Some(v) = self.replay_tolerance_seconds {
            set("replay_tolerance_seconds", v.into());
        }
        if let Some(auth) = auth {
            write_auth(f, auth);
        }
        if let Some(v) = self.enabled {
            r.enabled = v;
        }
        if let Some(v) = self.mode {
            v.as_str().clone_into(&mut r.mode);
        }
    }
}

impl HookStore {
    /// Creates a hook. Returns it and, for a bearer hook, its generated token (shown
    /// once to the user; it is also in the file).
    pub fn add(&self, new: NewHook) -> Result<(Hook, Option<String>), HookError> {
        if !valid_id(&new.id) {
            return Err(HookError::InvalidId(new.id));
        }
        check_hours(
            &new.id,
            [new.overrides.quiet_start, new.overrides.quiet_end],
        )?;
        let generated = matches!(&new.auth, HookAuth::Bearer { token } if token.is_empty());
        let auth = with_token(new.auth.clone(), None)?;
        let record = new.into_record(&auth);
        let hook = Hook::from_record(&record);
        validate(&hook)?;
        self.modify(|file| {
            let taken = file.items.iter().any(|item| match item {
                Lenient::Ok(r) => r.id == record.id,
                Lenient::Raw(v) => v.get("id").and_then(Value::as_str) == Some(&record.id),
            });
            if taken {
                return Err(HookError::Duplicate(record.id.clone()));
            }
            file.items.push(Lenient::Ok(record));
            Ok(())
        })?;
        let token = match (&hook.auth, generated) {
            (HookAuth::Bearer { token }, true) => Some(token.expose().to_owned()),
            _ => None,
        };
        Ok((hook, token))
    }

    /// Changes a hook; the result must still be valid (else nothing is written).
    pub fn edit(&self, id: &str, changes: HookChanges) -> Result<Hook, HookError> {
        check_hours(
            id,
            [changes.quiet_start.flatten(), changes.quiet_end.flatten()],
        )?;
        self.modify(|file| {
            let record = record_mut(file, id)?;
            let auth = match changes.auth.clone() {
                Some(auth) => {
                    let keep = match Hook::from_record(record).auth {
                        HookAuth::Bearer { token } => Some(token),
                        HookAuth::Hmac(_) => None,
                    };
                    Some(with_token(auth, keep.as_ref())?)
                }
                None => None,
            };
            let mut edited = record.clone();
            changes.apply(&mut edited, auth.as_ref());
            let hook = Hook::from_record(&edited);
            validate(&hook)?;
            *record = edited;
            Ok(hook)
        })
    }

    /// Deletes a hook (also one whose record does not parse).
    pub fn remove(&self, id: &str) -> Result<(), HookError> {
        self.modify(|file| {
            let before = file.items.len();
            file.items.retain(|item| match item {
                Lenient::Ok(r) => r.id != id,
                Lenient::Raw(v) => v.get("id").and_then(Value::as_str) != Some(id),
            });
            if file.items.len() == before {
                return Err(HookError::NotFound(id.to_owned()));
            }
            Ok(())
        })
    }

    /// Gives a bearer hook a new token and returns it (the old one stops working).
    pub fn rotate_token(&self, id: &str) -> Result<String, HookError> {
        let token = generate_token()?;
        self.modify(|file| {
            let record = record_mut(file, id)?;
            if !matches!(Hook::from_record(record).auth, HookAuth::Bearer { .. }) {
                return Err(HookError::NotBearer(id.to_owned()));
            }
            record.fields.insert("token".into(), token.clone().into());
            Ok(())
        })?;
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::Arc;

    fn new_hook(id: &str) -> NewHook {
        NewHook {
            id: id.into(),
            title: "T".into(),
            prompt_template: "Event {{action}}".into(),
            ..NewHook::default()
        }
    }

    fn on_disk(store: &HookStore) -> Value {
        serde_json::from_slice(&std::fs::read(store.path()).unwrap()).unwrap()
    }

    #[test]
    fn ids_are_checked() {
        assert!(valid_id("github-pr_2"));
        assert!(valid_id(&"a".repeat(64)));
        for bad in ["", "Upper", "a/b", "a b", "é", &"a".repeat(65)] {
            assert!(!valid_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn add_generates_a_token_and_refuses_duplicates_and_bad_settings() {
        let dir = tempfile::tempdir().unwrap();
        let store = HookStore::open(dir.path().join("webhooks.json"));
        let (hook, token) = store.add(new_hook("a")).unwrap();
        let token = token.unwrap();
        assert_eq!(token.len(), 43);
        assert_eq!(
            hook.auth,
            HookAuth::Bearer {
                token: Secret::new(&token)
            }
        );
        assert_eq!(store.get("a"), Some(hook));
        let mode = std::fs::metadata(store.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let disk = on_disk(&store);
        assert_eq!(disk["hooks"][0]["token"], token.as_str());
        assert_eq!(disk["hooks"][0]["hmac_sig_prefix"], "sha256=");
        assert_eq!(disk["hooks"][0]["trigger_count"], 0);

        assert!(matches!(
            store.add(new_hook("a")),
            Err(HookError::Duplicate(_))
        ));
        assert!(matches!(
            store.add(new_hook("A")),
            Err(HookError::InvalidId(_))
        ));
        let cron = NewHook {
            mode: HookMode::CronTask,
            ..new_hook("c")
        };
        assert!(matches!(store.add(cron), Err(HookError::Invalid(_))));
        let wake_override = NewHook {
            overrides: RunOverrides {
                model: Some("opus".into()),
                ..RunOverrides::default()
            },
            ..new_hook("w")
        };
        assert!(matches!(
            store.add(wake_override),
            Err(HookError::Invalid(_))
        ));
        let no_secret = NewHook {
            auth: HookAuth::Hmac(HmacAuth::github("")),
            ..new_hook("g")
        };
        assert!(matches!(store.add(no_secret), Err(HookError::Invalid(_))));
        let bad_hour = NewHook {
            overrides: RunOverrides {
                quiet_start: Some(24),
                ..RunOverrides::default()
            },
            ..new_hook("q")
        };
        assert!(matches!(store.add(bad_hour), Err(HookError::Invalid(_))));
        let (gh, token) = store
            .add(NewHook {
                auth: HookAuth::Hmac(HmacAuth::stripe("whsec")),
                ..new_hook("stripe")
            })
            .unwrap();
        assert_eq!(token, None);
        assert_eq!(gh.auth, HookAuth::Hmac(HmacAuth::stripe("whsec")));
        assert_eq!(store.list().len(), 2);
    }

    #[test]
    fn edits_keep_unknown_keys_and_unreadable_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("webhooks.json");
        std::fs::write(
            &path,
            json!({
                "hooks": [
                    {"id": "a", "mode": "wake", "prompt_template": "x", "token": "t0",
                     "custom": {"keep": 1}},
                    {"id": "broken", "enabled": "not a bool"}
                ],
                "version": 7
            })
            .to_string(),
        )
        .unwrap();
        let store = HookStore::open(&path);
        assert_eq!(store.list().len(), 1);
        store.record_run("a", Some(&"e".repeat(500))).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "a looser file is tightened");
        assert_eq!(store.get("a").unwrap().last_error.unwrap().len(), 200);
        store.record_run("a", None).unwrap();
        let edited = store
            .edit(
                "a",
                HookChanges {
                    enabled: Some(false),
                    title: Some("New".into()),
                    ..HookChanges::default()
                },
            )
            .unwrap();
        assert!(!edited.enabled);
        assert_eq!(edited.trigger_count, 2);
        assert_eq!(edited.last_error, None);
        let disk = on_disk(&store);
        assert_eq!(disk["version"], 7);
        assert_eq!(disk["hooks"][0]["custom"], json!({"keep": 1}));
        assert_eq!(disk["hooks"][0]["last_error"], Value::Null);
        assert!(
            disk["hooks"][0]["last_triggered_at"]
                .as_str()
                .unwrap()
                .ends_with("+00:00")
        );
        assert_eq!(
            disk["hooks"][1],
            json!({"id": "broken", "enabled": "not a bool"})
        );
        assert!(matches!(
            store.edit("broken", HookChanges::default()),
            Err(HookError::Unreadable(_))
        ));
        assert!(matches!(
            store.record_run("nope", None),
            Err(HookError::NotFound(_))
        ));

        // An edit that makes the hook invalid writes nothing.
        let bad = HookChanges {
            mode: Some(HookMode::CronTask),
            ..HookChanges::default()
        };
        assert!(matches!(store.edit("a", bad), Err(HookError::Invalid(_))));
        assert_eq!(on_disk(&store)["hooks"][0]["mode"], "wake");

        // Bearer auth on edit keeps the existing token; rotation replaces it.
        let kept = store
            .edit(
                "a",
                HookChanges {
                    auth: Some(HookAuth::default()),
                    ..HookChanges::default()
                },
            )
            .unwrap();
        assert_eq!(
            kept.auth,
            HookAuth::Bearer {
                token: Secret::new("t0")
            }
        );
        let rotated = store.rotate_token("a").unwrap();
        assert_ne!(rotated, "t0");
        assert_eq!(on_disk(&store)["hooks"][0]["token"], rotated.as_str());
        store.remove("broken").unwrap();
        store.remove("a").unwrap();
        assert!(matches!(store.remove("a"), Err(HookError::NotFound(_))));
        assert_eq!(on_disk(&store)["hooks"], json!([]));
    }

    #[test]
    fn hmac_hooks_have_no_token_to_rotate() {
        let dir = tempfile::tempdir().unwrap();
        let store = HookStore::open(dir.path().join("webhooks.json"));
        store
            .add(NewHook {
                auth: HookAuth::Hmac(HmacAuth::shopify("s")),
                ..new_hook("s")
            })
            .unwrap();
        assert!(matches!(
            store.rotate_token("s"),
            Err(HookError::NotBearer(_))
        ));
    }

    #[test]
    fn a_broken_file_keeps_the_hooks_and_refuses_writes() {
        let dir = tempfile::tempdir().unwrap();
        let store = HookStore::open(dir.path().join("webhooks.json"));
        store.add(new_hook("a")).unwrap();
        std::fs::write(store.path(), "{ not json").unwrap();
        assert!(store.reload().is_err());
        let err = store.last_load_error().unwrap();
        assert!(err.contains("webhooks.json"), "{err}");
        assert!(store.get("a").is_some(), "previous hooks stay");
        assert!(matches!(
            store.record_run("a", None),
            Err(HookError::Store(_))
        ));
        assert_eq!(std::fs::read_to_string(store.path()).unwrap(), "{ not json");
        let fresh = HookStore::open(store.path());
        assert!(fresh.list().is_empty());
        assert!(fresh.last_load_error().is_some());
        std::fs::write(store.path(), r#"{"hooks": []}"#).unwrap();
        assert_eq!(store.reload(), Ok(0));
        assert_eq!(store.last_load_error(), None);
    }

    #[test]
    fn concurrent_writers_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("webhooks.json");
        let main = Arc::new(HookStore::open(&path));
        main.add(new_hook("counted")).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let path = path.clone();
                std::thread::spawn(move || {
                    // Each thread is its own "process": a store of its own.
                    let store = HookStore::open(&path);
                    for i in 0..10 {
                        store.add(new_hook(&format!("t{t}-{i}"))).unwrap();
                        store.record_run("counted", None).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let disk = on_disk(&main);
        assert_eq!(disk["hooks"].as_array().unwrap().len(), 41);
        assert_eq!(disk["hooks"][0]["trigger_count"], 40);
    }
}
