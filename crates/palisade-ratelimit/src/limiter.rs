//! The decision API every backend offers, so policies can be combined over any of them.

use std::{future::Future, num::NonZeroU32};

use crate::{decision::Decision, memory::MemoryBackend, policy::Policy};

/// Something that decides: the in-process backend, or the Redis limiter with its failure
/// policies. Never fails: store outages are resolved by each policy's
/// [`FailurePolicy`](crate::FailurePolicy).
pub trait Limiter: Send + Sync {
    /// Checks a request of the given cost against a policy for a key.
    fn decide(
        &self,
        key: &str,
        policy: &Policy,
        cost: NonZeroU32,
    ) -> impl Future<Output = Decision> + Send;

    /// The in-process backend that decides for this limiter, if it is one: its decisions need
    /// no I/O, so a caller that must not wait (a tower layer deciding in `call`) can take them
    /// at once with [`MemoryBackend::check_n`]. `None` for a limiter that may wait on a store.
    fn in_process(&self) -> Option<&MemoryBackend> {
        None
    }
}

impl Limiter for MemoryBackend {
    fn decide(
        &self,
        key: &str,
        policy: &Policy,
        cost: NonZeroU32,
    ) -> impl Future<Output = Decision> + Send {
        std::future::ready(self.check_n(key, policy, cost))
    }

    fn in_process(&self) -> Option<&MemoryBackend> {
        Some(self)
    }
}
