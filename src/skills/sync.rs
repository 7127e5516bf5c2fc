//! One pass of the skill sync over the folders taking part, and the record of the
//! links ductor made.
//!
//! Every valid skill in one folder is made visible in the others by a symlink to
//! its canonical folder: the first real folder of that name in priority order
//! (workspace, claude, codex, gemini), else the folder a foreign link of that name
//! leads to. A link is created only where the name is absent. Real folders, files
//! and links ductor did not make are never changed. Links ductor made (kept in the
//! record, and only while they still point where ductor pointed them) are removed
//! when their skill is gone or invalid, when their folder no longer takes part,
//! and re-pointed when the canonical folder changes.

use super::skill::{self, Found};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// The links ductor created: link path → the target it was given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Link path → target.
    pub links: BTreeMap<PathBuf, PathBuf>,
}

impl Record {
    /// Whether `link` is ductor's: recorded, and still pointing where ductor pointed
    /// it (a link the user re-pointed is theirs).
    pub fn owns(&self, link: &Path) -> bool {
        self.links
            .get(link)
            .is_some_and(|target| std::fs::read_link(link).is_ok_and(|t| t == *target))
    }
}

/// What one pass changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Links created (or re-pointed).
    pub created: Vec<PathBuf>,
    /// Links of ductor's removed.
    pub removed: Vec<PathBuf>,
}

impl Changes {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.created.is_empty() && self.removed.is_empty()
    }
}

/// Syncs the skills folders `dirs` (in priority order, all existing). Links of
/// ductor's in folders not in `dirs` are removed.
pub fn sync(dirs: &[PathBuf], record: &mut Record) -> Changes {
    let mut changes = Changes::default();
    prune(dirs, record, &mut changes);
    let listings: Vec<_> = dirs.iter().map(|d| skill::list(d)).collect();
    for (name, canonical) in canonical_folders(dirs, &listings, record) {
        for (dir, listing) in dirs.iter().zip(&listings) {
            let link = dir.join(&name);
            let replace = match listing.get(&name) {
                None => false,
                Some(Found::Link { target, .. }) if record.owns(&link) && *target != canonical => {
                    true
                }
                Some(_) => continue,
            };
            if replace {
                remove_link(&link, record, &mut changes);
            }
            match std::os::unix::fs::symlink(&canonical, &link) {
                Ok(()) => {
                    record.links.insert(link.clone(), canonical.clone());
                    changes.created.push(link);
                }
                // Someone (another agent) made it a moment ago.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    tracing::warn!(link = %link.display(), error = %e, "skills: cannot link");
                }
            }
        }
    }
    changes
}

/// Removes ductor's links whose skill is gone or invalid or whose folder no longer
/// takes part, and forgets links that are not ductor's any more.
fn prune(dirs: &[PathBuf], record: &mut Record, changes: &mut Changes) {
    let taking_part: HashSet<&Path> = dirs.iter().map(PathBuf::as_path).collect();
    let links: Vec<PathBuf> = record.links.keys().cloned().collect();
    for link in links {
        if !record.owns(&link) {
            record.links.remove(&link);
            continue;
        }
        let in_use = link.parent().is_some_and(|p| taking_part.contains(p));
        let valid = std::fs::canonicalize(&link).is_ok_and(|p| p.is_dir() && skill::is_skill(&p));
        if !(in_use && valid) {
            remove_link(&link, record, changes);
        }
    }
}

/// The canonical folder of every skill name found in `dirs`: the first valid real
/// folder by priority, else where the first foreign valid link leads.
fn canonical_folders(
    dirs: &[PathBuf],
    listings: &[BTreeMap<String, Found>],
    record: &Record,
) -> BTreeMap<String, PathBuf> {
    let mut real: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut linked: BTreeMap<String, PathBuf> = BTreeMap::new();
    for (dir, listing) in dirs.iter().zip(listings) {
        for (name, found) in listing {
            match found {
                Found::Real { valid: true } => {
                    let path = dir.join(name);
                    let path = std::fs::canonicalize(&path).unwrap_or(path);
                    real.entry(name.clone()).or_insert(path);
                }
                Found::Link {
                    resolved: Some(to), ..
                } if !record.owns(&dir.join(name)) => {
                    linked.entry(name.clone()).or_insert_with(|| to.clone());
                }
                _ => {}
            }
        }
    }
    for (name, to) in linked {
        real.entry(name).or_insert(to);
    }
    real
}

/// Removes ductor's link `link` (only if it is still a link) and forgets it.
fn remove_link(link: &Path, record: &mut Record, changes: &mut Changes) {
    record.links.remove(link);
    let is_link = link
        .symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink());
    if !is_link {
        return;
    }
    match std::fs::remove_file(link) {
        Ok(()) => changes.removed.push(link.to_path_buf()),
        Err(e) => {
            tracing::warn!(link = %link.display(), error = %e, "skills: cannot remove a link");
        }
    }
}

/// Removes ductor's links outside `keep_in` (the CLIs' folders), e.g. at shutdown.
pub fn remove_links_outside(keep_in: &Path, record: &mut Record) -> Changes {
    let mut changes = Changes::default();
    let links: Vec<PathBuf> = record.links.keys().cloned().collect();
    for link in links {
        if link.parent() == Some(keep_in) {
            continue;
        }
        if record.owns(&link) {
            remove_link(&link, record, &mut changes);
        } else {
            record.links.remove(&link);
        }
    }
    changes
}
