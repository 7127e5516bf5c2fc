//! The service commands against a recording fake of `systemctl`, `loginctl`,
//! `journalctl` and `launchctl`: the exact calls, the files, the messages.

use super::testing::{FakeRunner, Reply, Rig};
use super::*;
use std::os::unix::fs::PermissionsExt;

const NO_BUS: &str = "Failed to connect to bus: No medium found";

fn install() -> ServiceCommand {
    ServiceCommand::Install { print: false }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn install_writes_the_unit_and_enables_it() {
    let rig = Rig::new("my home 100%");
    let fake = FakeRunner::default();
    let (code, out, err) = rig.run(Platform::Systemd, &install(), &fake);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        fake.calls(),
        [
            "systemctl --user show-environment",
            "systemctl --user daemon-reload",
            "systemctl --user enable --now ductor",
            "loginctl enable-linger alice",
        ]
    );
    let unit = std::fs::read_to_string(&rig.ctx.unit_file).unwrap();
    let base = rig.base().display();
    assert!(
        unit.contains(&format!(
            "\nExecStart={base}/bin/ductor --home \"{base}/my home 100%%\"\n"
        )),
        "{unit}"
    );
    assert!(unit.contains(&format!(
        "\nEnvironment=PATH={base}/node/bin:/usr/bin:/bin\n"
    )));
    assert!(unit.contains("\nEnvironment=DUCTOR_SUPERVISOR=1\n"));
    assert!(unit.contains("\nTimeoutStopSec=20\n"));
    assert_eq!(mode(&rig.ctx.unit_file), 0o644);
    assert!(
        out.contains("ductor runs as the systemd user service"),
        "{out}"
    );
    assert!(err.is_empty(), "{err}");
}

#[test]
fn install_without_a_user_manager_prints_the_foreground_command() {
    let rig = Rig::new("home");
    let fake = FakeRunner::default().reply("systemctl", Reply::Exit(1, NO_BUS));
    let (code, _, err) = rig.run(Platform::Systemd, &install(), &fake);
    assert_eq!(code, 1);
    assert_eq!(fake.calls(), ["systemctl --user show-environment"]);
    assert!(!rig.ctx.unit_file.exists());
    assert!(
        err.contains(&format!(
            "there is no systemd user manager here (`systemctl --user` says: {NO_BUS})"
        )),
        "{err}"
    );
    let foreground = format!(
        "  {}/bin/ductor --home {}/home\n",
        rig.base().display(),
        rig.base().display()
    );
    assert!(err.ends_with(&foreground), "{err}");

    let missing = FakeRunner::default().reply("systemctl", Reply::Missing);
    let (code, _, err) = rig.run(Platform::Systemd, &install(), &missing);
    assert_eq!(code, 1);
    assert!(err.starts_with("systemd is not available here"), "{err}");
}

#[test]
fn a_refused_linger_is_explained_but_not_fatal() {
    let rig = Rig::new("home");
    let fake = FakeRunner::default().reply(
        "loginctl enable-linger alice",
        Reply::Exit(1, "Could not enable linger: Access denied"),
    );
    let (code, _, err) = rig.run(Platform::Systemd, &install(), &fake);
    assert_eq!(code, 0);
    assert!(err.contains("Access denied"), "{err}");
    assert!(err.contains("the service stops when you log out"), "{err}");
    assert!(err.contains("sudo loginctl enable-linger alice"), "{err}");
}

#[test]
fn install_refuses_a_home_that_cannot_start() {
    let rig = Rig::new("home");
    std::fs::write(
        rig.ctx.home.main().config_file(),
        r#"{"allowed_user_ids": [1]}"#,
    )
    .unwrap();
    let fake = FakeRunner::default();
    let (code, _, err) = rig.run(Platform::Systemd, &install(), &fake);
    assert_eq!(code, 1);
    assert!(err.contains("telegram_token"), "{err}");
    assert!(fake.calls().is_empty());
    assert!(!rig.ctx.unit_file.exists());
}

