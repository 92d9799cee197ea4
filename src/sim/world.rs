//! [`Simulation`]: a world to embed. Processes (each a provider with a
//! recording notifier) on nodes of one mock network, network-resident
//! services, faults, and a trace of everything that happened: every call and
//! its result, every notification delivered or suppressed (and why), every
//! fault. All randomness comes from the seed and time is virtual, so the same
//! program gives the same trace, byte for byte, on any OS.
//!
//! ```
//! use winsock_provider::sim::world::Simulation;
//! use winsock_provider::{CompletionMode, EventKey, MsgFlags, OpState, OverlappedRequest,
//!     SocketFlags, SocketKind, Version, WsaError};
//!
//! let mut sim = Simulation::new(42);
//! let app = sim.add_process("app", "10.0.0.1".parse().unwrap());
//! let echo = "10.0.0.9:7".parse().unwrap();
//! sim.add_echo(echo);
//!
//! sim.call(app, "WSPStartup(2.2)", |p, n| p.startup(Version::new(2, 2), n)).unwrap();
//! let s = sim.call(app, "WSPSocket", |p, _| p.socket(SocketKind::Stream, SocketFlags::OVERLAPPED)).unwrap();
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

use super::threads::{self, AppThread, SimWaiter, Spawn, ThreadsReport};
use super::trace::{TraceEvent, TraceKind};
use crate::core::notifier::{Notifier, ThreadKey};
use crate::mock::{MockTransport, Network, NodeId, Record, RecordingNotifier, ServiceId};
use crate::sync::lock;
use crate::{Provider, ProviderConfig, WsaResult};
use std::cell::Cell;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The provider type of a simulated process.
pub type SimProvider = Provider<MockTransport, SimWaiter>;

/// A process of the simulation.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ProcessId(usize);

struct Process {
    name: String,
    node: NodeId,
    provider: SimProvider,
    notes: RecordingNotifier,
    /// How many of its notifier's records are in the trace already.
    traced: Cell<(usize, usize)>,
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

/// A simulated world. See the module docs.
pub struct Simulation {
    seed: u64,
    net: Network,
    config: ProviderConfig,
    procs: Vec<Process>,
    trace: Mutex<Vec<TraceEvent>>,
    step: AtomicUsize,
    /// Threaded runs so far (each gets its own schedule from the seed).
    runs: u64,
}

impl std::fmt::Debug for Simulation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulation")
            .field("processes", &self.procs.len())
            .field("step", &self.step.load(Ordering::Relaxed))
            .field("now", &self.net.now())
            .finish_non_exhaustive()
    }
}

