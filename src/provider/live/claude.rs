//! claude's live protocol: `claude -p --input-format stream-json --output-format
//! stream-json --verbose --permission-prompt-tool stdio`. User turns are stream-json
//! `user` messages on stdin; the stream on stdout is the one-shot stream (parsed by
//! [`ClaudeParser`], one parser per turn, ended by its `result` line) plus
//! `control_request`s: `can_use_tool` asks before a tool runs (`AskUserQuestion`
//! arrives the same way and is answered with `updatedInput.answers`), and
//! `control_cancel_request` withdraws an ask. ductor sends `interrupt` control
//! requests; a message written while a turn runs is taken into it (steering).

use super::{Answer, Ask, AskKind, Decision, LiveCodec, LiveEvent, Question, StartSpec, preview};
use crate::provider::parse::claude::ClaudeParser;
use crate::provider::parse::{RunEnd, StreamParser};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// A `can_use_tool` request waiting for the user.
#[derive(Debug, Clone)]
struct Pending {
    input: Value,
    suggestions: Vec<Value>,
}

/// The claude codec (see the module docs).
#[derive(Default)]
pub struct ClaudeCodec {
    parser: ClaudeParser,
    pending: BTreeMap<String, Pending>,
    ready: bool,
    interrupted: bool,
    in_turn: bool,
    next_request: u64,
}

impl std::fmt::Debug for ClaudeCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaudeCodec")
            .field("pending", &self.pending.keys().collect::<Vec<_>>())
            .field("in_turn", &self.in_turn)
            .finish_non_exhaustive()
    }
}

/// The arguments that put claude into its live mode (besides model and resume); the
/// answer streams in deltas (`--include-partial-messages`) as in one-shot mode.
pub const LIVE_ARGS: [&str; 9] = [
    "-p",
    "--input-format",
    "stream-json",
    "--output-format",
    "stream-json",
    "--verbose",
    "--include-partial-messages",
    "--permission-prompt-tool",
    "stdio",
];

fn user_message(text: &str) -> String {
    json!({
        "type": "user",
        "message": {"role": "user", "content": [{"type": "text", "text": text}]},
    })
    .to_string()
}

fn tool_preview(tool: &str, input: &Value) -> String {
    let field = |k: &str| input.get(k).and_then(Value::as_str);
    let text = match tool {
        "Bash" => field("command").map(str::to_owned),
        "Write" => field("file_path").map(|p| {
            let content = field("content").unwrap_or_default();
            format!("{p}\n{content}")
        }),
        "Edit" | "MultiEdit" => field("file_path").map(|p| {
            let old = field("old_string").unwrap_or_default();
            let new = field("new_string").unwrap_or_default();
            format!("{p}\n- {old}\n+ {new}")
        }),
        "WebFetch" => field("url").map(str::to_owned),
        // Plan mode's end: the plan is what the user approves.
        "ExitPlanMode" => field("plan").map(str::to_owned),
        _ => None,
    };
    preview(&text.unwrap_or_else(|| input.to_string()))
}

