//! The genuine provider CLIs for tests: where they are and an offline environment for them.
//!
//! The pinned `claude`, `codex` and `gemini` are installed by `.ci/install-clis` into
//! `<repo>/target/provider-clis`; `DUCTOR_TEST_CLI_DIR` overrides the directory of the binaries.
//! A missing binary makes the test panic (never skip).
//!
//! [`CliEnv::new`] takes a root directory and the mock's base URL, writes the config files of
//! all three CLIs under the root and holds the complete environment for them (meant to replace
//! the inherited one: `env_clear()` first). Nothing reaches the network: base URLs point at the
//! mock, and update checks, telemetry, error reporting and plugin sync are off.
//!
//! ```ignore
//! let mock = MockLlm::start().await;
//! let root = clis::test_dir("claude");
//! let env = CliEnv::new(root.path(), &mock.base_url());
//! let run = env.spawn("codex", &["exec", "--json", "--skip-git-repo-check", "hi"]).await;
//! let output = run.finish(Duration::from_secs(60)).await; // CliOutput: JSON lines, status
//! // or hand env.vars() to a ductor agent, which passes them to the CLIs it spawns
//! ```
//!
//! [`CliRun`] (module [`run`]) owns one running CLI: own process group, stdout collected as JSON
//! lines, signals, SIGKILL of the group when dropped, at most three at once per test binary.
//!
//! | | claude | codex | gemini |
//! | --- | --- | --- | --- |
//! | state dir | `CLAUDE_CONFIG_DIR=<root>/claude` | `CODEX_HOME=<root>/codex` (`config.toml`, provider `mock`) | `GEMINI_CLI_HOME=<root>/gemini` (`.gemini/settings.json`) |
//! | endpoint | `ANTHROPIC_BASE_URL=<mock>` | `base_url = "<mock>/v1"` | `GOOGLE_GEMINI_BASE_URL=<mock>` |
//! | key | `ANTHROPIC_API_KEY` | `MOCK_LLM_API_KEY` (`env_key`) | `GEMINI_API_KEY` + `selectedType = "gemini-api-key"` |
//! | retries | `CLAUDE_CODE_MAX_RETRIES=1` | `request_max_retries = 1`, `stream_max_retries = 1` | `general.maxAttempts = 1` |
//!
//! `HOME` and the XDG dirs point into `<root>/home`, `TMPDIR` to `<root>/tmp` (so gemini's error
//! reports and shell dirs do not pile up in `/tmp`), `IS_SANDBOX=1` lets claude use
//! `bypassPermissions` as root, and `PATH` starts with the CLI directory. Codex refuses to put
//! its sandbox helpers under the system temp dir, so make roots with [`test_dir`] (under
//! `CARGO_TARGET_TMPDIR`), not in `/tmp`.

pub mod run;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use run::CliRun;

/// The three CLIs, by binary name.
pub const CLIS: [&str; 3] = ["claude", "codex", "gemini"];

/// Model codex is configured with: a slug it knows, so it does not warn about missing metadata.
pub const CODEX_MODEL: &str = "gpt-5.5";

/// The directory holding the CLI binaries: `DUCTOR_TEST_CLI_DIR`, else
/// `<CARGO_MANIFEST_DIR>/target/provider-clis/node_modules/.bin`.
pub fn cli_dir() -> PathBuf {
    match std::env::var_os("DUCTOR_TEST_CLI_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/provider-clis/node_modules/.bin"),
    }
}

/// The path of CLI `name` (`claude`, `codex` or `gemini`); panics when it is not installed.
pub fn cli_path(name: &str) -> PathBuf {
    let path = cli_dir().join(name);
    assert!(
        path.is_file(),
        "provider CLI `{name}` not found at {}: run `.ci/install-clis` (or set DUCTOR_TEST_CLI_DIR \
         to the directory holding claude, codex and gemini)",
        path.display()
    );
    path
}

