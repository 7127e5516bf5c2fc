//! The version check: the crate registry's sparse index entry of the `ductor`
//! crate (newline-delimited JSON, one record per published version with `vers` and
//! `yanked`), fetched without any cache, read strictly: a line that is not a
//! record makes the whole answer suspect (a proxy page, a cut-off download), so
//! it is an error and nobody is told about a version from it.

use super::version::Version;
use serde::Deserialize;
use std::time::Duration;

/// The registry's index entry of the `ductor` crate.
pub const DEFAULT_INDEX_URL: &str = "https://index.crates.io/du/ct/ductor";

/// The largest index entry read (the real one is a few KiB per hundred versions).
const MAX_BODY: usize = 4 << 20;

/// How long one check may take.
const TIMEOUT: Duration = Duration::from_secs(20);

/// Why the check gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The index could not be fetched.
    #[error("cannot fetch the crate index {url}: {reason}")]
    Fetch {
        /// The index URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The answer is not a crate index entry.
    #[error("the crate index {url} answered something else than an index entry: {reason}")]
    Garbage {
        /// The index URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// One record of the index entry (other fields are ignored).
#[derive(Debug, Deserialize)]
struct Record {
    vers: String,
    #[serde(default)]
    yanked: bool,
}

/// The newest published release (not yanked, not a pre-release) in `body`, or why
/// `body` is not an index entry. An entry with only yanked or pre-release versions
/// has no release: `Ok(None)`.
pub fn newest_release(body: &str) -> Result<Option<Version>, String> {
    let mut newest: Option<Version> = None;
    let mut records = 0;
    for (n, line) in body.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let record: Record = serde_json::from_str(line)
            .map_err(|e| format!("line {} is not a version record ({e})", n + 1))?;
        let version = Version::parse(&record.vers)
            .ok_or_else(|| format!("line {}: `{}` is not a version", n + 1, record.vers))?;
        records += 1;
        if record.yanked || version.is_prerelease() {
            continue;
        }
        if newest.as_ref().is_none_or(|best| version > *best) {
            newest = Some(version);
        }
    }
    if records == 0 {
        return Err("no version records".into());
    }
    Ok(newest)
}

/// The newest release in `body` when it is newer than `current`.
pub fn newer_than(body: &str, current: &Version) -> Result<Option<Version>, String> {
    Ok(newest_release(body)?.filter(|v| v > current))
}

/// Fetches the index entry at `url`, bypassing caches.
pub async fn fetch(url: &str) -> Result<String, IndexError> {
    let fail = |reason: String| IndexError::Fetch {
        url: url.to_owned(),
        reason,
    };
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .user_agent(format!(
            "ductor/{} (update check; https://crates.io/crates/ductor)",
            crate::VERSION
        ))
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let mut resp = client
        .get(url)
        .header("Cache-Control", "no-cache")
        .header("Pragma", "no-cache")
        .send()
        .await
        .map_err(|e| fail(e.without_url().to_string()))?;
    if !resp.status().is_success() {
        return Err(fail(format!("HTTP {}", resp.status())));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| fail(e.without_url().to_string()))?
    {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(IndexError::Garbage {
                url: url.to_owned(),
                reason: format!("more than {MAX_BODY} bytes"),
            });
        }
        body.extend_from_slice(&chunk);
    }
    String::from_utf8(body).map_err(|_| IndexError::Garbage {
        url: url.to_owned(),
        reason: "not UTF-8 text".into(),
    })
}

/// Checks `url` for a release newer than `current`.
pub async fn check(url: &str, current: &Version) -> Result<Option<Version>, IndexError> {
    let body = fetch(url).await?;
    newer_than(&body, current).map_err(|reason| IndexError::Garbage {
        url: url.to_owned(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(vers: &str, yanked: bool) -> String {
        format!(
            r#"{{"name":"ductor","vers":"{vers}","deps":[],"cksum":"00","features":{{}},"yanked":{yanked},"v":2}}"#
        )
    }

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn the_newest_release_wins_and_yanked_and_pre_releases_do_not() {
        let body = [
            line("0.1.0", false),
            line("0.3.0", false),
            line("0.2.5", false),
            line("0.4.0", true),
            line("0.5.0-beta.1", false),
        ]
        .join("\n");
        assert_eq!(newest_release(&body).unwrap(), Some(v("0.3.0")));
        assert_eq!(newer_than(&body, &v("0.2.0")).unwrap(), Some(v("0.3.0")));
        assert_eq!(newer_than(&body, &v("0.3.0")).unwrap(), None);
        assert_eq!(newer_than(&body, &v("0.9.0")).unwrap(), None);
        // A pre-release build is older than its release.
        assert_eq!(
            newer_than(&body, &v("0.3.0-rc.1")).unwrap(),
            Some(v("0.3.0"))
        );
        let only_yanked = [line("9.0.0", true), line("9.1.0-alpha", false)].join("\n");
        assert_eq!(newest_release(&only_yanked).unwrap(), None);
        // Records without `yanked` count as published; blank lines are fine.
        assert_eq!(
            newest_release("\n{\"vers\":\"1.0.0\"}\n\n").unwrap(),
            Some(v("1.0.0"))
        );
    }

    #[test]
    fn garbage_and_cut_off_answers_are_errors() {
        let cut = format!("{}\n{}", line("0.1.0", false), &line("0.9.0", false)[..30]);
        let err = newest_release(&cut).unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        for body in [
            "",
            "\n\n",
            "<html><body>Captive portal</body></html>",
            r#"{"vers": "not-a-version"}"#,
            r#"{"versions": ["1.0.0"]}"#,
            "[1, 2, 3]",
        ] {
            assert!(newest_release(body).is_err(), "{body:?}");
        }
    }
}
