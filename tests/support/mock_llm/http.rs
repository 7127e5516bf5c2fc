//! The HTTP side: one catch-all warp route that records each request, picks the provider module
//! by path, and sends JSON or SSE answers (noticing when a client drops a stream).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use warp::Filter;
use warp::http::{HeaderMap, Method, StatusCode};
use warp::reply::{Reply as _, Response};

use super::parsed::Parsed;
use super::script::{Outcome, Reply};
use super::{Api, Disconnect, RecordedRequest, Shared, anthropic, gemini, openai};

/// Binds `127.0.0.1:0` and serves the mock until the task is aborted.
pub(super) async fn serve(shared: Arc<Shared>) -> (SocketAddr, JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("mock-llm: bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("mock-llm: local address");
    let query = warp::query::raw().or(warp::any().map(String::new)).unify();
    let route = warp::method()
        .and(warp::path::full())
        .and(query)
        .and(warp::header::headers_cloned())
        .and(warp::body::bytes())
        .map(
            move |method, path: warp::path::FullPath, query, headers, body| {
                let request = Incoming {
                    shared: Arc::clone(&shared),
                    method,
                    path: path.as_str().to_owned(),
                    query,
                    headers,
                    body,
                };
                request.handle()
            },
        );
    let server = tokio::spawn(warp::serve(route).incoming(listener).run());
    (addr, server)
}

/// One HTTP request on its way through the mock.
pub(super) struct Incoming {
    shared: Arc<Shared>,
    method: Method,
    path: String,
    query: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Incoming {
    fn handle(self) -> Response {
        let post = self.method == Method::POST;
        let path = self.path.clone();
        let gemini_call = path
            .strip_prefix("/v1beta/models/")
            .or_else(|| path.strip_prefix("/v1/models/"))
            .and_then(|rest| rest.split_once(':'));
        match (post, path.as_str(), gemini_call) {
            (true, "/v1/messages", _) => self.model_call(Api::Anthropic, None),
            (true, "/v1/responses", _) => self.model_call(Api::OpenAi, None),
            (true, _, Some((model, "streamGenerateContent" | "generateContent"))) => {
                self.model_call(Api::Gemini, Some(model.to_owned()))
            }
            (true, "/v1/messages/count_tokens", _) => {
                let tokens = self.input_tokens();
                self.other(StatusCode::OK, &json!({ "input_tokens": tokens }))
            }
            (true, _, Some((_, "countTokens"))) => {
                let tokens = self.input_tokens();
                self.other(StatusCode::OK, &json!({ "totalTokens": tokens }))
            }
            (false, "/", _) => self.other(StatusCode::OK, &json!({ "mock_llm": "ok" })),
            (false, "/v1/models", _) => self.other(StatusCode::OK, &model_list()),
            (false, "/v1beta/models", _) => self.other(StatusCode::OK, &gemini::model_list()),
            _ => {
                eprintln!(
                    "mock-llm: unknown request {} {}",
                    self.method,
                    self.full_path()
                );
                let message = format!("mock-llm: unknown endpoint {} {}", self.method, self.path);
                self.other(
                    StatusCode::NOT_FOUND,
                    &json!({ "error": { "message": message } }),
                )
            }
        }
    }

    fn full_path(&self) -> String {
        if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query)
        }
    }

    /// A rough token count of the request body.
    fn input_tokens(&self) -> u64 {
        (self.body.len() / 4 + 1) as u64
    }

    fn headers(&self) -> BTreeMap<String, String> {
        self.headers
            .iter()
            .map(|(k, v)| {
                let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
                (k.as_str().to_owned(), value)
            })
            .collect()
    }

    fn record(&self, api: Api, parsed: Parsed, body: Value) -> RecordedRequest {
        RecordedRequest {
            seq: self.shared.next_seq(),
            api,
            method: self.method.to_string(),
            path: self.full_path(),
            model: parsed.model,
            scenario: String::new(),
            stream: parsed.stream,
            tool_results: parsed.history.tool_results,
            last_user_text: parsed.history.last_user_text,
            prior_assistant_turns: parsed.history.prior_assistant_turns,
            system: parsed.system,
            tool_names: parsed.tools.iter().map(|t| t.name.clone()).collect(),
            wants_json: parsed.wants_json,
            headers: self.headers(),
            body: Arc::new(body),
            at: self.shared.started.elapsed(),
        }
    }

    /// Records a request that is not a model call and answers it with `body`.
    fn other(&self, status: StatusCode, body: &Value) -> Response {
        let parsed = Parsed::default();
        let json = serde_json::from_slice(&self.body).unwrap_or(Value::Null);
        let mut request = self.record(Api::Other, parsed, json);
        request.scenario = if status == StatusCode::NOT_FOUND {
            "unknown"
        } else {
            "other"
        }
        .into();
        self.shared.record(request);
        json_response(status, body)
    }

    /// A model call: parse, pick the script, record, answer in the provider's format.
    fn model_call(&self, api: Api, path_model: Option<String>) -> Response {
        let Ok(body) = serde_json::from_slice::<Value>(&self.body) else {
            eprintln!(
                "mock-llm: {} {}: body is not JSON",
                self.method,
                self.full_path()
            );
            let message = "mock-llm: request body is not JSON".to_owned();
            return error_response(api, 400, &message);
        };
        let mut parsed = match api {
            Api::Anthropic => anthropic::parse(&body),
            Api::OpenAi => openai::parse(&body),
            _ => gemini::parse(&body, self.path.ends_with(":streamGenerateContent")),
        };
        if path_model.is_some() {
            parsed.model = path_model;
        }
        let tools = parsed.tools.clone();
        let mut request = self.record(api, parsed, body);
        let (scenario, reply) = choose(&self.shared, &request);
        request.scenario = scenario;
        let outcome = Outcome::resolve(reply, &tools);
        let call = Call {
            shared: Arc::clone(&self.shared),
            seq: request.seq,
            path: request.path.clone(),
            model: request.model.clone().unwrap_or_else(|| "mock-model".into()),
            stream: request.stream,
            wants_json: request.wants_json,
            body: Arc::clone(&request.body),
            input_tokens: self.input_tokens(),
        };
        self.shared.record(request);
        match outcome {
            Outcome::Error { status, message } => error_response(api, status, &message),
            Outcome::Answer(answer) => match api {
                Api::Anthropic => anthropic::respond(&call, &answer),
                Api::OpenAi => openai::respond(&call, &answer),
                _ => gemini::respond(&call, &answer),
            },
        }
    }
}

