//! dcc-monitor: see docs/ARCHITECTURE.md.
