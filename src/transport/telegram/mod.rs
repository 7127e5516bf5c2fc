//! The Telegram transport: long polling through the Bot API (`telegram_api_url`),
//! access control, commands and buttons, and rendering of turns as live-edited
//! replies. One [`Telegram`] per agent process.
//!
//! Owns `chat_activity.json` and `telegram_state.json` of its agent, and (through
//! [`media`]) the received files in `workspace/telegram_files/`. Turns go to the
//! session actors; it never runs a CLI itself.

pub mod activity;
pub mod agents;
pub mod album;
pub mod api;
pub mod auth;
pub mod callbacks;
pub mod commands;
pub mod deliver;
pub mod dispatch;
pub mod format;
pub mod incoming;
pub mod info;
pub mod media;
pub mod model;
pub mod named;
pub mod outfiles;
pub mod poll;
pub mod recovery;
pub mod render;
pub mod showfiles;
pub mod stream;
pub mod tasks;

use crate::i18n::{self, Catalog};
use crate::ipc::BusClient;
use crate::paths::AgentPaths;
use crate::session::{SessionManager, TurnEnv};
use activity::ChatActivity;
use api::TgApi;
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// How many recent (chat, message) pairs are remembered to drop duplicates.
const DEDUP_CAPACITY: usize = 1000;

/// The bot's own identity (from `getMe`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Me {
    /// Bot user id.
    pub id: i64,
    /// Bot username (without `@`).
    pub username: String,
}

/// Recently seen (chat, message) pairs.
#[derive(Debug, Default)]
pub struct Dedup {
    order: VecDeque<(i64, i64)>,
    seen: HashSet<(i64, i64)>,
}

impl Dedup {
    /// Records the pair; false when it was already seen.
    pub fn first_time(&mut self, chat: i64, message: i64) -> bool {
        if !self.seen.insert((chat, message)) {
            return false;
        }
        self.order.push_back((chat, message));
        if self.order.len() > DEDUP_CAPACITY
            && let Some(old) = self.order.pop_front()
        {
            self.seen.remove(&old);
        }
        true
    }
}

/// Everything the transport shares between its tasks.
pub struct Telegram {
    /// The Bot API client.
    pub api: Arc<TgApi>,
    /// The bot's identity.
    pub me: Me,
    /// The conversations.
    pub sessions: SessionManager,
    /// `chat_activity.json`.
    pub activity: ChatActivity,
    /// Duplicate update filter.
    pub dedup: Mutex<Dedup>,
    /// Keeps messages behind a media download in order.
    pub media_order: media::Sequencer,
    /// Albums being collected into one turn.
    pub albums: album::Albums,
    /// The bus (roster, `/status`), when a supervisor runs.
    pub bus: Option<BusClient>,
    /// Cancelled at shutdown.
    pub shutdown: CancellationToken,
    /// Cancelled to ask the agent to restart (exit code 42).
    pub restart: CancellationToken,
    /// Long `/showfiles` paths behind short callback tokens.
    pub path_tokens: showfiles::PathTokens,
}

impl std::fmt::Debug for Telegram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telegram")
            .field("me", &self.me)
            .finish_non_exhaustive()
    }
}

impl Telegram {
    /// The shared turn environment.
    pub fn env(&self) -> &Arc<TurnEnv> {
        self.sessions.env()
    }

    /// The agent's paths.
    pub fn paths(&self) -> &AgentPaths {
        &self.env().paths
    }

    /// UI strings in the configured language.
    pub fn text(&self) -> &'static Catalog {
        i18n::catalog(&self.env().config().language)
    }
}

/// Why the transport could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The token was refused by the Bot API.
    #[error("the Telegram bot token was rejected: {0}")]
    BadToken(String),
    /// The configuration cannot work.
    #[error("{0}")]
    Config(String),
}

/// Connects (retrying while the network is down), then serves until shutdown.
pub async fn run(
    sessions: SessionManager,
    bus: Option<BusClient>,
    shutdown: CancellationToken,
    restart: CancellationToken,
    outbox: crate::session::outbox::OutboxRx,
) -> Result<(), StartError> {
    let config = sessions.env().config();
    let api = Arc::new(
        TgApi::new(config.telegram_token.expose(), &config.telegram_api_url)
            .map_err(StartError::Config)?,
    );
    let Some(me) = poll::connect(&api, &shutdown).await? else {
        return Ok(());
    };
    tracing::info!(bot = %me.username, "connected to Telegram");
    let paths = sessions.env().paths.clone();
    let tg = Arc::new(Telegram {
        api,
        me,
        activity: ChatActivity::load(&paths.chat_activity_file()),
        sessions,
        dedup: Mutex::default(),
        media_order: media::Sequencer::default(),
        albums: album::Albums::default(),
        bus,
        shutdown: shutdown.clone(),
        restart,
        path_tokens: showfiles::PathTokens::default(),
    });
    commands::publish_menu(&tg).await;
    recovery::on_start(&tg).await;
    tokio::spawn(deliver::run(tg.clone(), outbox));
    poll::run(tg.clone()).await;
    tg.env().sessions.flush().await;
    tg.env().inflight.flush().await;
    Ok(())
}
