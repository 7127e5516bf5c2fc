//! Skills shipped with ductor (`defaults/skills/<name>/`, embedded in the binary),
//! seeded into `workspace/skills/<name>/` when nothing of that name is there. A
//! folder or link the user has under that name wins and is never changed.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

/// Prefix of the bundled skills among the embedded default files.
const PREFIX: &str = "skills/";

/// The bundled skills: name → `(path inside the skill, content)`.
fn bundled() -> BTreeMap<&'static str, Vec<(&'static str, &'static [u8])>> {
    let mut skills: BTreeMap<_, Vec<_>> = BTreeMap::new();
    for (path, content) in crate::home::DEFAULT_FILES {
        let Some((name, rel)) = path.strip_prefix(PREFIX).and_then(|p| p.split_once('/')) else {
            continue;
        };
        skills.entry(name).or_default().push((rel, *content));
    }
    skills
}

/// Seeds every bundled skill missing from `skills_dir`; returns the names seeded.
/// Each skill is written into a hidden folder first and renamed into place, so the
/// sync never sees half of one.
pub fn seed(skills_dir: &Path) -> io::Result<Vec<String>> {
    let mut seeded = Vec::new();
    for (name, files) in bundled() {
        let target = skills_dir.join(name);
        if target.symlink_metadata().is_ok() {
            continue;
        }
        let staging = skills_dir.join(format!(".{name}.seeding-{}", std::process::id()));
        if staging.exists() {
            std::fs::remove_dir_all(&staging)?;
        }
        for (rel, content) in files {
            crate::home::seed_file(&staging.join(rel), content)?;
        }
        match std::fs::rename(&staging, &target) {
            Ok(()) => seeded.push(name.to_owned()),
            // Made by someone else in the meantime: theirs wins.
            Err(_) if target.symlink_metadata().is_ok() => {
                std::fs::remove_dir_all(&staging)?;
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staging);
                return Err(e);
            }
        }
    }
    Ok(seeded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skill_creator_is_seeded_once_and_a_users_folder_wins() {
        let dir = tempfile::tempdir().unwrap();
        let skills = dir.path().join("skills");
        assert_eq!(seed(&skills).unwrap(), ["skill-creator"]);
        let creator = skills.join("skill-creator");
        assert!(super::super::skill::is_skill(&creator));
        assert!(creator.join("references/example.md").is_file());
        assert_eq!(
            std::fs::read_dir(&skills).unwrap().count(),
            1,
            "no staging left"
        );
        // Edits are the user's: nothing is re-seeded over them.
        std::fs::write(creator.join("SKILL.md"), "mine").unwrap();
        std::fs::remove_file(creator.join("references/example.md")).unwrap();
        assert!(seed(&skills).unwrap().is_empty());
        assert_eq!(
            std::fs::read_to_string(creator.join("SKILL.md")).unwrap(),
            "mine"
        );
        assert!(!creator.join("references/example.md").exists());
        // A link (even a broken one) of that name wins too.
        let other = dir.path().join("other");
        std::fs::create_dir_all(&other).unwrap();
        std::os::unix::fs::symlink(dir.path().join("nowhere"), other.join("skill-creator"))
            .unwrap();
        assert!(seed(&other).unwrap().is_empty());
    }
}
