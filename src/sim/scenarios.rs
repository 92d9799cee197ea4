//! The built-in scenario set: a scripted walk through the whole lifecycle,
//! printed step by step, with every expectation checked. Two processes of
//! one [`Simulation`] (A on 10.0.0.1, B on 10.0.0.2); calls and
//! notifications are worded as the trace words them.

use super::interleave::SimProvider;
use super::simulation::Simulation;
use super::trace::{CallResult, via};
use crate::Transport as _;
use crate::core::op::{OpState, Overlapped};
use crate::mock::{RecordingNotifier, ServiceId};
use crate::{
    AddressFamily, CleanupOutcome, CompletionMode, EventKey, Linger, MsgFlags, Notifier,
    OverlappedRequest, SocketFlags, SocketHandle, SocketKind, ThreadKey, Version, WsaError,
};
use std::fmt::{Debug, Write as _};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// The application thread of node A.
const THREAD_A: ThreadKey = ThreadKey(1);

/// What a scenario run printed and which expectations failed.
#[derive(Debug, Default)]
pub struct ScenarioReport {
    /// The readable report.
    pub text: String,
    /// Expectations that did not hold.
    pub failures: Vec<String>,
    /// Expectations checked.
    pub checks: usize,
}

/// A process of the scenario: its provider, its notifier's record, and the
/// notifier to start it with.
struct Node {
    p: SimProvider,
    notes: RecordingNotifier,
    notifier: Arc<dyn Notifier>,
}

struct Script {
    sim: Simulation,
    a: Node,
    b: Node,
    out: ScenarioReport,
}

fn addr(ip: [u8; 4], port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::from(ip), port))
}

impl Script {
    fn new(seed: u64) -> Self {
        let mut sim = Simulation::new(seed);
        sim.keep_trace(false);
        let mut node = |name: &str, ip: [u8; 4]| {
            let id = sim.add_process(name, Ipv4Addr::from(ip).into());
            Node {
                p: sim.provider(id).clone(),
                notes: sim.notes(id).clone(),
                notifier: sim.notifier(id),
            }
        };
        let a = node("A", [10, 0, 0, 1]);
        let b = node("B", [10, 0, 0, 2]);
        crate::mock::MockWaiter::set_current_thread(THREAD_A);
        Script {
            sim,
            a,
            b,
            out: ScenarioReport::default(),
        }
    }

    fn heading(&mut self, title: &str) {
        let _ = writeln!(self.out.text, "\n== {title}");
    }

    fn line(&mut self, text: impl AsRef<str>) {
        let t = self.sim.now().as_secs_f64() * 1e3;
        let _ = writeln!(self.out.text, "  [{t:>9.3}ms] {}", text.as_ref());
    }

    fn call<T: Debug>(&mut self, node: &str, call: &str, r: &Result<T, WsaError>) {
        self.line(format!("{node}: {call} -> {}", CallResult::of(r).to_text()));
    }

    fn check(&mut self, rule: &str, ok: bool, what: impl AsRef<str>) {
        self.out.checks += 1;
        let mark = if ok { "ok  " } else { "FAIL" };
        self.line(format!("   {mark} {rule}: {}", what.as_ref()));
        if !ok {
            self.out.failures.push(format!("{rule}: {}", what.as_ref()));
        }
    }

    /// Prints what node A's notifier saw since the last call, and clears it.
    fn notifications(&mut self) -> (usize, usize) {
        let delivered = self.a.notes.delivered();
        let suppressed = self.a.notes.suppressed();
        self.a.notes.clear();
        for d in &delivered {
            let o = d.outcome();
            let status = o.error.map_or(format!("{} bytes", o.bytes), |e| {
                format!("{} ({})", e.name(), e.code())
            });
            self.line(format!(
                "   notification delivered: {} via {}, {status}",
                d.op(),
                via(d)
            ));
        }
        for s in &suppressed {
            self.line(format!(
                "   notification suppressed: {} ({})",
                s.record.op(),
                s.why
            ));
        }
        (delivered.len(), suppressed.len())
    }

    fn settle(&mut self) {
        let steps = self.sim.network().run_until_idle(1_000_000);
        self.line(format!("network runs until idle ({steps} steps)"));
    }

    fn startup(&mut self, v: Version) -> Result<crate::Negotiated, WsaError> {
        let r = self.a.p.startup(v, self.a.notifier.clone());
        self.call("A", &format!("WSPStartup({v})"), &r);
        r
    }

