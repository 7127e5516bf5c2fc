//! Running and rendering one turn in a chat: the queue indicator with its Cancel
//! button, the typing action every 4 s, status reactions, the live-edited answer
//! (through the streaming editor), one clear sentence per failure, and `<file:…>`
//! attachments.

use super::Frontend;
use super::api::{ChatApi, OutMessage};
use super::stream::{self, Finish, StreamSettings, SystemIndicator};
use crate::address::{Address, MessageRef};
use crate::exec::TimeoutKind;
use crate::ops::{Action, Button, Submit};
use crate::provider::ProviderKind;
use crate::provider::event::{Event, FailureKind, Outcome};
use crate::session::{TurnFinish, TurnRequest, TurnUpdate};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Interval of the typing action.
const TYPING_EVERY: Duration = Duration::from_secs(4);

/// The command a user runs on the host to log a CLI in again.
pub fn login_command(p: ProviderKind) -> &'static str {
    match p {
        ProviderKind::Claude => "claude /login",
        ProviderKind::Codex => "codex login",
        ProviderKind::Gemini => "gemini",
    }
}

/// The command that installs a CLI.
pub fn install_command(p: ProviderKind) -> &'static str {
    match p {
        ProviderKind::Claude => "npm install -g @anthropic-ai/claude-code",
        ProviderKind::Codex => "npm install -g @openai/codex",
        ProviderKind::Gemini => "npm install -g @google/gemini-cli",
    }
}

fn first_line(s: &str) -> String {
    let line = s
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    line.chars().take(300).collect()
}

/// The user-facing sentence for a failed turn (plain text).
pub fn failure_sentence(
    fe: &Frontend,
    kind: FailureKind,
    detail: &str,
    p: ProviderKind,
    retried: bool,
) -> String {
    failure_text(fe.core(), kind, detail, p, retried)
}

/// The user-facing sentence for a failed turn of `core`'s agent (plain text), for
/// transports without a [`Frontend`].
pub fn failure_text(
    core: &crate::core::Core,
    kind: FailureKind,
    detail: &str,
    p: ProviderKind,
    retried: bool,
) -> String {
    let text = core.text();
    let name = p.display_name();
    let timeout_minutes = (core.config.get().timeouts.normal / 60.0).round().max(1.0);
    match kind {
        FailureKind::AuthExpired => text.f(
            "errors.auth_expired",
            &[("provider", name), ("command", login_command(p))],
        ),
        FailureKind::RateLimited => text.f("errors.rate_limited", &[("provider", name)]),
        FailureKind::ContextTooLong => text.f("errors.context_too_long", &[("provider", name)]),
        FailureKind::SessionNotFound if retried => {
            text.f("errors.session_lost", &[("provider", name)])
        }
        FailureKind::CliMissing => text.f(
            "errors.cli_missing",
            &[("provider", name), ("install", install_command(p))],
        ),
        FailureKind::Timeout => text.f(
            "errors.timeout",
            &[
                ("provider", name),
                ("minutes", &format!("{timeout_minutes:.0}")),
            ],
        ),
        FailureKind::Crashed => text.f(
            "errors.crashed",
            &[("provider", name), ("detail", &first_line(detail))],
        ),
        FailureKind::SandboxUnavailable => text.f("errors.sandbox", &[("detail", detail.trim())]),
        FailureKind::SessionNotFound | FailureKind::Other | FailureKind::Cancelled => text.f(
            "errors.other",
            &[("provider", name), ("detail", &first_line(detail))],
        ),
    }
}

/// Emoji for the status reaction while a tool of this name runs.
fn tool_emoji(name: &str) -> &'static str {
    let n = name.to_ascii_lowercase();
    if ["read", "grep", "glob", "ls", "search", "find", "view"]
        .iter()
        .any(|p| n.starts_with(p))
    {
        "👀"
    } else if [
        "edit",
        "write",
        "multiedit",
        "str_replace",
        "replace",
        "file_change",
    ]
    .iter()
    .any(|p| n.starts_with(p))
    {
        "✍"
    } else if ["bash", "shell", "run", "exec", "command"]
        .iter()
        .any(|p| n.starts_with(p))
    {
        "👨\u{200d}💻"
    } else {
        "🤔"
    }
}

