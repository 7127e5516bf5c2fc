//! The home template embedded from `defaults/`, and seeding an agent home from it
//! (reference §9.1/§9.2): required directories are created, user-owned files are
//! written once and never overwritten.

use crate::paths::AgentPaths;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/defaults.rs"));
}

pub use embedded::DEFAULT_FILES;

/// Content of `defaults/<rel>`, if the file is embedded.
pub fn default_file(rel: &str) -> Option<&'static [u8]> {
    DEFAULT_FILES
        .binary_search_by(|(path, _)| (*path).cmp(rel))
        .ok()
        .map(|i| DEFAULT_FILES[i].1)
}

/// Directories every agent home has (relative to the agent home).
pub const REQUIRED_DIRS: &[&str] = &[
    "config",
    "logs",
    "tmp",
    "workspace",
    "workspace/memory_system",
    "workspace/cron_tasks",
    "workspace/tasks",
    "workspace/skills",
    "workspace/output_to_user",
    "workspace/tools",
    "workspace/tools/user_tools",
    "workspace/tools/cron_tools",
    "workspace/tools/media_tools",
    "workspace/tools/webhook_tools",
    "workspace/tools/agent_tools",
];

/// Files that only the main home gets.
const MAIN_ONLY: &[&str] = &["SHAREDMEMORY.md"];

/// Creates the directory tree and writes every `defaults/home/` file that does not
/// exist yet. Returns the files it created (relative paths).
pub fn seed_agent_home(paths: &AgentPaths) -> io::Result<Vec<String>> {
    let root = paths.root();
    for dir in REQUIRED_DIRS {
        std::fs::create_dir_all(root.join(dir))?;
    }
    // The home holds tokens, sessions and the user's data: private, also when an
    // earlier version created it with open permissions.
    for dir in [
        paths.home().root().to_path_buf(),
        root.to_path_buf(),
        paths.workspace(),
        paths.logs_dir(),
        paths.config_dir(),
    ] {
        make_private(&dir, 0o700)?;
    }
    let mut created = Vec::new();
    for (rel, content) in DEFAULT_FILES {
        let Some(rel) = rel.strip_prefix("home/") else {
            continue;
        };
        if !paths.is_main() && MAIN_ONLY.contains(&rel) {
            continue;
        }
        let target = root.join(rel);
        if seed_file(&target, content)? {
            created.push(rel.to_owned());
        }
    }
    Ok(created)
}

/// Takes group and other permissions away from `path` (owner bits are kept).
fn make_private(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    let current = meta.permissions().mode() & 0o7777;
    if current & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(current & mode))?;
    }
    Ok(())
}

/// Writes `content` to `path` (mode `0600`, parents created) only if nothing is
/// there (not even a broken symlink). True when it wrote.
pub(crate) fn seed_file(path: &Path, content: &[u8]) -> io::Result<bool> {
    if path.symlink_metadata().is_ok() {
        return Ok(false);
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(mut f) => {
            io::Write::write_all(&mut f, content)?;
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::Home;

    #[test]
    fn seeds_once_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path());
        let created = seed_agent_home(&home.main()).unwrap();
        assert!(created.contains(&"workspace/memory_system/MAINMEMORY.md".to_owned()));
        assert!(created.contains(&"SHAREDMEMORY.md".to_owned()));
        let memory = home.main().main_memory();
        std::fs::write(&memory, "mine").unwrap();
        assert!(seed_agent_home(&home.main()).unwrap().is_empty());
        assert_eq!(std::fs::read_to_string(&memory).unwrap(), "mine");
        let sub = seed_agent_home(&home.agent("sub1")).unwrap();
        assert!(!sub.contains(&"SHAREDMEMORY.md".to_owned()));
        assert!(
            home.agent("sub1")
                .workspace()
                .join("tools/agent_tools")
                .is_dir()
        );
    }

    #[test]
    fn the_home_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path().join("h"));
        std::fs::create_dir_all(home.main().workspace()).unwrap();
        std::fs::set_permissions(
            home.main().workspace(),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        seed_agent_home(&home.main()).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(home.root()), 0o700);
        assert_eq!(mode(&home.main().workspace()), 0o700, "tightened");
        assert_eq!(mode(&home.main().main_memory()), 0o600);
    }

    #[test]
    fn embedded_lookup() {
        assert!(default_file("home/workspace/memory_system/MAINMEMORY.md").is_some());
        assert!(default_file("nope").is_none());
    }
}
