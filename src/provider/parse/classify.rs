//! Error classification shared by every provider, and the one user-facing sentence
//! per [`FailureKind`].
//!
//! The CLIs report errors as free text (claude `result.result`, codex
//! `turn.failed.error.message`, gemini `result.error.message`, stderr), so the kind
//! is decided from the HTTP status when one is known and otherwise from keywords,
//! checked in this order:
//!
//! | kind | HTTP | keywords (case-insensitive) |
//! | --- | --- | --- |
//! | [`FailureKind::SessionNotFound`] | – | `invalid session`, `session not found`, `no conversation found`, `no rollout found`, `thread/resume failed`, `no previous sessions found`, `error resuming session` |
//! | [`FailureKind::AuthExpired`] | 401 | `unauthorized`, `unauthenticated`, `authentication`, `invalid api key`, `invalid x-api-key`, `api key not valid`, `sign in again`, `log in again`, `login again`, `token has been`, `token expired`, `token has expired`, `not logged in`, `please run /login`, `codex login` |
//! | [`FailureKind::RateLimited`] | 429 | `rate limit`, `rate_limit`, `too many requests`, `quota exceeded`, `exceeded your current quota`, `usage limit`, `hit your`, `upgrade to pro`, `resource_exhausted`, `resource exhausted` |
//! | [`FailureKind::ContextTooLong`] | 413 | `context length`, `context window`, `context_length_exceeded`, `token limit`, `maximum context`, `prompt is too long`, `input is too long`, `too long` (but not `argument list too long`) |
//!
//! Anything else is [`FailureKind::Other`]. Server-side trouble (HTTP 5xx, claude's
//! `Overloaded`, codex's "We’re currently experiencing high demand, which may cause
//! temporary errors.", which codex shows for a failing 5xx backend) is deliberately
//! `Other`: it is not the user's quota, and the CLI's own first line, which the
//! `Other` sentence quotes, already says that it is temporary.

use crate::provider::ProviderKind;
use crate::provider::event::FailureKind;

const SESSION_WORDS: [&str; 7] = [
    "invalid session",
    "session not found",
    "no conversation found",
    "no rollout found",
    "thread/resume failed",
    "no previous sessions found",
    "error resuming session",
];

const AUTH_WORDS: [&str; 15] = [
    "unauthorized",
    "unauthenticated",
    "authentication",
    "invalid api key",
    "invalid x-api-key",
    "api key not valid",
    "sign in again",
    "log in again",
    "login again",
    "token has been",
    "token expired",
    "token has expired",
    "not logged in",
    "please run /login",
    "codex login",
];

const RATE_WORDS: [&str; 10] = [
    "rate limit",
    "rate_limit",
    "too many requests",
    "quota exceeded",
    "exceeded your current quota",
    "usage limit",
    "hit your",
    "upgrade to pro",
    "resource_exhausted",
    "resource exhausted",
];

const CONTEXT_WORDS: [&str; 7] = [
    "context length",
    "context window",
    "context_length_exceeded",
    "token limit",
    "maximum context",
    "prompt is too long",
    "input is too long",
];

/// Classifies an error of any provider from its text and, when known, the HTTP
/// status of the failed API call (see the module docs for the rules).
pub fn classify(detail: &str, http_status: Option<u16>) -> FailureKind {
    let lower = detail.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    if has(&SESSION_WORDS) {
        return FailureKind::SessionNotFound;
    }
    match http_status.or_else(|| http_status_hint(detail)) {
        Some(401) => return FailureKind::AuthExpired,
        Some(429) => return FailureKind::RateLimited,
        Some(413) => return FailureKind::ContextTooLong,
        _ => {}
    }
    if has(&AUTH_WORDS) {
        FailureKind::AuthExpired
    } else if has(&RATE_WORDS) {
        FailureKind::RateLimited
    } else if has(&CONTEXT_WORDS)
        || (lower.contains("too long") && !lower.contains("argument list too long"))
    {
        FailureKind::ContextTooLong
    } else {
        FailureKind::Other
    }
}

