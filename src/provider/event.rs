//! The provider-neutral event stream of one CLI turn.
//!
//! Every provider parser turns its CLI's JSON lines into [`Event`]s and, when the
//! process is gone, into exactly one [`Outcome`]. Consumers (the chat editor, the
//! task runner, `ductor-agent run-once`) only ever see these types.
//!
//! Text contract: a text block is announced by zero or more [`Event::TextDelta`]
//! pieces followed by exactly one [`Event::Text`] carrying the whole block. The
//! `Text` is authoritative: a consumer replaces what it accumulated from the deltas
//! of the current block with it (claude re-asks without streaming after a broken
//! stream, so deltas can be incomplete). A block cut short by the end of the process
//! (cancel, crash) gets no `Text`: its deltas are all there is.

use serde::{Deserialize, Serialize};

/// Token and cost accounting of a turn (or of one API call inside it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens sent to the model (including cached ones where the CLI reports them).
    pub input_tokens: u64,
    /// Tokens produced by the model.
    pub output_tokens: u64,
    /// Cost in US dollars when the CLI reports one (only claude does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
}

impl Usage {
    /// Total tokens of the turn, as shown in `/status`.
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }
}

/// One normalized event of a running turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The CLI announced the session (thread) id this turn runs in.
    SessionStarted {
        /// Id to pass to `--resume` (claude, gemini) or `resume` (codex).
        session_id: String,
    },
    /// A live piece of the text block being written.
    TextDelta {
        /// The new characters.
        text: String,
    },
    /// A complete text block; replaces the deltas accumulated for the current block.
    Text {
        /// The whole block.
        text: String,
    },
    /// The agent started a tool (shell command, file edit, search, ...).
    ToolStarted {
        /// CLI-side id of the call, when the CLI has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// Tool name as the CLI reports it (`Bash`, `Read`, `run_shell_command`, ...);
        /// codex items, which carry no tool name, are called `Shell`, `Edit`,
        /// `WebSearch`, `TodoWrite` or `<server>.<tool>` (MCP).
        name: String,
        /// One-line human summary (the command, the path, ...), at most 200 characters.
        summary: String,
    },
    /// A tool call ended.
    ToolFinished {
        /// CLI-side id of the call, when the CLI has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// Whether the tool reported success.
        ok: bool,
        /// Start of the tool output, at most 200 characters.
        excerpt: String,
    },
    /// The model is reasoning; `text` is the reasoning when the CLI exposes it.
    Thinking {
        /// Reasoning text, possibly empty.
        text: String,
    },
    /// The CLI is compacting its context window.
    Compacting,
    /// The CLI compacted its context window (a compaction that failed gives none).
    Compacted,
    /// An API call failed and the CLI retries it.
    Retrying {
        /// Attempt number as reported by the CLI (1-based).
        attempt: u32,
        /// What failed, e.g. the HTTP status or error message.
        detail: String,
    },
    /// Token/cost accounting reported mid-turn or at its end.
    Usage(Usage),
    /// A non-fatal warning from the CLI or from the runner (e.g. a line that was too long).
    Warning {
        /// The message.
        message: String,
    },
    /// A live CLI waits for the user: an approval or questions (see
    /// [`crate::provider::live`]). Answered through the agent's live hub with `id`.
    Ask {
        /// The hub's key of the request (unique within this agent process).
        id: String,
        /// What is asked.
        ask: crate::provider::live::AskKind,
    },
    /// A request announced by [`Event::Ask`] is over; its buttons stop working.
    AskResolved {
        /// The request's key.
        id: String,
        /// How it ended.
        how: AskEnd,
    },
}

/// How a request of a live CLI ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "end", rename_all = "snake_case")]
pub enum AskEnd {
    /// The user decided on an approval.
    Decided {
        /// The decision.
        decision: crate::provider::live::Decision,
    },
    /// The user answered the questions.
    Answered {
        /// The answers, in question order.
        answers: Vec<String>,
    },
    /// The CLI withdrew it, or the turn ended before an answer.
    Withdrawn,
    /// Nobody answered within `live.approval_timeout_seconds`: denied.
    TimedOut,
}

/// Why a turn failed. Each kind maps to one user-facing sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The CLI is not logged in any more (HTTP 401, expired token).
    AuthExpired,
    /// Rate limit or quota exhausted (HTTP 429, "usage limit").
    RateLimited,
    /// The conversation no longer fits into the model's context window.
    ContextTooLong,
    /// The resume id is unknown to the CLI; the caller resets the bucket and retries once.
    SessionNotFound,
    /// The CLI binary is not installed / not on `PATH`.
    CliMissing,
    /// The turn ran longer than the configured timeout and was stopped.
    Timeout,
    /// We stopped the turn (user `/stop`, `/interrupt`, shutdown).
    Cancelled,
    /// The process ended without a final event and we did not stop it.
    Crashed,
    /// Any other error; the detail carries its first line.
    Other,
    /// The sandbox is on but cannot run anything (engine missing, daemon down, image
    /// build failed…); nothing ran, on the host neither. The detail says why.
    SandboxUnavailable,
}

/// The single terminal outcome of a turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The CLI reported success.
    Completed {
        /// The final answer: the text written after the turn's last tool call.
        text: String,
        /// Session id to resume next time.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session_id: Option<String>,
        /// Accounting of the whole turn.
        usage: Usage,
        /// Tool calls the CLI refused because of its permission mode (claude only).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        permission_denials: Vec<String>,
    },
    /// The turn did not succeed.
    Failed {
        /// Classified reason.
        kind: FailureKind,
        /// What the CLI said (first lines of the error, or the stderr tail).
        detail: String,
        /// Session id seen before the failure; kept so the next message can resume.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session_id: Option<String>,
    },
}

impl Outcome {
    /// The CLI could not be started because its call could not be prepared.
    pub fn cannot_prepare(e: &std::io::Error) -> Self {
        Outcome::Failed {
            kind: FailureKind::Crashed,
            detail: format!("cannot prepare the CLI call: {e}"),
            session_id: None,
        }
    }

    /// Whether the resumed CLI session no longer exists (reset it and retry once).
    pub fn is_stale_session(&self) -> bool {
        matches!(
            self,
            Outcome::Failed {
                kind: FailureKind::SessionNotFound,
                ..
            }
        )
    }

    /// Session id carried by either variant.
    pub fn session_id(&self) -> Option<&str> {
        match self {
            Outcome::Completed { session_id, .. } | Outcome::Failed { session_id, .. } => {
                session_id.as_deref()
            }
        }
    }
}
