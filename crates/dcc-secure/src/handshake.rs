//! The Noise IK handshake and the transport messages after it, no IO.
//!
//! ```text
//! client                                             daemon
//! PREAMBLE, hello = IK msg 1 (e, es, s, ss; empty payload)  →
//!                                 checks s against authorized keys, then
//!                 ←  welcome = IK msg 2 (e, ee, se; payload: one verdict byte)
//! transport messages (the distcc request)            →
//!                 ←  transport messages (the reply)
//! ```
//!
//! - The client must know the daemon's static key beforehand (known_hosts): the hello is
//!   encrypted to it, so an impostor can neither read the client's identity nor answer.
//! - The hello carries no payload: it is replayable, so nothing it says may count.
//! - The daemon decides from the client's static key alone, before it answers. A refusal is
//!   still a full, authenticated welcome (verdict ≠ 0), so the client can say exactly why.
//! - Transport keys mix both ephemeral keys: a recorded session replayed to the daemon gets a
//!   fresh daemon ephemeral key, and its recorded transport messages no longer decrypt. The
//!   daemon therefore treats the client's first transport message as key confirmation and
//!   passes nothing on before it has decrypted one.
//! - Each direction counts its own nonces from 0 ([`Sealer`], [`Opener`]), so the halves of a
//!   connection can be used from different tasks; a dropped, repeated or reordered message
//!   fails to decrypt.

use std::fmt;
use std::sync::Arc;

use snow::{HandshakeState, StatelessTransportState};

use crate::SecureError;
use crate::frame::{self, HELLO_LEN, MAX_MESSAGE, MAX_PAYLOAD, PREAMBLE, TAG_LEN, WELCOME_LEN};
use crate::keys::{PrivateKey, PublicKey};

/// The Noise protocol name.
pub const NOISE_PATTERN: &str = "Noise_IK_25519_ChaChaPoly_BLAKE2s";

pub(crate) fn params() -> snow::params::NoiseParams {
    // A constant that parses: checked by the tests.
    NOISE_PATTERN
        .parse()
        .unwrap_or_else(|_| unreachable!("constant Noise pattern"))
}

/// The daemon's answer in the welcome message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Accepted,
    /// The client's key is not in the daemon's authorized keys (never was, or was revoked).
    UnknownKey,
    /// The daemon could not read its authorized keys: it refuses everyone until fixed.
    ServerError,
}

impl Verdict {
    fn byte(self) -> u8 {
        match self {
            Verdict::Accepted => 0,
            Verdict::UnknownKey => 1,
            Verdict::ServerError => 2,
        }
    }

    fn from_byte(b: u8) -> Verdict {
        match b {
            0 => Verdict::Accepted,
            1 => Verdict::UnknownKey,
            // Anything else (a newer daemon's reason) is a refusal too.
            _ => Verdict::ServerError,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Accepted => "accepted",
            Verdict::UnknownKey => {
                "the daemon refused our key: it is not in its authorized keys (never added, or revoked)"
            }
            Verdict::ServerError => "the daemon refused: it cannot read its authorized keys",
        })
    }
}

/// The client's side of a handshake in progress.
pub struct Initiator {
    hs: HandshakeState,
    /// Kept to name our public key in a refusal (derived only then: it costs a scalar
    /// multiplication, and the client pays for every job).
    local: PrivateKey,
}

impl fmt::Debug for Initiator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Initiator").finish_non_exhaustive()
    }
}

impl Initiator {
    /// Start a handshake with the daemon whose static key is `server`. Returns the state and
    /// the first flight to send: the preamble and the framed hello.
    pub fn start(
        local: &PrivateKey,
        server: &PublicKey,
    ) -> Result<(Initiator, Vec<u8>), SecureError> {
        let mut hs = snow::Builder::new(params())
            .local_private_key(local.as_bytes())
            .and_then(|b| b.remote_public_key(&server.0))
            .and_then(|b| b.prologue(&PREAMBLE))
            .and_then(|b| b.build_initiator())
            .map_err(SecureError::noise)?;
        let mut msg = [0u8; HELLO_LEN];
        let n = hs
            .write_message(&[], &mut msg)
            .map_err(SecureError::noise)?;
        let mut out = Vec::with_capacity(PREAMBLE.len() + 2 + n);
        out.extend_from_slice(&PREAMBLE);
        frame::push(&mut out, &msg[..n]);
        Ok((
            Initiator {
                hs,
                local: local.clone(),
            },
            out,
        ))
    }

