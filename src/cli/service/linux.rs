//! The service on Linux: a systemd user unit, driven with `systemctl --user`,
//! kept running after logout with `loginctl enable-linger`, read with `journalctl`.
//! Where there is no systemd user manager (containers, WSL without systemd) it says
//! so and prints the command that runs ductor in the foreground.

use super::systemd::{self, UnitSpec, Word};
use super::{Console, Context, Runner, ServiceCommand, ServiceError, logs, utf8};
use std::io;

/// The unit's name for `systemctl`.
pub const UNIT: &str = "ductor";

/// Runs one `ductor service` command with systemd; returns the exit code.
pub fn run(cmd: &ServiceCommand, ctx: &Context, runner: &dyn Runner, con: &mut Console<'_>) -> i32 {
    match cmd {
        ServiceCommand::Install { print } => install(ctx, runner, con, *print),
        ServiceCommand::Uninstall => uninstall(ctx, runner, con),
        ServiceCommand::Start => control(ctx, runner, con, "start"),
        ServiceCommand::Stop => control(ctx, runner, con, "stop"),
        ServiceCommand::Restart => control(ctx, runner, con, "restart"),
        ServiceCommand::Status => status(ctx, runner, con),
        ServiceCommand::Logs { no_follow, lines } => journal(ctx, runner, con, !*no_follow, *lines),
    }
}

/// The unit for `ctx`: this executable on this home, with the `PATH` it needs.
pub fn unit_spec(ctx: &Context) -> Result<UnitSpec, ServiceError> {
    let literal = |what, p: &std::path::Path| utf8(what, p).map(|s| Word::Literal(s.to_owned()));
    Ok(UnitSpec {
        header: vec![
            "Written by `ductor service install`: run it again (or `ductor service uninstall`)"
                .into(),
            "rather than editing this file.".into(),
        ],
        exec: vec![
            literal("the ductor executable", &ctx.exe)?,
            Word::Literal("--home".into()),
            literal("the ductor home", ctx.home.root())?,
        ],
        path: ctx
            .path_dirs
            .iter()
            .map(|d| literal("a PATH directory", d))
            .collect::<Result<_, _>>()?,
        stop_timeout_secs: ctx.stop_timeout_secs,
    })
}

/// Whether the unit `content` runs `ctx`'s home (a unit without `--home` runs the
/// default one).
pub fn runs_home(content: &str, ctx: &Context) -> bool {
    let Some(exec) = content.lines().find_map(|l| l.strip_prefix("ExecStart=")) else {
        return false;
    };
    let Ok(UnitSpec { exec: words, .. }) = unit_spec(ctx) else {
        return false;
    };
    let Ok(home_args) = systemd::command_line(&words[1..]) else {
        return false;
    };
    if exec.contains(" --home ") {
        exec.ends_with(&format!(" {home_args}"))
    } else {
        ctx.home.root() == ctx.user_home.join(".ductor")
    }
}

/// The installed unit's text, if there is one.
fn installed(ctx: &Context) -> Option<String> {
    std::fs::read_to_string(&ctx.unit_file).ok()
}

/// Runs `systemctl --user args`.
fn systemctl(runner: &dyn Runner, args: &[&str]) -> io::Result<std::process::Output> {
    let mut all = vec!["--user"];
    all.extend_from_slice(args);
    runner.output("systemctl", &all)
}

/// Whether a systemd user manager answers; else one sentence saying why not.
fn probe(runner: &dyn Runner) -> Result<(), String> {
    match systemctl(runner, &["show-environment"]) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            Err("systemd is not available here (there is no `systemctl`)".into())
        }
        Err(e) => Err(format!("`systemctl --user` could not run ({e})")),
        Ok(out) if !out.status.success() => Err(format!(
            "there is no systemd user manager here (`systemctl --user` says: {})",
            super::first_line(&out)
        )),
        Ok(_) => Ok(()),
    }
}

/// Tells the user systemd cannot run ductor here and how to run it instead.
fn no_systemd(ctx: &Context, con: &mut Console<'_>, why: &str) {
    con.warn(format!(
        "{why}, so ductor cannot run as a service; run it in the foreground instead:"
    ));
    con.warn(format!("  {}", ctx.foreground_command()));
}

/// Runs `systemctl --user args`; on failure says what failed. Returns success.
fn step(runner: &dyn Runner, con: &mut Console<'_>, args: &[&str]) -> bool {
    match systemctl(runner, args) {
        Ok(out) if out.status.success() => true,
        Ok(out) => {
            con.warn(format!(
                "`systemctl --user {}` failed: {}",
                args.join(" "),
                super::first_line(&out)
            ));
            false
        }
        Err(e) => {
            con.warn(format!("`systemctl --user {}` failed: {e}", args.join(" ")));
            false
        }
    }
}

fn install(ctx: &Context, runner: &dyn Runner, con: &mut Console<'_>, print: bool) -> i32 {
    let unit = match unit_spec(ctx).and_then(|s| systemd::render(&s)) {
        Ok(unit) => unit,
        Err(e) => {
            con.warn(format!("ductor service install: {e}"));
            return 1;
        }
    };
    if print {
        let _ = con.out.write_all(unit.as_bytes());
        return 0;
    }
    let before = installed(ctx);
    if let Err(why) =
        super::ready_to_install(ctx, before.as_deref().is_some_and(|u| runs_home(u, ctx)))
    {
        con.warn(format!("ductor service install: {why}"));
        return 1;
    }
    if let Err(why) = probe(runner) {
        no_systemd(ctx, con, &why);
        return 1;
    }
    if let Err(e) = super::write_service_file(&ctx.unit_file, &unit) {
        con.warn(format!("ductor service install: {e}"));
        return 1;
    }
    con.say(format!("wrote {}", ctx.unit_file.display()));
    if !step(runner, con, &["daemon-reload"]) || !step(runner, con, &["enable", "--now", UNIT]) {
        return 1;
    }
    linger(ctx, runner, con);
    if before.is_some_and(|b| b != unit) {
        con.say(
            "the unit changed: `ductor service restart` applies it if ductor was already running",
        );
    }
    con.say(format!(
        "ductor runs as the systemd user service `{UNIT}` (home {}); `ductor service logs` follows it",
        ctx.home.root().display()
    ));
    0
}

