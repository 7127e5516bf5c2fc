//! Starting the transport and the sync loop: login (retried while the server is
//! unreachable), cross-signing of the bot's device, aliases of `allowed_rooms` resolved,
//! then `/sync` forever. The first sync after a start catches up: what arrived while the
//! agent was down is answered when it is younger than ten minutes (and, on a first
//! login, newer than the bot's own last message); older backlog is skipped. The sync
//! token is saved after every sync that moved it (`matrix_store/next_batch`).
//!
//! Invites are decided here: joined when the room and the inviter are allowed (with
//! both lists empty every invite is joined, and that is logged), refused without
//! joining otherwise. Encrypted events that cannot be decrypted yet wait for their keys
//! a little; then the sender is told once.

use super::api::MxApi;
use super::client::{self, LoginError, StoreDir};
use super::format::MatrixHtml;
use super::rooms::RoomMap;
use super::settings::MatrixSettings;
use super::{StartError, ingress};
use crate::address::{Address, MATRIX};
use crate::chat::Frontend;
use crate::chat::media::Sequencer;
use crate::ops::Ops;
use crate::session::outbox::Delivery;
use matrix_sdk::config::SyncSettings;
use matrix_sdk::deserialized_responses::TimelineEvent;
use matrix_sdk::ruma::api::client::uiaa;
use matrix_sdk::ruma::api::error::ErrorKind;
use matrix_sdk::ruma::events::room::encrypted::OriginalSyncRoomEncryptedEvent;
use matrix_sdk::ruma::serde::Raw;
use matrix_sdk::ruma::{OwnedEventId, OwnedRoomId, OwnedUserId};
use matrix_sdk::sync::SyncResponse;
use matrix_sdk::{Client, Room};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Messages older than this when the agent catches up are not answered.
pub const CATCH_UP_AGE: Duration = Duration::from_mins(10);
/// How long an undecryptable message waits for its keys before the sender is told.
pub const KEY_WAIT: Duration = Duration::from_secs(20);
/// Event ids remembered (own messages for reply detection; handled ones for dedup).
const REMEMBERED: usize = 1000;

/// A bounded set of recent event ids.
#[derive(Debug, Default)]
pub struct Recent {
    order: VecDeque<OwnedEventId>,
    set: HashSet<OwnedEventId>,
}

impl Recent {
    /// Adds `id`; false when it was there.
    pub fn insert(&mut self, id: OwnedEventId) -> bool {
        if !self.set.insert(id.clone()) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > REMEMBERED
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }

    /// Whether `id` is there.
    pub fn contains(&self, id: &OwnedEventId) -> bool {
        self.set.contains(id)
    }
}

/// An encrypted event waiting for its keys.
#[derive(Debug)]
pub struct Waiting {
    room: OwnedRoomId,
    event: Raw<OriginalSyncRoomEncryptedEvent>,
    sender: String,
    since: Instant,
}

/// Everything the transport shares between its tasks.
pub struct Matrix {
    /// The shared chat machinery, writing through [`MxApi`].
    pub fe: Arc<Frontend>,
    /// The chat operations.
    pub api: Arc<MxApi>,
    /// The logged-in client.
    pub client: Client,
    /// The bot's user id.
    pub me: OwnedUserId,
    /// Room ids ↔ chat ids.
    pub rooms: Arc<RoomMap>,
    /// The store folder.
    pub store: StoreDir,
    /// Keeps each room's input in order.
    pub order: Sequencer,
    /// Events already handled.
    pub handled: Mutex<Recent>,
    /// The bot's own recent events (a reply to one addresses the bot).
    pub own: Mutex<Recent>,
    /// Undecryptable events waiting for keys.
    pub waiting: Mutex<HashMap<OwnedEventId, Waiting>>,
    /// The room last saved as the last active one (saves the file only on a change).
    pub last_room: Mutex<Option<OwnedRoomId>>,
}

impl std::fmt::Debug for Matrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matrix")
            .field("me", &self.me)
            .finish_non_exhaustive()
    }
}

impl Matrix {
    /// The command layer.
    pub fn ops(&self) -> &Ops {
        &self.fe.ops
    }

    /// The agent's Matrix settings now.
    pub fn settings(&self) -> MatrixSettings {
        MatrixSettings::from_config(&self.fe.core().config.get().matrix)
    }

    /// The conversation of a room.
    pub fn address(&self, room: &OwnedRoomId) -> Address {
        super::address(self.rooms.chat_id(room.as_str()))
    }

