//! Local HTTP listeners (the webhook server, the direct API): binding the socket
//! first, so a taken port or a refused host is one clear error before anything
//! starts, and the handle of a running server.

use std::net::SocketAddr;
use tokio::net::TcpListener;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};

/// Why a listener could not be bound; each message starts with the service's name.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// The host is not loopback and the service may listen only there.
    #[error(
        "{service}: not starting on {host}: it is not a loopback address. Secrets travel in cleartext on the way in, so listen beyond this machine only behind TLS or a VPN, with \"allow_public\": true in the {service} block"
    )]
    NotLoopback {
        /// The service (`api`, `webhooks`).
        service: &'static str,
        /// The configured host.
        host: String,
    },
    /// Another process listens on the address.
    #[error("{service}: {addr} is already in use")]
    PortTaken {
        /// The service.
        service: &'static str,
        /// The address asked for.
        addr: SocketAddr,
    },
    /// Binding failed for another reason (permissions, no such local address).
    #[error("{service}: cannot listen on {addr}: {source}")]
    Bind {
        /// The service.
        service: &'static str,
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The host name does not resolve.
    #[error("{service}: cannot resolve host {host:?}: {reason}")]
    Resolve {
        /// The service.
        service: &'static str,
        /// The configured host.
        host: String,
        /// What went wrong.
        reason: String,
    },
}

/// Binds `host:port` for `service` (port 0 picks a free one); with `loopback_only`
/// a host resolving to anything but loopback is refused.
pub async fn bind(
    service: &'static str,
    host: &str,
    port: u16,
    loopback_only: bool,
) -> Result<TcpListener, BindError> {
    let resolve = |reason: String| BindError::Resolve {
        service,
        host: host.to_owned(),
        reason,
    };
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| resolve(e.to_string()))?
        .collect();
    let addr = *addrs
        .first()
        .ok_or_else(|| resolve("no address".to_owned()))?;
    if loopback_only && !addrs.iter().all(|a| a.ip().to_canonical().is_loopback()) {
        return Err(BindError::NotLoopback {
            service,
            host: host.to_owned(),
        });
    }
    TcpListener::bind(addr).await.map_err(|source| {
        if source.kind() == std::io::ErrorKind::AddrInUse {
            BindError::PortTaken { service, addr }
        } else {
            BindError::Bind {
                service,
                addr,
                source,
            }
        }
    })
}

/// A running HTTP server.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// The server listening on `addr`, run by `task`.
    pub fn new(addr: SocketAddr, task: tokio::task::JoinHandle<()>) -> Self {
        Self { addr, task }
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Waits until the server has stopped (after its shutdown fired).
    pub async fn stopped(self) {
        let _ = self.task.await;
    }
}

/// A JSON body with `status`.
pub fn json_reply(status: StatusCode, body: &serde_json::Value) -> Response {
    warp::reply::with_status(warp::reply::json(body), status).into_response()
}
