//! The restart policy as a pure state machine: what to do when an agent process
//! ends. Exit code 42 restarts at once; anything else backs off (5, 10, 20, 40,
//! 80 s by default); a sub-agent is given up after too many consecutive failures;
//! a run that stayed up long enough resets the count.

use crate::config::model::SupervisorConfig;
use std::time::Duration;

/// Exit code with which an agent asks to be restarted at once.
pub const EXIT_RESTART: i32 = 42;
/// Exit code with which an agent reports a configuration it cannot run with.
pub const EXIT_CONFIG: i32 = 78;

/// How an agent process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Exited with this code.
    Code(i32),
    /// Killed by this signal.
    Signal(i32),
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Code(EXIT_CONFIG) => {
                f.write_str("invalid configuration (exit code 78); see its log")
            }
            Exit::Code(c) => write!(f, "exited with code {c}"),
            Exit::Signal(s) => match nix::sys::signal::Signal::try_from(*s) {
                Ok(sig) => write!(f, "killed by {sig}"),
                Err(_) => write!(f, "killed by signal {s}"),
            },
        }
    }
}

/// What the supervisor does next.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Start again now.
    RestartNow,
    /// Start again after this delay.
    RestartAfter(Duration),
    /// Stop trying; the agent is reported as crashed.
    GiveUp,
}

/// Restart bookkeeping for one agent.
#[derive(Debug, Clone)]
pub struct RestartPolicy {
    backoff: Vec<Duration>,
    max_failures: u32,
    stable_after: Duration,
    is_main: bool,
    failures: u32,
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

impl RestartPolicy {
    /// Policy for one agent from the `supervisor` config block.
    pub fn new(cfg: &SupervisorConfig, is_main: bool) -> Self {
        let mut backoff: Vec<Duration> = cfg
            .restart_backoff_seconds
            .iter()
            .map(|s| secs(*s))
            .collect();
        if backoff.is_empty() {
            backoff.push(Duration::from_secs(5));
        }
        Self {
            backoff,
            max_failures: cfg.max_consecutive_failures.max(1),
            stable_after: secs(cfg.stable_after_seconds),
            is_main,
            failures: 0,
        }
    }

    /// Consecutive failures so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Forgets past failures (after a manual start).
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// Decides what to do after a run that lasted `uptime` ended with `exit`.
    pub fn on_exit(&mut self, exit: Exit, uptime: Duration) -> Decision {
        if exit == Exit::Code(EXIT_RESTART) {
            self.failures = 0;
            return Decision::RestartNow;
        }
        if uptime >= self.stable_after {
            self.failures = 0;
        }
        self.failures += 1;
        if !self.is_main && (self.failures > self.max_failures || exit == Exit::Code(EXIT_CONFIG)) {
            return Decision::GiveUp;
        }
        let step = (self.failures as usize - 1).min(self.backoff.len() - 1);
        Decision::RestartAfter(self.backoff[step])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(is_main: bool) -> RestartPolicy {
        RestartPolicy::new(&SupervisorConfig::default(), is_main)
    }

    #[test]
    fn exit_42_restarts_at_once() {
        let mut p = policy(false);
        assert_eq!(
            p.on_exit(Exit::Code(42), Duration::ZERO),
            Decision::RestartNow
        );
        assert_eq!(p.failures(), 0);
    }

    #[test]
    fn crashes_back_off_then_sub_agent_gives_up() {
        let mut p = policy(false);
        let waits: Vec<_> = (0..5)
            .map(|_| p.on_exit(Exit::Signal(9), Duration::from_secs(1)))
            .collect();
        let want: Vec<_> = [5, 10, 20, 40, 80]
            .into_iter()
            .map(|s| Decision::RestartAfter(Duration::from_secs(s)))
            .collect();
        assert_eq!(waits, want);
        assert_eq!(
            p.on_exit(Exit::Code(1), Duration::from_secs(1)),
            Decision::GiveUp
        );
    }

    #[test]
    fn main_keeps_retrying_with_capped_backoff() {
        let mut p = policy(true);
        for _ in 0..20 {
            assert_ne!(p.on_exit(Exit::Code(1), Duration::ZERO), Decision::GiveUp);
        }
        assert_eq!(
            p.on_exit(Exit::Code(1), Duration::ZERO),
            Decision::RestartAfter(Duration::from_secs(80))
        );
    }

    #[test]
    fn a_stable_run_resets_the_count() {
        let mut p = policy(false);
        for _ in 0..4 {
            p.on_exit(Exit::Code(1), Duration::ZERO);
        }
        assert_eq!(
            p.on_exit(Exit::Code(1), Duration::from_secs(61)),
            Decision::RestartAfter(Duration::from_secs(5))
        );
    }

    #[test]
    fn config_errors_give_up_a_sub_agent_immediately() {
        let mut p = policy(false);
        assert_eq!(
            p.on_exit(Exit::Code(EXIT_CONFIG), Duration::ZERO),
            Decision::GiveUp
        );
        assert!(Exit::Signal(9).to_string().contains("SIGKILL"));
    }
}
