//! `WSPCloseSocket` in every linger mode, and what a close does to the
//! operations and callers of the socket.
//!
//! Rules covered:
//! - S7: every row of the linger table (SO_DONTLINGER; SO_LINGER{on,0};
//!   SO_LINGER{on,N} on a blocking and on a non-blocking socket); pending
//!   overlapped operations end with `WSA_OPERATION_ABORTED` and are notified
//!   exactly once; calls blocked on the socket in other threads return
//!   `WSAEINTR`; the handle is `WSAENOTSOCK` afterwards; the handle is given
//!   back.
//! - S10: the aborted operations are notified once, never again, even with
//!   data racing in.
//! - S13: a failed close (`WSAEWOULDBLOCK`, `WSAENOTSOCK`) changes nothing.
//!
//! Time is virtual: a lingering close is measured with `w.net.now()`.

mod common;

use common::{APP, FrozenClock, World, finish, in_thread, ov};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use winsock_provider::mock::{MockWaiter, Network, Record, RecordingNotifier};
use winsock_provider::{
    AddressFamily, CompletionMode, EventKey, FdEvents, Linger, MsgFlags, OpState, Overlapped,
    OverlappedRequest, PortKey, Provider, ProviderConfig, SocketFlags, SocketHandle, SocketKind,
    ThreadKey, Transport as _, Version, WsaError,
};

const NONE: MsgFlags = MsgFlags::empty();

const DONTLINGER: Linger = Linger {
    on: false,
    seconds: 0,
};

fn linger(seconds: u16) -> Linger {
    Linger { on: true, seconds }
}

/// A request and a second handle on its record.
fn req(mode: CompletionMode) -> (OverlappedRequest, Overlapped) {
    let r = ov(mode);
    let rec = r.overlapped.clone();
    (r, rec)
}

/// Distinct bytes, so that any reordering or loss shows.
fn pattern(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ salt.wrapping_mul(37))
        .collect()
}

/// How many times `s` was given back.
fn released(w: &World, s: SocketHandle) -> usize {
    w.a.notes.released().iter().filter(|&&h| h == s).count()
}

// ------------------------------------------------ SO_DONTLINGER (default) ---

/// S7: with SO_DONTLINGER (the default) close returns at once and every byte, even unsent at close, reaches a slow reader, then end-of-stream; draining_count tracks the closed socket while it still sends.
#[test]
fn s7_dontlinger_close_returns_at_once_and_every_byte_reaches_a_slow_reader() {
    let w = World::new(7001);
    let (s, svc) = w.to_discard(7001, Some(0));
    assert_eq!(w.a.p.linger(s), Ok(DONTLINGER), "the default");
    w.a.p.set_buffers(s, Some(65_536), None).unwrap();
    assert_eq!(w.a.p.send(s, &pattern(40_000, 1), NONE, None), Ok(40_000));
    w.settle();
    let unsent = w.a.p.transport().unsent(s);
    assert!(
        unsent > 20_000,
        "the stalled reader left {unsent} bytes unsent"
    );
    let t0 = w.net.now();
    assert_eq!(w.a.p.close_socket(s), Ok(()));
    assert_eq!(w.net.now(), t0, "returns at once");
    assert_eq!(released(&w, s), 1);
    assert_eq!(w.a.p.draining_count(), 1, "closed, still sending");
    // The reader wakes up, slowly.
    w.net.set_read_rate(svc, Some(500));
    w.net.advance(Duration::from_millis(10));
    assert!(w.net.service_received(svc) < 40_000);
    assert_eq!(w.a.p.draining_count(), 1, "still sending");
    w.settle();
    assert_eq!(w.net.service_received(svc), 40_000, "every byte arrived");
    assert_eq!(
        w.net.service_closed_gracefully(svc),
        1,
        "then end-of-stream"
    );
    assert_eq!(w.net.service_resets(svc), 0);
    assert_eq!(w.a.p.draining_count(), 0, "done sending");
}

