//! The chat machinery every transport shares: rendering a turn live ([`turn`], with
//! the streaming editor of [`stream`]), posting replies and the command layer's
//! responses ([`post`]), delivering the outbox ([`deliver`]), the agent's markers
//! ([`markers`]), received media ([`media`]) and sent files ([`outfiles`]).
//!
//! A transport plugs in through [`api::ChatApi`] (send, edit, delete, …) and
//! [`api::Dialect`] (how it writes Markdown) and gets a [`Frontend`]; its own code is
//! only ingress (turning updates into commands, actions and messages for
//! [`crate::ops`]) and those two traits. Must not import a transport (tests may use
//! Telegram's dialect as the production one).

pub mod api;
pub mod deliver;
pub mod markers;
pub mod media;
pub mod outfiles;
pub mod overflow;
pub mod post;
pub mod stream;
#[cfg(test)]
pub mod testing;
pub mod turn;

use crate::address::Address;
use crate::core::Core;
use crate::ops::Ops;
use api::{ChatApi, Dialect};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// One transport's side of the shared machinery.
pub struct Frontend {
    /// The command layer (and through it the core).
    pub ops: Arc<Ops>,
    /// The transport's chat operations.
    pub api: Arc<dyn ChatApi>,
    /// How the transport writes messages.
    pub markup: Arc<dyn Dialect>,
    /// The transport's tag (`tg`, …): the addresses it owns.
    pub transport: String,
    /// Cancelled when the agent shuts down.
    pub shutdown: CancellationToken,
}

impl std::fmt::Debug for Frontend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frontend")
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl Frontend {
    /// The core.
    pub fn core(&self) -> &Arc<Core> {
        &self.ops.core
    }

    /// UI strings in the configured language.
    pub fn text(&self) -> &'static crate::i18n::Catalog {
        self.core().text()
    }

    /// Whether `address` belongs to this transport.
    pub fn owns(&self, address: &Address) -> bool {
        address.transport == self.transport
    }
}
