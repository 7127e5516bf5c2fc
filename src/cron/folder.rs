//! A job's folder under `workspace/cron_tasks/<name>/`: `TASK_DESCRIPTION.md`,
//! `<name>_MEMORY.md`, `scripts/` and the rule file each CLI reads from its working
//! directory (`CLAUDE.md`, `AGENTS.md`, `GEMINI.md`).

use std::path::{Path, PathBuf};

/// Whether `name` can be a job id and folder: 1–64 of `a-z`, `0-9`, `-`, `_`,
/// starting with a letter or digit.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
}

const RULES: &str = "# Scheduled job `{name}`\n\n\
You run unattended as the scheduled job **{title}** of ductor; nobody reads along\n\
while you work. `TASK_DESCRIPTION.md` in this folder says what to do.\n\n\
- Keep notes for the next run in `{name}_MEMORY.md` (date, time, what you did).\n\
- Put helper scripts in `scripts/`.\n\
- Your final answer is posted to the person's chat: write only what they should\n\
  read, no confirmation that it was sent.\n";

/// Creates the folder of job `name` (files that exist are kept). Returns its path.
pub fn create(
    cron_tasks: &Path,
    name: &str,
    title: &str,
    description: &str,
) -> std::io::Result<PathBuf> {
    let dir = cron_tasks.join(name);
    std::fs::create_dir_all(dir.join("scripts"))?;
    let write_new = |file: &str, text: &str| -> std::io::Result<()> {
        let path = dir.join(file);
        if path.exists() {
            return Ok(());
        }
        crate::store::write_atomic(&path, text.as_bytes()).map_err(std::io::Error::other)
    };
    write_new(
        "TASK_DESCRIPTION.md",
        &format!(
            "# {title}\n\n## Goal\n{description}\n\n## Assignment\nCarry out the goal above; \
             use your notes in `{name}_MEMORY.md`.\n\n## Output\nA short message for the person.\n"
        ),
    )?;
    write_new(
        &format!("{name}_MEMORY.md"),
        &format!("# Memory of `{name}`\n"),
    )?;
    let rules = RULES.replace("{name}", name).replace("{title}", title);
    for file in ["CLAUDE.md", "AGENTS.md", "GEMINI.md"] {
        write_new(file, &rules)?;
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain() {
        assert!(valid_name("daily-report"));
        assert!(valid_name("a_1"));
        for bad in ["", "-x", "A", "a/b", "..", "a b", &"x".repeat(65)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn the_folder_has_its_files_and_keeps_edits() {
        let dir = tempfile::tempdir().unwrap();
        let f = create(dir.path(), "news", "News", "Collect the news.").unwrap();
        for file in [
            "TASK_DESCRIPTION.md",
            "news_MEMORY.md",
            "CLAUDE.md",
            "AGENTS.md",
            "GEMINI.md",
        ] {
            assert!(f.join(file).is_file(), "{file}");
        }
        assert!(f.join("scripts").is_dir());
        std::fs::write(f.join("news_MEMORY.md"), "kept").unwrap();
        create(dir.path(), "news", "News", "x").unwrap();
        assert_eq!(
            std::fs::read_to_string(f.join("news_MEMORY.md")).unwrap(),
            "kept"
        );
    }
}