/// `PATH` with the CLI directory in front of the current one.
pub fn path_with_clis() -> OsString {
    let current = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    let dirs = std::iter::once(cli_dir()).chain(std::env::split_paths(&current));
    std::env::join_paths(dirs).expect("PATH entries contain no ':'")
}

/// A fresh directory under `CARGO_TARGET_TMPDIR` (outside the system temp dir, which codex
/// refuses for `CODEX_HOME`); removed when dropped.
pub fn test_dir(prefix: &str) -> tempfile::TempDir {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(base).expect("create CARGO_TARGET_TMPDIR");
    tempfile::Builder::new()
        .prefix(&format!("{prefix}-"))
        .tempdir_in(base)
        .expect("create a test dir under CARGO_TARGET_TMPDIR")
}

/// The offline environment of all three CLIs under one root directory.
#[derive(Clone, Debug)]
pub struct CliEnv {
    root: PathBuf,
    vars: BTreeMap<String, String>,
}

impl CliEnv {
    /// Writes the CLIs' config files under `root` (created if needed) for the mock model API at
    /// `base_url` (`http://127.0.0.1:PORT`, see `MockLlm::base_url`).
    pub fn new(root: &Path, base_url: &str) -> Self {
        let env = Self {
            root: root.to_owned(),
            vars: BTreeMap::new(),
        };
        for dir in [
            env.home(),
            env.claude_config_dir(),
            env.codex_home(),
            env.gemini_cli_home().join(".gemini"),
            env.workspace(),
            env.root.join("tmp"),
        ] {
            std::fs::create_dir_all(&dir).expect("create CLI state dirs");
        }
        let codex_config = codex_config(base_url);
        std::fs::write(env.codex_home().join("config.toml"), codex_config)
            .expect("write codex config");
        let settings = serde_json::to_string_pretty(&gemini_settings()).expect("settings to JSON");
        std::fs::write(
            env.gemini_cli_home().join(".gemini/settings.json"),
            settings,
        )
        .expect("write gemini settings");
        env.with_vars(base_url)
    }

    fn with_vars(mut self, base_url: &str) -> Self {
        let home = self.home();
        let path = |p: PathBuf| p.to_string_lossy().into_owned();
        let vars = [
            ("PATH", path_with_clis().to_string_lossy().into_owned()),
            ("HOME", path(home.clone())),
            ("XDG_CONFIG_HOME", path(home.join(".config"))),
            ("XDG_CACHE_HOME", path(home.join(".cache"))),
            ("XDG_DATA_HOME", path(home.join(".local/share"))),
            ("XDG_STATE_HOME", path(home.join(".local/state"))),
            // Temp files (gemini's error reports and shell dirs, claude's task output, codex's
            // daemon dir) stay under the root and go away with it.
            ("TMPDIR", path(self.root.join("tmp"))),
            ("LANG", "C.UTF-8".into()),
            ("NO_PROXY", "127.0.0.1,localhost".into()),
            ("no_proxy", "127.0.0.1,localhost".into()),
            // claude refuses bypassPermissions as root unless this is exactly "1".
            ("IS_SANDBOX", "1".into()),
            // claude
            ("ANTHROPIC_BASE_URL", base_url.to_owned()),
            ("ANTHROPIC_API_KEY", "mock-anthropic-key".into()),
            ("CLAUDE_CONFIG_DIR", path(self.claude_config_dir())),
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".into()),
            ("DISABLE_AUTOUPDATER", "1".into()),
            ("DISABLE_TELEMETRY", "1".into()),
            ("DISABLE_ERROR_REPORTING", "1".into()),
            ("CLAUDE_CODE_MAX_RETRIES", "1".into()),
            // codex (endpoint, retries and phone-home switches are in config.toml)
            ("CODEX_HOME", path(self.codex_home())),
            ("MOCK_LLM_API_KEY", "mock-openai-key".into()),
            // gemini (auth type, retries and phone-home switches are in settings.json)
            ("GEMINI_CLI_HOME", path(self.gemini_cli_home())),
            ("GOOGLE_GEMINI_BASE_URL", base_url.to_owned()),
            ("GEMINI_API_KEY", "mock-gemini-key".into()),
        ];
        self.vars = vars.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        self
    }

