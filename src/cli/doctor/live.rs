//! The checks of `ductor doctor` that ask a server: each Telegram agent's token
//! (`getMe` against its `telegram_api_url`), each Matrix agent's homeserver
//! (`/_matrix/client/versions`, no login), and the local clock against the time those
//! servers send. Nothing here prints a token: the probe's errors never hold one.

use super::{Agent, Finding};
use crate::config::matrix::MatrixSettings;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Clock difference beyond which TLS and schedules break.
pub const MAX_SKEW: Duration = Duration::from_mins(1);

/// What one server said, with its clock when it sent one.
struct Answer {
    finding: Finding,
    /// The server's time (HTTP `Date`), the local time on receipt, and who it was.
    clock: Option<(DateTime<Utc>, DateTime<Utc>, String)>,
}

/// `getMe` with `agent`'s token at its `telegram_api_url`.
async fn telegram(agent: &Agent, timeout: Duration) -> Option<Answer> {
    let c = &agent.config;
    let token = c.telegram_token.expose();
    if !c.transports.iter().any(|t| t == "telegram") || token.trim().is_empty() {
        return None;
    }
    let who = format!("telegram {}", agent.name);
    let result =
        crate::transport::telegram::probe::get_me(&c.telegram_api_url, token, timeout).await;
    let now = Utc::now();
    Some(match result {
        Ok(bot) => Answer {
            finding: Finding {
                problem: false,
                text: format!("{who}: the token is valid (@{})", bot.username),
            },
            clock: bot.server_time.map(|t| {
                (
                    t,
                    now,
                    format!("the Telegram Bot API ({})", c.telegram_api_url),
                )
            }),
        },
        Err(e) => Answer {
            finding: Finding {
                problem: true,
                text: format!("{who}: {e}"),
            },
            clock: None,
        },
    })
}

/// `GET /_matrix/client/versions` on `agent`'s homeserver.
async fn matrix(agent: &Agent, timeout: Duration) -> Option<Answer> {
    let c = &agent.config;
    if !c.transports.iter().any(|t| t == "matrix") {
        return None;
    }
    let hs = MatrixSettings::from_config(&c.matrix).homeserver;
    if hs.trim().is_empty() {
        return None;
    }
    let who = format!("matrix {}", agent.name);
    let now = Utc::now();
    Some(
        match crate::transport::probe::matrix_versions(&hs, timeout).await {
            Ok(server) => Answer {
                finding: Finding {
                    problem: false,
                    text: format!(
                        "{who}: {hs} answers (Matrix {})",
                        server.versions.last().map_or("", String::as_str)
                    ),
                },
                clock: server
                    .server_time
                    .map(|d| (d, now, format!("the homeserver {hs}"))),
            },
            Err(why) => Answer {
                finding: Finding {
                    problem: true,
                    text: format!(
                        "{who}: the homeserver {hs} does not answer /_matrix/client/versions ({why}); \
                     check matrix.homeserver"
                    ),
                },
                clock: None,
            },
        },
    )
}

/// The local clock `local` against `server`'s time `remote` (from `source`).
pub fn clock_finding(local: DateTime<Utc>, remote: DateTime<Utc>, source: &str) -> Finding {
    let skew = local.signed_duration_since(remote).num_seconds();
    let apart = skew.unsigned_abs();
    if apart > MAX_SKEW.as_secs() {
        let side = if skew > 0 { "ahead of" } else { "behind" };
        Finding {
            problem: true,
            text: format!(
                "clock: this machine is {apart} s {side} {source}: TLS and schedules break; \
                 turn on time sync (`timedatectl set-ntp true`)"
            ),
        }
    } else {
        Finding {
            problem: false,
            text: format!("clock: within {apart} s of {source}"),
        }
    }
}

/// Every agent's token and homeserver, checked at once; then the clock against the
/// first server that sent its time.
pub async fn findings(agents: &[Agent], timeout: Duration) -> Vec<Finding> {
    let probes = agents.iter().map(|a| async move {
        let (t, m) = tokio::join!(telegram(a, timeout), matrix(a, timeout));
        [t, m]
    });
    let answers: Vec<Answer> = futures_util::future::join_all(probes)
        .await
        .into_iter()
        .flatten()
        .flatten()
        .collect();
    let clock = answers
        .iter()
        .find_map(|a| a.clock.as_ref())
        .map(|(remote, local, source)| clock_finding(*local, *remote, source));
    let mut out: Vec<Finding> = answers.into_iter().map(|a| a.finding).collect();
    out.extend(clock);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn a_clock_a_minute_off_is_fine_beyond_it_a_problem() {
        let f = clock_finding(at(60), at(0), "the Bot API");
        assert!(!f.problem, "{f:?}");
        assert_eq!(f.text, "clock: within 60 s of the Bot API");
        let f = clock_finding(at(61), at(0), "the Bot API");
        assert!(
            f.problem && f.text.contains("61 s ahead of the Bot API"),
            "{f:?}"
        );
        let f = clock_finding(at(0), at(3600), "the Bot API");
        assert!(
            f.problem && f.text.contains("3600 s behind the Bot API"),
            "{f:?}"
        );
        assert!(f.text.contains("timedatectl set-ntp true"));
        assert!(!clock_finding(at(-59), at(0), "x").problem);
    }

    #[tokio::test]
    async fn a_homeserver_that_answers_versions_is_fine() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            for body in [
                r#"{"versions":["v1.1","v1.11"]}"#,
                "<html>not matrix</html>",
            ] {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 2048];
                let _ = s.read(&mut buf).await;
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ndate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                s.write_all(reply.as_bytes()).await.unwrap();
            }
        });
        let config = crate::config::model::AgentConfig {
            transports: vec!["matrix".into()],
            matrix: serde_json::json!({"homeserver": format!("http://{addr}")}),
            ..Default::default()
        };
        let agent = Agent {
            name: "main".into(),
            config,
        };
        let found = findings(std::slice::from_ref(&agent), Duration::from_secs(5)).await;
        assert!(
            !found[0].problem && found[0].text.ends_with("answers (Matrix v1.11)"),
            "{found:?}"
        );
        // The server's clock says 1994: far behind.
        assert!(
            found[1].problem && found[1].text.contains("ahead of the homeserver"),
            "{found:?}"
        );
        let found = findings(&[agent], Duration::from_secs(5)).await;
        assert!(
            found[0].problem && found[0].text.contains("no Matrix versions"),
            "{found:?}"
        );
    }
}