/// S7: a default close of one end delivers the unsent bytes to the peer in order, then end-of-stream.
#[test]
fn s7_dontlinger_close_delivers_unsent_bytes_in_order_then_end_of_stream() {
    let w = World::new(7002);
    let (a, b) = w.pair();
    w.a.p.set_buffers(a, Some(65_536), None).unwrap();
    let data = pattern(30_000, 2);
    assert_eq!(w.a.p.send(a, &data, NONE, None), Ok(30_000));
    assert!(w.a.p.transport().unsent(a) > 0);
    assert_eq!(w.a.p.close_socket(a), Ok(()));
    assert_eq!(common::drain(&w.net, &w.b.p, b), Ok(data));
    assert_eq!(
        w.b.p.recv(b, 100, NONE, None).map(|r| r.data),
        Ok(Vec::new()),
        "end-of-stream, not a reset"
    );
    assert_eq!(w.a.p.draining_count(), 0);
}

// ------------------------------------------------------ SO_LINGER {on, 0} ---

/// S7: SO_LINGER{on,0} is abortive: close returns at once, unsent data is discarded and the peer's recv fails with WSAECONNRESET.
#[test]
fn s7_linger_zero_is_abortive_and_the_peer_sees_a_reset() {
    let w = World::new(7003);
    let (a, b) = w.pair();
    let filled = w.fill(a);
    let unsent = w.a.p.transport().unsent(a);
    assert!(unsent > 0);
    let discarded0 = w.net.stats().bytes_discarded_by_resets;
    w.a.p.set_linger(a, linger(0)).unwrap();
    let t0 = w.net.now();
    assert_eq!(w.a.p.close_socket(a), Ok(()));
    assert_eq!(w.net.now(), t0, "returns at once");
    assert_eq!(w.a.p.draining_count(), 0, "nothing left sending");
    w.settle();
    let discarded = w.net.stats().bytes_discarded_by_resets - discarded0;
    assert!(
        discarded >= unsent as u64,
        "the {unsent} unsent bytes were discarded ({discarded})"
    );
    w.b.p.set_nonblocking(b, true).unwrap();
    assert_eq!(
        w.b.p.recv(b, 65_536, NONE, None).map(|r| r.data.len()),
        Err(WsaError::ConnectionReset)
    );
    assert!(filled > unsent);
}

/// S7: SO_LINGER{on,0} resets a network-resident reader, which never gets the unsent bytes, even once it reads again.
#[test]
fn s7_linger_zero_resets_the_discard_service_and_discards_unsent_data() {
    let w = World::new(7004);
    let (s, svc) = w.to_discard(7004, Some(0));
    w.fill(s);
    assert!(w.a.p.transport().unsent(s) > 0);
    w.a.p.set_linger(s, linger(0)).unwrap();
    let t0 = w.net.now();
    assert_eq!(w.a.p.close_socket(s), Ok(()));
    assert_eq!(w.net.now(), t0);
    w.settle();
    assert_eq!(w.net.service_resets(svc), 1, "the peer saw a reset");
    w.net.set_read_rate(svc, None);
    w.settle();
    assert_eq!(
        w.net.service_received(svc),
        0,
        "no unsent byte ever arrived"
    );
    assert_eq!(w.net.service_closed_gracefully(svc), 0);
    assert_eq!(released(&w, s), 1);
}

// ---------------------------------------- SO_LINGER {on, N}, blocking socket ---

/// S7: SO_LINGER{on,N} on a blocking socket whose peer never reads waits N seconds of virtual time, then closes abortively.
#[test]
fn s7_linger_timeout_on_a_blocking_socket_waits_then_resets_a_peer_that_never_reads() {
    let w = World::new(7005);
    let (s, svc) = w.to_discard(7005, Some(0));
    w.fill(s);
    w.a.p.set_nonblocking(s, false).unwrap();
    assert!(w.a.p.transport().unsent(s) > 0);
    w.a.p.set_linger(s, linger(3)).unwrap();
    let t0 = w.net.now();
    assert_eq!(w.a.p.close_socket(s), Ok(()));
    let waited = w.net.now() - t0;
    assert!(
        waited >= Duration::from_secs(3),
        "waited the whole timeout ({waited:?})"
    );
    assert!(
        waited < Duration::from_secs(4),
        "and not much longer ({waited:?})"
    );
    w.settle();
    assert_eq!(w.net.service_resets(svc), 1, "then abortive");
    assert_eq!(w.net.service_closed_gracefully(svc), 0);
    assert_eq!(w.a.p.draining_count(), 0);
    assert_eq!(released(&w, s), 1);
    assert_eq!(w.a.p.socket_kind(s), Err(WsaError::NotSocket));
}

