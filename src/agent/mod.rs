//! The `ductor-agent` worker: one process per bot. Loads its (merged) config,
//! seeds its home, registers on the bus and serves until the supervisor tells it
//! to stop, the supervisor goes away, or it receives SIGTERM/SIGINT.
//!
//! Owns everything of one agent (its chats, CLI runs, state files). Must not
//! write another agent's home: shared things go over the bus.

mod bus;
pub mod run_once;

use crate::address::{Directories, Directory};
use crate::config::{self, ConfigError, LiveConfig};
use crate::core::{Core, CoreParts};
use crate::ipc::message::PeerRole;
use crate::ipc::{BusClient, IpcError};
use crate::ops::Ops;
use crate::paths::{AgentPaths, Home};
use crate::{home, supervisor::policy};
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
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
    /// The config cannot be used (or the agent is not defined).
    #[error(transparent)]
    Config(#[from] ConfigError),
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
            AgentError::Config(_) => policy::EXIT_CONFIG,
            _ => 1,
        }
    }
}

/// Everything a running agent shares between its tasks.
#[derive(Debug, Clone)]
pub struct AgentContext {
    /// This agent's paths.
    pub paths: AgentPaths,
    /// The bus.
    pub bus: BusClient,
    /// The core.
    pub core: Arc<Core>,
    /// Cancelled when the agent shuts down.
    pub shutdown: CancellationToken,
}

/// The Matrix room map and last-room file (when the agent runs Matrix).
type MatrixRooms = (
    Arc<crate::transport::matrix::rooms::RoomMap>,
    std::path::PathBuf,
);

/// The directory of the transports this agent runs.
fn directory(
    transports: &[String],
    config: &LiveConfig,
    matrix: Option<&MatrixRooms>,
) -> Arc<dyn Directory> {
    let mut parts: Vec<Arc<dyn Directory>> = Vec::new();
    for t in transports {
        if t == "telegram" {
            parts.push(Arc::new(
                crate::transport::telegram::TelegramDirectory::new(config.clone()),
            ));
        }
    }
    if let Some((rooms, last)) = matrix {
        parts.push(Arc::new(crate::transport::matrix::MatrixDirectory::new(
            config.clone(),
            rooms.clone(),
            last.clone(),
        )));
    }
    if crate::transport::api::ApiSettings::from_config(&config.get().api).enabled {
        parts.push(Arc::new(crate::transport::api::ApiDirectory::new(
            config.clone(),
        )));
    }
    Arc::new(Directories(parts))
}

/// Masks the config's chat credentials in the log.
fn register_secrets(config: &crate::config::AgentConfig) {
    crate::logging::register_secret(config.telegram_token.expose());
    let mx = crate::transport::matrix::settings::MatrixSettings::from_config(&config.matrix);
    crate::logging::register_secret(mx.password.expose());
    crate::logging::register_secret(mx.access_token.expose());
}

