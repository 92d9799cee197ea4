//! A provider on the mock network driven by [`Action`]s and checked against a
//! small reference model after every step.
//!
//! The invariants (each names its rule):
//! - every accepted operation ends exactly once; a delivered or close-aborted
//!   one was notified exactly once, one aborted by the final cleanup never
//!   (S6c, S7, S9, S10);
//! - after the final cleanup no socket and no pending operation is left, and
//!   every operation pending before it reads `WSA_OPERATION_ABORTED` (S6c, S6h);
//! - a stale handle is `WSAENOTSOCK` (or `WSANOTINITIALISED` while no startup
//!   is in force) forever (S4, S6h, S13);
//! - calls whose result the model knows return exactly that (S1, S2, S4, S5, S8);
//! - completion routines are queued to the initiating thread;
//! - at the end, every byte of every gracefully closed socket has reached its
//!   peer, across final cleanups (S6e, S6g, S7);
//! - a crashed process is never told of anything again, and the peers of its
//!   open sockets see a reset (S11); a socket it closed gracefully before is
//!   untouched once its every byte has left the node (the connection is the
//!   network's by then), and is reset with the process otherwise.

use super::action::{Action, How, LingerChoice};
use super::trace::{TraceEvent, TraceKind};
use super::world::describe;
use crate::Transport as _;
use crate::core::op::{OpState, Overlapped};
use crate::mock::{
    MockTransport, MockWaiter, Network, NodeId, Record, RecordingNotifier, ServiceId,
};
use crate::{
    CleanupOutcome, CompletionMode, EventKey, Linger, MsgFlags, OpId, OverlappedRequest, PortKey,
    Provider, ProviderConfig, SocketFlags, SocketHandle, SocketKind, ThreadKey, Version, WsaError,
};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

/// The provider type the harness drives.
pub type MockProvider = Provider<MockTransport, MockWaiter>;

/// The application thread the harness plays.
const APP_THREAD: ThreadKey = ThreadKey(1);
/// How many stale handles are kept for re-checking.
const STALE_KEPT: usize = 64;
/// How many finished operations are kept for `Poll`.
const FINISHED_KEPT: usize = 32;

#[derive(Debug)]
struct Sock {
    h: SocketHandle,
    service: ServiceId,
    echo: bool,
    nonblocking: bool,
    shut_send: bool,
    shut_recv: bool,
    stalled: bool,
    /// The connection was reset (a fault): sends and receives may fail, and
    /// a crash has nothing left to reset.
    reset: bool,
    /// Bytes the provider accepted for sending.
    sent: u64,
    /// Whether `sent` is exactly what the peer must get (no aborted send, no
    /// network outage while it mattered).
    exact: bool,
}

#[derive(Debug, Clone)]
struct TrackedOp {
    ov: Overlapped,
    id: OpId,
    send: bool,
    /// Its bytes are in the socket's `sent` already (it finished at once).
    counted: bool,
    pending_at_final_cleanup: bool,
}

#[derive(Debug)]
struct Closed {
    service: ServiceId,
    h: SocketHandle,
    sent: u64,
    exact: bool,
    /// A final cleanup handed its data to the network, which outlives the
    /// process (S6g): a crash no longer touches it.
    handed_off: bool,
}

/// Figures of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Actions executed.
    pub actions: usize,
    /// Overlapped operations accepted.
    pub ops_accepted: usize,
    /// Notifications delivered.
    pub delivered: usize,
    /// Notifications suppressed by a final cleanup.
    pub suppressed: usize,
    /// Final cleanups run.
    pub final_cleanups: usize,
    /// Gracefully closed sockets whose bytes were all checked at the peer.
    pub sockets_checked: usize,
    /// Bytes checked at peers.
    pub bytes_checked: u64,
}

