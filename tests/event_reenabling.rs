//! The re-enabling rules of `WSPEventSelect` and `WSPAsyncSelect` (spec
//! §12), in event mode and in message mode, and what an accepted socket
//! takes from its listener.

mod common;

use common::World;
use std::net::SocketAddr;
use winsock_provider::option_names::{SO_LINGER, SO_RCVTIMEO, SOL_SOCKET};
use winsock_provider::{EventKey, FdEvents, MsgFlags, SocketHandle, WindowKey, WsaError};

/// The events set on `s`'s event object, in order.
fn events_set(w: &World, s: SocketHandle) -> Vec<FdEvents> {
    w.a.notes
        .network_events()
        .into_iter()
        .filter(|e| e.socket == s)
        .map(|e| e.events)
        .collect()
}

/// The messages posted for `s`, in order.
fn posted(w: &World, s: SocketHandle) -> Vec<FdEvents> {
    w.a.notes
        .posted_messages()
        .into_iter()
        .filter(|m| m.socket == s)
        .map(|m| m.events)
        .collect()
}

/// Spec §12, the case: 10 bytes arrive on a socket registered for
/// FD_READ; the application receives 2: FD_READ is recorded again (the
/// event set) because data remains; after the rest is read, nothing.
#[test]
fn spec12_fd_read_is_recorded_again_after_a_partial_receive_and_not_after_the_last() {
    let w = World::new(1201);
    let (s, t) = w.pair();
    w.a.p.event_select(s, EventKey(1), FdEvents::READ).unwrap();
    w.b.p
        .send(t, b"0123456789", MsgFlags::empty(), None)
        .unwrap();
    w.settle();
    assert_eq!(events_set(&w, s), [FdEvents::READ]);
    assert_eq!(w.a.p.enum_network_events(s).unwrap().events, FdEvents::READ);
    assert_eq!(
        w.a.p.recv(s, 2, MsgFlags::empty(), None).unwrap().data,
        b"01"
    );
    assert_eq!(
        events_set(&w, s),
        [FdEvents::READ; 2],
        "data remains: again"
    );
    assert_eq!(w.a.p.enum_network_events(s).unwrap().events, FdEvents::READ);
    assert_eq!(
        w.a.p
            .recv(s, 100, MsgFlags::empty(), None)
            .unwrap()
            .data
            .len(),
        8
    );
    assert_eq!(events_set(&w, s).len(), 2, "all read: nothing");
    assert_eq!(
        w.a.p.enum_network_events(s).unwrap().events,
        FdEvents::empty()
    );
}

/// Spec §12, message mode: one FD_READ message until the re-enabling call,
/// however much more arrives; a receive that leaves data posts again.
/// Event mode records FD_READ again on every arrival (as Windows does).
#[test]
fn spec12_message_mode_posts_one_fd_read_until_a_receive_event_mode_records_each_arrival() {
    let w = World::new(1202);
    let (s, t) = w.pair();
    let (u, v) = w.pair();
    w.a.p
        .async_select(s, WindowKey(9), 0x400, FdEvents::READ)
        .unwrap();
    w.a.p.event_select(u, EventKey(2), FdEvents::READ).unwrap();
    for chunk in [&b"a"[..], b"b", b"c"] {
        w.b.p.send(t, chunk, MsgFlags::empty(), None).unwrap();
        w.b.p.send(v, chunk, MsgFlags::empty(), None).unwrap();
        w.settle();
    }
    assert_eq!(
        posted(&w, s),
        [FdEvents::READ],
        "one message until a receive"
    );
    assert_eq!(
        events_set(&w, u),
        [FdEvents::READ; 3],
        "recorded on each arrival"
    );
    assert_eq!(
        w.a.p.recv(s, 1, MsgFlags::empty(), None).unwrap().data,
        b"a"
    );
    assert_eq!(
        posted(&w, s),
        [FdEvents::READ; 2],
        "data remains: posted again"
    );
    w.a.p.recv(s, 10, MsgFlags::empty(), None).unwrap();
    assert_eq!(posted(&w, s).len(), 2);
}

/// Spec §12: FD_WRITE is signalled when the connection can send and then
/// only after a send failed with WSAEWOULDBLOCK and room came back; a send
/// that succeeds does not re-arm it.
#[test]
fn spec12_fd_write_comes_again_only_after_a_send_would_have_blocked() {
    let w = World::new(1203);
    let (s, svc) = w.to_discard(19, Some(0));
    w.a.p.event_select(s, EventKey(3), FdEvents::WRITE).unwrap();
    assert_eq!(events_set(&w, s), [FdEvents::WRITE], "room at registration");
    w.a.p.send(s, b"x", MsgFlags::empty(), None).unwrap();
    w.settle();
    assert_eq!(
        events_set(&w, s).len(),
        1,
        "a send that went re-arms nothing"
    );
    w.fill(s);
    // The peer reads nothing: send until a send would block, and let the
    // network settle; no room comes back, so nothing is signalled.
    while w.a.p.send(s, &[1; 4096], MsgFlags::empty(), None).is_ok() {}
    w.settle();
    assert_eq!(
        w.a.p.send(s, b"more", MsgFlags::empty(), None),
        Err(WsaError::WouldBlock)
    );
    w.settle();
    let before = events_set(&w, s).len();
    w.net.set_read_rate(svc, None);
    w.settle();
    assert_eq!(
        events_set(&w, s).len(),
        before + 1,
        "room came back after WSAEWOULDBLOCK: FD_WRITE again, once"
    );
    w.a.p.send(s, b"x", MsgFlags::empty(), None).unwrap();
    w.settle();
    assert_eq!(
        events_set(&w, s).len(),
        before + 1,
        "a send that went re-arms nothing"
    );
}

