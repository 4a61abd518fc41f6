//! Login throttling with the in-process store: the shared attack scenarios, and with a manual
//! clock the delays, lockouts and their ends.

mod login_scenarios;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use login_scenarios::{admitted, client, throttle, wrong_password};
use palisade_ratelimit::{
    ManualClock,
    login::{
        Admission, Backoff, HardLimit, LoginPolicy, LoginThrottle, MemoryLoginStore, Scope,
        SuspiciousActivity,
    },
};
use proptest::prelude::*;

fn store() -> MemoryLoginStore {
    MemoryLoginStore::new(10_000)
}

fn manual(clock: &ManualClock) -> LoginThrottle<MemoryLoginStore> {
    throttle(MemoryLoginStore::with_clock(1000, Arc::new(clock.clone())))
}

#[tokio::test]
async fn attackers_elsewhere_never_lock_the_owner_out() {
    login_scenarios::attackers_elsewhere_never_lock_the_owner_out(store()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_guesses_never_exceed_the_limit() {
    login_scenarios::concurrent_guesses_never_exceed_the_limit(store()).await;
}

#[tokio::test]
async fn one_client_is_locked_out_of_one_account() {
    login_scenarios::one_client_is_locked_out_of_one_account(store()).await;
}

#[tokio::test]
async fn not_checked_is_free_but_dropped_is_counted() {
    login_scenarios::not_checked_is_free_but_dropped_is_counted(store()).await;
}

#[tokio::test]
async fn an_outage_after_the_reservation_cannot_make_a_guess_free() {
    login_scenarios::an_outage_after_the_reservation_cannot_make_a_guess_free(store()).await;
}

#[tokio::test]
async fn failing_device_cookie_is_distrusted() {
    login_scenarios::failing_device_cookie_is_distrusted(store()).await;
}

#[tokio::test]
async fn account_delay_doubles_is_capped_and_runs_from_the_last_attempt() {
    let clock = ManualClock::new();
    let t = manual(&clock);
    // Five free failures from five networks, then 1 s, 2 s, 4 s, 8 s, 8 s.
    for i in 0..5 {
        wrong_password(&t, "gina", &format!("198.51.100.{i}")).await;
    }
    for (i, expected) in [1, 2, 4, 8, 8].into_iter().enumerate() {
        let attempt = admitted(
            t.begin("gina", &client(&format!("198.51.100.{}", 10 + i)), None)
                .await
                .expect("store"),
        );
        assert_eq!(attempt.delay(), Duration::from_secs(expected));
        let _ = attempt.fail();
    }
    // The delay counts from the last attempt: after 3 s, 5 s are left; after 8 s, none.
    clock.advance(Duration::from_secs(3));
    let owner = client("192.0.2.1");
    let attempt = admitted(t.begin("gina", &owner, None).await.expect("store"));
    assert_eq!(attempt.delay(), Duration::from_secs(5));
    attempt.not_checked().await.expect("store");
    // That unchecked attempt was the last one: 8 s after it, no delay is left.
    clock.advance(Duration::from_secs(8));
    let attempt = admitted(t.begin("gina", &owner, None).await.expect("store"));
    assert_eq!(attempt.delay(), Duration::ZERO);
}

#[tokio::test]
async fn lockout_is_temporary_and_one_guess_per_lockout_after_it() {
    let clock = ManualClock::new();
    let t = manual(&clock);
    let lockout = t.policy().account_client.lockout;
    for _ in 0..5 {
        wrong_password(&t, "hank", "203.0.113.1").await;
    }
    let c = client("203.0.113.1");
    assert!(matches!(
        t.begin("hank", &c, None).await.expect("store"),
        Admission::Refused(_)
    ));
    clock.advance(lockout);
    let attempt = admitted(t.begin("hank", &c, None).await.expect("store"));
    assert!(attempt.fail().limit_reached);
    match t.begin("hank", &c, None).await.expect("store") {
        Admission::Refused(r) => assert_eq!(r.retry_after, lockout),
        Admission::Admitted(_) => panic!("a second guess in one lockout"),
    }
}

#[tokio::test]
async fn success_clears_the_clients_own_counter() {
    let clock = ManualClock::new();
    let t = manual(&clock);
    let c = client("203.0.113.2");
    for _ in 0..4 {
        wrong_password(&t, "ivy", "203.0.113.2").await;
    }
    let _ = admitted(t.begin("ivy", &c, None).await.expect("store"))
        .succeed()
        .await
        .expect("store");
    // Four more mistakes are allowed again.
    for _ in 0..4 {
        wrong_password(&t, "ivy", "203.0.113.2").await;
    }
}

#[tokio::test]
async fn credential_stuffing_from_one_network_is_refused_and_notified() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let mut policy = LoginPolicy::default();
    policy.client = HardLimit {
        failures: 10,
        lockout: Duration::from_secs(600),
    };
    let t = LoginThrottle::new(store(), policy)
        .on_suspicious(move |e| sink.lock().expect("events").push(e.clone()));
    for i in 0..10 {
        wrong_password(&t, &format!("user{i}"), "2001:db8:aa:bb::1").await;
    }
    // Another address in the same /56 is the same client network.
    match t
        .begin("user99", &client("2001:db8:aa:ff::2"), None)
        .await
        .expect("store")
    {
        Admission::Refused(r) => assert_eq!(r.scope, Scope::Client),
        Admission::Admitted(_) => panic!("admitted"),
    }
    assert!(
        events
            .lock()
            .expect("events")
            .iter()
            .any(|e| matches!(e, SuspiciousActivity::ClientThrottled { failures: 10, .. }))
    );
}

#[tokio::test]
async fn account_under_attack_is_notified_and_second_factor_advised() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let t = throttle(store()).on_suspicious(move |e| sink.lock().expect("events").push(e.clone()));
    for i in 0..9 {
        let attempt = admitted(
            t.begin("jack", &client(&format!("198.51.100.{i}")), None)
                .await
                .expect("store"),
        );
        assert!(!attempt.second_factor_advised());
        let _ = attempt.fail();
    }
    let attempt = admitted(
        t.begin("jack", &client("198.51.100.99"), None)
            .await
            .expect("store"),
    );
    assert!(attempt.second_factor_advised());
    assert!(attempt.fail().second_factor_advised);
    assert_eq!(
        events.lock().expect("events").as_slice(),
        [SuspiciousActivity::AccountUnderAttack {
            account: "jack".into(),
            failures: 10
        }]
    );
}

