//! Keeping the three rule files of a folder alike (§9.3, the original's rule sync):
//! an agent edits the file of its own CLI (`CLAUDE.md`), and the others
//! (`AGENTS.md`, `GEMINI.md`) should say the same.
//!
//! Every 10 seconds, in every folder under the workspace, the newest of the rule
//! files there is copied over its older siblings that exist (none is created).
//! Hidden folders, `node_modules`, `__pycache__` and symlinked folders are not
//! entered; symlinked rule files are neither read nor written. One exception
//! keeps user edits safe: a file exactly as ductor deployed it (per the manifest)
//! never replaces a sibling the user changed.
//!
//! Task folders (`tasks/<id>/`, `cron_tasks/<job>/`) with some rule file get the
//! missing ones as copies (folders from older versions, or a file deleted by hand).

use super::{hash, manifest_path};
use crate::paths::AgentPaths;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The rule files of the three CLIs.
pub const RULE_FILES: [&str; 3] = ["CLAUDE.md", "AGENTS.md", "GEMINI.md"];

/// Time between two passes.
pub const INTERVAL: Duration = Duration::from_secs(10);

/// Folders deeper than this under the workspace are not looked at.
const MAX_DEPTH: usize = 8;

/// At most this many folders are looked at per pass (a big project in the
/// workspace must not turn the pass into a crawl).
const MAX_DIRS: usize = 5000;

/// Whether the sync enters a folder of this name.
fn enters(name: &str) -> bool {
    !name.starts_with('.') && !matches!(name, "node_modules" | "__pycache__")
}

/// One rule file found in a folder.
struct RuleFile {
    name: &'static str,
    path: PathBuf,
    modified: SystemTime,
    content: Vec<u8>,
}

/// The regular (not symlinked) rule files of `dir`.
fn rule_files(dir: &Path) -> Vec<RuleFile> {
    RULE_FILES
        .iter()
        .filter_map(|&name| {
            let path = dir.join(name);
            let meta = path
                .symlink_metadata()
                .ok()
                .filter(std::fs::Metadata::is_file)?;
            let content = std::fs::read(&path).ok()?;
            Some(RuleFile {
                name,
                modified: meta.modified().ok()?,
                path,
                content,
            })
        })
        .collect()
}

/// The manifest of files ductor deployed (workspace-relative keys), or `None`
/// when it cannot be read: then the workspace root is left alone.
fn manifest(paths: &AgentPaths) -> Option<Map<String, Value>> {
    match crate::store::read_json_strict(&manifest_path(paths)) {
        Ok(m) => Some(m.unwrap_or_default()),
        Err(e) => {
            tracing::warn!(error = %e, "rule sync: not syncing the workspace's rule files");
            None
        }
    }
}

/// Copies, in every folder under the workspace, the newest rule file over its
/// older existing siblings. Returns the files rewritten.
pub fn sync_siblings(paths: &AgentPaths) -> Vec<PathBuf> {
    let workspace = paths.workspace();
    let manifest = manifest(paths);
    let mut written = Vec::new();
    let mut queue = vec![(workspace.clone(), 0usize)];
    let mut seen = 0;
    while let Some((dir, depth)) = queue.pop() {
        seen += 1;
        if seen > MAX_DIRS {
            tracing::debug!(workspace = %workspace.display(), "rule sync: stopped after {MAX_DIRS} folders");
            break;
        }
        let at_root = dir == workspace;
        match (&manifest, at_root) {
            (None, true) => {}
            (Some(m), true) => written.extend(sync_dir(&dir, Some((m, paths.root())))),
            (_, false) => written.extend(sync_dir(&dir, None)),
        }
        if depth >= MAX_DEPTH {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if is_dir && entry.file_name().to_str().is_some_and(enters) {
                queue.push((entry.path(), depth + 1));
            }
        }
    }
    written
}

/// Syncs one folder. With `managed` (the manifest and the agent root its keys are
/// relative to), a file as ductor deployed it never replaces a changed sibling.
fn sync_dir(dir: &Path, managed: Option<(&Map<String, Value>, &Path)>) -> Vec<PathBuf> {
    let files = rule_files(dir);
    // The newest; on a tie the first in CLAUDE, AGENTS, GEMINI order.
    let Some(newest) = files
        .iter()
        .reduce(|best, f| if f.modified > best.modified { f } else { best })
    else {
        return Vec::new();
    };
    let pristine = |f: &RuleFile| {
        managed.is_some_and(|(manifest, root)| {
            let rel = f
                .path
                .strip_prefix(root)
                .map(|p| p.to_string_lossy().into_owned());
            rel.is_ok_and(|rel| {
                manifest.get(&rel).and_then(Value::as_str) == Some(hash(&f.content).as_str())
            })
        })
    };
    let source_is_template = pristine(newest);
    let mut written = Vec::new();
    for f in &files {
        if f.name == newest.name || f.modified >= newest.modified || f.content == newest.content {
            continue;
        }
        if source_is_template && !pristine(f) {
            continue;
        }
        match crate::store::write_atomic(&f.path, &newest.content) {
            Ok(()) => written.push(f.path.clone()),
            Err(e) => tracing::warn!(error = %e, "rule sync: cannot update a rule file"),
        }
    }
    written
}

