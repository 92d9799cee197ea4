//! [`Simulation`]: the one simulated world that every simulation of this
//! crate is built on.
//!
//! Processes (each a provider with a recording notifier) live on the nodes
//! of one mock network, beside network-resident services. The simulation
//! owns everything a run needs once: the network, the processes, faults
//! (a crash among them, S11), and the trace of every call with its result,
//! every notification delivered or suppressed (and why) and every fault.
//! All randomness comes from the seed and time is virtual, so the same
//! program gives the same trace, byte for byte, on any OS.
//!
//! Its bookkeeping grows with what is alive, not with what has happened:
//! notifications pass through it to whoever observes them, and the trace is
//! kept only when asked ([`Simulation::keep_trace`]).
//!
//! ```
//! use winsock_provider::sim::Simulation;
//! use winsock_provider::{AddressFamily, CompletionMode, EventKey, MsgFlags, OpState, OverlappedRequest,
//!     SocketFlags, SocketKind, Version, WsaError};
//!
//! let mut sim = Simulation::new(42);
//! let app = sim.add_process("app", "10.0.0.1".parse().unwrap());
//! let echo = "10.0.0.9:7".parse().unwrap();
//! sim.add_echo(echo);
//!
//! sim.call(app, "WSPStartup", |p, n| p.startup(Version::new(2, 2), n)).unwrap();
//! let s = sim.call(app, "WSPSocket", |p, _| p.socket(AddressFamily::Inet, SocketKind::Stream, SocketFlags::OVERLAPPED)).unwrap();
//! sim.call(app, "WSPConnect", |p, _| p.connect(s, echo)).unwrap();
//!
//! // What happens if the last cleanup runs while this receive is pending?
//! let req = OverlappedRequest::new(CompletionMode::Event(EventKey(1)));
//! let record = req.overlapped.clone();
//! let r = sim.call(app, "WSPRecv", |p, _| p.recv(s, 100, MsgFlags::empty(), Some(req)));
//! assert_eq!(r.unwrap_err(), WsaError::IoPending);
//! sim.call(app, "WSPCleanup", |p, _| p.cleanup().map_err(|e| e.error)).unwrap();
//!
//! assert_eq!(record.state(), OpState::AbortedSilent);
//! assert!(sim.notes(app).delivered().is_empty());
//! assert!(sim.trace_text().contains("suppressed by the final cleanup (S6c)"));
//! ```

use super::interleave::{self, AppThread, SimProvider, SimWaiter, Spawn, ThreadsReport};
use super::trace::{CallResult, Event, TraceEvent, TraceSink, Tracer};
use crate::core::notifier::{EventKey, Notification, Notifier, Suppressed, ThreadKey, WindowKey};
use crate::mock::{Network, NodeId, Record, RecordingNotifier, ServiceId};
use crate::sync::lock;
use crate::{FdEvents, Provider, ProviderConfig, SocketHandle, WsaError, WsaResult};
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A process of the simulation.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ProcessId(usize);

/// What a process's notifier was asked to do, as the simulation saw it:
/// what a model checks (see [`Simulation::observe`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observation {
    /// A completion delivered to the application.
    Delivered(ProcessId, Record),
    /// A completion kept from the application (S6c, S11).
    Suppressed(ProcessId, Record, Suppressed),
}

/// A call as the trace names it: the SPI entry, the socket, the other
/// arguments in words. A plain `&str` names the entry alone.
#[derive(Clone, Debug, Default)]
pub struct Call {
    entry: String,
    socket: Option<SocketHandle>,
    args: String,
}

impl Call {
    /// A call of `entry` (`"WSPRecv"`) on `socket`.
    pub fn on(entry: &str, socket: SocketHandle) -> Self {
        Call {
            entry: entry.to_string(),
            socket: Some(socket),
            args: String::new(),
        }
    }

    /// With its other arguments, in words.
    pub fn args(mut self, args: impl Into<String>) -> Self {
        self.args = args.into();
        self
    }
}

impl From<&str> for Call {
    fn from(entry: &str) -> Self {
        Call {
            entry: entry.to_string(),
            ..Call::default()
        }
    }
}

/// A rule a faulty notifier breaks on purpose, to show that a checker
/// catches it (`wspsim --break s6c`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BrokenRule {
    /// S6c: completions the final cleanup suppresses are delivered instead.
    S6c,
}

