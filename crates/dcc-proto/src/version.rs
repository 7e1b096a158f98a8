//! Protocol versions and what they imply (distcc src/hosts.c `dcc_get_features_from_protover`).
//!
//! | wire value | compression | preprocessing |
//! |---|---|---|
//! | 0 (accepted as 1, echoed as 0 in `DONE`) and 1 | none | client |
//! | 2 | LZO1X | client |
//! | 3 | LZO1X | server (pump) |
//! | 0x102 (ours) | zstd | client |
//! | 0x103 (ours) | zstd | server (pump) |
//!
//! The 0x100 bit is a distcc-rs extension (see docs/PROTOCOL.md). A distcc 3.4 daemon rejects
//! those values ("can't handle requested protocol version"), closes the connection, and the
//! client falls back exactly as for any failed host, so a `,zstd` host that turns out to be a
//! plain distccd costs one failed attempt, never a wrong result.

use crate::ProtoError;

/// How bulk bodies are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    None,
    Lzo,
    Zstd,
}

/// Bit marking our zstd variants of protocols 2 and 3.
pub const ZSTD_FLAG: u32 = 0x100;

/// A protocol version as negotiated by the request's `DIST` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Protocol {
    /// The exact value the client sent; the reply's `DONE` echoes it.
    pub wire: u32,
    pub compression: Compression,
    /// Protocol 3: the client sends the source tree, the server preprocesses.
    pub pump: bool,
}

impl Protocol {
    pub const V1: Protocol = Protocol {
        wire: 1,
        compression: Compression::None,
        pump: false,
    };
    pub const V2: Protocol = Protocol {
        wire: 2,
        compression: Compression::Lzo,
        pump: false,
    };
    pub const V3: Protocol = Protocol {
        wire: 3,
        compression: Compression::Lzo,
        pump: true,
    };
    pub const ZSTD: Protocol = Protocol {
        wire: ZSTD_FLAG | 2,
        compression: Compression::Zstd,
        pump: false,
    };
    pub const ZSTD_PUMP: Protocol = Protocol {
        wire: ZSTD_FLAG | 3,
        compression: Compression::Zstd,
        pump: true,
    };

    /// Interpret a `DIST` value. distcc's server treats 0 as 1 and rejects anything above 3.
    pub fn from_wire(wire: u32) -> Result<Protocol, ProtoError> {
        Ok(match wire {
            0 => Protocol {
                wire: 0,
                ..Self::V1
            },
            1 => Self::V1,
            2 => Self::V2,
            3 => Self::V3,
            w if w == Self::ZSTD.wire => Self::ZSTD,
            w if w == Self::ZSTD_PUMP.wire => Self::ZSTD_PUMP,
            crate::cas::CAS_WIRE => crate::cas::PROTOCOL,
            other => return Err(ProtoError::UnsupportedVersion(other)),
        })
    }

    /// The version a client asks for, given the host's options.
    pub fn for_host(compression: Compression, pump: bool) -> Protocol {
        match (compression, pump) {
            (Compression::None, _) => Self::V1,
            (Compression::Lzo, false) => Self::V2,
            (Compression::Lzo, true) => Self::V3,
            (Compression::Zstd, false) => Self::ZSTD,
            (Compression::Zstd, true) => Self::ZSTD_PUMP,
        }
    }

    /// Whether this is our content-addressed extension ([`crate::cas`]): after `ARGV` the
    /// request goes on with `MNFT`, not `NFIL`.
    pub fn is_cas(&self) -> bool {
        self.wire == crate::cas::CAS_WIRE
    }

    /// Whether this is one of distcc's own versions (0-3), which every distccd understands.
    pub fn is_distcc(&self) -> bool {
        self.wire <= 3
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_map_as_distcc() {
        assert_eq!(Protocol::from_wire(0).unwrap().wire, 0);
        assert_eq!(
            Protocol::from_wire(0).unwrap().compression,
            Compression::None
        );
        assert_eq!(Protocol::from_wire(2).unwrap(), Protocol::V2);
        assert!(Protocol::from_wire(3).unwrap().pump);
        assert_eq!(
            Protocol::from_wire(4),
            Err(ProtoError::UnsupportedVersion(4))
        );
        assert_eq!(Protocol::from_wire(0x102).unwrap(), Protocol::ZSTD);
        assert_eq!(Protocol::for_host(Compression::Lzo, true), Protocol::V3);
        assert!(!Protocol::ZSTD.is_distcc());
        assert!(Protocol::from_wire(0x303).unwrap().is_cas());
        assert!(!Protocol::ZSTD_PUMP.is_cas());
    }
}
