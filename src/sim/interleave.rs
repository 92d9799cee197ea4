//! Application threads in a [`Simulation`](super::Simulation), interleaved
//! deterministically.
//!
//! Each simulated thread is an OS thread, but only one runs at a time: a
//! baton passes between them and the scheduler, and the scheduler (seeded)
//! decides who gets it next: a thread about to make its next call, a thread
//! blocked inside the provider whose wait might now be over, or the network
//! for one step. A thread gives the baton back before each call and
//! whenever it would block (the provider waits through [`SimWaiter`]), so
//! the same seed gives the same interleaving, and the same trace, on any OS.
//! A final cleanup racing blocked calls, a close racing a receive, a
//! lingering close waiting on a slow reader: each is one seed away.
//!
//! Startup and cleanup take the provider's lifecycle lock, which a final
//! cleanup holds while it waits for calls to leave. Make them with
//! [`AppThread::startup`] and [`AppThread::cleanup`], which the scheduler
//! runs one at a time, as the lock would: a thread blocked on a real lock
//! cannot hand the baton back. A thread that keeps the baton for more than
//! [`STUCK_AFTER`] of real time ends the run with an error instead of a hang.

use super::action::SeededBytes;
use super::trace::{Event, Tracer};
use crate::core::notifier::ThreadKey;
use crate::core::waiter::{WaitResult, Waiter};
use crate::mock::{MockTransport, MockWaiter, Network};
use crate::sync::lock;
use crate::{Notifier, Provider, Version, WsaError, WsaResult};
use std::cell::RefCell;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// The provider of a simulated process.
pub type SimProvider = Provider<MockTransport, SimWaiter>;

/// How long a thread may keep the baton (real time) before the run is
/// declared stuck.
pub const STUCK_AFTER: Duration = Duration::from_secs(10);

/// The most scheduling decisions one run makes.
pub const MAX_DECISIONS: usize = 1_000_000;

/// Where a simulated thread is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    /// About to make its next call (or to start).
    Ready {
        /// The call is a startup or cleanup.
        lifecycle: bool,
    },
    /// Inside the provider, waiting; `seen` is the change count when it
    /// last looked.
    Blocked {
        deadline: Option<Duration>,
        seen: u64,
    },
    /// Finished.
    Done,
}

struct State {
    /// Who runs: a thread's index, or `None` for the scheduler.
    holder: Option<usize>,
    phases: Vec<Phase>,
    /// Inside a startup or cleanup.
    in_lifecycle: Vec<bool>,
    /// Moves whenever something may have changed.
    changes: u64,
    /// The run is over: every wait returns at once.
    abandoned: bool,
}

/// The baton, shared by the scheduler and the threads.
struct Baton {
    state: Mutex<State>,
    turn: Condvar,
}

impl Baton {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking thread cannot leave `State` half written (every
        // change is a store or two): carry on.
        lock!(self.state)
    }

    /// Gives the baton to the scheduler as `phase`, and waits for it back.
    /// `false` when the run was abandoned.
    fn yield_as(&self, me: usize, phase: Phase) -> bool {
        let mut st = self.lock();
        st.phases[me] = phase;
        st.holder = None;
        self.turn.notify_all();
        while st.holder != Some(me) && !st.abandoned {
            st = self.turn.wait(st).unwrap_or_else(|p| p.into_inner());
        }
        !st.abandoned
    }
}

thread_local! {
    /// The simulated thread this OS thread is, in a run.
    static CURRENT: RefCell<Option<(Arc<Baton>, usize)>> = const { RefCell::new(None) };
}

/// The waiter of a simulated process: inside a threaded run it hands the
/// baton back while it waits; elsewhere it is a [`MockWaiter`] (the caller
/// pumps the network itself).
#[derive(Clone, Debug)]
pub struct SimWaiter {
    inner: MockWaiter,
}

impl SimWaiter {
    /// A waiter over `net`.
    pub fn new(net: &Network) -> Self {
        SimWaiter {
            inner: MockWaiter::new(net),
        }
    }
}

impl Waiter for SimWaiter {
    fn now(&self) -> Duration {
        self.inner.now()
    }

    fn current_thread(&self) -> ThreadKey {
        self.inner.current_thread()
    }

