//! Which time zone applies: a job's own zone, else `user_timezone`, else `$TZ`,
//! else the system zone, else UTC. Names that are not zones are reported.

use chrono_tz::Tz;

/// Which zone a job runs in, and a note when a configured name was not a zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    /// The zone used.
    pub tz: Tz,
    /// Names that were configured but are not zones.
    pub invalid: Vec<String>,
}

/// Resolves the zone of a job: its own `timezone`, then `user_timezone`, then
/// `$TZ`, then the system zone, then UTC.
pub fn resolve_zone(job: Option<&str>, user: &str) -> Zone {
    let mut invalid = Vec::new();
    let env_tz = std::env::var("TZ").ok();
    let system = system_zone();
    let candidates = [job, Some(user), env_tz.as_deref(), system.as_deref()];
    for (i, name) in candidates.into_iter().enumerate() {
        let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
            continue;
        };
        let name = name.trim_start_matches(':');
        match name.parse::<Tz>() {
            Ok(tz) => return Zone { tz, invalid },
            // Only the names the user wrote are worth reporting.
            Err(_) if i < 2 => invalid.push(name.to_owned()),
            Err(_) => {}
        }
    }
    Zone {
        tz: Tz::UTC,
        invalid,
    }
}

/// The system zone from `/etc/timezone` or the `/etc/localtime` link.
fn system_zone() -> Option<String> {
    if let Ok(s) = std::fs::read_to_string("/etc/timezone") {
        let s = s.trim();
        if !s.is_empty() {
            return Some(s.to_owned());
        }
    }
    let link = std::fs::read_link("/etc/localtime").ok()?;
    let s = link.to_string_lossy();
    s.split_once("zoneinfo/").map(|(_, z)| z.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn berlin() -> Tz {
        "Europe/Berlin".parse().unwrap()
    }

    #[test]
    fn zones_fall_through_in_order_and_bad_names_are_reported() {
        let z = resolve_zone(Some("Europe/Berlin"), "America/New_York");
        assert_eq!(z.tz, berlin());
        assert!(z.invalid.is_empty());
        let z = resolve_zone(Some("Mars/Olympus"), "America/New_York");
        assert_eq!(z.tz, "America/New_York".parse::<Tz>().unwrap());
        assert_eq!(z.invalid, ["Mars/Olympus"]);
        let z = resolve_zone(None, "Nowhere");
        assert_eq!(z.invalid, ["Nowhere"]);
    }
}
