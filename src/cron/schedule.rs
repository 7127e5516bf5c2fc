//! When a job runs: a standard 5-field cron expression (names, lists, ranges,
//! steps, day of week 0–7) evaluated on the wall clock of the job's zone.
//!
//! The zone is the job's `timezone`, else `user_timezone`, else `$TZ`, else the
//! system zone, else UTC; a name that is not a zone is reported and the next one
//! in that order is used. Daylight saving: a slot in an hour that happens twice runs
//! once, in the first of the two; a slot in an hour that is skipped runs once, when
//! the clock resumes after the gap.

pub use crate::zone::{Zone, resolve_zone};
use chrono::{DateTime, Duration as ChronoDuration, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

/// A parsed cron expression.
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: Cron,
}

impl Schedule {
    /// Parses a 5-field expression; the error says what is wrong with it.
    pub fn parse(expr: &str) -> Result<Self, String> {
        let fields = expr.split_whitespace().count();
        if fields != 5 {
            return Err(format!(
                "`{expr}` has {fields} fields; a schedule has 5 (minute hour day month weekday)"
            ));
        }
        CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build()
            .parse(expr)
            .map(|cron| Self { cron })
            .map_err(|e| format!("`{expr}` is not a cron schedule: {e}"))
    }

    /// The first slot strictly after `now`, as an instant.
    pub fn next_after(&self, zone: Tz, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut wall = now.with_timezone(&zone).naive_local();
        // A handful of steps at most: each skips a slot whose wall time does not map
        // to an instant after `now` (the second pass of a repeated hour).
        for _ in 0..8 {
            let next = self.cron.find_next_occurrence(&wall, false).ok()?;
            let at = attach(zone, next);
            if at > now {
                return Some(at);
            }
            wall = next;
        }
        None
    }

    /// The last slot at or before `now`, as an instant (for catching up a missed run).
    pub fn last_at_or_before(&self, zone: Tz, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let wall = now.with_timezone(&zone).naive_local();
        let prev = self.cron.find_previous_occurrence(&wall, true).ok()?;
        Some(attach(zone, prev)).filter(|at| *at <= now)
    }
}

/// The instant of wall time `wall` in `zone`: the first of two in a repeated hour,
/// the end of the gap for a skipped one.
fn attach(zone: Tz, wall: NaiveDateTime) -> DateTime<Utc> {
    match zone.from_local_datetime(&wall) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
        LocalResult::None => {
            // Walk forward to the first wall time that exists (gaps are at most hours).
            let mut probe = wall;
            for _ in 0..(26 * 60) {
                probe += ChronoDuration::minutes(1);
                if let LocalResult::Single(t) | LocalResult::Ambiguous(t, _) =
                    zone.from_local_datetime(&probe)
                {
                    // The first minute after the gap, on the minute.
                    return t.with_timezone(&Utc);
                }
            }
            Utc.from_utc_datetime(&wall)
        }
    }
}

