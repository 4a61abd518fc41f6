//! Opaque API keys and one-time tokens: format, checksum, hashing, expiry, single use.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use palisade_token::clock::ManualClock;
use palisade_token::onetime::OneTimeTokens;
use palisade_token::opaque::{OpaqueTokens, Purpose};
use palisade_token::store::MemoryStore;
use palisade_token::{ErrorKind, ExposeSecret as _};
use proptest::prelude::*;

const KEY: &[u8] = b"opaque token hashing key, 32 b..";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

#[test]
fn format_is_palisade_redacts_opaque_format() {
    let tokens = OpaqueTokens::new(KEY).unwrap();
    for purpose in [
        Purpose::ApiKey,
        Purpose::Refresh,
        Purpose::PasswordReset,
        Purpose::Verification,
        Purpose::Invitation,
        Purpose::OneTime,
    ] {
        let issued = tokens.issue(purpose);
        let token = issued.token();
        assert_eq!(token.len(), 54);
        assert!(token.starts_with(purpose.prefix()));
        assert!(palisade_redact::opaque::is_valid(purpose.prefix(), token));
        // The redactor recognises every token this crate issues.
        let line = format!("login with {token} failed");
        let redacted = palisade_redact::Redactor::new().redact(&line).into_owned();
        assert!(!redacted.contains(&token[5..]), "{redacted}");
    }
}

#[test]
fn tokens_are_random_and_hashes_keyed() {
    let a = OpaqueTokens::new(KEY).unwrap();
    let b = OpaqueTokens::new(b"another key, also 32 bytes long!").unwrap();
    let t1 = a.issue(Purpose::ApiKey);
    let t2 = a.issue(Purpose::ApiKey);
    assert_ne!(t1.token(), t2.token());
    assert_eq!(a.hash(Purpose::ApiKey, t1.token()).unwrap(), *t1.hash());
    assert_ne!(b.hash(Purpose::ApiKey, t1.token()).unwrap(), *t1.hash());
    assert_eq!(t1.hash().lookup_id().len(), 32);
    assert!(!format!("{t1:?}").contains(&t1.token()[5..]));
    assert!(OpaqueTokens::new(&[0; 31]).is_err());
}

#[test]
fn typos_and_wrong_purposes_are_rejected_before_lookup() {
    let tokens = OpaqueTokens::new(KEY).unwrap();
    let issued = tokens.issue(Purpose::ApiKey);
    let token = issued.token();
    let mut typo = token.to_owned().into_bytes();
    typo[20] = if typo[20] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();
    assert_eq!(
        tokens.hash(Purpose::ApiKey, &typo).unwrap_err().kind(),
        ErrorKind::BadChecksum
    );
    assert_eq!(
        tokens.hash(Purpose::Refresh, token).unwrap_err().kind(),
        ErrorKind::WrongPurpose
    );
    assert_eq!(
        tokens
            .hash(Purpose::ApiKey, "palk_short")
            .unwrap_err()
            .kind(),
        ErrorKind::BadChecksum
    );
    let relabelled = format!("palz_{}", &token[5..]);
    assert_eq!(
        tokens
            .hash(Purpose::ApiKey, &relabelled)
            .unwrap_err()
            .kind(),
        ErrorKind::BadChecksum
    );
}

#[test]
fn api_key_verification() {
    let tokens = OpaqueTokens::new(KEY).unwrap();
    let issued = tokens.issue(Purpose::ApiKey);
    // What the application stores: lookup id (indexed), verifier, expiry.
    let verifier = issued.hash().verifier();
    let now = 1_000;
    tokens
        .verify_api_key(issued.token(), &verifier, Some(2_000), now)
        .unwrap();
    tokens
        .verify_api_key(issued.token(), &verifier, None, now)
        .unwrap();
    let other = tokens.issue(Purpose::ApiKey);
    assert_eq!(
        tokens
            .verify_api_key(other.token(), &verifier, None, now)
            .unwrap_err()
            .kind(),
        ErrorKind::Unknown
    );
    assert_eq!(
        tokens
            .verify_api_key(issued.token(), &verifier, Some(1_000), now)
            .unwrap_err()
            .kind(),
        ErrorKind::Expired
    );
    assert_eq!(
        tokens
            .verify_api_key(issued.token(), &verifier[..15], None, now)
            .unwrap_err()
            .kind(),
        ErrorKind::Unknown
    );
}

#[test]
fn one_time_tokens_redeem_once() {
    rt().block_on(async {
        let clock = Arc::new(ManualClock::new(1_000));
        let tokens = OneTimeTokens::new(MemoryStore::new(), KEY)
            .unwrap()
            .clock(clock.clone());
        let reset = tokens
            .issue(Purpose::PasswordReset, "user-7", Duration::from_secs(900))
            .await
            .unwrap();
        let reset = reset.expose_secret();
        assert_eq!(
            tokens
                .redeem(Purpose::Verification, reset)
                .await
                .unwrap_err()
                .kind(),
            Some(ErrorKind::WrongPurpose)
        );
        assert_eq!(
            tokens.redeem(Purpose::PasswordReset, reset).await.unwrap(),
            "user-7"
        );
        assert_eq!(
            tokens
                .redeem(Purpose::PasswordReset, reset)
                .await
                .unwrap_err()
                .kind(),
            Some(ErrorKind::Unknown)
        );
        let invite = tokens
            .issue(Purpose::Invitation, "team-1", Duration::from_secs(60))
            .await
            .unwrap();
        clock.advance(Duration::from_secs(60));
        assert_eq!(
            tokens
                .redeem(Purpose::Invitation, invite.expose_secret())
                .await
                .unwrap_err()
                .kind(),
            Some(ErrorKind::Expired)
        );
        assert!(
            tokens
                .issue(Purpose::ApiKey, "x", Duration::from_secs(60))
                .await
                .is_err()
        );
        assert!(
            tokens
                .issue(Purpose::OneTime, "x", Duration::ZERO)
                .await
                .is_err()
        );
    });
}

#[test]
fn a_token_hashed_under_another_key_is_unknown() {
    rt().block_on(async {
        let store = MemoryStore::new();
        let a = OneTimeTokens::new(store, KEY).unwrap();
        let t = a
            .issue(Purpose::OneTime, "s", Duration::from_secs(60))
            .await
            .unwrap();
        // Rebuilt with another key (e.g. a leaked database without the server key): useless.
        let forged = OpaqueTokens::new(b"attacker's guess at the key, 32b").unwrap();
        let h = forged.hash(Purpose::OneTime, t.expose_secret()).unwrap();
        assert_ne!(
            h,
            OpaqueTokens::new(KEY)
                .unwrap()
                .hash(Purpose::OneTime, t.expose_secret())
                .unwrap()
        );
    });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_strings_never_pass_the_checksum(s in "palk_[0-9A-Za-z]{49}") {
        let tokens = OpaqueTokens::new(KEY).unwrap();
        // A random 49-character body has a 1 in 62^6 chance of a valid checksum.
        prop_assert_eq!(tokens.hash(Purpose::ApiKey, &s).is_ok(), palisade_redact::opaque::is_valid("palk_", &s));
    }

    #[test]
    fn arbitrary_input_never_panics(s in "\\PC{0,80}") {
        let tokens = OpaqueTokens::new(KEY).unwrap();
        let _ = tokens.hash(Purpose::ApiKey, &s);
        let _ = tokens.verify_api_key(&s, &[0; 16], None, 0);
    }
}
