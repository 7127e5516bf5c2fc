//! `GET /files` and `POST /upload` of the direct API (§10): the two HTTP routes a
//! client uses next to its WebSocket, both behind `Authorization: Bearer <api.token>`
//! (constant-time, [`settings::bearer_ok`]; else 401 `{"error": "unauthorized"}`).
//!
//! - `GET /files?path=<path>` sends a file the agent named (`<file:…>` in a result).
//!   What may leave the machine is decided by [`crate::access`] alone, the same check
//!   as Telegram's file sends: the `file_access` roots and the deny-list of secrets.
//!   Missing `path` → 400; outside the roots or a secret → 403; not a regular file →
//!   404; else the open file is streamed with its detected type.
//! - `POST /upload` takes a multipart body whose first part is `file` (400 otherwise)
//!   and an optional `caption` part. The file is streamed (64 KiB writes) into a
//!   hidden staging file, private to the user, and counted: more than
//!   `max_upload_bytes` → 413 with the staging file gone. Then it is stored like a
//!   file sent over Telegram ([`media::receive`]): `workspace/api_files/<YYYY-MM-DD>/`
//!   (UTC), a sanitised name with collision suffixes, its type sniffed, a large
//!   image downscaled, `_index.yaml` brought up to date (the cleanup keeps it like
//!   Telegram's). The answer is `{"path", "name", "mime", "size", "prompt"}`, where
//!   `prompt` is the `[INCOMING FILE]` block the client sends as its next message.
//!
//! Owns `workspace/api_files/` (folders 0700, files 0600). Never runs a turn.

use super::settings::{self, ApiSettings};
use super::{ApiContext, json_reply};
use crate::access::{FileAccess, Refusal};
use crate::chat::api::BoxFut;
use crate::chat::media::{self, Attachment, Fetch, MediaError, temp::TempFile};
use crate::core::Core;
use bytes::Buf;
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};
use serde_json::json;
use std::collections::HashMap;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use warp::filters::BoxedFilter;
use warp::http::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE,
    X_CONTENT_TYPE_OPTIONS,
};
use warp::http::{HeaderMap, HeaderValue, StatusCode};
use warp::multipart::FormData;
use warp::reply::Response;
use warp::{Filter, Reply};

/// Size of the writes (and of the reads when sending a file).
const CHUNK: usize = 64 * 1024;
/// An upload that sends nothing for this long is dropped (408).
const IDLE: Duration = Duration::from_mins(1);
/// Longest `caption` part, in bytes.
const MAX_CAPTION: usize = 16 * 1024;
/// Bytes of other (unknown) parts an upload may carry; they are read and dropped.
const MAX_EXTRA: u64 = 1024 * 1024;
/// After a refused upload, at most this much of the rest of the body is read (and
/// dropped), so a client still sending gets its answer instead of a reset.
const DRAIN_BYTES: u64 = 64 * 1024 * 1024;
/// ... and for at most this long.
const DRAIN_TIME: Duration = Duration::from_secs(30);
/// Transport label of the `[INCOMING FILE]` prompt.
const VIA: &str = "API";

/// Why a request gets no file: its status and `error` code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    Unauthorized,
    MissingPath,
    Forbidden,
    NotFound,
    NotMultipart,
    FileFirst,
    BadBody,
    CaptionTooLong,
    TooLarge,
    Timeout,
    Storage,
}

impl Failure {
    fn status(self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::MissingPath
            | Self::NotMultipart
            | Self::FileFirst
            | Self::BadBody
            | Self::CaptionTooLong => StatusCode::BAD_REQUEST,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Timeout => StatusCode::REQUEST_TIMEOUT,
            Self::Storage => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::MissingPath => "path_required",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::NotMultipart => "multipart_required",
            Self::FileFirst => "file_part_required",
            Self::BadBody => "invalid_multipart",
            Self::CaptionTooLong => "caption_too_long",
            Self::TooLarge => "payload_too_large",
            Self::Timeout => "request_timeout",
            Self::Storage => "storage_failed",
        }
    }

    fn reply(self) -> Response {
        json_reply(self.status(), &json!({"error": self.code()}))
    }
}

/// The `Authorization` header, when it is readable text.
fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok())
}