#[tokio::test]
async fn unknown_accounts_are_counted_like_known_ones() {
    // The throttle has no notion of account existence: any name gets the same answers.
    let clock = ManualClock::new();
    let t = manual(&clock);
    let mut answers = Vec::new();
    for (account, network) in [
        ("real-user", "203.0.113.3"),
        ("no-such-user", "203.0.113.4"),
    ] {
        let mut seen = Vec::new();
        for _ in 0..7 {
            seen.push(
                match t
                    .begin(account, &client(network), None)
                    .await
                    .expect("store")
                {
                    Admission::Admitted(a) => format!("{:?}", a.fail()),
                    Admission::Refused(r) => format!("{r:?}"),
                },
            );
        }
        answers.push(seen);
    }
    assert_eq!(answers[0], answers[1]);
}

#[tokio::test]
async fn memory_store_is_bounded() {
    let clock = ManualClock::new();
    let t = LoginThrottle::new(
        MemoryLoginStore::with_clock(100, Arc::new(clock.clone())),
        LoginPolicy::default(),
    );
    for i in 0..1000 {
        clock.advance(Duration::from_millis(1));
        let c = client(&format!("10.0.{}.{}", i / 250, i % 250));
        if let Ok(Admission::Admitted(a)) = t.begin(&format!("acct{i}"), &c, None).await {
            let _ = a.fail();
        }
    }
    assert!(t.store().len() <= 100, "{}", t.store().len());
    assert!(format!("{t:?}").contains("LoginThrottle"));
}

proptest! {
    #[test]
    fn account_delay_never_exceeds_its_cap(
        free in 0u32..20,
        base_ms in 1u64..10_000,
        max_ms in 1u64..100_000,
        failures in any::<u32>(),
    ) {
        let backoff = Backoff {
            free,
            base: Duration::from_millis(base_ms),
            max: Duration::from_millis(max_ms),
        };
        let delay = backoff.delay(failures);
        prop_assert!(delay <= backoff.max);
        prop_assert!(backoff.delay(failures.saturating_add(1)) >= delay);
    }
}
