//! dcc-client: see docs/ARCHITECTURE.md.
