//! The binding of named lanes: the session lives in `named_sessions.json` (provider,
//! model and resume id per session), its status is `running` while a turn runs (the
//! next start re-runs what a restart cut off), and it works in the agent workspace.

use super::registry::NamedRegistry;
use crate::address::Address;
use crate::paths::AgentPaths;
use crate::provider::ProviderKind;
use crate::provider::event::Outcome;
use crate::session::store::Target;
use crate::session::{Binding, Lane, Plan, TurnRequest};
use crate::state::named_sessions::NamedSessionRecord;

/// The provider/model/effort a session runs on.
pub fn target_of(record: &NamedSessionRecord) -> Target {
    Target {
        provider: record.provider.parse().unwrap_or(ProviderKind::Claude),
        model: record.model.clone(),
        effort: record.reasoning_effort.clone().filter(|e| !e.is_empty()),
    }
}

/// Where named-lane sessions live.
#[derive(Debug, Clone)]
pub struct NamedBinding {
    registry: NamedRegistry,
    paths: AgentPaths,
}

impl NamedBinding {
    /// The binding over `registry`, running in the workspace of `paths`.
    pub fn new(registry: NamedRegistry, paths: AgentPaths) -> Self {
        Self { registry, paths }
    }
}

fn name_of(lane: &Lane) -> &str {
    lane.name().unwrap_or_default()
}

impl Binding for NamedBinding {
    fn plan(&self, address: &Address, req: &TurnRequest) -> Result<Plan, String> {
        let name = name_of(&req.lane);
        let Some(record) = self.registry.get(address, name) else {
            return Err(format!("there is no session `{name}` here"));
        };
        Ok(Plan {
            target: target_of(&record),
            resume: Some(record.session_id.clone()).filter(|s| !s.is_empty()),
            cwd: self.paths.workspace(),
            preamble: true,
            task_id: None,
            extra_args: Vec::new(),
        })
    }

    fn begin(&self, address: &Address, req: &TurnRequest, _plan: &Plan) {
        self.registry
            .begin(address, name_of(&req.lane), &req.prompt);
    }

    fn session_started(
        &self,
        address: &Address,
        req: &crate::session::TurnRequest,
        _provider: ProviderKind,
        session_id: &str,
    ) {
        self.registry
            .set_session_id(address, name_of(&req.lane), session_id);
    }

    fn reset(&self, address: &Address, lane: &Lane, target: &Target) {
        self.registry.reset_session(address, name_of(lane), target);
    }

    fn finish(
        &self,
        address: &Address,
        req: &TurnRequest,
        _plan: &Plan,
        outcome: &Outcome,
        shutting_down: bool,
    ) {
        if shutting_down {
            // The session stays `running`: the next start runs its last prompt again.
            return;
        }
        let ok = matches!(outcome, Outcome::Completed { .. });
        self.registry
            .finish(address, name_of(&req.lane), outcome.session_id(), ok);
    }
}
