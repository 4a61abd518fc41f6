//! The `metrics` feature: names, kinds and labels after real operations, each rejection
//! reason the attack suite provokes, and a bounded number of series under hostile input.
#![cfg(feature = "metrics")]
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::{sync::Arc, time::Duration};

use common::{NOW, SECRET, forge_hs256};
use palisade_testkit::metrics::{Series, assert_bounded, capture, counter, histogram_len};
use palisade_token::{
    ErrorKind, ExposeSecret as _,
    clock::ManualClock,
    csrf::CsrfTokens,
    jwt::{Algorithm, CachedVerifier, KeySet, SigningKey, Verifier},
    onetime::OneTimeTokens,
    opaque::{OpaqueTokens, Purpose},
    refresh::{RefreshPolicy, RefreshTokens},
    revocation::RevocationList,
    store::MemoryStore,
};

fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn verifier() -> Verifier {
    Verifier::new(KeySet::single(
        SigningKey::hmac(Algorithm::HS256, SECRET).unwrap(),
    ))
    .clock(Arc::new(ManualClock::new(NOW)))
}

const KEY: &[u8] = b"metrics test server key, 32 b...";

/// `palisade_token_verifications_total` for one kind of token and one outcome.
fn verification_count(series: &Series, kind: &str, outcome: &str) -> u64 {
    counter(
        series,
        &format!("palisade_token_verifications_total{{kind={kind},outcome={outcome}}}"),
    )
}

