//! Transcription hooks (`transcription.audio_command` / `video_command`): the
//! configured command runs without a shell, with the media file's path appended as
//! the last argument; its standard output is the transcript.
//!
//! The command string is split like a POSIX shell splits words, without any
//! expansion: whitespace separates arguments, `'…'` is literal, `"…"` allows `\"`
//! and `\\`, and a backslash outside quotes escapes the next character. Nothing is
//! interpreted otherwise (`$VAR`, `~`, `|`, `>` are plain characters): wrap the
//! command in `sh -c '…' sh` explicitly when a shell is wanted (the path is then `$1`).
//!
//! The command runs in the workspace with the agent's environment, a null stdin,
//! in its own process group, and is killed (the whole group) after [`TIMEOUT`].

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

/// How long a transcription may take.
pub const TIMEOUT: Duration = Duration::from_mins(5);
/// Longest transcript kept (bytes); the rest is cut.
pub const MAX_TRANSCRIPT: usize = 64 * 1024;
/// Stderr kept for the log line of a failure.
const MAX_STDERR: usize = 2048;

/// Why a transcription produced nothing.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TranscribeError {
    /// The command string cannot be split (unclosed quote) or is empty.
    #[error("transcription command is malformed: {0}")]
    BadCommand(String),
    /// It could not be started.
    #[error("cannot start `{program}`: {detail}")]
    Spawn {
        /// The program.
        program: String,
        /// The OS error.
        detail: String,
    },
    /// It took too long and was killed.
    #[error("timed out after {} s", TIMEOUT.as_secs())]
    Timeout,
    /// It exited unsuccessfully.
    #[error("exited with {status}: {stderr}")]
    Failed {
        /// Exit status.
        status: String,
        /// The end of its stderr.
        stderr: String,
    },
    /// It succeeded but printed nothing.
    #[error("produced no transcript")]
    Empty,
}

/// Splits a command line into words (see the module docs); errors on an unclosed quote.
pub fn split_command(line: &str) -> Result<Vec<String>, TranscribeError> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(TranscribeError::BadCommand("unclosed '".into())),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => {
                                return Err(TranscribeError::BadCommand("unclosed \"".into()));
                            }
                        },
                        Some(c) => word.push(c),
                        None => return Err(TranscribeError::BadCommand("unclosed \"".into())),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    word.push(c);
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    if words.is_empty() {
        return Err(TranscribeError::BadCommand("empty".into()));
    }
    Ok(words)
}

fn lossy_cut(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `command` on `file` in `cwd`; the trimmed transcript or why there is none.
pub async fn run(
    command: &str,
    file: &Path,
    cwd: &Path,
    timeout: Duration,
) -> Result<String, TranscribeError> {
    let argv = split_command(command)?;
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| TranscribeError::BadCommand("empty".into()))?;
    let child = Command::new(program)
        .args(args)
        .arg(file)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| TranscribeError::Spawn {
            program: program.clone(),
            detail: e.to_string(),
        })?;
    let Some(crate::procs::Finished {
        status,
        stdout: out,
        stderr: err,
    }) = crate::procs::finish_within(child, timeout, MAX_TRANSCRIPT).await
    else {
        return Err(TranscribeError::Timeout);
    };
    let status = status.map_err(|e| TranscribeError::Failed {
        status: "an unknown status".into(),
        stderr: e.to_string(),
    })?;
    if !status.success() {
        return Err(TranscribeError::Failed {
            status: status.to_string(),
            stderr: lossy_cut(&err[..err.len().min(MAX_STDERR)])
                .trim()
                .to_owned(),
        });
    }
    let text = lossy_cut(&out).trim().to_owned();
    if text.is_empty() {
        return Err(TranscribeError::Empty);
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitting_without_a_shell() {
        let s = |l: &str| split_command(l).unwrap();
        assert_eq!(s("whisper --model base"), ["whisper", "--model", "base"]);
        assert_eq!(
            s("  a   'b c'  \"d \\\"e\\\" \\n\" f\\ g "),
            ["a", "b c", "d \"e\" \\n", "f g"]
        );
        assert_eq!(
            s("echo $HOME ~ | x > y"),
            ["echo", "$HOME", "~", "|", "x", ">", "y"]
        );
        assert_eq!(s("a''b \"\""), ["ab", ""]);
        assert!(split_command("a 'b").is_err());
        assert!(split_command("a \"b").is_err());
        assert!(split_command("   ").is_err());
    }

    #[tokio::test]
    async fn transcript_is_stdout_with_the_file_appended() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("voice note.ogg");
        std::fs::write(&file, "x").unwrap();
        let got = run("sh -c 'echo \"heard: $1\"' sh", &file, dir.path(), TIMEOUT).await;
        assert_eq!(got, Ok(format!("heard: {}", file.display())));
    }

    #[tokio::test]
    async fn failures_are_typed() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.ogg");
        let run = |cmd: &'static str, t: Duration| {
            let (f, d) = (f.clone(), dir.path().to_owned());
            async move { run(cmd, &f, &d, t).await }
        };
        assert!(matches!(
            run("sh -c 'echo oops >&2; exit 3' sh", TIMEOUT).await,
            Err(TranscribeError::Failed { stderr, .. }) if stderr == "oops"
        ));
        assert_eq!(run("true", TIMEOUT).await, Err(TranscribeError::Empty));
        assert!(matches!(
            run("/no/such/transcriber", TIMEOUT).await,
            Err(TranscribeError::Spawn { .. })
        ));
        let started = std::time::Instant::now();
        assert_eq!(
            run("sh -c 'sleep 30' sh", Duration::from_millis(300)).await,
            Err(TranscribeError::Timeout)
        );
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[tokio::test]
    async fn long_output_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.ogg");
        let got = run(
            "sh -c 'yes transcript | head -c 1000000' sh",
            &f,
            dir.path(),
            TIMEOUT,
        )
        .await
        .unwrap();
        assert!(got.len() <= MAX_TRANSCRIPT && got.len() > MAX_TRANSCRIPT - 100);
    }
}