/// Spec §12 ([W]): selecting FD_READ|FD_WRITE again records FD_WRITE only
/// the first time in event mode (the case, on a connected stream and
/// on a bound datagram socket); message mode posts it again.
#[test]
fn spec12_reselecting_records_fd_write_once_in_event_mode_and_posts_it_again_in_message_mode() {
    let w = World::new(1204);
    let (s, _t) = w.pair();
    let d =
        w.a.p
            .socket(
                winsock_provider::AddressFamily::Inet,
                winsock_provider::SocketKind::Datagram,
                winsock_provider::SocketFlags::OVERLAPPED,
            )
            .unwrap();
    w.a.p.bind(d, SocketAddr::from((w.a.ip, 0))).unwrap();
    for h in [s, d] {
        for _ in 0..3 {
            w.a.p
                .event_select(h, EventKey(4), FdEvents::READ | FdEvents::WRITE)
                .unwrap();
        }
        assert_eq!(
            events_set(&w, h),
            [FdEvents::WRITE],
            "FD_WRITE the first time only"
        );
    }
    for _ in 0..2 {
        w.a.p
            .async_select(s, WindowKey(1), 0x401, FdEvents::READ | FdEvents::WRITE)
            .unwrap();
    }
    assert_eq!(
        posted(&w, s),
        [FdEvents::WRITE; 2],
        "message mode posts again"
    );
}

/// Spec §12: FD_CLOSE is signalled once.
#[test]
fn spec12_fd_close_is_signalled_once() {
    let w = World::new(1205);
    let (s, t) = w.pair();
    w.a.p
        .event_select(s, EventKey(5), FdEvents::CLOSE | FdEvents::READ)
        .unwrap();
    w.b.p.close_socket(t).unwrap();
    w.settle();
    let closes = |w: &World| {
        events_set(w, s)
            .iter()
            .filter(|e| e.contains(FdEvents::CLOSE))
            .count()
    };
    assert_eq!(closes(&w), 1);
    let _ = w.a.p.recv(s, 10, MsgFlags::empty(), None);
    w.a.p.event_select(s, EventKey(5), FdEvents::CLOSE).unwrap();
    w.settle();
    assert_eq!(closes(&w), 1, "not again: FD_CLOSE has no re-enabling call");
}

/// Spec §12, the case: a socket registered for FD_CONNECT|FD_WRITE
/// that connects records FD_CONNECT (error 0) and FD_WRITE.
#[test]
fn spec12_a_connect_records_fd_connect_and_fd_write() {
    let w = World::new(1206);
    let (_, t) = w.pair();
    let port = w.b.p.local_addr(t).unwrap().port();
    let _ = port;
    let l = w.b.stream();
    let at = w.b.p.bind(l, SocketAddr::from((w.b.ip, 0))).unwrap();
    w.b.p.listen(l, 2).unwrap();
    let s = w.a.stream();
    w.a.p
        .event_select(s, EventKey(6), FdEvents::CONNECT | FdEvents::WRITE)
        .unwrap();
    assert_eq!(w.a.p.connect(s, at), Err(WsaError::WouldBlock));
    w.settle();
    let rec = w.a.p.enum_network_events(s).unwrap();
    assert_eq!(rec.events, FdEvents::CONNECT | FdEvents::WRITE);
    assert_eq!(rec.errors[4], None, "FD_CONNECT_BIT: error 0");
}

/// Spec §12 ([W]): a connect that ended before any registration took
/// FD_CONNECT is recorded by a later event-select registration (with
/// FD_WRITE); an async-select one posts FD_WRITE only.
#[test]
fn spec12_selecting_after_the_connect_ended_records_it_in_event_mode_only() {
    let w = World::new(1207);
    let (s, _) = w.pair();
    let (u, _) = w.pair();
    w.a.p
        .event_select(s, EventKey(7), FdEvents::CONNECT | FdEvents::WRITE)
        .unwrap();
    assert_eq!(
        events_set(&w, s).concat_all(),
        FdEvents::CONNECT | FdEvents::WRITE
    );
    w.a.p
        .async_select(u, WindowKey(2), 0x402, FdEvents::CONNECT | FdEvents::WRITE)
        .unwrap();
    assert_eq!(posted(&w, u), [FdEvents::WRITE]);
}

