//! One folder swept: regular files older than a cutoff are deleted, subfolders left
//! empty are pruned (never the folder itself).
//!
//! Symlinks are never followed and never deleted: every step works on a directory
//! handle opened with `O_NOFOLLOW` and names relative to it (`openat`, `fstatat`,
//! `unlinkat`), so a link (or a folder swapped for a link while the sweep runs) can
//! never lead the sweep out of the folder. A link is an entry like a fifo or a socket:
//! left where it is, and its folder is then not empty and not pruned. A folder that
//! is itself a symlink (`telegram_files -> /mnt/big`) is not swept at all.

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{FileStat, Mode, SFlag, fstatat};
use nix::unistd::{UnlinkatFlags, unlinkat};
use std::ffi::{CStr, CString};
use std::os::fd::AsFd;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// Folders nested deeper than this are left alone (each level holds a descriptor).
const MAX_DEPTH: usize = 48;

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Files deleted.
    pub files: usize,
    /// Bytes those files held.
    pub bytes: u64,
    /// Empty subfolders removed.
    pub dirs: usize,
    /// Entries that could not be read or removed (logged).
    pub errors: usize,
}

impl std::ops::AddAssign for Swept {
    fn add_assign(&mut self, other: Self) {
        self.files += other.files;
        self.bytes += other.bytes;
        self.dirs += other.dirs;
        self.errors += other.errors;
    }
}

/// What the sweep deletes below its folder.
#[derive(Debug, Clone, Copy)]
pub struct Rule<'a> {
    /// Files last modified before this are deleted.
    pub cutoff: SystemTime,
    /// A file directly in the folder that is always kept (the media index).
    pub keep_at_top: Option<&'a str>,
}

/// Deletes the old files under `root` and prunes emptied subfolders. A missing
/// `root` is fine; a `root` that is a symlink or not a directory is left alone.
pub fn sweep(root: &Path, rule: Rule<'_>) -> Swept {
    let mut swept = Swept::default();
    let cutoff = rule
        .cutoff
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    match Dir::open(root, flags, Mode::empty()) {
        Ok(dir) => {
            let mut walk = Walk {
                cutoff,
                keep_at_top: rule.keep_at_top,
                swept: &mut swept,
            };
            walk.dir(dir, root, 0);
        }
        Err(Errno::ENOENT) => {}
        Err(Errno::ELOOP | Errno::ENOTDIR) => {
            tracing::warn!(folder = %root.display(), "cleanup: not a real folder (a symlink?); left alone");
        }
        Err(e) => {
            tracing::warn!(folder = %root.display(), error = %e, "cleanup: cannot open the folder");
            swept.errors += 1;
        }
    }
    swept
}

struct Walk<'a> {
    cutoff: i64,
    keep_at_top: Option<&'a str>,
    swept: &'a mut Swept,
}

/// What is left in a folder after its sweep.
struct Left {
    entries: usize,
    removed_any: bool,
}

