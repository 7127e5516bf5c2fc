//! `/showfiles`: an inline file browser over the agent's home (§2.2 `sf:`/`sf!`).
//! Paths travel in the callback data relative to the home (a short token when they
//! would not fit in 64 bytes); anything that resolves outside the home — through
//! `..` or a symlink — is refused.

use super::Telegram;
use super::format::escape_html;
use crate::transport::chat_api::{Button, ChatApi, ChatTarget, OutMessage};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

/// Entries listed per folder.
const MAX_ENTRIES: usize = 40;

/// Long paths behind short callback tokens (lost on restart: the button then says so).
#[derive(Debug, Default)]
pub struct PathTokens {
    map: Mutex<HashMap<String, String>>,
}

impl PathTokens {
    fn data(&self, prefix: &str, rel: &str) -> String {
        let direct = format!("{prefix}{rel}");
        if direct.len() <= 64 {
            return direct;
        }
        let token = crate::util::hex(&Sha256::digest(rel.as_bytes()))[..16].to_owned();
        let mut map = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() > 10_000 {
            map.clear();
        }
        map.insert(token.clone(), rel.to_owned());
        format!("{prefix}#{token}")
    }

    fn resolve(&self, raw: &str) -> Option<String> {
        match raw.strip_prefix('#') {
            Some(token) => self
                .map
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get(token)
                .cloned(),
            None => Some(raw.to_owned()),
        }
    }
}

/// Resolves `rel` inside `root`; `None` when it escapes (`..`, absolute, symlinks).
pub fn inside(root: &Path, rel: &str) -> Option<PathBuf> {
    let rel_path = Path::new(rel);
    if rel_path
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return None;
    }
    let root = root.canonicalize().ok()?;
    let target = root.join(rel_path).canonicalize().ok()?;
    target.starts_with(&root).then_some(target)
}

/// The listing of `rel` (HTML) and its keyboard.
fn render(tg: &Telegram, rel: &str) -> Result<(String, Vec<Vec<Button>>), String> {
    let text = tg.text();
    let root = tg.paths().root().to_path_buf();
    let dir = inside(&root, rel).ok_or_else(|| text.t("files.refused"))?;
    if !dir.is_dir() {
        return Err(text.t("files.gone"));
    }
    let mut entries: Vec<(bool, String, u64)> = std::fs::read_dir(&dir)
        .map_err(|_| text.t("files.gone"))?
        .flatten()
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let meta = e.metadata().ok();
            (
                meta.as_ref().is_some_and(std::fs::Metadata::is_dir),
                name,
                meta.map_or(0, |m| m.len()),
            )
        })
        .collect();
    entries.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then_with(|| a.1.to_lowercase().cmp(&b.1.to_lowercase()))
    });
    let shown = if rel.is_empty() {
        "~".to_owned()
    } else {
        rel.to_owned()
    };
    let mut out = text.f("files.browse_title", &[("path", &escape_html(&shown))]);
    let mut buttons = Vec::new();
    for (is_dir, name, size) in entries.iter().take(MAX_ENTRIES) {
        let child = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        if *is_dir {
            buttons.push(Button {
                label: format!("📁 {name}"),
                data: tg.path_tokens.data("sf:", &child),
            });
        } else {
            let _ = write!(
                out,
                "\n📄 {} <i>({})</i>",
                escape_html(name),
                super::media::prompt::human_size(*size)
            );
        }
    }
    if entries.is_empty() {
        let _ = write!(out, "\n{}", escape_html(&text.t("files.empty_dir")));
    } else if entries.len() > MAX_ENTRIES {
        let _ = write!(out, "\n… +{}", entries.len() - MAX_ENTRIES);
    }
    let mut rows: Vec<Vec<Button>> = buttons.chunks(2).map(<[Button]>::to_vec).collect();
    let mut nav = Vec::new();
    if !rel.is_empty() {
        let parent = rel.rsplit_once('/').map_or("", |(p, _)| p);
        nav.push(Button {
            label: text.t("files.up"),
            data: tg.path_tokens.data("sf:", parent),
        });
    }
    nav.push(Button {
        label: text.t("files.request"),
        data: tg.path_tokens.data("sf!", rel),
    });
    rows.push(nav);
    Ok((out, rows))
}

/// `/showfiles [subdir]`.
pub async fn command(tg: &Telegram, target: ChatTarget, reply_to: i64, args: &str) {
    let rel = args.trim().trim_matches('/');
    let msg = match render(tg, rel) {
        Ok((html, rows)) => OutMessage::html(html).with_keyboard(Some(rows)),
        Err(e) => OutMessage::plain(e),
    };
    let _ = tg.api.send(target, msg.replying_to(Some(reply_to))).await;
}

/// An `sf:` (navigate) or `sf!` (request files) press on message `id`. Returns the
/// prompt to run for `sf!`.
pub async fn callback(tg: &Telegram, target: ChatTarget, id: i64, data: &str) -> Option<String> {
    let text = tg.text();
    let (request, raw) = match (data.strip_prefix("sf:"), data.strip_prefix("sf!")) {
        (Some(r), _) => (false, r),
        (_, Some(r)) => (true, r),
        _ => return None,
    };
    let Some(rel) = tg.path_tokens.resolve(raw) else {
        let _ = tg
            .api
            .edit(target, id, OutMessage::plain(text.t("files.gone")))
            .await;
        return None;
    };
    if request {
        let dir = inside(tg.paths().root(), &rel)?;
        let _ = tg
            .api
            .edit(
                target,
                id,
                OutMessage::plain(format!("📁 {}", dir.display())),
            )
            .await;
        return Some(text.f(
            "files.request_prompt",
            &[("path", &dir.display().to_string())],
        ));
    }
    let msg = match render(tg, &rel) {
        Ok((html, rows)) => OutMessage::html(html).with_keyboard(Some(rows)),
        Err(e) => OutMessage::plain(e),
    };
    match tg.api.edit(target, id, msg).await {
        Ok(()) | Err(crate::transport::chat_api::ApiError::NotModified) => {}
        Err(e) => tracing::warn!(error = %e, "cannot update the file browser"),
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_cannot_escape_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("home");
        std::fs::create_dir_all(root.join("workspace/sub")).unwrap();
        std::fs::create_dir_all(dir.path().join("outside")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("outside"), root.join("link")).unwrap();
        assert!(inside(&root, "").is_some());
        assert!(inside(&root, "workspace/sub").is_some());
        assert!(inside(&root, "../outside").is_none());
        assert!(inside(&root, "workspace/../../outside").is_none());
        assert!(inside(&root, "/etc").is_none());
        assert!(inside(&root, "link").is_none(), "symlink out of the home");
        assert!(inside(&root, "missing").is_none());
    }

    #[test]
    fn long_paths_get_tokens() {
        let t = PathTokens::default();
        assert_eq!(t.data("sf:", "workspace"), "sf:workspace");
        let long = "a/".repeat(40);
        let data = t.data("sf:", &long);
        assert!(data.len() <= 64 && data.starts_with("sf:#"), "{data}");
        assert_eq!(
            t.resolve(data.trim_start_matches("sf:")).as_deref(),
            Some(long.as_str())
        );
        assert!(t.resolve("#unknown").is_none());
    }
}