/// Gives every task folder (`tasks/<id>/`, `cron_tasks/<job>/`) that has a rule
/// file the missing ones, as copies of its newest. Returns the files created.
pub fn complete_task_folders(paths: &AgentPaths) -> Vec<PathBuf> {
    let mut created = Vec::new();
    for parent in [paths.tasks_dir(), paths.cron_tasks_dir()] {
        let Ok(entries) = std::fs::read_dir(&parent) else {
            continue;
        };
        for entry in entries.flatten() {
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let dir = entry.path();
            let files = rule_files(&dir);
            let Some(newest) = files.iter().max_by_key(|f| f.modified) else {
                continue;
            };
            for name in RULE_FILES {
                let path = dir.join(name);
                if path.symlink_metadata().is_ok() {
                    continue;
                }
                match crate::store::write_atomic(&path, &newest.content) {
                    Ok(()) => created.push(path),
                    Err(e) => tracing::warn!(error = %e, "rule sync: cannot add a rule file"),
                }
            }
        }
    }
    created
}

/// One pass: task folders completed, then siblings synced (blocking file work).
pub fn pass(paths: &AgentPaths) {
    let created = complete_task_folders(paths);
    let written = sync_siblings(paths);
    if !created.is_empty() || !written.is_empty() {
        tracing::info!(?created, ?written, "rule files synced");
    }
}

