//! Spec §16: `MSG_PEEK` on an overlapped receive is accepted (Windows
//! does; libuv posts a zero-byte overlapped peek for every UDP read,
//! though the WSARecv page calls it invalid): on a stream it returns the
//! waiting bytes and leaves them; on a datagram socket a zero-byte peek
//! pends until a datagram arrives, completes once, and the datagram stays
//! queued.

mod common;

use common::{World, ov};
use std::net::SocketAddr;
use winsock_provider::{
    AddressFamily, CompletionMode, EventKey, MsgFlags, OpState, SocketFlags, SocketKind, WsaError,
};

/// Stream: an overlapped peek returns the waiting bytes and leaves them
/// for the next receive.
#[test]
fn spec16_an_overlapped_peek_on_a_stream_leaves_the_bytes() {
    let w = World::new(1611);
    let (s, t) = w.pair();
    w.b.p.send(t, b"peek me", MsgFlags::empty(), None).unwrap();
    w.settle();
    let peek = ov(CompletionMode::Event(EventKey(1)));
    let r =
        w.a.p
            .recv(s, 100, MsgFlags::PEEK, Some(peek.clone()))
            .unwrap();
    assert_eq!(r.data, b"peek me", "finished at once");
    assert_eq!(peek.overlapped.state(), OpState::Delivered);
    assert_eq!(
        w.a.p.recv(s, 100, MsgFlags::empty(), None).unwrap().data,
        b"peek me"
    );
}

/// Datagram: a zero-byte overlapped peek pends until a datagram arrives,
/// completes once (WSAEMSGSIZE: the datagram does not fit in no bytes,
/// which libuv reads as "a datagram is ready"), and the datagram stays
/// queued for the receive that follows, whole.
#[test]
fn spec16_a_zero_byte_overlapped_peek_waits_for_a_datagram_and_leaves_it() {
    let w = World::new(1612);
    let d =
        w.a.p
            .socket(
                AddressFamily::Inet,
                SocketKind::Datagram,
                SocketFlags::OVERLAPPED,
            )
            .unwrap();
    let at = w.a.p.bind(d, SocketAddr::from((w.a.ip, 0))).unwrap();
    let peek = ov(CompletionMode::Event(EventKey(2)));
    assert_eq!(
        w.a.p
            .recv(d, 0, MsgFlags::PEEK, Some(peek.clone()))
            .map(|_| ()),
        Err(WsaError::IoPending)
    );
    let u =
        w.b.p
            .socket(
                AddressFamily::Inet,
                SocketKind::Datagram,
                SocketFlags::empty(),
            )
            .unwrap();
    w.b.p
        .send_to(u, b"ready", at, MsgFlags::empty(), None)
        .unwrap();
    w.settle();
    assert_eq!(peek.overlapped.state(), OpState::Delivered);
    let op = peek.overlapped.op().unwrap();
    assert_eq!(w.a.notes.delivered_for(op), 1, "completes once");
    let outcome = peek.overlapped.outcome().unwrap();
    assert_eq!(
        (outcome.error, outcome.bytes),
        (Some(WsaError::MessageSize), 0)
    );
    let r = w.a.p.recv(d, 100, MsgFlags::empty(), None).unwrap();
    assert_eq!(r.data, b"ready", "the datagram stayed queued");
    assert_eq!(r.from, w.b.p.local_addr(u).ok());
}
