//! [`MockWaiter`]: the core's clock and parking, over the network's virtual
//! time. A blocked caller drives the network itself until its condition holds.

use super::network::Network;
use super::state::StepOutcome;
use crate::core::notifier::ThreadKey;
use crate::core::waiter::{WaitResult, Waiter};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long a waiter with nothing to pump and no deadline sleeps (real time)
/// before looking again, in case a change came without a wake.
const REAL_POLL: Duration = Duration::from_millis(5);

thread_local! {
    /// A simulated thread id set by the test for this OS thread.
    static CURRENT: Cell<Option<ThreadKey>> = const { Cell::new(None) };
    /// The id each network gave this OS thread when it first asked.
    static ASSIGNED: RefCell<BTreeMap<u64, ThreadKey>> = const { RefCell::new(BTreeMap::new()) };
}

/// A [`Waiter`] over a [`Network`]'s virtual time.
///
/// `wait_until` loops: condition true → `Ready`; virtual deadline reached →
/// `TimedOut`; otherwise it pumps the network one step. When the network is
/// idle it moves the clock to the deadline, or, with no deadline, sleeps a
/// few real milliseconds (woken early by [`wake_all`](Waiter::wake_all) or
/// any network change) so that another OS thread can release it. Several
/// threads may wait and pump at once. It never holds a network lock while
/// calling the condition.
///
/// Virtual time is global: a waiter with a deadline on an idle network jumps
/// the clock to that deadline even if another OS thread was about to act.
/// Tests that need a precise interleaving should drive one thread at a time.
#[derive(Clone, Debug)]
pub struct MockWaiter {
    net: Network,
}

impl MockWaiter {
    /// A waiter over `net`.
    pub fn new(net: &Network) -> Self {
        MockWaiter { net: net.clone() }
    }

    /// The network it pumps.
    pub fn network(&self) -> &Network {
        &self.net
    }

    /// Names the calling OS thread `thread` for every `MockWaiter` (a
    /// simulated application thread; what completion routines are queued to).
    pub fn set_current_thread(thread: ThreadKey) {
        CURRENT.set(Some(thread));
    }

    /// Forgets [`set_current_thread`](Self::set_current_thread) for the calling
    /// OS thread: it gets its default id again.
    pub fn clear_current_thread() {
        CURRENT.set(None);
    }
}

impl Waiter for MockWaiter {
    fn now(&self) -> Duration {
        self.net.now()
    }

    /// The id set with [`MockWaiter::set_current_thread`], else a stable id
    /// per OS thread and network: 1, 2, ... in the order the threads first ask.
    fn current_thread(&self) -> ThreadKey {
        if let Some(t) = CURRENT.get() {
            return t;
        }
        ASSIGNED.with_borrow_mut(|m| {
            *m.entry(self.net.id())
                .or_insert_with(|| self.net.next_thread_key())
        })
    }

    fn wait_until(
        &self,
        deadline: Option<Duration>,
        ready: &mut dyn FnMut() -> bool,
    ) -> WaitResult {
        loop {
            // Read before checking, so a change between the check and the
            // sleep is not missed.
            let seen = self.net.epoch();
            if ready() {
                return WaitResult::Ready;
            }
            if deadline.is_some_and(|d| self.net.now() >= d) {
                return WaitResult::TimedOut;
            }
            if self.net.step_bounded(deadline) == StepOutcome::Idle {
                self.net.wait_for_change(seen, REAL_POLL);
            }
        }
    }

    fn wake_all(&self) {
        self.net.touch();
    }
}
