//! dcc-args: see docs/ARCHITECTURE.md.