/// The harness. See the module docs for what it checks.
pub struct Harness {
    net: Network,
    node: NodeId,
    /// The notifiers of crashed processes: never to hear of anything again (S11).
    crashed: Vec<RecordingNotifier>,
    /// Services whose connection a crash must reset, and the resets they had.
    reset_expected: Vec<(ServiceId, usize)>,
    provider: MockProvider,
    notes: RecordingNotifier,
    count: u32,
    sockets: Vec<Sock>,
    stale: Vec<SocketHandle>,
    ops: Vec<TrackedOp>,
    finished: Vec<TrackedOp>,
    closed: Vec<Closed>,
    seen: HashMap<OpId, (usize, usize)>,
    next_port: u16,
    net_down: bool,
    failures: Vec<String>,
    last: Option<Option<WsaError>>,
    stats: RunStats,
    trace: Option<Vec<TraceEvent>>,
}

fn show<T: std::fmt::Debug>(r: &Result<T, WsaError>) -> String {
    match r {
        Ok(v) => format!("0 ({v:?})"),
        Err(e) => format!("SOCKET_ERROR {} ({})", e.name(), e.code()),
    }
}

impl Harness {
    /// A network with one node running a provider, not yet started. With
    /// `log`, every step is written to a readable report.
    pub fn new(seed: u64, log: bool) -> Self {
        let net = Network::new(seed);
        let node: NodeId = net.add_node(Ipv4Addr::new(10, 0, 0, 1));
        let config = ProviderConfig {
            max_sockets: 4096,
            ..ProviderConfig::default()
        };
        let provider = Provider::new(config, net.transport(node), MockWaiter::new(&net));
        MockWaiter::set_current_thread(APP_THREAD);
        Harness {
            net,
            node,
            crashed: Vec::new(),
            reset_expected: Vec::new(),
            provider,
            notes: RecordingNotifier::new(),
            count: 0,
            sockets: Vec::new(),
            stale: Vec::new(),
            ops: Vec::new(),
            finished: Vec::new(),
            closed: Vec::new(),
            seen: HashMap::new(),
            next_port: 1000,
            net_down: false,
            failures: Vec::new(),
            last: None,
            stats: RunStats::default(),
            trace: log.then(Vec::new),
        }
    }

    /// The provider under test.
    pub fn provider(&self) -> &MockProvider {
        &self.provider
    }

    /// The broken invariants so far, each with its step.
    pub fn failures(&self) -> &[String] {
        &self.failures
    }

    /// Figures of the run so far.
    pub fn stats(&self) -> RunStats {
        self.stats
    }

    /// Takes the report written so far.
    pub fn take_log(&mut self) -> String {
        self.take_trace().iter().fold(String::new(), |mut out, e| {
            let _ = writeln!(out, "{}", e.to_text());
            out
        })
    }

    /// The trace events since the last take (none without logging).
    pub fn take_trace(&mut self) -> Vec<TraceEvent> {
        self.trace.as_mut().map(std::mem::take).unwrap_or_default()
    }

    fn say(&mut self, kind: TraceKind, line: impl Into<String>) {
        if let Some(trace) = &mut self.trace {
            let event = TraceEvent {
                step: self.stats.actions,
                time: self.net.now(),
                kind,
                text: line.into(),
            };
            event.emit();
            trace.push(event);
        }
    }

    /// Logs a call and its result, and keeps the result for
    /// [`last_result`](Self::last_result).
    fn called<T: std::fmt::Debug>(&mut self, call: String, r: &Result<T, WsaError>) {
        self.last = Some(r.as_ref().err().copied());
        self.say(TraceKind::Call, format!("{call} -> {}", show(r)));
    }

    /// Sockets the model holds open now.
    pub fn open_sockets(&self) -> usize {
        self.sockets.len()
    }

    /// Overlapped operations the model knows to be pending now.
    pub fn pending_operations(&self) -> usize {
        self.ops.len()
    }

    /// Startups in force, as the model counts them.
    pub fn startup_count(&self) -> u32 {
        self.count
    }

