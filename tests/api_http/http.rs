//! A small HTTP/1.1 client over a plain `TcpStream`: the request is written while
//! the answer is read, so a server that answers before the body is through (413) is
//! seen as it answers; a body can be a generated run of bytes, so a large upload is
//! never held in memory.

use serde_json::Value;
use std::fmt::Write as _;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A piece of a request body.
pub enum Piece {
    /// These bytes.
    Bytes(Vec<u8>),
    /// `n` times the byte `b`, written in 1 MiB writes.
    Repeat(u8, u64),
}

impl Piece {
    fn len(&self) -> u64 {
        match self {
            Piece::Bytes(b) => b.len() as u64,
            Piece::Repeat(_, n) => *n,
        }
    }
}

/// An answer.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// Sends a request with `headers` and the body `pieces` (`Content-Length` set from
/// them) and reads the answer.
pub async fn send(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, String)],
    pieces: Vec<Piece>,
) -> Reply {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut rd, mut wr) = stream.into_split();
    let length: u64 = pieces.iter().map(Piece::len).sum();
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\n");
    for (k, v) in headers {
        let _ = write!(head, "{k}: {v}\r\n");
    }
    if method != "GET" {
        let _ = write!(head, "Content-Length: {length}\r\n");
    }
    head.push_str("\r\n");
    let writer = tokio::spawn(async move {
        wr.write_all(head.as_bytes()).await?;
        for piece in pieces {
            match piece {
                Piece::Bytes(b) => wr.write_all(&b).await?,
                Piece::Repeat(byte, mut n) => {
                    let block = vec![byte; 1 << 20];
                    while n > 0 {
                        let take = usize::try_from(n.min(block.len() as u64)).unwrap();
                        wr.write_all(&block[..take]).await?;
                        n -= take as u64;
                    }
                }
            }
        }
        wr.flush().await?;
        // Keep the write half open: the server may still be answering.
        Ok::<_, std::io::Error>(wr)
    });
    let reply = read_reply(&mut rd).await;
    // A write error after the answer (the server stopped reading) is no failure.
    let _ = writer.await;
    reply
}

async fn read_reply(rd: &mut tokio::net::tcp::OwnedReadHalf) -> Reply {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = rd.read(&mut chunk).await.expect("read the answer");
        assert!(
            n > 0,
            "the connection closed before an answer: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = buf[head_end + 4..].to_vec();
    let length = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok());
    loop {
        if length.is_some_and(|l| body.len() >= l) {
            break;
        }
        let n = rd.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    if let Some(l) = length {
        assert_eq!(body.len(), l, "the body ended early");
    }
    Reply {
        status,
        headers,
        body,
    }
}

/// `GET target` with an optional bearer token.
pub async fn get(addr: SocketAddr, target: &str, token: Option<&str>) -> Reply {
    let headers: Vec<(&str, String)> = token
        .map(|t| vec![("Authorization", format!("Bearer {t}"))])
        .unwrap_or_default();
    send(addr, "GET", target, &headers, Vec::new()).await
}

/// The boundary of the multipart bodies built here.
pub const BOUNDARY: &str = "----ductor-test-boundary-7MA4YWxk";

/// The opening of a multipart part.
pub fn part_head(name: &str, file_name: Option<&str>, content_type: Option<&str>) -> Vec<u8> {
    let mut h = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"");
    if let Some(f) = file_name {
        let _ = write!(h, "; filename=\"{f}\"");
    }
    h.push_str("\r\n");
    if let Some(t) = content_type {
        let _ = write!(h, "Content-Type: {t}\r\n");
    }
    h.push_str("\r\n");
    h.into_bytes()
}

/// The end of a part's data and of the body.
pub fn closing() -> Vec<u8> {
    format!("\r\n--{BOUNDARY}--\r\n").into_bytes()
}

/// The separator between two parts' data.
pub fn between() -> Vec<u8> {
    b"\r\n".to_vec()
}

/// `POST /upload` of `pieces` (a multipart body) with an optional bearer token.
pub async fn upload(addr: SocketAddr, token: Option<&str>, pieces: Vec<Piece>) -> Reply {
    let mut headers = vec![(
        "Content-Type",
        format!("multipart/form-data; boundary={BOUNDARY}"),
    )];
    if let Some(t) = token {
        headers.push(("Authorization", format!("Bearer {t}")));
    }
    send(addr, "POST", "/upload", &headers, pieces).await
}

/// A multipart body of one `file` part and an optional caption.
pub fn file_body(name: &str, data: &[u8], caption: Option<&str>) -> Vec<Piece> {
    let mut body = part_head("file", Some(name), None);
    body.extend_from_slice(data);
    body.extend(between());
    if let Some(c) = caption {
        body.extend(part_head("caption", None, None));
        body.extend_from_slice(c.as_bytes());
        body.extend(between());
    }
    body.extend(format!("--{BOUNDARY}--\r\n").into_bytes());
    vec![Piece::Bytes(body)]
}
