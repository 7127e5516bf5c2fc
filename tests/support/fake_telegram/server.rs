//! The HTTP side: routing `/bot{token}/{method}` and `/file/bot{token}/{path}`, decoding
//! parameters, logging every call, injected faults, and the waiting half of `getUpdates`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::time::Instant;
use warp::Filter;
use warp::http::{HeaderValue, StatusCode, header::CONTENT_TYPE};

use super::Fault;
use super::error::{ApiError, ApiResult};
use super::methods::{self, Ctx, updates};
use super::params::Params;
use super::state::State;
use super::view::{BotId, Call, Outcome};

/// State plus a change counter that wakes long polls and `wait_until`.
pub struct Shared {
    state: Mutex<State>,
    version: watch::Sender<u64>,
}

impl Shared {
    /// A fresh world.
    pub fn new() -> Self {
        Self {
            state: Mutex::new(State::new()),
            version: watch::Sender::new(0),
        }
    }

    /// Read the state (a poisoned lock is recovered: a panicking test must not cascade).
    pub fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Change the state and wake everyone waiting for a change.
    pub fn mutate<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let out = f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner));
        self.version.send_modify(|v| *v += 1);
        out
    }

    /// Change bookkeeping nobody waits for (a long poll re-checking itself).
    fn mutate_quietly<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// A receiver that reports the next change.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }
}

/// Bind on loopback and serve until the task is aborted; returns the base URL.
pub async fn start(shared: Arc<Shared>) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("fake Telegram: bind loopback");
    let addr = listener.local_addr().expect("fake Telegram: local address");
    let routes = warp::any()
        .and(warp::path::full())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::optional::<String>("content-type"))
        .and(warp::body::bytes())
        .then(
            move |path: warp::path::FullPath,
                  query: String,
                  content_type: Option<String>,
                  body: Bytes| {
                let shared = Arc::clone(&shared);
                async move {
                    route(
                        &shared,
                        path.as_str(),
                        &query,
                        content_type.as_deref(),
                        body,
                    )
                    .await
                }
            },
        );
    let task = tokio::spawn(warp::serve(routes).incoming(listener).run());
    (format!("http://{addr}"), task)
}

