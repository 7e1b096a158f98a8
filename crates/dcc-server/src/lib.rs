//! dcc-server: see docs/ARCHITECTURE.md.
