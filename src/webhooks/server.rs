//! The HTTP side: `GET /health` and `POST /hooks/{id}` on warp, each call checked in
//! a fixed order, cheapest first:
//!
//! 1. `Content-Type` is JSON → else 415 `content_type_must_be_json`;
//! 2. the body fits `max_body_bytes` (Content-Length checked first, the streamed read
//!    capped) → 413 `payload_too_large`; it is JSON → 400 `invalid_json`; an object →
//!    400 `body_must_be_object`;
//! 3. the hook exists → 404 `hook_not_found`, is enabled → 403 `hook_disabled`;
//! 4. a client with too many failed auth attempts → 429 `rate_limited` (before any
//!    signature is computed); auth → 401 `unauthorized`;
//! 5. a signed timestamp outside the hook's window → 401 `stale_timestamp`; a delivery
//!    id already accepted for this hook → 409 `duplicate_delivery`;
//! 6. the hook's and the client's rate limits → 429 `rate_limited`;
//! 7. 202 `{"accepted":true,"hook_id":…}`: the rendered, fenced prompt goes to the
//!    [`Dispatch`]er and the caller does not wait for the run.
//!
//! A body still arriving after 30 s gets 408 `request_timeout`. Unknown routes get
//! 404 `not_found`.
//!
//! The client address is the TCP peer. With `trust_forwarded_for` (a local reverse
//! proxy or tunnel that sets the header) and a loopback peer, the last
//! `X-Forwarded-For` entry is used instead, so the per-client limits still tell
//! remote callers apart; without it the header is ignored (anyone can write it).

use super::auth::{self, Verified};
use super::guard::{self, Guards, Refusal};
use super::hook::Hook;
use super::settings::WebhookSettings;
use super::store::HookStore;
use super::template;
use super::{Dispatch, Done};
use crate::listen::{Limits, Server, json_reply as reply};
use futures_util::{Stream, StreamExt};
use serde_json::{Value, json};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use warp::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use warp::http::{HeaderMap, Method, StatusCode};
use warp::reply::Response;
use warp::{Buf, Filter};

/// Where the server reads its settings, at every request.
pub type SettingsSource = Arc<dyn Fn() -> WebhookSettings + Send + Sync>;

/// Longest time a request body may take to arrive.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long open connections may finish after shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Why a call was refused: its status and `error` code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reject {
    ContentType,
    TooLarge,
    Timeout,
    InvalidJson,
    NotObject,
    HookNotFound,
    Disabled,
    Unauthorized,
    Stale,
    Duplicate,
    RateLimited,
}

impl Reject {
    fn status(self) -> StatusCode {
        match self {
            Reject::ContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Reject::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Reject::Timeout => StatusCode::REQUEST_TIMEOUT,
            Reject::InvalidJson | Reject::NotObject => StatusCode::BAD_REQUEST,
            Reject::HookNotFound => StatusCode::NOT_FOUND,
            Reject::Disabled => StatusCode::FORBIDDEN,
            Reject::Unauthorized | Reject::Stale => StatusCode::UNAUTHORIZED,
            Reject::Duplicate => StatusCode::CONFLICT,
            Reject::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Reject::ContentType => "content_type_must_be_json",
            Reject::TooLarge => "payload_too_large",
            Reject::Timeout => "request_timeout",
            Reject::InvalidJson => "invalid_json",
            Reject::NotObject => "body_must_be_object",
            Reject::HookNotFound => "hook_not_found",
            Reject::Disabled => "hook_disabled",
            Reject::Unauthorized => "unauthorized",
            Reject::Stale => "stale_timestamp",
            Reject::Duplicate => "duplicate_delivery",
            Reject::RateLimited => "rate_limited",
        }
    }
}

/// Serves `store`'s hooks on `listener` (see [`super::bind`]) until `shutdown` fires,
/// handing accepted calls to `dispatch`; also follows `webhooks.json` for external
/// edits. Must be called inside a tokio runtime.
pub fn serve(
    listener: TcpListener,
    store: Arc<HookStore>,
    dispatch: Arc<dyn Dispatch>,
    settings: SettingsSource,
    shutdown: CancellationToken,
) -> Server {
    let addr = listener
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)));
    crate::logging::register_secret(settings().token.expose());
    let watcher = store.watch(shutdown.child_token());
    let app = Arc::new(App {
        store,
        dispatch,
        settings,
        guards: Mutex::default(),
    });
    let routes = move |remote: Option<SocketAddr>| {
        let app = app.clone();
        warp::method()
            .and(warp::path::full())
            .and(warp::header::headers_cloned())
            .and(warp::any().map(move || remote))
            .and(warp::body::stream())
            .then(
                move |method: Method,
                      path: warp::path::FullPath,
                      headers: HeaderMap,
                      remote: Option<SocketAddr>,
                      body| {
                    let app = app.clone();
                    async move {
                        app.route(&method, path.as_str(), &headers, remote, body)
                            .await
                    }
                },
            )
            .boxed()
    };
    let server = crate::listen::serve(
        "webhook server",
        listener,
        Limits::default(),
        routes,
        shutdown,
        SHUTDOWN_GRACE,
    );
    let task = tokio::spawn(async move {
        server.stopped().await;
        let _ = watcher.await;
    });
    tracing::info!(%addr, "webhook server listening");
    Server::new(addr, task)
}

