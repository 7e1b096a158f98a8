//! dcc-hosts: see docs/ARCHITECTURE.md.
