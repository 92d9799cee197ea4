//! The shared handle to a mock network: nodes, provider instances, the
//! virtual clock and the step loop.

mod faults;
mod services;

use super::config::NetworkConfig;
use super::ids::NodeId;
use super::state::NetState;
use super::state::StepOutcome;
use super::stats::NetworkStats;
use crate::core::notifier::ThreadKey;
use crate::sync::lock;
use std::cell::Cell;
use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// Distinguishes networks in thread-local tables (simulated thread ids).
static NEXT_NETWORK: AtomicU64 = AtomicU64::new(1);

struct Shared {
    id: u64,
    state: Mutex<NetState>,
    /// Bumped whenever something changes; waiters sleep on `changed` until
    /// it moves (or a short real-time timeout passes).
    epoch: Mutex<u64>,
    changed: Condvar,
    /// Threads sleeping on `changed`: with none, a change wakes nobody (a
    /// system call on every change otherwise).
    sleepers: AtomicUsize,
    next_thread: AtomicU64,
    /// Held from a step until its sink calls are made, so that with several
    /// threads pumping, the sinks still hear of steps in step order.
    order: Mutex<()>,
}

thread_local! {
    /// This thread is making a step's sink calls: a step started from inside
    /// one (a sink that pumps) must not wait for `order`, which it holds.
    static DELIVERING: Cell<bool> = const { Cell::new(false) };
}

/// Marks the thread as delivering until dropped (also on a panic in a sink).
struct Delivering(bool);

impl Delivering {
    fn start() -> Self {
        Delivering(DELIVERING.replace(true))
    }
}

impl Drop for Delivering {
    fn drop(&mut self) {
        DELIVERING.set(self.0);
    }
}

/// An in-memory, deterministic IPv4 network with virtual time.
///
/// Cheap to clone (an `Arc` inside); every clone is the same network. Build
/// it with a seed, add nodes, and give each provider a
/// [`transport`](Network::transport) and a [`MockWaiter`](super::MockWaiter).
/// Nothing moves by itself: data travels when someone calls
/// [`step`](Network::step) (directly, through [`run_until_idle`](Network::run_until_idle)
/// or [`advance`](Network::advance), or from a waiter blocked in the core).
///
/// ```
/// use winsock_provider::mock::Network;
/// let net = Network::new(7);
/// let node = net.add_node("10.0.0.1".parse().unwrap());
/// let _transport = net.transport(node);
/// assert!(net.is_idle());
/// assert_eq!(net.now(), std::time::Duration::ZERO);
/// ```
#[derive(Clone)]
pub struct Network {
    shared: Arc<Shared>,
}

impl Network {
    /// A network with the default [`NetworkConfig`]. The seed fixes the order
    /// of simultaneous events: same seed, same run, on any OS.
    pub fn new(seed: u64) -> Self {
        Self::with_config(seed, NetworkConfig::default())
    }

