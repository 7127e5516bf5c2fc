//! The binding of task lanes: a task's CLI session lives in its `tasks.json` record
//! (the first run starts fresh, later runs resume it), runs in the agent workspace
//! with `DUCTOR_TASK_ID` set and gets no chat preamble (the task prompt carries its
//! rules). The hub books everything else (status, turns, time) after the run.

use super::registry::Registry;
use crate::address::Address;
use crate::config::LiveConfig;
use crate::paths::AgentPaths;
use crate::provider::ProviderKind;
use crate::provider::event::Outcome;
use crate::session::store::{Target, default_target};
use crate::session::{Binding, Lane, Plan, TurnRequest};
use crate::state::tasks::TaskRecord;

/// Where task-lane sessions live.
#[derive(Debug, Clone)]
pub struct TaskBinding {
    registry: Registry,
    paths: AgentPaths,
    config: LiveConfig,
}

impl TaskBinding {
    /// The binding over `registry`.
    pub fn new(registry: Registry, paths: AgentPaths, config: LiveConfig) -> Self {
        Self {
            registry,
            paths,
            config,
        }
    }
}

/// The provider/model/effort of a task (the agent's provider when the record's is unreadable).
pub fn target_of(rec: &TaskRecord, fallback: ProviderKind) -> Target {
    Target {
        provider: rec.provider.parse::<ProviderKind>().unwrap_or(fallback),
        model: rec.model.clone(),
        effort: Some(rec.reasoning_effort.clone()).filter(|e| !e.is_empty()),
    }
}

fn id_of(lane: &Lane) -> &str {
    match lane {
        Lane::Task(id) => id,
        _ => "",
    }
}

impl Binding for TaskBinding {
    fn plan(&self, _address: &Address, req: &TurnRequest) -> Result<Plan, String> {
        let id = id_of(&req.lane);
        let Some(rec) = self.registry.get(id) else {
            return Err(format!("there is no task `{id}`"));
        };
        let fallback = default_target(&self.config.get()).provider;
        Ok(Plan {
            target: target_of(&rec, fallback),
            resume: Some(rec.session_id.clone()).filter(|s| !s.is_empty()),
            cwd: self.paths.workspace(),
            preamble: false,
            task_id: Some(id.to_owned()),
            extra_args: Vec::new(),
        })
    }

    fn session_started(
        &self,
        _address: &Address,
        req: &crate::session::TurnRequest,
        _provider: ProviderKind,
        session_id: &str,
    ) {
        self.registry.update(id_of(&req.lane), |r| {
            session_id.clone_into(&mut r.session_id);
        });
    }

    fn reset(&self, _address: &Address, lane: &Lane, _target: &Target) {
        self.registry.update(id_of(lane), |r| r.session_id.clear());
    }

    fn finish(
        &self,
        _address: &Address,
        req: &TurnRequest,
        _plan: &Plan,
        outcome: &Outcome,
        _shutting_down: bool,
    ) {
        if let Some(s) = outcome.session_id().filter(|s| !s.is_empty()) {
            self.registry
                .update(id_of(&req.lane), |r| s.clone_into(&mut r.session_id));
        }
    }
}
