//! The final cleanup, step by step: S6a to S6i (and S4, S5 around it).

mod common;

use common::{APP, MockProvider, World, ov};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::thread;
use std::time::Duration;
use winsock_provider::mock::{MockTransport, MockWaiter, Network, RecordingNotifier, ServiceId};
use winsock_provider::testkit::{Intercept, Intercepted};
use winsock_provider::{
    AddressFamily, CleanupOutcome, CompletionMode, EventKey, FdEvents, Io, MsgFlags, Notification,
    Notifier, OpState, PortKey, Provider, ProviderConfig, SocketFlags, SocketHandle, SocketKind,
    Suppressed, ThreadKey, Transport, Version, Wait, WindowKey, WsaError,
};

fn final_report<W: winsock_provider::Waiter>(
    p: &Provider<MockTransport, W>,
) -> winsock_provider::FinalCleanupReport {
    match p.cleanup() {
        Ok(CleanupOutcome::Final(r)) => r,
        other => panic!("expected a final cleanup, got {other:?}"),
    }
}

/// A recording notifier that runs `hook` each time a completion is
/// suppressed, that is from inside step (c) of the final cleanup: a window
/// onto the cleanup while it runs.
struct OnSuppress<F: Fn() + Send + Sync> {
    inner: RecordingNotifier,
    hook: F,
}

impl<F: Fn() + Send + Sync> Notifier for OnSuppress<F> {
    fn deliver(&self, n: &Notification) {
        self.inner.deliver(n)
    }
    fn suppressed(&self, n: &Notification, why: Suppressed) {
        (self.hook)();
        Notifier::suppressed(&self.inner, n, why)
    }
    fn network_event(&self, s: SocketHandle, e: EventKey, ev: FdEvents, err: Option<WsaError>) {
        self.inner.network_event(s, e, ev, err)
    }
    fn post_message(
        &self,
        s: SocketHandle,
        w: WindowKey,
        m: u32,
        ev: FdEvents,
        err: Option<WsaError>,
    ) {
        self.inner.post_message(s, w, m, ev, err)
    }
}

/// An [`OnSuppress`] that, the first time, lets a held call go and waits
/// until it has started its operation, before the cleanup goes on.
fn release_on_suppress(
    notes: RecordingNotifier,
    release: mpsc::Sender<()>,
    started: mpsc::Receiver<()>,
) -> Arc<dyn Notifier> {
    let once = Mutex::new(Some((release, started)));
    Arc::new(OnSuppress {
        inner: notes,
        hook: move || {
            if let Some((release, started)) = once.lock().unwrap().take() {
                release.send(()).unwrap();
                started.recv().unwrap();
            }
        },
    })
}

/// S6a: while the final cleanup runs, a new call is turned away with
/// WSANOTINITIALISED.
#[test]
fn s6a_gate_is_closed_while_the_final_cleanup_runs() {
    let w = World::new(61);
    let provider: Arc<OnceLock<MockProvider>> = Arc::new(OnceLock::new());
    let probes = Arc::new(Mutex::new(Vec::new()));
    let probe = {
        let (provider, probes) = (provider.clone(), probes.clone());
        Arc::new(OnSuppress {
            inner: RecordingNotifier::new(),
            hook: move || {
                if let Some(p) = provider.get() {
                    probes.lock().unwrap().push(p.socket(
                        AddressFamily::Inet,
                        SocketKind::Stream,
                        SocketFlags::empty(),
                    ));
                }
            },
        })
    };
    let _ = provider.set(w.a.p.clone());
    w.a.p.startup(Version::new(2, 2), probe.clone()).unwrap();
    w.a.p.cleanup().unwrap(); // back to one startup, with the probe as the newest notifier
    let (s, _) = w.pair();
    let r = w.a.p.recv(
        s,
        10,
        MsgFlags::empty(),
        Some(ov(CompletionMode::Event(EventKey(1)))),
    );
    assert_eq!(r.unwrap_err(), WsaError::IoPending);
    final_report(&w.a.p);
    assert_eq!(*probes.lock().unwrap(), vec![Err(WsaError::NotInitialised)]);
    assert_eq!(w.a.p.socket_count(), 0, "the probe's call created nothing");
}

