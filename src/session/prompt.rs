//! What a new CLI session is told besides the user's message (§5.8, §9.3, §9.4):
//! the agent's `MAINMEMORY.md`, the roster of running agents, the configured
//! `append_system_prompt_files`, and — for a forum topic bound to a project
//! directory — where the agent's own workspace is. Also picks that directory.

use crate::address::Address;
use crate::config::AgentConfig;
use crate::paths::{AgentPaths, expand_tilde};
use std::path::PathBuf;

/// Largest memory file inlined into the system prompt.
const MAX_MEMORY_BYTES: usize = 64 * 1024;
/// Largest appended file (`append_system_prompt_files`).
const MAX_APPEND_FILE_BYTES: u64 = 256 * 1024;

fn read_capped(path: &std::path::Path, cap: usize) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if text.len() <= cap {
        return Some(text.to_owned());
    }
    let mut end = cap;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Some(format!(
        "{}\n[... truncated; full file: {}]",
        &text[..end],
        path.display()
    ))
}

/// The working directory for a conversation: a `project_roots` entry matching the
/// topic's name, `"<chat>:<topic>"` or `"<topic>"` when it names an existing
/// directory, else the agent workspace.
pub fn working_dir(
    config: &AgentConfig,
    paths: &AgentPaths,
    key: &Address,
    topic_name: Option<&str>,
) -> PathBuf {
    let Some(topic) = key.topic_id else {
        return paths.workspace();
    };
    let candidates = [
        topic_name.map(str::to_owned),
        Some(format!("{}:{topic}", key.chat_id)),
        Some(topic.to_string()),
    ];
    for name in candidates.into_iter().flatten() {
        if let Some(dir) = config.project_roots.get(&name).and_then(|v| v.as_str()) {
            let dir = expand_tilde(std::path::Path::new(dir));
            if dir.is_dir() {
                return dir;
            }
        }
    }
    paths.workspace()
}

/// The text appended to the system prompt of a new CLI session.
pub fn new_session_preamble(
    config: &AgentConfig,
    paths: &AgentPaths,
    roster: &[String],
    cwd: &std::path::Path,
) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(memory) = read_capped(&paths.main_memory(), MAX_MEMORY_BYTES) {
        parts.push(format!(
            "## Your memory ({})\n\n{memory}",
            paths.main_memory().display()
        ));
    }
    let others: Vec<&String> = roster.iter().filter(|n| *n != paths.name()).collect();
    if !others.is_empty() {
        let list: Vec<String> = others.iter().map(|n| format!("`{n}`")).collect();
        parts.push(format!(
            "## Active Agent Roster\n\nYou are agent `{}`. Other agents running now: {}.",
            paths.name(),
            list.join(", ")
        ));
    }
    let workspace = paths.workspace();
    for rel in &config.append_system_prompt_files {
        let path = workspace.join(rel);
        let inside = path
            .canonicalize()
            .ok()
            .zip(workspace.canonicalize().ok())
            .is_some_and(|(p, w)| p.starts_with(w));
        let small = std::fs::metadata(&path).is_ok_and(|m| m.len() <= MAX_APPEND_FILE_BYTES);
        if !inside || !small {
            tracing::warn!(file = %path.display(), "append_system_prompt_files entry skipped (missing, outside the workspace or over 256 KiB)");
            continue;
        }
        if let Some(text) = read_capped(&path, MAX_APPEND_FILE_BYTES as usize) {
            parts.push(text);
        }
    }
    if cwd != workspace {
        parts.push(format!(
            "## Working directory\n\nThis conversation works in the project `{}`. Your own ductor workspace \
             (memory, rules, tools) is `{}`; your memory file is `{}`.",
            cwd.display(),
            workspace.display(),
            paths.main_memory().display()
        ));
    }
    (!parts.is_empty()).then(|| parts.join("\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::Home;

    #[test]
    fn preamble_has_memory_roster_and_project_note() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path());
        let paths = home.main();
        crate::home::seed_agent_home(&paths).unwrap();
        std::fs::write(paths.main_memory(), "# Main Memory\n- likes tea\n").unwrap();
        let project = dir.path().join("proj");
        std::fs::create_dir_all(&project).unwrap();
        let mut config = AgentConfig::default();
        config.project_roots.insert(
            "Backend".into(),
            serde_json::Value::String(project.display().to_string()),
        );
        let key = Address::new("tg", -100, Some(7));
        let cwd = working_dir(&config, &paths, &key, Some("Backend"));
        assert_eq!(cwd, project);
        assert_eq!(
            working_dir(&config, &paths, &key, Some("Other")),
            paths.workspace()
        );
        let text =
            new_session_preamble(&config, &paths, &["main".into(), "sub1".into()], &cwd).unwrap();
        assert!(text.contains("likes tea"));
        assert!(text.contains("`sub1`") && !text.contains("`main`, "));
        assert!(text.contains("works in the project"));
        let alone =
            new_session_preamble(&config, &paths, &["main".into()], &paths.workspace()).unwrap();
        assert!(!alone.contains("Roster"));
    }
}
