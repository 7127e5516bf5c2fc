//! The binding of one-shot lanes ([`crate::session::Lane::Oneshot`]): cron jobs and
//! webhook runs. Whoever submits a run first [`OneshotBinding::prepare`]s its plan
//! (provider, model, folder, extra arguments) under the lane's key; every run starts
//! a new CLI session and none is stored, so nothing is ever resumed.

use super::store::Target;
use super::{Binding, Lane, Plan, TurnRequest};
use crate::address::Address;
use crate::provider::ProviderKind;
use crate::provider::event::Outcome;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// Plans of the one-shot lanes, by key.
#[derive(Debug, Default)]
pub struct OneshotBinding {
    plans: Mutex<HashMap<String, Plan>>,
}

impl OneshotBinding {
    /// Sets what the runs of lane `key` run with (replacing an earlier plan).
    pub fn prepare(&self, key: &str, plan: Plan) {
        self.plans
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.to_owned(), plan);
    }
}

impl Binding for OneshotBinding {
    fn plan(&self, _address: &Address, req: &TurnRequest) -> Result<Plan, String> {
        let Lane::Oneshot(key) = &req.lane else {
            return Err("not a one-shot lane".into());
        };
        let plans = self.plans.lock().unwrap_or_else(PoisonError::into_inner);
        let mut plan = plans
            .get(key)
            .cloned()
            .ok_or_else(|| format!("nothing is prepared for `{key}`"))?;
        plan.resume = None;
        Ok(plan)
    }

    fn session_started(&self, _: &Address, _: &TurnRequest, _: ProviderKind, _: &str) {}

    fn reset(&self, _: &Address, _: &Lane, _: &Target) {}

    fn finish(&self, _: &Address, _: &TurnRequest, _: &Plan, _: &Outcome, _: bool) {}
}
