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

/// Where main-lane sessions live.
#[derive(Clone)]
pub struct ConversationBinding {
    pub(super) paths: AgentPaths,
    pub(super) config: LiveConfig,
    pub(super) sessions: SessionStore,
    pub(super) inflight: InflightStore,
    pub(super) clock: crate::cron::Clock,
}

fn preview(prompt: &str) -> String {
    prompt.chars().take(100).collect()
}

impl std::fmt::Debug for ConversationBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConversationBinding")
            .field("agent", &self.paths.name())
            .finish_non_exhaustive()
    }
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
            (self.clock)(),
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
        if !req.purpose.is_turn() {
            // Upkeep is not offered for recovery after a restart.
            return;
        }
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
                started_at: super::freshness::format_time((self.clock)()),
                is_recovery: req.is_recovery,
                path: "normal".into(),
                extra: serde_json::Map::new(),
            },
        );
    }

    fn session_started(
        &self,
        address: &Address,
        req: &TurnRequest,
        provider: ProviderKind,
        session_id: &str,
    ) {
        if !req.purpose.is_turn() && self.known_id(address, provider, session_id) {
            // Upkeep resuming the session it was given: nothing to record yet.
            return;
        }
        self.sessions
            .preserve_id(address, provider, Some(session_id), (self.clock)());
    }

    fn reset(&self, address: &Address, _lane: &super::Lane, target: &Target) {
        self.sessions.reset_bucket(address, target.provider);
    }

    fn finish(
        &self,
        address: &Address,
        req: &TurnRequest,
        plan: &Plan,
        outcome: &Outcome,
        shutting_down: bool,
    ) {
        let now = (self.clock)();
        let provider = plan.target.provider;
        let (session_id, visible) = match outcome {
            Outcome::Completed {
                session_id, text, ..
            } => (session_id, visible_answer(&req.purpose, text)),
            Outcome::Failed {
                kind, session_id, ..
            } if *kind != FailureKind::SessionNotFound => (session_id, false),
            Outcome::Failed { .. } => (&None, false),
        };
        match outcome {
            Outcome::Completed { usage, .. } if visible => {
                self.sessions
                    .record_success(address, provider, session_id.as_deref(), usage, now);
            }
            _ if !req.purpose.is_turn() => {
                // Upkeep only keeps a session id that changed.
                if let Some(id) = session_id.as_deref()
                    && !self.known_id(address, provider, id)
                {
                    self.sessions.preserve_id(address, provider, Some(id), now);
                }
            }
            _ => {
                self.sessions
                    .preserve_id(address, provider, session_id.as_deref(), now);
            }
        }
        if !shutting_down && req.purpose.is_turn() {
            // Left in place at shutdown: the next start offers a Retry.
            self.inflight.complete(address);
        }
    }
}

impl ConversationBinding {
    /// Whether `id` is the stored session of `provider` at `address`.
    fn known_id(&self, address: &Address, provider: ProviderKind, id: &str) -> bool {
        self.sessions.get(address).is_some_and(|r| {
            r.provider_sessions
                .get(&provider.to_string())
                .is_some_and(|b| b.session_id == id)
        })
    }
}

/// Whether a completed turn's answer reaches the user: always for a user's turn,
/// never for upkeep, and for a heartbeat when it is more than its ack token.
fn visible_answer(purpose: &super::Purpose, text: &str) -> bool {
    match purpose {
        super::Purpose::Turn => true,
        super::Purpose::Heartbeat { ack } => !strip_ack(text, ack).is_empty(),
        super::Purpose::Upkeep => false,
    }
}

/// `text` without the acknowledgement token `ack`: an answer that is exactly the
/// token, or starts or ends with it, loses it (and the whitespace and punctuation
/// around it). An empty `ack` strips nothing.
pub fn strip_ack<'a>(text: &'a str, ack: &str) -> &'a str {
    let noise = |c: char| c.is_whitespace() || matches!(c, '.' | '!' | '*' | '`' | '_' | ',' | ':');
    let mut rest = text.trim();
    let ack = ack.trim();
    if ack.is_empty() {
        return rest;
    }
    if let Some(after) = rest.trim_start_matches(noise).strip_prefix(ack) {
        rest = after.trim_start_matches(noise);
    }
    if let Some(before) = rest.trim_end_matches(noise).strip_suffix(ack) {
        // The content's own full stop stays; only the token's markup goes.
        rest = before.trim_end_matches(|c: char| c.is_whitespace() || matches!(c, '*' | '`' | '_'));
    }
    rest.trim()
}

#[cfg(test)]
mod tests {
    use super::strip_ack;

    #[test]
    fn the_ack_token_is_stripped_exact_leading_or_trailing() {
        let ack = "HEARTBEAT_OK";
        assert_eq!(strip_ack("HEARTBEAT_OK", ack), "");
        assert_eq!(strip_ack("  **HEARTBEAT_OK**.\n", ack), "");
        assert_eq!(
            strip_ack("HEARTBEAT_OK — the disk is 95% full.", ack),
            "— the disk is 95% full."
        );
        assert_eq!(
            strip_ack("The disk is 95% full.\n\nHEARTBEAT_OK", ack),
            "The disk is 95% full."
        );
        assert_eq!(
            strip_ack("Say HEARTBEAT_OK twice? No.", ack),
            "Say HEARTBEAT_OK twice? No."
        );
        assert_eq!(strip_ack("All fine.", ""), "All fine.");
    }
}