    /// Adds or replaces one variable (e.g. `CLAUDE_CODE_MAX_RETRIES`, `GEMINI_CLI_NO_RELAUNCH`).
    #[must_use]
    pub fn with_var(mut self, key: &str, value: &str) -> Self {
        self.vars.insert(key.to_owned(), value.to_owned());
        self
    }

    /// The complete environment for the CLIs, sorted by name; use it instead of the inherited
    /// environment.
    pub fn vars(&self) -> Vec<(String, String)> {
        self.vars.clone().into_iter().collect()
    }

    /// The same as a map.
    pub fn var_map(&self) -> &BTreeMap<String, String> {
        &self.vars
    }

    /// One variable.
    pub fn var(&self, key: &str) -> Option<&str> {
        self.vars.get(key).map(String::as_str)
    }

    /// The root directory given to [`Self::new`].
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `HOME` of the CLIs: `<root>/home`.
    pub fn home(&self) -> PathBuf {
        self.root.join("home")
    }

    /// `CLAUDE_CONFIG_DIR`: `<root>/claude`.
    pub fn claude_config_dir(&self) -> PathBuf {
        self.root.join("claude")
    }

    /// `CODEX_HOME`: `<root>/codex`.
    pub fn codex_home(&self) -> PathBuf {
        self.root.join("codex")
    }

    /// `GEMINI_CLI_HOME`: `<root>/gemini`.
    pub fn gemini_cli_home(&self) -> PathBuf {
        self.root.join("gemini")
    }

    /// An empty working directory for the CLIs: `<root>/work`.
    pub fn workspace(&self) -> PathBuf {
        self.root.join("work")
    }

    /// A command running CLI `name` in `cwd` with exactly this environment, a null stdin, piped
    /// stdout/stderr, in its own process group, killed when dropped.
    pub fn command(&self, name: &str, cwd: &Path) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(cli_path(name));
        command
            .env_clear()
            .envs(&self.vars)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        command
    }

    /// Starts CLI `name` with `args` in [`Self::workspace`] (see [`Self::command`]).
    pub async fn spawn<S: AsRef<std::ffi::OsStr>>(&self, name: &str, args: &[S]) -> CliRun {
        let mut command = self.command(name, &self.workspace());
        command.args(args);
        let shown: Vec<_> = args.iter().map(|a| a.as_ref().to_string_lossy()).collect();
        CliRun::start(command, format!("{name} {}", shown.join(" "))).await
    }
}

/// `config.toml` for codex: custom provider `mock`, no update check, analytics, feedback or
/// plugin sync (which would look up `api.github.com` and `chatgpt.com`).
fn codex_config(base_url: &str) -> String {
    format!(
        r#"model = "{CODEX_MODEL}"
model_provider = "mock"
check_for_update_on_startup = false

[analytics]
enabled = false

[feedback]
enabled = false

[features]
plugins = false

[model_providers.mock]
name = "mock-llm"
base_url = "{base_url}/v1"
wire_api = "responses"
env_key = "MOCK_LLM_API_KEY"
request_max_retries = 1
stream_max_retries = 1
"#
    )
}

/// `settings.json` for gemini: API-key auth (else `GOOGLE_GEMINI_BASE_URL` selects the `gateway`
/// auth that headless mode rejects), no folder trust prompt, no update check, no telemetry.
fn gemini_settings() -> serde_json::Value {
    serde_json::json!({
        "security": {
            "auth": { "selectedType": "gemini-api-key" },
            "folderTrust": { "enabled": false }
        },
        "general": {
            "enableAutoUpdate": false,
            "enableAutoUpdateNotification": false,
            "maxAttempts": 1
        },
        "privacy": { "usageStatisticsEnabled": false },
        "telemetry": { "enabled": false }
    })
}
