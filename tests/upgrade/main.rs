//! `ductor upgrade` end to end with the real binary: a fake crate index on loopback
//! (the registry's newline-delimited JSON) and stand-in installers (`DUCTOR_CARGO`,
//! `DUCTOR_DPKG`, `DUCTOR_APT_GET`) that record their arguments and put a newer
//! "ductor" (a script printing a newer version) where the installed one was. The
//! real `ductor` is linked into a fake `$CARGO_HOME/bin` (or `/usr/bin`) in a
//! temporary directory, so install-mode detection sees what a user's install
//! looks like. Nothing here reaches the network or the machine's package manager.
//! `chat`: the same from the chat, through the fake Bot API and a real restart.

#[path = "../support/mod.rs"]
mod support;

mod chat;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

const CURRENT: &str = env!("CARGO_PKG_VERSION");

/// A one-file HTTP server on loopback answering every GET with `body`; it keeps the
/// request heads it got.
struct FakeIndex {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl FakeIndex {
    fn serve(body: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/du/ct/ductor", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    head.push_str(&line);
                }
                seen.lock().unwrap().push(head);
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Self { url, requests }
    }

    fn asked(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn record(vers: &str, yanked: bool) -> String {
    format!(
        r#"{{"name":"ductor","vers":"{vers}","deps":[],"cksum":"ab","features":{{}},"yanked":{yanked},"v":2}}"#
    )
}

/// The index of a registry where 99.0.0 is the newest release (a yanked 100.0.0
/// and a 101.0.0 pre-release above it do not count).
fn index_with_update() -> String {
    [
        record("0.0.1", false),
        record(CURRENT, false),
        record("99.0.0", false),
        record("100.0.0", true),
        record("101.0.0-beta.1", false),
    ]
    .join("\n")
        + "\n"
}

fn write_exec(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    // A new file renamed into place: the running tests never see it half-written.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// A user's machine in a temporary directory: a ductor home whose config points
/// the update check at `index`, and stand-in installers.
struct Machine {
    dir: tempfile::TempDir,
}

impl Machine {
    fn new(index: &FakeIndex) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("upg")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap();
        let m = Self { dir };
        std::fs::create_dir_all(m.path("user")).unwrap();
        let config = serde_json::json!({"update_index_url": index.url});
        std::fs::create_dir_all(m.path("home/config")).unwrap();
        std::fs::write(
            m.path("home/config/config.json"),
            serde_json::to_vec_pretty(&config).unwrap(),
        )
        .unwrap();
        m
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The real `ductor` at `rel` (linked, or copied across file systems).
    fn install_ductor(&self, rel: &str) -> PathBuf {
        let to = self.path(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        let real = env!("CARGO_BIN_EXE_ductor");
        if std::fs::hard_link(real, &to).is_err() {
            std::fs::copy(real, &to).unwrap();
        }
        to
    }

    /// A stand-in installer that logs its arguments to `calls.log`, prints `say`,
    /// then runs `then` (shell).
    fn installer(&self, name: &str, say: &str, then: &str) -> PathBuf {
        let path = self.path(&format!("fakes/{name}"));
        let log = self.path("calls.log");
        write_exec(
            &path,
            &format!(
                "#!/bin/sh\necho \"{name} $*\" >> '{}'\necho '{say}'\n{then}\n",
                log.display()
            ),
        );
        path
    }

    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.path("calls.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// A shell line that puts a "ductor" reporting `version` at `exe` (renamed
    /// into place, as cargo and dpkg do).
    fn replace_with(exe: &Path, version: &str) -> String {
        format!(
            "printf '#!/bin/sh\\necho \"ductor {version}\"\\n' > '{0}.new' && chmod 755 '{0}.new' && mv '{0}.new' '{0}'",
            exe.display()
        )
    }

    fn upgrade(&self, exe: &Path, env: &[(&str, &Path)], args: &[&str]) -> Output {
        let mut cmd = Command::new(exe);
        cmd.arg("--home")
            .arg(self.path("home"))
            .arg("upgrade")
            .args(args)
            .env("HOME", self.path("user"))
            .env("DUCTOR_CARGO", self.path("fakes/none"))
            .env("DUCTOR_DPKG", self.path("fakes/none"))
            .env("DUCTOR_APT_GET", self.path("fakes/none"))
            .env_remove("CARGO_HOME")
            .env_remove("DUCTOR_HOME")
            .env_remove("INVOCATION_ID")
            .env_remove("DUCTOR_SUPERVISOR");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

fn version_of(exe: &Path) -> String {
    text(&Command::new(exe).arg("--version").output().unwrap().stdout)
        .trim()
        .to_owned()
}

#[test]
fn a_cargo_install_is_upgraded_pinned_and_verified() {
    let index = FakeIndex::serve(index_with_update());
    let m = Machine::new(&index);
    let cargo_home = m.path("cargo");
    let exe = m.install_ductor("cargo/bin/ductor");
    let cargo = m.installer(
        "cargo",
        "Installing ductor v99.0.0",
        &Machine::replace_with(&exe, "99.0.0"),
    );
    let out = m.upgrade(
        &exe,
        &[("CARGO_HOME", &cargo_home), ("DUCTOR_CARGO", &cargo)],
        &[],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("ductor 99.0.0 is available (this is {CURRENT})")),
        "{stdout}"
    );
    assert_eq!(
        m.calls(),
        [format!(
            "cargo install ductor --locked --force --version 99.0.0 --root {}",
            cargo_home.display()
        )]
    );
    assert!(
        stdout.contains("Installing ductor v99.0.0"),
        "the installer's output is shown: {stdout}"
    );
    assert!(
        stdout.contains(&format!("ductor upgraded from {CURRENT} to 99.0.0")),
        "{stdout}"
    );
    assert!(stdout.contains("not running"), "{stdout}");
    assert_eq!(version_of(&exe), "ductor 99.0.0");
    // One fresh look at the index, past any cache.
    let asked = index.asked();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(asked[0].starts_with("GET /du/ct/ductor "), "{}", asked[0]);
    assert!(
        asked[0].to_lowercase().contains("cache-control: no-cache"),
        "{}",
        asked[0]
    );
    assert!(
        asked[0].to_lowercase().contains("user-agent: ductor/"),
        "{}",
        asked[0]
    );
}

#[test]
fn an_install_whose_version_did_not_change_is_a_failure() {
    let index = FakeIndex::serve(index_with_update());
    let m = Machine::new(&index);
    // Found through the install records of a `--root`, not through CARGO_HOME.
    std::fs::create_dir_all(m.path("tools")).unwrap();
    std::fs::write(
        m.path("tools/.crates2.json"),
        format!(r#"{{"installs":{{"ductor {CURRENT} (registry+https://github.com/rust-lang/crates.io-index)":{{"bins":["ductor","ductor-agent"]}}}}}}"#),
    )
    .unwrap();
    let exe = m.install_ductor("tools/bin/ductor");
    let cargo = m.installer("cargo", "nothing to do", "true");
    let out = m.upgrade(&exe, &[("DUCTOR_CARGO", &cargo)], &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("still reports {CURRENT}")),
        "{stderr}"
    );
    assert_eq!(m.calls().len(), 1);
    assert!(m.calls()[0].ends_with(&format!("--root {}", m.path("tools").display())));
}

#[test]
fn a_failing_installer_is_reported_and_nothing_changes() {
    let index = FakeIndex::serve(index_with_update());
    let m = Machine::new(&index);
    let exe = m.install_ductor("cargo/bin/ductor");
    let cargo = m.installer(
        "cargo",
        "error: could not find `ductor` in registry",
        "exit 101",
    );
    let out = m.upgrade(
        &exe,
        &[("CARGO_HOME", &m.path("cargo")), ("DUCTOR_CARGO", &cargo)],
        &[],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout.contains("could not find `ductor` in registry"),
        "{stdout}"
    );
    assert!(stderr.contains("failed (exit status: 101)"), "{stderr}");
    assert_eq!(version_of(&exe), format!("ductor {CURRENT}"));
}

#[test]
fn up_to_date_garbage_and_check_only_install_nothing() {
    let up_to_date = FakeIndex::serve(
        [
            record(CURRENT, false),
            record("99.0.0", true),
            record("100.0.0-rc.1", false),
        ]
        .join("\n"),
    );
    let m = Machine::new(&up_to_date);
    let exe = m.install_ductor("cargo/bin/ductor");
    let cargo = m.installer("cargo", "", "true");
    let env = [("CARGO_HOME", m.path("cargo")), ("DUCTOR_CARGO", cargo)];
    let env: Vec<(&str, &Path)> = env.iter().map(|(k, v)| (*k, v.as_path())).collect();
    let out = m.upgrade(&exe, &env, &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains(&format!("ductor {CURRENT} is up to date")));

    let garbage = FakeIndex::serve("<html>Sign in to the hotel Wi-Fi</html>".into());
    let g = Machine::new(&garbage);
    let exe = g.install_ductor("cargo/bin/ductor");
    let env_g = [("CARGO_HOME", g.path("cargo"))];
    let env_g: Vec<(&str, &Path)> = env_g.iter().map(|(k, v)| (*k, v.as_path())).collect();
    let out = g.upgrade(&exe, &env_g, &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("answered something else than an index entry"),
        "{stderr}"
    );

    let update = FakeIndex::serve(index_with_update());
    let c = Machine::new(&update);
    let exe = c.install_ductor("cargo/bin/ductor");
    let cargo = c.installer("cargo", "", "true");
    let env_c = [("CARGO_HOME", c.path("cargo")), ("DUCTOR_CARGO", cargo)];
    let env_c: Vec<(&str, &Path)> = env_c.iter().map(|(k, v)| (*k, v.as_path())).collect();
    let out = c.upgrade(&exe, &env_c, &["--check"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("ductor 99.0.0 is available"));
    assert!(m.calls().is_empty() && g.calls().is_empty() && c.calls().is_empty());
}

#[test]
fn a_build_in_a_source_checkout_is_refused_before_asking_anyone() {
    let index = FakeIndex::serve(index_with_update());
    let m = Machine::new(&index);
    let cargo = m.installer("cargo", "", "true");
    // The test's own ductor lives in this checkout's target/.
    let out = m.upgrade(
        Path::new(env!("CARGO_BIN_EXE_ductor")),
        &[("DUCTOR_CARGO", &cargo)],
        &[],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("runs from a source checkout"), "{stderr}");
    assert!(stderr.lines().count() == 1, "one sentence: {stderr}");
    assert!(index.asked().is_empty());
    assert!(m.calls().is_empty());
}

#[test]
fn a_debian_package_is_upgraded_by_apt_as_root_and_explained_otherwise() {
    let index = FakeIndex::serve(index_with_update());
    let m = Machine::new(&index);
    let exe = m.install_ductor("usr/bin/ductor");
    let dpkg = m.installer("dpkg", &format!("ductor: {}", exe.display()), "true");
    let apt = m.installer(
        "apt-get",
        "",
        &format!(
            "[ \"$1\" = install ] && {{ {}; }}; true",
            Machine::replace_with(&exe, "99.0.0")
        ),
    );
    let out = m.upgrade(
        &exe,
        &[("DUCTOR_DPKG", &dpkg), ("DUCTOR_APT_GET", &apt)],
        &[],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    let dpkg_call = format!("dpkg -S {}", exe.display());
    if nix::unistd::geteuid().is_root() {
        assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
        assert_eq!(
            m.calls(),
            [
                dpkg_call,
                "apt-get update".to_owned(),
                "apt-get install --only-upgrade -y ductor".to_owned()
            ]
        );
        assert_eq!(version_of(&exe), "ductor 99.0.0");
    } else {
        assert_eq!(out.status.code(), Some(1));
        assert!(
            stderr.contains("sudo apt-get update && sudo apt-get install --only-upgrade ductor"),
            "{stderr}"
        );
        assert_eq!(m.calls(), [dpkg_call], "no apt-get, no sudo");
    }
}

#[test]
fn a_release_binary_elsewhere_says_what_to_do() {
    let index = FakeIndex::serve(index_with_update());
    let m = Machine::new(&index);
    let exe = m.install_ductor("opt/ductor/ductor");
    let dpkg = m.installer("dpkg", "dpkg-query: no path found", "exit 1");
    let out = m.upgrade(&exe, &[("DUCTOR_DPKG", &dpkg)], &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "no fake success");
    assert!(
        stderr.contains("release binary in") && stderr.contains("opt/ductor"),
        "{stderr}"
    );
    assert!(stderr.contains("99.0.0"), "{stderr}");
    assert_eq!(version_of(&exe), format!("ductor {CURRENT}"));
}
