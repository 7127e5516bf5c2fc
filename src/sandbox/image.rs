//! The sandbox image: ductor's Dockerfile (`packaging/sandbox/Dockerfile`, built
//! into the binary) or the user's own (`sandbox.dockerfile`), plus the chosen extras
//! as further layers (reference §12.1), built with the engine's `build`.

use super::container::Engine;
use crate::config::sandbox::SandboxSettings;
use crate::paths::Home;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

/// ductor's sandbox Dockerfile.
pub const DOCKERFILE: &str = include_str!("../../packaging/sandbox/Dockerfile");

/// One optional layer of the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extra {
    /// Id (`ductor docker extras-add <id>`).
    pub id: &'static str,
    /// Catalogue group.
    pub category: &'static str,
    /// What it is for.
    pub description: &'static str,
    /// Rough size added to the image, in MB.
    pub size_mb: u32,
    /// Extras it needs.
    pub requires: &'static [&'static str],
    /// Debian packages.
    pub apt: &'static [&'static str],
    /// Python packages (with version constraints).
    pub pip: &'static [&'static str],
    /// A package index for `pip` (CPU-only wheels).
    pub pip_index: Option<&'static str>,
    /// A command run after the packages (as root).
    pub post: Option<&'static str>,
    /// Extra build time allowed, in seconds.
    pub build_seconds: u64,
}

const fn extra(
    id: &'static str,
    category: &'static str,
    description: &'static str,
    size_mb: u32,
) -> Extra {
    Extra {
        id,
        category,
        description,
        size_mb,
        requires: &[],
        apt: &[],
        pip: &[],
        pip_index: None,
        post: None,
        build_seconds: 60,
    }
}

/// Every extra ductor knows.
pub const CATALOGUE: &[Extra] = &[
    Extra {
        apt: &["ffmpeg"],
        build_seconds: 60,
        ..extra("ffmpeg", "media", "audio/video conversion (ffmpeg)", 350)
    },
    Extra {
        requires: &["ffmpeg"],
        pip: &["openai-whisper"],
        build_seconds: 180,
        ..extra("whisper", "media", "speech to text (OpenAI Whisper)", 900)
    },
    Extra {
        pip: &["opencv-python-headless>=4.8"],
        build_seconds: 60,
        ..extra(
            "opencv",
            "vision",
            "computer vision (OpenCV, headless)",
            120,
        )
    },
    Extra {
        apt: &["tesseract-ocr", "tesseract-ocr-eng", "tesseract-ocr-deu"],
        build_seconds: 60,
        ..extra(
            "tesseract",
            "vision",
            "OCR (Tesseract; English, German)",
            60,
        )
    },
    Extra {
        requires: &["pytorch-cpu"],
        pip: &["easyocr"],
        build_seconds: 120,
        ..extra("easyocr", "vision", "OCR with deep learning (EasyOCR)", 250)
    },
    Extra {
        pip: &["pymupdf>=1.23"],
        build_seconds: 30,
        ..extra(
            "pymupdf",
            "documents",
            "PDF reading and rendering (PyMuPDF)",
            50,
        )
    },
    Extra {
        apt: &["pandoc"],
        build_seconds: 30,
        ..extra("pandoc", "documents", "document conversion (pandoc)", 150)
    },
    Extra {
        pip: &["scipy>=1.11"],
        build_seconds: 60,
        ..extra("scipy", "data", "scientific computing (SciPy, NumPy)", 120)
    },
    Extra {
        pip: &["pandas>=2.0"],
        build_seconds: 60,
        ..extra("pandas", "data", "data frames (pandas)", 100)
    },
    Extra {
        pip: &["matplotlib>=3.8"],
        build_seconds: 60,
        ..extra("matplotlib", "data", "plots (Matplotlib)", 80)
    },
    Extra {
        pip: &["torch", "torchvision"],
        pip_index: Some("https://download.pytorch.org/whl/cpu"),
        build_seconds: 180,
        ..extra("pytorch-cpu", "ml", "PyTorch, CPU only", 900)
    },
    Extra {
        requires: &["pytorch-cpu"],
        pip: &["transformers>=4.40", "sentencepiece"],
        build_seconds: 120,
        ..extra("transformers", "ml", "Hugging Face Transformers", 400)
    },
    Extra {
        pip: &["playwright>=1.44"],
        post: Some("python3 -m playwright install --with-deps chromium"),
        build_seconds: 180,
        ..extra(
            "playwright",
            "web",
            "browser automation (Playwright with Chromium)",
            600,
        )
    },
];