/// `alice`'s claims, expiring ten minutes after `NOW`.
fn alice() -> String {
    format!(r#"{{"sub":"alice","exp":{}}}"#, NOW + 600)
}

/// An HS256 token of [`alice`] signed with `key`.
fn alice_token(key: &[u8]) -> String {
    forge_hs256(r#"{"alg":"HS256"}"#, &alice(), key)
}

#[test]
fn jwt_verifications_are_counted_by_rejection_reason() {
    let b64 = |s: &str| common::b64(s.as_bytes());
    let payload = alice();
    let good = alice_token(SECRET);
    let forged = alice_token(b"the attacker's guess at a key!!!!");
    let none = format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64(&payload));
    let expired = forge_hs256(
        r#"{"alg":"HS256"}"#,
        &format!(r#"{{"sub":"alice","exp":{}}}"#, NOW - 3600),
        SECRET,
    );
    let series = capture(|| {
        let v = verifier();
        assert!(v.verify_json(&good).is_ok());
        let kind = |t: &str| v.verify_json(t).unwrap_err().kind();
        assert_eq!(kind(&forged), ErrorKind::BadSignature);
        assert_eq!(kind(&forged), ErrorKind::BadSignature);
        assert_eq!(kind(&none), ErrorKind::AlgNone);
        assert_eq!(kind(&expired), ErrorKind::Expired);
        assert_eq!(kind("not a token"), ErrorKind::Malformed);
        let claims: Result<palisade_token::jwt::Claims<serde_json::Value>, _> = v.verify(&good);
        assert!(claims.is_ok());
    });
    let verifications = |outcome: &str| verification_count(&series, "jwt", outcome);
    assert_eq!(verifications("ok"), 2);
    assert_eq!(verifications("bad_signature"), 2);
    assert_eq!(verifications("alg_none"), 1);
    assert_eq!(verifications("expired"), 1);
    assert_eq!(verifications("malformed"), 1);
}

/// A remembered token's verifications are counted as a fresh one's, accepted or not, through
/// the same verifier's handle and lookups.
#[test]
fn remembered_tokens_are_counted_like_fresh_ones() {
    let good = alice_token(SECRET);
    let series = capture(|| {
        let clock = Arc::new(ManualClock::new(NOW));
        let cached = CachedVerifier::new(
            verifier().clock(clock.clone()),
            16,
            Duration::from_secs(3600),
        )
        .unwrap();
        let verify = || cached.verify::<serde_json::Value>(&good);
        // Verified, then found twice.
        for _ in 0..3 {
            assert!(verify().is_ok());
        }
        assert_eq!(cached.len(), 1);
        // Found, and expired now.
        clock.advance(Duration::from_secs(601));
        assert_eq!(verify().unwrap_err().kind(), ErrorKind::Expired);
    });
    let verifications = |outcome: &str| verification_count(&series, "jwt", outcome);
    assert_eq!(verifications("ok"), 3);
    assert_eq!(verifications("expired"), 1);
}

/// The verifier's doc comment: it counts accepted tokens into the recorder installed when it
/// was built (so an accepted token costs an increment, not a lookup), from wherever it runs;
/// one built before the recorder counts them into the facade's no-op, while its rejections
/// are looked up when they happen.
#[test]
fn a_verifier_counts_accepted_tokens_into_the_recorder_in_place_when_it_was_built() {
    let good = alice_token(SECRET);
    let forged = alice_token(b"not the key, but 32 bytes long!!");
    let recorder = palisade_testkit::metrics::Recorder::new();
    let built_under = recorder.run(verifier);
    let built_before = verifier();
    // Verified outside the recorder's scope: only the handle taken under it counts.
    assert!(built_under.verify_json(&good).is_ok());
    assert!(built_under.clone().verify_json(&good).is_ok());
    recorder.run(|| {
        assert!(built_before.verify_json(&good).is_ok());
        assert_eq!(
            built_before.verify_json(&forged).unwrap_err().kind(),
            ErrorKind::BadSignature
        );
    });
    let series = recorder.series();
    assert_eq!(verification_count(&series, "jwt", "ok"), 2);
    assert_eq!(verification_count(&series, "jwt", "bad_signature"), 1);
}

#[test]
fn opaque_csrf_and_one_time_verifications_are_counted() {
    let series = capture(|| {
        let opaque = OpaqueTokens::new(KEY).unwrap();
        let key = opaque.issue(Purpose::ApiKey);
        let stored = key.hash().verifier();
        assert!(
            opaque
                .verify_api_key(key.token(), &stored, None, NOW)
                .is_ok()
        );
        let err = opaque
            .verify_api_key(key.token(), &[0; 16], None, NOW)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unknown);
        let mut typo = key.token().to_owned();
        typo.pop();
        typo.push('!');
        let err = opaque
            .verify_api_key(&typo, &stored, None, NOW)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BadChecksum);
        let err = opaque
            .verify_api_key(key.token(), &stored, Some(NOW - 1), NOW)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Expired);

        let csrf = CsrfTokens::new(KEY).unwrap();
        let token = csrf.issue("session-1");
        assert!(csrf.verify("session-1", &token, &token).is_ok());
        let err = csrf.verify("session-2", &token, &token).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::CsrfMismatch);

        block_on(async {
            let once = OneTimeTokens::new(MemoryStore::new(), KEY).unwrap();
            let token = once
                .issue(Purpose::PasswordReset, "alice", Duration::from_secs(600))
                .await
                .unwrap();
            let token = token.expose_secret();
            assert_eq!(
                once.redeem(Purpose::PasswordReset, token).await.unwrap(),
                "alice"
            );
            let again = once.redeem(Purpose::PasswordReset, token).await;
            assert_eq!(again.unwrap_err().kind(), Some(ErrorKind::Unknown));
        });
    });
    let v = |kind: &str, outcome: &str| verification_count(&series, kind, outcome);
    assert_eq!(v("opaque", "ok"), 1);
    assert_eq!(v("opaque", "unknown"), 1);
    assert_eq!(v("opaque", "bad_checksum"), 1);
    assert_eq!(v("opaque", "expired"), 1);
    assert_eq!(v("csrf", "ok"), 1);
    assert_eq!(v("csrf", "csrf_mismatch"), 1);
    assert_eq!(v("onetime", "ok"), 1);
    assert_eq!(v("onetime", "unknown"), 1);
    assert_eq!(
        histogram_len(
            &series,
            "palisade_token_store_duration_seconds{backend=memory,operation=put}"
        ),
        1
    );
    assert_eq!(
        histogram_len(
            &series,
            "palisade_token_store_duration_seconds{backend=memory,operation=take}"
        ),
        2
    );
}

