//! Running one CLI turn: spawn (through the per-run reaper), read bounded stdout
//! lines into the provider parser, keep a stderr tail, enforce the timeout with
//! activity extension, cancel the way each CLI expects, and decide the outcome.
//! When `run` returns, no process started for the turn is left.

use super::ProviderKind;
use super::command::Invocation;
use super::event::{Event, FailureKind, Outcome};
use super::parse::{self, RunEnd};
use nix::sys::signal::Signal;
use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::process::Command;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Longest stdout line accepted (4 MiB); longer lines become a warning event.
pub const MAX_LINE: usize = 4 * 1024 * 1024;
/// Grace period between the polite stop signal and SIGKILL of the group.
pub const CANCEL_GRACE: Duration = Duration::from_secs(5);
/// Output seen this recently lets a timeout be extended.
pub const ACTIVITY_WINDOW: Duration = Duration::from_secs(30);
const STDERR_TAIL_BYTES: usize = 8 * 1024;
/// How long output may still arrive after the CLI exited (a leftover holding its pipes
/// must not keep the turn open).
pub const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// The timeout of a turn (`timeouts` config block).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeoutPolicy {
    /// Base deadline.
    pub base: Duration,
    /// Extend while the CLI is still producing output.
    pub extend_on_activity: bool,
    /// Time added per extension.
    pub extension: Duration,
    /// Maximum number of extensions.
    pub max_extensions: u32,
}

impl TimeoutPolicy {
    /// A fixed deadline without extensions.
    pub fn fixed(base: Duration) -> Self {
        Self {
            base,
            extend_on_activity: false,
            extension: Duration::ZERO,
            max_extensions: 0,
        }
    }
}

/// One turn to run.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// Which CLI (decides the parser and how to cancel).
    pub provider: ProviderKind,
    /// The command to run.
    pub invocation: Invocation,
    /// Working directory (the agent workspace or a bound project root).
    pub cwd: PathBuf,
    /// The complete child environment.
    pub env: Vec<(OsString, OsString)>,
    /// Deadline policy.
    pub timeout: TimeoutPolicy,
    /// `ductor-agent` executable used as per-run reaper; `None` runs the CLI directly.
    pub reaper: Option<PathBuf>,
    /// Whether the started child ends like a shell's command: 126 or 127 when the CLI
    /// could not be started, `128 + n` when the CLI was killed by signal `n` (the per-run
    /// reaper; `bwrap` with the reaper inside; an engine's `exec`).
    pub shell_status: bool,
    /// How stop signals reach the run's processes; `None` signals the process group
    /// of the started child (right on the host; a sandbox knows better).
    pub signals: Option<std::sync::Arc<dyn RunSignals>>,
}

/// Delivers stop signals to the processes of one run when the started child is not
/// the whole story: a container engine's client does not forward signals into the
/// container, and `bwrap` dies on them (which would kill its sandbox before the CLI
/// could end cleanly).
pub trait RunSignals: Send + Sync + std::fmt::Debug {
    /// Sends `sig` to the run's processes; `pgid` is the process group of the child
    /// the runner started. `SIGKILL` must leave none of them alive (eventually: it may
    /// act in the background; the launcher's own clean-up makes it certain).
    fn signal(&self, pgid: i32, sig: Signal);
}

/// Finds `program` on the `PATH` of `env`.
pub fn resolve_program(program: &str, env: &[(OsString, OsString)]) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(PathBuf::from(program)).filter(|p| p.is_file());
    }
    let path = super::env::get(env, "PATH")?.to_string_lossy().into_owned();
    super::auth::which(program, &path)
}

/// Reads `\n`-terminated lines of at most `max` bytes; longer lines are skipped
/// (reported as `Err(len)`) without buffering them.
struct BoundedLines<R> {
    reader: BufReader<R>,
    max: usize,
    buf: Vec<u8>,
}

