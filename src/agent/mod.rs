//! The `ductor-agent` worker: one process per bot. Loads its (merged) config,
//! seeds its home, registers on the bus and serves until the supervisor tells it
//! to stop, the supervisor goes away, or it receives SIGTERM/SIGINT.
//!
//! Owns everything of one agent (its chats, CLI runs, state files). Must not
//! write another agent's home: shared things go over the bus.

mod bus;
pub mod cli_run;
pub mod memory;
pub mod run_once;

use crate::config::{self, AgentConfig, ConfigError};
use crate::ipc::message::PeerRole;
use crate::ipc::{BusClient, IpcError};
use crate::paths::{AgentPaths, Home, MAIN_AGENT};
use crate::session::{SessionManager, TurnEnv};
use crate::{home, supervisor::policy};
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

/// How an agent is started.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    /// The ductor home.
    pub home: Home,
    /// Agent name (`main` or a sub-agent).
    pub name: String,
    /// Install SIGTERM/SIGINT handlers (off when embedded in a test).
    pub handle_signals: bool,
}

/// Why an agent could not run.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The config cannot be used.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The agent is not defined in `agents.json`.
    #[error("no agent named `{0}` in agents.json")]
    Unknown(String),
    /// The bus is not reachable (the supervisor is not running).
    #[error("cannot reach the ductor supervisor ({0}); agents are started by `ductor`")]
    Bus(#[from] IpcError),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

impl AgentError {
    /// Process exit code: configuration problems are final (the supervisor gives up).
    pub fn exit_code(&self) -> i32 {
        match self {
            AgentError::Config(_) | AgentError::Unknown(_) => policy::EXIT_CONFIG,
            _ => 1,
        }
    }
}

/// Loads the typed config of agent `name`.
pub fn load_config(home: &Home, name: &str) -> Result<AgentConfig, AgentError> {
    let main = config::load_config_file(&home.main().config_file())?;
    let entries = if name == MAIN_AGENT {
        Vec::new()
    } else {
        config::load_agents(&home.agents_file())?
    };
    config::agents::agent_config(home, name, &main.raw, &entries)?
        .ok_or_else(|| AgentError::Unknown(name.to_owned()))
}

/// Everything a running agent shares between its tasks.
#[derive(Debug, Clone)]
pub struct AgentContext {
    /// This agent's paths.
    pub paths: AgentPaths,
    /// The bus.
    pub bus: BusClient,
    /// The conversations of this agent.
    pub sessions: SessionManager,
    /// Cancelled when the agent shuts down.
    pub shutdown: CancellationToken,
    /// Cancelled when the agent should restart (`/restart`): it exits with code 42.
    pub restart: CancellationToken,
}

/// Runs the agent until shutdown; returns the process exit code.
pub async fn run(opts: AgentOptions) -> Result<i32, AgentError> {
    // Signal handlers first: a SIGHUP right after registration must not kill us.
    let sig = |kind| signal(kind).map_err(|e| AgentError::Other(e.to_string()));
    let (mut sigterm, mut sigint, mut sighup) = if opts.handle_signals {
        (
            Some(sig(SignalKind::terminate())?),
            Some(sig(SignalKind::interrupt())?),
            Some(sig(SignalKind::hangup())?),
        )
    } else {
        (None, None, None)
    };
    let paths = opts.home.agent(&opts.name);
    home::seed_agent_home(&paths).map_err(|e| AgentError::Other(format!("seeding home: {e}")))?;
    let config = load_config(&opts.home, &opts.name)?;
    crate::logging::register_secret(config.telegram_token.expose());
    deploy_rule_files(&paths);
    memory::sync_from_file(&paths);
    let (bus, inbox) = connect(&opts.home, &opts.name).await?;
    tracing::info!(agent = %opts.name, pid = std::process::id(), "agent registered on the bus");
    let transports = config.transports.clone();
    let (outbox, outbox_rx) = crate::session::outbox::durable(&paths.outbox_file());
    let env = Arc::new(TurnEnv::new(
        paths.clone(),
        config,
        Some(bus.clone()),
        outbox,
    ));
    let _ = env.tasks.set(crate::tasks::TaskHub::start(&env));
    let ctx = AgentContext {
        paths,
        bus,
        sessions: SessionManager::new(env),
        shutdown: CancellationToken::new(),
        restart: CancellationToken::new(),
    };
    let bus_task = tokio::spawn(bus::serve(ctx.clone(), inbox));
    crate::named::run::resume_interrupted(ctx.sessions.env());
    let transport = spawn_transports(&ctx, &transports, outbox_rx);
    let code = tokio::select! {
        Some(()) = recv(&mut sigterm) => { tracing::info!("SIGTERM: shutting down"); 0 }
        Some(()) = recv(&mut sigint) => { tracing::info!("SIGINT: shutting down"); 0 }
        Some(()) = recv(&mut sighup) => {
            tracing::info!("SIGHUP: restarting to reload the configuration");
            policy::EXIT_RESTART
        }
        () = ctx.shutdown.cancelled() => 0,
        () = ctx.restart.cancelled() => {
            tracing::info!("restart requested: exiting with code 42");
            policy::EXIT_RESTART
        }
        _ = bus_task => { tracing::info!("supervisor gone: shutting down"); 0 }
        code = transport => code,
    };
    ctx.shutdown.cancel();
    ctx.sessions.shutdown(Duration::from_secs(7)).await;
    if let Some(tasks) = ctx.sessions.env().tasks.get() {
        tasks.shutdown(Duration::from_secs(3)).await;
    }
    Ok(code)
}

/// Starts the chat transports; the future resolves with an exit code if one of them
/// cannot run (a refused bot token is a configuration error).
fn spawn_transports(
    ctx: &AgentContext,
    transports: &[String],
    outbox: crate::session::outbox::OutboxRx,
) -> impl std::future::Future<Output = i32> + use<> {
    let telegram = transports.iter().any(|t| t == "telegram").then(|| {
        tokio::spawn(crate::transport::telegram::run(
            ctx.sessions.clone(),
            Some(ctx.bus.clone()),
            ctx.shutdown.child_token(),
            ctx.restart.clone(),
            outbox,
        ))
    });
    async move {
        let Some(task) = telegram else {
            return std::future::pending().await;
        };
        match task.await {
            Ok(Ok(())) => std::future::pending().await,
            Ok(Err(e)) => {
                tracing::error!("{e}");
                policy::EXIT_CONFIG
            }
            Err(e) => {
                tracing::error!(error = %e, "the Telegram transport failed");
                1
            }
        }
    }
}

/// Writes the workspace rule files of the providers that can run here.
fn deploy_rule_files(paths: &AgentPaths) {
    let auth = cli_run::provider_auth(paths);
    let ready: Vec<_> = auth
        .iter()
        .filter(|(_, s)| s.is_authenticated())
        .map(|(p, _)| *p)
        .collect();
    tracing::info!(?auth, "provider availability");
    match crate::provider::rules::deploy(paths, &ready) {
        Ok(report) => tracing::debug!(?report, "rule files"),
        Err(e) => tracing::warn!(error = %e, "cannot deploy rule files"),
    }
}

async fn recv(sig: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match sig {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

/// Connects to the supervisor's bus, retrying briefly while it starts.
async fn connect(home: &Home, name: &str) -> Result<(BusClient, crate::ipc::Inbox), AgentError> {
    let socket = home.bus_socket();
    let mut last = None;
    for _ in 0..50 {
        match BusClient::connect(&socket, PeerRole::Agent, Some(name.to_owned())).await {
            Ok(c) => return Ok(c),
            Err(e @ (IpcError::VersionMismatch { .. } | IpcError::Remote(..))) => {
                return Err(e.into());
            }
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(last.unwrap_or(IpcError::Closed).into())
}
