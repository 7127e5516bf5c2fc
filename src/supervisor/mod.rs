//! The `ductor` supervisor: holds the PID lock, runs the bus hub, keeps one
//! `ductor-agent` process per agent alive (restart policy in [`policy`]), follows
//! `agents.json`, and shuts everything down on SIGTERM/SIGINT or a bus request.
//!
//! Owns agent processes and the bus socket. Must not run provider CLIs or talk to
//! chat transports: that is the agents' job.

pub mod agent_proc;
pub mod hub;
pub mod policy;
pub mod registry;

use crate::config::{self, ConfigError, SubAgentEntry};
use crate::ipc::BusListener;
use crate::paths::{Home, MAIN_AGENT};
use crate::{home, procs, store, watch};
use agent_proc::{AgentHandle, SpawnContext};
use registry::Registry;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How the supervisor is started.
#[derive(Debug, Clone)]
pub struct SupervisorOptions {
    /// The ductor home.
    pub home: Home,
    /// `-v` count (passed on to agents).
    pub verbosity: u8,
    /// Install SIGTERM/SIGINT handlers (off when embedded in a test).
    pub handle_signals: bool,
    /// `ductor-agent` executable; default: next to the current executable.
    pub agent_bin: Option<PathBuf>,
}

/// How a supervisor run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// Stopped on request; exit 0.
    Stopped,
    /// A restart of the whole system was requested (§1.4).
    Restart,
}

/// Why the supervisor could not run; each maps to an exit code.
#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    /// A config file is malformed (exit 1).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Required keys are missing (exit 2).
    #[error("{path}: set {keys} before starting ductor (`ductor onboarding` asks for them)")]
    Unconfigured {
        /// The config file.
        path: String,
        /// The missing keys, comma-separated.
        keys: String,
    },
    /// Another supervisor runs on this home (exit 1).
    #[error(transparent)]
    Locked(#[from] crate::pidlock::LockError),
    /// Anything else at start-up (exit 1).
    #[error("{0}")]
    Startup(String),
}

impl SupervisorError {
    /// Process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            SupervisorError::Unconfigured { .. } => 2,
            _ => 1,
        }
    }
}

/// Checks that the main config exists, parses and has what it needs.
pub fn check_config(home: &Home) -> Result<config::LoadedConfig, SupervisorError> {
    let loaded = config::load_config_file(&home.main().config_file())?;
    let missing = loaded.config.missing_keys();
    if !missing.is_empty() {
        return Err(SupervisorError::Unconfigured {
            path: loaded.path.display().to_string(),
            keys: missing.join(", "),
        });
    }
    Ok(loaded)
}

fn startup(e: impl std::fmt::Display) -> SupervisorError {
    SupervisorError::Startup(e.to_string())
}

/// Runs the supervisor until it is stopped or a restart is requested.
pub async fn run(opts: SupervisorOptions) -> Result<RunOutcome, SupervisorError> {
    let home = opts.home.clone();
    std::fs::create_dir_all(home.root()).map_err(startup)?;
    store::ensure_private_dir(&home.run_dir()).map_err(startup)?;
    let loaded = check_config(&home)?;
    let _lock = crate::pidlock::PidLock::acquire(&home.pid_file(), "ductor", home.root())?;
    home::seed_agent_home(&home.main()).map_err(startup)?;
    for f in crate::cli::doctor::permission_findings(&home) {
        tracing::warn!("{}", f.text);
    }
    let entries = config::load_agents(&home.agents_file())?;
    let listener = BusListener::bind(&home.bus_socket()).map_err(startup)?;
    procs::become_subreaper();

    let agent_bin = match opts.agent_bin.clone() {
        Some(p) => p,
        None => std::env::current_exe()
            .map_err(startup)?
            .with_file_name("ductor-agent"),
    };
    let ctx = SpawnContext {
        home: home.clone(),
        agent_bin,
        verbosity: opts.verbosity,
        policy: loaded.config.supervisor.clone(),
    };
    let registry = Registry::default();
    let cancel = CancellationToken::new();
    let (shutdown_tx, mut shutdown_rx) = mpsc::channel::<bool>(4);
    let (control_tx, mut control_rx) = mpsc::channel::<hub::ControlRequest>(8);
    let hub = hub::start(
        home.clone(),
        control_tx,
        listener,
        registry.clone(),
        shutdown_tx,
        cancel.clone(),
    );

    let mut agents = Agents {
        ctx,
        registry: registry.clone(),
        hub: hub.clone(),
        running: BTreeMap::new(),
    };
    agents.reconcile(&entries).await;
    tracing::info!(home = %home.root().display(), agents = agents.running.len(), "ductor supervisor started");

    let (_watcher, mut changes) = watch::watch_files(
        home.root(),
        &["agents.json", "restart-requested", "SHAREDMEMORY.md"],
        Duration::from_millis(150),
    );
    let (mut sigterm, mut sigint) = if opts.handle_signals {
        (
            Some(signal(SignalKind::terminate()).map_err(startup)?),
            Some(signal(SignalKind::interrupt()).map_err(startup)?),
        )
    } else {
        (None, None)
    };
    let outcome = loop {
        tokio::select! {
            Some(()) = recv_signal(&mut sigterm) => break RunOutcome::Stopped,
            Some(()) = recv_signal(&mut sigint) => break RunOutcome::Stopped,
            Some(restart) = shutdown_rx.recv() => {
                break if restart { RunOutcome::Restart } else { RunOutcome::Stopped };
            }
            Some((request, reply)) = control_rx.recv() => {
                let _ = reply.send(agents.control(&request).await);
            }
            Some(name) = changes.recv() => match name.as_str() {
                "agents.json" => match config::load_agents(&home.agents_file()) {
                    Ok(entries) => agents.reconcile(&entries).await,
                    Err(e) => tracing::error!("{e}; keeping the running agents as they are"),
                },
                "SHAREDMEMORY.md" => push_shared_memory(&home, &hub).await,
                _ => {
                    if std::fs::remove_file(home.restart_marker()).is_ok() {
                        tracing::info!("restart requested through {}", home.restart_marker().display());
                        break RunOutcome::Restart;
                    }
                }
            },
        }
    };
    tracing::info!(?outcome, "supervisor shutting down");
    agents.stop_all().await;
    if outcome == RunOutcome::Stopped {
        // The sandbox container lives as long as the agents (a restart keeps it).
        match crate::sandbox::teardown(&home).await {
            Ok(Some(name)) => tracing::info!(container = %name, "sandbox container removed"),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cannot remove the sandbox container"),
        }
    }
    cancel.cancel();
    let _ = std::fs::remove_file(home.bus_socket());
    Ok(outcome)
}

