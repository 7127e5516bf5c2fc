//! Rendering one turn in the chat: the queue indicator with its Cancel button, the
//! typing action every 4 s, status reactions, the live-edited answer (through the
//! streaming editor), one clear sentence per failure, and `<file:…>` attachments.

use super::format::escape_html;
use super::stream::{self, Finish, StreamSettings, SystemIndicator};
use super::{Telegram, outfiles};
use crate::provider::ProviderKind;
use crate::provider::event::{Event, FailureKind, Outcome};
use crate::session::{TurnFinish, TurnUpdate};
use crate::transport::chat_api::{Button, ChatApi, ChatTarget, OutMessage};
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

/// The user-facing sentence for a failed turn.
pub fn failure_sentence(
    tg: &Telegram,
    kind: FailureKind,
    detail: &str,
    p: ProviderKind,
    retried: bool,
) -> String {
    let text = tg.text();
    let name = p.display_name();
    let timeout_minutes = (tg.env().config().timeouts.normal / 60.0).round().max(1.0);
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

struct Reactions {
    enabled: bool,
    chat_id: i64,
    message_id: Option<i64>,
    current: Option<&'static str>,
}

impl Reactions {
    async fn set(&mut self, tg: &Telegram, emoji: Option<&'static str>) {
        let (true, Some(msg)) = (self.enabled, self.message_id) else {
            return;
        };
        if self.current == emoji {
            return;
        }
        self.current = emoji;
        tg.api.react(self.chat_id, msg, emoji).await;
    }
}

fn spawn_typing(tg: Arc<Telegram>, target: ChatTarget) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tg.api.typing(target).await;
            tokio::time::sleep(TYPING_EVERY).await;
        }
    })
}

/// Posts "[Message in queue...]" with its Cancel button; returns the message id.
async fn queue_indicator(
    tg: &Telegram,
    target: ChatTarget,
    reply_to: Option<i64>,
    entry: u64,
) -> Option<i64> {
    let text = tg.text();
    let html = format!("<i>{}</i>", escape_html(&text.t("queue.indicator")));
    let keyboard = vec![vec![Button {
        label: text.t("queue.cancel_button"),
        data: format!("mq:{entry}"),
    }]];
    let msg = OutMessage::html(html)
        .replying_to(reply_to)
        .with_keyboard(Some(keyboard));
    tg.api.send(target, msg).await.ok()
}

/// Renders the updates of one turn until it ends.
pub async fn turn(
    tg: Arc<Telegram>,
    target: ChatTarget,
    reply_to: Option<i64>,
    rx: mpsc::Receiver<TurnUpdate>,
) {
    turn_tagged(tg, target, reply_to, None, rx).await;
}

/// Renders a turn whose answer starts with `tag` (Markdown; `@name` follow-ups
/// show `**[name | provider]**`).
pub async fn turn_tagged(
    tg: Arc<Telegram>,
    target: ChatTarget,
    reply_to: Option<i64>,
    tag: Option<String>,
    mut rx: mpsc::Receiver<TurnUpdate>,
) {
    let config = tg.env().config();
    let mut queue_msg: Option<i64> = None;
    let mut editor = None;
    let mut typing: Option<JoinHandle<()>> = None;
    let mut started = Instant::now();
    let mut retried = false;
    let mut saw_text = false;
    let mut reactions = Reactions {
        enabled: config.scene.status_reaction,
        chat_id: target.chat_id,
        message_id: reply_to,
        current: None,
    };
    while let Some(update) = rx.recv().await {
        match update {
            TurnUpdate::Queued { entry } => {
                queue_msg = queue_indicator(&tg, target, reply_to, entry).await;
            }
            TurnUpdate::Dropped { by_stop } => {
                if let Some(id) = queue_msg {
                    let key = if by_stop {
                        "queue.discarded"
                    } else {
                        "queue.cancelled"
                    };
                    let html = format!("<i>{}</i>", escape_html(&tg.text().t(key)));
                    let _ = tg.api.edit(target, id, OutMessage::html(html)).await;
                }
                return;
            }
            TurnUpdate::Started { .. } => {
                if let Some(id) = queue_msg.take() {
                    let _ = tg.api.delete(target, id).await;
                }
                started = Instant::now();
                typing = Some(spawn_typing(tg.clone(), target));
                reactions.set(&tg, Some("🤔")).await;
                let api: Arc<dyn ChatApi> = tg.api.clone();
                let ed = stream::start(
                    api,
                    target,
                    reply_to,
                    StreamSettings::from_config(&config.streaming),
                );
                if let Some(t) = &tag {
                    ed.event(Event::Text { text: t.clone() }).await;
                }
                editor = Some(ed);
            }
            TurnUpdate::Event(ev) => {
                if let Event::ToolStarted { name, .. } = &ev {
                    reactions.set(&tg, Some(tool_emoji(name))).await;
                }
                let text_event = matches!(ev, Event::TextDelta { .. } | Event::Text { .. });
                if let Some(ed) = &editor
                    && (config.streaming.enabled || !text_event)
                {
                    saw_text |= text_event;
                    ed.event(ev).await;
                }
            }
            TurnUpdate::SessionReset => {
                retried = true;
                if let Some(ed) = &editor {
                    ed.system(SystemIndicator::Recovering).await;
                }
            }
            TurnUpdate::Finished(fin) => {
                if let Some(t) = typing.take() {
                    t.abort();
                }
                if retried {
                    let note = tg.text().f(
                        "session.restored_failed",
                        &[("provider", fin.target.provider.display_name())],
                    );
                    let _ = tg.api.send(target, OutMessage::plain(note)).await;
                }
                let finish = finish_of(&tg, &fin, started.elapsed(), retried);
                if let (Some(ed), Some(_), false, Outcome::Completed { text, .. }) =
                    (&editor, &tag, saw_text, &fin.outcome)
                {
                    // Nothing streamed: the tag alone must not hide the answer.
                    ed.event(Event::Text { text: text.clone() }).await;
                }
                if let Some(ed) = editor.take() {
                    let delivered = ed.finish(finish).await;
                    outfiles::send_all(&tg, target, &delivered.files, None).await;
                }
                reactions.set(&tg, None).await;
                return;
            }
        }
    }
    if let Some(t) = typing.take() {
        t.abort();
    }
}

fn footer(tg: &Telegram, fin: &TurnFinish, took: Duration) -> Option<String> {
    if !tg.env().config().scene.technical_footer {
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

fn finish_of(tg: &Telegram, fin: &TurnFinish, took: Duration, retried: bool) -> Finish {
    match &fin.outcome {
        Outcome::Completed { text, .. } => Finish::Completed {
            fallback_text: text.clone(),
            footer: footer(tg, fin, took),
            empty_placeholder: tg.text().t("session.empty"),
        },
        Outcome::Failed {
            kind: FailureKind::Cancelled,
            ..
        } => Finish::Cancelled,
        Outcome::Failed { .. } if fin.cancelled => Finish::Cancelled,
        Outcome::Failed { kind, detail, .. } => Finish::Failed {
            message: failure_sentence(tg, *kind, detail, fin.target.provider, retried),
        },
    }
}