/// S6b: a call blocked inside the provider returns WSAEINTR, and nobody is
/// notified for it.
#[test]
fn s6b_blocked_call_returns_wsaeintr_without_notification() {
    let w = World::new(62);
    let (s, _) = w.pair();
    let p = w.a.p.clone();
    let blocked = thread::spawn(move || {
        MockWaiter::set_current_thread(ThreadKey(2));
        p.recv(s, 100, MsgFlags::empty(), None)
    });
    common::wait_pending(&w.a.p, &[s], 1, "the blocking receive");
    let report = final_report(&w.a.p);
    assert_eq!(blocked.join().unwrap(), Err(WsaError::Interrupted));
    assert_eq!(report.blocked_calls_interrupted, 1);
    assert!(
        w.a.notes.delivered().is_empty(),
        "no notification for a blocking call"
    );
}

/// S6b: a registration (made by `register`) signals FD_READ while it lives;
/// the final cleanup drops it without a signal, so no final FD_CLOSE is told
/// (`signals` counts what the notifier saw).
fn registration_dropped_silently(
    seed: u64,
    register: impl Fn(&MockProvider, SocketHandle),
    signals: impl Fn(&RecordingNotifier) -> usize,
) {
    let w = World::new(seed);
    let (s, t) = w.pair();
    register(&w.a.p, s);
    w.b.p.send(t, b"x", MsgFlags::empty(), None).unwrap();
    w.settle();
    assert_eq!(signals(&w.a.notes), 1, "FD_READ signalled while registered");
    let report = final_report(&w.a.p);
    assert_eq!(report.registrations_dropped, 1);
    w.b.p.close_socket(t).unwrap();
    w.settle();
    assert_eq!(
        signals(&w.a.notes),
        1,
        "nothing after the final cleanup, no FD_CLOSE"
    );
}

/// S6b: event-select registrations are dropped without setting their event.
#[test]
fn s6b_registrations_dropped_without_a_signal() {
    registration_dropped_silently(
        63,
        |p, s| {
            p.event_select(s, EventKey(9), FdEvents::READ | FdEvents::CLOSE)
                .unwrap()
        },
        |n| n.network_events().len(),
    );
}

/// S6b: `WSPAsyncSelect` registrations are dropped without posting a message.
#[test]
fn s6b_async_select_registration_dropped_without_a_message() {
    registration_dropped_silently(
        76,
        |p, s| {
            p.async_select(s, WindowKey(0x99), 0x400, FdEvents::READ | FdEvents::CLOSE)
                .unwrap()
        },
        |n| n.posted_messages().len(),
    );
}

/// S6c: every pending overlapped operation ends with WSA_OPERATION_ABORTED,
/// recorded in its record, and no event, routine, port post or poll is
/// delivered, in every completion mode.
#[test]
fn s6c_pending_operations_aborted_without_any_notification() {
    let w = World::new(64);
    let (s, _) = w.pair();
    let (full, _svc) = w.to_discard(9, Some(0));
    w.fill(full);
    let modes = [
        CompletionMode::Event(EventKey(1)),
        CompletionMode::Routine {
            thread: APP,
            routine: 0x10,
        },
        CompletionMode::Port {
            port: PortKey(2),
            key: 3,
        },
        CompletionMode::Polling,
    ];
    let mut records = Vec::new();
    for mode in modes {
        let r = ov(mode);
        records.push(r.overlapped.clone());
        assert_eq!(
            w.a.p.recv(s, 10, MsgFlags::empty(), Some(r)).unwrap_err(),
            WsaError::IoPending
        );
        let r = ov(mode);
        records.push(r.overlapped.clone());
        assert_eq!(
            w.a.p
                .send(full, &[1; 5000], MsgFlags::empty(), Some(r))
                .unwrap_err(),
            WsaError::IoPending
        );
    }
    let report = final_report(&w.a.p);
    assert_eq!(report.operations_aborted, 8);
    for r in &records {
        assert_eq!(r.state(), OpState::AbortedSilent);
        assert_eq!(
            r.outcome().unwrap().error,
            Some(WsaError::OperationAborted),
            "readable by a GetOverlappedResult-style reader"
        );
    }
    assert!(
        w.a.notes.delivered().is_empty(),
        "no event set, nothing posted"
    );
    assert!(w.a.notes.take_routines(APP).is_empty(), "no routine queued");
    assert!(w.a.notes.take_port(PortKey(2)).is_empty(), "no port post");
    let suppressed = w.a.notes.suppressed();
    assert_eq!(suppressed.len(), 8);
    assert!(suppressed.iter().all(|s| s.why == Suppressed::FinalCleanup));
    // A completion from the network racing in later changes nothing (S10).
    w.settle();
    assert!(w.a.notes.delivered().is_empty());
}

