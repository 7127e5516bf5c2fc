//! What counts as a skill, and what a skills folder holds.
//!
//! A skill is a folder whose name is not hidden (nor `__pycache__`,
//! `node_modules`) holding a `SKILL.md` that starts with a `---` line and a
//! front matter (closed by another `---`) with a non-empty `name` and
//! `description`.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The file that makes a folder a skill.
pub const SKILL_FILE: &str = "SKILL.md";

/// How much of a `SKILL.md` is read to find its front matter.
const HEAD_LIMIT: u64 = 64 * 1024;

/// Whether a folder name can be a skill (not hidden, not a tool's cache).
pub fn is_candidate_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !matches!(name, "__pycache__" | "node_modules")
}

/// Whether `front` (the text of a `SKILL.md`) opens with a front matter that has a
/// non-empty `name` and `description`.
pub fn has_front_matter(text: &str) -> bool {
    let mut lines = text.lines();
    if lines.next().map(str::trim_end) != Some("---") {
        return false;
    }
    let mut fields: Vec<(&str, bool)> = Vec::new();
    let mut closed = false;
    for line in lines {
        let line = line.trim_end();
        if line == "---" {
            closed = true;
            break;
        }
        if line.starts_with([' ', '\t']) {
            // A continuation of the previous key (block scalar or folded text).
            if let Some(last) = fields.last_mut() {
                last.1 |= !line.trim().is_empty();
            }
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        fields.push((key.trim(), has_value(value)));
    }
    let set = |key: &str| fields.iter().any(|(k, v)| *k == key && *v);
    closed && set("name") && set("description")
}

/// Whether the text after `key:` is a non-empty scalar (a block indicator
/// `|`/`>` counts only with a continuation line, checked by the caller).
fn has_value(value: &str) -> bool {
    let v = value.trim();
    let v = v
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
        .unwrap_or(v);
    !(v.trim().is_empty()
        || matches!(v, "~" | "null" | "Null" | "NULL")
        || v.starts_with(['|', '>']))
}

/// Whether `dir` (followed if it is a link) is a valid skill folder.
pub fn is_skill(dir: &Path) -> bool {
    let Ok(file) = std::fs::File::open(dir.join(SKILL_FILE)) else {
        return false;
    };
    let mut text = String::new();
    if file.take(HEAD_LIMIT).read_to_string(&mut text).is_err() {
        return false;
    }
    has_front_matter(&text)
}

/// One entry of a skills folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// A real folder (`valid`: it is a skill).
    Real {
        /// Whether it holds a valid `SKILL.md`.
        valid: bool,
    },
    /// A symlink (`resolved`: where it leads when that is a valid skill folder).
    Link {
        /// The link's own target, as written.
        target: PathBuf,
        /// The canonical folder it leads to, when that is a valid skill.
        resolved: Option<PathBuf>,
    },
}

/// The skill-named entries of `dir` (files and other entries are not listed; a
/// missing folder is empty). Names that are not UTF-8 are skipped.
pub fn list(dir: &Path) -> BTreeMap<String, Found> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    let mut out = BTreeMap::new();
    for entry in entries.flatten() {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if !is_candidate_name(&name) {
            continue;
        }
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        let found = if kind.is_symlink() {
            let Ok(target) = std::fs::read_link(&path) else {
                continue;
            };
            let resolved = std::fs::canonicalize(&path)
                .ok()
                .filter(|p| p.is_dir() && is_skill(p));
            Found::Link { target, resolved }
        } else if kind.is_dir() {
            Found::Real {
                valid: is_skill(&path),
            }
        } else {
            continue;
        };
        out.insert(name, found);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_needs_a_name_and_a_description() {
        let ok = "---\nname: pdf\ndescription: Work with PDF files.\n---\n# PDF\n";
        assert!(has_front_matter(ok));
        assert!(has_front_matter(
            "---\r\nname: \"pdf\"\r\ndescription: |\r\n  Long text\r\n---\r\n"
        ));
        for bad in [
            "name: pdf\ndescription: x\n",                  // no front matter
            "# Title\n---\nname: a\ndescription: b\n---\n", // not at the start
            "---\nname: pdf\n---\n",                        // no description
            "---\nname: ''\ndescription: x\n---\n",         // empty name
            "---\nname: pdf\ndescription: ~\n---\n",        // null
            "---\nname: pdf\ndescription: |\n---\n",        // empty block
            "---\nname: pdf\ndescription: x\n",             // never closed
            "",
        ] {
            assert!(!has_front_matter(bad), "{bad:?}");
        }
    }

    #[test]
    fn listing_tells_skills_links_and_noise_apart() {
        let dir = tempfile::tempdir().unwrap();
        let skills = dir.path().join("skills");
        let skill = |name: &str, text: &str| {
            std::fs::create_dir_all(skills.join(name)).unwrap();
            std::fs::write(skills.join(name).join(SKILL_FILE), text).unwrap();
        };
        skill("good", "---\nname: good\ndescription: d\n---\n");
        skill("bad", "no front matter");
        skill(".hidden", "---\nname: h\ndescription: d\n---\n");
        skill("node_modules", "---\nname: n\ndescription: d\n---\n");
        std::fs::write(skills.join("README.md"), "x").unwrap();
        std::os::unix::fs::symlink(skills.join("good"), skills.join("alias")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("gone"), skills.join("broken")).unwrap();
        let found = list(&skills);
        assert_eq!(
            found.keys().map(String::as_str).collect::<Vec<_>>(),
            ["alias", "bad", "broken", "good"]
        );
        assert_eq!(found["good"], Found::Real { valid: true });
        assert_eq!(found["bad"], Found::Real { valid: false });
        let canonical = std::fs::canonicalize(skills.join("good")).unwrap();
        assert!(
            matches!(&found["alias"], Found::Link { resolved: Some(p), .. } if *p == canonical)
        );
        assert!(matches!(
            &found["broken"],
            Found::Link { resolved: None, .. }
        ));
        assert!(list(&dir.path().join("missing")).is_empty());
    }
}