    /// The result of the last provider call an action made: `Some(None)`
    /// for success, `Some(Some(e))` for an error, `None` before any call.
    pub fn last_result(&self) -> Option<Option<WsaError>> {
        self.last
    }

    fn fail(&mut self, what: String) {
        let line = format!("step {}: {what}", self.stats.actions);
        self.say(TraceKind::Invariant, format!("INVARIANT BROKEN: {what}"));
        self.failures.push(line);
    }

    fn expect<T: std::fmt::Debug>(
        &mut self,
        rule: &str,
        call: &str,
        got: &Result<T, WsaError>,
        want: WsaError,
    ) {
        if got.as_ref().err() != Some(&want) {
            self.fail(format!(
                "{rule}: {call} returned {}, expected {} ({})",
                show(got),
                want.name(),
                want.code()
            ));
        }
    }

    /// Runs every action, checking after each; then [`finish`](Self::finish).
    pub fn run(&mut self, actions: &[Action]) {
        for a in actions {
            self.step(*a);
        }
        self.finish();
    }

    /// Executes one action and checks the invariants.
    pub fn step(&mut self, action: Action) {
        self.stats.actions += 1;
        match action {
            Action::Startup(major, minor) => self.startup(Version::new(major, minor)),
            Action::Cleanup => self.cleanup(),
            Action::Socket { echo } => self.socket(echo),
            Action::Send { sock, len, how } => self.send(sock, len, how),
            Action::Recv { sock, how } => self.recv(sock, how),
            Action::Close { sock, linger } => self.close(sock, linger),
            Action::Shutdown { sock, how } => self.shutdown(sock, how),
            Action::NonBlocking { sock, on } => self.nonblocking(sock, on),
            Action::Poll { op } => self.poll(op),
            Action::Run { steps } => {
                let mut moved = 0;
                for _ in 0..steps {
                    moved += usize::from(self.net.step());
                }
                self.say(
                    TraceKind::Network,
                    format!("network: {moved} of {steps} steps moved something"),
                );
            }
            Action::Stall { sock, on } => {
                if let Some(i) = self.pick(sock) {
                    let s = &mut self.sockets[i];
                    s.stalled = on;
                    self.net
                        .set_read_rate(s.service, if on { Some(0) } else { None });
                    let line = format!(
                        "peer of {} {}",
                        s.h,
                        if on { "stops reading" } else { "reads again" }
                    );
                    self.say(TraceKind::Fault, line);
                }
            }
            Action::Slow { sock, rate } => {
                if let Some(i) = self.pick(sock) {
                    let s = &mut self.sockets[i];
                    s.stalled = false;
                    self.net
                        .set_read_rate(s.service, Some(usize::from(rate.max(1))));
                    let line = format!("peer of {} reads {rate} bytes/ms", s.h);
                    self.say(TraceKind::Fault, line);
                }
            }
            Action::Reset { sock } => {
                if let Some(i) = self.pick(sock) {
                    let h = self.sockets[i].h;
                    if self.net.reset_socket(self.provider.transport(), h) {
                        let s = &mut self.sockets[i];
                        s.reset = true;
                        s.exact = false;
                        self.say(TraceKind::Fault, format!("connection of {h} reset"));
                    }
                }
            }
            Action::Delay { ms } => {
                let latency = Duration::from_millis(u64::from(ms.max(1)));
                self.net.set_latency(latency);
                self.say(TraceKind::Fault, format!("messages now take {latency:?}"));
            }
            Action::NetworkDown(down) => {
                self.net.set_down(down);
                self.net_down = down;
                self.say(
                    TraceKind::Fault,
                    format!("network {}", if down { "DOWN" } else { "up" }),
                );
            }
            Action::Crash => self.crash(),
            Action::UseStale { idx } => {
                if !self.stale.is_empty() {
                    let h = self.stale[usize::from(idx) % self.stale.len()];
                    let r = self.provider.send(h, b"x", MsgFlags::empty(), None);
                    self.called(format!("WSPSend(stale {h})"), &r);
                    let want = if self.count == 0 {
                        WsaError::NotInitialised
                    } else {
                        WsaError::NotSocket
                    };
                    self.expect("S6h/S13 stale handle", "send", &r, want);
                }
            }
        }
        self.check();
    }

