//! Counters exposed at `GET /metrics` in the Prometheus text format, on the admin listener
//! only (`admin_listen`, loopback by default), never on the public one.
//!
//! Counters only: rendering reads atomics and queries no backend, so a scrape costs nothing
//! and discloses no count of accounts.

use std::{
    fmt::Write as _,
    sync::Arc,
    sync::atomic::{AtomicU64, Ordering},
};

use axum::{
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};

use crate::app::AppState;

/// The service's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    pub(crate) responses_2xx: AtomicU64,
    pub(crate) responses_3xx: AtomicU64,
    pub(crate) responses_4xx: AtomicU64,
    pub(crate) responses_5xx: AtomicU64,
    pub(crate) login_successes: AtomicU64,
    pub(crate) login_failures: AtomicU64,
    pub(crate) login_locked: AtomicU64,
    pub(crate) token_rejections: AtomicU64,
    pub(crate) rate_limited: AtomicU64,
}

impl Metrics {
    pub(crate) fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn observe(&self, status: u16) {
        Self::inc(match status {
            200..=299 => &self.responses_2xx,
            300..=399 => &self.responses_3xx,
            400..=499 => &self.responses_4xx,
            _ => &self.responses_5xx,
        });
    }

    fn render(&self, audit_dropped: u64) -> String {
        let mut out = String::with_capacity(1024);
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        out.push_str("# HELP secure_api_http_responses_total HTTP responses by status class.\n");
        out.push_str("# TYPE secure_api_http_responses_total counter\n");
        for (class, c) in [
            ("2xx", &self.responses_2xx),
            ("3xx", &self.responses_3xx),
            ("4xx", &self.responses_4xx),
            ("5xx", &self.responses_5xx),
        ] {
            let _ = writeln!(
                out,
                "secure_api_http_responses_total{{class=\"{class}\"}} {}",
                get(c)
            );
        }
        out.push_str("# HELP secure_api_logins_total Login attempts by result.\n");
        out.push_str("# TYPE secure_api_logins_total counter\n");
        for (result, c) in [
            ("success", &self.login_successes),
            ("failure", &self.login_failures),
            ("locked", &self.login_locked),
        ] {
            let _ = writeln!(
                out,
                "secure_api_logins_total{{result=\"{result}\"}} {}",
                get(c)
            );
        }
        for (name, help, c) in [
            (
                "secure_api_token_rejections_total",
                "Bearer tokens refused.",
                &self.token_rejections,
            ),
            (
                "secure_api_rate_limited_total",
                "Requests refused by the rate limit.",
                &self.rate_limited,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                get(c)
            );
        }
        let name = "secure_api_audit_dropped_total";
        let _ = writeln!(
            out,
            "# HELP {name} Audit events dropped because the writer's queue was full (each \
             drop is also counted in an audit.dropped record).\n# TYPE {name} counter\n{name} \
             {audit_dropped}"
        );
        out
    }
}

/// `GET /metrics`.
pub(crate) async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        state.metrics.render(state.audit.dropped()),
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
