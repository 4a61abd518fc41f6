//! The error a shared store reports when it gives no answer.

/// Why the shared store gave no decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackendErrorKind {
    /// The server could not be reached or the connection broke.
    Unavailable,
    /// No answer within the configured timeout.
    Timeout,
    /// The server answered with an error or an unexpected reply.
    Protocol,
}

/// The shared store gave no decision. Details go to logs through [`kind`](Self::kind).
#[derive(Debug, Clone, thiserror::Error)]
#[error("the rate-limit store is unavailable")]
pub struct BackendError {
    kind: BackendErrorKind,
}

impl BackendError {
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn new(kind: BackendErrorKind) -> Self {
        Self { kind }
    }

    /// What went wrong, for logs and metrics.
    pub fn kind(&self) -> BackendErrorKind {
        self.kind
    }
}
