//! Codex model discovery (§5.3, §5.6): what the installed codex offers, asked of
//! `codex app-server` with `model/list`, kept in ductor's cache
//! `config/codex_models.json` and refreshed while the agent runs.
//!
//! The exchange (JSON-RPC over stdio, one JSON object a line, no `"jsonrpc"` field,
//! as in the live mode of [`super::live::codex`]): `initialize` (id 1) → its answer
//! → the `initialized` notification and `model/list` (id 2) → `{data: [...],
//! nextCursor}`; a `nextCursor` asks for the next page. The process runs in its
//! own process group, is killed after [`DISCOVERY_TIMEOUT`] and always reaped.
//! An answer that is not a model list, or a list without models, is an error:
//! never an empty success.
//!
//! The observer ([`spawn`], one per agent, only when codex is installed): at the
//! start it asks codex; then every [`REFRESH_INTERVAL`] it takes the disk cache
//! while that is younger than [`CACHE_MAX_AGE`] and not empty, else asks codex
//! again. A discovery that failed or found nothing never overwrites a non-empty
//! cache; the hard-coded fallback list stays in memory only.

use super::models::{CodexModel, CodexModelCache, ModelCatalogue};
use chrono::{DateTime, Utc};
use nix::sys::signal::Signal;
use serde_json::{Value, json};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{ChildStdin, ChildStdout, Command};
use tokio_util::sync::CancellationToken;

/// How long one discovery may take, start to last page.
pub const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(30);
/// Between two refreshes.
pub const REFRESH_INTERVAL: Duration = Duration::from_hours(1);
/// A disk cache younger than this is used without asking codex.
pub const CACHE_MAX_AGE: Duration = Duration::from_hours(24);
/// Pages of `model/list` followed at most.
const MAX_PAGES: usize = 20;
/// Bytes of codex's stdout read at most.
const MAX_OUTPUT: u64 = 16 * 1024 * 1024;
/// Bytes of codex's stderr kept for the error message.
const STDERR_TAIL: usize = 2048;
/// How long codex may take to exit by itself once its stdin is closed.
const EXIT_GRACE: Duration = Duration::from_secs(2);
/// JSON-RPC "method not found", the reply to a server request.
const METHOD_NOT_FOUND: i64 = -32601;

/// Why a discovery found no models.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    /// codex could not be started.
    #[error("cannot start codex app-server: {0}")]
    Spawn(std::io::Error),
    /// Writing to codex failed (it ended early).
    #[error("cannot write to codex app-server: {0}")]
    Write(std::io::Error),
    /// No complete answer in time.
    #[error("codex app-server gave no model list within {0:?}")]
    Timeout(Duration),
    /// codex closed its output before answering.
    #[error("codex app-server ended before answering `{method}`{stderr}")]
    Ended {
        /// The request left unanswered.
        method: &'static str,
        /// The end of codex's stderr (with a leading separator), if any.
        stderr: String,
    },
    /// codex answered a request with an error.
    #[error("codex app-server refused `{method}`: {message}")]
    Refused {
        /// The request.
        method: &'static str,
        /// codex's error message.
        message: String,
    },
    /// The answer is not a model list.
    #[error("unexpected model/list answer: {0}")]
    Garbage(String),
    /// The list had no (visible) models.
    #[error("codex listed no models")]
    Empty,
    /// A sandbox is configured: no CLI runs on the host, not even to list models.
    #[error("the sandbox is on: codex is not run on the host to list its models")]
    Sandboxed,
}

/// One page of `model/list`: its models (hidden ones left out) and the cursor of
/// the next page.
pub fn parse_model_page(
    result: &Value,
) -> Result<(Vec<CodexModel>, Option<String>), DiscoverError> {
    let garbage = |why: String| DiscoverError::Garbage(why);
    let data = result
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| garbage("no `data` array".into()))?;
    let mut models = Vec::with_capacity(data.len());
    for (i, entry) in data.iter().enumerate() {
        let id = entry
            .get("id")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| garbage(format!("entry {i} has no `id`")))?;
        if entry.get("hidden").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        let text = |key: &str| entry.get(key).and_then(Value::as_str).map(str::to_owned);
        let efforts = match entry.get("supportedReasoningEfforts") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(list)) => list
                .iter()
                .map(|e| {
                    e.get("reasoningEffort")
                        .or(Some(e))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .ok_or_else(|| garbage(format!("model `{id}` has a malformed effort")))
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(garbage(format!("model `{id}` has malformed efforts"))),
        };
        models.push(CodexModel {
            id: id.to_owned(),
            display_name: text("displayName")
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| id.to_owned()),
            description: text("description").unwrap_or_default(),
            supported_efforts: efforts,
            default_effort: text("defaultReasoningEffort"),
            is_default: entry.get("isDefault").and_then(Value::as_bool) == Some(true),
        });
    }
    let next = match result.get("nextCursor") {
        None | Some(Value::Null) => None,
        Some(Value::String(c)) if c.is_empty() => None,
        Some(Value::String(c)) => Some(c.clone()),
        Some(other) => return Err(garbage(format!("`nextCursor` is {other}"))),
    };
    Ok((models, next))
}

