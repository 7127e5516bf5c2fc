//! How this ductor was installed, and the matching upgrade: `cargo install` (its
//! root's `bin/`, or a root whose `.crates.toml`/`.crates2.json` lists ductor), a
//! Debian package (`dpkg -S` knows the executable), a release binary somewhere else
//! (not upgraded automatically: the sentence says what to do), or a build inside a
//! source checkout (refused). Every installer call goes through [`Programs`], so
//! tests put fake `cargo`/`dpkg`/`apt-get` in place (`DUCTOR_CARGO`,
//! `DUCTOR_DPKG`, `DUCTOR_APT_GET`).

use super::version::Version;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// How long one installer step may take (a `cargo install` compiles ductor).
const STEP_LIMIT: Duration = Duration::from_hours(1);

/// How much of an installer's output is kept for the error message.
const OUTPUT_KEEP: usize = 64 * 1024;

/// The waits before each look at the installed version (a package manager may
/// still be moving files when it returns).
pub const VERIFY_DELAYS_MS: [u64; 4] = [150, 350, 750, 1500];

/// How this executable was installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallMode {
    /// Built inside a source checkout (`<checkout>/target/...`).
    Source {
        /// The checkout (the directory with `Cargo.toml`).
        checkout: PathBuf,
    },
    /// `cargo install`, into `root` (`root/bin/ductor`).
    Cargo {
        /// The install root (`$CARGO_HOME` or a `--root`).
        root: PathBuf,
    },
    /// A Debian package.
    Deb,
    /// A release binary in `dir`, installed by hand.
    Release {
        /// Where it lies.
        dir: PathBuf,
    },
}

/// The installer programs (names looked up in `PATH`, or paths).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Programs {
    /// `cargo`.
    pub cargo: OsString,
    /// `dpkg`.
    pub dpkg: OsString,
    /// `apt-get`.
    pub apt_get: OsString,
}

impl Programs {
    /// The real programs, unless `DUCTOR_CARGO`, `DUCTOR_DPKG` or `DUCTOR_APT_GET`
    /// name others.
    pub fn from_env() -> Self {
        let pick = |var: &str, default: &str| {
            std::env::var_os(var)
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.into())
        };
        Self {
            cargo: pick("DUCTOR_CARGO", "cargo"),
            dpkg: pick("DUCTOR_DPKG", "dpkg"),
            apt_get: pick("DUCTOR_APT_GET", "apt-get"),
        }
    }
}

/// The checkout a build in `target/{debug,release}` (or `target/<triple>/…`) of a
/// directory with `Cargo.toml` comes from.
pub fn source_checkout(exe: &Path) -> Option<PathBuf> {
    let profile_dir = exe.parent()?;
    let profile = profile_dir.file_name()?.to_str()?;
    if !matches!(profile, "debug" | "release") && !profile_dir.ends_with("deps") {
        return None;
    }
    profile_dir.ancestors().skip(1).take(3).find_map(|dir| {
        (dir.file_name()? == "target")
            .then(|| dir.parent())
            .flatten()
            .filter(|checkout| checkout.join("Cargo.toml").is_file())
            .map(Path::to_path_buf)
    })
}

/// The `cargo install` root of `exe`: its directory is `$CARGO_HOME/bin` (or
/// `~/.cargo/bin`), or the root's install records list ductor.
pub fn cargo_root(exe: &Path, cargo_home: Option<&Path>, user_home: &Path) -> Option<PathBuf> {
    let bin = exe.parent()?;
    if bin.file_name()? != "bin" {
        return None;
    }
    let root = bin.parent()?;
    let default_home = user_home.join(".cargo");
    let homes = [cargo_home, Some(default_home.as_path())];
    let is_cargo_home = homes.into_iter().flatten().any(|h| same_dir(h, root));
    let listed = [".crates.toml", ".crates2.json"]
        .iter()
        .any(|f| std::fs::read_to_string(root.join(f)).is_ok_and(|s| s.contains("\"ductor ")));
    (is_cargo_home || listed).then(|| root.to_path_buf())
}