/// S7: SO_LINGER{on,N} on a blocking socket returns early, and closes gracefully, once a fast reader has taken the data.
#[test]
fn s7_linger_timeout_on_a_blocking_socket_returns_early_when_the_peer_reads_fast() {
    let w = World::new(7006);
    let (s, svc) = w.to_discard(7006, None);
    w.a.p.set_buffers(s, Some(65_536), None).unwrap();
    assert_eq!(w.a.p.send(s, &[3; 50_000], NONE, None), Ok(50_000));
    assert!(w.a.p.transport().unsent(s) > 0, "unsent at close");
    w.a.p.set_linger(s, linger(10)).unwrap();
    let t0 = w.net.now();
    assert_eq!(w.a.p.close_socket(s), Ok(()));
    let waited = w.net.now() - t0;
    assert!(waited > Duration::ZERO, "it waited for the data to go");
    assert!(
        waited < Duration::from_secs(1),
        "and returned long before the timeout ({waited:?})"
    );
    w.settle();
    assert_eq!(w.net.service_received(svc), 50_000);
    assert_eq!(w.net.service_closed_gracefully(svc), 1, "graceful");
    assert_eq!(w.net.service_resets(svc), 0);
    assert_eq!(released(&w, s), 1);
}

/// S7: SO_LINGER{on,N} on a blocking socket waits as long as a slow reader needs, when that is within N, and closes gracefully.
#[test]
fn s7_linger_timeout_on_a_blocking_socket_waits_for_a_slow_reader_within_the_timeout() {
    let w = World::new(7007);
    let (s, svc) = w.to_discard(7007, Some(200));
    w.a.p.set_buffers(s, Some(65_536), None).unwrap();
    assert_eq!(w.a.p.send(s, &[4; 50_000], NONE, None), Ok(50_000));
    w.a.p.set_linger(s, linger(10)).unwrap();
    let t0 = w.net.now();
    assert_eq!(w.a.p.close_socket(s), Ok(()));
    let waited = w.net.now() - t0;
    // 200 bytes/ms: about 40 000 bytes had to leave the send buffer.
    assert!(
        waited >= Duration::from_millis(150) && waited < Duration::from_secs(10),
        "waited {waited:?}"
    );
    w.settle();
    assert_eq!(w.net.service_received(svc), 50_000);
    assert_eq!(w.net.service_closed_gracefully(svc), 1);
    assert_eq!(w.net.service_resets(svc), 0);
}

// ------------------------------------ SO_LINGER {on, N}, non-blocking socket ---

