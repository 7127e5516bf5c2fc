//! `ductor config get|set <key> [value]`: one setting of `config/config.json` (or, with
//! `--agent`, of a sub-agent's `agents.json` entry), by dotted key
//! (`streaming.enabled`, `heartbeat.group_targets.0.chat_id`).
//!
//! `get` prints the effective value as JSON: defaults filled in, a sub-agent's entry
//! merged over the main config; secrets (tokens, passwords, API keys) are masked
//! unless `--reveal`. `set` reads the value as JSON when it parses (else as a string),
//! refuses keys the config does not know (with a suggestion), checks the whole
//! resulting config as start-up does, and only then writes the file atomically under
//! its lock. A running ductor picks the change up through its file watcher; the
//! output says whether the change applies at once or needs a restart.

use crate::config::agents::{OVERRIDE_KEYS, merge_sub_agent};
use crate::config::load::{ConfigError, default_document, merge_missing, normalise, typed};
use crate::config::{AgentConfig, SubAgentEntry, reload};
use crate::paths::{Home, MAIN_AGENT};
use crate::store;
use clap::Subcommand;
use serde_json::{Map, Value};
use std::path::Path;

/// `ductor config ...`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective value of a key as JSON (secrets masked).
    Get {
        /// Dotted key, e.g. `model` or `streaming.enabled`.
        key: String,
        /// A sub-agent: its effective (merged) value.
        #[arg(long)]
        agent: Option<String>,
        /// Print secrets (tokens, passwords, API keys) as they are.
        #[arg(long)]
        reveal: bool,
    },
    /// Change a key: the value is JSON when it parses (`false`, `5`, `[1,2]`,
    /// `null`), else a string. Checked like at start-up before anything is written.
    Set {
        /// Dotted key, e.g. `model` or `heartbeat.interval_minutes`.
        key: String,
        /// The new value (may start with `-`).
        #[arg(allow_hyphen_values = true)]
        value: String,
        /// Change this sub-agent's entry in agents.json instead of config.json.
        #[arg(long)]
        agent: Option<String>,
    },
}

/// Runs a `ductor config` command; returns the exit code.
pub fn run(home: &Home, cmd: ConfigCommand) -> i32 {
    let result = match cmd {
        ConfigCommand::Get { key, agent, reveal } => get(home, agent.as_deref(), &key, reveal),
        ConfigCommand::Set { key, value, agent } => set(home, agent.as_deref(), &key, &value),
    };
    match result {
        Ok(out) => {
            println!("{out}");
            0
        }
        Err(e) => {
            eprintln!("ductor config: {e}");
            1
        }
    }
}

/// Keys of an `agents.json` entry besides [`OVERRIDE_KEYS`].
const ENTRY_KEYS: &[&str] = &[
    "transport",
    "telegram_token",
    "allowed_user_ids",
    "allowed_group_ids",
    "allowed_channel_ids",
    "matrix",
];

/// Keys whose change makes the supervisor restart a sub-agent by itself.
const ENTRY_IDENTITY: &[&str] = &["transport", "telegram_token", "matrix"];

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// The segments of a dotted key.
fn segments(key: &str) -> Result<Vec<&str>, String> {
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.trim().is_empty()) {
        return Err(format!(
            "`{key}` is not a key (use dots between names, e.g. `streaming.enabled`)"
        ));
    }
    Ok(parts)
}

/// The value at `path` (object keys, or array indexes).
fn lookup<'a>(doc: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(doc, |node, seg| match node {
        Value::Object(m) => m.get(*seg),
        Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