/// S6c, S10: the transport completes an operation after the cleanup aborted
/// it: one outcome, the abort, and no notification.
#[test]
fn s6c_late_completion_from_the_transport_is_ignored() {
    let w = World::new(65);
    let (s, t) = w.pair();
    let r = ov(CompletionMode::Event(EventKey(1)));
    let rec = r.overlapped.clone();
    assert_eq!(
        w.a.p.recv(s, 10, MsgFlags::empty(), Some(r)).unwrap_err(),
        WsaError::IoPending
    );
    w.b.p.send(t, b"late", MsgFlags::empty(), None).unwrap();
    // The data is on the wire, not yet delivered, when the cleanup runs.
    final_report(&w.a.p);
    w.settle();
    assert_eq!(rec.state(), OpState::AbortedSilent);
    assert_eq!(rec.data(), b"");
    assert!(w.a.notes.delivered().is_empty());
}

/// S6d: open sockets are reset (abortive: unsent data discarded, the peer
/// sees a reset) and their handles given back.
#[test]
fn s6d_open_sockets_are_reset_and_handles_released() {
    let w = World::new(66);
    let (s, t) = w.pair();
    let (full, svc) = w.to_discard(9, Some(0));
    let sent = w.fill(full);
    assert!(w.a.p.transport().unsent(full) > 0);
    let report = final_report(&w.a.p);
    assert_eq!(report.sockets_reset, 2);
    let released = w.a.notes.released();
    assert!(released.contains(&s) && released.contains(&full));
    w.net.set_read_rate(svc, None);
    w.settle();
    assert_eq!(w.net.service_resets(svc), 1, "the peer saw a reset");
    assert!(
        w.net.service_received(svc) < sent as u64,
        "unsent data was discarded"
    );
    w.b.p.set_nonblocking(t, true).unwrap();
    assert_eq!(
        w.b.p.recv(t, 10, MsgFlags::empty(), None).unwrap_err(),
        WsaError::ConnectionReset
    );
}

/// S6e, S6g: a socket closed gracefully earlier keeps sending after the final
/// cleanup: its data was handed to the network, which outlives the provider,
/// and every byte arrives.
#[test]
fn s6e_closed_socket_keeps_sending_after_the_final_cleanup() {
    let w = World::new(67);
    let (s, svc) = w.to_discard(9, Some(2));
    w.a.p.set_buffers(s, Some(1 << 20), None).unwrap();
    let data = vec![7u8; 100_000];
    assert_eq!(
        w.a.p.send(s, &data, MsgFlags::empty(), None).unwrap(),
        100_000
    );
    w.a.p.close_socket(s).unwrap();
    assert_eq!(w.a.p.draining_count(), 1);
    let before = w.net.now();
    let report = final_report(&w.a.p);
    assert_eq!(report.draining_handed_off, 1);
    assert_eq!(w.net.now(), before, "handing off took no time");
    assert!(
        w.net.service_received(svc) < 100_000,
        "the data was still on its way"
    );
    w.settle();
    assert_eq!(w.net.service_received(svc), 100_000, "every byte arrived");
    assert_eq!(w.net.service_closed_gracefully(svc), 1);
}

/// A socket to a discard service reading `rate` bytes per ms, that took
/// `bytes` in one send and was closed gracefully with most of them unsent.
fn closed_while_sending(w: &World, rate: usize, bytes: usize) -> (SocketHandle, ServiceId) {
    let (s, svc) = w.to_discard(9, Some(rate));
    w.a.p.set_buffers(s, Some(1 << 16), None).unwrap();
    assert_eq!(
        w.a.p.send(s, &vec![1u8; bytes], MsgFlags::empty(), None),
        Ok(bytes)
    );
    w.a.p.close_socket(s).unwrap();
    (s, svc)
}

