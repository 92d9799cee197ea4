//! The gate (S4) and the rundown count (S6f) in one atomic word.
//!
//! Every entry point except startup and cleanup enters through the gate. The
//! high bit says whether the gate is open; the rest counts the calls inside the
//! provider. Entering is one `fetch_add`, so the hot path takes no lock (S14);
//! the final cleanup closes the gate and then waits for the count to reach zero
//! before it frees anything (S6f).

use super::error::WsaError;
use super::sync::{AtomicU64, Ordering};

const OPEN: u64 = 1 << 63;

#[derive(Debug)]
pub(crate) struct Gate {
    word: AtomicU64,
}

impl Default for Gate {
    /// A closed gate with nobody inside.
    fn default() -> Self {
        Gate { word: AtomicU64::new(0) }
    }
}

impl Gate {
    /// Counts the caller in. `WSANOTINITIALISED` when the gate is closed (S4);
    /// then the caller is not counted.
    pub(crate) fn enter(&self) -> Result<(), WsaError> {
        let before = self.word.fetch_add(1, Ordering::AcqRel);
        if before & OPEN == 0 {
            self.leave();
            return Err(WsaError::NotInitialised);
        }
        Ok(())
    }

    /// Counts the caller out; true when the gate is closed and the caller was
    /// the last one inside, so a waiting cleanup must be woken.
    pub(crate) fn leave(&self) -> bool {
        let before = self.word.fetch_sub(1, Ordering::AcqRel);
        before == 1
    }

    pub(crate) fn open(&self) {
        self.word.fetch_or(OPEN, Ordering::AcqRel);
    }

    pub(crate) fn close(&self) {
        self.word.fetch_and(!OPEN, Ordering::AcqRel);
    }

    pub(crate) fn is_open(&self) -> bool {
        self.word.load(Ordering::Acquire) & OPEN != 0
    }

    /// Calls inside the provider now.
    pub(crate) fn inside(&self) -> u64 {
        self.word.load(Ordering::Acquire) & !OPEN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// S4: a closed gate turns callers away and counts nobody.
    #[test]
    fn s4_closed_gate_rejects_and_counts_nobody() {
        let g = Gate::default();
        assert_eq!(g.enter(), Err(WsaError::NotInitialised));
        assert_eq!(g.inside(), 0);
        g.open();
        g.enter().unwrap();
        g.enter().unwrap();
        assert_eq!(g.inside(), 2);
        g.close();
        assert_eq!(g.enter(), Err(WsaError::NotInitialised));
        assert!(!g.leave());
        assert!(g.leave(), "the last one out of a closed gate wakes the cleanup");
        assert_eq!(g.inside(), 0);
    }
}
