//! Streaming figures (prints, asserts nothing) for issue 19, draft mode versus edit
//! mode: the library's streaming editor (`ductor::chat::stream::start`) with
//! Telegram's HTML dialect, writing to an in-bench chat that counts the Bot API calls
//! it would make and when, on tokio's paused clock (so the figures are exact and
//! independent of the machine):
//! - (a) the Bot API calls of one streamed ~4 KB answer (40-character deltas every
//!   100 ms, then the whole block), by method;
//! - (b) the longest time the user sees no progress during a 60 s tool run (a little
//!   text, a tool starts, 60 s of silence, more text).
//!
//! Settings as the Telegram frontend builds them from `StreamingConfig::default()`
//! (`edit_interval_seconds` 2, `notify_after_seconds` 10, the Stop button under an
//! answer streamed by edits); edit mode = `streaming.mode: "edit"` (or a group chat).
//! The chat answers every call at once (no network latency).
//!
//! Run: `cargo bench --bench streaming --profile dev`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use ductor::access::Opened;
use ductor::address::{Address, MessageRef};
use ductor::chat::api::{ApiError, BoxFut, ChatApi, OutMessage};
use ductor::chat::stream::{EditorHandle, Finish, StreamSettings, start};
use ductor::config::model::StreamingConfig;
use ductor::provider::event::Event;
use ductor::transport::telegram::format::Html;
use tokio::time::Instant;

/// The Bot API method a call would be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Method {
    SendMessageDraft,
    SendMessage,
    EditMessageText,
    DeleteMessage,
}

impl Method {
    const ALL: [Method; 4] = [
        Method::SendMessageDraft,
        Method::SendMessage,
        Method::EditMessageText,
        Method::DeleteMessage,
    ];

    fn name(self) -> &'static str {
        match self {
            Method::SendMessageDraft => "sendMessageDraft",
            Method::SendMessage => "sendMessage",
            Method::EditMessageText => "editMessageText",
            Method::DeleteMessage => "deleteMessage",
        }
    }
}

/// One call, as Telegram would have answered it.
#[derive(Debug, Clone)]
struct Call {
    method: Method,
    /// Since the turn started.
    at: Duration,
    /// Whether the text the user sees changed (a send always; an edit or draft whose
    /// text differs from what that message or draft showed).
    text_changed: bool,
    /// Telegram's answer was an error ("message is not modified", "not found").
    failed: bool,
}

#[derive(Default)]
struct Inner {
    next_id: i64,
    messages: BTreeMap<i64, OutMessage>,
    draft_text: Option<String>,
    calls: Vec<Call>,
}

/// A chat that answers like the Bot API where the figures depend on it and records
/// every call.
struct CountingChat {
    /// A private chat on a current Bot API (drafts), or not.
    drafts: bool,
    start: Instant,
    inner: Mutex<Inner>,
}

impl CountingChat {
    fn new(drafts: bool) -> Arc<Self> {
        Arc::new(Self {
            drafts,
            start: Instant::now(),
            inner: Mutex::new(Inner {
                next_id: 100,
                ..Inner::default()
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    fn record(&self, inner: &mut Inner, method: Method, text_changed: bool, failed: bool) {
        inner.calls.push(Call {
            method,
            at: self.start.elapsed(),
            text_changed,
            failed,
        });
    }
}

impl ChatApi for CountingChat {
    fn send<'a>(
        &'a self,
        _to: &'a Address,
        msg: OutMessage,
    ) -> BoxFut<'a, Result<MessageRef, ApiError>> {
        Box::pin(async move {
            tokio::task::yield_now().await;
            let mut inner = self.lock();
            let id = inner.next_id;
            inner.next_id += 1;
            inner.messages.insert(id, msg);
            // A new message replaces the chat's draft.
            inner.draft_text = None;
            self.record(&mut inner, Method::SendMessage, true, false);
            Ok(MessageRef::from(id))
        })
    }

    fn edit<'a>(
        &'a self,
        _to: &'a Address,
        id: &'a MessageRef,
        msg: OutMessage,
    ) -> BoxFut<'a, Result<(), ApiError>> {
        Box::pin(async move {
            tokio::task::yield_now().await;
            let mut inner = self.lock();
            let key = id.as_i64().unwrap_or(-1);
            let (result, changed) = match inner.messages.get(&key) {
                None => (
                    Err(ApiError::NotFound("message to edit not found".into())),
                    false,
                ),
                Some(old) if old.text == msg.text && old.buttons == msg.buttons => {
                    (Err(ApiError::NotModified), false)
                }
                Some(old) => (Ok(()), old.text != msg.text),
            };
            if result.is_ok() {
                inner.messages.insert(key, msg);
            }
            self.record(
                &mut inner,
                Method::EditMessageText,
                changed,
                result.is_err(),
            );
            result
        })
    }

    fn delete<'a>(
        &'a self,
        _to: &'a Address,
        id: &'a MessageRef,
    ) -> BoxFut<'a, Result<(), ApiError>> {
        Box::pin(async move {
            tokio::task::yield_now().await;
            let mut inner = self.lock();
            let gone = inner.messages.remove(&id.as_i64().unwrap_or(-1)).is_none();
            self.record(&mut inner, Method::DeleteMessage, false, gone);
            if gone {
                Err(ApiError::NotFound("message to delete not found".into()))
            } else {
                Ok(())
            }
        })
    }

    fn quiet_edits(&self) -> bool {
        true
    }

    fn stop_button(&self, _to: &Address) -> bool {
        true
    }

    fn drafts(&self, _to: &Address) -> bool {
        self.drafts
    }

    fn draft<'a>(
        &'a self,
        _to: &'a Address,
        _draft_id: u64,
        msg: OutMessage,
        _stoppable: bool,
    ) -> BoxFut<'a, Result<(), ApiError>> {
        Box::pin(async move {
            tokio::task::yield_now().await;
            let mut inner = self.lock();
            if !self.drafts {
                self.record(&mut inner, Method::SendMessageDraft, false, true);
                return Err(ApiError::BadRequest("TEXTDRAFT_PEER_INVALID".into()));
            }
            let changed = inner.draft_text.as_deref() != Some(msg.text.as_str());
            inner.draft_text = Some(msg.text);
            self.record(&mut inner, Method::SendMessageDraft, changed, false);
            Ok(())
        })
    }

    fn send_file<'a>(
        &'a self,
        _to: &'a Address,
        _file: Opened,
        _reply_to: Option<MessageRef>,
    ) -> BoxFut<'a, Result<MessageRef, ApiError>> {
        Box::pin(async { Err(ApiError::BadRequest("no files in this bench".into())) })
    }
}

