//! Local HTTP listeners (the webhook server, the direct API): binding the socket
//! first, so a taken port or a refused host is one clear error before anything
//! starts, and the handle of a running server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
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

/// The routes of one connection.
pub type Routes = warp::filters::BoxedFilter<(Response,)>;

/// What one HTTP server admits: connections at once, and how long a client may take
/// to send a request's head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// HTTP connections served at once. One more is answered `503` and closed, so a
    /// client that opens sockets and sends nothing cannot exhaust the agent's files
    /// or memory. An upgraded connection (a `WebSocket`) leaves this count; its own
    /// limit applies.
    pub connections: usize,
    /// How long a connection may take to deliver a request's head, the first one
    /// and each one after an idle keep-alive pause; a slower one is closed.
    pub header_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            connections: 128,
            header_timeout: Duration::from_secs(15),
        }
    }
}

/// The answer to a connection over [`Limits::connections`].
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: 28\r\nconnection: close\r\n\r\n{\"error\":\"too_many_clients\"}";

/// Serves HTTP/1 (with upgrades) on `listener` within `limits` until `shutdown`
/// fires, then gives open connections `grace` to finish. `make` builds the routes
/// of one connection from its peer's address (what `warp::addr::remote` gives under
/// `warp::serve`). `service` names the server in logs. Inside a tokio runtime.
pub fn serve<M>(
    service: &'static str,
    listener: TcpListener,
    limits: Limits,
    make: M,
    shutdown: CancellationToken,
    grace: Duration,
) -> Server
where
    M: Fn(Option<SocketAddr>) -> Routes + Send + 'static,
{
    let addr = listener
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from((std::net::Ipv4Addr::UNSPECIFIED, 0)));
    let task = tokio::spawn(async move {
        let open = Arc::new(Semaphore::new(limits.connections));
        let connections = tokio_util::task::TaskTracker::new();
        loop {
            let (stream, peer) = tokio::select! {
                () = shutdown.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // Out of files and the like: wait instead of spinning.
                        tracing::warn!(error = %e, "{service}: accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            let Ok(permit) = open.clone().try_acquire_owned() else {
                tracing::warn!(max = limits.connections, %peer, "{service}: too many connections, one was refused");
                tokio::spawn(refuse(stream));
                continue;
            };
            let svc =
                hyper_util::service::TowerToHyperService::new(warp::service(make(Some(peer))));
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                .with_upgrades();
            let stop = shutdown.clone();
            connections.spawn(async move {
                let mut conn = std::pin::pin!(conn);
                let ended = tokio::select! {
                    ended = conn.as_mut() => ended,
                    () = stop.cancelled() => {
                        // Finish the request in flight, take no new one.
                        conn.as_mut().graceful_shutdown();
                        conn.await
                    }
                };
                if let Err(e) = ended {
                    tracing::debug!(error = %e, "{service}: connection ended with an error");
                }
                drop(permit);
            });
        }
        drop(listener);
        connections.close();
        tokio::select! {
            () = connections.wait() => {}
            () = tokio::time::sleep(grace) => tracing::info!("{service}: closing connections still open"),
        }
        tracing::info!("{service}: stopped");
    });
    Server::new(addr, task)
}

/// Answers a connection over the limit with `503` and closes it (bounded, so a
/// client that never reads cannot keep it).
async fn refuse(mut stream: tokio::net::TcpStream) {
    use tokio::io::AsyncWriteExt as _;
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        stream.write_all(BUSY).await?;
        stream.shutdown().await
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpStream;
    use warp::Filter as _;

    /// A server answering `peer <address>` to every request.
    async fn start(limits: Limits) -> (SocketAddr, CancellationToken, Server) {
        let listener = bind("test", "127.0.0.1", 0, true).await.unwrap();
        let stop = CancellationToken::new();
        let make = |peer: Option<SocketAddr>| {
            warp::any()
                .map(move || {
                    format!(
                        "peer {}",
                        peer.map(|p| p.ip().to_string()).unwrap_or_default()
                    )
                    .into_response()
                })
                .boxed()
        };
        let server = serve(
            "test",
            listener,
            limits,
            make,
            stop.clone(),
            Duration::from_secs(1),
        );
        (server.local_addr(), stop, server)
    }

    /// Sends one request on `conn` and reads the answer until the server closes.
    async fn ask(conn: &mut TcpStream) -> String {
        conn.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        read_all(conn).await
    }

    async fn read_all(conn: &mut TcpStream) -> String {
        let mut out = Vec::new();
        tokio::time::timeout(Duration::from_secs(20), conn.read_to_end(&mut out))
            .await
            .expect("the server closes the connection")
            .unwrap();
        String::from_utf8_lossy(&out).into_owned()
    }

    #[tokio::test]
    async fn connections_over_the_limit_get_503_until_one_closes() {
        let limits = Limits {
            connections: 2,
            header_timeout: Duration::from_mins(1),
        };
        let (addr, stop, server) = start(limits).await;
        // Two clients that connect and say nothing hold both places.
        let idle1 = TcpStream::connect(addr).await.unwrap();
        let _idle2 = TcpStream::connect(addr).await.unwrap();
        let mut third = TcpStream::connect(addr).await.unwrap();
        let answer = read_all(&mut third).await;
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
        assert!(
            answer.ends_with("{\"error\":\"too_many_clients\"}"),
            "{answer}"
        );
        // A place frees when a client leaves; then requests are served again.
        drop(idle1);
        let mut answer = String::new();
        for _ in 0..50 {
            let mut next = TcpStream::connect(addr).await.unwrap();
            answer = ask(&mut next).await;
            if answer.starts_with("HTTP/1.1 200") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("peer 127.0.0.1"), "{answer}");
        stop.cancel();
        server.stopped().await;
    }

    #[tokio::test]
    async fn a_client_that_sends_no_request_head_is_closed() {
        let limits = Limits {
            connections: 4,
            header_timeout: Duration::from_millis(300),
        };
        let (addr, stop, server) = start(limits).await;
        // Nothing at all: closed (hyper answers 408 or just closes).
        let mut silent = TcpStream::connect(addr).await.unwrap();
        let answer = read_all(&mut silent).await;
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
            "{answer}"
        );
        // Half a head, then silence: closed too.
        let mut slow = TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n")
            .await
            .unwrap();
        let answer = read_all(&mut slow).await;
        assert!(!answer.contains("peer"), "{answer}");
        // Idle after a kept-alive request: closed after the timeout.
        let mut kept = TcpStream::connect(addr).await.unwrap();
        kept.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let answer = read_all(&mut kept).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains("peer 127.0.0.1"), "{answer}");
        stop.cancel();
        server.stopped().await;
    }

    #[tokio::test]
    async fn shutdown_stops_accepting() {
        let (addr, stop, server) = start(Limits::default()).await;
        let mut conn = TcpStream::connect(addr).await.unwrap();
        assert!(ask(&mut conn).await.starts_with("HTTP/1.1 200"));
        stop.cancel();
        server.stopped().await;
        assert!(TcpStream::connect(addr).await.is_err());
    }
}
