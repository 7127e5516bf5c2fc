//! `ductor webhooks add|edit|list|remove|rotate-token|test`: the main agent's
//! `webhooks.json`, changed under its lock (the running server takes changes in
//! through its file watcher). Output is JSON; a token is printed once, when it is
//! made. `test` posts a correctly signed request to the running server.

use super::caller::home_of;
use crate::paths::AgentPaths;
use crate::state::fields::RunOverrides;
use crate::webhooks::{
    HmacAuth, Hook, HookAuth, HookChanges, HookMode, HookStore, NewHook, WebhookSettings,
};
use clap::{Subcommand, ValueEnum};
use serde_json::{Value, json};
use std::path::Path;

/// Signature schemes of well-known senders.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Preset {
    /// `X-Hub-Signature-256`, hex, `sha256=` prefix.
    #[value(help = "X-Hub-Signature-256, hex, sha256= prefix")]
    Github,
    /// `Stripe-Signature` with its signed timestamp.
    #[value(help = "Stripe-Signature with its signed timestamp")]
    Stripe,
    /// `X-Shopify-Hmac-Sha256`, base64.
    #[value(help = "X-Shopify-Hmac-Sha256, base64")]
    Shopify,
}

/// `ductor webhooks ...`.
#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Add a hook; prints its URL and (bearer) token.
    Add {
        /// Hook id (a-z, 0-9, -, _): the URL is `/hooks/<id>`.
        #[arg(long)]
        name: String,
        /// Title.
        #[arg(long, default_value = "")]
        title: String,
        /// Description.
        #[arg(long, default_value = "")]
        description: String,
        /// `wake` (a turn in the chat) or `cron_task` (a run in a task folder).
        #[arg(long, default_value = "wake")]
        mode: String,
        /// Prompt with {{field}} placeholders (dotted paths allowed).
        #[arg(long = "prompt-template")]
        prompt_template: String,
        /// Task folder of a `cron_task` hook (created when missing).
        #[arg(long = "task-folder")]
        task_folder: Option<String>,
        /// Check signatures of a known sender instead of a bearer token.
        #[arg(long, value_enum, requires = "secret")]
        preset: Option<Preset>,
        /// The sender's signing secret (with --preset).
        #[arg(long)]
        secret: Option<String>,
    },
    /// Switch a hook on or off, or change its title or template.
    Edit {
        /// Hook id.
        id: String,
        /// Switch it on.
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        /// Switch it off.
        #[arg(long)]
        disable: bool,
        /// New title.
        #[arg(long)]
        title: Option<String>,
        /// New prompt template.
        #[arg(long = "prompt-template")]
        prompt_template: Option<String>,
    },
    /// List the hooks (no secrets).
    List,
    /// Remove a hook.
    Remove {
        /// Hook id.
        id: String,
    },
    /// Give a bearer hook a new token (printed once).
    RotateToken {
        /// Hook id.
        id: String,
    },
    /// Post a signed test call to the running server.
    Test {
        /// Hook id.
        id: String,
        /// The JSON payload.
        #[arg(long, default_value = "{}")]
        payload: String,
    },
}

/// Runs the command on the main agent's hooks; returns the exit code.
pub async fn run(home_flag: Option<&Path>, cmd: WebhooksCommand) -> i32 {
    let home = home_of(home_flag, &|k: &str| std::env::var(k).ok());
    match execute(&home.main(), cmd).await {
        Ok(out) => {
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
            0
        }
        Err(e) => {
            eprintln!("ductor webhooks: {e}");
            1
        }
    }
}

/// The `webhooks` block of the main config (defaults when unreadable).
fn settings(paths: &AgentPaths) -> WebhookSettings {
    let raw = std::fs::read_to_string(paths.config_file())
        .ok()
        .and_then(|s| serde_json::from_str::<Value>(&s).ok())
        .unwrap_or_default();
    WebhookSettings::from_config(&raw["webhooks"])
}