    fn pick(&self, sock: u8) -> Option<usize> {
        (!self.sockets.is_empty()).then(|| usize::from(sock) % self.sockets.len())
    }

    fn startup(&mut self, v: Version) {
        let before = self.provider.startup_count();
        let r = self.provider.startup(v, Arc::new(self.notes.clone()));
        self.called(format!("WSPStartup({v})"), &r);
        if v < Version::new(2, 0) {
            self.expect(
                "S2 version below the lowest",
                "startup",
                &r,
                WsaError::VersionNotSupported,
            );
            if self.provider.startup_count() != before {
                self.fail("S1: a failed startup changed the count".into());
            }
            return;
        }
        match r {
            Ok(n)
                if n.version == v.min(Version::new(2, 2))
                    && n.high_version == Version::new(2, 2) =>
            {
                self.count += 1;
            }
            other => self.fail(format!("S2: startup({v}) returned {other:?}")),
        }
        if self.provider.startup_count() != self.count {
            self.fail(format!(
                "S1: count {} but the model says {}",
                self.provider.startup_count(),
                self.count
            ));
        }
    }

    fn cleanup(&mut self) {
        for op in &mut self.ops {
            op.pending_at_final_cleanup = self.count == 1 && op.ov.state() == OpState::Pending;
        }
        let r = self.provider.cleanup();
        self.called("WSPCleanup".into(), &r.as_ref().map_err(|e| e.error));
        match (self.count, r) {
            (0, Err(e)) if e.error == WsaError::NotInitialised => {}
            (n, Ok(CleanupOutcome::Decremented { remaining })) if n > 1 && remaining == n - 1 => {
                self.count -= 1;
            }
            (1, Ok(CleanupOutcome::Final(_))) => self.after_final_cleanup(),
            (1, Err(e)) if e.error == WsaError::NetworkDown && self.net_down => {
                self.after_final_cleanup()
            }
            (n, other) => self.fail(format!(
                "S1/S5/S6: cleanup with count {n} returned {other:?}"
            )),
        }
    }

    fn after_final_cleanup(&mut self) {
        for c in &mut self.closed {
            if self.net_down {
                // S6i: the data could not be handed off; the cleanup counted
                // it as lost.
                c.exact = false;
            } else {
                c.handed_off = true;
            }
        }
        self.count = 0;
        self.stats.final_cleanups += 1;
        for s in std::mem::take(&mut self.sockets) {
            self.stale.push(s.h);
        }
        if self.provider.socket_count() != 0 {
            let n = self.provider.socket_count();
            self.fail(format!("S6h: {n} sockets left after the final cleanup"));
        }
        for op in self.ops.clone() {
            if op.pending_at_final_cleanup && op.ov.state() != OpState::AbortedSilent {
                self.fail(format!(
                    "S6c: {} was pending at the final cleanup but is {:?}",
                    op.id,
                    op.ov.state()
                ));
            }
            if op.pending_at_final_cleanup
                && op.ov.outcome().and_then(|o| o.error) != Some(WsaError::OperationAborted)
            {
                self.fail(format!(
                    "S6c: {} does not read WSA_OPERATION_ABORTED",
                    op.id
                ));
            }
        }
    }

