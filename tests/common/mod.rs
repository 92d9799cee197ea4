//! A small world for the integration tests: two processes of one
//! [`Simulation`] (the crate's one simulated world), each a provider with a
//! recording notifier, on one mock network.
#![allow(dead_code)] // each test file uses a different part

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};
use winsock_provider::mock::{MockWaiter, Network, RecordingNotifier};
use winsock_provider::sim::{ProcessId, SimProvider, Simulation};
use winsock_provider::{
    AddressFamily, CompletionMode, EventKey, FdEvents, Linger, MsgFlags, Notifier, Overlapped,
    OverlappedRequest, ProviderConfig, SocketFlags, SocketHandle, SocketKind, ThreadKey, Version,
    WaitResult, Waiter, WsaError,
};

/// The provider type every test drives: a process of a [`Simulation`].
pub type MockProvider = SimProvider;

/// The application thread tests play (completion routines are queued to it).
pub const APP: ThreadKey = ThreadKey(1);

/// One process: a provider and what its notifier saw.
pub struct Proc {
    pub id: ProcessId,
    pub ip: Ipv4Addr,
    pub p: MockProvider,
    pub notes: RecordingNotifier,
    /// The notifier the process is started with (it records into `notes`).
    pub notifier: Arc<dyn Notifier>,
}

impl Proc {
    fn of(sim: &Simulation, id: ProcessId, ip: Ipv4Addr) -> Self {
        Proc {
            id,
            ip,
            p: sim.provider(id).clone(),
            notes: sim.notes(id).clone(),
            notifier: sim.notifier(id),
        }
    }

    /// `WSPStartup(2.2)` with this process's notifier.
    pub fn start(&self) {
        self.p
            .startup(Version::new(2, 2), self.notifier.clone())
            .expect("startup");
    }

    /// An overlapped stream socket.
    pub fn stream(&self) -> SocketHandle {
        self.p
            .socket(
                AddressFamily::Inet,
                SocketKind::Stream,
                SocketFlags::OVERLAPPED,
            )
            .expect("socket")
    }
}

/// A provider on its own network, created but never started: one process
/// of a simulation, with `config`.
pub fn fresh(seed: u64, config: ProviderConfig) -> (Network, MockProvider, RecordingNotifier) {
    let mut sim = Simulation::with_config(seed, config);
    sim.keep_trace(false);
    let id = sim.add_process("a", Ipv4Addr::new(10, 0, 0, 1).into());
    MockWaiter::set_current_thread(APP);
    (
        sim.network().clone(),
        sim.provider(id).clone(),
        sim.notes(id).clone(),
    )
}

/// Two processes on one network: `a` at 10.0.0.1 and `b` at 10.0.0.2.
pub struct World {
    pub sim: Simulation,
    pub net: Network,
    pub a: Proc,
    pub b: Proc,
}