/// Runs [`pass`] at start and every [`INTERVAL`] until `shutdown`.
pub fn spawn(paths: AgentPaths, shutdown: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let p = paths.clone();
            if let Err(e) = tokio::task::spawn_blocking(move || pass(&p)).await {
                tracing::error!(error = %e, "rule sync: a pass failed");
            }
            tokio::select! {
                () = tokio::time::sleep(INTERVAL) => {}
                () = shutdown.cancelled() => return,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::Home;
    use crate::provider::ProviderKind;
    use crate::provider::rules::{RuleAction, deploy};
    use std::fs;

    fn write_aged(path: &Path, text: &str, age_secs: u64) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
        let t = SystemTime::now() - Duration::from_secs(age_secs);
        fs::File::open(path).unwrap().set_modified(t).unwrap();
    }

    fn read(path: &Path) -> String {
        fs::read_to_string(path).unwrap()
    }

    fn agent() -> (tempfile::TempDir, AgentPaths) {
        let dir = tempfile::tempdir().unwrap();
        let paths = Home::new(dir.path().join("home")).agent("sub1");
        fs::create_dir_all(paths.workspace()).unwrap();
        (dir, paths)
    }

    #[test]
    fn the_newest_is_copied_over_older_existing_siblings_only() {
        let (_dir, paths) = agent();
        let proj = paths.workspace().join("projects/app");
        write_aged(&proj.join("CLAUDE.md"), "new rules", 10);
        write_aged(&proj.join("AGENTS.md"), "old rules", 3600);
        let written = sync_siblings(&paths);
        assert_eq!(written, [proj.join("AGENTS.md")]);
        assert_eq!(read(&proj.join("AGENTS.md")), "new rules");
        assert!(!proj.join("GEMINI.md").exists(), "never created");
        assert!(sync_siblings(&paths).is_empty(), "nothing left to do");
        // Whichever is edited last wins, in any order.
        write_aged(&proj.join("GEMINI.md"), "gemini's take", 0);
        write_aged(&proj.join("CLAUDE.md"), "new rules", 60);
        write_aged(&proj.join("AGENTS.md"), "new rules", 60);
        sync_siblings(&paths);
        assert_eq!(read(&proj.join("CLAUDE.md")), "gemini's take");
        assert_eq!(read(&proj.join("AGENTS.md")), "gemini's take");
    }

    #[test]
    fn tool_folders_hidden_folders_and_links_are_skipped() {
        let (dir, paths) = agent();
        let ws = paths.workspace();
        for skipped in [
            ".git",
            ".venv",
            "node_modules",
            "__pycache__",
            "app/node_modules",
        ] {
            write_aged(&ws.join(skipped).join("CLAUDE.md"), "new", 10);
            write_aged(&ws.join(skipped).join("AGENTS.md"), "old", 3600);
        }
        let outside = dir.path().join("outside");
        write_aged(&outside.join("CLAUDE.md"), "new", 10);
        write_aged(&outside.join("AGENTS.md"), "old", 3600);
        std::os::unix::fs::symlink(&outside, ws.join("linked")).unwrap();
        let file = dir.path().join("shared-agents.md");
        write_aged(&file, "old", 3600);
        write_aged(&ws.join("proj/CLAUDE.md"), "new", 10);
        std::os::unix::fs::symlink(&file, ws.join("proj/AGENTS.md")).unwrap();
        assert!(sync_siblings(&paths).is_empty());
        for skipped in [
            ".git",
            ".venv",
            "node_modules",
            "__pycache__",
            "app/node_modules",
        ] {
            assert_eq!(
                read(&ws.join(skipped).join("AGENTS.md")),
                "old",
                "{skipped}"
            );
        }
        assert_eq!(read(&outside.join("AGENTS.md")), "old");
        assert_eq!(read(&file), "old");
    }

    #[test]
    fn ductors_template_never_replaces_a_users_edit() {
        let (_dir, paths) = agent();
        let both = [ProviderKind::Claude, ProviderKind::Codex];
        deploy(&paths, &both).unwrap();
        let claude = paths.workspace().join("CLAUDE.md");
        let agents = paths.workspace().join("AGENTS.md");
        let template = read(&claude);
        // The user edits AGENTS.md; ductor's untouched CLAUDE.md is newer.
        write_aged(&agents, "my codex rules", 3600);
        write_aged(&claude, &template, 0);
        assert!(sync_siblings(&paths).is_empty());
        assert_eq!(read(&agents), "my codex rules");
        // The user's newest edit spreads, and later deployments keep it.
        write_aged(&claude, "my rules for all", 0);
        write_aged(&agents, "my codex rules", 3600);
        assert_eq!(sync_siblings(&paths), std::slice::from_ref(&agents));
        assert_eq!(read(&agents), "my rules for all");
        let report = deploy(&paths, &both).unwrap();
        assert!(
            report.iter().all(|(_, a)| *a == RuleAction::KeptUserEdits),
            "{report:?}"
        );
        assert_eq!(read(&claude), "my rules for all");
        // A damaged manifest: the workspace's own files are left alone.
        write_aged(&agents, "older", 3600);
        fs::write(manifest_path(&paths), "{oops").unwrap();
        assert!(sync_siblings(&paths).is_empty());
        assert_eq!(read(&agents), "older");
    }

    #[test]
    fn task_folders_get_their_missing_rule_files() {
        let (_dir, paths) = agent();
        let task = paths.tasks_dir().join("0badcafe");
        write_aged(&task.join("CLAUDE.md"), "task rules", 10);
        let job = paths.cron_tasks_dir().join("news");
        write_aged(&job.join("AGENTS.md"), "job rules", 10);
        write_aged(&job.join("GEMINI.md"), "older job rules", 100);
        let bare = paths.cron_tasks_dir().join("bare");
        fs::create_dir_all(&bare).unwrap();
        let mut created = complete_task_folders(&paths);
        created.sort();
        assert_eq!(
            created,
            [
                job.join("CLAUDE.md"),
                task.join("AGENTS.md"),
                task.join("GEMINI.md")
            ]
        );
        assert_eq!(read(&task.join("GEMINI.md")), "task rules");
        assert_eq!(read(&job.join("CLAUDE.md")), "job rules");
        assert_eq!(
            read(&job.join("GEMINI.md")),
            "older job rules",
            "existing files kept"
        );
        assert_eq!(
            fs::read_dir(&bare).unwrap().count(),
            0,
            "no rule file: left alone"
        );
        assert!(complete_task_folders(&paths).is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn the_service_syncs_at_start_and_every_ten_seconds() {
        let (_dir, paths) = agent();
        let proj = paths.workspace().join("proj");
        write_aged(&proj.join("CLAUDE.md"), "v1", 10);
        write_aged(&proj.join("AGENTS.md"), "v0", 3600);
        let shutdown = CancellationToken::new();
        let task = spawn(paths.clone(), shutdown.clone());
        let settled = |want: &'static str| {
            let path = proj.join("AGENTS.md");
            async move {
                for _ in 0..500 {
                    if fs::read_to_string(&path).is_ok_and(|t| t == want) {
                        return true;
                    }
                    tokio::task::yield_now().await;
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                false
            }
        };
        assert!(settled("v1").await, "synced at start");
        write_aged(&proj.join("CLAUDE.md"), "v2", 0);
        tokio::time::sleep(INTERVAL).await;
        assert!(settled("v2").await, "synced on the next pass");
        shutdown.cancel();
        task.await.unwrap();
    }
}