    /// S11: the process dies without cleanup; the network resets its
    /// connections; a new process (a new provider) starts on the node.
    fn crash(&mut self) {
        self.say(TraceKind::Fault, "process crashes; a new one starts");
        // A peer that already saw our FIN (SD_SEND) has closed its end; the
        // others must see the reset.
        for s in self.sockets.iter().filter(|s| !s.shut_send && !s.reset) {
            let before = self.net.service_resets(s.service);
            self.reset_expected.push((s.service, before));
        }
        // A closed socket whose data is still in the dying process's
        // transport (not handed off) is reset with it: what its peer has
        // not read yet is lost (a reset discards it). One whose every byte
        // has left the node is the network's and goes on untouched (S11).
        for c in &mut self.closed {
            if !c.handed_off && self.provider.transport().unsent(c.h) > 0 {
                c.exact = false;
            }
        }
        self.provider.crash();
        self.net.crash(self.provider.transport());
        let config = self.provider.config().clone();
        self.provider = Provider::new(
            config,
            self.net.transport(self.node),
            MockWaiter::new(&self.net),
        );
        // Operations and handles are per process: the new one starts afresh,
        // with its own notifier; the old one must stay silent.
        self.crashed
            .push(std::mem::replace(&mut self.notes, RecordingNotifier::new()));
        self.seen.clear();
        self.ops.clear();
        self.finished.clear();
        self.sockets.clear();
        // Handles belong to a process: the new one may issue the same values.
        self.stale.clear();
        self.count = 0;
    }

    fn socket(&mut self, echo: bool) {
        let r = self
            .provider
            .socket(SocketKind::Stream, SocketFlags::OVERLAPPED);
        self.called("WSPSocket(stream, overlapped)".into(), &r);
        let h = match r {
            Ok(h) => h,
            Err(e) => {
                if self.count == 0 {
                    self.expect(
                        "S4 gate",
                        "socket",
                        &Err::<(), _>(e),
                        WsaError::NotInitialised,
                    );
                } else if !(self.net_down && e == WsaError::NetworkDown) {
                    self.fail(format!("socket failed: {e}"));
                }
                return;
            }
        };
        if self.count == 0 {
            self.fail("S4: socket succeeded with no startup in force".into());
        }
        self.next_port = self.next_port.wrapping_add(1).max(1000);
        let addr = SocketAddrV4::new(Ipv4Addr::new(10, 0, 1, 1), self.next_port);
        let service = if echo {
            self.net.add_echo_service(addr)
        } else {
            self.net.add_discard_service(addr, None)
        };
        let c = self.provider.connect(h, addr);
        let kind = if echo { "echo" } else { "discard" };
        self.called(format!("WSPConnect({h}, {addr} {kind})"), &c);
        if c.is_err() {
            let _ = self.provider.close_socket(h);
            self.stale.push(h);
            if !self.net_down {
                self.fail(format!("connect to a listening service failed: {c:?}"));
            }
            return;
        }
        self.sockets.push(Sock {
            h,
            service,
            echo,
            nonblocking: false,
            shut_send: false,
            shut_recv: false,
            stalled: false,
            reset: false,
            sent: 0,
            exact: true,
        });
    }

    fn request(&self, how: How) -> Option<OverlappedRequest> {
        let mode = match how {
            How::Plain => return None,
            How::Event => CompletionMode::Event(EventKey(7)),
            How::Routine => CompletionMode::Routine {
                thread: APP_THREAD,
                routine: 0xC0DE,
            },
            How::Port => CompletionMode::Port {
                port: PortKey(3),
                key: 11,
            },
            How::Polling => CompletionMode::Polling,
        };
        Some(OverlappedRequest {
            overlapped: Overlapped::new(),
            mode,
            user: 0,
        })
    }

    fn send(&mut self, sock: u8, len: u16, how: How) {
        let Some(i) = self.pick(sock) else { return };
        let s = &self.sockets[i];
        if how == How::Plain
            && !s.nonblocking
            && (s.echo || s.stalled || s.shut_send || self.net_down)
        {
            // A blocking send that nothing would ever finish: the single
            // application thread would wait forever. Not a provider question.
            return;
        }
        let (h, shut) = (s.h, s.shut_send);
        let req = self.request(how);
        let ov = req.as_ref().map(|r| r.overlapped.clone());
        let data = vec![0xA5u8; usize::from(len)];
        let r = self.provider.send(h, &data, MsgFlags::empty(), req);
        self.called(format!("WSPSend({h}, {len} bytes, {how})"), &r);
        if shut {
            self.expect("S8 send after SD_SEND", "send", &r, WsaError::Shutdown);
            return;
        }
        self.track(i, ov, &r.map(|n| n as u64), true);
    }

