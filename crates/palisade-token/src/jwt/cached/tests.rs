use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::*;
use crate::clock::ManualClock;
use crate::error::ErrorKind;
use crate::jwt::{Algorithm, Issuer, KeySet, SigningKey};

const NOW: u64 = 1_800_000_000;

type Json = Map<String, Value>;

struct Fixture {
    clock: ManualClock,
    issuer: Issuer,
    keys: Arc<KeySet>,
}

fn fixture() -> Fixture {
    let clock = ManualClock::new(NOW);
    let keys = Arc::new(KeySet::single(
        SigningKey::hmac(Algorithm::HS256, &[7; 32]).unwrap(),
    ));
    let issuer = Issuer::new(keys.clone())
        .unwrap()
        .ttl(Duration::from_secs(300))
        .unwrap()
        .clock(Arc::new(clock.clone()));
    Fixture {
        clock,
        issuer,
        keys,
    }
}

impl Fixture {
    fn token(&self, sub: &str) -> String {
        self.issuer
            .issue(Claims::new(Json::new()).subject(sub))
            .unwrap()
    }

    fn cached(&self, capacity: usize, ttl: u64) -> CachedVerifier {
        self.cached_with(Verifier::new(self.keys.clone()), capacity, ttl)
    }

    fn cached_with(&self, verifier: Verifier, capacity: usize, ttl: u64) -> CachedVerifier {
        CachedVerifier::new(
            verifier.clock(Arc::new(self.clock.clone())),
            capacity,
            Duration::from_secs(ttl),
        )
        .unwrap()
    }
}

fn kind(result: Result<Arc<Claims<Json>>, InvalidToken>) -> ErrorKind {
    result.expect_err("refused").kind()
}

#[test]
fn a_remembered_token_returns_the_same_claims_without_a_second_verification() {
    let f = fixture();
    let verifier = f.cached(16, 60);
    let token = f.token("alice");
    let first = verifier.verify::<Json>(&token).unwrap();
    let again = verifier.verify::<Json>(&token).unwrap();
    assert!(Arc::ptr_eq(&first, &again));
    assert_eq!(again.sub.as_deref(), Some("alice"));
    assert_eq!(verifier.len(), 1);
}

#[test]
fn the_claims_are_those_the_plain_verifier_returns() {
    let f = fixture();
    let verifier = f.cached(16, 60);
    let token = f.token("alice");
    let plain = Verifier::new(f.keys.clone())
        .clock(Arc::new(f.clock.clone()))
        .verify::<Json>(&token)
        .unwrap();
    for _ in 0..2 {
        assert_eq!(*verifier.verify::<Json>(&token).unwrap(), plain);
    }
}

#[test]
fn a_token_is_verified_again_after_the_lifetime() {
    let f = fixture();
    let verifier = f.cached(16, 10);
    let token = f.token("alice");
    let first = verifier.verify::<Json>(&token).unwrap();
    f.clock.advance(Duration::from_secs(9));
    assert!(Arc::ptr_eq(
        &first,
        &verifier.verify::<Json>(&token).unwrap()
    ));
    f.clock.advance(Duration::from_secs(1));
    let later = verifier.verify::<Json>(&token).unwrap();
    assert!(!Arc::ptr_eq(&first, &later), "served past its lifetime");
}

#[test]
fn a_token_is_never_served_past_its_exp() {
    let f = fixture();
    let verifier = f.cached(16, 3600);
    let token = f.token("alice");
    verifier.verify::<Json>(&token).unwrap();
    f.clock.advance(Duration::from_secs(299));
    verifier.verify::<Json>(&token).unwrap();
    f.clock.advance(Duration::from_secs(1));
    assert_eq!(kind(verifier.verify::<Json>(&token)), ErrorKind::Expired);
}

#[test]
fn the_maximum_age_is_checked_again_on_every_use() {
    let f = fixture();
    let verifier = f.cached_with(
        Verifier::new(f.keys.clone()).max_age(Duration::from_secs(60)),
        16,
        3600,
    );
    let token = f.token("alice");
    verifier.verify::<Json>(&token).unwrap();
    f.clock.advance(Duration::from_secs(60));
    verifier.verify::<Json>(&token).unwrap();
    f.clock.advance(Duration::from_secs(1));
    assert_eq!(kind(verifier.verify::<Json>(&token)), ErrorKind::TooOld);
}

#[test]
fn a_token_sharing_a_remembered_signature_is_verified_in_full() {
    let f = fixture();
    let verifier = f.cached(16, 60);
    let good = f.token("alice");
    verifier.verify::<Json>(&good).unwrap();
    // Another header and payload under the remembered token's signature: found by the
    // signature, refused by the comparison of the whole token, then by the signature check.
    let (_, signature) = good.rsplit_once('.').unwrap();
    let (signing_input, _) = f
        .token("mallory")
        .rsplit_once('.')
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .unwrap();
    let forged = format!("{signing_input}.{signature}");
    assert_eq!(
        kind(verifier.verify::<Json>(&forged)),
        ErrorKind::BadSignature
    );
    // A prefix or an extension of the remembered token is not it either.
    assert!(verifier.verify::<Json>(&good[1..]).is_err());
    assert!(verifier.verify::<Json>(&format!("x{good}")).is_err());
}

