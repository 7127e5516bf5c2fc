//! Tracing set-up in one place: stderr plus a size-bounded rotating log file, the
//! agent name on every line, and redaction of anything that looks like a secret
//! (bot tokens, registered API keys) before a byte reaches a log.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, RwLock};
use tracing_subscriber::fmt::format::{DefaultFields, Format, Full, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Bytes after which the log file is rotated.
pub const MAX_LOG_BYTES: u64 = 5 * 1024 * 1024;
/// Rotated files kept (`agent.log.1` … `agent.log.3`).
pub const LOG_BACKUPS: u32 = 3;

/// How to set up logging for one process.
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    /// `-v` count: 0 = info (or `config_level`), 1 = debug, 2+ = trace.
    pub verbosity: u8,
    /// Level from the config file (`log_level`), used when `-v` is not given.
    pub config_level: Option<String>,
    /// Log file to append to (rotated by size).
    pub file: Option<PathBuf>,
    /// Name shown as `agent=<name>` on every line.
    pub agent: Option<String>,
}

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Registers a secret value that must be masked wherever it would be logged.
pub fn register_secret(value: &str) {
    let value = value.trim();
    if value.len() < 6 {
        return; // too short to mask without mangling ordinary words
    }
    if let Ok(mut list) = SECRETS.write()
        && !list.iter().any(|s| s == value)
    {
        list.push(value.to_owned());
    }
}

/// Masks registered secrets and Telegram bot tokens in `text`.
pub fn redact(text: &str) -> String {
    let mut out = mask_bot_tokens(text);
    if let Ok(list) = SECRETS.read() {
        for secret in list.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "***");
            }
        }
    }
    out
}

/// Replaces `<8+ digits>:<30+ token chars>` with `<digits>:***`.
fn mask_bot_tokens(text: &str) -> String {
    let bytes = text.as_bytes();
    let is_tok = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b':' {
            let mut start = i;
            while start > 0 && bytes[start - 1].is_ascii_digit() {
                start -= 1;
            }
            let mut end = i + 1;
            while end < bytes.len() && is_tok(bytes[end]) {
                end += 1;
            }
            let digits_ok = i - start >= 8;
            if digits_ok && end - i > 30 {
                out.push_str(&text[last..=i]);
                out.push_str("***");
                last = end;
                i = end;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&text[last..]);
    out
}

/// A log file that rotates when it grows past [`MAX_LOG_BYTES`].
struct RotatingFile {
    path: PathBuf,
    state: Mutex<Option<(File, u64)>>,
}

impl RotatingFile {
    fn open(path: &Path) -> io::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        // Logs name chats and users: private, also when an older version created them.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        let size = file.metadata()?.len();
        Ok(Self {
            path: path.to_path_buf(),
            state: Mutex::new(Some((file, size))),
        })
    }

    fn rotate(&self) -> io::Result<(File, u64)> {
        for n in (1..LOG_BACKUPS).rev() {
            let from = backup_path(&self.path, n);
            if from.exists() {
                std::fs::rename(&from, backup_path(&self.path, n + 1))?;
            }
        }
        std::fs::rename(&self.path, backup_path(&self.path, 1))?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&self.path)?;
        Ok((file, 0))
    }

    fn write_record(&self, buf: &[u8]) -> io::Result<()> {
        let mut guard = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if guard
            .as_ref()
            .is_some_and(|(_, size)| *size >= MAX_LOG_BYTES)
        {
            *guard = self.rotate().ok();
        }
        if let Some((file, size)) = guard.as_mut() {
            file.write_all(buf)?;
            *size += buf.len() as u64;
        }
        Ok(())
    }
}

fn backup_path(path: &Path, n: u32) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// Where a formatted log line goes; redacts it on the way.
#[derive(Clone, Copy)]
enum Sink {
    Stderr,
    File(&'static RotatingFile),
}

/// Collects one formatted event and writes it, redacted, when dropped.
struct RedactingWriter {
    sink: Sink,
    buf: Vec<u8>,
}

impl Write for RedactingWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let text = redact(&String::from_utf8_lossy(&self.buf));
        self.buf.clear();
        match self.sink {
            Sink::Stderr => io::stderr().lock().write_all(text.as_bytes()),
            Sink::File(file) => file.write_record(text.as_bytes()),
        }
    }
}

