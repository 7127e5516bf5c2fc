//! Framing and sockets: length-prefixed JSON frames (at most [`MAX_FRAME`] bytes)
//! over an `interprocess` local socket, the listener in the 0700 run directory and
//! the peer-credential check.

use super::codec::{BusCodec, Frame};
use super::message::{Body, Envelope, ErrorBody, ErrorCode};
use super::{IpcError, MAX_FRAME, PROTOCOL_VERSION};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use interprocess::local_socket::tokio::{Listener, Stream};
use interprocess::local_socket::traits::StreamCommon;
use interprocess::local_socket::traits::tokio::{Listener as _, Stream as _};
use interprocess::local_socket::{GenericFilePath, ListenerOptions, ToFsName};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use tokio_util::codec::Framed;

/// The codec every bus connection uses.
fn codec() -> BusCodec {
    BusCodec::new(MAX_FRAME)
}

/// One framed bus connection.
pub struct Connection {
    framed: Framed<Stream, BusCodec>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Connection")
    }
}

impl Connection {
    fn new(stream: Stream) -> Self {
        Self {
            framed: Framed::new(stream, codec()),
        }
    }

    /// Connects to the bus socket at `path`.
    pub async fn connect(path: &Path) -> Result<Self, IpcError> {
        let name = path.to_fs_name::<GenericFilePath>().map_err(IpcError::Io)?;
        let stream = Stream::connect(name).await.map_err(IpcError::Io)?;
        Ok(Self::new(stream))
    }

    /// Effective uid of the peer process.
    pub fn peer_uid(&self) -> Result<u32, IpcError> {
        let creds = self.framed.get_ref().peer_creds().map_err(IpcError::Io)?;
        creds
            .euid()
            .ok_or_else(|| IpcError::Io(std::io::Error::other("peer uid unavailable")))
    }

    /// Process id of the peer, when the platform reports it.
    pub fn peer_pid(&self) -> Option<u32> {
        let creds = self.framed.get_ref().peer_creds().ok()?;
        creds.pid().map(|p| p as u32)
    }

    /// Sends one envelope. A frame over [`MAX_FRAME`] is refused before anything is written.
    pub async fn send(&mut self, env: &Envelope) -> Result<(), IpcError> {
        let bytes = encode(env)?;
        self.framed.send(bytes).await.map_err(IpcError::Io)
    }

    /// Sends raw bytes as one frame (tests use it to send malformed or oversized frames).
    pub async fn send_raw(&mut self, bytes: Vec<u8>) -> Result<(), IpcError> {
        if bytes.len() > MAX_FRAME {
            return Err(IpcError::FrameTooLarge {
                size: bytes.len(),
                max: MAX_FRAME,
            });
        }
        self.framed
            .send(Bytes::from(bytes))
            .await
            .map_err(IpcError::Io)
    }

    /// Receives one envelope; `Ok(None)` when the peer closed the connection. A frame
    /// over the limit or one that is not a message is an error, after which the
    /// connection still works ([`IpcError::is_fatal`] tells the difference).
    pub async fn recv(&mut self) -> Result<Option<Envelope>, IpcError> {
        read(self.framed.next().await)
    }

    /// Splits into independently usable halves (a reader task and a writer task).
    pub fn split(self) -> (ConnWriter, ConnReader) {
        let (sink, stream) = self.framed.split();
        (ConnWriter { sink }, ConnReader { stream })
    }
}

/// Writing half of a [`Connection`].
pub struct ConnWriter {
    sink: futures_util::stream::SplitSink<Framed<Stream, BusCodec>, Bytes>,
}

impl ConnWriter {
    /// Sends one envelope.
    pub async fn send(&mut self, env: &Envelope) -> Result<(), IpcError> {
        let bytes = encode(env)?;
        self.sink.send(bytes).await.map_err(IpcError::Io)
    }

    /// Sends every envelope of `out` until it closes or the socket fails. An envelope
    /// that cannot be sent (over the limit) is not written; when it answered a
    /// request, the peer gets an `error` answer instead, so nobody waits for it.
    pub async fn pump(mut self, mut out: tokio::sync::mpsc::Receiver<Envelope>) {
        while let Some(env) = out.recv().await {
            match self.send(&env).await {
                Ok(()) => {}
                Err(e) if e.is_fatal() => {
                    tracing::debug!(error = %e, "bus write failed");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, kind = env.body.type_name(), "bus frame not sent");
                    let refusal = error_envelope(
                        env.re,
                        ErrorCode::FrameTooLarge,
                        format!("the `{}` could not be sent: {e}", env.body.type_name()),
                    );
                    if env.re.is_some() && self.send(&refusal).await.is_err() {
                        break;
                    }
                }
            }
        }
    }
}

