//! `ductor service install|uninstall|start|stop|restart|status|logs` (reference §12.3):
//! ductor as a user service that starts at login (or boot, with lingering) and comes
//! back after a crash or a restart request (exit 42). Linux gets a systemd user unit
//! ([`linux`], written by [`systemd`]), macOS a launchd agent ([`macos`], written by
//! [`launchd`]). Every call of `systemctl`, `loginctl`, `journalctl` and `launchctl`
//! goes through [`Runner`], so tests check the exact sequence with a fake.
//!
//! This module owns the unit and plist files and nothing in the ductor home; the
//! generated files hold no secrets (mode 0644).

pub mod launchd;
pub mod linux;
pub mod logs;
pub mod macos;
pub mod systemd;

use crate::paths::Home;
use clap::Subcommand;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// `ductor service ...`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum ServiceCommand {
    /// Install ductor as a user service (systemd on Linux, launchd on macOS) and start it.
    Install {
        /// Print the unit (the plist on macOS) that would be installed, and do nothing else.
        #[arg(long)]
        print: bool,
    },
    /// Stop the service and remove it.
    Uninstall,
    /// Start the installed service.
    Start,
    /// Stop the service (it starts again at the next login or boot).
    Stop,
    /// Restart the service.
    Restart,
    /// Show whether the service is installed and how it runs.
    Status,
    /// Show the service's log (the journal on Linux, else `logs/agent.log`), following it.
    Logs {
        /// Print the last lines and exit instead of following.
        #[arg(long)]
        no_follow: bool,
        /// How many of the last lines to show first.
        #[arg(long, short = 'n', default_value_t = 100)]
        lines: usize,
    },
}

/// Why a service file could not be made or written.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A path or value cannot be written into the file faithfully.
    #[error("{what} {value:?} cannot go into a service file: {why}")]
    Unrepresentable {
        /// What the value is.
        what: &'static str,
        /// The value.
        value: String,
        /// Why not.
        why: &'static str,
    },
    /// The file could not be written or removed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
}

/// Runs the service manager's programs; tests replace it with a recording fake.
pub trait Runner {
    /// Runs `program args` to completion, capturing its output.
    fn output(&self, program: &str, args: &[&str]) -> io::Result<Output>;
    /// Runs `program args` on this terminal (status, logs); returns its exit code.
    fn attached(&self, program: &str, args: &[&str]) -> io::Result<i32>;
}

/// The real [`Runner`]: `std::process::Command`, found on `PATH`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemRunner;

impl Runner for SystemRunner {
    fn output(&self, program: &str, args: &[&str]) -> io::Result<Output> {
        Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
    }

    fn attached(&self, program: &str, args: &[&str]) -> io::Result<i32> {
        let status = Command::new(program).args(args).status()?;
        Ok(status.code().unwrap_or(1))
    }
}

/// Where messages go: stdout and stderr, or buffers under test.
pub struct Console<'a> {
    /// What the user asked for (results, the unit printed).
    pub out: &'a mut dyn Write,
    /// Warnings and errors.
    pub err: &'a mut dyn Write,
}

impl Console<'_> {
    /// Writes one line to `out`.
    pub fn say(&mut self, line: impl std::fmt::Display) {
        let _ = writeln!(self.out, "{line}");
    }

    /// Writes one line to `err`.
    pub fn warn(&mut self, line: impl std::fmt::Display) {
        let _ = writeln!(self.err, "{line}");
    }
}

/// The service manager of this system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// A systemd user unit (Linux and the rest).
    Systemd,
    /// A launchd agent (macOS).
    Launchd,
}

impl Platform {
    /// The manager of the system this binary was built for.
    pub fn current() -> Self {
        if cfg!(target_os = "macos") {
            Self::Launchd
        } else {
            Self::Systemd
        }
    }
}

/// Everything the service commands need to know about this user and home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// The ductor home the service runs.
    pub home: Home,
    /// The `ductor` executable the service starts (this one).
    pub exe: PathBuf,
    /// The user's login name (for `loginctl enable-linger`).
    pub user: String,
    /// The user's id (launchd's `gui/<uid>` domain).
    pub uid: u32,
    /// The user's home directory.
    pub user_home: PathBuf,
    /// `$XDG_CONFIG_HOME/systemd/user/ductor.service`.
    pub unit_file: PathBuf,
    /// `~/Library/LaunchAgents/dev.ductor.plist`.
    pub plist_file: PathBuf,
    /// The service's `PATH`: where the CLIs, node and ductor are, then the system's.
    pub path_dirs: Vec<PathBuf>,
    /// Seconds the manager waits after SIGTERM (above the supervisor's stop grace).
    pub stop_timeout_secs: u64,
}

