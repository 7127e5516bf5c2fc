//! The local-socket bus between the supervisor, the agents and short-lived tools.
//!
//! Owns the wire contract ([`message`]), framing and sockets ([`conn`]) and the
//! peer used by agents and tools ([`client`]). Routing lives in the supervisor.
//! Must not know what agents do with the messages.

pub mod client;
pub mod codec;
pub mod conn;
pub mod message;
pub mod schema;

pub use client::{BusClient, Inbox};
pub use conn::{BusListener, Connection};
pub use message::{Body, Envelope, ErrorCode};

/// Bus protocol version; also part of the socket file name.
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest frame accepted or sent (1 MiB).
pub const MAX_FRAME: usize = 1024 * 1024;

/// Longest text a tool or agent puts into one message (a prompt, an answer, the
/// shared memory): well below [`MAX_FRAME`], so the envelope around it always fits.
pub const MAX_TEXT: usize = 512 * 1024;

/// Environment variable carrying an agent's per-start bus token (supervisor → agent).
pub const AGENT_TOKEN_VAR: &str = "DUCTOR_AGENT_TOKEN";

static AGENT_TOKEN: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();

/// Moves the agent's bus token from the environment into the process, so nothing the
/// agent starts inherits it. Call first thing in `main`, before any thread exists.
pub fn take_agent_token() {
    let token = std::env::var(AGENT_TOKEN_VAR).ok();
    if token.is_some() {
        // SAFETY: called at the start of `main` while the process has one thread, so
        // nothing reads the environment concurrently.
        #[allow(unsafe_code)]
        unsafe {
            std::env::remove_var(AGENT_TOKEN_VAR);
        }
    }
    let _ = AGENT_TOKEN.set(token);
}

/// The token [`take_agent_token`] found.
pub fn agent_token() -> Option<String> {
    AGENT_TOKEN.get().cloned().flatten()
}

/// Bus failures.
#[derive(Debug, thiserror::Error)]
pub enum IpcError {
    /// Socket I/O failed.
    #[error("bus I/O: {0}")]
    Io(#[source] std::io::Error),
    /// A frame was larger than [`MAX_FRAME`].
    #[error("bus frame of {size} bytes exceeds the {max}-byte limit")]
    FrameTooLarge {
        /// Size of the offending frame (at least `max + 1` when received).
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A frame was not a valid message.
    #[error("bad bus message: {0}")]
    BadMessage(String),
    /// The peer speaks another protocol version.
    #[error("bus protocol mismatch: we speak v{ours}, the peer v{theirs}")]
    VersionMismatch {
        /// Our version.
        ours: u32,
        /// Theirs.
        theirs: u32,
    },
    /// The peer answered with an `error` frame.
    #[error("{1} ({0:?})")]
    Remote(ErrorCode, String),
    /// The connection was closed.
    #[error("bus connection closed")]
    Closed,
    /// No answer in time.
    #[error("bus request timed out")]
    Timeout,
}

impl IpcError {
    /// Whether the connection is unusable after this error (socket failures); a
    /// frame that was too large or not a message leaves it working.
    pub fn is_fatal(&self) -> bool {
        matches!(self, Self::Io(_) | Self::Closed)
    }
}
