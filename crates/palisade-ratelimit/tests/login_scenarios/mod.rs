//! Login throttling scenarios run against every store (in process and Redis), on the store's
//! own clock: each is an attack, and the assertion is that it fails.

#![allow(dead_code, unreachable_pub)]

use std::{
    future::Future,
    net::IpAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use palisade_ratelimit::{
    BackendError,
    client_ip::{ClientIpResolver, ClientKey, ForwardedHeader},
    login::{
        Admission, AttemptKeys, DeviceCookies, Limits, LoginAttempt, LoginPolicy, LoginStore,
        LoginThrottle, Reservation, Scope,
    },
};
use secrecy::SecretBox;

pub fn client(s: &str) -> ClientKey {
    let ip: IpAddr = s.parse().expect("address");
    ClientIpResolver::new([], ForwardedHeader::Forwarded)
        .expect("resolver")
        .key(ip)
}

pub fn device_cookies() -> DeviceCookies {
    DeviceCookies::new(SecretBox::new(vec![0x5a; 32].into_boxed_slice())).expect("key")
}

/// The defaults, with the device cookies configured.
pub fn throttle<S: LoginStore>(store: S) -> LoginThrottle<S> {
    LoginThrottle::new(store, LoginPolicy::default()).with_device_cookies(device_cookies())
}

pub fn admitted<S: LoginStore>(admission: Admission<'_, S>) -> LoginAttempt<'_, S> {
    match admission {
        Admission::Admitted(attempt) => attempt,
        Admission::Refused(refusal) => panic!("refused: {refusal:?}"),
    }
}

pub async fn wrong_password<S: LoginStore>(t: &LoginThrottle<S>, account: &str, from: &str) {
    let attempt = admitted(t.begin(account, &client(from), None).await.expect("store"));
    let _ = attempt.fail();
}

/// Item 1: fifty wrong passwords from fifty other networks never refuse the owner; without a
/// device cookie the owner waits at most the capped delay, with one not at all.
pub async fn attackers_elsewhere_never_lock_the_owner_out<S: LoginStore>(store: S) {
    let t = throttle(store);
    let owner = client("192.0.2.10");
    // The owner logged in once from this browser and kept the device cookie.
    let first = admitted(t.begin("alice", &owner, None).await.expect("store"));
    let cookie = first
        .succeed()
        .await
        .expect("store")
        .device_cookie
        .expect("device cookie issued");
    for i in 0..50 {
        wrong_password(&t, "alice", &format!("198.51.100.{i}")).await;
    }
    let cap = t.policy().account_delay.max;
    let without = admitted(t.begin("alice", &owner, None).await.expect("store"));
    assert!(!without.trusted_device());
    assert!(without.delay() <= cap, "{:?}", without.delay());
    assert!(without.second_factor_advised());
    let _ = without.succeed().await.expect("store");
    let with = admitted(
        t.begin("alice", &owner, Some(&cookie))
            .await
            .expect("store"),
    );
    assert!(with.trusted_device());
    assert_eq!(with.delay(), Duration::ZERO);
    assert!(!with.second_factor_advised());
    let _ = with.succeed().await.expect("store");
}

/// Item 2: concurrent guesses from one client never get more checked attempts than the limit.
pub async fn concurrent_guesses_never_exceed_the_limit<S: LoginStore + 'static>(store: S) {
    let t = Arc::new(throttle(store));
    let limit = t.policy().account_client.failures as usize;
    let barrier = Arc::new(tokio::sync::Barrier::new(30));
    let mut tasks = Vec::new();
    for _ in 0..30 {
        let t = t.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            match t.begin("bob", &client("203.0.113.5"), None).await {
                Ok(Admission::Admitted(attempt)) => {
                    // The password check takes a while; the reservation holds meanwhile.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    let _ = attempt.fail();
                    true
                }
                Ok(Admission::Refused(r)) => {
                    assert_eq!(r.scope, Scope::AccountClient);
                    false
                }
                Err(e) => panic!("store: {e}"),
            }
        }));
    }
    let mut checked = 0;
    for task in tasks {
        checked += usize::from(task.await.expect("task"));
    }
    assert_eq!(checked, limit, "checked guesses");
}

/// The same client is refused after the limit, for the lockout, with Retry-After.
pub async fn one_client_is_locked_out_of_one_account<S: LoginStore>(store: S) {
    let t = throttle(store);
    for _ in 0..t.policy().account_client.failures {
        wrong_password(&t, "carol", "203.0.113.6").await;
    }
    match t
        .begin("carol", &client("203.0.113.6"), None)
        .await
        .expect("store")
    {
        Admission::Refused(r) => {
            assert_eq!(r.scope, Scope::AccountClient);
            assert!(r.retry_after <= t.policy().account_client.lockout);
            assert!(r.retry_after + Duration::from_secs(5) > t.policy().account_client.lockout);
        }
        Admission::Admitted(_) => panic!("admitted past the limit"),
    }
    // Another network is not refused, and neither is the same network for another account.
    let other = t.begin("carol", &client("203.0.113.7"), None).await;
    let _ = admitted(other.expect("store"))
        .succeed()
        .await
        .expect("store");
    let next = t.begin("dave", &client("203.0.113.6"), None).await;
    let _ = admitted(next.expect("store"))
        .succeed()
        .await
        .expect("store");
    // A proof of control such as a password reset lifts the lockout.
    t.unlock("carol", &client("203.0.113.6"))
        .await
        .expect("store");
    let lifted = t.begin("carol", &client("203.0.113.6"), None).await;
    let _ = admitted(lifted.expect("store"))
        .succeed()
        .await
        .expect("store");
}

