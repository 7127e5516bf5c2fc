//! Golden tests of the provider stream parsers over real captured CLI streams.
//!
//! Each `tests/fixtures/cli-streams/<cli>-<case>.jsonl` (stdout of the genuine CLI,
//! captured against a mock model API) is replayed line by line; the events and the
//! outcome must equal `<cli>-<case>.expected.json`. The [`RunEnd`] comes from the
//! case's `.meta.json` (exit code or signal, `cancelled` when the capture sent a
//! signal) and the last lines of its `.stderr.txt`.
//!
//! `UPDATE_GOLDEN=1 cargo test --test parser_golden` rewrites the expected files;
//! review the diff by hand. The explicit assertions below catch a wrong regeneration
//! of the cases that matter most.

#[path = "support/golden.rs"]
mod golden;

use std::fs;
use std::path::{Path, PathBuf};

use ductor::provider::ProviderKind;
use ductor::provider::event::{Event, FailureKind, Outcome, Usage};
use ductor::provider::parse::{RunEnd, parser_for};
use serde_json::{Value, json};

/// Lines of stderr the runner hands in as `stderr_tail` for these cases.
const STDERR_TAIL_LINES: usize = 10;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cli-streams")
}

fn provider_of(case: &str) -> ProviderKind {
    case.split('-')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("case {case} does not start with a provider name"))
}

fn run_end(case: &str) -> RunEnd {
    let dir = fixtures();
    let meta: Value =
        serde_json::from_str(&fs::read_to_string(dir.join(format!("{case}.meta.json"))).unwrap())
            .unwrap();
    let signal = meta["exit_signal"].as_i64().map(|s| s as i32);
    let stderr = fs::read_to_string(dir.join(format!("{case}.stderr.txt"))).unwrap_or_default();
    let lines: Vec<&str> = stderr.lines().collect();
    let tail = lines[lines.len().saturating_sub(STDERR_TAIL_LINES)..].join("\n");
    RunEnd {
        cancelled: meta["signal"].is_string(),
        timed_out: false,
        exit_code: if signal.is_some() {
            None
        } else {
            meta["exit_code"].as_i64().map(|c| c as i32)
        },
        signal,
        stderr_tail: tail,
    }
}

fn replay(case: &str) -> (Vec<Event>, Outcome) {
    let text = fs::read_to_string(fixtures().join(format!("{case}.jsonl"))).unwrap();
    let mut parser = parser_for(provider_of(case));
    let mut events = Vec::new();
    for line in text.lines() {
        parser.line(line, &mut events);
    }
    let outcome = parser.finish(&run_end(case));
    (events, outcome)
}

fn cases() -> Vec<String> {
    let mut cases: Vec<String> = fs::read_dir(fixtures())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".jsonl").map(str::to_owned)
        })
        .collect();
    cases.sort();
    cases
}

#[test]
fn every_captured_stream_matches_its_golden_file() {
    let update = golden::update();
    let cases = cases();
    assert!(cases.len() >= 49, "fixtures missing: {}", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let (events, outcome) = replay(case);
        let actual = json!({ "events": events, "outcome": outcome });
        let path = fixtures().join(format!("{case}.expected.json"));
        if update {
            let mut text = serde_json::to_string_pretty(&actual).unwrap();
            text.push('\n');
            fs::write(&path, text).unwrap();
            continue;
        }
        let expected: Value = match fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).unwrap(),
            Err(e) => {
                failures.push(format!("{case}: {e}"));
                continue;
            }
        };
        if expected != actual {
            failures.push(format!(
                "{case}: expected\n{}\nactual\n{}",
                serde_json::to_string_pretty(&expected).unwrap(),
                serde_json::to_string_pretty(&actual).unwrap()
            ));
        }
        // The golden files must also read back into the typed contract.
        let back: Outcome = serde_json::from_value(expected["outcome"].clone()).unwrap();
        assert_eq!(back, outcome, "{case}");
        let _: Vec<Event> = serde_json::from_value(expected["events"].clone()).unwrap();
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn failed(outcome: &Outcome) -> (FailureKind, &str, Option<&str>) {
    match outcome {
        Outcome::Failed {
            kind,
            detail,
            session_id,
        } => (*kind, detail.as_str(), session_id.as_deref()),
        Outcome::Completed { .. } => panic!("expected a failure, got {outcome:?}"),
    }
}

