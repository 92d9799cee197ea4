//! [`Driver`]: turns [`Action`]s into calls on one process of a
//! [`Simulation`] and holds the [`model`](super::model) against it after
//! every step. The random workload of `wspsim random`, the property test,
//! the fuzz target and the scenario files all run through it.

use super::action::{Action, How, IoctlCode, LingerChoice};
use super::model::{APP_THREAD, Closed, Failure, Model, RunStats, Sock, TrackedOp};
use super::simulation::{BrokenRule, Call, ProcessId, Simulation};
use super::trace::{CallResult, Event, TraceEvent};
use crate::Transport as _;
use crate::core::op::{OpState, Overlapped};
use crate::mock::{MockWaiter, ServiceId};
use crate::{
    AddressFamily, CleanupOutcome, CompletionMode, EventKey, FdEvents, Linger, MsgFlags,
    OverlappedRequest, PortKey, ProviderConfig, SocketFlags, SocketHandle, SocketKind, Version,
    WsaError,
};
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// The provider of the driven process.
pub use super::interleave::SimProvider;

/// Where the services the driver connects to live.
const SERVICES: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 1);
/// How many network steps a `ConnectEx` is given to end.
const CONNECT_EX_STEPS: usize = 100_000;
/// The driven process's address.
const APP_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// The first port a service gets.
const FIRST_PORT: u16 = 1000;

/// Drives one process through actions and checks the model after each.
///
/// ```
/// use winsock_provider::sim::{Action, Driver, How};
/// let mut d = Driver::new(7, false);
/// d.run(&[
///     Action::Startup(2, 2),
///     Action::Socket { echo: true },
///     Action::Recv { sock: 0, how: How::Event },
///     Action::Cleanup,
/// ]);
/// assert!(d.failures().is_empty(), "{:?}", d.failures());
/// assert_eq!(d.stats().suppressed, 1, "S6c: aborted, never told");
/// ```
pub struct Driver {
    sim: Simulation,
    app: ProcessId,
    model: Model,
    next_port: u16,
    last: Option<Option<WsaError>>,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("sim", &self.sim)
            .field("stats", &self.model.stats)
            .field("failures", &self.model.failures.len())
            .finish_non_exhaustive()
    }
}

impl Driver {
    /// A network with one process (`app`, 10.0.0.1), not yet started. With
    /// `trace`, every step is kept in the trace ([`take_trace`](Self::take_trace)).
    pub fn new(seed: u64, trace: bool) -> Self {
        let config = ProviderConfig {
            max_sockets: 4096,
            ..ProviderConfig::default()
        };
        let mut sim = Simulation::with_config(seed, config);
        sim.keep_trace(trace);
        sim.observe(true);
        let app = sim.add_process("app", APP_IP.into());
        MockWaiter::set_current_thread(APP_THREAD);
        Driver {
            sim,
            app,
            model: Model::default(),
            next_port: FIRST_PORT,
            last: None,
        }
    }

    /// The simulation under the driver.
    pub fn simulation(&self) -> &Simulation {
        &self.sim
    }

    /// Breaks a rule on purpose, to show that the model catches it.
    pub fn break_rule(&mut self, rule: BrokenRule) {
        self.sim.break_rule(rule);
    }

    /// The provider under test.
    pub fn provider(&self) -> &SimProvider {
        self.sim.provider(self.app)
    }

    /// The broken invariants so far, each with its step.
    pub fn failures(&self) -> &[Failure] {
        &self.model.failures
    }

    /// Figures of the run so far.
    pub fn stats(&self) -> RunStats {
        self.model.stats
    }

    /// The trace kept since the last take, as text.
    pub fn take_log(&mut self) -> String {
        self.take_trace().iter().fold(String::new(), |mut out, e| {
            let _ = writeln!(out, "{}", e.to_text());
            out
        })
    }

    /// The trace events kept since the last take (none without `trace`).
    pub fn take_trace(&mut self) -> Vec<TraceEvent> {
        self.sim.take_trace()
    }

    /// Sockets the model holds open now.
    pub fn open_sockets(&self) -> usize {
        self.model.sockets.len()
    }

    /// Overlapped operations the model knows to be pending now.
    pub fn pending_operations(&self) -> usize {
        self.model.ops.len()
    }

    /// Startups in force, as the model counts them.
    pub fn startup_count(&self) -> u32 {
        self.model.count
    }

    /// The result of the last provider call an action made: `Some(None)`
    /// for success, `Some(Some(e))` for an error, `None` before any call.
    pub fn last_result(&self) -> Option<Option<WsaError>> {
        self.last
    }

    /// Runs every action, checking after each; then [`finish`](Self::finish).
    pub fn run(&mut self, actions: &[Action]) {
        for a in actions {
            self.step(*a);
        }
        self.finish();
    }

