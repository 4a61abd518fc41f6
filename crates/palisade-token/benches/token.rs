//! Signing and verifying per algorithm, against raw `jsonwebtoken` doing the same work with
//! keys built once (`EncodingKey`/`DecodingKey`) and a `Validation` configured for the same
//! checks (algorithm, `exp` required, `nbf`, issuer, audience). Also opaque-token hashing and
//! CSRF verification, which have no baseline of their own here.
//!
//! With `jwks-remote`, `jwt_verify_remote_jwks` compares verifying through the remote JWKS
//! cache with verifying against a plain `KeySet` (`keyset`).
//!
//! With `metrics`, `jwt_verify_metrics` compares verifying with a recorder installed
//! (`metrics-util`'s debugging recorder, which locks a map on every update: an upper bound for
//! an exporter's cost) against the same build with none (`no_recorder`). The cost of the
//! feature itself is `jwt_verify/*/palisade` in a build with it against one without.
//!
//! In every group the function named `palisade` is the subject; `cargo xtask bench` reports
//! `palisade / baseline` for every other function.
//!
//! `jwt-simple` is benchmarked in `benches/peers` (a workspace of its own): every build of it
//! depends, through `superboring`, on the `rsa` crate, which carries `RUSTSEC-2023-0071`, and
//! `cargo deny` refuses that even for a dev-dependency. Its groups carry the same names.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use palisade_token::clock::ManualClock;
use palisade_token::csrf::CsrfTokens;
use palisade_token::jwt::{Algorithm, Issuer, KeySet, SigningKey, Verifier, VerifyingKey};
use palisade_token::opaque::{OpaqueTokens, Purpose};
use serde_json::{Value, json};

const NOW: u64 = 1_800_000_000;

fn key_file(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors/keys")
        .join(name);
    std::fs::read(path).expect("committed test key")
}

