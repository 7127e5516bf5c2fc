//! Skills sync (§9.5): the agent's `workspace/skills/` and the skills folders of
//! the CLIs (`~/.claude/skills`, `$CODEX_HOME/skills`, `~/.gemini/skills`) show
//! the same skills. At start and every 30 seconds every valid skill found in one
//! of them is linked into the others where its name is absent (see [`sync`]).
//!
//! A CLI's folder takes part only when that CLI's home exists and its toggle
//! `skills.sync.<provider>` is on; `skills.sync_enabled: false` stops it all. The
//! config is read at every pass. The links ductor made are kept in
//! `skill_links.json`; the ones in the CLIs' folders are removed at shutdown, all
//! of them when their folder stops taking part. The bundled `skill-creator` is
//! seeded into the workspace first ([`bundled`]).
//!
//! Owns `workspace/skills/` entries it created and its own links in the CLIs'
//! folders; never changes a real folder, a file or a link it did not make.

pub mod bundled;
pub mod settings;
pub mod skill;
pub mod sync;

pub use settings::SkillSettings;
pub use sync::{Changes, Record};

use crate::config::LiveConfig;
use crate::paths::AgentPaths;
use crate::provider::ProviderKind;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Time between two passes.
pub const INTERVAL: Duration = Duration::from_secs(30);

/// The skills folder of one CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliFolder {
    /// Which CLI.
    pub provider: ProviderKind,
    /// Its home (`~/.claude`, `$CODEX_HOME`, `~/.gemini`): it must exist to take part.
    pub home: PathBuf,
    /// Its skills folder (`<home>/skills`).
    pub skills: PathBuf,
}

/// Where the skills folders are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locations {
    /// `workspace/skills/`: first in priority.
    pub workspace: PathBuf,
    /// The CLIs' folders, in priority order (claude, codex, gemini).
    pub cli: Vec<CliFolder>,
}

impl Locations {
    /// The folders for `workspace` given the environment of the CLIs and the user's
    /// home: `$CLAUDE_CONFIG_DIR` (default `~/.claude`), `$CODEX_HOME` (default
    /// `~/.codex`), `$GEMINI_CLI_HOME/.gemini` (default `~/.gemini`).
    pub fn resolve(workspace: PathBuf, env: &HashMap<String, String>, home: &Path) -> Self {
        let var = |name: &str| {
            env.get(name)
                .filter(|v| !v.trim().is_empty())
                .map(PathBuf::from)
        };
        let homes = [
            (
                ProviderKind::Claude,
                var("CLAUDE_CONFIG_DIR").unwrap_or_else(|| home.join(".claude")),
            ),
            (
                ProviderKind::Codex,
                var("CODEX_HOME").unwrap_or_else(|| home.join(".codex")),
            ),
            (
                ProviderKind::Gemini,
                var("GEMINI_CLI_HOME")
                    .unwrap_or_else(|| home.to_path_buf())
                    .join(".gemini"),
            ),
        ];
        let cli = homes
            .into_iter()
            .map(|(provider, home)| CliFolder {
                provider,
                skills: home.join("skills"),
                home,
            })
            .collect();
        Self { workspace, cli }
    }

    /// The folders the CLIs of the agent at `paths` use: ductor's environment plus
    /// the agent's `.env` (as the CLIs get it).
    pub fn for_agent(paths: &AgentPaths) -> Self {
        let (env, home) = crate::provider::auth::agent_env(paths);
        Self::resolve(paths.skills_dir(), &env, &home)
    }

    /// The folders taking part under `settings`, in priority order; the CLIs'
    /// skills folders are created when their home exists.
    pub fn taking_part(&self, settings: &SkillSettings) -> Vec<PathBuf> {
        if !settings.sync_enabled {
            return Vec::new();
        }
        let mut dirs = Vec::new();
        let mut seen = HashSet::new();
        let mut add = |dir: &Path| match std::fs::create_dir_all(dir) {
            Ok(()) => {
                let real = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
                if seen.insert(real) {
                    dirs.push(dir.to_path_buf());
                }
            }
            Err(e) => tracing::warn!(dir = %dir.display(), error = %e, "skills: folder unusable"),
        };
        add(&self.workspace);
        for cli in &self.cli {
            if settings.syncs(cli.provider) && cli.home.is_dir() {
                add(&cli.skills);
            }
        }
        dirs
    }
}

