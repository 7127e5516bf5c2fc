//! Files: `getFile`, and sending documents, photos, audio, video, voice and media groups.

use bytes::Bytes;
use serde_json::Value;

use super::super::error::{ApiError, ApiResult};
use super::super::files::{
    DOWNLOAD_LIMIT, UPLOAD_LIMIT, extension, guess_mime, image_dims, register_photo,
};
use super::super::json;
use super::super::params::{FilePart, Params};
use super::super::state::{Media, MediaKind, MsgRec, Sender, State, unix_now};
use super::super::text::Formatted;
use super::super::view::{BotId, Upload};
use super::Ctx;
use super::common::{Target, after_write, caption, flood_check, reply_markup, target};
use super::messages::rendered;

/// `getFile`: refuses files over the 20 MB bot download limit.
pub fn get_file(st: &State, _ctx: Ctx, p: &Params) -> ApiResult {
    let id = p.opt_str("file_id").unwrap_or_default();
    let f = st
        .files
        .get(id.trim())
        .ok_or_else(|| ApiError::bad_request("invalid file_id"))?;
    if f.data.len() > DOWNLOAD_LIMIT {
        return Err(ApiError::bad_request("file is too big"));
    }
    Ok(json::file(f))
}

/// An input file: a fresh upload or an existing `file_id`.
enum Input {
    Upload(FilePart),
    Existing(String),
}

/// Resolve an `InputFile` field: `attach://name`, a part named like the field, or a `file_id`.
fn input_file(
    st: &State,
    p: &Params,
    field: &str,
    value: Option<&Value>,
) -> Result<Input, ApiError> {
    let missing = || ApiError::bad_request(format!("there is no {field} in the request"));
    let part = match value.and_then(Value::as_str) {
        Some(s) if s.starts_with("attach://") => p
            .parts
            .get(&s["attach://".len()..])
            .cloned()
            .ok_or_else(missing)?,
        Some(s) if s.starts_with("http://") || s.starts_with("https://") => {
            return Err(ApiError::bad_request("failed to get HTTP URL content"));
        }
        Some(s) if !s.is_empty() => {
            return if st.files.contains_key(s) {
                Ok(Input::Existing(s.to_owned()))
            } else {
                Err(ApiError::bad_request(
                    "wrong file identifier/HTTP URL specified",
                ))
            };
        }
        _ => p.parts.get(field).cloned().ok_or_else(missing)?,
    };
    if part.data.is_empty() {
        return Err(ApiError::bad_request("file must be non-empty"));
    }
    if part.data.len() > UPLOAD_LIMIT {
        return Err(ApiError::new(413, "Request Entity Too Large"));
    }
    Ok(Input::Upload(part))
}

/// Check an upload for its kind (photos must be images of sane size).
fn check_upload(kind: MediaKind, input: &Input) -> Result<(), ApiError> {
    if let (MediaKind::Photo, Input::Upload(part)) = (kind, input) {
        let (w, h) =
            image_dims(&part.data).ok_or_else(|| ApiError::bad_request("IMAGE_PROCESS_FAILED"))?;
        if w == 0 || h == 0 || w + h > 10_000 || w.max(h) > 20 * w.min(h) {
            return Err(ApiError::bad_request("PHOTO_INVALID_DIMENSIONS"));
        }
    }
    Ok(())
}

fn kind_of(method: &str) -> MediaKind {
    match method {
        "sendPhoto" => MediaKind::Photo,
        "sendAudio" => MediaKind::Audio,
        "sendVideo" => MediaKind::Video,
        "sendVoice" => MediaKind::Voice,
        _ => MediaKind::Document,
    }
}

/// Store the file(s) of an input; returns file ids (photo sizes smallest first) and the upload.
fn store(st: &mut State, kind: MediaKind, input: Input, p: &Params) -> Stored {
    let part = match input {
        Input::Existing(id) => {
            return Stored {
                kind,
                files: vec![id],
                upload: None,
            };
        }
        Input::Upload(part) => part,
    };
    let name = part.file_name.clone().filter(|n| !n.is_empty());
    let mime = part
        .content_type
        .clone()
        .filter(|m| m != "application/octet-stream")
        .or_else(|| name.as_deref().and_then(guess_mime).map(str::to_owned));
    let ids = match kind {
        MediaKind::Photo => {
            let dims = image_dims(&part.data).unwrap_or((1280, 960));
            register_photo(st, &part.data, dims)
        }
        MediaKind::Voice => {
            vec![st.register_file(
                "voice",
                "oga",
                part.data.clone(),
                Some("audio/ogg".to_owned()),
                None,
                None,
            )]
        }
        MediaKind::Audio => {
            let ext = extension(name.as_deref(), "mp3");
            let mime = mime.clone().or_else(|| Some("audio/mpeg".to_owned()));
            vec![st.register_file("music", &ext, part.data.clone(), mime, name.clone(), None)]
        }
        MediaKind::Video => {
            let w = p
                .opt_i64("width")
                .ok()
                .flatten()
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or(640);
            let h = p
                .opt_i64("height")
                .ok()
                .flatten()
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or(360);
            let ext = extension(name.as_deref(), "mp4");
            let mime = mime.clone().or_else(|| Some("video/mp4".to_owned()));
            vec![st.register_file(
                "videos",
                &ext,
                part.data.clone(),
                mime,
                name.clone(),
                Some((w, h)),
            )]
        }
        MediaKind::Document => {
            let ext = extension(name.as_deref(), "bin");
            let mime = mime
                .clone()
                .or_else(|| Some("application/octet-stream".to_owned()));
            vec![st.register_file(
                "documents",
                &ext,
                part.data.clone(),
                mime,
                name.clone(),
                None,
            )]
        }
    };
    let upload = FilePart {
        file_name: part.file_name,
        content_type: mime,
        data: part.data,
    };
    Stored {
        kind,
        files: ids,
        upload: Some(upload),
    }
}