/// The extra `id`.
pub fn find(id: &str) -> Option<&'static Extra> {
    CATALOGUE.iter().find(|e| e.id == id)
}

/// `ids` with everything they need, dependencies first (catalogue order otherwise).
/// An unknown id is an error.
pub fn resolve(ids: &[String]) -> Result<Vec<&'static Extra>, String> {
    fn visit(e: &'static Extra, seen: &mut BTreeSet<&'static str>, out: &mut Vec<&'static Extra>) {
        if !seen.insert(e.id) {
            return;
        }
        for r in e.requires {
            if let Some(dep) = find(r) {
                visit(dep, seen, out);
            }
        }
        out.push(e);
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for id in ids {
        let e = find(id)
            .ok_or_else(|| format!("unknown extra \"{id}\" (see `ductor docker extras`)"))?;
        visit(e, &mut seen, &mut out);
    }
    Ok(out)
}

/// Extras in `selected` that need `id`.
pub fn dependents(id: &str, selected: &[String]) -> Vec<&'static str> {
    selected
        .iter()
        .filter_map(|s| find(s))
        .filter(|e| {
            e.id != id
                && resolve(&[e.id.to_owned()]).is_ok_and(|all| all.iter().any(|d| d.id == id))
        })
        .map(|e| e.id)
        .collect()
}

/// The Dockerfile for `base` with `extras` appended as layers.
pub fn dockerfile(base: &str, extras: &[&Extra]) -> String {
    if extras.is_empty() {
        return base.to_owned();
    }
    let mut out = base.trim_end().to_owned();
    out.push_str("\n\n# Extras chosen with `ductor docker extras-add`.\nUSER root\n");
    let apt: Vec<&str> = extras.iter().flat_map(|e| e.apt.iter().copied()).collect();
    if !apt.is_empty() {
        let _ = writeln!(
            out,
            "RUN apt-get update && apt-get install -y --no-install-recommends {} && rm -rf /var/lib/apt/lists/*",
            apt.join(" ")
        );
    }
    for e in extras.iter().filter(|e| !e.pip.is_empty()) {
        let index = e
            .pip_index
            .map(|i| format!("--index-url {} ", crate::util::sh_quote(i)))
            .unwrap_or_default();
        let pkgs: Vec<String> = e.pip.iter().map(|p| crate::util::sh_quote(p)).collect();
        let _ = writeln!(
            out,
            "RUN pip3 install --no-cache-dir {index}{}",
            pkgs.join(" ")
        );
    }
    for post in extras.iter().filter_map(|e| e.post) {
        let _ = writeln!(out, "RUN {post}");
    }
    out.push_str("USER node\n");
    out
}

/// How long a build of `extras` may take.
pub fn build_timeout(extras: &[&Extra]) -> Duration {
    Duration::from_secs(600 + extras.iter().map(|e| e.build_seconds).sum::<u64>())
}

/// The Dockerfile the settings ask for, with `extras` (theirs, resolved).
fn dockerfile_for(settings: &SandboxSettings, extras: &[&Extra]) -> Result<String, String> {
    let base = match &settings.dockerfile {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the Dockerfile {}: {e}", path.display()))?,
        None => DOCKERFILE.to_owned(),
    };
    Ok(dockerfile(&base, extras))
}

