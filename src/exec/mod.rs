//! Where runs leave the agent: the [`Launcher`] seam. The turn pipeline describes a
//! run ([`Launch`]: provider, turn, working directory, identity, timeout) and hands it
//! to the agent's launcher, which starts the CLI, streams its [`Event`]s, honours the
//! cancel token and returns the [`Outcome`]. The agent's launcher is
//! [`crate::sandbox::SandboxLauncher`], which runs the CLI on this machine or in the
//! configured sandbox (through [`crate::provider::runner`]); tests use a scripted fake,
//! so the pipeline never spawns anything itself.
//!
//! Owns the building of CLI requests from the config. Must not know about chats,
//! sessions or transports.

pub mod live;
#[cfg(test)]
mod live_tests;
pub mod request;
pub mod slots;

#[cfg(test)]
pub mod fake;

use crate::provider::ProviderKind;
use crate::provider::command::TurnSpec;
use crate::provider::env::TurnIdentity;
use crate::provider::event::{Event, Outcome};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Which timeout block of the config applies to a run.
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
    /// Cron jobs and webhook runs (`cli_timeout`).
    Automation,
}

/// One CLI run, as the pipeline describes it.
#[derive(Debug, Clone)]
pub struct Launch {
    /// Which CLI.
    pub provider: ProviderKind,
    /// Prompt, model, effort, resume id, extra system instructions.
    pub spec: TurnSpec,
    /// Working directory.
    pub cwd: PathBuf,
    /// Who the run is for (`DUCTOR_*`).
    pub identity: TurnIdentity,
    /// Which timeout applies.
    pub timeout: TimeoutKind,
    /// CLI arguments after the config's `cli_parameters`.
    pub extra_args: Vec<String>,
    /// The conversation's main lane this runs in (see [`LiveTurn::runs_live`]);
    /// `None` for runs outside it (named sessions, tasks, cron jobs, webhooks).
    pub live: Option<LiveTurn>,
}

/// Which conversation a live turn belongs to, and who started it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveTurn {
    /// The conversation's key: one warm process per key.
    pub key: String,
    /// The user who started the turn (transport-specific id); in groups only they
    /// may answer its requests. `None`: anyone the chat admits.
    pub starter: Option<String>,
    /// Whether the run may go to the warm process (a user's turn); otherwise it
    /// runs one-shot and the conversation's warm process ends first (a heartbeat
    /// resuming the same session).
    pub runs_live: bool,
}

/// A live CLI process a launcher started for [`Launcher::open_live`].
pub struct Opened {
    /// The process, its codec started.
    pub process: crate::provider::live::driver::LiveProcess,
    /// What must run after the process ended (temporary files, a container's
    /// leftover processes).
    pub cleanup: Option<BoxFuture<()>>,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("pgid", &self.process.pgid())
            .finish_non_exhaustive()
    }
}

/// Why [`Launcher::open_live`] gave no process.
#[derive(Debug)]
pub enum OpenError {
    /// This launcher has no live mode (the caller runs the turn one-shot).
    Unsupported,
    /// It could not start; the turn ends with this outcome.
    Failed(Outcome),
}

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Runs CLIs. Implementations must leave no process behind when the future resolves,
/// and must resolve (with a `Cancelled` failure) soon after `cancel` fires.
pub trait Launcher: Send + Sync + std::fmt::Debug {
    /// Starts `job`; its events go to `events` in order, the outcome is returned.
    fn launch(
        &self,
        job: Launch,
        events: mpsc::Sender<Event>,
        cancel: CancellationToken,
    ) -> BoxFuture<Outcome>;

    /// Starts a live (two-way) CLI process for `job`'s provider, session, model and
    /// working directory (its prompt is not sent). The default has none.
    fn open_live(&self, job: &Launch) -> BoxFuture<Result<Opened, OpenError>> {
        let _ = job;
        Box::pin(async { Err(OpenError::Unsupported) })
    }
}