fn questions(input: &Value) -> Vec<Question> {
    input
        .get("questions")
        .and_then(Value::as_array)
        .map(|qs| {
            qs.iter()
                .filter_map(|q| {
                    Some(Question {
                        text: q.get("question")?.as_str()?.to_owned(),
                        options: q
                            .get("options")
                            .and_then(Value::as_array)
                            .map(|os| {
                                os.iter()
                                    .filter_map(|o| o.get("label").and_then(Value::as_str))
                                    .map(str::to_owned)
                                    .collect()
                            })
                            .unwrap_or_default(),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

fn response(request_id: &str, body: &Value) -> String {
    json!({
        "type": "control_response",
        "response": {"subtype": "success", "request_id": request_id, "response": body},
    })
    .to_string()
}

impl ClaudeCodec {
    fn ask(&mut self, request_id: &str, request: &Value, out: &mut Vec<LiveEvent>) {
        let tool = request
            .get("tool_name")
            .and_then(Value::as_str)
            .unwrap_or("tool")
            .to_owned();
        let input = request.get("input").cloned().unwrap_or_else(|| json!({}));
        let suggestions: Vec<Value> = request
            .get("permission_suggestions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let kind = if tool == "AskUserQuestion" {
            AskKind::Question {
                questions: questions(&input),
            }
        } else {
            let mut choices = vec![Decision::AllowOnce];
            // A plan is approved once; tools may be allowed for longer.
            if tool != "ExitPlanMode" {
                choices.push(Decision::AllowSession);
                if !suggestions.is_empty() {
                    choices.push(Decision::AllowAlways);
                }
            }
            choices.push(Decision::Deny);
            AskKind::Approval {
                preview: tool_preview(&tool, &input),
                tool,
                choices,
            }
        };
        self.pending
            .insert(request_id.to_owned(), Pending { input, suggestions });
        out.push(LiveEvent::Ask(Ask {
            id: request_id.to_owned(),
            kind,
        }));
    }

    fn end_turn(&mut self, out: &mut Vec<LiveEvent>) {
        let end = RunEnd {
            cancelled: self.interrupted,
            exit_code: Some(0),
            ..RunEnd::default()
        };
        let outcome = self.parser.finish(&end);
        self.parser = ClaudeParser::default();
        self.interrupted = false;
        self.in_turn = false;
        for id in std::mem::take(&mut self.pending).into_keys() {
            out.push(LiveEvent::Withdrawn { id });
        }
        out.push(LiveEvent::TurnEnded(outcome));
    }

    fn control(&mut self, kind: &str, v: &Value, out: &mut Vec<LiveEvent>) -> Vec<String> {
        let request_id = v
            .get("request_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        match kind {
            "control_request" => {
                let request = v.get("request").cloned().unwrap_or(Value::Null);
                if request.get("subtype").and_then(Value::as_str) == Some("can_use_tool") {
                    self.ask(request_id, &request, out);
                    Vec::new()
                } else {
                    // A request ductor does not serve (hooks, MCP): say so, so the CLI
                    // does not wait for an answer.
                    vec![
                        json!({
                            "type": "control_response",
                            "response": {"subtype": "error", "request_id": request_id,
                                         "error": "not supported by this client"},
                        })
                        .to_string(),
                    ]
                }
            }
            "control_cancel_request" => {
                if self.pending.remove(request_id).is_some() {
                    out.push(LiveEvent::Withdrawn {
                        id: request_id.to_owned(),
                    });
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }
}

impl LiveCodec for ClaudeCodec {
    fn start(&mut self, _spec: &StartSpec) -> Vec<String> {
        // claude takes model and resume as arguments; the stream starts with the
        // first user message.
        Vec::new()
    }

    fn send_turn(&mut self, text: &str) -> Vec<String> {
        self.in_turn = true;
        vec![user_message(text)]
    }

    fn answer(&mut self, id: &str, answer: &Answer) -> Result<Vec<String>, String> {
        let Some(p) = self.pending.remove(id) else {
            return Err(format!("no pending request {id}"));
        };
        let allow = |input: &Value, permissions: Option<Vec<Value>>| {
            let mut body = json!({"behavior": "allow", "updatedInput": input});
            if let Some(perms) = permissions {
                body["updatedPermissions"] = Value::Array(perms);
            }
            body
        };
        let deny =
            |message: &str| json!({"behavior": "deny", "message": message, "interrupt": false});
        let body = match answer {
            Answer::Decision(Decision::AllowOnce) => allow(&p.input, None),
            Answer::Decision(Decision::AllowSession) => {
                let perms = p
                    .suggestions
                    .iter()
                    .cloned()
                    .map(|mut s| {
                        s["destination"] = json!("session");
                        s
                    })
                    .collect();
                allow(&p.input, Some(perms))
            }
            Answer::Decision(Decision::AllowAlways) => allow(&p.input, Some(p.suggestions.clone())),
            Answer::Decision(Decision::Deny) => deny("The user denied this tool call."),
            Answer::DenyWith(reason) => deny(reason),
            Answer::Cancel => deny("The request expired before the user answered."),
            Answer::Answers(pairs) => {
                let mut input = p.input.clone();
                let answers: serde_json::Map<String, Value> = pairs
                    .iter()
                    .map(|(q, a)| (q.clone(), Value::String(a.clone())))
                    .collect();
                input["answers"] = Value::Object(answers);
                allow(&input, None)
            }
        };
        Ok(vec![response(id, &body)])
    }

    fn interrupt(&mut self) -> Vec<String> {
        if !self.in_turn {
            return Vec::new();
        }
        self.interrupted = true;
        self.next_request += 1;
        vec![
            json!({
                "type": "control_request",
                "request_id": format!("ductor-{}", self.next_request),
                "request": {"subtype": "interrupt"},
            })
            .to_string(),
        ]
    }

    fn steer(&mut self, text: &str) -> Option<Vec<String>> {
        // claude reads a user message that arrives mid-turn into the running turn.
        Some(vec![user_message(text)])
    }

    fn on_line(&mut self, line: &str, out: &mut Vec<LiveEvent>) -> Vec<String> {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            tracing::debug!(len = line.len(), "claude live: ignoring a non-JSON line");
            return Vec::new();
        };
        let kind = v.get("type").and_then(Value::as_str).unwrap_or_default();
        if kind.starts_with("control_") {
            return self.control(kind, &v, out);
        }
        if !self.ready && kind == "system" {
            self.ready = true;
            out.push(LiveEvent::Ready {
                session_id: v
                    .get("session_id")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            });
        }
        let mut events = Vec::new();
        self.parser.line(line, &mut events);
        out.extend(events.into_iter().map(LiveEvent::Event));
        if kind == "result" {
            self.end_turn(out);
        }
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::event::Outcome;

    fn feed(c: &mut ClaudeCodec, line: &Value) -> (Vec<LiveEvent>, Vec<String>) {
        let mut out = Vec::new();
        let replies = c.on_line(&line.to_string(), &mut out);
        (out, replies)
    }

    fn can_use(id: &str, tool: &str, input: &Value) -> Value {
        json!({"type": "control_request", "request_id": id, "request": {
            "subtype": "can_use_tool", "tool_name": tool, "input": input, "tool_use_id": "t1",
            "permission_suggestions": [{"type": "addRules", "rules": [{"toolName": "Bash", "ruleContent": "touch:*"}],
                                         "behavior": "allow", "destination": "localSettings"}]}})
    }

    #[test]
    fn an_approval_is_asked_and_answered_in_each_way() {
        let mut c = ClaudeCodec::default();
        let (ev, _) = feed(
            &mut c,
            &can_use("r1", "Bash", &json!({"command": "touch x"})),
        );
        let LiveEvent::Ask(ask) = &ev[0] else {
            panic!("{ev:?}")
        };
        assert_eq!(
            ask.kind,
            AskKind::Approval {
                tool: "Bash".into(),
                preview: "touch x".into(),
                choices: vec![
                    Decision::AllowOnce,
                    Decision::AllowSession,
                    Decision::AllowAlways,
                    Decision::Deny
                ],
            }
        );
        let lines = c
            .answer("r1", &Answer::Decision(Decision::AllowSession))
            .unwrap();
        let v: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(v["response"]["request_id"], "r1");
        assert_eq!(v["response"]["response"]["behavior"], "allow");
        assert_eq!(
            v["response"]["response"]["updatedInput"]["command"],
            "touch x"
        );
        assert_eq!(
            v["response"]["response"]["updatedPermissions"][0]["destination"],
            "session"
        );
        assert!(
            c.answer("r1", &Answer::Decision(Decision::Deny)).is_err(),
            "answered once"
        );

        feed(&mut c, &can_use("r2", "Bash", &json!({"command": "rm y"})));
        let v: Value =
            serde_json::from_str(&c.answer("r2", &Answer::Decision(Decision::Deny)).unwrap()[0])
                .unwrap();
        assert_eq!(v["response"]["response"]["behavior"], "deny");
    }

    #[test]
    fn a_plan_is_approved_once_with_the_plan_as_preview() {
        let mut c = ClaudeCodec::default();
        c.send_turn("plan it");
        let plan = json!({"plan": "1. read\n2. write"});
        let (ev, _) = feed(&mut c, &can_use("p1", "ExitPlanMode", &plan));
        let LiveEvent::Ask(Ask {
            kind: AskKind::Approval {
                preview, choices, ..
            },
            ..
        }) = &ev[0]
        else {
            panic!("{ev:?}")
        };
        assert_eq!(preview, "1. read\n2. write");
        assert_eq!(choices, &[Decision::AllowOnce, Decision::Deny]);
    }

    #[test]
    fn a_question_a_withdrawal_and_the_end_of_a_turn() {
        let mut c = ClaudeCodec::default();
        c.send_turn("hi");
        let q = json!({"questions": [{"question": "Which colour?", "options": [{"label": "red"}, {"label": "blue"}]}]});
        let (ev, _) = feed(&mut c, &can_use("q1", "AskUserQuestion", &q));
        assert!(
            matches!(&ev[0], LiveEvent::Ask(Ask { kind: AskKind::Question { questions }, .. })
            if questions[0].options == ["red", "blue"])
        );
        let lines = c
            .answer(
                "q1",
                &Answer::Answers(vec![("Which colour?".into(), "blue".into())]),
            )
            .unwrap();
        let v: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(
            v["response"]["response"]["updatedInput"]["answers"]["Which colour?"],
            "blue"
        );

        feed(
            &mut c,
            &can_use("r3", "Bash", &json!({"command": "touch z"})),
        );
        let (ev, _) = feed(
            &mut c,
            &json!({"type": "control_cancel_request", "request_id": "r3"}),
        );
        assert_eq!(ev, vec![LiveEvent::Withdrawn { id: "r3".into() }]);

        feed(
            &mut c,
            &can_use("r4", "Bash", &json!({"command": "touch w"})),
        );
        let result = json!({"type": "result", "subtype": "success", "is_error": false, "result": "done",
                            "session_id": "s1", "usage": {"input_tokens": 1, "output_tokens": 2}});
        let (ev, _) = feed(&mut c, &result);
        assert!(
            ev.contains(&LiveEvent::Withdrawn { id: "r4".into() }),
            "{ev:?}"
        );
        assert!(
            matches!(ev.last(), Some(LiveEvent::TurnEnded(Outcome::Completed { text, .. })) if text == "done"),
            "{ev:?}"
        );
    }

    #[test]
    fn unknown_control_requests_get_an_error_and_garbage_is_ignored() {
        let mut c = ClaudeCodec::default();
        let (ev, replies) = feed(
            &mut c,
            &json!({"type": "control_request", "request_id": "h1", "request": {"subtype": "hook_callback"}}),
        );
        assert!(ev.is_empty());
        let v: Value = serde_json::from_str(&replies[0]).unwrap();
        assert_eq!(v["response"]["subtype"], "error");
        let mut out = Vec::new();
        assert!(c.on_line("not json {", &mut out).is_empty() && out.is_empty());
        assert!(
            c.interrupt().is_empty(),
            "nothing to interrupt between turns"
        );
    }
}
