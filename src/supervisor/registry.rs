//! Live state of every agent as the supervisor sees it, shared between the
//! process actors (spawn/exit) and the bus hub (registration). Short critical
//! sections only; never held across `.await`.

use crate::ipc::message::{AgentHealth, AgentStatus};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What the supervisor knows about one agent.
#[derive(Debug, Clone)]
pub struct AgentState {
    /// Lifecycle state.
    pub status: AgentStatus,
    /// Pid of the current process.
    pub pid: Option<u32>,
    /// When the current process registered on the bus.
    pub registered_at: Option<Instant>,
    /// Restarts since the supervisor started.
    pub restart_count: u32,
    /// Why the last run ended, if it failed.
    pub last_error: Option<String>,
    /// The bus token of the current start (the agent proves it in its `hello`).
    pub token: Option<String>,
}

impl Default for AgentState {
    fn default() -> Self {
        Self {
            status: AgentStatus::Starting,
            pid: None,
            registered_at: None,
            restart_count: 0,
            last_error: None,
            token: None,
        }
    }
}

/// Shared agent table.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    inner: Arc<Mutex<BTreeMap<String, AgentState>>>,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, AgentState>> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Applies `f` to the agent's state (creating it when new).
    pub fn update<R>(&self, name: &str, f: impl FnOnce(&mut AgentState) -> R) -> R {
        f(self.lock().entry(name.to_owned()).or_default())
    }

    /// Forgets an agent (after it was removed from `agents.json` and stopped).
    pub fn remove(&self, name: &str) {
        self.lock().remove(name);
    }

    /// The current pid of `name`, if it has a process.
    pub fn pid(&self, name: &str) -> Option<u32> {
        self.lock().get(name).and_then(|s| s.pid)
    }

    /// Pids of every agent process.
    pub fn pids(&self) -> Vec<u32> {
        self.lock().values().filter_map(|s| s.pid).collect()
    }

    /// The agent whose current process is one of `pids` (the nearest first).
    pub fn agent_among(&self, pids: &[i32]) -> Option<String> {
        let map = self.lock();
        pids.iter().find_map(|p| {
            map.iter()
                .find(|(_, s)| s.pid.is_some_and(|own| own as i32 == *p))
                .map(|(n, _)| n.clone())
        })
    }

    /// Names of agents that are registered on the bus right now.
    pub fn running_names(&self) -> Vec<String> {
        self.lock()
            .iter()
            .filter(|(_, s)| s.status == AgentStatus::Running)
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// Marks `name` registered if `pid` is its current process and `token` the one
    /// this start was given. Returns whether it was.
    pub fn register(&self, name: &str, pid: Option<u32>, token: Option<&str>) -> bool {
        let mut map = self.lock();
        let Some(state) = map.get_mut(name) else {
            return false;
        };
        if state.pid.is_none() || (pid.is_some() && pid != state.pid) {
            return false;
        }
        if state.token.as_deref().is_some_and(|t| Some(t) != token) {
            return false;
        }
        state.status = AgentStatus::Running;
        state.registered_at = Some(Instant::now());
        true
    }

    /// Health rows, `main` first.
    pub fn health(&self) -> Vec<AgentHealth> {
        let map = self.lock();
        let mut rows: Vec<AgentHealth> = map
            .iter()
            .map(|(name, s)| AgentHealth {
                name: name.clone(),
                status: s.status,
                pid: s.pid,
                uptime_seconds: match (s.status, s.registered_at) {
                    (AgentStatus::Running, Some(t)) => t.elapsed().as_secs(),
                    _ => 0,
                },
                restart_count: s.restart_count,
                last_error: s.last_error.clone(),
            })
            .collect();
        rows.sort_by_key(|r| r.name != crate::paths::MAIN_AGENT);
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registering_needs_the_current_pid_and_token() {
        let r = Registry::default();
        r.update("sub1", |s| {
            s.pid = Some(100);
            s.token = Some("t1".into());
        });
        assert!(
            !r.register("sub1", Some(101), Some("t1")),
            "another process"
        );
        assert!(
            !r.register("sub1", Some(100), Some("old")),
            "an older start's token"
        );
        assert!(!r.register("sub1", Some(100), None), "no token");
        assert!(r.register("sub1", Some(100), Some("t1")));
        assert!(!r.register("nosuch", Some(100), Some("t1")));
        assert_eq!(r.agent_among(&[5, 100, 1]), Some("sub1".into()));
        assert_eq!(r.agent_among(&[5, 6]), None);
    }
}