/// S7, S13: SO_LINGER{on,N} on a non-blocking socket with unsent data is WSAEWOULDBLOCK; the socket stays open and usable, its pending operations are not aborted and nobody is told; a close after the data drained succeeds.
#[test]
fn s7_linger_timeout_on_a_nonblocking_socket_is_wsaewouldblock_and_keeps_the_socket() {
    let w = World::new(7008);
    let (a, b) = w.pair();
    let filled = w.fill(a);
    assert!(w.a.p.is_nonblocking(a).unwrap());
    assert!(w.a.p.transport().unsent(a) > 0);
    let (r, rec) = req(CompletionMode::Event(EventKey(8)));
    assert_eq!(
        w.a.p.recv(a, 100, NONE, Some(r)).map(|x| x.data),
        Err(WsaError::IoPending)
    );
    w.a.p.event_select(a, EventKey(80), FdEvents::READ).unwrap();
    w.a.p.set_linger(a, linger(5)).unwrap();
    let (count, t0) = (w.a.p.socket_count(), w.net.now());
    assert_eq!(w.a.p.close_socket(a), Err(WsaError::WouldBlock));
    assert_eq!(w.a.p.close_socket(a), Err(WsaError::WouldBlock), "again");
    assert_eq!(w.net.now(), t0, "never blocks");
    // Open and valid, as it was.
    assert_eq!(w.a.p.socket_count(), count);
    assert_eq!(released(&w, a), 0);
    assert_eq!(w.a.p.socket_kind(a), Ok(SocketKind::Stream));
    assert_eq!(w.a.p.linger(a), Ok(linger(5)));
    assert_eq!(w.a.p.is_nonblocking(a), Ok(true));
    assert_eq!(rec.state(), OpState::Pending, "not aborted");
    assert!(w.a.notes.delivered().is_empty(), "nobody told");
    // Still usable: the pending receive completes with the peer's data.
    w.b.p.send(b, b"still here", NONE, None).unwrap();
    w.settle();
    assert_eq!(rec.state(), OpState::Delivered);
    assert_eq!(rec.data(), b"still here");
    assert_eq!(w.a.notes.delivered_for(rec.op().unwrap()), 1);
    assert!(
        w.a.notes
            .network_events()
            .iter()
            .any(|e| e.socket == a && e.event == EventKey(80) && e.events == FdEvents::READ),
        "the event-select registration survived"
    );
    // The peer reads everything; then nothing is unsent and the close works.
    let got = common::drain(&w.net, &w.b.p, b).expect("intact");
    assert_eq!(got.len(), filled);
    assert_eq!(w.a.p.transport().unsent(a), 0);
    let t1 = w.net.now();
    assert_eq!(w.a.p.close_socket(a), Ok(()));
    assert_eq!(w.net.now(), t1);
    assert_eq!(released(&w, a), 1);
    w.settle();
    assert_eq!(
        w.b.p.recv(b, 100, NONE, None).map(|r| r.data),
        Ok(Vec::new()),
        "graceful: end-of-stream"
    );
}

/// S7: SO_LINGER{on,N} on a non-blocking socket with nothing unsent closes at once, gracefully.
#[test]
fn s7_linger_timeout_on_a_nonblocking_socket_without_unsent_data_closes_at_once() {
    let w = World::new(7009);
    let (a, b) = w.pair();
    w.a.p.set_nonblocking(a, true).unwrap();
    w.a.p.set_linger(a, linger(5)).unwrap();
    assert_eq!(w.a.p.send(a, b"bye", NONE, None), Ok(3));
    w.settle();
    assert_eq!(w.a.p.transport().unsent(a), 0);
    let t0 = w.net.now();
    assert_eq!(w.a.p.close_socket(a), Ok(()));
    assert_eq!(w.net.now(), t0);
    assert_eq!(released(&w, a), 1);
    assert_eq!(common::drain(&w.net, &w.b.p, b), Ok(b"bye".to_vec()));
    assert_eq!(
        w.b.p.recv(b, 100, NONE, None).map(|r| r.data),
        Ok(Vec::new()),
        "graceful: end-of-stream"
    );
}

// ------------------------------------------- what a close does to the rest ---