/// Which reactions the user's message gets while its turn is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReactionMode {
    /// None.
    Off,
    /// The original's `status_reaction`: 🤔, one emoji per tool, removed at the end.
    Stages,
    /// `status_reactions`: 👀 received, ✍ working, then the outcome, which stays.
    Status,
    /// `status_reactions` where reactions only add up: the outcome alone.
    Outcome,
    /// `seen_reaction` with both status reactions off: a one-shot 👀 on receipt,
    /// which stays (Matrix marks a message seen with a read receipt instead).
    Seen,
}

impl ReactionMode {
    fn of(scene: &crate::config::model::SceneConfig, reactions_replace: bool) -> Self {
        match (scene.status_reactions, reactions_replace) {
            (true, true) => Self::Status,
            (true, false) => Self::Outcome,
            _ if scene.status_reaction => Self::Stages,
            (false, true) if scene.seen_reaction => Self::Seen,
            _ => Self::Off,
        }
    }
}

/// The reaction a finished turn leaves in [`ReactionMode::Status`]: 👍 completed,
/// 😱 timed out, 👎 failed or refused, none when it was stopped.
fn outcome_emoji(fin: &TurnFinish) -> Option<&'static str> {
    match &fin.outcome {
        _ if fin.cancelled => None,
        Outcome::Completed { .. } => Some("👍"),
        Outcome::Failed {
            kind: FailureKind::Cancelled,
            ..
        } => None,
        Outcome::Failed {
            kind: FailureKind::Timeout,
            ..
        } => Some("😱"),
        Outcome::Failed { .. } => Some("👎"),
    }
}

/// The bot's reaction on the user's message, following the turn.
struct Reactions {
    mode: ReactionMode,
    message: Option<MessageRef>,
    current: Option<&'static str>,
}

impl Reactions {
    fn new(
        scene: &crate::config::model::SceneConfig,
        api: &dyn ChatApi,
        message: Option<MessageRef>,
    ) -> Self {
        Self {
            mode: ReactionMode::of(scene, api.reactions_replace()),
            message,
            current: None,
        }
    }

    async fn set(&mut self, api: &dyn ChatApi, to: &Address, emoji: Option<&'static str>) {
        let (true, Some(msg)) = (self.mode != ReactionMode::Off, &self.message) else {
            return;
        };
        if self.current == emoji {
            return;
        }
        self.current = emoji;
        api.react(to, msg, emoji).await;
    }

    /// The turn was submitted (queued or about to start).
    async fn received(&mut self, api: &dyn ChatApi, to: &Address) {
        if matches!(self.mode, ReactionMode::Status | ReactionMode::Seen) {
            self.set(api, to, Some("👀")).await;
        }
    }

    /// The turn runs.
    async fn started(&mut self, api: &dyn ChatApi, to: &Address) {
        match self.mode {
            ReactionMode::Status => self.set(api, to, Some("✍")).await,
            ReactionMode::Stages => self.set(api, to, Some("🤔")).await,
            ReactionMode::Outcome | ReactionMode::Seen | ReactionMode::Off => {}
        }
    }

    /// A tool of this name started.
    async fn tool(&mut self, api: &dyn ChatApi, to: &Address, name: &str) {
        if self.mode == ReactionMode::Stages {
            self.set(api, to, Some(tool_emoji(name))).await;
        }
    }

    /// The turn left the queue without running.
    async fn dropped(&mut self, api: &dyn ChatApi, to: &Address) {
        if self.mode == ReactionMode::Status {
            self.set(api, to, None).await;
        }
    }

    /// The turn ended.
    async fn finished(&mut self, api: &dyn ChatApi, to: &Address, fin: &TurnFinish) {
        match self.mode {
            ReactionMode::Status | ReactionMode::Outcome => {
                self.set(api, to, outcome_emoji(fin)).await;
            }
            ReactionMode::Stages => self.set(api, to, None).await,
            ReactionMode::Seen | ReactionMode::Off => {}
        }
    }
}

