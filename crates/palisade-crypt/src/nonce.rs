//! Message nonces: 96 random bits per message from a user-space generator that the OS seeds.
//!
//! A system call per message costs more than sealing a small field, so nonces come from a
//! cryptographic generator in the process, as in `BoringSSL`, AWS-LC and `rand`'s `ThreadRng`:
//! one `ChaCha12` generator per thread (`chacha20`'s `ChaCha12Rng`, the generator behind
//! `rand`'s `StdRng` and `ThreadRng`), seeded with 256 bits from the OS (`getrandom`)
//! and reseeded after [`RESEED_INTERVAL`] nonces.
//!
//! Its one hazard is duplication: a forked child starts with a copy of its parent's state and
//! would draw the parent's next nonces, under the same subkeys. `rand` 0.9 and later do not
//! reseed on fork, and catching a fork cheaply (`pthread_atfork`, a page the kernel wipes in
//! the child with `MADV_WIPEONFORK`) needs `unsafe`, which this crate forbids. So each draw
//! compares the process id with the one the generator was seeded under, and a child (whose
//! pid is new) reseeds before its first nonce. Reading the pid is a system call on current
//! glibc, cheaper than `getrandom` but most of a draw's cost.
//!
//! Both backends use this generator. AWS-LC's own `RAND_bytes` detects a fork without a system
//! call, but it mixes CPU randomness (`RDRAND`) into every call for prediction resistance,
//! which measured slower than `getrandom` itself on the bench machine (docs/benchmarks.md).
//!
//! The state is not secret in the way keys are: knowing it predicts nonces, which are public
//! in every ciphertext anyway; AES-GCM needs them unique, not unpredictable.

use crate::format::NONCE_LEN;

/// Nonces one thread draws from one seed before it reseeds from the OS.
pub(crate) const RESEED_INTERVAL: u32 = 4096;

/// The generator failed to obtain entropy from the OS.
#[derive(Debug)]
pub(crate) struct RandomFailed;

/// A fresh 96-bit nonce.
pub(crate) fn draw() -> Result<[u8; NONCE_LEN], RandomFailed> {
    chacha::draw(std::process::id())
}

/// The generator: per-thread `ChaCha12`, reseeded by count and by pid.
pub(crate) mod chacha {
    #[cfg(test)]
    use std::cell::Cell;
    use std::cell::RefCell;

    use chacha20::{
        ChaCha12Rng,
        rand_core::{Rng as _, SeedableRng as _},
    };
    use zeroize::Zeroizing;

    use super::{NONCE_LEN, RESEED_INTERVAL, RandomFailed};

    struct Generator {
        rng: ChaCha12Rng,
        /// The process the seed was drawn in.
        pid: u32,
        /// Nonces left before the next reseed.
        left: u32,
    }

    impl Generator {
        fn seed(pid: u32) -> Result<Self, RandomFailed> {
            let mut seed = Zeroizing::new([0u8; 32]);
            getrandom::fill(seed.as_mut()).map_err(|_| RandomFailed)?;
            #[cfg(test)]
            SEEDS.with(|s| s.set(s.get() + 1));
            Ok(Self {
                rng: ChaCha12Rng::from_seed(*seed),
                pid,
                left: RESEED_INTERVAL,
            })
        }
    }

    thread_local! {
        static GENERATOR: RefCell<Option<Generator>> = const { RefCell::new(None) };
    }

    #[cfg(test)]
    thread_local! {
        /// How often this thread has seeded its generator (for the tests of reseeding only).
        static SEEDS: Cell<u64> = const { Cell::new(0) };
    }

    /// A nonce, for a caller running as process `pid`.
    pub(crate) fn draw(pid: u32) -> Result<[u8; NONCE_LEN], RandomFailed> {
        let mut nonce = [0u8; NONCE_LEN];
        let drawn = GENERATOR.try_with(|cell| {
            let mut slot = cell.try_borrow_mut().map_err(|_| RandomFailed)?;
            let generator = match slot.as_mut() {
                Some(g) if g.pid == pid && g.left > 0 => g,
                _ => slot.insert(Generator::seed(pid)?),
            };
            generator.left -= 1;
            generator.rng.fill_bytes(&mut nonce);
            Ok(())
        });
        match drawn {
            Ok(result) => result.map(|()| nonce),
            // The thread is being torn down (a destructor encrypting): straight from the OS.
            Err(_) => getrandom::fill(&mut nonce)
                .map(|()| nonce)
                .map_err(|_| RandomFailed),
        }
    }

    /// How often this thread has seeded its generator.
    #[cfg(test)]
    pub(crate) fn seeds() -> u64 {
        SEEDS.with(Cell::get)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// A fresh thread, so the counts below start from an unseeded generator.
    fn on_new_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::spawn(f).join().expect("thread")
    }

    #[test]
    fn the_generator_reseeds_after_the_interval() {
        on_new_thread(|| {
            let pid = std::process::id();
            assert_eq!(chacha::seeds(), 0);
            chacha::draw(pid).expect("draw");
            assert_eq!(chacha::seeds(), 1, "seeded on first use");
            for _ in 1..RESEED_INTERVAL {
                chacha::draw(pid).expect("draw");
            }
            assert_eq!(chacha::seeds(), 1, "one seed serves the whole interval");
            chacha::draw(pid).expect("draw");
            assert_eq!(chacha::seeds(), 2, "reseeded once the interval is spent");
        });
    }

    /// A forked child sees a new pid: it must reseed before its first nonce, not continue the
    /// stream it inherited. (`tests/nonces.rs` does this with a real `fork`.)
    #[test]
    fn the_generator_reseeds_when_the_process_id_changes() {
        on_new_thread(|| {
            let pid = std::process::id();
            chacha::draw(pid).expect("draw");
            chacha::draw(pid).expect("draw");
            assert_eq!(chacha::seeds(), 1);
            chacha::draw(pid.wrapping_add(1)).expect("draw");
            assert_eq!(chacha::seeds(), 2, "a new pid reseeds");
            chacha::draw(pid.wrapping_add(1)).expect("draw");
            assert_eq!(chacha::seeds(), 2, "the same pid does not");
        });
    }

    #[test]
    fn nonces_do_not_repeat_across_reseeds() {
        on_new_thread(|| {
            let pid = std::process::id();
            let n = 3 * RESEED_INTERVAL as usize + 7;
            let seen: HashSet<_> = (0..n).map(|_| chacha::draw(pid).expect("draw")).collect();
            assert_eq!(seen.len(), n);
            assert_eq!(chacha::seeds(), 4);
        });
    }

    /// The nonce encryption uses: never all zeros, never repeating.
    #[test]
    fn draw_gives_distinct_nonces() {
        let seen: HashSet<_> = (0..10_000).map(|_| draw().expect("draw")).collect();
        assert_eq!(seen.len(), 10_000);
        assert!(!seen.contains(&[0u8; NONCE_LEN]));
    }
}
