//! `OpenAI` Responses (`POST /v1/responses`), as codex uses it: request parsing, SSE stream
//! (`response.*` events), error body.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use warp::http::StatusCode;
use warp::reply::Response;

use super::anthropic::halves;
use super::http::{Call, Frames, json_response};
use super::parsed::{Entry, History, Parsed, output_text, str_of, user_entry};
use super::script::{Answer, ToolSpec};

pub(super) fn parse(body: &Value) -> Parsed {
    let mut entries = Vec::new();
    let mut system: Vec<String> = body["instructions"]
        .as_str()
        .map(str::to_owned)
        .into_iter()
        .collect();
    if let Some(text) = body["input"].as_str() {
        entries.extend(user_entry([text]));
    }
    for item in body["input"].as_array().into_iter().flatten() {
        let kind = str_of(&item["type"]);
        let role = str_of(&item["role"]);
        if kind.ends_with("_call_output") {
            entries.push(Entry::ToolResult(output_text(&item["output"])));
        } else if kind.ends_with("_call") || kind == "reasoning" || role == "assistant" {
            entries.push(Entry::Assistant);
        } else if kind == "message" || kind.is_empty() {
            let content = &item["content"];
            let mut texts: Vec<&str> = content.as_str().into_iter().collect();
            texts.extend(
                content
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|c| str_of(&c["text"])),
            );
            match role {
                "user" => entries.extend(user_entry(texts)),
                "developer" | "system" => system.push(texts.join("\n")),
                _ => {}
            }
        }
    }
    Parsed {
        model: body["model"].as_str().map(str::to_owned),
        stream: body["stream"].as_bool().unwrap_or(false),
        history: History::from_entries(&entries),
        system: system.join("\n"),
        tools: body["tools"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| {
                Some(ToolSpec {
                    name: t["name"].as_str()?.to_owned(),
                    properties: t["parameters"]["properties"].clone(),
                })
            })
            .collect(),
        wants_json: body["text"]["format"]["type"] == "json_schema",
    }
}

pub(super) fn respond(call: &Call, answer: &Answer) -> Response {
    let rendered = Rendered::new(call, answer);
    if call.stream {
        call.sse(rendered.stream())
    } else {
        json_response(StatusCode::OK, &rendered.response("completed"))
    }
}

/// The output items of one answer, ready for the stream or the final `response` object.
struct Rendered<'a> {
    answer: &'a Answer,
    response_id: String,
    model: String,
    message_id: String,
    call_id: String,
    function_id: String,
    input_tokens: u64,
}

impl<'a> Rendered<'a> {
    fn new(call: &Call, answer: &'a Answer) -> Self {
        Self {
            answer,
            response_id: call.new_id("resp"),
            model: call.model.clone(),
            message_id: call.new_id("msg"),
            call_id: call.new_id("call"),
            function_id: call.new_id("fc"),
            input_tokens: call.input_tokens,
        }
    }

    fn message_item(&self, status: &str) -> Value {
        let content = if status == "completed" {
            json!([{ "type": "output_text", "text": self.answer.text(), "annotations": [] }])
        } else {
            json!([])
        };
        json!({
            "id": self.message_id, "type": "message", "status": status, "role": "assistant",
            "content": content
        })
    }

    fn function_item(&self, status: &str) -> Option<Value> {
        let tool = self.answer.tool_call.as_ref()?;
        let arguments = if status == "completed" {
            tool.args.to_string()
        } else {
            String::new()
        };
        Some(json!({
            "id": self.function_id, "type": "function_call", "status": status,
            "arguments": arguments, "call_id": self.call_id, "name": tool.name
        }))
    }

    fn outputs(&self) -> Vec<Value> {
        let mut out = Vec::new();
        if !self.answer.chunks.is_empty() {
            out.push(self.message_item("completed"));
        }
        out.extend(self.function_item("completed"));
        out
    }

    /// The `response` object in the given status.
    fn response(&self, status: &str) -> Value {
        let created_at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let (output, usage, error) = match status {
            "completed" => {
                let output_tokens = self.answer.output_tokens();
                let usage = json!({
                    "input_tokens": self.input_tokens,
                    "input_tokens_details": { "cached_tokens": 0 },
                    "output_tokens": output_tokens,
                    "output_tokens_details": { "reasoning_tokens": 0 },
                    "total_tokens": self.input_tokens + output_tokens,
                });
                (json!(self.outputs()), usage, Value::Null)
            }
            "failed" => {
                let error = json!({ "code": "server_error", "message": "mock-llm: stream broke" });
                (json!([]), Value::Null, error)
            }
            _ => (json!([]), Value::Null, Value::Null),
        };
        json!({
            "id": self.response_id, "object": "response", "created_at": created_at,
            "status": status, "model": self.model, "output": output, "usage": usage,
            "error": error
        })
    }

