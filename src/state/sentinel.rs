//! Small one-shot files: the restart and upgrade sentinels (§1.6) and
//! `startup_state.json` (§1.7).

use serde::{Deserialize, Serialize};

/// `restart-sentinel.json`: written before a requested restart, consumed on the next
/// start to tell the chat the agent is back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestartSentinel {
    /// Transport of the chat to notify (`tg` when missing, as in the original's files).
    #[serde(default = "tg")]
    pub transport: String,
    /// Chat to notify.
    pub chat_id: i64,
    /// Forum topic to notify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_id: Option<i64>,
    /// Message to send.
    #[serde(default)]
    pub message: String,
    /// When it was written (ISO 8601 UTC).
    #[serde(default)]
    pub timestamp: String,
}

/// `upgrade-sentinel.json` (main home): written by a chat's upgrade once the new
/// version is installed, just before ductor restarts; consumed on the next start to
/// tell that chat "upgraded from X to Y". The original writes `chat_id`,
/// `old_version` and `new_version`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpgradeSentinel {
    /// Transport of the chat to notify (`tg` when missing).
    #[serde(default = "tg")]
    pub transport: String,
    /// Chat to notify.
    pub chat_id: i64,
    /// Forum topic to notify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_id: Option<i64>,
    /// The version that ran the upgrade.
    pub old_version: String,
    /// The version installed.
    pub new_version: String,
    /// When it was written (ISO 8601 UTC).
    #[serde(default)]
    pub timestamp: String,
}

fn tg() -> String {
    crate::address::TELEGRAM.to_owned()
}

/// `startup_state.json`: what the last start knew, to tell a first start, a reboot,
/// an upgrade and a crash from a plain restart. The original writes only `boot_id`
/// and `started_at`; its files load with the rest unknown.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StartupState {
    /// Kernel boot id at the last start.
    #[serde(default)]
    pub boot_id: String,
    /// Last start time (ISO 8601 UTC).
    #[serde(default)]
    pub started_at: String,
    /// The ductor version of the last start (unknown in the original's files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Whether the last run stopped in order: `false` while it runs, `true` once it
    /// shut down cleanly, unknown in the original's files. A run killed or crashed
    /// leaves `false` behind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clean_exit: Option<bool>,
    /// When the last run shut down cleanly (ISO 8601 UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<String>,
    /// Keys this version does not know.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}
