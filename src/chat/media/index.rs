//! `telegram_files/_index.yaml` (§4.9): a listing of every received file by date.
//! Kept up to date incrementally after each download ([`update`]: only date folders
//! changed since the index was written are listed again, and only files not yet in
//! it are read to detect their type); rebuilt from the whole folder ([`rebuild`])
//! when it is missing or unreadable and after the cleanup removed files.
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
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

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
    /// When it was stored (its modification time, whole seconds).
    pub received: DateTime<Utc>,
}

/// Whether a directory name is a `YYYY-MM-DD` date.
fn is_date(name: &str) -> bool {
    chrono::NaiveDate::parse_from_str(name, "%Y-%m-%d").is_ok() && name.len() == 10
}

fn head(path: &Path) -> Vec<u8> {
    super::read_head(path).unwrap_or_default()
}

/// The date folders under `root` with their files, listed again from the disk:
/// `(date, entries)` sorted by date, then name. Hidden files (temporary downloads)
/// are skipped.
pub fn scan(root: &Path) -> Vec<(String, Vec<Entry>)> {
    collect(root, Vec::new(), None)
}

/// The tree under `root`, starting from `known` (a tree read from the index):
/// date folders modified at or after `since` (and folders `known` lacks) are listed
/// again, reusing the known entries of files whose size and time did not change;
/// the others are taken from `known` as they are. With `since` `None` every folder
/// is listed.
fn collect(
    root: &Path,
    known: Vec<(String, Vec<Entry>)>,
    since: Option<SystemTime>,
) -> Vec<(String, Vec<Entry>)> {
    let Ok(days) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut known: HashMap<String, Vec<Entry>> = known.into_iter().collect();
    let mut tree: Vec<(String, Vec<Entry>)> = days
        .filter_map(Result::ok)
        .filter(|d| d.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|d| {
            let date = d.file_name().to_str().filter(|n| is_date(n))?.to_owned();
            let before = known.remove(&date);
            let changed = since.is_none_or(|since| {
                d.metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t >= since)
            });
            let entries = match before {
                Some(entries) if !changed => entries,
                before => list_day(&d.path(), before.unwrap_or_default()),
            };
            Some((date, entries))
        })
        .filter(|(_, entries)| !entries.is_empty())
        .collect();
    tree.sort_by(|a, b| a.0.cmp(&b.0));
    tree
}

/// The files of one date folder; `before` are its entries in the previous index.
fn list_day(dir: &Path, before: Vec<Entry>) -> Vec<Entry> {
    let mut before: HashMap<String, Entry> =
        before.into_iter().map(|e| (e.name.clone(), e)).collect();
    let Ok(files) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut entries: Vec<Entry> = files
        .filter_map(Result::ok)
        .filter_map(|f| {
            let name = f.file_name().into_string().ok()?;
            let meta = f.metadata().ok().filter(std::fs::Metadata::is_file)?;
            if name.starts_with('.') {
                return None;
            }
            // Whole seconds, as the index keeps them.
            let received: DateTime<Utc> =
                meta.modified().map_or_else(|_| Utc::now(), DateTime::from);
            let received = DateTime::from_timestamp(received.timestamp(), 0).unwrap_or(received);
            if let Some(e) = before
                .remove(&name)
                .filter(|e| e.size == meta.len() && e.received == received)
            {
                return Some(e);
            }
            Some(Entry {
                mime: mime::detect(&head(&f.path()), Some(&name), None),
                name,
                size: meta.len(),
                received,
            })
        })
        .collect();
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    entries
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

/// Reads an index written by [`render`]; `None` when the text is not exactly that
/// shape (edited by hand, cut short), so the caller rebuilds it.
pub fn parse(text: &str) -> Option<Vec<(String, Vec<Entry>)>> {
    fn string(value: &str) -> Option<String> {
        serde_json::from_str::<String>(value).ok()
    }
    fn time(value: &str) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&string(value)?)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }
    let mut lines = text.lines();
    time(lines.next()?.strip_prefix("last_updated: ")?)?;
    let total: usize = lines.next()?.strip_prefix("total_files: ")?.parse().ok()?;
    let mut tree: Vec<(String, Vec<Entry>)> = Vec::new();
    match lines.next()? {
        "tree: {}" => {}
        "tree:" => {
            let mut lines = lines.by_ref().peekable();
            while let Some(line) = lines.next() {
                if let Some(key) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':')) {
                    let date = string(key).filter(|d| is_date(d))?;
                    tree.push((date, Vec::new()));
                    continue;
                }
                let name = string(line.strip_prefix("    - name: ")?)?;
                let mime = string(lines.next()?.strip_prefix("      type: ")?)?;
                let size = lines.next()?.strip_prefix("      size: ")?.parse().ok()?;
                let received = time(lines.next()?.strip_prefix("      received: ")?)?;
                let (_, entries) = tree.last_mut()?;
                entries.push(Entry {
                    name,
                    mime,
                    size,
                    received,
                });
            }
        }
        _ => return None,
    }
    let count: usize = tree.iter().map(|(_, e)| e.len()).sum();
    let sorted = tree.windows(2).all(|w| w[0].0 < w[1].0);
    (lines.next().is_none() && count == total && sorted && tree.iter().all(|(_, e)| !e.is_empty()))
        .then_some(tree)
}