/// `GET /files` and `POST /upload`.
pub fn routes(ctx: ApiContext) -> BoxedFilter<(Response,)> {
    let files_ctx = ctx.clone();
    let files = warp::path("files")
        .and(warp::path::end())
        .and(warp::get())
        .and(warp::header::headers_cloned())
        .and(
            warp::query::<HashMap<String, String>>()
                .or(warp::any().map(HashMap::new))
                .unify(),
        )
        .then(move |headers: HeaderMap, query: HashMap<String, String>| {
            let ctx = files_ctx.clone();
            async move {
                if !settings::bearer_ok(&ctx.settings(), authorization(&headers)) {
                    return Failure::Unauthorized.reply();
                }
                download(ctx.core().clone(), query.get("path").cloned()).await
            }
        });
    // A body that is not multipart still gets its 401 first, then 400.
    let form = warp::multipart::form()
        .max_length(None)
        .map(Some)
        .or(warp::any().map(|| None))
        .unify();
    let upload = warp::path("upload")
        .and(warp::path::end())
        .and(warp::post())
        .and(warp::header::headers_cloned())
        .and(form)
        .then(move |headers: HeaderMap, form: Option<FormData>| {
            let ctx = ctx.clone();
            async move {
                let settings: ApiSettings = ctx.settings();
                // A stranger's body is not read: the connection closes after the 401.
                if !settings::bearer_ok(&settings, authorization(&headers)) {
                    return Failure::Unauthorized.reply();
                }
                let Some(form) = form else {
                    return Failure::NotMultipart.reply();
                };
                upload(ctx.core(), settings.max_upload_bytes, form).await
            }
        });
    files.or(upload).unify().boxed()
}

// ───────────────────────────── GET /files ─────────────────────────────

/// A file cleared for sending.
#[derive(Debug)]
struct Outgoing {
    opened: crate::access::Opened,
    mime: String,
    name: String,
}

/// Opens the file `raw` names (relative paths: from the workspace) through the
/// agent's file rules.
fn open_for_download(
    access: &FileAccess,
    workspace: &Path,
    raw: &str,
) -> Result<Outgoing, Failure> {
    match access.open(raw, workspace) {
        Ok(opened) => {
            let name = opened
                .path
                .file_name()
                .map_or_else(|| "file".to_owned(), |n| n.to_string_lossy().into_owned());
            // An unreadable start: the name alone decides.
            let mime = media::mime::sniff_file(&opened.file, Some(&name))
                .unwrap_or_else(|_| media::mime::detect(&[], Some(&name), None));
            Ok(Outgoing { opened, mime, name })
        }
        Err(Refusal::Secret | Refusal::Outside) => Err(Failure::Forbidden),
        // A path outside the roots is refused whether it exists or not, so the
        // answer tells nothing about files there.
        Err(Refusal::Missing) => {
            // Resolved (or, when missing, taken apart lexically: `<ws>/../../x`
            // is outside), so a 404 never confirms anything outside the roots.
            let real = crate::access::real(&workspace.join(raw.trim()));
            match access.check_real(&real) {
                Ok(()) => Err(Failure::NotFound),
                Err(_) => Err(Failure::Forbidden),
            }
        }
    }
}

/// `Content-Disposition` for `name`: ASCII only (others become `_`), no quotes.
fn disposition(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("attachment; filename=\"{safe}\"")
}

/// The `GET /files` answer for the `path` query value (after auth).
async fn download(core: Arc<Core>, raw: Option<String>) -> Response {
    let Some(raw) = raw.filter(|p| !p.trim().is_empty()) else {
        return Failure::MissingPath.reply();
    };
    let (config, paths) = (core.config.get(), core.paths.clone());
    let opened = tokio::task::spawn_blocking(move || {
        let access = FileAccess::new(&config, &paths);
        open_for_download(&access, &paths.workspace(), &raw)
    })
    .await
    .unwrap_or(Err(Failure::Storage));
    match opened {
        Ok(out) => {
            tracing::info!(file = %out.opened.path.display(), size = out.opened.size, "api: file sent");
            file_reply(out)
        }
        Err(f) => {
            tracing::debug!(error = f.code(), "api: file refused");
            f.reply()
        }
    }
}

/// Streams the open file (exactly the size it had when opened).
fn file_reply(out: Outgoing) -> Response {
    let size = out.opened.size;
    let file = tokio::fs::File::from_std(out.opened.file).take(size);
    let body = tokio_util::io::ReaderStream::with_capacity(file, CHUNK);
    let mut res = warp::reply::stream(body).into_response();
    let headers = res.headers_mut();
    let value = |s: &str| {
        HeaderValue::from_str(s)
            .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
    };
    headers.insert(CONTENT_TYPE, value(&out.mime));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(size));
    if let Ok(v) = HeaderValue::from_str(&disposition(&out.name)) {
        headers.insert(CONTENT_DISPOSITION, v);
    }
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

