//! Stream parsers: one per provider, each turning the CLI's stdout lines into
//! [`Event`]s and deciding the turn's [`Outcome`] from the last final event,
//! never from the exit code.
//!
//! Outcome rules, shared by every provider:
//! 1. the last final event reports success → [`Outcome::Completed`], even when we
//!    cancelled just after it was written;
//! 2. else, we cancelled the run → `Failed { Cancelled }`;
//! 3. else, our timeout stopped it → `Failed { Timeout }`;
//! 4. else, the last final event reports an error → classified with [`classify::classify`];
//! 5. no final event at all → `Failed { Crashed }` with the exit status and the stderr tail.
//!
//! The session id seen during the run is carried by every outcome so the caller can
//! resume after errors too.
//!
//! Parsers never fail: non-JSON lines, unknown event types and unknown fields are
//! logged at debug level and ignored. A text block whose process died before the
//! block ended stays as the deltas already sent (no closing [`Event::Text`]); the
//! consumer keeps what it accumulated.

pub mod classify;
pub mod claude;
pub mod codex;
pub mod gemini;

use super::ProviderKind;
use super::event::{Event, FailureKind, Outcome, Usage};

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
    match provider {
        ProviderKind::Claude => Box::new(claude::ClaudeParser::default()),
        ProviderKind::Codex => Box::new(codex::CodexParser::default()),
        ProviderKind::Gemini => Box::new(gemini::GeminiParser::default()),
    }
}

/// Longest tool summary / excerpt, in characters (see [`Event::ToolStarted`]).
pub const SUMMARY_MAX_CHARS: usize = 200;
/// Longest failure detail, in characters.
pub const DETAIL_MAX_CHARS: usize = 500;

/// What the last final event of a turn said.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Final {
    /// The CLI reported success.
    Success {
        /// The final answer.
        text: String,
        /// Accounting of the turn.
        usage: Usage,
        /// Refused tool calls (claude only).
        permission_denials: Vec<String>,
    },
    /// The CLI reported an error.
    Error {
        /// Useful first line(s) of the error, already bounded.
        detail: String,
        /// HTTP status of the failed API call, when known.
        http_status: Option<u16>,
    },
}

/// Deserializes an optional raw JSON part, treating a part of an unexpected shape as
/// absent: a mistyped field must not cost the whole line (least of all a final one).
pub(crate) fn lenient<'a, T: serde::Deserialize<'a>>(
    raw: Option<&'a serde_json::value::RawValue>,
) -> Option<T> {
    serde_json::from_str(raw?.get()).ok()
}

/// Applies the shared outcome rules (see the module docs).
pub(crate) fn decide(
    provider: ProviderKind,
    last_final: Option<Final>,
    end: &RunEnd,
    session_id: Option<String>,
) -> Outcome {
    let error = match last_final {
        Some(Final::Success {
            text,
            usage,
            permission_denials,
        }) => {
            return Outcome::Completed {
                text,
                session_id,
                usage,
                permission_denials,
            };
        }
        Some(Final::Error {
            detail,
            http_status,
        }) => Some((detail, http_status)),
        None => None,
    };
    let failed = |kind, detail| Outcome::Failed {
        kind,
        detail,
        session_id: session_id.clone(),
    };
    if end.cancelled {
        let detail = error.map_or_else(|| "stopped on request".to_owned(), |(d, _)| d);
        return failed(FailureKind::Cancelled, detail);
    }
    if end.timed_out {
        let detail = error.map_or_else(|| "stopped by the turn timeout".to_owned(), |(d, _)| d);
        return failed(FailureKind::Timeout, detail);
    }
    if let Some((detail, http_status)) = error {
        return failed(classify::classify(&detail, http_status), detail);
    }
    // A CLI that fails before its stream starts (codex's "no rollout found",
    // gemini's "Error resuming session") says why only on stderr.
    let kind = match classify::classify(&end.stderr_tail, None) {
        FailureKind::Other => FailureKind::Crashed,
        known => known,
    };
    failed(kind, crash_detail(provider, end))
}

