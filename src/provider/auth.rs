//! Whether each provider CLI is installed and signed in, decided from files and
//! environment variables only: no network, no CLI spawned.
//!
//! Inputs are explicit (the environment as a map, the user's home directory) so the
//! checks run the same under test. Rules:
//! - claude: `.credentials.json` in `$CLAUDE_CONFIG_DIR` (default `~/.claude`) →
//!   authenticated since its mtime; else `ANTHROPIC_API_KEY` / `CLAUDE_CODE_OAUTH_TOKEN`
//!   set → authenticated; else the config dir or the `claude` binary exists → installed.
//! - codex: `auth.json` in `$CODEX_HOME` (default `~/.codex`) → authenticated since its
//!   mtime; else `OPENAI_API_KEY` / `CODEX_API_KEY` set → authenticated; else its
//!   `config.toml` selects a `model_provider` that needs no `codex login`: a
//!   `[model_providers.<id>]` whose `env_key` variable is set, or one without
//!   `env_key` and without `requires_openai_auth = true`, or codex's local `oss` /
//!   `ollama` / `lmstudio` → authenticated; else the home or the binary exists →
//!   installed.
//! - gemini: the `gemini` binary must be on `PATH` (else not found); then
//!   `oauth_creds.json` in `$GEMINI_CLI_HOME/.gemini` (default `~/.gemini`), a
//!   `GEMINI_API_KEY` / `GOOGLE_API_KEY` (or a Vertex AI project + location) in the
//!   environment or in `.gemini/.env` / `~/.env`, or a `security.auth.selectedType` in
//!   `.gemini/settings.json` → authenticated; else installed.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::ProviderKind;

/// Availability of one provider CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthStatus {
    /// Usable: credentials (or an API key) are present.
    Authenticated {
        /// When the credentials were written, if they are a file.
        since: Option<SystemTime>,
    },
    /// The CLI is there but not signed in.
    Installed,
    /// Neither the CLI nor its configuration was found.
    NotFound,
}

impl AuthStatus {
    /// Whether the provider can run turns.
    pub fn is_authenticated(self) -> bool {
        matches!(self, AuthStatus::Authenticated { .. })
    }
}

/// What the checks look at: the environment and the user's home directory.
#[derive(Debug, Clone, Copy)]
pub struct AuthEnv<'a> {
    /// Environment variables (also `PATH` for finding binaries).
    pub env: &'a HashMap<String, String>,
    /// The user's home directory (`~`).
    pub home: &'a Path,
}

impl AuthEnv<'_> {
    /// A non-empty (after trimming) environment variable.
    fn var(&self, name: &str) -> Option<&str> {
        self.env
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// `$var` when set, else `~/default`.
    fn dir(&self, var: &str, default: &str) -> PathBuf {
        self.var(var)
            .map_or_else(|| self.home.join(default), PathBuf::from)
    }

    fn binary(&self, name: &str) -> Option<PathBuf> {
        which(name, self.var("PATH").unwrap_or_default())
    }
}

/// The environment the CLIs of the agent at `paths` get — ductor's own plus the
/// agent's `.env` (never overriding) — and the home folder it names.
pub fn agent_env(paths: &crate::paths::AgentPaths) -> (HashMap<String, String>, PathBuf) {
    let mut env: HashMap<String, String> = std::env::vars().collect();
    for (k, v) in crate::config::env_file::load(&paths.env_file()) {
        env.entry(k).or_insert(v);
    }
    let home = env
        .get("HOME")
        .filter(|h| !h.is_empty())
        .map_or_else(crate::paths::user_home, PathBuf::from);
    (env, home)
}

/// Availability of every provider as the CLIs of the agent at `paths` would see it:
/// ductor's environment plus the agent's `.env`, no network, nothing spawned.
pub fn for_agent(paths: &crate::paths::AgentPaths) -> BTreeMap<ProviderKind, AuthStatus> {
    let (env, home) = agent_env(paths);
    check_all(AuthEnv {
        env: &env,
        home: &home,
    })
}

/// The providers the agent at `paths` can run now (installed and logged in).
pub fn ready(paths: &crate::paths::AgentPaths) -> Vec<ProviderKind> {
    for_agent(paths)
        .into_iter()
        .filter(|(_, s)| s.is_authenticated())
        .map(|(p, _)| p)
        .collect()
}