// ───────────────────────────── POST /upload ─────────────────────────────

/// Creates `dir` (and missing parents) private to the user; an existing `dir` is
/// made private too.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// Streams `body` into a new hidden file in `dir` (0600), refusing it as soon as it
/// exceeds `max` bytes. Returns the file (removed when dropped unless kept) and its
/// size. On every error nothing is left in `dir`.
async fn stage<S, B, E>(dir: &Path, body: S, max: u64) -> Result<(TempFile, u64), Failure>
where
    S: Stream<Item = Result<B, E>>,
    B: Buf,
{
    let storage = |e: std::io::Error| {
        tracing::error!(dir = %dir.display(), error = %e, "api: cannot store an upload");
        Failure::Storage
    };
    let d = dir.to_owned();
    tokio::task::spawn_blocking(move || private_dir(&d))
        .await
        .map_err(|e| storage(std::io::Error::other(e)))?
        .map_err(storage)?;
    let tmp = TempFile::new(dir);
    let file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(tmp.path())
        .await
        .map_err(storage)?;
    let mut out = tokio::io::BufWriter::with_capacity(CHUNK, file);
    let mut body = std::pin::pin!(body);
    let mut size: u64 = 0;
    loop {
        let next = tokio::time::timeout(IDLE, body.next())
            .await
            .map_err(|_| Failure::Timeout)?;
        let Some(chunk) = next else { break };
        let mut chunk = chunk.map_err(|_| Failure::BadBody)?;
        size += chunk.remaining() as u64;
        if size > max {
            return Err(Failure::TooLarge);
        }
        while chunk.has_remaining() {
            let part = chunk.chunk();
            let n = part.len();
            out.write_all(part).await.map_err(storage)?;
            chunk.advance(n);
        }
    }
    out.flush().await.map_err(storage)?;
    Ok((tmp, size))
}

/// Reads a small part whole, at most `max` bytes (`None` when longer).
async fn read_small<S, B, E>(body: S, max: usize) -> Result<Option<Vec<u8>>, Failure>
where
    S: Stream<Item = Result<B, E>>,
    B: Buf,
{
    let mut body = std::pin::pin!(body);
    let mut out = Vec::new();
    loop {
        let next = tokio::time::timeout(IDLE, body.next())
            .await
            .map_err(|_| Failure::Timeout)?;
        let Some(chunk) = next else {
            return Ok(Some(out));
        };
        let mut chunk = chunk.map_err(|_| Failure::BadBody)?;
        if out.len() + chunk.remaining() > max {
            return Ok(None);
        }
        while chunk.has_remaining() {
            let part = chunk.chunk();
            let n = part.len();
            out.extend_from_slice(part);
            chunk.advance(n);
        }
    }
}

/// Reads the parts after `file`: the caption (`caption` part), others dropped.
async fn caption_of(form: &mut FormData) -> Result<String, Failure> {
    let mut caption = String::new();
    let mut extra = 0u64;
    loop {
        let next = tokio::time::timeout(IDLE, form.next())
            .await
            .map_err(|_| Failure::Timeout)?;
        let Some(part) = next else {
            return Ok(caption);
        };
        let part = part.map_err(|_| Failure::BadBody)?;
        if part.name() == "caption" && caption.is_empty() {
            let bytes = read_small(part.stream(), MAX_CAPTION)
                .await?
                .ok_or(Failure::CaptionTooLong)?;
            caption = String::from_utf8_lossy(&bytes).into_owned();
        } else {
            let left = usize::try_from(MAX_EXTRA - extra).unwrap_or(usize::MAX);
            let bytes = read_small(part.stream(), left)
                .await?
                .ok_or(Failure::TooLarge)?;
            extra += bytes.len() as u64;
        }
    }
}

/// Reads and drops the rest of a refused upload in the background (bounded), so a
/// client still sending sees the answer rather than a reset connection.
fn drain(mut form: FormData) {
    tokio::spawn(async move {
        let work = async {
            let mut read = 0u64;
            while let Some(Ok(part)) = form.next().await {
                let mut data = part.stream();
                while let Some(Ok(chunk)) = data.next().await {
                    read += chunk.remaining() as u64;
                    if read > DRAIN_BYTES {
                        return;
                    }
                }
            }
        };
        let _ = tokio::time::timeout(DRAIN_TIME, work).await;
    });
}

/// An upload already on disk, handed to [`media::receive`] as if it were a download.
struct Staged {
    file: Mutex<Option<TempFile>>,
    size: u64,
    limit: u64,
}

