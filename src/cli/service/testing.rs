//! Test kit for the service commands: a [`Runner`] that records every call and
//! answers from a script, and a [`Context`] in a temporary directory.

use super::{Console, Context, Platform, Runner, ServiceCommand};
use crate::paths::Home;
use std::cell::RefCell;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Output};

/// What the fake answers to one command.
#[derive(Debug, Clone)]
pub(crate) enum Reply {
    /// Exits with this code, printing this on stderr.
    Exit(i32, &'static str),
    /// The program is not installed.
    Missing,
}

/// A [`Runner`] that records `program arg arg ...` and answers from a script:
/// the reply for the exact command line, else for the program, else success.
#[derive(Debug, Default)]
pub(crate) struct FakeRunner {
    calls: RefCell<Vec<String>>,
    replies: Vec<(String, Reply)>,
}

impl FakeRunner {
    /// Answers `command` (a whole command line, or a program name) with `reply`.
    pub(crate) fn reply(mut self, command: &str, reply: Reply) -> Self {
        self.replies.push((command.to_owned(), reply));
        self
    }

    /// The command lines run so far, in order.
    pub(crate) fn calls(&self) -> Vec<String> {
        self.calls.borrow().clone()
    }

    fn answer(&self, program: &str, args: &[&str]) -> io::Result<i32> {
        let line = std::iter::once(program)
            .chain(args.iter().copied())
            .collect::<Vec<_>>()
            .join(" ");
        self.calls.borrow_mut().push(line.clone());
        let reply = self
            .replies
            .iter()
            .find(|(c, _)| *c == line)
            .or_else(|| self.replies.iter().find(|(c, _)| c == program))
            .map(|(_, r)| r.clone());
        match reply {
            Some(Reply::Missing) => Err(io::Error::from(io::ErrorKind::NotFound)),
            Some(Reply::Exit(code, _)) => Ok(code),
            None => Ok(0),
        }
    }

    fn stderr_for(&self, program: &str, args: &[&str]) -> &'static str {
        let line = format!("{program} {}", args.join(" "));
        self.replies
            .iter()
            .find(|(c, _)| *c == line || c == program)
            .map_or("", |(_, r)| match r {
                Reply::Exit(_, err) => err,
                Reply::Missing => "",
            })
    }
}

impl Runner for FakeRunner {
    fn output(&self, program: &str, args: &[&str]) -> io::Result<Output> {
        let code = self.answer(program, args)?;
        Ok(Output {
            status: ExitStatus::from_raw(code << 8),
            stdout: Vec::new(),
            stderr: self.stderr_for(program, args).as_bytes().to_vec(),
        })
    }

    fn attached(&self, program: &str, args: &[&str]) -> io::Result<i32> {
        self.answer(program, args)
    }
}

/// A user `alice` (uid 501) with its home, config dir and a configured ductor home,
/// all in a temporary directory.
pub(crate) struct Rig {
    /// Keeps the directory.
    pub(crate) dir: tempfile::TempDir,
    /// The context the commands get.
    pub(crate) ctx: Context,
}

impl Rig {
    /// A rig whose ductor home is `<tmp>/<home_name>`, with a config that can start.
    pub(crate) fn new(home_name: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().to_path_buf();
        let home = Home::new(base.join(home_name));
        let config = home.main().config_file();
        std::fs::create_dir_all(config.parent().unwrap()).unwrap();
        std::fs::write(
            &config,
            r#"{"telegram_token": "100000001:AAtesttokentesttokentesttokentestt",
                "allowed_user_ids": [1000001]}"#,
        )
        .unwrap();
        let exe = base.join("bin/ductor");
        let ctx = Context {
            home,
            exe: exe.clone(),
            user: "alice".into(),
            uid: 501,
            user_home: base.clone(),
            unit_file: base.join(".config/systemd/user/ductor.service"),
            plist_file: base.join("Library/LaunchAgents/dev.ductor.plist"),
            path_dirs: vec![
                base.join("node/bin"),
                PathBuf::from("/usr/bin"),
                PathBuf::from("/bin"),
            ],
            stop_timeout_secs: 20,
        };
        Self { dir, ctx }
    }

    /// The temporary directory.
    pub(crate) fn base(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `cmd` on `platform`; returns the exit code, stdout and stderr.
    pub(crate) fn run(
        &self,
        platform: Platform,
        cmd: &ServiceCommand,
        runner: &FakeRunner,
    ) -> (i32, String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = super::run_with(
            platform,
            cmd,
            &self.ctx,
            runner,
            &mut Console {
                out: &mut out,
                err: &mut err,
            },
        );
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    /// Runs the `ductor stop` hook; returns whether it stopped a service, and stdout.
    pub(crate) fn stop_hook(&self, platform: Platform, runner: &FakeRunner) -> (bool, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let stopped = super::stop_installed_with(
            platform,
            &self.ctx,
            runner,
            &mut Console {
                out: &mut out,
                err: &mut err,
            },
        );
        (stopped, String::from_utf8(out).unwrap())
    }
}
