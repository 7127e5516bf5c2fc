//! `agents.json` (the sub-agent registry, §4.6) and the sub-agent config merge (§3.3).
//!
//! Entries are kept as raw JSON objects so keys this version does not know survive
//! a rewrite by `ductor agents add/remove`.

use super::load::{ConfigError, default_document, typed};
use super::model::AgentConfig;
use crate::paths::{Home, MAIN_AGENT};
use crate::secret::{Secret, looks_like_bot_token};
use crate::store::{self, StoreError};
use serde_json::{Map, Value};
use std::path::Path;

/// Keys of an entry that override the main config (nested blocks replace wholesale).
pub const OVERRIDE_KEYS: &[&str] = &[
    "provider",
    "model",
    "log_level",
    "idle_timeout_minutes",
    "session_age_warning_hours",
    "daily_reset_hour",
    "daily_reset_enabled",
    "max_budget_usd",
    "max_turns",
    "max_session_messages",
    "permission_mode",
    "cli_timeout",
    "reasoning_effort",
    "file_access",
    "file_access_allow",
    "max_concurrent_runs",
    "max_reply_messages",
    "streaming",
    "docker",
    "sandbox",
    "heartbeat",
    "cleanup",
    "webhooks",
    "api",
    "cli_parameters",
    "user_timezone",
    "group_mention_only",
    "language",
    "timeouts",
    "telegram_api_url",
];

/// One entry of `agents.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct SubAgentEntry {
    /// The agent name (lower-case, unique, not `main`).
    pub name: String,
    /// The entry as stored, unknown keys included.
    pub raw: Map<String, Value>,
}

impl SubAgentEntry {
    /// Transport of the entry (`telegram` unless set).
    pub fn transport(&self) -> &str {
        self.raw
            .get("transport")
            .and_then(Value::as_str)
            .unwrap_or("telegram")
    }

    /// The entry's Telegram token.
    pub fn telegram_token(&self) -> Secret {
        Secret::new(
            self.raw
                .get("telegram_token")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        )
    }

    /// What identifies the bot behind this agent: a change means a restart.
    pub fn identity(&self) -> Value {
        let matrix = self.raw.get("matrix");
        serde_json::json!({
            "transport": self.transport(),
            "telegram_token": self.raw.get("telegram_token"),
            "homeserver": matrix.and_then(|m| m.get("homeserver")),
            "user_id": matrix.and_then(|m| m.get("user_id")),
        })
    }
}

/// Why a name cannot be used for a sub-agent, if it cannot.
pub fn name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("the name is empty")
    } else if name == MAIN_AGENT {
        Some("`main` is reserved for the main agent")
    } else if name.len() > 32 {
        Some("the name is longer than 32 characters")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        || !name.as_bytes()[0].is_ascii_lowercase()
    {
        Some("use lower-case letters, digits, `-` and `_`, starting with a letter")
    } else {
        None
    }
}

/// Reads `agents.json` strictly. A missing file is an empty registry; a syntax
/// error is an error naming line and column; entries with a bad or duplicate name
/// are skipped with a warning (the others still load).
pub fn load_agents(path: &Path) -> Result<Vec<SubAgentEntry>, ConfigError> {
    let Some(doc) = store::read_json_strict::<Value>(path)? else {
        return Ok(Vec::new());
    };
    let Value::Array(items) = doc else {
        return Err(ConfigError::WrongShape {
            path: path.to_path_buf(),
            expected: "array",
        });
    };
    let mut out: Vec<SubAgentEntry> = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let Value::Object(raw) = item else {
            tracing::warn!(path = %path.display(), index = i, "agents.json entry is not an object; skipped");
            continue;
        };
        let Some(name) = raw.get("name").and_then(Value::as_str).map(str::to_owned) else {
            tracing::warn!(path = %path.display(), index = i, "agents.json entry has no name; skipped");
            continue;
        };
        if let Some(problem) = name_problem(&name) {
            tracing::warn!(path = %path.display(), name, "agents.json entry skipped: {problem}");
            continue;
        }
        if out.iter().any(|e| e.name == name) {
            tracing::warn!(path = %path.display(), name, "duplicate agents.json entry skipped");
            continue;
        }
        out.push(SubAgentEntry { name, raw });
    }
    Ok(out)
}

/// Writes the registry atomically.
pub fn save_agents(path: &Path, entries: &[SubAgentEntry]) -> Result<(), StoreError> {
    let doc: Vec<Value> = entries
        .iter()
        .map(|e| Value::Object(e.raw.clone()))
        .collect();
    store::write_json(path, &doc)
}

