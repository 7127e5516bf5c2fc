//! Turning "run this prompt for this chat" into a [`RunRequest`]: the agent's
//! config decides permissions, extra arguments and timeouts; its paths decide the
//! working directory and scratch space; the turn's identity becomes `DUCTOR_*`.

use crate::config::AgentConfig;
use crate::config::env_file;
use crate::paths::AgentPaths;
use crate::provider::ProviderKind;
use crate::provider::command::{self, ProviderOptions, TurnSpec};
use crate::provider::env::{TurnIdentity, child_env};
use crate::provider::runner::{RunRequest, TimeoutPolicy};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Which timeout block applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutKind {
    /// Interactive turns (`timeouts.normal`, extended on activity).
    Interactive,
    /// Background named sessions (`timeouts.background`).
    Background,
    /// Background tasks (`tasks.timeout_seconds`).
    Task,
    /// Inter-agent requests (`timeouts.subagent`).
    InterAgent,
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(if s.is_finite() && s > 0.0 { s } else { 600.0 })
}

/// The timeout policy of `kind` from the config.
pub fn timeout_policy(config: &AgentConfig, kind: TimeoutKind) -> TimeoutPolicy {
    let t = &config.timeouts;
    let base = match kind {
        TimeoutKind::Interactive => secs(t.normal),
        TimeoutKind::Background => secs(t.background),
        TimeoutKind::Task => secs(config.tasks.timeout_seconds),
        TimeoutKind::InterAgent => secs(t.subagent),
    };
    TimeoutPolicy {
        base,
        extend_on_activity: t.extend_on_activity && kind == TimeoutKind::Interactive,
        extension: secs(t.activity_extension),
        max_extensions: t.max_extensions,
    }
}

/// Provider options from the config.
pub fn provider_options(config: &AgentConfig, provider: ProviderKind) -> ProviderOptions {
    let p = &config.cli_parameters;
    ProviderOptions {
        permission_mode: config.permission_mode.clone(),
        max_turns: config.max_turns,
        max_budget_usd: config.max_budget_usd,
        extra_args: match provider {
            ProviderKind::Claude => p.claude.clone(),
            ProviderKind::Codex => p.codex.clone(),
            ProviderKind::Gemini => p.gemini.clone(),
        },
        running_as_root: nix::unistd::geteuid().is_root(),
    }
}

/// The directory holding `ductor` and `ductor-agent` (prepended to the CLI's `PATH`).
pub fn own_bin_dir() -> Option<PathBuf> {
    std::env::current_exe()
        .ok()?
        .parent()
        .map(Path::to_path_buf)
}

/// The per-run reaper executable (this binary when it is `ductor-agent`).
pub fn reaper_path() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let candidate = if exe.file_name().is_some_and(|n| n == "ductor-agent") {
        exe
    } else {
        exe.with_file_name("ductor-agent")
    };
    candidate.is_file().then_some(candidate)
}

/// Everything needed to build a request, besides the turn itself.
#[derive(Debug, Clone)]
pub struct RunContext<'a> {
    /// The agent's config.
    pub config: &'a AgentConfig,
    /// The agent's paths.
    pub paths: &'a AgentPaths,
    /// Working directory (workspace unless a project root applies).
    pub cwd: PathBuf,
    /// Identity of the turn.
    pub identity: TurnIdentity,
    /// Which timeout applies.
    pub timeout: TimeoutKind,
}

/// The identity of a turn of this agent for a chat.
pub fn identity(
    config: &AgentConfig,
    paths: &AgentPaths,
    chat_id: i64,
    topic_id: Option<i64>,
) -> TurnIdentity {
    TurnIdentity {
        agent: paths.name().to_owned(),
        is_main: paths.is_main(),
        agent_home: paths.root().to_path_buf(),
        main_home: paths.home().root().to_path_buf(),
        transport: "tg".into(),
        chat_id,
        topic_id,
        task_id: None,
        transcribe_command: config.transcription.audio_command.clone(),
        video_transcribe_command: config.transcription.video_command.clone(),
    }
}

/// Builds the request for one turn.
pub fn build_request(
    ctx: &RunContext<'_>,
    provider: ProviderKind,
    spec: &TurnSpec,
) -> std::io::Result<RunRequest> {
    let invocation = command::build(
        provider,
        spec,
        &provider_options(ctx.config, provider),
        &ctx.paths.tmp_dir(),
    )?;
    let mut provider_env = invocation.env.clone();
    if provider == ProviderKind::Gemini
        && std::env::var_os("GEMINI_API_KEY").is_none()
        && let Some(key) = &ctx.config.gemini_api_key
    {
        provider_env.push(("GEMINI_API_KEY".into(), key.expose().to_owned()));
    }
    let env = child_env(
        std::env::vars_os(),
        &ctx.identity.vars(),
        &env_file::load(&ctx.paths.env_file()),
        &provider_env,
        own_bin_dir().as_deref(),
    );
    Ok(RunRequest {
        provider,
        invocation,
        cwd: ctx.cwd.clone(),
        env,
        timeout: timeout_policy(ctx.config, ctx.timeout),
        reaper: reaper_path(),
    })
}

/// Availability of every provider as the CLIs of this agent would see it: ductor's
/// environment plus the agent's `.env`, no network, nothing spawned.
pub fn provider_auth(
    paths: &AgentPaths,
) -> std::collections::BTreeMap<ProviderKind, crate::provider::auth::AuthStatus> {
    let mut env: std::collections::HashMap<String, String> = std::env::vars().collect();
    for (k, v) in env_file::load(&paths.env_file()) {
        env.entry(k).or_insert(v);
    }
    let home = env
        .get("HOME")
        .filter(|h| !h.is_empty())
        .map_or_else(crate::paths::user_home, PathBuf::from);
    crate::provider::auth::check_all(crate::provider::auth::AuthEnv {
        env: &env,
        home: &home,
    })
}

/// The models this agent can offer: codex from ductor's or codex's own cache (else
/// the fallback list), gemini from the installed package (else the fallback list).
pub fn model_catalogue(paths: &AgentPaths) -> crate::provider::models::ModelCatalogue {
    use crate::provider::models;
    let home = crate::paths::user_home();
    let codex_home = std::env::var_os("CODEX_HOME")
        .filter(|v| !v.is_empty())
        .map_or_else(|| home.join(".codex"), PathBuf::from);
    let codex = models::codex_models(&paths.codex_models_cache(), &codex_home);
    let path = std::env::var("PATH").unwrap_or_default();
    let gemini = crate::provider::auth::which("gemini", &path)
        .and_then(|bin| models::gemini_package_dir(&bin))
        .map(|dir| models::discover_gemini_models(&dir))
        .unwrap_or_default();
    models::ModelCatalogue::new(codex, gemini)
}