impl World {
    /// Both providers created and started, with `config` on `a`.
    pub fn with_config(seed: u64, config: ProviderConfig) -> World {
        let mut sim = Simulation::new(seed);
        sim.keep_trace(false);
        let (ip_a, ip_b) = (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
        let a = sim.add_process_with("a", ip_a.into(), config);
        let b = sim.add_process("b", ip_b.into());
        let (a, b) = (Proc::of(&sim, a, ip_a), Proc::of(&sim, b, ip_b));
        MockWaiter::set_current_thread(APP);
        a.start();
        b.start();
        World {
            net: sim.network().clone(),
            sim,
            a,
            b,
        }
    }

    /// Both providers created and started.
    pub fn new(seed: u64) -> World {
        World::with_config(seed, ProviderConfig::default())
    }

    /// Another process on `a`'s node (the same address), started: where a
    /// socket of `a` can be duplicated to.
    pub fn add_sibling(&mut self, name: &str) -> Proc {
        let id = self.sim.add_process(name, self.a.ip.into());
        let sibling = Proc::of(&self.sim, id, self.a.ip);
        sibling.start();
        sibling
    }

    /// Runs the network until nothing moves.
    pub fn settle(&self) -> usize {
        self.sim.settle()
    }

    /// A connected stream: `(socket on a, socket on b)`. Both overlapped and
    /// blocking.
    pub fn pair(&self) -> (SocketHandle, SocketHandle) {
        let listener = self.b.stream();
        let port = self
            .b
            .p
            .bind(listener, SocketAddr::from((self.b.ip, 0)))
            .expect("bind")
            .port();
        self.b.p.listen(listener, 4).expect("listen");
        let s = self.a.stream();
        self.a
            .p
            .connect(s, SocketAddr::from((self.b.ip, port)))
            .expect("connect");
        let (t, _) = self.b.p.accept(listener).expect("accept");
        self.b.p.close_socket(listener).expect("close listener");
        (s, t)
    }

    /// A stream on `a` connected to a network-resident discard service at
    /// 10.0.0.9:`port` reading `rate` bytes per ms (`Some(0)`: not reading).
    pub fn to_discard(
        &self,
        port: u16,
        rate: Option<usize>,
    ) -> (SocketHandle, winsock_provider::mock::ServiceId) {
        let at = SocketAddr::from((Ipv4Addr::new(10, 0, 0, 9), port));
        let svc = self.net.add_discard_service(at, rate);
        let s = self.a.stream();
        self.a.p.connect(s, at).expect("connect to discard service");
        (s, svc)
    }

    /// Sends on `s` (made non-blocking) until neither its buffer nor a
    /// stalled peer's window takes more. Returns the bytes accepted.
    pub fn fill(&self, s: SocketHandle) -> usize {
        self.a.p.set_nonblocking(s, true).expect("FIONBIO");
        let mut sent = 0;
        for _ in 0..3 {
            while let Ok(n) = self.a.p.send(s, &[0x5A; 4096], MsgFlags::empty(), None) {
                sent += n;
            }
            self.settle();
        }
        sent
    }
}

/// An overlapped request with a fresh record.
pub fn ov(mode: CompletionMode) -> OverlappedRequest {
    OverlappedRequest::new(mode)
}

/// Reads everything `s` on `p` has until end of stream (non-blocking,
/// settling the network between reads). Returns the bytes, or the error that
/// ended the stream.
pub fn drain(
    net: &Network,
    p: &MockProvider,
    s: SocketHandle,
) -> Result<Vec<u8>, winsock_provider::WsaError> {
    p.set_nonblocking(s, true).expect("FIONBIO");
    let mut out = Vec::new();
    loop {
        match p.recv(s, 65536, MsgFlags::empty(), None) {
            Ok(r) if r.data.is_empty() => return Ok(out),
            Ok(r) => out.extend_from_slice(&r.data),
            Err(winsock_provider::WsaError::WouldBlock) => {
                if net.run_until_idle(1_000_000) == 0 && net.is_idle() {
                    // Nothing more will come and no end of stream yet.
                    return Ok(out);
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// A waiter whose clock stands still: a wait never moves the network (the
/// test moves it), so a blocking call waits until another thread ends it
/// (a close, a cancel, the final cleanup).
pub struct FrozenClock(pub MockWaiter);

impl Waiter for FrozenClock {
    fn now(&self) -> Duration {
        self.0.now()
    }
    fn current_thread(&self) -> ThreadKey {
        self.0.current_thread()
    }
    fn wait_until(
        &self,
        deadline: Option<Duration>,
        ready: &mut dyn FnMut() -> bool,
    ) -> WaitResult {
        loop {
            if ready() {
                return WaitResult::Ready;
            }
            if deadline.is_some_and(|d| self.now() >= d) {
                return WaitResult::TimedOut;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    fn wake_all(&self) {}
}

/// How long a test waits (real time) for another OS thread before failing.
pub const THREAD_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `f` on a new OS thread that plays simulated thread `key`.
pub fn in_thread<T: Send + 'static>(
    key: ThreadKey,
    f: impl FnOnce() -> T + Send + 'static,
) -> Receiver<T> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        MockWaiter::set_current_thread(key);
        let _ = tx.send(f());
    });
    rx
}

/// The result of an [`in_thread`] call, waiting a bounded real time for it.
pub fn finish<T>(rx: &Receiver<T>, what: &str) -> T {
    match rx.recv_timeout(THREAD_TIMEOUT) {
        Ok(v) => v,
        Err(RecvTimeoutError::Timeout) => panic!("{what}: still blocked after {THREAD_TIMEOUT:?}"),
        Err(RecvTimeoutError::Disconnected) => panic!("{what}: the thread panicked"),
    }
}

/// Waits (bounded real time) until exactly `n` operations are pending on
/// `sockets` together: how a test knows another thread's blocking call has
/// started waiting inside the provider.
pub fn wait_pending(p: &MockProvider, sockets: &[SocketHandle], n: usize, what: &str) {
    let deadline = Instant::now() + THREAD_TIMEOUT;
    loop {
        let now: usize = sockets
            .iter()
            .map(|s| p.pending_operations(*s).unwrap_or(0))
            .sum();
        if now == n {
            return;
        }
        assert!(now < n, "{what}: {now} operations pending, expected {n}");
        assert!(
            Instant::now() < deadline,
            "{what}: only {now} of {n} operations pending"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Calls every gated entry point: the ones that take no handle, then
/// [`every_handle_call`]; returns each result.
pub fn every_entry_point(
    p: &MockProvider,
    s: SocketHandle,
    l: SocketHandle,
    rec: &Overlapped,
) -> Vec<(&'static str, Result<(), WsaError>)> {
    let mut all = vec![
        (
            "socket",
            p.socket(
                AddressFamily::Inet,
                SocketKind::Stream,
                SocketFlags::OVERLAPPED,
            )
            .map(drop),
        ),
        (
            "socket(dgram)",
            p.socket(
                AddressFamily::Inet,
                SocketKind::Datagram,
                SocketFlags::empty(),
            )
            .map(drop),
        ),
        ("cancel_blocking_call", p.cancel_blocking_call()),
    ];
    all.extend(every_handle_call(p, s, l, rec));
    all
}

/// Calls every entry point that takes a handle with `s` (and `l` as a
/// listener); returns each result.
pub fn every_handle_call(
    p: &MockProvider,
    s: SocketHandle,
    l: SocketHandle,
    rec: &Overlapped,
) -> Vec<(&'static str, Result<(), WsaError>)> {
    let to = SocketAddr::from((Ipv4Addr::new(10, 0, 0, 2), 80));
    let with = || OverlappedRequest {
        overlapped: rec.clone(),
        mode: CompletionMode::Event(EventKey(9)),
        user: 7,
    };
    vec![
        (
            "bind",
            p.bind(s, SocketAddr::from((Ipv4Addr::new(10, 0, 0, 1), 0)))
                .map(drop),
        ),
        ("listen", p.listen(l, 4)),
        ("connect", p.connect(s, to)),
        ("accept", p.accept(l).map(drop)),
        ("send", p.send(s, b"x", MsgFlags::empty(), None).map(drop)),
        (
            "send(overlapped)",
            p.send(s, b"x", MsgFlags::empty(), Some(with())).map(drop),
        ),
        (
            "send_to",
            p.send_to(s, b"x", to, MsgFlags::empty(), None).map(drop),
        ),
        (
            "send_to(overlapped)",
            p.send_to(s, b"x", to, MsgFlags::empty(), Some(with()))
                .map(drop),
        ),
        ("recv", p.recv(s, 10, MsgFlags::empty(), None).map(drop)),
        (
            "recv(overlapped)",
            p.recv(s, 10, MsgFlags::empty(), Some(with())).map(drop),
        ),
        (
            "recv_from",
            p.recv_from(s, 10, MsgFlags::empty(), None).map(drop),
        ),
        (
            "recv_from(overlapped)",
            p.recv_from(s, 10, MsgFlags::empty(), Some(with()))
                .map(drop),
        ),
        ("shutdown", p.shutdown(s, 2)),
        (
            "set_linger",
            p.set_linger(
                s,
                Linger {
                    on: true,
                    seconds: 0,
                },
            ),
        ),
        ("linger", p.linger(s).map(drop)),
        ("set_nonblocking", p.set_nonblocking(s, true)),
        ("is_nonblocking", p.is_nonblocking(s).map(drop)),
        ("set_buffers", p.set_buffers(s, Some(1), Some(1))),
        ("socket_kind", p.socket_kind(s).map(drop)),
        (
            "get_overlapped_result",
            p.get_overlapped_result(s, rec, false).map(drop),
        ),
        (
            "get_overlapped_result(wait)",
            p.get_overlapped_result(s, rec, true).map(drop),
        ),
        (
            "event_select",
            p.event_select(s, EventKey(5), FdEvents::READ | FdEvents::CLOSE),
        ),
        ("enum_network_events", p.enum_network_events(s).map(drop)),
        ("local_addr", p.local_addr(s).map(drop)),
        ("peer_addr", p.peer_addr(s).map(drop)),
        ("close_socket", p.close_socket(s)),
        ("close_socket(listener)", p.close_socket(l)),
    ]
}
