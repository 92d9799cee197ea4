//! Connects that pend (spec §15 SO_ERROR, WSPConnect): a non-blocking
//! connect answers `WSAEWOULDBLOCK` and reports its end as `FD_CONNECT`
//! with the error, kept for `SO_ERROR`; `WSAEALREADY` while one is under
//! way, `WSAEISCONN` after; a blocking connect waits outside the socket's
//! lock and is interrupted with `WSAEINTR` by a close in another thread, by
//! a cancel and by the final cleanup (S6b, S7); a connect in the background
//! ends with its socket, untold and uncounted (S6c, S7).

mod common;

use common::{APP, FrozenClock, World, finish, in_thread, wait_pending};
use std::net::SocketAddr;
use std::sync::Arc;
use winsock_provider::mock::{MockTransport, Network, RecordingNotifier};
use winsock_provider::{
    AddressFamily, CleanupOutcome, EventKey, FdEvents, Provider, ProviderConfig, SocketFlags,
    SocketHandle, SocketKind, ThreadKey, Version, WsaError,
};

const REFUSED: i32 = 10061;

/// An event-selected (so non-blocking) stream socket on `a`, selecting
/// `FD_CONNECT | FD_WRITE`.
fn selected(w: &World) -> SocketHandle {
    let s = w.a.stream();
    w.a.p
        .event_select(s, EventKey(5), FdEvents::CONNECT | FdEvents::WRITE)
        .unwrap();
    s
}

/// The case the issue names: an event-selected socket connecting to a port
/// where nobody listens gets `WSAEWOULDBLOCK` from the call, then
/// `FD_CONNECT` with `WSAECONNREFUSED`, and `SO_ERROR` reads 10061, twice
/// (a read does not clear it), and still after a further attempt starts;
/// a connect that succeeds records `FD_CONNECT` with no error and
/// `FD_WRITE`, and resets `SO_ERROR` to 0.
#[test]
fn a_refused_nonblocking_connect_is_reported_by_fd_connect_and_so_error() {
    let w = World::new(8101);
    let s = selected(&w);
    let nobody = SocketAddr::from((w.b.ip, 4444));
    assert_eq!(w.a.p.connect(s, nobody), Err(WsaError::WouldBlock));
    assert_eq!(w.a.p.socket_error(s), Ok(0), "nothing known yet");
    w.settle();
    let ev = w.a.p.enum_network_events(s).unwrap();
    assert_eq!(ev.events, FdEvents::CONNECT, "FD_CONNECT only: no FD_WRITE");
    let bit = FdEvents::CONNECT.bit_index().unwrap();
    assert_eq!(ev.errors[bit], Some(WsaError::ConnectionRefused));
    assert_eq!(w.a.p.socket_error(s), Ok(REFUSED));
    assert_eq!(
        w.a.p.socket_error(s),
        Ok(REFUSED),
        "a read does not clear it"
    );
    assert_eq!(w.a.p.peer_addr(s), Err(WsaError::NotConnected));

    // Try again, where something listens.
    let listener = w.b.stream();
    let at = w.b.p.bind(listener, SocketAddr::from((w.b.ip, 0))).unwrap();
    w.b.p.listen(listener, 1).unwrap();
    assert_eq!(w.a.p.connect(s, at), Err(WsaError::WouldBlock));
    assert_eq!(
        w.a.p.socket_error(s),
        Ok(REFUSED),
        "kept while it is under way"
    );
    w.settle();
    let ev = w.a.p.enum_network_events(s).unwrap();
    assert_eq!(ev.events, FdEvents::CONNECT | FdEvents::WRITE);
    assert_eq!(ev.errors[bit], None);
    assert_eq!(w.a.p.socket_error(s), Ok(0), "a success resets it");
    assert_eq!(w.a.p.peer_addr(s), Ok(at));
}

/// `WSAEALREADY` while a connect is under way; `WSAEISCONN` once it has
/// succeeded; the event of the first attempt comes once.
#[test]
fn a_second_connect_is_wsaealready_while_one_is_under_way_and_wsaeisconn_after() {
    let w = World::new(8102);
    let s = selected(&w);
    let listener = w.b.stream();
    let at = w.b.p.bind(listener, SocketAddr::from((w.b.ip, 0))).unwrap();
    w.b.p.listen(listener, 1).unwrap();
    assert_eq!(w.a.p.connect(s, at), Err(WsaError::WouldBlock));
    assert_eq!(w.a.p.connect(s, at), Err(WsaError::Already));
    w.settle();
    assert_eq!(w.a.p.connect(s, at), Err(WsaError::IsConnected));
    let connects =
        w.a.notes
            .network_events()
            .iter()
            .filter(|e| e.socket == s && e.events.contains(FdEvents::CONNECT))
            .count();
    assert_eq!(connects, 1);
}

