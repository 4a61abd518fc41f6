//! Sends a fixed number of authenticated `GET /me` through the service in process
//! (`tower::ServiceExt::oneshot`, no sockets), for counting instructions with callgrind:
//! `full` (the served service), `logged` (the same, its request log written through the
//! redacting writer to nowhere, as the throughput bench does) or `bare` (`routes_only` with the
//! claims fixed), and a count.
//!
//! Subtract the counts of two runs to cancel the set-up, with many requests between them: the
//! set-up's own count varies by several million instructions from run to run (the `metrics`
//! exporter's clock calibrates itself in a loop bounded by wall time), so 200 and 10,200
//! requests divide that by 10,000 where 200 and 2,200 would divide it by 2,000.
#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::Request;
use tower::ServiceExt as _;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (which, n): (&str, usize) = (&args[1], args[2].parse().unwrap());
    if which == "logged" {
        tracing::subscriber::set_global_default(secure_api::subscriber(
            palisade_redact::RedactingMakeWriter::new(
                std::io::sink,
                palisade_redact::Redactor::new(),
            ),
        ))
        .unwrap();
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = std::env::temp_dir().join(format!("secure-api-profile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = secure_api::Config {
            database: dir.join("db.sqlite"),
            audit_dir: dir.join("audit"),
            audit_verifier_out: Some(dir.join("audit.verifier")),
            keyring: dir.join("keyring"),
            rate_limit: 10_000_000,
            rate_limit_per_user: 10_000_000,
            ..secure_api::Config::default()
        };
        let secrets = secure_api::Secrets::load(&config.secrets, &BTreeMap::new(), true).unwrap();
        let state = secure_api::build_state(config, &secrets).await.unwrap();
        let full = secure_api::service(state.clone());
        let peer = axum::extract::ConnectInfo(std::net::SocketAddr::from(([127, 0, 0, 1], 40000)));
        let body = r#"{"email":"bench@example.com","password":"correct horse battery staple"}"#;
        let mut token = String::new();
        for path in ["/auth/register", "/auth/login"] {
            let mut req = Request::post(path)
                .header("content-type", "application/json")
                .header("host", "bench")
                .body(Body::from(body))
                .unwrap();
            req.extensions_mut().insert(peer);
            let resp = full.clone().oneshot(req).await.unwrap();
            let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
                .await
                .unwrap();
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes)
                && let Some(t) = v["access_token"].as_str()
            {
                t.clone_into(&mut token);
            }
        }
        assert!(!token.is_empty());
        let claims =
            std::sync::Arc::new(secure_api::UserClaims::new(serde_json::Map::new()).subject("1"));
        let bare = secure_api::routes_only(state)
            .layer(axum::Extension(claims))
            .with_state(());
        let auth = format!("Bearer {token}");
        if which == "bare" {
            get_me(bare, &auth, peer, n).await;
        } else {
            get_me(full, &auth, peer, n).await;
        }
        let _ = std::fs::remove_dir_all(&dir);
    });
}

async fn get_me<S>(
    service: S,
    auth: &str,
    peer: axum::extract::ConnectInfo<std::net::SocketAddr>,
    n: usize,
) where
    S: tower::Service<Request<Body>, Response = axum::response::Response> + Clone,
    S::Error: std::fmt::Debug,
{
    for _ in 0..n {
        let mut req = Request::get("/me")
            .header("host", "bench")
            .header("authorization", auth)
            .body(Body::empty())
            .unwrap();
        req.extensions_mut().insert(peer);
        let resp = service.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), 200);
        let _ = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
    }
}
