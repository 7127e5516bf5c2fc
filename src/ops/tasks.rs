//! `/tasks`: the background tasks of this chat (§2.2 `tsc:`), grouped Running /
//! Waiting / Finished with a summary line; buttons cancel one task, cancel all,
//! delete the finished ones and refresh. The list changes in place.

use super::{Action, Button, Buttons, Ctx, Reply, Response};
use crate::i18n::Catalog;
use crate::md;
use crate::state::tasks::TaskRecord;
use crate::tasks::{Status, status_of};
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
        Status::Running => "\\[...\\]",
        Status::Waiting => "\\[?\\]",
        Status::Done => "\\[OK\\]",
        Status::Failed => "\\[FAIL\\]",
        Status::Cancelled => "\\[X\\]",
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
        "{} **{}** · {}/{} · {} ({})",
        icon(status),
        md::escape(&r.name),
        md::escape(&r.provider),
        md::escape(&r.model),
        text.t(&format!("tasks.status_{}", status.as_str())),
        duration(secs)
    );
    if status == Status::Failed && !r.error.is_empty() {
        let _ = write!(out, " · {}", md::one_line(&clip(&r.error, 80)));
    }
    if status == Status::Waiting && !r.last_question.is_empty() {
        let _ = write!(
            out,
            "\n\u{a0}\u{a0}\u{a0}\u{a0}↳ _{}_",
            md::one_line(&clip(&r.last_question, 80))
        );
    }
    out
}

/// The list (Markdown) and its buttons for `tasks`.
pub fn render(text: &Catalog, tasks: &[TaskRecord], now: f64) -> Reply {
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
    let _ = write!(out, "\n\n_{summary}_");
    let mut rows: Buttons = running
        .iter()
        .chain(waiting.iter())
        .map(|r| {
            vec![Button::new(
                text.f("tasks.cancel_button", &[("name", &clip(&r.name, 24))]),
                Action::TaskCancel(r.task_id.clone()),
            )]
        })
        .collect();
    let mut last = Vec::new();
    if running.len() + waiting.len() > 1 {
        last.push(Button::new(
            text.t("tasks.cancel_all"),
            Action::TasksCancelAll,
        ));
    }
    if !finished.is_empty() {
        last.push(Button::new(text.t("tasks.cleanup"), Action::TasksCleanup));
    }
    last.push(Button::new(text.t("tasks.refresh"), Action::TasksRefresh));
    rows.push(last);
    Reply::text(out).with_buttons(rows)
}

/// The current view of this chat: the list, or the "disabled" note.
fn view(ctx: &Ctx<'_>) -> Reply {
    let text = ctx.text();
    let hub = &ctx.core().tasks;
    if !hub.enabled() {
        return Reply::text(md::escape(&text.t("tasks.disabled")));
    }
    render(
        text,
        &hub.list(Some(&ctx.address)),
        crate::tasks::registry::now(),
    )
}

/// `/tasks`.
pub fn command(ctx: &Ctx<'_>) -> Response {
    Response::reply(view(ctx))
}

/// A press on the list: act, then show the list again.
pub async fn action(ctx: &Ctx<'_>, action: &Action) -> Response {
    let hub = &ctx.core().tasks;
    match action {
        Action::TasksCancelAll => {
            hub.cancel_chat(&ctx.address).await;
        }
        Action::TasksCleanup => {
            hub.delete_finished(&ctx.address);
        }
        Action::TaskCancel(task) => {
            let owned = hub.registry().get(task).is_some_and(|r| {
                r.chat_id == ctx.address.chat_id && r.transport == ctx.address.transport
            });
            if owned && let Err(e) = hub.cancel(task).await {
                tracing::info!(task, error = %e, "cancel from /tasks");
            }
        }
        _ => {}
    }
    Response::replace(view(ctx))
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
        let reply = render(text, &tasks, 190.0);
        let md = &reply.markdown;
        let run = md.find("**Running**").unwrap();
        let wait = md.find("**Waiting**").unwrap();
        let fin = md.find("**Finished**").unwrap();
        assert!(run < wait && wait < fin, "{md}");
        assert!(
            md.contains("\\[...\\] **Build \\<x\\>** · claude/sonnet · running (1m)"),
            "{md}"
        );
        assert!(md.contains("↳ _Which colour?_"));
        assert!(md.contains("\\[OK\\] **Done one**"));
        assert!(md.contains(
            "\\[FAIL\\] **Broken** · claude/sonnet · failed (12s) · Timeout after 3600s"
        ));
        assert!(md.contains("\\[X\\] **Stopped**"));
        assert!(md.contains("1 running · 1 waiting · 3 finished"));
        let actions: Vec<String> = reply
            .buttons
            .iter()
            .flatten()
            .map(|b| b.action.encode())
            .collect();
        assert_eq!(
            actions,
            [
                "tsc:cancel:0000000a",
                "tsc:cancel:0000000b",
                "tsc:cancelall",
                "tsc:cleanup",
                "tsc:r"
            ]
        );
        assert!(
            reply
                .buttons
                .iter()
                .flatten()
                .all(|b| b.action.fits() && b.label.chars().count() < 40)
        );
        let empty = render(text, &[], 0.0);
        assert!(
            empty.markdown.contains("No background tasks") && empty.markdown.contains("0 running")
        );
        assert_eq!(empty.buttons.concat().len(), 1, "only refresh");
    }
}
