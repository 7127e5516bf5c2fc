//! One actor per agent process: spawns `ductor-agent`, waits for it, applies the
//! restart policy, and obeys stop/restart/start commands. Nobody else touches the
//! `Child`.

use super::hub::HubHandle;
use super::policy::{Decision, Exit, RestartPolicy};
use super::registry::Registry;
use crate::config::model::SupervisorConfig;
use crate::ipc::message::{AgentStatus, Body, Notice};
use crate::paths::{Home, MAIN_AGENT};
use crate::procs;
use nix::sys::signal::Signal;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};

/// What the supervisor needs to start agents.
#[derive(Debug, Clone)]
pub struct SpawnContext {
    /// The ductor home.
    pub home: Home,
    /// Path of the `ductor-agent` executable.
    pub agent_bin: PathBuf,
    /// `-v` count passed on to agents.
    pub verbosity: u8,
    /// Restart policy settings.
    pub policy: SupervisorConfig,
}

enum Ctl {
    /// Stop the process and end the actor (agent removed).
    Stop(oneshot::Sender<()>),
    /// Stop the process and wait for `Start`/`Restart` (`/agent_stop`).
    Halt(oneshot::Sender<()>),
    Restart,
    Start,
}

/// Handle to an agent actor.
#[derive(Debug, Clone)]
pub struct AgentHandle {
    tx: mpsc::Sender<Ctl>,
}

impl std::fmt::Debug for Ctl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Ctl::Stop(_) => "Stop",
            Ctl::Halt(_) => "Halt",
            Ctl::Restart => "Restart",
            Ctl::Start => "Start",
        })
    }
}