/// The models of every page in order, each id once; [`DiscoverError::Empty`] when
/// none is left.
fn collect_pages(pages: Vec<Vec<CodexModel>>) -> Result<Vec<CodexModel>, DiscoverError> {
    let mut out: Vec<CodexModel> = Vec::new();
    for model in pages.into_iter().flatten() {
        if !out.iter().any(|m| m.id == model.id) {
            out.push(model);
        }
    }
    if out.is_empty() {
        Err(DiscoverError::Empty)
    } else {
        Ok(out)
    }
}

/// The request line `{"id", "method", "params"}`.
fn request(id: u64, method: &str, params: &Value) -> String {
    json!({"id": id, "method": method, "params": params}).to_string()
}

/// Asks codex for its models: `cmd` starts `codex` (or the reaper in front of it),
/// `app-server` is appended. Killed after `timeout`; always reaped.
pub async fn list_models(
    mut cmd: Command,
    timeout: Duration,
) -> Result<Vec<CodexModel>, DiscoverError> {
    cmd.arg("app-server")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(DiscoverError::Spawn)?;
    let pgid = child.id().and_then(|p| i32::try_from(p).ok());
    // Dropped mid-way (the agent shuts down): the whole group goes, not only the
    // direct child that `kill_on_drop` reaches.
    let mut group = GroupGuard(pgid);
    let tail_task = child
        .stderr
        .take()
        .map(|stderr| tokio::spawn(keep_tail(stderr)));
    let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(DiscoverError::Spawn(std::io::Error::other(
            "no stdio pipes",
        )));
    };
    let talk = tokio::time::timeout(timeout, converse(&mut stdin, stdout)).await;
    drop(stdin);
    // Give codex a moment to exit on end of input, then end its whole group.
    let _ = tokio::time::timeout(EXIT_GRACE, child.wait()).await;
    if let Some(pgid) = group.0.take() {
        crate::procs::signal_group(pgid, Signal::SIGKILL);
    }
    let _ = child.wait().await;
    // The group is gone, so stderr ends: let its last bytes arrive.
    let tail = match tail_task {
        Some(task) => tokio::time::timeout(EXIT_GRACE, task)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default(),
        None => Vec::new(),
    };
    match talk {
        Err(_) => Err(DiscoverError::Timeout(timeout)),
        Ok(Err(DiscoverError::Ended { method, .. })) => {
            let text = String::from_utf8_lossy(&tail);
            let text = text.trim();
            Err(DiscoverError::Ended {
                method,
                stderr: if text.is_empty() {
                    String::new()
                } else {
                    format!(": {text}")
                },
            })
        }
        Ok(result) => result,
    }
}

/// Kills a process group when dropped, unless it was taken (killed in order, before
/// its leader was reaped: a reaped group's id could be reused).
struct GroupGuard(Option<i32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.0.take() {
            crate::procs::signal_group(pgid, Signal::SIGKILL);
        }
    }
}