impl Simulation {
    /// An empty world whose every choice follows `seed`.
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
            trace: Mutex::new(Vec::new()),
            step: AtomicUsize::new(0),
            runs: 0,
        }
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
    /// provider, not started yet, with a recording notifier.
    pub fn add_process(&mut self, name: &str, ip: Ipv4Addr) -> ProcessId {
        let node = self.net.add_node(ip);
        let provider = Provider::new(
            self.config.clone(),
            self.net.transport(node),
            SimWaiter::new(&self.net),
        );
        self.procs.push(Process {
            name: name.to_string(),
            node,
            provider,
            notes: RecordingNotifier::new(),
            traced: Cell::new((0, 0)),
        });
        ProcessId(self.procs.len() - 1)
    }

    /// An echo service at `addr`, in the network (it outlives every process).
    pub fn add_echo(&mut self, addr: SocketAddrV4) -> ServiceId {
        self.net.add_echo_service(addr)
    }

    /// A discard service at `addr` reading `rate` bytes per millisecond
    /// (`None`: as fast as data comes; `Some(0)`: a stalled reader).
    pub fn add_discard(&mut self, addr: SocketAddrV4, rate: Option<usize>) -> ServiceId {
        self.net.add_discard_service(addr, rate)
    }

    /// A process's provider, for calls that need no trace.
    pub fn provider(&self, p: ProcessId) -> &SimProvider {
        &self.procs[p.0].provider
    }

    /// What a process's notifier recorded (deliveries, suppressions, events).
    pub fn notes(&self, p: ProcessId) -> &RecordingNotifier {
        &self.procs[p.0].notes
    }

    /// Makes one call on a process's provider and traces it with its result,
    /// then whatever it made the notifier do. `call` gets the provider and
    /// the process's notifier (for `startup`). Any call of the SPI goes
    /// through here: blocking ones pump the network until they end.
    pub fn call<R: std::fmt::Debug>(
        &mut self,
        p: ProcessId,
        what: &str,
        call: impl FnOnce(&SimProvider, Arc<dyn Notifier>) -> WsaResult<R>,
    ) -> WsaResult<R> {
        self.step.fetch_add(1, Ordering::Relaxed);
        let proc = &self.procs[p.0];
        let notifier: Arc<dyn Notifier> = Arc::new(proc.notes.clone());
        let r = call(&proc.provider, notifier);
        let shown = match &r {
            Ok(v) => format!("0 ({v:?})"),
            Err(e) => format!("SOCKET_ERROR {} ({})", e.name(), e.code()),
        };
        let line = format!("{}: {what} -> {shown}", proc.name);
        self.record(TraceKind::Call, line);
        self.collect();
        r
    }

    /// One network step; `false` when nothing was due at all.
    pub fn step(&mut self) -> bool {
        self.step.fetch_add(1, Ordering::Relaxed);
        let moved = self.net.step();
        self.collect();
        moved
    }

    /// Steps until `done` holds (checked before each step) or the network
    /// is idle or `max_steps` were made; returns whether `done` held.
    pub fn run_until(
        &mut self,
        max_steps: usize,
        mut done: impl FnMut(&Simulation) -> bool,
    ) -> bool {
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
    pub fn settle(&mut self) -> usize {
        let n = self.net.run_until_idle(10_000_000);
        self.collect();
        n
    }

    /// Moves virtual time by `by`, running everything due.
    pub fn advance(&mut self, by: Duration) {
        self.net.advance(by);
        self.collect();
    }

    /// Fault: the network fails, or comes back.
    pub fn set_network_down(&mut self, down: bool) {
        self.net.set_down(down);
        let line = format!("network {}", if down { "DOWN" } else { "up" });
        self.record(TraceKind::Fault, line);
    }

    /// Fault: a service stops reading (`Some(0)`), reads slowly, or at full
    /// speed again (`None`).
    pub fn set_read_rate(&mut self, service: ServiceId, rate: Option<usize>) {
        self.net.set_read_rate(service, rate);
        self.record(TraceKind::Fault, format!("{service:?} read rate {rate:?}"));
    }

    /// Fault: the process dies without cleanup (S11): its connections are
    /// reset and it is never told of anything again. A new process takes
    /// its place (and its id) on the same node, not started.
    pub fn crash(&mut self, p: ProcessId) {
        let proc = &mut self.procs[p.0];
        proc.provider.crash();
        self.net.crash(proc.provider.transport());
        proc.provider = Provider::new(
            self.config.clone(),
            self.net.transport(proc.node),
            SimWaiter::new(&self.net),
        );
        proc.notes = RecordingNotifier::new();
        proc.traced = Cell::new((0, 0));
        let line = format!("{}: crashes; a new process starts", proc.name);
        self.record(TraceKind::Fault, line);
        self.collect();
    }

    /// Application threads of the simulation's processes, run to the end,
    /// interleaved as the seed says (see [`threads`]): the
    /// same seed, the same interleaving. Each body makes its calls through
    /// its [`AppThread`]; blocking calls block only that thread.
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
                let notifier: Arc<dyn Notifier> = Arc::new(proc.notes.clone());
                Spawn {
                    name: format!("{}/{}", proc.name, t.name),
                    key: ThreadKey(1000 + i as u64),
                    provider: &proc.provider,
                    notifier,
                    body: t.body,
                }
            })
            .collect();
        let report = threads::run(seed, &self.net, &self.trace, &self.step, spawns, || {
            self.collect()
        });
        if let Some(why) = &report.cut_short {
            self.record(
                TraceKind::Invariant,
                format!("threaded run cut short: {why}"),
            );
        }
        for name in &report.blocked_forever {
            self.record(TraceKind::Invariant, format!("{name}: blocked forever"));
        }
        report
    }

    /// Everything traced so far.
    pub fn trace(&self) -> Vec<TraceEvent> {
        self.lock_trace().clone()
    }

    /// The trace as text, one event a line.
    pub fn trace_text(&self) -> String {
        self.lock_trace().iter().fold(String::new(), |mut out, e| {
            let _ = writeln!(out, "{}", e.to_text());
            out
        })
    }

    /// The trace as JSON lines.
    pub fn trace_json(&self) -> String {
        self.lock_trace().iter().fold(String::new(), |mut out, e| {
            let _ = writeln!(out, "{}", e.to_json());
            out
        })
    }

    fn lock_trace(&self) -> std::sync::MutexGuard<'_, Vec<TraceEvent>> {
        lock!(self.trace)
    }

    fn record(&self, kind: TraceKind, text: String) {
        let event = TraceEvent {
            step: self.step.load(Ordering::Relaxed),
            time: self.net.now(),
            kind,
            text,
        };
        event.emit();
        self.lock_trace().push(event);
    }

    /// Traces what the notifiers recorded since the last look.
    fn collect(&self) {
        let mut new = Vec::new();
        for proc in &self.procs {
            let delivered = proc.notes.delivered();
            let (seen_delivered, seen_suppressed) = proc.traced.get();
            for r in &delivered[seen_delivered..] {
                new.push((
                    TraceKind::Notified,
                    format!("{}: notified: {} via {}", proc.name, r.op(), describe(r)),
                ));
            }
            let suppressed = proc.notes.suppressed();
            for s in &suppressed[seen_suppressed..] {
                new.push((
                    TraceKind::Suppressed,
                    format!("{}: suppressed: {} ({})", proc.name, s.record.op(), s.why),
                ));
            }
            proc.traced.set((delivered.len(), suppressed.len()));
        }
        for (kind, text) in new {
            self.record(kind, text);
        }
    }
}

