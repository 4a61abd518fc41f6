//! Request ids without a system call for randomness per request.
//!
//! tower-http's `MakeRequestUuid` asks the OS for 16 random bytes on every request
//! (`getrandom`), which costs more than most of the layers it serves together. [`RequestUuids`]
//! makes the same ids (random version 4 UUIDs, hyphenated, lower case) from one `ChaCha12`
//! generator per thread (`chacha20`'s `ChaCha12Rng`, the generator behind `rand`'s `ThreadRng`),
//! seeded with 256 bits from the OS and reseeded after [`RESEED_INTERVAL`] ids.
//!
//! A forked child starts with a copy of its parent's generator and would repeat the parent's
//! next ids. `forkguard` registers a `pthread_atfork` handler that counts forks in the child (the
//! `unsafe` registration is that crate's; this one forbids it), and each generator remembers
//! the count it was seeded under: a child sees a new count and reseeds before its first id, at
//! the cost of one atomic load per id. Comparing process ids, the other way, costs a system call
//! per id (`getpid`, which glibc no longer caches): 4 % of the in-process authenticated GET
//! (docs/benchmarks.md). A handler runs for every fork made through the C library (`fork`,
//! and anything built on it); a child made by a raw `clone` system call, which skips the
//! handlers, is not caught. If the handler cannot be registered (the C library is out of
//! memory), the request goes on without an id, as when the OS gives no seed.

use std::cell::RefCell;

use bytes::Bytes;
use chacha20::{
    ChaCha12Rng,
    rand_core::{Rng as _, SeedableRng as _},
};
use http::{HeaderValue, Request};
use tower_http::request_id::{MakeRequestId, RequestId};
use uuid::{Builder, fmt::Hyphenated};
use zeroize::Zeroizing;

/// Ids one thread makes from one seed before it reseeds from the OS.
const RESEED_INTERVAL: u32 = 1 << 16;

/// Makes each request's id: a random (version 4) UUID such as
/// `1b4e28ba-2fa1-4d2b-883f-0016d3cca427`, the format of tower-http's `MakeRequestUuid`, from a
/// per-thread generator the OS seeds, safe across `fork` (see the module source for the design).
///
/// [`RequestIdLayer`](crate::RequestIdLayer) makes its ids with it unless told otherwise; it
/// also works in tower-http's `SetRequestIdLayer`:
///
/// ```
/// use palisade_http::{
///     ClientRequestIdLayer, RequestUuids,
///     tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer},
/// };
/// use tower::ServiceBuilder;
///
/// let stack = ServiceBuilder::new()
///     .layer(ClientRequestIdLayer::new())
///     .layer(SetRequestIdLayer::x_request_id(RequestUuids::new()))
///     .layer(PropagateRequestIdLayer::x_request_id());
/// # let _ = stack;
/// ```
///
/// If the OS cannot seed the generator, the request goes on without an id (as with a
/// `MakeRequestId` that returns `None`) rather than with a predictable one.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestUuids;

impl RequestUuids {
    /// The id maker.
    pub fn new() -> Self {
        Self
    }
}

impl MakeRequestId for RequestUuids {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        let mut text = [0u8; Hyphenated::LENGTH];
        text_of(draw()?, &mut text);
        // The id's one allocation, shared by reference count with every copy tower-http makes
        // (the request header, the extension, the response header). A value copied from a
        // slice would allocate again on its first clone.
        HeaderValue::from_maybe_shared(Bytes::from_owner(text))
            .ok()
            .map(RequestId::new)
    }
}

/// The id made of 16 random bytes: a version 4 UUID (the version and variant bits set over
/// the random ones), hyphenated, lower case, written into `buf`.
fn text_of(random: [u8; 16], buf: &mut [u8; Hyphenated::LENGTH]) -> &str {
    Builder::from_random_bytes(random)
        .into_uuid()
        .hyphenated()
        .encode_lower(buf)
}

struct Generator {
    rng: ChaCha12Rng,
    /// The fork count when the seed was drawn.
    forks: forkguard::Guard,
    /// Ids left before the next reseed.
    left: u32,
}