/// Sends the changed `SHAREDMEMORY.md` to every agent; one over
/// [`crate::ipc::MAX_TEXT`] is not sent (the agents keep their copy) and the log says why.
async fn push_shared_memory(home: &Home, hub: &hub::HubHandle) {
    let path = home.shared_memory();
    let content = match std::fs::read_to_string(&path) {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            tracing::error!(error = %e, "cannot read {}; the agents keep their copy", path.display());
            return;
        }
    };
    let content = content.trim();
    if content.len() > crate::ipc::MAX_TEXT {
        tracing::error!(
            bytes = content.len(),
            limit = crate::ipc::MAX_TEXT,
            "{} is over the limit; the agents keep their copy until it is shortened",
            path.display()
        );
        return;
    }
    tracing::info!(
        bytes = content.len(),
        "SHAREDMEMORY.md changed; pushing it to every agent"
    );
    let body = crate::ipc::Body::SharedMemory(crate::ipc::message::SharedMemory {
        content: content.to_owned(),
    });
    hub.notify(None, body).await;
}

async fn recv_signal(sig: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match sig {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

/// The set of agent actors, kept in line with `agents.json`.
struct Agents {
    ctx: SpawnContext,
    registry: Registry,
    hub: hub::HubHandle,
    running: BTreeMap<String, (AgentHandle, serde_json::Value)>,
}

impl Agents {
    async fn reconcile(&mut self, entries: &[SubAgentEntry]) {
        let mut wanted: BTreeMap<String, serde_json::Value> = entries
            .iter()
            .map(|e| (e.name.clone(), e.identity()))
            .collect();
        wanted.insert(MAIN_AGENT.to_owned(), serde_json::Value::Null);
        let removed: Vec<String> = self
            .running
            .keys()
            .filter(|n| !wanted.contains_key(*n))
            .cloned()
            .collect();
        for name in removed {
            if let Some((handle, _)) = self.running.remove(&name) {
                tracing::info!(agent = %name, "removed from agents.json; stopping");
                let registry = self.registry.clone();
                tokio::spawn(async move {
                    handle.stop().await;
                    registry.remove(&name);
                });
            }
        }
        for (name, identity) in wanted {
            match self.running.get_mut(&name) {
                None => {
                    tracing::info!(agent = %name, "starting agent");
                    let handle = agent_proc::spawn(
                        name.clone(),
                        self.ctx.clone(),
                        self.registry.clone(),
                        self.hub.clone(),
                    );
                    self.running.insert(name, (handle, identity));
                }
                Some((handle, old)) if *old != identity => {
                    tracing::info!(agent = %name, "token or transport changed; restarting agent");
                    *old = identity;
                    handle.restart().await;
                }
                Some(_) => {}
            }
        }
    }

    /// `/agent_start|stop|restart`: the main agent cannot be stopped or restarted.
    async fn control(&mut self, c: &crate::ipc::message::AgentControl) -> Result<(), String> {
        use crate::ipc::message::AgentAction;
        if c.name == MAIN_AGENT && c.action != AgentAction::Start {
            return Err("the main agent cannot be stopped or restarted from chat".into());
        }
        if let Some((handle, _)) = self.running.get(&c.name) {
            match c.action {
                AgentAction::Start => handle.start().await,
                AgentAction::Stop => handle.halt().await,
                AgentAction::Restart => handle.restart().await,
            }
            return Ok(());
        }
        match config::load_agents(&self.ctx.home.agents_file()) {
            Ok(entries) if entries.iter().any(|e| e.name == c.name) => {
                self.reconcile(&entries).await;
                Ok(())
            }
            Ok(_) => Err(format!("no agent named `{}` in agents.json", c.name)),
            Err(e) => Err(e.to_string()),
        }
    }

    async fn stop_all(&mut self) {
        let stops = self.running.values().map(|(h, _)| h.stop());
        futures_util::future::join_all(stops).await;
        let keep: std::collections::HashSet<i32> = std::collections::HashSet::new();
        procs::reap_orphans(&keep);
    }
}
