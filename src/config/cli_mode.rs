//! How interactive turns run their CLI: `cli_mode` and the `live` block.
//!
//! - `oneshot`: a fresh CLI process per turn with the prompt on stdin (the
//!   original's way). Cron jobs, `cron_task` webhooks, background tasks, named
//!   sessions and inter-agent asks always run so; a heartbeat or memory upkeep of a
//!   conversation runs so after its warm process ended.
//! - `live`: one long-lived two-way CLI process per conversation that takes the
//!   turns of its main lane (the user's messages, and what is handed to the chat as
//!   a turn: `wake` webhooks, results of tasks and other agents), asks before
//!   running tools (buttons in the chat) and can be steered.
//! - `auto` (the default): `live` unless `permission_mode` is `bypassPermissions`,
//!   where there is nothing to ask and one-shot runs behave as before.

use serde::{Deserialize, Serialize};

/// `cli_mode` as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CliMode {
    /// A process per turn.
    Oneshot,
    /// A warm two-way process per conversation.
    Live,
}

/// What `cli_mode` means with `permission_mode`; `Err` names a value that is none
/// of `auto`, `live`, `oneshot`.
pub fn resolve(cli_mode: &str, permission_mode: &str) -> Result<CliMode, String> {
    match cli_mode.trim().to_ascii_lowercase().as_str() {
        "" | "auto" => Ok(if permission_mode == "bypassPermissions" {
            CliMode::Oneshot
        } else {
            CliMode::Live
        }),
        "live" => Ok(CliMode::Live),
        "oneshot" | "one-shot" | "one_shot" => Ok(CliMode::Oneshot),
        other => Err(format!(
            "cli_mode \"{other}\" is none of auto, live, oneshot"
        )),
    }
}

/// The `live` block: limits of the warm processes and of their requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LiveSessionsConfig {
    /// Warm processes the agent keeps at most; the least recently used goes first.
    pub max_processes: usize,
    /// Minutes a warm process may sit idle before it is ended.
    pub idle_minutes: u64,
    /// Resident memory (MiB) above which an idle warm process is ended.
    pub memory_cap_mb: u64,
    /// Seconds an approval or question waits for the user; then it is denied.
    pub approval_timeout_seconds: u64,
}

impl Default for LiveSessionsConfig {
    fn default() -> Self {
        Self {
            max_processes: 3,
            idle_minutes: 30,
            memory_cap_mb: 1024,
            approval_timeout_seconds: 600,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_is_live_unless_permissions_are_bypassed() {
        assert_eq!(resolve("", "default"), Ok(CliMode::Live));
        assert_eq!(resolve("auto", "ask"), Ok(CliMode::Live));
        assert_eq!(resolve("auto", "bypassPermissions"), Ok(CliMode::Oneshot));
        assert_eq!(resolve("live", "bypassPermissions"), Ok(CliMode::Live));
        assert_eq!(resolve(" OneShot ", "default"), Ok(CliMode::Oneshot));
        assert!(resolve("warm", "default").unwrap_err().contains("\"warm\""));
    }
}