    /// Whether `room` may be served (listed, or no list).
    pub fn room_allowed(&self, room: &OwnedRoomId) -> bool {
        let s = self.settings();
        s.allowed_rooms.is_empty() || self.rooms.listed(&s.allowed_rooms, room.as_str())
    }

    /// Remembers the room the user was last active in (the primary chat without a list).
    pub fn touch(&self, room: &OwnedRoomId) {
        let mut last = self
            .last_room
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.as_ref() == Some(room) {
            return;
        }
        *last = Some(room.clone());
        let file = self.store.root.join("last_room");
        if let Err(e) = crate::store::write_atomic(&file, room.as_str().as_bytes()) {
            tracing::debug!(error = %e, "cannot save the last active room");
        }
    }
}

/// Logs in (retrying while the server cannot be reached); `None` on shutdown.
async fn connect(
    settings: &MatrixSettings,
    store: &StoreDir,
    passphrase: &str,
    shutdown: &CancellationToken,
) -> Result<Option<client::Session>, StartError> {
    let mut wait = Duration::from_secs(1);
    loop {
        match client::login(settings, store, passphrase).await {
            Ok(s) => return Ok(Some(s)),
            Err(LoginError::Unreachable(e)) => {
                tracing::warn!(error = %e, retry_in = ?wait, "cannot reach the Matrix server");
            }
            Err(e) => return Err(StartError::Login(e.to_string())),
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(None),
            () = tokio::time::sleep(wait) => {}
        }
        wait = (wait * 2).min(Duration::from_mins(1));
    }
}

/// Cross-signs the bot's device (with the password when the server asks for it), so
/// clients that only trust verified devices send it their keys.
async fn cross_sign(client: &Client, settings: &MatrixSettings) {
    let enc = client.encryption();
    enc.wait_for_e2ee_initialization_tasks().await;
    let Err(e) = enc.bootstrap_cross_signing_if_needed(None).await else {
        return;
    };
    let (Some(info), false) = (e.as_uiaa_response(), settings.password.is_empty()) else {
        tracing::warn!(error = %e, "cannot cross-sign the bot's device");
        return;
    };
    let mut password = uiaa::Password::new(
        uiaa::UserIdentifier::Matrix(uiaa::MatrixUserIdentifier::new(settings.user_id.clone())),
        settings.password.expose().to_owned(),
    );
    password.session.clone_from(&info.session);
    if let Err(e) = enc
        .bootstrap_cross_signing(Some(uiaa::AuthData::Password(password)))
        .await
    {
        tracing::warn!(error = %e, "cannot cross-sign the bot's device");
    }
}

/// Resolves the aliases of `allowed_rooms` (a failure is logged; the alias then matches
/// nothing until the next start).
async fn resolve_aliases(client: &Client, rooms: &RoomMap, settings: &MatrixSettings) {
    for alias in settings.allowed_rooms.iter().filter(|r| r.starts_with('#')) {
        let Ok(parsed) = matrix_sdk::ruma::RoomAliasId::parse(alias) else {
            tracing::warn!(%alias, "not a room alias in matrix.allowed_rooms");
            continue;
        };
        match client.resolve_room_alias(&parsed).await {
            Ok(r) => rooms.set_alias(alias, r.room_id.as_str()),
            Err(e) => tracing::warn!(%alias, error = %e, "cannot resolve a room alias"),
        }
    }
}