/// Describes a process that ended without a final event: its exit status and the
/// meaningful end of its stderr (known start-up noise removed).
fn crash_detail(provider: ProviderKind, end: &RunEnd) -> String {
    let status = match (end.signal, end.exit_code) {
        (Some(sig), _) => format!("{provider} was killed by signal {sig}"),
        (None, Some(code)) => format!("{provider} exited with code {code}"),
        (None, None) => format!("{provider} ended"),
    };
    let mut kept: Vec<&str> = end
        .stderr_tail
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty() && !is_stderr_noise(l))
        .collect();
    // Keep the end of the tail: the last lines explain the crash.
    let mut total = 0;
    let mut first = kept.len();
    while first > 0 && total + kept[first - 1].chars().count() < DETAIL_MAX_CHARS {
        first -= 1;
        total += kept[first].chars().count() + 1;
    }
    if first == kept.len() && first > 0 {
        // The last line alone is too long: keep its end.
        first -= 1;
    }
    kept.drain(..first);
    if kept.is_empty() {
        return format!("{status} without a final result");
    }
    let tail = kept.join("\n");
    format!(
        "{status} without a final result: {}",
        truncate_tail(&tail, DETAIL_MAX_CHARS)
    )
}

/// Lines every run of a CLI prints on stderr that never explain anything.
fn is_stderr_noise(line: &str) -> bool {
    const NOISE: [&str; 6] = [
        "Reading prompt from stdin",
        "Reading additional input from stdin",
        "Warning: 256-color support not detected",
        "Ripgrep is not available",
        "YOLO mode is enabled",
        "[STARTUP]",
    ];
    let line = line.trim_start();
    NOISE.iter().any(|n| line.starts_with(n))
}

/// Removes codex's stdin notices ("Reading prompt from stdin...") from an error text.
pub(crate) fn strip_stdin_notices(text: &str) -> String {
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| {
            let l = l.trim_start();
            !(l.starts_with("Reading prompt from stdin")
                || l.starts_with("Reading additional input from stdin"))
        })
        .collect();
    kept.join("\n").trim().to_owned()
}

/// Cuts `s` to at most `max` characters, marking a cut with `…`.
pub fn truncate_chars(s: &str, max: usize) -> String {
    if s.char_indices().nth(max).is_none() {
        return s.to_owned();
    }
    let keep = max.saturating_sub(1);
    let end = s.char_indices().nth(keep).map_or(s.len(), |(i, _)| i);
    let mut out = String::with_capacity(end + 3);
    out.push_str(&s[..end]);
    out.push('…');
    out
}

/// Keeps the last `max` characters of `s`, marking a cut with a leading `…`.
fn truncate_tail(s: &str, max: usize) -> String {
    let count = s.chars().count();
    if count <= max {
        return s.to_owned();
    }
    let skip = count - max + 1;
    let start = s.char_indices().nth(skip).map_or(s.len(), |(i, _)| i);
    format!("…{}", &s[start..])
}

/// One-line summary: whitespace runs collapsed to one space, at most
/// [`SUMMARY_MAX_CHARS`] characters.
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(SUMMARY_MAX_CHARS * 4));
    for (i, word) in s.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(word);
        if out.len() > SUMMARY_MAX_CHARS * 4 {
            break;
        }
    }
    truncate_chars(&out, SUMMARY_MAX_CHARS)
}

/// Start of a tool's output: trimmed, at most [`SUMMARY_MAX_CHARS`] characters.
pub fn excerpt(s: &str) -> String {
    truncate_chars(s.trim(), SUMMARY_MAX_CHARS)
}

/// The useful first lines of an error text: blank lines dropped, at most
/// [`DETAIL_MAX_CHARS`] characters.
pub fn bounded_detail(s: &str) -> String {
    let mut out = String::new();
    for line in s.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(line);
        if out.chars().count() >= DETAIL_MAX_CHARS {
            break;
        }
    }
    truncate_chars(&out, DETAIL_MAX_CHARS)
}

