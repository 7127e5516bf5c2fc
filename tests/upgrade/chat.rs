//! `/upgrade` and the Upgrade button end to end: a real ductor linked into a fake
//! `$CARGO_HOME/bin` talks to the fake Bot API; the stand-in `cargo` puts a
//! "ductor 99.0.0" there (a wrapper that answers `--version` and runs the real
//! binary otherwise, as a real newer ductor would run). After the button the
//! supervisor restarts by executing that new file, and the chat is told how the
//! upgrade went — here that 99.0.0 did not take effect, since the binary behind the
//! wrapper is still this build: the restarted ductor checks, it does not trust the
//! sentinel.

use super::support::daemon::{TestHome, agent_pid, token};
use super::support::fake_telegram::{BotId, DEFAULT_USER_ID, FakeTelegram, MessageView};
use super::{CURRENT, FakeIndex, Machine, index_with_update, write_exec};
use ductor::ipc::message::AgentStatus;
use serde_json::json;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const CHAT: i64 = DEFAULT_USER_ID;

/// The supervisor; stopped (its whole home) when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.0.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        for _ in 0..400 {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn wait_for(tg: &FakeTelegram, bot: BotId, needle: &str) -> MessageView {
    let needle = needle.to_owned();
    tg.wait_until(Duration::from_mins(1), move |w| {
        w.visible_messages(bot, CHAT)
            .into_iter()
            .find(|m| m.from_bot == Some(bot) && !m.deleted && m.contains(&needle))
    })
    .await
}

fn link(from: &str, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).unwrap();
    }
}

/// A ductor installed with cargo into a temporary `$CARGO_HOME`, configured for
/// the fake Bot API and the loopback index, with a stand-in cargo that installs
/// "99.0.0".
struct Installed {
    m: Machine,
    tg: FakeTelegram,
    bot: BotId,
    home: TestHome,
    cargo_home: std::path::PathBuf,
    exe: std::path::PathBuf,
    cargo: std::path::PathBuf,
    _index: FakeIndex,
}

impl Installed {
    async fn new() -> Self {
        let index = FakeIndex::serve(index_with_update());
        let m = Machine::new(&index);
        let tg = FakeTelegram::start().await;
        let bot = tg.add_bot(&token(100_000_001), "ductor_test_bot");
        let home = TestHome::new();
        let (api, url) = (tg.api_url(), index.url.clone());
        home.edit_config(|c| {
            c["telegram_api_url"] = json!(api);
            c["update_index_url"] = json!(url);
            // The daily check would start after a minute; /upgrade does not need it.
            c["update_check"] = json!(false);
        });
        // The build, twice: "installed" by cargo, and the binary the new version runs.
        let cargo_home = m.path("cargo");
        let exe = cargo_home.join("bin/ductor");
        for (name, from) in [
            ("ductor", env!("CARGO_BIN_EXE_ductor")),
            ("ductor-agent", env!("CARGO_BIN_EXE_ductor-agent")),
        ] {
            link(from, &cargo_home.join("bin").join(name));
            link(from, &m.path("real").join(name));
        }
        let wrapper = m.path("new-ductor");
        write_exec(
            &wrapper,
            &format!(
                "#!/bin/sh\n[ \"$1\" = --version ] && {{ echo 'ductor 99.0.0'; exit 0; }}\nexec '{}' \"$@\"\n",
                m.path("real/ductor").display()
            ),
        );
        let cargo = m.installer(
            "cargo",
            "Installed package `ductor v99.0.0`",
            &format!(
                "cp '{0}' '{1}.new' && mv '{1}.new' '{1}'",
                wrapper.display(),
                exe.display()
            ),
        );
        Self {
            m,
            tg,
            bot,
            home,
            cargo_home,
            exe,
            cargo,
            _index: index,
        }
    }