fn spawn_typing(fe: Arc<Frontend>, to: Address) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            fe.api.typing(&to).await;
            tokio::time::sleep(TYPING_EVERY).await;
        }
    })
}

/// An italic line in the chat's markup.
fn italic(fe: &Frontend, text: &str) -> String {
    fe.markup.italic(&fe.markup.escape(text))
}

/// Posts "[Message in queue...]" with its Cancel button; returns the message.
async fn queue_indicator(
    fe: &Frontend,
    to: &Address,
    reply_to: Option<MessageRef>,
    entry: u64,
) -> Option<MessageRef> {
    let text = fe.text();
    let mut buttons = vec![vec![Button::new(
        text.t("queue.cancel_button"),
        Action::CancelQueued(entry),
    )]];
    if fe.core().live.can_steer(&to.to_string()) {
        // A live CLI takes more text while it runs.
        buttons.insert(
            0,
            vec![Button::new(
                text.t("live.steer_button"),
                Action::Steer(entry),
            )],
        );
    }
    let msg = OutMessage::markup(italic(fe, &text.t("queue.indicator")))
        .replying_to(reply_to)
        .with_buttons(Some(buttons));
    fe.api.send(to, msg).await.ok()
}

impl Frontend {
    /// Starts the turn `submit` at `address`, rendered here. Returns its entry id.
    pub async fn submit(self: &Arc<Self>, address: &Address, submit: Submit) -> u64 {
        let (tx, rx) = mpsc::channel(256);
        tokio::spawn(render(
            self.clone(),
            address.clone(),
            submit.reply_to.clone(),
            submit.tag.clone(),
            rx,
        ));
        let req = TurnRequest {
            target_override: submit.target_override,
            reply_to: submit.reply_to,
            is_recovery: submit.is_recovery,
            timeout: TimeoutKind::Interactive,
            by: submit.by,
            ..TurnRequest::new(submit.lane, submit.prompt, tx)
        };
        self.core().conversations.submit(address, req).await
    }

    /// Starts a main-lane turn with `prompt` at `address` and calls `ack` once it has
    /// left the queue: started (from then on an interruption is recorded in
    /// `inflight_turns.json`) or dropped by the user. A turn still queued when the
    /// agent stops is never acknowledged.
    pub async fn submit_acknowledged(
        self: &Arc<Self>,
        address: &Address,
        prompt: String,
        ack: impl FnOnce() + Send + 'static,
    ) {
        let (render_tx, render_rx) = mpsc::channel(256);
        tokio::spawn(render(self.clone(), address.clone(), None, None, render_rx));
        let (tx, mut rx) = mpsc::channel(256);
        tokio::spawn(async move {
            let mut ack = Some(ack);
            while let Some(update) = rx.recv().await {
                if matches!(
                    update,
                    TurnUpdate::Started { .. } | TurnUpdate::Dropped { .. }
                ) && let Some(ack) = ack.take()
                {
                    ack();
                }
                if render_tx.send(update).await.is_err() {
                    break;
                }
            }
        });
        let req = TurnRequest::new(crate::session::Lane::Main, prompt, tx);
        self.core().conversations.submit(address, req).await;
    }
}

/// The chat side of one turn while it is rendered.
struct View {
    fe: Arc<Frontend>,
    to: Address,
    reply_to: Option<MessageRef>,
    tag: Option<String>,
    streaming: StreamSettings,
    queue_msg: Option<MessageRef>,
    cwd: Option<std::path::PathBuf>,
    editor: Option<stream::EditorHandle>,
    typing: Option<JoinHandle<()>>,
    started: Instant,
    retried: bool,
    saw_text: bool,
    /// The CLI compacted its context in this turn.
    compacted: bool,
    reactions: Reactions,
    /// The CLI running the turn.
    provider: Option<ProviderKind>,
    /// The live CLI's pending requests: their messages and texts.
    asks: std::collections::HashMap<String, (MessageRef, String)>,
}

