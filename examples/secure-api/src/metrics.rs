//! Metrics exposed at `GET /metrics` in the Prometheus text format, on the admin listener
//! only (`admin_listen`, loopback by default), never on the public one.
//!
//! Everything goes through the `metrics` facade: the service's own counters
//! (`secure_api_*`) and those of the palisade crates it enables the `metrics` feature of
//! (`palisade_ratelimit_*`, `palisade_redact_*`, `palisade_sanitize_*`). The facade's
//! recorder is `metrics-exporter-prometheus`'s, without its HTTP listener: the admin route
//! renders the recorder's handle. The names and labels are catalogued in `docs/metrics.md`.
//!
//! The recorder is process-global: [`exporter`] installs it once, and every service started
//! in the same process shares it, so their counters add up (a test that starts several
//! services in one process compares counts before and after, never absolute values). A
//! scrape renders atomics and queries no backend, so it costs little and discloses no count
//! of accounts. Labels come only from closed sets; no user, address or token is ever one.

use std::sync::{Arc, OnceLock};

use axum::{
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use metrics::Counter;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::app::AppState;

/// Histogram buckets, in seconds, for every `*_seconds` metric: from a Redis round trip on
/// loopback (sub-millisecond) to a password hash under load (seconds).
const SECONDS_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// The process's Prometheus recorder, installed as the facade's global recorder on first
/// call. If the embedding program installed another recorder first, that one keeps the
/// metrics and this handle renders none of them (logged once).
pub fn exporter() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        // The buckets are a non-empty constant, so this never falls back to summaries.
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &SECONDS_BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!(
                target: "secure_api::metrics",
                "another metrics recorder is installed; GET /metrics renders nothing"
            );
        }
        describe();
        handle
    })
}

/// `# HELP` lines for the service's own counters.
fn describe() {
    metrics::describe_counter!(
        "secure_api_http_responses_total",
        "HTTP responses by status class."
    );
    metrics::describe_counter!("secure_api_logins_total", "Login attempts by result.");
    metrics::describe_counter!(
        "secure_api_token_rejections_total",
        "Bearer tokens refused."
    );
    metrics::describe_counter!(
        "secure_api_rate_limited_total",
        "Requests refused by the rate limit."
    );
    metrics::describe_counter!(
        "secure_api_audit_dropped_total",
        "Audit events dropped because the writer's queue was full (each drop is also counted \
         in an audit.dropped record)."
    );
}

/// The service's counters, registered with the recorder when the state is built so every
/// series is rendered from the first scrape on, at 0.
#[derive(Debug)]
pub struct Metrics {
    pub(crate) responses_2xx: Counter,
    pub(crate) responses_3xx: Counter,
    pub(crate) responses_4xx: Counter,
    pub(crate) responses_5xx: Counter,
    pub(crate) login_successes: Counter,
    pub(crate) login_failures: Counter,
    pub(crate) login_locked: Counter,
    pub(crate) token_rejections: Counter,
    pub(crate) rate_limited: Counter,
    audit_dropped: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Installs the recorder if no service of this process has, and registers the counters.
    pub fn new() -> Self {
        exporter();
        let responses = |class: &'static str| metrics::counter!("secure_api_http_responses_total", "class" => class);
        let logins =
            |result: &'static str| metrics::counter!("secure_api_logins_total", "result" => result);
        Self {
            responses_2xx: responses("2xx"),
            responses_3xx: responses("3xx"),
            responses_4xx: responses("4xx"),
            responses_5xx: responses("5xx"),
            login_successes: logins("success"),
            login_failures: logins("failure"),
            login_locked: logins("locked"),
            token_rejections: metrics::counter!("secure_api_token_rejections_total"),
            rate_limited: metrics::counter!("secure_api_rate_limited_total"),
            audit_dropped: metrics::counter!("secure_api_audit_dropped_total"),
        }
    }

    pub(crate) fn inc(counter: &Counter) {
        counter.increment(1);
    }

    pub(crate) fn observe(&self, status: u16) {
        Self::inc(match status {
            200..=299 => &self.responses_2xx,
            300..=399 => &self.responses_3xx,
            400..=499 => &self.responses_4xx,
            _ => &self.responses_5xx,
        });
    }
}

/// `GET /metrics`.
pub(crate) async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    // The audit writer keeps its own count of drops; the counter follows it.
    state.metrics.audit_dropped.absolute(state.audit.dropped());
    // The keyring's rotation state, read from its file off the async workers.
    let for_gauges = state.clone();
    let _ = tokio::task::spawn_blocking(move || {
        for_gauges
            .crypto
            .record_rotation_metrics(for_gauges.config.key_rotation_days);
    })
    .await;
    let handle = exporter();
    handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        handle.render(),
    )
        .into_response()
}

/// The admin listener's routes: `GET /metrics` and nothing else (every other path is a 404).
pub fn admin_router(state: Arc<AppState>) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(metrics))
        .with_state(state)
}

/// Serves [`admin_router`] on `listener` until the process ends; a failure is logged.
pub async fn serve_admin(state: Arc<AppState>, listener: tokio::net::TcpListener) {
    if let Err(e) = axum::serve(listener, admin_router(state)).await {
        tracing::error!(target: "secure_api::admin", error = %e, "admin listener stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::{Metrics, exporter};

    fn rejections() -> u64 {
        exporter()
            .render()
            .lines()
            .find_map(|l| l.strip_prefix("secure_api_token_rejections_total "))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// Two services built in one process share the one recorder: each sees the other's
    /// counts, so tests compare before and after.
    #[test]
    fn services_in_one_process_share_one_recorder() {
        let first = Metrics::new();
        let second = Metrics::new();
        assert!(std::ptr::eq(exporter(), exporter()), "installed once");
        let before = rejections();
        Metrics::inc(&first.token_rejections);
        Metrics::inc(&second.token_rejections);
        assert!(rejections() >= before + 2);
    }
}
