//! What runs, for `ductor doctor`: the supervisor's bus (it must answer when ductor
//! runs; a socket left by a run that ended is harmless) and the user service
//! (installed for this home or not, and how it is doing, asked through the service
//! module's [`Runner`] seam).

use super::Finding;
use crate::cli::service::{self, Context, Platform, Runner};
use crate::paths::Home;
use std::time::Duration;

/// The bus of a running ductor answers a health request; a socket without a
/// running ductor is reported as stale (information only).
pub async fn bus_finding(home: &Home, timeout: Duration) -> Finding {
    let socket = home.bus_socket();
    let Some(pid) = crate::pidlock::running_pid(&home.pid_file()) else {
        return Finding {
            problem: false,
            text: if socket.exists() {
                format!(
                    "bus: ductor is not running; {} is a stale socket from an earlier run \
                     (harmless, the next start replaces it)",
                    socket.display()
                )
            } else {
                "bus: ductor is not running".into()
            },
        };
    };
    let asked = tokio::time::timeout(timeout, crate::cli::status::fetch_health(home)).await;
    match asked {
        Ok(Ok(h)) => Finding {
            problem: false,
            text: format!(
                "bus: ductor runs (pid {pid}) and its bus answers ({} agent(s))",
                h.agents.len()
            ),
        },
        Ok(Err(e)) => Finding {
            problem: true,
            text: format!(
                "bus: ductor runs (pid {pid}) but its bus at {} does not answer ({e}); \
                 restart it with `ductor restart`",
                socket.display()
            ),
        },
        Err(_) => Finding {
            problem: true,
            text: format!(
                "bus: ductor runs (pid {pid}) but its bus at {} did not answer within {}; \
                 restart it with `ductor restart`",
                socket.display(),
                super::seconds(timeout)
            ),
        },
    }
}

/// The unit a Debian package installs for every user (it runs the default home).
const PACKAGED_UNIT: &str = "/usr/lib/systemd/user/ductor.service";