/// The closest of `candidates` to `word`, when it is close enough to be a typo (or
/// a slightly wrong start of the name: `strem` for `streaming`).
fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let len = word.chars().count();
    let limit = (len / 3).max(2);
    let score = |c: &str| {
        let start: String = c.chars().take(len).collect();
        let partial = if len >= 3 && c.chars().count() > len {
            distance(word, &start) + 1
        } else {
            usize::MAX
        };
        distance(word, c).min(partial)
    };
    candidates
        .into_iter()
        .map(|c| (score(c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

fn unknown(what: &str, word: &str, candidates: &[&str]) -> String {
    match suggest(word, candidates.iter().copied()) {
        Some(s) => format!("unknown {what} `{word}`; did you mean `{s}`?"),
        None => format!("unknown {what} `{word}`"),
    }
}

/// Refuses a path into the config that the config does not know: the top-level key
/// must be one of `allowed`, and inside a block with fixed fields each name must be
/// one of them (free-form blocks such as `project_roots` take any name).
fn check_path(path: &[&str], allowed: &[&str]) -> Result<(), String> {
    if !allowed.contains(&path[0]) {
        return Err(unknown("key", path[0], allowed));
    }
    let defaults = default_document();
    let mut node = defaults.get(path[0]);
    for (i, seg) in path.iter().enumerate().skip(1) {
        match node {
            Some(Value::Object(fields)) if !fields.is_empty() => {
                if !fields.contains_key(*seg) {
                    let names: Vec<&str> = fields.keys().map(String::as_str).collect();
                    let what = format!("key in `{}`", path[..i].join("."));
                    return Err(unknown(&what, seg, &names));
                }
                node = fields.get(*seg);
            }
            Some(Value::Array(items)) => node = items.first(),
            _ => node = None,
        }
    }
    Ok(())
}

/// Sets the value at `path`, creating missing objects on the way; an array index
/// must exist already.
fn put(doc: &mut Value, path: &[&str], value: Value) -> Result<(), String> {
    let Some((last, parents)) = path.split_last() else {
        return Err("empty key".into());
    };
    let mut node = doc;
    for (i, seg) in parents.iter().enumerate() {
        node = match node {
            Value::Object(m) => m
                .entry((*seg).to_owned())
                .or_insert_with(|| Value::Object(Map::new())),
            Value::Array(a) => seg
                .parse::<usize>()
                .ok()
                .and_then(|n| a.get_mut(n))
                .ok_or_else(|| format!("`{}` has no item {seg}", path[..i].join(".")))?,
            _ => return Err(format!("`{}` is not a block", path[..=i].join("."))),
        };
    }
    match node {
        Value::Object(m) => {
            m.insert((*last).to_owned(), value);
            Ok(())
        }
        Value::Array(a) => {
            let slot = last
                .parse::<usize>()
                .ok()
                .and_then(|n| a.get_mut(n))
                .ok_or_else(|| format!("`{}` has no item {last}", parents.join(".")))?;
            *slot = value;
            Ok(())
        }
        _ => Err(format!("`{}` is not a block", parents.join("."))),
    }
}

/// Fills the blocks on the way to `path` that `raw` does not have with their
/// effective values, so setting one field keeps the others (and lists stay lists).
fn seed(raw: &mut Value, effective: &Value, path: &[&str]) -> Result<(), String> {
    for i in 1..path.len() {
        if lookup(raw, &path[..i]).is_none()
            && let Some(v) = lookup(effective, &path[..i])
        {
            put(raw, &path[..i], v.clone())?;
        }
    }
    Ok(())
}

/// The default value at `path` (the first item stands for every item of a list).
fn default_at(path: &[&str]) -> Option<Value> {
    let defaults = default_document();
    let mut node = &defaults;
    for seg in path {
        node = match node {
            Value::Object(m) => m.get(*seg)?,
            Value::Array(a) => a.first()?,
            _ => return None,
        };
    }
    Some(node.clone())
}

/// Refuses a value of another kind than the default (blocks the typed config does
/// not check field by field, such as `heartbeat`, would take anything).
fn check_kind(key: &str, path: &[&str], value: &Value) -> Result<(), String> {
    let kind = |v: &Value| match v {
        Value::Null => "null",
        Value::Bool(_) => "true or false",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "a block",
    };
    match default_at(path) {
        Some(d) if !d.is_null() && !value.is_null() && kind(&d) != kind(value) => {
            Err(format!("{key} takes {}, not {}", kind(&d), kind(value)))
        }
        _ => Ok(()),
    }
}

/// The value as typed: JSON when it parses, else the text. A number or `true`
/// given for a key that holds text stays text (`model 4` is the model "4").
fn parse_value(text: &str, current: Option<&Value>) -> Value {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Number(_) | Value::Bool(_)) if current.is_some_and(Value::is_string) => {
            Value::String(text.to_owned())
        }
        Ok(v) => v,
        Err(_) => Value::String(text.to_owned()),
    }
}

/// Whether a field of this name holds a secret (`heartbeat.ack_token` is a reply
/// marker, not a secret).
fn is_secret(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n != "ack_token"
        && (n.contains("token")
            || n.contains("password")
            || n.contains("secret")
            || n.ends_with("api_key"))
}

/// `value` (found under `name`) with every secret replaced by `***`.
fn masked(name: &str, value: &Value) -> Value {
    match value {
        Value::String(s)
            if is_secret(name) && !s.trim().is_empty() && !s.eq_ignore_ascii_case("null") =>
        {
            Value::String("***".into())
        }
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), masked(k, v))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(|v| masked(name, v)).collect()),
        other => other.clone(),
    }
}