fn same_dir(a: &Path, b: &Path) -> bool {
    a == b
        || matches!(
            (std::fs::canonicalize(a), std::fs::canonicalize(b)),
            (Ok(x), Ok(y)) if x == y
        )
}

/// Whether the Debian package manager owns `exe`.
pub async fn dpkg_owns(dpkg: &OsString, exe: &Path) -> bool {
    let mut paths = vec![exe.to_path_buf()];
    if let Ok(real) = std::fs::canonicalize(exe)
        && real != exe
    {
        paths.push(real);
    }
    for path in paths {
        let out = tokio::process::Command::new(dpkg)
            .arg("-S")
            .arg(&path)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .await;
        if let Ok(out) = out
            && out.status.success()
            && String::from_utf8_lossy(&out.stdout).starts_with("ductor")
        {
            return true;
        }
    }
    false
}

/// How `exe` (the `ductor` executable) was installed.
pub async fn detect(
    exe: &Path,
    programs: &Programs,
    cargo_home: Option<&Path>,
    user_home: &Path,
) -> InstallMode {
    if let Some(checkout) = source_checkout(exe) {
        return InstallMode::Source { checkout };
    }
    if let Some(root) = cargo_root(exe, cargo_home, user_home) {
        return InstallMode::Cargo { root };
    }
    if dpkg_owns(&programs.dpkg, exe).await {
        return InstallMode::Deb;
    }
    InstallMode::Release {
        dir: exe.parent().map(Path::to_path_buf).unwrap_or_default(),
    }
}

/// One installer call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The program.
    pub program: OsString,
    /// Its arguments.
    pub args: Vec<OsString>,
}

impl Step {
    fn new(program: &OsString, args: &[&str]) -> Self {
        Self {
            program: program.clone(),
            args: args.iter().map(OsString::from).collect(),
        }
    }

    /// The command as a shell line.
    pub fn display(&self) -> String {
        std::iter::once(&self.program)
            .chain(&self.args)
            .map(|a| quote(&a.to_string_lossy()))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// `word` as the shell reads it: bare when it is plain.
fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:+@%".contains(&b));
    if plain {
        word.to_owned()
    } else {
        crate::util::sh_quote(word)
    }
}

/// What upgrading to a version takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Run these steps.
    Run(Vec<Step>),
    /// Only root can: the user runs this command.
    NeedsRoot(String),
    /// Not done automatically: what the user can do.
    Manual(String),
    /// A source checkout: refused.
    FromSource(PathBuf),
}

/// The command line a user runs for a Debian upgrade.
pub const APT_COMMAND: &str = "sudo apt-get update && sudo apt-get install --only-upgrade ductor";

/// The upgrade to `target` for `mode` (`is_root`: this process may run apt-get).
pub fn plan(mode: &InstallMode, programs: &Programs, target: &Version, is_root: bool) -> Plan {
    match mode {
        InstallMode::Source { checkout } => Plan::FromSource(checkout.clone()),
        InstallMode::Cargo { root } => {
            let mut step = Step::new(
                &programs.cargo,
                &["install", "ductor", "--locked", "--force", "--version"],
            );
            step.args.push(target.to_string().into());
            step.args.push("--root".into());
            step.args.push(root.clone().into_os_string());
            Plan::Run(vec![step])
        }
        InstallMode::Deb if is_root => Plan::Run(vec![
            Step::new(&programs.apt_get, &["update"]),
            Step::new(
                &programs.apt_get,
                &["install", "--only-upgrade", "-y", "ductor"],
            ),
        ]),
        InstallMode::Deb => Plan::NeedsRoot(APT_COMMAND.to_owned()),
        InstallMode::Release { dir } => Plan::Manual(format!(
            "this ductor is a release binary in {dir}, which ductor does not replace by itself: \
             download ductor {target} and put its `ductor` and `ductor-agent` there, or switch to \
             `cargo install ductor --locked --force --version {target}`",
            dir = dir.display()
        )),
    }
}