/// Whether `hour` lies in the quiet window `start..end` (wrapping midnight when
/// `start > end`; `start == end` is never quiet).
pub fn in_quiet_hours(hour: u32, start: u32, end: u32) -> bool {
    match start.cmp(&end) {
        std::cmp::Ordering::Equal => false,
        std::cmp::Ordering::Less => (start..end).contains(&hour),
        std::cmp::Ordering::Greater => hour >= start || hour < end,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn berlin() -> Tz {
        "Europe/Berlin".parse().unwrap()
    }

    #[test]
    fn standard_expressions_parse_and_others_are_explained() {
        for ok in [
            "0 9 * * *",
            "*/15 * * * *",
            "0 8-18/2 * * MON-FRI",
            "30 6 1,15 * *",
            "0 0 * JAN,JUL 0",
            "0 0 * * 7",
        ] {
            assert!(Schedule::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "0 9 * *",
            "0 0 9 * * *",
            "61 * * * *",
            "0 25 * * *",
            "x * * * *",
        ] {
            let err = Schedule::parse(bad).unwrap_err();
            assert!(err.contains(&format!("`{bad}`")), "{err}");
        }
    }

    #[test]
    fn sunday_is_zero_and_seven() {
        let s0 = Schedule::parse("0 12 * * 0").unwrap();
        let s7 = Schedule::parse("0 12 * * 7").unwrap();
        // 2026-12-03 is a Thursday; the next Sunday is the 6th.
        let now = utc("2026-12-03T10:00:00Z");
        let want = utc("2026-12-06T12:00:00Z");
        assert_eq!(s0.next_after(Tz::UTC, now), Some(want));
        assert_eq!(s7.next_after(Tz::UTC, now), Some(want));
    }

    #[test]
    fn wall_clock_of_the_zone() {
        let s = Schedule::parse("0 9 * * *").unwrap();
        // 09:00 in Berlin in winter is 08:00 UTC, in summer 07:00 UTC.
        assert_eq!(
            s.next_after(berlin(), utc("2026-12-03T10:00:00Z")),
            Some(utc("2026-12-04T08:00:00Z"))
        );
        assert_eq!(
            s.next_after(berlin(), utc("2026-07-01T06:00:00Z")),
            Some(utc("2026-07-01T07:00:00Z"))
        );
    }

    #[test]
    fn a_slot_in_the_skipped_spring_hour_runs_once_when_the_clock_resumes() {
        // 2026-03-29: Berlin jumps from 02:00 to 03:00 (01:00 UTC).
        let daily = Schedule::parse("30 2 * * *").unwrap();
        let at = daily
            .next_after(berlin(), utc("2026-03-28T23:00:00Z"))
            .unwrap();
        assert_eq!(at, utc("2026-03-29T01:00:00Z"), "03:00 CEST");
        // The day after, 02:30 exists again.
        assert_eq!(
            daily.next_after(berlin(), at),
            Some(utc("2026-03-30T00:30:00Z"))
        );
        // Every 15 minutes: the slots of the gap collapse into one run at 03:00.
        let often = Schedule::parse("*/15 * * * *").unwrap();
        let mut now = utc("2026-03-29T00:50:00Z");
        let mut runs = Vec::new();
        for _ in 0..4 {
            now = often.next_after(berlin(), now).unwrap();
            runs.push(now);
        }
        assert_eq!(
            runs,
            [
                utc("2026-03-29T01:00:00Z"),
                utc("2026-03-29T01:15:00Z"),
                utc("2026-03-29T01:30:00Z"),
                utc("2026-03-29T01:45:00Z"),
            ]
        );
    }

    #[test]
    fn a_slot_in_the_repeated_autumn_hour_runs_once_in_the_first_pass() {
        // 2026-10-25: Berlin goes from 03:00 CEST back to 02:00 CET (01:00 UTC).
        let daily = Schedule::parse("30 2 * * *").unwrap();
        let first = daily
            .next_after(berlin(), utc("2026-10-24T22:00:00Z"))
            .unwrap();
        assert_eq!(first, utc("2026-10-25T00:30:00Z"), "02:30 CEST");
        let again = daily.next_after(berlin(), first).unwrap();
        assert_eq!(
            again,
            utc("2026-10-26T01:30:00Z"),
            "not 02:30 CET the same night"
        );
        // Hourly at :30: 02:30 runs once, then 03:30 CET.
        let hourly = Schedule::parse("30 * * * *").unwrap();
        let next = hourly.next_after(berlin(), first).unwrap();
        assert_eq!(next, utc("2026-10-25T02:30:00Z"), "03:30 CET");
    }

    #[test]
    fn the_last_slot_for_catching_up() {
        let s = Schedule::parse("0 9 * * *").unwrap();
        assert_eq!(
            s.last_at_or_before(Tz::UTC, utc("2026-12-03T10:00:00Z")),
            Some(utc("2026-12-03T09:00:00Z"))
        );
        assert_eq!(
            s.last_at_or_before(Tz::UTC, utc("2026-12-03T08:00:00Z")),
            Some(utc("2026-12-02T09:00:00Z"))
        );
    }

    #[test]
    fn quiet_hours_wrap_midnight() {
        assert!(in_quiet_hours(23, 22, 7));
        assert!(in_quiet_hours(3, 22, 7));
        assert!(!in_quiet_hours(7, 22, 7));
        assert!(!in_quiet_hours(12, 22, 7));
        assert!(in_quiet_hours(9, 9, 17));
        assert!(!in_quiet_hours(17, 9, 17));
        assert!(!in_quiet_hours(5, 5, 5));
    }
}
