//! A [`Waiter`] on real time and real threads: what the ABI shim and any
//! threaded host use. It lives outside the core because it reads the OS clock
//! and parks OS threads.

use crate::core::notifier::ThreadKey;
use crate::core::waiter::{WaitResult, Waiter};
use crate::sync::lock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// Parks the calling thread on a condition variable until woken or timed out.
///
/// ```
/// use winsock_provider::{ThreadWaiter, WaitResult, Waiter};
/// use std::time::Duration;
/// let w = ThreadWaiter::new();
/// let deadline = w.now() + Duration::from_millis(1);
/// assert_eq!(w.wait_until(Some(deadline), &mut || false), WaitResult::TimedOut);
/// assert_eq!(w.wait_until(None, &mut || true), WaitResult::Ready);
/// ```
#[derive(Debug)]
pub struct ThreadWaiter {
    epoch: Instant,
    /// Bumped by every wake, so a wake between a check and the park is not lost.
    wakes: Mutex<u64>,
    cv: Condvar,
}

impl Default for ThreadWaiter {
    fn default() -> Self {
        Self::new()
    }
}

impl ThreadWaiter {
    /// A waiter whose clock starts now.
    pub fn new() -> Self {
        ThreadWaiter {
            epoch: Instant::now(),
            wakes: Mutex::new(0),
            cv: Condvar::new(),
        }
    }

    fn wakes(&self) -> std::sync::MutexGuard<'_, u64> {
        lock!(self.wakes)
    }
}

static NEXT_THREAD: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static THREAD: u64 = NEXT_THREAD.fetch_add(1, Ordering::Relaxed);
}

/// Even a lost wake costs at most this long.
const RECHECK: Duration = Duration::from_millis(50);

impl Waiter for ThreadWaiter {
    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    fn current_thread(&self) -> ThreadKey {
        ThreadKey(THREAD.with(|t| *t))
    }

    fn wait_until(
        &self,
        deadline: Option<Duration>,
        ready: &mut dyn FnMut() -> bool,
    ) -> WaitResult {
        loop {
            let seen = *self.wakes();
            if ready() {
                return WaitResult::Ready;
            }
            let now = self.now();
            let park = match deadline {
                Some(d) if now >= d => return WaitResult::TimedOut,
                Some(d) => (d - now).min(RECHECK),
                None => RECHECK,
            };
            let guard = self.wakes();
            if *guard == seen {
                let _unused = self.cv.wait_timeout(guard, park);
            }
        }
    }

    fn wake_all(&self) {
        *self.wakes() += 1;
        self.cv.notify_all();
    }
}
