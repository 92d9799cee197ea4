//! The synchronisation primitives of the crate, and its one lock helper.
//!
//! The core's lock-free and per-operation paths (the gate, the operation
//! record, the socket table) take their primitives from here: under
//! `--cfg loom` they are loom's, so the models in `core/loom_models.rs`
//! explore every interleaving of the real code.
//!
//! [`lock!`](crate::sync::lock) is how every module of the crate locks a
//! mutex, loom's or std's.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::{Arc, Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, Mutex, MutexGuard};

/// Locks a mutex (std's or loom's) and goes on when another holder
/// panicked. Every mutex of the crate guards plain data changed by whole
/// stores (an entry inserted or removed, a state replaced), so a panic
/// elsewhere cannot leave it half written; poisoning would instead turn
/// every later call into a second panic, and no panic may cross the ABI
/// (S12).
macro_rules! lock {
    ($mutex:expr) => {
        match $mutex.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    };
}
pub(crate) use lock;
