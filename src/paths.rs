//! The single source of every path ductor reads or writes.
//!
//! [`Home`] is the root (`--home`, else `$DUCTOR_HOME`, else `~/.ductor`);
//! [`AgentPaths`] is one agent's home inside it (`main` is the root itself,
//! sub-agents live in `<home>/agents/<name>/`). Nothing else in the crate joins
//! file names onto a home: add a method here instead.

use std::path::{Path, PathBuf};

/// Name of the main agent; its home is the ductor home itself.
pub const MAIN_AGENT: &str = "main";

/// Bus protocol version; part of the socket file name so mismatched builds never meet.
pub use crate::ipc::PROTOCOL_VERSION;

/// The ductor home directory (the main agent's home and the root of all sub-agents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    /// Uses `root` as the home (made absolute against the current directory).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let root = if root.is_absolute() {
            root
        } else {
            std::env::current_dir().map_or(root.clone(), |cwd| cwd.join(&root))
        };
        Self { root }
    }

    /// Resolves the home: explicit `--home`, else `$DUCTOR_HOME`, else `~/.ductor`.
    pub fn resolve(explicit: Option<&Path>) -> Self {
        if let Some(path) = explicit {
            return Self::new(expand_tilde(path));
        }
        if let Some(env) = std::env::var_os("DUCTOR_HOME").filter(|v| !v.is_empty()) {
            return Self::new(expand_tilde(Path::new(&env)));
        }
        Self::new(user_home().join(".ductor"))
    }

    /// The home directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Runtime directory (socket, pid file), mode 0700.
    pub fn run_dir(&self) -> PathBuf {
        self.root.join("run")
    }

    /// The address the direct API of agent `name` listens on (`host:port`), while
    /// it runs: `api.port` for `main`, `api-<name>.port` for a sub-agent with an
    /// API of its own.
    pub fn api_port_file(&self, name: &str) -> PathBuf {
        if name == MAIN_AGENT {
            self.run_dir().join("api.port")
        } else {
            self.run_dir().join(format!("api-{name}.port"))
        }
    }

    /// The supervisor's PID lock file.
    pub fn pid_file(&self) -> PathBuf {
        self.run_dir().join("ductor.pid")
    }

    /// The instance lock of agent `name`: one process per agent.
    pub fn agent_lock(&self, name: &str) -> PathBuf {
        self.run_dir().join(format!("agent-{name}.lock"))
    }

    /// The bus socket; its name carries the protocol version.
    pub fn bus_socket(&self) -> PathBuf {
        self.bus_dir().join(format!("bus-v{PROTOCOL_VERSION}.sock"))
    }

    /// `run/bus/`: holds only the bus socket, so a sandbox can mount it (the agent
    /// tools inside reach the bus) without the rest of `run/`.
    pub fn bus_dir(&self) -> PathBuf {
        self.run_dir().join("bus")
    }

    /// Sub-agent registry (`agents.json`, main home only).
    pub fn agents_file(&self) -> PathBuf {
        self.root.join("agents.json")
    }

    /// Shared knowledge source, mirrored into every agent's `MAINMEMORY.md`.
    pub fn shared_memory(&self) -> PathBuf {
        self.root.join("SHAREDMEMORY.md")
    }

    /// Marker file any process can create to request a restart of the whole system.
    pub fn restart_marker(&self) -> PathBuf {
        self.root.join("restart-requested")
    }

    /// `upgrade.lock` in `run/`: held while an upgrade runs (one at a time).
    pub fn upgrade_lock(&self) -> PathBuf {
        self.run_dir().join("upgrade.lock")
    }

    /// `upgrade-sentinel.json`: written by a chat's upgrade before the restart,
    /// consumed on the next start ("upgraded from X to Y" in that chat, §1.6).
    pub fn upgrade_sentinel(&self) -> PathBuf {
        self.root.join("upgrade-sentinel.json")
    }

    /// `update_check.json`: when the update check last ran and which version it
    /// last announced.
    pub fn update_check_file(&self) -> PathBuf {
        self.root.join("update_check.json")
    }

    /// The supervisor's own log file.
    pub fn supervisor_log(&self) -> PathBuf {
        self.root.join("logs").join("supervisor.log")
    }

    /// Directory holding all sub-agent homes.
    pub fn agents_dir(&self) -> PathBuf {
        self.root.join("agents")
    }

    /// Paths of one agent (`main` or a sub-agent name).
    pub fn agent(&self, name: &str) -> AgentPaths {
        let root = if name == MAIN_AGENT {
            self.root.clone()
        } else {
            self.agents_dir().join(name)
        };
        AgentPaths {
            name: name.to_owned(),
            root,
            main_root: self.root.clone(),
        }
    }

    /// Paths of the main agent.
    pub fn main(&self) -> AgentPaths {
        self.agent(MAIN_AGENT)
    }
}

