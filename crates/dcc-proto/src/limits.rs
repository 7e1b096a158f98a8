//! Bounds on everything a peer can make us allocate. Every length from the wire is checked
//! against these before a byte is buffered.

/// Limits for decoding one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most `ARGV` entries (`ARGC`).
    pub max_argc: u32,
    /// Longest single string (`ARGV`, `CDIR`, `NAME`, `LINK`). Linux's MAX_ARG_STRLEN is 128 KiB.
    pub max_string: u32,
    /// Sum of all `ARGV` lengths. Linux's default ARG_MAX is 2 MiB.
    pub max_argv_total: u64,
    /// Longest bulk body on the wire (`DOTI`, `FILE`, `SERR`, `SOUT`, `DOTO`, `DOTD`).
    pub max_body: u32,
    /// Largest body after decompression.
    pub max_decompressed: usize,
    /// Most files in a protocol-3 request (`NFIL`).
    pub max_files: u32,
    /// Sum of all bodies of one message after decompression.
    pub max_total: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_argc: 16_384,
            max_string: 128 * 1024,
            max_argv_total: 2 * 1024 * 1024,
            max_body: 512 * 1024 * 1024,
            max_decompressed: 1024 * 1024 * 1024,
            max_files: 100_000,
            max_total: 2 * 1024 * 1024 * 1024,
        }
    }
}