    fn recv(&mut self, sock: u8, how: How) {
        let Some(i) = self.pick(sock) else { return };
        let s = &self.sockets[i];
        if how == How::Plain && !s.nonblocking {
            return; // may wait forever; see `send`
        }
        let (h, shut) = (s.h, s.shut_recv);
        let req = self.request(how);
        let ov = req.as_ref().map(|r| r.overlapped.clone());
        let r = self.provider.recv(h, 4096, MsgFlags::empty(), req);
        self.called(
            format!("WSPRecv({h}, 4096, {how})"),
            &r.as_ref().map(|x| x.data.len()).map_err(|e| *e),
        );
        if shut {
            self.expect(
                "S8 receive after SD_RECEIVE",
                "recv",
                &r,
                WsaError::Shutdown,
            );
            return;
        }
        self.track(i, ov, &r.map(|x| x.data.len() as u64), false);
    }

    /// Records what a send or receive did in the model.
    fn track(&mut self, i: usize, ov: Option<Overlapped>, r: &Result<u64, WsaError>, send: bool) {
        match (ov, r) {
            (None, Ok(n)) => {
                if send {
                    self.sockets[i].sent += n;
                }
            }
            (None, Err(_)) => {}
            (Some(ov), Ok(n)) => {
                // S9: finished at once, and still notified.
                self.stats.ops_accepted += 1;
                if send {
                    self.sockets[i].sent += n;
                }
                let id = ov.op().expect("an accepted operation has an id");
                if ov.state() != OpState::Delivered {
                    self.fail(format!(
                        "S9: {id} completed at once but is {:?}",
                        ov.state()
                    ));
                }
                self.ops.push(TrackedOp {
                    ov,
                    id,
                    send,
                    counted: true,
                    pending_at_final_cleanup: false,
                });
            }
            (Some(ov), Err(WsaError::IoPending)) => {
                self.stats.ops_accepted += 1;
                let id = ov.op().expect("an accepted operation has an id");
                // Counted when it completes (see `check`).
                self.ops.push(TrackedOp {
                    ov,
                    id,
                    send,
                    counted: false,
                    pending_at_final_cleanup: false,
                });
            }
            (Some(ov), Err(_)) => {
                // S9: any other error starts nothing.
                if ov.state() != OpState::Idle {
                    self.fail(format!(
                        "S9: a rejected call left its record {:?}",
                        ov.state()
                    ));
                }
            }
        }
    }

    fn close(&mut self, sock: u8, linger: LingerChoice) {
        let Some(i) = self.pick(sock) else { return };
        let h = self.sockets[i].h;
        let l = match linger {
            LingerChoice::Off => Linger {
                on: false,
                seconds: 0,
            },
            LingerChoice::Abortive => Linger {
                on: true,
                seconds: 0,
            },
            LingerChoice::Timed(s) => Linger {
                on: true,
                seconds: s,
            },
        };
        if let Err(e) = self.provider.set_linger(h, l) {
            self.fail(format!("set_linger on an open socket failed: {e}"));
            return;
        }
        let unsent = self.provider.transport().unsent(h);
        let mine: Vec<TrackedOp> = self
            .ops
            .iter()
            .filter(|o| o.id.socket == h && o.ov.state() == OpState::Pending)
            .cloned()
            .collect();
        let r = self.provider.close_socket(h);
        self.called(
            format!("WSPCloseSocket({h}, {linger}, {unsent} bytes unsent)"),
            &r,
        );
        let s = &self.sockets[i];
        if matches!(linger, LingerChoice::Timed(_)) && s.nonblocking && unsent > 0 {
            // S7: the socket stays open and valid.
            self.expect("S7 non-blocking linger", "close", &r, WsaError::WouldBlock);
            if self.provider.socket_kind(h).is_err() {
                self.fail("S7: WSAEWOULDBLOCK close invalidated the handle".into());
            }
            return;
        }
        if let Err(e) = r {
            self.fail(format!("S7: close of an open socket failed: {e}"));
            return;
        }
        for op in &mine {
            // S7: aborted, and the abort notified (checked in `check`).
            if op.ov.state() != OpState::AbortedNotified {
                self.fail(format!(
                    "S7: {} pending at close is {:?}",
                    op.id,
                    op.ov.state()
                ));
            }
        }
        let s = self.sockets.remove(i);
        self.stale.push(s.h);
        if !s.echo {
            let exact = s.exact && linger == LingerChoice::Off && !mine.iter().any(|o| o.send);
            self.closed.push(Closed {
                service: s.service,
                h: s.h,
                sent: s.sent,
                exact,
                handed_off: false,
            });
        }
    }

