//! When a conversation starts over (§4.1): idle timeout, daily reset in the user's
//! timezone, message cap of the active provider bucket. Pure functions.

use crate::config::AgentConfig;
use chrono::{DateTime, Duration as ChronoDuration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Why a session is not fresh any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Staleness {
    /// Fresh: keep resuming.
    Fresh,
    /// Idle longer than `idle_timeout_minutes`: start over (all buckets).
    Idle,
    /// The daily reset hour passed since the last message: start over (all buckets).
    DailyReset,
    /// The active bucket reached `max_session_messages`: start that bucket over.
    MessageCap,
}

/// The user's timezone: `user_timezone`, else `$TZ`, else the system zone, else UTC
/// (the resolution cron schedules use, without a job zone).
pub fn user_tz(config: &AgentConfig) -> Tz {
    crate::zone::resolve_zone(None, &config.user_timezone).tz
}

/// Parses an ISO 8601 timestamp as written in `sessions.json`.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc))
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
}

/// Formats a timestamp the way the original writes it (`+00:00` offset).
pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// The most recent daily reset boundary at or before `now`.
fn last_boundary(now: DateTime<Utc>, hour: u32, tz: Tz) -> DateTime<Utc> {
    let local = now.with_timezone(&tz);
    let time = NaiveTime::from_hms_opt(hour.min(23), 0, 0).unwrap_or(NaiveTime::MIN);
    let mut day = local.date_naive();
    loop {
        let candidate = tz
            .from_local_datetime(&day.and_time(time))
            .earliest()
            // A DST gap swallowed the hour: take the next instant that exists.
            .or_else(|| {
                tz.from_local_datetime(&(day.and_time(time) + ChronoDuration::hours(1)))
                    .earliest()
            });
        if let Some(c) = candidate {
            let c = c.with_timezone(&Utc);
            if c <= now {
                return c;
            }
        }
        day = day.pred_opt().unwrap_or(day);
        if day == chrono::NaiveDate::MIN {
            return now;
        }
    }
}

/// Decides whether the conversation last active at `last_active` can be resumed
/// at `now`, given the active bucket's message count.
pub fn staleness(
    config: &AgentConfig,
    tz: Tz,
    last_active: Option<DateTime<Utc>>,
    bucket_messages: u64,
    now: DateTime<Utc>,
) -> Staleness {
    if let Some(last) = last_active {
        if config.idle_timeout_minutes > 0
            && now - last >= ChronoDuration::minutes(config.idle_timeout_minutes as i64)
        {
            return Staleness::Idle;
        }
        if config.daily_reset_enabled && last < last_boundary(now, config.daily_reset_hour, tz) {
            return Staleness::DailyReset;
        }
    }
    if config
        .max_session_messages
        .is_some_and(|cap| cap > 0 && bucket_messages >= cap)
    {
        return Staleness::MessageCap;
    }
    Staleness::Fresh
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        parse_time(s).unwrap()
    }

    #[test]
    fn idle_timeout() {
        let c = AgentConfig {
            idle_timeout_minutes: 60,
            ..AgentConfig::default()
        };
        let last = Some(at("2026-05-01T10:00:00+00:00"));
        assert_eq!(
            staleness(&c, Tz::UTC, last, 1, at("2026-05-01T10:59:00Z")),
            Staleness::Fresh
        );
        assert_eq!(
            staleness(&c, Tz::UTC, last, 1, at("2026-05-01T11:00:00Z")),
            Staleness::Idle
        );
        let off = AgentConfig {
            idle_timeout_minutes: 0,
            ..AgentConfig::default()
        };
        assert_eq!(
            staleness(&off, Tz::UTC, last, 1, at("2027-01-01T00:00:00Z")),
            Staleness::Fresh
        );
    }

    #[test]
    fn daily_reset_in_user_timezone_across_midnight() {
        let c = AgentConfig {
            idle_timeout_minutes: 0,
            daily_reset_enabled: true,
            daily_reset_hour: 4,
            ..AgentConfig::default()
        };
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // 23:30 Berlin (21:30 UTC, summer) → 03:59 next day Berlin: no reset yet.
        let last = Some(at("2026-06-01T21:30:00Z"));
        assert_eq!(
            staleness(&c, berlin, last, 1, at("2026-06-02T01:59:00Z")),
            Staleness::Fresh
        );
        // 04:00 Berlin = 02:00 UTC: the boundary passed.
        assert_eq!(
            staleness(&c, berlin, last, 1, at("2026-06-02T02:00:00Z")),
            Staleness::DailyReset
        );
        // In UTC the same instants are on the same side of 04:00.
        assert_eq!(
            staleness(&c, Tz::UTC, last, 1, at("2026-06-02T02:00:00Z")),
            Staleness::Fresh
        );
    }

    #[test]
    fn message_cap_only_with_a_cap() {
        let c = AgentConfig {
            max_session_messages: Some(3),
            ..AgentConfig::default()
        };
        let now = at("2026-05-01T10:00:00Z");
        assert_eq!(staleness(&c, Tz::UTC, Some(now), 2, now), Staleness::Fresh);
        assert_eq!(
            staleness(&c, Tz::UTC, Some(now), 3, now),
            Staleness::MessageCap
        );
    }

    #[test]
    fn timestamps_round_trip() {
        let t = at("2026-05-01T10:05:00+00:00");
        assert_eq!(format_time(t), "2026-05-01T10:05:00+00:00");
        assert!(parse_time("2026-05-01T10:05:00.123456").is_some());
        assert!(parse_time("garbage").is_none());
    }
}