/// Finds an executable `name` in a `PATH`-style list of directories.
pub fn which(name: &str, path_var: &str) -> Option<PathBuf> {
    if name.is_empty() || name.contains('/') {
        return None;
    }
    std::env::split_paths(path_var)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Checks one provider.
pub fn check_auth(provider: ProviderKind, env: AuthEnv<'_>) -> AuthStatus {
    match provider {
        ProviderKind::Claude => check_claude(env),
        ProviderKind::Codex => check_codex(env),
        ProviderKind::Gemini => check_gemini(env),
    }
}

/// Checks every provider.
pub fn check_all(env: AuthEnv<'_>) -> BTreeMap<ProviderKind, AuthStatus> {
    ProviderKind::ALL
        .iter()
        .map(|p| (*p, check_auth(*p, env)))
        .collect()
}

/// `Authenticated` with the file's mtime when `path` is a non-empty file.
fn file_auth(path: &Path) -> Option<AuthStatus> {
    let meta = fs::metadata(path).ok()?;
    (meta.is_file() && meta.len() > 0).then(|| AuthStatus::Authenticated {
        since: meta.modified().ok(),
    })
}

const KEY_AUTH: AuthStatus = AuthStatus::Authenticated { since: None };

fn check_claude(env: AuthEnv<'_>) -> AuthStatus {
    let dir = env.dir("CLAUDE_CONFIG_DIR", ".claude");
    if let Some(status) = file_auth(&dir.join(".credentials.json")) {
        return status;
    }
    if env.var("ANTHROPIC_API_KEY").is_some() || env.var("CLAUDE_CODE_OAUTH_TOKEN").is_some() {
        return KEY_AUTH;
    }
    if dir.is_dir() || env.binary("claude").is_some() {
        AuthStatus::Installed
    } else {
        AuthStatus::NotFound
    }
}

fn check_codex(env: AuthEnv<'_>) -> AuthStatus {
    let home = env.dir("CODEX_HOME", ".codex");
    if let Some(status) = file_auth(&home.join("auth.json")) {
        return status;
    }
    if env.var("OPENAI_API_KEY").is_some() || env.var("CODEX_API_KEY").is_some() {
        return KEY_AUTH;
    }
    let config = fs::read_to_string(home.join("config.toml")).ok();
    if config
        .as_deref()
        .is_some_and(|c| codex_provider_is_usable(c, env))
    {
        return KEY_AUTH;
    }
    if config.is_some()
        || home.join("version.json").is_file()
        || home.is_dir()
        || env.binary("codex").is_some()
    {
        AuthStatus::Installed
    } else {
        AuthStatus::NotFound
    }
}

/// Whether `config.toml` selects a model provider that works without
/// `codex login` (see the module docs).
fn codex_provider_is_usable(config: &str, env: AuthEnv<'_>) -> bool {
    let toml = MiniToml::parse(config);
    let Some(provider) = toml.get("", "model_provider") else {
        return false;
    };
    if matches!(provider, "oss" | "ollama" | "lmstudio") {
        return true;
    }
    let table = format!("model_providers.{provider}");
    if !toml.has_table(&table) {
        return false;
    }
    match toml.get(&table, "env_key") {
        Some(key) => env.var(key).is_some(),
        None => toml.get(&table, "requires_openai_auth") != Some("true"),
    }
}

fn check_gemini(env: AuthEnv<'_>) -> AuthStatus {
    if env.binary("gemini").is_none() {
        return AuthStatus::NotFound;
    }
    let dir = env
        .var("GEMINI_CLI_HOME")
        .map_or_else(|| env.home.to_path_buf(), PathBuf::from)
        .join(".gemini");
    if let Some(status) = file_auth(&dir.join("oauth_creds.json")) {
        return status;
    }
    let vars = |get: &dyn Fn(&str) -> bool| {
        get("GEMINI_API_KEY")
            || get("GOOGLE_API_KEY")
            || (get("GOOGLE_CLOUD_PROJECT") && get("GOOGLE_CLOUD_LOCATION"))
    };
    if vars(&|name| env.var(name).is_some()) {
        return KEY_AUTH;
    }
    for dotenv in [dir.join(".env"), env.home.join(".env")] {
        let Ok(text) = fs::read_to_string(&dotenv) else {
            continue;
        };
        let entries = parse_dotenv(&text);
        if vars(&|name| entries.get(name).is_some_and(|v| !v.trim().is_empty())) {
            return file_auth(&dotenv).unwrap_or(KEY_AUTH);
        }
    }
    let settings = dir.join("settings.json");
    if let Ok(text) = fs::read_to_string(&settings)
        && gemini_selected_auth(&text).is_some()
    {
        return file_auth(&settings).unwrap_or(KEY_AUTH);
    }
    AuthStatus::Installed
}

/// `security.auth.selectedType` of a gemini `settings.json` (comments allowed).
fn gemini_selected_auth(settings: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(&strip_json_comments(settings)).ok()?;
    value
        .pointer("/security/auth/selectedType")
        .and_then(serde_json::Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .map(str::to_owned)
}

/// Removes `//` and `/* */` comments outside strings (gemini's settings allow them).
fn strip_json_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                '\\' => {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                }
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match (c, chars.peek()) {
            ('"', _) => {
                in_string = true;
                out.push(c);
            }
            ('/', Some('/')) => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut prev = ' ';
                for n in chars.by_ref() {
                    if prev == '*' && n == '/' {
                        break;
                    }
                    prev = n;
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// `KEY=value` lines of a `.env` file (`export`, quotes and comments handled).
fn parse_dotenv(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let line = line.strip_prefix("export ").unwrap_or(line);
            if line.starts_with('#') {
                return None;
            }
            let (key, value) = line.split_once('=')?;
            Some((key.trim().to_owned(), unquote(value.trim())))
        })
        .collect()
}

fn unquote(value: &str) -> String {
    for q in ['"', '\''] {
        if let Some(inner) = value.strip_prefix(q).and_then(|v| v.strip_suffix(q)) {
            return inner.to_owned();
        }
    }
    value
        .split(" #")
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// Just enough TOML for codex's `config.toml`: `[table]` headers and `key = value`
/// lines with string, boolean or bare values; dotted keys extend the table name.
struct MiniToml {
    /// (table, key) → value, strings unquoted.
    entries: HashMap<(String, String), String>,
    tables: Vec<String>,
}

impl MiniToml {
    fn parse(text: &str) -> Self {
        let mut entries = HashMap::new();
        let mut tables = Vec::new();
        let mut table = String::new();
        for line in text.lines() {
            let line = strip_toml_comment(line).trim();
            if line.is_empty() {
                continue;
            }
            if let Some(header) = line.strip_prefix('[') {
                let header = header.trim_start_matches('[');
                let name = header.split(']').next().unwrap_or_default();
                table = normalize_key(name);
                tables.push(table.clone());
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let key = normalize_key(key);
            let (prefix, key) = match key.rsplit_once('.') {
                Some((p, k)) => (p.to_owned(), k.to_owned()),
                None => (String::new(), key),
            };
            let full_table = match (table.is_empty(), prefix.is_empty()) {
                (_, true) => table.clone(),
                (true, false) => prefix,
                (false, false) => format!("{table}.{prefix}"),
            };
            if !full_table.is_empty() && !tables.contains(&full_table) {
                tables.push(full_table.clone());
            }
            entries.insert((full_table, key), unquote(value.trim()));
        }
        MiniToml { entries, tables }
    }

    fn get(&self, table: &str, key: &str) -> Option<&str> {
        self.entries
            .get(&(table.to_owned(), key.to_owned()))
            .map(String::as_str)
    }

    fn has_table(&self, table: &str) -> bool {
        self.tables.iter().any(|t| t == table)
    }
}

/// `a . "b" .c` → `a.b.c`.
fn normalize_key(key: &str) -> String {
    key.split('.')
        .map(|part| part.trim().trim_matches(['"', '\'']))
        .collect::<Vec<_>>()
        .join(".")
}

/// Cuts a `#` comment that is not inside a quoted string.
fn strip_toml_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '#') => return &line[..i],
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    struct Fixture {
        dir: tempfile::TempDir,
        env: HashMap<String, String>,
    }

    impl Fixture {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            fs::create_dir_all(dir.path().join("home")).unwrap();
            fs::create_dir_all(dir.path().join("bin")).unwrap();
            let mut env = HashMap::new();
            env.insert(
                "PATH".to_owned(),
                format!("/nonexistent:{}", dir.path().join("bin").display()),
            );
            Fixture { dir, env }
        }
        fn home(&self) -> PathBuf {
            self.dir.path().join("home")
        }
        fn file(&self, rel: &str, content: &str) -> &Self {
            let path = self.dir.path().join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, content).unwrap();
            self
        }
        fn binary(&self, name: &str) -> &Self {
            let path = self.dir.path().join("bin").join(name);
            fs::write(&path, "#!/bin/sh\n").unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
            self
        }
        fn set(&mut self, key: &str, value: &str) -> &mut Self {
            self.env.insert(key.to_owned(), value.to_owned());
            self
        }
        fn path(&self, rel: &str) -> String {
            self.dir.path().join(rel).display().to_string()
        }
        fn check(&self, provider: ProviderKind) -> AuthStatus {
            let home = self.home();
            check_auth(
                provider,
                AuthEnv {
                    env: &self.env,
                    home: &home,
                },
            )
        }
    }

    fn authed(s: AuthStatus) -> bool {
        s.is_authenticated()
    }

    #[test]
    fn which_finds_executables_only() {
        let f = Fixture::new();
        f.binary("tool");
        f.file("bin/plain", "not executable");
        let path = f.env["PATH"].clone();
        assert_eq!(which("tool", &path), Some(f.dir.path().join("bin/tool")));
        assert_eq!(which("plain", &path), None);
        assert_eq!(which("missing", &path), None);
        assert_eq!(which("tool", ""), None);
        assert_eq!(which("", &path), None);
        assert_eq!(which("bin/tool", &path), None);
    }

    #[test]
    fn claude_table() {
        use AuthStatus::{Installed, NotFound};
        let f = Fixture::new();
        assert_eq!(f.check(ProviderKind::Claude), NotFound);
        f.binary("claude");
        assert_eq!(f.check(ProviderKind::Claude), Installed);

        let f = Fixture::new();
        f.file("home/.claude/settings.json", "{}");
        assert_eq!(f.check(ProviderKind::Claude), Installed);
        f.file("home/.claude/.credentials.json", "{\"claudeAiOauth\":{}}");
        match f.check(ProviderKind::Claude) {
            AuthStatus::Authenticated { since } => assert!(since.is_some()),
            other => panic!("{other:?}"),
        }

        // The test-suite setup: CLAUDE_CONFIG_DIR + ANTHROPIC_API_KEY.
        let mut f = Fixture::new();
        let cfg = f.path("state/claude");
        f.set("CLAUDE_CONFIG_DIR", &cfg)
            .set("ANTHROPIC_API_KEY", "anything");
        assert_eq!(
            f.check(ProviderKind::Claude),
            AuthStatus::Authenticated { since: None }
        );
        // An empty key does not count; credentials in CLAUDE_CONFIG_DIR do, ~/.claude not.
        f.set("ANTHROPIC_API_KEY", " ");
        f.file("home/.claude/.credentials.json", "{}");
        assert_eq!(f.check(ProviderKind::Claude), NotFound);
        f.file("state/claude/.credentials.json", "{}");
        assert!(authed(f.check(ProviderKind::Claude)));
        // Empty credentials file: not signed in.
        let f = Fixture::new();
        f.file("home/.claude/.credentials.json", "");
        assert_eq!(f.check(ProviderKind::Claude), Installed);
    }

    #[test]
    fn codex_table() {
        use AuthStatus::{Installed, NotFound};
        let mut f = Fixture::new();
        assert_eq!(f.check(ProviderKind::Codex), NotFound);
        f.binary("codex");
        assert_eq!(f.check(ProviderKind::Codex), Installed);
        f.set("OPENAI_API_KEY", "sk-x");
        assert!(authed(f.check(ProviderKind::Codex)));

        let f = Fixture::new();
        f.file(
            "home/.codex/auth.json",
            "{\"OPENAI_API_KEY\":null,\"tokens\":{}}",
        );
        assert!(matches!(
            f.check(ProviderKind::Codex),
            AuthStatus::Authenticated { since: Some(_) }
        ));

        // The test-suite setup: CODEX_HOME with a custom provider whose env_key is set.
        let config = r##"
model = "gpt-5.5"            # a slug codex knows
model_provider = "mock"
check_for_update_on_startup = false
[analytics]
enabled = false
[model_providers.mock]
name = "mock-llm"
base_url = "http://127.0.0.1:1234/v1"   # not "#" in a string
wire_api = "responses"
env_key = "MOCK_LLM_API_KEY"
request_max_retries = 1
"##;
        let mut f = Fixture::new();
        let home = f.path("state/codex");
        f.set("CODEX_HOME", &home);
        f.file("state/codex/config.toml", config);
        assert_eq!(f.check(ProviderKind::Codex), Installed, "key not set yet");
        f.set("MOCK_LLM_API_KEY", "anything");
        assert_eq!(
            f.check(ProviderKind::Codex),
            AuthStatus::Authenticated { since: None }
        );

        // Providers that need no key, or that point nowhere.
        let cases = [
            ("model_provider = \"oss\"\n", true),
            (
                "model_provider = \"local\"\n[model_providers.local]\nbase_url = \"http://x\"\n",
                true,
            ),
            (
                "model_provider = \"p\"\n[model_providers.p]\nrequires_openai_auth = true\n",
                false,
            ),
            ("model_provider = \"missing\"\n", false),
            (
                "model_providers.q.env_key = \"MOCK_LLM_API_KEY\"\nmodel_provider = 'q'\n",
                true,
            ),
            ("model_provider = \"openai\"\n", false),
            ("[profiles.x]\nmodel_provider = \"oss\"\n", false),
        ];
        for (config, want) in cases {
            let mut f = Fixture::new();
            f.set("MOCK_LLM_API_KEY", "k");
            f.file("home/.codex/config.toml", config);
            assert_eq!(authed(f.check(ProviderKind::Codex)), want, "{config}");
        }
    }

    #[test]
    fn gemini_table() {
        use AuthStatus::{Installed, NotFound};
        // No binary: not found, whatever the credentials.
        let mut f = Fixture::new();
        f.set("GEMINI_API_KEY", "k");
        f.file("home/.gemini/oauth_creds.json", "{}");
        assert_eq!(f.check(ProviderKind::Gemini), NotFound);

        let f = Fixture::new();
        f.binary("gemini");
        assert_eq!(f.check(ProviderKind::Gemini), Installed);
        f.file("home/.gemini/oauth_creds.json", "{\"access_token\":\"x\"}");
        assert!(matches!(
            f.check(ProviderKind::Gemini),
            AuthStatus::Authenticated { since: Some(_) }
        ));

        let dotenvs = [
            (
                "home/.gemini/.env",
                "# comment\nexport GEMINI_API_KEY=\"abc\"\n",
                true,
            ),
            ("home/.env", "GOOGLE_API_KEY=abc # trailing\n", true),
            ("home/.env", "GEMINI_API_KEY=\n", false),
            (
                "home/.env",
                "GOOGLE_CLOUD_PROJECT=p\nGOOGLE_CLOUD_LOCATION=us\n",
                true,
            ),
            ("home/.env", "GOOGLE_CLOUD_PROJECT=p\n", false),
        ];
        for (path, content, want) in dotenvs {
            let f = Fixture::new();
            f.binary("gemini").file(path, content);
            assert_eq!(
                authed(f.check(ProviderKind::Gemini)),
                want,
                "{path}: {content}"
            );
        }

        let mut f = Fixture::new();
        f.binary("gemini");
        f.set("GOOGLE_API_KEY", "k");
        assert_eq!(
            f.check(ProviderKind::Gemini),
            AuthStatus::Authenticated { since: None }
        );

        // The test-suite setup: GEMINI_CLI_HOME with settings selectedType + GEMINI_API_KEY.
        let settings = r#"{
  // comments are allowed
  "security": { "auth": { "selectedType": "gemini-api-key" }, "folderTrust": { "enabled": false } },
  /* block */ "general": { "enableAutoUpdate": false, "url": "http://x//y" }
}"#;
        let mut f = Fixture::new();
        f.binary("gemini");
        let home = f.path("state/gemini-home");
        f.set("GEMINI_CLI_HOME", &home);
        f.file("state/gemini-home/.gemini/settings.json", settings);
        assert!(authed(f.check(ProviderKind::Gemini)));
        f.set("GEMINI_API_KEY", "anything");
        assert!(authed(f.check(ProviderKind::Gemini)));
        // Settings without selectedType and no key: installed only.
        let f = Fixture::new();
        f.binary("gemini")
            .file("home/.gemini/settings.json", r#"{"general":{}}"#);
        assert_eq!(f.check(ProviderKind::Gemini), Installed);
    }

    #[test]
    fn check_all_covers_every_provider() {
        let f = Fixture::new();
        let home = f.home();
        let all = check_all(AuthEnv {
            env: &f.env,
            home: &home,
        });
        assert_eq!(all.len(), 3);
        assert!(all.values().all(|s| *s == AuthStatus::NotFound));
    }
}
