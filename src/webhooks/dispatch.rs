//! Accepted webhook calls into the agent's core:
//! - `wake`: the prompt becomes a turn of the primary chat's own session, through
//!   the durable outbox (so it waits for a running turn and survives a restart); the
//!   agent's answer streams into the chat like any reply.
//! - `cron_task`: a one-shot run in `workspace/cron_tasks/<task_folder>/` (the lane
//!   cron jobs use: new session, the hook's overrides, the dependency queue,
//!   `cli_timeout`), its result posted to the primary chat. Quiet hours of the hook
//!   skip it.

use super::{Dispatch, Done, Hook, HookMode};
use crate::address::Destination;
use crate::core::Core;
use crate::session::outbox::Outgoing;
use std::sync::Arc;

/// Runs accepted calls on an agent's core.
#[derive(Debug)]
pub struct CoreDispatch {
    core: Arc<Core>,
}

impl CoreDispatch {
    /// A dispatcher into `core`.
    pub fn new(core: Arc<Core>) -> Self {
        Self { core }
    }
}

impl Dispatch for CoreDispatch {
    fn dispatch(&self, hook: Hook, prompt: String, done: Done) {
        match &hook.mode {
            HookMode::Wake => {
                let item = Outgoing::Inject {
                    to: Destination::Primary,
                    notice: None,
                    prompt,
                };
                let error = self
                    .core
                    .outbox
                    .send(item)
                    .err()
                    .map(|e| format!("error:{e}"));
                done.finish(error);
            }
            HookMode::CronTask => {
                let core = self.core.clone();
                tokio::spawn(async move {
                    let error = run_task(&core, &hook, prompt).await;
                    done.finish(error);
                });
            }
            HookMode::Other(mode) => done.finish(Some(format!("error:unknown_mode_{mode}"))),
        }
    }
}

/// A `cron_task` hook's run; its error status, if any.
async fn run_task(core: &Core, hook: &Hook, prompt: String) -> Option<String> {
    if let Some((start, end)) = hook.overrides.quiet() {
        let tz = crate::session::freshness::user_tz(&core.config.get());
        let hour = chrono::Timelike::hour(&chrono::Utc::now().with_timezone(&tz));
        if crate::cron::schedule::in_quiet_hours(hour, start, end) {
            return Some("skipped:quiet_hours".into());
        }
    }
    let Some(name) = hook
        .task_folder
        .as_deref()
        .filter(|f| crate::cron::folder::valid_name(f))
    else {
        return Some("error:no_task_folder".into());
    };
    let folder = core.paths.cron_tasks_dir().join(name);
    if !folder.is_dir() {
        return Some("error:folder_missing".into());
    }
    let Some(address) = core.directory.primary() else {
        return Some("error:no_chat".into());
    };
    let key = format!("hook:{}", hook.id);
    let end = core
        .cron
        .run_oneshot(&key, folder, &hook.overrides, prompt, &address)
        .await;
    let title = if hook.title.is_empty() {
        &hook.id
    } else {
        &hook.title
    };
    let _ = core.outbox.send(Outgoing::Post {
        to: Destination::Primary,
        text: format!("**Webhook: {title}**\n\n{}", end.text),
        reply_to: None,
        session: None,
    });
    (end.status != "success").then_some(end.status)
}