/// Builds a sub-agent's config: the main document with the entry's overrides
/// (nested blocks replace wholesale), then the forced identity keys.
pub fn merge_sub_agent(main_raw: &Value, entry: &SubAgentEntry, home: &Home) -> Value {
    let mut merged = main_raw.clone();
    if !merged.is_object() {
        merged = default_document();
    }
    let Some(obj) = merged.as_object_mut() else {
        unreachable!("checked above")
    };
    for key in OVERRIDE_KEYS {
        if let Some(v) = entry.raw.get(*key).filter(|v| !v.is_null()) {
            obj.insert((*key).to_owned(), v.clone());
        }
    }
    let transport = entry.transport().to_owned();
    obj.insert(
        "ductor_home".into(),
        Value::String(home.agent(&entry.name).root().display().to_string()),
    );
    obj.insert("transport".into(), Value::String(transport.clone()));
    obj.insert(
        "transports".into(),
        Value::Array(vec![Value::String(transport)]),
    );
    {
        let key = "telegram_token";
        obj.insert(
            key.into(),
            entry
                .raw
                .get(key)
                .cloned()
                .unwrap_or(Value::String(String::new())),
        );
    }
    for key in [
        "allowed_user_ids",
        "allowed_group_ids",
        "allowed_channel_ids",
    ] {
        obj.insert(
            key.into(),
            entry
                .raw
                .get(key)
                .cloned()
                .unwrap_or(Value::Array(Vec::new())),
        );
    }
    if let Some(m) = entry.raw.get("matrix").filter(|v| v.is_object()) {
        obj.insert("matrix".into(), m.clone());
    }
    if !entry.raw.contains_key("api")
        && let Some(api) = obj.get_mut("api").and_then(Value::as_object_mut)
    {
        api.insert("enabled".into(), Value::Bool(false));
    }
    merged
}

/// The typed config of any agent: `main` reads `config/config.json`, a sub-agent
/// merges its `agents.json` entry into it.
pub fn agent_config(
    home: &Home,
    name: &str,
    main_raw: &Value,
    entries: &[SubAgentEntry],
) -> Result<Option<AgentConfig>, ConfigError> {
    if name == MAIN_AGENT {
        return typed(&home.main().config_file(), main_raw).map(Some);
    }
    let Some(entry) = entries.iter().find(|e| e.name == name) else {
        return Ok(None);
    };
    let file = home.agents_file();
    typed(&file, &merge_sub_agent(main_raw, entry, home))
        .map(Some)
        .map_err(|e| match e {
            ConfigError::Store(StoreError::Parse {
                line: 0, message, ..
            }) => ConfigError::Store(entry_error_at(&file, name, &message).unwrap_or(
                StoreError::Parse {
                    path: file.clone(),
                    line: 0,
                    column: 0,
                    message,
                },
            )),
            other => other,
        })
}

/// The error `message` of entry `name` with its line and column in `agents.json`:
/// the entry's own text is read as a configuration, and its position is shifted by
/// where the entry starts in the file. `None` when the text does not show that error.
fn entry_error_at(path: &Path, name: &str, message: &str) -> Option<StoreError> {
    use serde_json::value::RawValue;
    let text = std::fs::read_to_string(path).ok()?;
    let entries: Vec<&RawValue> = serde_json::from_str(&text).ok()?;
    let raw = entries.into_iter().find(|r| {
        serde_json::from_str::<Value>(r.get())
            .ok()
            .is_some_and(|v| v.get("name").and_then(Value::as_str) == Some(name))
    })?;
    let err = serde_json::from_str::<AgentConfig>(raw.get()).err()?;
    let full = err.to_string();
    let own = full
        .rsplit_once(" at line ")
        .map_or(full.as_str(), |(m, _)| m);
    if own != message {
        return None;
    }
    // The entry's text is a slice of `text`: where it starts is its offset in the file.
    let before = &text[..(raw.get().as_ptr() as usize).checked_sub(text.as_ptr() as usize)?];
    let start_line = before.matches('\n').count() + 1;
    let start_col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    let (line, column) = if err.line() == 1 {
        (start_line, start_col + err.column() - 1)
    } else {
        (start_line + err.line() - 1, err.column())
    };
    Some(StoreError::Parse {
        path: path.to_path_buf(),
        line,
        column,
        message: message.to_owned(),
    })
}