/// Serialises index writes within the process, so two downloads finishing together
/// cannot leave an index that misses one of them.
fn lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Rebuilds `root/_index.yaml` atomically from every file under `root`.
pub fn rebuild(root: &Path, now: DateTime<Utc>) -> Result<(), StoreError> {
    let _guard = lock();
    let text = render(&scan(root), now);
    write_atomic(&root.join(INDEX_FILE), text.as_bytes())
}

/// Brings `root/_index.yaml` up to date after files arrived: starts from the index
/// as written and lists again only the date folders changed since (a little before)
/// it was written. A missing or unreadable index is rebuilt from every file.
pub fn update(root: &Path, now: DateTime<Utc>) -> Result<(), StoreError> {
    // File times may be coarser than the clock, and a folder may change while the
    // index is being written: look a little further back.
    const SLACK: Duration = Duration::from_secs(2);
    let _guard = lock();
    let path = root.join(INDEX_FILE);
    let previous = std::fs::read_to_string(&path)
        .ok()
        .and_then(|text| parse(&text))
        .zip(std::fs::metadata(&path).and_then(|m| m.modified()).ok());
    let tree = match previous {
        Some((known, written)) => collect(root, known, written.checked_sub(SLACK)),
        None => scan(root),
    };
    write_atomic(&path, render(&tree, now).as_bytes())
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

    fn aged(path: &Path, secs: u64) {
        let t = SystemTime::now() - Duration::from_secs(secs);
        std::fs::File::open(path).unwrap().set_modified(t).unwrap();
    }

    #[test]
    fn updates_read_only_what_changed_and_match_a_rebuild() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let old_day = root.join("2025-04-01");
        std::fs::create_dir_all(&old_day).unwrap();
        std::fs::write(old_day.join("a.txt"), "hello").unwrap();
        aged(&old_day.join("a.txt"), 3600);
        aged(&old_day, 3600);
        let now: DateTime<Utc> = "2025-05-01T12:00:00Z".parse().unwrap();
        update(root, now).unwrap(); // no index yet: built from the folder
        let index = root.join(INDEX_FILE);
        let built = std::fs::read_to_string(&index).unwrap();
        assert_eq!(parse(&built).unwrap(), scan(root));
        // Mark the entry of the unchanged folder: an update must keep it as it is.
        let marked = built.replace("\"text/plain\"", "\"text/x-marked\"");
        std::fs::write(&index, &marked).unwrap();
        let new_day = root.join("2025-05-01");
        std::fs::create_dir_all(&new_day).unwrap();
        std::fs::write(new_day.join("b.pdf"), b"%PDF-1.4\n").unwrap();
        update(root, now).unwrap();
        let text = std::fs::read_to_string(&index).unwrap();
        assert!(
            text.contains("text/x-marked"),
            "unchanged folder not re-read: {text}"
        );
        assert!(
            text.contains("\"b.pdf\"\n      type: \"application/pdf\""),
            "{text}"
        );
        assert!(text.contains("total_files: 2"), "{text}");
        // A rebuild reads everything again and gives what a fresh update gives.
        rebuild(root, now).unwrap();
        let rebuilt = std::fs::read_to_string(&index).unwrap();
        assert!(!rebuilt.contains("x-marked"));
        std::fs::remove_file(&index).unwrap();
        update(root, now).unwrap();
        assert_eq!(std::fs::read_to_string(&index).unwrap(), rebuilt);
    }

    #[test]
    fn a_damaged_index_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let day = root.join("2025-05-01");
        std::fs::create_dir_all(&day).unwrap();
        std::fs::write(day.join("a.txt"), "hello").unwrap();
        let now: DateTime<Utc> = "2025-05-01T12:00:00Z".parse().unwrap();
        rebuild(root, now).unwrap();
        let good = std::fs::read_to_string(root.join(INDEX_FILE)).unwrap();
        let cut = &good[..good.len() - 10];
        let wrong_total = good.replace("total_files: 1", "total_files: 7");
        for bad in [
            cut,
            wrong_total.as_str(),
            "tree: {}\n",
            "",
            "last_updated: x\n",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
            std::fs::write(root.join(INDEX_FILE), bad).unwrap();
            update(root, now).unwrap();
            assert_eq!(
                std::fs::read_to_string(root.join(INDEX_FILE)).unwrap(),
                good
            );
        }
        let empty = render(&[], now);
        assert_eq!(parse(&empty), Some(Vec::new()));
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
