//! `ductor media …`, the media tools an agent's CLI runs (§9.6 `media_tools`): the
//! real `ductor` binary in a temporary home, run from the agent's workspace as its
//! CLI would. Test media are made here: pictures with the `image` crate, PDFs by
//! hand, DOCX files with the `zip` crate, recordings with ffmpeg (installed by
//! `.ci/install-media`; these tests fail without it).

#[path = "../support/mod.rs"]
mod support;

use serde_json::Value;
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime};
use support::daemon::TestHome;

/// A home with a workspace, and `ductor media` run from that workspace.
struct Rig {
    home: TestHome,
}

impl Rig {
    fn new() -> Self {
        let home = TestHome::new();
        std::fs::create_dir_all(home.root.join("workspace")).unwrap();
        Self { home }
    }

    fn workspace(&self) -> PathBuf {
        self.home.root.join("workspace")
    }

    /// Runs `ductor media <args>` with `env` added to a clean agent environment.
    fn media_with(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = self.home.ductor();
        cmd.arg("media")
            .args(args)
            .current_dir(self.workspace())
            .stdin(Stdio::null());
        for var in [
            "DUCTOR_AGENT_NAME",
            "DUCTOR_ROOT",
            "DUCTOR_TRANSCRIBE_COMMAND",
            "DUCTOR_VIDEO_TRANSCRIBE_COMMAND",
        ] {
            cmd.env_remove(var);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("run ductor media")
    }

    /// `ductor media <args>` that must succeed: its JSON.
    fn ok(&self, args: &[&str]) -> Value {
        self.ok_with(args, &[])
    }

    fn ok_with(&self, args: &[&str], env: &[(&str, &str)]) -> Value {
        let out = self.media_with(args, env);
        assert!(
            out.status.success(),
            "ductor media {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
    }

    /// `ductor media <args>` that must fail: its stderr.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.media_with(args, &[]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "ductor media {args:?} should fail; stdout: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(out.stdout.is_empty(), "nothing on stdout on failure");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// Writes `bytes` to `rel` under the workspace; its path.
    fn put(&self, rel: &str, bytes: &[u8]) -> PathBuf {
        let path = self.workspace().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs ffmpeg (which must be installed) with `args`.
fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg is not installed: run .ci/install-media");
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A 3-second 160×120 MP4 with a sine tone at `path`.
fn make_mp4(path: &Path) {
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=duration=3:size=160x120:rate=10",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:duration=3",
        "-shortest",
        "-pix_fmt",
        "yuv420p",
        "-c:v",
        "mpeg4",
        "-c:a",
        "aac",
        s(path),
    ]);
}

/// A PNG of `w`×`h` pixels.
fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A PDF with one page per text (Helvetica, `WinAnsiEncoding`), with a correct
/// cross-reference table.
fn pdf(pages: &[&str]) -> Vec<u8> {
    let mut objects = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            (0..pages.len())
                .map(|i| format!("{} 0 R", 4 + 2 * i))
                .collect::<Vec<_>>()
                .join(" "),
            pages.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_owned(),
    ];
    for (i, text) in pages.iter().enumerate() {
        let content = format!("BT /F1 18 Tf 72 720 Td ({text}) Tj ET");
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] \
             /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
            5 + 2 * i
        ));
        objects.push(format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ));
    }
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        write!(out, "{} 0 obj\n{o}\nendobj\n", i + 1).unwrap();
    }
    let xref = out.len();
    write!(out, "xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).unwrap();
    for off in offsets {
        writeln!(out, "{off:010} 00000 n ").unwrap();
    }
    write!(
        out,
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    )
    .unwrap();
    out
}

