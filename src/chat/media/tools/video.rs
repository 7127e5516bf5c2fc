//! `ductor media video <file>` and `ductor media transcribe <file>`: `ffprobe`
//! metadata, still frames taken with `ffmpeg` at even intervals into a fresh folder
//! under `workspace/tmp/media/` (folders older than a day are removed on the next
//! run), and a transcript through the configured transcription hook
//! ([`crate::chat::media::transcribe`]): `transcription.video_command` on the video,
//! else `transcription.audio_command` on its sound track taken out as 16 kHz mono
//! WAV. `ffmpeg` and `ffprobe` run without a shell, in their own process group,
//! killed after a time limit.

use super::{Tools, shown, sniff};
use crate::chat::media::transcribe as hook;
use serde_json::{Value, json};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// How long `ffprobe` may take.
const PROBE_TIMEOUT: Duration = Duration::from_mins(1);
/// How long one `ffmpeg` run (one frame, or the sound track) may take.
const FFMPEG_TIMEOUT: Duration = Duration::from_mins(3);
/// Most output kept from a tool (bytes).
const MAX_OUTPUT: usize = 1024 * 1024;
/// Most frames one call takes.
pub const MAX_FRAMES: u32 = 50;
/// Frame folders older than this are removed by the next `video` run.
const KEEP_FRAMES: Duration = Duration::from_hours(24);

/// Why `ffmpeg`/`ffprobe` gave nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    /// The program is not installed (not on `PATH`).
    Missing(&'static str),
    /// It failed or took too long.
    Failed(String),
}

impl RunError {
    /// The message for the agent (`sandboxed`: it runs in the container sandbox).
    pub fn message(&self, sandboxed: bool) -> String {
        match self {
            Self::Missing(tool) if sandboxed => format!(
                "{tool} is not installed in the sandbox: ask the user to add it with \
                 `ductor docker extras-add ffmpeg`"
            ),
            Self::Missing(tool) => format!(
                "{tool} is not installed (not found on PATH): install ffmpeg, which provides ffmpeg and ffprobe"
            ),
            Self::Failed(e) => e.clone(),
        }
    }
}

/// Runs `program args…`; its stdout, or why there is none.
async fn run_tool(
    program: &'static str,
    args: &[OsString],
    timeout: Duration,
) -> Result<Vec<u8>, RunError> {
    let child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => RunError::Missing(program),
            _ => RunError::Failed(format!("cannot start {program}: {e}")),
        })?;
    let Some(done) = crate::procs::finish_within(child, timeout, MAX_OUTPUT).await else {
        return Err(RunError::Failed(format!(
            "{program} took longer than {} s and was stopped",
            timeout.as_secs()
        )));
    };
    let status = done
        .status
        .map_err(|e| RunError::Failed(format!("{program}: {e}")))?;
    if !status.success() {
        let err = String::from_utf8_lossy(&done.stderr);
        let err: String = err.trim().chars().take(1000).collect();
        return Err(RunError::Failed(format!(
            "{program} failed ({status}): {err}"
        )));
    }
    Ok(done.stdout)
}

/// What `ffprobe` says about a file.
#[derive(Debug, Clone)]
pub struct Probe(Value);

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
    .filter(|n: &f64| n.is_finite() && *n >= 0.0)
}

/// `30000/1001` → 29.97.
fn rate(v: &Value) -> Option<f64> {
    let (n, d) = v.as_str()?.split_once('/')?;
    let (n, d): (f64, f64) = (n.parse().ok()?, d.parse().ok()?);
    (d > 0.0 && n > 0.0).then(|| (n / d * 100.0).round() / 100.0)
}

impl Probe {
    fn streams(&self) -> impl Iterator<Item = &Value> {
        self.0["streams"].as_array().into_iter().flatten()
    }

    fn of_type(&self, kind: &str) -> Option<&Value> {
        self.streams().find(|s| {
            s["codec_type"] == kind && s["disposition"]["attached_pic"].as_i64() != Some(1)
        })
    }

    /// The first video stream (cover pictures of audio files do not count).
    pub fn first_video(&self) -> Option<&Value> {
        self.of_type("video")
    }

    /// Whether there is a sound track.
    pub fn has_audio(&self) -> bool {
        self.of_type("audio").is_some()
    }

    /// Duration in seconds (of the container, else of the longest stream).
    pub fn duration(&self) -> Option<f64> {
        number(&self.0["format"]["duration"]).or_else(|| {
            self.streams()
                .filter_map(|s| number(&s["duration"]))
                .reduce(f64::max)
        })
    }

