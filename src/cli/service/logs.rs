//! `ductor service logs` without a journal: the last lines of a log file, then what
//! is appended to it, across the size-based rotation of `crate::logging` (the file
//! is renamed away and a new one created).

use super::Console;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

/// Bytes read from the end of the file to find the last lines.
const TAIL_WINDOW: u64 = 4 * 1024 * 1024;

/// Prints the last `lines` lines of `path`, then (with `follow`) what is written to
/// it until interrupted. Returns the exit code.
pub fn show(path: &Path, lines: usize, follow: bool, con: &mut Console<'_>) -> i32 {
    let pos = match tail(path, lines, con) {
        Ok(pos) => pos,
        Err(e) if e.kind() == io::ErrorKind::NotFound && follow => {
            con.warn(format!(
                "{} does not exist yet; waiting for it",
                path.display()
            ));
            None
        }
        Err(e) => {
            con.warn(format!("cannot read {}: {e}", path.display()));
            return 1;
        }
    };
    if follow {
        follow_until(path, pos, con, Duration::from_millis(500), &mut || false);
    }
    0
}

/// Prints the last `lines` lines of `path`; returns the file's identity and the
/// offset printed up to.
pub fn tail(path: &Path, lines: usize, con: &mut Console<'_>) -> io::Result<Option<(u64, u64)>> {
    let mut file = File::open(path)?;
    let meta = file.metadata()?;
    let len = meta.len();
    let start = len.saturating_sub(TAIL_WINDOW);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.by_ref().take(len - start).read_to_end(&mut bytes)?;
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    if start > 0 {
        // The window began mid-line: drop that partial line.
        text = text
            .split_once('\n')
            .map_or_else(String::new, |(_, rest)| rest.to_owned());
    }
    let all: Vec<&str> = text.lines().collect();
    for line in &all[all.len().saturating_sub(lines)..] {
        con.say(line);
    }
    Ok(Some((meta.ino(), start + bytes.len() as u64)))
}

/// Prints what is appended to `path` from `from` (`(inode, offset)`; `None`: from
/// the start of whatever file appears), polling every `poll`, until `stop` says so.
/// A file replaced by rotation, or truncated, is read again from its start.
pub fn follow_until(
    path: &Path,
    mut from: Option<(u64, u64)>,
    con: &mut Console<'_>,
    poll: Duration,
    stop: &mut dyn FnMut() -> bool,
) {
    let mut pending = Vec::new();
    while !stop() {
        if let Ok(mut file) = File::open(path)
            && let Ok(meta) = file.metadata()
        {
            let offset = match from {
                Some((ino, off)) if ino == meta.ino() && off <= meta.len() => off,
                _ => 0,
            };
            let mut buf = Vec::new();
            if file.seek(SeekFrom::Start(offset)).is_ok() && file.read_to_end(&mut buf).is_ok() {
                from = Some((meta.ino(), offset + buf.len() as u64));
                pending.extend_from_slice(&buf);
                // Whole lines only; a line still being written waits for its end.
                if let Some(end) = pending.iter().rposition(|&b| b == b'\n') {
                    let _ = con.out.write_all(&pending[..=end]);
                    let _ = con.out.flush();
                    pending.drain(..=end);
                }
            }
        }
        std::thread::sleep(poll);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn console<'a>(out: &'a mut Vec<u8>, err: &'a mut Vec<u8>) -> Console<'a> {
        Console { out, err }
    }

    #[test]
    fn tail_prints_the_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("agent.log");
        let text: String = (1..=30)
            .map(|i| format!("line {i}"))
            .collect::<Vec<_>>()
            .join("\n")
            + "\n";
        std::fs::write(&log, &text).unwrap();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let pos = tail(&log, 3, &mut console(&mut out, &mut err)).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "line 28\nline 29\nline 30\n"
        );
        assert_eq!(pos.unwrap().1, text.len() as u64);
    }

    #[test]
    fn a_missing_file_without_follow_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = show(
            &dir.path().join("agent.log"),
            10,
            false,
            &mut console(&mut out, &mut err),
        );
        assert_eq!(code, 1);
        assert!(String::from_utf8(err).unwrap().contains("cannot read"));
    }

    #[test]
    fn follow_prints_appended_lines_across_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("agent.log");
        std::fs::write(&log, "old 1\nold 2\n").unwrap();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut con = console(&mut out, &mut err);
        let pos = tail(&log, 1, &mut con).unwrap();
        let mut round = 0;
        let mut stop = || {
            round += 1;
            let append = |s: &str| {
                let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
                f.write_all(s.as_bytes()).unwrap();
            };
            match round {
                1 => append("new 1\nhalf"),
                2 => append(" done\n"),
                3 => {
                    std::fs::rename(&log, dir.path().join("agent.log.1")).unwrap();
                    std::fs::write(&log, "rotated 1\n").unwrap();
                }
                _ => return true,
            }
            false
        };
        follow_until(&log, pos, &mut con, Duration::from_millis(1), &mut stop);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "old 2\nnew 1\nhalf done\nrotated 1\n"
        );
    }
}
