//! A fake Telegram Bot API server over real HTTP, for ductor's integration tests.
//!
//! It behaves like `api.telegram.org` where ductor can tell the difference: routing
//! (`/bot{token}/{Method}`, methods matched case-insensitively, JSON / form / multipart / query
//! parameters), long polling with offsets and the 409 for a replaced poll, Telegram's HTML
//! `parse_mode` with its error texts, length limits counted after parsing in UTF-16 units,
//! "message is not modified", `callback_data` limits, flood control with `retry_after`, file
//! uploads and downloads with the 20 MB limit, forum topics, privacy mode and membership.
//! Every refusal is a Telegram-shaped 4xx; a 5xx only when a test injects one.
//!
//! Layout:
//! - `FakeTelegram` (this file): the handle tests hold: set-up, simulated users, faults;
//!   `observe`: its observation and waiting methods.
//! - `server`: HTTP routing, call log, the waiting half of `getUpdates`.
//! - `methods/`: one module per API area; synchronous handlers run under the state lock.
//! - `state`: the world (bots, users, chats, messages, files, queued updates).
//! - `user`: what simulated users do, turned into updates.
//! - `json`: Bot API objects; `view`: what tests observe; `text`/`html`: parsing and limits;
//!   `params`: request decoding; `files`: MIME and image helpers; `error`: Telegram errors.
//!
//! It must not touch the real network: it binds `127.0.0.1:0` and nothing else.

pub mod error;
pub mod files;
pub mod html;
pub mod json;
pub mod methods;
pub mod observe;
pub mod params;
pub mod server;
pub mod state;
pub mod text;
pub mod user;
pub mod view;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;

// Re-exported for test files; each test binary uses a different subset.
#[allow(unused_imports)]
pub use error::ApiError;
#[allow(unused_imports)]
pub use observe::WaitTimeout;
#[allow(unused_imports)]
pub use text::Entity;
#[allow(unused_imports)]
pub use user::{DEFAULT_USER_ID, Incoming, Pressed, Sent};
#[allow(unused_imports)]
pub use view::{BotId, Button, Call, DraftView, MediaView, MessageView, Outcome, Upload, World};

use server::Shared;
use state::{BotRec, ChatKind, ChatRec, FaultRule, MemberStatus, UserRec};

/// A failure to inject with `FakeTelegram::inject_failure`.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer with this error (any code; note teloxide sleeps 10 s after any 5xx).
    Error(ApiError),
    /// Wait this long, then handle the call normally.
    Delay(Duration),
}

impl Fault {
    /// 400 `Bad Request: {detail}`.
    pub fn bad_request(detail: &str) -> Self {
        Self::Error(ApiError::bad_request(detail))
    }

    /// 429 `Too Many Requests: retry after {secs}` with `parameters.retry_after`.
    pub fn retry_after(secs: u32) -> Self {
        Self::Error(ApiError::retry_after(secs))
    }

    /// A gateway error such as 502 `Bad Gateway` (Telegram-shaped body).
    pub fn server_error(code: u16) -> Self {
        let text = match code {
            502 => "Bad Gateway",
            503 => "Service Unavailable",
            504 => "Gateway Timeout",
            _ => "Internal Server Error",
        };
        Self::Error(ApiError::new(code, text))
    }

    /// Any code and full description.
    pub fn api(code: u16, description: &str) -> Self {
        Self::Error(ApiError::new(code, description))
    }
}

struct ServerTask(tokio::task::JoinHandle<()>);

impl Drop for ServerTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Handle to a running fake Bot API server; cheap to clone. The server stops when the last
/// clone is dropped (or on `shutdown`).
#[derive(Clone)]
pub struct FakeTelegram {
    shared: Arc<Shared>,
    url: String,
    task: Arc<ServerTask>,
}

