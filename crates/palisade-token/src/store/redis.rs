//! The Redis store: shared by every server of a fleet. Rotation is one Lua script (run with
//! EVALSHA, reloaded if the server lost it), one-time tokens are taken with `GETDEL`, and
//! every key expires with what it describes (relative TTLs computed from the application's
//! clock, so a skewed Redis clock changes nothing).
//!
//! Keys (with the configured prefix `p`): `p:rf:<family>` (hash: subject, absolute expiry,
//! last use, revoked flag), `p:rt:<token hash>` (hash: family, rotation time, successor hash),
//! `p:rs:<sha256(subject)>` (sorted set: the subject's family ids scored by their absolute
//! expiry; entries past it are dropped at each login, and the key lives as long as its
//! longest family), `p:jti:<sha256(jti)>`, `p:nb:<sha256(subject)>` (a subject's not-before mark),
//! `p:ot:<lookup id>`. Two scripts touch keys they
//! derive at run time rather than receive: rotation reads the family key it learns from the
//! token record, and subject revocation writes every family key listed in the subject's set.
//! So the store expects a single Redis primary (or a cluster slot via a `{hash tag}` prefix),
//! not a sharded cluster.
//!
//! The subject index needs Redis 7.0 or later (`EXPIRE ... NX` / `GT`).

use redis::aio::ConnectionManager;
use redis::{AsyncCommands as _, Script};
use sha2::Digest as _;

use super::{
    NewFamily, OneTimeRecord, OneTimeStore, RefreshStore, RevocationStore, RotateOutcome, Rotation,
    TokenState,
};
use crate::error::StoreError;
use crate::opaque::hex;

// KEYS[1]: the presented token's record; KEYS[2]: its successor's. ARGV[1]: now; ARGV[2]:
// idle seconds; ARGV[3]: grace seconds; ARGV[4]: the family key prefix; ARGV[5]: the
// successor's hash. A current token records its one successor (`n`) and rotation time (`r`);
// a rotated one passes again only within the grace window, for that same successor, while
// the successor is unused; anything else revokes the family.
const ROTATE: &str = r"
local rec = redis.call('HMGET', KEYS[1], 'f', 'r', 'n')
local fam = rec[1]
if not fam then return {'unknown'} end
local fkey = ARGV[4] .. fam
local f = redis.call('HMGET', fkey, 'sub', 'exp', 'last', 'rev')
if not f[1] then return {'unknown'} end
if f[4] == '1' then return {'revoked'} end
local now = tonumber(ARGV[1])
local exp = tonumber(f[2])
if now >= exp or now >= tonumber(f[3]) + tonumber(ARGV[2]) then return {'expired'} end
if rec[2] then
  local retry = now < tonumber(rec[2]) + tonumber(ARGV[3]) and rec[3] == ARGV[5]
    and redis.call('HEXISTS', KEYS[2], 'f') == 1 and redis.call('HEXISTS', KEYS[2], 'r') == 0
  if not retry then
    redis.call('HSET', fkey, 'rev', '1')
    return {'reused'}
  end
else
  redis.call('HSET', KEYS[1], 'r', ARGV[1], 'n', ARGV[5])
  redis.call('HSET', KEYS[2], 'f', fam)
  redis.call('EXPIRE', KEYS[2], exp - now)
end
redis.call('HSET', fkey, 'last', ARGV[1])
return {'ok', fam, f[1]}
";

const REVOKE_FAMILY: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'rev', '1') end
return 1
";

// KEYS[1]: the subject's sorted set. ARGV[1]: now; ARGV[2]: the family key prefix.
// Marks every listed family revoked as REVOKE_FAMILY does, counts those that were live
// (not revoked, absolute expiry after now), and deletes the set.
const REVOKE_SUBJECT: &str = r"
local now = tonumber(ARGV[1])
local live = 0
for _, fam in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local fkey = ARGV[2] .. fam
  if redis.call('EXISTS', fkey) == 1 then
    local f = redis.call('HMGET', fkey, 'exp', 'rev')
    if f[2] ~= '1' and (tonumber(f[1]) or 0) > now then live = live + 1 end
    redis.call('HSET', fkey, 'rev', '1')
  end
end
redis.call('DEL', KEYS[1])
return live
";

