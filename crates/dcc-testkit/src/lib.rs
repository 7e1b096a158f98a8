//! dcc-testkit: see docs/ARCHITECTURE.md.