/// Whether the service of `ctx`'s home is installed, and how it runs. Never a
/// problem unless the manager says it failed: running in the foreground is fine.
pub fn service_finding(platform: Platform, ctx: &Context, runner: &dyn Runner) -> Finding {
    let info = |text: String| Finding {
        problem: false,
        text,
    };
    let default_home = ctx.home.root() == ctx.user_home.join(".ductor");
    let installed = service::installed_for(platform, ctx);
    let packaged = platform == Platform::Systemd
        && !installed
        && default_home
        && !ctx.unit_file.exists()
        && std::path::Path::new(PACKAGED_UNIT).is_file();
    if !installed && !packaged {
        let file = match platform {
            Platform::Systemd => &ctx.unit_file,
            Platform::Launchd => &ctx.plist_file,
        };
        return info(if file.exists() {
            format!(
                "service: {} runs another home; `ductor service install` makes it run this one",
                file.display()
            )
        } else {
            "service: not installed (`ductor service install` starts ductor at login and \
             after a crash)"
                .into()
        });
    }
    let ran = |program: &str, args: &[&str]| {
        runner
            .output(program, args)
            .map(|o| o.status.success())
            .map_err(|e| e.to_string())
    };
    let state = match platform {
        Platform::Systemd => ran("systemctl", &["--user", "is-active", "--quiet", "ductor"])
            .and_then(|active| {
                if active {
                    Ok("active")
                } else {
                    ran("systemctl", &["--user", "is-failed", "--quiet", "ductor"])
                        .map(|failed| if failed { "failed" } else { "inactive" })
                }
            }),
        Platform::Launchd => {
            let target = format!("gui/{}/{}", ctx.uid, service::launchd::LABEL);
            ran("launchctl", &["print", &target]).map(|l| if l { "loaded" } else { "inactive" })
        }
    };
    let what = if packaged {
        format!("the packaged unit {PACKAGED_UNIT}")
    } else {
        "installed for this home".to_owned()
    };
    match state {
        Ok("failed") => Finding {
            problem: true,
            text: format!(
                "service: {what}, failed; see `ductor service logs`, then `ductor service restart`"
            ),
        },
        Ok("inactive") => info(format!(
            "service: {what}, not running (`ductor service start`{})",
            if packaged {
                ", or `systemctl --user enable --now ductor`"
            } else {
                ""
            }
        )),
        Ok(state) => info(format!("service: {what}, {state}")),
        Err(e) => info(format!(
            "service: {what}; the service manager could not be asked ({e})"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::service::testing::{FakeRunner, Reply, Rig};

    fn install(rig: &Rig) {
        let spec = service::linux::unit_spec(&rig.ctx).unwrap();
        let unit = service::systemd::render(&spec).unwrap();
        std::fs::create_dir_all(rig.ctx.unit_file.parent().unwrap()).unwrap();
        std::fs::write(&rig.ctx.unit_file, unit).unwrap();
    }

    #[test]
    fn a_service_not_installed_is_information_and_asks_nobody() {
        let rig = Rig::new("home");
        let runner = FakeRunner::default();
        let f = service_finding(Platform::Systemd, &rig.ctx, &runner);
        assert!(!f.problem && f.text.contains("not installed"), "{f:?}");
        assert!(runner.calls().is_empty());
    }

    #[test]
    fn an_installed_service_reports_its_state() {
        let rig = Rig::new("home");
        install(&rig);
        let runner = FakeRunner::default();
        let f = service_finding(Platform::Systemd, &rig.ctx, &runner);
        assert_eq!(f.text, "service: installed for this home, active");
        assert_eq!(
            runner.calls(),
            ["systemctl --user is-active --quiet ductor"]
        );
        let runner = FakeRunner::default().reply(
            "systemctl --user is-active --quiet ductor",
            Reply::Exit(3, ""),
        );
        let f = service_finding(Platform::Systemd, &rig.ctx, &runner);
        assert!(f.problem && f.text.contains("failed"), "{f:?}");
        let runner = FakeRunner::default()
            .reply(
                "systemctl --user is-active --quiet ductor",
                Reply::Exit(3, ""),
            )
            .reply(
                "systemctl --user is-failed --quiet ductor",
                Reply::Exit(1, ""),
            );
        let f = service_finding(Platform::Systemd, &rig.ctx, &runner);
        assert!(!f.problem && f.text.contains("not running"), "{f:?}");
        let runner = FakeRunner::default().reply("systemctl", Reply::Missing);
        let f = service_finding(Platform::Systemd, &rig.ctx, &runner);
        assert!(!f.problem && f.text.contains("could not be asked"), "{f:?}");
    }

    #[test]
    fn a_unit_for_another_home_is_named() {
        let rig = Rig::new("home");
        install(&rig);
        let other = Rig {
            ctx: Context {
                home: Home::new(rig.dir.path().join("other")),
                ..rig.ctx.clone()
            },
            dir: tempfile::tempdir().unwrap(),
        };
        let f = service_finding(Platform::Systemd, &other.ctx, &FakeRunner::default());
        assert!(!f.problem && f.text.contains("runs another home"), "{f:?}");
    }

    #[tokio::test]
    async fn a_socket_without_ductor_is_stale_not_a_problem() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path().join("h"));
        let f = bus_finding(&home, Duration::from_secs(1)).await;
        assert_eq!(f.text, "bus: ductor is not running");
        std::fs::create_dir_all(home.bus_dir()).unwrap();
        std::fs::write(home.bus_socket(), "").unwrap();
        let f = bus_finding(&home, Duration::from_secs(1)).await;
        assert!(!f.problem && f.text.contains("stale socket"), "{f:?}");
    }

    #[tokio::test]
    async fn a_running_ductor_whose_bus_is_silent_is_a_problem() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path().join("h"));
        std::fs::create_dir_all(home.run_dir()).unwrap();
        let _lock =
            crate::pidlock::PidLock::acquire(&home.pid_file(), "ductor", home.root()).unwrap();
        let f = bus_finding(&home, Duration::from_secs(2)).await;
        assert!(f.problem && f.text.contains("does not answer"), "{f:?}");
        assert!(f.text.contains(&format!("pid {}", std::process::id())));
    }
}