/// Builds the one-line summary of a tool call from its JSON input: the first
/// present of the usual argument names (`command`, `file_path`, `path`, `pattern`,
/// `url`, `query`, `description`, `prompt`, ...), else the compact JSON.
pub(crate) fn summarize_input(input: Option<&serde_json::value::RawValue>) -> String {
    const KEYS: [&str; 13] = [
        "command",
        "cmd",
        "file_path",
        "absolute_path",
        "path",
        "notebook_path",
        "pattern",
        "url",
        "query",
        "description",
        "prompt",
        "skill",
        "subject",
    ];
    let Some(raw) = input else {
        return String::new();
    };
    let Ok(map) = serde_json::from_str::<
        std::collections::HashMap<String, &serde_json::value::RawValue>,
    >(raw.get()) else {
        return one_line(raw.get());
    };
    for key in KEYS {
        if let Some(v) = map.get(key) {
            match serde_json::from_str::<String>(v.get()) {
                Ok(s) if !s.trim().is_empty() => return one_line(&s),
                Ok(_) => {}
                // Arrays such as codex's `cmd: ["bash", "-lc", "..."]`.
                Err(_) => {
                    if let Ok(parts) = serde_json::from_str::<Vec<String>>(v.get()) {
                        return one_line(&parts.join(" "));
                    }
                }
            }
        }
    }
    if map.is_empty() {
        String::new()
    } else {
        one_line(raw.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A realistic first line of each CLI, used to seed the robustness tests.
    fn session_line(provider: ProviderKind) -> &'static str {
        match provider {
            ProviderKind::Claude => {
                r#"{"type":"system","subtype":"init","session_id":"sid","tools":["Bash"]}"#
            }
            ProviderKind::Codex => r#"{"type":"thread.started","thread_id":"sid"}"#,
            ProviderKind::Gemini => r#"{"type":"init","session_id":"sid","model":"auto"}"#,
        }
    }

    #[test]
    fn garbage_truncated_and_unknown_lines_are_ignored_by_every_parser() {
        for provider in ProviderKind::ALL {
            let mut parser = parser_for(provider);
            let mut out = Vec::new();
            let full = session_line(provider);
            for line in [
                "",
                "   ",
                "not json at all",
                "Warning: something on stdout",
                "[1,2,3]",
                "42",
                "null",
                r#""a string""#,
                "{}",
                r#"{"type":42}"#,
                r#"{"type":"brand_new_event","payload":{"x":[1,2,{"y":null}]}}"#,
                &full[..full.len() / 2],
                "\u{feff}\u{0}\u{7f}",
                r#"{"type":"message","role":"assistant","content":{"weird":true},"delta":true}"#,
                r#"{"type":"item.completed","item":{"type":"agent_message","text":7}}"#,
                r#"{"type":"assistant","message":{"content":[{"type":"future_block","x":1}]}}"#,
            ] {
                parser.line(line, &mut out);
            }
            assert!(out.is_empty(), "{provider}: {out:?}");
            // Mistyped fields of a known line must not panic either.
            parser.line(
                r#"{"type":"result","usage":"x","stats":7,"is_error":"yes","status":5}"#,
                &mut Vec::new(),
            );
            parser.line(
                r#"{"type":"system","subtype":"api_retry","attempt":"1"}"#,
                &mut Vec::new(),
            );
            // A real line with extra, unknown fields still counts.
            let extended = full.replacen('{', r#"{"future_field":{"a":[1,2]},"another":true,"#, 1);
            parser.line(&extended, &mut out);
            assert_eq!(
                out,
                vec![Event::SessionStarted {
                    session_id: "sid".into()
                }],
                "{provider}"
            );
        }
    }

    #[test]
    fn odd_accounting_fields_never_lose_the_final_event() {
        let finals = [
            (
                ProviderKind::Claude,
                r#"{"type":"result","subtype":"success","is_error":false,"result":"ok","usage":{"input_tokens":1.5},"modelUsage":[],"total_cost_usd":"free","permission_denials":{"x":1},"session_id":"sid"}"#,
            ),
            (
                ProviderKind::Codex,
                r#"{"type":"turn.completed","usage":{"input_tokens":null,"output_tokens":"many"}}"#,
            ),
            (
                ProviderKind::Gemini,
                r#"{"type":"result","status":"success","stats":{"input_tokens":-1}}"#,
            ),
        ];
        for (provider, line) in finals {
            let mut parser = parser_for(provider);
            let mut out = Vec::new();
            parser.line(session_line(provider), &mut out);
            parser.line(line, &mut out);
            assert!(
                out.contains(&Event::Usage(Usage::default())),
                "{provider}: {out:?}"
            );
            match parser.finish(&RunEnd::default()) {
                Outcome::Completed {
                    usage, session_id, ..
                } => {
                    assert_eq!(usage, Usage::default(), "{provider}");
                    assert_eq!(session_id.as_deref(), Some("sid"));
                }
                other @ Outcome::Failed { .. } => panic!("{provider}: {other:?}"),
            }
        }
    }

    #[test]
    fn empty_stream_and_crash_is_crashed_with_the_stderr_tail() {
        for provider in ProviderKind::ALL {
            let mut parser = parser_for(provider);
            let end = RunEnd {
                exit_code: Some(3),
                stderr_tail: "Error: config file is broken\n  at line 4".into(),
                ..RunEnd::default()
            };
            match parser.finish(&end) {
                Outcome::Failed {
                    kind: FailureKind::Crashed,
                    detail,
                    session_id: None,
                } => assert_eq!(
                    detail,
                    format!(
                        "{provider} exited with code 3 without a final result: \
                         Error: config file is broken\n  at line 4"
                    )
                ),
                other => panic!("{provider}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_crash_whose_stderr_names_the_cause_takes_its_kind() {
        let cases = [
            (
                ProviderKind::Codex,
                "Error: thread/resume: thread/resume failed: no rollout found for thread id x",
                FailureKind::SessionNotFound,
            ),
            (
                ProviderKind::Gemini,
                "Error resuming session: No previous sessions found for this project.",
                FailureKind::SessionNotFound,
            ),
            (
                ProviderKind::Claude,
                "Error: something unexpected happened",
                FailureKind::Crashed,
            ),
        ];
        for (provider, stderr, want) in cases {
            let outcome = parser_for(provider).finish(&RunEnd {
                exit_code: Some(1),
                stderr_tail: stderr.into(),
                ..RunEnd::default()
            });
            match outcome {
                Outcome::Failed { kind, detail, .. } => {
                    assert_eq!(kind, want, "{provider}: {detail}");
                    assert!(detail.contains(stderr), "{detail}");
                }
                other @ Outcome::Completed { .. } => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn a_session_seen_before_a_crash_is_kept() {
        for provider in ProviderKind::ALL {
            let mut parser = parser_for(provider);
            let mut out = Vec::new();
            parser.line(session_line(provider), &mut out);
            let outcome = parser.finish(&RunEnd {
                signal: Some(9),
                ..RunEnd::default()
            });
            assert_eq!(outcome.session_id(), Some("sid"), "{provider}");
            assert!(matches!(
                outcome,
                Outcome::Failed {
                    kind: FailureKind::Crashed,
                    ..
                }
            ));
        }
    }

    #[test]
    fn truncation_marks_cuts_and_respects_char_boundaries() {
        assert_eq!(truncate_chars("abc", 3), "abc");
        assert_eq!(truncate_chars("abcd", 3), "ab…");
        assert_eq!(truncate_chars("ééééé", 3), "éé…");
        assert_eq!(truncate_tail("abcdef", 4), "…def");
        assert_eq!(one_line("  a\n\n b\tc "), "a b c");
        assert_eq!(
            one_line(&"x".repeat(500)).chars().count(),
            SUMMARY_MAX_CHARS
        );
    }

    #[test]
    fn summaries_pick_the_meaningful_argument() {
        let raw = |s: &str| serde_json::value::RawValue::from_string(s.to_owned()).unwrap();
        assert_eq!(
            summarize_input(Some(&raw(r#"{"description":"d","command":"ls -la"}"#))),
            "ls -la"
        );
        assert_eq!(
            summarize_input(Some(&raw(r#"{"file_path":"/a/b.rs","content":"x"}"#))),
            "/a/b.rs"
        );
        assert_eq!(
            summarize_input(Some(&raw(r#"{"cmd":["bash","-lc","echo hi"]}"#))),
            "bash -lc echo hi"
        );
        assert_eq!(summarize_input(Some(&raw(r#"{"x":1}"#))), r#"{"x":1}"#);
        assert_eq!(summarize_input(Some(&raw("{}"))), "");
        assert_eq!(summarize_input(None), "");
    }

    #[test]
    fn crash_detail_keeps_status_and_meaningful_stderr() {
        let end = RunEnd {
            exit_code: Some(1),
            stderr_tail: "Reading additional input from stdin...\nboom: disk full\n".into(),
            ..RunEnd::default()
        };
        assert_eq!(
            crash_detail(ProviderKind::Codex, &end),
            "codex exited with code 1 without a final result: boom: disk full"
        );
        let end = RunEnd {
            signal: Some(9),
            ..RunEnd::default()
        };
        assert_eq!(
            crash_detail(ProviderKind::Gemini, &end),
            "gemini was killed by signal 9 without a final result"
        );
        let end = RunEnd {
            exit_code: Some(2),
            stderr_tail: format!("first\n{}", "y".repeat(900)),
            ..RunEnd::default()
        };
        let d = crash_detail(ProviderKind::Claude, &end);
        assert!(d.starts_with("claude exited with code 2 without a final result: …yyy"));
        assert!(!d.contains("first"));
    }

    #[test]
    fn outcome_rules_prefer_success_then_cancel_then_timeout() {
        let ok = Final::Success {
            text: "hi".into(),
            usage: Usage::default(),
            permission_denials: vec![],
        };
        let cancelled = RunEnd {
            cancelled: true,
            ..RunEnd::default()
        };
        let timed_out = RunEnd {
            timed_out: true,
            ..RunEnd::default()
        };
        let sid = Some("s".to_owned());
        assert!(matches!(
            decide(ProviderKind::Claude, Some(ok), &cancelled, sid.clone()),
            Outcome::Completed { .. }
        ));
        let err = Final::Error {
            detail: "API Error: 401".into(),
            http_status: Some(401),
        };
        let kind = |o: Outcome| match o {
            Outcome::Failed {
                kind, session_id, ..
            } => {
                assert_eq!(session_id.as_deref(), Some("s"));
                kind
            }
            Outcome::Completed { .. } => panic!("not a failure"),
        };
        assert_eq!(
            kind(decide(
                ProviderKind::Claude,
                Some(err.clone()),
                &cancelled,
                sid.clone()
            )),
            FailureKind::Cancelled
        );
        assert_eq!(
            kind(decide(
                ProviderKind::Claude,
                Some(err.clone()),
                &timed_out,
                sid.clone()
            )),
            FailureKind::Timeout
        );
        assert_eq!(
            kind(decide(
                ProviderKind::Claude,
                Some(err),
                &RunEnd::default(),
                sid.clone()
            )),
            FailureKind::AuthExpired
        );
        assert_eq!(
            kind(decide(ProviderKind::Claude, None, &timed_out, sid.clone())),
            FailureKind::Timeout
        );
        assert_eq!(
            kind(decide(ProviderKind::Claude, None, &RunEnd::default(), sid)),
            FailureKind::Crashed
        );
    }
}
