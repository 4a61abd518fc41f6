//! How many connections one client, and all clients together, may hold open at once.
//!
//! The header-read timeout bounds how long one slow connection lives; this bounds how many a
//! client can hold meanwhile, so one address dribbling headers on thousands of connections
//! (slowloris) cannot take the file descriptors and memory every other client needs. A
//! connection over either cap is closed as soon as it is accepted, before anything is read.
//!
//! Clients are counted by the same key as the rate limits (IPv4 by address, IPv6 by /56). A
//! trusted proxy's connections carry many clients, so they count only toward the total.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex, PoisonError},
};

use palisade_ratelimit::client_ip::{ClientIpResolver, ClientKey};

/// Why a connection was closed at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The client already holds `max_connections_per_client`.
    Client,
    /// The service already holds `max_connections`.
    Total,
}

/// The open-connection counts, shared by the accept loop and every connection's permit.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionGate {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    per_client: usize,
    total: usize,
    resolver: ClientIpResolver,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_client: HashMap<ClientKey, usize>,
}

impl ConnectionGate {
    pub(crate) fn new(total: usize, per_client: usize, resolver: ClientIpResolver) -> Self {
        Self {
            inner: Arc::new(Inner {
                per_client,
                total,
                resolver,
                open: Mutex::new(Open::default()),
            }),
        }
    }

    /// Counts a new connection from `peer`, or says why it must be closed. The permit gives
    /// the connection back when it is dropped.
    pub(crate) fn admit(&self, peer: IpAddr) -> Result<Permit, Refused> {
        let client = (!self.inner.resolver.is_trusted(peer)).then(|| self.inner.resolver.key(peer));
        // The lock guards plain counters; a panic elsewhere cannot leave them half-updated.
        let mut open = self
            .inner
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if open.total >= self.inner.total {
            return Err(Refused::Total);
        }
        if let Some(key) = client {
            let count = open.by_client.entry(key).or_insert(0);
            if *count >= self.inner.per_client {
                return Err(Refused::Client);
            }
            *count += 1;
        }
        open.total += 1;
        Ok(Permit {
            gate: self.inner.clone(),
            client,
        })
    }

    /// Connections open now (for tests and logs).
    #[cfg(test)]
    fn open(&self) -> (usize, usize) {
        let open = self
            .inner
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        (open.total, open.by_client.len())
    }
}

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
pub(crate) struct Permit {
    gate: Arc<Inner>,
    client: Option<ClientKey>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut open = self
            .gate
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        open.total = open.total.saturating_sub(1);
        if let Some(key) = self.client
            && let Some(count) = open.by_client.get_mut(&key)
        {
            *count -= 1;
            if *count == 0 {
                // No entry outlives its last connection: the map holds open clients only.
                open.by_client.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(total: usize, per_client: usize, proxies: &[&str]) -> ConnectionGate {
        let resolver = ClientIpResolver::new(
            proxies.iter().copied(),
            palisade_ratelimit::client_ip::ForwardedHeader::XForwardedFor,
        )
        .unwrap();
        ConnectionGate::new(total, per_client, resolver)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn one_client_is_held_to_its_cap_and_others_are_not() {
        let gate = gate(100, 3, &[]);
        let held: Vec<_> = (0..3)
            .map(|_| gate.admit(ip("127.0.0.2")).unwrap())
            .collect();
        assert_eq!(gate.admit(ip("127.0.0.2")).unwrap_err(), Refused::Client);
        let other = gate.admit(ip("127.0.0.3")).unwrap();
        drop(held);
        assert!(gate.admit(ip("127.0.0.2")).is_ok());
        drop(other);
        assert_eq!(gate.open(), (0, 0), "no entry outlives its connections");
    }

    /// The cap is checked and taken in one step under the lock: eight threads racing to open
    /// connections from one client never hold more than the cap between them.
    #[test]
    fn concurrent_accepts_never_exceed_the_cap() {
        let gate = gate(10_000, 50, &[]);
        let held = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..100 {
                        if let Ok(permit) = gate.admit(ip("127.0.0.2")) {
                            held.lock().unwrap().push(permit);
                        }
                    }
                });
            }
        });
        assert_eq!(held.lock().unwrap().len(), 50);
        assert_eq!(gate.open(), (50, 1));
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_56() {
        let gate = gate(100, 2, &[]);
        let _a = gate.admit(ip("2001:db8:0:1::1")).unwrap();
        let _b = gate.admit(ip("2001:db8:0:2::9")).unwrap();
        assert_eq!(
            gate.admit(ip("2001:db8:0:3::7")).unwrap_err(),
            Refused::Client
        );
        assert!(gate.admit(ip("2001:db8:1::1")).is_ok());
    }

    #[test]
    fn the_total_cap_holds_for_everyone_and_trusted_proxies_count_only_toward_it() {
        let gate = gate(4, 1, &["10.0.0.0/8"]);
        let proxy: Vec<_> = (0..3)
            .map(|_| gate.admit(ip("10.0.0.1")).unwrap())
            .collect();
        let _client = gate.admit(ip("192.0.2.1")).unwrap();
        assert_eq!(gate.admit(ip("192.0.2.2")).unwrap_err(), Refused::Total);
        assert_eq!(gate.admit(ip("10.0.0.1")).unwrap_err(), Refused::Total);
        drop(proxy);
        assert!(gate.admit(ip("10.0.0.1")).is_ok());
    }
}