    /// A network with this configuration.
    pub fn with_config(seed: u64, config: NetworkConfig) -> Self {
        Network {
            shared: Arc::new(Shared {
                id: NEXT_NETWORK.fetch_add(1, Ordering::Relaxed),
                state: Mutex::new(NetState::new(seed, config)),
                epoch: Mutex::new(0),
                changed: Condvar::new(),
                sleepers: AtomicUsize::new(0),
                next_thread: AtomicU64::new(1),
                order: Mutex::new(()),
            }),
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> NetworkConfig {
        self.lock().config.clone()
    }

    /// Adds a host with this address (adding an address twice gives the
    /// same node). An IPv4 or an IPv6 address: a socket of either family
    /// uses the node's first address of its family.
    ///
    /// ```
    /// use winsock_provider::mock::Network;
    /// let net = Network::new(1);
    /// let node = net.add_node("10.0.0.1".parse().unwrap());
    /// assert!(net.add_address(node, "fd00::1".parse().unwrap()));
    /// assert_eq!(net.node_addrs(node).len(), 2);
    /// ```
    pub fn add_node(&self, ip: IpAddr) -> NodeId {
        self.mutate(|st| st.add_node(ip))
    }

    /// Gives a node one more address (its IPv6 address beside its IPv4
    /// one, say). `false`, and nothing changes, when another node has it
    /// or `node` is not a node of this network.
    pub fn add_address(&self, node: NodeId, ip: IpAddr) -> bool {
        self.mutate(|st| st.add_address(node, ip))
    }

    /// The first address of a node.
    pub fn node_addr(&self, node: NodeId) -> Option<IpAddr> {
        self.lock()
            .nodes
            .get(&node)
            .and_then(|a| a.first().copied())
    }

    /// Every address of a node, in the order they were given.
    pub fn node_addrs(&self, node: NodeId) -> Vec<IpAddr> {
        self.lock().nodes.get(&node).cloned().unwrap_or_default()
    }

    /// Virtual time since the network was built.
    pub fn now(&self) -> Duration {
        self.lock().now
    }

    /// One unit of progress (deliver a segment, datagram, FIN or RST; move a
    /// segment from a send buffer onto the wire; let a service read; finish
    /// the pending operations of a socket; hand over queued notifications).
    /// When several are due, the seeded RNG picks one. When none is due,
    /// the clock moves to the next scheduled event. Returns false only when
    /// nothing at all is scheduled.
    pub fn step(&self) -> bool {
        self.step_bounded(None) != StepOutcome::Idle
    }

    /// Steps until idle, at most `max_steps` times; returns the steps taken.
    pub fn run_until_idle(&self, max_steps: usize) -> usize {
        let mut n = 0;
        while n < max_steps && self.step() {
            n += 1;
        }
        n
    }

    /// Runs everything due up to `now() + by`, then leaves the clock there.
    pub fn advance(&self, by: Duration) {
        let target = self.now() + by;
        while self.step_bounded(Some(target)) != StepOutcome::Idle {}
    }

    /// Whether nothing is due and nothing is scheduled. While the network is
    /// [down](Network::set_down), what is frozen on the wire does not count:
    /// a down network is idle once its queued notifications are delivered.
    pub fn is_idle(&self) -> bool {
        self.lock().is_idle()
    }

    /// The counters.
    pub fn stats(&self) -> NetworkStats {
        self.lock().stats()
    }

    /// Starts (clearing it) or stops recording a trace of everything that
    /// happens, one line per event, stamped with virtual time.
    pub fn set_tracing(&self, on: bool) {
        self.lock().trace = on.then(Vec::new);
    }

    /// The trace recorded so far (emptied; tracing stays on).
    pub fn take_trace(&self) -> Vec<String> {
        self.lock()
            .trace
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, NetState> {
        lock!(self.shared.state)
    }

    /// Runs a change that is not a step (a transport call, a fault, a
    /// setting): what it wants to tell the sinks waits for the next step,
    /// because its caller may hold the core's locks.
    pub(crate) fn mutate<R>(&self, f: impl FnOnce(&mut NetState) -> R) -> R {
        let (r, graves) = {
            let mut st = self.lock();
            let r = f(&mut st);
            st.defer_out();
            (r, std::mem::take(&mut st.graveyard))
        };
        drop(graves);
        self.touch();
        r
    }

    /// One step that may move the clock up to `limit` (see
    /// `NetState::step_bounded`); the sink calls are made after the state
    /// lock is released (the locking rule), but before another thread's step
    /// (the order of events is the order of steps).
    pub(crate) fn step_bounded(&self, limit: Option<Duration>) -> StepOutcome {
        let _order = (!DELIVERING.get()).then(|| lock!(self.shared.order));
        let (outcome, deliveries, graves) = {
            let mut st = self.lock();
            let outcome = st.step_bounded(limit);
            (
                outcome,
                st.take_deliveries(),
                std::mem::take(&mut st.graveyard),
            )
        };
        drop(graves);
        {
            let _mark = Delivering::start();
            for d in deliveries {
                d.run();
            }
        }
        if outcome != StepOutcome::Idle {
            self.touch();
        }
        outcome
    }

    /// The change counter (see [`wait_for_change`](Self::wait_for_change)).
    pub(crate) fn epoch(&self) -> u64 {
        *lock!(self.shared.epoch)
    }

    /// Something changed: wake every waiter.
    pub(crate) fn touch(&self) {
        *lock!(self.shared.epoch) += 1;
        // A sleeper counts itself under the epoch lock before it sleeps, so
        // one that missed this change is counted here already.
        if self.shared.sleepers.load(Ordering::SeqCst) > 0 {
            self.shared.changed.notify_all();
        }
    }

    /// Sleeps (real time, at most `timeout`) unless the epoch moved past `seen`.
    pub(crate) fn wait_for_change(&self, seen: u64, timeout: Duration) {
        let g = lock!(self.shared.epoch);
        if *g == seen {
            self.shared.sleepers.fetch_add(1, Ordering::SeqCst);
            drop(self.shared.changed.wait_timeout(g, timeout));
            self.shared.sleepers.fetch_sub(1, Ordering::SeqCst);
        }
    }

    pub(crate) fn id(&self) -> u64 {
        self.shared.id
    }

    /// The next simulated thread id of this network (1, 2, ...).
    /// Keys handed out automatically carry the top bit, so they never equal
    /// a key a test or simulator names with `MockWaiter::set_current_thread`.
    pub(crate) fn next_thread_key(&self) -> ThreadKey {
        ThreadKey(AUTO_THREAD_BIT | self.shared.next_thread.fetch_add(1, Ordering::Relaxed))
    }
}

/// The bit that marks an automatically assigned thread key.
pub(crate) const AUTO_THREAD_BIT: u64 = 1 << 63;

impl fmt::Debug for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Network");
        d.field("id", &self.shared.id);
        // try_lock: Debug must not deadlock if printed while the lock is held.
        if let Ok(st) = self.shared.state.try_lock() {
            d.field("now", &st.now)
                .field("nodes", &st.nodes)
                .field("endpoints", &st.endpoints.len());
        }
        d.finish_non_exhaustive()
    }
}
