//! End-to-end encryption of one WebSocket connection (§10): the server makes a fresh
//! X25519 key pair per connection; with the client's public key from `auth` both
//! sides hold a `NaCl` box (X25519 + XSalsa20-Poly1305, as `PyNaCl`'s `Box` and
//! `tweetnacl`'s `nacl.box`). Every frame after `auth_ok` is a text frame holding
//! base64(24-byte random nonce ‖ Poly1305 tag ‖ ciphertext) of compact JSON.
//!
//! Better than the original: a nonce seen before on this connection is refused
//! (a replayed frame never acts twice), and so is a frame the server sealed itself
//! (a reflected frame).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use crypto_box::aead::{Aead, AeadCore, OsRng};
use crypto_box::{PublicKey, SalsaBox, SecretKey};
use std::collections::HashSet;

/// Length of a nonce.
pub const NONCE_LEN: usize = 24;
/// Length of the Poly1305 tag in front of the ciphertext.
pub const TAG_LEN: usize = 16;
/// Most frames one connection may receive; then it must reconnect (bounds the
/// memory of seen nonces).
pub const MAX_FRAMES: usize = 200_000;

/// Why a frame could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Not base64.
    #[error("the frame is not base64")]
    Base64,
    /// Shorter than a nonce and a tag.
    #[error("the frame is too short")]
    TooShort,
    /// The box did not open (wrong key, tampered, truncated).
    #[error("the frame does not decrypt")]
    Open,
    /// Its nonce was used before on this connection.
    #[error("the frame's nonce was used before")]
    Replayed,
    /// The connection received [`MAX_FRAMES`] frames.
    #[error("too many frames on one connection")]
    Exhausted,
}

/// A client's public key from its base64 form (`e2e_pk`); `None` unless it is
/// base64 of exactly 32 bytes.
pub fn public_key(b64: &str) -> Option<PublicKey> {
    let bytes = STANDARD.decode(b64.trim()).ok()?;
    let key: [u8; 32] = bytes.try_into().ok()?;
    Some(PublicKey::from(key))
}

/// The base64 form of a public key.
pub fn encode_key(key: &PublicKey) -> String {
    STANDARD.encode(key.as_bytes())
}

/// The encryption of one connection.
pub struct Session {
    sealed_box: SalsaBox,
    public: PublicKey,
    seen: HashSet<[u8; NONCE_LEN]>,
    /// Nonces of frames this side sent (a frame reflected back is refused); kept
    /// apart so a chatty server never uses up the client's allowance.
    sent: HashSet<[u8; NONCE_LEN]>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("public", &encode_key(&self.public))
            .field("seen", &self.seen.len())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session with a fresh server key pair for the client key `client`.
    pub fn new(client: &PublicKey) -> Self {
        Self::with_secret(&SecretKey::generate(&mut OsRng), client)
    }

    /// A session with the server's secret key `secret` (tests use fixed keys).
    pub fn with_secret(secret: &SecretKey, client: &PublicKey) -> Self {
        Self {
            sealed_box: SalsaBox::new(client, secret),
            public: secret.public_key(),
            seen: HashSet::new(),
            sent: HashSet::new(),
        }
    }

    /// The server's public key, base64 (`e2e_pk` of `auth_ok`).
    pub fn public_key(&self) -> String {
        encode_key(&self.public)
    }

    /// `plaintext` sealed under a fresh random nonce, as a frame.
    pub fn seal(&mut self, plaintext: &[u8]) -> String {
        let nonce = SalsaBox::generate_nonce(&mut OsRng);
        let mut key = [0u8; NONCE_LEN];
        key.copy_from_slice(&nonce);
        // Remembered so that a frame reflected back is refused (a reflected frame
        // past the cap would still only be one of our own replies: `unknown_type`).
        if self.sent.len() < MAX_FRAMES {
            self.sent.insert(key);
        }
        let sealed = self
            .sealed_box
            .encrypt(&nonce, plaintext)
            // Encryption without associated data cannot fail (only an AAD or a
            // message over 2^38 bytes can make it).
            .unwrap_or_default();
        let mut frame = Vec::with_capacity(NONCE_LEN + sealed.len());
        frame.extend_from_slice(&nonce);
        frame.extend_from_slice(&sealed);
        STANDARD.encode(frame)
    }