    fn shutdown(&mut self, sock: u8, how: u8) {
        let Some(i) = self.pick(sock) else { return };
        let h = self.sockets[i].h;
        let r = self.provider.shutdown(h, i32::from(how));
        self.called(format!("WSPShutdown({h}, {how})"), &r);
        match how {
            3 => self.expect("S8 invalid how", "shutdown", &r, WsaError::InvalidArgument),
            _ if r.is_ok() => {
                let s = &mut self.sockets[i];
                s.shut_send |= how != 0;
                s.shut_recv |= how != 1;
            }
            _ if self.net_down || self.sockets[i].reset => {}
            _ => self.fail(format!("S8: shutdown of a connected socket failed: {r:?}")),
        }
    }

    fn nonblocking(&mut self, sock: u8, on: bool) {
        let Some(i) = self.pick(sock) else { return };
        let h = self.sockets[i].h;
        let r = self.provider.set_nonblocking(h, on);
        self.called(format!("WSPIoctl({h}, FIONBIO, {on})"), &r);
        match r {
            Ok(()) => self.sockets[i].nonblocking = on,
            Err(e) => self.fail(format!("FIONBIO failed: {e}")),
        }
    }

    fn poll(&mut self, op: u8) {
        let all: Vec<TrackedOp> = self.ops.iter().chain(&self.finished).cloned().collect();
        if all.is_empty() {
            return;
        }
        let t = &all[usize::from(op) % all.len()];
        let r = self
            .provider
            .get_overlapped_result(t.id.socket, &t.ov, false);
        self.called(format!("WSPGetOverlappedResult({}, wait=false)", t.id), &r);
        let open = self.sockets.iter().any(|s| s.h == t.id.socket);
        let want = if self.count == 0 {
            Err(WsaError::NotInitialised)
        } else if !open {
            Err(WsaError::NotSocket)
        } else {
            match t.ov.outcome() {
                None => Err(WsaError::IoIncomplete),
                Some(o) => o.error.map_or(Ok(o.clone()), Err),
            }
        };
        if r != want {
            self.fail(format!(
                "get_overlapped_result of {} returned {r:?}, the record says {want:?}",
                t.id
            ));
        }
    }

