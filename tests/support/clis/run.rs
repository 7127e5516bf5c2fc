//! Running a CLI and collecting its output: [`CliRun`] owns one CLI process (its own process
//! group), collects stdout as JSON lines while it runs, can signal it, and ends as a
//! [`CliOutput`]. At most [`MAX_CONCURRENT`] CLI processes run at once per test binary.

use std::fmt;
use std::process::ExitStatus;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, BufReader};
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::task::JoinHandle;

/// CLI processes allowed at once in one test binary: each takes 150–300 MB and a good share of
/// a CPU while it starts, and CI machines have 2 cores.
pub const MAX_CONCURRENT: usize = 3;
static SLOTS: Semaphore = Semaphore::const_new(MAX_CONCURRENT);

/// A running CLI (see the module docs). Dropping it SIGKILLs its process group.
pub struct CliRun {
    child: tokio::process::Child,
    pgid: Pid,
    lines: Arc<Mutex<Vec<Value>>>,
    stdout: Option<JoinHandle<()>>,
    stderr: Option<JoinHandle<String>>,
    started: Instant,
    label: String,
    _slot: SemaphorePermit<'static>,
}

impl CliRun {
    /// Spawns `command` (from `CliEnv::command`: piped stdout/stderr, own process group) once a
    /// slot is free. `label` names the run in failure messages.
    pub async fn start(mut command: tokio::process::Command, label: impl Into<String>) -> Self {
        let label = label.into();
        let slot = SLOTS
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("spawn `{label}`: {e}"));
        let pid = child.id().expect("a just-spawned child has a pid") as i32;
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().expect("stdout must be piped");
        let stderr = child.stderr.take().expect("stderr must be piped");
        let sink = Arc::clone(&lines);
        Self {
            child,
            pgid: Pid::from_raw(pid),
            lines,
            stdout: Some(tokio::spawn(collect_lines(stdout, sink))),
            stderr: Some(tokio::spawn(async move {
                let mut text = String::new();
                let mut stderr = stderr;
                let _ = stderr.read_to_string(&mut text).await;
                text
            })),
            started: Instant::now(),
            label,
            _slot: slot,
        }
    }

    /// The process id, which is also its process group id.
    pub fn pid(&self) -> i32 {
        self.pgid.as_raw()
    }

    /// The stdout lines so far (JSON, or a JSON string for a line that is not JSON).
    pub fn lines(&self) -> Vec<Value> {
        lock(&self.lines).clone()
    }

    /// Waits until a stdout line matches `found` and returns it; panics after `timeout`.
    pub async fn wait_for_line(&self, found: impl Fn(&Value) -> bool, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = lock(&self.lines).iter().find(|l| found(l)) {
                return line.clone();
            }
            assert!(
                Instant::now() < deadline,
                "{}: expected line not seen after {timeout:?}; stdout: {:?}",
                self.label,
                self.lines()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Sends `signal` to the CLI, or to its whole process group.
    pub fn signal(&self, signal: Signal, group: bool) {
        let sent = if group {
            killpg(self.pgid, signal)
        } else {
            kill(self.pgid, signal)
        };
        sent.unwrap_or_else(|e| panic!("{}: send {signal}: {e}", self.label));
    }

    /// Waits for the exit and the end of its output; after `timeout` SIGKILLs the group and
    /// panics with the output so far.
    pub async fn finish(mut self, timeout: Duration) -> CliOutput {
        let Ok(status) = tokio::time::timeout(timeout, self.child.wait()).await else {
            let _ = killpg(self.pgid, Signal::SIGKILL);
            panic!(
                "{}: still running after {timeout:?}; stdout so far: {:?}",
                self.label,
                self.lines()
            );
        };
        let status = status.unwrap_or_else(|e| panic!("{}: wait: {e}", self.label));
        let elapsed = self.started.elapsed();
        // Helpers left in the group would keep the pipes open: stop them so the readers end.
        let _ = killpg(self.pgid, Signal::SIGKILL);
        let grace = Duration::from_secs(5);
        if let Some(stdout) = self.stdout.take() {
            let _ = tokio::time::timeout(grace, stdout).await;
        }
        let stderr = match self.stderr.take() {
            Some(task) => tokio::time::timeout(grace, task)
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default(),
            None => String::new(),
        };
        CliOutput {
            lines: self.lines(),
            stderr,
            status,
            elapsed,
            label: self.label.clone(),
        }
    }
}

impl Drop for CliRun {
    fn drop(&mut self) {
        // Never leave a CLI (or gemini's relaunched child) behind, even when a test panics.
        let _ = killpg(self.pgid, Signal::SIGKILL);
    }
}

fn lock(lines: &Mutex<Vec<Value>>) -> MutexGuard<'_, Vec<Value>> {
    lines
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Reads `stdout` line by line (bytes, so invalid UTF-8 cannot end the reading early).
async fn collect_lines(stdout: tokio::process::ChildStdout, sink: Arc<Mutex<Vec<Value>>>) {
    let mut reader = BufReader::new(stdout);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let value = match reader.read_until(b'\n', &mut buf).await {
            Ok(0) => return,
            Ok(_) => {
                let line = String::from_utf8_lossy(&buf).trim_end().to_owned();
                serde_json::from_str(&line).unwrap_or(Value::String(line))
            }
            Err(e) => Value::String(format!("<stdout read error: {e}>")),
        };
        let failed = value
            .as_str()
            .is_some_and(|s| s.starts_with("<stdout read error"));
        lock(&sink).push(value);
        if failed {
            return;
        }
    }
}

/// A finished CLI run.
pub struct CliOutput {
    /// Stdout lines: JSON, or a JSON string for a line that is not JSON.
    pub lines: Vec<Value>,
    /// All of stderr.
    pub stderr: String,
    /// How it ended.
    pub status: ExitStatus,
    /// From spawn to exit.
    pub elapsed: Duration,
    /// The label given to [`CliRun::start`].
    pub label: String,
}

impl CliOutput {
    /// Lines whose `type` is `kind`.
    pub fn of_type(&self, kind: &str) -> Vec<&Value> {
        self.lines.iter().filter(|l| l["type"] == kind).collect()
    }

    /// The last line whose `type` is `kind`; panics (showing the run) when there is none.
    pub fn last_of_type(&self, kind: &str) -> &Value {
        self.lines
            .iter()
            .rev()
            .find(|l| l["type"] == kind)
            .unwrap_or_else(|| panic!("no `{kind}` line: {self}"))
    }
}

/// The run for failure messages: label, exit, stdout lines (cut at 400 chars), end of stderr.
impl fmt::Display for CliOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "`{}` exited {} after {:?}",
            self.label, self.status, self.elapsed
        )?;
        for line in &self.lines {
            let text: String = line.to_string().chars().take(400).collect();
            writeln!(f, "  {text}")?;
        }
        let skip = self.stderr.chars().count().saturating_sub(2000);
        let tail: String = self.stderr.chars().skip(skip).collect();
        write!(f, "stderr: {tail}")
    }
}