    /// A stream socket on A connected to B's listener, and B's accepted end.
    fn pair(&mut self, listener: SocketHandle) -> (SocketHandle, SocketHandle) {
        let a = self
            .a
            .p
            .socket(
                AddressFamily::Inet,
                SocketKind::Stream,
                SocketFlags::OVERLAPPED,
            )
            .expect("socket on A");
        let r = self.a.p.connect(a, addr([10, 0, 0, 2], 80));
        self.call("A", &format!("WSPConnect({a}, 10.0.0.2:80)"), &r);
        self.settle();
        let acc = self.b.p.accept(listener);
        self.call("B", &format!("WSPAccept({listener})"), &acc);
        (a, acc.expect("accept on B").0)
    }

    /// Sends on non-blocking `a` until neither its buffer nor the stalled
    /// peer's window takes more; returns the bytes accepted.
    fn fill(&mut self, a: SocketHandle) -> usize {
        let mut sent = 0;
        for _ in 0..2 {
            while let Ok(n) = self.a.p.send(a, &[1u8; 4096], MsgFlags::empty(), None) {
                sent += n;
            }
            self.sim.network().run_until_idle(100_000);
        }
        sent
    }

    /// A non-blocking socket on A connected to a discard service at `port`
    /// that does not read, filled until nothing more is taken.
    fn stalled(&mut self, port: u16) -> (ServiceId, SocketHandle, usize) {
        let (svc, at) = self.discard(port, Some(0));
        let a = self
            .a
            .p
            .socket(
                AddressFamily::Inet,
                SocketKind::Stream,
                SocketFlags::OVERLAPPED,
            )
            .expect("socket");
        let _ = self.a.p.connect(a, at);
        self.a.p.set_nonblocking(a, true).expect("FIONBIO");
        let sent = self.fill(a);
        (svc, a, sent)
    }

    /// Closes both ends of a pair and lets the network settle.
    fn close_pair(&mut self, a: SocketHandle, b: SocketHandle) {
        let _ = self.a.p.close_socket(a);
        let _ = self.b.p.close_socket(b);
        self.settle();
    }

    fn discard(&mut self, port: u16, rate: Option<usize>) -> (ServiceId, SocketAddr) {
        let at = addr([10, 0, 0, 3], port);
        (self.sim.network().add_discard_service(at, rate), at)
    }
}

fn overlapped(mode: CompletionMode) -> (OverlappedRequest, Overlapped) {
    let req = OverlappedRequest::new(mode);
    let ov = req.overlapped.clone();
    (req, ov)
}

/// Runs the built-in scenario set with `seed` and returns its report.
pub fn run_builtin(seed: u64) -> ScenarioReport {
    let mut s = Script::new(seed);
    lifecycle(&mut s);
    let listener = node_b_listens(&mut s);
    overlapped_event(&mut s, listener);
    completion_routine(&mut s, listener);
    linger_modes(&mut s, listener);
    final_cleanup(&mut s, listener);
    restart(&mut s);
    s.out
}

fn lifecycle(s: &mut Script) {
    s.heading("1. nested startups and cleanups (S1, S2, S4, S5)");
    let r = s.a.p.cleanup();
    s.line(format!(
        "A: WSPCleanup -> {:?}",
        r.as_ref().map_err(|e| e.error)
    ));
    s.check(
        "S1",
        r.map_err(|e| e.error) == Err(WsaError::NotInitialised),
        "cleanup before startup: WSANOTINITIALISED",
    );
    let r = s.a.p.socket(
        AddressFamily::Inet,
        SocketKind::Stream,
        SocketFlags::empty(),
    );
    s.call("A", "WSPSocket", &r);
    s.check(
        "S4",
        r == Err(WsaError::NotInitialised),
        "calls before startup: WSANOTINITIALISED",
    );
    let r = s.startup(Version::new(2, 2));
    s.check(
        "S2",
        r.map(|n| (n.version, n.high_version)) == Ok((Version::new(2, 2), Version::new(2, 2))),
        "2.2 gets 2.2",
    );
    let r = s.startup(Version::new(2, 0));
    s.check(
        "S2",
        r.map(|n| n.version) == Ok(Version::new(2, 0)),
        "2.0 gets 2.0, high version 2.2",
    );
    let r = s.startup(Version::new(1, 1));
    s.check(
        "S2",
        r.map(|n| n.version) == Err(WsaError::VersionNotSupported),
        "1.1 is below the lowest",
    );
    s.check(
        "S1",
        s.a.p.startup_count() == 2,
        "a failed startup changes nothing: count 2",
    );
    let r = s.a.p.cleanup();
    s.line(format!("A: WSPCleanup -> {r:?}"));
    s.check(
        "S5",
        r == Ok(CleanupOutcome::Decremented { remaining: 1 }),
        "non-final cleanup only decrements",
    );
    let r = s.startup(Version::new(2, 2));
    s.check(
        "S1",
        r.is_ok() && s.a.p.startup_count() == 2,
        "count back to 2",
    );
}