/// One agent's files. For `main` the root is the ductor home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentPaths {
    name: String,
    root: PathBuf,
    main_root: PathBuf,
}

impl AgentPaths {
    /// The agent's name (`main` or the sub-agent name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this is the main agent.
    pub fn is_main(&self) -> bool {
        self.name == MAIN_AGENT
    }

    /// The agent home (`DUCTOR_HOME` of its CLI children).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The ductor home this agent belongs to.
    pub fn home(&self) -> Home {
        Home {
            root: self.main_root.clone(),
        }
    }

    /// `config/` directory.
    pub fn config_dir(&self) -> PathBuf {
        self.root.join("config")
    }

    /// `config/config.json`.
    pub fn config_file(&self) -> PathBuf {
        self.config_dir().join("config.json")
    }

    /// `.env` secrets injected into every CLI child.
    pub fn env_file(&self) -> PathBuf {
        self.root.join(".env")
    }

    /// `sessions.json`.
    pub fn sessions_file(&self) -> PathBuf {
        self.root.join("sessions.json")
    }

    /// `named_sessions.json`.
    pub fn named_sessions_file(&self) -> PathBuf {
        self.root.join("named_sessions.json")
    }

    /// `tasks.json`.
    pub fn tasks_file(&self) -> PathBuf {
        self.root.join("tasks.json")
    }

    /// `cron_jobs.json`.
    pub fn cron_jobs_file(&self) -> PathBuf {
        self.root.join("cron_jobs.json")
    }

    /// `webhooks.json`.
    pub fn webhooks_file(&self) -> PathBuf {
        self.root.join("webhooks.json")
    }

    /// `chat_activity.json`.
    pub fn chat_activity_file(&self) -> PathBuf {
        self.root.join("chat_activity.json")
    }

    /// `startup_state.json`.
    pub fn startup_state_file(&self) -> PathBuf {
        self.root.join("startup_state.json")
    }

    /// `outbox.json`: background deliveries not yet in their chat.
    pub fn outbox_file(&self) -> PathBuf {
        self.root.join("outbox.json")
    }

    /// `live_requests.json`: the chat messages of live CLI requests still waiting
    /// (marked expired by the next start).
    pub fn live_requests_file(&self) -> PathBuf {
        self.root.join("live_requests.json")
    }

    /// `inflight_turns.json`.
    pub fn inflight_file(&self) -> PathBuf {
        self.root.join("inflight_turns.json")
    }

    /// `restart-sentinel.json`, written by `/restart`, consumed on the next start.
    pub fn restart_sentinel(&self) -> PathBuf {
        self.root.join("restart-sentinel.json")
    }

