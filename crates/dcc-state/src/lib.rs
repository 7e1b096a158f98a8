//! dcc-state: see docs/ARCHITECTURE.md.
