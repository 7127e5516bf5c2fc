//! `ductor api enable|disable|status`: the direct API's `api` block of the main
//! `config/config.json` (§2.4, §10), changed atomically under the config's lock
//! ([`crate::config::load::modify_config_file`]); every other key and value stays.
//!
//! `enable` fills the block's missing keys with their defaults (keeping what is
//! there), sets `enabled`, and makes a token only when the block has none (a copied
//! example value survives, as in the original). The token is printed only with
//! `--show-token`. `status` shows the settings and asks the running agent's
//! `GET /health` (at the address in `run/api.port`, else the configured one).

use crate::config::load::{
    ConfigError, default_document, merge_missing, modify_config_file, object_block,
};
use crate::config::{AgentConfig, reload};
use crate::paths::{Home, MAIN_AGENT};
use crate::pidlock;
use crate::transport::api::settings::ApiSettings;
use clap::Subcommand;
use serde_json::{Map, Value};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// How long `status` waits for the API's answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Largest `/health` answer read.
const PROBE_MAX: u64 = 16 * 1024;

/// `ductor api ...`.
#[derive(Debug, Subcommand)]
pub enum ApiCommand {
    /// Switch the direct API on (adds the `api` block; makes a token when it has none).
    Enable {
        /// Print the API token.
        #[arg(long)]
        show_token: bool,
    },
    /// Switch the direct API off (`api.enabled: false`).
    Disable,
    /// Show the API's settings and whether the running agent's API answers.
    Status,
}

/// Runs a `ductor api` command; returns the exit code.
pub async fn run(home: &Home, cmd: ApiCommand) -> i32 {
    let result = match cmd {
        ApiCommand::Enable { show_token } => enable(home, show_token),
        ApiCommand::Disable => disable(home),
        ApiCommand::Status => Ok(status(home).await),
    };
    match result {
        Ok(out) => {
            print!("{out}");
            0
        }
        Err(e) => {
            eprintln!("ductor api: {e}");
            1
        }
    }
}

/// What a change of the block did.
#[derive(Debug, Clone, PartialEq)]
struct Change {
    /// The block before (null when there was none).
    before: Value,
    /// The block after.
    after: Value,
    /// Whether the file was written.
    written: bool,
    /// Whether a new token was made.
    new_token: bool,
}

/// Applies `edit` to the `api` block of `file` (missing keys filled with defaults
/// first when `fill`), under the config's lock.
fn change_block(
    file: &Path,
    fill: bool,
    edit: impl FnOnce(&mut Map<String, Value>) -> bool,
) -> Result<Change, String> {
    let mut out = Err(String::new());
    let written = modify_config_file(file, |obj| {
        let before = match object_block(obj, "api", file) {
            Ok(block) => block.map_or(Value::Null, Value::Object),
            Err(e) => {
                out = Err(e);
                return false;
            }
        };
        let mut block = match &before {
            Value::Null => Value::Object(Map::new()),
            other => other.clone(),
        };
        if fill {
            merge_missing(&mut block, &default_document()["api"]);
        }
        let Value::Object(map) = &mut block else {
            return false;
        };
        let new_token = edit(map);
        // No block and nothing to put in one: nothing changes.
        let empty = before.is_null() && block.as_object().is_some_and(Map::is_empty);
        let changed = block != before && !empty;
        out = Ok(Change {
            before,
            after: block.clone(),
            written: changed,
            new_token,
        });
        if changed {
            obj.insert("api".to_owned(), block);
        }
        changed
    })
    .map_err(|e: ConfigError| e.to_string())?;
    let mut change = out?;
    change.written = written;
    Ok(change)
}

/// `enable`: the block with its defaults, `enabled: true`, a token.
fn set_enabled(map: &mut Map<String, Value>) -> bool {
    map.insert("enabled".to_owned(), Value::Bool(true));
    let mut block = Value::Object(std::mem::take(map));
    let made = crate::webhooks::ensure_token(&mut block).is_some();
    if let Value::Object(m) = block {
        *map = m;
    }
    made
}

