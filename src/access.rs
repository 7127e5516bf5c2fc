//! Which files may leave the machine: the one check behind `<file:…>` sends, the
//! `/showfiles` browser and every other path a chat can name.
//!
//! `file_access` picks the roots (`all`, `home`, `workspace`); whatever the roots, a
//! deny-list of secrets applies — ductor's own config, `.env`, `agents.json`, `webhooks.json`, `run/`
//! and Matrix store of every agent, the CLIs' credential files, `~/.ssh`, `/proc`,
//! `/sys`, `/etc/shadow` — unless a path is listed in `file_access_allow`. A file is
//! opened once (the last component must not be a symlink), its real path is taken
//! from the open handle, and that handle is what gets uploaded: nothing can swap the
//! file between the check and the send.

use crate::config::AgentConfig;
use crate::paths::AgentPaths;
use std::fs::File;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Component, Path, PathBuf};

/// Why a path may not be sent or shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The file does not exist (or is not a regular file).
    Missing,
    /// It is outside the allowed roots (or a symlink).
    Outside,
    /// It holds secrets (config, credentials, keys).
    Secret,
}

/// A file opened for sending.
#[derive(Debug)]
pub struct Opened {
    /// The open file, positioned at its start.
    pub file: File,
    /// Its real path (from the handle).
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
}

/// The file rules of one agent.
#[derive(Debug, Clone)]
pub struct FileAccess {
    roots: Option<Vec<PathBuf>>,
    deny: Vec<PathBuf>,
    allow: Vec<PathBuf>,
}

/// `path` with symlinks resolved when it exists, else made absolute lexically.
pub fn real(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| lexical(path))
}

/// `path` made absolute and without `.`/`..`, without touching the file system.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The secrets of the CLIs and of the user, wherever their configured homes are.
/// Secrets of the user, under their home, that no agent needs: never sent as files,
/// covered inside a bubblewrap sandbox.
pub const USER_SECRETS: &[&str] = &[
    ".ssh",
    ".gnupg",
    ".netrc",
    ".aws",
    ".config/gcloud",
    ".docker/config.json",
    ".kube",
    ".git-credentials",
];

fn credential_paths(env: &impl Fn(&str) -> Option<String>, user_home: &Path) -> Vec<PathBuf> {
    let dir = |var: &str, default: &str| {
        env(var)
            .filter(|v| !v.trim().is_empty())
            .map_or_else(|| user_home.join(default), PathBuf::from)
    };
    let claude = dir("CLAUDE_CONFIG_DIR", ".claude");
    let codex = dir("CODEX_HOME", ".codex");
    let gemini = env("GEMINI_CLI_HOME")
        .filter(|v| !v.trim().is_empty())
        .map_or_else(|| user_home.to_path_buf(), PathBuf::from)
        .join(".gemini");
    let mut paths = vec![
        claude.join(".credentials.json"),
        user_home.join(".claude.json"),
        codex.join("auth.json"),
        gemini.join("oauth_creds.json"),
        gemini.join(".env"),
        gemini.join("google_accounts.json"),
    ];
    paths.extend(USER_SECRETS.iter().map(|p| user_home.join(p)));
    paths.extend([
        PathBuf::from("/proc"),
        PathBuf::from("/sys"),
        PathBuf::from("/etc/shadow"),
        PathBuf::from("/etc/gshadow"),
        PathBuf::from("/etc/sudoers"),
    ]);
    paths
}

/// What of one agent home holds secrets.
fn home_secrets(root: &Path) -> [PathBuf; 6] {
    [
        root.join("config"),
        root.join(".env"),
        root.join("run"),
        root.join("matrix_store"),
        root.join("agents.json"),
        // Each hook's bearer token and HMAC secret.
        root.join("webhooks.json"),
    ]
}

impl FileAccess {
    /// The rules of the agent at `paths` under `config`, with the process environment.
    pub fn new(config: &AgentConfig, paths: &AgentPaths) -> Self {
        Self::with_env(
            config,
            paths,
            &|k| std::env::var(k).ok(),
            &crate::paths::user_home(),
        )
    }

