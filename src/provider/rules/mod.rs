//! Rule files (`CLAUDE.md`, `AGENTS.md`, `GEMINI.md`) in the agent workspace: the
//! system instructions each CLI reads from its working directory (§9.3).
//!
//! Deployed from `defaults/rules/` for every provider that is installed and
//! authenticated. Unlike the original, a user's edits survive: ductor records the
//! hash of what it wrote in `config/managed_files.json` and only replaces a file it
//! wrote and nobody changed since. Files of other providers are never deleted.
//! [`siblings`] keeps the rule files of each folder alike (newest wins).

pub mod siblings;

use super::ProviderKind;
use crate::paths::AgentPaths;
use crate::store;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::path::Path;

/// File name each CLI reads from its working directory.
pub fn rule_file_name(provider: ProviderKind) -> &'static str {
    match provider {
        ProviderKind::Claude => "CLAUDE.md",
        ProviderKind::Codex => "AGENTS.md",
        ProviderKind::Gemini => "GEMINI.md",
    }
}

/// What happened to one rule file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleAction {
    /// Written for the first time.
    Created,
    /// Replaced with the current template (it was ours and unchanged).
    Updated,
    /// Already up to date.
    Unchanged,
    /// Left alone because the user changed it (or it was not written by ductor).
    KeptUserEdits,
}

fn hash(bytes: &[u8]) -> String {
    crate::util::hex(&Sha256::digest(bytes))
}

/// Renders the workspace rule template for this agent.
pub fn render_template(paths: &AgentPaths) -> String {
    let template = crate::home::default_file("rules/workspace.md")
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    template
        .replace("{agent}", paths.name())
        .replace("{workspace}", &paths.workspace().display().to_string())
        .replace("{home}", &paths.root().display().to_string())
        .replace("{root}", &paths.home().root().display().to_string())
        .replace(
            "{shared_memory}",
            &paths.shared_memory().display().to_string(),
        )
        .replace("{sandbox_note}", " (no sandbox)")
}

fn manifest_path(paths: &AgentPaths) -> std::path::PathBuf {
    paths.config_dir().join("managed_files.json")
}

/// Deploys the rule file of each provider in `providers` into the workspace.
pub fn deploy(
    paths: &AgentPaths,
    providers: &[ProviderKind],
) -> std::io::Result<Vec<(ProviderKind, RuleAction)>> {
    let content = render_template(paths);
    let wanted = hash(content.as_bytes());
    let manifest_file = manifest_path(paths);
    let (mut manifest, report): (Map<String, Value>, _) = store::load_state(&manifest_file);
    if let store::LoadReport::Unreadable(why) = report {
        // Without the manifest, user edits cannot be told from ours: change nothing.
        return Err(std::io::Error::other(format!(
            "{}: {why}",
            manifest_file.display()
        )));
    }
    let mut changed = false;
    let mut report = Vec::new();
    for &p in providers {
        let rel = format!("workspace/{}", rule_file_name(p));
        let target = paths.root().join(&rel);
        let action = decide(&target, &wanted, manifest.get(&rel).and_then(Value::as_str));
        match action {
            RuleAction::Created | RuleAction::Updated => {
                store::write_atomic(&target, content.as_bytes()).map_err(std::io::Error::other)?;
                manifest.insert(rel, Value::String(wanted.clone()));
                changed = true;
            }
            RuleAction::Unchanged => {
                if manifest.get(&rel).and_then(Value::as_str) != Some(wanted.as_str()) {
                    manifest.insert(rel, Value::String(wanted.clone()));
                    changed = true;
                }
            }
            RuleAction::KeptUserEdits => {
                tracing::info!(file = %target.display(), "keeping the edited rule file; delete it to get ductor's current version");
            }
        }
        report.push((p, action));
    }
    if changed {
        store::write_json(&manifest_file, &manifest).map_err(std::io::Error::other)?;
    }
    Ok(report)
}

fn decide(target: &Path, wanted: &str, recorded: Option<&str>) -> RuleAction {
    let Ok(current) = std::fs::read(target) else {
        return RuleAction::Created;
    };
    let current = hash(&current);
    if current == wanted {
        RuleAction::Unchanged
    } else if recorded == Some(current.as_str()) {
        RuleAction::Updated
    } else {
        RuleAction::KeptUserEdits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::Home;

    #[test]
    fn user_edits_survive_and_our_files_are_updated() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path());
        let paths = home.agent("sub1");
        let all = [ProviderKind::Claude, ProviderKind::Codex];
        let r = deploy(&paths, &all).unwrap();
        assert_eq!(
            r,
            [
                (ProviderKind::Claude, RuleAction::Created),
                (ProviderKind::Codex, RuleAction::Created)
            ]
        );
        let claude = paths.workspace().join("CLAUDE.md");
        let text = std::fs::read_to_string(&claude).unwrap();
        assert!(
            text.contains("`sub1`") && !text.contains("{agent}"),
            "{text}"
        );
        assert_eq!(deploy(&paths, &all).unwrap()[0].1, RuleAction::Unchanged);
        // An older version of our own file is replaced...
        std::fs::write(&claude, "old ductor text").unwrap();
        let mut m: Map<String, Value> =
            serde_json::from_slice(&std::fs::read(manifest_path(&paths)).unwrap()).unwrap();
        m.insert(
            "workspace/CLAUDE.md".into(),
            Value::String(hash(b"old ductor text")),
        );
        std::fs::write(manifest_path(&paths), serde_json::to_vec(&m).unwrap()).unwrap();
        assert_eq!(deploy(&paths, &all).unwrap()[0].1, RuleAction::Updated);
        assert_eq!(std::fs::read_to_string(&claude).unwrap(), text);
        // ...but a user's edit is kept, also on later starts.
        std::fs::write(&claude, "my own rules").unwrap();
        for _ in 0..2 {
            assert_eq!(
                deploy(&paths, &all).unwrap()[0].1,
                RuleAction::KeptUserEdits
            );
            assert_eq!(std::fs::read_to_string(&claude).unwrap(), "my own rules");
        }
        // Providers that are not authenticated get nothing, and nothing is deleted.
        assert!(!paths.workspace().join("GEMINI.md").exists());
        deploy(&paths, &[ProviderKind::Gemini]).unwrap();
        assert!(claude.exists());
    }
}
