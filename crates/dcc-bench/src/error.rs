//! The harness's one error type: a benchmark step that could not run or produced a wrong
//! result. A timing is never an error.

/// Why a benchmark step failed.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// A step ran but its outcome was wrong (a build failed, jobs ran locally, a daemon did not
    /// start).
    #[error("{step}: {detail}")]
    Step { step: String, detail: String },
}

pub type Result<T> = std::result::Result<T, BenchError>;

impl BenchError {
    pub fn step(step: impl Into<String>, detail: impl Into<String>) -> BenchError {
        BenchError::Step {
            step: step.into(),
            detail: detail.into(),
        }
    }
}

/// `map_err` adapter naming what was being done: `.map_err(io("write results"))`.
pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BenchError {
    let what = what.into();
    move |source| BenchError::Io { what, source }
}
