//! The service on macOS: a launchd agent in `~/Library/LaunchAgents`, loaded into
//! the user's `gui/<uid>` domain with `launchctl bootstrap`, unloaded with
//! `bootout`, restarted with `kickstart -k`. Its output goes to `logs/service.log`
//! and `logs/service.err` of the home; `logs` shows the main agent's log file.

use super::launchd::{self, LABEL, PlistSpec};
use super::{Console, Context, Runner, ServiceCommand, ServiceError, logs, utf8};
use std::io;

/// Runs one `ductor service` command with launchd; returns the exit code.
pub fn run(cmd: &ServiceCommand, ctx: &Context, runner: &dyn Runner, con: &mut Console<'_>) -> i32 {
    match cmd {
        ServiceCommand::Install { print } => install(ctx, runner, con, *print),
        ServiceCommand::Uninstall => uninstall(ctx, runner, con),
        ServiceCommand::Start => start(ctx, runner, con, false),
        ServiceCommand::Restart => start(ctx, runner, con, true),
        ServiceCommand::Stop => {
            if !require_installed(ctx, con) {
                return 1;
            }
            i32::from(!bootout(ctx, runner, con))
        }
        ServiceCommand::Status => status(ctx, runner, con),
        ServiceCommand::Logs { no_follow, lines } => {
            logs::show(&ctx.home.main().log_file(), *lines, !*no_follow, con)
        }
    }
}

/// The plist for `ctx`: this executable on this home, with the `PATH` it needs.
pub fn plist_spec(ctx: &Context) -> Result<PlistSpec, ServiceError> {
    let s = |what, p: &std::path::Path| utf8(what, p).map(str::to_owned);
    let logs = ctx.home.main().logs_dir();
    Ok(PlistSpec {
        header: vec![
            "Written by `ductor service install`: run it again (or `ductor service uninstall`)"
                .into(),
            "rather than editing this file.".into(),
        ],
        args: vec![
            s("the ductor executable", &ctx.exe)?,
            "--home".into(),
            s("the ductor home", ctx.home.root())?,
        ],
        path: ctx
            .path_dirs
            .iter()
            .map(|d| s("a PATH directory", d))
            .collect::<Result<_, _>>()?,
        stdout: s("the log directory", &logs.join("service.log"))?,
        stderr: s("the log directory", &logs.join("service.err"))?,
        stop_timeout_secs: ctx.stop_timeout_secs,
    })
}

/// Whether the plist `content` runs `ctx`'s home (one without `--home` runs the
/// default one).
pub fn runs_home(content: &str, ctx: &Context) -> bool {
    let Some(home) = ctx
        .home
        .root()
        .to_str()
        .and_then(|h| launchd::escape(h).ok())
    else {
        return false;
    };
    let flag = "<string>--home</string>";
    match content.find(flag) {
        Some(at) => content[at + flag.len()..]
            .trim_start()
            .starts_with(&format!("<string>{home}</string>")),
        None => ctx.home.root() == ctx.user_home.join(".ductor"),
    }
}

/// `gui/<uid>`: the user's login session domain.
fn domain(ctx: &Context) -> String {
    format!("gui/{}", ctx.uid)
}

/// `gui/<uid>/dev.ductor`: the service in that domain.
fn target(ctx: &Context) -> String {
    format!("gui/{}/{LABEL}", ctx.uid)
}

/// Runs `launchctl args`; on failure (unless `quiet`) says what failed. Returns success.
fn launchctl(runner: &dyn Runner, con: &mut Console<'_>, args: &[&str], quiet: bool) -> bool {
    let failure = match runner.output("launchctl", args) {
        Ok(out) if out.status.success() => return true,
        Ok(out) => super::first_line(&out),
        Err(e) if e.kind() == io::ErrorKind::NotFound => "there is no `launchctl`".into(),
        Err(e) => e.to_string(),
    };
    if !quiet {
        con.warn(format!("`launchctl {}` failed: {failure}", args.join(" ")));
    }
    false
}

fn require_installed(ctx: &Context, con: &mut Console<'_>) -> bool {
    let there = ctx.plist_file.exists();
    if !there {
        con.warn("the ductor service is not installed; `ductor service install` installs it");
    }
    there
}