impl<R: AsyncRead + Unpin> BoundedLines<R> {
    fn new(inner: R, max: usize) -> Self {
        Self {
            reader: BufReader::with_capacity(8 * 1024, inner),
            max,
            buf: Vec::new(),
        }
    }

    /// `Ok(Some(line))`, `Ok(None)` at EOF, `Err(n)` for an overlong line of `n`+ bytes.
    async fn next(&mut self) -> std::io::Result<Option<Result<String, usize>>> {
        self.buf.clear();
        let mut skipped = 0usize;
        loop {
            let chunk = self.reader.fill_buf().await?;
            if chunk.is_empty() {
                if skipped > 0 {
                    return Ok(Some(Err(skipped)));
                }
                if self.buf.is_empty() {
                    return Ok(None);
                }
                return Ok(Some(Ok(String::from_utf8_lossy(&self.buf).into_owned())));
            }
            let (take, done) = match memchr(chunk) {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            if skipped > 0 || self.buf.len() + take > self.max + 1 {
                skipped += self.buf.len() + take;
                self.buf.clear();
            } else {
                self.buf.extend_from_slice(&chunk[..take]);
            }
            self.reader.consume(take);
            if done {
                if skipped > 0 {
                    return Ok(Some(Err(skipped)));
                }
                if self.buf.last() == Some(&b'\n') {
                    self.buf.pop();
                }
                if self.buf.last() == Some(&b'\r') {
                    self.buf.pop();
                }
                return Ok(Some(Ok(String::from_utf8_lossy(&self.buf).into_owned())));
            }
        }
    }
}

fn memchr(hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == b'\n')
}

async fn read_tail<R: AsyncRead + Unpin>(mut r: R) -> String {
    let mut tail: VecDeque<u8> = VecDeque::with_capacity(STDERR_TAIL_BYTES);
    let mut buf = [0u8; 8192];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                for &b in &buf[..n] {
                    if tail.len() == STDERR_TAIL_BYTES {
                        tail.pop_front();
                    }
                    tail.push_back(b);
                }
            }
        }
    }
    let bytes: Vec<u8> = tail.into_iter().collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The signal each CLI stops cleanly on, and whether it goes to the whole group.
fn polite_signal(provider: ProviderKind) -> Signal {
    match provider {
        // claude writes a final `result` on SIGINT and kills its own tools.
        ProviderKind::Claude => Signal::SIGINT,
        // codex (native + npm wrapper) and gemini (NO_RELAUNCH) stop on SIGTERM.
        ProviderKind::Codex | ProviderKind::Gemini => Signal::SIGTERM,
    }
}

fn failed(kind: FailureKind, detail: impl Into<String>) -> Outcome {
    Outcome::Failed {
        kind,
        detail: detail.into(),
        session_id: None,
    }
}

/// Runs the turn to its end. Events go to `events` as they are parsed (a closed
/// receiver does not stop the run); `cancel` stops it politely, then by force.
pub async fn run(
    req: RunRequest,
    events: mpsc::Sender<Event>,
    cancel: CancellationToken,
) -> Outcome {
    let outcome = run_inner(&req, &events, &cancel).await;
    for f in &req.invocation.temp_files {
        let _ = std::fs::remove_file(f);
    }
    outcome
}

fn spawn(req: &RunRequest) -> Result<tokio::process::Child, Outcome> {
    let program = &req.invocation.program;
    let mut cmd = command(req)?;
    cmd.spawn().map_err(|e| {
        let kind = if e.kind() == std::io::ErrorKind::NotFound {
            FailureKind::CliMissing
        } else {
            FailureKind::Crashed
        };
        failed(kind, format!("cannot start `{program}`: {e}"))
    })
}

