//! The gate (S4) and the rundown count (S6f).
//!
//! Every entry point except startup and cleanup enters through the gate. The
//! count of calls inside is split over cache-padded stripes (one chosen per
//! thread), and **each stripe carries its own copy of the open bit** in the
//! same word. Entering is one `fetch_add` on the caller's stripe, whose result
//! says whether the gate was open: a single read-modify-write, so the
//! argument needs only the modification order of that one word, no fences
//! and no sequential consistency (which is also what loom can check; see
//! `loom_models.rs`). Closing clears the bit in every stripe; after that, a
//! call either saw its stripe closed, or is counted in it until it leaves.
//! Threads on different stripes share no cache line, so the hot path neither
//! locks nor bounces a counter between cores (S14).

use super::error::WsaError;
use crate::sync::{AtomicU64, Ordering};
use crossbeam_utils::CachePadded;

/// Stripes of the count; more than the cores a provider is likely to see.
pub(crate) const STRIPES: usize = 16;

const OPEN: u64 = 1 << 63;

#[derive(Debug)]
pub(crate) struct Gate {
    stripes: [CachePadded<AtomicU64>; STRIPES],
}

impl Default for Gate {
    /// A closed gate with nobody inside.
    fn default() -> Self {
        Gate {
            stripes: std::array::from_fn(|_| CachePadded::new(AtomicU64::new(0))),
        }
    }
}

/// The stripe of the calling thread.
#[cfg(not(loom))]
pub(crate) fn my_stripe() -> usize {
    use std::sync::atomic::AtomicUsize;
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static STRIPE: usize = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % STRIPES;
    }
    STRIPE.with(|s| *s)
}

/// Under loom the models pick stripes explicitly with [`Gate::enter_on`].
#[cfg(loom)]
pub(crate) fn my_stripe() -> usize {
    0
}

impl Gate {
    /// Counts the caller in on `stripe`. `WSANOTINITIALISED` when the gate is
    /// closed (S4); then the caller is not counted, and must wake a waiting
    /// cleanup (it may have seen the brief increment).
    pub(crate) fn enter_on(&self, stripe: usize) -> Result<(), WsaError> {
        let before = self.stripes[stripe].fetch_add(1, Ordering::AcqRel);
        if before & OPEN == 0 {
            self.stripes[stripe].fetch_sub(1, Ordering::AcqRel);
            return Err(WsaError::NotInitialised);
        }
        Ok(())
    }

    /// Counts the caller out of `stripe`. Returns whether the gate is closed,
    /// in which case a waiting cleanup must be woken.
    pub(crate) fn leave(&self, stripe: usize) -> bool {
        let before = self.stripes[stripe].fetch_sub(1, Ordering::AcqRel);
        before & OPEN == 0
    }

    pub(crate) fn open(&self) {
        for s in &self.stripes {
            s.fetch_or(OPEN, Ordering::AcqRel);
        }
    }

    pub(crate) fn close(&self) {
        for s in &self.stripes {
            s.fetch_and(!OPEN, Ordering::AcqRel);
        }
    }

    pub(crate) fn is_open(&self) -> bool {
        self.stripes[0].load(Ordering::Acquire) & OPEN != 0
    }

    /// Calls inside the provider now.
    pub(crate) fn inside(&self) -> u64 {
        self.stripes
            .iter()
            .map(|s| s.load(Ordering::Acquire) & !OPEN)
            .sum()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// S4: a closed gate turns callers away and counts nobody.
    #[test]
    fn s4_closed_gate_rejects_and_counts_nobody() {
        let g = Gate::default();
        assert_eq!(g.enter_on(0), Err(WsaError::NotInitialised));
        assert_eq!(g.inside(), 0);
        g.open();
        g.enter_on(0).unwrap();
        g.enter_on(3).unwrap();
        assert_eq!(g.inside(), 2);
        g.close();
        assert_eq!(g.enter_on(1), Err(WsaError::NotInitialised));
        assert!(g.leave(0), "leaving a closed gate wakes the cleanup");
        g.leave(3);
        assert_eq!(g.inside(), 0);
    }
}