fn node_b_listens(s: &mut Script) -> SocketHandle {
    s.heading("2. node B (another process) listens on 10.0.0.2:80");
    let r = s.b.p.startup(Version::new(2, 2), s.b.notifier.clone());
    s.call("B", "WSPStartup(2.2)", &r);
    let l =
        s.b.p
            .socket(
                AddressFamily::Inet,
                SocketKind::Stream,
                SocketFlags::OVERLAPPED,
            )
            .expect("socket on B");
    let r = s.b.p.bind(l, addr([10, 0, 0, 2], 80));
    s.call("B", &format!("WSPBind({l}, 10.0.0.2:80)"), &r);
    let r = s.b.p.listen(l, 8);
    s.call("B", &format!("WSPListen({l}, 8)"), &r);
    s.b.p.set_nonblocking(l, true).expect("FIONBIO on B");
    l
}

fn overlapped_event(s: &mut Script, listener: SocketHandle) {
    s.heading("3. overlapped receive and send with an event (S9, S10)");
    let (a, b) = s.pair(listener);
    let (req, ov) = overlapped(CompletionMode::Event(EventKey(1)));
    let r = s.a.p.recv(a, 100, MsgFlags::empty(), Some(req));
    s.call(
        "A",
        &format!("WSPRecv({a}, overlapped, event 1)"),
        &r.as_ref().map(|x| x.data.len()).map_err(|e| *e),
    );
    s.check(
        "S9",
        r.err() == Some(WsaError::IoPending),
        "nothing buffered: WSA_IO_PENDING",
    );
    let r = s.b.p.send(b, b"hello", MsgFlags::empty(), None);
    s.call("B", &format!("WSPSend({b}, \"hello\")"), &r);
    s.settle();
    let (d, _) = s.notifications();
    s.check(
        "S10",
        d == 1 && ov.data() == b"hello",
        "exactly one completion: event 1 set, 5 bytes \"hello\"",
    );
    let (req, ov) = overlapped(CompletionMode::Event(EventKey(2)));
    let r = s.a.p.send(a, &[1u8; 1000], MsgFlags::empty(), Some(req));
    s.call(
        "A",
        &format!("WSPSend({a}, 1000 bytes, overlapped, event 2)"),
        &r,
    );
    let (d, _) = s.notifications();
    s.check(
        "S9",
        r == Ok(1000) && d == 1 && ov.state() == OpState::Delivered,
        "completed at once: returns 0 and still sets the event",
    );
    s.close_pair(a, b);
}

fn completion_routine(s: &mut Script, listener: SocketHandle) {
    s.heading("4. overlapped receive with a completion routine");
    let (a, b) = s.pair(listener);
    let (req, _ov) = overlapped(CompletionMode::Routine {
        thread: THREAD_A,
        routine: 0x4000,
    });
    let r = s.a.p.recv(a, 100, MsgFlags::empty(), Some(req));
    s.call(
        "A",
        &format!("WSPRecv({a}, overlapped, routine 0x4000)"),
        &r.as_ref().map(|x| x.data.len()).map_err(|e| *e),
    );
    let r = s.b.p.send(b, b"ping", MsgFlags::empty(), None);
    s.call("B", &format!("WSPSend({b}, \"ping\")"), &r);
    s.settle();
    let queued = s.a.notes.take_routines(THREAD_A);
    s.notifications();
    s.line(format!(
        "A: thread {} enters an alertable wait: {} routine(s) run",
        THREAD_A.0,
        queued.len()
    ));
    s.check(
        "S10",
        queued.len() == 1 && queued[0].outcome.bytes == 4,
        "one routine, queued to the initiating thread, 4 bytes",
    );
    s.close_pair(a, b);
}