/// Removes the build directory when the build ends, however it ends.
struct BuildDir(std::path::PathBuf);

impl Drop for BuildDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Builds `settings.image` (the build context is an empty directory under the main
/// agent's `tmp/`), each output line to `output`.
pub async fn build(
    engine: &Engine,
    settings: &SandboxSettings,
    home: &Home,
    output: &mut (dyn FnMut(&str) + Send),
) -> Result<(), String> {
    let extras = resolve(&settings.extras)?;
    let text = dockerfile_for(settings, &extras)?;
    let timeout = build_timeout(&extras);
    let context = BuildDir(
        home.main()
            .tmp_dir()
            .join(format!("image-build-{}", crate::util::random_hex(6))),
    );
    crate::store::ensure_private_dir(&context.0).map_err(|e| e.to_string())?;
    let file = context.0.join("Dockerfile");
    std::fs::write(&file, text).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    let mut cmd = engine.command();
    cmd.args(["build", "-t", &settings.image, "-f"])
        .arg(&file)
        .arg(&context.0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run `{} build`: {e}", engine.name))?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err("no output pipe".into());
    };
    let mut out = BufReader::new(stdout).lines();
    let mut err = BufReader::new(stderr).lines();
    let mut last = String::new();
    let deadline = tokio::time::Instant::now() + timeout;
    let (mut out_open, mut err_open) = (true, true);
    while out_open || err_open {
        let line = tokio::select! {
            l = out.next_line(), if out_open => l.ok().flatten().or_else(|| { out_open = false; None }),
            l = err.next_line(), if err_open => l.ok().flatten().or_else(|| { err_open = false; None }),
            () = tokio::time::sleep_until(deadline) => {
                let _ = child.kill().await;
                return Err(format!("the build took longer than {} s", timeout.as_secs()));
            }
        };
        if let Some(line) = line {
            if !line.trim().is_empty() {
                last.clone_from(&line);
            }
            output(&line);
        }
    }
    let status = child.wait().await.map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err(crate::provider::parse::truncate_chars(last.trim(), 300))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extras_come_with_their_dependencies_first() {
        let got: Vec<&str> = resolve(&["easyocr".into(), "whisper".into(), "pytorch-cpu".into()])
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(got, ["pytorch-cpu", "easyocr", "ffmpeg", "whisper"]);
        assert!(resolve(&["nope".into()]).unwrap_err().contains("\"nope\""));
        assert_eq!(
            dependents("ffmpeg", &["whisper".into(), "pandas".into()]),
            ["whisper"]
        );
        assert!(dependents("pandas", &["whisper".into()]).is_empty());
    }

    #[test]
    fn extras_become_root_layers_after_the_base() {
        let file = dockerfile(
            DOCKERFILE,
            &resolve(&["whisper".into(), "pytorch-cpu".into()]).unwrap(),
        );
        let tail = &file[DOCKERFILE.trim_end().len()..];
        assert!(tail.contains(
            "USER root\nRUN apt-get update && apt-get install -y --no-install-recommends ffmpeg"
        ));
        assert!(tail.contains(
            "pip3 install --no-cache-dir --index-url 'https://download.pytorch.org/whl/cpu' 'torch'"
        ));
        assert!(tail.ends_with("USER node\n"));
        assert_eq!(dockerfile(DOCKERFILE, &[]), DOCKERFILE);
    }

    #[test]
    fn the_image_pins_the_cli_versions_the_tests_drive() {
        let script = include_str!("../../.ci/install-clis");
        for (arg, package) in [
            ("CLAUDE_CODE", "@anthropic-ai/claude-code"),
            ("CODEX", "@openai/codex"),
            ("GEMINI_CLI", "@google/gemini-cli"),
        ] {
            let pin = script
                .split(&format!("\"{package}@"))
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap();
            assert!(
                DOCKERFILE.contains(&format!("ARG {arg}={pin}\n")),
                "{package}@{pin} is not the image's pin"
            );
        }
    }
}