// KEYS[1]: the subject's not-before key. ARGV[1]: not before; ARGV[2]: seconds to keep it.
// Keeps the later of the stored and the new mark, and the longer of the two lifetimes.
const REVOKE_SUBJECT_BEFORE: &str = r"
local value = ARGV[1]
local cur = redis.call('GET', KEYS[1])
if cur and tonumber(cur) > tonumber(value) then value = cur end
local ttl = tonumber(ARGV[2])
local left = redis.call('TTL', KEYS[1])
if left > ttl then ttl = left end
redis.call('SET', KEYS[1], value, 'EX', ttl)
return 1
";

/// Refresh families, revocations and one-time tokens in Redis.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    rotate: Script,
    revoke_family: Script,
    revoke_subject: Script,
    revoke_subject_before: Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// The longest expiry given to a key: a hundred years. Redis refuses expiries whose
/// milliseconds overflow an `i64`, and a token claiming to expire later than this is treated as
/// expiring then.
const MAX_TTL_SECS: u64 = 100 * 365 * 86_400;

/// Seconds from `now` until `expires_at`, at most [`MAX_TTL_SECS`].
fn ttl(expires_at: u64, now: u64) -> u64 {
    expires_at.saturating_sub(now).min(MAX_TTL_SECS)
}

fn store_err(e: &redis::RedisError) -> StoreError {
    StoreError::new(format!("redis: {:?}", e.kind()))
}

impl RedisStore {
    /// Connects to `url` (`redis://host:port/db`); keys start with `prefix` (e.g.
    /// `"myapp:tokens"`). The connection reconnects by itself.
    ///
    /// # Errors
    /// [`StoreError`] if the URL is invalid or the server unreachable.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(|e| store_err(&e))?;
        let conn = client
            .get_connection_manager()
            .await
            .map_err(|e| store_err(&e))?;
        Ok(Self::with_connection(conn, prefix))
    }

    /// Uses an existing connection manager.
    pub fn with_connection(conn: ConnectionManager, prefix: &str) -> Self {
        Self {
            conn,
            prefix: prefix.to_owned(),
            rotate: Script::new(ROTATE),
            revoke_family: Script::new(REVOKE_FAMILY),
            revoke_subject: Script::new(REVOKE_SUBJECT),
            revoke_subject_before: Script::new(REVOKE_SUBJECT_BEFORE),
        }
    }

    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}:{kind}:{id}", self.prefix)
    }

    /// A revoked token id's key: the id hashed, so any id makes a short key.
    fn revoked_key(&self, jti: &str) -> String {
        self.key("jti", &hex(&sha2::Sha256::digest(jti.as_bytes())))
    }

    /// The subject's not-before key, hashed like the index key.
    fn not_before_key(&self, subject: &str) -> String {
        self.key("nb", &hex(&sha2::Sha256::digest(subject.as_bytes())))
    }

    /// The subject's index key; hashed like `jti`s, so any subject makes a short key.
    fn subject_key(&self, subject: &str) -> String {
        self.key("rs", &hex(&sha2::Sha256::digest(subject.as_bytes())))
    }
}

impl RefreshStore for RedisStore {
    async fn create_family(&self, family: NewFamily<'_>) -> Result<(), StoreError> {
        let _timer = crate::telemetry::store_timer("redis", "create_family");
        let fkey = self.key("rf", family.family);
        let tkey = self.key("rt", family.token);
        let skey = self.subject_key(family.subject);
        // Relative TTLs: the application's clock decides, whatever Redis's clock says.
        let ttl = i64::try_from(ttl(family.expires_at, family.now)).unwrap_or(i64::MAX);
        let mut conn = self.conn.clone();
        redis::pipe()
            .atomic()
            .hset_multiple(
                &fkey,
                &[
                    ("sub", family.subject.to_owned()),
                    ("exp", family.expires_at.to_string()),
                    ("last", family.now.to_string()),
                    ("rev", "0".to_owned()),
                ],
            )
            .ignore()
            .expire(&fkey, ttl)
            .ignore()
            .hset(&tkey, "f", family.family)
            .ignore()
            .expire(&tkey, ttl)
            .ignore()
            // The subject index: add this family, drop those past their absolute end (by the
            // application's clock, like the scores), and keep the key as long as its longest
            // family. `GT` treats a key without expiry as infinite, so a new key needs `NX`.
            .cmd("ZADD")
            .arg(&skey)
            .arg(family.expires_at)
            .arg(family.family)
            .ignore()
            .cmd("ZREMRANGEBYSCORE")
            .arg(&skey)
            .arg("-inf")
            .arg(family.now)
            .ignore()
            .cmd("EXPIRE")
            .arg(&skey)
            .arg(ttl)
            .arg("NX")
            .ignore()
            .cmd("EXPIRE")
            .arg(&skey)
            .arg(ttl)
            .arg("GT")
            .ignore()
            .exec_async(&mut conn)
            .await
            .map_err(|e| store_err(&e))
    }