/// The main config as stored (`None` when there is none yet) and as effective
/// (normalised, defaults merged), without writing anything.
fn main_documents(home: &Home) -> Result<(Option<Value>, Value), String> {
    let path = home.main().config_file();
    let raw = store::read_json_strict::<Value>(&path).map_err(err)?;
    if raw.as_ref().is_some_and(|r| !r.is_object()) {
        return Err(err(ConfigError::WrongShape {
            path,
            expected: "object",
        }));
    }
    let effective = as_started(raw.clone().unwrap_or_else(default_document));
    Ok((raw, effective))
}

/// A stored main config as start-up sees it: normalised, defaults merged.
fn as_started(mut doc: Value) -> Value {
    normalise(&mut doc);
    merge_missing(&mut doc, &default_document());
    doc
}

/// The effective document of sub-agent `name`, given the main one.
fn merged(home: &Home, main: &Value, entry: &SubAgentEntry) -> Value {
    let mut doc = merge_sub_agent(main, entry, home);
    merge_missing(&mut doc, &default_document());
    doc
}

/// The entry of `name` in the raw `agents.json` array, by position.
fn entry_index(items: &[Value], name: &str) -> Result<usize, String> {
    items
        .iter()
        .position(|v| v.get("name").and_then(Value::as_str) == Some(name))
        .ok_or_else(|| format!("no agent named `{name}` in agents.json"))
}

fn entry_of(raw: &Value, name: &str) -> Result<SubAgentEntry, String> {
    match raw {
        Value::Object(m) => Ok(SubAgentEntry {
            name: name.to_owned(),
            raw: m.clone(),
        }),
        _ => Err(format!(
            "the agents.json entry of `{name}` is not an object"
        )),
    }
}

fn read_agents(home: &Home) -> Result<Vec<Value>, String> {
    let path = home.agents_file();
    match store::read_json_strict::<Value>(&path).map_err(err)? {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(err(ConfigError::WrongShape {
            path,
            expected: "array",
        })),
    }
}

fn sub_agent(name: Option<&str>) -> Option<&str> {
    name.filter(|n| *n != MAIN_AGENT)
}

/// `ductor config get`.
fn get(home: &Home, agent: Option<&str>, key: &str, reveal: bool) -> Result<String, String> {
    let path = segments(key)?;
    let (_, main) = main_documents(home)?;
    let doc = match sub_agent(agent) {
        None => main,
        Some(name) => {
            let items = read_agents(home)?;
            let entry = entry_of(&items[entry_index(&items, name)?], name)?;
            merged(home, &main, &entry)
        }
    };
    let Some(value) = lookup(&doc, &path) else {
        let (last, parent) = path.split_last().ok_or("empty key")?;
        let names: Vec<&str> = lookup(&doc, parent)
            .and_then(Value::as_object)
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        return Err(match suggest(last, names) {
            Some(s) => format!(
                "unknown key `{key}`; did you mean `{}`?",
                with_last(&path, s)
            ),
            None => format!("unknown key `{key}`"),
        });
    };
    let shown = if reveal {
        value.clone()
    } else {
        masked(path[path.len() - 1], value)
    };
    serde_json::to_string_pretty(&shown).map_err(err)
}

/// `path` with its last segment replaced by `last`, dotted.
fn with_last(path: &[&str], last: &str) -> String {
    let mut p: Vec<&str> = path[..path.len() - 1].to_vec();
    p.push(last);
    p.join(".")
}

/// `ductor config set`.
fn set(home: &Home, agent: Option<&str>, key: &str, text: &str) -> Result<String, String> {
    let path = segments(key)?;
    match sub_agent(agent) {
        None => set_main(home, &path, key, text),
        Some(name) => set_entry(home, name, &path, key, text),
    }
}

/// The main config as start-up would type and check it.
fn start_config(doc: &Value, file: &Path) -> Result<AgentConfig, String> {
    typed(file, &as_started(doc.clone())).map_err(err)
}