impl FakeTelegram {
    /// Start a server on a free loopback port.
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::new());
        let (url, task) = server::start(Arc::clone(&shared)).await;
        let fake = Self {
            shared,
            url,
            task: Arc::new(ServerTask(task)),
        };
        fake.add_user(DEFAULT_USER_ID, "Alice", Some("alice"));
        fake
    }

    /// Base URL for `Bot::set_api_url` (`http://127.0.0.1:PORT`, no trailing slash).
    pub fn api_url(&self) -> String {
        self.url.clone()
    }

    /// Stop serving (pending requests fail).
    pub fn shutdown(&self) {
        self.task.0.abort();
    }

    // ----- set-up -----

    /// Register a bot. Its id is the number before `:` in the token when there is one.
    /// Privacy mode is off (the bot reads all group messages); see `set_privacy_mode`.
    pub fn add_bot(&self, token: &str, username: &str) -> BotId {
        self.shared.mutate(|st| {
            assert!(
                !st.tokens.contains_key(token),
                "fake Telegram: token {token} registered twice"
            );
            let id = token
                .split_once(':')
                .and_then(|(n, _)| n.parse::<i64>().ok())
                .filter(|n| *n > 0 && !st.bots.contains_key(n))
                .unwrap_or_else(|| {
                    st.next_generated_bot += 1;
                    7_000_000_000 + st.next_generated_bot
                });
            let trimmed = username
                .trim_end_matches("_bot")
                .trim_end_matches("bot")
                .replace('_', " ");
            let first_name = if trimmed.trim().is_empty() {
                username.to_owned()
            } else {
                trimmed
            };
            st.tokens.insert(token.to_owned(), id);
            st.bots.insert(
                id,
                BotRec {
                    id,
                    token: token.to_owned(),
                    username: username.to_owned(),
                    first_name,
                    reads_all_group_messages: true,
                    next_update_id: 100_000_001 + (st.bots.len() as i64) * 10_000_000,
                    queue: std::collections::VecDeque::new(),
                    history: Vec::new(),
                    allowed_updates: None,
                    poll_generation: 0,
                    active_poll: None,
                    webhook_url: None,
                    commands: std::collections::BTreeMap::new(),
                    membership: std::collections::HashMap::new(),
                    opened_private: std::collections::HashSet::new(),
                    blocked_by: std::collections::HashSet::new(),
                    last_send: std::collections::HashMap::new(),
                    chat_actions: std::collections::HashMap::new(),
                    drafts: Vec::new(),
                },
            );
            BotId(id)
        })
    }

    /// Privacy mode on: in groups the bot only gets commands, mentions and replies to it
    /// (unless it is an administrator). `getMe` reports `can_read_all_group_messages`.
    pub fn set_privacy_mode(&self, bot: BotId, enabled: bool) {
        self.shared.mutate(|st| {
            if let Some(b) = st.bots.get_mut(&bot.0) {
                b.reads_all_group_messages = !enabled;
            }
        });
    }

    /// Add (or rename) a user; its private chat id is `id`.
    pub fn add_user(&self, id: i64, first_name: &str, username: Option<&str>) {
        assert!(id > 0, "fake Telegram: user ids are positive");
        self.shared.mutate(|st| {
            st.ensure_user(id);
            st.users.insert(
                id,
                UserRec {
                    id,
                    first_name: first_name.to_owned(),
                    last_name: None,
                    username: username.map(str::to_owned),
                    language_code: Some("en".to_owned()),
                },
            );
        });
    }

    /// The user pressed Start earlier: the bot may write first (no update is queued).
    /// Without it (or a message from the user) Telegram answers 403.
    pub fn open_private_chat(&self, bot: BotId, user: i64) {
        self.shared.mutate(|st| {
            st.ensure_user(user);
            if let Some(b) = st.bots.get_mut(&bot.0) {
                b.opened_private.insert(user);
            }
        });
    }

    fn create_chat(&self, kind: ChatKind, title: &str, forum: bool) -> i64 {
        self.shared.mutate(|st| {
            let n = st.next_group;
            st.next_group += 1;
            let id = match kind {
                ChatKind::Supergroup | ChatKind::Channel => -1_001_000_000_000 - n,
                _ => -4_100_000_000 - n,
            };
            st.chats.insert(
                id,
                ChatRec {
                    id,
                    kind,
                    title: Some(title.to_owned()),
                    username: None,
                    is_forum: forum,
                    topics: std::collections::BTreeMap::new(),
                },
            );
            id
        })
    }

    /// A basic group; returns its (negative) chat id. Bots join on first use or via
    /// `bot_added_to_chat`.
    pub fn create_group(&self, title: &str) -> i64 {
        self.create_chat(ChatKind::Group, title, false)
    }

    /// A supergroup (`-100…` id); `forum` makes it a forum with topics.
    pub fn create_supergroup(&self, title: &str, forum: bool) -> i64 {
        self.create_chat(ChatKind::Supergroup, title, forum)
    }

    /// A channel (`-100…` id); bots get its posts as `channel_post` once added as administrators.
    pub fn create_channel(&self, title: &str) -> i64 {
        self.create_chat(ChatKind::Channel, title, false)
    }

    /// An administrator posts `text` in channel `chat_id` (`channel_post`, signed by the
    /// channel: no `from`).
    pub fn channel_post(&self, bot: BotId, chat_id: i64, text: &str) -> Sent {
        self.shared
            .mutate(|st| user::channel_post(st, bot.0, chat_id, text))
    }

    /// `by_user` adds the bot to a group (`my_chat_member`: left → member/administrator).
    pub fn bot_added_to_chat(
        &self,
        bot: BotId,
        chat_id: i64,
        by_user: i64,
        admin: bool,
    ) -> Option<i64> {
        let status = if admin {
            MemberStatus::Administrator
        } else {
            MemberStatus::Member
        };
        self.shared
            .mutate(|st| user::set_bot_status(st, bot.0, chat_id, by_user, status))
    }

    /// `by_user` removes the bot from a group (`my_chat_member`: → kicked); later sends get 403.
    pub fn bot_removed_from_chat(&self, bot: BotId, chat_id: i64, by_user: i64) -> Option<i64> {
        self.shared
            .mutate(|st| user::set_bot_status(st, bot.0, chat_id, by_user, MemberStatus::Kicked))
    }

    /// The user blocks the bot (`my_chat_member` in the private chat); sends get 403.
    pub fn user_blocks_bot(&self, bot: BotId, user: i64) -> Option<i64> {
        self.shared
            .mutate(|st| user::set_bot_status(st, bot.0, user, user, MemberStatus::Kicked))
    }

    // ----- simulated users -----

    /// A user message built with `Incoming`. Positive `chat_id`: that user's private chat with
    /// `bot`; negative: a group made with `create_group`/`create_supergroup`.
    pub fn user_sends(&self, bot: BotId, chat_id: i64, message: Incoming) -> Sent {
        self.shared
            .mutate(|st| user::send(st, bot.0, chat_id, message))
    }

    /// A text message.
    pub fn user_sends_text(&self, bot: BotId, chat_id: i64, text: &str) -> Sent {
        self.user_sends(bot, chat_id, Incoming::text(text))
    }

    /// A document with optional caption.
    pub fn user_sends_document(
        &self,
        bot: BotId,
        chat_id: i64,
        data: impl Into<Bytes>,
        file_name: &str,
        mime: &str,
        caption: Option<&str>,
    ) -> Sent {
        let mut m = Incoming::document(data, file_name, mime);
        if let Some(c) = caption {
            m = m.caption(c);
        }
        self.user_sends(bot, chat_id, m)
    }

    /// A photo with optional caption.
    pub fn user_sends_photo(
        &self,
        bot: BotId,
        chat_id: i64,
        data: impl Into<Bytes>,
        caption: Option<&str>,
    ) -> Sent {
        let mut m = Incoming::photo(data);
        if let Some(c) = caption {
            m = m.caption(c);
        }
        self.user_sends(bot, chat_id, m)
    }

    /// A voice note.
    pub fn user_sends_voice(
        &self,
        bot: BotId,
        chat_id: i64,
        data: impl Into<Bytes>,
        duration_secs: i64,
    ) -> Sent {
        self.user_sends(bot, chat_id, Incoming::voice(data, duration_secs))
    }

    /// A user creates a forum topic; `Sent::message_id` is the topic's `message_thread_id`. A
    /// positive `chat_id` makes a topic in that user's private chat (Bot API 9.3 topic mode).
    pub fn user_creates_topic(&self, bot: BotId, chat_id: i64, name: &str) -> Sent {
        self.shared
            .mutate(|st| user::create_topic(st, bot.0, chat_id, name))
    }

    /// A user renames forum topic `topic` (`forum_topic_edited` service message).
    pub fn user_renames_topic(&self, bot: BotId, chat_id: i64, topic: i32, name: &str) -> Sent {
        self.shared
            .mutate(|st| user::rename_topic(st, bot.0, chat_id, topic, name))
    }

    /// The user edits their text message (`edited_message` update).
    pub fn user_edits_text(
        &self,
        bot: BotId,
        chat_id: i64,
        message_id: i32,
        text: &str,
    ) -> Option<i64> {
        self.shared
            .mutate(|st| user::edit_text(st, bot.0, chat_id, message_id, text))
    }

    /// The user reacts (`message_reaction`, only if the bot listed it in `allowed_updates`).
    pub fn user_reacts(
        &self,
        bot: BotId,
        chat_id: i64,
        message_id: i32,
        emoji: &str,
    ) -> Option<i64> {
        self.shared
            .mutate(|st| user::react(st, bot.0, chat_id, message_id, emoji, None))
    }

    /// The user presses an inline button; panics if the message has no such button.
    pub fn user_presses_button(
        &self,
        bot: BotId,
        chat_id: i64,
        message_id: i32,
        callback_data: &str,
    ) -> Pressed {
        self.shared
            .mutate(|st| user::press(st, bot.0, chat_id, message_id, callback_data, true, None))
    }

    /// Like [`Self::user_presses_button`], pressed by `user` (in a group).
    pub fn user_presses_button_as(
        &self,
        bot: BotId,
        chat_id: i64,
        message_id: i32,
        callback_data: &str,
        user: i64,
    ) -> Pressed {
        self.shared.mutate(|st| {
            user::press(
                st,
                bot.0,
                chat_id,
                message_id,
                callback_data,
                true,
                Some(user),
            )
        })
    }

    /// A `callback_query` for any data (a stale or forged button), without checking the keyboard.
    pub fn user_sends_callback(
        &self,
        bot: BotId,
        chat_id: i64,
        message_id: i32,
        callback_data: &str,
    ) -> Pressed {
        self.shared
            .mutate(|st| user::press(st, bot.0, chat_id, message_id, callback_data, false, None))
    }

    /// The user presses Stop on a draft (Bot API 10.3): queues `stopped_message_generation`
    /// `{chat, message_thread_id?, draft_id}` and returns its update id. Only a draft that is on
    /// screen and was last sent with `can_stop: true` has the button; otherwise nothing happens
    /// and this returns `None` (also when `allowed_updates` leave the kind out). The draft goes
    /// away; with `keep_on_stop: true` its text stays in the chat as a normal bot message.
    pub fn user_stops_generation(
        &self,
        bot: BotId,
        chat_id: i64,
        thread_id: Option<i32>,
        draft_id: i64,
    ) -> Option<i64> {
        self.shared
            .mutate(|st| user::stop_generation(st, bot.0, chat_id, thread_id, draft_id))
    }

    /// `false` emulates a Bot API server that predates drafts (an old self-hosted
    /// `telegram-bot-api`): `sendMessageDraft` answers 404 `Not Found` like any unknown method.
    pub fn set_drafts_supported(&self, supported: bool) {
        self.shared.mutate(|st| st.drafts_supported = supported);
    }

    /// Queue any update object (`kind` is its field, e.g. `"message"`).
    pub fn enqueue_update(&self, bot: BotId, kind: &str, payload: Value) -> Option<i64> {
        self.shared.mutate(|st| st.enqueue(bot.0, kind, payload))
    }

    /// How many updates wait for `bot` (not yet confirmed by a `getUpdates` offset).
    pub fn queued_updates(&self, bot: BotId) -> usize {
        self.shared
            .read(|st| st.bots.get(&bot.0).map_or(0, |b| b.queue.len()))
    }

    /// Deliver an earlier update again under a new `update_id` (a duplicate delivery).
    pub fn redeliver_update(&self, bot: BotId, update_id: i64) -> Option<i64> {
        self.shared.mutate(|st| {
            let old = st
                .bots
                .get(&bot.0)?
                .history
                .iter()
                .find(|u| u.id == update_id)?
                .clone();
            st.enqueue(bot.0, &old.kind, old.payload)
        })
    }

    // ----- flood control and faults -----

    /// Minimum interval between a bot's sends/edits in `chat_id`; faster ones get 429.
    pub fn set_flood_control(&self, chat_id: i64, interval: Duration) {
        self.shared
            .mutate(|st| st.flood.per_chat.insert(chat_id, interval));
    }

    /// Interval for chats without their own rule (`Some(1 s)` is close to Telegram).
    pub fn set_default_flood_control(&self, interval: Option<Duration>) {
        self.shared.mutate(|st| st.flood.default = interval);
    }

    /// Switch all flood control on or off (rules are kept).
    pub fn set_flood_control_enabled(&self, enabled: bool) {
        self.shared.mutate(|st| st.flood.enabled = enabled);
    }

    /// The next `times` calls of `method` (any case; `"*"` for every method) fail with `fault`.
    pub fn inject_failure(&self, method: &str, times: u32, fault: Fault) {
        self.shared.mutate(|st| {
            st.faults.push(FaultRule {
                method: method.to_owned(),
                remaining: times,
                fault,
            });
        });
    }

    /// The next call of `method` fails with `fault`.
    pub fn fail_next(&self, method: &str, fault: Fault) {
        self.inject_failure(method, 1, fault);
    }
}
