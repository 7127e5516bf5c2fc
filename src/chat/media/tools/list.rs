//! `ductor media list`: the files the user sent this agent, newest first, from the
//! media index of each transport's files folder (`telegram_files/`,
//! `matrix_files/`, `api_files/`, see [`crate::chat::media::index`]); a folder
//! whose index is missing or damaged is listed from the disk instead (nothing is
//! written).

use crate::chat::media::index::{self, Entry};
use crate::paths::AgentPaths;
use serde_json::{Value, json};
use std::path::PathBuf;

/// Largest `--limit`.
pub const MAX_LIMIT: usize = 1000;

/// What to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// A MIME class (`image`, `audio`, `video`, `application`, `text`) or a full
    /// type (`application/pdf`).
    pub kind: Option<String>,
    /// Only files of this date folder (`YYYY-MM-DD`, UTC).
    pub date: Option<String>,
    /// At most this many files (1..=[`MAX_LIMIT`]).
    pub limit: usize,
}

/// Whether a file of type `mime` matches `--type kind`.
fn matches_kind(kind: &str, mime: &str) -> bool {
    if kind.contains('/') {
        mime.eq_ignore_ascii_case(kind)
    } else {
        mime.split('/')
            .next()
            .is_some_and(|class| class.eq_ignore_ascii_case(kind))
    }
}

struct Found {
    source: &'static str,
    folder: &'static str,
    dir: PathBuf,
    date: String,
    entry: Entry,
}

/// The indexed files of one files folder: from its index, else from the disk.
fn tree(dir: &std::path::Path) -> Vec<(String, Vec<Entry>)> {
    std::fs::read_to_string(dir.join(index::INDEX_FILE))
        .ok()
        .and_then(|text| index::parse(&text))
        .unwrap_or_else(|| index::scan(dir))
}

/// What `ductor media list` prints.
pub fn list(paths: &AgentPaths, q: &ListQuery) -> Result<Value, String> {
    if let Some(date) = &q.date
        && chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err()
    {
        return Err(format!("--date {date}: expected YYYY-MM-DD"));
    }
    if !(1..=MAX_LIMIT).contains(&q.limit) {
        return Err(format!("--limit must be between 1 and {MAX_LIMIT}"));
    }
    let kind = q.kind.as_deref().map(str::trim).filter(|k| !k.is_empty());
    let folders = [
        ("telegram", "telegram_files", paths.telegram_files_dir()),
        ("matrix", "matrix_files", paths.matrix_files_dir()),
        ("api", "api_files", paths.api_files_dir()),
    ];
    let mut found: Vec<Found> = Vec::new();
    for (source, folder, dir) in folders {
        for (date, entries) in tree(&dir) {
            if q.date.as_ref().is_some_and(|d| *d != date) {
                continue;
            }
            for entry in entries {
                if kind.is_some_and(|k| !matches_kind(k, &entry.mime)) {
                    continue;
                }
                found.push(Found {
                    source,
                    folder,
                    dir: dir.clone(),
                    date: date.clone(),
                    entry,
                });
            }
        }
    }
    // Newest first; files of one second by date folder, then name.
    found.sort_by(|a, b| {
        (b.entry.received, &b.date, &b.entry.name).cmp(&(a.entry.received, &a.date, &a.entry.name))
    });
    let total = found.len();
    let files: Vec<Value> = found
        .into_iter()
        .take(q.limit)
        .map(|f| {
            json!({
                "path": f.dir.join(&f.date).join(&f.entry.name),
                "relative": format!("{}/{}/{}", f.folder, f.date, f.entry.name),
                "name": f.entry.name,
                "type": f.entry.mime,
                "size": f.entry.size,
                "size_human": crate::util::human_size(f.entry.size),
                "received": f.entry.received.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "source": f.source,
            })
        })
        .collect();
    Ok(json!({ "total": total, "shown": files.len(), "files": files }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_filter_takes_a_class_or_a_full_type() {
        assert!(matches_kind("image", "image/png"));
        assert!(matches_kind("IMAGE", "image/png"));
        assert!(!matches_kind("image", "video/mp4"));
        assert!(matches_kind("application/pdf", "application/pdf"));
        assert!(!matches_kind("application/pdf", "application/zip"));
        assert!(!matches_kind("app", "application/pdf"));
    }
}
