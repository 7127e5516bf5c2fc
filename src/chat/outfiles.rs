//! Files the agent asks to send with `<file:/abs/path>` (§6.6): only inside the
//! `file_access` roots (`all`, `home`, `workspace`), symlinks and `..` resolved
//! first; a refused or missing path becomes a one-line notice instead. The upload
//! itself is the transport's ([`ChatApi::send_file`]).

use super::api::{ChatApi, OutMessage};
use crate::address::{Address, MessageRef};
use crate::config::AgentConfig;
use crate::i18n::Catalog;
use crate::paths::AgentPaths;
use std::path::{Path, PathBuf};

/// Why a path may not be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The file does not exist (or is not a regular file).
    Missing,
    /// It is outside the allowed roots.
    Outside,
}

/// The roots `file_access` allows (`None` = everything).
pub fn allowed_roots(config: &AgentConfig, paths: &AgentPaths) -> Option<Vec<PathBuf>> {
    match config.file_access.trim().to_ascii_lowercase().as_str() {
        "all" => None,
        "home" => Some(vec![crate::paths::user_home()]),
        _ => Some(vec![paths.workspace()]),
    }
}

/// Resolves `raw` and checks it against `roots`.
pub fn check(raw: &str, roots: Option<&[PathBuf]>) -> Result<PathBuf, Refusal> {
    if raw
        .chars()
        .any(|c| c == '\0' || (c.is_control() && c != '\n'))
    {
        return Err(Refusal::Outside);
    }
    let path = Path::new(raw.trim());
    let resolved = path.canonicalize().map_err(|_| Refusal::Missing)?;
    if !resolved.is_file() {
        return Err(Refusal::Missing);
    }
    match roots {
        None => Ok(resolved),
        Some(roots) => roots
            .iter()
            .filter_map(|r| r.canonicalize().ok())
            .any(|r| resolved.starts_with(&r))
            .then_some(resolved)
            .ok_or(Refusal::Outside),
    }
}

/// Sends each file (or a notice) to `to`.
pub async fn send_all(
    api: &dyn ChatApi,
    text: &Catalog,
    config: &AgentConfig,
    paths: &AgentPaths,
    to: &Address,
    files: &[String],
    reply_to: Option<MessageRef>,
) {
    if files.is_empty() {
        return;
    }
    let roots = allowed_roots(config, paths);
    for raw in files {
        let name = Path::new(raw)
            .file_name()
            .map_or_else(|| raw.clone(), |n| n.to_string_lossy().into_owned());
        let notice = match check(raw, roots.as_deref()) {
            Ok(path) => match api.send_file(to, &path, reply_to.clone()).await {
                Ok(_) => None,
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "sending a file failed");
                    Some(text.f("files.failed", &[("name", &name)]))
                }
            },
            Err(Refusal::Missing) => Some(text.f("files.missing", &[("name", &name)])),
            Err(Refusal::Outside) => Some(text.f(
                "files.outside",
                &[("name", &name), ("mode", &config.file_access)],
            )),
        };
        if let Some(n) = notice {
            let _ = api.send(to, OutMessage::plain(n)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_are_enforced_after_resolving() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("ws");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("ok.txt"), "x").unwrap();
        std::fs::write(dir.path().join("secret.txt"), "x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret.txt"), root.join("link.txt")).unwrap();
        let roots = vec![root.clone()];
        assert!(check(root.join("ok.txt").to_str().unwrap(), Some(&roots)).is_ok());
        let escape = format!("{}/../secret.txt", root.display());
        assert_eq!(check(&escape, Some(&roots)), Err(Refusal::Outside));
        assert_eq!(
            check(root.join("link.txt").to_str().unwrap(), Some(&roots)),
            Err(Refusal::Outside)
        );
        assert_eq!(
            check(root.join("nope").to_str().unwrap(), Some(&roots)),
            Err(Refusal::Missing)
        );
        assert!(check(&escape, None).is_ok(), "file_access=all");
        assert_eq!(check("/etc/\0passwd", None), Err(Refusal::Outside));
    }
}