/// S6e: the sweep of open sockets leaves closed ones alone (they are not
/// reset), even when the transport must be waited for.
#[test]
fn s6e_closed_socket_is_not_reset() {
    let w = World::new(68);
    w.net.set_hand_off_supported(false);
    let (_, svc) = closed_while_sending(&w, 50, 20_000);
    let report = final_report(&w.a.p);
    assert_eq!(report.sockets_reset, 0);
    w.settle();
    assert_eq!(w.net.service_resets(svc), 0);
    assert_eq!(w.net.service_received(svc), 20_000);
}

/// S6g: when the transport cannot hand data off, the cleanup returns only when
/// every byte has left.
#[test]
fn s6g_cleanup_waits_for_closed_sockets_to_drain() {
    let w = World::new(69);
    w.net.set_hand_off_supported(false);
    let (s, _svc) = closed_while_sending(&w, 10, 30_000);
    let before = w.net.now();
    let report = final_report(&w.a.p);
    assert_eq!(report.draining_finished, 1);
    assert_eq!(report.lost_bytes, 0);
    assert_eq!(
        w.a.p.transport().unsent(s),
        0,
        "nothing left unsent when cleanup returned"
    );
    assert!(
        w.net.now() - before >= Duration::from_millis(1000),
        "it waited for a slow reader"
    );
    assert_eq!(w.a.p.draining_count(), 0);
}

/// S6g: past the drain deadline, what could not leave is reported (an error
/// and a count), never dropped silently; the cleanup is still complete.
#[test]
fn s6g_drain_deadline_reports_what_was_lost() {
    let config = ProviderConfig {
        drain_deadline: Duration::from_secs(2),
        ..ProviderConfig::default()
    };
    let w = World::with_config(70, config);
    w.net.set_hand_off_supported(false);
    let (s, _svc) = w.to_discard(9, Some(0));
    let sent = w.fill(s);
    assert!(sent > 0);
    let unsent = w.a.p.transport().unsent(s);
    w.a.p.set_nonblocking(s, false).unwrap();
    w.a.p.close_socket(s).unwrap();
    let before = w.net.now();
    let err = w.a.p.cleanup().unwrap_err();
    assert_eq!(err.error, WsaError::NetworkDown);
    let report = err.report.expect("the final cleanup ran");
    assert_eq!((report.lost_sockets, report.lost_bytes), (1, unsent));
    assert!(w.net.now() - before >= Duration::from_secs(2));
    assert_eq!(
        w.a.p.startup_count(),
        0,
        "the cleanup completed all the same"
    );
    w.a.start();
}

/// S6h: after the final cleanup nothing is left, startup works at once, and
/// every old handle is WSAENOTSOCK forever, never aliasing a new socket.
#[test]
fn s6h_restart_at_once_and_old_handles_stay_stale() {
    let w = World::new(71);
    let old: Vec<SocketHandle> = (0..10).map(|_| w.a.stream()).collect();
    final_report(&w.a.p);
    assert_eq!((w.a.p.socket_count(), w.a.p.startup_count()), (0, 0));
    w.a.start();
    let new: Vec<SocketHandle> = (0..10).map(|_| w.a.stream()).collect();
    for h in &old {
        assert!(!new.contains(h), "{h} was issued again");
        assert_eq!(w.a.p.socket_kind(*h), Err(WsaError::NotSocket));
        assert_eq!(w.a.p.close_socket(*h), Err(WsaError::NotSocket));
    }
    for h in &new {
        assert_eq!(w.a.p.socket_kind(*h), Ok(SocketKind::Stream));
    }
}

