//! The Telegram transport: long polling through the Bot API (`telegram_api_url`),
//! access control, and the translation of updates into the command layer's input
//! (commands, button presses, messages, media) — everything else (rendering turns,
//! posting replies, delivering the outbox) is the shared chat machinery, which
//! writes through this transport's [`api::TgApi`] and [`format::Html`] dialect.
//!
//! Owns `chat_activity.json` and `telegram_state.json` of its agent, and the received
//! files in `workspace/telegram_files/`. Never runs a CLI itself.

pub mod activity;
pub mod album;
pub mod api;
pub mod audit;
pub mod auth;
pub mod callbacks;
pub mod dispatch;
pub use crate::chat::html as format;
pub mod incoming;
pub mod info;
pub mod media;
pub mod menu;
pub mod poll;
pub mod probe;
mod recover;
#[cfg(test)]
mod stream_tests;

use crate::address::{Address, Directory, TELEGRAM};
use crate::chat::Frontend;
use crate::chat::media::Sequencer;
use crate::config::LiveConfig;
use crate::ops::Ops;
use crate::session::outbox::Delivery;
use activity::ChatActivity;
use api::TgApi;
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How many recent (chat, message) pairs are remembered to drop duplicates.
const DEDUP_CAPACITY: usize = 1000;

/// The address of a Telegram chat (and forum topic).
pub fn address(chat_id: i64, topic_id: Option<i64>) -> Address {
    Address::new(TELEGRAM, chat_id, topic_id)
}

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

/// Which Telegram chats this agent serves, from its allow lists: the primary chat is
/// the first allowed user's.
#[derive(Debug, Clone)]
pub struct TelegramDirectory {
    config: LiveConfig,
}

impl TelegramDirectory {
    /// The directory over the agent's (live) config.
    pub fn new(config: LiveConfig) -> Self {
        Self { config }
    }
}

impl Directory for TelegramDirectory {
    fn primary(&self) -> Option<Address> {
        let config = self.config.get();
        config.allowed_user_ids.first().map(|u| address(*u, None))
    }

    fn serves(&self, a: &Address) -> bool {
        let config = self.config.get();
        a.transport == TELEGRAM
            && (config.allowed_user_ids.contains(&a.chat_id)
                || config.allowed_group_ids.contains(&a.chat_id)
                || config.allowed_channel_ids.contains(&a.chat_id))
    }

    fn transports(&self) -> Vec<String> {
        vec![TELEGRAM.to_owned()]
    }
}

/// Everything the transport shares between its tasks.
pub struct Telegram {
    /// The shared chat machinery, writing through [`TgApi`].
    pub fe: Arc<Frontend>,
    /// The Bot API client.
    pub api: Arc<TgApi>,
    /// The bot's identity.
    pub me: Me,
    /// `chat_activity.json`.
    pub activity: ChatActivity,
    /// Duplicate update filter.
    pub dedup: Mutex<Dedup>,
    /// Keeps each conversation's input in order while earlier input is handled.
    pub order: Sequencer,
    /// Albums being collected into one turn.
    pub albums: album::Albums,
}

impl std::fmt::Debug for Telegram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telegram")
            .field("me", &self.me)
            .finish_non_exhaustive()
    }
}

impl Telegram {
    /// The command layer.
    pub fn ops(&self) -> &Ops {
        &self.fe.ops
    }

    /// The agent's config now.
    pub fn config(&self) -> Arc<crate::config::AgentConfig> {
        self.fe.core().config.get()
    }

    /// UI strings in the configured language.
    pub fn text(&self) -> &'static crate::i18n::Catalog {
        self.fe.text()
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
/// `deliveries` are the outbox items the agent routed to Telegram.
pub async fn run(
    ops: Arc<Ops>,
    shutdown: CancellationToken,
    deliveries: mpsc::UnboundedReceiver<(Address, Delivery)>,
) -> Result<(), StartError> {
    let config = ops.core.config.get();
    let api = Arc::new(
        TgApi::new(config.telegram_token.expose(), &config.telegram_api_url)
            .map_err(StartError::Config)?,
    );
    let Some(me) = poll::connect(&api, &shutdown).await? else {
        return Ok(());
    };
    tracing::info!(bot = %me.username, "connected to Telegram");
    let paths = ops.core.paths.clone();
    let fe = Arc::new(Frontend {
        ops,
        api: api.clone(),
        markup: Arc::new(format::Html),
        transport: TELEGRAM.to_owned(),
        shutdown: shutdown.clone(),
    });
    let tg = Arc::new(Telegram {
        fe: fe.clone(),
        api,
        me,
        activity: ChatActivity::load(&paths.chat_activity_file()),
        dedup: Mutex::default(),
        order: Sequencer::default(),
        albums: album::Albums::default(),
    });
    let language = tg.config().language.clone();
    let menu_language = menu::publish(&tg).await.then_some(language);
    tg.fe.announce_recovery().await;
    tokio::spawn(audit::run(tg.clone()));
    tokio::spawn(menu::follow_language(tg.clone(), menu_language));
    tokio::spawn(crate::chat::deliver::run(fe, deliveries));
    poll::run(tg.clone()).await;
    Ok(())
}
