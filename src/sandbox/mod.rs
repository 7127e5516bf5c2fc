//! Sandboxed runs: the second implementation of the [`Launcher`] seam. Every run of
//! an agent — chat turns, named sessions, tasks, inter-agent asks, cron jobs,
//! webhooks, heartbeats — goes through the agent's one launcher, so with a sandbox
//! configured all of them run inside it:
//! - [`container`]: Docker or podman, one long-lived container per ductor home,
//!   entered with `exec`;
//! - [`bwrap`]: bubblewrap, a fresh namespace per run, no daemon, no image.
//!
//! The sandbox **fails closed**: when it is configured and cannot run (engine
//! missing, daemon down, image build failed, container gone and not recreatable, an
//! unknown backend name), the run does not happen anywhere and ends with
//! [`FailureKind::SandboxUnavailable`], whose sentence tells the chat why and points
//! at `ductor docker status`. There is no fallback to the host.
//!
//! The settings are read at every run (a config change applies to the next run; a
//! container whose settings changed is made again).

pub mod bwrap;
pub mod container;
pub mod image;
pub mod status;

use crate::config::LiveConfig;
use crate::config::sandbox::{Backend, SandboxSettings};
use crate::exec::{BoxFuture, Launch, Launcher, OpenError, Opened, request};
use crate::paths::{AgentPaths, Home};
use crate::provider::event::{Event, FailureKind, Outcome};
use crate::provider::live::StartSpec;
use crate::provider::live::driver::LiveProcess;
use crate::provider::runner::{self, RunRequest};
use container::{ContainerRun, Engine, Spec};
use nix::sys::signal::Signal;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc};
use tokio_util::sync::CancellationToken;

/// Runs CLIs where the agent's sandbox settings say: on the host (`none`), in the
/// shared container, or under bubblewrap.
#[derive(Debug, Clone)]
pub struct SandboxLauncher {
    paths: AgentPaths,
    config: LiveConfig,
    /// One container check/creation at a time in this process (the file lock in
    /// `run/` orders processes).
    gate: Arc<Mutex<()>>,
}

impl SandboxLauncher {
    /// A launcher for the agent at `paths`, reading `config` at every launch.
    pub fn new(paths: AgentPaths, config: LiveConfig) -> Self {
        Self {
            paths,
            config,
            gate: Arc::default(),
        }
    }
}

/// The user's home as a run sees it: its `HOME`, else this process's.
pub(crate) fn user_home_of(
    vars: &[(std::ffi::OsString, std::ffi::OsString)],
) -> std::path::PathBuf {
    crate::provider::env::get(vars, "HOME")
        .map_or_else(crate::paths::user_home, std::path::PathBuf::from)
}

/// The outcome of a run the sandbox could not start.
pub fn unavailable(settings: &SandboxSettings, reason: &str) -> Outcome {
    tracing::warn!(
        backend = settings.backend.name(),
        reason,
        "sandbox unavailable; the run did not start"
    );
    Outcome::Failed {
        kind: FailureKind::SandboxUnavailable,
        detail: format!(
            "the {} sandbox cannot run: {reason}",
            settings.backend.name()
        ),
        session_id: None,
    }
}

enum Prepared {
    Host(RunRequest),
    Container(RunRequest, Arc<ContainerRun>),
}

async fn prepare(
    req: RunRequest,
    paths: &AgentPaths,
    settings: &SandboxSettings,
    dotenv: &BTreeMap<String, String>,
    gate: &Mutex<()>,
) -> Result<Prepared, String> {
    if let Some(problem) = settings.problem() {
        // An unknown backend ends here too.
        return Err(problem);
    }
    if settings.backend.engine().is_none() {
        return match settings.backend {
            Backend::Bwrap => bwrap::wrap(req, paths, settings).map(Prepared::Host),
            _ => Ok(Prepared::Host(req)),
        };
    }
    let engine = Engine::find(&settings.backend)?;
    let home = paths.home();
    let spec = container::spec(&home, settings, &req.env)?;
    let path = ensure(&engine, &spec, settings, &home, gate).await?;
    let env = container::cli_env(&req, dotenv, settings);
    let (req, run) = container::wrap(req, &engine, &spec.name, env, &path);
    Ok(Prepared::Container(req, run))
}

