//! The binding of the main lane: the conversation's own session lives in
//! `sessions.json` (one bucket per provider, freshness rules), the turn is recorded
//! in `inflight_turns.json` while it runs, and it works in the conversation's
//! project directory.

use super::freshness::Staleness;
use super::store::{SessionStore, Target, default_target};
use super::{Binding, InflightStore, Plan, TurnRequest};
use crate::address::Address;
use crate::config::LiveConfig;
use crate::paths::AgentPaths;
use crate::provider::ProviderKind;
use crate::provider::event::{FailureKind, Outcome};
use crate::state::inflight::InflightTurn;
use chrono::Utc;

/// Where main-lane sessions live.
#[derive(Debug, Clone)]
pub struct ConversationBinding {
    pub(super) paths: AgentPaths,
    pub(super) config: LiveConfig,
    pub(super) sessions: SessionStore,
    pub(super) inflight: InflightStore,
}

fn preview(prompt: &str) -> String {
    prompt.chars().take(100).collect()
}

impl Binding for ConversationBinding {
    fn plan(&self, address: &Address, req: &TurnRequest) -> Result<Plan, String> {
        let config = self.config.get();
        let default = default_target(&config);
        let resolved = self.sessions.resolve(
            address,
            &default,
            req.target_override.as_ref(),
            &config,
            Utc::now(),
        );
        if matches!(resolved.staleness, Staleness::Idle | Staleness::DailyReset) {
            tracing::info!(%address, staleness = ?resolved.staleness, "conversation starts over");
        }
        let topic_name = self.sessions.get(address).and_then(|r| r.topic_name);
        let cwd = super::prompt::working_dir(&config, &self.paths, address, topic_name.as_deref());
        Ok(Plan {
            target: resolved.target,
            resume: resolved.resume,
            cwd,
            preamble: true,
            task_id: None,
            extra_args: Vec::new(),
        })
    }

    fn begin(&self, address: &Address, req: &TurnRequest, plan: &Plan) {
        self.inflight.begin(
            address,
            InflightTurn {
                chat_id: address.chat_id,
                topic_id: address.topic_id,
                transport: address.transport.clone(),
                provider: plan.target.provider.to_string(),
                model: plan.target.model.clone(),
                session_id: plan.resume.clone().unwrap_or_default(),
                prompt_preview: preview(&req.prompt),
                prompt: req.prompt.clone(),
                message_id: req.reply_to.clone(),
                started_at: super::freshness::format_time(Utc::now()),
                is_recovery: req.is_recovery,
                path: "normal".into(),
                extra: serde_json::Map::new(),
            },
        );
    }

    fn session_started(
        &self,
        address: &Address,
        _lane: &super::Lane,
        provider: ProviderKind,
        session_id: &str,
    ) {
        self.sessions
            .preserve_id(address, provider, Some(session_id), Utc::now());
    }

    fn reset(&self, address: &Address, _lane: &super::Lane, target: &Target) {
        self.sessions.reset_bucket(address, target.provider);
    }

    fn finish(
        &self,
        address: &Address,
        _req: &TurnRequest,
        plan: &Plan,
        outcome: &Outcome,
        shutting_down: bool,
    ) {
        let now = Utc::now();
        let provider = plan.target.provider;
        match outcome {
            Outcome::Completed {
                session_id, usage, ..
            } => {
                self.sessions
                    .record_success(address, provider, session_id.as_deref(), usage, now);
            }
            Outcome::Failed {
                kind, session_id, ..
            } => {
                if *kind != FailureKind::SessionNotFound {
                    self.sessions
                        .preserve_id(address, provider, session_id.as_deref(), now);
                }
            }
        }
        if !shutting_down {
            // Left in place at shutdown: the next start offers a Retry.
            self.inflight.complete(address);
        }
    }
}