fn url(s: &WebhookSettings, id: &str) -> String {
    format!("http://{}:{}/hooks/{id}", s.host, s.port)
}

fn shown(hook: &Hook) -> Value {
    let auth = match &hook.auth {
        HookAuth::Bearer { .. } => "bearer".to_owned(),
        HookAuth::Hmac(h) => format!("hmac ({})", h.header),
    };
    json!({"id": hook.id, "title": hook.title, "mode": hook.mode.as_str(),
           "enabled": hook.enabled, "auth": auth, "task_folder": hook.task_folder,
           "trigger_count": hook.trigger_count, "last_triggered_at": hook.last_triggered_at,
           "last_error": hook.last_error})
}

/// Applies `cmd` to the hooks of `paths`; returns the JSON to print.
pub async fn execute(paths: &AgentPaths, cmd: WebhooksCommand) -> Result<Value, String> {
    let store = HookStore::open(paths.webhooks_file());
    if let Some(e) = store.last_load_error() {
        return Err(e);
    }
    let s = settings(paths);
    match cmd {
        WebhooksCommand::Add {
            name,
            title,
            description,
            mode,
            prompt_template,
            task_folder,
            preset,
            secret,
        } => {
            let secret = secret.unwrap_or_default();
            let auth = match preset {
                None => HookAuth::Bearer {
                    token: crate::secret::Secret::default(),
                },
                Some(Preset::Github) => HookAuth::Hmac(HmacAuth::github(&secret)),
                Some(Preset::Stripe) => HookAuth::Hmac(HmacAuth::stripe(&secret)),
                Some(Preset::Shopify) => HookAuth::Hmac(HmacAuth::shopify(&secret)),
            };
            let mode = HookMode::parse(&mode);
            if let (HookMode::CronTask, Some(folder)) = (&mode, &task_folder) {
                if !crate::cron::folder::valid_name(folder) {
                    return Err(format!(
                        "`{folder}` is not a folder name: a-z, 0-9, - and _"
                    ));
                }
                crate::cron::folder::create(&paths.cron_tasks_dir(), folder, &title, &description)
                    .map_err(|e| format!("cannot create the task folder: {e}"))?;
            }
            let (hook, token) = store
                .add(NewHook {
                    id: name,
                    title,
                    description,
                    mode,
                    prompt_template,
                    task_folder,
                    auth,
                    overrides: RunOverrides::default(),
                })
                .map_err(|e| e.to_string())?;
            Ok(json!({"ok": true, "id": hook.id, "url": url(&s, &hook.id), "token": token}))
        }
        WebhooksCommand::Edit {
            id,
            enable,
            disable,
            title,
            prompt_template,
        } => {
            let changes = HookChanges {
                enabled: (enable || disable).then_some(enable),
                title,
                prompt_template,
                ..HookChanges::default()
            };
            let hook = store.edit(&id, changes).map_err(|e| e.to_string())?;
            Ok(shown(&hook))
        }
        WebhooksCommand::List => Ok(json!({
            "url": url(&s, "<id>"),
            "enabled": s.enabled,
            "hooks": store.list().iter().map(shown).collect::<Vec<_>>(),
        })),
        WebhooksCommand::Remove { id } => {
            store.remove(&id).map_err(|e| e.to_string())?;
            Ok(json!({"ok": true, "removed": id}))
        }
        WebhooksCommand::RotateToken { id } => {
            let token = store.rotate_token(&id).map_err(|e| e.to_string())?;
            Ok(json!({"ok": true, "id": id, "token": token}))
        }
        WebhooksCommand::Test { id, payload } => {
            let hook = store
                .get(&id)
                .ok_or_else(|| format!("there is no hook `{id}`"))?;
            let payload: Value = serde_json::from_str(&payload)
                .map_err(|e| format!("--payload is not JSON: {e}"))?;
            let req =
                crate::webhooks::test_request(&hook, &s, &payload).map_err(|e| e.to_string())?;
            let status = send(&s, &req).await?;
            Ok(json!({"id": id, "status": status, "accepted": status == 202}))
        }
    }
}