/// S7, S10: close aborts every pending overlapped operation (event, routine, port, polling; receives and sends) with WSA_OPERATION_ABORTED and notifies each exactly once, never again.
#[test]
fn s7_close_aborts_every_pending_operation_and_notifies_each_once() {
    let w = World::new(7010);
    let (a, b) = w.pair();
    w.fill(a);
    let mut recs = Vec::new();
    let mut post = |mode: CompletionMode, send: bool| {
        let (r, rec) = req(mode);
        let res = if send {
            w.a.p.send(a, &[1; 1000], NONE, Some(r))
        } else {
            w.a.p.recv(a, 100, NONE, Some(r)).map(|x| x.data.len())
        };
        assert_eq!(res, Err(WsaError::IoPending), "{mode:?}");
        recs.push(rec);
    };
    post(CompletionMode::Event(EventKey(1)), false);
    post(
        CompletionMode::Routine {
            thread: APP,
            routine: 0xC0,
        },
        false,
    );
    post(
        CompletionMode::Port {
            port: PortKey(2),
            key: 5,
        },
        false,
    );
    post(CompletionMode::Polling, false);
    post(
        CompletionMode::Port {
            port: PortKey(2),
            key: 6,
        },
        true,
    );
    post(CompletionMode::Event(EventKey(3)), true);
    // Data is on its way to the receives, racing the close.
    w.b.p.send(b, b"too late", NONE, None).unwrap();
    assert!(w.a.notes.delivered().is_empty());
    assert_eq!(w.a.p.close_socket(a), Ok(()));
    for rec in &recs {
        assert_eq!(rec.state(), OpState::AbortedNotified);
        let out = rec.outcome().expect("terminal");
        assert_eq!(out.error, Some(WsaError::OperationAborted));
        assert_eq!(out.bytes, 0);
        assert_eq!(w.a.notes.delivered_for(rec.op().unwrap()), 1);
    }
    let routines = w.a.notes.take_routines(APP);
    assert_eq!(routines.len(), 1);
    assert_eq!(routines[0].op, recs[1].op().unwrap());
    assert_eq!(routines[0].outcome.error, Some(WsaError::OperationAborted));
    let packets = w.a.notes.take_port(PortKey(2));
    assert_eq!(
        packets.iter().map(|p| (p.key, p.op)).collect::<Vec<_>>(),
        vec![(5, recs[2].op().unwrap()), (6, recs[4].op().unwrap())]
    );
    let delivered = w.a.notes.delivered();
    assert_eq!(delivered.len(), recs.len());
    assert!(
        delivered
            .iter()
            .all(|d| d.outcome().error == Some(WsaError::OperationAborted))
    );
    assert!(delivered.contains(&Record::EventSet {
        event: EventKey(1),
        op: recs[0].op().unwrap(),
        outcome: recs[0].outcome().unwrap(),
    }));
    // Nothing more, ever.
    w.settle();
    assert_eq!(w.a.notes.delivered().len(), recs.len());
    assert!(w.a.notes.suppressed().is_empty());
    assert!(w.a.notes.take_routines(APP).is_empty());
    assert!(w.a.notes.take_port(PortKey(2)).is_empty());
}

/// S7: calls blocked on a socket in other threads (a receive, a send, an accept on a listener) return WSAEINTR when it is closed, and are never notified.
#[test]
fn s7_calls_blocked_on_the_socket_in_other_threads_return_wsaeintr() {
    let w = World::new(7011);
    let (a, _b) = w.pair();
    w.fill(a);
    w.a.p.set_nonblocking(a, false).unwrap();
    let listener = w.a.stream();
    w.a.p
        .bind(listener, SocketAddr::from((w.a.ip, 0)))
        .expect("bind");
    w.a.p.listen(listener, 4).unwrap();
    let count = w.a.p.socket_count();
    let p = w.a.p.clone();
    let receiver = in_thread(ThreadKey(41), move || {
        p.recv(a, 100, NONE, None).map(|r| r.data)
    });
    let p = w.a.p.clone();
    let sender = in_thread(ThreadKey(42), move || p.send(a, &[9; 4096], NONE, None));
    let p = w.a.p.clone();
    let acceptor = in_thread(ThreadKey(43), move || p.accept(listener).map(|(h, _)| h));
    common::wait_pending(&w.a.p, &[a, listener], 3, "the three blocking calls");
    assert_eq!(w.a.p.close_socket(a), Ok(()));
    assert_eq!(finish(&receiver, "recv"), Err(WsaError::Interrupted));
    assert_eq!(finish(&sender, "send"), Err(WsaError::Interrupted));
    assert_eq!(w.a.p.close_socket(listener), Ok(()));
    assert_eq!(finish(&acceptor, "accept"), Err(WsaError::Interrupted));
    let told: Vec<_> =
        w.a.notes
            .delivered()
            .into_iter()
            .filter(|d| d.op().socket == a || d.op().socket == listener)
            .collect();
    assert!(
        told.is_empty(),
        "blocking calls are never notified: {told:?}"
    );
    assert_eq!(
        w.a.p.socket_count(),
        count - 2,
        "both sockets and the accept's reserved handle are gone"
    );
}

