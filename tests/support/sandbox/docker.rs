//! [`PrivateDocker`]: a `dockerd` of the test's own (see the module docs of `sandbox`).

use std::io::{Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use sha2::{Digest as _, Sha256};

use super::{
    Engine, find_tool, hex, long_dir, next_key, output_within, path_with_sbin, require, sweep,
};

/// What the daemon needs on `PATH` (`/usr/sbin` included).
pub(super) const TOOLS: [&str; 5] = [
    "dockerd",
    "docker",
    "containerd",
    "containerd-shim-runc-v2",
    "runc",
];

/// How long the daemon may take to answer `/_ping`.
const START_TIMEOUT: Duration = Duration::from_mins(1);

/// How long a stopping daemon gets before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// A running private Docker daemon; dropping it stops it and removes everything it made.
pub struct PrivateDocker {
    child: Child,
    /// `/tmp/<key>`: exec root, API socket, pid file, daemon config, client config.
    short: PathBuf,
    /// `<CARGO_TARGET_TMPDIR>/sandbox-<key>`: data root and `dockerd.log`.
    long: PathBuf,
    /// `dkr-<pid>-<n>`, also the cgroup parent of its containers.
    key: String,
}

impl PrivateDocker {
    /// Starts a daemon with its own directories and waits until its API answers; panics
    /// (with the end of its log) when it does not within a minute.
    pub fn start() -> Self {
        require(&TOOLS, "the private Docker daemon");
        sweep::sweep_dead_owners_once();
        let key = next_key("dkr");
        let short = Path::new("/tmp").join(&key);
        let long = long_dir(&key);
        // Leftovers of an earlier test process that had the same pid.
        clean(&short, Some(&long), &key);
        sweep::remove_dir(&long);
        for dir in [short.join("client"), long.join("data")] {
            std::fs::create_dir_all(&dir)
                .unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        }
        std::os::unix::fs::symlink(&long, short.join("data")).expect("link the data directory");
        std::fs::write(short.join("daemon.json"), "{}\n").expect("write daemon.json");
        let log = std::fs::File::create(long.join("dockerd.log")).expect("create dockerd.log");
        let mut command = with_parent_death_signal("dockerd");
        command
            .arg(format!(
                "--config-file={}",
                short.join("daemon.json").display()
            ))
            .arg(format!("--data-root={}", long.join("data").display()))
            .arg(format!("--exec-root={}", short.join("exec").display()))
            .arg(format!("--pidfile={}", short.join("docker.pid").display()))
            .arg(format!(
                "--host=unix://{}",
                short.join("docker.sock").display()
            ))
            .args(["--bridge=none", "--iptables=false", "--ip6tables=false"])
            .args([
                "--storage-driver=overlay2",
                "--exec-opt=native.cgroupdriver=cgroupfs",
            ])
            .arg(format!("--cgroup-parent=/{key}"))
            .args(["--host-gateway-ip=127.0.0.1", "--shutdown-timeout=3"])
            .arg("--log-level=warn")
            .env("PATH", path_with_sbin())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log file"))
            .stderr(log)
            .process_group(0);
        let child = spawn_from_lasting_thread(command).expect("spawn dockerd");
        let mut docker = Self {
            child,
            short,
            long,
            key,
        };
        if let Err(why) = docker.wait_ready() {
            // Panicking with `docker` alive: its drop stops the daemon and keeps the log.
            panic!("dockerd did not start: {why}{}", docker.log_tail());
        }
        docker
    }

    /// The `DOCKER_HOST` value: `unix:///tmp/dkr-<pid>-<n>/docker.sock`.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    /// The API socket.
    pub fn socket(&self) -> PathBuf {
        self.short.join("docker.sock")
    }

    /// Pid of `dockerd` (the leader of its process group).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The short directory under `/tmp` (exec root, socket, configs).
    pub fn short_dir(&self) -> &Path {
        &self.short
    }

    /// The directory holding the data root (`data/`) and `dockerd.log`.
    pub fn dir(&self) -> &Path {
        &self.long
    }

    /// The cgroup (under each hierarchy's root) holding the containers' cgroups.
    pub fn cgroup_parent(&self) -> &str {
        &self.key
    }

    /// The last 40 lines of `dockerd.log` (its own and `containerd`'s messages).
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.long.join("dockerd.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(40)..].join("\n");
        format!("\n--- dockerd.log (last 40 lines) ---\n{tail}")
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("dockerd exited ({status})"));
            }
            if ping(&self.socket()) {
                return Ok(());
            }
            if start.elapsed() > START_TIMEOUT {
                return Err(format!("no answer to /_ping within {START_TIMEOUT:?}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Removes every container (so that the daemon stops fast and leaves no mounts).
    fn remove_containers(&self) {
        let mut ps = self.command();
        ps.args(["ps", "-aq"]);
        let Ok(out) = output_within(&mut ps, Duration::from_secs(20)) else {
            return;
        };
        let listed = String::from_utf8_lossy(&out.stdout).into_owned();
        let ids: Vec<&str> = listed.split_whitespace().collect();
        if !ids.is_empty() {
            let mut rm = self.command();
            rm.args(["rm", "-f"]).args(&ids);
            let _ = output_within(&mut rm, Duration::from_secs(30));
        }
    }

    /// SIGTERM to `dockerd` and its `containerd`; SIGKILL to the group after [`STOP_GRACE`].
    fn stop_daemon(&mut self) {
        let config = self.short.join("exec/containerd/containerd.toml");
        let containerd = sweep::pids_naming(&config.to_string_lossy());
        sweep::signal(self.child.id(), Signal::SIGTERM);
        for pid in containerd {
            sweep::signal(pid, Signal::SIGTERM);
        }
        let start = Instant::now();
        while start.elapsed() < STOP_GRACE {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        if let Ok(group) = i32::try_from(self.child.id()) {
            let _ = killpg(Pid::from_raw(group), Signal::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

impl Engine for PrivateDocker {
    fn program(&self) -> &'static str {
        "docker"
    }

    /// `DOCKER_HOST` (this daemon), `DOCKER_CONFIG` (a private client config dir, so the
    /// client neither reads nor writes `~/.docker`) and `DOCKER_BUILDKIT=0` (the legacy
    /// builder, which builds `FROM` a local image offline with any client version).
    fn env(&self) -> Vec<(String, String)> {
        vec![
            ("DOCKER_HOST".into(), self.host()),
            (
                "DOCKER_CONFIG".into(),
                self.short.join("client").to_string_lossy().into_owned(),
            ),
            ("DOCKER_BUILDKIT".into(), "0".into()),
        ]
    }
}

impl Drop for PrivateDocker {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.remove_containers();
        }
        self.stop_daemon();
        clean(&self.short, Some(&self.long), &self.key);
        if std::thread::panicking() {
            sweep::remove_dir(&self.long.join("data"));
            eprintln!(
                "dockerd's log is kept: {}",
                self.long.join("dockerd.log").display()
            );
        } else {
            sweep::remove_dir(&self.long);
        }
    }
}

/// Removes what a daemon with directories `short` and `long` (data root in `long/data`) and
/// cgroup parent `key` left: its processes (`dockerd`, `containerd`, shims), its containers'
/// processes and cgroups, shim sockets, mounts, and `short`. `long` itself stays.
pub(super) fn clean(short: &Path, long: Option<&Path>, key: &str) {
    let mut needles = vec![format!("{}/", short.display())];
    needles.extend(long.map(|l| format!("{}/", l.display())));
    sweep::kill_processes_naming(&needles);
    sweep::remove_cgroup(key);
    if let Some(long) = long {
        remove_shim_sockets(short, long);
    }
    let mut dirs = vec![short];
    dirs.extend(long);
    sweep::unmount_under(&dirs);
    sweep::remove_dir(short);
}

/// Removes the sockets the daemon's shims made in `/run/containerd/s/`: containerd 1.6 names
/// each `sha256(<containerd socket>/moby/<container id>)`; a shim killed by SIGKILL leaves its
/// socket behind.
fn remove_shim_sockets(short: &Path, long: &Path) {
    let Ok(entries) = std::fs::read_dir(long.join("data/containers")) else {
        return;
    };
    let socket = short.join("exec/containerd/containerd.sock");
    for entry in entries.flatten() {
        let id = entry.file_name().to_string_lossy().into_owned();
        let digest = Sha256::digest(format!("{}/moby/{id}", socket.display()).as_bytes());
        let _ = std::fs::remove_file(Path::new("/run/containerd/s").join(hex(&digest)));
    }
}

/// Whether the daemon's API at `socket` answers `GET /_ping` with 200.
fn ping(socket: &Path) -> bool {
    let Ok(mut stream) = UnixStream::connect(socket) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200")
}

/// A command running `program` with SIGTERM as its parent-death signal (via `setpriv`, when
/// installed), so a test process that dies without dropping leaves a program that stops
/// itself.
fn with_parent_death_signal(program: &str) -> Command {
    let program = find_tool(program).unwrap_or_else(|| program.into());
    match find_tool("setpriv") {
        Some(setpriv) => {
            let mut command = Command::new(setpriv);
            command.args(["--pdeathsig", "TERM", "--"]).arg(program);
            command
        }
        None => Command::new(program),
    }
}

/// The parent-death signal fires when the *thread* that forked the child ends, so children are
/// spawned from one thread that lives as long as the test process.
fn spawn_from_lasting_thread(command: Command) -> std::io::Result<Child> {
    type Job = (Command, mpsc::Sender<std::io::Result<Child>>);
    static JOBS: Mutex<Option<mpsc::Sender<Job>>> = Mutex::new(None);
    let (reply, answer) = mpsc::channel();
    {
        let mut jobs = JOBS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let jobs = jobs.get_or_insert_with(|| {
            let (send, receive) = mpsc::channel::<Job>();
            std::thread::Builder::new()
                .name("sandbox-spawner".into())
                .spawn(move || {
                    for (mut command, reply) in receive {
                        let _ = reply.send(command.spawn());
                    }
                })
                .expect("spawn the spawner thread");
            send
        });
        jobs.send((command, reply))
            .expect("the spawner thread lives as long as the process");
    }
    answer.recv().expect("the spawner thread answers every job")
}