impl Generator {
    fn seed() -> Option<Self> {
        // First, so that the handler is registered before there is a stream to repeat.
        let forks = forkguard::Guard::try_new().ok()?;
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut()).ok()?;
        #[cfg(test)]
        tests::SEEDS.with(|s| s.set(s.get() + 1));
        Some(Self {
            rng: ChaCha12Rng::from_seed(*seed),
            forks,
            left: RESEED_INTERVAL,
        })
    }
}

thread_local! {
    static GENERATOR: RefCell<Option<Generator>> = const { RefCell::new(None) };
}

/// 16 random bytes; `None` if the OS gives no seed.
fn draw() -> Option<[u8; 16]> {
    let mut bytes = [0u8; 16];
    let drawn = GENERATOR.try_with(|cell| {
        let mut slot = cell.try_borrow_mut().ok()?;
        let usable = slot
            .as_mut()
            .is_some_and(|g| g.left > 0 && !g.forks.detected_fork());
        let generator = match slot.as_mut() {
            Some(g) if usable => g,
            _ => slot.insert(Generator::seed()?),
        };
        generator.left -= 1;
        generator.rng.fill_bytes(&mut bytes);
        Some(())
    });
    match drawn {
        Ok(done) => done.map(|()| bytes),
        // The thread is being torn down: straight from the OS.
        Err(_) => getrandom::fill(&mut bytes).ok().map(|()| bytes),
    }
}

#[cfg(test)]
mod tests {
    use std::{cell::Cell, collections::HashSet};

    use super::*;

    thread_local! {
        /// How often this thread has seeded its generator.
        pub(super) static SEEDS: Cell<u32> = const { Cell::new(0) };
    }

    fn seeds() -> u32 {
        SEEDS.with(Cell::get)
    }

    /// A fresh thread, so the counts below start from an unseeded generator.
    fn on_new_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::spawn(f).join().expect("thread")
    }

    #[test]
    fn ids_are_version_4_uuids_in_the_hyphenated_form() {
        let mut make = RequestUuids::new();
        let request = Request::new(());
        for _ in 0..1000 {
            let id = make.make_request_id(&request).expect("an id");
            let text = id.header_value().to_str().expect("ASCII");
            assert_eq!(text.len(), 36, "{text}");
            for (i, c) in text.char_indices() {
                if matches!(i, 8 | 13 | 18 | 23) {
                    assert_eq!(c, '-', "{text}");
                } else {
                    assert!(matches!(c, '0'..='9' | 'a'..='f'), "{text}");
                }
            }
            assert_eq!(&text[14..15], "4", "version: {text}");
            assert!(
                matches!(&text[19..20], "8" | "9" | "a" | "b"),
                "variant: {text}"
            );
        }
    }

    /// The random bytes show in the text as they are, apart from the version and variant bits.
    #[test]
    fn the_text_is_the_bytes_with_the_version_and_variant_set() {
        let bytes: [u8; 16] = core::array::from_fn(|i| (i as u8) * 17);
        let mut buf = [0u8; Hyphenated::LENGTH];
        assert_eq!(
            text_of(bytes, &mut buf),
            "00112233-4455-4677-8899-aabbccddeeff"
        );
        assert_eq!(
            text_of([0xff; 16], &mut buf),
            "ffffffff-ffff-4fff-bfff-ffffffffffff"
        );
        assert_eq!(
            text_of([0; 16], &mut buf),
            "00000000-0000-4000-8000-000000000000"
        );
    }

    #[test]
    fn ids_do_not_repeat_across_reseeds() {
        on_new_thread(|| {
            let n = 2 * RESEED_INTERVAL as usize + 7;
            let seen: HashSet<_> = (0..n).map(|_| draw().expect("draw")).collect();
            assert_eq!(seen.len(), n);
            assert_eq!(seeds(), 3, "reseeded each time the interval was spent");
        });
    }

    /// Without a fork, the generator keeps its seed until the interval is spent. (A forked
    /// child reseeds before its first id: `tests/request_uuids_fork.rs` forks for real.)
    #[test]
    fn without_a_fork_one_seed_serves_the_interval() {
        on_new_thread(|| {
            for _ in 0..1000 {
                draw().expect("draw");
            }
            assert_eq!(seeds(), 1);
        });
    }
}
