//! Where refresh families, revoked `jti`s and one-time tokens live: a trait per concern, an
//! in-memory store for one process and tests, and a Redis store for a fleet. An `Arc` of a
//! store is the same store, shared by its clones; an [`Either`] of two stores is one of them,
//! picked at run time.
//!
//! Every operation that decides something (rotate-and-detect-reuse, take-once) is a single
//! atomic step in each store: a mutex in memory, a Lua script or `GETDEL` in Redis.

use std::future::Future;

use crate::error::StoreError;

#[cfg(feature = "redis")]
mod any;
mod either;
mod memory;
#[cfg(feature = "redis")]
mod redis;
mod shared;

#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use any::AnyStore;
pub use either::Either;
pub use memory::MemoryStore;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::RedisStore;

/// A new refresh-token family, stored with its first token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFamily<'a> {
    /// The family id (random, 128 bits, base64url).
    pub family: &'a str,
    /// Who the tokens are for.
    pub subject: &'a str,
    /// The first token's hash (64 hex characters).
    pub token: &'a str,
    /// Now, in Unix seconds.
    pub now: u64,
    /// The absolute end of the family, in Unix seconds; the store may forget it after that.
    pub expires_at: u64,
}

/// One refresh: the presented token's hash, the next token's hash, and the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation<'a> {
    /// Hash of the presented token (64 hex characters).
    pub presented: &'a str,
    /// Hash of the token that replaces it: the same for every exchange of one token, since
    /// the successor is derived from the presented token.
    pub next: &'a str,
    /// Now, in Unix seconds.
    pub now: u64,
    /// The family expires if unused for this many seconds.
    pub idle_secs: u64,
    /// An already-rotated token presented again less than this many seconds after its
    /// rotation, with the same `next` while that successor is still unused, is a retried or
    /// concurrent refresh, not a reuse: it gets the same successor.
    pub grace_secs: u64,
}

/// What a rotation decided.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RotateOutcome {
    /// The token was current and `next` is now current, or the exchange was retried within
    /// the grace window and `next` (the same successor) still is.
    Rotated {
        /// The family id.
        family: String,
        /// The family's subject.
        subject: String,
    },
    /// The token is not known.
    Unknown,
    /// The family was revoked.
    Revoked,
    /// The family passed its idle or absolute lifetime.
    Expired,
    /// The token had already been rotated, and this is not a retry within the grace window
    /// for the same, unused successor: the family is now revoked.
    Reused,
}

/// Storage for refresh-token families.
pub trait RefreshStore: Send + Sync {
    /// Stores a new family and its first token.
    fn create_family(
        &self,
        family: NewFamily<'_>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Atomically: find the presented token's family, check it is live, and either rotate
    /// (presented token current: record `next` as its one successor), answer a retry (rotated
    /// within the grace window to this same `next`, which is still unused) or, on reuse,
    /// revoke the whole family. A token never gets a second, different successor.
    fn rotate(
        &self,
        rotation: Rotation<'_>,
    ) -> impl Future<Output = Result<RotateOutcome, StoreError>> + Send;

    /// Revokes a family: none of its tokens refresh again.
    fn revoke_family(&self, family: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Revokes every family of `subject` ("sign out everywhere", e.g. after a password reset)
    /// and returns how many of them were live: not yet revoked and not past their absolute
    /// end at `now` (Unix seconds). A family created after this call is not affected.
    ///
    /// The store keeps a per-subject index of family ids for this, filled by
    /// [`create_family`](Self::create_family) and pruned of families past their absolute end,
    /// so it holds at most the subject's live families. Revocation is one atomic step: a
    /// concurrent `create_family` for the same subject lands entirely before it (and is
    /// revoked) or entirely after it (and is not).
    fn revoke_subject(
        &self,
        subject: &str,
        now: u64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// Storage for revoked access-token ids.
pub trait RevocationStore: Send + Sync {
    /// Marks `jti` revoked until `expires_at` (the token's `exp`), after which the entry may
    /// be forgotten: the token is rejected as expired anyway.
    fn revoke(
        &self,
        jti: &str,
        expires_at: u64,
        now: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Whether `jti` is revoked.
    fn is_revoked(
        &self,
        jti: &str,
        now: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Refuses every token of `subject` issued before `not_before` (Unix seconds): "sign out
    /// everywhere" for access tokens. The entry may be forgotten after `keep_until`, when every
    /// token it refuses has expired anyway. Atomic, and it only ever moves the mark later: of
    /// two concurrent calls the later `not_before` wins, whatever their order.
    fn revoke_subject_before(
        &self,
        subject: &str,
        not_before: u64,
        keep_until: u64,
        now: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The `not_before` mark of `subject`, if one is kept.
    fn subject_not_before(
        &self,
        subject: &str,
        now: u64,
    ) -> impl Future<Output = Result<Option<u64>, StoreError>> + Send;

    /// Both lookups a token check makes: whether `jti` is revoked, and the not-before mark of
    /// `subject` (if given). Answers what [`is_revoked`](Self::is_revoked) and
    /// [`subject_not_before`](Self::subject_not_before) answer, by default by calling them
    /// one after the other; a store across a network answers both in one round trip.
    fn token_state(
        &self,
        jti: &str,
        subject: Option<&str>,
        now: u64,
    ) -> impl Future<Output = Result<TokenState, StoreError>> + Send {
        async move {
            let revoked = self.is_revoked(jti, now).await?;
            let not_before = match subject {
                Some(subject) => self.subject_not_before(subject, now).await?,
                None => None,
            };
            Ok(TokenState {
                revoked,
                not_before,
            })
        }
    }
}

/// What a [`RevocationStore`] holds about one access token
/// ([`RevocationStore::token_state`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenState {
    /// Its `jti` is revoked.
    pub revoked: bool,
    /// Its subject's not-before mark: tokens issued before it are refused.
    pub not_before: Option<u64>,
}

/// A stored one-time token: its verifier, who it is for, and when it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneTimeRecord {
    /// The second half of the token's keyed hash, compared in constant time.
    pub verifier: [u8; 16],
    /// Who or what the token is for (a user id, an email address, an invitation id).
    pub subject: String,
    /// Expiry in Unix seconds.
    pub expires_at: u64,
}

/// Storage for one-time tokens.
pub trait OneTimeStore: Send + Sync {
    /// Stores a record under `lookup_id` until it expires (`now` in Unix seconds).
    fn put(
        &self,
        lookup_id: &str,
        record: OneTimeRecord,
        now: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Atomically removes and returns the record under `lookup_id`: a token is redeemed at
    /// most once, even by concurrent requests.
    fn take(
        &self,
        lookup_id: &str,
        now: u64,
    ) -> impl Future<Output = Result<Option<OneTimeRecord>, StoreError>> + Send;

    /// The record under `lookup_id`, left in place (to look at a token's subject before
    /// deciding to redeem it).
    fn peek(
        &self,
        lookup_id: &str,
        now: u64,
    ) -> impl Future<Output = Result<Option<OneTimeRecord>, StoreError>> + Send;
}