impl Context {
    /// Reads this process's user, environment and the home's config (without writing).
    pub fn detect(home: &Home) -> Self {
        let user_home = crate::paths::user_home();
        let uid = nix::unistd::getuid();
        let user = nix::unistd::User::from_uid(uid)
            .ok()
            .flatten()
            .map(|u| u.name)
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_default();
        let config_home = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .unwrap_or_else(|| user_home.join(".config"));
        let exe = std::env::current_exe().unwrap_or_default();
        let path = std::env::var("PATH").unwrap_or_default();
        let path_dirs = service_path(&path, &exe, &user_home, Platform::current());
        let grace = crate::config::load::read_config_file(&home.main().config_file())
            .ok()
            .flatten()
            .map_or(
                crate::config::model::SupervisorConfig::default().stop_grace_seconds,
                |c| c.config.supervisor.stop_grace_seconds,
            );
        Self {
            home: home.clone(),
            exe,
            user,
            uid: uid.as_raw(),
            unit_file: config_home.join("systemd/user/ductor.service"),
            plist_file: user_home.join(format!("Library/LaunchAgents/{}.plist", launchd::LABEL)),
            user_home,
            path_dirs,
            stop_timeout_secs: stop_timeout(grace),
        }
    }

    /// The command that runs this home in the foreground, for the terminal.
    pub fn foreground_command(&self) -> String {
        format!(
            "{} --home {}",
            shell_quote(&self.exe.to_string_lossy()),
            shell_quote(&self.home.root().to_string_lossy())
        )
    }
}

/// `TimeoutStopSec` for a supervisor stop grace of `grace` seconds: the grace, plus
/// ten seconds for the supervisor's own shutdown.
pub fn stop_timeout(grace: f64) -> u64 {
    // Clamped to a day, then rounded up: the cast cannot truncate or wrap.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let grace = grace.clamp(0.0, 86_400.0).ceil() as u64;
    grace + 10
}

/// The programs whose directories go on the service's `PATH`: the provider CLIs,
/// the node they run on, and the sandbox engines.
pub const PATH_PROGRAMS: [&str; 7] = [
    "claude", "codex", "gemini", "node", "docker", "podman", "bwrap",
];

/// The service's `PATH`: the directories where [`PATH_PROGRAMS`] are found on `path`
/// (the caller's `PATH`), the directory of `exe`, `~/.local/bin`, then the system's
/// directories. Relative and duplicate entries, and any with a `:`, are left out.
pub fn service_path(path: &str, exe: &Path, user_home: &Path, platform: Platform) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = PATH_PROGRAMS
        .iter()
        .filter_map(|name| crate::provider::auth::which(name, path))
        .filter_map(|found| found.parent().map(Path::to_path_buf))
        .collect();
    dirs.extend(exe.parent().map(Path::to_path_buf));
    dirs.push(user_home.join(".local/bin"));
    if platform == Platform::Launchd {
        dirs.push("/opt/homebrew/bin".into());
    }
    dirs.extend(crate::paths::SYSTEM_BIN_DIRS.iter().map(PathBuf::from));
    let mut out: Vec<PathBuf> = Vec::with_capacity(dirs.len());
    for dir in dirs {
        let usable = dir.is_absolute() && dir.to_str().is_some_and(|s| !s.contains(':'));
        if usable && !out.contains(&dir) {
            out.push(dir);
        }
    }
    out
}

/// `s` quoted for a POSIX shell when it needs it.
pub fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:@,%".contains(c));
    if plain {
        s.to_owned()
    } else {
        crate::util::sh_quote(s)
    }
}

/// `path` as UTF-8, or why it cannot go into a service file.
pub fn utf8<'a>(what: &'static str, path: &'a Path) -> Result<&'a str, ServiceError> {
    path.to_str().ok_or_else(|| ServiceError::Unrepresentable {
        what,
        value: path.to_string_lossy().into_owned(),
        why: "it is not valid UTF-8",
    })
}