/// Renders the updates of one turn whose answer starts with `tag` (Markdown; `@name`
/// follow-ups show `**[name | provider]**`), until it ends.
pub async fn render(
    fe: Arc<Frontend>,
    to: Address,
    reply_to: Option<MessageRef>,
    tag: Option<String>,
    mut rx: mpsc::Receiver<TurnUpdate>,
) {
    let config = fe.core().config.get();
    let mut view = View {
        reactions: Reactions::new(&config.scene, fe.api.as_ref(), reply_to.clone()),
        streaming: StreamSettings {
            max_messages: config.max_reply_messages,
            overflow_notice: fe.text().f(
                "reply.continues_in_file",
                &[("max", &config.max_reply_messages.to_string())],
            ),
            edit_interval: StreamSettings::from_config(&config.streaming)
                .edit_interval
                .max(fe.markup.min_edit_interval()),
            stopped_note: fe.text().t("reply.stopped"),
            notify_after: StreamSettings::from_config(&config.streaming)
                .notify_after
                .filter(|_| fe.api.quiet_edits()),
            stop_label: fe
                .api
                .stop_button(&to)
                .then(|| fe.text().t("reply.stop_button")),
            ..StreamSettings::from_config(&config.streaming)
        },
        fe,
        to,
        reply_to,
        tag,
        queue_msg: None,
        cwd: None,
        editor: None,
        typing: None,
        started: Instant::now(),
        retried: false,
        saw_text: false,
        compacted: false,
        provider: None,
        asks: std::collections::HashMap::new(),
    };
    let stream_text = config.streaming.enabled;
    view.reactions
        .received(view.fe.api.as_ref(), &view.to)
        .await;
    while let Some(update) = rx.recv().await {
        match update {
            TurnUpdate::Queued { entry } => {
                view.queue_msg =
                    queue_indicator(&view.fe, &view.to, view.reply_to.clone(), entry).await;
            }
            TurnUpdate::Dropped { by_stop } => {
                view.dropped(by_stop).await;
                return;
            }
            TurnUpdate::Started { cwd, target, .. } => {
                view.cwd = Some(cwd);
                view.provider = Some(target.provider);
                view.started().await;
            }
            TurnUpdate::Event(Event::Ask { id, ask }) => view.ask(id, &ask).await,
            TurnUpdate::Event(Event::AskResolved { id, how }) => view.ask_over(&id, &how).await,
            TurnUpdate::Event(ev) => {
                view.compacted |= ev == Event::Compacted;
                if let Event::ToolStarted { name, .. } = &ev {
                    view.reactions
                        .tool(view.fe.api.as_ref(), &view.to, name)
                        .await;
                }
                let text_event = matches!(ev, Event::TextDelta { .. } | Event::Text { .. });
                if let Some(ed) = &view.editor
                    && (stream_text || !text_event)
                {
                    view.saw_text |= text_event;
                    ed.event(ev).await;
                }
            }
            TurnUpdate::SessionReset => {
                view.retried = true;
                if let Some(ed) = &view.editor {
                    ed.system(SystemIndicator::Recovering).await;
                }
            }
            TurnUpdate::Finished(fin) => {
                view.finished(&fin).await;
                return;
            }
        }
    }
    if let Some(t) = view.typing.take() {
        t.abort();
    }
}

impl View {
    /// The live CLI asks: a message with the request's buttons.
    async fn ask(&mut self, key: String, ask: &crate::provider::live::AskKind) {
        let provider = self.provider.map_or("CLI", ProviderKind::display_name);
        let reply = crate::ops::live::ask_reply(self.fe.text(), provider, &key, ask);
        if let Some(ed) = &self.editor {
            // A draft would disappear under the new message: it becomes one first.
            ed.commit().await;
        }
        if let Some(msg) = self.fe.post_reply(&self.to, &reply, None).await {
            super::asks::remember(
                &self.fe.core().paths,
                super::asks::Waiting {
                    key: key.clone(),
                    address: self.to.clone(),
                    message: msg.clone(),
                    markdown: reply.markdown.clone(),
                },
            );
            self.asks.insert(key, (msg, reply.markdown));
        } else {
            tracing::warn!(chat = %self.to, "cannot post a live CLI's request");
        }
    }

