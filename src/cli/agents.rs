//! `ductor agents list|add|remove`: edit `agents.json` (atomically, keeping
//! unknown keys). A running supervisor notices the change on its own.

use crate::config::agents::{load_agents, save_agents, validate_new_entry};
use crate::config::{ConfigError, SubAgentEntry};
use crate::paths::{Home, MAIN_AGENT};
use crate::secret::Secret;
use serde_json::{Map, Value, json};
use std::io::{BufRead, IsTerminal, Write};

/// Options of `ductor agents add`.
#[derive(Debug, Clone, clap::Args)]
pub struct AddArgs {
    /// Agent name: lower-case letters, digits, `-`, `_`; not `main`.
    pub name: String,
    /// Telegram bot token from @`BotFather` (visible to other users in the process
    /// list: prefer --token-file or the prompt).
    #[arg(long)]
    pub token: Option<String>,
    /// A file whose first line is the bot token; `-` reads it from standard input.
    #[arg(long, conflicts_with = "token")]
    pub token_file: Option<std::path::PathBuf>,
    /// What the agent is for (kept in its `agents.json` entry).
    #[arg(long)]
    pub description: Option<String>,
    /// Allowed Telegram user ids, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub users: Option<Vec<i64>>,
    /// Allowed Telegram group ids, comma-separated (negative).
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    pub groups: Option<Vec<i64>>,
    /// Provider: claude, codex or gemini.
    #[arg(long)]
    pub provider: Option<String>,
    /// Model (default: the provider's default).
    #[arg(long)]
    pub model: Option<String>,
}

fn prompt(question: &str) -> Option<String> {
    print!("{question}: ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).ok()?;
    let line = line.trim().to_owned();
    (!line.is_empty()).then_some(line)
}

/// Comma-separated numeric ids (user or group ids; empty parts are skipped).
pub(crate) fn parse_ids(text: &str) -> Result<Vec<i64>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| format!("`{s}` is not a numeric id")))
        .collect()
}

fn load(home: &Home) -> Result<Vec<SubAgentEntry>, String> {
    load_agents(&home.agents_file()).map_err(|e: ConfigError| e.to_string())
}

/// Runs `ductor agents list`.
pub async fn list(home: &Home) -> i32 {
    let entries = match load(home) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    let health = super::status::fetch_health(home).await.ok();
    println!("{:<16} {:<9} {:<8} MODEL", "AGENT", "STATUS", "PROVIDER");
    let main_cfg = crate::config::load_config_file(&home.main().config_file()).ok();
    let mut rows: Vec<(String, String, String)> = vec![(
        MAIN_AGENT.to_owned(),
        main_cfg
            .as_ref()
            .map_or_else(String::new, |c| c.config.provider.clone()),
        main_cfg
            .as_ref()
            .map_or_else(String::new, |c| c.config.model.clone()),
    )];
    for e in &entries {
        let get = |k: &str| {
            e.raw
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or("(main)")
                .to_owned()
        };
        rows.push((e.name.clone(), get("provider"), get("model")));
    }
    for (name, provider, model) in rows {
        let status = health
            .as_ref()
            .and_then(|h| h.agents.iter().find(|a| a.name == name))
            .map_or("stopped", |a| match a.status {
                crate::ipc::message::AgentStatus::Running => "running",
                crate::ipc::message::AgentStatus::Starting => "starting",
                crate::ipc::message::AgentStatus::Crashed => "crashed",
                crate::ipc::message::AgentStatus::Stopped => "stopped",
            });
        println!("{name:<16} {status:<9} {provider:<8} {model}");
    }
    0
}

