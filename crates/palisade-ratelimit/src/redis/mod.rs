//! Limits shared by a fleet through Redis, and the Redis store for login throttling.

mod any;
mod backend;
mod limiter;
mod login;

pub use any::{AnyLimiter, AnyLoginStore};
pub use backend::{ConnectError, RedisBackend, RedisConfig};
pub use limiter::{RedisLimiter, RedisLimiterConfig};
pub use login::RedisLoginStore;