fn install(ctx: &Context, runner: &dyn Runner, con: &mut Console<'_>, print: bool) -> i32 {
    let plist = match plist_spec(ctx).and_then(|s| launchd::render(&s)) {
        Ok(plist) => plist,
        Err(e) => {
            con.warn(format!("ductor service install: {e}"));
            return 1;
        }
    };
    if print {
        let _ = con.out.write_all(plist.as_bytes());
        return 0;
    }
    let here = super::installed_for(super::Platform::Launchd, ctx);
    if let Err(why) = super::ready_to_install(ctx, here) {
        con.warn(format!("ductor service install: {why}"));
        return 1;
    }
    let logs = ctx.home.main().logs_dir();
    if let Err(e) = std::fs::create_dir_all(&logs) {
        con.warn(format!("ductor service install: {}: {e}", logs.display()));
        return 1;
    }
    if let Err(e) = super::write_service_file(&ctx.plist_file, &plist) {
        con.warn(format!("ductor service install: {e}"));
        return 1;
    }
    con.say(format!("wrote {}", ctx.plist_file.display()));
    let Some(file) = ctx.plist_file.to_str() else {
        con.warn("the plist's path is not valid UTF-8");
        return 1;
    };
    // A loaded older version is replaced; "not loaded" is the normal case.
    launchctl(runner, con, &["bootout", &target(ctx)], true);
    launchctl(runner, con, &["enable", &target(ctx)], true);
    if !launchctl(runner, con, &["bootstrap", &domain(ctx), file], false) {
        return 1;
    }
    con.say(format!(
        "ductor runs as the launchd agent {LABEL} (home {}); `ductor service logs` follows it",
        ctx.home.root().display()
    ));
    0
}

fn uninstall(ctx: &Context, runner: &dyn Runner, con: &mut Console<'_>) -> i32 {
    if !ctx.plist_file.exists() {
        con.say(format!(
            "the ductor service is not installed (no {})",
            ctx.plist_file.display()
        ));
        return 0;
    }
    launchctl(runner, con, &["bootout", &target(ctx)], true);
    if let Err(e) = std::fs::remove_file(&ctx.plist_file) {
        con.warn(format!("cannot remove {}: {e}", ctx.plist_file.display()));
        return 1;
    }
    con.say(format!(
        "removed the ductor service ({})",
        ctx.plist_file.display()
    ));
    0
}

/// `start` (load it, or start it when loaded) and `restart` (`kickstart -k`).
fn start(ctx: &Context, runner: &dyn Runner, con: &mut Console<'_>, restart: bool) -> i32 {
    if !require_installed(ctx, con) {
        return 1;
    }
    let loaded = launchctl(runner, con, &["print", &target(ctx)], true);
    let ok = if loaded {
        let args: &[&str] = if restart {
            &["kickstart", "-k", &target(ctx)]
        } else {
            &["kickstart", &target(ctx)]
        };
        launchctl(runner, con, args, false)
    } else {
        let Some(file) = ctx.plist_file.to_str() else {
            con.warn("the plist's path is not valid UTF-8");
            return 1;
        };
        launchctl(runner, con, &["bootstrap", &domain(ctx), file], false)
    };
    if ok {
        con.say(format!(
            "{LABEL}: {}",
            if restart { "restarted" } else { "started" }
        ));
        0
    } else {
        1
    }
}

/// `launchctl bootout`: stops the agent and unloads it until the next login.
fn bootout(ctx: &Context, runner: &dyn Runner, con: &mut Console<'_>) -> bool {
    let ok = launchctl(runner, con, &["bootout", &target(ctx)], false);
    if ok {
        con.say(format!(
            "stopped the ductor service (launchctl bootout {})",
            target(ctx)
        ));
    }
    ok
}

fn status(ctx: &Context, runner: &dyn Runner, con: &mut Console<'_>) -> i32 {
    let Ok(plist) = std::fs::read_to_string(&ctx.plist_file) else {
        con.say(format!(
            "the ductor service is not installed (no {})",
            ctx.plist_file.display()
        ));
        return 1;
    };
    let whose = if runs_home(&plist, ctx) {
        "this home"
    } else {
        "another home"
    };
    con.say(format!(
        "agent file: {} (runs {whose})",
        ctx.plist_file.display()
    ));
    let _ = con.out.flush();
    match runner.attached("launchctl", &["print", &target(ctx)]) {
        Ok(code) => code,
        Err(e) => {
            con.warn(format!("`launchctl print` could not run ({e})"));
            1
        }
    }
}

/// For `ductor stop`: unloads the agent when it is installed for `ctx`'s home.
pub fn stop_if_installed(ctx: &Context, runner: &dyn Runner, con: &mut Console<'_>) -> bool {
    let here = super::installed_for(super::Platform::Launchd, ctx);
    here && launchctl(runner, con, &["print", &target(ctx)], true) && bootout(ctx, runner, con)
}
