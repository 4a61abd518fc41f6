//! The layers' counters through the [`metrics`](https://docs.rs/metrics) facade, behind the
//! `metrics` feature. Every label value is a `&'static str` from a closed set named here or in
//! the layer: never a path, an address, a token, a user or a reason a trait implementation
//! wrote.

/// Counts one request a layer refused: `palisade_http_refusals_total{layer, reason}`.
#[inline]
pub(crate) fn refusal(layer: &'static str, reason: &'static str) {
    #[cfg(feature = "metrics")]
    ::metrics::counter!("palisade_http_refusals_total", "layer" => layer, "reason" => reason)
        .increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = (layer, reason);
}

/// Counts one server error [`SanitizeErrorsLayer`](crate::SanitizeErrorsLayer) hid from the
/// client: `palisade_http_server_errors_total{source}`, `source` being `response` (the inner
/// service answered 5xx, a caught panic included) or `error` (it failed).
#[inline]
pub(crate) fn server_error(source: &'static str) {
    #[cfg(feature = "metrics")]
    ::metrics::counter!("palisade_http_server_errors_total", "source" => source).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = source;
}

/// The `reason` label of a bearer token the verifier refused: its kind says why in the logs
/// and the audit record, but a [`TokenVerifier`](crate::TokenVerifier) may write any text, so
/// the label only tells a revocation store outage from every other refusal. palisade-token's
/// own `palisade_token_verifications_total{outcome}` counts why a token was refused.
pub(crate) fn bearer_rejection(kind: &str) -> &'static str {
    match kind {
        "revocation_unavailable" => "revocation_unavailable",
        _ => "rejected",
    }
}

/// The `reason` label of a CSRF refusal: the layer's own reasons and those of palisade-token's
/// [`TokenCsrf`](crate::TokenCsrf) as they are; any other reason a
/// [`CsrfCheck`](crate::CsrfCheck) gives for a cross-site request is `origin_refused`.
pub(crate) fn csrf_reason(reason: &str) -> &'static str {
    match reason {
        "ambiguous_session_cookie" => "ambiguous_session_cookie",
        "malformed_token" => "malformed_token",
        "missing_token" => "missing_token",
        "duplicate_token" => "duplicate_token",
        "missing_token_cookie" => "missing_token_cookie",
        "bad_token" => "bad_token",
        "cross_site" => "cross_site",
        "origin_undecided" => "origin_undecided",
        _ => "origin_refused",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_written_by_trait_implementations_fold_into_one_label() {
        assert_eq!(bearer_rejection("expired"), "rejected");
        assert_eq!(bearer_rejection("user alice, token abc"), "rejected");
        assert_eq!(
            bearer_rejection("revocation_unavailable"),
            "revocation_unavailable"
        );
        assert_eq!(csrf_reason("bad_token"), "bad_token");
        assert_eq!(csrf_reason("cross_site"), "cross_site");
        assert_eq!(csrf_reason("evil.example sent it"), "origin_refused");
    }
}
