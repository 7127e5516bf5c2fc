//! The container backends (Docker, podman): one long-lived container per ductor
//! home, shared by its agents, made from the sandbox image on first use, made again
//! when it died, was removed or its settings changed, and removed when the
//! supervisor stops. Runs enter it with `<engine> exec`.
//!
//! Paths are the same inside as outside: each agent's workspace and scratch
//! directory are mounted at their host paths, so a working directory, a prompt file,
//! `DUCTOR_*` paths and the `<file:…>` paths an answer names mean the same on both
//! sides. Nothing else of the ductor home is mounted (no `config/`, `.env`,
//! `agents.json`, `run/`). The container's `HOME` is `/home/node`, backed by
//! `<home>/sandbox/home`; the CLI credential directories the user chose are mounted
//! into it; user mounts land at `/mnt/<name>`.
//!
//! Secrets never appear in an engine's argv or in `docker inspect`: a run's
//! environment is handed over by name (`-e NAME`, the engine client reads the value
//! from its own environment), and the container itself is created without any.
//!
//! Every process of a run carries `DUCTOR_SANDBOX_RUN=<id>` in its environment: the
//! engine's client does not forward signals into the container, so stop signals
//! (and the final clean-up) find the run's processes by that mark.

use crate::config::sandbox::{Backend, SandboxSettings};
use crate::paths::{AgentPaths, Home};
use crate::provider::env;
use crate::provider::runner::{RunRequest, RunSignals, resolve_program};
use nix::sys::signal::Signal;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::process::Command;

/// `HOME` inside the container.
pub const CONTAINER_HOME: &str = "/home/node";
/// Where ductor's own binaries are mounted (read-only) for the agent tools.
pub const CONTAINER_BIN: &str = "/opt/ductor/bin";
/// The environment mark of a run's processes.
pub const RUN_MARK: &str = "DUCTOR_SANDBOX_RUN";
/// Label naming the ductor home a container belongs to.
const HOME_LABEL: &str = "ductor.home";
/// Label holding the hash of the container's settings.
const SPEC_LABEL: &str = "ductor.spec";
/// How long one engine command (but a build) may take.
const ENGINE_TIMEOUT: Duration = Duration::from_mins(2);

/// Signals the processes carrying `mark=$2`, with signal `$1`; never itself.
const SWEEP: &str = r#"sig=$1; mark="$2"; n=0
for d in /proc/[0-9]*; do
  p=${d#/proc/}
  [ "$p" = "$$" ] && continue
  if tr '\000' '\n' < "$d/environ" 2>/dev/null | grep -qxF "$mark"; then
    kill -s "$sig" "$p" 2>/dev/null && n=$((n+1))
  fi
done
echo "$n""#;

/// Environment variables of the engine's client itself (where the daemon is, its
/// config), never the CLI's.
const CLIENT_VARS: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LANG",
    "XDG_RUNTIME_DIR",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "DOCKER_HOST",
    "DOCKER_CONTEXT",
    "DOCKER_CONFIG",
    "DOCKER_CERT_PATH",
    "DOCKER_TLS_VERIFY",
    "DOCKER_BUILDKIT",
    "CONTAINER_HOST",
    "CONTAINERS_CONF",
    "CONTAINERS_STORAGE_CONF",
    "CONTAINERS_REGISTRIES_CONF",
    "REGISTRY_AUTH_FILE",
    "TMPDIR",
];

/// Prefixes of host variables a CLI inside needs (API keys, base URLs, its options).
const CLI_PREFIXES: &[&str] = &[
    "ANTHROPIC_",
    "CLAUDE_",
    "OPENAI_",
    "CODEX_",
    "GEMINI_",
    "GOOGLE_",
    "DUCTOR_",
    "DISABLE_",
];

/// Single host variables a CLI inside may need.
const CLI_VARS: &[&str] = &[
    "TZ",
    "LANG",
    "LC_ALL",
    "NO_COLOR",
    "IS_SANDBOX",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
];

/// A container engine on this machine.
#[derive(Debug, Clone)]
pub struct Engine {
    /// `docker` or `podman`.
    pub name: &'static str,
    /// The resolved client binary.
    pub program: PathBuf,
    /// The client's environment.
    env: Vec<(OsString, OsString)>,
}