/// A notification in words.
pub(crate) fn describe(r: &Record) -> String {
    let o = r.outcome();
    let status = match o.error {
        Some(e) => format!("{} ({})", e.name(), e.code()),
        None => format!("{} bytes", o.bytes),
    };
    match r {
        Record::EventSet { event, .. } => format!("event {} set, {status}", event.0),
        Record::RoutineQueued {
            thread, routine, ..
        } => format!(
            "routine {routine:#x} queued to thread {}, {status}",
            thread.0
        ),
        Record::PortPosted { port, key, .. } => format!("port {} key {key}, {status}", port.0),
        Record::PolledOnly { .. } => format!("status recorded for polling, {status}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        CompletionMode, EventKey, MsgFlags, OverlappedRequest, SocketFlags, SocketKind, Version,
        WsaError,
    };

    fn world(seed: u64) -> String {
        let mut sim = Simulation::new(seed);
        let a = sim.add_process("a", Ipv4Addr::new(10, 0, 0, 1));
        let echo = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 9), 7);
        sim.add_echo(echo);
        sim.call(a, "WSPStartup", |p, n| p.startup(Version::new(2, 2), n))
            .unwrap();
        let s = sim
            .call(a, "WSPSocket", |p, _| {
                p.socket(SocketKind::Stream, SocketFlags::OVERLAPPED)
            })
            .unwrap();
        sim.call(a, "WSPConnect", |p, _| p.connect(s, echo))
            .unwrap();
        for i in 0..20u64 {
            let req = OverlappedRequest::new(CompletionMode::Event(EventKey(i)));
            let _ = sim.call(a, "WSPRecv", |p, _| {
                p.recv(s, 7, MsgFlags::empty(), Some(req))
            });
            let req = OverlappedRequest::new(CompletionMode::Event(EventKey(100 + i)));
            let _ = sim.call(a, "WSPSend", |p, _| {
                p.send(s, &[i as u8; 300], MsgFlags::empty(), Some(req))
            });
            sim.run_until(3, |_| false);
        }
        sim.settle();
        sim.trace_json()
    }

    /// Same seed, same trace, byte for byte.
    #[test]
    fn the_same_seed_gives_the_same_trace_byte_for_byte() {
        let one = world(7);
        assert_eq!(one, world(7));
        assert!(one.lines().count() > 40);
        assert!(one.contains(r#""kind":"notified""#));
    }

    /// S11: a crashed process is never told of anything again, and the
    /// trace says so.
    #[test]
    fn s11_a_crashed_process_is_never_notified_again() {
        let mut sim = Simulation::new(3);
        let a = sim.add_process("a", Ipv4Addr::new(10, 0, 0, 1));
        let echo = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 9), 7);
        sim.add_echo(echo);
        sim.call(a, "WSPStartup", |p, n| p.startup(Version::new(2, 2), n))
            .unwrap();
        let s = sim
            .call(a, "WSPSocket", |p, _| {
                p.socket(SocketKind::Stream, SocketFlags::OVERLAPPED)
            })
            .unwrap();
        sim.call(a, "WSPConnect", |p, _| p.connect(s, echo))
            .unwrap();
        let req = OverlappedRequest::new(CompletionMode::Event(EventKey(1)));
        let old = sim.notes(a).clone();
        let r = sim.call(a, "WSPRecv", |p, _| {
            p.recv(s, 7, MsgFlags::empty(), Some(req))
        });
        assert_eq!(r.unwrap_err(), WsaError::IoPending);
        sim.crash(a);
        sim.settle();
        assert!(old.delivered().is_empty());
        assert_eq!(
            sim.provider(a)
                .socket(SocketKind::Stream, SocketFlags::empty()),
            Err(WsaError::NotInitialised),
            "the new process is not started"
        );
        assert!(sim.trace_text().contains("a: crashes"));
    }
}
