//! Container engines and a test image for the sandbox backends' end-to-end tests: a private
//! Docker daemon, a private podman store, and bubblewrap, all on loopback only.
//!
//! Nothing here touches the system's Docker or podman: `docker::PrivateDocker::start` runs its
//! own `dockerd` (with its own `containerd`) on a socket in a fresh directory,
//! `podman::Podman::new` points `podman` at a store, run root, lock dir and network config of
//! its own. Both need root (the tests run as root in CI); `.ci/install-sandbox` installs
//! `docker.io`, `podman`, `bubblewrap` and `busybox-static`, and a missing tool makes the test
//! panic saying so (never skip). [`engine_available`] and [`bwrap_available`] say whether a
//! backend can run here.
//!
//! ```ignore
//! let docker = PrivateDocker::start(); // or Podman::new(); both implement `Engine`
//! let image = sandbox::local_base(&docker); // the imported test image (FROM-able)
//! sandbox::build_test_image(&docker, "ductor-sandbox-test"); // the same under another name
//! let clis = sandbox::clis_mount(); // <repo>/target/provider-clis:/mnt/provider-clis:ro
//! docker.run(&["run", "-d", "--name", "c", "--network", "host", "-v", &clis, &image]);
//! docker.run(&["exec", "c", "claude", "--version"]);
//! // or hand docker.env() (DOCKER_HOST, …) to a ductor agent, which then runs `docker` itself
//! ```
//!
//! # The test image
//! No image registry is reachable, so the image is imported from a root filesystem built here
//! (`image::rootfs_tarball`, cached under `target/sandbox-test/`): a static busybox (`/bin/sh`
//! and the usual tools), `bash` (claude's shell tool wants it), the host's `node` at
//! `/usr/local/bin/node`, the shared libraries `ldd` lists for node, bash, busybox and claude's
//! native binary (plus the loader), an `/etc/passwd` with `root` and `node` (1000),
//! `/home/node`, `/tmp` (1777), `/workspace` (the working directory). The genuine CLIs are not
//! copied in: they are bind-mounted read-only from `<repo>/target/provider-clis` at
//! [`CLIS_IN_CONTAINER`] ([`clis_mount`]; where a product mount of that directory lands,
//! `/mnt/<basename>`), and the image's `PATH` starts with their `node_modules/.bin`. The
//! command is a `sh` loop that exits on SIGTERM and reaps zombies (busybox `sh` as PID 1 reaps
//! adopted orphans while it waits; `docker run --init` would use Debian's `docker-init`, tini,
//! but the product's `docker run` does not ask for it). [`local_base`] imports it once per
//! engine as [`BASE_IMAGE`]; a Dockerfile `FROM` it builds offline (Docker's legacy builder,
//! `DOCKER_BUILDKIT=0` in the engine's env; podman's buildah), which exercises a product's
//! `docker build` path.
//!
//! # Reaching the test suite's servers
//! Containers get no network but loopback: the private daemon runs with `--bridge=none`, so a
//! container reaches the mock model API on `127.0.0.1` only with `--network host` (podman:
//! `netns = "host"` is the default in its config; without `--network`, a Docker container has
//! loopback only). `--add-host=host.docker.internal:host-gateway` resolves to `127.0.0.1`
//! under the private daemon (`--host-gateway-ip`); podman 4.3 rejects `host-gateway` ("invalid
//! IP address in add-host"). With `--network host` the container also shares the host's UTS
//! namespace, so its `hostname` is the host's; its mount and pid namespaces and its cgroup are
//! its own.
//!
//! # Cleanup
//! Dropping a `PrivateDocker` removes its containers, stops the daemon (SIGTERM to `dockerd`
//! and `containerd`; SIGKILL after 10 s), then sweeps whatever is left: processes that name
//! its directories (`containerd`, shims), processes in its cgroup (`--cgroup-parent=/<key>`)
//! and the cgroup itself, shim sockets in `/run/containerd/s`, mounts under its directories
//! (overlays, and the `netns/default` bind that even a clean shutdown leaves), then the
//! directories. Dropping a `Podman` runs `podman rm -fa` and `podman system reset`, then the
//! same sweep (conmon, the containers' cgroups, mounts, directories). `dockerd` is started
//! with a parent-death signal (SIGTERM, via `setpriv`) from a thread that lives as long as the
//! test process, so a test killed by a timeout leaves a daemon that shuts itself down; the
//! first `PrivateDocker::start` or `Podman::new` of every test process sweeps what dead test
//! processes left behind (`/tmp/dkr-<pid>-<n>`, `/tmp/pdm-<pid>-<n>`; also
//! [`sweep_dead_owners`]). When a test panics, `dockerd`'s log is kept and its path printed.
//!
//! # Measured on the project's machine (2 cores, cgroup v1, ext4; `tests/sandbox_smoke`)
//! | | Docker 20.10.24 (private daemon) | podman 4.3.1 |
//! | --- | --- | --- |
//! | start | `dockerd` answers `/_ping` after 0.3–0.5 s (up to 1.5 s on a cold cache) | nothing runs |
//! | rootfs tarball | built once in ~0.25 s (108 MB, 99 MB of it node), then cached | the same tarball |
//! | [`local_base`] (import) | 0.85–0.95 s; image 108 MB | 1.9–2.2 s |
//! | `run -d` of the test image | 0.3 s | 0.2–0.25 s |
//! | `exec … true` round trip | 0.085–0.095 s | 0.18–0.22 s |
//! | `build`, `FROM` the base + one `RUN` | 0.5–0.6 s (legacy builder) | 0.45–0.9 s |
//! | `exec <cli> --version` | claude 0.2–0.35 s, codex 0.16–0.23 s, gemini 1.7–2.1 s | claude 0.3–0.4 s, codex 0.23–0.27 s, gemini 1.85–2.1 s |
//! | a turn with one shell tool call | claude 1.2 s, codex 0.75–0.9 s, gemini 2.7–3.4 s | claude 1.0–1.35 s |
//! | RSS | `dockerd` 78–84 MB + `containerd` 39–43 MB, + 12–15 MB per running container (its shim) | no daemon; `conmon` ~2 MB per container |
//! | drop (a container running) | 0.5 s | 0.5 s |
//!
//! # Pitfalls
//! - Unix socket paths are limited to 108 bytes and `containerd` puts its sockets under the
//!   exec root, so the exec root, the API socket and podman's run root live under a short
//!   `/tmp/dkr-<pid>-<n>` / `/tmp/pdm-<pid>-<n>`; the data root / store is under
//!   `CARGO_TARGET_TMPDIR`.
//! - Each `dockerd` starts its own `containerd` under its exec root; `containerd` 1.6 still
//!   puts shim sockets in the shared `/run/containerd/s/` (named by a hash of the daemon's
//!   socket path and container id, so they do not clash). `--config-file` is a private empty
//!   file, so `/etc/docker/daemon.json` cannot change the daemon.
//! - Podman 4.3 fails to start any container with `error setting rlimit type 7` on this
//!   machine unless `default_ulimits` lowers `nofile`/`nproc`; `lock_type = "file"` keeps its
//!   locks out of the shared `/dev/shm/libpod_lock`.
//! - `docker` 28 (a newer client than the daemon, in `/usr/local/bin` here) and Debian's 20.10
//!   client both work against the 20.10 daemon; without `buildx`, 28 falls back to the legacy
//!   builder with a deprecation warning.
//! - Shared host paths the engines create, as a system install would, and that stay: the
//!   directories `/run/containerd/s`, `/run/docker/plugins`, `/etc/docker/key.json` (the
//!   daemon's identity key) and podman's `libpod_parent/conmon` cgroup.
//! - This machine's PID 1 does not reap orphans: every `podman run`/`exec` leaves a
//!   `[conmon] <defunct>` zombie here (a real init reaps them). Count running processes only
//!   ([`process_alive`]).
//! - The CLIs under bwrap with `--ro-bind / /` need a writable `HOME`/`CODEX_HOME`/`TMPDIR`
//!   bound in (gemini throws `EROFS` saving `~/.gemini/projects.json`, codex warns it cannot
//!   create its `PATH` aliases).