/// The agent's observers: ductor updates (main agent only) and codex models.
fn spawn_observers(core: &Arc<Core>, shutdown: &CancellationToken) {
    crate::upgrade::observer::spawn(core.clone(), shutdown.child_token());
    crate::provider::discover::spawn(core, shutdown.child_token());
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
    // One process per agent: a stray older one must not poll beside this one.
    std::fs::create_dir_all(opts.home.run_dir())
        .map_err(|e| AgentError::Other(format!("{}: {e}", opts.home.run_dir().display())))?;
    let _instance = crate::pidlock::PidLock::acquire(
        &opts.home.agent_lock(&opts.name),
        &format!("the agent `{}`", opts.name),
        opts.home.root(),
    )
    .map_err(|e| AgentError::Other(e.to_string()))?;
    home::seed_agent_home(&paths).map_err(|e| AgentError::Other(format!("seeding home: {e}")))?;
    let config = config::load_agent(&opts.home, &opts.name)?;
    register_secrets(&config);
    deploy_rule_files(&paths);
    crate::memory::sync_from_file(&paths);
    let (bus, inbox) = connect(&opts.home, &opts.name).await?;
    tracing::info!(agent = %opts.name, pid = std::process::id(), "agent registered on the bus");
    let transports = config.transports.clone();
    let live = LiveConfig::new(config);
    let matrix = (transports.iter().any(|t| t == "matrix"))
        .then(|| crate::transport::matrix::open_rooms(&paths, &live.get()));
    let directory = directory(&transports, &live, matrix.as_ref());
    let (outbox, outbox_rx) = crate::session::outbox::durable(&paths.outbox_file());
    let core = Core::start(CoreParts {
        paths: paths.clone(),
        config: live.clone(),
        launcher: Arc::new(crate::sandbox::SandboxLauncher::new(paths.clone(), live)),
        bus: Some(bus.clone()),
        directory: directory.clone(),
        outbox,
        catalogue: Arc::new(crate::provider::models::catalogue_for(&paths)),
    });
    let ctx = AgentContext {
        paths,
        bus,
        core: core.clone(),
        shutdown: CancellationToken::new(),
    };
    let bus_task = tokio::spawn(bus::serve(ctx.clone(), inbox));
    // Recorded before anything can stop the run: from here on, an end that skips
    // `finish` below is reported as a crash at the next start.
    let startup = crate::ops::startup::Startup::begin(&core.paths);
    crate::ops::startup::announce(&core, &startup.kind);
    core.named.resume_interrupted().await;
    let ops = Arc::new(Ops::new(core.clone()));
    let api = start_api(&ops, &ctx.shutdown).await;
    let api_lane = api.as_ref().map(|a| a.deliveries.clone());
    let transport = spawn_transports(
        &ctx,
        &ops,
        &transports,
        outbox_rx,
        directory,
        api_lane,
        matrix.map(|(rooms, _)| rooms),
    );
    let webhooks = start_webhooks(&core, &ctx.shutdown).await;
    let _cleanup =
        crate::cleanup::spawn(ctx.paths.clone(), core.config.clone(), ctx.shutdown.clone());
    let skills = crate::skills::spawn(&ctx.paths, core.config.clone(), ctx.shutdown.clone());
    crate::provider::rules::siblings::spawn(ctx.paths.clone(), ctx.shutdown.clone());
    config::reload::spawn(core.clone(), ctx.shutdown.child_token());
    crate::heartbeat::spawn(core.clone(), ctx.shutdown.child_token());
    crate::upkeep::spawn(core.clone(), ctx.shutdown.child_token());
    spawn_observers(&core, &ctx.shutdown);
    let code = tokio::select! {
        Some(()) = recv(&mut sigterm) => { tracing::info!("SIGTERM: shutting down"); 0 }
        Some(()) = recv(&mut sigint) => { tracing::info!("SIGINT: shutting down"); 0 }
        Some(()) = recv(&mut sighup) => {
            tracing::info!("SIGHUP: restarting to reload the configuration");
            policy::EXIT_RESTART
        }
        () = ctx.shutdown.cancelled() => 0,
        () = core.restart.cancelled() => {
            tracing::info!("restart requested: exiting with code 42");
            policy::EXIT_RESTART
        }
        _ = bus_task => { tracing::info!("supervisor gone: shutting down"); 0 }
        code = transport => code,
    };
    ctx.shutdown.cancel();
    // The skills sync takes its links out of the CLIs' folders before it ends.
    let _ = tokio::time::timeout(Duration::from_secs(5), skills).await;
    if let Some(server) = webhooks {
        server.stopped().await;
    }
    if let Some(api) = api {
        api.server.stopped().await;
    }
    core.shutdown(Duration::from_secs(7)).await;
    startup.finish();
    Ok(code)
}

/// Starts the webhook server of the main agent when `webhooks.enabled` (sub-agents
/// share the main config, and with it the port). An empty global token is generated
/// and saved first. A port that cannot be bound is logged; the agent runs on.
async fn start_webhooks(
    core: &Arc<Core>,
    stop: &CancellationToken,
) -> Option<crate::webhooks::Server> {
    use crate::webhooks::{CoreDispatch, HookStore, WebhookSettings};
    if !core.paths.is_main() || !WebhookSettings::from_config(&core.config.get().webhooks).enabled {
        return None;
    }
    ensure_block_token(core, "webhooks", |c| &mut c.webhooks);
    let settings = WebhookSettings::from_config(&core.config.get().webhooks);
    let listener = match crate::webhooks::bind(&settings.host, settings.port).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "webhooks: the server is not running");
            return None;
        }
    };
    let store = Arc::new(HookStore::open(core.paths.webhooks_file()));
    let live = core.config.clone();
    let source: crate::webhooks::SettingsSource =
        Arc::new(move || WebhookSettings::from_config(&live.get().webhooks));
    let server = crate::webhooks::serve(
        listener,
        store,
        Arc::new(CoreDispatch::new(core.clone())),
        source,
        stop.child_token(),
    );
    tracing::info!(addr = %server.local_addr(), "webhooks: listening");
    Some(server)
}