    /// The rules with an explicit environment and user home (tests).
    pub fn with_env(
        config: &AgentConfig,
        paths: &AgentPaths,
        env: &impl Fn(&str) -> Option<String>,
        user_home: &Path,
    ) -> Self {
        let roots = match config.file_access.trim().to_ascii_lowercase().as_str() {
            "all" => None,
            "home" => Some(vec![real(user_home)]),
            _ => Some(vec![real(&paths.workspace())]),
        };
        let home = paths.home();
        let mut deny: Vec<PathBuf> = home_secrets(home.root()).to_vec();
        if let Ok(agents) = std::fs::read_dir(home.agents_dir()) {
            for a in agents.flatten() {
                deny.extend(home_secrets(&a.path()));
            }
        }
        deny.extend(home_secrets(paths.root()));
        deny.extend(credential_paths(env, user_home));
        let deny = deny.iter().map(|p| real(p)).collect();
        let allow = config
            .file_access_allow
            .iter()
            .filter(|a| !a.trim().is_empty())
            .map(|a| real(&crate::paths::expand_tilde(Path::new(a.trim()))))
            .collect();
        Self { roots, deny, allow }
    }

    /// Whether the real path `path` holds secrets (and is not explicitly allowed).
    pub fn is_secret(&self, path: &Path) -> bool {
        self.deny.iter().any(|d| path.starts_with(d))
            && !self.allow.iter().any(|a| path.starts_with(a))
    }

    /// Whether the real path `path` is inside the allowed roots.
    pub fn in_roots(&self, path: &Path) -> bool {
        self.roots
            .as_ref()
            .is_none_or(|roots| roots.iter().any(|r| path.starts_with(r)))
    }

    /// Checks a real path (of something already resolved, like a folder to list).
    pub fn check_real(&self, path: &Path) -> Result<(), Refusal> {
        if self.is_secret(path) {
            return Err(Refusal::Secret);
        }
        if !self.in_roots(path) {
            return Err(Refusal::Outside);
        }
        Ok(())
    }