/// Draft mode (`streaming.mode` "draft", the default, in a private chat) or edit mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Draft,
    Edit,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Draft => "draft",
            Mode::Edit => "edit",
        }
    }
}

/// The settings the Telegram frontend builds (`chat::turn::render`) from the shipped
/// `streaming` defaults, with `mode` set.
fn settings(mode: Mode, chat: &CountingChat, to: &Address) -> StreamSettings {
    let config = StreamingConfig {
        mode: mode.name().into(),
        ..StreamingConfig::default()
    };
    let base = StreamSettings::from_config(&config);
    StreamSettings {
        max_messages: 20,
        overflow_notice: "(the answer continues in a file)".into(),
        stopped_note: "⏹ Stopped.".into(),
        notify_after: base.notify_after.filter(|_| chat.quiet_edits()),
        stop_label: chat.stop_button(to).then(|| "⏹ Stop".to_owned()),
        ..base
    }
}

/// Feeds `text` as deltas of `piece` characters, `gap` apart, then the whole block.
async fn stream_block(h: &EditorHandle, text: &str, piece: usize, gap: Duration) {
    let chars: Vec<char> = text.chars().collect();
    for part in chars.chunks(piece) {
        h.event(Event::TextDelta {
            text: part.iter().collect(),
        })
        .await;
        tokio::time::sleep(gap).await;
    }
    h.event(Event::Text { text: text.into() }).await;
}

fn completed() -> Finish {
    Finish::Completed {
        fallback_text: String::new(),
        footer: None,
        empty_placeholder: "(empty answer)".into(),
    }
}

/// A realistic answer of about 4 KB: paragraphs of prose (one Telegram message).
fn answer_4k() -> String {
    let para = "The streaming editor coalesces the deltas of the model into paragraphs and \
sentences, renders them as Telegram HTML and keeps the chat in step with what was written \
so far, within the rate that Telegram tolerates for one chat.\n\n";
    let mut s = String::new();
    while s.len() + para.len() <= 4000 {
        s.push_str(para);
    }
    s
}

/// Runs `turn` against a fresh editor in `mode` on a paused clock; returns the calls
/// and the turn's length.
fn run<F, Fut>(mode: Mode, turn: F) -> (Vec<Call>, Duration)
where
    F: FnOnce(EditorHandle) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        let chat = CountingChat::new(mode == Mode::Draft);
        let to = Address::new("tg", 7, None);
        let s = settings(mode, &chat, &to);
        let h = start(
            chat.clone(),
            Arc::new(Html),
            to,
            Some(MessageRef::from(42)),
            s,
        );
        turn(h).await;
        (chat.calls(), chat.start.elapsed())
    })
}

/// (a) One ~4 KB answer in 40-character deltas every 100 ms.
async fn long_answer(h: EditorHandle) {
    stream_block(&h, &answer_4k(), 40, Duration::from_millis(100)).await;
    h.finish(completed()).await;
}