    /// A request is over: its message loses the buttons and says how it ended.
    async fn ask_over(&mut self, key: &str, how: &crate::provider::event::AskEnd) {
        let Some((msg, markdown)) = self.asks.remove(key) else {
            return;
        };
        super::asks::forget(&self.fe.core().paths, key);
        let note = crate::ops::live::end_note(self.fe.text(), how);
        self.fe
            .settle_request(&self.to, &msg, &markdown, &note)
            .await;
    }

    /// The turn left the queue without running: the queue indicator says so.
    async fn dropped(&mut self, by_stop: bool) {
        self.reactions.dropped(self.fe.api.as_ref(), &self.to).await;
        if let Some(id) = &self.queue_msg {
            let key = if by_stop {
                "queue.discarded"
            } else {
                "queue.cancelled"
            };
            let msg = OutMessage::markup(italic(&self.fe, &self.fe.text().t(key)));
            let _ = self.fe.api.edit(&self.to, id, msg).await;
        }
    }

    /// The turn runs: the queue indicator goes, typing and the live reply start.
    async fn started(&mut self) {
        if let Some(id) = self.queue_msg.take() {
            let _ = self.fe.api.delete(&self.to, &id).await;
        }
        self.started = Instant::now();
        self.typing = Some(spawn_typing(self.fe.clone(), self.to.clone()));
        self.reactions.started(self.fe.api.as_ref(), &self.to).await;
        let ed = stream::start(
            self.fe.api.clone(),
            self.fe.markup.clone(),
            self.to.clone(),
            self.reply_to.clone(),
            self.streaming.clone(),
        );
        if let Some(t) = &self.tag {
            ed.event(Event::Text { text: t.clone() }).await;
        }
        self.editor = Some(ed);
    }

    /// The turn ended: the final reply, its files, or the sentence why it failed.
    async fn finished(&mut self, fin: &TurnFinish) {
        let fe = &self.fe;
        if let Some(t) = self.typing.take() {
            t.abort();
        }
        if self.retried {
            let note = fe.text().f(
                "session.restored_failed",
                &[("provider", fin.target.provider.display_name())],
            );
            let _ = fe.api.send(&self.to, OutMessage::plain(note)).await;
        }
        let mut finish = finish_of(
            fe,
            fin,
            self.started.elapsed(),
            self.retried,
            self.compacted,
        );
        if let (None, Finish::Completed { footer, .. }) = (&self.tag, &mut finish)
            && let Some(note) = session_age_note(fe.core(), &self.to, fin)
        {
            // The age note comes first, the technical footer (if any) after it.
            *footer = Some(match footer.take() {
                Some(f) => format!("{note}\n{f}"),
                None => note,
            });
        }
        if let (Some(ed), Some(_), false, Outcome::Completed { text, .. }) =
            (&self.editor, &self.tag, self.saw_text, &fin.outcome)
        {
            // Nothing streamed: the tag alone must not hide the answer.
            ed.event(Event::Text { text: text.clone() }).await;
        }
        match self.editor.take() {
            Some(ed) => {
                let delivered = ed.finish(finish).await;
                if let Some(whole) = &delivered.whole {
                    fe.send_whole_answer(&self.to, whole, None).await;
                }
                send_files(fe, &self.to, self.cwd.as_deref(), &delivered.files).await;
            }
            None => {
                // Refused before it started: say why.
                if let Finish::Failed { message } = finish {
                    let msg = OutMessage::plain(message).replying_to(self.reply_to.clone());
                    let _ = fe.api.send(&self.to, msg).await;
                }
            }
        }
        self.reactions
            .finished(self.fe.api.as_ref(), &self.to, fin)
            .await;
    }
}

/// Sends the files a reply named; relative paths resolve against `cwd` (the
/// agent's workspace when `None`).
pub async fn send_files(
    fe: &Frontend,
    to: &Address,
    cwd: Option<&std::path::Path>,
    files: &[String],
) {
    if files.is_empty() {
        return;
    }
    let core = fe.core();
    let config = core.config.get();
    let access = crate::access::FileAccess::new(&config, &core.paths);
    let workspace = core.paths.workspace();
    super::outfiles::send_all(
        fe.api.as_ref(),
        fe.text(),
        &config,
        &access,
        cwd.unwrap_or(&workspace),
        to,
        files,
        None,
    )
    .await;
}

