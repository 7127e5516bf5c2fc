//! The user's side of the Matrix tests and benchmarks: a second `matrix-sdk` client
//! (its own device and crypto store) that records what it receives, edits folded in.

use crate::support::synapse::Synapse;
use matrix_sdk::config::SyncSettings;
use matrix_sdk::ruma::events::reaction::OriginalSyncReactionEvent;
use matrix_sdk::ruma::events::room::message::{
    MessageType, OriginalSyncRoomMessageEvent, Relation, RoomMessageEventContent,
};
use matrix_sdk::ruma::{OwnedEventId, OwnedRoomId, OwnedUserId};
use matrix_sdk::{Client, Room};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a turn may take.
pub const TURN: Duration = Duration::from_secs(90);
/// The bot's and the user's passwords.
pub const PASSWORD: &str = "correct horse battery staple";

/// A message as the user's client saw it (edits applied).
#[derive(Debug, Clone)]
pub struct Seen {
    /// The room.
    pub room: OwnedRoomId,
    /// The event.
    pub id: OwnedEventId,
    /// The sender.
    pub sender: OwnedUserId,
    /// The plain body, after the latest edit.
    pub body: String,
    /// The HTML body, after the latest edit.
    pub html: Option<String>,
    /// The msgtype (`m.text`, `m.image`, `m.file`, …).
    pub kind: String,
    /// Edits applied.
    pub edits: usize,
}

/// What the user's client received.
#[derive(Debug, Default)]
pub struct Inbox {
    /// Messages in arrival order (edits folded in).
    pub messages: Vec<Seen>,
    /// Reactions: (target event, key, sender).
    pub reactions: Vec<(OwnedEventId, String, OwnedUserId)>,
}

fn body_of(msgtype: &MessageType) -> (String, Option<String>) {
    match msgtype {
        MessageType::Text(t) => (t.body.clone(), t.formatted.as_ref().map(|f| f.body.clone())),
        MessageType::Notice(t) => (t.body.clone(), t.formatted.as_ref().map(|f| f.body.clone())),
        other => (other.body().to_owned(), None),
    }
}

/// The user: a logged-in client syncing in the background.
pub struct User {
    /// The client.
    pub client: Client,
    /// What arrived.
    pub inbox: Arc<Mutex<Inbox>>,
    _store: tempfile::TempDir,
    sync: tokio::task::JoinHandle<()>,
}

impl Drop for User {
    fn drop(&mut self) {
        self.sync.abort();
    }
}

impl User {
    /// Logs `name` in on `synapse` and starts syncing.
    pub async fn login(synapse: &Synapse, name: &str) -> Self {
        let store = tempfile::tempdir().unwrap();
        let client = Client::builder()
            .homeserver_url(synapse.url())
            .sqlite_store(store.path(), None)
            .build()
            .await
            .unwrap();
        client
            .matrix_auth()
            .login_username(name, PASSWORD)
            .initial_device_display_name("test user")
            .send()
            .await
            .unwrap();
        let inbox = Arc::new(Mutex::new(Inbox::default()));
        let i = inbox.clone();
        client.add_event_handler(move |ev: OriginalSyncRoomMessageEvent, room: Room| {
            let i = i.clone();
            async move {
                let mut inbox = i.lock().unwrap();
                if let Some(Relation::Replacement(r)) = &ev.content.relates_to {
                    let (body, html) = body_of(&r.new_content.msgtype);
                    if let Some(m) = inbox.messages.iter_mut().find(|m| m.id == r.event_id) {
                        m.body = body;
                        m.html = html;
                        m.edits += 1;
                    }
                    return;
                }
                let (body, html) = body_of(&ev.content.msgtype);
                inbox.messages.push(Seen {
                    room: room.room_id().to_owned(),
                    id: ev.event_id.clone(),
                    sender: ev.sender.clone(),
                    body,
                    html,
                    kind: ev.content.msgtype.msgtype().to_owned(),
                    edits: 0,
                });
            }
        });
        let i = inbox.clone();
        client.add_event_handler(move |ev: OriginalSyncReactionEvent| {
            let i = i.clone();
            async move {
                i.lock().unwrap().reactions.push((
                    ev.content.relates_to.event_id.clone(),
                    ev.content.relates_to.key.clone(),
                    ev.sender.clone(),
                ));
            }
        });
        client.sync_once(SyncSettings::default()).await.unwrap();
        let c = client.clone();
        let sync = tokio::spawn(async move {
            let _ = c
                .sync(SyncSettings::default().timeout(Duration::from_secs(5)))
                .await;
        });
        Self {
            client,
            inbox,
            _store: store,
            sync,
        }
    }

    /// Creates a room with the bot invited: a named group room, or (with `dm`) an
    /// encrypted direct chat.
    pub async fn room_with(&self, bot: &OwnedUserId, dm: bool) -> Room {
        use matrix_sdk::ruma::api::client::room::create_room::v3::Request;
        let room = if dm {
            self.client.create_dm(bot).await.unwrap()
        } else {
            let mut req = Request::new();
            req.name = Some("ductor test room".into());
            req.invite = vec![bot.clone()];
            self.client.create_room(req).await.unwrap()
        };
        let start = Instant::now();
        loop {
            let members = room
                .members(matrix_sdk::RoomMemberships::JOIN)
                .await
                .unwrap();
            if members.iter().any(|m| m.user_id() == bot) {
                return room;
            }
            assert!(start.elapsed() < TURN, "the bot never joined the room");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends a text message; returns its id.
    pub async fn say(&self, room: &Room, text: &str) -> OwnedEventId {
        room.send(RoomMessageEventContent::text_plain(text))
            .await
            .unwrap()
            .response
            .event_id
    }

    /// Waits for a message from `from` in `room` that satisfies `pred`.
    pub async fn wait_message(
        &self,
        room: &Room,
        from: &OwnedUserId,
        what: &str,
        pred: impl Fn(&Seen) -> bool,
    ) -> Seen {
        let start = Instant::now();
        loop {
            {
                let inbox = self.inbox.lock().unwrap();
                if let Some(m) = inbox
                    .messages
                    .iter()
                    .find(|m| m.room == room.room_id() && &m.sender == from && pred(m))
                {
                    return m.clone();
                }
            }
            assert!(
                start.elapsed() < TURN,
                "{what}: not seen; messages: {:#?}",
                self.inbox.lock().unwrap().messages
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The bot's messages in `room`.
    pub fn from(&self, room: &Room, from: &OwnedUserId) -> Vec<Seen> {
        self.inbox
            .lock()
            .unwrap()
            .messages
            .iter()
            .filter(|m| m.room == room.room_id() && &m.sender == from)
            .cloned()
            .collect()
    }
}