struct App {
    store: Arc<HookStore>,
    dispatch: Arc<dyn Dispatch>,
    settings: SettingsSource,
    guards: Mutex<Guards>,
}

/// The caller's address (see the module docs on `X-Forwarded-For`).
fn client_ip(remote: Option<SocketAddr>, headers: &HeaderMap, trust_forwarded: bool) -> IpAddr {
    let peer = remote.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip().to_canonical());
    if !trust_forwarded || !peer.is_loopback() {
        return peer;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .next_back()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|v| v.trim().parse::<IpAddr>().ok())
        .map_or(peer, |ip| ip.to_canonical())
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

/// The body, refused as soon as it is known to exceed `max` bytes.
async fn read_body<S, B>(headers: &HeaderMap, body: S, max: usize) -> Result<Vec<u8>, Reject>
where
    S: Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(Reject::TooLarge);
    }
    let read = async {
        let mut body = std::pin::pin!(body);
        let mut out = Vec::with_capacity(declared.map_or(0, |n| n as usize));
        while let Some(chunk) = body.next().await {
            // The client went away mid-body: nobody reads the answer.
            let mut chunk = chunk.map_err(|_| Reject::InvalidJson)?;
            if out.len() + chunk.remaining() > max {
                return Err(Reject::TooLarge);
            }
            while chunk.has_remaining() {
                let part = chunk.chunk();
                let n = part.len();
                out.extend_from_slice(part);
                chunk.advance(n);
            }
        }
        Ok(out)
    };
    tokio::time::timeout(BODY_TIMEOUT, read)
        .await
        .map_err(|_| Reject::Timeout)?
}