/// Connects, then serves until shutdown. `deliveries` are the outbox items the agent
/// routed to Matrix; `rooms` is the room map the agent's directory reads too.
pub async fn run(
    ops: Arc<Ops>,
    shutdown: CancellationToken,
    deliveries: mpsc::UnboundedReceiver<(Address, Delivery)>,
    rooms: Arc<RoomMap>,
) -> Result<(), StartError> {
    let config = ops.core.config.get();
    let settings = MatrixSettings::from_config(&config.matrix);
    if let Some(p) = settings.problem() {
        return Err(StartError::Config(p));
    }
    let paths = ops.core.paths.clone();
    let store = StoreDir::new(&paths, &settings);
    let passphrase = client::store_passphrase(&paths.env_file())
        .map_err(|e| StartError::Login(e.to_string()))?;
    let Some(session) = connect(&settings, &store, &passphrase, &shutdown).await? else {
        return Ok(());
    };
    let client = session.client;
    let me = client
        .user_id()
        .ok_or_else(|| StartError::Login("the login gave no user id".into()))?
        .to_owned();
    tracing::info!(user = %me, device = ?client.device_id(), fresh = session.fresh, "connected to Matrix");
    cross_sign(&client, &settings).await;
    resolve_aliases(&client, &rooms, &settings).await;
    let api = Arc::new(MxApi::new(client.clone(), rooms.clone()));
    let fe = Arc::new(Frontend {
        ops: ops.clone(),
        api: api.clone(),
        markup: Arc::new(MatrixHtml::new(ops.core.config.clone())),
        transport: MATRIX.to_owned(),
        shutdown: shutdown.clone(),
    });
    let mx = Arc::new(Matrix {
        fe: fe.clone(),
        api,
        client,
        me,
        rooms,
        store,
        order: Sequencer::default(),
        handled: Mutex::default(),
        own: Mutex::default(),
        waiting: Mutex::default(),
        last_room: Mutex::default(),
    });
    tokio::spawn(crate::chat::deliver::run(fe, deliveries));
    sync_loop(&mx, &shutdown).await
}

fn load_token(store: &StoreDir) -> Option<String> {
    std::fs::read_to_string(store.next_batch())
        .ok()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

fn save_token(store: &StoreDir, token: &str) {
    if let Err(e) = crate::store::write_atomic(&store.next_batch(), token.as_bytes()) {
        tracing::warn!(error = %e, "cannot save the Matrix sync token");
    }
}

async fn sync_loop(mx: &Arc<Matrix>, shutdown: &CancellationToken) -> Result<(), StartError> {
    let mut token = load_token(&mx.store);
    let first_login = token.is_none();
    let mut catching_up = true;
    let mut wait = Duration::from_secs(1);
    loop {
        let waiting = !mx
            .waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_empty();
        // Short polls while undecryptable events wait, so they are retried (and their
        // senders told) on time.
        let timeout = if catching_up {
            Duration::ZERO
        } else if waiting {
            Duration::from_secs(5)
        } else {
            Duration::from_secs(30)
        };
        let mut settings = SyncSettings::default().timeout(timeout);
        if let Some(t) = &token {
            settings = settings.token(t.clone());
        }
        let result = tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            r = mx.client.sync_once(settings) => r,
        };
        let response = match result {
            Ok(r) => {
                wait = Duration::from_secs(1);
                r
            }
            Err(e) => {
                if matches!(e.client_api_error_kind(), Some(ErrorKind::UnknownToken(_))) {
                    return Err(StartError::Login(format!(
                        "the Matrix server ended the bot's session: {e}"
                    )));
                }
                tracing::warn!(error = %e, retry_in = ?wait, "Matrix sync failed");
                tokio::select! {
                    () = shutdown.cancelled() => return Ok(()),
                    () = tokio::time::sleep(wait) => {}
                }
                wait = (wait * 2).min(Duration::from_secs(30));
                continue;
            }
        };
        if token.as_deref() != Some(response.next_batch.as_str()) {
            save_token(&mx.store, &response.next_batch);
            token = Some(response.next_batch.clone());
        }
        let mode = if !catching_up {
            Mode::Live
        } else if first_login {
            Mode::FirstLogin
        } else {
            Mode::Resume
        };
        handle(mx, response, mode).await;
        retry_waiting(mx).await;
        if catching_up {
            catching_up = false;
            mx.store.tighten();
            mx.fe.announce_recovery().await;
        }
    }
}

/// Which sync a response came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The first sync of a fresh store: the rooms' recent history.
    FirstLogin,
    /// The first sync after a restart: what came while the agent was down.
    Resume,
    /// Live.
    Live,
}

async fn handle(mx: &Arc<Matrix>, response: SyncResponse, mode: Mode) {
    for (room_id, invite) in &response.rooms.invited {
        invite_received(mx, room_id, &invite.invite_state.events).await;
    }
    for (room_id, update) in response.rooms.joined {
        let Some(room) = mx.client.get_room(&room_id) else {
            continue;
        };
        let events = update.timeline.events;
        let start = if mode == Mode::FirstLogin {
            // History the bot answered (or never will): only what follows its own last word.
            events
                .iter()
                .rposition(|e| sender_of(e).as_deref() == Some(mx.me.as_str()))
                .map_or(0, |i| i + 1)
        } else {
            0
        };
        for (i, ev) in events.into_iter().enumerate() {
            let Some(id) = ev.event_id() else { continue };
            if sender_of(&ev).as_deref() == Some(mx.me.as_str()) {
                mx.own
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(id);
                continue;
            }
            if i < start || (mode != Mode::Live && too_old(&ev)) {
                continue;
            }
            event(mx, &room, id, ev).await;
        }
    }
}

