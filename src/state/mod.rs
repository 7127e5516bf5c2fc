//! On-disk state files (reference §4): the wire shapes, kept apart from domain
//! types so refactoring internals cannot silently change the files.
//!
//! Every shape accepts what the original ductor 0.20 wrote and keeps keys it does
//! not know (`extra`). A record that does not fit its shape is carried along
//! verbatim ([`Lenient::Raw`]) instead of being dropped, so a rewrite loses nothing.
//! Loading goes through [`crate::store::load_state`]; writing through
//! [`crate::store::write_json`]. Each file has one writer (its owning actor).

pub mod chat_activity;
pub mod cron_jobs;
pub mod fields;
pub mod inflight;
pub mod named_sessions;
pub mod sentinel;
pub mod sessions;
pub mod tasks;
pub mod webhooks;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A record that parsed into its shape, or the raw JSON of one that did not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Lenient<T> {
    /// The record has the expected shape.
    Ok(T),
    /// The record could not be read; it is written back unchanged.
    Raw(Value),
}

impl<T> Lenient<T> {
    /// The parsed record, if it parsed.
    pub fn ok(&self) -> Option<&T> {
        match self {
            Lenient::Ok(t) => Some(t),
            Lenient::Raw(_) => None,
        }
    }

    /// Mutable access to the parsed record.
    pub fn ok_mut(&mut self) -> Option<&mut T> {
        match self {
            Lenient::Ok(t) => Some(t),
            Lenient::Raw(_) => None,
        }
    }
}

/// Logs a WARN line for every record of `file` that did not parse, with the reason.
pub fn warn_raw<'a, T: DeserializeOwned + 'a>(
    file: &str,
    records: impl IntoIterator<Item = &'a Lenient<T>>,
) {
    for record in records {
        if let Lenient::Raw(v) = record {
            let reason = serde_json::from_value::<T>(v.clone())
                .err()
                .map_or_else(String::new, |e| e.to_string());
            tracing::warn!(file, %reason, "keeping an unreadable record as is");
        }
    }
}

/// A list-shaped state file (`{"<key>": [records]}`) with its unknown top-level keys.
macro_rules! list_file {
    ($(#[$doc:meta])* $name:ident, $key:literal, $record:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct $name {
            #[doc = concat!("The `", $key, "` list.")]
            #[serde(rename = $key, default)]
            pub items: Vec<$crate::state::Lenient<$record>>,
            /// Top-level keys this version does not know.
            #[serde(flatten)]
            pub extra: serde_json::Map<String, serde_json::Value>,
        }

        impl $name {
            /// Records that parsed.
            pub fn records(&self) -> impl Iterator<Item = &$record> {
                self.items.iter().filter_map($crate::state::Lenient::ok)
            }
        }
    };
}
pub(crate) use list_file;
