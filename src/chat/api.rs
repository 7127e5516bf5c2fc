//! What the shared chat machinery needs from a transport: a few chat operations
//! ([`ChatApi`]: send, edit, delete, and optionally typing, reactions and files)
//! and how its messages are written ([`Dialect`]: Markdown to the transport's
//! markup, its length limit, splitting, a plain-text fallback). Telegram implements
//! both with its HTML; tests use in-memory fakes (with paused time).

use crate::access::Opened;
use crate::address::{Address, MessageRef};
use crate::ops::{Buttons, Picture};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// A boxed, sendable future (the traits stay object safe).
pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A message to send or the new content of an edited one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutMessage {
    /// The text: the transport's markup when `markup`, plain text otherwise.
    pub text: String,
    /// Whether `text` is markup.
    pub markup: bool,
    /// Message to reply to (sends only; ignored by edits).
    pub reply_to: Option<MessageRef>,
    /// Buttons; `None` on an edit removes them.
    pub buttons: Option<Buttons>,
}

impl OutMessage {
    /// A message in the transport's markup.
    pub fn markup(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            markup: true,
            ..Self::default()
        }
    }

    /// A plain-text message.
    pub fn plain(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            markup: false,
            ..Self::default()
        }
    }

    /// The same message replying to `id`.
    #[must_use]
    pub fn replying_to(mut self, id: Option<MessageRef>) -> Self {
        self.reply_to = id;
        self
    }

    /// The same message with buttons (none when `buttons` is empty).
    #[must_use]
    pub fn with_buttons(mut self, buttons: Option<Buttons>) -> Self {
        self.buttons = buttons.filter(|k| !k.is_empty());
        self
    }
}

/// How a chat operation failed, classified for the callers' decisions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The edit would not change anything: ignore it.
    #[error("message is not modified")]
    NotModified,
    /// Flood control: wait this long, then retry.
    #[error("flood control: retry after {0:?}")]
    RetryAfter(Duration),
    /// The message to edit/delete/reply to does not exist any more.
    #[error("message not found: {0}")]
    NotFound(String),
    /// The text is over the length limit.
    #[error("message is too long")]
    TooLong,
    /// The markup was rejected.
    #[error("bad markup: {0}")]
    BadMarkup(String),
    /// Any other refusal of the request.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The bot may not write here (blocked, kicked).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Network trouble or a server error; the request may be retried later.
    #[error("network: {0}")]
    Network(String),
}