/// Reading half of a [`Connection`].
pub struct ConnReader {
    stream: futures_util::stream::SplitStream<Framed<Stream, BusCodec>>,
}

impl ConnReader {
    /// Receives one envelope; `Ok(None)` on hang-up (see [`Connection::recv`]).
    pub async fn recv(&mut self) -> Result<Option<Envelope>, IpcError> {
        read(self.stream.next().await)
    }
}

fn read(item: Option<std::io::Result<Frame>>) -> Result<Option<Envelope>, IpcError> {
    match item {
        None => Ok(None),
        Some(Err(e)) => Err(IpcError::Io(e)),
        Some(Ok(Frame::Oversized(size))) => Err(IpcError::FrameTooLarge {
            size,
            max: MAX_FRAME,
        }),
        Some(Ok(Frame::Data(frame))) => decode(&frame).map(Some),
    }
}

/// Size of `env` on the wire (without the length prefix).
pub fn encoded_len(env: &Envelope) -> Result<usize, IpcError> {
    encode(env).map(|b| b.len())
}

fn encode(env: &Envelope) -> Result<Bytes, IpcError> {
    let bytes = serde_json::to_vec(env).map_err(|e| IpcError::BadMessage(e.to_string()))?;
    if bytes.len() > MAX_FRAME {
        return Err(IpcError::FrameTooLarge {
            size: bytes.len(),
            max: MAX_FRAME,
        });
    }
    Ok(Bytes::from(bytes))
}

fn decode(frame: &[u8]) -> Result<Envelope, IpcError> {
    // Check the version first so a peer from another protocol gets a precise error.
    if let Ok(v) = serde_json::from_slice::<VersionProbe>(frame)
        && v.v != PROTOCOL_VERSION
    {
        return Err(IpcError::VersionMismatch {
            ours: PROTOCOL_VERSION,
            theirs: v.v,
        });
    }
    serde_json::from_slice(frame).map_err(|e| IpcError::BadMessage(e.to_string()))
}

#[derive(serde::Deserialize)]
struct VersionProbe {
    v: u32,
}

/// Builds an `error` envelope answering request `re`.
pub fn error_envelope(re: Option<u64>, code: ErrorCode, message: impl Into<String>) -> Envelope {
    Envelope {
        v: PROTOCOL_VERSION,
        id: 0,
        re,
        to: None,
        from: None,
        body: Body::Error(ErrorBody {
            code,
            message: message.into(),
        }),
    }
}

/// The listening side of the bus.
pub struct BusListener {
    listener: Listener,
    uid: u32,
}

impl BusListener {
    /// Binds the socket at `path`, replacing a stale socket file. The caller must hold
    /// the PID lock, so nobody else is serving this path. The parent directory is
    /// expected to be private (0700); the socket file itself is made 0600.
    pub fn bind(path: &Path) -> Result<Self, IpcError> {
        if path.as_os_str().len() >= 104 {
            return Err(IpcError::Io(std::io::Error::other(format!(
                "socket path {} is too long for a Unix socket (max ~103 bytes); use a shorter --home",
                path.display()
            ))));
        }
        if let Some(dir) = path.parent() {
            crate::store::ensure_private_dir(dir)
                .map_err(|e| IpcError::Io(std::io::Error::other(e.to_string())))?;
        }
        let name = path.to_fs_name::<GenericFilePath>().map_err(IpcError::Io)?;
        let listener = ListenerOptions::new()
            .name(name)
            .try_overwrite(true)
            .create_tokio()
            .map_err(IpcError::Io)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(IpcError::Io)?;
        Ok(Self {
            listener,
            uid: nix::unistd::geteuid().as_raw(),
        })
    }

    /// Accepts the next connection from a process of our own user. Connections from
    /// other users are closed at once and logged.
    pub async fn accept(&self) -> Result<Connection, IpcError> {
        loop {
            let stream = self.listener.accept().await.map_err(IpcError::Io)?;
            let conn = Connection::new(stream);
            match conn.peer_uid() {
                Ok(uid) if uid == self.uid => return Ok(conn),
                Ok(uid) => tracing::warn!(uid, "refused bus connection from another user"),
                Err(e) => tracing::warn!(error = %e, "refused bus connection without credentials"),
            }
        }
    }
}
