//! "a refusal is a `429` problem with `Retry-After` (whole seconds, rounded up)" (README): a
//! fractional wait is rounded up, and the header never says 0 on a refusal, whatever wait the
//! limiter gives.

use std::{net::SocketAddr, time::Duration};

use http::{Request, StatusCode, header};
use palisade_http::{ClientIpLayer, PeerAddr, RateLimitLayer, RateLimiter, Verdict};
use tower::{ServiceBuilder, ServiceExt as _, service_fn};

/// Refuses every request with the same wait.
struct Refuse(Duration);

impl RateLimiter for Refuse {
    async fn check(&self, _key: &str) -> Verdict {
        Verdict::deny(Vec::new(), self.0)
    }
}

async fn retry_after(wait: Duration) -> String {
    let layers = ServiceBuilder::new()
        .layer(ClientIpLayer::new())
        .layer(RateLimitLayer::new(Refuse(wait)));
    let service = layers.service(service_fn(|_: Request<String>| async {
        Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    }));
    let mut request = Request::new(String::new());
    request.extensions_mut().insert(PeerAddr(
        "192.0.2.1:1000".parse::<SocketAddr>().expect("peer"),
    ));
    let response = service.oneshot(request).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    response.headers()[header::RETRY_AFTER]
        .to_str()
        .expect("ASCII")
        .to_owned()
}

#[tokio::test]
async fn retry_after_rounds_a_fractional_wait_up_and_is_never_zero() {
    for (wait, expected) in [
        (Duration::ZERO, "1"),
        (Duration::from_nanos(1), "1"),
        (Duration::from_millis(200), "1"),
        (Duration::from_secs(1), "1"),
        (Duration::from_millis(1_001), "2"),
        (Duration::from_millis(59_001), "60"),
    ] {
        assert_eq!(retry_after(wait).await, expected, "{wait:?}");
    }
}