/// Checks `token` with `getMe` at the main agent's Bot API server: a refused or
/// malformed token is an error; an unreachable server only a warning (an offline
/// set-up), since the agent names a bad token at its start anyway.
fn check_token(home: &Home, token: &str, rt: &tokio::runtime::Runtime) -> Result<(), String> {
    use crate::transport::telegram::probe::{ProbeError, get_me};
    let api_url = crate::config::load::read_config_file(&home.main().config_file())
        .ok()
        .flatten()
        .map_or_else(
            || crate::config::model::DEFAULT_TELEGRAM_API_URL.to_owned(),
            |c| c.config.telegram_api_url,
        );
    match rt.block_on(get_me(&api_url, token, std::time::Duration::from_secs(15))) {
        Ok(bot) => {
            println!(
                "✓ the token belongs to @{} ({})",
                bot.username, bot.first_name
            );
            Ok(())
        }
        Err(e @ ProbeError::Unreachable { .. }) => {
            eprintln!("note: the token was not checked: {e}");
            Ok(())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Asks for the token on the terminal (hidden) until Telegram accepts it.
fn ask_token(home: &Home, rt: &tokio::runtime::Runtime) -> Result<String, String> {
    use super::onboarding::prompt::{Prompter, TermPrompter};
    let mut p = TermPrompter::new();
    loop {
        let token = p
            .secret("Telegram bot token from @BotFather (hidden)")
            .map_err(|e| format!("no token: {e}"))?
            .trim()
            .to_owned();
        if token.is_empty() {
            continue;
        }
        match check_token(home, &token, rt) {
            Ok(()) => return Ok(token),
            Err(e) => eprintln!("✗ {e}"),
        }
    }
}

/// Runs `ductor agents add`.
pub fn add(home: &Home, args: AddArgs, rt: &tokio::runtime::Runtime) -> i32 {
    match add_inner(home, args, rt) {
        Ok(msg) => {
            println!("{msg}");
            0
        }
        Err(e) => {
            eprintln!("ductor agents add: {e}");
            1
        }
    }
}

/// The first non-empty line of `path` (`-`: standard input), trimmed: a secret
/// (`what`: "token", "password") that must not go through the command line.
pub(crate) fn first_line(path: &std::path::Path, what: &str) -> Result<String, String> {
    let text = if path == std::path::Path::new("-") {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the {what} from standard input: {e}"))?;
        line
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the {what} file {}: {e}", path.display()))?
    };
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| format!("{} holds no {what}", path.display()))
}

fn add_inner(
    home: &Home,
    mut args: AddArgs,
    rt: &tokio::runtime::Runtime,
) -> Result<String, String> {
    let mut entries = load(home)?;
    if let Some(path) = &args.token_file {
        args.token = Some(first_line(path, "token")?);
    } else if args.token.is_some() {
        eprintln!(
            "note: a token given with --token is visible in the process list; --token-file or the prompt keep it private"
        );
    }
    let interactive = std::io::stdin().is_terminal();
    let name = args.name.trim().to_ascii_lowercase();
    // The name (and a given token's shape) is checked before anything is asked or sent.
    if let Some(problem) = crate::config::agents::name_problem(&name) {
        return Err(format!("invalid agent name `{name}`: {problem}"));
    }
    if entries.iter().any(|e| e.name == name) {
        return Err(format!("an agent named `{name}` already exists"));
    }
    match &args.token {
        Some(token) => {
            validate_new_entry(&entries, &name, token)?;
            check_token(home, token, rt)?;
        }
        None if interactive => args.token = Some(ask_token(home, rt)?),
        None => {}
    }
    if interactive {
        if args.users.is_none() {
            args.users = prompt("Allowed Telegram user ids (comma-separated)")
                .map(|s| parse_ids(&s))
                .transpose()?;
        }
        if args.provider.is_none() {
            args.provider = prompt("Provider [claude/codex/gemini] (empty = same as main)");
        }
        if args.model.is_none() && args.provider.is_some() {
            args.model = prompt("Model (empty = provider default)");
        }
    }
    let token = args
        .token
        .ok_or("a token is required: --token-file FILE (or - for standard input), or run on a terminal to be asked")?;
    validate_new_entry(&entries, &name, &token)?;
    let users = args.users.unwrap_or_default();
    if users.is_empty() {
        return Err("at least one allowed user id is required (--users 123,456)".into());
    }
    if let Some(p) = &args.provider {
        p.parse::<crate::provider::ProviderKind>()
            .map_err(|e| e.to_string())?;
    }
    let mut raw = Map::new();
    raw.insert("name".into(), json!(name));
    raw.insert("transport".into(), json!("telegram"));
    raw.insert("telegram_token".into(), json!(Secret::new(token).expose()));
    raw.insert("allowed_user_ids".into(), json!(users));
    raw.insert(
        "allowed_group_ids".into(),
        json!(args.groups.unwrap_or_default()),
    );
    if let Some(p) = args.provider {
        raw.insert("provider".into(), json!(p.to_ascii_lowercase()));
    }
    if let Some(m) = args.model {
        raw.insert("model".into(), json!(m));
    }
    if let Some(d) = args
        .description
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty())
    {
        raw.insert("description".into(), json!(d));
    }
    entries.push(SubAgentEntry {
        name: name.clone(),
        raw,
    });
    save_agents(&home.agents_file(), &entries).map_err(|e| e.to_string())?;
    Ok(format!(
        "added agent `{name}` to {}; a running ductor starts it within seconds",
        home.agents_file().display()
    ))
}

/// Runs `ductor agents remove`.
pub fn remove(home: &Home, name: &str, yes: bool) -> i32 {
    let mut entries = match load(home) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    let Some(index) = entries.iter().position(|e| e.name == name) else {
        eprintln!(
            "no sub-agent named `{name}` in {}",
            home.agents_file().display()
        );
        return 1;
    };
    if !yes && std::io::stdin().is_terminal() {
        let answer = prompt(&format!("Remove agent `{name}`? [y/N]")).unwrap_or_default();
        if !answer.eq_ignore_ascii_case("y") && !answer.eq_ignore_ascii_case("yes") {
            println!("cancelled");
            return 0;
        }
    }
    entries.remove(index);
    if let Err(e) = save_agents(&home.agents_file(), &entries) {
        eprintln!("{e}");
        return 1;
    }
    println!(
        "removed agent `{name}`; its data is kept in {}",
        home.agent(name).root().display()
    );
    0
}
