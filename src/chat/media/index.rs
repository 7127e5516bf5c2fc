//! `telegram_files/_index.yaml` (§4.9): a listing of every received file by date,
//! rebuilt from the directory after each download so it also reflects cleanup.
//!
//! ```yaml
//! last_updated: "2025-05-01T10:00:00Z"
//! total_files: 2
//! tree:
//!   "2025-05-01":
//!     - name: "photo_AQAD.jpg"
//!       type: "image/jpeg"
//!       size: 48213
//!       received: "2025-05-01T09:59:58Z"
//! ```
//!
//! Strings are written as JSON strings, which are valid double-quoted YAML scalars,
//! so no YAML library is needed and odd file names cannot break the file.

use super::mime;
use crate::store::{StoreError, write_atomic};
use chrono::{DateTime, SecondsFormat, Utc};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Mutex;

/// File name of the index inside the media directory.
pub const INDEX_FILE: &str = "_index.yaml";

/// One file in the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// File name inside its date directory.
    pub name: String,
    /// MIME type (from its content).
    pub mime: String,
    /// Size in bytes.
    pub size: u64,
    /// When it was stored (its modification time).
    pub received: DateTime<Utc>,
}

/// Whether a directory name is a `YYYY-MM-DD` date.
fn is_date(name: &str) -> bool {
    chrono::NaiveDate::parse_from_str(name, "%Y-%m-%d").is_ok() && name.len() == 10
}

fn head(path: &Path) -> Vec<u8> {
    super::read_head(path).unwrap_or_default()
}

/// Reads the date directories under `root`: `(date, entries)` sorted by date, then name.
/// Hidden files (temporary downloads) are skipped.
pub fn scan(root: &Path) -> Vec<(String, Vec<Entry>)> {
    let Ok(days) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut tree: Vec<(String, Vec<Entry>)> = days
        .filter_map(Result::ok)
        .filter(|d| d.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|d| {
            let date = d.file_name().to_str().filter(|n| is_date(n))?.to_owned();
            let mut entries: Vec<Entry> = std::fs::read_dir(d.path())
                .ok()?
                .filter_map(Result::ok)
                .filter_map(|f| {
                    let name = f.file_name().into_string().ok()?;
                    let meta = f.metadata().ok().filter(std::fs::Metadata::is_file)?;
                    if name.starts_with('.') {
                        return None;
                    }
                    let received = meta.modified().map_or_else(|_| Utc::now(), DateTime::from);
                    Some(Entry {
                        mime: mime::detect(&head(&f.path()), Some(&name), None),
                        name,
                        size: meta.len(),
                        received,
                    })
                })
                .collect();
            entries.sort_by(|a, b| a.name.cmp(&b.name));
            Some((date, entries))
        })
        .filter(|(_, entries)| !entries.is_empty())
        .collect();
    tree.sort_by(|a, b| a.0.cmp(&b.0));
    tree
}

fn quoted(s: &str) -> String {
    // A JSON string is a valid YAML double-quoted scalar.
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

fn stamp(t: DateTime<Utc>) -> String {
    quoted(&t.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// The index text for `tree`.
pub fn render(tree: &[(String, Vec<Entry>)], now: DateTime<Utc>) -> String {
    let total: usize = tree.iter().map(|(_, e)| e.len()).sum();
    let mut out = format!("last_updated: {}\ntotal_files: {total}\n", stamp(now));
    if tree.is_empty() {
        out.push_str("tree: {}\n");
        return out;
    }
    out.push_str("tree:\n");
    for (date, entries) in tree {
        let _ = writeln!(out, "  {}:", quoted(date));
        for e in entries {
            let _ = write!(
                out,
                "    - name: {}\n      type: {}\n      size: {}\n      received: {}\n",
                quoted(&e.name),
                quoted(&e.mime),
                e.size,
                stamp(e.received)
            );
        }
    }
    out
}

/// Rebuilds `root/_index.yaml` atomically. Serialised within the process so two
/// downloads finishing together cannot leave an index that misses one of them.
pub fn rebuild(root: &Path, now: DateTime<Utc>) -> Result<(), StoreError> {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let text = render(&scan(root), now);
    write_atomic(&root.join(INDEX_FILE), text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_lists_files_by_date() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let day = root.join("2025-05-01");
        std::fs::create_dir_all(&day).unwrap();
        std::fs::write(day.join("b \"odd\": name.txt"), "hello").unwrap();
        std::fs::write(day.join("a.pdf"), b"%PDF-1.4\n...").unwrap();
        std::fs::write(day.join(".dl-1.part"), "partial").unwrap();
        std::fs::create_dir_all(root.join("2025-04-30")).unwrap();
        std::fs::create_dir_all(root.join("not-a-date")).unwrap();
        std::fs::write(root.join("not-a-date/x"), "x").unwrap();
        let now = "2025-05-01T12:00:00Z".parse().unwrap();
        rebuild(root, now).unwrap();
        let text = std::fs::read_to_string(root.join(INDEX_FILE)).unwrap();
        let expected_head = "last_updated: \"2025-05-01T12:00:00Z\"\ntotal_files: 2\ntree:\n  \"2025-05-01\":\n    - name: \"a.pdf\"\n      type: \"application/pdf\"\n      size: 12\n      received: \"";
        assert!(text.starts_with(expected_head), "{text}");
        assert!(
            text.contains("    - name: \"b \\\"odd\\\": name.txt\"\n      type: \"text/plain\"\n      size: 5\n"),
            "{text}"
        );
        assert!(
            !text.contains("part") && !text.contains("2025-04-30") && !text.contains("not-a-date")
        );
    }

    #[test]
    fn empty_index() {
        let dir = tempfile::tempdir().unwrap();
        let now = "2025-05-01T12:00:00Z".parse().unwrap();
        assert_eq!(
            render(&scan(dir.path()), now),
            "last_updated: \"2025-05-01T12:00:00Z\"\ntotal_files: 0\ntree: {}\n"
        );
    }
}