/// Refuses a value that leaves a required key unusable (it was usable before).
fn newly_missing(before: Option<&AgentConfig>, after: &AgentConfig) -> Result<(), String> {
    let had: Vec<&str> = before.map(AgentConfig::missing_keys).unwrap_or_default();
    let lost: Vec<&str> = after
        .missing_keys()
        .into_iter()
        .filter(|k| before.is_some() && !had.contains(k))
        .collect();
    if lost.is_empty() {
        Ok(())
    } else {
        Err(format!("ductor cannot start without {}", lost.join(", ")))
    }
}

fn check_token(path: &[&str], value: &Value) -> Result<(), String> {
    if path == ["telegram_token"]
        && !value
            .as_str()
            .is_some_and(crate::secret::looks_like_bot_token)
    {
        return Err("the Telegram token does not look like a bot token (`<digits>:<30+ characters>` from @BotFather)".into());
    }
    Ok(())
}

fn set_main(home: &Home, path: &[&str], key: &str, text: &str) -> Result<String, String> {
    let defaults = default_document();
    let known: Vec<&str> = defaults
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    check_path(path, &known)?;
    let file = home.main().config_file();
    let _lock = store::lock_beside(&file).map_err(err)?;
    let (raw, effective) = main_documents(home)?;
    let value = parse_value(text, lookup(&effective, path));
    check_token(path, &value)?;
    let before_raw = raw.unwrap_or_else(default_document);
    if lookup(&effective, path) == Some(&value) {
        return Ok(format!("{key} is already {}", shown(path, &value)));
    }
    check_kind(key, path, &value)?;
    let mut after_raw = before_raw.clone();
    seed(&mut after_raw, &effective, path)?;
    put(&mut after_raw, path, value.clone())?;
    let before = start_config(&before_raw, &file).ok();
    let after = start_config(&after_raw, &file)?;
    newly_missing(before.as_ref(), &after)?;
    // Sub-agents inherit the main config: none that starts now may stop starting.
    let after_doc = as_started(after_raw.clone());
    for e in crate::config::load_agents(&home.agents_file()).map_err(err)? {
        let agents = home.agents_file();
        if typed(&agents, &merged(home, &effective, &e)).is_ok()
            && let Err(problem) = typed(&agents, &merged(home, &after_doc, &e))
        {
            return Err(format!("sub-agent `{}` would not start: {problem}", e.name));
        }
    }
    store::write_json(&file, &after_raw).map_err(err)?;
    let effect = match &before {
        Some(b) => effect(b, &after, &[]),
        None => String::new(),
    };
    Ok(format!(
        "{key} = {} (config/config.json){effect}",
        shown(path, &value)
    ))
}

fn set_entry(
    home: &Home,
    name: &str,
    path: &[&str],
    key: &str,
    text: &str,
) -> Result<String, String> {
    let allowed: Vec<&str> = OVERRIDE_KEYS.iter().chain(ENTRY_KEYS).copied().collect();
    check_path(path, &allowed)?;
    let file = home.agents_file();
    let _lock = store::lock_beside(&file).map_err(err)?;
    let (_, main) = main_documents(home)?;
    let mut items = read_agents(home)?;
    let index = entry_index(&items, name)?;
    let entry = entry_of(&items[index], name)?;
    let effective = merged(home, &main, &entry);
    let value = parse_value(text, lookup(&effective, path));
    check_token(path, &value)?;
    if lookup(&effective, path) == Some(&value) {
        return Ok(format!(
            "{key} of {name} is already {}",
            shown(path, &value)
        ));
    }
    check_kind(key, path, &value)?;
    let mut raw = Value::Object(entry.raw.clone());
    // An entry's block replaces the main one whole: it starts as the effective one.
    seed(&mut raw, &effective, path)?;
    put(&mut raw, path, value.clone())?;
    let after_entry = entry_of(&raw, name)?;
    let before = typed(&file, &merged(home, &main, &entry)).ok();
    let after = typed(&file, &merged(home, &main, &after_entry)).map_err(err)?;
    newly_missing(before.as_ref(), &after)?;
    items[index] = raw;
    store::write_json(&file, &items).map_err(err)?;
    let effect = match &before {
        Some(b) => effect(b, &after, ENTRY_IDENTITY),
        None => String::new(),
    };
    Ok(format!(
        "{key} of {name} = {} (agents.json){effect}",
        shown(path, &value)
    ))
}

/// The value for the confirmation line (secrets masked).
fn shown(path: &[&str], value: &Value) -> String {
    masked(path[path.len() - 1], value).to_string()
}

