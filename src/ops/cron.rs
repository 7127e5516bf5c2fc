//! `/cron`: the agent's scheduled jobs with their next run (in the job's zone),
//! last status and problems; a button switches a job on or off, another runs it now.

use super::{Action, Button, Buttons, Ctx, Reply, Response};
use crate::cron::JobInfo;
use crate::i18n::Catalog;
use crate::md;
use std::fmt::Write as _;

/// Callback data hold 64 bytes: a job whose id does not fit gets no buttons.
fn fits(action: &Action) -> bool {
    action.encode().len() <= 64
}

fn line(text: &Catalog, info: &JobInfo) -> String {
    let j = &info.job;
    // Code spans show their text as is: only a backtick could end one early.
    let code = |s: &str| s.replace('`', "'");
    let mut out = format!(
        "⏰ **{}** `{}` — `{}` ({})",
        md::escape(&j.title),
        code(&j.id),
        code(&j.schedule),
        md::escape(&info.zone)
    );
    let next = match &info.next_run {
        _ if !j.enabled => text.t("cron.off"),
        Some(t) => text.f(
            "cron.next",
            &[("when", &t.format("%a %d %b %H:%M").to_string())],
        ),
        None => text.t("cron.off"),
    };
    let _ = write!(out, "\n{next}");
    if info.running {
        let _ = write!(out, " · {}", text.t("cron.running"));
    }
    if let (Some(at), Some(status)) = (&j.last_run_at, &j.last_run_status) {
        let when = at.get(..16).unwrap_or(at).replace('T', " ");
        let mut last = text.f("cron.last", &[("when", &when), ("status", status)]);
        if j.last_delivery_status.as_deref() == Some("failed") {
            let _ = write!(last, " {}", text.t("cron.delivery_failed"));
        }
        let _ = write!(out, "\n{}", md::escape(&last));
    }
    if let Some(p) = &info.problem {
        let _ = write!(out, "\n⚠️ {}", md::escape(p));
    }
    out
}

/// The list and its buttons.
pub fn view(ctx: &Ctx<'_>) -> Reply {
    let text = ctx.text();
    let cron = &ctx.core().cron;
    let jobs = cron.list();
    let mut out = text.t("cron.title");
    if let Some(e) = cron.load_error() {
        let _ = write!(
            out,
            "\n\n⚠️ {}",
            md::escape(&text.f("cron.file_error", &[("error", &e)]))
        );
    }
    if jobs.is_empty() {
        let _ = write!(out, "\n\n{}", md::escape(&text.t("cron.none")));
    }
    let mut rows: Buttons = Vec::new();
    for info in &jobs {
        let _ = write!(out, "\n\n{}", line(text, info));
        let name = crate::util::truncate_bytes(&info.job.title, 24);
        let toggle = Action::CronToggle(info.job.id.clone());
        let run = Action::CronRun(info.job.id.clone());
        if fits(&toggle) && fits(&run) {
            let key = if info.job.enabled {
                "cron.disable"
            } else {
                "cron.enable"
            };
            rows.push(vec![
                Button::new(text.f(key, &[("name", name)]), toggle),
                Button::new(text.f("cron.run", &[("name", name)]), run),
            ]);
        }
    }
    rows.push(vec![Button::new(
        text.t("cron.refresh"),
        Action::CronRefresh,
    )]);
    Reply::text(out).with_buttons(rows)
}

/// A press on the list: act, then show the list again.
pub fn action(ctx: &Ctx<'_>, action: &Action) -> Response {
    let cron = &ctx.core().cron;
    let text = ctx.text();
    match action {
        Action::CronToggle(id) => match cron.job(id) {
            Some(job) => {
                if let Err(e) = cron.set_enabled(id, !job.enabled) {
                    tracing::warn!(job = %id, error = %e, "cannot switch the job");
                }
            }
            None => return Response::say(text.t("cron.gone")),
        },
        Action::CronRun(id) => {
            if !cron.run_now(id) {
                return Response::say(text.t("cron.gone"));
            }
            let mut r = Response::replace(view(ctx));
            r.toast = Some(text.f("cron.started", &[("name", id)]));
            return r;
        }
        _ => {}
    }
    Response::replace(view(ctx))
}
