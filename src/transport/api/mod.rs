//! The direct API (§10): a program or a browser talks to the main agent over a
//! WebSocket, end-to-end encrypted, plus a few HTTP routes. It is a transport of the
//! one core: its turns go through the conversations' actors at its own addresses
//! (transport `api`), its commands through the command layer ([`crate::ops`]).
//!
//! - [`settings`]: the `api` config block ([`ApiSettings`], [`settings::bearer_ok`]).
//! - [`crypto`]: the per-connection `NaCl` box and its frames.
//! - [`ws`]: the WebSocket protocol (`GET /ws`).
//! - [`hub`]: open connections, the clients of each API chat, background deliveries.
//! - [`render`]: the JSON frames the server sends.
//! - `files` (`GET /files`, `POST /upload`) and `web` (`GET /`, the browser page)
//!   add their routes to [`routes`].
//!
//! Binds `api.host:api.port` (default `127.0.0.1:8741`) before anything else: a
//! taken port is one clear error and the agent runs on without the API. A host that
//! is not loopback is refused unless `allow_public` is set. Owns nothing on disk but
//! `run/api.port` (the bound address, while the server runs).

pub mod crypto;
pub mod files;
pub mod hub;
pub mod render;
pub mod settings;
pub mod web;
pub mod ws;

use crate::address::Address;
use crate::core::Core;
use crate::ops::Ops;
use crate::session::outbox::Delivery;
use hub::Hub;
pub use settings::ApiSettings;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;

/// Transport tag of the API's addresses (`api:<chat_id>[:<channel_id>]`).
pub const TRANSPORT: &str = "api";

/// How long open HTTP requests may finish after shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// What every route of the API works with. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ApiContext {
    /// The command layer (and through it the core).
    pub ops: Arc<Ops>,
    /// Open connections and the clients of each API chat.
    pub hub: Arc<Hub>,
    /// Cancelled when the agent shuts down.
    pub shutdown: CancellationToken,
}

impl ApiContext {
    /// The context of an API over `ops`.
    pub fn new(ops: Arc<Ops>, shutdown: CancellationToken) -> Self {
        Self {
            ops,
            hub: Hub::new(),
            shutdown,
        }
    }

    /// The core.
    pub fn core(&self) -> &Arc<Core> {
        &self.ops.core
    }

    /// The `api` settings now (read from the live config).
    pub fn settings(&self) -> ApiSettings {
        ApiSettings::from_config(&self.core().config.get().api)
    }
}

/// The API's chats for the agent's directory: every `api:<chat_id>` a client may
/// authenticate into; the primary chat (used only when no earlier transport has
/// one) is `api.chat_id`'s.
#[derive(Debug, Clone)]
pub struct ApiDirectory {
    config: crate::config::LiveConfig,
}

impl ApiDirectory {
    /// The directory over the agent's (live) config.
    pub fn new(config: crate::config::LiveConfig) -> Self {
        Self { config }
    }
}

impl crate::address::Directory for ApiDirectory {
    fn primary(&self) -> Option<Address> {
        let config = self.config.get();
        let chat = ApiSettings::from_config(&config.api).default_chat(&config.allowed_user_ids);
        Some(hub::address(chat, None))
    }

    fn serves(&self, address: &Address) -> bool {
        address.transport == TRANSPORT && address.chat_id > 0
    }

    fn transports(&self) -> Vec<String> {
        vec![TRANSPORT.to_owned()]
    }
}

/// Why the API does not run.
pub type StartError = crate::listen::BindError;

/// Binds the API's socket per `settings`: refuses a host that is not loopback
/// without `allow_public`, and names a taken port. Port 0 picks a free port.
pub async fn bind(settings: &ApiSettings) -> Result<TcpListener, StartError> {
    crate::listen::bind("api", &settings.host, settings.port, !settings.allow_public).await
}

pub use crate::listen::json_reply;

/// `GET /health`: `{"status": "ok", "connections": <open `WebSocket`s>}`, no auth.
fn health(ctx: ApiContext) -> BoxedFilter<(Response,)> {
    warp::path("health")
        .and(warp::path::end())
        .and(warp::get())
        .map(move || {
            json_reply(
                StatusCode::OK,
                &serde_json::json!({"status": "ok", "connections": ctx.hub.open()}),
            )
        })
        .boxed()
}

/// Every route of the API.
pub fn routes(ctx: &ApiContext) -> BoxedFilter<(Response,)> {
    health(ctx.clone())
        .or(ws::route(ctx.clone()))
        .unify()
        // B: `GET /files`, `POST /upload`.
        .or(files::routes(ctx.clone()))
        .unify()
        // C: `GET /` and its assets (the page checks `web_ui` itself).
        .or(web::routes(ctx.clone()))
        .unify()
        .boxed()
}

/// Answers what no route took: 404 `not_found`, 405 for a known path with another
/// method.
async fn not_found(rejection: warp::Rejection) -> Result<Response, std::convert::Infallible> {
    let (status, code) = if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    } else {
        (StatusCode::NOT_FOUND, "not_found")
    };
    Ok(json_reply(status, &serde_json::json!({"error": code})))
}

