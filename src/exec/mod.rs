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
}