#[test]
fn refresh_reuse_and_revocations_are_counted() {
    let series = capture(|| {
        block_on(async {
            let clock = Arc::new(ManualClock::new(NOW));
            let tokens = RefreshTokens::new(MemoryStore::new(), KEY)
                .unwrap()
                .policy(
                    RefreshPolicy::new(
                        Duration::from_secs(3600),
                        Duration::from_secs(86_400),
                        Duration::from_secs(10),
                    )
                    .unwrap(),
                )
                .clock(clock.clone());
            let t0 = tokens.issue("alice").await.unwrap();
            let t1 = tokens.refresh(t0.token()).await.unwrap();
            clock.advance(Duration::from_secs(60));
            // t0 again, after the grace window: stolen. The family is revoked.
            let reuse = tokens.refresh(t0.token()).await.unwrap_err();
            assert_eq!(reuse.kind(), Some(ErrorKind::Reused));
            let revoked = tokens.refresh(t1.token()).await.unwrap_err();
            assert_eq!(revoked.kind(), Some(ErrorKind::Revoked));

            let other = tokens.issue("bob").await.unwrap();
            tokens.revoke_family(other.family()).await.unwrap();
            tokens.revoke_subject("carol").await.unwrap();

            let list = RevocationList::new(MemoryStore::new()).clock(clock.clone());
            list.revoke("jti-1", NOW + 600).await.unwrap();
            list.revoke_subject_before("alice", NOW + 1).await.unwrap();
        });
    });
    let v = |outcome: &str| verification_count(&series, "refresh", outcome);
    assert_eq!(v("ok"), 1);
    assert_eq!(v("reused"), 1);
    assert_eq!(v("revoked"), 1);
    assert_eq!(counter(&series, "palisade_token_refresh_reuse_total"), 1);
    // The reuse revoked alice's family; bob's was revoked by hand.
    assert_eq!(
        counter(&series, "palisade_token_revocations_total{scope=family}"),
        2
    );
    assert_eq!(
        counter(&series, "palisade_token_revocations_total{scope=subject}"),
        2
    );
    assert_eq!(
        counter(&series, "palisade_token_revocations_total{scope=token}"),
        1
    );
    for (operation, calls) in [
        ("create_family", 2),
        ("rotate", 3),
        ("revoke_family", 1),
        ("revoke_subject", 1),
        ("revoke", 1),
        ("revoke_subject_before", 1),
    ] {
        assert_eq!(
            histogram_len(
                &series,
                &format!(
                    "palisade_token_store_duration_seconds{{backend=memory,operation={operation}}}"
                )
            ),
            calls,
            "{operation}"
        );
    }
}

/// Thousands of distinct forged tokens, subjects, families and `jti`s leave a fixed set of
/// series, none of whose labels carries any of them.
#[test]
fn hostile_input_leaves_series_bounded() {
    let series = capture(|| {
        let v = verifier();
        let opaque = OpaqueTokens::new(KEY).unwrap();
        let csrf = CsrfTokens::new(KEY).unwrap();
        block_on(async {
            let tokens = RefreshTokens::new(MemoryStore::new(), KEY).unwrap();
            let list = RevocationList::new(MemoryStore::new());
            for i in 0..2000 {
                let payload = format!(r#"{{"sub":"zzuser{i}","exp":{}}}"#, NOW + 600);
                let forged = forge_hs256(
                    &format!(r#"{{"alg":"HS256","kid":"zzkid{i}"}}"#),
                    &payload,
                    format!("zzguess {i} at the secret, padded to 32").as_bytes(),
                );
                let _ = v.verify_json(&forged);
                let _ = v.verify_json(&format!("zzjunk{i}"));
                let _ = opaque.verify_api_key(&format!("palk_zzjunk{i}"), &[0; 16], None, NOW);
                let _ = csrf.verify(&format!("zzsession{i}"), "a.b", "a.b");
                let _ = tokens.refresh(&format!("palr_zzjunk{i}")).await;
                let _ = tokens.revoke_subject(&format!("zzuser{i}")).await;
                let _ = tokens.revoke_family(&format!("zzfamily{i}")).await;
                let _ = list.revoke(&format!("zzjti{i}"), NOW + 600).await;
            }
        });
    });
    // Every hostile value above starts with "zz".
    assert_bounded(&series, "palisade_token_", 16, &["zz"]);
}

/// The Redis store's round trips are timed under `backend="redis"`; checking a token makes
/// one (`token_state`), not one per lookup.
#[cfg(feature = "redis")]
#[test]
fn redis_store_round_trips_are_timed() {
    use palisade_token::store::RedisStore;
    let redis = palisade_testkit::RedisServer::start().expect("redis-server");
    let url = redis.url();
    let series = capture(|| {
        block_on(async {
            let store = RedisStore::connect(&url, "metrics-test").await.unwrap();
            let list = RevocationList::new(store).clock(Arc::new(ManualClock::new(NOW)));
            list.revoke("jti-1", NOW + 600).await.unwrap();
            list.revoke_subject_before("alice", NOW + 1).await.unwrap();
            let mut claims =
                palisade_token::jwt::Claims::new(serde_json::Map::new()).subject("alice");
            (claims.jti, claims.iat) = (Some("jti-2".into()), Some(NOW + 2));
            list.check(&claims).await.unwrap();
        });
    });
    for operation in ["is_revoked", "subject_not_before"] {
        let name =
            format!("palisade_token_store_duration_seconds{{backend=redis,operation={operation}}}");
        assert!(!series.contains_key(&name), "{operation}");
    }
    for (operation, calls) in [
        ("revoke", 1),
        ("revoke_subject_before", 1),
        ("token_state", 1),
    ] {
        assert_eq!(
            histogram_len(
                &series,
                &format!(
                    "palisade_token_store_duration_seconds{{backend=redis,operation={operation}}}"
                )
            ),
            calls,
            "{operation}"
        );
    }
    assert_eq!(
        counter(&series, "palisade_token_revocations_total{scope=token}"),
        1
    );
}