/// Writes a service file atomically, readable by all (it holds no secrets).
pub fn write_service_file(path: &Path, content: &str) -> Result<(), ServiceError> {
    let io_err = |source| ServiceError::Io {
        path: path.to_path_buf(),
        source,
    };
    crate::store::write_atomic(path, content.as_bytes()).map_err(|e| match e {
        crate::store::StoreError::Io { source, .. } => io_err(source),
        other => io_err(io::Error::other(other.to_string())),
    })?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).map_err(io_err)
}

/// The first non-empty line of a program's stderr (else stdout), for one-line messages.
pub fn first_line(out: &Output) -> String {
    [&out.stderr, &out.stdout]
        .into_iter()
        .flat_map(|b| {
            String::from_utf8_lossy(b)
                .lines()
                .map(str::trim)
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .find(|l| !l.is_empty())
        .unwrap_or_else(|| format!("exit status {}", out.status.code().unwrap_or(-1)))
}

/// Runs a `ductor service` command on `platform`; returns the exit code.
pub fn run_with(
    platform: Platform,
    cmd: &ServiceCommand,
    ctx: &Context,
    runner: &dyn Runner,
    con: &mut Console<'_>,
) -> i32 {
    match platform {
        Platform::Systemd => linux::run(cmd, ctx, runner, con),
        Platform::Launchd => macos::run(cmd, ctx, runner, con),
    }
}

/// Runs a `ductor service` command for `home` on this system; returns the exit code.
pub fn run(home: &Home, cmd: &ServiceCommand) -> i32 {
    let ctx = Context::detect(home);
    let (mut out, mut err) = (io::stdout(), io::stderr());
    let mut con = Console {
        out: &mut out,
        err: &mut err,
    };
    run_with(Platform::current(), cmd, &ctx, &SystemRunner, &mut con)
}

/// Whether `platform`'s service file is installed and runs `ctx`'s home.
pub fn installed_for(platform: Platform, ctx: &Context) -> bool {
    match platform {
        Platform::Systemd => {
            std::fs::read_to_string(&ctx.unit_file).is_ok_and(|u| linux::runs_home(&u, ctx))
        }
        Platform::Launchd => {
            std::fs::read_to_string(&ctx.plist_file).is_ok_and(|p| macos::runs_home(&p, ctx))
        }
    }
}

/// For `ductor stop`: when the service is installed for `ctx`'s home, stops it so the
/// manager does not start ductor again. Returns whether it stopped the service.
pub fn stop_installed_with(
    platform: Platform,
    ctx: &Context,
    runner: &dyn Runner,
    con: &mut Console<'_>,
) -> bool {
    match platform {
        Platform::Systemd => linux::stop_if_installed(ctx, runner, con),
        Platform::Launchd => macos::stop_if_installed(ctx, runner, con),
    }
}

/// [`stop_installed_with`] on this system, messages to stdout/stderr.
pub fn stop_installed(home: &Home) -> bool {
    let ctx = Context::detect(home);
    let (mut out, mut err) = (io::stdout(), io::stderr());
    let mut con = Console {
        out: &mut out,
        err: &mut err,
    };
    stop_installed_with(Platform::current(), &ctx, &SystemRunner, &mut con)
}

/// Whether the config of `ctx`'s home lets ductor start, and nothing else runs it.
/// `installed_here`: the service is already installed for this home (then a running
/// ductor is most likely the service itself).
fn ready_to_install(ctx: &Context, installed_here: bool) -> Result<(), String> {
    let file = ctx.home.main().config_file();
    let loaded = crate::config::load::read_config_file(&file)
        .map_err(|e| format!("{e}; the service would not start (`ductor doctor` shows more)"))?
        .ok_or_else(|| {
            format!(
                "there is no config at {}; set ductor up first",
                file.display()
            )
        })?;
    let missing = loaded.config.missing_keys();
    if !missing.is_empty() {
        return Err(format!(
            "{}: set {} first, the service cannot start without",
            file.display(),
            missing.join(", ")
        ));
    }
    if !installed_here && let Some(pid) = crate::pidlock::running_pid(&ctx.home.pid_file()) {
        return Err(format!(
            "ductor already runs for this home (pid {pid}), outside the service; \
             stop it with `ductor stop` first"
        ));
    }
    if !ctx.exe.is_absolute() {
        return Err("cannot tell where this ductor executable is".into());
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;