    fn stream(&self) -> Frames {
        let mut events = Events::default();
        events
            .push(json!({ "type": "response.created", "response": self.response("in_progress") }));
        events.push(
            json!({ "type": "response.in_progress", "response": self.response("in_progress") }),
        );
        let mut output_index = 0;
        if !self.answer.chunks.is_empty() {
            self.message_events(&mut events);
            output_index = 1;
        }
        if self.answer.broken {
            events.push(json!({ "type": "response.failed", "response": self.response("failed") }));
            return events.frames;
        }
        self.function_events(&mut events, output_index);
        events
            .push(json!({ "type": "response.completed", "response": self.response("completed") }));
        events.frames
    }

    /// The assistant message: item and part added, text deltas, then (unless the stream breaks)
    /// text, part and item done.
    fn message_events(&self, events: &mut Events) {
        let (answer, id, text) = (self.answer, &self.message_id, self.answer.text());
        let part = |text: &str| json!({ "type": "output_text", "text": text, "annotations": [] });
        let at = json!({ "item_id": id, "output_index": 0, "content_index": 0 });
        let with = |mut data: Value, extra: Value| {
            merge(&mut data, &at);
            merge(&mut data, &extra);
            data
        };
        events.push(json!({
            "type": "response.output_item.added", "output_index": 0,
            "item": self.message_item("in_progress")
        }));
        events.push(with(
            json!({ "type": "response.content_part.added" }),
            json!({ "part": part("") }),
        ));
        for (i, chunk) in answer.chunks[..answer.streamed_chunks()].iter().enumerate() {
            let delta =
                json!({ "type": "response.output_text.delta", "delta": chunk, "logprobs": [] });
            let pause = if i == 0 { Duration::ZERO } else { answer.delay };
            events.push_after(pause, with(delta, Value::Null));
        }
        if answer.broken {
            return;
        }
        let done = json!({ "type": "response.output_text.done", "text": text, "logprobs": [] });
        events.push(with(done, Value::Null));
        events.push(with(
            json!({ "type": "response.content_part.done" }),
            json!({ "part": part(&text) }),
        ));
        events.push(json!({
            "type": "response.output_item.done", "output_index": 0,
            "item": self.message_item("completed")
        }));
    }

    /// The shell tool call: item added, arguments in two deltas, arguments done, item done.
    fn function_events(&self, events: &mut Events, output_index: usize) {
        let (Some(added), Some(done)) = (
            self.function_item("in_progress"),
            self.function_item("completed"),
        ) else {
            return;
        };
        let id = &self.function_id;
        let arguments = str_of(&done["arguments"]).to_owned();
        events.push(json!({ "type": "response.output_item.added", "output_index": output_index, "item": added }));
        for part in halves(&arguments) {
            events.push(json!({
                "type": "response.function_call_arguments.delta", "item_id": id,
                "output_index": output_index, "delta": part
            }));
        }
        events.push(json!({
            "type": "response.function_call_arguments.done", "item_id": id,
            "output_index": output_index, "arguments": arguments
        }));
        events.push(json!({ "type": "response.output_item.done", "output_index": output_index, "item": done }));
    }
}

/// `response.*` SSE events, numbered by `sequence_number`.
#[derive(Default)]
struct Events {
    frames: Frames,
    sequence: u64,
}

impl Events {
    fn push(&mut self, data: Value) {
        self.push_after(Duration::ZERO, data);
    }

    fn push_after(&mut self, pause: Duration, mut data: Value) {
        data["sequence_number"] = json!(self.sequence);
        self.sequence += 1;
        let name = str_of(&data["type"]).to_owned();
        self.frames.push(pause, Some(&name), &data);
    }
}

/// Copies the fields of object `extra` into object `data`.
fn merge(data: &mut Value, extra: &Value) {
    if let (Some(data), Some(extra)) = (data.as_object_mut(), extra.as_object()) {
        data.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
}

pub(super) fn error_body(status: u16, message: &str) -> Value {
    let (kind, code) = match status {
        400 => ("invalid_request_error", "invalid_request"),
        401 => ("invalid_request_error", "invalid_api_key"),
        403 => ("invalid_request_error", "forbidden"),
        429 => ("requests", "rate_limit_exceeded"),
        _ => ("server_error", "server_error"),
    };
    json!({ "error": { "message": message, "type": kind, "param": null, "code": code } })
}