/// Posts `req` to the server of `s`; the HTTP status.
async fn send(s: &WebhookSettings, req: &crate::webhooks::TestRequest) -> Result<u16, String> {
    use std::fmt::Write as _;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = (s.host.as_str(), s.port);
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("no webhook server at {}:{} ({e})", s.host, s.port))?;
    let mut headers = String::new();
    for (k, v) in &req.headers {
        let _ = write!(headers, "{k}: {v}\r\n");
    }
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        req.path,
        s.host,
        req.body.len()
    );
    let io = |e: std::io::Error| format!("the test call failed: {e}");
    stream.write_all(head.as_bytes()).await.map_err(io)?;
    stream.write_all(&req.body).await.map_err(io)?;
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).await.map_err(io)?;
    String::from_utf8_lossy(&reply)
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| "the server's answer is not HTTP".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dispatcher that hands the prompts to the test.
    #[derive(Debug)]
    struct Seen(tokio::sync::mpsc::UnboundedSender<String>);

    impl crate::webhooks::Dispatch for Seen {
        fn dispatch(&self, _hook: Hook, prompt: String, done: crate::webhooks::Done) {
            let _ = self.0.send(prompt);
            done.finish(None);
        }
    }

    #[tokio::test]
    async fn add_list_rotate_remove_and_test_against_a_server() {
        let dir = tempfile::tempdir().unwrap();
        let paths = crate::paths::Home::new(dir.path()).main();
        let listener = crate::webhooks::bind("127.0.0.1", 0).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        std::fs::create_dir_all(paths.config_dir()).unwrap();
        std::fs::write(
            paths.config_file(),
            json!({"webhooks": {"enabled": true, "host": "127.0.0.1", "port": port}}).to_string(),
        )
        .unwrap();
        let add = WebhooksCommand::Add {
            name: "ci".into(),
            title: "CI".into(),
            description: String::new(),
            mode: "wake".into(),
            prompt_template: "Build {{status}}".into(),
            task_folder: None,
            preset: None,
            secret: None,
        };
        let added = execute(&paths, add).await.unwrap();
        let token = added["token"].as_str().unwrap().to_owned();
        assert_eq!(added["url"], format!("http://127.0.0.1:{port}/hooks/ci"));
        let listed = execute(&paths, WebhooksCommand::List).await.unwrap();
        assert_eq!(listed["hooks"][0]["id"], "ci");
        assert!(
            !listed.to_string().contains(&token),
            "no secret in the list"
        );
        // `test` signs the call so the real server accepts it.
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let stop = tokio_util::sync::CancellationToken::new();
        let store = std::sync::Arc::new(HookStore::open(paths.webhooks_file()));
        let server = crate::webhooks::serve(
            listener,
            store,
            std::sync::Arc::new(Seen(tx)),
            std::sync::Arc::new(WebhookSettings::default),
            stop.clone(),
        );
        let tested = WebhooksCommand::Test {
            id: "ci".into(),
            payload: r#"{"status": "green"}"#.into(),
        };
        let out = execute(&paths, tested).await.unwrap();
        assert_eq!(out["status"], 202, "{out}");
        assert!(rx.recv().await.unwrap().contains("Build green"));
        let rotated = execute(&paths, WebhooksCommand::RotateToken { id: "ci".into() })
            .await
            .unwrap();
        assert_ne!(rotated["token"].as_str().unwrap(), token);
        execute(&paths, WebhooksCommand::Remove { id: "ci".into() })
            .await
            .unwrap();
        assert!(
            execute(&paths, WebhooksCommand::Remove { id: "ci".into() })
                .await
                .is_err()
        );
        stop.cancel();
        server.stopped().await;
    }
}
