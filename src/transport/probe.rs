//! One-off HTTP questions to a chat service outside a running agent (the set-up
//! wizard, `ductor doctor`): the server's clock from its `Date` header, and whether a
//! URL is a Matrix homeserver. Telegram's token check is [`super::telegram::probe`].

use chrono::{DateTime, Utc};
use std::time::Duration;

/// The server's clock from the HTTP `Date` header of `resp`, when it sent one.
pub fn server_date(resp: &reqwest::Response) -> Option<DateTime<Utc>> {
    resp.headers()
        .get("date")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| DateTime::parse_from_rfc2822(s).ok())
        .map(|d| d.with_timezone(&Utc))
}

/// What a homeserver says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Homeserver {
    /// The client-server API versions it speaks, oldest first.
    pub versions: Vec<String>,
    /// Its clock, from the `Date` header.
    pub server_time: Option<DateTime<Utc>>,
}

/// `GET <homeserver>/_matrix/client/versions` (no login); an error sentence when it
/// cannot be reached or is not a Matrix homeserver.
pub async fn matrix_versions(homeserver: &str, timeout: Duration) -> Result<Homeserver, String> {
    let homeserver = homeserver.trim_end_matches('/');
    let url = format!("{homeserver}/_matrix/client/versions");
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| e.to_string())?;
    let resp = client
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("cannot reach {homeserver}: {}", e.without_url()))?;
    let status = resp.status();
    let server_time = server_date(&resp);
    let body = resp.bytes().await.unwrap_or_default();
    let versions: Vec<String> = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("versions").cloned())
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    if status.is_success() && !versions.is_empty() {
        Ok(Homeserver {
            versions,
            server_time,
        })
    } else {
        Err(format!(
            "{homeserver} is not a Matrix homeserver (GET {url}: HTTP {status}, no Matrix versions)"
        ))
    }
}
