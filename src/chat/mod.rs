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
pub mod asks;
pub mod deliver;
pub mod html;
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

impl Frontend {
    /// Posts `JOIN_NOTIFICATION.md` (Markdown) in a group or room the bot has just
    /// joined and pins it where the bot may (a refusal is only logged). A missing or
    /// empty file posts nothing; a symlink or an oversized file is refused, so the
    /// agent cannot be led to post another file into a group.
    pub async fn greet(&self, to: &Address) {
        let path = self.core().paths.join_notification_file();
        let text = match read_join_notice(&path) {
            Ok(Some(text)) => text,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "join notice not posted");
                return;
            }
        };
        let Some(id) = self
            .post_reply(to, &crate::ops::Reply::text(text), None)
            .await
        else {
            tracing::warn!(chat = %to, "cannot post the join notice");
            return;
        };
        if let Err(e) = self.api.pin(to, &id).await {
            tracing::info!(chat = %to, error = %e, "cannot pin the join notice");
        }
    }
}

/// Longest `JOIN_NOTIFICATION.md` that is posted.
pub const JOIN_NOTICE_MAX: u64 = 16 * 1024;

/// The join notice (`JOIN_NOTIFICATION.md`, posted when the bot joins a group or
/// room): `None` when there is none (missing or blank).
pub fn read_join_notice(path: &std::path::Path) -> std::io::Result<Option<String>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    if !meta.is_file() || meta.len() > JOIN_NOTICE_MAX {
        return Err(std::io::Error::other(format!(
            "not a regular file of at most {JOIN_NOTICE_MAX} bytes"
        )));
    }
    let mut text = String::new();
    file.take(JOIN_NOTICE_MAX).read_to_string(&mut text)?;
    Ok((!text.trim().is_empty()).then_some(text))
}
