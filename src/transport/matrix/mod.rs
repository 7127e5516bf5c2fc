//! The Matrix transport (§11, cargo feature `matrix`, on by default): the agent's bot
//! account in Matrix rooms through `matrix-sdk`, with end-to-end encryption, answers
//! streamed by edits, commands (`!cmd` or `/cmd`), choices as numbered lists answered by
//! reaction or number, and media both ways. Everything else — rendering turns, posting
//! replies, delivering the outbox — is the shared chat machinery, writing through
//! [`api::MxApi`] in the [`format::MatrixHtml`] dialect.
//!
//! Owns `matrix_store/` (login, SDK state and crypto store, sync token, room map) and
//! `workspace/matrix_files/`. Never runs a CLI itself.
//!
//! - `settings`, `rooms`, `format`: pure pieces, built with or without the feature.
//! - `client`: login and store; `api`: the chat operations; `sync`: the sync loop and
//!   invites; `ingress`: messages, reactions and media into the command layer.

pub mod format;
pub mod rooms;
pub use crate::config::matrix as settings;

#[cfg(feature = "matrix")]
pub mod api;
#[cfg(feature = "matrix")]
pub mod client;
#[cfg(feature = "matrix")]
mod ingress;
#[cfg(feature = "matrix")]
mod media;
#[cfg(feature = "matrix")]
mod sync;

use crate::address::{Address, Directory, MATRIX};
use crate::config::LiveConfig;
use rooms::RoomMap;
use settings::MatrixSettings;
use std::sync::Arc;

/// The address of a room's conversation.
pub fn address(chat_id: i64) -> Address {
    Address::new(MATRIX, chat_id, None)
}

/// Why the transport could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration cannot work (or the feature is not built in).
    #[error("{0}")]
    Config(String),
    /// The login was refused or the store is unusable.
    #[error("{0}")]
    Login(String),
}

/// The room map and the last-active-room file of the agent's Matrix store (shared by
/// the directory and the transport).
pub fn open_rooms(
    paths: &crate::paths::AgentPaths,
    config: &crate::config::AgentConfig,
) -> (Arc<RoomMap>, std::path::PathBuf) {
    let s = MatrixSettings::from_config(&config.matrix);
    let root = paths.matrix_store_dir(&s.store_path);
    (
        Arc::new(RoomMap::load(root.join("room_id_map.json"))),
        root.join("last_room"),
    )
}

/// The sentence a build without the feature answers a Matrix configuration with.
pub const NOT_BUILT: &str = "this ductor was built without Matrix support (cargo feature `matrix`); rebuild with default features or remove \"matrix\" from `transports`";

/// Which Matrix rooms this agent serves: the allowed rooms, or (with no list) every room
/// it is in; the primary chat is the first allowed room, else the room last active.
#[derive(Debug, Clone)]
pub struct MatrixDirectory {
    config: LiveConfig,
    rooms: Arc<RoomMap>,
    last_room: std::path::PathBuf,
}

impl MatrixDirectory {
    /// The directory over the agent's config and room map.
    pub fn new(config: LiveConfig, rooms: Arc<RoomMap>, last_room: std::path::PathBuf) -> Self {
        Self {
            config,
            rooms,
            last_room,
        }
    }

    fn settings(&self) -> MatrixSettings {
        MatrixSettings::from_config(&self.config.get().matrix)
    }
}

impl Directory for MatrixDirectory {
    fn primary(&self) -> Option<Address> {
        let s = self.settings();
        if let Some(first) = s.allowed_rooms.first() {
            let room = if first.starts_with('!') {
                Some(first.clone())
            } else {
                self.rooms.resolved(first)
            };
            if let Some(room) = room {
                return Some(address(self.rooms.chat_id(&room)));
            }
        }
        let last = std::fs::read_to_string(&self.last_room).ok()?;
        let last = last.trim();
        last.starts_with('!')
            .then(|| address(self.rooms.chat_id(last)))
    }

    fn serves(&self, a: &Address) -> bool {
        if a.transport != MATRIX {
            return false;
        }
        let Some(room) = self.rooms.room(a.chat_id) else {
            return false;
        };
        let s = self.settings();
        s.allowed_rooms.is_empty() || self.rooms.listed(&s.allowed_rooms, &room)
    }

    fn transports(&self) -> Vec<String> {
        vec![MATRIX.to_owned()]
    }
}

#[cfg(feature = "matrix")]
pub use sync::run;

/// Without the feature, a Matrix configuration fails with one sentence.
#[cfg(not(feature = "matrix"))]
pub async fn run(
    _ops: Arc<crate::ops::Ops>,
    _shutdown: tokio_util::sync::CancellationToken,
    _deliveries: tokio::sync::mpsc::UnboundedReceiver<(Address, crate::session::outbox::Delivery)>,
    _rooms: Arc<RoomMap>,
) -> Result<(), StartError> {
    Err(StartError::Config(NOT_BUILT.to_owned()))
}
