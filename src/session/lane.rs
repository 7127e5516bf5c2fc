//! Lanes: the independent CLI conversations that can live at one address. Each
//! (address, lane) pair has its own actor and its own CLI session, so a named
//! session or a background task never shares a session with the chat's own turns.

use std::fmt;

/// One line of work at an address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lane {
    /// The conversation's own session (`sessions.json`).
    Main,
    /// A named session of the conversation (`named_sessions.json`), inter-agent
    /// sessions included. The name is kept lower-case (names are case-insensitive).
    Named(String),
    /// A background task (`tasks.json`), by task id.
    Task(String),
    /// One-shot runs of an automation (a cron job, a webhook), by its key
    /// (`cron:<id>`, `hook:<id>`): a new CLI session every run, nothing resumed.
    Oneshot(String),
}

impl Lane {
    /// The lane of named session `name`.
    pub fn named(name: &str) -> Self {
        Self::Named(name.to_ascii_lowercase())
    }

    /// Which binding stores the lane's session.
    pub fn kind(&self) -> LaneKind {
        match self {
            Self::Main => LaneKind::Main,
            Self::Named(_) => LaneKind::Named,
            Self::Task(_) => LaneKind::Task,
            Self::Oneshot(_) => LaneKind::Oneshot,
        }
    }

    /// The named session's name, for a named lane.
    pub fn name(&self) -> Option<&str> {
        match self {
            Self::Named(n) => Some(n),
            _ => None,
        }
    }
}

/// The kinds of lanes (one session binding each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LaneKind {
    /// [`Lane::Main`].
    Main,
    /// [`Lane::Named`].
    Named,
    /// [`Lane::Task`].
    Task,
    /// [`Lane::Oneshot`].
    Oneshot,
}

impl fmt::Display for Lane {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Main => f.write_str("main"),
            Self::Named(n) => write!(f, "ns:{n}"),
            Self::Task(id) => write!(f, "task:{id}"),
            Self::Oneshot(key) => write!(f, "oneshot:{key}"),
        }
    }
}
