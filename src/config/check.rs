//! Range checks of the numbers in a config, at load: a value no one means (a
//! negative timeout, a backoff of 10^300 seconds, an hour of 25) is reported with
//! its key instead of misbehaving or panicking later.

use super::model::AgentConfig;

/// A day in seconds.
const DAY: f64 = 86_400.0;
/// Ten years in hours.
const DECADE_HOURS: u64 = 24 * 3653;

/// The permission modes the CLIs know (`ask` is ductor's name for `default`).
const PERMISSION_MODES: &[&str] = &[
    "bypassPermissions",
    "acceptEdits",
    "default",
    "ask",
    "plan",
    "auto",
    "dontAsk",
];

/// Every value of `c` out of its range, as `key: problem`.
pub fn problems(c: &AgentConfig) -> Vec<String> {
    let mut out: Vec<String> = second_ranges(c)
        .iter()
        .filter(|(_, v, lo, hi)| !(v.is_finite() && (*lo..=*hi).contains(v)))
        .map(|(k, v, lo, hi)| format!("{k}: {} is not between {lo} and {hi} seconds", shown(*v)))
        .collect();
    out.extend(
        whole_ranges(c)
            .iter()
            .filter(|(_, v, lo, hi)| !(*lo..=*hi).contains(v))
            .map(|(k, v, lo, hi)| format!("{k}: {v} is not between {lo} and {hi}")),
    );
    if let Some(budget) = c.max_budget_usd
        && !(budget.is_finite() && budget >= 0.0)
    {
        out.push(format!("max_budget_usd: {budget} is not an amount"));
    }
    if let Err(e) = super::cli_mode::resolve(&c.cli_mode, &c.permission_mode) {
        out.push(e);
    }
    if !["draft", "edit", "append"].contains(&c.streaming.mode.as_str()) {
        out.push(format!(
            "streaming.mode: \"{}\" is none of draft, edit, append",
            c.streaming.mode
        ));
    }
    if !PERMISSION_MODES.contains(&c.permission_mode.as_str()) {
        out.push(format!(
            "permission_mode: \"{}\" is none of {}",
            c.permission_mode,
            PERMISSION_MODES.join(", ")
        ));
    }
    out
}

/// Durations in seconds: key, value, lowest, highest.
fn second_ranges(c: &AgentConfig) -> Vec<(String, f64, f64, f64)> {
    let t = &c.timeouts;
    let sup = &c.supervisor;
    let week = 7.0 * DAY;
    let mut out: Vec<(String, f64, f64, f64)> = [
        ("timeouts.normal", t.normal, 1.0, week),
        ("timeouts.background", t.background, 1.0, week),
        ("timeouts.subagent", t.subagent, 1.0, week),
        (
            "timeouts.activity_extension",
            t.activity_extension,
            0.0,
            DAY,
        ),
        ("tasks.timeout_seconds", c.tasks.timeout_seconds, 1.0, week),
        (
            "streaming.edit_interval_seconds",
            c.streaming.edit_interval_seconds,
            0.0,
            3600.0,
        ),
        (
            "streaming.notify_after_seconds",
            c.streaming.notify_after_seconds,
            0.0,
            DAY,
        ),
        (
            "supervisor.stable_after_seconds",
            sup.stable_after_seconds,
            0.0,
            DAY,
        ),
        (
            "supervisor.stop_grace_seconds",
            sup.stop_grace_seconds,
            0.0,
            3600.0,
        ),
        ("cli_timeout", c.cli_timeout, 0.0, week),
    ]
    .into_iter()
    .map(|(k, v, lo, hi)| (k.to_owned(), v, lo, hi))
    .collect();
    for (i, b) in sup.restart_backoff_seconds.iter().enumerate() {
        out.push((
            format!("supervisor.restart_backoff_seconds[{i}]"),
            *b,
            0.0,
            DAY,
        ));
    }
    out
}

/// Whole numbers: key, value, lowest, highest.
fn whole_ranges(c: &AgentConfig) -> Vec<(&'static str, u64, u64, u64)> {
    let cl = &c.cleanup;
    let s = &c.streaming;
    let days = 3653;
    vec![
        (
            "idle_timeout_minutes",
            c.idle_timeout_minutes,
            0,
            60 * 24 * days,
        ),
        (
            "session_age_warning_hours",
            c.session_age_warning_hours,
            0,
            DECADE_HOURS,
        ),
        ("daily_reset_hour", c.daily_reset_hour.into(), 0, 23),
        ("cleanup.check_hour", cl.check_hour.into(), 0, 23),
        (
            "cleanup.media_files_days",
            cl.media_files_days.into(),
            0,
            days,
        ),
        (
            "cleanup.output_to_user_days",
            cl.output_to_user_days.into(),
            0,
            days,
        ),
        ("cleanup.api_files_days", cl.api_files_days.into(), 0, days),
        (
            "tasks.finished_retention_hours",
            c.tasks.finished_retention_hours,
            0,
            DECADE_HOURS,
        ),
        ("tasks.max_parallel", c.tasks.max_parallel.into(), 1, 1000),
        ("tasks.max_depth", c.tasks.max_depth.into(), 1, 16),
        ("max_concurrent_runs", c.max_concurrent_runs as u64, 1, 256),
        ("max_reply_messages", c.max_reply_messages as u64, 1, 1000),
        ("live.max_processes", c.live.max_processes as u64, 1, 64),
        ("live.idle_minutes", c.live.idle_minutes, 1, 60 * 24 * 7),
        ("live.memory_cap_mb", c.live.memory_cap_mb, 64, 1 << 20),
        (
            "live.approval_timeout_seconds",
            c.live.approval_timeout_seconds,
            10,
            86_400,
        ),
        (
            "timeouts.max_extensions",
            c.timeouts.max_extensions.into(),
            0,
            1000,
        ),
        ("streaming.idle_ms", s.idle_ms, 0, 3_600_000),
        ("streaming.max_chars", s.max_chars as u64, 1, 1_000_000),
        ("streaming.min_chars", s.min_chars as u64, 0, 1_000_000),
        (
            "image.max_dimension",
            c.image.max_dimension.into(),
            16,
            16_384,
        ),
        ("image.quality", c.image.quality.into(), 1, 100),
        ("max_turns", c.max_turns.map_or(1, u64::from), 1, 100_000),
    ]
}

/// A number as the user would recognise it (huge ones in exponent form).
fn shown(v: f64) -> String {
    if v.abs() >= 1e9 {
        format!("{v:e}")
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_pass_and_extremes_are_named() {
        assert_eq!(problems(&AgentConfig::default()), Vec::<String>::new());
        let mut c = AgentConfig::default();
        c.timeouts.normal = -1.0;
        c.supervisor.restart_backoff_seconds = vec![5.0, 1e300];
        c.daily_reset_hour = 25;
        c.streaming.edit_interval_seconds = f64::NAN;
        c.max_concurrent_runs = 0;
        c.permission_mode = "yolo".into();
        c.cli_mode = "warm".into();
        c.live.approval_timeout_seconds = 1;
        let found = problems(&c);
        for key in [
            "timeouts.normal",
            "supervisor.restart_backoff_seconds[1]",
            "daily_reset_hour",
            "streaming.edit_interval_seconds",
            "max_concurrent_runs",
            "permission_mode",
            "cli_mode",
            "live.approval_timeout_seconds",
        ] {
            assert!(found.iter().any(|p| p.starts_with(key)), "{key}: {found:?}");
        }
        assert_eq!(found.len(), 8, "{found:?}");
    }
}
