//! The fake's world: bots, users, chats, messages, files, pending updates, and the call log.
//!
//! One `State` behind one mutex (short critical sections, never held across `.await`). Chats are
//! global; messages live in conversations: a private chat is one conversation per bot (its own
//! message ids), a group or supergroup is one conversation shared by all its bots.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde_json::Value;
use tokio::time::Instant;

use super::error::ApiError;
use super::params::ChatRef;
use super::text::Formatted;
use super::view::{Call, Upload};

/// Seconds since the Unix epoch, as in `date` fields.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A bot's status in a group (Telegram's `ChatMember.status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberStatus {
    /// `member`
    Member,
    /// `administrator`
    Administrator,
    /// `left`
    Left,
    /// `kicked`
    Kicked,
}

impl MemberStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Administrator => "administrator",
            Self::Left => "left",
            Self::Kicked => "kicked",
        }
    }

    /// Whether the bot is in the chat.
    pub fn is_present(self) -> bool {
        matches!(self, Self::Member | Self::Administrator)
    }
}

/// One bot registered with `add_bot`.
#[derive(Debug)]
pub struct BotRec {
    pub id: i64,
    pub token: String,
    pub username: String,
    pub first_name: String,
    pub reads_all_group_messages: bool,
    pub next_update_id: i64,
    pub queue: VecDeque<QueuedUpdate>,
    /// Every update ever queued (for `redeliver_update`).
    pub history: Vec<QueuedUpdate>,
    pub allowed_updates: Option<Vec<String>>,
    pub poll_generation: u64,
    pub active_poll: Option<u64>,
    pub webhook_url: Option<String>,
    /// `(scope key, language_code)` → `BotCommand` objects.
    pub commands: BTreeMap<(String, String), Vec<Value>>,
    pub membership: HashMap<i64, MemberStatus>,
    /// Users who pressed Start (the bot may write to them).
    pub opened_private: HashSet<i64>,
    pub blocked_by: HashSet<i64>,
    pub last_send: HashMap<i64, Instant>,
    /// `(chat, thread)` → current chat action and when it expires.
    pub chat_actions: HashMap<(i64, Option<i32>), (String, Instant)>,
    /// Every accepted `sendMessageDraft` call, oldest first (the latest one per
    /// `(chat, thread, draft_id)` is what the user may see).
    pub drafts: Vec<DraftRec>,
}

impl BotRec {
    /// Whether updates of `kind` are delivered (Telegram's default leaves out three kinds).
    pub fn wants(&self, kind: &str) -> bool {
        match &self.allowed_updates {
            Some(list) if !list.is_empty() => list.iter().any(|k| k == kind),
            _ => !matches!(
                kind,
                "chat_member" | "message_reaction" | "message_reaction_count"
            ),
        }
    }
}

/// How long a draft stays visible after its last update.
pub const DRAFT_TTL: Duration = Duration::from_secs(30);

/// One accepted `sendMessageDraft` call.
#[derive(Clone, Debug)]
pub struct DraftRec {
    pub chat_id: i64,
    pub thread_id: Option<i32>,
    pub draft_id: i64,
    pub text: Formatted,
    pub can_stop: bool,
    pub keep_on_stop: bool,
    /// Arrival on tokio's clock.
    pub at: Instant,
    /// Gone before its 30 s ran out: the bot sent a message to the chat/thread, or the user
    /// stopped the generation.
    pub ended: bool,
}

impl BotRec {
    /// Index of the latest update of each draft in `(chat, thread)` that is still on screen.
    pub fn visible_drafts(&self, chat_id: i64, thread_id: Option<i32>) -> Vec<usize> {
        let now = Instant::now();
        let mut latest: BTreeMap<i64, usize> = BTreeMap::new();
        for (i, d) in self.drafts.iter().enumerate() {
            if d.chat_id == chat_id && d.thread_id == thread_id {
                latest.insert(d.draft_id, i);
            }
        }
        let mut shown: Vec<usize> = latest
            .into_values()
            .filter(|i| {
                let d = &self.drafts[*i];
                !d.ended && now < d.at + DRAFT_TTL
            })
            .collect();
        shown.sort_unstable();
        shown
    }

    /// Whether this history entry is the one currently shown for its draft.
    pub fn draft_visible(&self, index: usize) -> bool {
        self.drafts
            .get(index)
            .is_some_and(|d| self.visible_drafts(d.chat_id, d.thread_id).contains(&index))
    }

