//! `tasks.json` (§4.3): the background task registry.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One background task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// 8 hex characters.
    pub task_id: String,
    /// Transport of the chat that created it (`tg` when missing; not written for
    /// Telegram, so the original's files stay as they were).
    #[serde(default = "tg", skip_serializing_if = "is_tg")]
    pub transport: String,
    /// Chat that created it (results go back there).
    #[serde(default)]
    #[serde(with = "crate::state::fields::chat_id")]
    pub chat_id: i64,
    /// Agent that owns it.
    #[serde(default)]
    pub parent_agent: String,
    /// Human name.
    #[serde(default)]
    pub name: String,
    /// First 80 characters of the prompt.
    #[serde(default)]
    pub prompt_preview: String,
    /// The full prompt.
    #[serde(default)]
    pub original_prompt: String,
    /// Provider it runs on.
    #[serde(default)]
    pub provider: String,
    /// Model it runs on.
    #[serde(default)]
    pub model: String,
    /// `running`, `waiting`, `done`, `failed` or `cancelled`.
    #[serde(default)]
    pub status: String,
    /// CLI session id (for resume).
    #[serde(default)]
    pub session_id: String,
    /// Creation time (Unix seconds).
    #[serde(default)]
    pub created_at: f64,
    /// Completion time (Unix seconds).
    #[serde(default)]
    pub completed_at: Option<f64>,
    /// Run time in seconds.
    #[serde(default)]
    pub elapsed_seconds: f64,
    /// Error text of a failed run.
    #[serde(default)]
    pub error: String,
    /// First 200 characters of the result.
    #[serde(default)]
    pub result_preview: String,
    /// Questions asked to the parent.
    #[serde(default)]
    pub question_count: u32,
    /// Turns across all runs.
    #[serde(default)]
    pub num_turns: u32,
    /// Last question (≤ 200 characters).
    #[serde(default)]
    pub last_question: String,
    /// The `--thinking` level asked for at creation (the effort in use is `reasoning_effort`).
    #[serde(default)]
    pub thinking: String,
    /// Reasoning effort.
    #[serde(default)]
    pub reasoning_effort: String,
    /// Folder holding the task folders.
    #[serde(default)]
    pub tasks_dir: String,
    /// `interactive`, `background` or `batch`.
    #[serde(default)]
    pub priority: String,
    /// Forum topic of the origin, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<i64>,
    /// How deep it is nested: 1 for a task a chat started, 2 for one its task
    /// started, … (not written for 1, so the original's files stay as they were).
    #[serde(default = "top_level", skip_serializing_if = "is_top_level")]
    pub depth: u32,
    /// Keys this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn top_level() -> u32 {
    1
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes a reference
fn is_top_level(d: &u32) -> bool {
    *d <= 1
}

fn tg() -> String {
    crate::address::TELEGRAM.to_owned()
}

fn is_tg(s: &str) -> bool {
    s == crate::address::TELEGRAM
}

super::list_file!(
    /// The whole `tasks.json`.
    TasksFile,
    "tasks",
    TaskRecord
);
