//! Messages from the agent's background work (tasks, inter-agent answers, named
//! sessions, supervisor notices) to its chats. The transport owns the receiving end:
//! a notice is posted as it is; an injection posts its notice and then runs the
//! prompt as a turn in the conversation's session (through its actor, so never
//! concurrently with a running turn), where the user sees the agent's reply.

use crate::state::sessions::SessionKey;
use tokio::sync::mpsc;

/// One delivery to a chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    /// A message (Markdown) for the users of a conversation.
    Notice {
        /// Where to post it.
        key: SessionKey,
        /// Markdown text.
        text: String,
    },
    /// A result (Markdown with `<file:…>` tags and `[button:…]` markers) for a
    /// conversation, replying to `reply_to`; button presses send
    /// `<button_prefix><label>` back (plain label when no prefix).
    Post {
        /// Where to post it.
        key: SessionKey,
        /// Markdown text.
        text: String,
        /// Message it answers.
        reply_to: Option<i64>,
        /// Callback-data prefix of the buttons (`ns:<name>:`).
        button_prefix: Option<String>,
    },
    /// An optional notice, then a turn with `prompt` in the conversation's session.
    Inject {
        /// The conversation.
        key: SessionKey,
        /// Markdown notice posted first.
        notice: Option<String>,
        /// Prompt of the turn.
        prompt: String,
    },
}

/// Sending half, held by everything that produces chat messages.
pub type OutboxTx = mpsc::UnboundedSender<Outgoing>;
/// Receiving half, owned by the transport.
pub type OutboxRx = mpsc::UnboundedReceiver<Outgoing>;

/// A new outbox.
pub fn outbox() -> (OutboxTx, OutboxRx) {
    mpsc::unbounded_channel()
}
