//! LZO1X-1 (placeholder: being written).
