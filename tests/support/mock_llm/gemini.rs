//! Gemini `generateContent` / `streamGenerateContent` (`/v1beta/models/{model}:…`), as gemini
//! uses it: request parsing, SSE chunks, JSON answers to schema requests (its model router),
//! error body.

use std::time::Duration;

use serde_json::{Map, Value, json};
use warp::http::StatusCode;
use warp::reply::Response;

use super::http::{Call, Frames, json_response};
use super::parsed::{Entry, History, Parsed, output_text, str_of, user_entry};
use super::script::{Answer, ToolSpec};

pub(super) fn parse(body: &Value, stream: bool) -> Parsed {
    let mut entries = Vec::new();
    for content in body["contents"].as_array().into_iter().flatten() {
        let parts = content["parts"].as_array().map_or(&[][..], Vec::as_slice);
        if str_of(&content["role"]) == "model" {
            entries.push(Entry::Assistant);
            continue;
        }
        for part in parts {
            if let Some(response) = part.get("functionResponse") {
                let response = &response["response"];
                let output = response.get("output").unwrap_or(response);
                entries.push(Entry::ToolResult(output_text(output)));
            }
        }
        let texts = parts
            .iter()
            .filter(|p| p["thought"] != true)
            .filter_map(|p| p["text"].as_str());
        entries.extend(user_entry(texts));
    }
    let config = &body["generationConfig"];
    let instruction = &body["systemInstruction"];
    Parsed {
        model: None,
        stream,
        history: History::from_entries(&entries),
        system: instruction
            .as_str()
            .map_or_else(|| output_text(&instruction["parts"]), str::to_owned),
        tools: body["tools"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|t| t["functionDeclarations"].as_array().into_iter().flatten())
            .map(|f| {
                let schema = f.get("parametersJsonSchema").unwrap_or(&f["parameters"]);
                ToolSpec {
                    name: str_of(&f["name"]).to_owned(),
                    properties: schema["properties"].clone(),
                }
            })
            .collect(),
        wants_json: config["responseMimeType"] == "application/json" || schema_of(config).is_some(),
    }
}

fn schema_of(config: &Value) -> Option<&Value> {
    config
        .get("responseJsonSchema")
        .or_else(|| config.get("responseSchema"))
}

pub(super) fn respond(call: &Call, answer: &Answer) -> Response {
    if call.wants_json {
        let schema = schema_of(&call.body["generationConfig"]).unwrap_or(&Value::Null);
        let text = fill(schema, "").to_string();
        let chunk = chunk(call, &[json!({ "text": text })], Some("STOP"), answer);
        return if call.stream {
            let mut frames = Frames::default();
            frames.push(Duration::ZERO, None, &chunk);
            call.sse(frames)
        } else {
            json_response(StatusCode::OK, &chunk)
        };
    }
    let tool_part = answer
        .tool_call
        .as_ref()
        .map(|t| json!({ "functionCall": { "name": t.name, "args": t.args } }));
    if !call.stream {
        let mut parts = Vec::new();
        if !answer.chunks.is_empty() {
            parts.push(json!({ "text": answer.text() }));
        }
        parts.extend(tool_part);
        return json_response(StatusCode::OK, &chunk(call, &parts, Some("STOP"), answer));
    }
    let mut frames = Frames::default();
    let shown = answer.streamed_chunks();
    for (i, text) in answer.chunks[..shown].iter().enumerate() {
        let last = i + 1 == shown && tool_part.is_none() && !answer.broken;
        let finish = last.then_some("STOP");
        let pause = if i == 0 { Duration::ZERO } else { answer.delay };
        let data = chunk(call, &[json!({ "text": text })], finish, answer);
        frames.push(pause, None, &data);
    }
    // A broken stream just ends: no chunk carries a finishReason.
    if !answer.broken {
        if let Some(part) = tool_part {
            frames.push(
                Duration::ZERO,
                None,
                &chunk(call, &[part], Some("STOP"), answer),
            );
        } else if shown == 0 {
            let empty = [json!({ "text": "" })];
            frames.push(
                Duration::ZERO,
                None,
                &chunk(call, &empty, Some("STOP"), answer),
            );
        }
    }
    call.sse(frames)
}

/// One `GenerateContentResponse`.
fn chunk(call: &Call, parts: &[Value], finish: Option<&str>, answer: &Answer) -> Value {
    let mut candidate = json!({ "content": { "parts": parts, "role": "model" }, "index": 0 });
    if let Some(reason) = finish {
        candidate["finishReason"] = json!(reason);
    }
    let output_tokens = answer.output_tokens();
    json!({
        "candidates": [candidate],
        "usageMetadata": {
            "promptTokenCount": call.input_tokens,
            "candidatesTokenCount": output_tokens,
            "totalTokenCount": call.input_tokens + output_tokens,
        },
        "modelVersion": call.model,
        "responseId": format!("mock-{}", call.seq),
    })
}

/// A value matching a (JSON or OpenAPI-style) schema. Gemini's router asks for
/// `{complexity_reasoning, complexity_score}`: a low score routes to the flash model.
fn fill(schema: &Value, key: &str) -> Value {
    match key {
        "complexity_score" => return json!(10),
        "next_speaker" => return json!("user"),
        _ => {}
    }
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    match str_of(&schema["type"]).to_ascii_lowercase().as_str() {
        "object" => {
            let mut object = Map::new();
            for (name, property) in schema["properties"].as_object().into_iter().flatten() {
                object.insert(name.clone(), fill(property, name));
            }
            Value::Object(object)
        }
        "array" => json!([]),
        "integer" | "number" => json!(1),
        "boolean" => json!(false),
        "string" => json!("mock-llm: routine request"),
        _ => json!({}),
    }
}

pub(super) fn error_body(status: u16, message: &str) -> Value {
    let kind = match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        _ => "INTERNAL",
    };
    json!({ "error": { "code": status, "message": message, "status": kind } })
}

/// `GET /v1beta/models`.
pub(super) fn model_list() -> Value {
    let models: Vec<Value> = ["gemini-3.8-flash", "gemini-3.5-flash-lite", "gemini-3.1-pro-preview"]
        .iter()
        .map(|id| {
            json!({
                "name": format!("models/{id}"), "displayName": id,
                "supportedGenerationMethods": ["generateContent", "streamGenerateContent", "countTokens"]
            })
        })
        .collect();
    json!({ "models": models })
}