/// S7: after a close the handle is WSAENOTSOCK for every call, overlapped ones included, and nothing they carry is ever notified.
#[test]
fn s7_a_closed_handle_is_wsaenotsock_for_every_call() {
    let w = World::new(7012);
    let (a, b) = w.pair();
    let (r, old) = req(CompletionMode::Event(EventKey(1)));
    assert_eq!(w.a.p.send(a, b"x", NONE, Some(r)), Ok(1));
    assert_eq!(w.a.p.close_socket(a), Ok(()));
    w.a.notes.clear();
    let to = SocketAddr::from((w.b.ip, 1));
    let p = &w.a.p;
    let e = Err(WsaError::NotSocket);
    assert_eq!(p.bind(a, SocketAddr::from((w.a.ip, 0))).map(|_| ()), e);
    assert_eq!(p.listen(a, 1), e);
    assert_eq!(p.connect(a, to), e);
    assert_eq!(p.accept(a).map(|_| ()), e);
    assert_eq!(p.send(a, b"x", NONE, None).map(|_| ()), e);
    assert_eq!(p.send_to(a, b"x", to, NONE, None).map(|_| ()), e);
    assert_eq!(p.recv(a, 1, NONE, None).map(|_| ()), e);
    assert_eq!(p.recv_from(a, 1, NONE, None).map(|_| ()), e);
    let (r1, rec1) = req(CompletionMode::Event(EventKey(2)));
    let (r2, rec2) = req(CompletionMode::Routine {
        thread: APP,
        routine: 1,
    });
    assert_eq!(p.send(a, b"x", NONE, Some(r1)).map(|_| ()), e);
    assert_eq!(p.recv(a, 1, NONE, Some(r2)).map(|_| ()), e);
    assert_eq!(p.get_overlapped_result(a, &old, false).map(|_| ()), e);
    assert_eq!(p.get_overlapped_result(a, &old, true).map(|_| ()), e);
    assert_eq!(p.set_linger(a, linger(1)), e);
    assert_eq!(p.linger(a).map(|_| ()), e);
    assert_eq!(p.set_nonblocking(a, true), e);
    assert_eq!(p.is_nonblocking(a).map(|_| ()), e);
    assert_eq!(p.set_buffers(a, Some(1), Some(1)), e);
    assert_eq!(p.socket_kind(a).map(|_| ()), e);
    assert_eq!(p.local_addr(a).map(|_| ()), e);
    assert_eq!(p.peer_addr(a).map(|_| ()), e);
    assert_eq!(p.shutdown(a, 1), e);
    assert_eq!(p.event_select(a, EventKey(3), FdEvents::READ), e);
    assert_eq!(p.enum_network_events(a).map(|_| ()), e);
    assert_eq!(p.close_socket(a), e);
    w.b.p.send(b, b"data", NONE, None).unwrap();
    w.settle();
    assert_eq!(rec1.state(), OpState::Idle);
    assert_eq!(rec2.state(), OpState::Idle);
    assert!(w.a.notes.delivered().is_empty());
    assert!(w.a.notes.take_routines(APP).is_empty());
    // A new socket never gets the old handle back.
    let n = w.a.stream();
    assert_ne!(n, a);
    assert_eq!(p.socket_kind(a).map(|_| ()), e);
}

/// S7, S13: a second close of the same handle is WSAENOTSOCK and changes nothing (the handle is given back only once), after every kind of close.
#[test]
fn s7_a_second_close_is_wsaenotsock() {
    let w = World::new(7013);
    for (i, how) in [DONTLINGER, linger(0), linger(2)].into_iter().enumerate() {
        let (s, _svc) = w.to_discard(7013 + i as u16, Some(0));
        w.a.p.send(s, &[1; 100], NONE, None).unwrap();
        w.a.p.set_linger(s, how).unwrap();
        assert_eq!(w.a.p.close_socket(s), Ok(()), "{how:?}");
        let count = w.a.p.socket_count();
        assert_eq!(w.a.p.close_socket(s), Err(WsaError::NotSocket), "{how:?}");
        assert_eq!(w.a.p.socket_count(), count);
        assert_eq!(released(&w, s), 1, "{how:?}");
    }
}

