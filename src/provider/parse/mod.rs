//! Stream parsers: one per provider, each turning the CLI's stdout lines into
//! [`Event`]s and deciding the turn's [`Outcome`] from the last final event,
//! never from the exit code.

use super::ProviderKind;
use super::event::{Event, Outcome};

/// How the CLI process ended, as observed by the runner.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunEnd {
    /// We asked the process to stop (`/stop`, `/interrupt`, shutdown).
    pub cancelled: bool,
    /// The runner's timeout fired and stopped the process.
    pub timed_out: bool,
    /// Exit code when the process exited normally.
    pub exit_code: Option<i32>,
    /// Signal number when the process was killed by a signal.
    pub signal: Option<i32>,
    /// Last lines of stderr (bounded), used when no final event explains the end.
    pub stderr_tail: String,
}

/// A stateful line parser for one turn of one provider.
pub trait StreamParser: Send {
    /// Feeds one stdout line (without its newline) and appends the resulting events.
    /// Non-JSON and unknown lines produce nothing (they are logged at debug level).
    fn line(&mut self, line: &str, out: &mut Vec<Event>);

    /// Called once after the process ended; decides the single terminal outcome.
    fn finish(&mut self, end: &RunEnd) -> Outcome;
}

/// Returns a fresh parser for `provider`.
pub fn parser_for(provider: ProviderKind) -> Box<dyn StreamParser> {
    let _ = provider;
    unimplemented!("filled in by the provider parser work")
}
