//! The folder of each task, `workspace/tasks/<id>/`: `TASKMEMORY.md` (the task's
//! notes, seeded with a header) and the task-agent rule files (`CLAUDE.md`,
//! `AGENTS.md`, `GEMINI.md`, identical). Also finds folders no task owns.

use crate::state::tasks::TaskRecord;
use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};

/// The notes file of a task.
pub const MEMORY_FILE: &str = "TASKMEMORY.md";

/// How much of `TASKMEMORY.md` goes into a result delivered to the parent.
pub const MEMORY_LIMIT: usize = 4000;

/// Rule files written into every task folder.
const RULE_FILES: [&str; 3] = ["CLAUDE.md", "AGENTS.md", "GEMINI.md"];

/// First `n` characters of `s`.
pub fn clip(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// The folder of task `id`.
pub fn dir(tasks_dir: &Path, id: &str) -> PathBuf {
    tasks_dir.join(id)
}

/// `TASKMEMORY.md` of task `id` (absolute when `tasks_dir` is).
pub fn memory_path(tasks_dir: &Path, id: &str) -> PathBuf {
    dir(tasks_dir, id).join(MEMORY_FILE)
}

fn memory_header(rec: &TaskRecord) -> String {
    let created = chrono::DateTime::from_timestamp(rec.created_at as i64, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default();
    format!(
        "# Task memory: {name}\n\n\
         - Task id: {id}\n\
         - Created: {created}\n\
         - Provider/model: {provider}/{model}\n\n\
         ## Description\n\n{description}\n\n\
         ## Progress\n\n\
         (Keep this up to date: what is done, findings, decisions, what is left.)\n",
        name = rec.name,
        id = rec.task_id,
        provider = rec.provider,
        model = rec.model,
        description = clip(&rec.original_prompt, 500),
    )
}

fn rules(rec: &TaskRecord, memory: &Path) -> String {
    let template = crate::home::default_file("rules/task.md")
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    template
        .replace("{agent}", &rec.parent_agent)
        .replace("{task_id}", &rec.task_id)
        .replace("{name}", &rec.name)
        .replace("{memory}", &memory.display().to_string())
}

/// Creates the folder of `rec` with its seeded `TASKMEMORY.md` and rule files.
/// An existing `TASKMEMORY.md` is kept.
pub fn create(tasks_dir: &Path, rec: &TaskRecord) -> io::Result<PathBuf> {
    let folder = dir(tasks_dir, &rec.task_id);
    std::fs::create_dir_all(&folder)?;
    let memory = folder.join(MEMORY_FILE);
    if !memory.exists() {
        crate::store::write_atomic(&memory, memory_header(rec).as_bytes())
            .map_err(io::Error::other)?;
    }
    let rules = rules(rec, &memory);
    for name in RULE_FILES {
        crate::store::write_atomic(&folder.join(name), rules.as_bytes())
            .map_err(io::Error::other)?;
    }
    Ok(folder)
}

/// `TASKMEMORY.md` of task `id` for a delivery: at most [`MEMORY_LIMIT`]
/// characters, with a visible marker when cut. `None` when missing or empty.
pub fn memory_excerpt(tasks_dir: &Path, id: &str) -> Option<String> {
    let path = memory_path(tasks_dir, id);
    let text = std::fs::read_to_string(&path).ok()?;
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let total = text.chars().count();
    if total <= MEMORY_LIMIT {
        return Some(text.to_owned());
    }
    Some(format!(
        "{}\n\n[... truncated -- original was {total} chars. Full content at: {}]",
        clip(text, MEMORY_LIMIT),
        path.display()
    ))
}

/// Removes the folder of task `id` (missing is fine). Ids that are not task ids
/// (a hand-edited `tasks.json`) never name a path to delete.
pub fn remove(tasks_dir: &Path, id: &str) {
    if !super::registry::is_task_id(id) {
        tracing::warn!(task = %id, "not removing the folder of a task with an unusual id");
        return;
    }
    let folder = dir(tasks_dir, id);
    match std::fs::remove_dir_all(&folder) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(folder = %folder.display(), error = %e, "cannot remove a task folder");
        }
    }
}