fn linger_modes(s: &mut Script, listener: SocketHandle) {
    s.heading("5. close in each linger mode (S7)");
    // a. SO_DONTLINGER with a pending receive.
    let (a, b) = s.pair(listener);
    let (req, ov) = overlapped(CompletionMode::Event(EventKey(3)));
    let _ = s.a.p.recv(a, 100, MsgFlags::empty(), Some(req));
    let _ = s.a.p.send(a, &[7u8; 3000], MsgFlags::empty(), None);
    let r = s.a.p.close_socket(a);
    s.call(
        "A",
        &format!("WSPCloseSocket({a}) with SO_DONTLINGER, a receive pending"),
        &r,
    );
    let (d, _) = s.notifications();
    s.check(
        "S7",
        d == 1 && ov.outcome().and_then(|o| o.error) == Some(WsaError::OperationAborted),
        "pending receive: WSA_OPERATION_ABORTED, notified once",
    );
    let r = s.a.p.send(a, b"x", MsgFlags::empty(), None);
    s.call("A", &format!("WSPSend({a}) after close"), &r);
    s.check(
        "S7",
        r == Err(WsaError::NotSocket),
        "the handle is WSAENOTSOCK",
    );
    s.settle();
    s.b.p.set_nonblocking(b, true).expect("FIONBIO");
    let mut got = 0;
    while let Ok(x) = s.b.p.recv(b, 65536, MsgFlags::empty(), None) {
        if x.data.is_empty() {
            break;
        }
        got += x.data.len();
    }
    s.line(format!("B: reads {got} bytes, then end of stream"));
    s.check(
        "S7",
        got == 3000,
        "graceful close in the background: all 3000 bytes arrive",
    );
    let _ = s.b.p.close_socket(b);

    // b. SO_LINGER {on, 0}: abortive.
    let (svc, a, sent) = s.stalled(9);
    s.line(format!(
        "A: {sent} bytes queued to a peer that does not read ({} unsent)",
        s.a.p.transport().unsent(a)
    ));
    s.a.p
        .set_linger(
            a,
            Linger {
                on: true,
                seconds: 0,
            },
        )
        .expect("SO_LINGER");
    let r = s.a.p.close_socket(a);
    s.call(
        "A",
        &format!("WSPCloseSocket({a}) with SO_LINGER{{on,0}}"),
        &r,
    );
    s.settle();
    s.check(
        "S7",
        r.is_ok() && s.sim.network().service_resets(svc) == 1,
        "abortive: returns at once, the peer sees a reset",
    );

    // c. SO_LINGER {on, 2 s}, blocking socket, peer not reading.
    let (svc, a, _) = s.stalled(10);
    s.a.p.set_nonblocking(a, false).expect("FIONBIO");
    s.a.p
        .set_linger(
            a,
            Linger {
                on: true,
                seconds: 2,
            },
        )
        .expect("SO_LINGER");
    let t0 = s.sim.network().now();
    let r = s.a.p.close_socket(a);
    let waited = s.sim.network().now() - t0;
    s.call(
        "A",
        &format!("WSPCloseSocket({a}) with SO_LINGER{{on,2}}, blocking"),
        &r,
    );
    s.settle();
    s.check(
        "S7",
        r.is_ok() && waited >= Duration::from_secs(2) && s.sim.network().service_resets(svc) == 1,
        format!(
            "waited {:.3}s of virtual time, then closed abortively",
            waited.as_secs_f64()
        ),
    );

    // d. SO_LINGER {on, 2 s}, non-blocking socket with unsent data.
    let (svc, a, _) = s.stalled(11);
    s.a.p
        .set_linger(
            a,
            Linger {
                on: true,
                seconds: 2,
            },
        )
        .expect("SO_LINGER");
    let r = s.a.p.close_socket(a);
    s.call(
        "A",
        &format!("WSPCloseSocket({a}) with SO_LINGER{{on,2}}, non-blocking"),
        &r,
    );
    s.check(
        "S7",
        r == Err(WsaError::WouldBlock) && s.a.p.socket_kind(a).is_ok(),
        "WSAEWOULDBLOCK, and the socket stays open and valid",
    );
    s.sim.network().set_read_rate(svc, None);
    s.a.p
        .set_linger(a, Linger::default())
        .expect("SO_DONTLINGER");
    let r = s.a.p.close_socket(a);
    s.call("A", &format!("WSPCloseSocket({a}) with SO_DONTLINGER"), &r);
    s.settle();
    s.check(
        "S7",
        r.is_ok() && s.sim.network().service_closed_gracefully(svc) == 1,
        "then a graceful close",
    );
}