    /// A normal message reached `(chat, thread)`: every draft there disappears.
    pub fn end_drafts(&mut self, chat_id: i64, thread_id: Option<i32>) {
        for d in &mut self.drafts {
            if d.chat_id == chat_id && d.thread_id == thread_id {
                d.ended = true;
            }
        }
    }
}

/// An update waiting to be fetched by `getUpdates`.
#[derive(Clone, Debug)]
pub struct QueuedUpdate {
    pub id: i64,
    pub kind: String,
    pub payload: Value,
}

/// A simulated Telegram user.
#[derive(Clone, Debug)]
pub struct UserRec {
    pub id: i64,
    pub first_name: String,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub language_code: Option<String>,
}

/// Chat type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChatKind {
    Private,
    Group,
    Supergroup,
    Channel,
}

/// A chat known to the fake.
#[derive(Clone, Debug)]
pub struct ChatRec {
    pub id: i64,
    pub kind: ChatKind,
    pub title: Option<String>,
    pub username: Option<String>,
    pub is_forum: bool,
    pub topics: BTreeMap<i32, TopicRec>,
}

impl ChatRec {
    /// `group chat` / `supergroup chat`, as in Telegram's 403 wording.
    pub fn noun(&self) -> &'static str {
        match self.kind {
            ChatKind::Supergroup => "supergroup chat",
            ChatKind::Channel => "channel chat",
            ChatKind::Group => "group chat",
            ChatKind::Private => "private chat",
        }
    }
}

/// A forum topic.
#[derive(Clone, Debug)]
pub struct TopicRec {
    pub name: String,
    pub icon_color: i64,
}

/// Which message store a message lives in.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub struct ConvKey {
    pub chat_id: i64,
    /// `Some(bot)` for a private chat (each bot has its own), `None` for groups.
    pub bot: Option<i64>,
}

/// The messages of one conversation.
#[derive(Debug, Default)]
pub struct Conv {
    pub next_id: i32,
    pub messages: BTreeMap<i32, MsgRec>,
}

/// Who sent a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sender {
    User(i64),
    Bot(i64),
}

/// Kind of attached media.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaKind {
    Photo,
    Document,
    Audio,
    Video,
    Voice,
}

impl MediaKind {
    /// Field name in `Message` (`photo`, `document`, ...).
    pub fn field(self) -> &'static str {
        match self {
            Self::Photo => "photo",
            Self::Document => "document",
            Self::Audio => "audio",
            Self::Video => "video",
            Self::Voice => "voice",
        }
    }
}

/// Media attached to a message. `files` holds photo sizes smallest first, else one file.
#[derive(Clone, Debug)]
pub struct Media {
    pub kind: MediaKind,
    pub files: Vec<String>,
    pub duration: Option<i64>,
    pub performer: Option<String>,
    pub title: Option<String>,
}

/// One stored message.
#[derive(Clone, Debug)]
pub struct MsgRec {
    pub id: i32,
    pub chat_id: i64,
    pub sender: Sender,
    pub date: i64,
    pub thread_id: Option<i32>,
    pub text: Option<Formatted>,
    pub caption: Option<Formatted>,
    pub media: Option<Media>,
    pub reply_to: Option<i32>,
    pub quote: Option<Value>,
    /// `forward_origin` of a forwarded message.
    pub forward_origin: Option<Value>,
    pub reply_markup: Option<Value>,
    pub edit_date: Option<i64>,
    pub edits: u32,
    pub deleted: bool,
    pub reactions: Vec<Value>,
    /// Service message content: field name and value (e.g. `forum_topic_created`).
    pub service: Option<(String, Value)>,
    pub media_group_id: Option<String>,
    pub pinned: bool,
}

impl MsgRec {
    /// An empty message skeleton.
    pub fn new(chat_id: i64, sender: Sender, date: i64) -> Self {
        Self {
            id: 0,
            chat_id,
            sender,
            date,
            thread_id: None,
            text: None,
            caption: None,
            media: None,
            reply_to: None,
            quote: None,
            forward_origin: None,
            reply_markup: None,
            edit_date: None,
            edits: 0,
            deleted: false,
            reactions: Vec::new(),
            service: None,
            media_group_id: None,
            pinned: false,
        }
    }
}