/// Files of one stored input: ids (photo sizes smallest first) and the upload, if fresh.
struct Stored {
    kind: MediaKind,
    files: Vec<String>,
    upload: Option<FilePart>,
}

/// A bot message skeleton in the target with caption and keyboard.
fn skeleton(ctx: Ctx, t: &Target, caption: Option<Formatted>, markup: Option<Value>) -> MsgRec {
    let mut m = MsgRec::new(t.chat_id, Sender::Bot(ctx.bot), unix_now());
    m.thread_id = t.thread_id;
    m.reply_to = t.reply_to;
    m.quote.clone_from(&t.quote);
    m.caption = caption;
    m.reply_markup = markup;
    m
}

/// Store the message carrying `stored` and log the upload.
fn push_media(
    st: &mut State,
    ctx: Ctx,
    method: &str,
    t: &Target,
    mut m: MsgRec,
    stored: Stored,
    p: &Params,
) -> i32 {
    m.media = Some(Media {
        kind: stored.kind,
        files: stored.files.clone(),
        duration: p.opt_i64("duration").ok().flatten(),
        performer: p.opt_str("performer"),
        title: p.opt_str("title"),
    });
    let id = st.push_message(t.key, m);
    if let (Some(part), Some(file_id)) = (stored.upload, stored.files.last()) {
        st.uploads.push(Upload {
            bot: BotId(ctx.bot),
            method: method.to_owned(),
            chat_id: t.chat_id,
            message_id: id,
            file_id: file_id.clone(),
            file_name: part.file_name,
            mime: part.content_type,
            data: part.data,
        });
    }
    id
}

/// `sendDocument`, `sendPhoto`, `sendAudio`, `sendVideo`, `sendVoice`.
pub fn send_media(st: &mut State, ctx: Ctx, method: &str, p: &Params) -> ApiResult {
    let kind = kind_of(method);
    let caption = caption(p)?;
    let markup = reply_markup(p)?;
    let t = target(st, ctx, p)?;
    let input = input_file(st, p, kind.field(), p.raw(kind.field()))?;
    check_upload(kind, &input)?;
    flood_check(st, ctx.bot, t.chat_id)?;
    let stored = store(st, kind, input, p);
    let id = push_media(
        st,
        ctx,
        method,
        &t,
        skeleton(ctx, &t, caption, markup),
        stored,
        p,
    );
    after_write(st, ctx.bot, t.chat_id);
    rendered(st, t.key, id)
}

/// `sendMediaGroup`: 2–10 photos/videos/documents/audios sent as an album.
pub fn send_media_group(st: &mut State, ctx: Ctx, p: &Params) -> ApiResult {
    let Some(Value::Array(items)) = p.opt_json("media", "media")? else {
        return Err(ApiError::bad_request("parameter \"media\" is required"));
    };
    if !(2..=10).contains(&items.len()) {
        return Err(ApiError::bad_request("media must include 2-10 items"));
    }
    let t = target(st, ctx, p)?;
    let mut prepared = Vec::with_capacity(items.len());
    for item in &items {
        let kind = match item.get("type").and_then(Value::as_str) {
            Some("photo") => MediaKind::Photo,
            Some("video") => MediaKind::Video,
            Some("document") => MediaKind::Document,
            Some("audio") => MediaKind::Audio,
            _ => {
                return Err(ApiError::bad_request(
                    "unsupported media type in the media group",
                ));
            }
        };
        let input = input_file(st, p, "media", item.get("media"))?;
        check_upload(kind, &input)?;
        let mut item_params = Params::default();
        for key in [
            "caption",
            "parse_mode",
            "caption_entities",
            "duration",
            "width",
            "height",
            "performer",
            "title",
        ] {
            if let Some(v) = item.get(key) {
                item_params.fields.insert(key.to_owned(), v.clone());
            }
        }
        let caption = caption(&item_params)?;
        prepared.push((kind, input, caption, item_params));
    }
    flood_check(st, ctx.bot, t.chat_id)?;
    let group = format!("{}", 13_000_000_000_000_000_u64 + st.next_media_group);
    st.next_media_group += 1;
    let mut ids = Vec::new();
    for (kind, input, caption, item_params) in prepared {
        let stored = store(st, kind, input, &item_params);
        let mut m = skeleton(ctx, &t, caption, None);
        m.media_group_id = Some(group.clone());
        ids.push(push_media(
            st,
            ctx,
            "sendMediaGroup",
            &t,
            m,
            stored,
            &item_params,
        ));
    }
    after_write(st, ctx.bot, t.chat_id);
    let messages: Result<Vec<Value>, ApiError> =
        ids.into_iter().map(|id| rendered(st, t.key, id)).collect();
    Ok(Value::Array(messages?))
}

/// Bytes of a user-sent or uploaded file by path (for downloads).
pub fn download(st: &State, path: &str) -> Option<Bytes> {
    st.file_paths
        .get(path)
        .and_then(|id| st.files.get(id))
        .map(|f| f.data.clone())
}