/// Makes sure `spec`'s container runs: reuses it, starts it again, or makes it
/// (building the image first when it is missing and `auto_build` is on). Returns
/// the container's `PATH`.
pub async fn ensure(
    engine: &Engine,
    spec: &Spec,
    settings: &SandboxSettings,
    home: &Home,
    gate: &Mutex<()>,
) -> Result<String, String> {
    let _in_process = gate.lock().await;
    let hash = spec.hash();
    let fits =
        |st: &container::ContainerState| st.running && st.spec == hash && st.home == spec.home;
    let not_answering = |e: String| format!("the {} engine does not answer ({e})", engine.name);
    if let Some(st) = engine
        .state(&spec.name)
        .await
        .map_err(not_answering)?
        .filter(|s| fits(s))
    {
        return Ok(st.path);
    }
    let lock_path = home.run_dir().join("sandbox");
    let _across_processes =
        tokio::task::spawn_blocking(move || crate::store::lock_beside(&lock_path))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
    if let Some(st) = engine.state(&spec.name).await.map_err(not_answering)? {
        if fits(&st) {
            return Ok(st.path);
        }
        if st.home.is_empty() {
            return Err(format!(
                "a container named \"{}\" exists that ductor did not make; remove it or set \
                 sandbox.container to another name",
                spec.name
            ));
        }
        if st.home != spec.home {
            return Err(format!(
                "the container \"{}\" belongs to another ductor home ({}); set sandbox.container \
                 to another name",
                spec.name, st.home
            ));
        }
        let why = if st.running {
            "its settings changed"
        } else {
            "it had stopped"
        };
        tracing::info!(container = %spec.name, why, "making the sandbox container again");
        engine.remove(&spec.name).await?;
    }
    if !engine.image_exists(&spec.image).await {
        if !settings.auto_build {
            return Err(format!(
                "the image \"{}\" does not exist and auto_build is off (run `ductor docker rebuild`)",
                spec.image
            ));
        }
        tracing::info!(image = %spec.image, "building the sandbox image");
        image::build(
            engine,
            settings,
            home,
            &mut |line| tracing::debug!(target: "ductor::sandbox::build", "{line}"),
        )
        .await
        .map_err(|e| format!("building the image \"{}\" failed: {e}", spec.image))?;
    }
    spec.make_dirs()?;
    let args = spec.run_args(&hash);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    engine
        .run(&argv)
        .await
        .map_err(|e| format!("cannot start the container \"{}\": {e}", spec.name))?;
    tracing::info!(container = %spec.name, image = %spec.image, "sandbox container started");
    let st = engine
        .state(&spec.name)
        .await?
        .filter(|s| s.running)
        .ok_or_else(|| {
            format!(
                "the container \"{}\" stopped right after it started",
                spec.name
            )
        })?;
    let tool = format!("{}/ductor", container::CONTAINER_BIN);
    if let Err(e) = engine.run(&["exec", &spec.name, &tool, "--version"]).await {
        tracing::warn!(error = %e, "the agent tools (`ductor task`, `ductor ask`) do not run inside the container; its C library may be older than the host's");
    }
    Ok(st.path)
}

/// Removes `home`'s container when its main config uses a container backend (the
/// supervisor's stop, `ductor docker disable|rebuild`). A container of another home
/// or one ductor did not make is left alone.
pub async fn teardown(home: &Home) -> Result<Option<String>, String> {
    let settings = main_settings(home)?;
    if settings.backend.engine().is_none() {
        return Ok(None);
    }
    remove_container(&Engine::find(&settings.backend)?, &settings, home).await
}

/// The main agent's sandbox settings (those of the shared container).
pub fn main_settings(home: &Home) -> Result<SandboxSettings, String> {
    crate::config::load_agent(home, crate::paths::MAIN_AGENT)
        .map(|c| c.sandbox_settings())
        .map_err(|e| e.to_string())
}

/// Removes the container of `settings` when it belongs to `home`; returns its name.
pub async fn remove_container(
    engine: &Engine,
    settings: &SandboxSettings,
    home: &Home,
) -> Result<Option<String>, String> {
    match engine.state(&settings.container).await? {
        Some(st) if st.home == home.root().display().to_string() => {
            engine.remove(&settings.container).await?;
            Ok(Some(settings.container.clone()))
        }
        _ => Ok(None),
    }
}

/// Removes a run's temporary files.
fn remove_files(files: &[std::path::PathBuf]) {
    for f in files {
        let _ = std::fs::remove_file(f);
    }
}