pub use crate::listen::Server;

/// Serves the API on `listener` until `ctx.shutdown` fires. Inside a tokio runtime.
pub fn serve(listener: TcpListener, ctx: &ApiContext) -> Server {
    crate::logging::register_secret(ctx.settings().token.expose());
    let filter = routes(ctx).recover(not_found).unify();
    // Room for every allowed `WebSocket` while it is being upgraded, the page and
    // uploads beside them.
    let limits = crate::listen::Limits {
        connections: ctx.settings().max_connections.saturating_mul(2).max(64),
        ..crate::listen::Limits::default()
    };
    crate::listen::serve(
        "api",
        listener,
        limits,
        move |_| filter.clone().map(warp::Reply::into_response).boxed(),
        ctx.shutdown.clone(),
        SHUTDOWN_GRACE,
    )
}

/// A running API: its server, and where the outbox router hands it the deliveries
/// for API chats.
#[derive(Debug)]
pub struct Running {
    /// The server.
    pub server: Server,
    /// The API's lane of the outbox router.
    pub deliveries: mpsc::UnboundedSender<(Address, Delivery)>,
}

/// Starts the API when `api.enabled` (the main agent's block; a sub-agent runs one
/// only when its `agents.json` entry has an `api` block of its own, on its own
/// port). The token must already be set (see the agent's start). A port that
/// cannot be bound, or a public host without `allow_public`, is logged and the
/// agent runs on without the API. The bound address is written to
/// `run/api.port` (`run/api-<agent>.port` for a sub-agent; removed again at shutdown).
pub async fn start(ctx: &ApiContext) -> Option<Running> {
    let settings = ctx.settings();
    if !settings.enabled {
        return None;
    }
    if let Some(why) = settings.weak_token() {
        tracing::error!(
            "api: {why}; the API is not running (empty the token and `ductor api enable` makes a strong one)"
        );
        return None;
    }
    let listener = match bind(&settings).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("{e}; the API is not running");
            return None;
        }
    };
    let server = serve(listener, ctx);
    let addr = server.local_addr();
    let paths = &ctx.core().paths;
    let port_file = paths.home().api_port_file(paths.name());
    if let Err(e) = crate::store::write_atomic(&port_file, format!("{addr}\n").as_bytes()) {
        tracing::warn!(error = %e, "api: cannot record the bound address");
    }
    let stop = ctx.shutdown.clone();
    tokio::spawn(async move {
        stop.cancelled().await;
        let _ = std::fs::remove_file(&port_file);
    });
    let exposed = !addr.ip().to_canonical().is_loopback();
    tracing::info!(%addr, exposed, "api: listening");
    let (tx, rx) = mpsc::unbounded_channel();
    let announcements = crate::ops::recovery::on_start(&ctx.ops, TRANSPORT);
    tokio::spawn(hub::deliver(ctx.clone(), rx, announcements));
    Some(Running {
        server,
        deliveries: tx,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings(host: &str, allow_public: bool) -> ApiSettings {
        ApiSettings {
            host: host.to_owned(),
            port: 0,
            allow_public,
            ..ApiSettings::default()
        }
    }

    #[tokio::test]
    async fn a_public_host_needs_allow_public_and_a_taken_port_is_named() {
        let err = bind(&settings("0.0.0.0", false)).await.unwrap_err();
        assert!(matches!(err, StartError::NotLoopback { .. }), "{err:?}");
        assert!(err.to_string().contains("allow_public"), "{err}");
        let first = bind(&settings("127.0.0.1", false)).await.unwrap();
        let port = first.local_addr().unwrap().port();
        let taken = ApiSettings {
            port,
            ..settings("localhost", false)
        };
        let err = bind(&taken).await.unwrap_err();
        assert!(matches!(err, StartError::PortTaken { .. }), "{err:?}");
        assert!(err.to_string().contains("already in use"), "{err}");
    }

    #[tokio::test]
    async fn health_counts_open_sockets_and_unknown_routes_are_404() {
        let r = crate::core::testing::rig(crate::config::AgentConfig::default(), |_| {});
        let ctx = ApiContext::new(Arc::new(Ops::new(r.core.clone())), CancellationToken::new());
        let filter = routes(&ctx).recover(not_found).unify();
        let _slot = ctx.hub.try_open(5).unwrap();
        let res = warp::test::request().path("/health").reply(&filter).await;
        assert_eq!(res.status(), 200);
        let body: serde_json::Value = serde_json::from_slice(res.body()).unwrap();
        assert_eq!(body, json!({"status": "ok", "connections": 1}));
        let res = warp::test::request().path("/nope").reply(&filter).await;
        assert_eq!(res.status(), 404);
        let body: serde_json::Value = serde_json::from_slice(res.body()).unwrap();
        assert_eq!(body, json!({"error": "not_found"}));
    }
}