/// The command of `req` (through the per-run reaper when it has one), in its own
/// process group, killed when dropped; a CLI missing from the `PATH` is an error.
pub fn command(req: &RunRequest) -> Result<Command, Outcome> {
    let program = &req.invocation.program;
    let Some(resolved) = resolve_program(program, &req.env) else {
        return Err(failed(
            FailureKind::CliMissing,
            format!("`{program}` was not found on PATH"),
        ));
    };
    let mut cmd = match &req.reaper {
        Some(reaper) => {
            let mut c = Command::new(reaper);
            c.arg("__reap").arg("--").arg(&resolved);
            c
        }
        None => Command::new(&resolved),
    };
    cmd.args(&req.invocation.args)
        .env_clear()
        .envs(req.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&req.cwd)
        .stdin(if req.invocation.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    Ok(cmd)
}

/// Deadline bookkeeping of one run.
struct Clock {
    started: Instant,
    deadline: Instant,
    extensions: u32,
    last_output: Instant,
    kill_at: Option<Instant>,
}

/// What the timer decided.
enum Tick {
    Nothing,
    Kill,
    TimedOut,
}

impl Clock {
    fn new(policy: &TimeoutPolicy) -> Self {
        let now = Instant::now();
        Self {
            started: now,
            deadline: now + policy.base,
            extensions: 0,
            last_output: now,
            kill_at: None,
        }
    }

    fn next_wake(&self) -> Instant {
        self.kill_at.map_or(self.deadline, |k| k.min(self.deadline))
    }

    fn far() -> Instant {
        Instant::now() + Duration::from_hours(24)
    }

    fn tick(&mut self, policy: &TimeoutPolicy, stopping: bool) -> Tick {
        let now = Instant::now();
        if self.kill_at.is_some_and(|k| now >= k) {
            self.kill_at = None;
            self.deadline = Self::far();
            return Tick::Kill;
        }
        if now < self.deadline {
            return Tick::Nothing;
        }
        if stopping {
            self.deadline = Self::far();
            return Tick::Nothing;
        }
        let active = self.last_output.elapsed() <= ACTIVITY_WINDOW;
        if policy.extend_on_activity && active && self.extensions < policy.max_extensions {
            self.extensions += 1;
            self.deadline += policy.extension;
            tracing::info!(
                extensions = self.extensions,
                "CLI still active; timeout extended"
            );
            return Tick::Nothing;
        }
        self.deadline = Self::far();
        Tick::TimedOut
    }
}

async fn run_inner(
    req: &RunRequest,
    events: &mpsc::Sender<Event>,
    cancel: &CancellationToken,
) -> Outcome {
    let child = match spawn(req) {
        Ok(c) => c,
        Err(outcome) => return outcome,
    };
    let pgid = child.id().map_or(0, |p| p as i32);
    let span = tracing::info_span!("run", cli = %req.invocation.program, pid = pgid);
    tracing::Instrument::instrument(drive(req, events, cancel, child, pgid), span).await
}

/// Events waiting for a slow consumer. The CLI's output is read on regardless: a CLI
/// must never block on a full pipe (claude drops what it could not write at exit).
#[derive(Default)]
struct Backlog {
    pending: std::collections::VecDeque<Event>,
    gone: bool,
}

impl Backlog {
    fn waiting(&self) -> bool {
        !self.pending.is_empty() && !self.gone
    }

    fn push(&mut self, out: &mut Vec<Event>) {
        if self.gone {
            out.clear();
        } else {
            self.pending.extend(out.drain(..));
        }
    }

    fn deliver(&mut self, permit: Result<mpsc::Permit<'_, Event>, mpsc::error::SendError<()>>) {
        if let Ok(permit) = permit {
            if let Some(ev) = self.pending.pop_front() {
                permit.send(ev);
            }
        } else {
            self.gone = true;
            self.pending.clear();
        }
    }

    async fn flush(self, events: &mpsc::Sender<Event>) {
        for ev in self.pending {
            if events.send(ev).await.is_err() {
                break;
            }
        }
    }
}

/// Parses one output line (or notes one skipped for its length) into `out`.
fn on_line(
    line: Result<String, usize>,
    parser: &mut dyn parse::StreamParser,
    out: &mut Vec<Event>,
) {
    match line {
        Ok(line) => parser.line(&line, out),
        Err(len) => {
            tracing::warn!(len, "CLI output line over {MAX_LINE} bytes skipped");
            let message = format!("skipped an output line of {len} bytes (limit {MAX_LINE})");
            out.push(Event::Warning { message });
        }
    }
}

/// Reads, times and ends one started CLI (inside its `run` span).
async fn drive(
    req: &RunRequest,
    events: &mpsc::Sender<Event>,
    cancel: &CancellationToken,
    mut child: tokio::process::Child,
    pgid: i32,
) -> Outcome {
    tracing::debug!(cwd = %req.cwd.display(), "CLI started");
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        send(req, pgid, Signal::SIGKILL);
        return failed(FailureKind::Crashed, "no stdout/stderr pipe");
    };
    if let (Some(mut stdin), Some(input)) = (child.stdin.take(), req.invocation.stdin.clone()) {
        // The prompt goes in through stdin (never in argv, where other users see it);
        // written beside the reading so a CLI that answers early cannot deadlock us.
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            if let Err(e) = stdin.write_all(input.as_bytes()).await {
                tracing::debug!(error = %e, "the CLI closed its stdin early");
            }
            let _ = stdin.shutdown().await;
        });
    }
    let stderr_task = tokio::spawn(read_tail(stderr));
    let mut lines = BoundedLines::new(stdout, MAX_LINE);
    let mut parser = parse::parser_for(req.provider);
    let mut out = Vec::new();
    let mut end = RunEnd::default();
    let mut clock = Clock::new(&req.timeout);
    let mut stdout_open = true;
    let mut exited: Option<std::io::Result<std::process::ExitStatus>> = None;
    let mut drain_until: Option<Instant> = None;
    let mut backlog = Backlog::default();
    let status = loop {
        if let Some(status) = exited.take_if(|_| !stdout_open) {
            break status;
        }
        tokio::select! {
            permit = events.reserve(), if backlog.waiting() => backlog.deliver(permit),
            line = lines.next(), if stdout_open => match line {
                Ok(Some(line)) => {
                    clock.last_output = Instant::now();
                    on_line(line, &mut *parser, &mut out);
                    backlog.push(&mut out);
                }
                Ok(None) | Err(_) => stdout_open = false,
            },
            status = child.wait(), if exited.is_none() => {
                exited = Some(status);
                drain_until = Some(Instant::now() + DRAIN_GRACE);
            }
            () = sleep_opt(drain_until), if exited.is_some() && stdout_open => {
                tracing::warn!("the CLI exited but its output stays open (a leftover process holds it); ending the turn");
                stdout_open = false;
            }
            () = cancel.cancelled(), if !end.cancelled && !end.timed_out => {
                tracing::info!("cancelling CLI run");
                end.cancelled = true;
                send(req, pgid, polite_signal(req.provider));
                clock.kill_at = Some(Instant::now() + CANCEL_GRACE);
            }
            () = tokio::time::sleep_until(clock.next_wake()) => {
                match clock.tick(&req.timeout, end.cancelled || end.timed_out) {
                    Tick::Nothing => {}
                    Tick::Kill => {
                        tracing::warn!("CLI did not stop in time; killing its process group");
                        send(req, pgid, Signal::SIGKILL);
                    }
                    Tick::TimedOut => {
                        tracing::warn!(after = ?clock.started.elapsed(), "CLI run timed out");
                        end.timed_out = true;
                        send(req, pgid, polite_signal(req.provider));
                        clock.kill_at = Some(Instant::now() + Duration::from_secs(2));
                    }
                }
            }
        }
    };
    send(req, pgid, Signal::SIGKILL);
    backlog.flush(events).await;
    let mut stderr_task = stderr_task;
    end.stderr_tail = if let Ok(tail) = tokio::time::timeout(DRAIN_GRACE, &mut stderr_task).await {
        tail.unwrap_or_default()
    } else {
        stderr_task.abort();
        String::new()
    };
    if let Some(missing) = record_exit(req, status, &mut end) {
        return missing;
    }
    let outcome = parser.finish(&end);
    tracing::info!(
        elapsed_ms = clock.started.elapsed().as_millis() as u64,
        exit = ?end.exit_code,
        signal = ?end.signal,
        outcome = outcome_kind(&outcome),
        "CLI run ended"
    );
    outcome
}