    async fn rotate(&self, r: Rotation<'_>) -> Result<RotateOutcome, StoreError> {
        let _timer = crate::telemetry::store_timer("redis", "rotate");
        let mut conn = self.conn.clone();
        let reply: Vec<String> = self
            .rotate
            .key(self.key("rt", r.presented))
            .key(self.key("rt", r.next))
            .arg(r.now)
            .arg(r.idle_secs)
            .arg(r.grace_secs)
            .arg(format!("{}:rf:", self.prefix))
            .arg(r.next)
            .invoke_async(&mut conn)
            .await
            .map_err(|e| store_err(&e))?;
        Ok(match reply.as_slice() {
            [ok, family, subject] if ok == "ok" => RotateOutcome::Rotated {
                family: family.clone(),
                subject: subject.clone(),
            },
            [s] if s == "revoked" => RotateOutcome::Revoked,
            [s] if s == "expired" => RotateOutcome::Expired,
            [s] if s == "reused" => RotateOutcome::Reused,
            [s] if s == "unknown" => RotateOutcome::Unknown,
            _ => return Err(StoreError::new("redis: unexpected rotation reply")),
        })
    }

    async fn revoke_family(&self, family: &str) -> Result<(), StoreError> {
        let _timer = crate::telemetry::store_timer("redis", "revoke_family");
        let mut conn = self.conn.clone();
        let _: i64 = self
            .revoke_family
            .key(self.key("rf", family))
            .invoke_async(&mut conn)
            .await
            .map_err(|e| store_err(&e))?;
        Ok(())
    }

    async fn revoke_subject(&self, subject: &str, now: u64) -> Result<u64, StoreError> {
        let _timer = crate::telemetry::store_timer("redis", "revoke_subject");
        let mut conn = self.conn.clone();
        self.revoke_subject
            .key(self.subject_key(subject))
            .arg(now)
            .arg(format!("{}:rf:", self.prefix))
            .invoke_async(&mut conn)
            .await
            .map_err(|e| store_err(&e))
    }
}

impl RevocationStore for RedisStore {
    async fn revoke(&self, jti: &str, expires_at: u64, now: u64) -> Result<(), StoreError> {
        let _timer = crate::telemetry::store_timer("redis", "revoke");
        if expires_at <= now {
            return Ok(());
        }
        let key = self.revoked_key(jti);
        let mut conn = self.conn.clone();
        redis::cmd("SET")
            .arg(&key)
            .arg(1)
            .arg("EX")
            .arg(ttl(expires_at, now))
            .exec_async(&mut conn)
            .await
            .map_err(|e| store_err(&e))
    }

    async fn is_revoked(&self, jti: &str, _now: u64) -> Result<bool, StoreError> {
        let _timer = crate::telemetry::store_timer("redis", "is_revoked");
        let key = self.revoked_key(jti);
        let mut conn = self.conn.clone();
        conn.exists(&key).await.map_err(|e| store_err(&e))
    }

    async fn revoke_subject_before(
        &self,
        subject: &str,
        not_before: u64,
        keep_until: u64,
        now: u64,
    ) -> Result<(), StoreError> {
        let _timer = crate::telemetry::store_timer("redis", "revoke_subject_before");
        if keep_until <= now {
            return Ok(());
        }
        let mut conn = self.conn.clone();
        let _: i64 = self
            .revoke_subject_before
            .key(self.not_before_key(subject))
            .arg(not_before)
            .arg(ttl(keep_until, now))
            .invoke_async(&mut conn)
            .await
            .map_err(|e| store_err(&e))?;
        Ok(())
    }