/// An HTTP error with the provider's JSON error body.
fn error_response(api: Api, status: u16, message: &str) -> Response {
    let body = match api {
        Api::Anthropic => anthropic::error_body(status, message),
        Api::OpenAi => openai::error_body(status, message),
        _ => gemini::error_body(status, message),
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(status, &body)
}

/// The scenario name and the reply for `request`: custom scripts first, then the built-ins.
fn choose(shared: &Shared, request: &RecordedRequest) -> (String, Reply) {
    let text = &request.last_user_text;
    for (keyword, script) in shared.scripts() {
        if text.contains(&keyword) {
            let reply = script(request);
            return (keyword, reply);
        }
    }
    let scenario = super::script::builtin_keyword(text).unwrap_or("default");
    (scenario.to_owned(), Reply::builtin(request))
}

/// What a provider module needs to render an answer.
pub(super) struct Call {
    pub shared: Arc<Shared>,
    pub seq: usize,
    pub path: String,
    pub model: String,
    pub stream: bool,
    pub wants_json: bool,
    pub body: Arc<Value>,
    pub input_tokens: u64,
}

impl Call {
    pub fn new_id(&self, prefix: &str) -> String {
        self.shared.new_id(prefix)
    }

    /// Sends `frames` as a `text/event-stream`, pausing before each as asked.
    pub fn sse(&self, frames: Frames) -> Response {
        // Capacity 1: the producer stays at most one frame ahead, so a client that goes away
        // mid-stream is noticed at the next frame (or at once while pausing).
        let (tx, rx) = mpsc::channel::<Bytes>(1);
        let shared = Arc::clone(&self.shared);
        let (seq, path) = (self.seq, self.path.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            for (pause, data) in frames.0 {
                let gone = if pause.is_zero() {
                    tx.send(data).await.is_err()
                } else {
                    tokio::select! {
                        () = tokio::time::sleep(pause) => tx.send(data).await.is_err(),
                        () = tx.closed() => true,
                    }
                };
                if gone {
                    let after = started.elapsed();
                    shared.record_disconnect(Disconnect { seq, path, after });
                    return;
                }
            }
        });
        let reply = warp::reply::stream(ChannelBody(rx));
        let reply = warp::reply::with_header(reply, "content-type", "text/event-stream");
        warp::reply::with_header(reply, "cache-control", "no-cache").into_response()
    }
}

/// SSE frames to send, each with the pause before it.
#[derive(Default)]
pub(super) struct Frames(Vec<(Duration, Bytes)>);

impl Frames {
    /// `event: NAME` (when given) and `data: JSON`.
    pub fn push(&mut self, pause: Duration, event: Option<&str>, data: &Value) {
        let text = match event {
            Some(name) => format!("event: {name}\ndata: {data}\n\n"),
            None => format!("data: {data}\n\n"),
        };
        self.0.push((pause, Bytes::from(text)));
    }
}

/// The body of a streamed answer: whatever the producer task sends, until it is done.
struct ChannelBody(mpsc::Receiver<Bytes>);

impl futures_util::Stream for ChannelBody {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx).map(|chunk| chunk.map(Ok))
    }
}

pub(super) fn json_response(status: StatusCode, body: &Value) -> Response {
    warp::reply::with_status(warp::reply::json(body), status).into_response()
}

/// `GET /v1/models`, in a shape both Anthropic and `OpenAI` clients accept.
fn model_list() -> Value {
    let models = ["claude-opus-4-8", "claude-sonnet-5", "gpt-5.5"];
    let data: Vec<Value> = models
        .iter()
        .map(|id| {
            json!({
                "id": id, "type": "model", "object": "model", "display_name": id,
                "created_at": "2026-01-01T00:00:00Z", "created": 1_767_225_600, "owned_by": "mock-llm"
            })
        })
        .collect();
    json!({ "object": "list", "data": data, "has_more": false, "first_id": models[0], "last_id": models[2] })
}