/// Task-id-named folders in `tasks_dir` that no id in `known` owns. Other folders
/// (something the user put there) and folders changed in the last minute (a task
/// being created) are never reported.
pub fn orphans<S: std::hash::BuildHasher>(
    tasks_dir: &Path,
    known: &HashSet<String, S>,
) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(tasks_dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| {
            e.metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().unwrap_or_default() > std::time::Duration::from_mins(1))
        })
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter(|n| super::registry::is_task_id(n) && !known.contains(n))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> TaskRecord {
        serde_json::from_value(serde_json::json!({
            "task_id": "0badcafe", "name": "Demo", "parent_agent": "main",
            "original_prompt": "p".repeat(900), "provider": "claude", "model": "sonnet",
            "created_at": 1_767_000_000.0,
        }))
        .unwrap()
    }

    #[test]
    fn folder_memory_and_rules() {
        let dir = tempfile::tempdir().unwrap();
        let folder = create(dir.path(), &record()).unwrap();
        let memory = std::fs::read_to_string(folder.join(MEMORY_FILE)).unwrap();
        assert!(memory.starts_with("# Task memory: Demo"), "{memory}");
        assert!(memory.contains("claude/sonnet") && memory.contains("2025-12-29"));
        assert!(memory.contains(&"p".repeat(500)) && !memory.contains(&"p".repeat(501)));
        let claude = std::fs::read_to_string(folder.join("CLAUDE.md")).unwrap();
        assert_eq!(
            claude,
            std::fs::read_to_string(folder.join("GEMINI.md")).unwrap()
        );
        assert!(claude.contains("ductor task ask-parent"));
        assert!(claude.contains(&folder.join(MEMORY_FILE).display().to_string()));
        // Re-creating keeps the notes.
        std::fs::write(folder.join(MEMORY_FILE), "notes").unwrap();
        create(dir.path(), &record()).unwrap();
        assert_eq!(
            memory_excerpt(dir.path(), "0badcafe").as_deref(),
            Some("notes")
        );
    }

    #[test]
    fn long_memory_is_cut_with_a_visible_marker() {
        let dir = tempfile::tempdir().unwrap();
        create(dir.path(), &record()).unwrap();
        std::fs::write(memory_path(dir.path(), "0badcafe"), "x".repeat(5000)).unwrap();
        let text = memory_excerpt(dir.path(), "0badcafe").unwrap();
        assert!(text.starts_with(&"x".repeat(4000)));
        assert!(text.contains("[... truncated -- original was 5000 chars. Full content at: "));
        assert!(memory_excerpt(dir.path(), "00000000").is_none());
    }

    #[test]
    fn orphans_are_task_folders_without_a_task() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["0badcafe", "11111111", "my-notes"] {
            std::fs::create_dir(dir.path().join(name)).unwrap();
        }
        let known: HashSet<String> = ["0badcafe".to_owned()].into();
        assert!(orphans(dir.path(), &known).is_empty(), "too new");
        let old = std::time::SystemTime::now() - std::time::Duration::from_mins(2);
        for name in ["0badcafe", "11111111", "my-notes"] {
            let f = std::fs::File::open(dir.path().join(name)).unwrap();
            f.set_modified(old).unwrap();
        }
        assert_eq!(orphans(dir.path(), &known), vec!["11111111".to_owned()]);
        remove(dir.path(), "11111111");
        remove(dir.path(), "11111111");
        assert!(!dir.path().join("11111111").exists());
        remove(dir.path(), "../my-notes");
        remove(dir.path(), "my-notes");
        assert!(
            dir.path().join("my-notes").exists(),
            "only task ids are removed"
        );
    }
}