fn sender_of(ev: &TimelineEvent) -> Option<String> {
    ev.raw().get_field::<String>("sender").ok().flatten()
}

fn too_old(ev: &TimelineEvent) -> bool {
    let Some(ts) = ev.timestamp() else {
        return false;
    };
    let now = matrix_sdk::ruma::MilliSecondsSinceUnixEpoch::now();
    let age_ms = u64::from(now.get()).saturating_sub(u64::from(ts.get()));
    Duration::from_millis(age_ms) > CATCH_UP_AGE
}

async fn event(mx: &Arc<Matrix>, room: &Room, id: OwnedEventId, ev: TimelineEvent) {
    if !mx
        .handled
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(id.clone())
    {
        return;
    }
    if ev.kind.is_utd() {
        let sender = sender_of(&ev).unwrap_or_default();
        mx.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(
                id,
                Waiting {
                    room: room.room_id().to_owned(),
                    event: ev.raw().clone().cast_unchecked(),
                    sender,
                    since: Instant::now(),
                },
            );
        return;
    }
    ingress::timeline_event(mx, room, ev).await;
}

/// Tries the waiting encrypted events again; tells the sender of one whose keys never
/// came (once).
async fn retry_waiting(mx: &Arc<Matrix>) {
    let waiting: Vec<(OwnedEventId, Waiting)> = mx
        .waiting
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .drain()
        .collect();
    for (id, w) in waiting {
        let Some(room) = mx.client.get_room(&w.room) else {
            continue;
        };
        match room.decrypt_event(&w.event, None).await {
            Ok(ev) if !ev.kind.is_utd() => ingress::timeline_event(mx, &room, ev).await,
            _ if w.since.elapsed() < KEY_WAIT => {
                mx.waiting
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(id, w);
            }
            _ => ingress::undecryptable(mx, &room, &id, &w.sender).await,
        }
    }
}

/// An invite: join when allowed, else refuse without joining.
async fn invite_received(
    mx: &Arc<Matrix>,
    room_id: &OwnedRoomId,
    state: &[Raw<matrix_sdk::ruma::events::AnyStrippedStateEvent>],
) {
    let mut inviter = None;
    let mut alias = None;
    for raw in state {
        let kind = raw.get_field::<String>("type").ok().flatten();
        match kind.as_deref() {
            Some("m.room.member")
                if raw
                    .get_field::<String>("state_key")
                    .ok()
                    .flatten()
                    .as_deref()
                    == Some(mx.me.as_str()) =>
            {
                inviter = raw.get_field::<String>("sender").ok().flatten();
            }
            Some("m.room.canonical_alias") => {
                alias = raw
                    .get_field::<serde_json::Value>("content")
                    .ok()
                    .flatten()
                    .and_then(|c| c.get("alias").and_then(|a| a.as_str()).map(str::to_owned));
            }
            _ => {}
        }
    }
    let Some(room) = mx.client.get_room(room_id) else {
        return;
    };
    let s = mx.settings();
    let inviter = inviter.unwrap_or_default();
    if let Some(a) = &alias {
        mx.rooms.set_alias(a, room_id.as_str());
    }
    let room_ok = s.allowed_rooms.is_empty() || mx.rooms.listed(&s.allowed_rooms, room_id.as_str());
    let user_ok = s.user_allowed(&inviter);
    if !room_ok || !user_ok {
        tracing::warn!(room = %room_id, %inviter, "invite refused: the room or the inviter is not allowed");
        if let Err(e) = room.leave().await {
            tracing::warn!(room = %room_id, error = %e, "cannot refuse the invite");
        }
        return;
    }
    if s.allowed_rooms.is_empty() && s.allowed_users.is_empty() {
        tracing::warn!(room = %room_id, %inviter, "joining an invite: matrix.allowed_rooms and matrix.allowed_users are both empty, so every invite is accepted");
    }
    match room.join().await {
        Ok(()) => {
            tracing::info!(room = %room_id, %inviter, "joined a room on invite");
            mx.touch(room_id);
            mx.fe.greet(&mx.address(room_id)).await;
        }
        Err(e) => tracing::warn!(room = %room_id, error = %e, "cannot join the room"),
    }
}