/// `pdf` encrypted (RC4 128) with an owner password and `user_password`.
fn encrypted(pdf: &[u8], user_password: &str) -> Vec<u8> {
    let mut doc = lopdf::Document::load_mem(pdf).unwrap();
    let id = lopdf::Object::string_literal(b"0123456789abcdef".to_vec());
    doc.trailer
        .set("ID", lopdf::Object::Array(vec![id.clone(), id]));
    let state = lopdf::EncryptionState::try_from(lopdf::EncryptionVersion::V2 {
        document: &doc,
        owner_password: "owner",
        user_password,
        key_length: 128,
        permissions: lopdf::Permissions::all(),
    })
    .unwrap();
    doc.encrypt(&state).unwrap();
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

/// A ZIP with `files` (deflated), as a DOCX is.
fn zip_of(files: &[(&str, &str)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, text) in files {
        zip.start_file(*name, options).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// A DOCX whose body has these paragraphs.
fn docx(paragraphs: &[&str]) -> Vec<u8> {
    let mut body = String::new();
    for p in paragraphs {
        write!(
            body,
            "<w:p><w:r><w:t xml:space=\"preserve\">{p}</w:t></w:r></w:p>"
        )
        .unwrap();
    }
    let document = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
         <w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">\
         <w:body>{body}<w:sectPr/></w:body></w:document>"
    );
    zip_of(&[
        (
            "[Content_Types].xml",
            "<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>",
        ),
        ("word/document.xml", &document),
    ])
}

fn close(v: &Value, want: f64) -> bool {
    v.as_f64().is_some_and(|d| (d - want).abs() < 0.25)
}

#[test]
fn info_sniffs_the_type_and_reads_picture_dimensions() {
    let rig = Rig::new();
    // A PNG under a misleading name: the type comes from the bytes.
    let path = rig.put("telegram_files/2026-01-02/shot.pdf", &png(37, 21));
    let v = rig.ok(&["info", "telegram_files/2026-01-02/shot.pdf"]);
    assert_eq!(v["mime"], "image/png", "{v}");
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(37), Some(21))
    );
    assert_eq!(
        v["size"].as_u64(),
        Some(std::fs::metadata(&path).unwrap().len())
    );
    assert_eq!(v["relative"], "telegram_files/2026-01-02/shot.pdf");
    assert_eq!(v["path"], s(&path.canonicalize().unwrap()));
    let err = rig.fails(&["info", "telegram_files/2026-01-02/nothing.png"]);
    assert!(err.contains("no such file"), "{err}");
}

#[test]
fn info_gives_the_duration_and_streams_of_recordings() {
    let rig = Rig::new();
    let wav = rig.workspace().join("tone.wav");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=300:duration=2",
        s(&wav),
    ]);
    let v = rig.ok(&["info", s(&wav)]);
    assert_eq!(v["mime"], "audio/wav", "{v}");
    assert!(close(&v["duration_seconds"], 2.0), "{v}");
    assert_eq!(v["media"]["streams"][0]["type"], "audio", "{v}");

    let mp4 = rig.workspace().join("clip.mp4");
    make_mp4(&mp4);
    let v = rig.ok(&["info", s(&mp4)]);
    assert_eq!(v["mime"], "video/mp4", "{v}");
    assert!(close(&v["duration_seconds"], 3.0), "{v}");
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(160), Some(120)),
        "{v}"
    );

    // Without ffprobe the basic facts still come, with a note instead of a duration.
    let empty = tempfile::tempdir().unwrap();
    let v = rig.ok_with(&["info", s(&wav)], &[("PATH", s(empty.path()))]);
    assert_eq!(v["mime"], "audio/wav");
    assert!(v["duration_seconds"].is_null(), "{v}");
    assert!(v["note"].as_str().unwrap().contains("ffprobe"), "{v}");
}

/// Sets the modification time of `path` to `secs` seconds ago.
fn aged(path: &Path, secs: u64) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(secs))
        .unwrap();
}