/// Fills the exit code/signal into `end` (undoing a shell-like `128 + signal`).
/// Returns an outcome when the CLI could not be started at all.
fn record_exit(
    req: &RunRequest,
    status: std::io::Result<std::process::ExitStatus>,
    end: &mut RunEnd,
) -> Option<Outcome> {
    use std::os::unix::process::ExitStatusExt;
    let st = match status {
        Ok(st) => st,
        Err(e) => {
            tracing::warn!(error = %e, "waiting for the CLI failed");
            return None;
        }
    };
    end.exit_code = st.code();
    end.signal = st.signal();
    if req.shell_status {
        if let Some(code) = st.code().filter(|c| (129..160).contains(c)) {
            end.exit_code = None;
            end.signal = Some(code - 128);
        }
        // 127: not found; 126: found but not executable (an engine's `exec` says 126
        // for both).
        if matches!(st.code(), Some(126 | super::shim::EXIT_NOT_FOUND)) && !end.cancelled {
            return Some(failed(
                FailureKind::CliMissing,
                end.stderr_tail.trim().to_owned(),
            ));
        }
    }
    None
}

fn outcome_kind(o: &Outcome) -> &'static str {
    match o {
        Outcome::Completed { .. } => "completed",
        Outcome::Failed { kind, .. } => kind_name(*kind),
    }
}