/// S6i: with the network down, data of closed sockets cannot be handed off:
/// the cleanup still frees everything, counts what was lost, and returns
/// WSAENETDOWN.
#[test]
fn s6i_network_down_loses_data_but_cleanup_completes() {
    let w = World::new(72);
    let (s, _svc) = w.to_discard(9, Some(0));
    w.fill(s);
    let unsent = w.a.p.transport().unsent(s);
    w.a.p.set_nonblocking(s, false).unwrap();
    w.a.p.close_socket(s).unwrap();
    let (open, _) = w.to_discard(10, None);
    w.net.set_down(true);
    let err = w.a.p.cleanup().unwrap_err();
    assert_eq!(err.error, WsaError::NetworkDown);
    let report = err.report.unwrap();
    assert_eq!(
        (report.lost_sockets, report.lost_bytes, report.sockets_reset),
        (1, unsent, 1)
    );
    assert_eq!((w.a.p.socket_count(), w.a.p.startup_count()), (0, 0));
    assert_eq!(w.a.p.socket_kind(open), Err(WsaError::NotInitialised));
    w.net.set_down(false);
    w.a.start();
    assert_eq!(w.a.p.socket_kind(open), Err(WsaError::NotSocket));
}

/// S6i: a non-final cleanup never fails except with WSANOTINITIALISED, even
/// with the network down; and the cleanup never answers WSAEINVAL.
#[test]
fn s6i_non_final_cleanup_never_fails() {
    let w = World::new(73);
    w.a.start();
    w.net.set_down(true);
    assert_eq!(
        w.a.p.cleanup(),
        Ok(CleanupOutcome::Decremented { remaining: 1 })
    );
    assert!(
        w.a.p.cleanup().is_ok(),
        "nothing to lose: the final cleanup succeeds"
    );
    let e = w.a.p.cleanup().unwrap_err();
    assert_eq!((e.error, e.report), (WsaError::NotInitialised, None));
}

/// Parks `send` until released, to hold a call inside the provider while
/// the final cleanup runs; every other call passes through.
struct Parking {
    entered: mpsc::Sender<()>,
    release: Mutex<mpsc::Receiver<()>>,
    /// Counts events in order; `send` takes a number as its last act inside
    /// the provider (after it, only the gate's exit is left).
    order: Arc<AtomicUsize>,
    send_done_at: Arc<AtomicUsize>,
}

impl Intercept<MockTransport> for Parking {
    fn send(
        &self,
        inner: &MockTransport,
        s: SocketHandle,
        d: Vec<u8>,
        to: Option<SocketAddr>,
        w: Wait,
    ) -> Result<Io<usize>, WsaError> {
        self.entered.send(()).unwrap();
        self.release.lock().unwrap().recv().unwrap();
        let r = inner.send(s, d, to, w);
        self.send_done_at
            .store(self.order.fetch_add(1, Ordering::SeqCst), Ordering::SeqCst);
        r
    }
}

/// S6f: the final cleanup does not return while a call that was already
/// inside the provider is still there; nothing is freed under it.
#[test]
fn s6f_cleanup_waits_for_calls_inside_the_provider() {
    let net = Network::new(74);
    let node = net.add_node("10.0.0.1".parse().unwrap());
    let svc_at: SocketAddr = "10.0.0.9:9".parse().unwrap();
    net.add_discard_service(svc_at, None);
    let (entered_tx, entered) = mpsc::channel();
    let (release, release_rx) = mpsc::channel();
    let order = Arc::new(AtomicUsize::new(0));
    let send_done_at = Arc::new(AtomicUsize::new(usize::MAX));
    let t = Intercepted::new(
        net.transport(node),
        Parking {
            entered: entered_tx,
            release: Mutex::new(release_rx),
            order: order.clone(),
            send_done_at: send_done_at.clone(),
        },
    );
    let p = Provider::new(ProviderConfig::default(), t, MockWaiter::new(&net));
    p.startup(Version::new(2, 2), Arc::new(RecordingNotifier::new()))
        .unwrap();
    let s = p
        .socket(
            AddressFamily::Inet,
            SocketKind::Stream,
            SocketFlags::empty(),
        )
        .unwrap();
    p.connect(s, svc_at).unwrap();
    let sender = {
        let p = p.clone();
        thread::spawn(move || p.send(s, b"inside", MsgFlags::empty(), None))
    };
    entered.recv().unwrap();
    let cleaner = {
        let (p, order) = (p.clone(), order.clone());
        thread::spawn(move || {
            let r = p.cleanup();
            (r, order.fetch_add(1, Ordering::SeqCst))
        })
    };
    thread::sleep(Duration::from_millis(100));
    assert!(
        !cleaner.is_finished(),
        "the cleanup returned while a call was inside"
    );
    assert!(!p.is_open(), "S6a: the gate is already closed");
    release.send(()).unwrap();
    let sent = sender.join().unwrap();
    let (cleaned, cleaner_done) = cleaner.join().unwrap();
    // The order is taken inside the provider, not after the call returned:
    // the thread that made the call may run late, but not the call itself.
    assert!(
        send_done_at.load(Ordering::SeqCst) < cleaner_done,
        "the cleanup returned before the call inside was done"
    );
    assert_eq!(sent, Ok(6), "the call inside finished normally");
    assert!(matches!(cleaned, Ok(CleanupOutcome::Final(_))));
    assert_eq!(p.socket_count(), 0);
}