/// What every process's notifier shares: the observations not yet
/// collected, and the S11 watch.
#[derive(Default)]
struct Shared {
    queue: Mutex<Vec<Observation>>,
    /// Notifications made to a process after it crashed (S11: never).
    after_crash: AtomicUsize,
    break_s6c: AtomicBool,
}

/// The notifier a process's provider gets: it records into the process's
/// [`RecordingNotifier`] and queues what it saw for the simulation; after a
/// crash it records nothing and counts whatever still comes (S11).
struct Tap {
    process: ProcessId,
    notes: RecordingNotifier,
    shared: Arc<Shared>,
    crashed: AtomicBool,
}

impl Tap {
    fn alive(&self) -> bool {
        if self.crashed.load(Ordering::Acquire) {
            self.shared.after_crash.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        true
    }
}

impl Notifier for Tap {
    fn deliver(&self, n: &Notification) {
        if self.alive() {
            self.notes.deliver(n);
            lock!(self.shared.queue).push(Observation::Delivered(self.process, Record::of(n)));
        }
    }

    fn suppressed(&self, n: &Notification, why: Suppressed) {
        if why == Suppressed::FinalCleanup && self.shared.break_s6c.load(Ordering::Relaxed) {
            // The deliberately broken build of `wspsim --break s6c`.
            return self.deliver(n);
        }
        Notifier::suppressed(&self.notes, n, why);
        let record = Record::of(n);
        lock!(self.shared.queue).push(Observation::Suppressed(self.process, record, why));
    }

    fn network_event(
        &self,
        socket: SocketHandle,
        event: EventKey,
        events: FdEvents,
        error: Option<WsaError>,
    ) {
        if self.alive() {
            self.notes.network_event(socket, event, events, error);
        }
    }

    fn post_message(
        &self,
        socket: SocketHandle,
        window: WindowKey,
        msg: u32,
        events: FdEvents,
        error: Option<WsaError>,
    ) {
        if self.alive() {
            self.notes.post_message(socket, window, msg, events, error);
        }
    }

    fn handle_released(&self, socket: SocketHandle) {
        if self.alive() {
            self.notes.handle_released(socket);
        }
    }
}

struct Process {
    name: String,
    node: NodeId,
    config: ProviderConfig,
    provider: SimProvider,
    notes: RecordingNotifier,
    tap: Arc<Tap>,
}

/// An application thread for [`Simulation::run_threads`]: which process it
/// belongs to, its name, and what it does.
pub struct ThreadSpec<'env> {
    process: ProcessId,
    name: String,
    body: Box<dyn FnOnce(&AppThread<'_>) + Send + 'env>,
}

impl<'env> ThreadSpec<'env> {
    /// A thread of `process` named `name` that runs `body`.
    pub fn new(
        process: ProcessId,
        name: &str,
        body: impl FnOnce(&AppThread<'_>) + Send + 'env,
    ) -> Self {
        ThreadSpec {
            process,
            name: name.to_string(),
            body: Box::new(body),
        }
    }
}

/// A simulated world: processes on the nodes of one mock network, services,
/// faults, and the trace of everything that happened. See
/// [`sim`](crate::sim) for an example.
pub struct Simulation {
    seed: u64,
    net: Network,
    config: ProviderConfig,
    procs: Vec<Process>,
    tracer: Arc<Tracer>,
    shared: Arc<Shared>,
    /// Observations collected for whoever observes ([`observe`](Self::observe)).
    observed: Mutex<Option<Vec<Observation>>>,
    /// Threaded runs so far (each gets its own schedule from the seed).
    runs: u64,
}

impl std::fmt::Debug for Simulation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulation")
            .field("processes", &self.procs.len())
            .field("step", &self.tracer.step())
            .field("now", &self.net.now())
            .finish_non_exhaustive()
    }
}

impl Simulation {
    /// An empty world whose every choice follows `seed`; its trace is kept.
    pub fn new(seed: u64) -> Self {
        Self::with_config(seed, ProviderConfig::default())
    }

