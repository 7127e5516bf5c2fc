//! The streaming editor: turns the event stream of one CLI turn into the chat messages of the
//! reply, live, in any transport's dialect (its markup, its length limit, edits or not).
//!
//! One task per turn owns the reply (see [`start`]); the caller feeds it every [`Event`] of the
//! turn and ends it with [`EditorHandle::finish`]. Text is coalesced (nothing shown before
//! `min_chars` or a pause, then up to paragraph or sentence ends), rendered with tool and
//! system indicators, split at the transport's limit (chunk *i* is message *i*) and synced by
//! sending and editing messages at most once per `edit_interval_seconds`. At the end the
//! final text replaces the live view: indicators dropped, `[button:…]` markers turned into the
//! buttons of the last message, `<file:…>` tags returned to the caller, surplus messages
//! deleted. In append mode (configured, for transports without edits, or after repeated
//! refused edits) pieces are sent as new messages instead.
//!
//! It only talks to the chat through [`ChatApi`] and never touches sessions, files or the CLI.
//!
//! - `editor.rs`: state, event handling, edit mode; `append.rs`: append mode;
//!   `finish.rs`: the end of the turn.
//! - `text.rs`: the text contract; `coalescer.rs`: flush decisions; `render.rs`: the views;
//!   `indicators.rs`: indicators; `ops.rs`: API calls with the error policy.

mod append;
mod coalescer;
mod draft;
mod editor;
mod finish;
mod indicators;
mod ops;
mod render;
mod text;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep_until};

use crate::address::{Address, MessageRef};
use crate::chat::api::{ChatApi, Dialect};
use crate::config::model::StreamingConfig;
use crate::provider::event::Event;

pub use draft::DRAFT_REFRESH;
use editor::Editor;
use ops::Ops;

/// How a reply streams (from the `streaming` config block).
#[derive(Debug, Clone, PartialEq)]
pub struct StreamSettings {
    /// Characters buffered before text is flushed at a paragraph or sentence end.
    pub min_chars: usize,
    /// Characters buffered that force a flush of everything.
    pub max_chars: usize,
    /// Silence after which everything buffered is flushed.
    pub idle: Duration,
    /// Minimum time between two live update rounds (edit mode).
    pub edit_interval: Duration,
    /// Refused edits in a row after which the reply continues in append mode.
    pub max_edit_failures: u32,
    /// Send each piece as a new message instead of editing.
    pub append_mode: bool,
    /// Whether a sentence end may end a flush (else only blank lines).
    pub sentence_break: bool,
    /// Show `[TOOL: …]` indicators.
    pub show_tool_progress: bool,
    /// Show `[THINKING]` the first time the model reasons.
    pub show_thinking_indicator: bool,
    /// Post the model's reasoning, when the CLI exposes it, as separate "Thinking"
    /// messages (instead of the `[THINKING]` indicator).
    pub show_reasoning_stream: bool,
    /// Waits between retries of the final delivery after network trouble or a refusal.
    pub final_retry_backoff: Vec<Duration>,
    /// Messages the reply may take; the last one then says the answer continues in a
    /// file and [`Delivered::whole`] carries the whole answer.
    pub max_messages: usize,
    /// That last message (plain text).
    pub overflow_notice: String,
    /// Stream into a native draft where the transport has them ([`ChatApi::drafts`]);
    /// the answer then arrives as real messages at the end.
    pub draft: bool,
    /// An answer streamed by edits for longer than this ends in a new message (which
    /// notifies) instead of a last edit.
    pub notify_after: Option<Duration>,
    /// Appended (in italics) to an answer whose draft was stopped; empty: nothing.
    pub stopped_note: String,
    /// The label of the Stop button under a reply streamed by edits; `None`: none.
    pub stop_label: Option<String>,
}

impl StreamSettings {
    /// Settings from the `streaming` config block (nonsense values are clamped).
    pub fn from_config(c: &StreamingConfig) -> Self {
        let interval = Duration::try_from_secs_f64(c.edit_interval_seconds.max(0.0))
            .unwrap_or(Duration::from_secs(2));
        let append = c.append_mode || c.mode == "append";
        Self {
            min_chars: c.min_chars,
            max_chars: c.max_chars.max(c.min_chars).max(1),
            idle: Duration::from_millis(c.idle_ms),
            edit_interval: interval,
            max_edit_failures: c.max_edit_failures.max(1),
            append_mode: append,
            sentence_break: c.sentence_break,
            show_tool_progress: c.show_tool_progress,
            show_thinking_indicator: c.show_thinking_indicator,
            show_reasoning_stream: c.show_reasoning_stream,
            final_retry_backoff: [1, 2, 4].map(Duration::from_secs).to_vec(),
            max_messages: usize::MAX,
            overflow_notice: String::new(),
            draft: !append && c.mode != "edit",
            notify_after: Duration::try_from_secs_f64(c.notify_after_seconds)
                .ok()
                .filter(|d| !d.is_zero()),
            stopped_note: String::new(),
            stop_label: None,
        }
    }
}

impl Default for StreamSettings {
    /// The config's defaults, without the notifying last message (a transport
    /// property the caller decides, see [`ChatApi::quiet_edits`]).
    fn default() -> Self {
        Self {
            notify_after: None,
            ..Self::from_config(&StreamingConfig::default())
        }
    }
}

/// A state the system (not the model's text) is in, shown as an italic indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemIndicator {
    /// The model reasons: `[THINKING]` (once per turn, if enabled).
    Thinking,
    /// The CLI compacts its context: `[COMPACTING]`.
    Compacting,
    /// The turn is retried after a failure: `[Please wait, recovering...]`.
    Recovering,
}

