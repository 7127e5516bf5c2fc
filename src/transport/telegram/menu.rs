//! The command menu (`setMyCommands`) follows the configured language: the agent
//! publishes it at start, and this task publishes it again whenever a config reload
//! changes `language`. A failed publish is tried again a minute later.

use super::Telegram;
use std::sync::Arc;
use std::time::Duration;

/// Pause before a failed publish is tried again.
const RETRY: Duration = Duration::from_mins(1);

/// Publishes the menu in the configured language; false when the Bot API refused it.
pub async fn publish(tg: &Telegram) -> bool {
    match tg.api.set_commands(&tg.ops().menu()).await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "cannot publish the command menu");
            false
        }
    }
}

/// Re-publishes the menu whenever `language` changes, until the agent shuts down.
/// `published` is the language of the menu published at start (`None`: it failed).
pub async fn follow_language(tg: Arc<Telegram>, published: Option<String>) {
    let mut changes = tg.fe.core().config.subscribe();
    let mut published = published;
    loop {
        let current = tg.config().language.clone();
        let due = published.as_deref() != Some(current.as_str());
        if due && publish(&tg).await {
            tracing::info!(language = %current, "command menu published");
            published = Some(current);
            continue;
        }
        tokio::select! {
            () = tg.fe.shutdown.cancelled() => return,
            changed = changes.changed() => if changed.is_err() { return },
            () = tokio::time::sleep(RETRY), if due => {}
        }
    }
}
