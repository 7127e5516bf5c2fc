//! Anthropic Messages (`POST /v1/messages`), as claude uses it: request parsing, SSE stream,
//! non-streaming JSON message, error body.

use std::time::Duration;

use serde_json::{Value, json};
use warp::http::StatusCode;
use warp::reply::Response;

use super::http::{Call, Frames, json_response};
use super::parsed::{Entry, History, Parsed, output_text, str_of, user_entry};
use super::script::{Answer, ToolSpec};

pub(super) fn parse(body: &Value) -> Parsed {
    let mut entries = Vec::new();
    for message in body["messages"].as_array().into_iter().flatten() {
        match str_of(&message["role"]) {
            "user" => {
                let content = &message["content"];
                let mut texts = Vec::new();
                if let Some(text) = content.as_str() {
                    texts.push(text);
                }
                for block in content.as_array().into_iter().flatten() {
                    match str_of(&block["type"]) {
                        "text" => texts.push(str_of(&block["text"])),
                        "tool_result" => {
                            entries.push(Entry::ToolResult(output_text(&block["content"])));
                        }
                        _ => {}
                    }
                }
                entries.extend(user_entry(texts));
            }
            "assistant" => entries.push(Entry::Assistant),
            _ => {}
        }
    }
    Parsed {
        model: body["model"].as_str().map(str::to_owned),
        stream: body["stream"].as_bool().unwrap_or(false),
        history: History::from_entries(&entries),
        system: text_of(&body["system"]),
        tools: body["tools"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| ToolSpec {
                name: str_of(&t["name"]).to_owned(),
                properties: t["input_schema"]["properties"].clone(),
            })
            .collect(),
        wants_json: false,
    }
}

/// A string, or the texts of a list of blocks joined by newlines.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        _ => output_text(value),
    }
}

pub(super) fn respond(call: &Call, answer: &Answer) -> Response {
    if call.stream {
        call.sse(stream(call, answer))
    } else {
        json_response(StatusCode::OK, &message(call, answer))
    }
}

fn usage(input_tokens: u64, output_tokens: u64) -> Value {
    json!({
        "input_tokens": input_tokens, "output_tokens": output_tokens,
        "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "service_tier": "standard"
    })
}

fn stop_reason(answer: &Answer) -> &'static str {
    if answer.tool_call.is_some() {
        "tool_use"
    } else {
        "end_turn"
    }
}

/// The whole answer as one message (for `stream: false`).
fn message(call: &Call, answer: &Answer) -> Value {
    let mut content = Vec::new();
    if !answer.chunks.is_empty() {
        content.push(json!({ "type": "text", "text": answer.text() }));
    }
    if let Some(tool) = &answer.tool_call {
        content.push(json!({
            "type": "tool_use", "id": call.new_id("toolu"), "name": tool.name, "input": tool.args
        }));
    }
    json!({
        "id": call.new_id("msg"), "type": "message", "role": "assistant", "model": call.model,
        "content": content, "stop_reason": stop_reason(answer), "stop_sequence": null,
        "usage": usage(call.input_tokens, answer.output_tokens()),
    })
}

fn stream(call: &Call, answer: &Answer) -> Frames {
    let mut frames = Frames::default();
    let mut event = |pause: Duration, data: Value| {
        let name = data["type"].as_str().unwrap_or("error").to_owned();
        frames.push(pause, Some(&name), &data);
    };
    let start = json!({
        "id": call.new_id("msg"), "type": "message", "role": "assistant", "model": call.model,
        "content": [], "stop_reason": null, "stop_sequence": null,
        "usage": usage(call.input_tokens, 1),
    });
    event(
        Duration::ZERO,
        json!({ "type": "message_start", "message": start }),
    );
    let mut index = 0;
    if !answer.chunks.is_empty() {
        event(
            Duration::ZERO,
            json!({ "type": "content_block_start", "index": 0, "content_block": { "type": "text", "text": "" } }),
        );
        for (i, chunk) in answer.chunks[..answer.streamed_chunks()].iter().enumerate() {
            let pause = if i == 0 { Duration::ZERO } else { answer.delay };
            event(
                pause,
                json!({ "type": "content_block_delta", "index": 0, "delta": { "type": "text_delta", "text": chunk } }),
            );
        }
        if !answer.broken {
            event(
                Duration::ZERO,
                json!({ "type": "content_block_stop", "index": 0 }),
            );
        }
        index = 1;
    }
    if answer.broken {
        let error = json!({ "type": "api_error", "message": "mock-llm: stream broke" });
        event(Duration::ZERO, json!({ "type": "error", "error": error }));
        return frames;
    }
    if let Some(tool) = &answer.tool_call {
        let block = json!({ "type": "tool_use", "id": call.new_id("toolu"), "name": tool.name, "input": {} });
        event(
            Duration::ZERO,
            json!({ "type": "content_block_start", "index": index, "content_block": block }),
        );
        for part in halves(&tool.args.to_string()) {
            let delta = json!({ "type": "input_json_delta", "partial_json": part });
            event(
                Duration::ZERO,
                json!({ "type": "content_block_delta", "index": index, "delta": delta }),
            );
        }
        event(
            Duration::ZERO,
            json!({ "type": "content_block_stop", "index": index }),
        );
    }
    let delta = json!({ "stop_reason": stop_reason(answer), "stop_sequence": null });
    let usage = json!({ "output_tokens": answer.output_tokens() });
    event(
        Duration::ZERO,
        json!({ "type": "message_delta", "delta": delta, "usage": usage }),
    );
    event(Duration::ZERO, json!({ "type": "message_stop" }));
    frames
}

/// `text` cut in two at a character boundary near the middle.
pub(super) fn halves(text: &str) -> [&str; 2] {
    let mut mid = text.len() / 2;
    while !text.is_char_boundary(mid) {
        mid += 1;
    }
    [&text[..mid], &text[mid..]]
}

pub(super) fn error_body(status: u16, message: &str) -> Value {
    let kind = match status {
        400 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        _ => "api_error",
    };
    json!({ "type": "error", "error": { "type": kind, "message": message } })
}
