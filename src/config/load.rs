//! Loading `config.json`: strict parsing (errors name file, line and column),
//! normalisation (§3.1), and the recursive merge of missing default keys. Keys the
//! defaults do not know are kept as they are; the file is rewritten (atomically)
//! only when something was added or normalised.

use super::model::AgentConfig;
use crate::store::{self, StoreError};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// Errors loading a user-edited configuration file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Reading, parsing or writing failed (the message names file, line and column).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The top level is not what the file must hold.
    #[error("{path}: expected a JSON {expected} at the top level")]
    WrongShape {
        /// The file.
        path: PathBuf,
        /// `object` or `array`.
        expected: &'static str,
    },
    /// No agent of that name is defined in `agents.json`.
    #[error("no agent named `{0}` in agents.json")]
    UnknownAgent(String),
    /// Values out of their range.
    #[error("{}: {}", path.display(), problems.join("; "))]
    OutOfRange {
        /// The file.
        path: PathBuf,
        /// `key: problem`, one per value.
        problems: Vec<String>,
    },
}

/// A loaded configuration: the raw document (with unknown keys) and its typed view.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// Where it came from.
    pub path: PathBuf,
    /// The document as stored, after defaults were merged in.
    pub raw: Value,
    /// The typed view used by the program.
    pub config: AgentConfig,
    /// Whether the file was created or rewritten during this load.
    pub written: bool,
}

/// The full default document: every key of §3.2 with its default value.
pub fn default_document() -> Value {
    // Invariant: AgentConfig contains only JSON-representable fields.
    serde_json::to_value(AgentConfig::default()).expect("default config serializes")
}

/// Loads `path`, creating it from the defaults when it does not exist.
pub fn load_config_file(path: &Path) -> Result<LoadedConfig, ConfigError> {
    let Some(loaded) = read_config_file(path)? else {
        let raw = default_document();
        store::write_json(path, &raw)?;
        let config = typed(path, &raw)?;
        return Ok(LoadedConfig {
            path: path.to_path_buf(),
            raw,
            config,
            written: true,
        });
    };
    if loaded.written {
        store::write_json(path, &loaded.raw)?;
        tracing::info!(path = %path.display(), "added missing default keys to config");
    }
    Ok(loaded)
}

/// Reads `path` exactly as [`load_config_file`] does (parsed, normalised, defaults
/// merged, checked) but writes nothing: `written` says whether the load would have
/// rewritten the file. `Ok(None)` when the file does not exist. Live reload and
/// `ductor config` use it: they must not rewrite a file the user is editing (nor a
/// sub-agent the main home).
pub fn read_config_file(path: &Path) -> Result<Option<LoadedConfig>, ConfigError> {
    let Some(mut raw) = store::read_json_strict::<Value>(path)? else {
        return Ok(None);
    };
    if !raw.is_object() {
        return Err(ConfigError::WrongShape {
            path: path.to_path_buf(),
            expected: "object",
        });
    }
    // Type errors are reported against the file text so they carry line and column.
    let bytes = std::fs::read(path).map_err(|source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if let Err(err) = serde_json::from_slice::<AgentConfig>(&bytes) {
        return Err(parse_error(path, &err).into());
    }
    let mut changed = normalise(&mut raw);
    changed |= merge_missing(&mut raw, &default_document());
    // Checked before anything is written: a config with errors stays as it is.
    let config = typed(path, &raw)?;
    Ok(Some(LoadedConfig {
        path: path.to_path_buf(),
        raw,
        config,
        written: changed,
    }))
}

/// Converts a merged document into the typed view; numbers out of range are an error.
pub fn typed(path: &Path, raw: &Value) -> Result<AgentConfig, ConfigError> {
    let config: AgentConfig = serde_json::from_value(raw.clone()).map_err(|e| {
        ConfigError::Store(StoreError::Parse {
            path: path.to_path_buf(),
            line: 0,
            column: 0,
            message: e.to_string(),
        })
    })?;
    let problems = super::check::problems(&config);
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError::OutOfRange {
            path: path.to_path_buf(),
            problems,
        })
    }
}