fn completed(outcome: &Outcome) -> (&str, Option<&str>, Usage, &[String]) {
    match outcome {
        Outcome::Completed {
            text,
            session_id,
            usage,
            permission_denials,
        } => (
            text.as_str(),
            session_id.as_deref(),
            *usage,
            permission_denials.as_slice(),
        ),
        Outcome::Failed { .. } => panic!("expected success, got {outcome:?}"),
    }
}

/// Text contract: every `Text` closes a block of zero or more deltas, and the deltas
/// of a closed block are a prefix of its `Text`.
fn assert_text_contract(case: &str, events: &[Event]) {
    let mut pending = String::new();
    for e in events {
        match e {
            Event::TextDelta { text } => pending.push_str(text),
            Event::Text { text } => {
                assert!(
                    text.starts_with(&pending),
                    "{case}: deltas {pending:?} are not a prefix of {text:?}"
                );
                pending.clear();
            }
            _ => {}
        }
    }
}

#[test]
fn text_contract_holds_for_every_stream() {
    for case in cases() {
        let (events, _) = replay(&case);
        assert_text_contract(&case, &events);
    }
}

const PLAIN_ANSWER: &str =
    "Hello from mock-llm. This is a scripted answer (prior_assistant_turns=0).";

#[test]
fn plain_answers_complete_with_text_session_and_usage() {
    for cli in ["claude", "codex", "gemini"] {
        let case = format!("{cli}-plain");
        let (events, outcome) = replay(&case);
        let (text, sid, usage, denials) = completed(&outcome);
        assert_eq!(text, PLAIN_ANSWER, "{case}");
        assert!(sid.is_some_and(|s| !s.is_empty()), "{case}");
        assert!(usage.input_tokens > 0 && usage.output_tokens > 0, "{case}");
        assert!(denials.is_empty());
        assert!(
            matches!(events.first(), Some(Event::SessionStarted { session_id }) if Some(session_id.as_str()) == sid),
            "{case}: first event is the session"
        );
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::Text { text } if text == PLAIN_ANSWER)),
            "{case}"
        );
    }
    let (_, outcome) = replay("claude-plain");
    let (_, _, usage, _) = completed(&outcome);
    assert_eq!(usage.input_tokens, 19164);
    assert_eq!(usage.output_tokens, 18);
    assert!(usage.cost_usd.is_some_and(|c| c > 0.09));
    let (_, outcome) = replay("codex-plain");
    assert_eq!(completed(&outcome).2.input_tokens, 9551);
    let (_, outcome) = replay("gemini-plain");
    assert_eq!(completed(&outcome).2.output_tokens, 32);
}

#[test]
fn claude_401_is_auth_expired_with_session_id() {
    let (events, outcome) = replay("claude-error-401");
    let (kind, detail, sid) = failed(&outcome);
    assert_eq!(kind, FailureKind::AuthExpired);
    assert!(detail.contains("API Error: 401"), "{detail}");
    assert_eq!(sid, Some("28805bd3-1a06-4ead-9378-d8d73f7d14e8"));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Retrying { attempt: 1, .. }))
    );
    // The synthetic error "answer" is not shown as text.
    assert!(!events.iter().any(|e| matches!(e, Event::Text { .. })));
}

#[test]
fn server_errors_are_other_with_the_cli_message() {
    for (case, needle) in [
        ("claude-error-500", "API Error: 500"),
        ("codex-error-500", "high demand"),
        ("gemini-error-500", "API Error 500 INTERNAL"),
    ] {
        let (_, outcome) = replay(case);
        let (kind, detail, sid) = failed(&outcome);
        assert_eq!(kind, FailureKind::Other, "{case}");
        assert!(detail.contains(needle), "{case}: {detail}");
        assert!(sid.is_some(), "{case}");
    }
}

#[test]
fn codex_and_gemini_401_are_auth_expired() {
    for case in ["codex-error-401", "gemini-error-401"] {
        let (_, outcome) = replay(case);
        let (kind, detail, sid) = failed(&outcome);
        assert_eq!(kind, FailureKind::AuthExpired, "{case}");
        assert!(detail.contains("401"), "{case}: {detail}");
        assert!(sid.is_some(), "{case}");
    }
    let (events, _) = replay("codex-error-401");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Retrying { attempt: 1, .. }))
    );
}