fn respond(status: u16, body: Bytes, content_type: &'static str) -> warp::reply::Response {
    let mut resp = warp::reply::Response::new(body.into());
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

fn respond_json(status: u16, body: &Value) -> warp::reply::Response {
    respond(status, Bytes::from(body.to_string()), "application/json")
}

fn respond_result(result: &ApiResult) -> warp::reply::Response {
    match result {
        Ok(v) => respond_json(200, &json!({ "ok": true, "result": v })),
        Err(e) => respond_json(e.code, &e.body()),
    }
}

fn decode_segment(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

async fn route(
    shared: &Arc<Shared>,
    path: &str,
    query: &str,
    content_type: Option<&str>,
    body: Bytes,
) -> warp::reply::Response {
    let segments: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(decode_segment)
        .collect();
    match segments.as_slice() {
        [bot, method] if bot.starts_with("bot") => {
            api_call(shared, &bot[3..], method, query, content_type, body).await
        }
        [file, bot, rest @ ..] if file == "file" && bot.starts_with("bot") && !rest.is_empty() => {
            download(shared, &bot[3..], &rest.join("/"))
        }
        _ => respond_json(404, &ApiError::not_found().body()),
    }
}

/// Marks a logged call `Abandoned` if the request future is dropped (client went away).
struct CallGuard {
    shared: Arc<Shared>,
    seq: usize,
    done: bool,
}

impl CallGuard {
    fn finish(mut self, outcome: Outcome) {
        self.set(outcome);
        self.done = true;
    }

    fn set(&self, outcome: Outcome) {
        self.shared.mutate(|st| {
            if let Some(call) = st.calls.get_mut(self.seq) {
                call.outcome = outcome;
                call.finished = Some(Instant::now());
            }
        });
    }
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        if !self.done {
            self.set(Outcome::Abandoned);
        }
    }
}

fn log_call(shared: &Arc<Shared>, bot: Option<i64>, method: &str, params: Value) -> CallGuard {
    let seq = shared.mutate(|st| {
        let seq = st.calls.len();
        st.calls.push(Call {
            seq: seq as u64,
            bot: bot.map(BotId),
            method: method.to_owned(),
            params,
            outcome: Outcome::Pending,
            at: SystemTime::now(),
            started: Instant::now(),
            finished: None,
        });
        seq
    });
    CallGuard {
        shared: Arc::clone(shared),
        seq,
        done: false,
    }
}

async fn api_call(
    shared: &Arc<Shared>,
    token: &str,
    method: &str,
    query: &str,
    content_type: Option<&str>,
    body: Bytes,
) -> warp::reply::Response {
    let canonical = methods::canonical(method);
    let name = canonical.map_or_else(|| method.to_owned(), str::to_owned);
    let bot = shared.read(|st| st.tokens.get(token).copied());
    let decoded = Params::decode(content_type, query, body).await;
    let logged = decoded.as_ref().map_or(Value::Null, Params::to_value);
    let guard = log_call(shared, bot, &name, logged);
    let result = match (bot, decoded) {
        (None, _) => Err(ApiError::unauthorized()),
        (Some(_), _) if canonical.is_none() => Err(ApiError::not_found()),
        (Some(_), Err(e)) => Err(e),
        (Some(bot), Ok(params)) => run(shared, bot, &name, params).await,
    };
    guard.finish(match &result {
        Ok(v) => Outcome::Ok(v.clone()),
        Err(e) => Outcome::Err(e.clone()),
    });
    respond_result(&result)
}

async fn run(shared: &Arc<Shared>, bot: i64, method: &str, params: Params) -> ApiResult {
    let fault = shared.mutate(|st| {
        let rule = st.faults.iter_mut().find(|r| {
            r.remaining > 0 && (r.method == "*" || r.method.eq_ignore_ascii_case(method))
        })?;
        rule.remaining -= 1;
        Some(rule.fault.clone())
    });
    match fault {
        Some(Fault::Error(e)) => return Err(e),
        Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
        None => {}
    }
    if method == "getUpdates" {
        return poll(shared, bot, &params).await;
    }
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        shared.mutate(|st| methods::dispatch(st, Ctx { bot }, method, &params))
    }));
    outcome.unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default();
        Err(ApiError::new(
            500,
            format!("Internal Server Error: fake Telegram bug in {method}: {what}"),
        ))
    })
}

/// `getUpdates`: answer at once, or wait until an update arrives, the timeout ends, or a newer
/// poll takes over (then this one gets the 409).
async fn poll(shared: &Arc<Shared>, bot: i64, params: &Params) -> ApiResult {
    let req = updates::parse(params)?;
    let mut changes = shared.subscribe();
    let generation = match shared.mutate(|st| updates::begin(st, bot, &req))? {
        updates::Step::Ready(v) => return Ok(v),
        updates::Step::Wait { generation } => generation,
    };
    let deadline = Instant::now() + req.timeout;
    loop {
        let expired = match tokio::time::timeout_at(deadline, changes.changed()).await {
            Ok(Ok(())) => false,
            Ok(Err(_)) | Err(_) => true,
        };
        if let Some(v) =
            shared.mutate_quietly(|st| updates::resume(st, bot, &req, generation, expired))?
        {
            return Ok(v);
        }
    }
}

fn download(shared: &Arc<Shared>, token: &str, path: &str) -> warp::reply::Response {
    let bot = shared.read(|st| st.tokens.get(token).copied());
    let guard = log_call(shared, bot, "downloadFile", json!({ "file_path": path }));
    let found = bot.and_then(|_| shared.read(|st| methods::media::download(st, path)));
    match (bot, found) {
        (None, _) => {
            guard.finish(Outcome::Err(ApiError::unauthorized()));
            respond_json(401, &ApiError::unauthorized().body())
        }
        (Some(_), Some(data)) => {
            guard.finish(Outcome::Ok(json!({ "bytes": data.len() })));
            respond(200, data, "application/octet-stream")
        }
        (Some(_), None) => {
            guard.finish(Outcome::Err(ApiError::not_found()));
            respond_json(404, &ApiError::not_found().body())
        }
    }
}