/// What `inspect` says of the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerState {
    /// Whether it runs.
    pub running: bool,
    /// Its `ductor.home` label.
    pub home: String,
    /// Its `ductor.spec` label.
    pub spec: String,
    /// Its `PATH` (from the image).
    pub path: String,
}

fn first_line(text: &[u8]) -> String {
    let text = String::from_utf8_lossy(text);
    let line = text
        .lines()
        .map(str::trim)
        .rev()
        .find(|l| !l.is_empty())
        .unwrap_or("no output");
    crate::provider::parse::truncate_chars(line, 300)
}

impl Engine {
    /// Finds the engine of `backend` on the `PATH` of this process.
    pub fn find(backend: &Backend) -> Result<Self, String> {
        let name = backend
            .engine()
            .ok_or_else(|| format!("{} is not a container backend", backend.name()))?;
        let env: Vec<(OsString, OsString)> = std::env::vars_os()
            .filter(|(k, _)| CLIENT_VARS.iter().any(|c| k == c))
            .collect();
        let program = resolve_program(name, &env)
            .ok_or_else(|| format!("`{name}` is not installed on the server"))?;
        Ok(Self { name, program, env })
    }

    /// A client command with a clean environment (the client's own variables only).
    pub fn command(&self) -> Command {
        let mut c = Command::new(&self.program);
        c.env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        c
    }