    /// Opens a frame; its nonce counts as seen only once it opened.
    pub fn open(&mut self, frame: &str) -> Result<Vec<u8>, FrameError> {
        if self.seen.len() >= MAX_FRAMES {
            return Err(FrameError::Exhausted);
        }
        let bytes = STANDARD
            .decode(frame.trim())
            .map_err(|_| FrameError::Base64)?;
        if bytes.len() < NONCE_LEN + TAG_LEN {
            return Err(FrameError::TooShort);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let mut key = [0u8; NONCE_LEN];
        key.copy_from_slice(nonce);
        if self.seen.contains(&key) || self.sent.contains(&key) {
            return Err(FrameError::Replayed);
        }
        let plain = self
            .sealed_box
            .decrypt(nonce.into(), sealed)
            .map_err(|_| FrameError::Open)?;
        self.seen.insert(key);
        Ok(plain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame made by `PyNaCl` 1.5 (the original's library):
    /// `Box(PrivateKey(bytes(range(101, 133))), server.public_key).encrypt(MSG,
    /// bytes(range(200, 224)))` with `server = PrivateKey(bytes(range(1, 33)))`.
    const PYNACL_FRAME: &str = "yMnKy8zNzs/Q0dLT1NXW19jZ2tvc3d7f0jOC46USiJgDosiwDUkCQr2YRiye3DnoEc1HW5dRGXYeiMaIixCynBrEmffvKdJcRAF53AarZ/Pj";
    const MSG: &str = r#"{"type":"text_delta","data":"Hallö ✓"}"#;

    fn key(first: u8) -> SecretKey {
        let bytes: Vec<u8> = (first..first + 32).collect();
        SecretKey::from_slice(&bytes).unwrap()
    }

    #[test]
    fn a_pynacl_box_opens_here_and_ours_opens_there() {
        let server = key(1);
        let client = key(101);
        assert_eq!(
            hex(server.public_key().as_bytes()),
            "07a37cbc142093c8b755dc1b10e86cb426374ad16aa853ed0bdfc0b2b86d1c7c"
        );
        let client_pk = public_key(&encode_key(&client.public_key())).unwrap();
        let mut session = Session::with_secret(&server, &client_pk);
        assert_eq!(session.open(PYNACL_FRAME).unwrap(), MSG.as_bytes());
        // The same plaintext under the same nonce gives PyNaCl's bytes exactly.
        let nonce: Vec<u8> = (200..224).collect();
        let ours = SalsaBox::new(&client_pk, &server)
            .encrypt(nonce.as_slice().into(), MSG.as_bytes())
            .unwrap();
        let theirs = STANDARD.decode(PYNACL_FRAME).unwrap();
        assert_eq!(&theirs[NONCE_LEN..], ours.as_slice());
        // A frame the server seals opens with the client's own box.
        let frame = session.seal(b"{\"type\":\"result\"}");
        let raw = STANDARD.decode(&frame).unwrap();
        let client_box = SalsaBox::new(&server.public_key(), &client);
        let plain = client_box
            .decrypt(raw[..NONCE_LEN].into(), &raw[NONCE_LEN..])
            .unwrap();
        assert_eq!(plain, b"{\"type\":\"result\"}");
    }

    #[test]
    fn tampered_replayed_reflected_and_malformed_frames_are_refused() {
        let client = key(101);
        let mut session = Session::new(&client.public_key());
        let server_pk = public_key(&session.public_key()).unwrap();
        let client_box = SalsaBox::new(&server_pk, &client);
        let frame = |plain: &[u8]| {
            let nonce = SalsaBox::generate_nonce(&mut OsRng);
            let mut out = nonce.to_vec();
            out.extend(client_box.encrypt(&nonce, plain).unwrap());
            out
        };
        let good = frame(b"{\"type\":\"abort\"}");
        let mut bad = good.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(session.open(&STANDARD.encode(&bad)), Err(FrameError::Open));
        // The failed attempt did not burn the nonce: the genuine frame still opens once.
        let good = STANDARD.encode(&good);
        assert_eq!(session.open(&good).unwrap(), b"{\"type\":\"abort\"}");
        assert_eq!(session.open(&good), Err(FrameError::Replayed));
        let own = session.seal(b"{}");
        assert_eq!(session.open(&own), Err(FrameError::Replayed));
        assert_eq!(session.open("not base64!"), Err(FrameError::Base64));
        assert_eq!(
            session.open(&STANDARD.encode([0u8; 39])),
            Err(FrameError::TooShort)
        );
        let other = Session::new(&key(50).public_key()).seal(b"{}");
        assert_eq!(session.open(&other), Err(FrameError::Open));
        for bad_key in ["", "AAAA", &STANDARD.encode([1u8; 31]), "%%%"] {
            assert!(public_key(bad_key).is_none(), "{bad_key}");
        }
    }

    #[test]
    fn frames_the_server_sends_do_not_use_up_what_the_client_may_send() {
        let client = key(101);
        let mut session = Session::new(&client.public_key());
        for _ in 0..1000 {
            session.seal(b"{\"type\":\"text_delta\",\"data\":\"x\"}");
        }
        assert_eq!((session.seen.len(), session.sent.len()), (0, 1000));
    }

    fn hex(bytes: &[u8]) -> String {
        use std::fmt::Write as _;
        bytes.iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    }
}