/// What the running ductor does with the change.
fn effect(before: &AgentConfig, after: &AgentConfig, restarts_itself: &[&str]) -> String {
    let d = reload::diff(before, after);
    let (auto, manual): (Vec<&String>, Vec<&String>) = d
        .restart
        .iter()
        .partition(|k| restarts_itself.contains(&k.as_str()));
    if !manual.is_empty() {
        let keys: Vec<&str> = manual.iter().map(|k| k.as_str()).collect();
        format!(
            "\nNeeds a restart to take effect ({}): `ductor restart`.",
            keys.join(", ")
        )
    } else if !auto.is_empty() {
        "\nA running ductor restarts this agent with it.".into()
    } else if d.hot.is_empty() {
        String::new()
    } else {
        "\nA running ductor applies it at once (no restart needed).".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typos_get_a_suggestion_and_strangers_none() {
        assert_eq!(distance("strem", "streaming"), 4);
        assert_eq!(suggest("modle", ["model", "provider"]), Some("model"));
        assert_eq!(suggest("strem", ["streaming", "scene"]), Some("streaming"));
        assert_eq!(
            suggest("streming", ["streaming", "scene"]),
            Some("streaming")
        );
        assert_eq!(suggest("zzzzzz", ["model", "provider"]), None);
        let known: Vec<&str> = vec!["model", "streaming", "project_roots", "heartbeat"];
        assert!(check_path(&["model"], &known).is_ok());
        assert!(check_path(&["streaming", "enabled"], &known).is_ok());
        assert!(check_path(&["project_roots", "any-topic"], &known).is_ok());
        assert!(check_path(&["heartbeat", "group_targets", "0", "chat_id"], &known).is_ok());
        let e = check_path(&["streaming", "enabeld"], &known).unwrap_err();
        assert_eq!(
            e,
            "unknown key in `streaming` `enabeld`; did you mean `enabled`?"
        );
        let e = check_path(&["modl"], &known).unwrap_err();
        assert!(e.contains("did you mean `model`"), "{e}");
    }

    #[test]
    fn values_are_json_when_they_parse() {
        assert_eq!(parse_value("false", Some(&json!(true))), json!(false));
        assert_eq!(parse_value("[1, 2]", None), json!([1, 2]));
        assert_eq!(parse_value("null", Some(&json!(5))), Value::Null);
        assert_eq!(parse_value("sonnet", Some(&json!("opus"))), json!("sonnet"));
        assert_eq!(
            parse_value("4", Some(&json!("opus"))),
            json!("4"),
            "text stays text"
        );
        assert_eq!(parse_value("4", Some(&json!(1))), json!(4));
    }

    #[test]
    fn put_creates_blocks_but_not_array_items() {
        let mut doc = json!({"model": "opus", "heartbeat": {"group_targets": [{"chat_id": null}]}});
        put(&mut doc, &["streaming", "enabled"], json!(false)).unwrap();
        put(
            &mut doc,
            &["heartbeat", "group_targets", "0", "chat_id"],
            json!(-100),
        )
        .unwrap();
        assert_eq!(doc["streaming"], json!({"enabled": false}));
        assert_eq!(doc["heartbeat"]["group_targets"][0]["chat_id"], -100);
        assert!(
            put(
                &mut doc,
                &["heartbeat", "group_targets", "3", "chat_id"],
                json!(1)
            )
            .is_err()
        );
        assert!(put(&mut doc, &["model", "x"], json!(1)).is_err());
        assert_eq!(
            lookup(&doc, &["heartbeat", "group_targets", "0", "chat_id"]),
            Some(&json!(-100))
        );
    }

    #[test]
    fn secrets_are_masked_wherever_they_are() {
        let doc = json!({"telegram_token": "1:abc", "gemini_api_key": "null",
            "webhooks": {"token": "t", "port": 1}, "matrix": {"password": "", "access_token": "x"},
            "model": "opus"});
        assert_eq!(
            masked("", &doc),
            json!({"telegram_token": "***", "gemini_api_key": "null",
                "webhooks": {"token": "***", "port": 1},
                "matrix": {"password": "", "access_token": "***"}, "model": "opus"})
        );
        assert_eq!(masked("telegram_token", &json!("1:abc")), json!("***"));
        let hb = json!({"ack_token": "HEARTBEAT_OK"});
        assert_eq!(masked("heartbeat", &hb), hb);
    }
}