/// S5 then S6: a non-final cleanup leaves the pending operation alone; the
/// final one aborts it silently.
#[test]
fn s5_then_s6_only_the_last_cleanup_touches_operations() {
    let w = World::new(75);
    w.a.start();
    let (s, _) = w.pair();
    let r = ov(CompletionMode::Event(EventKey(5)));
    let rec = r.overlapped.clone();
    assert_eq!(
        w.a.p.recv(s, 10, MsgFlags::empty(), Some(r)).unwrap_err(),
        WsaError::IoPending
    );
    assert_eq!(
        w.a.p.cleanup(),
        Ok(CleanupOutcome::Decremented { remaining: 1 })
    );
    assert_eq!(rec.state(), OpState::Pending);
    assert_eq!(w.a.p.socket_kind(s), Ok(SocketKind::Stream));
    final_report(&w.a.p);
    assert_eq!(rec.state(), OpState::AbortedSilent);
}

/// A waiter that parks one simulated thread the first time it asks who it
/// is, which every call does just after entering the gate: it holds that
/// call inside the provider, before the call touches its socket.
struct HoldAtEntry {
    inner: MockWaiter,
    hold: ThreadKey,
    held: Mutex<Option<(mpsc::Sender<()>, mpsc::Receiver<()>)>>,
    /// Told when the held thread first waits (its call registered a blocking
    /// operation).
    waiting: Mutex<Option<mpsc::Sender<()>>>,
}

impl winsock_provider::Waiter for HoldAtEntry {
    fn now(&self) -> Duration {
        self.inner.now()
    }
    fn current_thread(&self) -> ThreadKey {
        let me = self.inner.current_thread();
        if me == self.hold {
            let taken = self.held.lock().unwrap().take();
            if let Some((entered, release)) = taken {
                entered.send(()).unwrap();
                release.recv().unwrap();
            }
        }
        me
    }
    fn wait_until(
        &self,
        deadline: Option<Duration>,
        ready: &mut dyn FnMut() -> bool,
    ) -> winsock_provider::WaitResult {
        if self.inner.current_thread() == self.hold
            && let Some(waiting) = self.waiting.lock().unwrap().take()
        {
            waiting.send(()).unwrap();
        }
        self.inner.wait_until(deadline, ready)
    }
    fn wake_all(&self) {
        self.inner.wake_all()
    }
}

/// A provider on a fresh network whose thread `hold` is parked at its next
/// entry until the returned sender releases it.
/// What [`held_provider`] sets up.
struct Held {
    net: Network,
    p: Provider<MockTransport, HoldAtEntry>,
    /// Told when the held thread reaches its entry.
    entered: mpsc::Receiver<()>,
    /// Lets the held thread go on.
    release: mpsc::Sender<()>,
    /// Told when the held thread first waits.
    waiting: mpsc::Receiver<()>,
}