/// Gives the config block `key` (reached by `block`) a generated token when its
/// `token` is empty, saved in `config.json` and applied to the live config.
fn ensure_block_token(
    core: &Core,
    key: &str,
    block: impl Fn(&mut config::AgentConfig) -> &mut serde_json::Value,
) {
    let mut updated = (*core.config.get()).clone();
    let value = block(&mut updated);
    if crate::webhooks::ensure_token(value).is_none() {
        return;
    }
    let file = core.paths.config_file();
    if let Err(e) = config::load::update_config_file(&file, &[(key, value.clone())]) {
        tracing::error!(error = %e, "{key}: cannot save the generated token");
    }
    core.config.set(updated);
}

/// Starts the direct API when `api.enabled` (see [`crate::transport::api::start`]),
/// after giving it a token if it has none.
async fn start_api(
    ops: &Arc<Ops>,
    stop: &CancellationToken,
) -> Option<crate::transport::api::Running> {
    use crate::transport::api::{ApiContext, ApiSettings};
    if !ApiSettings::from_config(&ops.core.config.get().api).enabled {
        return None;
    }
    ensure_block_token(&ops.core, "api", |c| &mut c.api);
    crate::transport::api::start(&ApiContext::new(ops.clone(), stop.child_token())).await
}

/// Starts the chat transports and the outbox router; the future resolves with an exit
/// code if one of them cannot run (a refused bot token is a configuration error).
fn spawn_transports(
    ctx: &AgentContext,
    ops: &Arc<Ops>,
    transports: &[String],
    outbox: crate::session::outbox::OutboxRx,
    directory: Arc<dyn Directory>,
    api: Option<mpsc::UnboundedSender<(crate::address::Address, crate::session::outbox::Delivery)>>,
    matrix: Option<Arc<crate::transport::matrix::rooms::RoomMap>>,
) -> impl std::future::Future<Output = i32> + use<> {
    let mut lanes = crate::chat::deliver::Lanes::new();
    if let Some(tx) = api {
        lanes.insert(crate::transport::api::TRANSPORT.to_owned(), tx);
    }
    let mut tasks: Vec<tokio::task::JoinHandle<i32>> = Vec::new();
    if transports.iter().any(|t| t == "telegram") {
        let (tx, rx) = mpsc::unbounded_channel();
        lanes.insert(crate::address::TELEGRAM.to_owned(), tx);
        let run = crate::transport::telegram::run(ops.clone(), ctx.shutdown.child_token(), rx);
        tasks.push(tokio::spawn(async move {
            match run.await {
                Ok(()) => std::future::pending().await,
                Err(e) => {
                    tracing::error!("{e}");
                    policy::EXIT_CONFIG
                }
            }
        }));
    }
    if let Some(rooms) = matrix {
        use crate::transport::matrix::StartError;
        let (tx, rx) = mpsc::unbounded_channel();
        lanes.insert(crate::address::MATRIX.to_owned(), tx);
        let run = crate::transport::matrix::run(ops.clone(), ctx.shutdown.child_token(), rx, rooms);
        tasks.push(tokio::spawn(async move {
            match run.await {
                Ok(()) => std::future::pending().await,
                Err(e @ StartError::Config(_)) => {
                    tracing::error!("{e}");
                    policy::EXIT_CONFIG
                }
                Err(e @ StartError::Login(_)) => {
                    tracing::error!("{e}");
                    1
                }
            }
        }));
    }
    tokio::spawn(crate::chat::deliver::route(outbox, directory, lanes));
    async move {
        if tasks.is_empty() {
            return std::future::pending().await;
        }
        // The first transport that cannot run ends the agent with its code.
        let (done, _, _) = futures_util::future::select_all(tasks).await;
        done.unwrap_or_else(|e| {
            tracing::error!(error = %e, "a chat transport failed");
            1
        })
    }
}

/// Writes the workspace rule files of the providers that can run here.
fn deploy_rule_files(paths: &AgentPaths) {
    let auth = crate::provider::auth::for_agent(paths);
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
        let token = crate::ipc::agent_token();
        match BusClient::connect_with(&socket, PeerRole::Agent, Some(name.to_owned()), token).await
        {
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