    /// Read the daemon's welcome (the message of its first frame).
    pub fn finish(mut self, welcome: &[u8]) -> Result<Session, SecureError> {
        if welcome.len() != WELCOME_LEN {
            return Err(SecureError::Malformed {
                what: "welcome",
                len: welcome.len(),
            });
        }
        let mut payload = [0u8; WELCOME_LEN];
        let n = self
            .hs
            .read_message(welcome, &mut payload)
            .map_err(|_| SecureError::HandshakeAuth("the daemon's welcome"))?;
        let verdict = match payload[..n] {
            [b] => Verdict::from_byte(b),
            _ => {
                return Err(SecureError::Malformed {
                    what: "welcome",
                    len: welcome.len(),
                });
            }
        };
        if verdict != Verdict::Accepted {
            return Err(SecureError::Refused {
                verdict,
                client: self.local.public(),
            });
        }
        Session::from_handshake(self.hs)
    }
}

/// The daemon's side, after a valid hello.
pub struct Responder {
    hs: HandshakeState,
    client: PublicKey,
}

impl fmt::Debug for Responder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Responder")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

impl Responder {
    /// Read a hello (the message of the first frame after the preamble). On success the
    /// client's static key is known (and proven only once its first transport message
    /// decrypts; see the module doc).
    pub fn read_hello(local: &PrivateKey, hello: &[u8]) -> Result<Responder, SecureError> {
        if hello.len() != HELLO_LEN {
            return Err(SecureError::Malformed {
                what: "hello",
                len: hello.len(),
            });
        }
        let mut hs = snow::Builder::new(params())
            .local_private_key(local.as_bytes())
            .and_then(|b| b.prologue(&PREAMBLE))
            .and_then(|b| b.build_responder())
            .map_err(SecureError::noise)?;
        let mut payload = [0u8; HELLO_LEN];
        let n = hs
            .read_message(hello, &mut payload)
            .map_err(|_| SecureError::HandshakeAuth("the client's hello"))?;
        if n != 0 {
            // Our clients never send early data; a hello with some is not ours.
            return Err(SecureError::Malformed {
                what: "hello",
                len: hello.len(),
            });
        }
        let client = hs
            .get_remote_static()
            .and_then(|k| <[u8; 32]>::try_from(k).ok())
            .map(PublicKey)
            .ok_or_else(|| SecureError::noise(snow::Error::Input))?;
        Ok(Responder { hs, client })
    }

    /// The static key the client claims.
    pub fn client(&self) -> PublicKey {
        self.client
    }

    /// Answer with `verdict`. Returns the framed welcome and, when accepted, the session.
    pub fn answer(mut self, verdict: Verdict) -> Result<(Vec<u8>, Option<Session>), SecureError> {
        let mut msg = [0u8; WELCOME_LEN];
        let n = self
            .hs
            .write_message(&[verdict.byte()], &mut msg)
            .map_err(SecureError::noise)?;
        let mut out = Vec::with_capacity(2 + n);
        frame::push(&mut out, &msg[..n]);
        let session = match verdict {
            Verdict::Accepted => Some(Session::from_handshake(self.hs)?),
            _ => None,
        };
        Ok((out, session))
    }
}

/// Keys of a finished handshake.
#[derive(Debug)]
pub struct Session {
    transport: Arc<StatelessTransportState>,
    remote: PublicKey,
}

impl Session {
    fn from_handshake(hs: HandshakeState) -> Result<Session, SecureError> {
        let remote = hs
            .get_remote_static()
            .and_then(|k| <[u8; 32]>::try_from(k).ok())
            .map(PublicKey)
            .ok_or_else(|| SecureError::noise(snow::Error::Input))?;
        let transport = hs
            .into_stateless_transport_mode()
            .map_err(SecureError::noise)?;
        Ok(Session {
            transport: Arc::new(transport),
            remote,
        })
    }

    /// The peer's static key.
    pub fn remote(&self) -> PublicKey {
        self.remote
    }

    /// The sending and receiving halves.
    pub fn split(self) -> (Sealer, Opener) {
        (
            Sealer {
                t: self.transport.clone(),
                nonce: 0,
            },
            Opener {
                t: self.transport,
                nonce: 0,
            },
        )
    }
}

/// Encrypts outgoing data into framed transport messages.
pub struct Sealer {
    t: Arc<StatelessTransportState>,
    nonce: u64,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer")
            .field("nonce", &self.nonce)
            .finish()
    }
}

impl Sealer {
    /// Append `plain` to `out` as framed transport messages of at most [`MAX_PAYLOAD`] bytes
    /// each. Nothing is appended for empty data.
    pub fn seal_into(&mut self, plain: &[u8], out: &mut Vec<u8>) -> Result<(), SecureError> {
        for chunk in plain.chunks(MAX_PAYLOAD) {
            let len = chunk.len() + TAG_LEN;
            let start = out.len();
            out.reserve(2 + len);
            out.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
            out.resize(start + 2 + len, 0);
            let n = self
                .t
                .write_message(self.nonce, chunk, &mut out[start + 2..])
                .map_err(SecureError::noise)?;
            debug_assert_eq!(n, len);
            self.nonce = self
                .nonce
                .checked_add(1)
                .ok_or_else(|| SecureError::noise(snow::Error::Input))?;
        }
        Ok(())
    }
}