fn held_provider(seed: u64, hold: ThreadKey) -> Held {
    let net = Network::new(seed);
    let node = net.add_node("10.0.0.1".parse().unwrap());
    let (entered_tx, entered) = mpsc::channel();
    let (release, release_rx) = mpsc::channel();
    let (waiting_tx, waiting) = mpsc::channel();
    let waiter = HoldAtEntry {
        inner: MockWaiter::new(&net),
        hold,
        held: Mutex::new(Some((entered_tx, release_rx))),
        waiting: Mutex::new(Some(waiting_tx)),
    };
    let p = Provider::new(ProviderConfig::default(), net.transport(node), waiter);
    p.startup(Version::new(2, 2), Arc::new(RecordingNotifier::new()))
        .unwrap();
    Held {
        net,
        p,
        entered,
        release,
        waiting,
    }
}

/// S6c, S6d: an overlapped operation started by a call still inside, after
/// the cleanup aborted the others but before it reset the socket, is aborted
/// silently with the socket, not lost as pending.
#[test]
fn s6c_operation_started_during_the_sweep_is_aborted_with_its_socket() {
    let Held {
        net,
        p,
        entered,
        release,
        ..
    } = held_provider(78, ThreadKey(6));
    let (started_tx, started) = mpsc::channel();
    let notes = RecordingNotifier::new();
    let notifier = release_on_suppress(notes.clone(), release, started);
    p.startup(Version::new(2, 2), notifier).unwrap();
    p.cleanup().unwrap(); // one startup left, with the new notifier
    let at: SocketAddr = "10.0.0.9:7".parse().unwrap();
    net.add_discard_service(at, None);
    let s = p
        .socket(
            AddressFamily::Inet,
            SocketKind::Stream,
            SocketFlags::OVERLAPPED,
        )
        .unwrap();
    p.connect(s, at).unwrap();
    let first = ov(CompletionMode::Event(EventKey(1)));
    assert_eq!(
        p.recv(s, 10, MsgFlags::empty(), Some(first)).unwrap_err(),
        WsaError::IoPending
    );
    let late = ov(CompletionMode::Event(EventKey(2)));
    let late_record = late.overlapped.clone();
    let worker = {
        let p = p.clone();
        thread::spawn(move || {
            MockWaiter::set_current_thread(ThreadKey(6));
            let r = p.recv(s, 10, MsgFlags::empty(), Some(late));
            started_tx.send(()).unwrap();
            r
        })
    };
    entered.recv().unwrap();
    let report = final_report(&p);
    assert_eq!(
        worker.join().unwrap().unwrap_err(),
        WsaError::IoPending,
        "accepted while the cleanup ran"
    );
    assert_eq!(
        late_record.state(),
        OpState::AbortedSilent,
        "not left pending"
    );
    assert_eq!(report.operations_aborted, 2);
    assert!(notes.delivered().is_empty());
    assert_eq!(notes.suppressed().len(), 2);
}

/// S6b, S6d, S6f: a call still inside registers a blocking receive after the
/// cleanup interrupted the others but before it reset the socket: the reset
/// interrupts it too, so the rundown ends and the call returns WSAEINTR.
#[test]
fn s6f_a_call_blocking_during_the_sweep_does_not_hold_up_the_rundown() {
    let Held {
        net,
        p,
        entered,
        release,
        waiting,
    } = held_provider(79, ThreadKey(7));
    let notes = RecordingNotifier::new();
    let notifier = release_on_suppress(notes.clone(), release, waiting);
    p.startup(Version::new(2, 2), notifier).unwrap();
    p.cleanup().unwrap();
    let at: SocketAddr = "10.0.0.9:7".parse().unwrap();
    net.add_discard_service(at, None);
    let s = p
        .socket(
            AddressFamily::Inet,
            SocketKind::Stream,
            SocketFlags::OVERLAPPED,
        )
        .unwrap();
    p.connect(s, at).unwrap();
    let first = ov(CompletionMode::Event(EventKey(1)));
    assert_eq!(
        p.recv(s, 10, MsgFlags::empty(), Some(first)).unwrap_err(),
        WsaError::IoPending
    );
    let worker = {
        let p = p.clone();
        thread::spawn(move || {
            MockWaiter::set_current_thread(ThreadKey(7));
            p.recv(s, 10, MsgFlags::empty(), None)
        })
    };
    entered.recv().unwrap();
    let (done_tx, done) = mpsc::channel();
    let cleaner = {
        let p = p.clone();
        thread::spawn(move || done_tx.send(p.cleanup()).unwrap())
    };
    let cleaned = done
        .recv_timeout(Duration::from_secs(10))
        .expect("the rundown waited forever");
    cleaner.join().unwrap();
    let Ok(CleanupOutcome::Final(report)) = cleaned else {
        panic!("{cleaned:?}")
    };
    assert_eq!(worker.join().unwrap().unwrap_err(), WsaError::Interrupted);
    assert!(notes.delivered().is_empty());
    // The call that registered between steps (c) and (d) is counted once,
    // by (d); the overlapped receive once, by (c).
    assert_eq!(
        (report.blocked_calls_interrupted, report.operations_aborted),
        (1, 1),
        "{report:?}"
    );
    assert_eq!(report.sockets_reset, 1);
}