/// Finds the HTTP status (400–599) an error text mentions: `API Error: 401 …`
/// (claude), `unexpected status 401 Unauthorized` (codex), `"code":401` (gemini's
/// embedded JSON), `status: 429`, `HTTP 500`.
pub fn http_status_hint(detail: &str) -> Option<u16> {
    const MARKERS: [&str; 7] = [
        "api error: ",
        "unexpected status ",
        "\"code\":",
        "\"code\": ",
        "status: ",
        "status code ",
        "http ",
    ];
    let lower = detail.to_ascii_lowercase();
    for marker in MARKERS {
        let mut from = 0;
        while let Some(pos) = lower[from..].find(marker) {
            let start = from + pos + marker.len();
            let digits: String = lower[start..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if digits.len() == 3
                && let Ok(code) = digits.parse::<u16>()
                && (400..600).contains(&code)
            {
                return Some(code);
            }
            from = start;
        }
    }
    None
}

/// One clear English sentence per failure kind, saying what to do.
///
/// [`FailureKind::Other`] and [`FailureKind::Crashed`] are generic here; use
/// [`user_sentence_with_detail`] to quote what the CLI said.
pub fn user_sentence(kind: FailureKind, provider: ProviderKind) -> String {
    let name = provider.display_name();
    match kind {
        FailureKind::AuthExpired => match provider {
            ProviderKind::Claude => "Claude is not logged in any more: run `claude` on the host, \
                 sign in with `/login` (or set ANTHROPIC_API_KEY), then send your message again."
                .to_owned(),
            ProviderKind::Codex => {
                "Codex is not logged in any more: run `codex login` on the host \
                 (or set OPENAI_API_KEY), then send your message again."
                    .to_owned()
            }
            ProviderKind::Gemini => "Gemini is not logged in any more: run `gemini` on the host \
                 and sign in again (or set GEMINI_API_KEY), then send your message again."
                .to_owned(),
        },
        FailureKind::RateLimited => format!(
            "{name} hit a rate or usage limit: wait a while and try again, or switch to another \
             model or provider with /model."
        ),
        FailureKind::ContextTooLong => format!(
            "The conversation no longer fits into {name}'s context window: send /new to start a \
             fresh session."
        ),
        FailureKind::SessionNotFound => format!(
            "The previous {name} session could not be found any more: send /new to start a fresh \
             session."
        ),
        FailureKind::CliMissing => {
            let package = match provider {
                ProviderKind::Claude => "@anthropic-ai/claude-code",
                ProviderKind::Codex => "@openai/codex",
                ProviderKind::Gemini => "@google/gemini-cli",
            };
            format!(
                "The `{}` CLI is not installed on the host: install it with \
                 `npm install -g {package}` and sign in, then try again.",
                provider.binary()
            )
        }
        FailureKind::Timeout => format!(
            "{name} took longer than the configured timeout and was stopped: send the request \
             again, or split it into smaller steps."
        ),
        FailureKind::Cancelled => format!("The {name} request was stopped."),
        FailureKind::Crashed => format!(
            "The {} CLI ended unexpectedly without an answer: please send the request again.",
            provider.binary()
        ),
        FailureKind::Other => format!("{name} reported an error."),
        FailureKind::SandboxUnavailable => "Nothing was run: the sandbox is not available (see \
             `ductor docker status`)."
            .to_owned(),
    }
}

/// Like [`user_sentence`], but quotes the first line of `detail` (at most 200
/// characters) for [`FailureKind::Other`] and [`FailureKind::Crashed`], where the
/// CLI's own words are the only useful hint.
pub fn user_sentence_with_detail(
    kind: FailureKind,
    provider: ProviderKind,
    detail: &str,
) -> String {
    let base = user_sentence(kind, provider);
    let first = detail.lines().map(str::trim).find(|l| !l.is_empty());
    match (kind, first) {
        (FailureKind::SandboxUnavailable, Some(line)) => format!(
            "Nothing was run: {line}. Run `ductor docker status` on the server to see what is wrong."
        ),
        (FailureKind::Other | FailureKind::Crashed, Some(line)) => {
            let line = super::truncate_chars(line, 200);
            match kind {
                FailureKind::Other => {
                    format!("{} reported an error: {line}", provider.display_name())
                }
                _ => format!("{base} ({line})"),
            }
        }
        _ => base,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use FailureKind::{AuthExpired, ContextTooLong, Other, RateLimited, SessionNotFound};

    #[test]
    fn classification_table() {
        let cases: &[(&str, Option<u16>, FailureKind)] = &[
            // Real texts from the captured streams.
            (
                "Failed to authenticate. API Error: 401 mock-llm: invalid API key",
                Some(401),
                AuthExpired,
            ),
            (
                "Failed to authenticate. API Error: 401 mock-llm: invalid API key",
                None,
                AuthExpired,
            ),
            (
                "unexpected status 401 Unauthorized: mock-llm: invalid API key, url: http://x/v1/responses",
                None,
                AuthExpired,
            ),
            (
                r#"[API Error: {"error":{"code":401,"message":"bad","status":"UNAUTHENTICATED"}}]"#,
                None,
                AuthExpired,
            ),
            (
                "API Error: 500 mock-llm: internal server error. This is a server-side issue",
                Some(500),
                Other,
            ),
            (
                "We’re currently experiencing high demand, which may cause temporary errors.",
                None,
                Other,
            ),
            (
                "stream disconnected before completion: mock-llm: stream broke",
                None,
                Other,
            ),
            (
                "No conversation found with session ID: 1234",
                None,
                SessionNotFound,
            ),
            (
                "Error resuming session: No previous sessions found for this project.",
                None,
                SessionNotFound,
            ),
            (
                "thread/resume failed: no rollout found for thread id x",
                None,
                SessionNotFound,
            ),
            // Keywords.
            (
                "OAuth token has expired. Please run /login",
                None,
                AuthExpired,
            ),
            (
                "Your access token has been revoked; sign in again",
                None,
                AuthExpired,
            ),
            ("Not logged in · Please run /login", None, AuthExpired),
            ("429 Too Many Requests", None, RateLimited),
            (
                "You've hit your usage limit. Upgrade to Pro",
                None,
                RateLimited,
            ),
            ("Quota exceeded for quota metric", None, RateLimited),
            (r#"{"status":"RESOURCE_EXHAUSTED"}"#, None, RateLimited),
            ("anything", Some(429), RateLimited),
            ("Prompt is too long", None, ContextTooLong),
            (
                "input exceeds the context window of this model",
                None,
                ContextTooLong,
            ),
            (
                "This model's maximum context length is 200000 tokens",
                None,
                ContextTooLong,
            ),
            ("spawn failed: Argument list too long", None, Other),
            ("something odd happened", None, Other),
            ("", None, Other),
        ];
        for (detail, status, want) in cases {
            assert_eq!(classify(detail, *status), *want, "{detail:?} / {status:?}");
        }
    }

    #[test]
    fn http_status_is_found_in_each_cli_format() {
        assert_eq!(http_status_hint("API Error: 500 mock-llm"), Some(500));
        assert_eq!(
            http_status_hint("unexpected status 429 Too Many Requests"),
            Some(429)
        );
        assert_eq!(http_status_hint(r#"{"error":{"code":401}}"#), Some(401));
        assert_eq!(
            http_status_hint(r#"{"code": 200, "x": "status: 503"}"#),
            Some(503)
        );
        assert_eq!(http_status_hint("took 4012 ms"), None);
        assert_eq!(http_status_hint("API Error: 1234"), None);
    }

    #[test]
    fn sentences_say_what_to_do() {
        assert!(user_sentence(AuthExpired, ProviderKind::Claude).contains("/login"));
        assert!(user_sentence(AuthExpired, ProviderKind::Codex).contains("codex login"));
        assert!(user_sentence(AuthExpired, ProviderKind::Gemini).contains("`gemini`"));
        assert!(user_sentence(ContextTooLong, ProviderKind::Codex).contains("/new"));
        assert!(
            user_sentence(FailureKind::CliMissing, ProviderKind::Claude)
                .contains("npm install -g @anthropic-ai/claude-code")
        );
        assert!(
            user_sentence(FailureKind::CliMissing, ProviderKind::Codex)
                .contains("npm install -g @openai/codex")
        );
        assert!(
            user_sentence(FailureKind::CliMissing, ProviderKind::Gemini)
                .contains("npm install -g @google/gemini-cli")
        );
        assert_eq!(
            user_sentence_with_detail(Other, ProviderKind::Codex, "\nstream broke\nmore"),
            "Codex reported an error: stream broke"
        );
        assert_eq!(
            user_sentence_with_detail(RateLimited, ProviderKind::Codex, "429"),
            user_sentence(RateLimited, ProviderKind::Codex)
        );
        for kind in [
            AuthExpired,
            RateLimited,
            ContextTooLong,
            SessionNotFound,
            FailureKind::CliMissing,
            FailureKind::Timeout,
            FailureKind::Cancelled,
            FailureKind::Crashed,
            Other,
        ] {
            for provider in ProviderKind::ALL {
                let s = user_sentence(kind, provider);
                assert!(s.ends_with('.'), "{s}");
                assert_eq!(s.matches(". ").count(), 0, "one sentence: {s}");
            }
        }
    }
}