pub mod docker;
pub mod image;
pub mod podman;
mod sweep;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The tag of the imported test image (see the module docs).
pub const BASE_IMAGE: &str = "ductor-test-base:latest";

/// Where the test image expects the provider CLIs' npm prefix (`target/provider-clis`).
pub const CLIS_IN_CONTAINER: &str = "/mnt/provider-clis";

/// How long one engine command may take before the test fails.
const COMMAND_TIMEOUT: Duration = Duration::from_mins(3);

/// A container engine the tests drive through its CLI (`docker` or `podman`).
pub trait Engine {
    /// The client program: `docker` or `podman`.
    fn program(&self) -> &'static str;

    /// What a child process (a ductor agent, a `docker` client) needs in its environment so
    /// that [`Engine::program`] talks to this engine; `PATH` is not included.
    fn env(&self) -> Vec<(String, String)>;

    /// A command running [`Engine::program`] with [`Engine::env`] added and a null stdin.
    fn command(&self) -> Command {
        let mut command = Command::new(self.program());
        command.envs(self.env()).stdin(Stdio::null());
        command
    }

    /// Runs `program args…` and returns its output, whatever the exit status; panics when it
    /// cannot be run or takes longer than three minutes.
    fn output(&self, args: &[&str]) -> Output {
        let mut command = self.command();
        command.args(args);
        output_within(&mut command, COMMAND_TIMEOUT)
            .unwrap_or_else(|e| panic!("{} {}: {e}", self.program(), args.join(" ")))
    }