/// Validates fields given to `ductor agents add`.
pub fn validate_new_entry(
    existing: &[SubAgentEntry],
    name: &str,
    token: &str,
) -> Result<(), String> {
    if let Some(problem) = name_problem(name) {
        return Err(format!("invalid agent name `{name}`: {problem}"));
    }
    if existing.iter().any(|e| e.name == name) {
        return Err(format!("an agent named `{name}` already exists"));
    }
    if !looks_like_bot_token(token) {
        return Err(
            "the Telegram token does not look like a bot token (`<digits>:<30+ characters>` from @BotFather)"
                .into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(v: &Value) -> SubAgentEntry {
        let raw = v.as_object().unwrap().clone();
        SubAgentEntry {
            name: raw["name"].as_str().unwrap().to_owned(),
            raw,
        }
    }

    #[test]
    fn nested_blocks_replace_wholesale_and_identity_is_forced() {
        let mut main = default_document();
        main["telegram_token"] = json!("111:main");
        main["allowed_user_ids"] = json!([1, 2]);
        main["transports"] = json!(["telegram", "matrix"]);
        let e = entry(&json!({"name": "sub1", "telegram_token": "222:sub",
            "streaming": {"enabled": false}, "model": "gpt-5.5", "provider": "codex",
            "ductor_home": "/elsewhere"}));
        let home = Home::new("/h");
        let merged = merge_sub_agent(&main, &e, &home);
        assert_eq!(merged["streaming"], json!({"enabled": false}));
        assert_eq!(merged["model"], "gpt-5.5");
        assert_eq!(merged["telegram_token"], "222:sub");
        assert_eq!(merged["allowed_user_ids"], json!([]));
        assert_eq!(merged["transports"], json!(["telegram"]));
        assert_eq!(merged["ductor_home"], "/h/agents/sub1");
        assert_eq!(merged["api"]["enabled"], false);
        let typed = typed(Path::new("agents.json"), &merged).unwrap();
        assert!(
            typed.streaming.min_chars == 200,
            "missing nested keys fall back to defaults"
        );
    }

    #[test]
    fn bad_entries_are_skipped_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agents.json");
        std::fs::write(
            &path,
            r#"[{"name": "ok1"}, {"name": "main"}, {"name": "Bad Name"}, 5, {"name": "ok1"}, {"x": 1}]"#,
        )
        .unwrap();
        let entries = load_agents(&path).unwrap();
        assert_eq!(
            entries.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
            ["ok1"]
        );
        std::fs::write(&path, "{\"name\": 1}").unwrap();
        assert!(load_agents(&path).is_err());
        std::fs::write(&path, "[{").unwrap();
        assert!(
            load_agents(&path)
                .unwrap_err()
                .to_string()
                .contains("line 1")
        );
    }

    #[test]
    fn a_bad_value_in_an_entry_names_its_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path());
        let text =
            "[\n  {\"name\": \"ok\"},\n  {\"name\": \"bad\",\n   \"max_turns\": \"many\"}\n]\n";
        std::fs::write(home.agents_file(), text).unwrap();
        let entries = load_agents(&home.agents_file()).unwrap();
        let main = default_document();
        assert!(agent_config(&home, "ok", &main, &entries).is_ok());
        let err = agent_config(&home, "bad", &main, &entries).unwrap_err();
        match &err {
            ConfigError::Store(StoreError::Parse { line, column, .. }) => {
                assert_eq!((*line, *column), (4, 22), "{err}");
            }
            other => panic!("{other}"),
        }
        assert!(
            err.to_string().contains("invalid type: string \"many\""),
            "{err}"
        );
        // On one line with the start of the array, the column is shifted too.
        std::fs::write(
            home.agents_file(),
            r#"[{"name": "bad", "max_turns": "many"}]"#,
        )
        .unwrap();
        let err = agent_config(&home, "bad", &main, &entries).unwrap_err();
        assert!(err.to_string().contains("line 1, column 36"), "{err}");
    }

    #[test]
    fn new_entry_validation() {
        let existing = vec![entry(&json!({"name": "sub1"}))];
        let token = "12345678:ABCDEFGHIJKLMNOPQRSTUVWXYZ_-abcd";
        assert!(validate_new_entry(&existing, "sub2", token).is_ok());
        assert!(
            validate_new_entry(&existing, "sub1", token)
                .unwrap_err()
                .contains("exists")
        );
        assert!(validate_new_entry(&existing, "main", token).is_err());
        assert!(validate_new_entry(&existing, "Sub2", token).is_err());
        assert!(validate_new_entry(&existing, "sub2", "nope").is_err());
    }
}