    /// `ductor` from the cargo root with this machine's environment.
    fn ductor(&self) -> Command {
        let no_cli = self.home.root.join("no-cli-homes");
        let mut cmd = Command::new(&self.exe);
        cmd.arg("--home")
            .arg(&self.home.root)
            .env_remove("DUCTOR_HOME")
            .env_remove("INVOCATION_ID")
            .env_remove("DUCTOR_SUPERVISOR")
            .env_remove("DUCTOR_AGENT_BIN")
            .env("HOME", self.m.path("user"))
            .env("XDG_CONFIG_HOME", self.m.path("user/.config"))
            .env("CARGO_HOME", &self.cargo_home)
            .env("DUCTOR_CARGO", &self.cargo)
            .env("DUCTOR_DPKG", self.m.path("fakes/none"))
            .env("CLAUDE_CONFIG_DIR", no_cli.join("claude"))
            .env("CODEX_HOME", no_cli.join("codex"))
            .env("GEMINI_CLI_HOME", no_cli.join("gemini"))
            .stdin(Stdio::null());
        cmd
    }

    /// Starts the supervisor and waits until the bot polls.
    async fn start(&self) -> Running {
        let child = self
            .ductor()
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.m.path("supervisor.stderr")).unwrap())
            .spawn()
            .unwrap();
        let running = Running(child);
        self.tg
            .wait_until(Duration::from_secs(30), |w| {
                (w.count("getUpdates") > 0).then_some(())
            })
            .await;
        running
    }

    fn cargo_called(&self) -> Vec<String> {
        vec![format!(
            "cargo install ductor --locked --force --version 99.0.0 --root {}",
            self.cargo_home.display()
        )]
    }
}

/// What `pid` runs now.
fn program_of(pid: u32) -> std::path::PathBuf {
    std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upgrade_button_installs_restarts_and_tells_the_chat() {
    let it = Installed::new().await;
    let running = it.start().await;
    let (tg, bot, m) = (&it.tg, it.bot, &it.m);
    tg.user_sends_text(bot, CHAT, "/upgrade");
    let offer = wait_for(tg, bot, "ductor 99.0.0 is available").await;
    let buttons = offer.buttons();
    let data: Vec<Option<String>> = buttons[0].iter().map(|b| b.callback_data.clone()).collect();
    assert_eq!(data, [Some("upg:yes:99.0.0".into()), Some("upg:no".into())]);
    assert_eq!(buttons[0][0].text, "Upgrade to 99.0.0");

    tg.user_presses_button(bot, CHAT, offer.message_id, "upg:yes:99.0.0");
    wait_for(tg, bot, "Upgrading to 99.0.0").await;
    wait_for(tg, bot, "ductor 99.0.0 is installed. Restarting").await;
    let told = wait_for(tg, bot, "did not take effect").await;
    assert!(
        told.contains(&format!("ductor {CURRENT} is running")),
        "{:?}",
        told.text
    );
    assert_eq!(m.calls(), it.cargo_called());
    // The supervisor executed the new file in place (same process, new program).
    assert_eq!(program_of(running.0.id()), m.path("real/ductor"));
    assert!(
        !it.home.root.join("upgrade-sentinel.json").exists(),
        "consumed"
    );
    // Said once.
    let said = |w: &super::support::fake_telegram::World<'_>| {
        w.visible_messages(bot, CHAT)
            .iter()
            .filter(|m| m.contains("did not take effect"))
            .count()
    };
    assert_eq!(tg.read(said), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ductor_upgrade_restarts_a_running_ductor_into_the_new_version() {
    let it = Installed::new().await;
    let running = it.start().await;
    let pid = running.0.id();
    assert_eq!(program_of(pid), it.exe);
    let agent = agent_pid(
        &it.home
            .wait_running(&["main"], Duration::from_secs(30))
            .await,
        "main",
    );
    let out = it.ductor().arg("upgrade").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("ductor upgraded from"), "{stdout}");
    assert!(
        stdout.contains(&format!("restart requested (pid {pid})")),
        "{stdout}"
    );
    assert_eq!(it.m.calls(), it.cargo_called());
    for _ in 0..300 {
        if program_of(pid) == it.m.path("real/ductor") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        program_of(pid),
        it.m.path("real/ductor"),
        "restarted into the new file"
    );
    // A new main agent runs (started by the new supervisor).
    it.home
        .wait_health(Duration::from_secs(30), "a new main agent", |h| {
            h.agents.iter().any(|a| {
                a.name == "main" && a.status == AgentStatus::Running && a.pid != Some(agent)
            })
        })
        .await;
}