    /// An empty world whose processes use `config`.
    pub fn with_config(seed: u64, config: ProviderConfig) -> Self {
        Simulation {
            seed,
            net: Network::new(seed),
            config,
            procs: Vec::new(),
            tracer: Arc::new(Tracer::new(true)),
            shared: Arc::default(),
            observed: Mutex::new(None),
            runs: 0,
        }
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The network, for anything this type does not wrap (buffer sizes,
    /// service statistics, more faults).
    pub fn network(&self) -> &Network {
        &self.net
    }

    /// Virtual time.
    pub fn now(&self) -> Duration {
        self.net.now()
    }

    /// A process named `name` on the node at `ip` (created if new): a
    /// provider with the simulation's configuration, not started yet, with
    /// a recording notifier.
    pub fn add_process(&mut self, name: &str, ip: IpAddr) -> ProcessId {
        let config = self.config.clone();
        self.add_process_with(name, ip, config)
    }

    /// [`add_process`](Self::add_process) with a configuration of its own.
    pub fn add_process_with(
        &mut self,
        name: &str,
        ip: IpAddr,
        config: ProviderConfig,
    ) -> ProcessId {
        let node = self.net.add_node(ip);
        let id = ProcessId(self.procs.len());
        let proc = self.new_process(id, name, node, config);
        self.procs.push(proc);
        id
    }

    fn new_process(
        &self,
        id: ProcessId,
        name: &str,
        node: NodeId,
        config: ProviderConfig,
    ) -> Process {
        let notes = RecordingNotifier::new();
        Process {
            name: name.to_string(),
            node,
            config: config.clone(),
            provider: Provider::new(config, self.net.transport(node), SimWaiter::new(&self.net)),
            tap: Arc::new(Tap {
                process: id,
                notes: notes.clone(),
                shared: self.shared.clone(),
                crashed: AtomicBool::new(false),
            }),
            notes,
        }
    }

    /// An echo service at `addr`, in the network (it outlives every process).
    pub fn add_echo(&mut self, addr: SocketAddr) -> ServiceId {
        self.net.add_echo_service(addr)
    }

    /// A discard service at `addr` reading `rate` bytes per millisecond
    /// (`None`: as fast as data comes; `Some(0)`: a stalled reader).
    pub fn add_discard(&mut self, addr: SocketAddr, rate: Option<usize>) -> ServiceId {
        self.net.add_discard_service(addr, rate)
    }

    /// A process's provider, for calls that need no trace.
    pub fn provider(&self, p: ProcessId) -> &SimProvider {
        &self.procs[p.0].provider
    }

    /// A process's name.
    pub fn name(&self, p: ProcessId) -> &str {
        &self.procs[p.0].name
    }

    /// The notifier a process's provider must be started with (what
    /// [`call`](Self::call) hands to `startup`).
    pub fn notifier(&self, p: ProcessId) -> Arc<dyn Notifier> {
        self.procs[p.0].tap.clone()
    }

    /// What a process's notifier recorded (deliveries, suppressions, events,
    /// queued routines and port packets); [`RecordingNotifier::clear`]
    /// forgets it.
    pub fn notes(&self, p: ProcessId) -> &RecordingNotifier {
        &self.procs[p.0].notes
    }

    /// Makes one call on a process's provider and traces it with its result,
    /// then whatever it made the notifier do. `call` gets the provider and
    /// the process's notifier (for `startup`). Any call of the SPI goes
    /// through here: blocking ones pump the network until they end.
    pub fn call<R: std::fmt::Debug>(
        &self,
        p: ProcessId,
        what: impl Into<Call>,
        call: impl FnOnce(&SimProvider, Arc<dyn Notifier>) -> WsaResult<R>,
    ) -> WsaResult<R> {
        self.call_shown(p, what, call, CallResult::of)
    }

    /// [`call`](Self::call), with the result shown by `show` (a send or a
    /// receive shows the bytes it moved, [`CallResult::moved`]).
    pub fn call_shown<R>(
        &self,
        p: ProcessId,
        what: impl Into<Call>,
        call: impl FnOnce(&SimProvider, Arc<dyn Notifier>) -> WsaResult<R>,
        show: impl FnOnce(&WsaResult<R>) -> CallResult,
    ) -> WsaResult<R> {
        self.tracer.next_step();
        let proc = &self.procs[p.0];
        let r = call(&proc.provider, proc.tap.clone());
        if self.tracer.wanted() {
            let what = what.into();
            let event = Event::Call {
                call: what.entry,
                socket: what.socket.map(|s| s.to_string()),
                args: what.args,
                result: show(&r),
            };
            self.tracer.record(self.net.now(), Some(&proc.name), event);
        }
        self.collect();
        r
    }

    /// Records an event of the simulation's user (a fault it injected
    /// itself, a broken invariant, a note) at the current step and time.
    pub fn record(&self, process: Option<ProcessId>, event: Event) {
        let name = process.map(|p| self.procs[p.0].name.as_str());
        self.tracer.record(self.net.now(), name, event);
    }

    /// Whether anything would receive a [`record`](Self::record)ed event:
    /// when not, a caller may skip building it.
    pub fn tracing(&self) -> bool {
        self.tracer.wanted()
    }

    /// One network step; `false` when nothing was due at all.
    pub fn step(&self) -> bool {
        self.tracer.next_step();
        let moved = self.net.step();
        self.collect();
        moved
    }

    /// Up to `steps` network steps, traced as one event; returns how many
    /// moved something.
    pub fn run_steps(&self, steps: usize) -> usize {
        let moved = (0..steps).filter(|_| self.net.step()).count();
        self.record(
            None,
            Event::Network {
                steps,
                moved,
                settled: false,
            },
        );
        self.collect();
        moved
    }

    /// Steps until `done` holds (checked before each step) or the network
    /// is idle or `max_steps` were made; returns whether `done` held.
    pub fn run_until(&self, max_steps: usize, mut done: impl FnMut(&Simulation) -> bool) -> bool {
        for _ in 0..max_steps {
            if done(self) {
                return true;
            }
            if !self.step() {
                break;
            }
        }
        done(self)
    }

    /// Runs until nothing is due; returns the steps made.
    pub fn settle(&self) -> usize {
        let steps = self.net.run_until_idle(10_000_000);
        self.record(
            None,
            Event::Network {
                steps,
                moved: steps,
                settled: true,
            },
        );
        self.collect();
        steps
    }

    /// Moves virtual time by `by`, running everything due.
    pub fn advance(&self, by: Duration) {
        self.net.advance(by);
        self.collect();
    }

    /// Fault: the network fails, or comes back.
    pub fn set_network_down(&self, down: bool) {
        self.net.set_down(down);
        let (fault, detail) = if down {
            ("network_down", "network DOWN")
        } else {
            ("network_up", "network up")
        };
        self.record(None, Event::fault(fault, detail));
    }

    /// Fault: a service stops reading (`Some(0)`), reads slowly, or at full
    /// speed again (`None`).
    pub fn set_read_rate(&self, service: ServiceId, rate: Option<usize>) {
        self.net.set_read_rate(service, rate);
        let detail = format!("{service} reads {}", rate_words(rate));
        self.record(None, Event::fault("read_rate", detail));
    }

    /// Fault: the process dies without cleanup (S11): its connections are
    /// reset and it is never told of anything again (anything that still
    /// comes is counted in [`after_crash`](Self::after_crash)). A new
    /// process takes its place (and its id) on the same node, not started.
    pub fn crash(&mut self, p: ProcessId) {
        let (name, node, config) = {
            let proc = &self.procs[p.0];
            proc.tap.crashed.store(true, Ordering::Release);
            proc.provider.crash();
            self.net.crash(proc.provider.transport());
            (proc.name.clone(), proc.node, proc.config.clone())
        };
        self.procs[p.0] = self.new_process(p, &name, node, config);
        self.record(
            Some(p),
            Event::fault("crash", "crashes; a new process starts"),
        );
        self.collect();
    }

    /// Notifications made to processes after they crashed (S11: none, ever).
    pub fn after_crash(&self) -> usize {
        self.shared.after_crash.load(Ordering::Relaxed)
    }

    /// Breaks a rule on purpose in every process's notifier, to show that
    /// a checker catches it (`wspsim --break s6c`).
    pub fn break_rule(&mut self, rule: BrokenRule) {
        match rule {
            BrokenRule::S6c => self.shared.break_s6c.store(true, Ordering::Relaxed),
        }
    }

    /// Application threads of the simulation's processes, run to the end,
    /// interleaved as the seed says: the same seed, the same interleaving.
    /// Each body makes its calls through its [`AppThread`]; blocking calls
    /// block only that thread.
    ///
    /// Each simulated thread is an OS thread, but only one runs at a time: a
    /// baton passes between them and the scheduler, and the scheduler
    /// (seeded) decides who gets it next: a thread about to make its next
    /// call, a thread blocked inside the provider whose wait might now be
    /// over, or the network for one step. A thread gives the baton back
    /// before each call and whenever it would block (the provider waits
    /// through [`SimWaiter`](super::SimWaiter)). A final cleanup racing
    /// blocked calls, a close racing a receive, a lingering close waiting on
    /// a slow reader: each is one seed away.
    ///
    /// Startup and cleanup take the provider's lifecycle lock, which a final
    /// cleanup holds while it waits for calls to leave: make them with
    /// [`AppThread::startup`] and [`AppThread::cleanup`], which the
    /// scheduler runs one at a time, as the lock would. A thread that keeps
    /// the baton for more than [`STUCK_AFTER`](super::STUCK_AFTER) of real
    /// time ends the run with an error instead of a hang.
    pub fn run_threads(&mut self, threads: Vec<ThreadSpec<'_>>) -> ThreadsReport {
        self.runs += 1;
        let seed = self
            .seed
            .wrapping_add(self.runs.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let spawns = threads
            .into_iter()
            .enumerate()
            .map(|(i, t)| {
                let proc = &self.procs[t.process.0];
                Spawn {
                    name: format!("{}/{}", proc.name, t.name),
                    key: ThreadKey(1000 + i as u64),
                    provider: &proc.provider,
                    notifier: proc.tap.clone(),
                    body: t.body,
                }
            })
            .collect();
        let (net, tracer) = (self.net.clone(), self.tracer.clone());
        let report = interleave::run(seed, &net, &tracer, spawns, || self.collect());
        self.collect();
        if let Some(why) = &report.cut_short {
            let message = format!("threaded run cut short: {why}");
            self.record(None, Event::invariant("S6b", message));
        }
        for name in &report.blocked_forever {
            let message = format!("{name}: blocked forever");
            self.record(None, Event::invariant("S6b", message));
        }
        report
    }

    /// Keeps the observations of every process's notifier from now on, for
    /// [`take_observed`](Self::take_observed) (a model that checks them).
    pub fn observe(&self, on: bool) {
        *lock!(self.observed) = on.then(Vec::new);
    }

    /// The observations since the last take (see [`observe`](Self::observe)).
    pub fn take_observed(&self) -> Vec<Observation> {
        self.collect();
        lock!(self.observed)
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Keeps the trace (the default), or not: a long run that nobody reads
    /// the trace of keeps nothing.
    pub fn keep_trace(&self, keep: bool) {
        self.tracer.set_keep(keep);
    }

    /// Hands every event to `sink` as it happens (`None` stops it).
    pub fn stream_trace(&self, sink: Option<TraceSink>) {
        self.tracer.set_sink(sink);
    }

    /// The step the trace stamps events with.
    pub fn trace_step(&self) -> usize {
        self.tracer.step()
    }

    /// Sets the step the trace stamps events with (a driver numbers its
    /// actions; the simulation counts calls and network steps otherwise).
    pub fn set_trace_step(&self, step: usize) {
        self.tracer.set_step(step);
    }

    /// Everything traced so far (kept trace only).
    pub fn trace(&self) -> Vec<TraceEvent> {
        self.tracer.events()
    }

    /// Takes the kept trace, leaving it empty.
    pub fn take_trace(&self) -> Vec<TraceEvent> {
        self.collect();
        self.tracer.take()
    }

    /// The trace as text, one event a line.
    pub fn trace_text(&self) -> String {
        self.trace().iter().fold(String::new(), |mut out, e| {
            let _ = writeln!(out, "{}", e.to_text());
            out
        })
    }

    /// The trace as JSON lines.
    pub fn trace_json(&self) -> String {
        self.trace().iter().fold(String::new(), |mut out, e| {
            let _ = writeln!(out, "{}", e.to_json());
            out
        })
    }

    /// Traces (and, when observed, keeps) what the notifiers did since the
    /// last look.
    fn collect(&self) {
        let new = std::mem::take(&mut *lock!(self.shared.queue));
        if new.is_empty() {
            return;
        }
        if self.tracer.wanted() {
            for o in &new {
                let (p, event) = match o {
                    Observation::Delivered(p, r) => (*p, Event::notified(r)),
                    Observation::Suppressed(p, r, why) => {
                        (*p, Event::suppressed(r.op(), r.outcome(), *why))
                    }
                };
                self.record(Some(p), event);
            }
        }
        if let Some(keep) = lock!(self.observed).as_mut() {
            keep.extend(new);
        }
    }
}

/// A read rate in words.
pub(crate) fn rate_words(rate: Option<usize>) -> String {
    match rate {
        None => "as fast as data comes".to_string(),
        Some(0) => "nothing (stalled)".to_string(),
        Some(r) => format!("{r} bytes/ms"),
    }
}
