//! `/tasks`: the background tasks of this chat (§2.2 `tsc:`), grouped Running /
//! Waiting / Finished with a summary line; buttons cancel one task
//! (`tsc:cancel:<id>`), cancel all (`tsc:cancelall`), delete the finished ones
//! (`tsc:cleanup`) and refresh (`tsc:r`). The list message is edited in place.

use super::Telegram;
use super::format::escape_html;
use super::incoming::Incoming;
use crate::i18n::Catalog;
use crate::state::tasks::TaskRecord;
use crate::tasks::{Status, status_of};
use crate::transport::chat_api::{ApiError, Button, ChatApi, ChatTarget, Keyboard, OutMessage};
use std::fmt::Write as _;

/// `12s`, `4m`, `1.5h`.
fn duration(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        _ => format!("{:.1}h", s as f64 / 3600.0),
    }
}

fn icon(s: Status) -> &'static str {
    match s {
        Status::Running => "[...]",
        Status::Waiting => "[?]",
        Status::Done => "[OK]",
        Status::Failed => "[FAIL]",
        Status::Cancelled => "[X]",
    }
}

fn clip(s: &str, n: usize) -> String {
    crate::tasks::folder::clip(s, n)
}

fn line(text: &Catalog, r: &TaskRecord, now: f64) -> String {
    let status = status_of(r);
    // A running task's time is booked when its run ends; until then count from creation.
    let secs = if status == Status::Running && r.elapsed_seconds == 0.0 {
        now - r.created_at
    } else {
        r.elapsed_seconds
    };
    let mut out = format!(
        "{} <b>{}</b> · {}/{} · {} ({})",
        icon(status),
        escape_html(&r.name),
        escape_html(&r.provider),
        escape_html(&r.model),
        text.t(&format!("tasks.status_{}", status.as_str())),
        duration(secs)
    );
    if status == Status::Failed && !r.error.is_empty() {
        let _ = write!(out, " · {}", escape_html(&clip(&r.error, 80)));
    }
    if status == Status::Waiting && !r.last_question.is_empty() {
        let _ = write!(
            out,
            "\n    ↳ <i>{}</i>",
            escape_html(&clip(&r.last_question, 80))
        );
    }
    out
}

/// The list (HTML) and its keyboard for the tasks of one chat.
pub fn render(text: &Catalog, tasks: &[TaskRecord], now: f64) -> (String, Keyboard) {
    let group = |want: &dyn Fn(Status) -> bool| -> Vec<&TaskRecord> {
        tasks.iter().filter(|r| want(status_of(r))).collect()
    };
    let running = group(&|s| s == Status::Running);
    let waiting = group(&|s| s == Status::Waiting);
    let finished = group(&Status::is_finished);
    let mut out = text.t("tasks.title");
    if tasks.is_empty() {
        let _ = write!(out, "\n\n{}", text.t("tasks.none"));
    }
    for (title, list) in [
        ("tasks.running", &running),
        ("tasks.waiting", &waiting),
        ("tasks.finished", &finished),
    ] {
        if list.is_empty() {
            continue;
        }
        let _ = write!(out, "\n\n{}", text.t(title));
        for r in list {
            let _ = write!(out, "\n{}", line(text, r, now));
        }
    }
    let summary = text.f(
        "tasks.summary",
        &[
            ("running", &running.len().to_string()),
            ("waiting", &waiting.len().to_string()),
            ("finished", &finished.len().to_string()),
        ],
    );
    let _ = write!(out, "\n\n<i>{summary}</i>");
    let mut rows: Keyboard = running
        .iter()
        .chain(waiting.iter())
        .map(|r| {
            vec![Button {
                label: text.f("tasks.cancel_button", &[("name", &clip(&r.name, 24))]),
                data: format!("tsc:cancel:{}", r.task_id),
            }]
        })
        .collect();
    let mut last = Vec::new();
    if running.len() + waiting.len() > 1 {
        last.push(Button {
            label: text.t("tasks.cancel_all"),
            data: "tsc:cancelall".into(),
        });
    }
    if !finished.is_empty() {
        last.push(Button {
            label: text.t("tasks.cleanup"),
            data: "tsc:cleanup".into(),
        });
    }
    last.push(Button {
        label: text.t("tasks.refresh"),
        data: "tsc:r".into(),
    });
    rows.push(last);
    (out, rows)
}

