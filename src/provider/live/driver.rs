//! A live CLI process: spawned in its own process group with stdin and stdout piped,
//! its stdout lines fed through a [`LiveCodec`], the codec's lines written to its
//! stdin. [`LiveProcess::shutdown`] (and dropping it) leaves no process behind.

use super::{Answer, LiveCodec, LiveEvent, StartSpec};
use nix::sys::signal::Signal;
use std::collections::VecDeque;
use std::io;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin};
use tokio::sync::mpsc;

/// Longest stdout line taken (a longer one is dropped with a warning event).
const MAX_LINE: usize = 16 * 1024 * 1024;
/// Bytes of stderr kept for error messages.
const STDERR_TAIL: usize = 8 * 1024;
/// How long [`LiveProcess::shutdown`] waits after closing stdin before killing.
const GRACE: Duration = Duration::from_secs(3);

/// One running live CLI.
pub struct LiveProcess {
    child: Child,
    pgid: i32,
    stdin: Option<ChildStdin>,
    codec: Box<dyn LiveCodec>,
    lines: mpsc::Receiver<String>,
    pending: VecDeque<LiveEvent>,
    stderr: Arc<Mutex<VecDeque<u8>>>,
}

impl LiveProcess {
    /// Spawns `cmd` (a `std` or `tokio` command; its stdio is replaced by pipes) and
    /// writes the codec's start.
    pub async fn spawn(
        cmd: impl Into<tokio::process::Command>,
        mut codec: Box<dyn LiveCodec>,
        spec: &StartSpec,
    ) -> io::Result<Self> {
        let mut cmd: tokio::process::Command = cmd.into();
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = cmd.spawn()?;
        let pgid = child
            .id()
            .and_then(|p| i32::try_from(p).ok())
            .ok_or_else(|| io::Error::other("the CLI exited at once"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("no stdout"))?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| io::Error::other("no stderr"))?;
        let (tx, lines) = mpsc::channel(256);
        tokio::spawn(read_lines(stdout, tx));
        let tail = Arc::new(Mutex::new(VecDeque::with_capacity(STDERR_TAIL)));
        tokio::spawn(keep_tail(stderr, Arc::clone(&tail)));
        let first = codec.start(spec);
        let mut me = Self {
            stdin: child.stdin.take(),
            child,
            pgid,
            codec,
            lines,
            pending: VecDeque::new(),
            stderr: tail,
        };
        me.write(&first).await?;
        Ok(me)
    }

    async fn write(&mut self, lines: &[String]) -> io::Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| io::Error::new(io::ErrorKind::BrokenPipe, "stdin is closed"))?;
        let mut buf = String::new();
        for line in lines {
            buf.push_str(line);
            buf.push('\n');
        }
        stdin.write_all(buf.as_bytes()).await?;
        stdin.flush().await
    }

    /// The next event; `None` once the process closed its stdout (it ended).
    pub async fn next(&mut self) -> Option<LiveEvent> {
        loop {
            if let Some(ev) = self.pending.pop_front() {
                return Some(ev);
            }
            let line = self.lines.recv().await?;
            let mut out = Vec::new();
            let replies = self.codec.on_line(&line, &mut out);
            self.pending.extend(out);
            if let Err(e) = self.write(&replies).await {
                tracing::debug!(error = %e, "cannot write a reply to the live CLI");
            }
        }
    }

    /// Sends a user turn.
    pub async fn send_turn(&mut self, text: &str) -> io::Result<()> {
        let lines = self.codec.send_turn(text);
        self.write(&lines).await
    }

    /// Answers the pending ask `id`.
    pub async fn answer(&mut self, id: &str, answer: &Answer) -> Result<(), String> {
        let lines = self.codec.answer(id, answer)?;
        self.write(&lines).await.map_err(|e| e.to_string())
    }

    /// Interrupts the running turn.
    pub async fn interrupt(&mut self) -> io::Result<()> {
        let lines = self.codec.interrupt();
        self.write(&lines).await
    }

    /// Adds `text` to the running turn; `false` when the protocol cannot.
    pub async fn steer(&mut self, text: &str) -> io::Result<bool> {
        match self.codec.steer(text) {
            Some(lines) => self.write(&lines).await.map(|()| true),
            None => Ok(false),
        }
    }

    /// Whether the CLI has exited (it is reaped then).
    pub fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// The process group id (= the CLI's pid).
    pub fn pgid(&self) -> i32 {
        self.pgid
    }

    /// Resident memory of the CLI's whole process group, in KiB (Linux; 0 elsewhere).
    pub fn rss_kib(&self) -> u64 {
        group_rss_kib(self.pgid)
    }

    /// The last bytes the CLI wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        let tail = self
            .stderr
            .lock()
            .map(|t| t.iter().copied().collect::<Vec<u8>>())
            .unwrap_or_default();
        String::from_utf8_lossy(&tail).into_owned()
    }

    /// Ends the process: closes stdin (the CLIs exit on end of input), waits
    /// three seconds, then kills the whole group; always reaps. Returns the exit code
    /// when it exited by itself.
    pub async fn shutdown(mut self) -> Option<i32> {
        drop(self.stdin.take());
        let code = match tokio::time::timeout(GRACE, self.child.wait()).await {
            Ok(Ok(status)) => status.code(),
            _ => None,
        };
        // Whatever the CLI started in its group goes too.
        crate::procs::signal_group(self.pgid, Signal::SIGKILL);
        let _ = self.child.wait().await;
        code
    }
}

impl Drop for LiveProcess {
    fn drop(&mut self) {
        // kill_on_drop ends the CLI itself; its children go with the group.
        crate::procs::signal_group(self.pgid, Signal::SIGKILL);
    }
}

/// RSS of every process in the group `pgid`, in KiB, from `/proc`.
pub fn group_rss_kib(pgid: i32) -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut total = 0;
    for entry in dir.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The process group is the third field after the parenthesised command name.
        let group = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(2))
            .and_then(|g| g.parse::<i32>().ok());
        if group != Some(pgid) {
            continue;
        }
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        total += status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
    }
    total
}

async fn read_lines(stdout: tokio::process::ChildStdout, tx: mpsc::Sender<String>) {
    let mut reader = BufReader::new(stdout);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
            .await
        {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if buf.len() > MAX_LINE && buf.last() != Some(&b'\n') {
            // Skip the rest of an over-long line.
            let mut rest = Vec::new();
            if reader.read_until(b'\n', &mut rest).await.is_err() {
                return;
            }
            tracing::warn!("a live CLI wrote a line over {MAX_LINE} bytes; skipped");
            continue;
        }
        let line = String::from_utf8_lossy(&buf).trim_end().to_owned();
        if !line.is_empty() && tx.send(line).await.is_err() {
            return;
        }
    }
}

async fn keep_tail(mut stderr: tokio::process::ChildStderr, tail: Arc<Mutex<VecDeque<u8>>>) {
    let mut buf = [0u8; 4096];
    loop {
        match stderr.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if let Ok(mut t) = tail.lock() {
                    for b in &buf[..n] {
                        if t.len() == STDERR_TAIL {
                            t.pop_front();
                        }
                        t.push_back(*b);
                    }
                }
            }
        }
    }
}
