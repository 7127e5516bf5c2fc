//! `ductor upgrade`: a fresh version check, then the upgrade that matches how this
//! ductor was installed ([`crate::upgrade::install`]), verified by asking the
//! installed executable its version in a fresh process; a running ductor is then
//! restarted (through its service when one is installed for this home), and its
//! startup notice says "updated". A build from a source checkout is refused; a
//! Debian package upgrade needs root, and the command to run is printed instead.

use crate::cli::service::{self, Context, Platform, ServiceCommand};
use crate::paths::Home;
use crate::upgrade::install::{InstallMode, Plan};
use crate::upgrade::{UpgradeError, Upgrader, index};
use std::io::Write;

/// `ductor upgrade` options.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct UpgradeArgs {
    /// Only say whether a newer version exists.
    #[arg(long)]
    pub check: bool,
}

/// The index URL of `home`'s config (`update_index_url`), else the registry's.
pub fn index_url(home: &Home) -> String {
    std::fs::read(home.main().config_file())
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|c| c["update_index_url"].as_str().map(str::to_owned))
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| index::DEFAULT_INDEX_URL.to_owned())
}

/// Runs `ductor upgrade`; returns the exit code.
pub async fn run(home: &Home, args: &UpgradeArgs) -> i32 {
    let up = match Upgrader::for_this_process(home, &index_url(home), false) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("ductor upgrade: cannot find this executable: {e}");
            return 1;
        }
    };
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    let code = upgrade(&up, args, &mut out, &mut err).await;
    if code != 0 || args.check {
        return code;
    }
    restart_running(home).await
}

/// Check, install and verify; returns the exit code (0 also when up to date).
pub async fn upgrade(
    up: &Upgrader,
    args: &UpgradeArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let mode = up.mode().await;
    if let InstallMode::Source { checkout } = &mode {
        let _ = writeln!(err, "{}", UpgradeError::FromSource(checkout.clone()));
        return 1;
    }
    let latest = match up.check().await {
        Ok(Some(v)) => v,
        Ok(None) => {
            let _ = writeln!(out, "ductor {} is up to date", crate::VERSION);
            return 0;
        }
        Err(e) => {
            let _ = writeln!(err, "{e}");
            return 1;
        }
    };
    let _ = writeln!(
        out,
        "ductor {latest} is available (this is {})",
        crate::VERSION
    );
    if args.check {
        return 0;
    }
    match up.plan(&mode, &latest) {
        Plan::Run(steps) => {
            for step in &steps {
                let _ = writeln!(out, "running: {}", step.display());
            }
        }
        Plan::NeedsRoot(cmd) => {
            let _ = writeln!(err, "{}", UpgradeError::NeedsRoot(cmd));
            return 1;
        }
        Plan::Manual(text) => {
            let _ = writeln!(err, "ductor upgrade: {text}");
            return 1;
        }
        Plan::FromSource(dir) => {
            let _ = writeln!(err, "{}", UpgradeError::FromSource(dir));
            return 1;
        }
    }
    let _ = out.flush();
    match up.install(&mode, &latest).await {
        Ok(new) => {
            let _ = writeln!(out, "ductor upgraded from {} to {new}", crate::VERSION);
            0
        }
        Err(e) => {
            let _ = writeln!(err, "ductor upgrade: {e}");
            1
        }
    }
}

/// Restarts a running ductor of `home` so it runs the new version.
async fn restart_running(home: &Home) -> i32 {
    if crate::pidlock::running_pid(&home.pid_file()).is_none() {
        println!("ductor is not running; the next start runs the new version");
        return 0;
    }
    let platform = Platform::current();
    if service::installed_for(platform, &Context::detect(home)) {
        println!("restarting the ductor service");
        return service::run(home, &ServiceCommand::Restart);
    }
    crate::cli::lifecycle::restart(home).await
}
