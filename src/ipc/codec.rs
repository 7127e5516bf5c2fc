//! The bus framing: a 4-byte big-endian length, then that many bytes of JSON.
//!
//! Unlike a plain length-delimited codec, a frame over the limit does not end the
//! stream: its bytes are skipped as they arrive (never buffered) and the reader
//! gets [`Frame::Oversized`], so the connection keeps working after a clear error.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

/// Bytes of the length prefix.
const HEADER: usize = 4;

/// One decoded frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A frame within the limit.
    Data(BytesMut),
    /// A frame over the limit, of this many bytes (being skipped).
    Oversized(usize),
}

/// Length-prefixed frames of at most `max` bytes.
#[derive(Debug)]
pub struct BusCodec {
    max: usize,
    /// Bytes of an oversized frame still to skip.
    skipping: usize,
}

impl BusCodec {
    /// A codec for frames of at most `max` bytes.
    pub fn new(max: usize) -> Self {
        Self { max, skipping: 0 }
    }

    fn skip(&mut self, src: &mut BytesMut) {
        let n = self.skipping.min(src.len());
        src.advance(n);
        self.skipping -= n;
    }
}

impl Decoder for BusCodec {
    type Item = Frame;
    type Error = std::io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, std::io::Error> {
        if self.skipping > 0 {
            self.skip(src);
            if self.skipping > 0 {
                return Ok(None);
            }
        }
        if src.len() < HEADER {
            return Ok(None);
        }
        let len = u32::from_be_bytes([src[0], src[1], src[2], src[3]]) as usize;
        if len > self.max {
            src.advance(HEADER);
            self.skipping = len;
            self.skip(src);
            return Ok(Some(Frame::Oversized(len)));
        }
        if src.len() < HEADER + len {
            src.reserve(HEADER + len - src.len());
            return Ok(None);
        }
        src.advance(HEADER);
        Ok(Some(Frame::Data(src.split_to(len))))
    }
}

impl Encoder<Bytes> for BusCodec {
    type Error = std::io::Error;

    fn encode(&mut self, item: Bytes, dst: &mut BytesMut) -> Result<(), std::io::Error> {
        let len = u32::try_from(item.len())
            .ok()
            .filter(|l| *l as usize <= self.max)
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!(
                        "frame of {} bytes over the {}-byte limit",
                        item.len(),
                        self.max
                    ),
                )
            })?;
        dst.reserve(HEADER + item.len());
        dst.put_u32(len);
        dst.extend_from_slice(&item);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(payload: &[u8]) -> Vec<u8> {
        let mut v = (payload.len() as u32).to_be_bytes().to_vec();
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn an_oversized_frame_is_skipped_and_the_next_one_arrives() {
        let mut codec = BusCodec::new(8);
        let mut wire = framed(&[b'x'; 20]);
        wire.extend(framed(b"ok"));
        // Feed it a few bytes at a time, as a socket would.
        let mut src = BytesMut::new();
        let mut out = Vec::new();
        for chunk in wire.chunks(3) {
            src.extend_from_slice(chunk);
            while let Some(f) = codec.decode(&mut src).unwrap() {
                out.push(f);
            }
            assert!(src.capacity() < 64, "nothing of the big frame is buffered");
        }
        assert_eq!(
            out,
            vec![
                Frame::Oversized(20),
                Frame::Data(BytesMut::from(&b"ok"[..]))
            ]
        );
    }

    #[test]
    fn encoding_refuses_what_the_peer_would_skip() {
        let mut codec = BusCodec::new(4);
        let mut dst = BytesMut::new();
        assert!(
            codec
                .encode(Bytes::from_static(b"12345"), &mut dst)
                .is_err()
        );
        assert!(dst.is_empty());
        codec.encode(Bytes::from_static(b"1234"), &mut dst).unwrap();
        assert_eq!(&dst[..], &framed(b"1234")[..]);
    }
}
