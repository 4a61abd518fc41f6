//! A memory budget for concurrent hashes, and a pool that reuses Argon2's working memory.
//!
//! Argon2 is memory-hard on purpose: at the default 19 MiB, fifty concurrent logins need
//! about 1 GiB. The budget admits a hash only while the memory of the hashes in flight stays
//! within it; past that a caller waits up to `max_wait` and then gets a "busy" error, which a
//! server turns into 503 instead of being killed for running out of memory.
//!
//! Freed working memory is kept in a pool and handed to the next hash of the same size, which
//! skips the allocation and page faults of a fresh 19 MiB buffer. By default the pool may hold
//! the whole budget, so at one parameter set no buffer is ever given back to the allocator:
//! glibc's allocator keeps freed blocks of this size in its heaps instead of returning them to
//! the system, and under a burst of logins from many threads those heaps fragment and grow
//! without bound (measured with the reference service: 2.7 GiB resident after 30 s of logins
//! at 16 and 64 connections with a 512 MiB budget and a 128 MiB pool, against 516 MiB with
//! every such block mapped and unmapped on its own). With the pool as large as the budget,
//! memory stays at what the budget admits: buffers in flight plus idle ones never exceed it. Argon2's blocks are
//! derived from the password, so a buffer is zeroized when its hash ends: before it goes back
//! to the pool (idle pooled memory holds nothing), or before it is freed (the raw `argon2`
//! crate frees its memory uncleared). The clear runs outside the pool's lock.

use std::{
    fmt,
    sync::{Condvar, Mutex, MutexGuard, PoisonError},
    time::{Duration, Instant},
};

use argon2::Block;
use zeroize::Zeroize;

/// One buffer of Argon2 blocks (1 KiB each), and whether it is known to be all zeros.
pub(crate) struct Buffer {
    blocks: Vec<Block>,
    clean: bool,
}

impl Buffer {
    fn new(blocks: usize) -> Self {
        Self {
            blocks: vec![Block::new(); blocks],
            clean: true,
        }
    }

    fn kib(&self) -> u64 {
        self.blocks.len() as u64
    }

    /// The blocks, to be filled: the buffer is no longer known to be clean.
    pub(crate) fn blocks(&mut self) -> &mut [Block] {
        self.clean = false;
        &mut self.blocks
    }

    /// Zeroizes the blocks in place (keeping their length, unlike `Vec::zeroize`) unless they
    /// are known to be zero already.
    fn clear(&mut self) {
        if !self.clean {
            self.blocks.iter_mut().for_each(Zeroize::zeroize);
            self.clean = true;
        }
    }

    #[cfg(test)]
    fn is_all_zeros(&self) -> bool {
        self.blocks
            .iter()
            .all(|block| block.as_ref().iter().all(|&word| word == 0))
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        self.clear();
    }
}

struct State {
    /// Buffers allocated (not taken from the pool), for tests of reuse.
    #[cfg(test)]
    allocated: u64,
    /// KiB reserved by hashes in flight.
    in_use_kib: u64,
    /// KiB held by idle pooled buffers.
    pooled_kib: u64,
    /// Highest `in_use_kib` seen, for tests of the budget.
    #[cfg(test)]
    peak_kib: u64,
    pool: Vec<Buffer>,
}

/// Admits hashes while their memory fits a budget; reuses their buffers.
pub(crate) struct MemoryBudget {
    budget_kib: u64,
    pool_kib: u64,
    max_wait: Duration,
    state: Mutex<State>,
    freed: Condvar,
}

impl fmt::Debug for MemoryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryBudget")
            .field("budget_kib", &self.budget_kib)
            .field("pool_kib", &self.pool_kib)
            .field("max_wait", &self.max_wait)
            .finish_non_exhaustive()
    }
}

/// The budget was exhausted for longer than `max_wait`.
#[derive(Debug)]
pub(crate) struct Busy;