impl AgentHandle {
    /// Stops the agent (SIGTERM, grace period, SIGKILL of its group) and ends the actor.
    pub async fn stop(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Ctl::Stop(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// Stops the agent process but keeps it configured; `start` brings it back.
    pub async fn halt(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Ctl::Halt(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// Restarts the agent now (used when its identity changed).
    pub async fn restart(&self) {
        let _ = self.tx.send(Ctl::Restart).await;
    }

    /// Starts a crashed (given-up) agent again.
    pub async fn start(&self) {
        let _ = self.tx.send(Ctl::Start).await;
    }
}

/// Spawns the actor for agent `name`.
pub fn spawn(name: String, ctx: SpawnContext, registry: Registry, hub: HubHandle) -> AgentHandle {
    let (tx, rx) = mpsc::channel(8);
    registry.update(&name, |s| s.status = AgentStatus::Starting);
    tokio::spawn(run(name, ctx, registry, hub, rx));
    AgentHandle { tx }
}

fn spawn_child(name: &str, ctx: &SpawnContext, token: &str) -> std::io::Result<Child> {
    let mut cmd = Command::new(&ctx.agent_bin);
    cmd.env(crate::ipc::AGENT_TOKEN_VAR, token)
        .arg("--home")
        .arg(ctx.home.root())
        .arg("--agent")
        .arg(name)
        .env("DUCTOR_SUPERVISOR_PID", std::process::id().to_string())
        .stdin(Stdio::null())
        .process_group(0)
        .kill_on_drop(false);
    for _ in 0..ctx.verbosity {
        cmd.arg("-v");
    }
    if let Some(umask) = crate::procs::user_umask() {
        cmd.env(crate::procs::USER_UMASK_VAR, umask);
    }
    #[cfg(target_os = "linux")]
    {
        // SAFETY: the closure runs between fork and exec and only calls prctl(2),
        // which is async-signal-safe; it touches no memory of the parent.
        #[allow(unsafe_code)]
        unsafe {
            cmd.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(Signal::SIGTERM).map_err(std::io::Error::from)
            });
        }
    }
    cmd.spawn()
}

fn exit_of(status: ExitStatus) -> Exit {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => Exit::Code(c),
        (None, Some(s)) => Exit::Signal(s),
        (None, None) => Exit::Code(-1),
    }
}

/// Sends SIGTERM, waits `grace`, then SIGKILLs the agent's process group.
async fn stop_child(child: &mut Child, grace: Duration) {
    let Some(pid) = child.id() else {
        return;
    };
    let pid = pid as i32;
    procs::signal_pid(pid, Signal::SIGTERM);
    if tokio::time::timeout(grace, child.wait()).await.is_err() {
        tracing::warn!(
            pid,
            "agent did not stop within {grace:?}; killing its process group"
        );
        procs::signal_group(pid, Signal::SIGKILL);
        let _ = child.wait().await;
    }
    procs::signal_group(pid, Signal::SIGKILL);
}

/// Kills orphans of a dead agent that were re-parented to the supervisor, until none are left.
async fn sweep_orphans(registry: &Registry) {
    for _ in 0..25 {
        let keep: std::collections::HashSet<i32> =
            registry.pids().into_iter().map(|p| p as i32).collect();
        if procs::reap_orphans(&keep) == 0 {
            // One more pass reaps the zombies of what was just killed.
            let keep: std::collections::HashSet<i32> =
                registry.pids().into_iter().map(|p| p as i32).collect();
            procs::reap_orphans(&keep);
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How one process run ended from the actor's point of view.
enum RunEnd {
    /// The process exited on its own after `uptime`.
    Exited(Exit, Duration),
    /// A restart/start command came in; the process was stopped.
    Restart,
    /// A stop command came in (or all handles are gone); the actor ends.
    Stopped,
    /// A halt command came in: the process is stopped, the actor waits for a start.
    Halted,
}

struct Actor {
    name: String,
    ctx: SpawnContext,
    registry: Registry,
    hub: HubHandle,
    rx: mpsc::Receiver<Ctl>,
    policy: RestartPolicy,
    grace: Duration,
}

async fn run(
    name: String,
    ctx: SpawnContext,
    registry: Registry,
    hub: HubHandle,
    rx: mpsc::Receiver<Ctl>,
) {
    let policy = RestartPolicy::new(&ctx.policy, name == MAIN_AGENT);
    let grace = Duration::from_secs_f64(ctx.policy.stop_grace_seconds.max(0.0));
    let mut actor = Actor {
        name,
        ctx,
        registry,
        hub,
        rx,
        policy,
        grace,
    };
    let mut first = true;
    loop {
        // A new token per start: a stray older process cannot register in its place.
        let token = crate::util::random_hex(16);
        actor
            .registry
            .update(&actor.name, |s| s.token = Some(token.clone()));
        let child = match spawn_child(&actor.name, &actor.ctx, &token) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(agent = %actor.name, error = %e, bin = %actor.ctx.agent_bin.display(), "cannot start agent");
                let msg = format!("cannot start {}: {e}", actor.ctx.agent_bin.display());
                actor.registry.update(&actor.name, |s| {
                    s.status = AgentStatus::Crashed;
                    s.last_error = Some(msg);
                });
                if wait_for_start(&mut actor.rx).await.is_none() {
                    return;
                }
                continue;
            }
        };
        let restart = !std::mem::replace(&mut first, false);
        match actor.supervise(child, restart).await {
            RunEnd::Restart => actor.policy.reset(),
            RunEnd::Stopped => return,
            RunEnd::Halted => {
                if wait_for_start(&mut actor.rx).await.is_none() {
                    return;
                }
                actor.policy.reset();
            }
            RunEnd::Exited(exit, uptime) => {
                if !actor.after_exit(exit, uptime).await {
                    return;
                }
            }
        }
    }
}

impl Actor {
    /// Watches one process until it exits or a command ends it.
    async fn supervise(&mut self, mut child: Child, restart: bool) -> RunEnd {
        let pid = child.id();
        let started = Instant::now();
        self.registry.update(&self.name, |s| {
            s.pid = pid;
            s.status = AgentStatus::Starting;
            s.registered_at = None;
            if restart {
                s.restart_count += 1;
            }
        });
        tracing::info!(agent = %self.name, pid = ?pid, "agent process started");
        let end = tokio::select! {
            status = child.wait() => {
                let exit = match status {
                    Ok(st) => exit_of(st),
                    Err(e) => {
                        tracing::error!(agent = %self.name, error = %e, "waiting for agent failed");
                        Exit::Code(-1)
                    }
                };
                RunEnd::Exited(exit, started.elapsed())
            }
            cmd = self.rx.recv() => {
                stop_child(&mut child, self.grace).await;
                match cmd {
                    Some(Ctl::Restart | Ctl::Start) => RunEnd::Restart,
                    Some(Ctl::Stop(done)) => {
                        self.registry.update(&self.name, |s| s.status = AgentStatus::Stopped);
                        let _ = done.send(());
                        RunEnd::Stopped
                    }
                    Some(Ctl::Halt(done)) => {
                        self.registry.update(&self.name, |s| s.status = AgentStatus::Stopped);
                        let _ = done.send(());
                        RunEnd::Halted
                    }
                    None => RunEnd::Stopped,
                }
            }
        };
        self.registry.update(&self.name, |s| {
            s.pid = None;
            s.registered_at = None;
        });
        sweep_orphans(&self.registry).await;
        end
    }

    /// Applies the restart policy; returns whether to start the process again.
    async fn after_exit(&mut self, exit: Exit, uptime: Duration) -> bool {
        let decision = self.policy.on_exit(exit, uptime);
        tracing::info!(agent = %self.name, %exit, ?decision, "agent process ended");
        if decision != Decision::RestartNow {
            self.registry
                .update(&self.name, |s| s.last_error = Some(exit.to_string()));
        }
        match decision {
            Decision::RestartNow => true,
            Decision::RestartAfter(delay) => {
                self.registry
                    .update(&self.name, |s| s.status = AgentStatus::Starting);
                tokio::select! {
                    () = tokio::time::sleep(delay) => true,
                    cmd = self.rx.recv() => match cmd {
                        Some(Ctl::Stop(done)) => {
                            self.registry.update(&self.name, |s| s.status = AgentStatus::Stopped);
                            let _ = done.send(());
                            false
                        }
                        Some(Ctl::Halt(done)) => {
                            self.registry.update(&self.name, |s| s.status = AgentStatus::Stopped);
                            let _ = done.send(());
                            let again = wait_for_start(&mut self.rx).await.is_some();
                            if again {
                                self.policy.reset();
                            }
                            again
                        }
                        Some(_) => {
                            self.policy.reset();
                            true
                        }
                        None => false,
                    },
                }
            }
            Decision::GiveUp => {
                let failures = self.policy.failures();
                let name = &self.name;
                self.registry
                    .update(name, |s| s.status = AgentStatus::Crashed);
                tracing::error!(agent = %name, failures, "giving up on agent: {exit}");
                let text = format!(
                    "**[Supervisor]** Sub-agent `{name}` stopped after {failures} crashes: {exit}. \
                     Fix the cause, then `/agent_start {name}`."
                );
                self.hub
                    .notify(Some(MAIN_AGENT), Body::Notice(Notice { text }))
                    .await;
                let again = wait_for_start(&mut self.rx).await.is_some();
                if again {
                    self.policy.reset();
                } else {
                    self.registry
                        .update(name, |s| s.status = AgentStatus::Stopped);
                }
                again
            }
        }
    }
}

/// Waits while the agent is down for good; `Some` on start/restart, `None` on stop.
async fn wait_for_start(rx: &mut mpsc::Receiver<Ctl>) -> Option<()> {
    loop {
        match rx.recv().await? {
            Ctl::Start | Ctl::Restart => return Some(()),
            Ctl::Halt(done) => {
                let _ = done.send(());
            }
            Ctl::Stop(done) => {
                let _ = done.send(());
                return None;
            }
        }
    }
}