impl Fetch for Staged {
    fn limit(&self) -> u64 {
        self.limit
    }

    fn fetch<'a>(
        &'a self,
        _att: &'a Attachment,
        dst: &'a Path,
    ) -> BoxFut<'a, Result<u64, MediaError>> {
        Box::pin(async move {
            let taken = self
                .file
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            let tmp =
                taken.ok_or_else(|| MediaError::Download("the upload was already moved".into()))?;
            tokio::fs::rename(tmp.path(), dst)
                .await
                .map_err(|source| MediaError::Storage {
                    path: dst.to_owned(),
                    source,
                })?;
            tmp.keep();
            Ok(self.size)
        })
    }
}

/// What `POST /upload` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stored {
    path: PathBuf,
    name: String,
    mime: String,
    size: u64,
    prompt: String,
}

/// Stores a staged upload under `api_files/<date>/` like a received Telegram file.
async fn store(
    core: &Core,
    staged: (TempFile, u64),
    file_name: Option<String>,
    announced: Option<String>,
    caption: &str,
    now: DateTime<Utc>,
) -> Result<Stored, Failure> {
    let (tmp, size) = staged;
    let (paths, config) = (core.paths.clone(), core.config.get());
    let files_dir = paths.api_files_dir();
    let day = files_dir.join(now.format("%Y-%m-%d").to_string());
    let storage = |e: &dyn std::fmt::Display| {
        tracing::error!(error = %e, "api: cannot store an upload");
        Failure::Storage
    };
    let d = day.clone();
    tokio::task::spawn_blocking(move || private_dir(&d))
        .await
        .map_err(|e| storage(&e))?
        .map_err(|e| storage(&e))?;
    let att = Attachment {
        file_id: String::new(),
        unique_id: now.format("%Y%m%d%H%M%S%3f").to_string(),
        kind: "document",
        file_name: file_name.filter(|n| !n.trim().is_empty()),
        mime: announced,
        size: Some(size),
    };
    let staged = Staged {
        file: Mutex::new(Some(tmp)),
        size,
        limit: u64::MAX,
    };
    let r = media::receive(&staged, &files_dir, &paths, &config, &att, now)
        .await
        .map_err(|e| storage(&e))?;
    let chmod = r.path.clone();
    // A downscaled image is a new file: private like the upload it replaced.
    if let Err(e) = tokio::task::spawn_blocking(move || {
        std::fs::set_permissions(&chmod, std::fs::Permissions::from_mode(0o600))
    })
    .await
    .unwrap_or_else(|e| Err(std::io::Error::other(e)))
    {
        tracing::warn!(error = %e, "api: cannot make an upload private");
    }
    media::update_index(&files_dir, now).await;
    let prompt = media::prompt::prompt_block_via(&r, caption, VIA, core.text());
    let name = r
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Stored {
        path: r.path,
        name,
        mime: r.mime,
        size: r.size,
        prompt,
    })
}

/// The `POST /upload` answer (after auth).
async fn upload(core: &Core, max: u64, mut form: FormData) -> Response {
    let first = match tokio::time::timeout(IDLE, form.next()).await {
        Ok(Some(Ok(part))) => part,
        Ok(Some(Err(_)) | None) => return Failure::BadBody.reply(),
        Err(_) => return Failure::Timeout.reply(),
    };
    if first.name() != "file" {
        drop(first);
        drain(form);
        return Failure::FileFirst.reply();
    }
    let file_name = first.filename().map(str::to_owned);
    let announced = first.content_type().map(str::to_owned);
    let staged = match stage(&core.paths.api_files_dir(), first.stream(), max).await {
        Ok(s) => s,
        Err(f) => {
            if f == Failure::TooLarge {
                tracing::info!(max, "api: upload over the size limit refused");
            }
            drain(form);
            return f.reply();
        }
    };
    let caption = match caption_of(&mut form).await {
        Ok(c) => c,
        Err(f) => {
            drain(form);
            return f.reply();
        }
    };
    match store(core, staged, file_name, announced, &caption, Utc::now()).await {
        Ok(s) => {
            tracing::info!(file = %s.path.display(), size = s.size, mime = s.mime, "api: file uploaded");
            json_reply(
                StatusCode::OK,
                &json!({"path": s.path, "name": s.name, "mime": s.mime, "size": s.size,
                        "prompt": s.prompt}),
            )
        }
        Err(f) => f.reply(),
    }
}

#[cfg(test)]
mod tests;