#[test]
fn install_refuses_while_ductor_runs_outside_the_service() {
    let rig = Rig::new("home");
    std::fs::create_dir_all(rig.ctx.home.run_dir()).unwrap();
    let _lock =
        crate::pidlock::PidLock::acquire(&rig.ctx.home.pid_file(), "ductor", rig.ctx.home.root())
            .unwrap();
    let fake = FakeRunner::default();
    let (code, _, err) = rig.run(Platform::Systemd, &install(), &fake);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!(
            "already runs for this home (pid {})",
            std::process::id()
        )),
        "{err}"
    );
    assert!(fake.calls().is_empty());

    // Once the service is installed for this home, the running ductor is the service.
    std::fs::create_dir_all(rig.ctx.unit_file.parent().unwrap()).unwrap();
    std::fs::write(
        &rig.ctx.unit_file,
        linux::unit_spec(&rig.ctx)
            .and_then(|s| systemd::render(&s))
            .unwrap(),
    )
    .unwrap();
    let (code, out, err) = rig.run(Platform::Systemd, &install(), &fake);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("the unit changed"), "{out}");
}

#[test]
fn print_shows_the_unit_and_touches_nothing() {
    let rig = Rig::new("home");
    let fake = FakeRunner::default();
    let (code, out, _) = rig.run(
        Platform::Systemd,
        &ServiceCommand::Install { print: true },
        &fake,
    );
    assert_eq!(code, 0);
    assert_eq!(
        out,
        linux::unit_spec(&rig.ctx)
            .and_then(|s| systemd::render(&s))
            .unwrap()
    );
    assert!(fake.calls().is_empty());
    assert!(!rig.ctx.unit_file.exists());
}

#[test]
fn uninstall_stops_disables_removes_and_reloads() {
    let rig = Rig::new("home");
    rig.run(Platform::Systemd, &install(), &FakeRunner::default());
    let fake = FakeRunner::default();
    let (code, out, _) = rig.run(Platform::Systemd, &ServiceCommand::Uninstall, &fake);
    assert_eq!(code, 0);
    assert_eq!(
        fake.calls(),
        [
            "systemctl --user show-environment",
            "systemctl --user stop ductor",
            "systemctl --user disable ductor",
            "systemctl --user daemon-reload",
        ]
    );
    assert!(!rig.ctx.unit_file.exists());
    assert!(out.contains("removed the ductor service"));

    let again = FakeRunner::default();
    let (code, out, _) = rig.run(Platform::Systemd, &ServiceCommand::Uninstall, &again);
    assert_eq!(code, 0);
    assert!(out.contains("not installed"));
    assert!(again.calls().is_empty());
}

#[test]
fn start_stop_restart_status_map_to_systemctl() {
    let rig = Rig::new("home");
    let none = FakeRunner::default();
    let (code, _, err) = rig.run(Platform::Systemd, &ServiceCommand::Start, &none);
    assert_eq!(code, 1);
    assert!(err.contains("not installed"));
    assert!(none.calls().is_empty());

    rig.run(Platform::Systemd, &install(), &FakeRunner::default());
    for (cmd, verb) in [
        (ServiceCommand::Start, "start"),
        (ServiceCommand::Stop, "stop"),
        (ServiceCommand::Restart, "restart"),
    ] {
        let fake = FakeRunner::default();
        assert_eq!(rig.run(Platform::Systemd, &cmd, &fake).0, 0);
        assert_eq!(fake.calls(), [format!("systemctl --user {verb} ductor")]);
    }
    let failing = FakeRunner::default().reply(
        "systemctl",
        Reply::Exit(5, "Unit ductor.service not loaded."),
    );
    let (code, _, err) = rig.run(Platform::Systemd, &ServiceCommand::Start, &failing);
    assert_eq!(code, 5);
    assert!(err.contains("not loaded"), "{err}");

    let status = FakeRunner::default().reply("systemctl", Reply::Exit(3, ""));
    let (code, out, _) = rig.run(Platform::Systemd, &ServiceCommand::Status, &status);
    assert_eq!(code, 3);
    assert_eq!(
        status.calls(),
        ["systemctl --user status ductor --no-pager"]
    );
    assert!(out.contains("(runs this home)"), "{out}");
}