/// The first delivery id header present.
fn delivery_id(headers: &HeaderMap) -> Option<&str> {
    guard::DELIVERY_HEADERS.iter().find_map(|name| {
        headers
            .get(*name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    })
}

impl App {
    fn guards(&self) -> MutexGuard<'_, Guards> {
        self.guards.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn route<S, B>(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        remote: Option<SocketAddr>,
        body: S,
    ) -> Response
    where
        S: Stream<Item = Result<B, warp::Error>>,
        B: Buf,
    {
        if *method == Method::GET && path == "/health" {
            return reply(StatusCode::OK, &json!({"status": "ok"}));
        }
        let hook_id = path
            .strip_prefix("/hooks/")
            .filter(|id| !id.is_empty() && !id.contains('/'));
        match hook_id {
            Some(id) if *method == Method::POST => {
                let settings = (self.settings)();
                // A token changed in the config since the start is masked too.
                crate::logging::register_secret(settings.token.expose());
                let client = client_ip(remote, headers, settings.trust_forwarded_for);
                self.call(&settings, id, headers, client, body).await
            }
            _ => reply(StatusCode::NOT_FOUND, &json!({"error": "not_found"})),
        }
    }

    async fn call<S, B>(
        &self,
        settings: &WebhookSettings,
        id: &str,
        headers: &HeaderMap,
        client: IpAddr,
        body: S,
    ) -> Response
    where
        S: Stream<Item = Result<B, warp::Error>>,
        B: Buf,
    {
        let shown = crate::util::truncate_bytes(id, 64);
        match self.accept(settings, id, headers, client, body).await {
            Ok((hook, payload)) => {
                let prompt = template::prompt(&hook.prompt_template, &payload);
                tracing::info!(hook = %hook.id, %client, "webhook accepted");
                let done = recording(self.store.clone(), hook.id.clone());
                self.dispatch.dispatch(hook, prompt, done);
                reply(
                    StatusCode::ACCEPTED,
                    &json!({"accepted": true, "hook_id": id}),
                )
            }
            Err(r) => {
                tracing::debug!(hook = ?shown, %client, error = r.code(), "webhook refused");
                reply(r.status(), &json!({"error": r.code()}))
            }
        }
    }

    /// Steps 1–6 of the module docs.
    async fn accept<S, B>(
        &self,
        settings: &WebhookSettings,
        id: &str,
        headers: &HeaderMap,
        client: IpAddr,
        body: S,
    ) -> Result<(Hook, Value), Reject>
    where
        S: Stream<Item = Result<B, warp::Error>>,
        B: Buf,
    {
        if !is_json(headers) {
            return Err(Reject::ContentType);
        }
        let raw = read_body(headers, body, settings.max_body_bytes).await?;
        let payload: Value = serde_json::from_slice(&raw).map_err(|_| Reject::InvalidJson)?;
        if !payload.is_object() {
            return Err(Reject::NotObject);
        }
        let hook = self.store.get(id).ok_or(Reject::HookNotFound)?;
        if !hook.enabled {
            return Err(Reject::Disabled);
        }
        let verified = self.authenticate(&hook, settings, headers, &raw, client)?;
        let now_unix = chrono::Utc::now().timestamp();
        if !guard::timestamp_fresh(
            verified.signed_prefix.as_deref(),
            hook.replay_tolerance,
            now_unix,
        ) {
            return Err(Reject::Stale);
        }
        let limits = (
            settings.rate_limit_per_minute,
            settings.client_limit_per_minute(),
        );
        self.guards()
            .admit(
                &hook.id,
                client,
                delivery_id(headers),
                limits,
                Instant::now(),
            )
            .map_err(|r| match r {
                Refusal::Duplicate => Reject::Duplicate,
                Refusal::RateLimited => Reject::RateLimited,
            })?;
        Ok((hook, payload))
    }

    /// Step 4: the failed-auth gate, then the check itself (a failure is counted).
    fn authenticate(
        &self,
        hook: &Hook,
        settings: &WebhookSettings,
        headers: &HeaderMap,
        raw: &[u8],
        client: IpAddr,
    ) -> Result<Verified, Reject> {
        if !self.guards().auth_allowed(client, Instant::now()) {
            return Err(Reject::RateLimited);
        }
        auth::verify(hook, &settings.token, headers, raw).map_err(|e| {
            self.guards().auth_failed(client, Instant::now());
            tracing::debug!(hook = %hook.id, %client, reason = %e, "webhook auth failed");
            Reject::Unauthorized
        })
    }
}

/// A [`Done`] that records the run in `webhooks.json`.
fn recording(store: Arc<HookStore>, id: String) -> Done {
    Done::new(move |error| {
        let work = move || {
            if let Err(e) = store.record_run(&id, error.as_deref()) {
                tracing::warn!(hook = %id, "cannot record the webhook run: {e}");
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => drop(rt.spawn_blocking(work)),
            Err(_) => work(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn content_type_accepts_parameters_only_for_json() {
        assert!(is_json(&headers(&[("content-type", "application/json")])));
        assert!(is_json(&headers(&[(
            "content-type",
            "Application/JSON; charset=utf-8"
        )])));
        assert!(!is_json(&headers(&[("content-type", "text/plain")])));
        assert!(!is_json(&headers(&[("content-type", "application/jsonx")])));
        assert!(!is_json(&HeaderMap::new()));
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_local_proxy() {
        let xff = headers(&[("x-forwarded-for", "1.1.1.1, 2.2.2.2")]);
        let local = Some(SocketAddr::from(([127, 0, 0, 1], 5)));
        let remote = Some(SocketAddr::from(([9, 9, 9, 9], 5)));
        assert_eq!(client_ip(local, &xff, true), IpAddr::from([2, 2, 2, 2]));
        assert_eq!(client_ip(remote, &xff, true), IpAddr::from([9, 9, 9, 9]));
        assert_eq!(
            client_ip(local, &HeaderMap::new(), true),
            IpAddr::from([127, 0, 0, 1])
        );
        let junk = headers(&[("x-forwarded-for", "nonsense")]);
        assert_eq!(client_ip(local, &junk, true), IpAddr::from([127, 0, 0, 1]));
        // Unless trusted, the header is anyone's to write and is ignored.
        assert_eq!(client_ip(local, &xff, false), IpAddr::from([127, 0, 0, 1]));
    }

    #[test]
    fn delivery_ids_are_found_case_insensitively_in_order() {
        let h = headers(&[("idempotency-key", "k"), ("x-github-delivery", "g")]);
        assert_eq!(delivery_id(&h), Some("g"));
        assert_eq!(delivery_id(&headers(&[("WEBHOOK-ID", "w")])), Some("w"));
        assert_eq!(delivery_id(&headers(&[("x-request-id", " ")])), None);
    }

    #[tokio::test]
    async fn the_streamed_read_is_capped() {
        let chunks = futures_util::stream::iter(
            (0..100).map(|_| Ok::<_, warp::Error>(bytes::Bytes::from(vec![b'a'; 1000]))),
        );
        assert_eq!(
            read_body(&HeaderMap::new(), chunks, 5000).await,
            Err(Reject::TooLarge)
        );
        let small = futures_util::stream::iter([Ok::<_, warp::Error>(bytes::Bytes::from("{}"))]);
        assert_eq!(
            read_body(&HeaderMap::new(), small, 5000).await,
            Ok(b"{}".to_vec())
        );
        let declared = headers(&[("content-length", "5001")]);
        let empty = futures_util::stream::iter(Vec::<Result<bytes::Bytes, warp::Error>>::new());
        assert_eq!(
            read_body(&declared, empty, 5000).await,
            Err(Reject::TooLarge)
        );
    }
}
