//! The launcher that runs CLIs on this machine: each in its own process group,
//! through the per-run reaper (see [`crate::provider::runner`]).

use super::{BoxFuture, Launch, Launcher, request};
use crate::config::LiveConfig;
use crate::paths::AgentPaths;
use crate::provider::event::{Event, Outcome};
use crate::provider::runner;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Runs CLIs on the host with the agent's current config.
#[derive(Debug, Clone)]
pub struct HostLauncher {
    paths: AgentPaths,
    config: LiveConfig,
}

impl HostLauncher {
    /// A launcher for the agent at `paths`, reading `config` at every launch.
    pub fn new(paths: AgentPaths, config: LiveConfig) -> Self {
        Self { paths, config }
    }
}

impl Launcher for HostLauncher {
    fn launch(
        &self,
        job: Launch,
        events: mpsc::Sender<Event>,
        cancel: CancellationToken,
    ) -> BoxFuture<Outcome> {
        let request = request::build_request(&self.config.get(), &self.paths, &job);
        Box::pin(async move {
            match request {
                Ok(r) => runner::run(r, events, cancel).await,
                Err(e) => Outcome::cannot_prepare(&e),
            }
        })
    }
}