#[test]
fn logs_read_the_journal_or_fall_back_to_the_log_file() {
    let rig = Rig::new("home");
    let log = rig.ctx.home.main().log_file();
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    std::fs::write(&log, "one\ntwo\nthree\n").unwrap();
    let logs = ServiceCommand::Logs {
        no_follow: true,
        lines: 2,
    };

    // Not installed: the log file, no journal.
    let fake = FakeRunner::default();
    let (code, out, _) = rig.run(Platform::Systemd, &logs, &fake);
    assert_eq!((code, out.as_str()), (0, "two\nthree\n"));
    assert!(fake.calls().is_empty());

    rig.run(Platform::Systemd, &install(), &FakeRunner::default());
    let fake = FakeRunner::default();
    assert_eq!(rig.run(Platform::Systemd, &logs, &fake).0, 0);
    assert_eq!(
        fake.calls(),
        ["journalctl --user -u ductor --no-hostname -n 2 --no-pager"]
    );

    let no_journal = FakeRunner::default().reply("journalctl", Reply::Missing);
    let (code, out, err) = rig.run(Platform::Systemd, &logs, &no_journal);
    assert_eq!((code, out.as_str()), (0, "two\nthree\n"));
    assert!(err.contains("there is no `journalctl`"), "{err}");
}

#[test]
fn ductor_stop_stops_the_service_of_its_own_home_only() {
    let rig = Rig::new("home");
    let fake = FakeRunner::default();
    assert!(!rig.stop_hook(Platform::Systemd, &fake).0);
    assert!(fake.calls().is_empty(), "not installed: no call");

    rig.run(Platform::Systemd, &install(), &FakeRunner::default());
    let fake = FakeRunner::default();
    let (stopped, out) = rig.stop_hook(Platform::Systemd, &fake);
    assert!(stopped);
    assert_eq!(
        fake.calls(),
        [
            "systemctl --user is-active --quiet ductor",
            "systemctl --user stop ductor"
        ]
    );
    assert!(out.contains("stopped the ductor service"));

    let inactive = FakeRunner::default().reply(
        "systemctl --user is-active --quiet ductor",
        Reply::Exit(3, ""),
    );
    assert!(!rig.stop_hook(Platform::Systemd, &inactive).0);
    assert_eq!(
        inactive.calls(),
        ["systemctl --user is-active --quiet ductor"]
    );

    // Another home's `ductor stop` leaves this service alone.
    let mut other = Rig::new("other");
    other.ctx.unit_file.clone_from(&rig.ctx.unit_file);
    let fake = FakeRunner::default();
    assert!(!other.stop_hook(Platform::Systemd, &fake).0);
    assert!(fake.calls().is_empty());
}

#[test]
fn a_unit_without_home_runs_the_default_home() {
    let mut rig = Rig::new(".ductor");
    let unit = systemd::render(&systemd::packaged()).unwrap();
    assert!(linux::runs_home(&unit, &rig.ctx));
    rig.ctx.home = Home::new(rig.base().join("elsewhere"));
    assert!(!linux::runs_home(&unit, &rig.ctx));
}

#[test]
fn launchd_install_bootstraps_the_agent() {
    let rig = Rig::new("my <home> & co");
    let fake = FakeRunner::default().reply(
        "launchctl bootout gui/501/dev.ductor",
        Reply::Exit(3, "No such process"),
    );
    let (code, out, err) = rig.run(Platform::Launchd, &install(), &fake);
    assert_eq!(code, 0, "{err}");
    let plist_file = rig.ctx.plist_file.display().to_string();
    assert_eq!(
        fake.calls(),
        [
            "launchctl bootout gui/501/dev.ductor".to_owned(),
            "launchctl enable gui/501/dev.ductor".to_owned(),
            format!("launchctl bootstrap gui/501 {plist_file}"),
        ]
    );
    assert!(err.is_empty(), "a not-loaded agent is no error: {err}");
    assert!(out.contains("launchd agent dev.ductor"));
    let plist = std::fs::read_to_string(&rig.ctx.plist_file).unwrap();
    let strings = launchd::tests::check_plist(&plist).unwrap();
    let home = rig.ctx.home.root().display().to_string();
    assert_eq!(
        strings[1..4],
        [
            rig.ctx.exe.display().to_string(),
            "--home".into(),
            home.clone()
        ]
    );
    assert!(strings.contains(&format!("{home}/logs/service.err")));
    assert!(
        rig.ctx.home.main().logs_dir().is_dir(),
        "launchd needs the log directory"
    );
    assert_eq!(mode(&rig.ctx.plist_file), 0o644);
    assert!(macos::runs_home(&plist, &rig.ctx));
}