/// The JSON-RPC exchange up to the last page.
async fn converse(
    stdin: &mut ChildStdin,
    stdout: ChildStdout,
) -> Result<Vec<CodexModel>, DiscoverError> {
    let params = json!({"clientInfo": {"name": "ductor", "title": "ductor", "version": env!("CARGO_PKG_VERSION")}});
    send(stdin, &request(1, "initialize", &params)).await?;
    let mut lines = BufReader::new(stdout.take(MAX_OUTPUT)).lines();
    let mut waiting: (u64, &'static str) = (1, "initialize");
    let mut pages = Vec::new();
    loop {
        let Ok(Some(line)) = lines.next_line().await else {
            return Err(DiscoverError::Ended {
                method: waiting.1,
                stderr: String::new(),
            });
        };
        let Ok(msg) = serde_json::from_str::<Value>(&line) else {
            tracing::debug!(line = %crate::provider::parse::bounded_detail(&line), "codex app-server: not JSON");
            continue;
        };
        if msg.get("method").is_some() {
            // A server request gets a refusal so codex does not wait for it.
            if let Some(id) = msg.get("id") {
                let reply = json!({"id": id, "error": {"code": METHOD_NOT_FOUND, "message": "not supported by ductor's model discovery"}});
                send(stdin, &reply.to_string()).await?;
            }
            continue;
        }
        if msg.get("id").and_then(Value::as_u64) != Some(waiting.0) {
            continue;
        }
        if let Some(err) = msg.get("error") {
            let message = err
                .get("message")
                .and_then(Value::as_str)
                .map_or_else(|| err.to_string(), str::to_owned);
            return Err(DiscoverError::Refused {
                method: waiting.1,
                message: crate::provider::parse::bounded_detail(&message),
            });
        }
        let result = msg.get("result").ok_or_else(|| {
            DiscoverError::Garbage(format!("`{}` answer has no result", waiting.1))
        })?;
        let cursor = if waiting.0 == 1 {
            send(stdin, &json!({"method": "initialized"}).to_string()).await?;
            None
        } else {
            let (models, next) = parse_model_page(result)?;
            pages.push(models);
            match next {
                None => return collect_pages(pages),
                Some(_) if pages.len() >= MAX_PAGES => {
                    return Err(DiscoverError::Garbage(format!(
                        "more than {MAX_PAGES} pages"
                    )));
                }
                Some(c) => Some(c),
            }
        };
        let params = cursor.map_or_else(|| json!({}), |c| json!({"cursor": c}));
        waiting = (waiting.0 + 1, "model/list");
        send(stdin, &request(waiting.0, "model/list", &params)).await?;
    }
}

async fn send(stdin: &mut ChildStdin, line: &str) -> Result<(), DiscoverError> {
    stdin
        .write_all(format!("{line}\n").as_bytes())
        .await
        .map_err(DiscoverError::Write)?;
    stdin.flush().await.map_err(DiscoverError::Write)
}

/// The last [`STDERR_TAIL`] bytes of `stderr`, once it ends.
async fn keep_tail(mut stderr: tokio::process::ChildStderr) -> Vec<u8> {
    let mut tail = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = stderr.read(&mut buf).await {
        if n == 0 {
            break;
        }
        tail.extend_from_slice(&buf[..n]);
        let excess = tail.len().saturating_sub(STDERR_TAIL);
        tail.drain(..excess);
    }
    tail
}

/// The command that starts the installed codex for the agent at `paths` with the
/// environment its turns get (ductor's, the agent's `.env` filling gaps, the
/// user's umask; through the per-run reaper when there is one); `None` when no
/// `codex` is on that `PATH`.
pub fn codex_command(paths: &crate::paths::AgentPaths) -> Option<Command> {
    let dotenv = crate::config::env_file::load(&paths.env_file());
    let mut provider = Vec::new();
    if let Some(umask) = crate::procs::user_umask() {
        provider.push((crate::procs::USER_UMASK_VAR.to_owned(), umask));
    }
    let bin_dir = crate::exec::request::own_bin_dir();
    let env = super::env::child_env(
        std::env::vars_os(),
        &[],
        &dotenv,
        &provider,
        bin_dir.as_deref(),
    );
    let codex = super::runner::resolve_program("codex", &env)?;
    let mut cmd = match crate::exec::request::reaper_path() {
        Some(reaper) => {
            let mut c = Command::new(reaper);
            c.arg("__reap").arg("--").arg(&codex);
            c
        }
        None => Command::new(&codex),
    };
    let workspace = paths.workspace();
    let cwd = if workspace.is_dir() {
        workspace
    } else {
        crate::paths::user_home()
    };
    cmd.env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(cwd);
    Some(cmd)
}

/// One discovery (codex, or a fake in tests).
pub type Discover = Arc<
    dyn Fn() -> Pin<Box<dyn Future<Output = Result<Vec<CodexModel>, DiscoverError>> + Send>>
        + Send
        + Sync,
>;

/// The clock (wall time; tests derive it from the paused tokio clock).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// What one refresh did.
#[derive(Debug)]
pub enum Refreshed {
    /// codex was asked; this many models were found and cached.
    Discovered(usize),
    /// The disk cache was fresh; this many models taken from it.
    FromCache(usize),
    /// Discovery failed; the list stayed as it was (or came from the stale cache).
    Kept(DiscoverError),
}

/// Reads the cache at `path` when it holds models (a broken one is logged).
fn usable_cache(path: &Path) -> Option<CodexModelCache> {
    match super::models::read_codex_cache(path) {
        Ok(Some(c)) if !c.models.is_empty() => Some(c),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(error = %e, "ignoring ductor's codex model cache");
            None
        }
    }
}