impl MemoryBudget {
    pub(crate) fn new(budget_kib: u64, pool_kib: u64, max_wait: Duration) -> Self {
        crate::telemetry::budget_capacity(budget_kib, true);
        Self {
            budget_kib,
            pool_kib: pool_kib.min(budget_kib),
            max_wait,
            state: Mutex::new(State {
                #[cfg(test)]
                allocated: 0,
                in_use_kib: 0,
                pooled_kib: 0,
                #[cfg(test)]
                peak_kib: 0,
                pool: Vec::new(),
            }),
            freed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is a pair of counters and a list of buffers, consistent after every
        // statement; a panic elsewhere while holding the lock cannot leave it half-updated.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reserves `kib` of the budget, waiting up to `max_wait`. With `with_buffer`, the permit
    /// carries an Argon2 buffer of exactly `kib` blocks, from the pool when one fits.
    pub(crate) fn acquire(&self, kib: u64, with_buffer: bool) -> Result<Permit<'_>, Busy> {
        if kib > self.budget_kib {
            return Err(Busy);
        }
        let deadline = Instant::now() + self.max_wait;
        let mut state = self.lock();
        while state.in_use_kib + kib > self.budget_kib {
            let now = Instant::now();
            if now >= deadline {
                return Err(Busy);
            }
            state = self
                .freed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        state.in_use_kib += kib;
        crate::telemetry::permits(kib, true);
        #[cfg(test)]
        {
            state.peak_kib = state.peak_kib.max(state.in_use_kib);
        }
        let mut reused = None;
        if with_buffer && let Some(i) = state.pool.iter().position(|b| b.kib() == kib) {
            let buffer = state.pool.swap_remove(i);
            state.pooled_kib -= kib;
            reused = Some(buffer);
        }
        // Idle buffers must not push the total over budget once this one is allocated.
        let mut evicted = Vec::new();
        while state.in_use_kib + state.pooled_kib > self.budget_kib {
            let Some(buffer) = state.pool.pop() else {
                break;
            };
            state.pooled_kib -= buffer.kib();
            evicted.push(buffer);
        }
        #[cfg(test)]
        if with_buffer && reused.is_none() {
            state.allocated += 1;
        }
        drop(state);
        drop(evicted); // zeroized and freed outside the lock
        let buffer = match reused {
            Some(buffer) => Some(buffer),
            None if with_buffer => Some(Buffer::new(kib as usize)),
            None => None,
        };
        Ok(Permit {
            budget: self,
            kib,
            buffer,
        })
    }

    fn release(&self, kib: u64, mut buffer: Option<Buffer>) {
        if let Some(buffer) = &mut buffer {
            buffer.clear();
        }
        let mut state = self.lock();
        state.in_use_kib -= kib;
        crate::telemetry::permits(kib, false);
        let mut dropped = None;
        if let Some(buffer) = buffer {
            if state.pooled_kib + buffer.kib() <= self.pool_kib {
                state.pooled_kib += buffer.kib();
                state.pool.push(buffer);
            } else {
                dropped = Some(buffer);
            }
        }
        drop(state);
        self.freed.notify_all();
        drop(dropped);
    }

    /// (in use, pooled) KiB.
    #[cfg(test)]
    pub(crate) fn snapshot(&self) -> (u64, u64) {
        let state = self.lock();
        (state.in_use_kib, state.pooled_kib)
    }

    /// Whether every idle pooled buffer is all zeros, and how many there are.
    #[cfg(test)]
    pub(crate) fn pool_is_all_zeros(&self) -> (bool, usize) {
        let state = self.lock();
        (
            state.pool.iter().all(Buffer::is_all_zeros),
            state.pool.len(),
        )
    }

    /// (budget, pool, wait): the settings this budget was built with.
    #[cfg(test)]
    pub(crate) fn settings(&self) -> (u64, u64, Duration) {
        (self.budget_kib, self.pool_kib, self.max_wait)
    }

    /// Buffers allocated so far (not taken from the pool).
    #[cfg(test)]
    pub(crate) fn allocated(&self) -> u64 {
        self.lock().allocated
    }

    /// The highest in-use KiB seen.
    #[cfg(test)]
    pub(crate) fn peak_kib(&self) -> u64 {
        self.lock().peak_kib
    }
}

impl Drop for MemoryBudget {
    fn drop(&mut self) {
        crate::telemetry::budget_capacity(self.budget_kib, false);
    }
}

/// A reservation of budget, released on drop.
pub(crate) struct Permit<'a> {
    budget: &'a MemoryBudget,
    kib: u64,
    buffer: Option<Buffer>,
}

impl Permit<'_> {
    /// The Argon2 buffer, when one was asked for.
    pub(crate) fn buffer(&mut self) -> Option<&mut Buffer> {
        self.buffer.as_mut()
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.budget.release(self.kib, self.buffer.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_within_budget_and_refuses_beyond() {
        let budget = MemoryBudget::new(100, 100, Duration::ZERO);
        let a = budget.acquire(60, true).unwrap();
        assert!(budget.acquire(50, true).is_err());
        let b = budget.acquire(40, false).unwrap();
        assert_eq!(budget.snapshot(), (100, 0));
        drop(a);
        assert_eq!(budget.snapshot(), (40, 60));
        // The pooled 60 KiB buffer is reused, not added to.
        let c = budget.acquire(60, true).unwrap();
        assert_eq!(budget.snapshot(), (100, 0));
        drop((b, c));
        assert!(budget.acquire(101, false).is_err());
    }

    /// A buffer that held a hash's blocks is all zeros once it is back in the pool.
    #[test]
    fn pooled_buffer_is_all_zeros_after_return() {
        let budget = MemoryBudget::new(100, 100, Duration::ZERO);
        let mut permit = budget.acquire(8, true).unwrap();
        for block in permit.buffer().unwrap().blocks() {
            block.as_mut().fill(0x5a5a_5a5a_5a5a_5a5a);
        }
        drop(permit);
        assert_eq!(budget.pool_is_all_zeros(), (true, 1));
    }

    #[test]
    fn idle_buffers_are_evicted_to_stay_in_budget() {
        let budget = MemoryBudget::new(100, 100, Duration::ZERO);
        drop(budget.acquire(70, true).unwrap());
        assert_eq!(budget.snapshot(), (0, 70));
        let p = budget.acquire(50, true).unwrap();
        assert_eq!(budget.snapshot(), (50, 0));
        drop(p);
    }

    /// With the pool as large as the budget (the default), bursts at one size reuse the
    /// buffers of the first burst: nothing goes back to the allocator to fragment its heaps.
    #[test]
    fn a_pool_as_large_as_the_budget_allocates_each_buffer_once() {
        let budget = MemoryBudget::new(40, u64::MAX, Duration::ZERO);
        for _ in 0..3 {
            let burst: Vec<_> = (0..4).map(|_| budget.acquire(10, true).unwrap()).collect();
            assert!(budget.acquire(10, true).is_err(), "the budget still bounds");
            drop(burst);
        }
        assert_eq!(budget.allocated(), 4);
        assert_eq!(budget.snapshot(), (0, 40));
        // A pool smaller than the burst frees buffers, and the next burst allocates again.
        let small = MemoryBudget::new(40, 20, Duration::ZERO);
        for _ in 0..3 {
            let burst: Vec<_> = (0..4).map(|_| small.acquire(10, true).unwrap()).collect();
            drop(burst);
        }
        assert_eq!(small.allocated(), 8);
    }

    #[test]
    fn waiters_are_woken_by_a_release() {
        let budget = std::sync::Arc::new(MemoryBudget::new(10, 10, Duration::from_secs(30)));
        let held = budget.acquire(10, false).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::scope(|s| {
            s.spawn(|| {
                let permit = budget.acquire(10, false);
                tx.send(permit.is_ok()).unwrap();
            });
            drop(held);
            assert!(rx.recv().unwrap());
        });
    }
}
