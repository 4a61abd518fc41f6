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
}
