//! Running the real `ductor` binaries in a temporary home.
//!
//! `TestHome::new()` makes a home (outside `/tmp`, so codex accepts it) with a
//! valid config pointing at a fake Bot API; `home.start()` runs `ductor` there and
//! returns a [`Daemon`] that kills everything of that home when dropped. Helpers
//! look at the live system: bus health, processes whose command line names the
//! home, and `ductor` CLI invocations.

use ductor::ipc::message::{AgentStatus, HealthReport};
use ductor::paths::Home;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Path of a binary built by cargo for this test run.
pub fn bin(name: &str) -> PathBuf {
    match name {
        "ductor" => PathBuf::from(env!("CARGO_BIN_EXE_ductor")),
        "ductor-agent" => PathBuf::from(env!("CARGO_BIN_EXE_ductor-agent")),
        other => panic!("unknown binary {other}"),
    }
}

/// A token the fake Bot API accepts (`<bot id>:<35 chars>`).
pub fn token(bot_id: u64) -> String {
    format!("{bot_id}:AAtesttokentesttokentesttokentestt")
}

/// A temporary ductor home.
pub struct TestHome {
    _dir: tempfile::TempDir,
    /// The home directory.
    pub root: PathBuf,
}

impl TestHome {
    /// A home with a usable main config (token for bot 100000001, user 1000001).
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("dh")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .expect("temp home");
        let root = dir.path().to_path_buf();
        let home = Self { _dir: dir, root };
        home.write_config(&json!({
            "telegram_token": token(100_000_001),
            "allowed_user_ids": [1_000_001],
            "telegram_api_url": "http://127.0.0.1:9",
            "supervisor": {
                "restart_backoff_seconds": [0.3, 0.3, 0.3, 0.3, 0.3],
                "stop_grace_seconds": 3.0
            }
        }));
        Self::seed_startup_state(&home.root);
        home
    }

    /// Records a clean previous run of this version in `dir` (an agent's home), so
    /// the agent starts without a startup notice; the notice tests remove it.
    pub fn seed_startup_state(dir: &Path) {
        let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
        std::fs::create_dir_all(dir).unwrap();
        let state = json!({
            "boot_id": boot.trim(), "started_at": "2026-01-01T00:00:00Z",
            "version": env!("CARGO_PKG_VERSION"), "clean_exit": true
        });
        std::fs::write(dir.join("startup_state.json"), state.to_string()).unwrap();
    }

    /// Waits (one minute at most) until the agent records where its API listens
    /// (`run/api.port`) and returns that address.
    pub async fn api_addr(&self) -> std::net::SocketAddr {
        let file = self.root.join("run/api.port");
        let start = std::time::Instant::now();
        loop {
            if let Some(addr) = std::fs::read_to_string(&file)
                .ok()
                .and_then(|t| t.trim().parse().ok())
            {
                return addr;
            }
            assert!(
                start.elapsed() < Duration::from_mins(1),
                "the API never listened; supervisor stderr:\n{}",
                std::fs::read_to_string(self.root.join("supervisor.stderr")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The `Home` value of this directory.
    pub fn home(&self) -> Home {
        Home::new(&self.root)
    }

    /// Writes `config/config.json` (missing keys are filled in by ductor).
    pub fn write_config(&self, v: &Value) {
        let path = self.root.join("config/config.json");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    }

    /// Changes the config file in place.
    pub fn edit_config(&self, f: impl FnOnce(&mut Value)) {
        let path = self.root.join("config/config.json");
        let mut v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        f(&mut v);
        std::fs::write(&path, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    }

    /// Writes `agents.json` atomically (rename), as an editor would.
    pub fn write_agents(&self, v: &Value) {
        for name in v
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["name"].as_str())
        {
            let home = self.root.join("agents").join(name);
            if !home.join("startup_state.json").exists() && !name.contains(['/', '.']) {
                Self::seed_startup_state(&home);
            }
        }
        self.write_agents_raw(&serde_json::to_vec_pretty(v).unwrap());
    }

    /// Writes raw bytes to `agents.json` atomically.
    pub fn write_agents_raw(&self, bytes: &[u8]) {
        let tmp = self.root.join(".agents.json.test-tmp");
        std::fs::write(&tmp, bytes).unwrap();
        std::fs::rename(&tmp, self.root.join("agents.json")).unwrap();
    }

    /// A `ductor` command for this home. The CLIs' homes point into this home,
    /// where they do not exist, unless a test passes its own (`start_with_env`):
    /// agents link skills into `~/.claude/skills` and the like, and a test must
    /// never touch the real ones.
    pub fn ductor(&self) -> Command {
        let mut cmd = Command::new(bin("ductor"));
        let no_cli = self.root.join("no-cli-homes");
        cmd.arg("--home")
            .arg(&self.root)
            .env_remove("DUCTOR_HOME")
            .env_remove("INVOCATION_ID")
            .env("CLAUDE_CONFIG_DIR", no_cli.join("claude"))
            .env("CODEX_HOME", no_cli.join("codex"))
            .env("GEMINI_CLI_HOME", no_cli.join("gemini"));
        cmd
    }

    /// Runs a `ductor` subcommand to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.ductor()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run ductor")
    }

    /// Starts the supervisor in the foreground (as a child of the test).
    pub fn start(&self) -> Daemon {
        self.start_with_env(&[])
    }

    /// Starts the supervisor with extra environment variables.
    pub fn start_with_env(&self, env: &[(String, String)]) -> Daemon {
        let log = std::fs::File::create(self.root.join("supervisor.stderr")).unwrap();
        let child = self
            .ductor()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn ductor");
        Daemon {
            child: Some(child),
            root: self.root.clone(),
        }
    }

    /// Bus health, if the supervisor answers.
    pub async fn health(&self) -> Option<HealthReport> {
        ductor::cli::status::fetch_health(&self.home()).await.ok()
    }

    /// Waits until `pred` holds for the health report; returns it.
    pub async fn wait_health(
        &self,
        timeout: Duration,
        what: &str,
        pred: impl Fn(&HealthReport) -> bool,
    ) -> HealthReport {
        let start = Instant::now();
        let mut last = None;
        while start.elapsed() < timeout {
            if let Some(h) = self.health().await {
                if pred(&h) {
                    return h;
                }
                last = Some(h);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "timed out after {timeout:?} waiting for {what}; last health: {last:#?}\nsupervisor stderr:\n{}",
            std::fs::read_to_string(self.root.join("supervisor.stderr")).unwrap_or_default()
        );
    }

    /// Waits until every named agent is registered (running) and returns the report.
    pub async fn wait_running(&self, names: &[&str], timeout: Duration) -> HealthReport {
        let want: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
        self.wait_health(timeout, &format!("{names:?} running"), |h| {
            want.iter().all(|n| {
                h.agents
                    .iter()
                    .any(|a| &a.name == n && a.status == AgentStatus::Running)
            })
        })
        .await
    }
}

/// Pid of a running agent from a health report.
pub fn agent_pid(h: &HealthReport, name: &str) -> u32 {
    h.agents
        .iter()
        .find(|a| a.name == name)
        .and_then(|a| a.pid)
        .unwrap_or_else(|| panic!("no pid for {name} in {h:#?}"))
}

/// The CLI processes (and their tools) of the CLI environment at `root`: every
/// process mentioning it but ductor's supervisor and agents.
pub fn cli_processes_of(root: &Path) -> Vec<(i32, String)> {
    processes_of(root)
        .into_iter()
        .filter(|(_, cmd)| !cmd.contains("ductor --home") && !cmd.contains("ductor-agent --home"))
        .collect()
}

/// Every live process that belongs to the home `root`: its command line, working
/// directory or environment mentions the home (ductor, agents, CLIs and their tools).
pub fn processes_of(root: &Path) -> Vec<(i32, String)> {
    let needle = root.to_string_lossy().into_owned();
    let me = std::process::id() as i32;
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap_or_default();
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        let in_env = String::from_utf8_lossy(&environ).contains(&needle);
        let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| {
            s.rsplit_once(')')
                .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
        });
        if (cmd.contains(&needle) || cwd.starts_with(root) || in_env) && !zombie {
            out.push((pid, cmd));
        }
    }
    out
}

/// Waits until no process of `root` is left; panics with the survivors otherwise.
pub async fn wait_no_processes(root: &Path, timeout: Duration) {
    let start = Instant::now();
    loop {
        let left = processes_of(root);
        if left.is_empty() {
            return;
        }
        assert!(
            start.elapsed() <= timeout,
            "processes of {} still running: {left:#?}",
            root.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A running supervisor; dropping it stops and kills everything of its home.
pub struct Daemon {
    child: Option<Child>,
    root: PathBuf,
}

impl Daemon {
    /// Pid of the supervisor.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Sends a signal to the supervisor.
    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid() as i32), sig);
    }

    /// Waits for the supervisor to exit; returns its exit code.
    pub fn wait(&mut self, timeout: Duration) -> Option<i32> {
        let start = Instant::now();
        let child = self.child.as_mut()?;
        while start.elapsed() < timeout {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(8) {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        for (pid, _) in processes_of(&self.root) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}