#[test]
fn launchd_start_stop_restart_uninstall() {
    let rig = Rig::new("home");
    rig.run(Platform::Launchd, &install(), &FakeRunner::default());
    let plist_file = rig.ctx.plist_file.display().to_string();

    let unloaded = FakeRunner::default().reply(
        "launchctl print gui/501/dev.ductor",
        Reply::Exit(113, "not found"),
    );
    assert_eq!(
        rig.run(Platform::Launchd, &ServiceCommand::Start, &unloaded)
            .0,
        0
    );
    assert_eq!(
        unloaded.calls(),
        [
            "launchctl print gui/501/dev.ductor".to_owned(),
            format!("launchctl bootstrap gui/501 {plist_file}")
        ]
    );
    let loaded = FakeRunner::default();
    assert_eq!(
        rig.run(Platform::Launchd, &ServiceCommand::Restart, &loaded)
            .0,
        0
    );
    assert_eq!(
        loaded.calls(),
        [
            "launchctl print gui/501/dev.ductor",
            "launchctl kickstart -k gui/501/dev.ductor"
        ]
    );

    let fake = FakeRunner::default();
    assert_eq!(
        rig.run(Platform::Launchd, &ServiceCommand::Stop, &fake).0,
        0
    );
    assert_eq!(fake.calls(), ["launchctl bootout gui/501/dev.ductor"]);

    let fake = FakeRunner::default();
    let (stopped, _) = rig.stop_hook(Platform::Launchd, &fake);
    assert!(stopped);
    assert_eq!(
        fake.calls(),
        [
            "launchctl print gui/501/dev.ductor",
            "launchctl bootout gui/501/dev.ductor"
        ]
    );

    let fake = FakeRunner::default();
    assert_eq!(
        rig.run(Platform::Launchd, &ServiceCommand::Uninstall, &fake)
            .0,
        0
    );
    assert_eq!(fake.calls(), ["launchctl bootout gui/501/dev.ductor"]);
    assert!(!rig.ctx.plist_file.exists());
    let fake = FakeRunner::default();
    assert!(!rig.stop_hook(Platform::Launchd, &fake).0);
    assert!(fake.calls().is_empty());
}

#[test]
fn the_service_path_has_the_clis_dirs_then_the_system() {
    let dir = tempfile::tempdir().unwrap();
    let make = |sub: &str, name: &str| {
        let d = dir.path().join(sub);
        std::fs::create_dir_all(&d).unwrap();
        let f = d.join(name);
        std::fs::write(&f, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
        d
    };
    let npm = make("npm/bin", "claude");
    make("npm/bin", "codex");
    let gem = make("gem bin", "gemini");
    let node = make("nvm/v22/bin", "node");
    let plain = make("notexec", "codex");
    std::fs::set_permissions(plain.join("codex"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let path = format!(
        "relative/bin:{}:{}:{}:{}",
        plain.display(),
        npm.display(),
        gem.display(),
        node.display()
    );
    let home = Path::new("/home/alice");
    let dirs = service_path(
        &path,
        Path::new("/opt/ductor/bin/ductor"),
        home,
        Platform::Systemd,
    );
    let expect: Vec<PathBuf> = [npm, gem, node]
        .into_iter()
        .chain(
            [
                "/opt/ductor/bin",
                "/home/alice/.local/bin",
                "/usr/local/sbin",
                "/usr/local/bin",
                "/usr/sbin",
            ]
            .map(PathBuf::from),
        )
        .chain(["/usr/bin", "/sbin", "/bin"].map(PathBuf::from))
        .collect();
    assert_eq!(dirs[..], expect[..]);
    let mac = service_path(&path, Path::new("/usr/bin/ductor"), home, Platform::Launchd);
    assert!(mac.contains(&PathBuf::from("/opt/homebrew/bin")));
    assert_eq!(
        mac.iter().filter(|d| *d == Path::new("/usr/bin")).count(),
        1
    );
}

#[test]
fn stop_timeout_leaves_room_above_the_grace() {
    assert_eq!(stop_timeout(10.0), 20);
    assert_eq!(stop_timeout(2.5), 13);
    assert_eq!(stop_timeout(-1.0), 10);
    assert_eq!(stop_timeout(f64::NAN), 10);
}

#[test]
fn shell_quote_quotes_what_a_shell_would_split() {
    assert_eq!(shell_quote("/home/a/.ductor"), "/home/a/.ductor");
    assert_eq!(shell_quote("/home/a/my home"), "'/home/a/my home'");
    assert_eq!(shell_quote("it's"), r"'it'\''s'");
    assert_eq!(shell_quote(""), "''");
}
