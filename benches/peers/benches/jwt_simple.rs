//! `jwt-simple` signing and verifying the same access token with the same committed test keys
//! as palisade-token's `benches/token.rs`. The groups carry the same names, so `cargo xtask
//! bench` lists `jwt-simple` as one more baseline of `jwt_sign/ALG` and `jwt_verify/ALG`.

use std::{collections::HashSet, hint::black_box, path::PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jwt_simple::prelude::*;
use serde::{Deserialize, Serialize};

/// The claims palisade-token's bench signs besides the registered ones.
#[derive(Serialize, Deserialize)]
struct Access {
    scope: String,
}

fn key_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/palisade-token/tests/vectors/keys")
        .join(name);
    std::fs::read_to_string(path).expect("committed test key")
}

fn hs256_secret() -> Vec<u8> {
    let text = key_file("hs256.hex");
    let text = text.trim();
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

fn claims() -> JWTClaims<Access> {
    Claims::with_custom_claims(
        Access {
            scope: "orders:read orders:write".to_owned(),
        },
        Duration::from_secs(900),
    )
    .with_issuer("https://auth.example")
    .with_audience("orders-api")
    .with_subject("user-1234")
    .with_jwt_id("0123456789abcdef0123456789abcdef")
}

fn options() -> VerificationOptions {
    VerificationOptions {
        allowed_issuers: Some(HashSet::from(["https://auth.example".to_owned()])),
        allowed_audiences: Some(HashSet::from(["orders-api".to_owned()])),
        time_tolerance: Some(Duration::from_secs(30)),
        ..VerificationOptions::default()
    }
}

/// Signs (`sign`, or `authenticate` for HMAC keys) and verifies with one algorithm's keys.
macro_rules! pair {
    ($c:expr, $alg:literal, $sign:expr, $method:ident, $verify:expr) => {{
        let sign = $sign;
        let verify = $verify;
        let mut group = $c.benchmark_group(concat!("jwt_sign/", $alg));
        group.throughput(Throughput::Elements(1));
        group.bench_function("jwt-simple", |b| {
            b.iter(|| sign.$method(black_box(claims())).expect("sign"));
        });
        group.finish();
        let token = sign.$method(claims()).expect("sign");
        let opts = options();
        verify
            .verify_token::<Access>(&token, Some(opts.clone()))
            .expect("valid");
        let mut group = $c.benchmark_group(concat!("jwt_verify/", $alg));
        group.throughput(Throughput::Elements(1));
        group.bench_function("jwt-simple", |b| {
            b.iter(|| {
                verify
                    .verify_token::<Access>(black_box(&token), Some(opts.clone()))
                    .expect("valid")
            });
        });
        group.finish();
    }};
}

fn bench(c: &mut Criterion) {
    let hs = HS256Key::from_bytes(&hs256_secret());
    pair!(c, "HS256", hs.clone(), authenticate, hs);
    let rs = RS256KeyPair::from_pem(&key_file("rsa_private.pem")).expect("key");
    let rs_public = RS256PublicKey::from_pem(&key_file("rsa_public.pem")).expect("key");
    pair!(c, "RS256", rs, sign, rs_public);
    let ps = PS256KeyPair::from_pem(&key_file("rsa_private.pem")).expect("key");
    let ps_public = PS256PublicKey::from_pem(&key_file("rsa_public.pem")).expect("key");
    pair!(c, "PS256", ps, sign, ps_public);
    let es = ES256KeyPair::from_pem(&key_file("ec_private.pem")).expect("key");
    let es_public = ES256PublicKey::from_pem(&key_file("ec_public.pem")).expect("key");
    pair!(c, "ES256", es, sign, es_public);
    let ed = Ed25519KeyPair::from_pem(&key_file("ed25519_private.pem")).expect("key");
    let ed_public = Ed25519PublicKey::from_pem(&key_file("ed25519_public.pem")).expect("key");
    pair!(c, "EdDSA", ed, sign, ed_public);
}

criterion_group!(benches, bench);
criterion_main!(benches);