fn parse_error(path: &Path, err: &serde_json::Error) -> StoreError {
    let full = err.to_string();
    let message = full
        .rsplit_once(" at line ")
        .map_or(full.as_str(), |(head, _)| head)
        .to_owned();
    StoreError::Parse {
        path: path.to_path_buf(),
        line: err.line(),
        column: err.column(),
        message,
    }
}

/// Adds keys of `defaults` missing from `target`, recursing into nested objects.
/// Existing values (including lists and unknown keys) are never touched.
/// Returns whether anything was added.
pub fn merge_missing(target: &mut Value, defaults: &Value) -> bool {
    let (Value::Object(t), Value::Object(d)) = (target, defaults) else {
        return false;
    };
    let mut changed = false;
    for (key, dv) in d {
        match t.get_mut(key) {
            None => {
                t.insert(key.clone(), dv.clone());
                changed = true;
            }
            Some(tv) if tv.is_object() && dv.is_object() => changed |= merge_missing(tv, dv),
            Some(_) => {}
        }
    }
    changed
}

/// §3.1 normalisation on the raw document: `gemini_api_key: null` becomes `"null"`,
/// `transport` (authoritative) comes first in `transports`, and a config that turned
/// the original's stage reactions off keeps status reactions off.
pub fn normalise(raw: &mut Value) -> bool {
    let Some(obj) = raw.as_object_mut() else {
        return false;
    };
    let mut changed = false;
    if obj.get("gemini_api_key").is_some_and(Value::is_null) {
        obj.insert("gemini_api_key".into(), Value::String("null".into()));
        changed = true;
    }
    changed | normalise_transports(obj) | normalise_reactions(obj)
}

/// `scene.status_reaction: false` (the original's default is on, so the user chose it)
/// without `scene.status_reactions`: the new status reactions start off too, so an
/// upgrade does not put reactions back on the user's messages.
fn normalise_reactions(obj: &mut Map<String, Value>) -> bool {
    let Some(scene) = obj.get_mut("scene").and_then(Value::as_object_mut) else {
        return false;
    };
    if scene.get("status_reaction") != Some(&Value::Bool(false))
        || scene.contains_key("status_reactions")
    {
        return false;
    }
    scene.insert("status_reactions".into(), Value::Bool(false));
    true
}

fn normalise_transports(obj: &mut Map<String, Value>) -> bool {
    let list: Vec<String> = obj
        .get("transports")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let transport = match obj.get("transport").and_then(Value::as_str) {
        Some(t) => t.to_owned(),
        None => match list.first() {
            Some(first) => {
                obj.insert("transport".into(), Value::String(first.clone()));
                first.clone()
            }
            None => return false,
        },
    };
    let wanted: Vec<String> = if list.contains(&transport) {
        std::iter::once(transport.clone())
            .chain(list.iter().filter(|t| **t != transport).cloned())
            .collect()
    } else {
        vec![transport]
    };
    if wanted == list {
        return false;
    }
    obj.insert(
        "transports".into(),
        Value::Array(wanted.into_iter().map(Value::String).collect()),
    );
    true
}

/// Sets top-level keys of a config file atomically, keeping every other key and the
/// key order (used by `/model`). Writes nothing when the values are already set.
/// Runs under the file's lock (`config.json.lock`), like `ductor config set`.
pub fn update_config_file(path: &Path, updates: &[(&str, Value)]) -> Result<bool, ConfigError> {
    modify_config_file(path, |obj| {
        let mut changed = false;
        for (key, value) in updates {
            if obj.get(*key) != Some(value) {
                obj.insert((*key).to_owned(), value.clone());
                changed = true;
            }
        }
        changed
    })
}

/// The object `key` of the config document `doc` read from `file`: `Ok(None)` when
/// it is missing or null, an error sentence when it is something else.
pub fn object_block(
    doc: &serde_json::Map<String, Value>,
    key: &str,
    file: &Path,
) -> Result<Option<serde_json::Map<String, Value>>, String> {
    match doc.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m.clone())),
        Some(other) => Err(format!(
            "`{key}` in {} is not an object but {other}; fix or remove it first",
            file.display()
        )),
    }
}