    fn wait_until(
        &self,
        deadline: Option<Duration>,
        ready: &mut dyn FnMut() -> bool,
    ) -> WaitResult {
        let Some((baton, me)) = CURRENT.with_borrow(|c| c.clone()) else {
            return self.inner.wait_until(deadline, ready);
        };
        loop {
            if ready() {
                return WaitResult::Ready;
            }
            if deadline.is_some_and(|d| self.inner.now() >= d) {
                return WaitResult::TimedOut;
            }
            let seen = baton.lock().changes;
            if !baton.yield_as(me, Phase::Blocked { deadline, seen }) {
                // Abandoned: nobody will ever run the network for us again.
                return WaitResult::TimedOut;
            }
        }
    }

    fn wake_all(&self) {
        self.inner.wake_all();
    }
}

/// What a simulated thread's body gets: its process's provider, and calls
/// that are traced and interleaved.
pub struct AppThread<'a> {
    name: String,
    me: usize,
    baton: Arc<Baton>,
    provider: &'a SimProvider,
    notifier: Arc<dyn Notifier>,
    tracer: &'a Tracer,
    net: &'a Network,
}

impl AppThread<'_> {
    /// The thread's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The provider (for calls that need no trace and no interleaving).
    pub fn provider(&self) -> &SimProvider {
        self.provider
    }

    /// Makes a call, after the scheduler lets it (so calls of different
    /// threads interleave as the seed says), and traces it with its result.
    /// `WSASYSCALLFAILURE` without calling when the run was abandoned.
    pub fn call<R: std::fmt::Debug>(
        &self,
        what: &str,
        call: impl FnOnce(&SimProvider) -> WsaResult<R>,
    ) -> WsaResult<R> {
        self.run(what, String::new(), false, || call(self.provider))
    }

    /// `WSPStartup` (one lifecycle call at a time, as the provider's
    /// lifecycle lock would; see [`Simulation::run_threads`](super::Simulation::run_threads)).
    pub fn startup(&self, version: Version) -> WsaResult<crate::Negotiated> {
        self.run("WSPStartup", version.to_string(), true, || {
            self.provider.startup(version, self.notifier.clone())
        })
    }

    /// `WSPCleanup` (one lifecycle call at a time, as the provider's
    /// lifecycle lock would; see [`Simulation::run_threads`](super::Simulation::run_threads)).
    pub fn cleanup(&self) -> WsaResult<crate::CleanupOutcome> {
        self.run("WSPCleanup", String::new(), true, || {
            self.provider.cleanup().map_err(|e| e.error)
        })
    }

    fn run<R: std::fmt::Debug>(
        &self,
        what: &str,
        args: String,
        lifecycle: bool,
        call: impl FnOnce() -> WsaResult<R>,
    ) -> WsaResult<R> {
        if !self.baton.yield_as(self.me, Phase::Ready { lifecycle }) {
            return Err(WsaError::SystemCallFailure);
        }
        self.baton.lock().in_lifecycle[self.me] = lifecycle;
        let r = call();
        self.baton.lock().in_lifecycle[self.me] = false;
        if self.tracer.wanted() {
            let event = Event::call(what, None, args, &r);
            self.tracer.record(self.net.now(), Some(&self.name), event);
        }
        r
    }
}

/// A thread to run: its process's provider and notifier, a name, a body.
pub(crate) struct Spawn<'env> {
    pub(crate) name: String,
    pub(crate) key: ThreadKey,
    pub(crate) provider: &'env SimProvider,
    pub(crate) notifier: Arc<dyn Notifier>,
    pub(crate) body: Box<dyn FnOnce(&AppThread<'_>) + Send + 'env>,
}

/// How a threaded run ended.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct ThreadsReport {
    /// Scheduling decisions made.
    pub decisions: usize,
    /// Threads still blocked when nothing could move any more (with no
    /// deadline to wait for): a deadlock of the application, or a wait the
    /// provider should have ended.
    pub blocked_forever: Vec<String>,
    /// Why the run was cut short, if it was: a thread kept the baton too
    /// long (blocked outside the provider's waiter), or too many decisions.
    pub cut_short: Option<String>,
}

/// What the scheduler may do next.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Choice {
    Thread(usize),
    Network,
}