/// How the turn ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finish {
    /// The turn completed. `fallback_text` = the outcome's final text, used only when nothing
    /// was streamed; `footer` = optional technical footer appended to the final text after a
    /// blank line; `empty_placeholder` = shown when the answer is empty.
    Completed {
        /// Final text of the outcome (used if no text was streamed).
        fallback_text: String,
        /// Technical footer, appended after a blank line.
        footer: Option<String>,
        /// Shown instead of an empty answer.
        empty_placeholder: String,
    },
    /// The turn failed: keep what was streamed (finalized, indicators removed), then send
    /// `message` (plain sentence) as its own message.
    Failed {
        /// The user-facing sentence.
        message: String,
    },
    /// The turn was stopped: keep what was streamed (finalized), send nothing else. If nothing
    /// was shown yet, nothing is sent at all.
    Cancelled,
}

/// What the reply consists of once the turn is over.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Delivered {
    /// The reply's messages, in order (the failure message last, if any).
    pub message_ids: Vec<MessageRef>,
    /// `<file:…>` paths found in the final text (the caller sends them).
    pub files: Vec<String>,
    /// False when the final text could not be delivered at all (network, forbidden).
    pub delivered: bool,
    /// The whole answer (Markdown) when it took more than `max_messages` and was cut:
    /// the caller sends it as a file.
    pub whole: Option<String>,
}

/// What the handle sends to the editor task.
enum Cmd {
    Event(Event),
    System(SystemIndicator),
    Finish(Finish, oneshot::Sender<Delivered>),
    Commit(oneshot::Sender<()>),
}

/// The caller's side of a running editor task.
#[derive(Debug)]
pub struct EditorHandle {
    tx: mpsc::UnboundedSender<Cmd>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cmd::Event(ev) => f.debug_tuple("Event").field(ev).finish(),
            Cmd::System(s) => f.debug_tuple("System").field(s).finish(),
            Cmd::Finish(end, _) => f.debug_tuple("Finish").field(end).finish(),
            Cmd::Commit(_) => f.write_str("Commit"),
        }
    }
}

/// Starts an editor task for one turn. `reply_to` = the user's message (the first message of
/// the reply answers it).
///
/// Dropping the handle without [`EditorHandle::finish`] finalizes the reply as cancelled.
pub fn start(
    api: Arc<dyn ChatApi>,
    markup: Arc<dyn Dialect>,
    target: Address,
    reply_to: Option<MessageRef>,
    settings: StreamSettings,
) -> EditorHandle {
    let (tx, rx) = mpsc::unbounded_channel();
    let ops = Ops::new(api, markup, target, settings.final_retry_backoff.clone());
    let editor = Editor::new(ops, settings, reply_to);
    let task = tokio::spawn(run(editor, rx));
    EditorHandle { tx, task }
}

impl EditorHandle {
    /// Feeds the next event of the turn (in order). Never blocks on Telegram.
    // Async so that backpressure can be added later without touching the callers.
    #[allow(clippy::unused_async)]
    pub async fn event(&self, ev: Event) {
        // A send error means the task is gone (it only ends after `finish`): nothing to show.
        let _ = self.tx.send(Cmd::Event(ev));
    }

    /// Shows a system indicator, e.g. [`SystemIndicator::Recovering`].
    #[allow(clippy::unused_async)]
    pub async fn system(&self, indicator: SystemIndicator) {
        let _ = self.tx.send(Cmd::System(indicator));
    }

    /// Makes what the draft shows a real message before something else is posted in
    /// the chat (which would make the draft disappear); waits until it is sent.
    pub async fn commit(&self) {
        let (done, sent) = oneshot::channel();
        if self.tx.send(Cmd::Commit(done)).is_ok() {
            let _ = sent.await;
        }
    }

    /// Flushes, finalizes the reply and waits until everything is sent.
    pub async fn finish(self, end: Finish) -> Delivered {
        let (done, result) = oneshot::channel();
        let _ = self.tx.send(Cmd::Finish(end, done));
        if let Ok(delivered) = result.await {
            return delivered;
        }
        // The task died without answering: a bug. Report the reply as not delivered.
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "the streaming editor task failed");
            #[cfg(test)]
            if e.is_panic() {
                std::panic::resume_unwind(e.into_panic());
            }
        }
        Delivered::default()
    }
}

/// The editor task: events, the deferred live round and the idle flush, in one loop.
async fn run(mut editor: Editor, mut rx: mpsc::UnboundedReceiver<Cmd>) {
    editor.open_draft().await;
    loop {
        let deferred = editor.deferred;
        let idle = editor.co.idle_deadline();
        let refresh = editor.draft_refresh_at();
        tokio::select! {
            biased;
            () = sleep_opt(deferred) => editor.on_deferred().await,
            cmd = rx.recv() => match cmd {
                Some(Cmd::Event(ev)) => editor.on_event(ev).await,
                Some(Cmd::System(indicator)) => editor.on_system(indicator).await,
                Some(Cmd::Commit(done)) => {
                    editor.commit_draft().await;
                    let _ = done.send(());
                }
                Some(Cmd::Finish(end, done)) => {
                    let _ = done.send(editor.finish(end).await);
                    return;
                }
                None => {
                    editor.finish(Finish::Cancelled).await;
                    return;
                }
            },
            () = sleep_opt(idle) => editor.on_idle().await,
            () = sleep_opt(refresh) => editor.refresh_draft().await,
        }
    }
}

/// Sleeps until `at`, or forever.
async fn sleep_opt(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}