/// Changes a config file atomically under its lock (`config.json.lock`): `change`
/// gets its top-level object (the defaults when the file is missing) and says
/// whether it changed anything; only then is the file written.
pub fn modify_config_file(
    path: &Path,
    change: impl FnOnce(&mut serde_json::Map<String, Value>) -> bool,
) -> Result<bool, ConfigError> {
    let _lock = store::lock_beside(path)?;
    let mut raw = store::read_json_strict::<Value>(path)?.unwrap_or_else(default_document);
    let Some(obj) = raw.as_object_mut() else {
        return Err(ConfigError::WrongShape {
            path: path.to_path_buf(),
            expected: "object",
        });
    };
    let changed = change(obj);
    if changed {
        store::write_json(path, &raw)?;
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_adds_only_missing_keys_recursively() {
        let mut user = json!({"model": "sonnet", "streaming": {"min_chars": 10}, "extra": [1]});
        let defaults = json!({"model": "opus", "provider": "claude",
            "streaming": {"min_chars": 200, "max_chars": 4000}});
        assert!(merge_missing(&mut user, &defaults));
        assert_eq!(
            user,
            json!({"model": "sonnet", "streaming": {"min_chars": 10, "max_chars": 4000},
                "extra": [1], "provider": "claude"})
        );
        assert!(!merge_missing(&mut user, &defaults));
    }

    #[test]
    fn stage_reactions_turned_off_keep_status_reactions_off() {
        let mut v = json!({"scene": {"status_reaction": false}});
        assert!(normalise(&mut v));
        assert_eq!(v["scene"]["status_reactions"], json!(false));
        assert!(!normalise(&mut v), "once");
        for scene in [
            json!({"status_reaction": true}),
            json!({}),
            json!({"status_reaction": false, "status_reactions": true}),
        ] {
            let mut v = json!({ "scene": scene.clone() });
            assert!(!normalise(&mut v));
            assert_eq!(v["scene"], scene);
        }
    }

    #[test]
    fn transport_is_authoritative() {
        let mut v = json!({"transport": "matrix", "transports": ["telegram", "matrix"]});
        assert!(normalise(&mut v));
        assert_eq!(v["transports"], json!(["matrix", "telegram"]));
        let mut v = json!({"transport": "telegram", "transports": ["matrix"]});
        assert!(normalise(&mut v));
        assert_eq!(v["transports"], json!(["telegram"]));
        let mut v = json!({"transport": "telegram", "transports": ["telegram"]});
        assert!(!normalise(&mut v));
        let mut v = json!({"gemini_api_key": null});
        assert!(normalise(&mut v));
        assert_eq!(v["gemini_api_key"], "null");
    }

    #[test]
    fn defaults_match_the_reference() {
        let d = default_document();
        assert_eq!(d["timeouts"]["normal"], 600.0);
        assert_eq!(d["streaming"]["edit_interval_seconds"], 2.0);
        assert_eq!(d["permission_mode"], "bypassPermissions");
        assert_eq!(d["gemini_api_key"], "null");
        assert_eq!(d["telegram_api_url"], "https://api.telegram.org");
        assert_eq!(d["tasks"]["max_parallel"], 5);
        assert_eq!(d["webhooks"]["enabled"], false);
        assert_eq!(d["image"]["max_dimension"], 2000);
    }

    #[test]
    fn type_errors_carry_position_and_leave_file_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        let text = "{\n  \"streaming\": {\"min_chars\": \"many\"}\n}\n";
        std::fs::write(&path, text).unwrap();
        let err = load_config_file(&path).unwrap_err().to_string();
        assert!(err.contains("config.json"), "{err}");
        assert!(err.contains("line 2"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }

    #[test]
    fn unknown_keys_survive_and_missing_defaults_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, "{\"model\": \"sonnet\", \"future_key\": {\"x\": 1}}").unwrap();
        let loaded = load_config_file(&path).unwrap();
        assert!(loaded.written);
        assert_eq!(loaded.config.model, "sonnet");
        let on_disk: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(on_disk["future_key"], json!({"x": 1}));
        assert_eq!(on_disk["streaming"]["min_chars"], 200);
        let keys: Vec<_> = on_disk
            .as_object()
            .unwrap()
            .keys()
            .take(2)
            .cloned()
            .collect();
        assert_eq!(keys, ["model", "future_key"], "user key order is kept");
        let again = load_config_file(&path).unwrap();
        assert!(!again.written, "a complete file is not rewritten");
    }
}