fn hex_secret(name: &str) -> Vec<u8> {
    let text = String::from_utf8(key_file(name)).expect("hex");
    let text = text.trim();
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

struct Keys {
    ours_sign: SigningKey,
    ours_verify: VerifyingKey,
    jwt_encode: jsonwebtoken::EncodingKey,
    jwt_decode: jsonwebtoken::DecodingKey,
}

fn keys(alg: Algorithm) -> Keys {
    let (private, public) = match alg {
        Algorithm::HS256 => {
            let s = hex_secret("hs256.hex");
            return Keys {
                ours_sign: SigningKey::hmac(alg, &s).expect("key"),
                ours_verify: VerifyingKey::hmac(alg, &s).expect("key"),
                jwt_encode: jsonwebtoken::EncodingKey::from_secret(&s),
                jwt_decode: jsonwebtoken::DecodingKey::from_secret(&s),
            };
        }
        Algorithm::RS256 | Algorithm::PS256 => ("rsa_private.pem", "rsa_public.pem"),
        Algorithm::ES256 => ("ec_private.pem", "ec_public.pem"),
        _ => ("ed25519_private.pem", "ed25519_public.pem"),
    };
    let (private, public) = (key_file(private), key_file(public));
    let (jwt_encode, jwt_decode) = match alg {
        Algorithm::RS256 | Algorithm::PS256 => (
            jsonwebtoken::EncodingKey::from_rsa_pem(&private).expect("key"),
            jsonwebtoken::DecodingKey::from_rsa_pem(&public).expect("key"),
        ),
        Algorithm::ES256 => (
            jsonwebtoken::EncodingKey::from_ec_pem(&private).expect("key"),
            jsonwebtoken::DecodingKey::from_ec_pem(&public).expect("key"),
        ),
        _ => (
            jsonwebtoken::EncodingKey::from_ed_pem(&private).expect("key"),
            jsonwebtoken::DecodingKey::from_ed_pem(&public).expect("key"),
        ),
    };
    Keys {
        ours_sign: SigningKey::from_pem(alg, &private).expect("key"),
        ours_verify: VerifyingKey::from_pem(alg, &public).expect("key"),
        jwt_encode,
        jwt_decode,
    }
}

fn jwt_alg(alg: Algorithm) -> jsonwebtoken::Algorithm {
    alg.as_str().parse().expect("same names")
}

fn payload() -> Value {
    json!({
        "iss": "https://auth.example",
        "aud": "orders-api",
        "sub": "user-1234",
        "iat": NOW,
        "nbf": NOW,
        "exp": NOW + 900,
        "jti": "0123456789abcdef0123456789abcdef",
        "scope": "orders:read orders:write",
    })
}

fn bench_jwt(c: &mut Criterion) {
    for alg in [
        Algorithm::HS256,
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::EdDSA,
    ] {
        let k = keys(alg);
        let clock = Arc::new(ManualClock::new(NOW));
        let issuer = Issuer::new(KeySet::single(k.ours_sign))
            .expect("signer")
            .clock(clock.clone());
        let verifier = Verifier::new(KeySet::verify_only(k.ours_verify))
            .issuer("https://auth.example")
            .audience("orders-api")
            .clock(clock);
        let claims = payload();
        let mut header = jsonwebtoken::Header::new(jwt_alg(alg));
        header.typ = Some("JWT".to_owned());

        let mut group = c.benchmark_group(format!("jwt_sign/{alg}"));
        group.throughput(Throughput::Elements(1));
        group.bench_function("palisade", |b| {
            b.iter(|| issuer.sign_value(black_box(&claims)).expect("sign"));
        });
        group.bench_function("jsonwebtoken", |b| {
            b.iter(|| {
                jsonwebtoken::encode(&header, black_box(&claims), &k.jwt_encode).expect("sign")
            });
        });
        group.finish();

        let token = issuer.sign_value(&claims).expect("sign");
        // jsonwebtoken reads the real clock: the same token with exp far ahead keeps its check
        // meaningful without a clock to inject.
        let far = {
            let mut p = claims.clone();
            p["exp"] = json!(4_000_000_000_u64);
            p["nbf"] = json!(1_000_000_000_u64);
            p["iat"] = json!(1_000_000_000_u64);
            issuer.sign_value(&p).expect("sign")
        };
        let mut validation = jsonwebtoken::Validation::new(jwt_alg(alg));
        validation.set_issuer(&["https://auth.example"]);
        validation.set_audience(&["orders-api"]);
        validation.set_required_spec_claims(&["exp"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        assert!(verifier.verify_json(&token).is_ok());
        assert!(jsonwebtoken::decode::<Value>(&far, &k.jwt_decode, &validation).is_ok());

        let mut group = c.benchmark_group(format!("jwt_verify/{alg}"));
        group.throughput(Throughput::Elements(1));
        group.bench_function("palisade", |b| {
            b.iter(|| verifier.verify_json(black_box(&token)).expect("verify"));
        });
        group.bench_function("jsonwebtoken", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<Value>(black_box(&far), &k.jwt_decode, &validation)
                    .expect("verify")
            });
        });
        group.finish();
    }
}

#[cfg(feature = "metrics")]
fn bench_metrics(c: &mut Criterion) {
    for alg in [Algorithm::HS256, Algorithm::ES256] {
        let k = keys(alg);
        let clock = Arc::new(ManualClock::new(NOW));
        let issuer = Issuer::new(KeySet::single(k.ours_sign))
            .expect("signer")
            .clock(clock.clone());
        let keys = Arc::new(KeySet::verify_only(k.ours_verify));
        let build = || {
            Verifier::new(keys.clone())
                .issuer("https://auth.example")
                .audience("orders-api")
                .clock(clock.clone())
        };
        let verifier = build();
        let token = issuer.sign_value(&payload()).expect("sign");
        assert!(verifier.verify_json(&token).is_ok());
        let recorder = metrics_util::debugging::DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        // Built under the recorder, as a service builds it after installing its exporter:
        // the verifier takes its handle on the accepted-token counter then.
        let counted = metrics::with_local_recorder(&recorder, build);
        assert!(counted.verify_json(&token).is_ok());
        let accepted = snapshotter.snapshot().into_vec().into_iter().any(
            |(.., value)| matches!(value, metrics_util::debugging::DebugValue::Counter(n) if n > 0),
        );
        assert!(accepted, "the accepted token was counted in the recorder");
        let mut group = c.benchmark_group(format!("jwt_verify_metrics/{alg}"));
        group.throughput(Throughput::Elements(1));
        group.bench_function("palisade", |b| {
            metrics::with_local_recorder(&recorder, || {
                b.iter(|| counted.verify_json(black_box(&token)).expect("verify"));
            });
        });
        group.bench_function("no_recorder", |b| {
            b.iter(|| verifier.verify_json(black_box(&token)).expect("verify"));
        });
        group.finish();
    }
}

