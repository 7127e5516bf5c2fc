//! `ductor media info|list|read|video|transcribe`: the media tools an agent's CLI
//! runs on the files the user sent (§9.6 `media_tools`; the work is in
//! [`crate::chat::media::tools`]). The agent comes from `--agent`, else
//! `DUCTOR_AGENT_NAME`, else `main`; its file rules and transcription hooks from
//! its config. Output is pretty JSON on stdout; a refusal or failure goes to
//! stderr with exit code 1.

use super::caller::home_of;
use crate::chat::media::tools::{self, ListQuery, Tools};
use clap::{Args, Subcommand};
use serde_json::Value;
use std::path::Path;

/// `ductor media ...`.
#[derive(Debug, Subcommand)]
pub enum MediaCommand {
    /// Type (from the content), size and time of a file; width and height of a
    /// picture; duration and streams of a recording (with ffprobe).
    Info {
        /// The file (absolute, or relative to the current folder or the workspace).
        file: String,
    },
    /// The files the user sent, newest first (from the media index).
    List(ListArgs),
    /// The text of a document: text files, PDF, DOCX.
    Read {
        /// The file.
        file: String,
        /// Read at most this many pages of a PDF.
        #[arg(long, default_value_t = 50, value_name = "N")]
        max_pages: u32,
    },
    /// A video: metadata, still frames (with ffmpeg) and a transcript (with the
    /// configured transcription command).
    Video {
        /// The file.
        file: String,
        /// How many frames to take, at even intervals.
        #[arg(long, default_value_t = 6, value_name = "N")]
        frames: u32,
    },
    /// The transcript of a voice note, audio or video file, through the configured
    /// transcription command.
    Transcribe {
        /// The file.
        file: String,
    },
}

/// `ductor media list` arguments.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this kind: image, audio, video, application, text, or a full type
    /// (application/pdf).
    #[arg(long = "type", value_name = "KIND")]
    pub kind: Option<String>,
    /// Only files received on this day (YYYY-MM-DD, UTC).
    #[arg(long, value_name = "DATE")]
    pub date: Option<String>,
    /// At most this many files.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub limit: usize,
}

/// Runs `ductor media <cmd>` for `agent`; returns the exit code.
pub async fn run(home_flag: Option<&Path>, agent: Option<&str>, cmd: MediaCommand) -> i32 {
    match execute(home_flag, agent, cmd).await {
        Ok(out) => {
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
            0
        }
        Err(e) => {
            eprintln!("ductor media: {e}");
            1
        }
    }
}

/// Whether `a` and `b` name the same directory (as given when either is missing).
fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

async fn execute(
    home_flag: Option<&Path>,
    agent: Option<&str>,
    cmd: MediaCommand,
) -> Result<Value, String> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    // Run by an agent's CLI (its environment names the agent and the home), the flags
    // cannot borrow another agent's or another home's file rules.
    if let (Some(flag), Some(own)) = (agent, var("DUCTOR_AGENT_NAME"))
        && flag != own
    {
        return Err(format!(
            "this runs for agent `{own}` (DUCTOR_AGENT_NAME): --agent {flag} is not allowed"
        ));
    }
    if let (Some(flag), Some(root)) = (home_flag, var("DUCTOR_ROOT"))
        && !same_dir(flag, Path::new(&root))
    {
        return Err(format!(
            "this runs in the home {root} (DUCTOR_ROOT): --home {} is not allowed",
            flag.display()
        ));
    }
    let home = home_of(home_flag, &var);
    let name = agent
        .map(str::to_owned)
        .or_else(|| var("DUCTOR_AGENT_NAME"))
        .unwrap_or_else(|| crate::paths::MAIN_AGENT.into());
    if let Some(problem) = (name != crate::paths::MAIN_AGENT)
        .then(|| crate::config::agents::name_problem(&name))
        .flatten()
    {
        return Err(format!("agent `{name}`: {problem}"));
    }
    let paths = home.agent(&name);
    // An unreadable config gives the strictest file rules, not the loosest.
    let config = match crate::config::reload::read_effective(&home, &name) {
        Ok(Some(config)) => config,
        Ok(None) | Err(_) => crate::config::AgentConfig {
            file_access: "workspace".into(),
            ..Default::default()
        },
    };
    let cwd = std::env::current_dir().unwrap_or_else(|_| paths.workspace());
    let tools = Tools::new(paths, &config, cwd, &var);
    match cmd {
        MediaCommand::Info { file } => tools::info(&tools, &file).await,
        MediaCommand::Read { file, max_pages } => {
            let max_pages = max_pages.max(1);
            let owned = tools.clone();
            tokio::task::spawn_blocking(move || tools::read(&owned, &file, max_pages))
                .await
                .map_err(|e| format!("reading failed: {e}"))?
        }
        MediaCommand::Video { file, frames } => tools::video(&tools, &file, frames).await,
        MediaCommand::Transcribe { file } => tools::transcribe(&tools, &file).await,
        MediaCommand::List(args) => tools::list(
            tools.paths(),
            &ListQuery {
                kind: args.kind,
                date: args.date,
                limit: args.limit,
            },
        ),
    }
}