/// A blocking connect's error is the call's answer, not kept for
/// `SO_ERROR` (spec §15: after a failed blocking connect it reads 0).
#[test]
fn a_refused_blocking_connect_answers_the_call_and_leaves_so_error_alone() {
    let w = World::new(8103);
    let s = w.a.stream();
    let nobody = SocketAddr::from((w.b.ip, 4444));
    assert_eq!(w.a.p.connect(s, nobody), Err(WsaError::ConnectionRefused));
    assert_eq!(w.a.p.socket_error(s), Ok(0));
    assert_eq!(w.a.p.pending_operations(s), Ok(0));
}

/// A connect to an address nobody has times out (`WSAETIMEDOUT`, after
/// the network's connect timeout in virtual time).
#[test]
fn a_connect_to_nobody_times_out() {
    let w = World::new(8104);
    let s = w.a.stream();
    let start = w.net.now();
    assert_eq!(
        w.a.p.connect(s, "10.9.9.9:80".parse().unwrap()),
        Err(WsaError::TimedOut)
    );
    assert_eq!(w.net.now() - start, w.net.config().connect_timeout);
}

type Frozen = Provider<MockTransport, FrozenClock>;

/// A started provider whose waits never move the network, and an address
/// whose connects are answered only when the test runs the network.
fn frozen(seed: u64) -> (Network, Frozen, RecordingNotifier, SocketAddr) {
    let net = Network::new(seed);
    let node = net.add_node("10.0.0.1".parse().unwrap());
    let echo: SocketAddr = "10.0.0.9:7".parse().unwrap();
    net.add_echo_service(echo);
    let p = Provider::new(
        ProviderConfig::default(),
        net.transport(node),
        FrozenClock(winsock_provider::mock::MockWaiter::new(&net)),
    );
    let notes = RecordingNotifier::new();
    p.startup(Version::new(2, 2), Arc::new(notes.clone()))
        .unwrap();
    (net, p, notes, echo)
}

fn blocking_stream(p: &Frozen) -> SocketHandle {
    p.socket(
        AddressFamily::Inet,
        SocketKind::Stream,
        SocketFlags::empty(),
    )
    .unwrap()
}

