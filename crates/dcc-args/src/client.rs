//! Client-side argument analysis (being written).