fn footer(fe: &Frontend, fin: &TurnFinish, took: Duration) -> Option<String> {
    if !fe.core().config.get().scene.technical_footer {
        return None;
    }
    let Outcome::Completed { usage, .. } = &fin.outcome else {
        return None;
    };
    let mut parts = vec![
        fin.target.model.clone(),
        format!(
            "{} tokens ({}/{})",
            usage.total_tokens(),
            usage.input_tokens,
            usage.output_tokens
        ),
    ];
    if let Some(c) = usage.cost_usd.filter(|c| *c > 0.0) {
        parts.push(format!("${c:.4}"));
    }
    parts.push(format!("{:.1}s", took.as_secs_f64()));
    Some(format!("\n---\n{}", parts.join(" | ")))
}

/// Every this many messages an old session gets [`session_age_note`].
const AGE_NOTE_EVERY: u64 = 10;

/// How old a session is as the age note says it: hours below two days, then days;
/// `None` while it is younger than `warn_hours` (0 = never) or when the session's
/// `count`th message is not a multiple of [`AGE_NOTE_EVERY`] (§6.2).
fn session_age(age: chrono::TimeDelta, warn_hours: u64, count: u64) -> Option<(&'static str, i64)> {
    let hours = age.num_hours();
    let old = warn_hours > 0 && u64::try_from(hours).is_ok_and(|h| h >= warn_hours);
    if !old || count == 0 || !count.is_multiple_of(AGE_NOTE_EVERY) {
        return None;
    }
    Some(if hours < 48 {
        ("session.age_hours", hours)
    } else {
        ("session.age_days", hours / 24)
    })
}

/// The note under the answer of a completed main-conversation turn when the session
/// is older than `session_age_warning_hours`, every 10th message: it suggests `/new`
/// (Markdown; the chat transports and the API add it).
pub fn session_age_note(
    core: &crate::core::Core,
    to: &Address,
    fin: &TurnFinish,
) -> Option<String> {
    let warn_hours = core.config.get().session_age_warning_hours;
    if warn_hours == 0 || !matches!(fin.outcome, Outcome::Completed { .. }) || fin.cancelled {
        return None;
    }
    let record = core.conversations.engine().sessions.get(to)?;
    let bucket = record.provider_sessions.get(fin.target.provider.as_str());
    // The CLI session's own start (so `/new` starts the clock again); older files
    // have only the conversation's.
    let began = bucket
        .and_then(|b| b.started_at.as_deref())
        .unwrap_or(&record.created_at);
    let created = crate::session::freshness::parse_time(began)?;
    let count = bucket.map_or(0, |b| b.message_count);
    let (key, n) = session_age(chrono::Utc::now() - created, warn_hours, count)?;
    let note = core.text().f(key, &[("n", &n.to_string())]);
    Some(format!("---\n{}", crate::md::escape(&note)))
}

/// How the turn ends in the chat; an empty answer after a compaction (claude's own
/// `/compact`) says so instead of the usual "updated memory silently".
fn finish_of(
    fe: &Frontend,
    fin: &TurnFinish,
    took: Duration,
    retried: bool,
    compacted: bool,
) -> Finish {
    match &fin.outcome {
        Outcome::Completed { text, .. } => Finish::Completed {
            fallback_text: text.clone(),
            footer: footer(fe, fin, took),
            empty_placeholder: fe.text().t(if compacted {
                "session.compacted"
            } else {
                "session.empty"
            }),
        },
        Outcome::Failed {
            kind: FailureKind::Cancelled,
            ..
        } => Finish::Cancelled,
        Outcome::Failed { .. } if fin.cancelled => Finish::Cancelled,
        // A lane that refused the turn: its sentence is the detail.
        Outcome::Failed { detail, .. } if fin.refused => Finish::Failed {
            message: detail.clone(),
        },
        Outcome::Failed { kind, detail, .. } => Finish::Failed {
            message: failure_sentence(fe, *kind, detail, fin.target.provider, retried),
        },
    }
}

#[cfg(test)]
#[path = "turn_tests.rs"]
mod tests;