    /// Runs `program args…` and returns its stdout, trimmed; panics with its stderr unless it
    /// succeeds.
    fn run(&self, args: &[&str]) -> String {
        let out = self.output(args);
        assert!(
            out.status.success(),
            "`{} {}` failed ({}):\n{}",
            self.program(),
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

/// The test image in `engine`: imports `image::rootfs_tarball` as [`BASE_IMAGE`] unless it is
/// there already, and returns that tag (usable in `run` and in a Dockerfile's `FROM`).
pub fn local_base(engine: &dyn Engine) -> String {
    if !engine
        .output(&["image", "inspect", BASE_IMAGE])
        .status
        .success()
    {
        image::import(engine, &image::rootfs_tarball(), BASE_IMAGE);
    }
    BASE_IMAGE.to_owned()
}

/// Makes the test image available in `engine` under `name` too (e.g. the image name a ductor
/// config asks for, so the product finds it and does not build).
pub fn build_test_image(engine: &dyn Engine, name: &str) {
    let base = local_base(engine);
    engine.run(&["tag", &base, name]);
}

/// The provider CLIs' npm prefix on the host, `<repo>/target/provider-clis`; panics (saying to
/// run `.ci/install-clis`) when a CLI is missing there.
pub fn provider_clis_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/provider-clis");
    for cli in super::clis::CLIS {
        let bin = dir.join("node_modules/.bin").join(cli);
        assert!(
            bin.exists(),
            "provider CLI `{cli}` not found at {}: run `.ci/install-clis`",
            bin.display()
        );
    }
    dir
}

/// The `-v` spec mounting [`provider_clis_dir`] read-only at [`CLIS_IN_CONTAINER`].
pub fn clis_mount() -> String {
    format!(
        "{}:{CLIS_IN_CONTAINER}:ro",
        provider_clis_dir().to_string_lossy()
    )
}

/// Whether `bwrap` is installed and may create namespaces here (it runs
/// `bwrap --ro-bind / / --unshare-all --share-net --die-with-parent true` once per process).
pub fn bwrap_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        let Some(bwrap) = find_tool("bwrap") else {
            return false;
        };
        let mut command = Command::new(bwrap);
        command
            .args(["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"])
            .args(["--unshare-all", "--share-net", "--die-with-parent", "true"])
            .stdin(Stdio::null());
        output_within(&mut command, Duration::from_secs(20)).is_ok_and(|o| o.status.success())
    })
}

/// Whether engine `name` (`docker`, `podman` or `bwrap`) can run here: its programs are
/// installed and, for the container engines, the tests run as root.
pub fn engine_available(name: &str) -> bool {
    let root = nix::unistd::geteuid().is_root();
    match name {
        "docker" => root && docker::TOOLS.iter().all(|t| find_tool(t).is_some()),
        "podman" => {
            root && podman::TOOLS.iter().all(|t| find_tool(t).is_some())
                && podman::runtime().is_some()
        }
        "bwrap" => bwrap_available(),
        _ => false,
    }
}

/// Mount points at or below `dirs`, deepest first (to check that nothing is left mounted).
pub fn mounts_under(dirs: &[&Path]) -> Vec<PathBuf> {
    sweep::mounts_under(dirs)
}

/// Whether process `pid` runs (a zombie does not).
pub fn process_alive(pid: u32) -> bool {
    sweep::alive(pid)
}

/// Pids of the running processes whose command line contains `needle`.
pub fn pids_naming(needle: &str) -> Vec<u32> {
    sweep::pids_naming(needle)
}

/// Cleans up now after test processes that died with an engine (what `PrivateDocker::start`
/// and `Podman::new` do once per process): their daemons, containers, cgroups, mounts and
/// directories.
pub fn sweep_dead_owners() {
    sweep::sweep_dead_owners();
}

/// The path of `tool` on `PATH` (plus `/usr/sbin` and `/sbin`, where Debian puts `dockerd` and
/// `runc`).
pub fn find_tool(tool: &str) -> Option<PathBuf> {
    std::env::split_paths(&path_with_sbin())
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
}

/// Panics, saying how to install them, unless all `tools` are installed and the test runs as
/// root.
fn require(tools: &[&str], what: &str) {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| find_tool(t).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "{what} needs {}, not found on PATH: run .ci/install-sandbox (installs docker.io, podman, \
         bubblewrap and busybox-static)",
        missing.join(", ")
    );
    assert!(
        nix::unistd::geteuid().is_root(),
        "{what} needs root (the tests run as root in CI)"
    );
}

/// `PATH` with `/usr/sbin` and `/sbin` appended.
fn path_with_sbin() -> String {
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    format!("{path}:/usr/sbin:/sbin")
}

/// Runs `command` with piped stdout and stderr; kills it after `timeout`.
fn output_within(command: &mut Command, timeout: Duration) -> Result<Output, String> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut buf);
            }
            buf
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("no exit within {timeout:?}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Ok(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// Lower-case hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A unique key for this process's next engine: `<prefix>-<pid>-<n>`.
fn next_key(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{n}", std::process::id())
}

/// The long directory of an engine: `<CARGO_TARGET_TMPDIR>/sandbox-<key>`.
fn long_dir(key: &str) -> PathBuf {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(base).expect("create CARGO_TARGET_TMPDIR");
    let base = base.canonicalize().expect("canonical CARGO_TARGET_TMPDIR");
    base.join(format!("sandbox-{key}"))
}