/// Spec §12, level-triggered FD_ACCEPT in message mode: one message for
/// two waiting connections; accepting one posts again (another waits);
/// accepting the last, nothing.
#[test]
fn spec12_fd_accept_comes_again_while_connections_wait() {
    let w = World::new(1208);
    let l = w.a.stream();
    let at = w.a.p.bind(l, SocketAddr::from((w.a.ip, 0))).unwrap();
    w.a.p.listen(l, 4).unwrap();
    w.a.p
        .async_select(l, WindowKey(3), 0x403, FdEvents::ACCEPT)
        .unwrap();
    for _ in 0..2 {
        let c = w.b.stream();
        let _ = w.b.p.set_nonblocking(c, true);
        let _ = w.b.p.connect(c, at);
        w.settle();
    }
    assert_eq!(posted(&w, l), [FdEvents::ACCEPT]);
    w.a.p.accept(l).unwrap();
    assert_eq!(posted(&w, l), [FdEvents::ACCEPT; 2], "another waits");
    w.a.p.accept(l).unwrap();
    assert_eq!(posted(&w, l).len(), 2, "none waits");
    assert_eq!(w.a.p.accept(l), Err(WsaError::WouldBlock));
    assert_eq!(
        posted(&w, l).len(),
        2,
        "a failed accept re-enables; nothing holds"
    );
}

/// Spec §12, the case: an accepted socket has its listener's
/// properties: SO_LINGER {1, 555} (it read {0, 0}), the blocking mode, the
/// receive timeout, and the event selection (FD_WRITE recorded on the
/// listener's event at once).
#[test]
fn spec12_an_accepted_socket_inherits_its_listeners_options_and_selection() {
    let w = World::new(1209);
    let l = w.a.stream();
    let at = w.a.p.bind(l, SocketAddr::from((w.a.ip, 0))).unwrap();
    w.a.p.listen(l, 2).unwrap();
    let mut linger = [0u8; 4];
    linger[..2].copy_from_slice(&1u16.to_ne_bytes());
    linger[2..].copy_from_slice(&555u16.to_ne_bytes());
    w.a.p.set_option(l, SOL_SOCKET, SO_LINGER, &linger).unwrap();
    w.a.p
        .set_option(l, SOL_SOCKET, SO_RCVTIMEO, &250i32.to_ne_bytes())
        .unwrap();
    w.a.p
        .event_select(
            l,
            EventKey(8),
            FdEvents::ACCEPT | FdEvents::WRITE | FdEvents::READ,
        )
        .unwrap();
    let c = w.b.stream();
    let _ = w.b.p.set_nonblocking(c, true);
    let _ = w.b.p.connect(c, at);
    w.settle();
    let (n, _) = w.a.p.accept(l).unwrap();
    assert_eq!(w.a.p.option(n, SOL_SOCKET, SO_LINGER, 4).unwrap(), linger);
    assert_eq!(
        w.a.p.option(n, SOL_SOCKET, SO_RCVTIMEO, 4).unwrap(),
        250i32.to_ne_bytes()
    );
    assert_eq!(
        w.a.p.is_nonblocking(n),
        Ok(true),
        "the listener's selection made it non-blocking"
    );
    let on_n: Vec<_> =
        w.a.notes
            .network_events()
            .into_iter()
            .filter(|e| e.socket == n)
            .collect();
    assert_eq!(on_n.len(), 1);
    assert_eq!(
        (on_n[0].event, on_n[0].events),
        (EventKey(8), FdEvents::WRITE)
    );
    w.b.p.send(c, b"hi", MsgFlags::empty(), None).unwrap();
    w.settle();
    assert_eq!(
        w.a.p.enum_network_events(n).unwrap().events,
        FdEvents::WRITE | FdEvents::READ
    );
}

/// `events_set` folded into one mask.
trait ConcatAll {
    fn concat_all(&self) -> FdEvents;
}

impl ConcatAll for Vec<FdEvents> {
    fn concat_all(&self) -> FdEvents {
        self.iter().fold(FdEvents::empty(), |a, &e| a | e)
    }
}

/// Spec §12: a registration made after the connection ended records
/// `FD_CLOSE` with the error it ended with: `WSAECONNRESET` after a reset,
/// none after a graceful close.
#[test]
fn spec12_a_late_registration_records_fd_close_with_the_reset_error() {
    let w = World::new(1209);
    let (s, t) = w.pair();
    assert!(
        w.net.reset_socket(w.b.p.transport(), t),
        "a live connection"
    );
    w.settle();
    w.a.p.event_select(s, EventKey(9), FdEvents::CLOSE).unwrap();
    let record = w.a.p.enum_network_events(s).unwrap();
    assert_eq!(record.events, FdEvents::CLOSE);
    let close = FdEvents::CLOSE.bit_index().unwrap();
    assert_eq!(record.errors[close], Some(WsaError::ConnectionReset));

    let (s2, t2) = w.pair();
    w.b.p.close_socket(t2).unwrap();
    w.settle();
    w.a.p
        .event_select(s2, EventKey(10), FdEvents::CLOSE)
        .unwrap();
    let record = w.a.p.enum_network_events(s2).unwrap();
    assert_eq!(record.events, FdEvents::CLOSE);
    assert_eq!(record.errors[close], None, "a graceful close");
}