    fn fail(&mut self, rule: &str, message: String) {
        self.model.fail(&self.sim, rule, message);
    }

    fn fault(&self, fault: &str, detail: impl FnOnce() -> String) {
        if self.sim.tracing() {
            self.sim.record(None, Event::fault(fault, detail()));
        }
    }

    /// A traced call on the process; its result is kept for
    /// [`last_result`](Self::last_result).
    fn call<R: std::fmt::Debug>(
        &mut self,
        what: impl FnOnce() -> Call,
        call: impl FnOnce(&SimProvider) -> Result<R, WsaError>,
    ) -> Result<R, WsaError> {
        self.call_shown(what, call, CallResult::of)
    }

    fn call_shown<R>(
        &mut self,
        what: impl FnOnce() -> Call,
        call: impl FnOnce(&SimProvider) -> Result<R, WsaError>,
        show: impl FnOnce(&Result<R, WsaError>) -> CallResult,
    ) -> Result<R, WsaError> {
        let what = if self.sim.tracing() {
            what()
        } else {
            Call::default()
        };
        let r = self.sim.call_shown(self.app, what, |p, _| call(p), show);
        self.last = Some(r.as_ref().err().copied());
        r
    }

    /// Executes one action and checks the invariants.
    pub fn step(&mut self, action: Action) {
        self.model.stats.actions += 1;
        self.sim.set_trace_step(self.model.stats.actions);
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
            Action::EventSelect { sock, events } => self.event_select(sock, events),
            Action::Select { sock } => self.select(sock),
            Action::Run { steps } => {
                self.sim.run_steps(usize::from(steps));
            }
            Action::Stall { sock, on } => {
                if let Some(i) = self.pick(sock) {
                    let s = &mut self.model.sockets[i];
                    s.stalled = on;
                    let (h, service) = (s.h, s.service);
                    self.sim
                        .network()
                        .set_read_rate(service, if on { Some(0) } else { None });
                    let (fault, what) = if on {
                        ("stall", "stops reading")
                    } else {
                        ("read_again", "reads again")
                    };
                    self.fault(fault, || format!("peer of {h} {what}"));
                }
            }
            Action::Slow { sock, rate } => {
                if let Some(i) = self.pick(sock) {
                    let s = &mut self.model.sockets[i];
                    s.stalled = false;
                    let (h, service) = (s.h, s.service);
                    self.sim
                        .network()
                        .set_read_rate(service, Some(usize::from(rate.max(1))));
                    self.fault("slow_reader", || {
                        format!("peer of {h} reads {rate} bytes/ms")
                    });
                }
            }
            Action::Reset { sock } => {
                if let Some(i) = self.pick(sock) {
                    let h = self.model.sockets[i].h;
                    let transport = self.sim.provider(self.app).transport();
                    if self.sim.network().reset_socket(transport, h) {
                        let s = &mut self.model.sockets[i];
                        s.reset = true;
                        s.exact = false;
                        self.fault("reset", || format!("connection of {h} reset"));
                    }
                }
            }
            Action::Delay { ms } => {
                let latency = Duration::from_millis(u64::from(ms.max(1)));
                self.sim.network().set_latency(latency);
                self.fault("delay", || format!("messages now take {latency:?}"));
            }
            Action::NetworkDown(down) => {
                self.sim.set_network_down(down);
                self.model.net_down = down;
            }
            Action::Crash => self.crash(),
            Action::Ioctl { sock, code } => self.ioctl(sock, code),
            Action::HandOver { sock } => self.hand_over(sock),
            Action::ConnectEx { echo, len, how } => self.connect_ex(echo, len, how),
            Action::Transmit {
                sock,
                len,
                how,
                disconnect,
            } => self.transmit(sock, len, how, disconnect),
            Action::UseStale { idx } => {
                if !self.model.stale.is_empty() {
                    let h = self.model.stale[usize::from(idx) % self.model.stale.len()];
                    let r = self.call(
                        || Call::on("WSPSend", h).args("stale"),
                        |p| p.send(h, b"x", MsgFlags::empty(), None),
                    );
                    let want = if self.model.count == 0 {
                        WsaError::NotInitialised
                    } else {
                        WsaError::NotSocket
                    };
                    self.model
                        .expect(&self.sim, "S6h/S13", "send on a stale handle", &r, want);
                }
            }
        }
        self.model.check(&mut self.sim, self.app);
    }

    fn pick(&self, sock: u8) -> Option<usize> {
        let n = self.model.sockets.len();
        (n > 0).then(|| usize::from(sock) % n)
    }

    fn startup(&mut self, v: Version) {
        let before = self.provider().startup_count();
        let notifier = self.sim.notifier(self.app);
        let r = self.call(
            || Call::from("WSPStartup").args(v.to_string()),
            |p| p.startup(v, notifier),
        );
        if v < Version::new(2, 0) {
            self.model.expect(
                &self.sim,
                "S2",
                "startup below the lowest version",
                &r,
                WsaError::VersionNotSupported,
            );
            if self.provider().startup_count() != before {
                self.fail("S1", "a failed startup changed the count".into());
            }
            return;
        }
        match r {
            Ok(n)
                if n.version == v.min(Version::new(2, 2))
                    && n.high_version == Version::new(2, 2) =>
            {
                self.model.count += 1;
            }
            other => self.fail("S2", format!("startup({v}) returned {other:?}")),
        }
        let count = self.provider().startup_count();
        if count != self.model.count {
            let message = format!("count {count} but the model says {}", self.model.count);
            self.fail("S1", message);
        }
    }

    fn cleanup(&mut self) {
        let last = self.model.count == 1;
        for op in &mut self.model.ops {
            op.pending_at_final_cleanup = last && op.ov.state() == OpState::Pending;
        }
        let r = self.call(
            || Call::from("WSPCleanup"),
            |p| p.cleanup().map_err(|e| e.error),
        );
        match (self.model.count, r) {
            (0, Err(WsaError::NotInitialised)) => {}
            (n, Ok(CleanupOutcome::Decremented { remaining })) if n > 1 && remaining == n - 1 => {
                self.model.count -= 1;
            }
            (1, Ok(CleanupOutcome::Final(_))) => self.after_final_cleanup(),
            (1, Err(WsaError::NetworkDown)) if self.model.net_down => self.after_final_cleanup(),
            (n, other) => self.fail(
                "S1/S5/S6",
                format!("cleanup with count {n} returned {other:?}"),
            ),
        }
    }

    fn after_final_cleanup(&mut self) {
        let net = self.sim.network().clone();
        for c in &mut self.model.closed {
            if self.model.net_down {
                // S6i: the data could not be handed off; the cleanup counted
                // it as lost.
                c.exact = false;
            }
            // Handed off to the network (S6g): the peer reads it in the
            // end, as a real peer would.
            net.set_read_rate(c.service, None);
        }
        self.model.count = 0;
        self.model.stats.final_cleanups += 1;
        for s in std::mem::take(&mut self.model.sockets) {
            self.model.retire_handle(s.h);
            self.model.retire_service(&self.sim, s.service);
        }
        let left = self.provider().socket_count();
        if left != 0 {
            self.fail(
                "S6h",
                format!("{left} sockets left after the final cleanup"),
            );
        }
        for op in self.model.ops.clone() {
            if op.pending_at_final_cleanup && op.ov.state() != OpState::AbortedSilent {
                let message = format!(
                    "{} was pending at the final cleanup but is {:?}",
                    op.id,
                    op.ov.state()
                );
                self.fail("S6c", message);
            }
            if op.pending_at_final_cleanup
                && op.ov.outcome().and_then(|o| o.error) != Some(WsaError::OperationAborted)
            {
                self.fail(
                    "S6c",
                    format!("{} does not read WSA_OPERATION_ABORTED", op.id),
                );
            }
        }
    }

    /// S11: the process dies without cleanup; the network resets its
    /// connections; a new process (a new provider) starts on the node.
    fn crash(&mut self) {
        let net = self.sim.network().clone();
        // A TF_DISCONNECT transmission that ended has sent our FIN.
        for i in 0..self.model.sockets.len() {
            self.disconnect_pending(i);
        }
        // A peer that already saw our FIN (SD_SEND) has closed its end; the
        // others must see the reset.
        for s in std::mem::take(&mut self.model.sockets) {
            if !s.shut_send && !s.reset {
                let before = net.service_resets(s.service);
                self.model.reset_expected.push((s.service, before));
            } else {
                self.model.retire_service(&self.sim, s.service);
            }
        }
        // A closed socket whose data is still in the dying process's
        // transport (not handed off) is reset with it: what its peer has
        // not read yet is lost (a reset discards it). One whose every byte
        // has left the node is the network's and goes on untouched (S11).
        let transport = self.sim.provider(self.app).transport();
        for c in &mut self.model.closed {
            if transport.unsent(c.h) > 0 {
                c.exact = false;
            }
            net.set_read_rate(c.service, None);
        }
        self.sim.crash(self.app);
        // Operations and handles are per process: the new one starts afresh.
        self.model.seen.clear();
        self.model.ops.clear();
        self.model.finished.clear();
        self.model.sockets.clear();
        // Handles belong to a process: the new one may issue the same values.
        self.model.stale.clear();
        self.model.count = 0;
    }

    /// A port no service holds.
    fn free_port(&mut self) -> u16 {
        if let Some(p) = self.model.free_ports.pop() {
            return p;
        }
        let p = self.next_port;
        self.next_port = self.next_port.checked_add(1).unwrap_or(FIRST_PORT);
        p
    }

    fn socket(&mut self, echo: bool) {
        let Some(h) = self.new_socket() else { return };
        let (addr, service) = self.new_service(echo);
        let kind = if echo { "echo" } else { "discard" };
        let c = self.call(
            || Call::on("WSPConnect", h).args(format!("{addr} {kind}")),
            |p| p.connect(h, addr),
        );
        if c.is_err() {
            self.give_up(
                h,
                service,
                format!("connect to a listening service failed: {c:?}"),
            );
            return;
        }
        self.adopt(h, service, echo);
    }

    /// `WSPSocket` (stream, overlapped), checked against S4: `None` when
    /// it failed (as it must with no startup in force).
    fn new_socket(&mut self) -> Option<SocketHandle> {
        let r = self.call(
            || Call::from("WSPSocket").args("stream, overlapped"),
            |p| {
                p.socket(
                    AddressFamily::Inet,
                    SocketKind::Stream,
                    SocketFlags::OVERLAPPED,
                )
            },
        );
        let h = match r {
            Ok(h) => h,
            Err(e) => {
                if self.model.count == 0 {
                    self.model.expect(
                        &self.sim,
                        "S4",
                        "socket",
                        &Err::<(), _>(e),
                        WsaError::NotInitialised,
                    );
                } else if !(self.model.net_down && e == WsaError::NetworkDown) {
                    self.fail("S13", format!("socket failed: {e}"));
                }
                return None;
            }
        };
        if self.model.count == 0 {
            self.fail("S4", "socket succeeded with no startup in force".into());
        }
        Some(h)
    }

    /// A new echo or discard service on a free port.
    fn new_service(&mut self, echo: bool) -> (SocketAddr, ServiceId) {
        let addr = SocketAddr::from((SERVICES, self.free_port()));
        let net = self.sim.network().clone();
        let service = if echo {
            net.add_echo_service(addr)
        } else {
            net.add_discard_service(addr, None)
        };
        (addr, service)
    }

    /// A socket that could not be connected: closed, its service retired;
    /// a failure unless the network is down.
    fn give_up(&mut self, h: SocketHandle, service: ServiceId, failure: String) {
        let _ = self.provider().close_socket(h);
        self.model.retire_handle(h);
        self.model.retire_service(&self.sim, service);
        if !self.model.net_down {
            self.fail("S13", failure);
        }
    }

    /// A connected socket the model follows from now on.
    fn adopt(&mut self, h: SocketHandle, service: ServiceId, echo: bool) {
        self.model.sockets.push(Sock {
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
            selected: FdEvents::empty(),
            closes_recorded: 0,
            disconnecting: None,
        });
    }

    /// `ConnectEx` (spec §14) to a new service, with `len` bytes sent in
    /// the same operation: followed as a send (its bytes count toward
    /// what the peer must get, S6e), told once (S9, S10). The network then
    /// runs until it has ended (at most [`CONNECT_EX_STEPS`] steps; one
    /// still pending then is closed, aborting it, S7), so that the socket
    /// is a connected one from the next step on.
    fn connect_ex(&mut self, echo: bool, len: u16, how: How) {
        if self.model.net_down {
            return; // a connect that nothing would ever finish
        }
        let Some(h) = self.new_socket() else { return };
        let (addr, service) = self.new_service(echo);
        let local = SocketAddr::from((APP_IP, 0));
        if let Err(e) = self.call(
            || Call::on("WSPBind", h).args(local.to_string()),
            |p| p.bind(h, local),
        ) {
            self.give_up(h, service, format!("bind before ConnectEx failed: {e}"));
            return;
        }
        let how = if how == How::Plain { How::Event } else { how };
        let Some(req) = Self::request(how) else {
            return;
        };
        let ov = req.overlapped.clone();
        let data = vec![0x5Au8; usize::from(len)];
        let kind = if echo { "echo" } else { "discard" };
        let r = self.call(
            || Call::on("ConnectEx", h).args(format!("{addr} {kind}, {len} bytes, {how}")),
            |p| p.connect_and_send(h, addr, data, req),
        );
        if let Err(e) = r
            && e != WsaError::IoPending
        {
            if ov.state() != OpState::Idle {
                self.fail(
                    "S9",
                    format!("a refused ConnectEx left its record {:?}", ov.state()),
                );
            }
            self.give_up(
                h,
                service,
                format!("ConnectEx to a listening service failed: {e}"),
            );
            return;
        }
        self.adopt(h, service, echo);
        let i = self.model.sockets.len() - 1;
        let at_once = r.map(|()| ov.outcome().map_or(0, |o| o.bytes as u64));
        self.track(i, Some(ov.clone()), &at_once, true);
        let ended = self
            .sim
            .run_until(CONNECT_EX_STEPS, |_| ov.state() != OpState::Pending);
        if !ended {
            // The socket is followed as connecting no further: closed, its
            // pending ConnectEx aborted (S7, checked as any abort).
            let s = self.model.sockets.remove(i);
            let _ = self.provider().close_socket(s.h);
            self.model.retire_handle(s.h);
            self.model.retire_service(&self.sim, s.service);
            return;
        }
        let failed = ov.outcome().is_none_or(|o| o.error.is_some());
        if failed {
            // Not connected: nothing more to do with it.
            let s = self.model.sockets.remove(i);
            self.give_up(
                s.h,
                s.service,
                format!("ConnectEx ended {:?}", ov.outcome()),
            );
        }
    }

    /// A pending `TF_DISCONNECT` transmission on socket `i`: true while it
    /// is still pending (nothing more is sent on the socket until then);
    /// once it has ended, its success is the end of the sending.
    fn disconnect_pending(&mut self, i: usize) -> bool {
        let s = &mut self.model.sockets[i];
        let Some(ov) = &s.disconnecting else {
            return false;
        };
        if ov.state() == OpState::Pending {
            return true;
        }
        if ov.outcome().is_some_and(|o| o.error.is_none()) {
            s.shut_send = true;
        }
        s.disconnecting = None;
        false
    }

    /// `TransmitFile` of `len` bytes from memory (spec §14): a send, told
    /// once (S9, S10), whose bytes the peer must get (S6e); with
    /// `TF_DISCONNECT`, the sending ends once it has succeeded (a later
    /// send is `WSAESHUTDOWN`).
    fn transmit(&mut self, sock: u8, len: u16, how: How, disconnect: bool) {
        let flag = if disconnect { ", TF_DISCONNECT" } else { "" };
        let sent = self.sending(sock, len, how, ("TransmitFile", flag), |p, h, data, req| {
            p.transmit(h, data, disconnect, req)
        });
        let Some((i, r, ov)) = sent else { return };
        if disconnect {
            match (r, ov) {
                (Ok(_), _) => self.model.sockets[i].shut_send = true,
                (Err(WsaError::IoPending), Some(ov)) => {
                    self.model.sockets[i].disconnecting = Some(ov);
                }
                _ => {}
            }
        }
    }

    /// The body of a send and of a transmission of `len` bytes through
    /// `call`: skipped where the one thread would wait for ever or a
    /// disconnecting transmission is pending; after `SD_SEND` it must be
    /// `WSAESHUTDOWN` (S8); otherwise followed as a send. What it did, for
    /// what follows: the socket's index, the result, the record.
    fn sending(
        &mut self,
        sock: u8,
        len: u16,
        how: How,
        (name, extra): (&'static str, &str),
        call: impl FnOnce(
            &SimProvider,
            SocketHandle,
            Vec<u8>,
            Option<OverlappedRequest>,
        ) -> Result<usize, WsaError>,
    ) -> Option<(usize, Result<usize, WsaError>, Option<Overlapped>)> {
        let i = self.pick(sock)?;
        // A transmission without an overlapped record waits whatever the
        // socket's mode (spec §14, `Provider::transmit`).
        let waits = name == "TransmitFile" && how == How::Plain;
        if self.disconnect_pending(i) || self.would_block_forever(i, how, waits) {
            return None;
        }
        let s = &self.model.sockets[i];
        let (h, shut) = (s.h, s.shut_send);
        let req = Self::request(how);
        let ov = req.as_ref().map(|r| r.overlapped.clone());
        let data = vec![0xA5u8; usize::from(len)];
        let r = self.call_shown(
            || Call::on(name, h).args(format!("{len} bytes, {how}{extra}")),
            |p| call(p, h, data, req),
            |r| CallResult::moved(&r.as_ref().map(|n| *n as u64).map_err(|e| *e)),
        );
        if shut {
            let what = format!("{name} after SD_SEND");
            self.model
                .expect(&self.sim, "S8", &what, &r, WsaError::Shutdown);
            return None;
        }
        self.track(i, ov.clone(), &r.map(|n| n as u64), true);
        Some((i, r, ov))
    }

    /// `WSPIoctl` (spec §14): `FIONREAD` and `SIOCATMARK` answer 4 bytes
    /// (the mark TRUE: the workload sends no urgent data),
    /// `SIO_KEEPALIVE_VALS` nothing, an unknown code `WSAEOPNOTSUPP`, as
    /// Windows answers it. A reset socket or a network that is down may
    /// fail the known ones.
    fn ioctl(&mut self, sock: u8, code: IoctlCode) {
        let Some(i) = self.pick(sock) else { return };
        let s = &self.model.sockets[i];
        let (h, broken) = (s.h, s.reset || self.model.net_down);
        let (raw, input): (u32, Vec<u8>) = match code {
            IoctlCode::Fionread => (0x4004_667F, Vec::new()),
            IoctlCode::AtMark => (0x4004_7307, Vec::new()),
            IoctlCode::KeepAlive => (
                0x9800_0004,
                [1u32, 7_200_000, 1000]
                    .iter()
                    .flat_map(|v| v.to_ne_bytes())
                    .collect(),
            ),
            IoctlCode::Unknown => (0x9800_0099, Vec::new()),
        };
        let r = self.call(
            || Call::on("WSPIoctl", h).args(code.to_string()),
            |p| p.ioctl(h, raw, &input, 4),
        );
        let shape_ok = |v: &Vec<u8>| match code {
            IoctlCode::Fionread => v.len() == 4,
            IoctlCode::AtMark => v.as_slice() == 1u32.to_ne_bytes(),
            IoctlCode::KeepAlive => v.is_empty(),
            IoctlCode::Unknown => false,
        };
        match r {
            _ if code == IoctlCode::Unknown => self.model.expect(
                &self.sim,
                "spec14",
                "an unknown ioctl",
                &r,
                WsaError::OperationNotSupported,
            ),
            Ok(v) if !shape_ok(&v) => {
                self.fail("spec14", format!("{code} on {h} answered {v:?}"));
            }
            Ok(_) => {}
            Err(_) if broken => {}
            Err(e) => self.fail("spec14", format!("{code} on open {h} failed: {e}")),
        }
    }

    /// `WSPDuplicateSocket` and its `WSPSocket` in the same process, then
    /// the original's close (spec §14): the socket goes on under the new
    /// handle, so every byte sent through either still reaches the peer
    /// (S6e, checked at the end as for any socket); the original is stale
    /// from now on (S6h) and what was pending through it is aborted, told
    /// once (S7). The new handle has its own state: blocking, no
    /// registration.
    fn hand_over(&mut self, sock: u8) {
        let Some(i) = self.pick(sock) else { return };
        self.disconnect_pending(i);
        let h = self.model.sockets[i].h;
        let dup = self.call(
            || Call::on("WSPDuplicateSocket", h).args("this process"),
            |p| p.duplicate_socket(h, 1),
        );
        let dup = match dup {
            Ok(dup) => dup,
            Err(WsaError::NetworkDown) if self.model.net_down => return,
            Err(e) => return self.fail("spec14", format!("duplicating open {h} failed: {e}")),
        };
        let h2 = match self.call(
            || Call::from("WSPSocket").args(format!("the duplicate #{}", dup.token)),
            |p| p.socket_from_duplicate(dup.token, SocketFlags::OVERLAPPED),
        ) {
            Ok(h2) => h2,
            Err(e) => return self.fail("spec14", format!("claiming {h}'s duplicate failed: {e}")),
        };
        let mine = self.pending_on(h);
        // The application hands the socket over: it does not linger on the
        // original (SO_LINGER is each handle's own, spec §14).
        let off = Linger {
            on: false,
            seconds: 0,
        };
        if let Err(e) = self.provider().set_linger(h, off) {
            return self.fail("S13", format!("set_linger on an open socket failed: {e}"));
        }
        if let Err(e) = self.call(
            || Call::on("WSPCloseSocket", h).args("the original, after its duplicate"),
            |p| p.close_socket(h),
        ) {
            return self.fail("S7", format!("closing the original {h} failed: {e}"));
        }
        self.check_aborted_by_close(&mine);
        self.model.retire_handle(h);
        let s = &mut self.model.sockets[i];
        s.h = h2;
        s.nonblocking = false;
        s.selected = FdEvents::empty();
        s.closes_recorded = 0;
        s.disconnecting = None;
        // An aborted send may have left part of its bytes behind.
        s.exact &= !mine.iter().any(|o| o.send);
    }

    /// The operations followed on `h` still pending.
    fn pending_on(&self, h: SocketHandle) -> Vec<TrackedOp> {
        self.model
            .ops
            .iter()
            .filter(|o| o.id.socket == h && o.ov.state() == OpState::Pending)
            .cloned()
            .collect()
    }

    /// S7: every operation pending at a close was aborted, and the abort
    /// told (the telling is checked in `Model::check`).
    fn check_aborted_by_close(&mut self, ops: &[TrackedOp]) {
        for op in ops {
            if op.ov.state() != OpState::AbortedNotified {
                let message = format!("{} pending at close is {:?}", op.id, op.ov.state());
                self.fail("S7", message);
            }
        }
    }

    /// A blocking call that nothing would ever finish: the single
    /// application thread would wait forever. Not a provider question.
    fn would_block_forever(&self, i: usize, how: How, waits_anyway: bool) -> bool {
        let s = &self.model.sockets[i];
        how == How::Plain
            && (!s.nonblocking || waits_anyway)
            && (s.echo || s.stalled || s.shut_send || self.model.net_down)
    }

    fn request(how: How) -> Option<OverlappedRequest> {
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
        Some(OverlappedRequest::new(mode))
    }

    fn send(&mut self, sock: u8, len: u16, how: How) {
        self.sending(sock, len, how, ("WSPSend", ""), |p, h, data, req| {
            p.send(h, &data, MsgFlags::empty(), req)
        });
    }

    fn recv(&mut self, sock: u8, how: How) {
        let Some(i) = self.pick(sock) else { return };
        let s = &self.model.sockets[i];
        if how == How::Plain && !s.nonblocking {
            return; // may wait forever; see `send`
        }
        let (h, shut) = (s.h, s.shut_recv);
        let req = Self::request(how);
        let ov = req.as_ref().map(|r| r.overlapped.clone());
        let r = self.call_shown(
            || Call::on("WSPRecv", h).args(format!("4096 bytes, {how}")),
            |p| p.recv(h, 4096, MsgFlags::empty(), req),
            |r| CallResult::moved(&r.as_ref().map(|x| x.data.len() as u64).map_err(|e| *e)),
        );
        if shut {
            self.model.expect(
                &self.sim,
                "S8",
                "receive after SD_RECEIVE",
                &r,
                WsaError::Shutdown,
            );
            return;
        }
        self.track(i, ov, &r.map(|x| x.data.len() as u64), false);
    }

    /// Records what a send or receive did in the model.
    fn track(&mut self, i: usize, ov: Option<Overlapped>, r: &Result<u64, WsaError>, send: bool) {
        let follow = |model: &mut Model, ov: Overlapped, counted: bool| {
            model.stats.ops_accepted += 1;
            let id = ov.op().expect("an accepted operation has an id");
            model.seen.insert(id, (0, 0));
            model.ops.push(TrackedOp {
                ov,
                id,
                send,
                counted,
                pending_at_final_cleanup: false,
                ended_with: (0, 0),
            });
            id
        };
        match (ov, r) {
            (None, Ok(n)) => {
                if send {
                    self.model.sockets[i].sent += n;
                }
            }
            (None, Err(_)) => {}
            (Some(ov), Ok(n)) => {
                // S9: finished at once, and still notified.
                if send {
                    self.model.sockets[i].sent += n;
                }
                let state = ov.state();
                let id = follow(&mut self.model, ov, true);
                if state != OpState::Delivered {
                    self.fail("S9", format!("{id} completed at once but is {state:?}"));
                }
            }
            (Some(ov), Err(WsaError::IoPending)) => {
                // Counted when it completes (see `Model::check`).
                follow(&mut self.model, ov, false);
            }
            (Some(ov), Err(_)) => {
                // S9: any other error starts nothing.
                if ov.state() != OpState::Idle {
                    let message = format!("a rejected call left its record {:?}", ov.state());
                    self.fail("S9", message);
                }
            }
        }
    }

    fn close(&mut self, sock: u8, linger: LingerChoice) {
        let Some(i) = self.pick(sock) else { return };
        let h = self.model.sockets[i].h;
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
        if let Err(e) = self.provider().set_linger(h, l) {
            self.fail("S13", format!("set_linger on an open socket failed: {e}"));
            return;
        }
        let unsent = self.provider().transport().unsent(h);
        let mine = self.pending_on(h);
        let r = self.call(
            || Call::on("WSPCloseSocket", h).args(format!("{linger}, {unsent} bytes unsent")),
            |p| p.close_socket(h),
        );
        let s = &self.model.sockets[i];
        if matches!(linger, LingerChoice::Timed(_)) && s.nonblocking && unsent > 0 {
            // S7: the socket stays open and valid.
            self.model.expect(
                &self.sim,
                "S7",
                "non-blocking lingering close",
                &r,
                WsaError::WouldBlock,
            );
            if self.provider().socket_kind(h).is_err() {
                self.fail("S7", "WSAEWOULDBLOCK close invalidated the handle".into());
            }
            return;
        }
        if let Err(e) = r {
            self.fail("S7", format!("close of an open socket failed: {e}"));
            return;
        }
        self.check_aborted_by_close(&mine);
        let s = self.model.sockets.remove(i);
        self.model.retire_handle(s.h);
        if s.echo {
            self.model.retire_service(&self.sim, s.service);
        } else {
            let exact = s.exact && linger == LingerChoice::Off && !mine.iter().any(|o| o.send);
            self.model.closed.push(Closed {
                service: s.service,
                h: s.h,
                sent: s.sent,
                exact,
            });
        }
    }

    fn shutdown(&mut self, sock: u8, how: u8) {
        let Some(i) = self.pick(sock) else { return };
        if self.disconnect_pending(i) {
            return;
        }
        let h = self.model.sockets[i].h;
        let r = self.call(
            || Call::on("WSPShutdown", h).args(how.to_string()),
            |p| p.shutdown(h, i32::from(how)),
        );
        match how {
            3 => self.model.expect(
                &self.sim,
                "S8",
                "shutdown with an invalid how",
                &r,
                WsaError::InvalidArgument,
            ),
            _ if r.is_ok() => {
                let s = &mut self.model.sockets[i];
                s.shut_send |= how != 0;
                s.shut_recv |= how != 1;
            }
            _ if self.model.net_down || self.model.sockets[i].reset => {}
            _ => self.fail(
                "S8",
                format!("shutdown of a connected socket failed: {r:?}"),
            ),
        }
    }

    fn nonblocking(&mut self, sock: u8, on: bool) {
        let Some(i) = self.pick(sock) else { return };
        let h = self.model.sockets[i].h;
        let r = self.call(
            || Call::on("WSPIoctl", h).args(format!("FIONBIO, {on}")),
            |p| p.set_nonblocking(h, on),
        );
        let selected = !self.model.sockets[i].selected.is_empty();
        match r {
            Ok(()) if on || !selected => self.model.sockets[i].nonblocking = on,
            // Spec §12: blocking again is refused while a registration lives.
            Ok(()) => self.fail(
                "spec12",
                format!("FIONBIO(0) on {h} with a registration succeeded"),
            ),
            Err(WsaError::InvalidArgument) if selected && !on => {}
            Err(e) => self.fail("S13", format!("FIONBIO failed: {e}")),
        }
    }

    /// `WSPEventSelect`: from now on the model holds every event recorded
    /// for the socket against this mask (spec §12).
    fn event_select(&mut self, sock: u8, events: u8) {
        let Some(i) = self.pick(sock) else { return };
        let h = self.model.sockets[i].h;
        let mask = FdEvents::from_bits_truncate(u32::from(events)) & FdEvents::REENABLED;
        let r = self.call(
            || Call::on("WSPEventSelect", h).args(format!("{mask:?}")),
            |p| p.event_select(h, EventKey(h.to_raw()), mask),
        );
        match r {
            Ok(()) => {
                // The socket is non-blocking from now on, a cancelled
                // registration's too (WSPEventSelect: back to blocking
                // only with FIONBIO(0) after the cancel).
                let s = &mut self.model.sockets[i];
                s.selected = mask;
                s.nonblocking = true;
            }
            Err(e) => self.fail("S13", format!("WSPEventSelect on {h} failed: {e}")),
        }
    }

    /// `WSPSelect` polling one socket in every set (spec §13): it answers
    /// at once, with nothing but that socket, counted once a set.
    fn select(&mut self, sock: u8) {
        let Some(i) = self.pick(sock) else { return };
        let h = self.model.sockets[i].h;
        let sets = crate::SelectSets {
            read: vec![h],
            write: vec![h],
            except: vec![h],
        };
        let r = self.call(
            || Call::on("WSPSelect", h).args("poll".to_string()),
            |p| p.select(&sets, Some(std::time::Duration::ZERO)),
        );
        match r {
            Ok(got) => {
                let only = |set: &[SocketHandle]| set.iter().all(|&x| x == h) && set.len() <= 1;
                if !(only(&got.read) && only(&got.write) && only(&got.except)) {
                    self.fail("spec13", format!("select on {h} answered {got:?}"));
                }
            }
            Err(e) => self.fail("spec13", format!("a select poll on open {h} failed: {e}")),
        }
    }

    fn poll(&mut self, op: u8) {
        let all = self.model.ops.len() + self.model.finished.len();
        if all == 0 {
            return;
        }
        let i = usize::from(op) % all;
        let t = if i < self.model.ops.len() {
            self.model.ops[i].clone()
        } else {
            self.model.finished[i - self.model.ops.len()].clone()
        };
        let r = self.call(
            || {
                Call::on("WSPGetOverlappedResult", t.id.socket)
                    .args(format!("{}, wait=false", t.id))
            },
            |p| p.get_overlapped_result(t.id.socket, &t.ov, false),
        );
        let open = self.model.sockets.iter().any(|s| s.h == t.id.socket);
        let want = if self.model.count == 0 {
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
            let message = format!(
                "get_overlapped_result of {} returned {r:?}, the record says {want:?}",
                t.id
            );
            self.fail("S9", message);
        }
    }

    /// Brings the network back, lets every peer read, runs the network until
    /// nothing moves, and checks that every gracefully closed socket's bytes
    /// arrived (S6e, S6g, S7) and every peer a crash had to reset saw it.
    pub fn finish(&mut self) {
        let net = self.sim.network().clone();
        net.set_down(false);
        self.model.net_down = false;
        for s in &self.model.sockets {
            net.set_read_rate(s.service, None);
        }
        for c in &self.model.closed {
            net.set_read_rate(c.service, None);
        }
        self.sim.settle();
        self.model.check_resets(&self.sim, true);
        self.model.check_closed(&self.sim, true);
        self.model.check(&mut self.sim, self.app);
    }
}
