//! The running agent's config: read by every run, replaced as a whole by `/model`
//! and (later) hot reload. Readers get a cheap snapshot (`Arc`) that never changes
//! under them.

use super::AgentConfig;
use std::sync::{Arc, PoisonError, RwLock};

/// A shared, replaceable [`AgentConfig`]. Cheap to clone (all clones see changes).
#[derive(Debug, Clone, Default)]
pub struct LiveConfig {
    // A std lock: held only to clone or swap the `Arc`, never across an await.
    inner: Arc<RwLock<Arc<AgentConfig>>>,
}

impl LiveConfig {
    /// Starts with `config`.
    pub fn new(config: AgentConfig) -> Self {
        Self {
            inner: Arc::new(RwLock::new(Arc::new(config))),
        }
    }

    /// The current config.
    pub fn get(&self) -> Arc<AgentConfig> {
        self.inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the config.
    pub fn set(&self, config: AgentConfig) {
        *self.inner.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(config);
    }
}
