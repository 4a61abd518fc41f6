//! Metrics through the `metrics` facade, behind the `metrics` feature; without it every
//! function here is an empty inline one and the crate does not depend on `metrics`.
//!
//! Labels come only from fixed strings and [`ErrorKind::as_str`]: never a token, a subject,
//! a family id, a `jti` or a key id. A store failure is not a verdict about a token, so it is
//! not counted as a verification (its duration still is, per store operation).

use crate::error::ErrorKind;

/// Token verifications: `kind` is `jwt`, `opaque`, `refresh`, `csrf` or `onetime`;
/// `outcome` is `None` for an accepted token, or why it was rejected. An accepted JWT is
/// counted through [`JwtVerifications`]' handle instead.
#[cfg(feature = "metrics")]
pub(crate) fn verification(kind: &'static str, outcome: Option<ErrorKind>) {
    let outcome = outcome.map_or("ok", ErrorKind::as_str);
    metrics::counter!("palisade_token_verifications_total", "kind" => kind, "outcome" => outcome)
        .increment(1);
}

#[cfg(not(feature = "metrics"))]
#[inline]
pub(crate) fn verification(_: &'static str, _: Option<ErrorKind>) {}

/// JWT verifications of a verifier that serves many: the accepted-token counter is looked up
/// in the recorder once, when the verifier is built, not at every accepted token (the lookup
/// hashes the key and takes the registry's lock). Rejections go through [`verification`].
#[cfg(feature = "metrics")]
#[derive(Debug, Clone)]
pub(crate) struct JwtVerifications {
    accepted: metrics::Counter,
}

#[cfg(feature = "metrics")]
impl JwtVerifications {
    /// The handle of the recorder installed now.
    pub(crate) fn new() -> Self {
        Self {
            accepted: metrics::counter!(
                "palisade_token_verifications_total",
                "kind" => "jwt",
                "outcome" => "ok"
            ),
        }
    }

    pub(crate) fn record(&self, outcome: Option<ErrorKind>) {
        match outcome {
            None => self.accepted.increment(1),
            Some(_) => verification("jwt", outcome),
        }
    }
}

#[cfg(not(feature = "metrics"))]
#[derive(Debug, Clone)]
pub(crate) struct JwtVerifications;

#[cfg(not(feature = "metrics"))]
impl JwtVerifications {
    #[inline]
    pub(crate) fn new() -> Self {
        Self
    }

    #[inline]
    #[allow(
        clippy::unused_self,
        reason = "the same call as with the `metrics` feature"
    )]
    pub(crate) fn record(&self, _: Option<ErrorKind>) {}
}

/// A refresh token presented a second time: its family is revoked.
#[cfg(feature = "metrics")]
pub(crate) fn refresh_reuse() {
    metrics::counter!("palisade_token_refresh_reuse_total").increment(1);
    revocation("family");
}

#[cfg(not(feature = "metrics"))]
#[inline]
pub(crate) fn refresh_reuse() {}

/// A revocation took effect: `scope` is `token`, `family` or `subject`.
#[cfg(feature = "metrics")]
pub(crate) fn revocation(scope: &'static str) {
    metrics::counter!("palisade_token_revocations_total", "scope" => scope).increment(1);
}

#[cfg(not(feature = "metrics"))]
#[inline]
pub(crate) fn revocation(_: &'static str) {}

/// Records a store operation's duration when dropped.
#[cfg(feature = "metrics")]
pub(crate) struct StoreTimer {
    backend: &'static str,
    operation: &'static str,
    start: std::time::Instant,
}

#[cfg(feature = "metrics")]
impl Drop for StoreTimer {
    fn drop(&mut self) {
        metrics::histogram!(
            "palisade_token_store_duration_seconds",
            "backend" => self.backend,
            "operation" => self.operation,
        )
        .record(self.start.elapsed().as_secs_f64());
    }
}

/// Times one store operation until the returned guard drops: `backend` is `memory` or
/// `redis`, `operation` the trait method's name.
#[cfg(feature = "metrics")]
pub(crate) fn store_timer(backend: &'static str, operation: &'static str) -> StoreTimer {
    StoreTimer {
        backend,
        operation,
        start: std::time::Instant::now(),
    }
}

#[cfg(not(feature = "metrics"))]
pub(crate) struct StoreTimer;

#[cfg(not(feature = "metrics"))]
#[inline]
pub(crate) fn store_timer(_: &'static str, _: &'static str) -> StoreTimer {
    StoreTimer
}
