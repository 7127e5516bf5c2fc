//! Temporary files for downloads: removed on drop unless kept, so a failed or
//! abandoned download leaves nothing behind.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A file removed on drop unless [`TempFile::keep`] was called: a failed or
/// abandoned download leaves nothing behind.
#[derive(Debug)]
pub struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl TempFile {
    /// A fresh hidden name in `dir` (not created yet).
    pub fn new(dir: &Path) -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        Self {
            path: dir.join(format!(".dl-{}-{n}.part", std::process::id())),
            armed: true,
        }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stops the automatic removal (the file was moved away).
    pub fn keep(mut self) {
        self.armed = false;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_files_vanish_unless_kept() {
        let dir = tempfile::tempdir().unwrap();
        let a = TempFile::new(dir.path());
        let b = TempFile::new(dir.path());
        assert_ne!(a.path(), b.path());
        std::fs::write(a.path(), "x").unwrap();
        std::fs::write(b.path(), "y").unwrap();
        let (pa, pb) = (a.path().to_owned(), b.path().to_owned());
        drop(a);
        b.keep();
        assert!(!pa.exists());
        assert!(pb.exists());
    }
}