    /// Runs `args`; `Ok(stdout)` on success, else the engine's last error line.
    pub async fn run(&self, args: &[&str]) -> Result<String, String> {
        let mut c = self.command();
        c.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        let out = match tokio::time::timeout(ENGINE_TIMEOUT, c.output()).await {
            Ok(Ok(out)) => out,
            Ok(Err(e)) => return Err(format!("cannot run `{}`: {e}", self.name)),
            Err(_) => return Err(format!("`{} {}` did not answer", self.name, args[0])),
        };
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        } else {
            Err(first_line(&out.stderr))
        }
    }

    /// The daemon's version, or why it cannot be reached.
    pub async fn server_version(&self) -> Result<String, String> {
        let format = if self.name == "podman" {
            "{{.Version}}"
        } else {
            "{{.Server.Version}}"
        };
        self.run(&["version", "--format", format])
            .await
            .map_err(|e| format!("the {} engine is not reachable ({e})", self.name))
    }

    /// Whether `image` exists locally.
    pub async fn image_exists(&self, image: &str) -> bool {
        self.run(&["image", "inspect", "--format", "{{.Id}}", image])
            .await
            .is_ok()
    }

    /// The container's state; `Ok(None)` when there is none of that name.
    pub async fn state(&self, name: &str) -> Result<Option<ContainerState>, String> {
        let format = format!(
            "{{{{.State.Running}}}}|{{{{index .Config.Labels \"{HOME_LABEL}\"}}}}|{{{{index .Config.Labels \"{SPEC_LABEL}\"}}}}|{{{{json .Config.Env}}}}"
        );
        match self
            .run(&["container", "inspect", "--format", &format, name])
            .await
        {
            Ok(out) => {
                let mut parts = out.splitn(4, '|');
                let running = parts.next() == Some("true");
                let clean = |s: Option<&str>| {
                    s.unwrap_or_default()
                        .trim()
                        .trim_start_matches("<no value>")
                        .to_owned()
                };
                let home = clean(parts.next());
                let spec = clean(parts.next());
                let env: Vec<String> = parts
                    .next()
                    .and_then(|j| serde_json::from_str(j).ok())
                    .unwrap_or_default();
                let path = env
                    .iter()
                    .find_map(|e| e.strip_prefix("PATH="))
                    .map_or_else(|| crate::paths::SYSTEM_BIN_DIRS.join(":"), str::to_owned);
                Ok(Some(ContainerState {
                    running,
                    home,
                    spec,
                    path,
                }))
            }
            Err(e) if e.to_ascii_lowercase().contains("no such") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Removes the container (running or not); a missing one is fine.
    pub async fn remove(&self, name: &str) -> Result<(), String> {
        match self.run(&["rm", "-f", name]).await {
            Ok(_) => Ok(()),
            Err(e) if e.to_ascii_lowercase().contains("no such") => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// A client command with the run's environment, for `exec`.
    fn exec_env(&self, cli_env: &[(OsString, OsString)]) -> Vec<(OsString, OsString)> {
        let mut out = self.env.clone();
        for (k, v) in cli_env {
            if let Some(slot) = out.iter_mut().find(|(ok, _)| ok == k) {
                slot.1.clone_from(v);
            } else {
                out.push((k.clone(), v.clone()));
            }
        }
        out
    }
}

/// What the shared container is made with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// Container name.
    pub name: String,
    /// Image.
    pub image: String,
    /// `host:container[:ro]` volumes.
    pub volumes: Vec<String>,
    /// Everything else after `run -d` and before the image.
    pub options: Vec<String>,
    /// The ductor home it belongs to.
    pub home: String,
    /// Host directories it mounts that may not exist yet (made when it is created).
    pub dirs: Vec<PathBuf>,
}

impl Spec {
    /// The settings hash stored as a label.
    pub fn hash(&self) -> String {
        let mut h = Sha256::new();
        for part in [&self.image, &self.home]
            .into_iter()
            .chain(&self.volumes)
            .chain(&self.options)
        {
            h.update(part.as_bytes());
            h.update([0]);
        }
        crate::util::hex(&h.finalize())[..16].to_owned()
    }

    /// Makes the host directories the container mounts: those in the ductor home
    /// private (0700), the others (the user's cache) as they come. Docker would
    /// otherwise make missing ones itself, owned by root.
    pub fn make_dirs(&self) -> Result<(), String> {
        for dir in &self.dirs {
            if dir.starts_with(&self.home) {
                crate::store::ensure_private_dir(dir).map_err(|e| e.to_string())?;
            } else {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
        }
        Ok(())
    }

    /// `run -d …` arguments, labelled with the settings `hash` ([`Spec::hash`]).
    pub fn run_args(&self, hash: &str) -> Vec<String> {
        let mut a: Vec<String> = vec![
            "run".into(),
            "-d".into(),
            "--name".into(),
            self.name.clone(),
        ];
        a.extend([
            "--label".into(),
            format!("{HOME_LABEL}={}", self.home),
            "--label".into(),
            format!("{SPEC_LABEL}={hash}"),
        ]);
        a.extend(self.options.iter().cloned());
        for v in &self.volumes {
            a.extend(["-v".into(), v.clone()]);
        }
        a.push(self.image.clone());
        a
    }
}

/// The directories of every agent of `home` that the container mounts.
fn agent_dirs(home: &Home) -> Vec<PathBuf> {
    let mut agents = vec![home.main()];
    if let Ok(entries) = crate::config::load_agents(&home.agents_file()) {
        agents.extend(entries.iter().map(|e| home.agent(&e.name)));
    }
    agents
        .iter()
        .flat_map(|a: &AgentPaths| [a.workspace(), a.tmp_dir()])
        .collect()
}

/// The host directory behind the container's `HOME`.
pub fn sandbox_home(home: &Home) -> PathBuf {
    home.root().join("sandbox").join("home")
}

/// Where each CLI's state lives inside the container, and the variable naming it.
const CLI_HOMES: &[(&str, &str, Option<&str>)] = &[
    ("claude", ".claude", Some("CLAUDE_CONFIG_DIR")),
    ("codex", ".codex", Some("CODEX_HOME")),
    ("gemini", ".gemini", None),
];

/// The credential mounts of the chosen CLIs: each CLI's directory on the host (its
/// own variable in `vars`, else the default under the user's home) at the default
/// place under the container's `HOME`.
fn credential_volumes(
    settings: &SandboxSettings,
    user_home: &Path,
    vars: &[(OsString, OsString)],
) -> Vec<String> {
    let mut out = Vec::new();
    for (cli, inside, var) in CLI_HOMES {
        if !settings.credentials.iter().any(|c| c == cli) {
            continue;
        }
        let dirs = super::bwrap::credential_dirs(cli, user_home, vars);
        if let Some(dir) = dirs.first().filter(|d| d.is_dir()) {
            out.push(format!("{}:{CONTAINER_HOME}/{inside}", dir.display()));
        }
        // `~/.claude.json` sits beside the directory unless the variable moved both.
        let moved = var.is_some_and(|v| env::get(vars, v).is_some_and(|x| !x.is_empty()));
        if let Some(file) = dirs.get(1).filter(|f| f.is_file() && !moved) {
            let name = file.file_name().unwrap_or_default().to_string_lossy();
            out.push(format!("{}:{CONTAINER_HOME}/{name}", file.display()));
        }
    }
    out
}

/// The spec of `home`'s container under `settings` (it changes nothing on disk;
/// [`Spec::make_dirs`] does, before the container is made). `vars` is a run's
/// environment (the user's home, the CLIs' own directory variables).
pub fn spec(
    home: &Home,
    settings: &SandboxSettings,
    vars: &[(OsString, OsString)],
) -> Result<Spec, String> {
    let user_home = super::user_home_of(vars);
    let mut dirs = agent_dirs(home);
    let mut volumes: Vec<String> = dirs
        .iter()
        .map(|d| format!("{}:{}", d.display(), d.display()))
        .collect();
    let shome = sandbox_home(home);
    volumes.push(format!("{}:{CONTAINER_HOME}", shome.display()));
    volumes.extend(credential_volumes(settings, &user_home, vars));
    let bus = home.bus_dir();
    volumes.push(format!("{}:{}", bus.display(), bus.display()));
    dirs.extend([shome, bus]);
    for bin in ductor_binaries() {
        let name = bin
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        volumes.push(format!("{}:{CONTAINER_BIN}/{name}:ro", bin.display()));
    }
    if settings.mount_host_cache {
        let cache = user_home.join(".cache");
        volumes.push(format!("{}:{CONTAINER_HOME}/.cache", cache.display()));
        dirs.push(cache);
    }
    for (host, target) in super::bwrap::mount_targets(&settings.mounts) {
        if !host.is_dir() {
            return Err(format!(
                "the sandbox mount {} does not exist",
                host.display()
            ));
        }
        volumes.push(format!("{}:{target}", host.display()));
    }
    if let Some(v) = volumes
        .iter()
        .find(|v| v.trim_end_matches(":ro").matches(':').count() > 1)
    {
        return Err(format!(
            "the mount {v} has a ':' in its path, which engines cannot mount"
        ));
    }
    let mut options = vec![
        "--user".to_owned(),
        format!("{}:{}", nix::unistd::geteuid(), nix::unistd::getegid()),
        "-e".to_owned(),
        format!("HOME={CONTAINER_HOME}"),
    ];
    if settings.backend == Backend::Podman && !nix::unistd::geteuid().is_root() {
        // Rootless podman: the user's own id inside, so files in the workspace stay theirs.
        options.push("--userns=keep-id".into());
    }
    if !settings.network.is_empty() {
        options.extend(["--network".into(), settings.network.clone()]);
    }
    for p in &settings.published_ports {
        options.extend(["-p".into(), p.clone()]);
    }
    Ok(Spec {
        name: settings.container.clone(),
        image: settings.image.clone(),
        volumes,
        options,
        home: home.root().display().to_string(),
        dirs,
    })
}

/// `ductor` and `ductor-agent` beside this executable (mounted for the agent tools).
fn ductor_binaries() -> Vec<PathBuf> {
    let Some(dir) = crate::exec::request::own_bin_dir() else {
        return Vec::new();
    };
    ["ductor", "ductor-agent"]
        .iter()
        .map(|n| dir.join(n))
        .filter(|p| p.is_file())
        .collect()
}

/// The CLI environment of a run inside: its `DUCTOR_*` identity, the provider's own
/// variables, the agent's `.env` secrets, and the host variables a CLI needs (API
/// keys and base URLs by prefix, locale, proxies, `sandbox.env`). Never the host's
/// `PATH`, `HOME` or anything else.
pub fn cli_env(
    req: &RunRequest,
    dotenv: &BTreeMap<String, String>,
    settings: &SandboxSettings,
) -> Vec<(OsString, OsString)> {
    let keep = |k: &str| {
        CLI_PREFIXES.iter().any(|p| k.starts_with(p))
            || CLI_VARS.contains(&k)
            || settings.env.iter().any(|e| e == k)
            || dotenv.contains_key(k)
    };
    let mut out: Vec<(OsString, OsString)> = req
        .env
        .iter()
        .filter(|(k, _)| {
            k.to_str()
                .is_some_and(|k| keep(k) && k != crate::procs::USER_UMASK_VAR && k != RUN_MARK)
        })
        .cloned()
        .collect();
    // The CLIs' directories are mounted at their default places inside.
    out.retain(|(k, _)| k != "GEMINI_CLI_HOME");
    for (_, inside, var) in CLI_HOMES {
        if let Some(slot) = var.and_then(|v| out.iter_mut().find(|(k, _)| k == v)) {
            slot.1 = format!("{CONTAINER_HOME}/{inside}").into();
        }
    }
    out
}

/// One run inside the container.
#[derive(Debug)]
pub struct ContainerRun {
    engine: Engine,
    container: String,
    mark: String,
}

impl ContainerRun {
    /// Signals every process of the run inside the container; returns how many.
    pub async fn sweep(&self, sig: Signal) -> usize {
        let sig = sig.as_str().trim_start_matches("SIG").to_owned();
        let out = self
            .engine
            .run(&[
                "exec",
                &self.container,
                "sh",
                "-c",
                SWEEP,
                "sh",
                &sig,
                &self.mark,
            ])
            .await;
        out.ok().and_then(|n| n.trim().parse().ok()).unwrap_or(0)
    }
}

/// Stop signals of a container run: the mark sweep inside, and the client's group.
#[derive(Debug)]
pub struct ContainerSignals(Arc<ContainerRun>);

impl RunSignals for ContainerSignals {
    fn signal(&self, pgid: i32, sig: Signal) {
        let run = self.0.clone();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                run.sweep(sig).await;
            });
        }
        if sig == Signal::SIGKILL {
            crate::procs::signal_group(pgid, sig);
        }
    }
}