/// (b) A little text, a tool that runs 60 s in silence, more text.
async fn tool_run(h: EditorHandle) {
    let piece = Duration::from_millis(100);
    stream_block(&h, "Let me run the test suite first.", 40, piece).await;
    h.event(Event::ToolStarted {
        id: Some("t1".into()),
        name: "Bash".into(),
        summary: "cargo test".into(),
    })
    .await;
    tokio::time::sleep(Duration::from_mins(1)).await;
    h.event(Event::ToolFinished {
        id: Some("t1".into()),
        ok: true,
        excerpt: "test result: ok. 412 passed".into(),
    })
    .await;
    stream_block(&h, "All 412 tests pass; nothing to fix.", 40, piece).await;
    h.finish(completed()).await;
}

/// The longest stretch from the turn's start to its last call without a call that
/// `counts`, and where it ended.
fn longest_gap(
    calls: &[Call],
    end: Duration,
    counts: impl Fn(&Call) -> bool,
) -> (Duration, Duration) {
    let mut last = Duration::ZERO;
    let mut best = (Duration::ZERO, Duration::ZERO);
    let times = calls.iter().filter(|c| counts(c)).map(|c| c.at);
    for at in times.chain([end]) {
        let gap = at.saturating_sub(last);
        if gap > best.0 {
            best = (gap, at);
        }
        last = at;
    }
    best
}

/// The calls in order: method, time, and whether the text changed.
fn timeline(calls: &[Call]) -> String {
    calls
        .iter()
        .map(|c| {
            let what = match (c.failed, c.text_changed) {
                (true, _) => " refused",
                (false, true) => "",
                (false, false) if c.method == Method::DeleteMessage => "",
                (false, false) => " same text",
            };
            format!("{} {}{what}", c.method.name(), secs(c.at))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

fn print_calls(mode: Mode, calls: &[Call], took: Duration) {
    let mut row = format!("{:<6}", mode.name());
    for m in Method::ALL {
        let n = calls.iter().filter(|c| c.method == m).count();
        let failed = calls.iter().filter(|c| c.method == m && c.failed).count();
        let cell = if failed > 0 {
            format!("{n} ({failed} refused)")
        } else {
            n.to_string()
        };
        let _ = write!(row, " | {cell:>16}");
    }
    println!("{row} | {:>5} | {:>6}", calls.len(), secs(took));
}

fn main() {
    let answer = answer_4k();
    println!(
        "(a) Bot API calls for one answer of {} characters, 40-character deltas every 100 ms,",
        answer.chars().count()
    );
    println!("    then the whole block (StreamingConfig::default(), edit_interval 2 s):");
    let mut header = format!("{:<6}", "mode");
    for m in Method::ALL {
        let _ = write!(header, " | {:>16}", m.name());
    }
    println!("{header} | total | turn");
    for mode in [Mode::Draft, Mode::Edit] {
        let (calls, took) = run(mode, long_answer);
        print_calls(mode, &calls, took);
    }

    println!();
    println!("(b) a little text, a tool starts (Bash), 60 s of silence, more text:");
    println!(
        "    progress = a sendMessageDraft, a sendMessage, or an editMessageText that changed \
the text (the tool indicator edit included)"
    );
    println!(
        "{:<6} | {:>28} | {:>28} | calls (draft/send/edit/delete)",
        "mode", "longest gap without progress", "longest gap, shown text same"
    );
    for mode in [Mode::Draft, Mode::Edit] {
        let (calls, took) = run(mode, tool_run);
        let progress = |c: &Call| {
            !c.failed
                && match c.method {
                    Method::SendMessageDraft | Method::SendMessage => true,
                    Method::EditMessageText => c.text_changed,
                    Method::DeleteMessage => false,
                }
        };
        let (gap, gap_end) = longest_gap(&calls, took, progress);
        let (same, same_end) = longest_gap(&calls, took, |c| !c.failed && c.text_changed);
        let count = |m: Method| calls.iter().filter(|c| c.method == m).count();
        println!(
            "{:<6} | {:>28} | {:>28} | {}/{}/{}/{}",
            mode.name(),
            format!("{} (ends at {})", secs(gap), secs(gap_end)),
            format!("{} (ends at {})", secs(same), secs(same_end)),
            count(Method::SendMessageDraft),
            count(Method::SendMessage),
            count(Method::EditMessageText),
            count(Method::DeleteMessage),
        );
        println!("       calls: {}", timeline(&calls));
    }
    println!(
        "    (the draft is sent again every {} s so that it does not expire; its text stays \
the same. In edit mode the first sendMessage already carries the tool indicator, and a \
turn longer than notify_after_seconds ends in a new sendMessage + deleteMessage of the \
preview instead of a last edit.)",
        ductor::chat::stream::DRAFT_REFRESH.as_secs()
    );
}