/// The chat operations of one transport.
pub trait ChatApi: Send + Sync {
    /// Sends a message; returns its reference.
    fn send<'a>(
        &'a self,
        to: &'a Address,
        msg: OutMessage,
    ) -> BoxFut<'a, Result<MessageRef, ApiError>>;
    /// Replaces the text (and buttons) of message `id`.
    fn edit<'a>(
        &'a self,
        to: &'a Address,
        id: &'a MessageRef,
        msg: OutMessage,
    ) -> BoxFut<'a, Result<(), ApiError>>;
    /// Deletes message `id`.
    fn delete<'a>(
        &'a self,
        to: &'a Address,
        id: &'a MessageRef,
    ) -> BoxFut<'a, Result<(), ApiError>>;
    /// Shows that the bot is working (a few seconds); nothing where unsupported.
    fn typing<'a>(&'a self, _to: &'a Address) -> BoxFut<'a, ()> {
        Box::pin(async {})
    }
    /// Sets (or with `None` removes) the bot's reaction on message `id`.
    fn react<'a>(
        &'a self,
        _to: &'a Address,
        _id: &'a MessageRef,
        _emoji: Option<&'a str>,
    ) -> BoxFut<'a, ()> {
        Box::pin(async {})
    }
    /// Whether edits reach the user without a notification while new messages
    /// notify (Telegram): a long answer streamed by edits then ends in a new message.
    fn quiet_edits(&self) -> bool {
        false
    }
    /// Whether a reply streamed by edits in `to` shows a Stop button while it runs
    /// (where buttons cost nothing: Telegram).
    fn stop_button(&self, _to: &Address) -> bool {
        false
    }
    /// Whether a reply in `to` may stream as a native draft: an animated preview
    /// that the reply's first real message replaces (Telegram private chats).
    fn drafts(&self, _to: &Address) -> bool {
        false
    }
    /// Shows `msg` as draft `draft_id` in `to` (`stoppable`: with the client's Stop
    /// button). A refusal means this chat has no drafts: the caller streams by edits.
    fn draft<'a>(
        &'a self,
        _to: &'a Address,
        _draft_id: u64,
        _msg: OutMessage,
        _stoppable: bool,
    ) -> BoxFut<'a, Result<(), ApiError>> {
        Box::pin(async { Err(ApiError::BadRequest("drafts are not supported".into())) })
    }
    /// Whether a new [`ChatApi::react`] replaces the bot's reaction on that message
    /// (and `None` removes it). Where reactions only add up, status reactions show
    /// the outcome alone.
    fn reactions_replace(&self) -> bool {
        true
    }
    /// Pins message `id` without a notification, where the transport can.
    fn pin<'a>(
        &'a self,
        _to: &'a Address,
        _id: &'a MessageRef,
    ) -> BoxFut<'a, Result<(), ApiError>> {
        Box::pin(async { Err(ApiError::BadRequest("pinning is not supported".into())) })
    }
    /// Whether `to` is a group (many members), where `/start` also posts the join
    /// notice.
    fn is_group(&self, _to: &Address) -> bool {
        false
    }
    /// The longest caption a picture may carry, in [`Dialect::visible_len`]'s measure
    /// (0: pictures go without a caption, their text follows as a message).
    fn caption_limit(&self) -> usize {
        0
    }
    /// Sends one of ductor's own pictures; `caption` (at most
    /// [`ChatApi::caption_limit`], with its buttons and reply target) rides on it.
    /// Transports without pictures refuse, and the caller sends the text alone.
    fn send_picture<'a>(
        &'a self,
        _to: &'a Address,
        _picture: Picture,
        _caption: OutMessage,
    ) -> BoxFut<'a, Result<MessageRef, ApiError>> {
        Box::pin(async { Err(ApiError::BadRequest("pictures are not supported".into())) })
    }
    /// Uploads a file opened and checked by the agent's file rules, from that handle.
    fn send_file<'a>(
        &'a self,
        to: &'a Address,
        file: Opened,
        reply_to: Option<MessageRef>,
    ) -> BoxFut<'a, Result<MessageRef, ApiError>>;
}

/// How a transport writes messages.
pub trait Dialect: Send + Sync + std::fmt::Debug {
    /// Longest message, in the transport's own measure ([`Dialect::visible_len`]).
    fn limit(&self) -> usize;
    /// Whether sent messages can be edited (else replies stream as new messages).
    fn edits(&self) -> bool {
        true
    }
    /// Live edits one message may take before the reply goes on in new messages
    /// (`None`: no cap).
    fn edit_cap(&self) -> Option<u32> {
        None
    }
    /// The shortest time between two live edits the transport's server tolerates
    /// (the configured interval is raised to it).
    fn min_edit_interval(&self) -> Duration {
        Duration::ZERO
    }
    /// Markdown as markup (must cope with unfinished Markdown of a streaming answer).
    fn render(&self, markdown: &str) -> String;
    /// Markup cut into messages of at most `limit`, each well-formed on its own.
    fn split(&self, markup: &str, limit: usize) -> Vec<String>;
    /// The length of markup as the transport counts it.
    fn visible_len(&self, markup: &str) -> usize;
    /// Markup as plain text (when the transport refuses the markup).
    fn to_plain(&self, markup: &str) -> String;
    /// Text made safe to put into markup.
    fn escape(&self, text: &str) -> String;
    /// Markup shown bold.
    fn bold(&self, markup: &str) -> String;
    /// Markup shown in italics.
    fn italic(&self, markup: &str) -> String;
}