impl Drop for RedactingWriter {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

impl<'a> MakeWriter<'a> for Sink {
    type Writer = RedactingWriter;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter {
            sink: *self,
            buf: Vec::with_capacity(256),
        }
    }
}

/// Prefixes every line with `agent=<name>` so merged logs of all agents read well.
struct AgentFormat {
    agent: Option<String>,
    inner: Format<Full>,
}

impl<S, N> FormatEvent<S, N> for AgentFormat
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> fmt::Result {
        if let Some(agent) = &self.agent {
            write!(writer, "agent={agent} ")?;
        }
        self.inner.format_event(ctx, writer, event)
    }
}

static FILE: OnceLock<RotatingFile> = OnceLock::new();

fn filter(opts: &LogOptions) -> EnvFilter {
    if let Ok(env) = std::env::var("RUST_LOG")
        && let Ok(f) = EnvFilter::try_new(env)
    {
        return f;
    }
    let level = match opts.verbosity {
        0 => match opts
            .config_level
            .as_deref()
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            Some("DEBUG") => "debug",
            Some("WARNING" | "WARN") => "warn",
            Some("ERROR" | "CRITICAL") => "error",
            _ => "info",
        },
        1 => "debug",
        _ => "trace",
    };
    EnvFilter::new(format!(
        "{level},hyper=warn,hyper_util=warn,reqwest=warn,rustls=warn,h2=warn,notify=warn"
    ))
}

/// Installs the global subscriber. Safe to call more than once (later calls are no-ops).
pub fn init(opts: &LogOptions) {
    let file_layer = opts
        .file
        .as_deref()
        .and_then(|path| match RotatingFile::open(path) {
            Ok(f) => {
                let file: &'static RotatingFile = FILE.get_or_init(|| f);
                Some(
                    tracing_subscriber::fmt::layer()
                        .with_ansi(false)
                        .event_format(AgentFormat {
                            agent: opts.agent.clone(),
                            inner: Format::default(),
                        })
                        .fmt_fields(DefaultFields::new())
                        .with_writer(Sink::File(file))
                        .with_filter(filter(opts)),
                )
            }
            Err(e) => {
                eprintln!("ductor: cannot open log file {}: {e}", path.display());
                None
            }
        });
    let stderr_layer = tracing_subscriber::fmt::layer()
        .with_ansi(nix::unistd::isatty(io::stderr()).unwrap_or(false))
        .event_format(AgentFormat {
            agent: opts.agent.clone(),
            inner: Format::default(),
        })
        .with_writer(Sink::Stderr)
        .with_filter(filter(opts));
    let _ = tracing_subscriber::registry()
        .with(stderr_layer)
        .with(file_layer)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bot_tokens_are_masked() {
        let line =
            "GET https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/getMe";
        let red = redact(line);
        assert!(!red.contains("AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"), "{red}");
        assert!(red.contains("bot123456789:***/getMe"), "{red}");
        assert_eq!(redact("time 12:30:45 ok"), "time 12:30:45 ok");
    }

    #[test]
    fn registered_secrets_are_masked() {
        register_secret("sk-test-abcdef123456");
        assert_eq!(redact("key=sk-test-abcdef123456 end"), "key=*** end");
    }

    #[test]
    fn file_rotates_by_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.log");
        let f = RotatingFile::open(&path).unwrap();
        let chunk = vec![b'x'; 1024 * 1024];
        for _ in 0..12 {
            f.write_record(&chunk).unwrap();
        }
        assert!(backup_path(&path, 1).exists());
        assert!(backup_path(&path, 2).exists());
        assert!(!backup_path(&path, 4).exists());
        assert!(std::fs::metadata(&path).unwrap().len() <= MAX_LOG_BYTES);
    }
}
