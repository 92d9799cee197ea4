//! Time and waiting, supplied by the host.
//!
//! The core owns no thread and never sleeps. When a call must wait (a blocking
//! receive, a lingering close, the final cleanup's rundown and drain), it asks
//! the host's [`Waiter`] to block the calling thread until a condition holds.
//! The ABI shim parks the thread for real
//! ([`ThreadWaiter`](crate::ThreadWaiter)); the mock advances its virtual
//! network and clock ([`MockWaiter`](crate::mock::MockWaiter)).

use super::notifier::ThreadKey;
use std::time::Duration;

/// Whether a wait ended because its condition held.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum WaitResult {
    /// The condition holds.
    Ready,
    /// The deadline passed first.
    TimedOut,
}

/// The host's clock and parking. The core owns no thread and never sleeps:
/// when a call must wait (a blocking receive, a lingering close, the final
/// cleanup's rundown and drain), it asks the host's waiter to block the
/// calling thread until a condition holds. The ABI shim parks the thread for
/// real ([`ThreadWaiter`](crate::ThreadWaiter)); the mock advances its
/// virtual network and clock ([`MockWaiter`](crate::mock::MockWaiter)).
pub trait Waiter: Send + Sync {
    /// Time since the waiter's epoch (real or virtual).
    fn now(&self) -> Duration;

    /// The calling application thread (for completion routines and for
    /// `cancel_blocking_call`).
    fn current_thread(&self) -> ThreadKey;

    /// Blocks until `ready()` is true or `now() >= deadline`. The core calls this
    /// holding no lock; `ready` takes the locks it needs. An implementation must
    /// re-check `ready` after every [`wake_all`](Waiter::wake_all).
    fn wait_until(&self, deadline: Option<Duration>, ready: &mut dyn FnMut() -> bool)
    -> WaitResult;

    /// Something changed: every blocked [`wait_until`](Waiter::wait_until)
    /// re-checks its condition.
    fn wake_all(&self);
}