/// A stored file (sent by a user or uploaded by a bot).
#[derive(Clone, Debug)]
pub struct FileRec {
    pub file_id: String,
    pub file_unique_id: String,
    pub path: String,
    pub data: Bytes,
    pub mime: Option<String>,
    pub file_name: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// A callback query created by a button press.
#[derive(Clone, Debug)]
pub struct CallbackRec {
    pub bot: i64,
    pub answered: bool,
}

/// A one-off failure armed with `FakeTelegram::inject_failure`.
#[derive(Clone, Debug)]
pub struct FaultRule {
    pub method: String,
    pub remaining: u32,
    pub fault: super::Fault,
}

/// Flood-control settings.
#[derive(Clone, Debug)]
pub struct Flood {
    pub enabled: bool,
    pub per_chat: HashMap<i64, Duration>,
    pub default: Option<Duration>,
}

/// Everything the fake knows.
#[derive(Debug)]
pub struct State {
    pub bots: BTreeMap<i64, BotRec>,
    pub tokens: HashMap<String, i64>,
    pub users: BTreeMap<i64, UserRec>,
    pub chats: BTreeMap<i64, ChatRec>,
    pub convs: HashMap<ConvKey, Conv>,
    pub files: HashMap<String, FileRec>,
    pub file_paths: HashMap<String, String>,
    pub callbacks: HashMap<String, CallbackRec>,
    pub calls: Vec<Call>,
    pub uploads: Vec<Upload>,
    pub flood: Flood,
    pub faults: Vec<FaultRule>,
    pub next_file: u64,
    pub next_callback: u64,
    pub next_group: i64,
    pub next_media_group: u64,
    pub next_generated_bot: i64,
    /// `false` emulates a Bot API server older than 9.3: `sendMessageDraft` is an unknown method.
    pub drafts_supported: bool,
}

impl State {
    /// An empty world.
    pub fn new() -> Self {
        Self {
            bots: BTreeMap::new(),
            tokens: HashMap::new(),
            users: BTreeMap::new(),
            chats: BTreeMap::new(),
            convs: HashMap::new(),
            files: HashMap::new(),
            file_paths: HashMap::new(),
            callbacks: HashMap::new(),
            calls: Vec::new(),
            uploads: Vec::new(),
            flood: Flood {
                enabled: true,
                per_chat: HashMap::new(),
                default: None,
            },
            faults: Vec::new(),
            next_file: 1,
            next_callback: 1,
            next_group: 1,
            next_media_group: 1,
            next_generated_bot: 1,
            drafts_supported: true,
        }
    }

    /// The bot with this id (callers only hold ids handed out by `add_bot`).
    pub fn bot(&self, bot: i64) -> Result<&BotRec, ApiError> {
        self.bots.get(&bot).ok_or_else(ApiError::unauthorized)
    }

    /// Mutable bot.
    pub fn bot_mut(&mut self, bot: i64) -> Result<&mut BotRec, ApiError> {
        self.bots.get_mut(&bot).ok_or_else(ApiError::unauthorized)
    }

    /// Create the user (and the private chat with them) if unknown.
    pub fn ensure_user(&mut self, id: i64) -> &UserRec {
        if !self.chats.contains_key(&id) && id > 0 {
            self.chats.insert(
                id,
                ChatRec {
                    id,
                    kind: ChatKind::Private,
                    title: None,
                    username: None,
                    is_forum: false,
                    topics: BTreeMap::new(),
                },
            );
        }
        self.users.entry(id).or_insert_with(|| UserRec {
            id,
            first_name: format!("User{id}"),
            last_name: None,
            username: None,
            language_code: Some("en".to_owned()),
        })
    }

    /// The conversation key for a bot looking at a chat.
    pub fn conv_key(&self, bot: i64, chat_id: i64) -> ConvKey {
        match self.chats.get(&chat_id).map(|c| c.kind) {
            Some(ChatKind::Group | ChatKind::Supergroup | ChatKind::Channel) => {
                ConvKey { chat_id, bot: None }
            }
            _ => ConvKey {
                chat_id,
                bot: Some(bot),
            },
        }
    }

    /// Store a new message, assigning the next id of its conversation.
    pub fn push_message(&mut self, key: ConvKey, mut msg: MsgRec) -> i32 {
        let conv = self.convs.entry(key).or_insert_with(|| Conv {
            next_id: 1,
            ..Conv::default()
        });
        msg.id = conv.next_id;
        conv.next_id += 1;
        let id = msg.id;
        let (sender, chat_id, thread_id) = (msg.sender, msg.chat_id, msg.thread_id);
        conv.messages.insert(id, msg);
        // Any normal message from the bot replaces its drafts in that chat or topic.
        if let Sender::Bot(bot) = sender
            && let Some(b) = self.bots.get_mut(&bot)
        {
            b.end_drafts(chat_id, thread_id);
        }
        id
    }

