//! Environment access behind a trait (the idea of linkerd2-proxy's `app/src/env.rs`): binaries
//! read the real environment once, parse it into typed configuration, and tests hand in a map.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};

/// A source of environment variables.
pub trait Env {
    /// The raw value, if set (set-but-empty is `Some("")`, which distcc distinguishes).
    fn var_os(&self, name: &str) -> Option<OsString>;

    /// The value as UTF-8 text, if set and valid.
    fn var(&self, name: &str) -> Option<String> {
        self.var_os(name).and_then(|v| v.into_string().ok())
    }

    /// distcc's `dcc_getenv_bool`: exactly "1" is true and "0" is false; anything else, or unset,
    /// is the default.
    fn bool_or(&self, name: &str, default: bool) -> bool {
        match self.var_os(name).as_deref().map(OsStr::as_encoded_bytes) {
            Some(b"1") => true,
            Some(b"0") => false,
            _ => default,
        }
    }

    /// True when the variable is set at all, whatever its value (`DISTCC_SKIP_LOCAL_RETRY`).
    fn is_set(&self, name: &str) -> bool {
        self.var_os(name).is_some()
    }
}

/// The real process environment.
#[derive(Debug, Default, Clone, Copy)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var_os(&self, name: &str) -> Option<OsString> {
        std::env::var_os(name)
    }
}

/// A fixed map, for tests.
#[derive(Debug, Default, Clone)]
pub struct MapEnv(pub HashMap<String, OsString>);

impl MapEnv {
    pub fn new() -> Self {
        Self::default()
    }

    /// Builder-style insert.
    pub fn with(mut self, name: &str, value: impl Into<OsString>) -> Self {
        self.0.insert(name.to_owned(), value.into());
        self
    }
}

impl Env for MapEnv {
    fn var_os(&self, name: &str) -> Option<OsString> {
        self.0.get(name).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bool_follows_dcc_getenv_bool() {
        let env = MapEnv::new()
            .with("ONE", "1")
            .with("ZERO", "0")
            .with("YES", "yes")
            .with("EMPTY", "");
        assert!(env.bool_or("ONE", false));
        assert!(!env.bool_or("ZERO", true));
        assert!(env.bool_or("YES", true));
        assert!(!env.bool_or("YES", false));
        assert!(!env.bool_or("EMPTY", false));
        assert!(env.bool_or("UNSET", true));
        assert!(env.is_set("EMPTY"));
        assert!(!env.is_set("UNSET"));
    }
}
