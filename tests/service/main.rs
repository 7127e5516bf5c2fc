//! `ductor service` end to end with the real binary: the unit it generates passes
//! `systemd-analyze verify` (paths with spaces, `%` and `$` included); without a systemd
//! user manager `install` writes nothing and prints the foreground command; with stand-in
//! `systemctl`/`loginctl` scripts on `PATH` (recording their arguments) `install`,
//! `ductor stop` and `uninstall` make the calls a user's system would get. The shipped
//! templates in `packaging/` are the generator's output (golden files).
//!
//! Every command runs with `HOME`, `XDG_CONFIG_HOME` and `XDG_RUNTIME_DIR` in a temporary
//! directory and no session bus, so nothing here can reach the machine's own user manager.

#[path = "../support/mod.rs"]
mod support;

use ductor::cli::service::{launchd, systemd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use support::daemon::{TestHome, bin};

/// The stand-ins' directory: a space and a `%` followed by a letter (an unknown systemd
/// specifier, an error unless escaped) check the quoting of the unit's `PATH`.
const BIN: &str = "bin 100%Z";

/// A user environment in a temporary directory: its own home, config dir, runtime dir,
/// and a `bin/` in front of `PATH` for stand-in programs.
struct UserEnv {
    dir: tempfile::TempDir,
}

impl UserEnv {
    fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("svc")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap();
        for sub in ["home", "config", "runtime", BIN] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        std::fs::set_permissions(
            dir.path().join("runtime"),
            std::fs::Permissions::from_mode(0o700),
        )
        .unwrap();
        Self { dir }
    }

    fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    fn unit_file(&self) -> PathBuf {
        self.path("config/systemd/user/ductor.service")
    }

    /// `PATH` with this environment's `bin/` first.
    fn search_path(&self) -> String {
        format!(
            "{}:{}",
            self.path(BIN).display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    /// Applies the environment to `cmd`.
    fn apply<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        cmd.env("HOME", self.path("home"))
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_RUNTIME_DIR", self.path("runtime"))
            .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
            .env("PATH", self.search_path())
            .env_remove("INVOCATION_ID")
            .stdin(Stdio::null())
    }

    /// An executable `bin/<name>` that appends `<name> <args>` to `calls.log` and exits 0.
    fn stand_in(&self, name: &str) {
        let script = self.path(BIN).join(name);
        let log = self.path("calls.log");
        std::fs::write(
            &script,
            format!("#!/bin/sh\necho \"{name} $*\" >> '{}'\n", log.display()),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// The calls recorded by the stand-ins so far (and forgets them).
    fn take_calls(&self) -> Vec<String> {
        let log = self.path("calls.log");
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let _ = std::fs::remove_file(&log);
        text.lines().map(String::from).collect()
    }
}

/// Runs `ductor --home <home> args` in `env`.
fn ductor(env: &UserEnv, home: &Path, args: &[&str]) -> Output {
    env.apply(
        Command::new(bin("ductor"))
            .arg("--home")
            .arg(home)
            .args(args),
    )
    .env_remove("DUCTOR_HOME")
    .output()
    .expect("run ductor")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The path of `systemd-analyze`; panics with how to install it.
fn systemd_analyze() -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("systemd-analyze"))
        .find(|p| p.is_file())
        .expect("systemd-analyze is missing: run .ci/install-service-tools (Debian's systemd)")
}

/// Runs `systemd-analyze --user verify unit` in `env` and asserts it finds nothing: exit 0
/// and no output (it only warns about unknown keys and the like, with exit 0).
fn assert_verifies(env: &UserEnv, unit: &Path) {
    let out = env
        .apply(&mut Command::new(systemd_analyze()))
        .args(["--user", "verify"])
        .arg(unit)
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty() && out.stdout.is_empty(),
        "systemd-analyze verify {}: {}\n{}{}\nunit:\n{}",
        unit.display(),
        out.status,
        text(&out.stdout),
        text(&out.stderr),
        std::fs::read_to_string(unit).unwrap()
    );
}

/// A copy of the test home's config in a home directory with a hostile name.
fn hostile_home(home: &TestHome) -> PathBuf {
    let dir = home.root.join("my home 100%Z $USER \"q\" \\x");
    std::fs::create_dir_all(dir.join("config")).unwrap();
    std::fs::copy(
        home.root.join("config/config.json"),
        dir.join("config/config.json"),
    )
    .unwrap();
    dir
}

#[test]
fn the_generated_unit_passes_systemd_analyze_verify() {
    let env = UserEnv::new();
    let home = TestHome::new();
    let hostile = hostile_home(&home);
    env.stand_in("claude");
    for root in [home.root.clone(), hostile] {
        let out = ductor(&env, &root, &["service", "install", "--print"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let unit = text(&out.stdout);
        // Quoted (a space) and escaped (`%`): systemd reads back the directory.
        let claude_dir = env.path(BIN).display().to_string().replace('%', "%%");
        assert!(
            unit.lines()
                .any(|l| l.starts_with(&format!("Environment=\"PATH={claude_dir}:"))),
            "the directory of `claude` is first on the service's PATH:\n{unit}"
        );
        let file = env.path("ductor.service");
        std::fs::write(&file, &unit).unwrap();
        assert_verifies(&env, &file);
        assert!(!env.unit_file().exists(), "--print installs nothing");
    }
    // The checker is not blind: an unescaped `%` and an unbalanced quote are refused.
    let file = env.path("broken.service");
    std::fs::write(
        &file,
        format!(
            "[Service]\nExecStart={} --home \"/a b/100%Z\"\n",
            bin("ductor").display()
        ),
    )
    .unwrap();
    let out = env
        .apply(&mut Command::new(systemd_analyze()))
        .args(["--user", "verify"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn the_packaged_templates_are_the_generators_output() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging");
    let files = [
        (
            root.join("systemd/ductor.service"),
            systemd::render(&systemd::packaged()).unwrap(),
        ),
        (
            root.join("launchd/dev.ductor.plist"),
            launchd::render(&launchd::packaged()).unwrap(),
        ),
    ];
    for (file, generated) in files {
        if support::golden::update() {
            std::fs::write(&file, &generated).unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            generated,
            "{} differs from the generator (UPDATE_GOLDEN=1 rewrites it)",
            file.display()
        );
    }
    // The packaged unit is valid too, for a `cargo install` into `~/.cargo/bin`.
    let env = UserEnv::new();
    let cargo_bin = env.path("home/.cargo/bin");
    std::fs::create_dir_all(&cargo_bin).unwrap();
    std::os::unix::fs::symlink(bin("ductor"), cargo_bin.join("ductor")).unwrap();
    assert_verifies(&env, &root.join("systemd/ductor.service"));
}

#[test]
fn without_a_user_manager_install_prints_the_foreground_command() {
    let env = UserEnv::new();
    let home = TestHome::new();
    let out = ductor(&env, &home.root, &["service", "install"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("so ductor cannot run as a service; run it in the foreground instead:"),
        "{err}"
    );
    let foreground = format!(
        "  {} --home {}\n",
        bin("ductor").display(),
        home.root.display()
    );
    assert!(err.ends_with(&foreground), "{err}");
    assert!(!env.unit_file().exists());
}

#[test]
fn install_stop_and_uninstall_drive_systemctl() {
    let env = UserEnv::new();
    let home = TestHome::new();
    env.stand_in("systemctl");
    env.stand_in("loginctl");
    let out = ductor(&env, &home.root, &["service", "install"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        env.take_calls(),
        [
            "systemctl --user show-environment".to_owned(),
            "systemctl --user daemon-reload".to_owned(),
            "systemctl --user enable --now ductor".to_owned(),
            format!("loginctl enable-linger {}", whoami()),
        ]
    );
    let unit = std::fs::read_to_string(env.unit_file()).unwrap();
    let mode = std::fs::metadata(env.unit_file())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o644);
    assert!(
        unit.contains(&format!(
            "\nExecStart={} --home {}\n",
            bin("ductor").display(),
            home.root.display()
        )),
        "{unit}"
    );
    assert_verifies(&env, &env.unit_file());

    // `ductor stop` of another home leaves the service alone; of this home, stops it.
    let other = TestHome::new();
    let out = ductor(&env, &other.root, &["stop"]);
    assert!(out.status.success());
    assert!(env.take_calls().is_empty());
    let out = ductor(&env, &home.root, &["stop"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        env.take_calls(),
        [
            "systemctl --user is-active --quiet ductor",
            "systemctl --user stop ductor"
        ]
    );
    assert!(text(&out.stdout).contains("stopped the ductor service"));

    let out = ductor(&env, &home.root, &["service", "uninstall"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        env.take_calls(),
        [
            "systemctl --user show-environment",
            "systemctl --user stop ductor",
            "systemctl --user disable ductor",
            "systemctl --user daemon-reload",
        ]
    );
    assert!(!env.unit_file().exists());
}

/// This user's login name.
fn whoami() -> String {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .unwrap()
        .unwrap()
        .name
}