    /// Opens the file `raw` names (relative to `cwd`) for sending, if the rules allow it.
    pub fn open(&self, raw: &str, cwd: &Path) -> Result<Opened, Refusal> {
        if raw
            .chars()
            .any(|c| c == '\0' || (c.is_control() && c != '\n'))
        {
            return Err(Refusal::Outside);
        }
        let given = Path::new(raw.trim());
        let path = if given.is_absolute() {
            given.to_path_buf()
        } else {
            cwd.join(given)
        };
        // Refuse secrets by name first: a missing credential file is not "missing".
        if self.is_secret(&lexical(&path)) {
            return Err(Refusal::Secret);
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(
                nix::fcntl::OFlag::O_NOFOLLOW.bits() | nix::fcntl::OFlag::O_NONBLOCK.bits(),
            )
            .open(&path)
            .map_err(|e| match e.raw_os_error() {
                Some(code) if code == nix::errno::Errno::ELOOP as i32 => Refusal::Outside,
                _ => Refusal::Missing,
            })?;
        let meta = file.metadata().map_err(|_| Refusal::Missing)?;
        if !meta.is_file() {
            return Err(Refusal::Missing);
        }
        let real = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))
            .map_err(|_| Refusal::Outside)?;
        self.check_real(&real)?;
        Ok(Opened {
            file,
            path: real,
            size: meta.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    struct Rig {
        dir: tempfile::TempDir,
        paths: AgentPaths,
        user: PathBuf,
    }

    fn rig() -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let user = dir.path().join("user");
        let paths = crate::paths::Home::new(user.join(".ductor")).main();
        crate::home::seed_agent_home(&paths).unwrap();
        for d in [".claude", ".codex", ".ssh", "project"] {
            std::fs::create_dir_all(user.join(d)).unwrap();
        }
        std::fs::write(user.join(".claude/.credentials.json"), "{}").unwrap();
        std::fs::write(user.join(".codex/auth.json"), "{}").unwrap();
        std::fs::write(user.join(".ssh/id_ed25519"), "key").unwrap();
        std::fs::write(paths.config_file(), "{\"telegram_token\": \"1:x\"}").unwrap();
        std::fs::write(paths.webhooks_file(), "{\"hooks\": {}}").unwrap();
        std::fs::write(paths.workspace().join("report.txt"), "ok").unwrap();
        std::fs::write(user.join("project/notes.md"), "ok").unwrap();
        let sub = paths.home().agent("helper");
        std::fs::create_dir_all(sub.config_dir()).unwrap();
        std::fs::write(sub.config_dir().join("config.json"), "{}").unwrap();
        Rig { dir, paths, user }
    }

    fn access(r: &Rig, config: &AgentConfig) -> FileAccess {
        FileAccess::with_env(config, &r.paths, &|_| None, &r.user)
    }

    #[test]
    fn secrets_are_refused_even_with_file_access_all() {
        let r = rig();
        let a = access(&r, &AgentConfig::default());
        let ws = r.paths.workspace();
        let secrets = [
            r.paths.config_file(),
            r.paths.home().agents_file(),
            r.paths.webhooks_file(),
            r.paths
                .home()
                .agent("helper")
                .config_dir()
                .join("config.json"),
            r.user.join(".claude/.credentials.json"),
            r.user.join(".codex/auth.json"),
            r.user.join(".ssh/id_ed25519"),
            PathBuf::from("/proc/self/environ"),
            PathBuf::from("/etc/shadow"),
        ];
        for s in &secrets {
            let err = a.open(s.to_str().unwrap(), &ws).unwrap_err();
            assert_eq!(err, Refusal::Secret, "{}", s.display());
        }
        // Through `..` and relative to the turn's directory it is the same file.
        let sneaky = format!("{}/../config/config.json", ws.display());
        assert_eq!(a.open(&sneaky, &ws).unwrap_err(), Refusal::Secret);
        assert_eq!(
            a.open("../config/config.json", &ws).unwrap_err(),
            Refusal::Secret
        );
        // A symlink to a secret is refused as the last component.
        symlink(r.paths.config_file(), ws.join("innocent.txt")).unwrap();
        assert_ne!(a.open("innocent.txt", &ws).map(|_| ()), Ok(()));
        // A directory symlink on the way is followed, and the real path decides.
        symlink(r.paths.config_dir(), ws.join("cfg")).unwrap();
        assert_eq!(a.open("cfg/config.json", &ws).unwrap_err(), Refusal::Secret);
        // Ordinary files go.
        let ok = a.open("report.txt", &ws).unwrap();
        assert_eq!(
            (ok.size, ok.path.clone()),
            (2, ws.join("report.txt").canonicalize().unwrap())
        );
        let project = r.user.join("project/notes.md");
        assert!(a.open(project.to_str().unwrap(), &ws).is_ok());
        drop(r.dir);
    }

    #[test]
    fn an_explicit_allow_lifts_the_deny_list_and_roots_still_apply() {
        let r = rig();
        let ws = r.paths.workspace();
        let allowed = AgentConfig {
            file_access_allow: vec![r.user.join(".ssh").display().to_string()],
            ..AgentConfig::default()
        };
        let a = access(&r, &allowed);
        assert!(
            a.open(r.user.join(".ssh/id_ed25519").to_str().unwrap(), &ws)
                .is_ok()
        );
        assert_eq!(
            a.open(r.paths.config_file().to_str().unwrap(), &ws)
                .unwrap_err(),
            Refusal::Secret
        );
        let workspace_only = AgentConfig {
            file_access: "workspace".into(),
            ..AgentConfig::default()
        };
        let a = access(&r, &workspace_only);
        assert!(a.open("report.txt", &ws).is_ok());
        assert_eq!(
            a.open(r.user.join("project/notes.md").to_str().unwrap(), &ws)
                .unwrap_err(),
            Refusal::Outside
        );
        assert_eq!(a.open("nope.txt", &ws).unwrap_err(), Refusal::Missing);
        assert_eq!(
            a.open(ws.to_str().unwrap(), &ws).unwrap_err(),
            Refusal::Missing
        );
        assert_eq!(a.open("/etc/\0passwd", &ws).unwrap_err(), Refusal::Outside);
    }
}