/// An installer step that failed.
#[derive(Debug, thiserror::Error)]
#[error("`{command}` failed ({status}){detail}")]
pub struct StepFailed {
    /// The command line.
    pub command: String,
    /// How it ended.
    pub status: String,
    /// The end of its output (with a leading line break), when captured.
    pub detail: String,
}

/// Runs `step`; with `capture` its output is kept for the error (the chat),
/// otherwise it goes to this terminal.
pub async fn run_step(step: &Step, capture: bool) -> Result<(), StepFailed> {
    let command = step.display();
    tracing::info!(%command, "upgrade: running the installer");
    let fail = |status: String, detail: String| StepFailed {
        command: command.clone(),
        status,
        detail,
    };
    let pipe = || {
        if capture {
            Stdio::piped()
        } else {
            Stdio::inherit()
        }
    };
    let child = tokio::process::Command::new(&step.program)
        .args(&step.args)
        .stdin(Stdio::null())
        .stdout(pipe())
        .stderr(pipe())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| fail(format!("cannot start it: {e}"), String::new()))?;
    let Some(done) = crate::procs::finish_within(child, STEP_LIMIT, OUTPUT_KEEP).await else {
        return Err(fail(
            format!("no end after {} minutes", STEP_LIMIT.as_secs() / 60),
            String::new(),
        ));
    };
    let status = done
        .status
        .map_err(|e| fail(e.to_string(), String::new()))?;
    if status.success() {
        return Ok(());
    }
    let mut out = String::from_utf8_lossy(&done.stdout).into_owned();
    out.push_str(&String::from_utf8_lossy(&done.stderr));
    let tail: Vec<&str> = out.lines().rev().take(12).collect();
    let detail = if tail.is_empty() {
        String::new()
    } else {
        let lines: Vec<&str> = tail.into_iter().rev().collect();
        format!(":\n{}", lines.join("\n"))
    };
    Err(fail(status.to_string(), detail))
}

/// The version `exe --version` reports, asked in a fresh process.
pub async fn installed_version(exe: &Path) -> Option<Version> {
    let out = tokio::process::Command::new(exe)
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(10), out)
        .await
        .ok()?
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let word = text.split_whitespace().nth(1)?;
    Version::parse(word)
}