/// Whether `host` names this machine only.
fn is_loopback(host: &str) -> bool {
    let host = host.trim().trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

/// The URL a client on this machine uses.
fn url(s: &ApiSettings) -> String {
    let host = match s.host.as_str() {
        "0.0.0.0" => "127.0.0.1",
        "::" | "[::]" => "[::1]",
        h if h.contains(':') && !h.starts_with('[') => return format!("http://[{h}]:{}/", s.port),
        h => h,
    };
    format!("http://{host}:{}/", s.port)
}

/// What a running ductor does with the change (the live reload's own rules).
fn effect(home: &Home, change: &Change) -> String {
    let running = pidlock::running_pid(&home.pid_file()).is_some();
    let typed = |block: &Value| {
        let mut c = AgentConfig::default();
        if !block.is_null() {
            c.api = block.clone();
        }
        c
    };
    let diff = reload::diff(&typed(&change.before), &typed(&change.after));
    if !change.written || (diff.restart.is_empty() && diff.hot.is_empty()) {
        String::new()
    } else if !running {
        "ductor is not running: the change applies when it starts.\n".into()
    } else if diff.restart.is_empty() {
        "The running ductor applies it at once.\n".into()
    } else {
        "ductor is running: restart it to apply this (`ductor restart`).\n".into()
    }
}

/// `ductor api enable`.
fn enable(home: &Home, show_token: bool) -> Result<String, String> {
    let file = home.main().config_file();
    let change = change_block(&file, true, set_enabled)?;
    let s = ApiSettings::from_config(&change.after);
    if s.token.is_empty() {
        return Err(
            "no token could be made (no randomness available); set api.token yourself".into(),
        );
    }
    let mut out = String::new();
    if change.written {
        let _ = writeln!(out, "API enabled (config/config.json).");
    } else {
        let _ = writeln!(out, "The API is already enabled.");
    }
    if s.web_ui {
        let _ = writeln!(
            out,
            "URL: {} (open it in a browser for the chat page; it asks for the token)",
            url(&s)
        );
    } else {
        let _ = writeln!(out, "URL: {} (no browser page: api.web_ui is off)", url(&s));
    }
    if show_token {
        let _ = writeln!(out, "Token: {}", s.token.expose());
    } else if change.new_token {
        let _ = writeln!(
            out,
            "A new token was made and saved; show it with `ductor api enable --show-token`."
        );
    } else {
        let _ = writeln!(
            out,
            "Token: set (show it with `ductor api enable --show-token`)."
        );
    }
    if !is_loopback(&s.host) && !s.allow_public {
        let _ = writeln!(
            out,
            "Warning: host {} is not loopback; the API will not start unless \"allow_public\": true (use TLS or a VPN: the token is sent in cleartext).",
            s.host
        );
    }
    out.push_str(&effect(home, &change));
    Ok(out)
}

/// `ductor api disable`.
fn disable(home: &Home) -> Result<String, String> {
    let file = home.main().config_file();
    let change = change_block(&file, false, |map| {
        if map.get("enabled").and_then(Value::as_bool).unwrap_or(false) {
            map.insert("enabled".to_owned(), Value::Bool(false));
        }
        false
    })?;
    let mut out = if change.written {
        "API disabled (config/config.json).\n".to_owned()
    } else {
        "The API is already disabled.\n".to_owned()
    };
    out.push_str(&effect(home, &change));
    Ok(out)
}

/// `ductor api status`.
async fn status(home: &Home) -> String {
    let file = home.main().config_file();
    let raw = crate::store::read_json_strict::<Value>(&file);
    let mut out = String::new();
    let block = match &raw {
        Ok(Some(doc)) => doc.get("api").cloned().unwrap_or(Value::Null),
        Ok(None) => Value::Null,
        Err(e) => {
            let _ = writeln!(out, "config: {e}");
            Value::Null
        }
    };
    let s = ApiSettings::from_config(&block);
    let on = |b: bool| if b { "on" } else { "off" };
    let _ = writeln!(out, "enabled: {}", if s.enabled { "yes" } else { "no" });
    let _ = writeln!(out, "host: {}", s.host);
    let _ = writeln!(out, "port: {}", s.port);
    let _ = writeln!(out, "web_ui: {}", on(s.web_ui));
    let _ = writeln!(
        out,
        "token: {}",
        if s.token.is_empty() { "not set" } else { "set" }
    );
    let bound = std::fs::read_to_string(home.api_port_file(MAIN_AGENT))
        .ok()
        .map(|a| a.trim().to_owned())
        .filter(|a| !a.is_empty());
    let target = bound.clone().unwrap_or_else(|| {
        url(&s)
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned()
    });
    let running = pidlock::running_pid(&home.pid_file());
    let answer = match probe(&target).await {
        Ok(connections) => format!("answers at http://{target}/ ({connections} open connections)"),
        Err(e) => format!("no answer at http://{target}/ ({e})"),
    };
    let _ = writeln!(out, "running API: {answer}");
    match running {
        Some(pid) => {
            let _ = writeln!(out, "ductor: running (pid {pid})");
        }
        None => {
            let _ = writeln!(out, "ductor: not running");
        }
    }
    out
}

/// `GET /health` at `addr` (`host:port`); the open connections it reports.
async fn probe(addr: &str) -> Result<u64, String> {
    tokio::time::timeout(PROBE_TIMEOUT, probe_once(addr))
        .await
        .map_err(|_| "timed out".to_owned())?
}

async fn probe_once(addr: &str) -> Result<u64, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let request = format!(
        "GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAccept: application/json\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut reply = Vec::new();
    stream
        .take(PROBE_MAX)
        .read_to_end(&mut reply)
        .await
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&reply);
    let (head, body) = text.split_once("\r\n\r\n").ok_or("not an HTTP answer")?;
    if !head.starts_with("HTTP/1.1 200") {
        let line = head.lines().next().unwrap_or_default();
        return Err(format!("answered `{line}`"));
    }
    let json: Value = serde_json::from_str(body.trim())
        .map_err(|_| "the answer is not the API's /health".to_owned())?;
    if json.get("status").and_then(Value::as_str) != Some("ok") {
        return Err("the answer is not the API's /health".into());
    }
    Ok(json.get("connections").and_then(Value::as_u64).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn home() -> (tempfile::TempDir, Home) {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path());
        let file = home.main().config_file();
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        (dir, home)
    }

    fn write(home: &Home, v: &Value) {
        std::fs::write(home.main().config_file(), v.to_string()).unwrap();
    }

    fn read(home: &Home) -> Value {
        serde_json::from_slice(&std::fs::read(home.main().config_file()).unwrap()).unwrap()
    }

    #[test]
    fn enable_fills_the_block_keeps_values_and_makes_a_token_once() {
        let (_dir, home) = home();
        write(
            &home,
            &json!({"model": "sonnet", "api": {"port": 9000, "custom": 1}}),
        );
        let out = enable(&home, false).unwrap();
        let c = read(&home);
        assert_eq!(c["model"], "sonnet", "other keys stay");
        let api = &c["api"];
        assert_eq!(
            (&api["enabled"], &api["port"], &api["custom"]),
            (&json!(true), &json!(9000), &json!(1))
        );
        assert_eq!(api["host"], "127.0.0.1");
        let token = api["token"].as_str().unwrap().to_owned();
        assert!(token.len() >= 32, "{token}");
        assert!(!out.contains(&token), "the token is not printed: {out}");
        assert!(out.contains("http://127.0.0.1:9000/"), "{out}");
        assert!(out.contains("new token"), "{out}");
        assert!(out.contains("not running"), "{out}");
        // Again: the same token, printed on request.
        let out = enable(&home, true).unwrap();
        assert_eq!(read(&home)["api"]["token"], token.as_str());
        assert!(out.contains(&format!("Token: {token}")), "{out}");
        assert!(out.contains("already enabled"), "{out}");
    }

    #[test]
    fn a_copied_example_token_survives_and_disable_keeps_the_rest() {
        let (_dir, home) = home();
        write(
            &home,
            &json!({"api": {"token": "YOUR_API_TOKEN", "host": "0.0.0.0"}}),
        );
        let out = enable(&home, false).unwrap();
        assert_eq!(read(&home)["api"]["token"], "YOUR_API_TOKEN");
        assert!(
            out.contains("allow_public"),
            "a public host is refused: {out}"
        );
        let out = disable(&home).unwrap();
        assert!(out.contains("API disabled"), "{out}");
        let api = read(&home)["api"].clone();
        assert_eq!(
            (&api["enabled"], &api["token"], &api["host"]),
            (&json!(false), &json!("YOUR_API_TOKEN"), &json!("0.0.0.0"))
        );
        assert!(disable(&home).unwrap().contains("already disabled"));
    }

    #[test]
    fn a_broken_block_or_file_is_refused_and_left_alone() {
        let (_dir, home) = home();
        write(&home, &json!({"api": "on"}));
        let err = enable(&home, false).unwrap_err();
        assert!(err.contains("not an object"), "{err}");
        assert_eq!(read(&home), json!({"api": "on"}));
        std::fs::write(home.main().config_file(), "{ not json").unwrap();
        assert!(enable(&home, false).is_err());
        assert_eq!(
            std::fs::read_to_string(home.main().config_file()).unwrap(),
            "{ not json"
        );
        // No block at all: disable writes nothing.
        write(&home, &json!({"model": "opus"}));
        assert!(disable(&home).unwrap().contains("already disabled"));
        assert_eq!(read(&home), json!({"model": "opus"}));
    }

    #[test]
    fn urls_and_hosts() {
        let s = |host: &str| ApiSettings {
            host: host.into(),
            ..ApiSettings::default()
        };
        assert_eq!(url(&s("127.0.0.1")), "http://127.0.0.1:8741/");
        assert_eq!(url(&s("0.0.0.0")), "http://127.0.0.1:8741/");
        assert_eq!(url(&s("::1")), "http://[::1]:8741/");
        assert!(is_loopback("localhost") && is_loopback("::1") && is_loopback("127.0.0.2"));
        assert!(!is_loopback("0.0.0.0") && !is_loopback("100.64.0.1"));
    }

    #[tokio::test]
    async fn status_asks_the_running_api() {
        let (_dir, home) = home();
        // A port nothing listens on for the configured address.
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = free.local_addr().unwrap().port();
        drop(free);
        write(
            &home,
            &json!({"api": {"enabled": true, "token": "t", "port": port}}),
        );
        // Something that is not the API.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            while let Ok((mut s, _)) = listener.accept().await {
                let body = r#"{"status":"ok","connections":2}"#;
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                let mut buf = [0u8; 1024];
                let _ = tokio::io::AsyncReadExt::read(&mut s, &mut buf).await;
                let _ = s.write_all(reply.as_bytes()).await;
            }
        });
        std::fs::create_dir_all(home.run_dir()).unwrap();
        std::fs::write(home.api_port_file(MAIN_AGENT), format!("{addr}\n")).unwrap();
        let out = status(&home).await;
        assert!(out.contains("enabled: yes"), "{out}");
        assert!(out.contains("token: set"), "{out}");
        assert!(
            out.contains(&format!("answers at http://{addr}/ (2 open")),
            "{out}"
        );
        std::fs::remove_file(home.api_port_file(MAIN_AGENT)).unwrap();
        let out = status(&home).await;
        assert!(
            out.contains(&format!("no answer at http://127.0.0.1:{port}/")),
            "{out}"
        );
    }
}