/// The snake-case name of a failure kind (as in logs and `run-once` output).
pub fn kind_name(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::AuthExpired => "auth_expired",
        FailureKind::RateLimited => "rate_limited",
        FailureKind::ContextTooLong => "context_too_long",
        FailureKind::SessionNotFound => "session_not_found",
        FailureKind::CliMissing => "cli_missing",
        FailureKind::Timeout => "timeout",
        FailureKind::Cancelled => "cancelled",
        FailureKind::Crashed => "crashed",
        FailureKind::Other => "other",
        FailureKind::SandboxUnavailable => "sandbox_unavailable",
    }
}

/// Sleeps until `at`, or forever.
async fn sleep_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Sends `sig` to the run: through its [`RunSignals`] when it has some, else to the
/// child's process group.
fn send(req: &RunRequest, pgid: i32, sig: Signal) {
    match &req.signals {
        Some(signals) => signals.signal(pgid, sig),
        None => crate::procs::signal_group(pgid, sig),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bounded_lines_skip_overlong_lines() {
        let data = format!("short\n{}\nnext\r\nlast", "x".repeat(100));
        let mut lines = BoundedLines::new(data.as_bytes(), 50);
        assert_eq!(lines.next().await.unwrap(), Some(Ok("short".into())));
        assert!(matches!(lines.next().await.unwrap(), Some(Err(n)) if n >= 100));
        assert_eq!(lines.next().await.unwrap(), Some(Ok("next".into())));
        assert_eq!(lines.next().await.unwrap(), Some(Ok("last".into())));
        assert_eq!(lines.next().await.unwrap(), None);
    }

    #[tokio::test]
    async fn missing_cli_is_reported_as_such() {
        let req = RunRequest {
            provider: ProviderKind::Claude,
            invocation: Invocation {
                program: "definitely-not-a-ductor-cli".into(),
                args: vec![],
                env: vec![],
                temp_files: vec![],
                stdin: None,
            },
            cwd: std::env::temp_dir(),
            env: vec![("PATH".into(), "/usr/bin:/bin".into())],
            timeout: TimeoutPolicy::fixed(Duration::from_secs(5)),
            reaper: None,
            shell_status: false,
            signals: None,
        };
        let (tx, _rx) = mpsc::channel(8);
        let out = run(req, tx, CancellationToken::new()).await;
        assert!(
            matches!(
                out,
                Outcome::Failed {
                    kind: FailureKind::CliMissing,
                    ..
                }
            ),
            "{out:?}"
        );
    }

    /// A claude run of the shell script `script` in `dir`, one minute at most.
    fn sh(dir: &std::path::Path, script: String) -> RunRequest {
        RunRequest {
            provider: ProviderKind::Claude,
            invocation: Invocation {
                program: "/bin/sh".into(),
                args: vec!["-c".into(), script],
                env: vec![],
                temp_files: vec![],
                stdin: None,
            },
            cwd: dir.to_path_buf(),
            env: vec![("PATH".into(), "/usr/bin:/bin".into())],
            timeout: TimeoutPolicy::fixed(Duration::from_mins(1)),
            reaper: None,
            shell_status: false,
            signals: None,
        }
    }

    /// A CLI that leaves a process behind in another session (so the group kill
    /// cannot reach it) still holding stdout: the turn ends shortly after the CLI
    /// itself exits instead of waiting for the leftover to close the pipe.
    #[tokio::test]
    async fn a_leftover_holding_stdout_does_not_hold_the_turn() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("leftover.pid");
        let script = format!(
            r#"setsid sleep 30 & echo $! > {pid}
echo '{{"type":"system","subtype":"init","session_id":"s-1"}}'
echo '{{"type":"result","subtype":"success","is_error":false,"result":"done","session_id":"s-1"}}'
exit 0"#,
            pid = pidfile.display()
        );
        let req = sh(dir.path(), script);
        let (tx, mut rx) = mpsc::channel(64);
        let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
        let started = std::time::Instant::now();
        let out = run(req, tx, CancellationToken::new()).await;
        let took = started.elapsed();
        let leftover: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(leftover), Signal::SIGKILL);
        drain.await.unwrap();
        match out {
            Outcome::Completed { text, .. } => assert_eq!(text, "done"),
            other @ Outcome::Failed { .. } => panic!("expected the result, got {other:?}"),
        }
        assert!(
            took < Duration::from_secs(20),
            "the turn waited for the leftover process ({took:?})"
        );
    }

    /// A consumer that reads nothing for a while (a busy chat) must not stall the
    /// CLI: its whole output (far over a pipe's 64 KiB) is read while nobody takes
    /// the events, and every event arrives afterwards, in order.
    #[tokio::test]
    async fn a_slow_consumer_never_blocks_the_cli_on_a_full_pipe() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("all-written");
        let script = format!(
            r#"echo '{{"type":"system","subtype":"init","session_id":"s-1"}}'
i=0
while [ $i -lt 3000 ]; do
  echo '{{"type":"system","subtype":"api_retry","attempt":1,"error":"padding padding padding padding padding padding"}}'
  i=$((i+1))
done
touch {marker}
echo '{{"type":"result","subtype":"success","is_error":false,"result":"done","session_id":"s-1"}}'"#,
            marker = marker.display()
        );
        let req = sh(dir.path(), script);
        let (tx, mut rx) = mpsc::channel(4);
        let run = tokio::spawn(run(req, tx, CancellationToken::new()));
        let started = std::time::Instant::now();
        while !marker.exists() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the CLI stalled on its full stdout while the consumer was busy"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut retries = 0;
        while let Some(ev) = rx.recv().await {
            if matches!(ev, Event::Retrying { .. }) {
                retries += 1;
            }
        }
        assert_eq!(retries, 3000, "no event lost");
        assert!(matches!(run.await.unwrap(), Outcome::Completed { .. }));
    }
}