    async fn subject_not_before(
        &self,
        subject: &str,
        _now: u64,
    ) -> Result<Option<u64>, StoreError> {
        let _timer = crate::telemetry::store_timer("redis", "subject_not_before");
        let mut conn = self.conn.clone();
        let value: Option<String> = conn
            .get(self.not_before_key(subject))
            .await
            .map_err(|e| store_err(&e))?;
        parse_mark(value)
    }

    /// `EXISTS` of the id's key and `GET` of the subject's mark in one pipeline: one round
    /// trip per token check instead of two.
    async fn token_state(
        &self,
        jti: &str,
        subject: Option<&str>,
        _now: u64,
    ) -> Result<TokenState, StoreError> {
        let _timer = crate::telemetry::store_timer("redis", "token_state");
        let mut conn = self.conn.clone();
        let (revoked, mark): (bool, Option<String>) = match subject {
            Some(subject) => {
                redis::pipe()
                    .exists(self.revoked_key(jti))
                    .get(self.not_before_key(subject))
                    .query_async(&mut conn)
                    .await
            }
            None => conn.exists(self.revoked_key(jti)).await.map(|r| (r, None)),
        }
        .map_err(|e| store_err(&e))?;
        Ok(TokenState {
            revoked,
            not_before: parse_mark(mark)?,
        })
    }
}

/// A stored not-before mark, in decimal seconds.
fn parse_mark(mark: Option<String>) -> Result<Option<u64>, StoreError> {
    mark.map(|v| {
        v.parse()
            .map_err(|_| StoreError::new("redis: malformed not-before mark"))
    })
    .transpose()
}

impl OneTimeStore for RedisStore {
    async fn put(
        &self,
        lookup_id: &str,
        record: OneTimeRecord,
        now: u64,
    ) -> Result<(), StoreError> {
        let _timer = crate::telemetry::store_timer("redis", "put");
        if record.expires_at <= now {
            return Ok(());
        }
        let key = self.key("ot", lookup_id);
        let value = format!(
            "{}|{}|{}",
            record.expires_at,
            hex(&record.verifier),
            record.subject
        );
        let mut conn = self.conn.clone();
        redis::cmd("SET")
            .arg(&key)
            .arg(value)
            .arg("EX")
            .arg(ttl(record.expires_at, now))
            .exec_async(&mut conn)
            .await
            .map_err(|e| store_err(&e))
    }

    async fn take(&self, lookup_id: &str, _now: u64) -> Result<Option<OneTimeRecord>, StoreError> {
        let _timer = crate::telemetry::store_timer("redis", "take");
        let key = self.key("ot", lookup_id);
        let mut conn = self.conn.clone();
        let value: Option<String> = redis::cmd("GETDEL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .map_err(|e| store_err(&e))?;
        value.as_deref().map(parse_one_time).transpose()
    }

    async fn peek(&self, lookup_id: &str, _now: u64) -> Result<Option<OneTimeRecord>, StoreError> {
        let _timer = crate::telemetry::store_timer("redis", "peek");
        let key = self.key("ot", lookup_id);
        let mut conn = self.conn.clone();
        let value: Option<String> = conn.get(&key).await.map_err(|e| store_err(&e))?;
        value.as_deref().map(parse_one_time).transpose()
    }
}

/// A one-time record as `put` writes it: `expires_at|hex(verifier)|subject`.
fn parse_one_time(value: &str) -> Result<OneTimeRecord, StoreError> {
    let malformed = || StoreError::new("redis: malformed one-time record");
    let mut parts = value.splitn(3, '|');
    let (Some(exp), Some(verifier), Some(subject)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    let expires_at = exp.parse().map_err(|_| malformed())?;
    let mut v = [0u8; 16];
    if verifier.len() != 32 || !verifier.is_ascii() {
        return Err(malformed());
    }
    for (i, slot) in v.iter_mut().enumerate() {
        *slot = u8::from_str_radix(&verifier[i * 2..i * 2 + 2], 16).map_err(|_| malformed())?;
    }
    Ok(OneTimeRecord {
        verifier: v,
        subject: subject.to_owned(),
        expires_at,
    })
}
