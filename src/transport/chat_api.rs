//! The few chat operations the streaming editor and the command handlers need,
//! behind a trait so they can be driven by the Telegram client in production and by
//! an in-memory fake in unit tests (with paused time).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// A boxed, sendable future (the trait is object safe).
pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where messages go: a chat and, in forum groups, a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChatTarget {
    /// Chat id.
    pub chat_id: i64,
    /// Forum topic (`message_thread_id`), if any.
    pub thread_id: Option<i64>,
}

/// One inline keyboard button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    /// Text on the button.
    pub label: String,
    /// Callback data (at most 64 bytes).
    pub data: String,
}

/// Rows of buttons.
pub type Keyboard = Vec<Vec<Button>>;

/// A message to send or the new content of an edited one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutMessage {
    /// The text: Telegram HTML when `html`, plain text otherwise.
    pub text: String,
    /// Whether `text` is HTML (`parse_mode: HTML`).
    pub html: bool,
    /// Message to reply to (sends only; ignored by edits).
    pub reply_to: Option<i64>,
    /// Inline keyboard; `None` on an edit removes the keyboard.
    pub keyboard: Option<Keyboard>,
}

impl OutMessage {
    /// An HTML message.
    pub fn html(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            html: true,
            ..Self::default()
        }
    }

    /// A plain-text message.
    pub fn plain(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            html: false,
            ..Self::default()
        }
    }

    /// The same message replying to `id`.
    #[must_use]
    pub fn replying_to(mut self, id: Option<i64>) -> Self {
        self.reply_to = id;
        self
    }

    /// The same message with a keyboard.
    #[must_use]
    pub fn with_keyboard(mut self, keyboard: Option<Keyboard>) -> Self {
        self.keyboard = keyboard.filter(|k| !k.is_empty());
        self
    }
}

/// How a chat operation failed, classified for the callers' decisions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The edit would not change anything ("message is not modified"): ignore it.
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
    /// The HTML was rejected ("can't parse entities").
    #[error("bad HTML: {0}")]
    BadHtml(String),
    /// Any other 400.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The bot may not write here (blocked, kicked).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Network trouble or a server error; the request may be retried later.
    #[error("network: {0}")]
    Network(String),
}

/// The chat operations used while streaming a reply.
pub trait ChatApi: Send + Sync {
    /// Sends a message; returns its id.
    fn send(&self, to: ChatTarget, msg: OutMessage) -> BoxFut<'_, Result<i64, ApiError>>;
    /// Replaces the text (and keyboard) of message `id`.
    fn edit(&self, to: ChatTarget, id: i64, msg: OutMessage) -> BoxFut<'_, Result<(), ApiError>>;
    /// Deletes message `id`.
    fn delete(&self, to: ChatTarget, id: i64) -> BoxFut<'_, Result<(), ApiError>>;
}