impl Walk<'_> {
    /// Sweeps the folder open as `dir` (`shown` is its path, for logs only).
    fn dir(&mut self, mut dir: Dir, shown: &Path, depth: usize) -> Left {
        let names: Vec<CString> = match dir.iter().collect::<Result<Vec<_>, _>>() {
            Ok(entries) => entries
                .iter()
                .map(|e| e.file_name().to_owned())
                .filter(|n| n.as_bytes() != b"." && n.as_bytes() != b"..")
                .collect(),
            Err(e) => {
                self.fail(shown, "cannot list", e);
                return Left {
                    entries: 1,
                    removed_any: false,
                };
            }
        };
        let mut left = Left {
            entries: 0,
            removed_any: false,
        };
        for name in names {
            if self.entry(&dir, shown, &name, depth) {
                left.removed_any = true;
            } else {
                left.entries += 1;
            }
        }
        left
    }

    /// Handles one entry of `dir`; true when it was removed.
    fn entry(&mut self, dir: &Dir, shown: &Path, name: &CStr, depth: usize) -> bool {
        let path = shown.join(name.to_string_lossy().as_ref());
        let stat = match fstatat(dir.as_fd(), name, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(s) => s,
            Err(Errno::ENOENT) => return true,
            Err(e) => {
                self.fail(&path, "cannot inspect", e);
                return false;
            }
        };
        match SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT {
            SFlag::S_IFREG => self.file(dir, &path, name, &stat, depth),
            SFlag::S_IFDIR if depth < MAX_DEPTH => self.subdir(dir, &path, name, &stat, depth),
            // Symlinks (never followed, never deleted), fifos, sockets, devices,
            // folders nested too deep.
            _ => false,
        }
    }

    fn file(&mut self, dir: &Dir, path: &Path, name: &CStr, stat: &FileStat, depth: usize) -> bool {
        let kept = depth == 0
            && self
                .keep_at_top
                .is_some_and(|k| name.to_bytes() == k.as_bytes());
        if kept || stat.st_mtime >= self.cutoff {
            return false;
        }
        match unlinkat(dir.as_fd(), name, UnlinkatFlags::NoRemoveDir) {
            Ok(()) | Err(Errno::ENOENT) => {
                self.swept.files += 1;
                self.swept.bytes += stat.st_size as u64;
                true
            }
            Err(e) => {
                self.fail(path, "cannot delete", e);
                false
            }
        }
    }

    /// Sweeps a subfolder, then removes it when it is empty and either this sweep
    /// emptied it or it has not changed since the cutoff (a folder made a moment ago
    /// for a file on its way in stays).
    fn subdir(
        &mut self,
        dir: &Dir,
        path: &Path,
        name: &CStr,
        stat: &FileStat,
        depth: usize,
    ) -> bool {
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let child = match Dir::openat(dir.as_fd(), name, flags, Mode::empty()) {
            Ok(d) => d,
            // Swapped for a symlink or removed since the fstatat: not ours to follow.
            Err(Errno::ELOOP | Errno::ENOTDIR) => return false,
            Err(Errno::ENOENT) => return true,
            Err(e) => {
                self.fail(path, "cannot open", e);
                return false;
            }
        };
        let left = self.dir(child, path, depth + 1);
        if left.entries > 0 || !(left.removed_any || stat.st_mtime < self.cutoff) {
            return false;
        }
        match unlinkat(dir.as_fd(), name, UnlinkatFlags::RemoveDir) {
            Ok(()) => {
                self.swept.dirs += 1;
                true
            }
            // Something arrived in the meantime: it stays.
            Err(Errno::ENOTEMPTY | Errno::EEXIST) => false,
            Err(Errno::ENOENT) => true,
            Err(e) => {
                self.fail(path, "cannot remove the empty folder", e);
                false
            }
        }
    }

    fn fail(&mut self, path: &Path, what: &str, e: Errno) {
        self.swept.errors += 1;
        tracing::warn!(path = %path.display(), error = %e, "cleanup: {what}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::{self, File};
    use std::os::unix::fs::symlink;
    use std::time::Duration;

    const DAY: Duration = Duration::from_hours(24);

    fn age(path: &Path, days: u32) {
        let t = SystemTime::now() - DAY * days;
        File::open(path).unwrap().set_modified(t).unwrap();
    }

    fn write_aged(path: &Path, days: u32) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, "data").unwrap();
        age(path, days);
    }

    fn rule(days: u32) -> Rule<'static> {
        Rule {
            cutoff: SystemTime::now() - DAY * days,
            keep_at_top: Some("_index.yaml"),
        }
    }

    #[test]
    fn old_files_go_new_files_stay_emptied_folders_are_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("telegram_files");
        write_aged(&root.join("2025-01-01/old.jpg"), 40);
        write_aged(&root.join("2025-01-02/old.txt"), 31);
        write_aged(&root.join("2025-01-02/new.txt"), 29);
        write_aged(&root.join("2025-01-03/a/b/deep.bin"), 90);
        write_aged(&root.join("_index.yaml"), 100);
        write_aged(&root.join("loose-old.pdf"), 50);
        fs::create_dir_all(root.join("fresh-empty")).unwrap();
        fs::create_dir_all(root.join("stale-empty")).unwrap();
        age(&root.join("stale-empty"), 45);
        let swept = sweep(&root, rule(30));
        assert_eq!(swept.files, 4, "{swept:?}");
        assert_eq!(swept.bytes, 16);
        assert_eq!(swept.errors, 0);
        assert!(root.join("2025-01-02/new.txt").is_file());
        assert!(!root.join("2025-01-02/old.txt").exists());
        assert!(!root.join("loose-old.pdf").exists());
        assert!(!root.join("2025-01-01").exists(), "emptied folder pruned");
        assert!(
            !root.join("2025-01-03").exists(),
            "nested emptied folders pruned"
        );
        assert!(!root.join("stale-empty").exists());
        assert!(
            root.join("fresh-empty").is_dir(),
            "a folder made just now stays"
        );
        assert!(root.join("_index.yaml").is_file(), "the index is kept");
        assert_eq!(
            swept.dirs, 5,
            "2025-01-01, a/b, a, 2025-01-03, stale-empty: {swept:?}"
        );
        // The folder itself stays even when everything in it goes.
        let other = dir.path().join("output_to_user");
        write_aged(&other.join("report.md"), 31);
        sweep(
            &other,
            Rule {
                cutoff: SystemTime::now() - DAY * 30,
                keep_at_top: None,
            },
        );
        assert!(other.is_dir() && fs::read_dir(&other).unwrap().next().is_none());
    }

    #[test]
    fn symlinks_are_never_followed_nor_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        write_aged(&outside.join("precious.txt"), 400);
        write_aged(&outside.join("sub/also.txt"), 400);
        let root = dir.path().join("telegram_files");
        write_aged(&root.join("2025-01-01/old.jpg"), 40);
        symlink(&outside, root.join("2025-01-01/to-dir")).unwrap();
        symlink(outside.join("precious.txt"), root.join("to-file")).unwrap();
        symlink(&outside, root.join("top-link")).unwrap();
        let swept = sweep(&root, rule(30));
        assert_eq!(swept.files, 1, "{swept:?}");
        assert!(outside.join("precious.txt").is_file());
        assert!(outside.join("sub/also.txt").is_file());
        for link in ["2025-01-01/to-dir", "to-file", "top-link"] {
            assert!(
                root.join(link)
                    .symlink_metadata()
                    .unwrap()
                    .file_type()
                    .is_symlink(),
                "{link}"
            );
        }
        assert!(root.join("2025-01-01").is_dir(), "holds a link: not empty");
        // A folder that is itself a link is not swept.
        let linked_root = dir.path().join("output_to_user");
        symlink(&outside, &linked_root).unwrap();
        assert_eq!(sweep(&linked_root, rule(30)), Swept::default());
        assert!(outside.join("precious.txt").is_file());
        // A missing folder is fine.
        assert_eq!(sweep(&dir.path().join("nope"), rule(30)), Swept::default());
    }
}