/// S7: close gives the handle back (WPUCloseSocketHandle), exactly once, and takes it out of the socket count.
#[test]
fn s7_close_releases_the_handle() {
    let w = World::new(7014);
    let (a, b) = w.pair();
    let count = w.a.p.socket_count();
    assert_eq!(released(&w, a), 0);
    assert_eq!(w.a.p.close_socket(a), Ok(()));
    assert_eq!(w.a.notes.released().last(), Some(&a));
    assert_eq!(released(&w, a), 1);
    assert_eq!(w.a.p.socket_count(), count - 1);
    // The peer's process gives its own handle back on its own close.
    assert_eq!(w.b.p.close_socket(b), Ok(()));
    assert_eq!(w.b.notes.released().iter().filter(|&&h| h == b).count(), 1);
}

/// A waiter whose virtual clock never moves by itself: a lingering close
/// waits (in real time) until something ends it, as it would on a stalled
/// network with a long timeout, so another thread can act meanwhile.
/// S7 (spec §6, WSPCancelBlockingCall): cancelling a lingering close on
/// the thread that waits in it ends the close with WSAEINTR and leaves the
/// socket open and usable, not half closed: its options read back, and a
/// later close closes it for good.
#[test]
fn s7_cancelling_a_lingering_close_leaves_the_socket_open_and_usable() {
    const T1: ThreadKey = ThreadKey(71);
    let net = Network::new(7015);
    let node = net.add_node("10.0.0.1".parse().unwrap());
    let at: SocketAddr = "10.0.0.9:9".parse().unwrap();
    net.add_discard_service(at, Some(0));
    let p = Provider::new(
        ProviderConfig::default(),
        net.transport(node),
        FrozenClock(MockWaiter::new(&net)),
    );
    let notes = RecordingNotifier::new();
    p.startup(Version::new(2, 2), Arc::new(notes.clone()))
        .unwrap();
    let s = p
        .socket(
            AddressFamily::Inet,
            SocketKind::Stream,
            SocketFlags::empty(),
        )
        .unwrap();
    // The frozen clock moves nothing while a call waits: connect in the
    // background and let the network answer.
    p.set_nonblocking(s, true).unwrap();
    assert_eq!(p.connect(s, at), Err(WsaError::WouldBlock));
    net.run_until_idle(1000);
    p.set_nonblocking(s, false).unwrap();
    p.send(s, &[7; 1000], NONE, None).unwrap();
    assert!(p.transport().unsent(s) > 0, "nothing moves: the data waits");
    p.set_linger(s, linger(30)).unwrap();
    let closer = {
        let p = p.clone();
        in_thread(T1, move || p.close_socket(s))
    };
    let deadline = std::time::Instant::now() + common::THREAD_TIMEOUT;
    while p.pending_operations(s) != Ok(1) {
        assert!(std::time::Instant::now() < deadline, "T1 never lingered");
        std::thread::sleep(Duration::from_millis(1));
    }
    // T1's blocking hook.
    MockWaiter::set_current_thread(T1);
    let cancelled = p.cancel_blocking_call();
    MockWaiter::set_current_thread(APP);
    assert_eq!(cancelled, Ok(()));
    assert_eq!(
        finish(&closer, "lingering close"),
        Err(WsaError::Interrupted)
    );
    // Open and usable: not marked closing forever.
    assert_eq!(p.socket_kind(s), Ok(SocketKind::Stream));
    assert_eq!(p.linger(s), Ok(linger(30)));
    assert_eq!(p.pending_operations(s), Ok(0));
    assert!(notes.released().is_empty(), "the handle was not given back");
    p.set_linger(s, linger(0)).unwrap();
    assert_eq!(p.close_socket(s), Ok(()));
    assert_eq!(p.socket_kind(s), Err(WsaError::NotSocket));
    assert_eq!(notes.released(), vec![s]);
}
