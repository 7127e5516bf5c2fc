//! How ductor is shipped, and `ductor doctor`.
//! - `crate_package`: what `cargo package` ships (every file the build embeds, nothing
//!   private, no path dependencies in the published manifest).
//! - `deb`: the `.deb` metadata's assets, the packaged unit and the shell completions
//!   (golden files), the container image's Dockerfile; with `DUCTOR_TEST_DEB=1` a real
//!   `cargo deb` of the debug build, inspected with `dpkg-deb`.
//! - `doctor`: the real `ductor doctor` on broken and healthy homes, against the fake
//!   Bot API.

#[path = "../support/mod.rs"]
mod support;

mod crate_package;
mod deb;
mod doctor;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `cargo` as the test runner names it (else from `PATH`).
fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(root()).env("CARGO_TERM_COLOR", "never");
    cmd
}

/// Runs `cmd`, asserting success; its stdout.
fn run_ok(cmd: &mut Command) -> String {
    let out: Output = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every file under `dir` (recursively), as paths relative to [`root`].
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(root()).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}