/// Runs `threads` to the end, interleaved by `seed`; `after` is called after
/// every decision (to trace notifications).
pub(crate) fn run(
    seed: u64,
    net: &Network,
    tracer: &Tracer,
    threads: Vec<Spawn<'_>>,
    mut after: impl FnMut(),
) -> ThreadsReport {
    let n = threads.len();
    let names: Vec<String> = threads.iter().map(|t| t.name.clone()).collect();
    let baton = Arc::new(Baton {
        state: Mutex::new(State {
            holder: None,
            phases: vec![Phase::Ready { lifecycle: false }; n],
            in_lifecycle: vec![false; n],
            changes: 0,
            abandoned: false,
        }),
        turn: Condvar::new(),
    });
    let mut rng = SeededBytes::new(seed);
    let mut report = ThreadsReport::default();
    std::thread::scope(|scope| {
        for (me, t) in threads.into_iter().enumerate() {
            let baton = baton.clone();
            scope.spawn(move || {
                MockWaiter::set_current_thread(t.key);
                CURRENT.set(Some((baton.clone(), me)));
                let ctx = AppThread {
                    name: t.name,
                    me,
                    baton: baton.clone(),
                    provider: t.provider,
                    notifier: t.notifier,
                    tracer,
                    net,
                };
                // The first turn: nothing runs before the scheduler says so.
                let mut st = baton.lock();
                while st.holder != Some(me) && !st.abandoned {
                    st = baton.turn.wait(st).unwrap_or_else(|p| p.into_inner());
                }
                drop(st);
                (t.body)(&ctx);
                CURRENT.set(None);
                let mut st = baton.lock();
                st.phases[me] = Phase::Done;
                st.holder = None;
                baton.turn.notify_all();
            });
        }
        schedule(
            &baton,
            net,
            &mut rng,
            tracer,
            &names,
            &mut report,
            &mut after,
        );
    });
    report
}

fn schedule(
    baton: &Baton,
    net: &Network,
    rng: &mut SeededBytes,
    tracer: &Tracer,
    names: &[String],
    report: &mut ThreadsReport,
    after: &mut impl FnMut(),
) {
    loop {
        let mut st = baton.lock();
        while st.holder.is_some() {
            let (g, timeout) = baton
                .turn
                .wait_timeout(st, STUCK_AFTER)
                .unwrap_or_else(|p| p.into_inner());
            st = g;
            if timeout.timed_out() && st.holder.is_some() {
                let who = st.holder.map(|i| names[i].clone()).unwrap_or_default();
                report.cut_short = Some(format!(
                    "{who} kept running for {STUCK_AFTER:?} without reaching a call or a \
                     wait: blocked outside the provider's waiter (a lock?)"
                ));
                return abandon(baton, st);
            }
        }
        st.changes += 1;
        drop(st);
        after();
        let mut st = baton.lock();
        if st.phases.iter().all(|p| *p == Phase::Done) {
            return;
        }
        if report.decisions >= MAX_DECISIONS {
            report.cut_short = Some(format!("{MAX_DECISIONS} scheduling decisions"));
            return abandon(baton, st);
        }
        let lifecycle_busy = st.in_lifecycle.iter().any(|&b| b);
        let mut choices: Vec<Choice> = st
            .phases
            .iter()
            .enumerate()
            .filter(|&(_, p)| match *p {
                Phase::Ready { lifecycle } => !(lifecycle && lifecycle_busy),
                Phase::Blocked { seen, .. } => seen < st.changes - 1,
                Phase::Done => false,
            })
            .map(|(i, _)| Choice::Thread(i))
            .collect();
        if !net.is_idle() {
            choices.push(Choice::Network);
        }
        if choices.is_empty() {
            // Only time can help: move the clock to the nearest deadline.
            let nearest = st
                .phases
                .iter()
                .filter_map(|p| match p {
                    Phase::Blocked { deadline, .. } => *deadline,
                    _ => None,
                })
                .min();
            match nearest {
                Some(d) => {
                    drop(st);
                    net.advance(d.saturating_sub(net.now()));
                    continue;
                }
                None => {
                    report.blocked_forever = st
                        .phases
                        .iter()
                        .enumerate()
                        .filter(|(_, p)| matches!(p, Phase::Blocked { .. }))
                        .map(|(i, _)| names[i].clone())
                        .collect();
                    return abandon(baton, st);
                }
            }
        }
        report.decisions += 1;
        tracer.next_step();
        let pick = choices[pick_index(rng, choices.len())];
        match pick {
            Choice::Thread(i) => {
                st.holder = Some(i);
                baton.turn.notify_all();
            }
            Choice::Network => {
                drop(st);
                net.step();
            }
        }
    }
}

/// Ends the run: every thread is released and every wait returns at once.
fn abandon(baton: &Baton, mut st: MutexGuard<'_, State>) {
    st.abandoned = true;
    baton.turn.notify_all();
}

fn pick_index(rng: &mut SeededBytes, n: usize) -> usize {
    let mut word = 0u64;
    for _ in 0..8 {
        word = (word << 8) | u64::from(rng.next().unwrap_or(0));
    }
    (word % n as u64) as usize
}
