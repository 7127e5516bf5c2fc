//! The media tools an agent's CLI runs as `ductor media …` (§9.6 `media_tools`): what
//! a file is ([`info()`]), which files the user sent ([`list()`]), the text of a document
//! ([`read()`]) and what a video shows and says ([`video()`], [`transcribe()`]). Each
//! returns a JSON value for the agent; a refusal or failure is an error string.
//!
//! Files are opened through the agent's [`FileAccess`] rules, the same ones that
//! decide which files may be sent to a chat: the `file_access` roots, never a
//! secret (config, `.env`, credentials), never a symlink as the last component,
//! the real path taken from the open handle. A relative path is looked up in the
//! current directory, then in the agent's workspace (where `list` paths are
//! relative to).

pub mod info;
pub mod list;
pub mod read;
pub mod video;

use crate::access::{FileAccess, Opened, Refusal};
use crate::config::AgentConfig;
use crate::paths::AgentPaths;
use std::path::{Path, PathBuf};

pub use info::info;
pub use list::{ListQuery, list};
pub use read::read;
pub use video::{transcribe, video};

/// One agent's media tools: its paths, its file rules and its transcription hooks.
#[derive(Debug, Clone)]
pub struct Tools {
    paths: AgentPaths,
    access: FileAccess,
    cwd: PathBuf,
    audio_command: String,
    video_command: String,
    /// Runs inside a container sandbox (tools are added there as image extras).
    sandboxed: bool,
}

impl Tools {
    /// The tools of the agent at `paths` under `config`, run from `cwd`. The
    /// transcription hooks come from `DUCTOR_TRANSCRIBE_COMMAND` /
    /// `DUCTOR_VIDEO_TRANSCRIBE_COMMAND` in `env` (what ductor gives the agent's
    /// CLI), else from `config`.
    pub fn new(
        paths: AgentPaths,
        config: &AgentConfig,
        cwd: PathBuf,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Self {
        let pick = |var: &str, configured: &str| {
            env(var)
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| configured.to_owned())
        };
        Self {
            access: FileAccess::new(config, &paths),
            audio_command: pick(
                "DUCTOR_TRANSCRIBE_COMMAND",
                &config.transcription.audio_command,
            ),
            video_command: pick(
                "DUCTOR_VIDEO_TRANSCRIBE_COMMAND",
                &config.transcription.video_command,
            ),
            sandboxed: env(crate::sandbox::container::RUN_MARK).is_some(),
            paths,
            cwd,
        }
    }

    /// The agent's paths.
    pub fn paths(&self) -> &AgentPaths {
        &self.paths
    }

    /// Opens the file `raw` names, if the agent may read it.
    pub fn open(&self, raw: &str) -> Result<Opened, String> {
        let first = self.access.open(raw, &self.cwd);
        let result = match first {
            Err(Refusal::Missing) if Path::new(raw.trim()).is_relative() => {
                self.access.open(raw, &self.paths.workspace())
            }
            other => other,
        };
        result.map_err(|r| match r {
            Refusal::Missing => format!("no such file: {raw}"),
            Refusal::Outside => format!(
                "{raw} is outside the folders this agent may read (file_access), or a symlink"
            ),
            Refusal::Secret => {
                format!("{raw} holds secrets (config, tokens, credentials): refused")
            }
        })
    }
}

/// The MIME type of an opened file, from its first bytes (refined by its name). Reads
/// at an offset: the file's position stays at its start.
fn sniff(opened: &Opened) -> Result<String, String> {
    let name = opened.path.file_name().and_then(|n| n.to_str());
    super::mime::sniff_file(&opened.file, name)
        .map_err(|e| format!("cannot read {}: {e}", opened.path.display()))
}

/// The path as shown to the agent: relative to the workspace when inside it.
fn shown(paths: &AgentPaths, path: &Path) -> Option<String> {
    let workspace = crate::access::real(&paths.workspace());
    path.strip_prefix(&workspace)
        .ok()
        .map(|p| p.display().to_string())
}