/// S11: an unload without cleanup while a call is inside the provider
/// (held after it entered) never frees the socket table under that call: it
/// leaks it on purpose. The call then ends as a call cut off by the closed
/// gate ends (WSAEINTR, told to nobody), on a table that is still there.
#[test]
fn s11_unload_while_a_call_is_inside_leaks_the_table() {
    let Held {
        net,
        p,
        entered,
        release,
        waiting: _told_when_it_waits,
    } = held_provider(80, ThreadKey(8));
    let at: SocketAddr = "10.0.0.9:7".parse().unwrap();
    net.add_discard_service(at, None);
    let s = p
        .socket(
            AddressFamily::Inet,
            SocketKind::Stream,
            SocketFlags::empty(),
        )
        .unwrap();
    p.connect(s, at).unwrap();
    let worker = {
        let p = p.clone();
        thread::spawn(move || {
            MockWaiter::set_current_thread(ThreadKey(8));
            p.recv(s, 10, MsgFlags::empty(), None)
        })
    };
    entered.recv().unwrap();
    assert_eq!(
        p.process_detach(winsock_provider::Detach::Unload),
        winsock_provider::DetachOutcome::Leaked
    );
    assert_eq!(p.socket_count(), 1, "the table is left as it was");
    release.send(()).unwrap();
    assert_eq!(worker.join().unwrap().err(), Some(WsaError::Interrupted));
    assert_eq!(p.socket_count(), 1, "and leaked after the call left");
    assert!(!p.is_open());
}

/// S6d, S6h: with more sockets open than fit one page of the table (256),
/// the final cleanup resets and gives back every one of them; a slot that a
/// call reserved and never filled (it died mid-way, here a panic in its
/// host's part) is freed too; afterwards nothing is left and every old
/// handle is stale.
#[test]
fn s6d_final_cleanup_releases_every_page_and_slots_of_calls_that_died() {
    let net = Network::new(81);
    let node = net.add_node("10.0.0.1".parse().unwrap());
    let p = Provider::new(
        ProviderConfig::default(),
        net.transport(node),
        MockWaiter::new(&net),
    );
    let notes = RecordingNotifier::new();
    p.startup(Version::new(2, 2), Arc::new(notes.clone()))
        .unwrap();
    let handles: Vec<SocketHandle> = (0..600)
        .map(|_| {
            p.socket(
                AddressFamily::Inet,
                SocketKind::Stream,
                SocketFlags::empty(),
            )
            .unwrap()
        })
        .collect();
    let died = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        p.socket_prepared(
            AddressFamily::Inet,
            SocketKind::Stream,
            SocketFlags::empty(),
            |_| panic!("the host's part of the call dies"),
        )
    }));
    assert!(died.is_err());
    assert_eq!(p.socket_count(), 601, "600 sockets and one reserved slot");
    let report = final_report(&p);
    assert_eq!(report.sockets_reset, 600);
    assert_eq!(p.socket_count(), 0, "the reserved slot is freed too");
    let released: std::collections::HashSet<_> = notes.released().into_iter().collect();
    assert_eq!(released.len(), 600, "every handle given back once");
    assert!(handles.iter().all(|h| released.contains(h)));
    p.startup(Version::new(2, 2), Arc::new(notes.clone()))
        .unwrap();
    for h in [handles[0], handles[300], handles[599]] {
        assert_eq!(p.socket_kind(h), Err(WsaError::NotSocket), "{h}");
    }
}
