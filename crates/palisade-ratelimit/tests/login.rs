//! Login throttling with the in-process store and a manual clock.

use std::{
    net::IpAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use palisade_ratelimit::{
    ManualClock,
    client_ip::{ClientIpResolver, ClientKey, ForwardedHeader},
    login::{Backoff, LoginPolicy, LoginThrottle, MemoryLoginStore, Scope, SuspiciousActivity},
};

fn client(s: &str) -> ClientKey {
    let ip: IpAddr = s.parse().expect("address");
    ClientIpResolver::new([], ForwardedHeader::Forwarded)
        .expect("resolver")
        .key(ip)
}

fn policy() -> LoginPolicy {
    let mut p = LoginPolicy::default();
    p.account = Backoff {
        free: 5,
        base: Duration::from_secs(1),
        max: Duration::from_secs(60),
    };
    p.account_client = Backoff {
        free: 3,
        base: Duration::from_secs(1),
        max: Duration::from_secs(60),
    };
    p.client = Backoff {
        free: 10,
        base: Duration::from_secs(2),
        max: Duration::from_secs(600),
    };
    p.lockout_after = Some(8);
    p.lockout = Duration::from_secs(900);
    p
}

fn throttle(clock: &ManualClock) -> LoginThrottle<MemoryLoginStore> {
    LoginThrottle::new(
        MemoryLoginStore::with_clock(1000, Arc::new(clock.clone())),
        policy(),
    )
}

async fn fail(
    t: &LoginThrottle<MemoryLoginStore>,
    account: &str,
    c: &ClientKey,
) -> palisade_ratelimit::login::LoginDecision {
    t.record_failure(account, c).await.expect("memory store")
}

#[tokio::test]
async fn delays_double_and_are_capped_then_reset_on_success() {
    let clock = ManualClock::new();
    let t = throttle(&clock);
    let c = client("203.0.113.1");
    for _ in 0..2 {
        assert!(fail(&t, "alice", &c).await.allowed);
    }
    // Third failure from this client on this account: pair scope starts at 1 s.
    let d = fail(&t, "alice", &c).await;
    assert_eq!(d.retry_after, Some(Duration::from_secs(1)));
    assert_eq!(d.scope, Some(Scope::AccountClient));
    clock.advance(Duration::from_secs(1));
    let d = fail(&t, "alice", &c).await;
    assert_eq!(d.retry_after, Some(Duration::from_secs(2)));
    clock.advance(Duration::from_secs(2));
    let d = fail(&t, "alice", &c).await;
    assert_eq!(d.retry_after, Some(Duration::from_secs(4)));
    assert!(!t.check("alice", &c).await.expect("check").allowed);
    clock.advance(Duration::from_secs(4));
    assert!(t.check("alice", &c).await.expect("check").allowed);
    t.record_success("alice", &c).await.expect("success");
    let d = t.check("alice", &c).await.expect("check");
    assert!(d.allowed && d.retry_after.is_none());
    // Success reset the pair: the next failure is free again.
    assert!(fail(&t, "alice", &c).await.allowed);
}

#[tokio::test]
async fn cap_on_delay() {
    let clock = ManualClock::new();
    let t = throttle(&clock);
    let c = client("203.0.113.2");
    let mut last = Duration::ZERO;
    for _ in 0..7 {
        clock.advance(Duration::from_secs(120));
        last = fail(&t, "bob", &c).await.retry_after.unwrap_or_default();
    }
    assert!(last <= Duration::from_secs(60), "capped: {last:?}");
}

#[tokio::test]
async fn lockout_is_temporary_and_notified() {
    let clock = ManualClock::new();
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let t = throttle(&clock).on_suspicious(move |e| sink.lock().expect("events").push(e.clone()));
    // A distributed attack: each failure from a different client network.
    let mut d = None;
    for i in 0..8 {
        clock.advance(Duration::from_secs(61));
        d = Some(fail(&t, "carol", &client(&format!("198.51.100.{i}"))).await);
    }
    let d = d.expect("failures recorded");
    assert!(d.locked);
    assert_eq!(d.retry_after, Some(Duration::from_secs(900)));
    assert!(
        events
            .lock()
            .expect("events")
            .iter()
            .any(|e| matches!(e, SuspiciousActivity::AccountLocked { failures: 8, .. }))
    );
    // Locked for everyone, including a fresh client.
    assert!(
        !t.check("carol", &client("192.0.2.99"))
            .await
            .expect("check")
            .allowed
    );
    // Temporary: after the lockout the account may try again.
    clock.advance(Duration::from_secs(900));
    assert!(
        t.check("carol", &client("192.0.2.99"))
            .await
            .expect("check")
            .allowed
    );
}

#[tokio::test]
async fn unknown_accounts_are_counted_like_known_ones() {
    // The throttle has no notion of account existence: any name gets the same answers.
    let clock = ManualClock::new();
    let t = throttle(&clock);
    let c = client("203.0.113.3");
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..6 {
        known.push(fail(&t, "real-user", &c).await);
    }
    let c2 = client("203.0.113.4");
    for _ in 0..6 {
        unknown.push(fail(&t, "no-such-user-xyz", &c2).await);
    }
    assert_eq!(known, unknown);
}

#[tokio::test]
async fn credential_stuffing_from_one_network_is_throttled() {
    let clock = ManualClock::new();
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let t = throttle(&clock).on_suspicious(move |e| sink.lock().expect("events").push(e.clone()));
    let c = client("2001:db8:aa:bb::1");
    let mut last = None;
    for i in 0..11 {
        last = Some(fail(&t, &format!("user{i}"), &c).await);
    }
    let last = last.expect("failures");
    assert!(!last.allowed);
    assert_eq!(last.scope, Some(Scope::Client));
    // Another address in the same /56 is the same client network.
    assert!(
        !t.check("user99", &client("2001:db8:aa:ff::2"))
            .await
            .expect("check")
            .allowed
    );
    assert!(
        events
            .lock()
            .expect("events")
            .iter()
            .any(|e| matches!(e, SuspiciousActivity::ClientThrottled { .. }))
    );
    // A success does not clear the network's counter.
    t.record_success("user0", &c).await.expect("success");
    assert!(!t.check("user98", &c).await.expect("check").allowed);
}

#[tokio::test]
async fn memory_store_is_bounded() {
    let clock = ManualClock::new();
    let store = MemoryLoginStore::with_clock(100, Arc::new(clock.clone()));
    let t = LoginThrottle::new(store, policy());
    for i in 0..1000 {
        clock.advance(Duration::from_millis(1));
        let _ = t
            .record_failure(&format!("acct{i}"), &client("203.0.113.9"))
            .await;
    }
    assert!(t.store().len() <= 100, "{}", t.store().len());
    assert!(format!("{t:?}").contains("LoginThrottle"));
}
