//! The test image's root filesystem: built from host files, cached as a tarball under
//! `target/sandbox-test/`, imported into an engine (see the module docs of `sandbox`).

use std::fs::File;
use std::os::unix::fs::{PermissionsExt as _, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::UNIX_EPOCH;

use nix::fcntl::{Flock, FlockArg};
use sha2::{Digest as _, Sha256};

use super::{CLIS_IN_CONTAINER, Engine, find_tool, hex, sweep};

/// Names the layout below; change it when the layout changes, so cached tarballs are rebuilt.
const RECIPE: &str = "ductor-test-rootfs-1";

/// The image's command: a long-lived PID 1 that reaps adopted orphans (busybox `sh` waits for
/// any child while it waits for `sleep`) and exits at once on SIGTERM (`docker stop`).
pub(super) const REAPER: &str = r#"trap "exit 0" TERM; while :; do sleep 3600 & wait $!; done"#;

/// The host files the root filesystem is made of.
struct Inputs {
    node: PathBuf,
    bash: PathBuf,
    busybox: PathBuf,
    /// Libraries (and the loader) of node, bash, busybox and claude's native binary.
    libs: Vec<PathBuf>,
}

/// The root filesystem tarball of the test image, built once (per set of host binaries) under
/// `target/sandbox-test/rootfs-<fingerprint>.tar`; concurrent test processes wait for the
/// one that builds it.
pub fn rootfs_tarball() -> PathBuf {
    static TARBALL: OnceLock<PathBuf> = OnceLock::new();
    TARBALL.get_or_init(build_or_reuse).clone()
}

/// Imports `tarball` into `engine` as `tag`, with the image's `PATH`, `LANG`, working
/// directory and command.
pub(super) fn import(engine: &dyn Engine, tarball: &Path, tag: &str) {
    let path = format!(
        "ENV PATH={CLIS_IN_CONTAINER}/node_modules/.bin:/usr/local/sbin:/usr/local/bin:\
         /usr/sbin:/usr/bin:/sbin:/bin"
    );
    let cmd = format!("CMD {}", serde_json::json!(["/bin/sh", "-c", REAPER]));
    engine.run(&[
        "import",
        "--change",
        &path,
        "--change",
        "ENV LANG=C.UTF-8",
        "--change",
        "WORKDIR /workspace",
        "--change",
        &cmd,
        &tarball.to_string_lossy(),
        tag,
    ]);
}

fn build_or_reuse() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/sandbox-test");
    std::fs::create_dir_all(&dir).expect("create target/sandbox-test");
    let inputs = inputs();
    let name = format!("rootfs-{}.tar", fingerprint(&inputs));
    let out = dir.join(&name);
    if out.is_file() {
        return out;
    }
    let lock = File::create(dir.join("rootfs.lock")).expect("create the rootfs lock");
    let _lock = Flock::lock(lock, FlockArg::LockExclusive)
        .map_err(|(_, e)| e)
        .expect("lock target/sandbox-test/rootfs.lock");
    if out.is_file() {
        return out; // another test process built it while we waited
    }
    let pid = std::process::id();
    let stage = dir.join(format!("stage-{pid}"));
    sweep::remove_dir(&stage);
    stage_rootfs(&stage, &inputs);
    let partial = dir.join(format!("{name}.partial-{pid}"));
    let status = Command::new("tar")
        .arg("--numeric-owner")
        .arg("-C")
        .arg(&stage)
        .arg("-cf")
        .arg(&partial)
        .arg(".")
        .stdin(Stdio::null())
        .status()
        .expect("run tar");
    assert!(status.success(), "tar of the test rootfs failed ({status})");
    std::fs::rename(&partial, &out).expect("move the rootfs tarball in place");
    sweep::remove_dir(&stage);
    // Tarballs of other host binaries or recipes are stale now.
    for entry in std::fs::read_dir(&dir)
        .expect("list target/sandbox-test")
        .flatten()
    {
        let other = entry.file_name().to_string_lossy().into_owned();
        if other.starts_with("rootfs-")
            && Path::new(&other).extension().is_some_and(|e| e == "tar")
            && other != name
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    out
}

fn inputs() -> Inputs {
    let tool = |name: &str| {
        let path = find_tool(name).unwrap_or_else(|| {
            panic!("the test image needs `{name}` on PATH: run .ci/install-sandbox")
        });
        path.canonicalize()
            .unwrap_or_else(|e| panic!("resolve {}: {e}", path.display()))
    };
    let node = tool("node");
    let bash = tool("bash");
    let busybox = tool("busybox");
    let claude = super::super::clis::cli_path("claude")
        .canonicalize()
        .expect("resolve claude's binary");
    let mut libs: Vec<PathBuf> = [&node, &bash, &busybox, &claude]
        .into_iter()
        .flat_map(|bin| ldd(bin))
        .collect();
    libs.sort();
    libs.dedup();
    Inputs {
        node,
        bash,
        busybox,
        libs,
    }
}

/// The libraries and loader `ldd` lists for `bin` (none for a static binary).
fn ldd(bin: &Path) -> Vec<PathBuf> {
    let out = Command::new("ldd")
        .arg(bin)
        .stdin(Stdio::null())
        .output()
        .expect("run ldd");
    if !out.status.success() {
        return Vec::new(); // "not a dynamic executable"
    }
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter(|word| word.starts_with('/'))
        .map(PathBuf::from)
        .collect()
}

/// A short hash of the recipe and of every input file's path, size and modification time.
fn fingerprint(inputs: &Inputs) -> String {
    let mut hash = Sha256::new();
    hash.update(RECIPE.as_bytes());
    let files = [&inputs.node, &inputs.bash, &inputs.busybox]
        .into_iter()
        .chain(&inputs.libs);
    for file in files {
        let meta =
            std::fs::metadata(file).unwrap_or_else(|e| panic!("stat {}: {e}", file.display()));
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .unwrap_or_default();
        hash.update(
            format!("{}\0{}\0{}\n", file.display(), meta.len(), mtime.as_nanos()).as_bytes(),
        );
    }
    hex(&hash.finalize()[..8])
}

/// Lays the root filesystem out in `stage`.
fn stage_rootfs(stage: &Path, inputs: &Inputs) {
    let dirs = [
        "bin",
        "dev",
        "etc",
        "home/node",
        "mnt",
        "proc",
        "root",
        "sys",
        "tmp",
        "usr/bin",
        "usr/local/bin",
        "workspace",
    ];
    for dir in dirs {
        std::fs::create_dir_all(stage.join(dir)).expect("create a rootfs directory");
    }
    let mode = |path: &str, mode: u32| {
        std::fs::set_permissions(stage.join(path), std::fs::Permissions::from_mode(mode))
            .expect("set a rootfs directory's mode");
    };
    mode("tmp", 0o1777);
    mode("root", 0o700);
    std::os::unix::fs::chown(stage.join("home/node"), Some(1000), Some(1000))
        .expect("chown /home/node");
    let copy = |from: &Path, to: &Path| {
        let to = stage.join(to.strip_prefix("/").unwrap_or(to));
        std::fs::create_dir_all(to.parent().expect("a path below the stage"))
            .expect("create a rootfs directory");
        std::fs::copy(from, &to)
            .unwrap_or_else(|e| panic!("copy {} into the rootfs: {e}", from.display()));
    };
    copy(&inputs.busybox, Path::new("/bin/busybox"));
    copy(&inputs.bash, Path::new("/bin/bash"));
    copy(&inputs.node, Path::new("/usr/local/bin/node"));
    for lib in &inputs.libs {
        copy(lib, lib);
    }
    let applets = Command::new(&inputs.busybox)
        .arg("--list")
        .output()
        .expect("run busybox --list");
    for applet in String::from_utf8_lossy(&applets.stdout).split_whitespace() {
        let link = stage.join("bin").join(applet);
        if !link.exists() {
            symlink("busybox", &link).expect("link a busybox applet");
        }
    }
    // `#!/usr/bin/env node` (codex's and gemini's launchers).
    symlink("/bin/busybox", stage.join("usr/bin/env")).expect("link /usr/bin/env");
    let etc = |name: &str, text: &str| {
        std::fs::write(stage.join("etc").join(name), text).expect("write an /etc file");
    };
    etc(
        "passwd",
        "root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000:node:/home/node:/bin/sh\n",
    );
    etc("group", "root:x:0:\nnode:x:1000:\n");
}
