//! Turning a [`Launch`] into a [`RunRequest`] on the host: the agent's config decides
//! permissions, extra arguments and timeouts; its paths decide scratch space and the
//! `.env` secrets; the turn's identity becomes `DUCTOR_*`.

use super::{Launch, TimeoutKind};
use crate::config::AgentConfig;
use crate::config::env_file;
use crate::paths::AgentPaths;
use crate::provider::ProviderKind;
use crate::provider::command::{self, ProviderOptions};
use crate::provider::env::{TurnIdentity, child_env};
use crate::provider::runner::{RunRequest, TimeoutPolicy};
use std::path::{Path, PathBuf};
use std::time::Duration;

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
        TimeoutKind::Automation => secs(config.cli_timeout),
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

/// The identity of a run of this agent: which agent, which conversation.
pub fn identity(
    config: &AgentConfig,
    paths: &AgentPaths,
    address: &crate::address::Address,
) -> TurnIdentity {
    TurnIdentity {
        agent: paths.name().to_owned(),
        is_main: paths.is_main(),
        agent_home: paths.root().to_path_buf(),
        main_home: paths.home().root().to_path_buf(),
        transport: address.transport.clone(),
        chat_id: address.chat_id,
        topic_id: address.topic_id,
        task_id: None,
        transcribe_command: config.transcription.audio_command.clone(),
        video_transcribe_command: config.transcription.video_command.clone(),
    }
}

/// Builds the host request for `job` (reading the agent's `.env`).
pub fn build_request(
    config: &AgentConfig,
    paths: &AgentPaths,
    job: &Launch,
) -> std::io::Result<RunRequest> {
    build_request_with(config, paths, job, &env_file::load(&paths.env_file()))
}

/// [`build_request`] with the agent's `.env` secrets already read.
pub fn build_request_with(
    config: &AgentConfig,
    paths: &AgentPaths,
    job: &Launch,
    dotenv: &std::collections::BTreeMap<String, String>,
) -> std::io::Result<RunRequest> {
    request_of(config, paths, job, dotenv, command::build)
}

/// The request that starts `job`'s CLI in its live (two-way) mode
/// ([`command::build_live`]); its turns go to the process one by one.
pub fn build_live_request_with(
    config: &AgentConfig,
    paths: &AgentPaths,
    job: &Launch,
    dotenv: &std::collections::BTreeMap<String, String>,
) -> std::io::Result<RunRequest> {
    request_of(config, paths, job, dotenv, command::build_live)
}

/// The command line `build`, a scratch directory for its files, and the child's
/// environment and timeout: the request of `job`.
fn request_of(
    config: &AgentConfig,
    paths: &AgentPaths,
    job: &Launch,
    dotenv: &std::collections::BTreeMap<String, String>,
    build: fn(
        ProviderKind,
        &command::TurnSpec,
        &command::ProviderOptions,
        &std::path::Path,
    ) -> std::io::Result<command::Invocation>,
) -> std::io::Result<RunRequest> {
    let mut options = provider_options(config, job.provider);
    options.extra_args.extend(job.extra_args.iter().cloned());
    let invocation = build(job.provider, &job.spec, &options, &paths.tmp_dir())?;
    let mut provider_env = invocation.env.clone();
    if let Some(umask) = crate::procs::user_umask() {
        // The reaper gives the CLI the user's umask back (ductor's own is 077).
        provider_env.push((crate::procs::USER_UMASK_VAR.into(), umask));
    }
    if job.provider == ProviderKind::Gemini
        && std::env::var_os("GEMINI_API_KEY").is_none()
        && let Some(key) = &config.gemini_api_key
    {
        provider_env.push(("GEMINI_API_KEY".into(), key.expose().to_owned()));
    }
    let env = child_env(
        std::env::vars_os(),
        &job.identity.vars(),
        dotenv,
        &provider_env,
        own_bin_dir().as_deref(),
    );
    let reaper = reaper_path();
    Ok(RunRequest {
        provider: job.provider,
        invocation,
        cwd: job.cwd.clone(),
        env,
        timeout: timeout_policy(config, job.timeout),
        shell_status: reaper.is_some(),
        reaper,
        signals: None,
    })
}
