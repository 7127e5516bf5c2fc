//! `getUpdates` bookkeeping: offsets, limits, `allowed_updates`, and which long poll is current.
//!
//! As on Telegram's server, a new poll that has to wait terminates the pending one (that one gets
//! the 409), and a poll that can answer at once leaves a pending one alone.

use std::time::Duration;

use serde_json::{Value, json};

use super::super::error::ApiError;
use super::super::params::Params;
use super::super::state::{BotRec, State};

/// Longest long poll the fake honours (seconds).
const MAX_POLL_SECS: i64 = 3600;

/// A parsed `getUpdates` request.
#[derive(Clone, Debug)]
pub struct PollRequest {
    pub offset: i64,
    pub limit: usize,
    pub timeout: Duration,
    pub allowed: Option<Vec<String>>,
}

/// Read `offset`, `limit` (1–100, default 100), `timeout` (seconds) and `allowed_updates`.
pub fn parse(p: &Params) -> Result<PollRequest, ApiError> {
    let offset = p.opt_i64("offset")?.unwrap_or(0);
    let limit = p
        .opt_i64("limit")?
        .filter(|l| *l > 0)
        .map_or(100, |l| l.min(100)) as usize;
    // Clamped so a silly value cannot overflow the deadline.
    let timeout =
        Duration::from_secs(p.opt_i64("timeout")?.unwrap_or(0).clamp(0, MAX_POLL_SECS) as u64);
    let allowed = match p.opt_json("allowed_updates", "allowed updates")? {
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        ),
        Some(_) => {
            return Err(ApiError::bad_request(
                "can't parse allowed updates JSON object",
            ));
        }
        None => None,
    };
    Ok(PollRequest {
        offset,
        limit,
        timeout,
        allowed,
    })
}

/// First step of a poll.
pub enum Step {
    /// Answer now with this `result`.
    Ready(Value),
    /// Wait; this poll is current while `active_poll == Some(generation)`.
    Wait { generation: u64 },
}

fn batch(bot: &BotRec, req: &PollRequest) -> Vec<Value> {
    bot.queue
        .iter()
        .filter(|u| req.offset <= 0 || u.id >= req.offset)
        .take(req.limit)
        .map(|u| {
            let mut v = json!({ "update_id": u.id });
            v[u.kind.as_str()] = u.payload.clone();
            v
        })
        .collect()
}

/// Confirm by offset, then answer at once or register as the current long poll.
pub fn begin(st: &mut State, bot: i64, req: &PollRequest) -> Result<Step, ApiError> {
    let b = st.bot_mut(bot)?;
    if b.webhook_url.is_some() {
        return Err(ApiError::new(
            409,
            "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
        ));
    }
    if let Some(allowed) = &req.allowed {
        b.allowed_updates = Some(allowed.clone());
    }
    if req.offset > 0 {
        b.queue.retain(|u| u.id >= req.offset);
    } else if req.offset < 0 {
        let keep = req.offset.unsigned_abs() as usize;
        while b.queue.len() > keep {
            b.queue.pop_front();
        }
    }
    let updates = batch(b, req);
    if !updates.is_empty() || req.timeout.is_zero() {
        return Ok(Step::Ready(Value::Array(updates)));
    }
    b.poll_generation += 1;
    b.active_poll = Some(b.poll_generation);
    Ok(Step::Wait {
        generation: b.poll_generation,
    })
}

/// Re-check a waiting poll: `Some(result)` when it should answer now.
pub fn resume(
    st: &mut State,
    bot: i64,
    req: &PollRequest,
    generation: u64,
    expired: bool,
) -> Result<Option<Value>, ApiError> {
    let b = st.bot_mut(bot)?;
    if b.active_poll != Some(generation) {
        return Err(if b.webhook_url.is_some() {
            ApiError::new(409, "Conflict: terminated by setWebhook request")
        } else {
            ApiError::get_updates_conflict()
        });
    }
    let updates = batch(b, req);
    if !updates.is_empty() || expired {
        b.active_poll = None;
        return Ok(Some(Value::Array(updates)));
    }
    Ok(None)
}
