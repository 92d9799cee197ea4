//! Network-event registrations: `WSPEventSelect`, `WSPAsyncSelect` and
//! `WSPEnumNetworkEvents` (spec §6), and how close (S7) and the gate (S4)
//! treat them.

mod common;

use common::World;
use winsock_provider::{EventKey, FdEvents, MsgFlags, WindowKey, WsaError};

/// Spec §6: an async-select registration posts the window message with the
/// socket, the event and its error; the record that WSPEnumNetworkEvents
/// reads is event select's alone (spec §12).
#[test]
fn async_select_posts_fd_read_with_the_socket_and_message() {
    let w = World::new(201);
    let (s, t) = w.pair();
    w.a.p
        .async_select(s, WindowKey(7), 0x401, FdEvents::READ)
        .unwrap();
    assert_eq!(
        w.a.p.is_nonblocking(s),
        Ok(true),
        "async select forces non-blocking"
    );
    w.b.p.send(t, b"hi", MsgFlags::empty(), None).unwrap();
    w.settle();
    let posted = w.a.notes.posted_messages();
    assert_eq!(posted.len(), 1);
    assert_eq!(
        (posted[0].socket, posted[0].window, posted[0].msg),
        (s, WindowKey(7), 0x401)
    );
    assert_eq!((posted[0].events, posted[0].error), (FdEvents::READ, None));
    assert!(
        w.a.notes.network_events().is_empty(),
        "no event object is set"
    );
    assert_eq!(
        w.a.p.enum_network_events(s).unwrap().events,
        FdEvents::empty(),
        "spec §12: only an event-select registration feeds the record"
    );
}

/// Spec §6: a new registration replaces the old one of either kind; empty
/// events cancel it.
#[test]
fn a_new_registration_replaces_the_old_one_and_empty_events_cancel() {
    let w = World::new(202);
    let (s, t) = w.pair();
    w.a.p.event_select(s, EventKey(3), FdEvents::READ).unwrap();
    w.a.p
        .async_select(s, WindowKey(8), 0x402, FdEvents::READ)
        .unwrap();
    w.b.p.send(t, b"1", MsgFlags::empty(), None).unwrap();
    w.settle();
    assert_eq!(
        (
            w.a.notes.network_events().len(),
            w.a.notes.posted_messages().len()
        ),
        (0, 1)
    );
    w.a.p
        .async_select(s, WindowKey(8), 0x402, FdEvents::empty())
        .unwrap();
    w.a.p.recv(s, 10, MsgFlags::empty(), None).unwrap();
    w.b.p.send(t, b"2", MsgFlags::empty(), None).unwrap();
    w.settle();
    assert_eq!(
        w.a.notes.posted_messages().len(),
        1,
        "cancelled: nothing more posted"
    );
}

/// S7, spec §3: no FD_CLOSE is posted after WSPCloseSocket.
#[test]
fn s7_no_fd_close_after_close_socket() {
    let w = World::new(203);
    let (s, t) = w.pair();
    w.a.p
        .async_select(s, WindowKey(9), 0x403, FdEvents::CLOSE)
        .unwrap();
    w.a.p.close_socket(s).unwrap();
    w.b.p.close_socket(t).unwrap();
    w.settle();
    assert!(w.a.notes.posted_messages().is_empty());
}

/// Spec §6: FD_CLOSE after an abortive close by the peer carries WSAECONNRESET.
#[test]
fn fd_close_carries_the_reset_error() {
    let w = World::new(204);
    let (s, t) = w.pair();
    w.a.p.event_select(s, EventKey(4), FdEvents::CLOSE).unwrap();
    w.b.p
        .set_linger(
            t,
            winsock_provider::Linger {
                on: true,
                seconds: 0,
            },
        )
        .unwrap();
    w.b.p.close_socket(t).unwrap();
    w.settle();
    let ev = w.a.notes.network_events();
    assert_eq!(ev.len(), 1);
    assert_eq!(
        (ev[0].events, ev[0].error),
        (FdEvents::CLOSE, Some(WsaError::ConnectionReset))
    );
    let rec = w.a.p.enum_network_events(s).unwrap();
    assert_eq!(
        rec.errors[FdEvents::CLOSE.bit_index().unwrap()],
        Some(WsaError::ConnectionReset)
    );
}

/// S4: registrations need a started provider like every other call.
#[test]
fn s4_async_select_before_startup_is_wsanotinitialised() {
    let w = World::new(205);
    let (s, _) = w.pair();
    w.a.p.cleanup().unwrap();
    assert_eq!(
        w.a.p.async_select(s, WindowKey(1), 1, FdEvents::READ),
        Err(WsaError::NotInitialised)
    );
}

/// Spec §6: a registration made after data arrived records FD_READ at once
/// and sets the event, as `WSAEventSelect` does; so does room to send.
#[test]
fn registration_records_what_already_holds() {
    let w = World::new(206);
    let (s, t) = w.pair();
    w.b.p.send(t, b"early", MsgFlags::empty(), None).unwrap();
    w.settle();
    w.a.p
        .event_select(s, EventKey(5), FdEvents::READ | FdEvents::WRITE)
        .unwrap();
    let ev = w.a.notes.network_events();
    assert_eq!(ev.len(), 1, "signalled at registration");
    assert_eq!(ev[0].events, FdEvents::READ | FdEvents::WRITE);
    let rec = w.a.p.enum_network_events(s).unwrap();
    assert_eq!(rec.events, FdEvents::READ | FdEvents::WRITE);
}

/// Spec §6: an accepted socket registered after its data arrived does not
/// miss the data's FD_READ.
#[test]
fn accepted_socket_registered_late_sees_waiting_data() {
    let w = World::new(207);
    let (a, b) = w.pair();
    w.a.p
        .send(
            a,
            b"before the accept was registered",
            MsgFlags::empty(),
            None,
        )
        .unwrap();
    w.settle();
    w.b.p.event_select(b, EventKey(6), FdEvents::READ).unwrap();
    let ev = w.b.notes.network_events();
    assert_eq!((ev.len(), ev[0].events), (1, FdEvents::READ));
}

/// Spec §6: a listener registered for FD_ACCEPT with a connection waiting is
/// signalled at once.
#[test]
fn listener_with_a_waiting_connection_records_fd_accept() {
    let w = World::new(208);
    let l = w.b.stream();
    let port =
        w.b.p
            .bind(l, std::net::SocketAddr::from((w.b.ip, 0)))
            .unwrap()
            .port();
    w.b.p.listen(l, 2).unwrap();
    let s = w.a.stream();
    w.a.p
        .connect(s, std::net::SocketAddr::from((w.b.ip, port)))
        .unwrap();
    w.settle();
    w.b.p
        .event_select(l, EventKey(7), FdEvents::ACCEPT)
        .unwrap();
    let ev = w.b.notes.network_events();
    assert_eq!((ev.len(), ev[0].events), (1, FdEvents::ACCEPT));
}