/// Starts a blocking connect of `s` to `to` on thread `key`, and waits
/// until it waits inside the provider.
fn connecting_in_thread(
    p: &Frozen,
    key: ThreadKey,
    s: SocketHandle,
    to: SocketAddr,
) -> std::sync::mpsc::Receiver<Result<(), WsaError>> {
    let rx = {
        let p = p.clone();
        in_thread(key, move || p.connect(s, to))
    };
    let deadline = std::time::Instant::now() + common::THREAD_TIMEOUT;
    while p.pending_operations(s) != Ok(1) {
        assert!(
            std::time::Instant::now() < deadline,
            "the connect never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    rx
}

/// S7: a blocking connect waits outside the socket's lock (other calls on
/// the socket go on) and a close in another thread interrupts it with
/// `WSAEINTR`; the transport's attempt is given up: the peer never sees
/// the connection.
#[test]
fn s7_a_blocking_connect_is_interrupted_by_a_close_in_another_thread() {
    let (net, p, _notes, echo) = frozen(8105);
    let s = blocking_stream(&p);
    let rx = connecting_in_thread(&p, ThreadKey(81), s, echo);
    assert_eq!(
        p.socket_kind(s),
        Ok(SocketKind::Stream),
        "the socket's lock is free while the connect waits"
    );
    assert_eq!(p.connect(s, echo), Err(WsaError::Already));
    p.close_socket(s).unwrap();
    assert_eq!(finish(&rx, "blocking connect"), Err(WsaError::Interrupted));
    net.run_until_idle(1000);
    assert_eq!(net.stats().connections_established, 0, "never connected");
}

/// `WSPCancelBlockingCall` on the connecting thread interrupts it; the
/// socket stays open and connects afterwards.
#[test]
fn a_cancelled_blocking_connect_leaves_the_socket_able_to_connect() {
    let (net, p, _notes, echo) = frozen(8106);
    const T1: ThreadKey = ThreadKey(82);
    let s = blocking_stream(&p);
    let rx = connecting_in_thread(&p, T1, s, echo);
    winsock_provider::mock::MockWaiter::set_current_thread(T1);
    let cancelled = p.cancel_blocking_call();
    winsock_provider::mock::MockWaiter::set_current_thread(APP);
    assert_eq!(cancelled, Ok(()));
    assert_eq!(finish(&rx, "blocking connect"), Err(WsaError::Interrupted));
    p.set_nonblocking(s, true).unwrap();
    assert_eq!(p.connect(s, echo), Err(WsaError::WouldBlock));
    net.run_until_idle(1000);
    assert_eq!(p.peer_addr(s), Ok(echo));
}

/// S6b: the final cleanup interrupts a blocking connect with `WSAEINTR`
/// and counts it among the blocked calls; S6c: a non-blocking connect
/// under way ends with its socket, nobody told and nothing counted as an
/// overlapped operation.
#[test]
fn s6b_the_final_cleanup_interrupts_a_blocking_connect_and_ends_a_background_one_untold() {
    let (net, p, notes, echo) = frozen(8107);
    let blocking = blocking_stream(&p);
    let background = blocking_stream(&p);
    p.event_select(background, EventKey(3), FdEvents::CONNECT)
        .unwrap();
    assert_eq!(p.connect(background, echo), Err(WsaError::WouldBlock));
    let rx = connecting_in_thread(&p, ThreadKey(83), blocking, echo);
    let report = match p.cleanup() {
        Ok(CleanupOutcome::Final(r)) => r,
        other => panic!("not a final cleanup: {other:?}"),
    };
    assert_eq!(finish(&rx, "blocking connect"), Err(WsaError::Interrupted));
    assert_eq!(report.blocked_calls_interrupted, 1);
    assert_eq!(
        report.operations_aborted, 0,
        "a background connect is no operation"
    );
    assert_eq!(report.sockets_reset, 2);
    net.run_until_idle(1000);
    assert!(
        notes.network_events().is_empty(),
        "no FD_CONNECT after the cleanup"
    );
    assert!(notes.delivered().is_empty() && notes.suppressed().is_empty());
    assert_eq!(net.stats().connections_established, 0);
}

/// S7: closing a socket whose non-blocking connect is under way gives the
/// attempt up; no `FD_CONNECT` comes for it later.
#[test]
fn s7_a_close_gives_up_a_background_connect_without_an_event() {
    let w = World::new(8108);
    let s = selected(&w);
    let listener = w.b.stream();
    let at = w.b.p.bind(listener, SocketAddr::from((w.b.ip, 0))).unwrap();
    w.b.p.listen(listener, 1).unwrap();
    assert_eq!(w.a.p.connect(s, at), Err(WsaError::WouldBlock));
    w.a.p.close_socket(s).unwrap();
    w.settle();
    assert!(w.a.notes.network_events().iter().all(|e| e.socket != s));
    wait_pending(&w.b.p, &[listener], 0, "no accept pending");
    assert_eq!(
        w.b.p.set_nonblocking(listener, true),
        Ok(()),
        "the listener is still there"
    );
    assert_eq!(w.b.p.accept(listener).err(), Some(WsaError::WouldBlock));
}

/// Spec §14 (`ConnectEx`): an overlapped connect of a bound stream socket
/// is told once when it ends (S9, S10); an unbound socket is WSAEINVAL and
/// starts nothing; a close while it pends aborts it, told once (S7).
#[test]
fn spec14_an_overlapped_connect_is_told_once_and_a_close_aborts_it() {
    use winsock_provider::{CompletionMode, EventKey, OpState, OverlappedRequest};
    let w = common::World::new(1401);
    let l = w.b.stream();
    let at = w.b.p.bind(l, SocketAddr::from((w.b.ip, 0))).unwrap();
    w.b.p.listen(l, 4).unwrap();
    let s = w.a.stream();
    let req = OverlappedRequest::new(CompletionMode::Event(EventKey(1)));
    assert_eq!(
        w.a.p.connect_overlapped(s, at, req.clone()),
        Err(WsaError::InvalidArgument),
        "not bound"
    );
    assert_eq!(req.overlapped.state(), OpState::Idle);
    w.a.p.bind(s, SocketAddr::from((w.a.ip, 0))).unwrap();
    match w.a.p.connect_overlapped(s, at, req.clone()) {
        Ok(()) | Err(WsaError::IoPending) => {}
        other => panic!("{other:?}"),
    }
    w.settle();
    assert_eq!(req.overlapped.state(), OpState::Delivered);
    assert_eq!(w.a.notes.delivered_for(req.overlapped.op().unwrap()), 1);
    assert_eq!(w.a.p.peer_addr(s), Ok(at));

    let nobody = SocketAddr::from((w.b.ip, 4998));
    let t = w.a.stream();
    w.a.p.bind(t, SocketAddr::from((w.a.ip, 0))).unwrap();
    let pending = OverlappedRequest::new(CompletionMode::Event(EventKey(2)));
    w.net.set_latency(std::time::Duration::from_millis(50));
    assert_eq!(
        w.a.p.connect_overlapped(t, nobody, pending.clone()),
        Err(WsaError::IoPending)
    );
    w.a.p.close_socket(t).unwrap();
    assert_eq!(pending.overlapped.state(), OpState::AbortedNotified);
    let outcome = pending.overlapped.outcome().unwrap();
    assert_eq!(outcome.error, Some(WsaError::OperationAborted), "S7");
    assert_eq!(w.a.notes.delivered_for(pending.overlapped.op().unwrap()), 1);
}

/// Spec §14 (`ConnectEx` with a send buffer): once connected, the same
/// operation sends the buffer, and its one completion (S10) counts the
/// bytes sent; the peer reads them. A connect that fails sends nothing and
/// ends with its error, told once.
#[test]
fn spec14_a_connect_with_a_send_buffer_sends_it_in_the_same_operation() {
    use winsock_provider::{CompletionMode, EventKey, MsgFlags, OpState, OverlappedRequest};
    let w = common::World::new(1403);
    let l = w.b.stream();
    let at = w.b.p.bind(l, SocketAddr::from((w.b.ip, 0))).unwrap();
    w.b.p.listen(l, 4).unwrap();
    for latency in [0, 20] {
        w.net.set_latency(std::time::Duration::from_millis(latency));
        let s = w.a.stream();
        w.a.p.bind(s, SocketAddr::from((w.a.ip, 0))).unwrap();
        let req = OverlappedRequest::new(CompletionMode::Event(EventKey(1)));
        match w
            .a
            .p
            .connect_and_send(s, at, b"first words".to_vec(), req.clone())
        {
            Ok(()) | Err(WsaError::IoPending) => {}
            other => panic!("{other:?}"),
        }
        w.settle();
        assert_eq!(req.overlapped.state(), OpState::Delivered);
        let outcome = req.overlapped.outcome().unwrap();
        assert_eq!((outcome.error, outcome.bytes), (None, 11), "the bytes sent");
        assert_eq!(w.a.notes.delivered_for(req.overlapped.op().unwrap()), 1);
        let (c, _) = w.b.p.accept(l).unwrap();
        w.settle();
        assert_eq!(
            w.b.p.recv(c, 64, MsgFlags::empty(), None).unwrap().data,
            b"first words"
        );
    }

    let nobody = SocketAddr::from((w.b.ip, 4998));
    let t = w.a.stream();
    w.a.p.bind(t, SocketAddr::from((w.a.ip, 0))).unwrap();
    let refused = OverlappedRequest::new(CompletionMode::Event(EventKey(2)));
    match w
        .a
        .p
        .connect_and_send(t, nobody, b"lost".to_vec(), refused.clone())
    {
        Err(WsaError::IoPending) => {}
        other => panic!("{other:?}"),
    }
    w.settle();
    let outcome = refused.overlapped.outcome().unwrap();
    assert_eq!(outcome.error, Some(WsaError::ConnectionRefused));
    assert_eq!(outcome.bytes, 0);
    assert_eq!(w.a.notes.delivered_for(refused.overlapped.op().unwrap()), 1);
}

/// S7 and S6c for a `ConnectEx` with a send buffer: a close while the
/// connect pends aborts it, told once, and nothing reaches the listener;
/// at the final cleanup a pending one ends `WSA_OPERATION_ABORTED`, told
/// to nobody.
#[test]
fn s7_s6c_a_pending_connect_with_a_send_buffer_ends_as_any_operation() {
    use winsock_provider::{CompletionMode, EventKey, OpState, OverlappedRequest};
    let w = common::World::new(1404);
    let l = w.b.stream();
    let at = w.b.p.bind(l, SocketAddr::from((w.b.ip, 0))).unwrap();
    w.b.p.listen(l, 4).unwrap();
    w.net.set_latency(std::time::Duration::from_millis(50));
    let s = w.a.stream();
    w.a.p.bind(s, SocketAddr::from((w.a.ip, 0))).unwrap();
    let closed = OverlappedRequest::new(CompletionMode::Event(EventKey(1)));
    assert_eq!(
        w.a.p
            .connect_and_send(s, at, b"never".to_vec(), closed.clone()),
        Err(WsaError::IoPending)
    );
    w.a.p.close_socket(s).unwrap();
    assert_eq!(closed.overlapped.state(), OpState::AbortedNotified, "S7");
    assert_eq!(w.a.notes.delivered_for(closed.overlapped.op().unwrap()), 1);

    let t = w.a.stream();
    w.a.p.bind(t, SocketAddr::from((w.a.ip, 0))).unwrap();
    let silent = OverlappedRequest::new(CompletionMode::Event(EventKey(2)));
    assert_eq!(
        w.a.p
            .connect_and_send(t, at, b"never".to_vec(), silent.clone()),
        Err(WsaError::IoPending)
    );
    w.a.p.cleanup().unwrap();
    assert_eq!(silent.overlapped.state(), OpState::AbortedSilent, "S6c");
    assert_eq!(
        silent.overlapped.outcome().unwrap().error,
        Some(WsaError::OperationAborted)
    );
    assert_eq!(w.a.notes.delivered_for(silent.overlapped.op().unwrap()), 0);
    w.settle();
}

/// Spec §14 (`AcceptEx`): the next connection goes into the application's
/// own socket, told once, with the peer and local addresses on record; the
/// socket then carries bytes; a bound target is WSAEINVAL; a close of the
/// listener aborts a pending one, told once (S7), and leaves the target an
/// open, unconnected socket.
#[test]
fn spec14_an_overlapped_accept_fills_the_applications_socket() {
    use winsock_provider::{CompletionMode, EventKey, MsgFlags, OpState, OverlappedRequest};
    let w = common::World::new(1402);
    let l = w.a.stream();
    let at = w.a.p.bind(l, SocketAddr::from((w.a.ip, 0))).unwrap();
    w.a.p.listen(l, 4).unwrap();
    let bound = w.a.stream();
    w.a.p.bind(bound, SocketAddr::from((w.a.ip, 0))).unwrap();
    let req = OverlappedRequest::new(CompletionMode::Event(EventKey(1)));
    assert_eq!(
        w.a.p.accept_overlapped(l, bound, req.clone()),
        Err(WsaError::InvalidArgument)
    );
    let target = w.a.stream();
    assert_eq!(
        w.a.p.accept_overlapped(l, target, req.clone()),
        Err(WsaError::IoPending)
    );
    let c = w.b.stream();
    w.b.p.connect(c, at).unwrap();
    w.settle();
    assert_eq!(req.overlapped.state(), OpState::Delivered);
    assert_eq!(w.a.notes.delivered_for(req.overlapped.op().unwrap()), 1);
    assert_eq!(req.overlapped.from(), w.b.p.local_addr(c).ok(), "the peer");
    assert_eq!(req.overlapped.local(), Some(at), "the local address");
    assert_eq!(w.a.p.peer_addr(target), w.b.p.local_addr(c));
    w.b.p.send(c, b"into", MsgFlags::empty(), None).unwrap();
    w.settle();
    assert_eq!(
        w.a.p
            .recv(target, 10, MsgFlags::empty(), None)
            .unwrap()
            .data,
        b"into"
    );

    let spare = w.a.stream();
    let pending = OverlappedRequest::new(CompletionMode::Event(EventKey(2)));
    assert_eq!(
        w.a.p.accept_overlapped(l, spare, pending.clone()),
        Err(WsaError::IoPending)
    );
    w.a.p.close_socket(l).unwrap();
    assert_eq!(pending.overlapped.state(), OpState::AbortedNotified);
    assert_eq!(
        pending.overlapped.outcome().unwrap().error,
        Some(WsaError::OperationAborted)
    );
    assert_eq!(w.a.notes.delivered_for(pending.overlapped.op().unwrap()), 1);
    assert_eq!(
        w.a.p.peer_addr(spare),
        Err(WsaError::NotConnected),
        "the target is as it was"
    );
    w.a.p.bind(spare, SocketAddr::from((w.a.ip, 0))).unwrap();
}

/// A listener `l` at `at` on `a` with an `AcceptEx` (a 16-byte receive
/// area, into `target`, told through `req`) pending, and `c` on `b`
/// connected to it: the operation waits for the first data.
fn accepting_with_a_receive_area(
    w: &common::World,
) -> (
    SocketHandle,
    SocketAddr,
    SocketHandle,
    winsock_provider::OverlappedRequest,
    SocketHandle,
) {
    use winsock_provider::{CompletionMode, OverlappedRequest};
    let l = w.a.stream();
    let at = w.a.p.bind(l, SocketAddr::from((w.a.ip, 0))).unwrap();
    w.a.p.listen(l, 4).unwrap();
    let target = w.a.stream();
    let req = OverlappedRequest::new(CompletionMode::Event(EventKey(1)));
    assert_eq!(
        w.a.p.accept_and_receive(l, target, 16, req.clone()),
        Err(WsaError::IoPending)
    );
    let c = w.b.stream();
    w.b.p.connect(c, at).unwrap();
    w.settle();
    (l, at, target, req, c)
}

/// Spec §14 (`AcceptEx` with a receive area): the operation does not end
/// with the connection but with its first data, in one completion (S10)
/// counting the bytes, the data and both addresses on the record. From
/// the connection on it is the accepted socket's: closing the listener no
/// longer ends it, closing the socket aborts it, told once (S7).
#[test]
fn spec14_an_accept_with_a_receive_area_ends_with_the_first_data() {
    use winsock_provider::{CompletionMode, EventKey, MsgFlags, OpState, OverlappedRequest};
    let w = common::World::new(1406);
    let (l, at, target, req, c) = accepting_with_a_receive_area(&w);
    assert_eq!(req.overlapped.state(), OpState::Pending, "no data yet");
    assert_eq!(w.a.p.peer_addr(target), w.b.p.local_addr(c), "connected");
    w.b.p
        .send(c, b"first data", MsgFlags::empty(), None)
        .unwrap();
    w.settle();
    assert_eq!(req.overlapped.state(), OpState::Delivered);
    let outcome = req.overlapped.outcome().unwrap();
    assert_eq!((outcome.error, outcome.bytes), (None, 10));
    assert_eq!(req.overlapped.data(), b"first data");
    assert_eq!(req.overlapped.from(), w.b.p.local_addr(c).ok(), "the peer");
    assert_eq!(req.overlapped.local(), Some(at), "the local address");
    assert_eq!(w.a.notes.delivered_for(req.overlapped.op().unwrap()), 1);
    assert_eq!(
        w.a.p
            .get_overlapped_result(l, &req.overlapped, false)
            .map(|o| o.bytes),
        Ok(10),
        "asked of the listener it was posted on"
    );

    let second = w.a.stream();
    let waiting = OverlappedRequest::new(CompletionMode::Event(EventKey(2)));
    assert_eq!(
        w.a.p.accept_and_receive(l, second, 16, waiting.clone()),
        Err(WsaError::IoPending)
    );
    let d = w.b.stream();
    w.b.p.connect(d, at).unwrap();
    w.settle();
    w.a.p.close_socket(l).unwrap();
    assert_eq!(
        waiting.overlapped.state(),
        OpState::Pending,
        "the connection is in: the listener's close no longer ends it"
    );
    w.a.p.close_socket(second).unwrap();
    assert_eq!(waiting.overlapped.state(), OpState::AbortedNotified, "S7");
    assert_eq!(
        waiting.overlapped.outcome().unwrap().error,
        Some(WsaError::OperationAborted)
    );
    assert_eq!(w.a.notes.delivered_for(waiting.overlapped.op().unwrap()), 1);
}

/// S6c: an `AcceptEx` waiting for its first data at the final cleanup
/// ends `WSA_OPERATION_ABORTED`, told to nobody.
#[test]
fn s6c_an_accept_waiting_for_its_first_data_ends_silently_at_the_final_cleanup() {
    use winsock_provider::OpState;
    let w = common::World::new(1407);
    let (_, _, _, req, _) = accepting_with_a_receive_area(&w);
    assert_eq!(req.overlapped.state(), OpState::Pending);
    w.a.p.cleanup().unwrap();
    assert_eq!(req.overlapped.state(), OpState::AbortedSilent, "S6c");
    assert_eq!(w.a.notes.delivered_for(req.overlapped.op().unwrap()), 0);
}

/// A transport whose connects finish at once and whose sends take
/// everything at once, as a transport over a fast host may: the core's
/// own bookkeeping for a `ConnectEx` that ends inside the call.
struct AtOnce;

impl winsock_provider::testkit::Intercept<MockTransport> for AtOnce {
    fn connect(
        &self,
        _: &MockTransport,
        _: SocketHandle,
        _: SocketAddr,
        _: winsock_provider::OpId,
    ) -> Result<winsock_provider::Io<()>, WsaError> {
        Ok(winsock_provider::Io::Done(()))
    }

    fn send(
        &self,
        _: &MockTransport,
        _: SocketHandle,
        data: Vec<u8>,
        _: Option<SocketAddr>,
        _: winsock_provider::Wait,
    ) -> Result<winsock_provider::Io<usize>, WsaError> {
        Ok(winsock_provider::Io::Done(data.len()))
    }
}

/// Spec §14 and S9: a `ConnectEx` with a send buffer that connects and
/// sends inside the call returns `Ok` and is still told, once, with the
/// bytes sent; `FD_CONNECT` and `FD_WRITE` are recorded for its
/// registration, as for any connect.
#[test]
fn s9_a_connect_with_a_send_buffer_that_ends_at_once_is_still_told() {
    use winsock_provider::mock::MockWaiter;
    use winsock_provider::testkit::Intercepted;
    use winsock_provider::{CompletionMode, OpState, OverlappedRequest};
    let net = Network::new(1405);
    let node = net.add_node("10.0.0.1".parse().unwrap());
    let t = Intercepted::new(net.transport(node), AtOnce);
    let p = Provider::new(ProviderConfig::default(), t, MockWaiter::new(&net));
    let notes = RecordingNotifier::new();
    p.startup(Version::new(2, 2), Arc::new(notes.clone()))
        .unwrap();
    let s = p
        .socket(
            AddressFamily::Inet,
            SocketKind::Stream,
            SocketFlags::OVERLAPPED,
        )
        .unwrap();
    p.bind(s, "10.0.0.1:0".parse().unwrap()).unwrap();
    p.event_select(s, EventKey(3), FdEvents::CONNECT | FdEvents::WRITE)
        .unwrap();
    let req = OverlappedRequest::new(CompletionMode::Event(EventKey(1)));
    assert_eq!(
        p.connect_and_send(
            s,
            "10.0.0.2:80".parse().unwrap(),
            b"hello".to_vec(),
            req.clone()
        ),
        Ok(())
    );
    assert_eq!(req.overlapped.state(), OpState::Delivered);
    let outcome = req.overlapped.outcome().unwrap();
    assert_eq!((outcome.error, outcome.bytes), (None, 5));
    assert_eq!(notes.delivered_for(req.overlapped.op().unwrap()), 1);
    let events = p.enum_network_events(s).unwrap();
    assert_eq!(events.events, FdEvents::CONNECT | FdEvents::WRITE);
    p.cleanup().unwrap();
}

/// Spec §12 (an accepted socket has its listener's properties): a blocking
/// accept takes them as they are when the connection comes, not as they
/// were when the call began: a `SO_LINGER` set by another thread while the
/// accept waited is the accepted socket's.
#[test]
fn spec12_a_blocking_accept_takes_the_listeners_properties_when_the_connection_comes() {
    use winsock_provider::Linger;
    let (net, p, _notes, _echo) = frozen(8107);
    let l = blocking_stream(&p);
    let at = p.bind(l, "10.0.0.1:0".parse().unwrap()).unwrap();
    p.listen(l, 4).unwrap();
    let rx = {
        let p = p.clone();
        in_thread(ThreadKey(83), move || p.accept(l))
    };
    let deadline = std::time::Instant::now() + common::THREAD_TIMEOUT;
    while p.pending_operations(l) != Ok(1) {
        assert!(
            std::time::Instant::now() < deadline,
            "the accept never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let set = Linger {
        on: true,
        seconds: 555,
    };
    p.set_linger(l, set).unwrap();
    let c = blocking_stream(&p);
    p.set_nonblocking(c, true).unwrap();
    assert_eq!(p.connect(c, at), Err(WsaError::WouldBlock));
    net.run_until_idle(10_000);
    let (accepted, _) = finish(&rx, "blocking accept").unwrap();
    assert_eq!(p.linger(accepted), Ok(set), "the listener's SO_LINGER now");
}

/// A waiter that, once armed, moves the network on inside the next
/// `wake_all`: a close calls it after it took the socket's operations and
/// before it removes the socket, so a completion lands in that window.
struct StepsInsideWake {
    inner: winsock_provider::mock::MockWaiter,
    net: Network,
    armed: Arc<std::sync::atomic::AtomicBool>,
}

impl winsock_provider::Waiter for StepsInsideWake {
    fn now(&self) -> std::time::Duration {
        self.inner.now()
    }
    fn current_thread(&self) -> ThreadKey {
        self.inner.current_thread()
    }
    fn wait_until(
        &self,
        deadline: Option<std::time::Duration>,
        ready: &mut dyn FnMut() -> bool,
    ) -> winsock_provider::WaitResult {
        self.inner.wait_until(deadline, ready)
    }
    fn wake_all(&self) {
        if self.armed.swap(false, std::sync::atomic::Ordering::SeqCst) {
            self.net.advance(std::time::Duration::from_secs(1));
        }
        self.inner.wake_all();
    }
}

/// S7, S10: an `AcceptEx` with a receive area whose connection comes while
/// its socket is being closed ends once, aborted and told: the close is not
/// undone by the connection filling the socket, and the operation is not
/// left pending on a socket that is gone (found by a review: it stayed
/// pending for ever, through the final cleanup).
#[test]
fn s10_an_acceptex_whose_socket_is_closing_when_the_connection_comes_ends_once() {
    use winsock_provider::mock::MockWaiter;
    use winsock_provider::{CompletionMode, OpState, OverlappedRequest};
    let net = Network::new(1410);
    let (na, nb) = (
        net.add_node("10.0.0.1".parse().unwrap()),
        net.add_node("10.0.0.2".parse().unwrap()),
    );
    let armed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let waiter = StepsInsideWake {
        inner: MockWaiter::new(&net),
        net: net.clone(),
        armed: armed.clone(),
    };
    let a = Provider::new(ProviderConfig::default(), net.transport(na), waiter);
    let b = Provider::new(
        ProviderConfig::default(),
        net.transport(nb),
        MockWaiter::new(&net),
    );
    let notes = RecordingNotifier::new();
    a.startup(Version::new(2, 2), Arc::new(notes.clone()))
        .unwrap();
    b.startup(Version::new(2, 2), Arc::new(RecordingNotifier::new()))
        .unwrap();
    let stream = |p: &dyn Fn() -> Result<SocketHandle, WsaError>| p().unwrap();
    let l = stream(&|| {
        a.socket(
            AddressFamily::Inet,
            SocketKind::Stream,
            SocketFlags::OVERLAPPED,
        )
    });
    let at = a.bind(l, "10.0.0.1:0".parse().unwrap()).unwrap();
    a.listen(l, 4).unwrap();
    let t = stream(&|| {
        a.socket(
            AddressFamily::Inet,
            SocketKind::Stream,
            SocketFlags::OVERLAPPED,
        )
    });
    let req = OverlappedRequest::new(CompletionMode::Event(EventKey(1)));
    assert_eq!(
        a.accept_and_receive(l, t, 16, req.clone()),
        Err(WsaError::IoPending)
    );
    let c = stream(&|| {
        b.socket(
            AddressFamily::Inet,
            SocketKind::Stream,
            SocketFlags::empty(),
        )
    });
    b.set_nonblocking(c, true).unwrap();
    assert_eq!(b.connect(c, at), Err(WsaError::WouldBlock));
    armed.store(true, std::sync::atomic::Ordering::SeqCst);
    a.close_socket(t).unwrap();
    assert_eq!(req.overlapped.state(), OpState::AbortedNotified, "S7");
    assert_eq!(notes.delivered_for(req.overlapped.op().unwrap()), 1, "S10");
    assert_eq!(
        a.socket_kind(t),
        Err(WsaError::NotSocket),
        "the close stands"
    );
    a.cleanup().unwrap();
}
