//! Spec §16: a datagram larger than the receive buffer, on a protocol
//! without `XP1_PARTIAL_MESSAGE`, fails `WSAEMSGSIZE`: the buffer holds its
//! first part, the rest is dropped; an overlapped receive reports the same
//! through its completion and record. With partial messages offered, the
//! part comes with `MSG_PARTIAL` instead.

mod common;

use common::{World, ov};
use std::net::SocketAddr;
use winsock_provider::{
    AddressFamily, CompletionMode, EventKey, MsgFlags, OpState, ProtocolInfo, ServiceFlags,
    SocketFlags, SocketHandle, SocketKind, WsaError,
};

fn datagram(w: &World, flags: SocketFlags) -> (SocketHandle, SocketAddr) {
    let d =
        w.a.p
            .socket(AddressFamily::Inet, SocketKind::Datagram, flags)
            .unwrap();
    let at = w.a.p.bind(d, SocketAddr::from((w.a.ip, 0))).unwrap();
    (d, at)
}

fn send_from_b(w: &World, to: SocketAddr, data: &[u8]) {
    let u =
        w.b.p
            .socket(
                AddressFamily::Inet,
                SocketKind::Datagram,
                SocketFlags::empty(),
            )
            .unwrap();
    w.b.p.send_to(u, data, to, MsgFlags::empty(), None).unwrap();
    w.settle();
}

/// The case: 100 bytes into a 10-byte buffer is WSAEMSGSIZE (it
/// gave 10 bytes and MSG_PARTIAL); the 10 bytes are the caller's; the rest
/// is gone (the next datagram comes whole).
#[test]
fn spec16_a_datagram_bigger_than_the_buffer_is_wsaemsgsize_and_its_tail_is_dropped() {
    let w = World::new(1601);
    let (d, at) = datagram(&w, SocketFlags::empty());
    let big: Vec<u8> = (0..100u8).collect();
    send_from_b(&w, at, &big);
    send_from_b(&w, at, b"next");
    assert_eq!(
        w.a.p.recv(d, 10, MsgFlags::empty(), None),
        Err(WsaError::MessageSize)
    );
    let (part, error) =
        w.a.p
            .recv_truncated(d, 10, MsgFlags::empty(), None)
            .unwrap();
    assert_eq!(
        (part.data, error),
        (b"next".to_vec(), None),
        "the tail was dropped"
    );
    send_from_b(&w, at, &big);
    let (part, error) =
        w.a.p
            .recv_truncated(d, 10, MsgFlags::empty(), None)
            .unwrap();
    assert_eq!(part.data, &big[..10]);
    assert_eq!(error, Some(WsaError::MessageSize));
    assert!(!part.flags.contains(MsgFlags::PARTIAL));
}

/// Spec §16: an overlapped receive reports WSAEMSGSIZE with the bytes that
/// fit through its completion and its record, whether it pended or
/// finished at once (then the call itself succeeded, S9).
#[test]
fn spec16_an_overlapped_receive_reports_wsaemsgsize_with_the_count() {
    let w = World::new(1602);
    let (d, at) = datagram(&w, SocketFlags::OVERLAPPED);
    let pending = ov(CompletionMode::Event(EventKey(1)));
    assert_eq!(
        w.a.p
            .recv(d, 10, MsgFlags::empty(), Some(pending.clone()))
            .map(|_| ()),
        Err(WsaError::IoPending)
    );
    send_from_b(&w, at, &[7; 50]);
    assert_eq!(pending.overlapped.state(), OpState::Delivered);
    let outcome = pending.overlapped.outcome().unwrap();
    assert_eq!(
        (outcome.error, outcome.bytes),
        (Some(WsaError::MessageSize), 10)
    );
    assert_eq!(pending.overlapped.data(), [7; 10]);
    let told: Vec<_> =
        w.a.notes
            .delivered_notifications()
            .into_iter()
            .filter(|n| n.op == pending.overlapped.op().unwrap())
            .collect();
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].outcome.error, Some(WsaError::MessageSize));

    send_from_b(&w, at, &[8; 50]);
    let at_once = ov(CompletionMode::Event(EventKey(2)));
    let r =
        w.a.p
            .recv(d, 10, MsgFlags::empty(), Some(at_once.clone()))
            .unwrap();
    assert_eq!(r.data, [8; 10], "finished at once: the call succeeds (S9)");
    let outcome = at_once.overlapped.outcome().unwrap();
    assert_eq!(
        (outcome.error, outcome.bytes),
        (Some(WsaError::MessageSize), 10)
    );
    assert_eq!(
        w.a.p
            .get_overlapped_result(d, &at_once.overlapped, false)
            .map(|_| ()),
        Err(WsaError::MessageSize)
    );
}

/// Spec §16: a protocol that offers partial messages gives the part with
/// MSG_PARTIAL and no error; a stream is never truncated.
#[test]
fn spec16_with_partial_messages_offered_the_part_comes_with_msg_partial() {
    let w = World::new(1603);
    let mut info = ProtocolInfo::base(1002, AddressFamily::Inet, SocketKind::Datagram);
    info.service_flags |= ServiceFlags::PARTIAL_MESSAGE;
    let notes = w.a.notes.clone();
    w.a.p.cleanup().unwrap();
    w.a.p
        .startup_for(
            winsock_provider::Version::new(2, 2),
            &info,
            std::sync::Arc::new(notes),
        )
        .unwrap();
    let (d, at) = datagram(&w, SocketFlags::empty());
    send_from_b(&w, at, &[9; 30]);
    let r = w.a.p.recv(d, 10, MsgFlags::empty(), None).unwrap();
    assert_eq!(r.data, [9; 10]);
    assert!(r.flags.contains(MsgFlags::PARTIAL));

    let (s, t) = w.pair();
    w.b.p.send(t, &[1; 30], MsgFlags::empty(), None).unwrap();
    w.settle();
    let (r, error) =
        w.a.p
            .recv_truncated(s, 10, MsgFlags::empty(), None)
            .unwrap();
    assert_eq!(
        (r.data.len(), error),
        (10, None),
        "a stream's receive takes what fits"
    );
}
