//! Updates (§8.8, issue 17): the version check against the crate registry's index
//! ([`index`]), how this ductor was installed and the matching upgrade
//! ([`install`]), the daily update observer of the main agent ([`observer`]), and
//! the pipeline `ductor upgrade` and the chat's Upgrade button share
//! ([`Upgrader`]): check, install the new version, verify it in a fresh process.
//! Restarting afterwards is the caller's part (the CLI restarts a running ductor,
//! the chat writes the upgrade sentinel and asks the supervisor to restart).
//!
//! Owns `run/upgrade.lock` (one upgrade at a time) and `update_check.json`; must
//! not touch the state files of a running agent.

pub mod index;
pub mod install;
pub mod observer;
pub mod version;

use crate::paths::Home;
use install::{InstallMode, Plan, Programs};
use std::path::{Path, PathBuf};
pub use version::Version;

/// The version of this build.
pub fn current() -> Version {
    // Cargo only accepts semver package versions, so this is one.
    Version::parse(crate::VERSION).expect("the package version is semver")
}

/// The path of this process's executable. Once an upgrade replaced the file,
/// Linux names it `… (deleted)`; the path without that is where the new one is.
pub fn own_exe() -> std::io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let text = exe.to_string_lossy();
    Ok(match text.strip_suffix(" (deleted)") {
        Some(live) => PathBuf::from(live),
        None => exe,
    })
}

/// Why an upgrade did not happen.
#[derive(Debug, thiserror::Error)]
pub enum UpgradeError {
    /// A build from a source checkout.
    #[error(
        "ductor runs from a source checkout ({}); update it with git and cargo build, not with ductor upgrade",
        .0.display()
    )]
    FromSource(PathBuf),
    /// Another upgrade runs.
    #[error("another upgrade is already running")]
    Busy,
    /// The version check failed.
    #[error(transparent)]
    Check(#[from] index::IndexError),
    /// Only root can upgrade a Debian package.
    #[error("ductor was installed as a Debian package; upgrade it as root: {0}")]
    NeedsRoot(String),
    /// This kind of install is not upgraded automatically.
    #[error("{0}")]
    Manual(String),
    /// An installer step failed.
    #[error(transparent)]
    Install(#[from] install::StepFailed),
    /// The installer succeeded but the installed version did not change.
    #[error("the installer finished, but {exe} still reports {seen}", exe = .exe.display())]
    Unchanged {
        /// The executable asked.
        exe: PathBuf,
        /// What it reported (`nothing` when it did not answer).
        seen: String,
    },
    /// Something local (the lock file).
    #[error("{0}")]
    Local(String),
}

/// The upgrade pipeline of one ductor installation.
#[derive(Debug, Clone)]
pub struct Upgrader {
    /// The `ductor` executable to upgrade (and ask for its version afterwards).
    pub exe: PathBuf,
    /// The installer programs.
    pub programs: Programs,
    /// The crate index entry to check.
    pub index_url: String,
    /// The lock held while installing.
    pub lock: PathBuf,
    /// `$CARGO_HOME`.
    pub cargo_home: Option<PathBuf>,
    /// The user's home directory.
    pub user_home: PathBuf,
    /// Whether installer output is captured (the chat) or shown (a terminal).
    pub capture: bool,
}

impl Upgrader {
    /// The pipeline for this process: the `ductor` beside its executable, the
    /// installers of `PATH` (or `DUCTOR_CARGO`, …).
    pub fn for_this_process(home: &Home, index_url: &str, capture: bool) -> std::io::Result<Self> {
        let exe = own_exe()?.with_file_name("ductor");
        Ok(Self {
            exe,
            programs: Programs::from_env(),
            index_url: index_url.to_owned(),
            lock: home.upgrade_lock(),
            cargo_home: std::env::var_os("CARGO_HOME")
                .filter(|h| !h.is_empty())
                .map(PathBuf::from),
            user_home: crate::paths::user_home(),
            capture,
        })
    }

    /// How the executable was installed.
    pub async fn mode(&self) -> InstallMode {
        install::detect(
            &self.exe,
            &self.programs,
            self.cargo_home.as_deref(),
            &self.user_home,
        )
        .await
    }

    /// A fresh look at the index: the newest release above this build, if any.
    pub async fn check(&self) -> Result<Option<Version>, index::IndexError> {
        index::check(&self.index_url, &current()).await
    }

    /// What upgrading `mode` to `target` takes.
    pub fn plan(&self, mode: &InstallMode, target: &Version) -> Plan {
        install::plan(
            mode,
            &self.programs,
            target,
            nix::unistd::geteuid().is_root(),
        )
    }

    /// Installs `target` and returns the version now installed (verified in a
    /// fresh process). One upgrade at a time: a second one is [`UpgradeError::Busy`].
    pub async fn install(
        &self,
        mode: &InstallMode,
        target: &Version,
    ) -> Result<Version, UpgradeError> {
        let steps = match self.plan(mode, target) {
            Plan::Run(steps) => steps,
            Plan::FromSource(dir) => return Err(UpgradeError::FromSource(dir)),
            Plan::NeedsRoot(cmd) => return Err(UpgradeError::NeedsRoot(cmd)),
            Plan::Manual(text) => return Err(UpgradeError::Manual(text)),
        };
        let _lock = try_lock(&self.lock)?;
        let old = install::installed_version(&self.exe)
            .await
            .unwrap_or_else(current);
        for step in &steps {
            install::run_step(step, self.capture).await?;
        }
        match install::verify(&self.exe, &old).await {
            Ok(new) => {
                tracing::info!(from = %old, to = %new, "upgrade: installed and verified");
                Ok(new)
            }
            Err(seen) => Err(UpgradeError::Unchanged {
                exe: self.exe.clone(),
                seen: seen.map_or_else(|| "nothing".to_owned(), |v| v.to_string()),
            }),
        }
    }
}

/// Takes the upgrade lock without waiting.
fn try_lock(path: &Path) -> Result<nix::fcntl::Flock<std::fs::File>, UpgradeError> {
    use std::os::unix::fs::OpenOptionsExt;
    let local = |e: &dyn std::fmt::Display| UpgradeError::Local(format!("{}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        crate::store::ensure_private_dir(dir).map_err(|e| local(&e))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| local(&e))?;
    nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock).map_err(|(_, e)| {
        match e {
            nix::errno::Errno::EWOULDBLOCK => UpgradeError::Busy,
            e => local(&e),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_upgrade_waits_for_none() {
        let dir = tempfile::tempdir().unwrap();
        let lock = dir.path().join("run/upgrade.lock");
        let held = try_lock(&lock).unwrap();
        assert!(matches!(try_lock(&lock), Err(UpgradeError::Busy)));
        drop(held);
        assert!(try_lock(&lock).is_ok());
    }

    #[test]
    fn this_build_has_a_version() {
        assert_eq!(current().to_string(), crate::VERSION);
    }
}
