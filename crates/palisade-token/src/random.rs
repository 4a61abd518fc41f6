//! Randomness from the operating system.

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Fills `buf` from the OS.
///
/// # Panics
/// If the operating system's random number generator fails: no token can be made safely
/// then, and continuing with predictable values would be worse than stopping.
pub(crate) fn fill(buf: &mut [u8]) {
    #[allow(clippy::expect_used)]
    getrandom::fill(buf).expect("the operating system's random number generator failed");
}

/// `n` uniformly random base62 characters (rejection sampling: bytes >= 248 are dropped).
/// 43 characters carry 256 bits.
pub(crate) fn base62(n: usize) -> String {
    base62_from(n, fill)
}

/// `n` base62 characters drawn from the byte source `source` (called with a 64-byte buffer
/// until enough bytes survive the rejection sampling of [`base62`]).
pub(crate) fn base62_from(n: usize, mut source: impl FnMut(&mut [u8])) -> String {
    let mut out = String::with_capacity(n);
    let mut buf = [0u8; 64];
    while out.len() < n {
        source(&mut buf);
        for b in buf {
            if b < 248 && out.len() < n {
                out.push(char::from(BASE62[usize::from(b % 62)]));
            }
        }
    }
    out
}

/// A random 128-bit identifier, base64url.
pub(crate) fn id_128() -> String {
    let mut buf = [0u8; 16];
    fill(&mut buf);
    crate::jwt::b64::encode(&buf)
}

/// 32 random bytes.
pub(crate) fn bytes_32() -> [u8; 32] {
    let mut buf = [0u8; 32];
    fill(&mut buf);
    buf
}