    /// `logs/` directory.
    pub fn logs_dir(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// The agent's log file.
    pub fn log_file(&self) -> PathBuf {
        self.logs_dir().join("agent.log")
    }

    /// Scratch directory for prompt temp files.
    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// `workspace/`: the working directory of every CLI turn.
    pub fn workspace(&self) -> PathBuf {
        self.root.join("workspace")
    }

    /// `workspace/memory_system/`.
    pub fn memory_dir(&self) -> PathBuf {
        self.workspace().join("memory_system")
    }

    /// `workspace/memory_system/MAINMEMORY.md`.
    pub fn main_memory(&self) -> PathBuf {
        self.memory_dir().join("MAINMEMORY.md")
    }

    /// `workspace/JOIN_NOTIFICATION.md`: posted (and pinned) when the bot joins an
    /// allowed group.
    pub fn join_notification_file(&self) -> PathBuf {
        self.workspace().join("JOIN_NOTIFICATION.md")
    }

    /// `workspace/tasks/` (background task folders).
    pub fn tasks_dir(&self) -> PathBuf {
        self.workspace().join("tasks")
    }

    /// `workspace/cron_tasks/`.
    pub fn cron_tasks_dir(&self) -> PathBuf {
        self.workspace().join("cron_tasks")
    }

    /// `workspace/output_to_user/`.
    pub fn output_to_user_dir(&self) -> PathBuf {
        self.workspace().join("output_to_user")
    }

    /// `workspace/telegram_files/`.
    pub fn telegram_files_dir(&self) -> PathBuf {
        self.workspace().join("telegram_files")
    }

    /// The Matrix store (`matrix_store/` by default; `store_path` of the `matrix`
    /// block, relative to the agent's home unless absolute).
    pub fn matrix_store_dir(&self, store_path: &str) -> PathBuf {
        let p = Path::new(if store_path.trim().is_empty() {
            "matrix_store"
        } else {
            store_path
        });
        self.root.join(p)
    }

    /// `workspace/matrix_files/` (incoming Matrix media).
    pub fn matrix_files_dir(&self) -> PathBuf {
        self.workspace().join("matrix_files")
    }

    /// `workspace/api_files/` (uploads of the direct API).
    pub fn api_files_dir(&self) -> PathBuf {
        self.workspace().join("api_files")
    }

    /// `workspace/skills/`: the agent's skills (bundled, its own, synced from the CLIs).
    pub fn skills_dir(&self) -> PathBuf {
        self.workspace().join("skills")
    }

    /// `skill_links.json`: the skill links ductor created (removed again at shutdown).
    pub fn skill_links_file(&self) -> PathBuf {
        self.root.join("skill_links.json")
    }

    /// `config/codex_models.json` (ductor's cache of codex models).
    pub fn codex_models_cache(&self) -> PathBuf {
        self.config_dir().join("codex_models.json")
    }

    /// `config/gemini_models.json`.
    pub fn gemini_models_cache(&self) -> PathBuf {
        self.config_dir().join("gemini_models.json")
    }

    /// The shared-memory source file in the main home.
    pub fn shared_memory(&self) -> PathBuf {
        self.main_root.join("SHAREDMEMORY.md")
    }
}

/// The system's program directories, in the usual `PATH` order (a service's and a
/// container's fallback `PATH`).
pub const SYSTEM_BIN_DIRS: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// The user's home directory (`$HOME`, falling back to the passwd entry, then `/`).
pub fn user_home() -> PathBuf {
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(home);
    }
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map_or_else(|| PathBuf::from("/"), |u| u.dir)
}

/// Expands a leading `~` or `~/` to the user's home directory.
pub fn expand_tilde(path: &Path) -> PathBuf {
    let Some(s) = path.to_str() else {
        return path.to_path_buf();
    };
    if s == "~" {
        user_home()
    } else if let Some(rest) = s.strip_prefix("~/") {
        user_home().join(rest)
    } else {
        path.to_path_buf()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_agents_live_under_agents_dir() {
        let home = Home::new("/srv/ductor");
        assert_eq!(home.main().root(), Path::new("/srv/ductor"));
        assert_eq!(
            home.agent("sub1").root(),
            Path::new("/srv/ductor/agents/sub1")
        );
        assert_eq!(
            home.agent("sub1").shared_memory(),
            Path::new("/srv/ductor/SHAREDMEMORY.md")
        );
        assert!(home.bus_socket().to_string_lossy().contains("bus-v"));
    }

    #[test]
    fn tilde_expands_to_home() {
        let expanded = expand_tilde(Path::new("~/x"));
        assert!(expanded.ends_with("x"));
        assert!(!expanded.to_string_lossy().starts_with('~'));
    }
}