/// The version installed at `exe` once it differs from `old`, looked at after
/// each of [`VERIFY_DELAYS_MS`]; `Err` with what was seen last when it never did.
pub async fn verify(exe: &Path, old: &Version) -> Result<Version, Option<Version>> {
    let mut seen = None;
    for ms in VERIFY_DELAYS_MS {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        seen = installed_version(exe).await;
        if let Some(v) = &seen
            && v != old
        {
            return Ok(v.clone());
        }
    }
    Err(seen)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn fake_programs(dir: &Path, dpkg_owns: bool) -> Programs {
        use std::os::unix::fs::PermissionsExt as _;
        // One file per answer, written once (rewriting a script others may be
        // starting is how "text file busy" happens).
        let dpkg = dir.join(if dpkg_owns { "dpkg-owns" } else { "dpkg-not" });
        if dpkg.exists() {
            return Programs {
                cargo: "cargo".into(),
                dpkg: dpkg.into_os_string(),
                apt_get: "apt-get".into(),
            };
        }
        let script = if dpkg_owns {
            "#!/bin/sh\necho \"ductor: $2\"\n"
        } else {
            "#!/bin/sh\necho \"dpkg-query: no path found matching pattern $2\" >&2\nexit 1\n"
        };
        touch(&dpkg, script);
        std::fs::set_permissions(&dpkg, std::fs::Permissions::from_mode(0o755)).unwrap();
        Programs {
            cargo: "cargo".into(),
            dpkg: dpkg.into_os_string(),
            apt_get: "apt-get".into(),
        }
    }

    #[tokio::test]
    async fn each_install_is_recognised() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        let home = d.join("home");
        let none = fake_programs(d, false);
        let detect_in = |exe: PathBuf, cargo_home: Option<PathBuf>, programs: Programs| {
            let home = home.clone();
            async move { detect(&exe, &programs, cargo_home.as_deref(), &home).await }
        };

        // A build in a checkout, also a cross build and a test's deps/ binary.
        touch(&d.join("src/ductor/Cargo.toml"), "[package]");
        for exe in [
            "src/ductor/target/debug/ductor",
            "src/ductor/target/release/ductor",
            "src/ductor/target/x86_64-unknown-linux-gnu/release/ductor",
        ] {
            assert_eq!(
                detect_in(d.join(exe), None, none.clone()).await,
                InstallMode::Source {
                    checkout: d.join("src/ductor")
                },
                "{exe}"
            );
        }
        // A `target/release` without a Cargo.toml above is not a checkout.
        let loose = d.join("opt/target/release/ductor");
        assert!(matches!(
            detect_in(loose, None, none.clone()).await,
            InstallMode::Release { .. }
        ));

        // ~/.cargo/bin, $CARGO_HOME/bin, and a --root listing ductor.
        let default = home.join(".cargo/bin/ductor");
        assert_eq!(
            detect_in(default, None, none.clone()).await,
            InstallMode::Cargo {
                root: home.join(".cargo")
            }
        );
        let custom = d.join("cargo-home");
        assert_eq!(
            detect_in(
                custom.join("bin/ductor"),
                Some(custom.clone()),
                none.clone()
            )
            .await,
            InstallMode::Cargo { root: custom }
        );
        let root = d.join("tools");
        touch(
            &root.join(".crates.toml"),
            "[v1]\n\"ductor 0.1.0 (registry+https://github.com/rust-lang/crates.io-index)\" = [\"ductor\", \"ductor-agent\"]\n",
        );
        assert_eq!(
            detect_in(root.join("bin/ductor"), None, none.clone()).await,
            InstallMode::Cargo { root }
        );
        let other = d.join("other");
        touch(
            &other.join(".crates2.json"),
            r#"{"installs":{"ripgrep 14.0.0 (registry+x)":{}}}"#,
        );
        assert!(matches!(
            detect_in(other.join("bin/ductor"), None, none.clone()).await,
            InstallMode::Release { .. }
        ));

        // dpkg owns it; otherwise a release binary in its directory.
        let usr = d.join("usr/bin/ductor");
        assert_eq!(
            detect_in(usr.clone(), None, fake_programs(d, true)).await,
            InstallMode::Deb
        );
        assert_eq!(
            detect_in(usr, None, fake_programs(d, false)).await,
            InstallMode::Release {
                dir: d.join("usr/bin")
            }
        );
    }

    #[test]
    fn plans_pin_the_version_and_never_run_sudo() {
        let programs = Programs {
            cargo: "/x/cargo".into(),
            dpkg: "dpkg".into(),
            apt_get: "apt-get".into(),
        };
        let v = Version::parse("0.3.1").unwrap();
        let cargo = InstallMode::Cargo {
            root: "/home/u/.cargo".into(),
        };
        let Plan::Run(steps) = plan(&cargo, &programs, &v, false) else {
            panic!()
        };
        assert_eq!(
            steps.iter().map(Step::display).collect::<Vec<_>>(),
            ["/x/cargo install ductor --locked --force --version 0.3.1 --root /home/u/.cargo"]
        );
        assert_eq!(
            plan(&InstallMode::Deb, &programs, &v, false),
            Plan::NeedsRoot(APT_COMMAND.into())
        );
        let Plan::Run(steps) = plan(&InstallMode::Deb, &programs, &v, true) else {
            panic!()
        };
        assert_eq!(
            steps.iter().map(Step::display).collect::<Vec<_>>(),
            ["apt-get update", "apt-get install --only-upgrade -y ductor"]
        );
        let Plan::Manual(text) = plan(
            &InstallMode::Release {
                dir: "/opt/ductor".into(),
            },
            &programs,
            &v,
            false,
        ) else {
            panic!()
        };
        assert!(
            text.contains("/opt/ductor") && text.contains("0.3.1"),
            "{text}"
        );
    }
}