#[test]
fn claude_midstream_break_completes_with_the_full_text() {
    let (events, outcome) = replay("claude-error-midstream");
    let (text, _, usage, _) = completed(&outcome);
    assert_eq!(text, PLAIN_ANSWER);
    // result.usage is all zero here; modelUsage has the real numbers.
    assert_eq!(usage.input_tokens, 19162);
    let deltas: String = events
        .iter()
        .filter_map(|e| match e {
            Event::TextDelta { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(deltas, "Hello from mock-llm. This ");
    assert!(events.contains(&Event::Text {
        text: PLAIN_ANSWER.into()
    }));
}

#[test]
fn midstream_breaks_of_codex_and_gemini_fail_even_with_exit_0() {
    let (_, outcome) = replay("codex-error-midstream");
    let (kind, detail, _) = failed(&outcome);
    assert_eq!(kind, FailureKind::Other);
    assert!(detail.starts_with("stream disconnected before completion"));

    assert_eq!(run_end("gemini-error-midstream").exit_code, Some(0));
    let (events, outcome) = replay("gemini-error-midstream");
    let (kind, detail, sid) = failed(&outcome);
    assert_eq!(kind, FailureKind::Other);
    assert_eq!(detail, "Model stream ended without a finish reason.");
    assert_eq!(sid, Some("9b06ff80-84fa-41f9-b5ba-d192b2f6d5c2"));
    assert!(events.iter().any(|e| matches!(e, Event::Warning { .. })));
}

#[test]
fn every_cancel_case_is_cancelled_with_its_session_id() {
    let cancel_cases: Vec<String> = cases()
        .into_iter()
        .filter(|c| c.contains("-cancel-"))
        .collect();
    assert!(cancel_cases.len() >= 20);
    for case in cancel_cases {
        let (events, outcome) = replay(&case);
        let (kind, _, sid) = failed(&outcome);
        assert_eq!(kind, FailureKind::Cancelled, "{case}");
        let started = events.iter().find_map(|e| match e {
            Event::SessionStarted { session_id } => Some(session_id.as_str()),
            _ => None,
        });
        assert!(sid.is_some() && sid == started, "{case}");
    }
}

#[test]
fn cancel_without_a_final_event_would_be_a_crash_if_we_had_not_cancelled() {
    // codex SIGTERM: killed by signal 15, no final event.
    let mut end = run_end("codex-cancel-sigterm");
    assert_eq!(end.signal, Some(15));
    end.cancelled = false;
    let text = fs::read_to_string(fixtures().join("codex-cancel-sigterm.jsonl")).unwrap();
    let mut parser = parser_for(ProviderKind::Codex);
    let mut events = Vec::new();
    for line in text.lines() {
        parser.line(line, &mut events);
    }
    let outcome = parser.finish(&end);
    let (kind, detail, sid) = failed(&outcome);
    assert_eq!(kind, FailureKind::Crashed);
    assert_eq!(
        detail,
        "codex was killed by signal 15 without a final result"
    );
    assert_eq!(sid, Some("01a1ff87-b5f3-7610-b23b-efecddbbd92c"));
}

#[test]
fn claude_sigint_and_tool_cancel_keep_partial_output() {
    let (events, outcome) = replay("claude-cancel-sigint");
    assert_eq!(failed(&outcome).0, FailureKind::Cancelled);
    assert!(events.contains(&Event::Text {
        text: "slow-chunk-0 slow-chunk-1 slow-chunk-2 slow-chunk-3 slow-chunk-4 ".into()
    }));
    let (events, _) = replay("claude-cancel-tool-sigint");
    assert!(events.contains(&Event::ToolStarted {
        id: Some("toolu_mock_d4b77f6eb9a64c51".into()),
        name: "Bash".into(),
        summary: "sleep 749.243".into(),
    }));
    assert!(events.iter().any(|e| matches!(
        e,
        Event::ToolFinished { id: Some(id), ok: false, .. } if id == "toolu_mock_d4b77f6eb9a64c51"
    )));
}

#[test]
fn tool_turns_report_the_tool_and_answer_with_the_text_after_it() {
    let (events, outcome) = replay("claude-tool");
    assert!(events.contains(&Event::ToolStarted {
        id: Some("toolu_mock_f68742475d63458a".into()),
        name: "Bash".into(),
        summary: "echo mock-tool-output".into(),
    }));
    assert!(events.contains(&Event::ToolFinished {
        id: Some("toolu_mock_f68742475d63458a".into()),
        ok: true,
        excerpt: "mock-tool-output".into(),
    }));
    let (text, ..) = completed(&outcome);
    assert!(text.starts_with("The tool ran. Its output was: mock-tool-output"));

    let (events, outcome) = replay("codex-tool");
    assert!(events.contains(&Event::ToolStarted {
        id: Some("item_1".into()),
        name: "Shell".into(),
        summary: "/bin/bash -lc 'echo mock-tool-output'".into(),
    }));
    assert!(events.contains(&Event::ToolFinished {
        id: Some("item_1".into()),
        ok: true,
        excerpt: "mock-tool-output".into(),
    }));
    let (text, ..) = completed(&outcome);
    assert!(text.starts_with("The tool ran."), "{text}");
    assert!(!text.contains("I will run"), "{text}");

    let (events, outcome) = replay("gemini-tool");
    let tool_at = events
        .iter()
        .position(|e| matches!(e, Event::ToolStarted { name, .. } if name == "run_shell_command"))
        .unwrap();
    assert_eq!(
        events[tool_at - 1],
        Event::Text {
            text: "I will run a shell command.".into()
        },
        "gemini's block is closed before the tool"
    );
    assert!(events.contains(&Event::ToolFinished {
        id: Some("run_shell_command__run_shell_command_1795288480135_0".into()),
        ok: true,
        excerpt: "mock-tool-output".into(),
    }));
    let (text, ..) = completed(&outcome);
    assert!(text.starts_with("The tool ran. Its output was:"), "{text}");
    assert!(!text.contains("I will run"), "{text}");
}

#[test]
fn claude_permission_denials_are_reported() {
    let (events, outcome) = replay("claude-tool-default-perms");
    let (_, _, _, denials) = completed(&outcome);
    assert_eq!(denials, ["Bash: touch perm-test.txt && echo wrote-file"]);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::ToolFinished { ok: false, .. }))
    );
}

