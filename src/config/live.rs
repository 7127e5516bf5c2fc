//! The running agent's config: read by every run, replaced as a whole by `/model`
//! and by hot reload. Readers get a cheap snapshot (`Arc`) that never changes
//! under them; services that react to a change (menus, audits, loops) subscribe.

use super::AgentConfig;
use std::sync::{Arc, PoisonError, RwLock};
use tokio::sync::watch;

/// A shared, replaceable [`AgentConfig`]. Cheap to clone (all clones see changes).
#[derive(Debug, Clone)]
pub struct LiveConfig {
    // A std lock: held only to clone or swap the `Arc`, never across an await.
    inner: Arc<RwLock<Arc<AgentConfig>>>,
    // Carries the previous and the new config of every replacement.
    changes: Arc<watch::Sender<Change>>,
}

/// One replacement of the config: what it was and what it is now.
#[derive(Debug, Clone, Default)]
pub struct Change {
    /// The config before.
    pub before: Arc<AgentConfig>,
    /// The config after.
    pub after: Arc<AgentConfig>,
}

impl Default for LiveConfig {
    fn default() -> Self {
        Self::new(AgentConfig::default())
    }
}

impl LiveConfig {
    /// Starts with `config`.
    pub fn new(config: AgentConfig) -> Self {
        let config = Arc::new(config);
        let (tx, _) = watch::channel(Change {
            before: config.clone(),
            after: config.clone(),
        });
        Self {
            inner: Arc::new(RwLock::new(config)),
            changes: Arc::new(tx),
        }
    }

    /// The current config.
    pub fn get(&self) -> Arc<AgentConfig> {
        self.inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the config; subscribers see the change.
    pub fn set(&self, config: AgentConfig) {
        let after = Arc::new(config);
        let before = std::mem::replace(
            &mut *self.inner.write().unwrap_or_else(PoisonError::into_inner),
            after.clone(),
        );
        self.changes.send_replace(Change { before, after });
    }

    /// Changes from now on. A slow subscriber sees only the latest change (with the
    /// `before` of that change), so it compares the fields it cares about itself.
    pub fn subscribe(&self) -> watch::Receiver<Change> {
        self.changes.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn subscribers_see_before_and_after() {
        let live = LiveConfig::default();
        let mut rx = live.subscribe();
        let mut next = (*live.get()).clone();
        next.model = "haiku-test".into();
        live.set(next);
        rx.changed().await.unwrap();
        let change = rx.borrow_and_update().clone();
        assert_ne!(change.before.model, "haiku-test");
        assert_eq!(change.after.model, "haiku-test");
        assert_eq!(live.get().model, "haiku-test");
    }
}