/// `loginctl enable-linger <user>`: the service keeps running after logout and
/// starts at boot. Not fatal when refused.
fn linger(ctx: &Context, runner: &dyn Runner, con: &mut Console<'_>) {
    let failure = match runner.output("loginctl", &["enable-linger", &ctx.user]) {
        Ok(out) if out.status.success() => return,
        Ok(out) => super::first_line(&out),
        Err(e) => e.to_string(),
    };
    con.warn(format!(
        "could not enable lingering ({failure}): it needs root or a polkit rule, so the service \
         stops when you log out; `sudo loginctl enable-linger {}` fixes that",
        super::shell_quote(&ctx.user)
    ));
}

fn uninstall(ctx: &Context, runner: &dyn Runner, con: &mut Console<'_>) -> i32 {
    if installed(ctx).is_none() {
        con.say(format!(
            "the ductor service is not installed (no {})",
            ctx.unit_file.display()
        ));
        return 0;
    }
    let manager = probe(runner);
    if manager.is_ok() {
        step(runner, con, &["stop", UNIT]);
        step(runner, con, &["disable", UNIT]);
    }
    if let Err(e) = std::fs::remove_file(&ctx.unit_file) {
        con.warn(format!("cannot remove {}: {e}", ctx.unit_file.display()));
        return 1;
    }
    match manager {
        Ok(()) => {
            step(runner, con, &["daemon-reload"]);
            con.say(format!(
                "removed the ductor service ({})",
                ctx.unit_file.display()
            ));
        }
        Err(why) => con.say(format!(
            "removed {} ({why}, so nothing was stopped or disabled)",
            ctx.unit_file.display()
        )),
    }
    0
}

/// `start`, `stop` and `restart` of the installed unit.
fn control(ctx: &Context, runner: &dyn Runner, con: &mut Console<'_>, verb: &str) -> i32 {
    if installed(ctx).is_none() {
        con.warn("the ductor service is not installed; `ductor service install` installs it");
        return 1;
    }
    match systemctl(runner, &[verb, UNIT]) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            no_systemd(
                ctx,
                con,
                "systemd is not available here (there is no `systemctl`)",
            );
            1
        }
        Err(e) => {
            con.warn(format!("`systemctl --user {verb} {UNIT}` failed: {e}"));
            1
        }
        Ok(out) if !out.status.success() => {
            con.warn(format!(
                "`systemctl --user {verb} {UNIT}` failed: {}",
                super::first_line(&out)
            ));
            out.status.code().unwrap_or(1)
        }
        Ok(_) => {
            con.say(format!("systemctl --user {verb} {UNIT}: done"));
            0
        }
    }
}

fn status(ctx: &Context, runner: &dyn Runner, con: &mut Console<'_>) -> i32 {
    let Some(unit) = installed(ctx) else {
        con.say(format!(
            "the ductor service is not installed (no {})",
            ctx.unit_file.display()
        ));
        return 1;
    };
    let whose = if runs_home(&unit, ctx) {
        "this home"
    } else {
        "another home"
    };
    con.say(format!(
        "unit file: {} (runs {whose})",
        ctx.unit_file.display()
    ));
    let _ = con.out.flush();
    match runner.attached("systemctl", &["--user", "status", UNIT, "--no-pager"]) {
        Ok(code) => code,
        Err(e) => {
            no_systemd(
                ctx,
                con,
                &format!("`systemctl --user status` could not run ({e})"),
            );
            1
        }
    }
}

/// `logs`: the unit's journal; the main agent's log file when the unit is not
/// installed or there is no `journalctl`.
fn journal(
    ctx: &Context,
    runner: &dyn Runner,
    con: &mut Console<'_>,
    follow: bool,
    lines: usize,
) -> i32 {
    if installed(ctx).is_some() {
        let n = lines.to_string();
        let mut args = vec!["--user", "-u", UNIT, "--no-hostname", "-n", &n];
        args.push(if follow { "-f" } else { "--no-pager" });
        match runner.attached("journalctl", &args) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                con.warn("there is no `journalctl`; showing the log file instead");
            }
            Err(e) => con.warn(format!(
                "journalctl could not run ({e}); showing the log file instead"
            )),
            Ok(code) => return code,
        }
    }
    logs::show(&ctx.home.main().log_file(), lines, follow, con)
}

/// For `ductor stop`: stops the unit when it is installed for `ctx`'s home.
pub fn stop_if_installed(ctx: &Context, runner: &dyn Runner, con: &mut Console<'_>) -> bool {
    if !super::installed_for(super::Platform::Systemd, ctx) {
        return false;
    }
    let active = systemctl(runner, &["is-active", "--quiet", UNIT]);
    if !active.is_ok_and(|out| out.status.success()) {
        return false;
    }
    if step(runner, con, &["stop", UNIT]) {
        con.say(format!(
            "stopped the ductor service (systemctl --user stop {UNIT})"
        ));
        true
    } else {
        false
    }
}
