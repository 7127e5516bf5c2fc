//! [`Podman`]: podman with a store, run root, locks and config of the test's own (see the
//! module docs of `sandbox`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Engine, find_tool, long_dir, next_key, output_within, require, sweep};

/// What podman needs on `PATH`, besides an OCI runtime ([`runtime`]).
pub(super) const TOOLS: [&str; 2] = ["podman", "conmon"];

/// The OCI runtime podman is told to use: `crun` when installed, else `runc`.
pub(super) fn runtime() -> Option<&'static str> {
    ["crun", "runc"]
        .into_iter()
        .find(|r| find_tool(r).is_some())
}

/// A private podman; dropping it removes its containers, images and directories.
pub struct Podman {
    /// `/tmp/<key>`: run root, `tmp_dir` (exit files, locks), network config, config files.
    short: PathBuf,
    /// `<CARGO_TARGET_TMPDIR>/sandbox-<key>`: the store (`root/`).
    long: PathBuf,
}

impl Podman {
    /// Writes the config files of a fresh, empty podman (nothing runs until it is used).
    pub fn new() -> Self {
        require(&TOOLS, "podman");
        let runtime = runtime().unwrap_or_else(|| {
            panic!("podman needs crun or runc, neither is installed: run .ci/install-sandbox")
        });
        sweep::sweep_dead_owners_once();
        let key = next_key("pdm");
        let short = Path::new("/tmp").join(&key);
        let long = long_dir(&key);
        // Leftovers of an earlier test process that had the same pid.
        clean(&short, Some(&long));
        sweep::remove_dir(&long);
        for dir in [
            short.join("run"),
            short.join("tmp"),
            short.join("net"),
            long.join("root"),
        ] {
            std::fs::create_dir_all(&dir)
                .unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        }
        std::os::unix::fs::symlink(&long, short.join("data")).expect("link the store directory");
        let podman = Self { short, long };
        let write = |name: &str, text: String| {
            std::fs::write(podman.short.join(name), text)
                .unwrap_or_else(|e| panic!("write {name}: {e}"));
        };
        write(
            "storage.conf",
            format!(
                "[storage]\ndriver = \"overlay\"\ngraphroot = {}\nrunroot = {}\n",
                toml_string(&podman.graphroot()),
                toml_string(&podman.runroot())
            ),
        );
        write("containers.conf", podman.containers_conf(runtime));
        write(
            "registries.conf",
            "unqualified-search-registries = []\n".into(),
        );
        podman
    }

    /// `containers.conf`: rlimits podman can set here, the host's network namespace, cgroupfs,
    /// no event log, file locks and every state directory private.
    fn containers_conf(&self, runtime: &str) -> String {
        let short = |name: &str| self.short.join(name);
        format!(
            r#"[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
netns = "host"

[engine]
runtime = "{runtime}"
cgroup_manager = "cgroupfs"
events_logger = "none"
lock_type = "file"
tmp_dir = {tmp}
image_copy_tmp_dir = {tmp}
static_dir = {static_dir}
volume_path = {volumes}

[network]
network_config_dir = {net}
"#,
            tmp = toml_string(&short("tmp")),
            static_dir = toml_string(&self.graphroot().join("libpod")),
            volumes = toml_string(&self.graphroot().join("volumes")),
            net = toml_string(&short("net")),
        )
    }

    /// The store (`graphroot`).
    pub fn graphroot(&self) -> PathBuf {
        self.long.join("root")
    }

    /// The run root (container state, attach sockets).
    pub fn runroot(&self) -> PathBuf {
        self.short.join("run")
    }

    /// The short directory under `/tmp` (run root, temp and lock dir, configs).
    pub fn short_dir(&self) -> &Path {
        &self.short
    }

    /// The directory holding the store.
    pub fn dir(&self) -> &Path {
        &self.long
    }
}

impl Default for Podman {
    fn default() -> Self {
        Self::new()
    }
}

impl Engine for Podman {
    fn program(&self) -> &'static str {
        "podman"
    }

    /// `CONTAINERS_CONF`, `CONTAINERS_STORAGE_CONF` and `CONTAINERS_REGISTRIES_CONF` (no
    /// registries: an image that is not local fails at once).
    fn env(&self) -> Vec<(String, String)> {
        let path = |name: &str| self.short.join(name).to_string_lossy().into_owned();
        vec![
            ("CONTAINERS_CONF".into(), path("containers.conf")),
            ("CONTAINERS_STORAGE_CONF".into(), path("storage.conf")),
            ("CONTAINERS_REGISTRIES_CONF".into(), path("registries.conf")),
        ]
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        for args in [
            &["rm", "--force", "--all", "--time", "0"][..],
            &["system", "reset", "--force"][..],
        ] {
            let mut command = self.command();
            command.args(args);
            let _ = output_within(&mut command, Duration::from_mins(1));
        }
        clean(&self.short, Some(&self.long));
        sweep::remove_dir(&self.long);
    }
}

/// Removes what a podman with directories `short` and `long` (store in `long/root`) left:
/// conmon and podman processes naming them, its containers' processes and cgroups
/// (`libpod_parent/libpod-<id>`), mounts, and `short`. `long` itself stays.
pub(super) fn clean(short: &Path, long: Option<&Path>) {
    let mut needles = vec![format!("{}/", short.display())];
    needles.extend(long.map(|l| format!("{}/", l.display())));
    // conmon first: killing a container's processes while conmon lives makes it run podman's
    // cleanup command, which would write into the directories being removed.
    sweep::kill_processes_naming(&needles);
    if let Some(Ok(entries)) = long.map(|l| std::fs::read_dir(l.join("root/overlay-containers"))) {
        for entry in entries.flatten() {
            let id = entry.file_name().to_string_lossy().into_owned();
            sweep::remove_cgroup(&format!("libpod_parent/libpod-{id}"));
        }
    }
    let mut dirs = vec![short];
    dirs.extend(long);
    sweep::unmount_under(&dirs);
    sweep::remove_dir(short);
}

/// `path` as a TOML basic string.
fn toml_string(path: &Path) -> String {
    let text = path.to_string_lossy();
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}