#[test]
fn resumed_turns_keep_the_session_id() {
    for cli in ["claude", "codex", "gemini"] {
        let (_, first) = replay(&format!("{cli}-resume-turn1"));
        let (_, second) = replay(&format!("{cli}-resume"));
        let (_, sid1, ..) = completed(&first);
        let (text, sid2, ..) = completed(&second);
        assert!(sid1.is_some());
        assert_eq!(sid1, sid2, "{cli}");
        assert!(text.contains("prior_assistant_turns=1"), "{cli}: {text}");
    }
}

#[test]
fn claude_stream_input_reports_each_turn_and_ends_with_the_last() {
    let (events, outcome) = replay("claude-stream-input");
    let sessions = events
        .iter()
        .filter(|e| matches!(e, Event::SessionStarted { .. }))
        .count();
    assert_eq!(sessions, 2);
    let (text, ..) = completed(&outcome);
    assert!(text.contains("prior_assistant_turns=1"));
}

/// claude auto-compacted before the answer of a resumed turn (`status: compacting`,
/// then `compact_boundary`; the summary comes as a synthetic `user` line): the
/// parser reports the compaction (its boundary brings ductor's memory flush), and the turn
/// completes in the same session with only the answer as its text.
#[test]
fn claude_compaction_is_reported_and_the_turn_completes_in_its_session() {
    let (events, outcome) = replay("claude-compact");
    let (text, sid, ..) = completed(&outcome);
    assert_eq!(
        text,
        "Hello from mock-llm. You said: \"after the long answer one\" (prior_assistant_turns=1)."
    );
    assert_eq!(sid, Some("7e0b74bf-a77b-4f09-801c-642e6d43fe4f"));
    let compacting = events.iter().position(|e| *e == Event::Compacting);
    let compacted = events.iter().position(|e| *e == Event::Compacted);
    let answer = events
        .iter()
        .position(|e| matches!(e, Event::TextDelta { .. }));
    assert!(
        compacting.is_some() && compacting < compacted && compacted < answer,
        "the compaction starts, succeeds, then the answer comes: {events:?}"
    );
    assert!(
        !events.iter().any(
            |e| matches!(e, Event::Text { text } | Event::TextDelta { text } if text.contains("SUMMARY"))
        ),
        "the summary is no answer text"
    );
}