/// One refresh of `catalogue`'s codex models: the cache at `cache` when it is
/// fresh and `force` is off, else `discover` (its models cached and taken). A
/// failed or empty discovery leaves the cache alone and falls back to it.
pub async fn refresh(
    catalogue: &ModelCatalogue,
    cache: &Path,
    discover: &Discover,
    clock: &Clock,
    force: bool,
) -> Refreshed {
    let cached = usable_cache(cache);
    if !force
        && let Some(c) = &cached
        && c.age(clock()).is_some_and(|age| age < CACHE_MAX_AGE)
    {
        catalogue.set_codex_models(c.models.clone());
        return Refreshed::FromCache(c.models.len());
    }
    match discover().await.and_then(collect_nonempty) {
        Ok(models) => {
            // The menu first: whoever sees the new cache file sees the new list.
            let count = models.len();
            catalogue.set_codex_models(models.clone());
            let fresh = CodexModelCache::new(models, clock());
            if let Err(e) = super::models::write_codex_cache(cache, &fresh) {
                tracing::error!(error = %e, "cannot write ductor's codex model cache");
            }
            Refreshed::Discovered(count)
        }
        Err(e) => {
            if let Some(c) = cached {
                catalogue.set_codex_models(c.models);
            }
            Refreshed::Kept(e)
        }
    }
}

/// A discovery's models, or [`DiscoverError::Empty`] (`list_models` already merged
/// and de-duplicated its pages).
fn collect_nonempty(models: Vec<CodexModel>) -> Result<Vec<CodexModel>, DiscoverError> {
    if models.is_empty() {
        Err(DiscoverError::Empty)
    } else {
        Ok(models)
    }
}

/// Refreshes at once (asking codex), then every [`REFRESH_INTERVAL`], until `stop`.
pub async fn run(
    catalogue: Arc<ModelCatalogue>,
    cache: PathBuf,
    discover: Discover,
    clock: Clock,
    stop: CancellationToken,
) {
    let mut force = true;
    loop {
        let done = tokio::select! {
            r = refresh(&catalogue, &cache, &discover, &clock, force) => r,
            () = stop.cancelled() => return,
        };
        match done {
            Refreshed::Discovered(n) => tracing::info!(models = n, "codex models discovered"),
            Refreshed::FromCache(n) => {
                tracing::debug!(models = n, "codex models from the fresh cache");
            }
            Refreshed::Kept(e @ DiscoverError::Sandboxed) => {
                tracing::debug!(reason = %e, "no codex model discovery; keeping the list");
            }
            Refreshed::Kept(e) => {
                tracing::warn!(error = %e, "codex model discovery failed; keeping the list");
            }
        }
        force = false;
        tokio::select! {
            () = tokio::time::sleep(REFRESH_INTERVAL) => {}
            () = stop.cancelled() => return,
        }
    }
}

/// Starts the codex model observer of `core`'s agent when codex is installed.
pub fn spawn(core: &Arc<crate::core::Core>, stop: CancellationToken) {
    let paths = core.paths.clone();
    if codex_command(&paths).is_none() {
        tracing::debug!("codex is not installed: no codex model discovery");
        return;
    }
    let cache = paths.codex_models_cache();
    let config = core.config.clone();
    let discover: Discover = Arc::new(move || {
        // Checked at each refresh: the sandbox can be turned on while ductor runs.
        let sandboxed = config.get().sandbox_settings().enabled();
        let cmd = codex_command(&paths);
        Box::pin(async move {
            if sandboxed {
                return Err(DiscoverError::Sandboxed);
            }
            let cmd = cmd.ok_or_else(|| {
                DiscoverError::Spawn(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "`codex` is no longer on PATH",
                ))
            })?;
            list_models(cmd, DISCOVERY_TIMEOUT).await
        })
    });
    tokio::spawn(run(
        Arc::clone(&core.catalogue),
        cache,
        discover,
        Arc::new(Utc::now),
        stop,
    ));
}

#[cfg(test)]
mod tests;