/// Rewrites a host request into `<engine> exec` in `container`.
pub fn wrap(
    mut req: RunRequest,
    engine: &Engine,
    container: &str,
    mut cli_env: Vec<(OsString, OsString)>,
    container_path: &str,
) -> (RunRequest, Arc<ContainerRun>) {
    // The agent tools first, then the image's own PATH.
    cli_env.push((
        "PATH".into(),
        format!("{CONTAINER_BIN}:{container_path}").into(),
    ));
    let mark = format!("{RUN_MARK}={}", crate::util::random_hex(8));
    let mut args: Vec<String> = vec!["exec".into()];
    if req.invocation.stdin.is_some() {
        args.push("-i".into());
    }
    args.extend(["-w".into(), req.cwd.display().to_string()]);
    args.extend(["-e".into(), mark.clone()]);
    for (k, _) in &cli_env {
        args.extend(["-e".into(), k.to_string_lossy().into_owned()]);
    }
    args.push(container.to_owned());
    args.push(req.invocation.program.clone());
    args.extend(req.invocation.args.iter().cloned());
    let run = Arc::new(ContainerRun {
        engine: engine.clone(),
        container: container.to_owned(),
        mark,
    });
    req.env = engine.exec_env(&cli_env);
    req.invocation.program = engine.program.display().to_string();
    req.invocation.args = args;
    req.reaper = None;
    // `exec` ends like a shell: 126/127 when the CLI is not in the image.
    req.shell_status = true;
    req.signals = Some(Arc::new(ContainerSignals(run.clone())));
    (req, run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings(v: &serde_json::Value) -> SandboxSettings {
        SandboxSettings::from_blocks(v, &serde_json::Value::Null)
    }

    #[test]
    fn the_spec_mounts_workspaces_not_the_home() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path().join("h"));
        let user = dir.path().join("u");
        std::fs::create_dir_all(user.join(".codex")).unwrap();
        let s = settings(
            &json!({"backend": "docker", "network": "host", "credentials": ["codex", "claude"],
                                "published_ports": ["8080:80"]}),
        );
        let vars = vec![(OsString::from("HOME"), user.clone().into_os_string())];
        let spec = spec(&home, &s, &vars).unwrap();
        let root = home.root().display().to_string();
        let ws = home.main().workspace().display().to_string();
        assert!(spec.volumes.contains(&format!("{ws}:{ws}")));
        assert!(
            spec.volumes
                .iter()
                .all(|v| !v.starts_with(&format!("{root}:")))
        );
        assert!(spec.volumes.iter().all(|v| !v.contains("/config")));
        assert!(spec.volumes.contains(&format!(
            "{}:/home/node/.codex",
            user.join(".codex").display()
        )));
        assert!(
            !spec.volumes.iter().any(|v| v.contains(".claude")),
            "missing dirs are skipped"
        );
        let args = spec.run_args(&spec.hash()).join(" ");
        assert!(args.contains("--network host"));
        assert!(args.contains("-p 8080:80"));
        assert!(args.ends_with(" ductor-sandbox"));
        let mut other = s.clone();
        other.mounts = vec![dir.path().display().to_string()];
        assert_ne!(
            spec.hash(),
            super::spec(&home, &other, &vars).unwrap().hash()
        );
        other.mounts = vec!["/no/such/dir".into()];
        assert!(
            super::spec(&home, &other, &vars)
                .unwrap_err()
                .contains("does not exist")
        );
    }

    #[test]
    fn the_cli_env_keeps_what_a_cli_needs_and_nothing_of_the_host() {
        let req = RunRequest {
            provider: crate::provider::ProviderKind::Claude,
            invocation: crate::provider::command::Invocation {
                program: "claude".into(),
                args: vec![],
                env: vec![],
                stdin: None,
                temp_files: vec![],
            },
            cwd: "/w".into(),
            env: [
                ("PATH", "/usr/bin"),
                ("HOME", "/root"),
                ("ANTHROPIC_BASE_URL", "http://127.0.0.1:9"),
                ("CODEX_HOME", "/tmp/t/codex"),
                ("GEMINI_CLI_HOME", "/tmp/t"),
                ("DUCTOR_AGENT_NAME", "main"),
                ("MY_TOKEN", "s3cret"),
                ("AWS_SECRET_ACCESS_KEY", "nope"),
                ("EXTRA", "yes"),
            ]
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .collect(),
            timeout: crate::provider::runner::TimeoutPolicy::fixed(Duration::from_secs(1)),
            reaper: None,
            shell_status: false,
            signals: None,
        };
        let s = settings(&json!({"backend": "docker", "env": ["EXTRA"]}));
        let dotenv = BTreeMap::from([("MY_TOKEN".to_owned(), "s3cret".to_owned())]);
        let env = cli_env(&req, &dotenv, &s);
        let keys: Vec<&str> = env.iter().map(|(k, _)| k.to_str().unwrap()).collect();
        assert_eq!(
            keys,
            [
                "ANTHROPIC_BASE_URL",
                "CODEX_HOME",
                "DUCTOR_AGENT_NAME",
                "MY_TOKEN",
                "EXTRA"
            ]
        );
        assert_eq!(
            env[1].1, "/home/node/.codex",
            "the CLI's own dir is where it is mounted"
        );
        let engine = Engine {
            name: "docker",
            program: "/usr/bin/docker".into(),
            env: vec![("PATH".into(), "/usr/bin".into())],
        };
        let (wrapped, _) = wrap(req, &engine, "box", env, "/usr/bin");
        let argv = wrapped.invocation.args.join(" ");
        assert!(
            !argv.contains("s3cret"),
            "values travel in the client env: {argv}"
        );
        assert!(argv.contains("-e MY_TOKEN"));
        assert_eq!(
            env::get(&wrapped.env, "PATH").map(|v| v.to_str().unwrap()),
            Some("/opt/ductor/bin:/usr/bin")
        );
        assert!(argv.contains("-w /w"));
        assert!(argv.ends_with("box claude"));
        assert_eq!(
            env::get(&wrapped.env, "MY_TOKEN").map(|v| v.to_str().unwrap()),
            Some("s3cret")
        );
    }
}
