//! Typed reads of a record's free-form fields (records keep every key as stored),
//! and the run settings cron jobs and webhook `cron_task` hooks share.

use serde_json::{Map, Value};

/// A non-empty trimmed string value.
pub fn text(fields: &Map<String, Value>, key: &str) -> Option<String> {
    fields
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// An integer, also when written as a string.
pub fn int(fields: &Map<String, Value>, key: &str) -> Option<i64> {
    match fields.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// An hour of the day, 0–23.
pub fn hour(fields: &Map<String, Value>, key: &str) -> Option<u8> {
    int(fields, key)
        .and_then(|h| u8::try_from(h).ok())
        .filter(|h| *h < 24)
}

/// The strings of a list (other elements skipped).
pub fn strings(fields: &Map<String, Value>, key: &str) -> Vec<String> {
    fields
        .get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// How an automation's one-shot runs are run: overrides of the agent's
/// provider/model/effort, extra CLI arguments, quiet hours and the dependency queue.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunOverrides {
    /// Provider override.
    pub provider: Option<String>,
    /// Model override.
    pub model: Option<String>,
    /// Reasoning effort override.
    pub reasoning_effort: Option<String>,
    /// Extra CLI arguments.
    pub cli_parameters: Vec<String>,
    /// Quiet hours start, 0–23 (in `user_timezone`).
    pub quiet_start: Option<u8>,
    /// Quiet hours end, 0–23.
    pub quiet_end: Option<u8>,
    /// Runs with the same dependency run one after another.
    pub dependency: Option<String>,
}

impl RunOverrides {
    /// Reads them from a record's fields.
    pub fn read(fields: &Map<String, Value>) -> Self {
        Self {
            provider: text(fields, "provider"),
            model: text(fields, "model"),
            reasoning_effort: text(fields, "reasoning_effort"),
            cli_parameters: strings(fields, "cli_parameters"),
            quiet_start: hour(fields, "quiet_start"),
            quiet_end: hour(fields, "quiet_end"),
            dependency: text(fields, "dependency"),
        }
    }

    /// The quiet window, when both ends are set.
    pub fn quiet(&self) -> Option<(u32, u32)> {
        Some((u32::from(self.quiet_start?), u32::from(self.quiet_end?)))
    }

    /// Whether any of provider, model, effort or CLI arguments is set.
    pub fn changes_the_cli(&self) -> bool {
        self.provider.is_some()
            || self.model.is_some()
            || self.reasoning_effort.is_some()
            || !self.cli_parameters.is_empty()
    }
}

/// Serde for a record's `chat_id`: reads a signed number or an unsigned one above
/// `i64::MAX` (the original's Matrix room hashes, kept bit for bit), so such a
/// record never makes its whole file unreadable.
pub mod chat_id {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the id as a signed number.
    #[allow(clippy::trivially_copy_pass_by_ref)] // serde's `serialize_with` signature
    pub fn serialize<S: Serializer>(id: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(*id)
    }

    /// Reads a signed or an unsigned 64-bit number.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Signed(i64),
            Unsigned(u64),
        }
        Ok(match Either::deserialize(d)? {
            Either::Signed(n) => n,
            Either::Unsigned(n) => n.cast_signed(),
        })
    }
}