fn final_cleanup(s: &mut Script, listener: SocketHandle) {
    s.heading("6. the final cleanup with pending operations, open sockets and a closed socket still sending (S6)");
    let (open, b) = s.pair(listener);
    let (req_e, ov_e) = overlapped(CompletionMode::Event(EventKey(4)));
    let _ = s.a.p.recv(open, 100, MsgFlags::empty(), Some(req_e));
    let (req_r, ov_r) = overlapped(CompletionMode::Routine {
        thread: THREAD_A,
        routine: 0x5000,
    });
    let r = s.a.p.recv(open, 100, MsgFlags::empty(), Some(req_r));
    s.call(
        "A",
        &format!("WSPRecv({open}) x2, event 4 and routine 0x5000"),
        &r.map(|x| x.data.len()),
    );
    let (slow, at) = s.discard(12, Some(4));
    let draining =
        s.a.p
            .socket(
                AddressFamily::Inet,
                SocketKind::Stream,
                SocketFlags::OVERLAPPED,
            )
            .expect("socket");
    let _ = s.a.p.connect(draining, at);
    s.a.p
        .set_buffers(draining, Some(65536), None)
        .expect("SO_SNDBUF");
    let r =
        s.a.p
            .send(draining, &[9u8; 50_000], MsgFlags::empty(), None);
    s.call(
        "A",
        &format!("WSPSend({draining}, 50000 bytes) to a slow reader (4 bytes/ms)"),
        &r,
    );
    let r = s.a.p.close_socket(draining);
    let unsent = s.a.p.transport().unsent(draining);
    s.call(
        "A",
        &format!("WSPCloseSocket({draining}), SO_DONTLINGER ({unsent} bytes unsent)"),
        &r,
    );
    let r = s.a.p.cleanup();
    s.line(format!("A: WSPCleanup -> {r:?}"));
    s.check(
        "S5",
        r == Ok(CleanupOutcome::Decremented { remaining: 1 }) && ov_e.state() == OpState::Pending,
        "non-final: the receives stay pending",
    );
    let r = s.a.p.cleanup();
    s.line(format!("A: WSPCleanup (final) -> {r:?}"));
    let (d, sup) = s.notifications();
    let routines = s.a.notes.take_routines(THREAD_A).len();
    s.check(
        "S6c",
        d == 0 && sup == 2 && routines == 0,
        "no event set, no routine queued, no port post",
    );
    let aborted =
        |ov: &Overlapped| ov.outcome().and_then(|o| o.error) == Some(WsaError::OperationAborted);
    s.check(
        "S6c",
        aborted(&ov_e) && aborted(&ov_r),
        "both receives read WSA_OPERATION_ABORTED from their records",
    );
    s.check(
        "S6h",
        s.a.p.socket_count() == 0 && s.a.p.startup_count() == 0,
        "no socket left, count 0",
    );
    let r = s.a.p.socket(
        AddressFamily::Inet,
        SocketKind::Stream,
        SocketFlags::empty(),
    );
    s.check(
        "S4",
        r == Err(WsaError::NotInitialised),
        "calls after the last cleanup: WSANOTINITIALISED",
    );
    s.b.p.set_nonblocking(b, true).expect("FIONBIO");
    s.settle();
    let r = s.b.p.recv(b, 100, MsgFlags::empty(), None);
    s.call(
        "B",
        &format!("WSPRecv({b})"),
        &r.as_ref().map(|x| x.data.len()).map_err(|e| *e),
    );
    s.check(
        "S6d",
        r.err() == Some(WsaError::ConnectionReset),
        "the open socket was reset: the peer sees WSAECONNRESET",
    );
    let got = s.sim.network().service_received(slow);
    s.check("S6e/S6g", got == 50_000, format!("the closed socket kept sending after the cleanup: the slow reader got {got} of 50000 bytes"));
    let _ = s.b.p.close_socket(b);
}

fn restart(s: &mut Script) {
    s.heading("7. restart at once, and a stale handle (S6h)");
    let before = s.a.p.socket(
        AddressFamily::Inet,
        SocketKind::Stream,
        SocketFlags::empty(),
    );
    s.call("A", "WSPSocket", &before);
    let r = s.startup(Version::new(2, 2));
    s.check("S6h", r.is_ok(), "startup works again at once");
    let old =
        s.a.p
            .socket(
                AddressFamily::Inet,
                SocketKind::Stream,
                SocketFlags::empty(),
            )
            .expect("socket");
    let _ = s.a.p.close_socket(old);
    let new =
        s.a.p
            .socket(
                AddressFamily::Inet,
                SocketKind::Stream,
                SocketFlags::empty(),
            )
            .expect("socket");
    s.call("A", "WSPSocket", &Ok::<_, WsaError>(new));
    let r = s.a.p.socket_kind(old);
    s.call(
        "A",
        &format!("WSPGetSockOpt({old}, SO_TYPE) on the closed handle"),
        &r,
    );
    s.check(
        "S6h",
        r == Err(WsaError::NotSocket) && old != new,
        "the old handle is WSAENOTSOCK and was not reused",
    );
    let _ = s.a.p.close_socket(new);
    let r = s.a.p.cleanup();
    s.check("S6", r.is_ok(), "final cleanup with nothing open");
}
