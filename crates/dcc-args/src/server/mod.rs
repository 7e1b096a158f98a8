//! Server-side argument vetting and rewriting (being written).