#[test]
fn an_oversized_token_is_refused_by_the_size_cap_first() {
    let f = fixture();
    let verifier = f.cached(16, 60);
    let oversized = format!("{}.{}", f.token("alice"), "A".repeat(9 * 1024));
    assert_eq!(
        kind(verifier.verify::<Json>(&oversized)),
        ErrorKind::TooLarge
    );
    assert!(verifier.is_empty());
}

#[test]
fn refused_tokens_are_never_remembered() {
    let f = fixture();
    let verifier = f.cached(16, 60);
    let good = f.token("alice");
    let mut forged = good.clone();
    forged.pop();
    forged.push(if good.ends_with('A') { 'B' } else { 'A' });
    for token in [forged.as_str(), "not a token", "a.b.c", ""] {
        assert!(verifier.verify::<Json>(token).is_err());
    }
    assert!(verifier.is_empty());
}

#[test]
fn the_capacity_is_never_exceeded_and_a_full_cache_still_verifies() {
    let f = fixture();
    let verifier = f.cached(2, 60);
    let tokens: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| f.token(s)).collect();
    for token in &tokens {
        let claims = verifier.verify::<Json>(token).unwrap();
        assert!(verifier.len() <= 2);
        assert!(claims.sub.is_some());
    }
    // Once the remembered ones expire, room frees up for new tokens.
    f.clock.advance(Duration::from_secs(61));
    let fresh = f.token("e");
    verifier.verify::<Json>(&fresh).unwrap();
    assert_eq!(verifier.len(), 1);
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Tenant {
    tenant: Option<String>,
}

#[test]
fn claims_remembered_as_one_type_are_not_served_as_another() {
    let f = fixture();
    let verifier = f.cached(16, 60);
    let token = f
        .issuer
        .issue(Claims::new(Map::from_iter([(
            "tenant".to_owned(),
            Value::from("acme"),
        )])))
        .unwrap();
    let json = verifier.verify::<Json>(&token).unwrap();
    assert_eq!(json.custom.get("tenant"), Some(&Value::from("acme")));
    let typed = verifier.verify::<Tenant>(&token).unwrap();
    assert_eq!(typed.custom.tenant.as_deref(), Some("acme"));
}

#[test]
fn settings_outside_their_ranges_are_refused() {
    let f = fixture();
    let verifier = || Verifier::new(f.keys.clone());
    let secs = Duration::from_secs;
    assert!(CachedVerifier::new(verifier(), 0, secs(60)).is_err());
    assert!(CachedVerifier::new(verifier(), MAX_CAPACITY + 1, secs(60)).is_err());
    assert!(CachedVerifier::new(verifier(), 1, Duration::from_millis(999)).is_err());
    assert!(CachedVerifier::new(verifier(), 1, secs(3601)).is_err());
    assert!(CachedVerifier::new(verifier(), MAX_CAPACITY, secs(3600)).is_ok());
}

#[test]
fn debug_output_holds_no_token() {
    let f = fixture();
    let verifier = f.cached(16, 60);
    let token = f.token("alice");
    verifier.verify::<Json>(&token).unwrap();
    let debug = format!("{verifier:?}");
    let (_, signature) = token.rsplit_once('.').unwrap();
    assert!(!debug.contains(signature), "{debug}");
}

/// Threads verifying good and forged tokens at once, on a cache smaller than the set of good
/// tokens: every answer is the plain verifier's.
#[test]
fn concurrent_verifications_give_the_plain_verifiers_answers() {
    let f = fixture();
    let verifier = Arc::new(f.cached(3, 60));
    let good: Vec<String> = (0..5).map(|i| f.token(&format!("user{i}"))).collect();
    let forged: Vec<String> = good
        .iter()
        .map(|t| {
            let (input, _) = t.rsplit_once('.').unwrap();
            let (_, other) = good[0].rsplit_once('.').unwrap();
            format!("{input}.{other}")
        })
        .collect();
    let threads: Vec<_> = (0..4)
        .map(|n| {
            let verifier = verifier.clone();
            let (good, forged) = (good.clone(), forged.clone());
            std::thread::spawn(move || {
                for i in 0..400 {
                    let at = (i + n) % good.len();
                    let claims = verifier.verify::<Json>(&good[at]).unwrap();
                    assert_eq!(claims.sub.as_deref(), Some(format!("user{at}").as_str()));
                    if at != 0 {
                        assert!(verifier.verify::<Json>(&forged[at]).is_err());
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(verifier.len() <= 3);
}

#[test]
fn the_entries_are_found_by_the_keyed_hash_itself() {
    let build = BuildHasherDefault::<Prehashed>::default();
    for key in [0, 1, 0x0123_4567_89ab_cdef, u64::MAX] {
        assert_eq!(build.hash_one(key), key);
    }
    // Found again under that key: the second call returns the remembered claims.
    let f = fixture();
    let cached = f.cached(16, 60);
    let token = f.token("alice");
    let first = cached.verify::<Json>(&token).unwrap();
    assert!(Arc::ptr_eq(&first, &cached.verify::<Json>(&token).unwrap()));
    assert_eq!(cached.len(), 1);
}