/// Item 3: an attempt whose password was not checked (busy hasher) is not counted; one dropped
/// unsettled (a cancelled request) is.
pub async fn not_checked_is_free_but_dropped_is_counted<S: LoginStore>(store: S) {
    let t = throttle(store);
    let c = client("203.0.113.8");
    for _ in 0..20 {
        let attempt = admitted(t.begin("erin", &c, None).await.expect("store"));
        attempt.not_checked().await.expect("store");
    }
    for _ in 0..t.policy().account_client.failures {
        drop(admitted(t.begin("erin", &c, None).await.expect("store")));
    }
    assert!(matches!(
        t.begin("erin", &c, None).await.expect("store"),
        Admission::Refused(_)
    ));
}

/// A stolen device cookie that keeps failing loses its trust, then the account's ordinary
/// limits apply to it.
pub async fn failing_device_cookie_is_distrusted<S: LoginStore>(store: S) {
    let t = throttle(store);
    let c = client("203.0.113.9");
    let first = admitted(t.begin("frank", &c, None).await.expect("store"));
    let cookie = first
        .succeed()
        .await
        .expect("store")
        .device_cookie
        .expect("cookie");
    let thief = client("198.51.100.200");
    for _ in 0..t.policy().device.failures {
        let attempt = admitted(
            t.begin("frank", &thief, Some(&cookie))
                .await
                .expect("store"),
        );
        assert!(attempt.trusted_device());
        let _ = attempt.fail();
    }
    // Distrusted: and this network's (account, client) counter is at the limit already.
    match t
        .begin("frank", &thief, Some(&cookie))
        .await
        .expect("store")
    {
        Admission::Refused(r) => assert_eq!(r.scope, Scope::AccountClient),
        Admission::Admitted(a) => panic!("still admitted: trusted={}", a.trusted_device()),
    }
    // The owner on their own network is unaffected.
    let owner = admitted(t.begin("frank", &c, None).await.expect("store"));
    let _ = owner.succeed().await.expect("store");
}

/// A store that counts the calls made to it while it is marked down: an outage that starts
/// after an attempt was reserved and before it was settled.
pub struct Outage<S> {
    inner: S,
    down: AtomicBool,
    calls_while_down: AtomicUsize,
}

impl<S> Outage<S> {
    fn note(&self) {
        if self.down.load(Ordering::SeqCst) {
            self.calls_while_down.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl<S: LoginStore> LoginStore for Outage<S> {
    fn reserve(
        &self,
        keys: &AttemptKeys,
        limits: &Limits,
    ) -> impl Future<Output = Result<Reservation, BackendError>> + Send {
        self.note();
        self.inner.reserve(keys, limits)
    }

    fn undo(
        &self,
        release: &[String],
        clear: &[String],
    ) -> impl Future<Output = Result<(), BackendError>> + Send {
        self.note();
        self.inner.undo(release, clear)
    }
}

/// Item 3: a failure the store could not record was free. The attempt is counted when it is
/// reserved, before the password is checked, and settling it as a failure makes no store
/// call, so a store outage between the reservation and the verdict cannot lose the guess:
/// after the limit's worth of failures, each settled while the store was down, the client is
/// refused.
pub async fn an_outage_after_the_reservation_cannot_make_a_guess_free<S: LoginStore>(store: S) {
    let t = throttle(Outage {
        inner: store,
        down: AtomicBool::new(false),
        calls_while_down: AtomicUsize::new(0),
    });
    let from = client("203.0.113.44");
    for _ in 0..t.policy().account_client.failures {
        let attempt = admitted(t.begin("ivan", &from, None).await.expect("store"));
        // The password check fails while the store is unreachable.
        t.store().down.store(true, Ordering::SeqCst);
        let _ = attempt.fail();
        t.store().down.store(false, Ordering::SeqCst);
    }
    assert_eq!(
        t.store().calls_while_down.load(Ordering::SeqCst),
        0,
        "settling a failure called the store"
    );
    match t.begin("ivan", &from, None).await.expect("store") {
        Admission::Refused(r) => assert_eq!(r.scope, Scope::AccountClient),
        Admission::Admitted(_) => panic!("a failure settled during the outage was not counted"),
    }
}