    /// The container and its streams, as the agent gets them.
    pub fn summary(&self) -> Value {
        let f = &self.0["format"];
        let streams: Vec<Value> = self
            .streams()
            .map(|s| {
                let mut out = json!({
                    "index": s["index"],
                    "type": s["codec_type"],
                    "codec": s["codec_name"],
                });
                let mut put = |k: &str, v: Option<Value>| {
                    if let Some(v) = v.filter(|v| !v.is_null()) {
                        out[k] = v;
                    }
                };
                put("width", Some(s["width"].clone()));
                put("height", Some(s["height"].clone()));
                put("fps", rate(&s["avg_frame_rate"]).map(|r| json!(r)));
                put(
                    "sample_rate",
                    number(&s["sample_rate"]).map(|r| json!(r as u64)),
                );
                put("channels", Some(s["channels"].clone()));
                put("duration_seconds", number(&s["duration"]).map(|d| json!(d)));
                out
            })
            .collect();
        json!({
            "format": f["format_long_name"].as_str().or(f["format_name"].as_str()),
            "duration_seconds": self.duration(),
            "bit_rate": number(&f["bit_rate"]).map(|b| b as u64),
            "streams": streams,
        })
    }
}

/// Runs `ffprobe` on `path`.
pub async fn probe(path: &Path) -> Result<Probe, RunError> {
    let args: Vec<OsString> = [
        "-v",
        "error",
        // Local files only: a playlist in disguise must not make it fetch URLs.
        "-protocol_whitelist",
        "file",
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
    ]
    .iter()
    .map(OsString::from)
    .chain([path.as_os_str().to_owned()])
    .collect();
    let out = run_tool("ffprobe", &args, PROBE_TIMEOUT).await?;
    serde_json::from_slice(&out)
        .map(Probe)
        .map_err(|e| RunError::Failed(format!("ffprobe printed no JSON: {e}")))
}

/// A new private folder for the frames of `video` under `workspace/tmp/media/`;
/// removes the folders of earlier runs older than [`KEEP_FRAMES`].
fn frame_dir(tools: &Tools, video: &Path) -> Result<PathBuf, String> {
    use std::os::unix::fs::DirBuilderExt;
    let parent = tools.paths().workspace().join("tmp").join("media");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&parent)
        .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    if let Ok(old) = std::fs::read_dir(&parent) {
        for d in old.flatten() {
            let stale = d
                .metadata()
                .ok()
                .filter(std::fs::Metadata::is_dir)
                .is_some_and(|m| {
                    m.modified()
                        .ok()
                        .and_then(|t| t.elapsed().ok())
                        .is_some_and(|age| age > KEEP_FRAMES)
                });
            if stale {
                let _ = std::fs::remove_dir_all(d.path());
            }
        }
    }
    let stem: String = video
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
    for n in 0..100 {
        let dir = parent.join(format!("{stem}-{stamp}-{}-{n}", std::process::id()));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(format!("cannot create {}: {e}", dir.display())),
        }
    }
    Err(format!(
        "cannot create a frame folder in {}",
        parent.display()
    ))
}

/// Takes `count` frames at even intervals of a video of `duration` seconds into
/// `dir` (`frame_01.jpg`, …, at most 1280 pixels wide); `(path, second)` of each.
async fn frames(
    video: &Path,
    duration: Option<f64>,
    count: u32,
    dir: &Path,
) -> Result<Vec<(PathBuf, f64)>, RunError> {
    let times: Vec<f64> = match duration.filter(|d| *d > 0.0) {
        Some(d) => (0..count)
            .map(|i| (d * (f64::from(i) + 0.5) / f64::from(count) * 1000.0).floor() / 1000.0)
            .collect(),
        None => vec![0.0],
    };
    let mut taken = Vec::new();
    for (i, t) in times.into_iter().enumerate() {
        let out = dir.join(format!("frame_{:02}.jpg", i + 1));
        let args: Vec<OsString> = vec![
            "-nostdin".into(),
            "-v".into(),
            "error".into(),
            "-y".into(),
            "-ss".into(),
            format!("{t:.3}").into(),
            "-protocol_whitelist".into(),
            "file".into(),
            "-i".into(),
            video.as_os_str().to_owned(),
            "-frames:v".into(),
            "1".into(),
            "-vf".into(),
            "scale='min(1280,iw)':-2".into(),
            "-q:v".into(),
            "3".into(),
            out.as_os_str().to_owned(),
        ];
        run_tool("ffmpeg", &args, FFMPEG_TIMEOUT).await?;
        // A seek past the last frame writes nothing: that time is skipped.
        if std::fs::metadata(&out).is_ok_and(|m| m.len() > 0) {
            taken.push((out, t));
        }
    }
    Ok(taken)
}

/// The transcript of a video: the video hook on the file, else the audio hook on
/// its sound track (extracted into `dir`).
async fn video_transcript(tools: &Tools, video: &Path, has_audio: bool, dir: &Path) -> Value {
    let workspace = tools.paths().workspace();
    if !tools.video_command.trim().is_empty() {
        let result = hook::run(&tools.video_command, video, &workspace, hook::TIMEOUT).await;
        return outcome(result, "transcription.video_command");
    }
    if !has_audio {
        return json!({ "status": "no_audio" });
    }
    if tools.audio_command.trim().is_empty() {
        return json!({
            "status": "not_configured",
            "hint": "set transcription.audio_command (or video_command) in the config to get transcripts"
        });
    }
    let wav = dir.join("audio.wav");
    let args: Vec<OsString> = vec![
        "-nostdin".into(),
        "-v".into(),
        "error".into(),
        "-y".into(),
        "-protocol_whitelist".into(),
        "file".into(),
        "-i".into(),
        video.as_os_str().to_owned(),
        "-vn".into(),
        "-ac".into(),
        "1".into(),
        "-ar".into(),
        "16000".into(),
        // At most the first hour (about 115 MB of WAV): a tiny file with hours of
        // silence must not fill the disk.
        "-t".into(),
        "3600".into(),
        wav.as_os_str().to_owned(),
    ];
    if let Err(e) = run_tool("ffmpeg", &args, FFMPEG_TIMEOUT).await {
        return json!({ "status": "failed", "error": format!("cannot extract the sound: {}", e.message(tools.sandboxed)) });
    }
    let result = hook::run(&tools.audio_command, &wav, &workspace, hook::TIMEOUT).await;
    let mut out = outcome(result, "transcription.audio_command");
    out["audio"] = json!(wav);
    out
}