impl SandboxLauncher {
    /// [`Launcher::open_live`]: the live CLI on the host, under bubblewrap or in the
    /// container, exactly where a one-shot run of the same job would run.
    async fn open(
        request: std::io::Result<RunRequest>,
        start: StartSpec,
        codec: Box<dyn crate::provider::live::LiveCodec>,
        ctx: (
            AgentPaths,
            SandboxSettings,
            BTreeMap<String, String>,
            Arc<Mutex<()>>,
        ),
    ) -> Result<Opened, OpenError> {
        let (paths, settings, dotenv, gate) = ctx;
        let req = request.map_err(|e| OpenError::Failed(Outcome::cannot_prepare(&e)))?;
        let temp_files = req.invocation.temp_files.clone();
        let (req, container) = if settings.enabled() {
            match prepare(req, &paths, &settings, &dotenv, &gate).await {
                Ok(Prepared::Host(r)) => (r, None),
                Ok(Prepared::Container(r, run)) => (r, Some(run)),
                Err(reason) => {
                    remove_files(&temp_files);
                    return Err(OpenError::Failed(unavailable(&settings, &reason)));
                }
            }
        } else {
            (req, None)
        };
        let spawned = match runner::command(&req) {
            Ok(cmd) => LiveProcess::spawn(cmd, codec, &start)
                .await
                .map_err(|e| Outcome::Failed {
                    kind: FailureKind::Crashed,
                    detail: format!("cannot start `{}`: {e}", req.invocation.program),
                    session_id: None,
                }),
            Err(outcome) => Err(outcome),
        };
        let process = match spawned {
            Ok(p) => p,
            Err(outcome) => {
                remove_files(&temp_files);
                return Err(OpenError::Failed(outcome));
            }
        };
        let cleanup: crate::exec::BoxFuture<()> = Box::pin(async move {
            remove_files(&temp_files);
            if let Some(run) = container {
                run.sweep(Signal::SIGKILL).await;
            }
        });
        Ok(Opened {
            process,
            cleanup: Some(cleanup),
        })
    }
}

impl Launcher for SandboxLauncher {
    fn open_live(&self, job: &Launch) -> crate::exec::BoxFuture<Result<Opened, OpenError>> {
        let config = self.config.get();
        let settings = config.sandbox_settings();
        let dotenv = crate::config::env_file::load(&self.paths.env_file());
        let request = request::build_live_request_with(&config, &self.paths, job, &dotenv);
        let start = StartSpec {
            cwd: job.cwd.clone(),
            resume: job.spec.resume.clone(),
            model: job.spec.model.clone(),
        };
        let codec = crate::provider::live::codec_for(job.provider, &config.permission_mode);
        let ctx = (self.paths.clone(), settings, dotenv, self.gate.clone());
        Box::pin(Self::open(request, start, codec, ctx))
    }

    fn launch(
        &self,
        job: Launch,
        events: mpsc::Sender<Event>,
        cancel: CancellationToken,
    ) -> BoxFuture<Outcome> {
        let config = self.config.get();
        let settings = config.sandbox_settings();
        // Read once: the request and a container run's environment both need it.
        let dotenv = crate::config::env_file::load(&self.paths.env_file());
        let request = request::build_request_with(&config, &self.paths, &job, &dotenv);
        let paths = self.paths.clone();
        let gate = self.gate.clone();
        Box::pin(async move {
            let req = match request {
                Ok(r) => r,
                Err(e) => return Outcome::cannot_prepare(&e),
            };
            if !settings.enabled() {
                return runner::run(req, events, cancel).await;
            }
            let temp_files = req.invocation.temp_files.clone();
            let prepared = tokio::select! {
                p = prepare(req, &paths, &settings, &dotenv, &gate) => p,
                () = cancel.cancelled() => Err(String::new()),
            };
            match prepared {
                Ok(Prepared::Host(req)) => runner::run(req, events, cancel).await,
                Ok(Prepared::Container(req, run)) => {
                    let outcome = runner::run(req, events, cancel).await;
                    let left = run.sweep(Signal::SIGKILL).await;
                    if left > 0 {
                        tracing::info!(left, "ended processes the run left in the container");
                    }
                    outcome
                }
                Err(reason) => {
                    for f in &temp_files {
                        let _ = std::fs::remove_file(f);
                    }
                    if cancel.is_cancelled() {
                        Outcome::Failed {
                            kind: FailureKind::Cancelled,
                            detail: "stopped while the sandbox was being prepared".into(),
                            session_id: None,
                        }
                    } else {
                        unavailable(&settings, &reason)
                    }
                }
            }
        })
    }
}
