//! Live (two-way) CLI sessions: one long-lived CLI process per session that takes
//! several user turns, asks its client before it runs a tool (approvals), asks the
//! user questions, and accepts interrupts (and, where the protocol has it, more
//! text for the running turn).
//!
//! Each CLI speaks its own protocol over stdin/stdout — claude stream-json with
//! `control_request`s, codex `app-server` JSON-RPC, gemini's Agent Client Protocol.
//! A [`LiveCodec`] is that protocol without any I/O: it turns what ductor wants
//! (start, a turn, an answer, an interrupt) into lines to write, and the CLI's lines
//! into [`LiveEvent`]s — the normalized [`Event`]s of a turn, the asks, and the end
//! of each turn with its [`Outcome`]. The process around it (spawn, process group,
//! reaping, the sandbox) is the driver's business ([`driver`]).

pub mod claude;
pub mod codex;
pub mod driver;
pub mod gemini;
pub mod pool;

use crate::provider::event::{Event, Outcome};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// How the user answers an approval request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Run this call, ask again next time.
    AllowOnce,
    /// Run it, and calls like it for the rest of this CLI session.
    AllowSession,
    /// Run it and remember the permission beyond this session (where the CLI can).
    AllowAlways,
    /// Do not run it.
    Deny,
}

/// One question of a question request, with the options offered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    /// The question as the CLI asks it.
    pub text: String,
    /// Option labels (may be empty: free text only).
    pub options: Vec<String>,
}

/// What the CLI asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AskKind {
    /// May it run this tool call?
    Approval {
        /// The tool (`Bash`, `Write`, `Shell`, `Edit`, ...).
        tool: String,
        /// What it would do: the command, the path, a short diff; at most ~500 characters.
        preview: String,
        /// The decisions this CLI understands for this request (always with `Deny`).
        choices: Vec<Decision>,
    },
    /// Questions for the user (claude `AskUserQuestion`, codex `requestUserInput`).
    Question {
        /// The questions, in order.
        questions: Vec<Question>,
    },
}

/// A pending request of the CLI, waiting for [`LiveCodec::answer`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ask {
    /// The protocol's request id, as a string (unique within the process).
    pub id: String,
    /// What is asked.
    #[serde(flatten)]
    pub kind: AskKind,
}

/// The user's answer to an [`Ask`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A decision on an approval.
    Decision(Decision),
    /// A denial with a reason the model gets to read.
    DenyWith(String),
    /// Answers to a question request: one (question text, answer text) per question.
    Answers(Vec<(String, String)>),
    /// The request is given up (the turn was interrupted, the ask expired).
    Cancel,
}

/// What a live CLI told its client.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveEvent {
    /// A normalized event of the running turn.
    Event(Event),
    /// The CLI waits for an answer.
    Ask(Ask),
    /// A pending ask is gone (answered elsewhere, withdrawn by the CLI, or cleared
    /// by the end of the turn): its buttons must stop working.
    Withdrawn {
        /// The ask's id.
        id: String,
    },
    /// The running turn ended; the process stays up for the next one.
    TurnEnded(Outcome),
    /// The session is ready for turns (handshake done); carries its id when known.
    Ready {
        /// The CLI's session (thread) id.
        session_id: Option<String>,
    },
}

/// How a live process is started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartSpec {
    /// Working directory of the CLI.
    pub cwd: PathBuf,
    /// Session (thread) id to resume, when there is one.
    pub resume: Option<String>,
    /// Model, when not the CLI's default.
    pub model: Option<String>,
}

/// A CLI's live protocol without I/O (see the module docs). Every method returns
/// the lines (without newline) to write to the CLI's stdin, in order.
pub trait LiveCodec: Send {
    /// The lines right after the process started (handshakes).
    fn start(&mut self, spec: &StartSpec) -> Vec<String>;
    /// A user turn. A codec that is not ready yet (handshake running) keeps it and
    /// writes it when it is.
    fn send_turn(&mut self, text: &str) -> Vec<String>;
    /// Answers the pending ask `id`; an error when there is no such ask or the
    /// answer does not fit it.
    fn answer(&mut self, id: &str, answer: &Answer) -> Result<Vec<String>, String>;
    /// Stops the running turn (the process stays up).
    fn interrupt(&mut self) -> Vec<String>;
    /// Adds `text` to the running turn; `None` when the protocol cannot (then the
    /// caller queues it as the next turn).
    fn steer(&mut self, text: &str) -> Option<Vec<String>>;
    /// Feeds one stdout line: events go to `out`, and the returned lines are written
    /// back (replies the protocol requires, e.g. a handshake's next step).
    fn on_line(&mut self, line: &str, out: &mut Vec<LiveEvent>) -> Vec<String>;
}

/// The codec of `provider`'s live protocol under `permission_mode` (codex takes its
/// approval policy in the protocol; claude and gemini from the command line).
pub fn codec_for(
    provider: crate::provider::ProviderKind,
    permission_mode: &str,
) -> Box<dyn LiveCodec> {
    use crate::provider::ProviderKind;
    match provider {
        ProviderKind::Claude => Box::new(claude::ClaudeCodec::default()),
        ProviderKind::Gemini => Box::new(gemini::GeminiLive::new()),
        ProviderKind::Codex => {
            let (approval, sandbox) = match permission_mode {
                "bypassPermissions" => ("never", "danger-full-access"),
                "acceptEdits" | "auto" | "dontAsk" => ("on-request", "workspace-write"),
                "plan" => ("untrusted", "read-only"),
                _ => ("untrusted", "danger-full-access"),
            };
            Box::new(codex::CodexCodec::new(codex::Policy {
                approval: approval.into(),
                sandbox: sandbox.into(),
            }))
        }
    }
}

/// At most this many characters of a preview.
pub const PREVIEW_MAX_CHARS: usize = 500;

/// `text` cut to [`PREVIEW_MAX_CHARS`] characters (with `…` when cut).
pub fn preview(text: &str) -> String {
    if text.chars().count() <= PREVIEW_MAX_CHARS {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(PREVIEW_MAX_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// A JSON-RPC id as the string an [`Ask`] carries (a string id as it is, a number
/// as its digits).
pub fn id_string(id: &serde_json::Value) -> String {
    id.as_str().map_or_else(|| id.to_string(), str::to_owned)
}