/// The sync of one agent: its folders and the record of its links.
#[derive(Debug)]
pub struct SkillSync {
    locations: Locations,
    record_file: PathBuf,
    record: Record,
    reported: Vec<String>,
}

impl SkillSync {
    /// The sync over `locations`, with ductor's links recorded in `record_file`
    /// (a damaged record is moved aside: its links are then left alone as foreign).
    pub fn new(locations: Locations, record_file: PathBuf) -> Self {
        let (record, _) = crate::store::load_state(&record_file);
        Self {
            locations,
            record_file,
            record,
            reported: Vec::new(),
        }
    }

    /// The links ductor made (and still owns, as far as it knows).
    pub fn record(&self) -> &Record {
        &self.record
    }

    /// One pass under the `skills` config block (blocking file work).
    pub fn pass(&mut self, block: &serde_json::Value) -> Changes {
        let (settings, problems) = SkillSettings::from_config(block);
        if problems != self.reported {
            for p in &problems {
                tracing::warn!("config: {p}; using the default");
            }
            self.reported = problems;
        }
        let dirs = self.locations.taking_part(&settings);
        let before = self.record.clone();
        let changes = sync::sync(&dirs, &mut self.record);
        self.save_if_changed(&before, &changes);
        changes
    }

    /// Removes ductor's links from the CLIs' folders (at shutdown); the workspace's
    /// links stay.
    pub fn remove_cli_links(&mut self) -> Changes {
        let before = self.record.clone();
        let changes = sync::remove_links_outside(&self.locations.workspace, &mut self.record);
        self.save_if_changed(&before, &changes);
        changes
    }

    fn save_if_changed(&self, before: &Record, changes: &Changes) {
        if !changes.is_empty() {
            tracing::info!(created = ?changes.created, removed = ?changes.removed, "skills: links changed");
        }
        if *before != self.record
            && let Err(e) = crate::store::write_json(&self.record_file, &self.record)
        {
            tracing::warn!(error = %e, "skills: cannot save the record of links");
        }
    }
}

/// Starts the skills sync of the agent at `paths`. When `shutdown` is cancelled it
/// removes its links from the CLIs' folders, then the task ends: await it.
pub fn spawn(
    paths: &AgentPaths,
    config: LiveConfig,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    let sync = SkillSync::new(Locations::for_agent(paths), paths.skill_links_file());
    tokio::spawn(run(sync, config, shutdown))
}

/// Seeds the bundled skills, then syncs every [`INTERVAL`] until `shutdown`.
pub async fn run(mut sync: SkillSync, config: LiveConfig, shutdown: CancellationToken) {
    let workspace = sync.locations.workspace.clone();
    let seeded = tokio::task::spawn_blocking(move || bundled::seed(&workspace)).await;
    match seeded {
        Ok(Ok(names)) if !names.is_empty() => {
            tracing::info!(?names, "skills: bundled skills added");
        }
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "skills: cannot add the bundled skills"),
        Err(e) => tracing::warn!(error = %e, "skills: seeding failed"),
    }
    loop {
        let block = config.get().skills.clone();
        let Ok(back) = tokio::task::spawn_blocking(move || {
            sync.pass(&block);
            sync
        })
        .await
        else {
            tracing::error!("skills: a sync pass failed; the sync stops");
            return;
        };
        sync = back;
        tokio::select! {
            () = tokio::time::sleep(INTERVAL) => {}
            () = shutdown.cancelled() => break,
        }
    }
    let done = tokio::task::spawn_blocking(move || {
        sync.remove_cli_links();
    })
    .await;
    if let Err(e) = done {
        tracing::warn!(error = %e, "skills: cannot remove the links at shutdown");
    }
}

#[cfg(test)]
mod tests;