    /// A live (not deleted) message.
    pub fn message(&self, key: ConvKey, id: i32) -> Option<&MsgRec> {
        self.convs
            .get(&key)?
            .messages
            .get(&id)
            .filter(|m| !m.deleted)
    }

    /// A live message, mutably.
    pub fn message_mut(&mut self, key: ConvKey, id: i32) -> Option<&mut MsgRec> {
        self.convs
            .get_mut(&key)?
            .messages
            .get_mut(&id)
            .filter(|m| !m.deleted)
    }

    /// Queue an update for a bot unless its `allowed_updates` leave the kind out.
    pub fn enqueue(&mut self, bot: i64, kind: &str, payload: Value) -> Option<i64> {
        let rec = self.bots.get_mut(&bot)?;
        if !rec.wants(kind) {
            return None;
        }
        let id = rec.next_update_id;
        rec.next_update_id += 1;
        let update = QueuedUpdate {
            id,
            kind: kind.to_owned(),
            payload,
        };
        rec.history.push(update.clone());
        rec.queue.push_back(update);
        Some(id)
    }

    /// Register file bytes; returns the new `file_id`.
    pub fn register_file(
        &mut self,
        folder: &str,
        ext: &str,
        data: Bytes,
        mime: Option<String>,
        file_name: Option<String>,
        dims: Option<(u32, u32)>,
    ) -> String {
        let n = self.next_file;
        self.next_file += 1;
        let prefix = match folder {
            "photos" => "AgACAgIAAxkBAAI",
            "voice" => "AwACAgIAAxkBAAI",
            "music" => "CQACAgIAAxkBAAI",
            "videos" => "BAACAgIAAxkBAAI",
            _ => "BQACAgIAAxkBAAI",
        };
        let file_id = format!("{prefix}{n:06}Fake{n}");
        let path = format!("{folder}/file_{n}.{ext}");
        self.file_paths.insert(path.clone(), file_id.clone());
        self.files.insert(
            file_id.clone(),
            FileRec {
                file_id: file_id.clone(),
                file_unique_id: format!("AQAD{n:04}"),
                path,
                data,
                mime,
                file_name,
                width: dims.map(|d| d.0),
                height: dims.map(|d| d.1),
            },
        );
        file_id
    }

    /// Resolve `chat_id` to a known chat id (`@username` for public chats).
    pub fn resolve_chat(&self, chat: &ChatRef) -> Result<i64, ApiError> {
        match chat {
            ChatRef::Id(id) if self.chats.contains_key(id) => Ok(*id),
            ChatRef::Username(name) => self
                .chats
                .values()
                .find(|c| {
                    c.username
                        .as_deref()
                        .is_some_and(|u| u.eq_ignore_ascii_case(name))
                })
                .map(|c| c.id)
                .ok_or_else(|| ApiError::bad_request("chat not found")),
            ChatRef::Id(_) => Err(ApiError::bad_request("chat not found")),
        }
    }

    /// Resolve a chat the bot wants to write to, with Telegram's 403s for chats it can't reach.
    pub fn writable_chat(&self, bot: i64, chat: &ChatRef) -> Result<&ChatRec, ApiError> {
        let id = self.resolve_chat(chat)?;
        let rec = self.bot(bot)?;
        let chat = self
            .chats
            .get(&id)
            .ok_or_else(|| ApiError::bad_request("chat not found"))?;
        match chat.kind {
            ChatKind::Private => {
                if rec.blocked_by.contains(&id) {
                    Err(ApiError::forbidden("bot was blocked by the user"))
                } else if !rec.opened_private.contains(&id) {
                    Err(ApiError::forbidden(
                        "bot can't initiate conversation with a user",
                    ))
                } else {
                    Ok(chat)
                }
            }
            ChatKind::Group | ChatKind::Supergroup | ChatKind::Channel => {
                match rec.membership.get(&id) {
                    Some(s) if s.is_present() => Ok(chat),
                    Some(MemberStatus::Kicked) => Err(ApiError::forbidden(format!(
                        "bot was kicked from the {}",
                        chat.noun()
                    ))),
                    _ => Err(ApiError::forbidden(format!(
                        "bot is not a member of the {}",
                        chat.noun()
                    ))),
                }
            }
        }
    }
}