#[test]
fn list_reads_the_media_index_newest_first_with_filters() {
    let rig = Rig::new();
    let ws = rig.workspace();
    let old = rig.put("telegram_files/2026-01-01/notes.pdf", b"%PDF-1.4\n%...\n");
    let photo = rig.put(
        "telegram_files/2026-01-02/photo_AQAD.jpg",
        b"\xff\xd8\xff\xe0\0\x10JFIF\0",
    );
    let clip = rig.put(
        "api_files/2026-01-03/clip.mp4",
        b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2",
    );
    aged(&old, 3 * 3600);
    aged(&photo, 2 * 3600);
    aged(&clip, 3600);
    // The index as incoming media writes it.
    let now = chrono::Utc::now();
    for dir in ["telegram_files", "api_files"] {
        ductor::chat::media::index::update(&ws.join(dir), now).unwrap();
    }
    // A file that arrived without an index update is not listed: the index is read.
    rig.put("telegram_files/2026-01-02/unindexed.txt", b"hello");

    let v = rig.ok(&["list"]);
    let names: Vec<&str> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["clip.mp4", "photo_AQAD.jpg", "notes.pdf"], "{v}");
    assert_eq!(v["total"], 3);
    assert_eq!(v["files"][0]["source"], "api");
    assert_eq!(v["files"][0]["type"], "video/mp4");
    assert_eq!(
        v["files"][1]["relative"],
        "telegram_files/2026-01-02/photo_AQAD.jpg"
    );
    assert_eq!(v["files"][1]["path"], s(&photo));

    let v = rig.ok(&["list", "--type", "image"]);
    assert_eq!(v["total"], 1);
    assert_eq!(v["files"][0]["type"], "image/jpeg");
    let v = rig.ok(&["list", "--type", "application", "--date", "2026-01-01"]);
    assert_eq!(v["files"][0]["name"], "notes.pdf", "{v}");
    assert_eq!(v["total"], 1);
    let v = rig.ok(&["list", "--limit", "1"]);
    assert_eq!(
        (v["total"].as_u64(), v["shown"].as_u64()),
        (Some(3), Some(1))
    );
    assert_eq!(rig.ok(&["list", "--date", "2025-12-31"])["total"], 0);
    let err = rig.fails(&["list", "--date", "yesterday"]);
    assert!(err.contains("YYYY-MM-DD"), "{err}");

    // A sub-agent's files, chosen by --agent or by the agent's environment.
    let sub = rig
        .home
        .root
        .join("agents/helper/workspace/matrix_files/2026-01-04");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(sub.join("minutes.txt"), "notes").unwrap();
    ductor::chat::media::index::update(sub.parent().unwrap(), now).unwrap();
    let v = rig.ok(&["list", "--agent", "helper"]);
    assert_eq!(v["total"], 1, "{v}");
    assert_eq!(
        v["files"][0]["relative"],
        "matrix_files/2026-01-04/minutes.txt"
    );
    assert_eq!(v["files"][0]["source"], "matrix");
    let v = rig.ok_with(&["list"], &[("DUCTOR_AGENT_NAME", "helper")]);
    assert_eq!(v["files"][0]["name"], "minutes.txt", "{v}");
    let err = rig.fails(&["list", "--agent", "../helper"]);
    assert!(err.contains("../helper"), "{err}");
    // Run by an agent's CLI, the flags cannot pick another agent or home.
    let out = rig.media_with(
        &["list", "--agent", "main"],
        &[("DUCTOR_AGENT_NAME", "helper")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--agent main is not allowed"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // (`ductor()` passes `--home` with the test home.)
    let out = rig.media_with(&["list"], &[("DUCTOR_ROOT", "/tmp")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("(DUCTOR_ROOT): --home"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The same home under its own name is fine.
    let root = rig.home.root.to_str().unwrap();
    let v = rig.ok_with(&["list"], &[("DUCTOR_ROOT", root)]);
    assert!(v["total"].is_number(), "{v}");
}

#[test]
fn read_gives_the_text_of_pdf_docx_and_text_files() {
    let rig = Rig::new();
    let p = rig.put(
        "telegram_files/2026-01-02/report.pdf",
        &pdf(&["Quarterly report page one", "Second page findings"]),
    );
    let v = rig.ok(&["read", s(&p)]);
    assert_eq!(v["type"], "application/pdf", "{v}");
    assert_eq!(v["pages_total"], 2);
    let text = v["text"].as_str().unwrap();
    assert!(
        text.contains("Quarterly report page one") && text.contains("Second page findings"),
        "{v}"
    );
    assert_eq!(v["truncated"], false);
    let v = rig.ok(&["read", s(&p), "--max-pages", "1"]);
    assert_eq!(v["pages_read"], 1);
    assert_eq!(v["truncated"], true);
    assert!(!v["text"].as_str().unwrap().contains("Second page"), "{v}");

    let d = rig.put(
        "telegram_files/2026-01-02/letter.docx",
        &docx(&["Dear team,", "Fish &amp; chips on Friday.", "Regards"]),
    );
    let v = rig.ok(&["read", s(&d)]);
    assert_eq!(
        v["type"],
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    );
    assert_eq!(
        v["text"], "Dear team,\nFish & chips on Friday.\nRegards\n",
        "{v}"
    );
    assert_eq!(v["paragraphs"], 3);

    let c = rig.put("data.csv", "name,qty\nÄpfel,3\n".as_bytes());
    let v = rig.ok(&["read", s(&c)]);
    assert_eq!(v["type"], "text/csv");
    assert_eq!(v["text"], "name,qty\nÄpfel,3\n");
}

#[test]
fn read_refuses_garbage_other_types_and_secrets() {
    let rig = Rig::new();
    let noise: Vec<u8> = (0u32..4096)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let fake_pdf = rig.put("fake.pdf", &noise);
    let err = rig.fails(&["read", s(&fake_pdf)]);
    assert!(err.contains("not a readable PDF"), "{err}");
    let blob = rig.put("blob.bin", &noise);
    let err = rig.fails(&["read", s(&blob)]);
    assert!(err.contains("application/octet-stream"), "{err}");
    let fake_docx = rig.put("fake.docx", &zip_of(&[("hello.txt", "hi")]));
    let err = rig.fails(&["read", s(&fake_docx)]);
    assert!(err.contains("not a Word document"), "{err}");
    let binary_txt = rig.put("binary.txt", b"abc\0def");
    let err = rig.fails(&["read", s(&binary_txt)]);
    assert!(err.contains("not a text file"), "{err}");
    let picture = rig.put("pic.png", &png(4, 4));
    let err = rig.fails(&["read", s(&picture)]);
    assert!(err.contains("image/png"), "{err}");

    // Encrypted with a password: refused. With only an owner password (opens without
    // one): read.
    let locked = rig.put(
        "locked.pdf",
        &encrypted(&pdf(&["Top secret plans"]), "s3cret"),
    );
    let err = rig.fails(&["read", s(&locked)]);
    assert!(err.contains("encrypted PDF that needs a password"), "{err}");
    let open = rig.put("open.pdf", &encrypted(&pdf(&["Shared plans"]), ""));
    let v = rig.ok(&["read", s(&open)]);
    assert!(v["text"].as_str().unwrap().contains("Shared plans"), "{v}");

    // The agent's config holds its bot token: never read, also not through a link.
    let config = rig.home.root.join("config/config.json");
    let err = rig.fails(&["read", s(&config)]);
    assert!(err.contains("secrets"), "{err}");
    std::os::unix::fs::symlink(&config, rig.workspace().join("settings.json")).unwrap();
    let err = rig.fails(&["read", "settings.json"]);
    assert!(err.contains("symlink"), "{err}");
}

#[test]
fn video_takes_frames_into_the_workspace_and_transcribes_the_sound() {
    let rig = Rig::new();
    let mp4 = rig
        .workspace()
        .join("telegram_files/2026-01-02/video_AQAD.mp4");
    std::fs::create_dir_all(mp4.parent().unwrap()).unwrap();
    make_mp4(&mp4);
    // The hook gets the extracted sound track: it proves it is a WAV file.
    let hook = "sh -c 'printf \"heard \"; head -c 4 \"$1\"' sh";
    let v = rig.ok_with(
        &[
            "video",
            "telegram_files/2026-01-02/video_AQAD.mp4",
            "--frames",
            "3",
        ],
        &[("DUCTOR_TRANSCRIBE_COMMAND", hook)],
    );
    assert_eq!(v["mime"], "video/mp4", "{v}");
    assert!(close(&v["media"]["duration_seconds"], 3.0), "{v}");
    let frames = v["frames"].as_array().unwrap();
    assert_eq!(frames.len(), 3, "{v}");
    let dir = PathBuf::from(v["frames_dir"].as_str().unwrap());
    assert!(
        dir.starts_with(rig.workspace().canonicalize().unwrap().join("tmp/media")),
        "{v}"
    );
    let mut times = Vec::new();
    for f in frames {
        let path = Path::new(f["path"].as_str().unwrap());
        assert!(path.starts_with(&dir));
        let bytes = std::fs::read(path).unwrap();
        assert!(
            bytes.starts_with(&[0xff, 0xd8, 0xff]),
            "{} is no JPEG",
            path.display()
        );
        let img = image::load_from_memory(&bytes).unwrap();
        assert_eq!((img.width(), img.height()), (160, 120));
        times.push(f["time_seconds"].as_f64().unwrap());
    }
    assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
    assert_eq!(v["transcript"]["status"], "ok", "{v}");
    assert_eq!(v["transcript"]["text"], "heard RIFF", "{v}");
    assert_eq!(v["transcript"]["via"], "transcription.audio_command");

    // The video hook gets the video itself.
    let video_hook = "sh -c 'printf \"saw \"; head -c 8 \"$1\" | tail -c 4' sh";
    let v = rig.ok_with(
        &["video", s(&mp4), "--frames", "1"],
        &[
            ("DUCTOR_VIDEO_TRANSCRIBE_COMMAND", video_hook),
            ("DUCTOR_TRANSCRIBE_COMMAND", hook),
        ],
    );
    assert_eq!(v["transcript"]["text"], "saw ftyp", "{v}");
    assert_eq!(v["transcript"]["via"], "transcription.video_command");

    // Without a hook the frames still come, and the agent learns what to set.
    let v = rig.ok(&["video", s(&mp4), "--frames", "1"]);
    assert_eq!(v["frames"].as_array().unwrap().len(), 1);
    assert_eq!(v["transcript"]["status"], "not_configured", "{v}");

    // A recording without pictures is no video.
    let wav = rig.workspace().join("tone.wav");
    ffmpeg(&["-f", "lavfi", "-i", "sine=duration=1", s(&wav)]);
    let err = rig.fails(&["video", s(&wav)]);
    assert!(err.contains("no video stream"), "{err}");
}

#[test]
fn video_without_ffmpeg_names_the_missing_tool() {
    let rig = Rig::new();
    let mp4 = rig.put("clip.mp4", b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2");
    let empty = tempfile::tempdir().unwrap();
    let out = rig.media_with(&["video", s(&mp4)], &[("PATH", s(empty.path()))]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ffprobe is not installed") && err.contains("install ffmpeg"),
        "{err}"
    );
    assert!(
        !rig.workspace().join("tmp/media").exists(),
        "nothing was made"
    );

    // ffprobe without ffmpeg: the missing one is named, no empty frame folder stays.
    let real = rig.workspace().join("real.mp4");
    make_mp4(&real);
    let only_probe = tempfile::tempdir().unwrap();
    let ffprobe = std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|d| d.join("ffprobe"))
        .find(|p| p.is_file())
        .expect("ffprobe is not installed: run .ci/install-media");
    std::os::unix::fs::symlink(ffprobe, only_probe.path().join("ffprobe")).unwrap();
    let out = rig.media_with(&["video", s(&real)], &[("PATH", s(only_probe.path()))]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ffmpeg is not installed"), "{err}");
    let left: Vec<_> = std::fs::read_dir(rig.workspace().join("tmp/media"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // Inside the container sandbox the agent learns how the user adds it there.
    let out = rig.media_with(
        &["video", s(&mp4)],
        &[("PATH", s(empty.path())), ("DUCTOR_SANDBOX_RUN", "r1")],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ductor docker extras-add ffmpeg"), "{err}");
}

#[test]
fn transcribe_runs_the_configured_hook() {
    let rig = Rig::new();
    let voice = rig.put(
        "telegram_files/2026-01-02/voice_AQAD.ogg",
        b"OggS\0\x02\0\0\0\0\0\0\0\0OpusHead",
    );
    rig.home.edit_config(|c| {
        c["transcription"]["audio_command"] =
            "sh -c 'echo \"words of $(basename \"$1\")\"' sh".into();
    });
    let v = rig.ok(&["transcribe", s(&voice)]);
    assert_eq!(v["transcript"], "words of voice_AQAD.ogg", "{v}");
    assert_eq!(v["mime"], "audio/ogg");
    rig.home
        .edit_config(|c| c["transcription"]["audio_command"] = "".into());
    let err = rig.fails(&["transcribe", s(&voice)]);
    assert!(err.contains("transcription.audio_command"), "{err}");
}