fn outcome(result: Result<String, hook::TranscribeError>, via: &str) -> Value {
    match result {
        Ok(text) => json!({ "status": "ok", "via": via, "text": text }),
        Err(e) => json!({ "status": "failed", "via": via, "error": e.to_string() }),
    }
}

/// What `ductor media video` prints for `raw`: metadata, `count` frames, transcript.
pub async fn video(tools: &Tools, raw: &str, count: u32) -> Result<Value, String> {
    if !(1..=MAX_FRAMES).contains(&count) {
        return Err(format!("--frames must be between 1 and {MAX_FRAMES}"));
    }
    let opened = tools.open(raw)?;
    let mime = sniff(&opened)?;
    let path = opened.path.clone();
    let probe = probe(&path).await.map_err(|e| match e {
        RunError::Failed(e) => format!("{raw} is not a video ffprobe can read: {e}"),
        missing @ RunError::Missing(_) => missing.message(tools.sandboxed),
    })?;
    if probe.first_video().is_none() {
        return Err(format!("{raw} ({mime}) has no video stream"));
    }
    let dir = frame_dir(tools, &path)?;
    let taken = match frames(&path, probe.duration(), count, &dir).await {
        Ok(taken) if !taken.is_empty() => taken,
        failed => {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(match failed {
                Err(e) => e.message(tools.sandboxed),
                Ok(_) => format!("ffmpeg took no frame from {raw}"),
            });
        }
    };
    let transcript = video_transcript(tools, &path, probe.has_audio(), &dir).await;
    let stills: Vec<Value> = taken
        .iter()
        .map(|(p, t)| json!({ "path": p, "time_seconds": t }))
        .collect();
    Ok(json!({
        "path": path,
        "relative": shown(tools.paths(), &path),
        "mime": mime,
        "size": opened.size,
        "media": probe.summary(),
        "frames_dir": dir,
        "frames": stills,
        "transcript": transcript,
    }))
}

/// What `ductor media transcribe` prints for `raw`: the audio hook's transcript of a
/// recording (the video hook first for a video, when set).
pub async fn transcribe(tools: &Tools, raw: &str) -> Result<Value, String> {
    let opened = tools.open(raw)?;
    let mime = sniff(&opened)?;
    let (command, via) = if mime.starts_with("video/") && !tools.video_command.trim().is_empty() {
        (&tools.video_command, "transcription.video_command")
    } else {
        (&tools.audio_command, "transcription.audio_command")
    };
    if command.trim().is_empty() {
        return Err(format!(
            "no transcription hook is configured: set {via} in the config (a command that \
             gets the file as its last argument and prints the transcript)"
        ));
    }
    let text = hook::run(
        command,
        &opened.path,
        &tools.paths().workspace(),
        hook::TIMEOUT,
    )
    .await
    .map_err(|e| format!("{via}: {e}"))?;
    Ok(json!({
        "path": opened.path,
        "relative": shown(tools.paths(), &opened.path),
        "mime": mime,
        "via": via,
        "transcript": text,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_output_is_summarised() {
        let p = Probe(json!({
            "streams": [
                {"index": 0, "codec_type": "video", "codec_name": "h264", "width": 160,
                 "height": 120, "avg_frame_rate": "30000/1001", "duration": "2.5"},
                {"index": 1, "codec_type": "audio", "codec_name": "aac",
                 "sample_rate": "44100", "channels": 1, "duration": "2.9"},
                {"index": 2, "codec_type": "video", "codec_name": "mjpeg",
                 "disposition": {"attached_pic": 1}}
            ],
            "format": {"format_name": "mov,mp4", "bit_rate": "1000"}
        }));
        assert_eq!(p.duration(), Some(2.9));
        assert!(p.has_audio());
        assert_eq!(p.first_video().unwrap()["codec_name"], "h264");
        let s = p.summary();
        assert_eq!(s["streams"][0]["fps"], 29.97);
        assert_eq!(s["streams"][1]["sample_rate"], 44100);
        assert_eq!(s["bit_rate"], 1000);
        assert_eq!(s["format"], "mov,mp4");
        let cover_only = Probe(json!({"streams": [
            {"codec_type": "audio"},
            {"codec_type": "video", "disposition": {"attached_pic": 1}}
        ]}));
        assert!(cover_only.first_video().is_none());
    }
}
