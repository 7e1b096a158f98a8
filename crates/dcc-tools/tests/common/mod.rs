//! Shared by this crate's integration tests.

/// Fail with an install hint when a tool is missing.
pub fn require(tool: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).exists()))
        .unwrap_or(false);
    assert!(
        found,
        "{tool} is missing: install it with `apt-get install -y {package}`"
    );
}