fn bench_opaque(c: &mut Criterion) {
    let tokens = OpaqueTokens::new(&[1; 32]).expect("key");
    let issued = tokens.issue(Purpose::ApiKey);
    let verifier = issued.hash().verifier();
    let mut group = c.benchmark_group("opaque_api_key_verify");
    group.throughput(Throughput::Elements(1));
    group.bench_function("palisade", |b| {
        b.iter(|| {
            tokens
                .verify_api_key(black_box(issued.token()), &verifier, None, NOW)
                .expect("valid");
        });
    });
    group.finish();

    let csrf = CsrfTokens::new(&[2; 32]).expect("key");
    let token = csrf.issue("session-1");
    let mut group = c.benchmark_group("csrf_verify");
    group.throughput(Throughput::Elements(1));
    group.bench_function("palisade", |b| {
        b.iter(|| {
            csrf.verify("session-1", black_box(&token), &token)
                .expect("valid");
        });
    });
    group.finish();
}

/// Verification through a `RemoteVerifier` whose JWKS is cached (fetched once from a local
/// HTTPS server, never expiring on the bench's clock) against a `Verifier` on a plain
/// `KeySet` holding the same key: the cost of the remote set's cache lookup.
#[cfg(feature = "jwks-remote")]
fn bench_remote_jwks(c: &mut Criterion) {
    use palisade_token::jwt::{RemoteJwks, RemoteVerifier};

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let alg = Algorithm::EdDSA;
    let signing = || {
        SigningKey::from_pem(alg, &key_file("ed25519_private.pem"))
            .expect("key")
            .with_kid("k1")
            .expect("kid")
    };
    let clock = Arc::new(ManualClock::new(NOW));
    let issuer = Issuer::new(KeySet::single(signing()))
        .expect("signer")
        .clock(clock.clone());
    let token = issuer.sign_value(&payload()).expect("sign");
    let settings = |keys: KeySet| {
        Verifier::new(keys)
            .issuer("https://auth.example")
            .audience("orders-api")
            .clock(clock.clone())
    };
    let local = settings(KeySet::verify_only(signing().verifying_key()));

    let pki = https_server::Pki::new("bench");
    let jwks_doc = KeySet::single(signing()).to_jwks().to_string();
    let server = rt.block_on(https_server::Server::https(
        &pki,
        https_server::Reply::jwks(jwks_doc).max_age(3600),
    ));
    let jwks = RemoteJwks::builder(server.url())
        .root_certificates_pem(pki.ca_pem.as_bytes())
        .expect("CA")
        .clock(clock.clone())
        .build()
        .expect("client");
    let remote = RemoteVerifier::new(jwks, settings(KeySet::new()));
    rt.block_on(remote.verify_json(&token))
        .expect("first fetch");
    assert!(local.verify_json(&token).is_ok());

    let mut group = c.benchmark_group(format!("jwt_verify_remote_jwks/{alg}"));
    group.throughput(Throughput::Elements(1));
    group.bench_function("palisade", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = std::time::Instant::now();
                for _ in 0..iters {
                    black_box(remote.verify_json(black_box(&token)).await.expect("verify"));
                }
                start.elapsed()
            })
        });
    });
    group.bench_function("keyset", |b| {
        b.iter(|| local.verify_json(black_box(&token)).expect("verify"));
    });
    group.finish();
    assert_eq!(server.hits(), 1, "every verification used the cache");
}

#[cfg(feature = "jwks-remote")]
#[path = "../tests/common/https_server.rs"]
mod https_server;

#[cfg(not(any(feature = "jwks-remote", feature = "metrics")))]
criterion_group!(benches, bench_jwt, bench_opaque);
#[cfg(all(feature = "metrics", not(feature = "jwks-remote")))]
criterion_group!(benches, bench_jwt, bench_opaque, bench_metrics);
#[cfg(all(feature = "jwks-remote", not(feature = "metrics")))]
criterion_group!(benches, bench_jwt, bench_opaque, bench_remote_jwks);
#[cfg(all(feature = "jwks-remote", feature = "metrics"))]
criterion_group!(
    benches,
    bench_jwt,
    bench_opaque,
    bench_remote_jwks,
    bench_metrics
);
criterion_main!(benches);