/// The current view of chat `chat_id`: the list, or the "disabled" note.
fn view(tg: &Telegram, chat_id: i64) -> OutMessage {
    let text = tg.text();
    let hub = tg.env().tasks.get();
    match hub.filter(|_| tg.env().config().tasks.enabled) {
        Some(hub) => {
            let (html, rows) = render(
                text,
                &hub.list(Some(chat_id)),
                crate::tasks::registry::now(),
            );
            OutMessage::html(html).with_keyboard(Some(rows))
        }
        None => OutMessage::plain(text.t("tasks.disabled")),
    }
}

/// `/tasks`.
pub async fn command(tg: &Telegram, inc: &Incoming) {
    let target = ChatTarget {
        chat_id: inc.chat_id,
        thread_id: inc.thread_id,
    };
    let msg = view(tg, inc.chat_id).replying_to(Some(inc.message_id));
    if let Err(e) = tg.api.send(target, msg).await {
        tracing::warn!(error = %e, "cannot send the task list");
    }
}

/// A `tsc:` press on the list message `id`: act, then show the list again.
pub async fn callback(tg: &Telegram, target: ChatTarget, id: i64, data: &str) {
    if let Some(hub) = tg.env().tasks.get() {
        let chat = target.chat_id;
        let owned = |task: &str| hub.registry().get(task).is_some_and(|r| r.chat_id == chat);
        match data {
            "tsc:cancelall" => {
                hub.cancel_chat(chat).await;
            }
            "tsc:cleanup" => {
                hub.delete_finished(chat);
            }
            _ => {
                if let Some(task) = data.strip_prefix("tsc:cancel:")
                    && owned(task)
                    && let Err(e) = hub.cancel(task).await
                {
                    tracing::info!(task, error = %e, "cancel from /tasks");
                }
            }
        }
    }
    match tg.api.edit(target, id, view(tg, target.chat_id)).await {
        Ok(()) | Err(ApiError::NotModified) => {}
        Err(e) => tracing::warn!(error = %e, "cannot update the task list"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, name: &str, status: &str, extra: &serde_json::Value) -> TaskRecord {
        let mut v = serde_json::json!({
            "task_id": id, "name": name, "status": status, "provider": "claude",
            "model": "sonnet", "created_at": 100.0, "elapsed_seconds": 12.0,
        });
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn the_list_is_grouped_with_icons_a_summary_and_short_buttons() {
        let text = crate::i18n::catalog("en");
        let long = "n".repeat(200);
        let tasks = vec![
            rec(
                "0000000a",
                "Build <x>",
                "running",
                &serde_json::json!({"elapsed_seconds": 0.0}),
            ),
            rec(
                "0000000b",
                &long,
                "waiting",
                &serde_json::json!({"last_question": "Which colour?"}),
            ),
            rec("0000000c", "Done one", "done", &serde_json::json!({})),
            rec(
                "0000000d",
                "Broken",
                "failed",
                &serde_json::json!({"error": "Timeout after 3600s"}),
            ),
            rec("0000000e", "Stopped", "cancelled", &serde_json::json!({})),
        ];
        let (html, rows) = render(text, &tasks, 190.0);
        let run = html.find("<b>Running</b>").unwrap();
        let wait = html.find("<b>Waiting</b>").unwrap();
        let fin = html.find("<b>Finished</b>").unwrap();
        assert!(run < wait && wait < fin, "{html}");
        assert!(
            html.contains("[...] <b>Build &lt;x&gt;</b> · claude/sonnet · running (1m)"),
            "{html}"
        );
        assert!(html.contains("↳ <i>Which colour?</i>"));
        assert!(html.contains("[OK] <b>Done one</b>"));
        assert!(
            html.contains(
                "[FAIL] <b>Broken</b> · claude/sonnet · failed (12s) · Timeout after 3600s"
            )
        );
        assert!(html.contains("[X] <b>Stopped</b>"));
        assert!(html.contains("1 running · 1 waiting · 3 finished"));
        let data: Vec<&str> = rows.iter().flatten().map(|b| b.data.as_str()).collect();
        assert_eq!(
            data,
            [
                "tsc:cancel:0000000a",
                "tsc:cancel:0000000b",
                "tsc:cancelall",
                "tsc:cleanup",
                "tsc:r"
            ]
        );
        assert!(
            rows.iter()
                .flatten()
                .all(|b| b.data.len() <= 64 && b.label.chars().count() < 40)
        );
        let (empty, rows) = render(text, &[], 0.0);
        assert!(empty.contains("No background tasks") && empty.contains("0 running"));
        assert_eq!(rows.concat().len(), 1, "only refresh");
    }
}
