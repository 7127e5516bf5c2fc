//! `/showfiles`: a file browser over the agent's home (§2.2 `sf:`/`sf!`). Paths
//! travel in the buttons relative to the home (a short token when they would not
//! fit); anything that resolves outside the home — through `..` or a symlink — is
//! refused, and so is every folder or file that holds secrets (the deny-list of
//! [`crate::access`]: ductor's `config/`, `.env`, `run/`, `agents.json`, …): they are
//! not listed and cannot be opened. "Send me files from here" asks the agent for them.

use super::{Action, Button, Ctx, Pressed, Reply, Response, Submit};
use crate::md;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};
use std::sync::{Mutex, PoisonError};

/// Entries listed per folder.
const MAX_ENTRIES: usize = 40;
/// Tokens kept before the map starts over (buttons of old lists then say so).
const MAX_TOKENS: usize = 10_000;

/// Long paths behind short tokens (lost on restart: the button then says so).
#[derive(Debug, Default)]
pub struct PathTokens {
    // Short lookups and inserts only.
    map: Mutex<HashMap<String, String>>,
}

impl PathTokens {
    /// The button form of `rel` for `make` (the path itself, or `#token` when too long).
    fn action(&self, make: fn(String) -> Action, rel: &str) -> Action {
        let direct = make(rel.to_owned());
        if direct.fits() {
            return direct;
        }
        let token = crate::util::hex(&Sha256::digest(rel.as_bytes()))[..16].to_owned();
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() > MAX_TOKENS {
            map.clear();
        }
        map.insert(token.clone(), rel.to_owned());
        make(format!("#{token}"))
    }

    fn resolve(&self, raw: &str) -> Option<String> {
        match raw.strip_prefix('#') {
            Some(token) => self
                .map
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
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

/// The listing of `rel` and its buttons; the error is the sentence to show.
fn render(ctx: &Ctx<'_>, rel: &str) -> Result<Reply, String> {
    let text = ctx.text();
    let tokens = &ctx.ops.files;
    let root = ctx.core().paths.root().to_path_buf();
    let dir = inside(&root, rel).ok_or_else(|| text.t("files.refused"))?;
    let access = crate::access::FileAccess::new(&ctx.core().config.get(), &ctx.core().paths);
    if access.is_secret(&dir) {
        return Err(text.t("files.secret_dir"));
    }
    if !dir.is_dir() {
        return Err(text.t("files.gone"));
    }
    let mut entries: Vec<(bool, String, u64)> = std::fs::read_dir(&dir)
        .map_err(|_| text.t("files.gone"))?
        .flatten()
        .filter(|e| {
            let p = e.path();
            !access.is_secret(&p.canonicalize().unwrap_or(p))
        })
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
    let shown = if rel.is_empty() { "~" } else { rel };
    let mut out = text.f("files.browse_title", &[("path", &md::code(shown))]);
    let mut buttons = Vec::new();
    for (is_dir, name, size) in entries.iter().take(MAX_ENTRIES) {
        let child = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        if *is_dir {
            buttons.push(Button::new(
                format!("📁 {name}"),
                tokens.action(Action::Browse, &child),
            ));
        } else {
            let _ = write!(
                out,
                "\n📄 {} _({})_",
                md::escape(name),
                crate::util::human_size(*size)
            );
        }
    }
    if entries.is_empty() {
        let _ = write!(out, "\n{}", md::escape(&text.t("files.empty_dir")));
    } else if entries.len() > MAX_ENTRIES {
        let _ = write!(out, "\n… +{}", entries.len() - MAX_ENTRIES);
    }
    let mut rows: Vec<Vec<Button>> = buttons.chunks(2).map(<[Button]>::to_vec).collect();
    let mut nav = Vec::new();
    if !rel.is_empty() {
        let parent = rel.rsplit_once('/').map_or("", |(p, _)| p);
        nav.push(Button::new(
            text.t("files.up"),
            tokens.action(Action::Browse, parent),
        ));
    }
    nav.push(Button::new(
        text.t("files.request"),
        tokens.action(Action::RequestFiles, rel),
    ));
    rows.push(nav);
    Ok(Reply::text(out).with_buttons(rows))
}

/// `/showfiles [subdir]`.
pub fn command(ctx: &Ctx<'_>, args: &str) -> Response {
    let rel = args.trim().trim_matches('/');
    Response::reply(render(ctx, rel).unwrap_or_else(|e| Reply::text(md::escape(&e))))
}

/// A folder button: the list changes in place.
pub fn browse(ctx: &Ctx<'_>, raw: &str) -> Response {
    let Some(rel) = ctx.ops.files.resolve(raw) else {
        return Response::replace(Reply::text(md::escape(&ctx.text().t("files.gone"))));
    };
    Response::replace(render(ctx, &rel).unwrap_or_else(|e| Reply::text(md::escape(&e))))
}

/// "Send me files from here": the list becomes the folder's path and the agent is asked.
pub fn request(ctx: &Ctx<'_>, raw: &str) -> Response {
    let text = ctx.text();
    let dir = ctx
        .ops
        .files
        .resolve(raw)
        .and_then(|rel| inside(ctx.core().paths.root(), &rel))
        .filter(|dir| {
            !crate::access::FileAccess::new(&ctx.core().config.get(), &ctx.core().paths)
                .is_secret(dir)
        });
    let Some(dir) = dir else {
        return Response::replace(Reply::text(md::escape(&text.t("files.gone"))));
    };
    let prompt = text.f(
        "files.request_prompt",
        &[("path", &dir.display().to_string())],
    );
    Response {
        pressed: Pressed::Replace(Reply::text(md::escape(&format!("📁 {}", dir.display())))),
        submit: Some(Submit::main(prompt, ctx.message.clone())),
        ..Response::default()
    }
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
        assert_eq!(
            t.action(Action::Browse, "workspace"),
            Action::Browse("workspace".into())
        );
        let long = "a/".repeat(40);
        let Action::Browse(raw) = t.action(Action::Browse, &long) else {
            panic!("a browse action")
        };
        assert!(raw.starts_with('#') && Action::Browse(raw.clone()).fits());
        assert_eq!(t.resolve(&raw).as_deref(), Some(long.as_str()));
        assert!(t.resolve("#unknown").is_none());
    }
}