    /// The invariants that hold after every step.
    fn check(&mut self) {
        for rec in self.notes.delivered() {
            self.stats.delivered += 1;
            if let Record::RoutineQueued { thread, op, .. } = rec
                && thread != APP_THREAD
            {
                self.fail(format!(
                    "{op}: routine queued to {thread:?}, not the initiating thread"
                ));
            }
            let id = rec.op();
            self.seen.entry(id).or_default().0 += 1;
            self.say(
                TraceKind::Notified,
                format!("  notified: {id} via {}", describe(&rec)),
            );
        }
        for sup in self.notes.suppressed() {
            self.stats.suppressed += 1;
            let id = sup.record.op();
            self.seen.entry(id).or_default().1 += 1;
            self.say(
                TraceKind::Suppressed,
                format!("  suppressed: {id} ({})", sup.why),
            );
        }
        self.notes.clear();
        let mut still = Vec::new();
        for op in std::mem::take(&mut self.ops) {
            let (d, s) = self.seen.get(&op.id).copied().unwrap_or_default();
            let state = op.ov.state();
            let ok = match state {
                OpState::Pending => d == 0 && s == 0,
                OpState::Delivered | OpState::AbortedNotified => d == 1 && s == 0,
                OpState::AbortedSilent => d == 0 && s == 1,
                OpState::Idle | OpState::Completing => false,
            };
            if state == OpState::AbortedSilent && d > 0 {
                self.fail(format!(
                    "S6c: {} was aborted by the final cleanup and notified {d} times",
                    op.id
                ));
            } else if !ok {
                self.fail(format!(
                    "S10: {} is {state:?} with {d} notifications and {s} suppressions",
                    op.id
                ));
            }
            if state == OpState::Pending {
                still.push(op);
                continue;
            }
            if op.send
                && !op.counted
                && state == OpState::Delivered
                && let Some(sock) = self.sockets.iter_mut().find(|x| x.h == op.id.socket)
            {
                sock.sent += op.ov.outcome().map_or(0, |o| o.bytes as u64);
            }
            self.finished.push(op);
        }
        self.ops = still;
        let told: usize = self.crashed.iter().map(|n| n.delivered().len()).sum();
        if told > 0 {
            self.fail(format!("S11: crashed processes were notified {told} times"));
        }
        if self.finished.len() > FINISHED_KEPT {
            let extra = self.finished.len() - FINISHED_KEPT;
            self.finished.drain(..extra);
        }
        if self.count == 0 && (self.provider.socket_count() != 0 || !self.ops.is_empty()) {
            self.fail(format!(
                "S6h: no startup in force but {} sockets and {} pending operations",
                self.provider.socket_count(),
                self.ops.len()
            ));
        }
        if self.stale.len() > STALE_KEPT {
            let extra = self.stale.len() - STALE_KEPT;
            self.stale.drain(..extra);
        }
        let want = if self.count == 0 {
            WsaError::NotInitialised
        } else {
            WsaError::NotSocket
        };
        for h in self.stale.clone() {
            let r = self.provider.socket_kind(h);
            if r != Err(want) {
                self.fail(format!("S6h/S13: stale {h} answered {r:?}"));
            }
        }
    }

    /// Brings the network back, lets every peer read, runs the network until
    /// nothing moves, and checks that every gracefully closed socket's bytes
    /// arrived (S6e, S6g, S7).
    pub fn finish(&mut self) {
        self.net.set_down(false);
        self.net_down = false;
        for s in &self.sockets {
            self.net.set_read_rate(s.service, None);
        }
        for c in &self.closed {
            self.net.set_read_rate(c.service, None);
        }
        let steps = self.net.run_until_idle(10_000_000);
        self.say(
            TraceKind::Network,
            format!("network settled after {steps} steps"),
        );
        for (svc, before) in std::mem::take(&mut self.reset_expected) {
            if self.net.service_resets(svc) <= before {
                self.fail(format!(
                    "S11: a peer of a crashed process saw no reset ({svc:?})"
                ));
            }
        }
        for c in std::mem::take(&mut self.closed) {
            let got = self.net.service_received(c.service);
            if c.exact {
                self.stats.sockets_checked += 1;
                self.stats.bytes_checked += c.sent;
                if got != c.sent {
                    self.fail(format!(
                        "S6e/S6g/S7: {} closed gracefully with {} bytes sent, peer got {got}",
                        c.h, c.sent
                    ));
                }
            } else if got > c.sent + 65_535 * 64 {
                self.fail(format!(
                    "{}: peer got {got} bytes, more than was ever sent",
                    c.h
                ));
            }
        }
        self.check();
    }
}