/// Decrypts incoming transport messages.
pub struct Opener {
    t: Arc<StatelessTransportState>,
    nonce: u64,
}

impl fmt::Debug for Opener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opener")
            .field("nonce", &self.nonce)
            .finish()
    }
}

impl Opener {
    /// Decrypt one transport message (a frame's message), appending the plaintext to `out`.
    pub fn open_into(&mut self, msg: &[u8], out: &mut Vec<u8>) -> Result<(), SecureError> {
        if msg.len() < TAG_LEN || msg.len() > MAX_MESSAGE {
            return Err(SecureError::Decrypt);
        }
        let start = out.len();
        out.resize(start + msg.len() - TAG_LEN, 0);
        match self.t.read_message(self.nonce, msg, &mut out[start..]) {
            Ok(n) => {
                out.truncate(start + n);
                self.nonce = self.nonce.checked_add(1).ok_or(SecureError::Decrypt)?;
                Ok(())
            }
            Err(_) => {
                out.truncate(start);
                Err(SecureError::Decrypt)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Run a handshake in memory; the session pair, or the error the client saw.
    fn handshake(
        client: &PrivateKey,
        server: &PrivateKey,
        server_as_known: &PublicKey,
        verdict: Verdict,
    ) -> Result<(Session, Session), SecureError> {
        let (init, flight) = Initiator::start(client, server_as_known)?;
        assert_eq!(&flight[..8], b"DRSNOIS1");
        let hello = &flight[8..];
        let r = frame::complete(hello).unwrap();
        assert_eq!(r.len(), HELLO_LEN);
        let resp = Responder::read_hello(server, &hello[r])?;
        assert_eq!(resp.client(), client.public());
        let (welcome, s_session) = resp.answer(verdict)?;
        let r = frame::complete(&welcome).unwrap();
        let c_session = init.finish(&welcome[r])?;
        Ok((c_session, s_session.unwrap()))
    }

    fn open_all(o: &mut Opener, mut wire: &[u8]) -> Result<Vec<u8>, SecureError> {
        let mut out = Vec::new();
        while !wire.is_empty() {
            let r = frame::complete(wire).unwrap();
            o.open_into(&wire[r.clone()], &mut out)?;
            wire = &wire[r.end..];
        }
        Ok(out)
    }

    #[test]
    fn pattern_parses() {
        let _ = params();
    }

    #[test]
    fn both_directions_after_a_handshake() {
        let c = PrivateKey::generate().unwrap();
        let s = PrivateKey::generate().unwrap();
        let (cs, ss) = handshake(&c, &s, &s.public(), Verdict::Accepted).unwrap();
        assert_eq!(cs.remote(), s.public());
        assert_eq!(ss.remote(), c.public());
        let (mut c_seal, mut c_open) = cs.split();
        let (mut s_seal, mut s_open) = ss.split();
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut wire = Vec::new();
        c_seal.seal_into(b"DIST00000001", &mut wire).unwrap();
        c_seal.seal_into(&big, &mut wire).unwrap();
        c_seal.seal_into(b"", &mut wire).unwrap();
        // 1 + 4 messages (200 000 bytes in 65 519-byte chunks), each 18 bytes larger.
        assert_eq!(wire.len(), 12 + big.len() + 5 * (2 + TAG_LEN));
        let plain = open_all(&mut s_open, &wire).unwrap();
        assert_eq!(&plain[..12], b"DIST00000001");
        assert_eq!(&plain[12..], &big[..]);
        assert!(
            !wire.windows(12).any(|w| w == b"DIST00000001"),
            "the request is not readable on the wire"
        );
        let mut back = Vec::new();
        s_seal.seal_into(b"DONE00000001", &mut back).unwrap();
        assert_eq!(open_all(&mut c_open, &back).unwrap(), b"DONE00000001");
    }

    #[test]
    fn tampering_reordering_and_replay_fail() {
        let c = PrivateKey::generate().unwrap();
        let s = PrivateKey::generate().unwrap();
        let (cs, ss) = handshake(&c, &s, &s.public(), Verdict::Accepted).unwrap();
        let (mut seal, _) = cs.split();
        let (_, mut open) = ss.split();
        let (mut m1, mut m2) = (Vec::new(), Vec::new());
        seal.seal_into(b"first", &mut m1).unwrap();
        seal.seal_into(b"second", &mut m2).unwrap();
        // Out of order.
        assert!(matches!(
            open.open_into(&m2[2..], &mut Vec::new()),
            Err(SecureError::Decrypt)
        ));
        // A flipped bit anywhere.
        for i in 2..m1.len() {
            let mut t = m1.clone();
            t[i] ^= 0x01;
            assert!(
                open.open_into(&t[2..], &mut Vec::new()).is_err(),
                "byte {i}"
            );
        }
        let mut out = Vec::new();
        open.open_into(&m1[2..], &mut out).unwrap();
        // Replayed.
        assert!(open.open_into(&m1[2..], &mut out).is_err());
        open.open_into(&m2[2..], &mut out).unwrap();
        assert_eq!(out, b"firstsecond");
        // Too short to hold a tag.
        assert!(open.open_into(&[0; 15], &mut out).is_err());
    }

    #[test]
    fn refusal_is_authenticated_and_explained() {
        let c = PrivateKey::generate().unwrap();
        let s = PrivateKey::generate().unwrap();
        let e = handshake(&c, &s, &s.public(), Verdict::UnknownKey).unwrap_err();
        match e {
            SecureError::Refused { verdict, client } => {
                assert_eq!(verdict, Verdict::UnknownKey);
                assert_eq!(client, c.public());
            }
            other => panic!("{other}"),
        }
        assert!(
            handshake(&c, &s, &s.public(), Verdict::UnknownKey)
                .unwrap_err()
                .to_string()
                .contains("not in its authorized keys")
        );
    }

    #[test]
    fn an_impostor_daemon_cannot_read_the_hello() {
        let c = PrivateKey::generate().unwrap();
        let real = PrivateKey::generate().unwrap();
        let impostor = PrivateKey::generate().unwrap();
        let e = handshake(&c, &impostor, &real.public(), Verdict::Accepted).unwrap_err();
        assert!(
            matches!(e, SecureError::HandshakeAuth("the client's hello")),
            "{e}"
        );
    }

    #[test]
    fn a_forged_welcome_is_refused_by_the_client() {
        // The impostor cannot read the hello, so it answers with a hello of its own making
        // (its own keys): the client must not accept it.
        let c = PrivateKey::generate().unwrap();
        let real = PrivateKey::generate().unwrap();
        let impostor = PrivateKey::generate().unwrap();
        let (init, _) = Initiator::start(&c, &real.public()).unwrap();
        let (_, own_flight) = Initiator::start(&impostor, &impostor.public()).unwrap();
        let own_hello = &own_flight[10..];
        let resp = Responder::read_hello(&impostor, own_hello).unwrap();
        let (welcome, _) = resp.answer(Verdict::Accepted).unwrap();
        let e = init.finish(&welcome[2..]).unwrap_err();
        assert!(
            matches!(e, SecureError::HandshakeAuth("the daemon's welcome")),
            "{e}"
        );
    }

    #[test]
    fn a_replayed_hello_yields_keys_the_recording_cannot_use() {
        let c = PrivateKey::generate().unwrap();
        let s = PrivateKey::generate().unwrap();
        let (init, flight) = Initiator::start(&c, &s.public()).unwrap();
        let hello = flight[10..].to_vec();
        let (welcome, first) = Responder::read_hello(&s, &hello)
            .unwrap()
            .answer(Verdict::Accepted)
            .unwrap();
        let (mut seal, _) = init.finish(&welcome[2..]).unwrap().split();
        let mut recorded = Vec::new();
        seal.seal_into(b"DIST00000001", &mut recorded).unwrap();
        let (_, mut open) = first.unwrap().split();
        open.open_into(&recorded[2..], &mut Vec::new()).unwrap();

        // The same hello again: the daemon answers with a fresh ephemeral key, and the
        // recorded request no longer decrypts.
        let (_, replay) = Responder::read_hello(&s, &hello)
            .unwrap()
            .answer(Verdict::Accepted)
            .unwrap();
        let (_, mut open) = replay.unwrap().split();
        assert!(open.open_into(&recorded[2..], &mut Vec::new()).is_err());
    }

    #[test]
    fn malformed_handshake_messages() {
        let s = PrivateKey::generate().unwrap();
        assert!(matches!(
            Responder::read_hello(&s, &[0; 10]),
            Err(SecureError::Malformed { what: "hello", .. })
        ));
        assert!(matches!(
            Responder::read_hello(&s, &[0; HELLO_LEN]),
            Err(SecureError::HandshakeAuth(_))
        ));
        let (init, _) = Initiator::start(&s, &s.public()).unwrap();
        assert!(matches!(
            init.finish(&[0; 3]),
            Err(SecureError::Malformed { .. })
        ));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn garbage_hellos_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let s = PrivateKey::from_bytes([9; 32]);
            let _ = Responder::read_hello(&s, &bytes);
        }
    }
}
