//! `WSPDuplicateSocket` and the `WSPSocket` that claims the duplicate
//! (spec §14, the item 7): a second handle to the same socket, in
//! another process on the same node (the mock's processes share its
//! network) or in the same one. The socket outlives the original handle
//! and ends with the last; a close aborts only what was posted through its
//! own handle (S7); a process's final cleanup resets only its own handles
//! (S6).

mod common;

use common::{Proc, World};
use winsock_provider::{
    CompletionMode, EventKey, MsgFlags, OpState, OverlappedRequest, SocketFlags, SocketHandle,
    WsaError,
};

/// What a non-blocking receive on `t` (on `b`) gives now: the bytes, an
/// empty vector at the end of the stream, or the error.
fn recv_now(w: &World, t: SocketHandle) -> Result<Vec<u8>, WsaError> {
    w.settle();
    w.b.p.set_nonblocking(t, true).unwrap();
    w.b.p.recv(t, 1024, MsgFlags::empty(), None).map(|r| r.data)
}

/// A connection `s` (on `a`) to `t` (on `b`), duplicated to a sibling
/// process of `a` where it is `s2`.
fn duplicated_to_a_sibling(seed: u64) -> (World, Proc, SocketHandle, SocketHandle, SocketHandle) {
    let mut w = World::new(seed);
    let a2 = w.add_sibling("a2");
    let (s, t) = w.pair();
    let dup = w.a.p.duplicate_socket(s, 2).unwrap();
    let s2 =
        a2.p.socket_from_duplicate(dup.token, SocketFlags::OVERLAPPED)
            .unwrap();
    (w, a2, s, t, s2)
}

/// Spec §14: a duplicate claimed by another process on the node outlives
/// the original: after the original's graceful close the peer sees no end,
/// bytes go both ways through the duplicate, and the end comes with the
/// duplicate's close. A token is single use.
#[test]
fn spec14_a_duplicate_in_another_process_outlives_the_original() {
    let mut w = World::new(1501);
    let a2 = w.add_sibling("a2");
    let (s, t) = w.pair();
    let dup = w.a.p.duplicate_socket(s, 2).unwrap();
    assert_ne!(dup.token, 0);
    assert_eq!(dup.info.socket_type, 1, "SOCK_STREAM");
    let s2 =
        a2.p.socket_from_duplicate(dup.token, SocketFlags::OVERLAPPED)
            .unwrap();
    assert_eq!(
        a2.p.socket_from_duplicate(dup.token, SocketFlags::OVERLAPPED),
        Err(WsaError::InvalidArgument),
        "single use"
    );
    assert_eq!(
        a2.p.peer_addr(s2),
        w.a.p.peer_addr(s),
        "the same connection"
    );
    w.a.p.close_socket(s).unwrap();
    assert_eq!(recv_now(&w, t), Err(WsaError::WouldBlock), "no end yet");
    a2.p.send(s2, b"still here", MsgFlags::empty(), None)
        .unwrap();
    assert_eq!(recv_now(&w, t).unwrap(), b"still here");
    w.b.p.send(t, b"back", MsgFlags::empty(), None).unwrap();
    w.settle();
    a2.p.set_nonblocking(s2, true).unwrap();
    assert_eq!(
        a2.p.recv(s2, 64, MsgFlags::empty(), None).unwrap().data,
        b"back"
    );
    a2.p.close_socket(s2).unwrap();
    assert_eq!(
        recv_now(&w, t).unwrap(),
        b"",
        "the end, with the last handle"
    );
}

/// S6: a process's final cleanup resets its own handles only: while a
/// duplicate lives in another process the connection goes on; when that
/// process's final cleanup ends the last handle, the peer sees the reset.
#[test]
fn s6_the_final_cleanup_of_one_process_resets_only_its_own_handles() {
    let (w, a2, _, t, s2) = duplicated_to_a_sibling(1502);
    w.a.p.cleanup().unwrap();
    assert_eq!(recv_now(&w, t), Err(WsaError::WouldBlock), "not reset");
    a2.p.send(s2, b"alive", MsgFlags::empty(), None).unwrap();
    assert_eq!(recv_now(&w, t).unwrap(), b"alive");
    a2.p.cleanup().unwrap();
    assert_eq!(
        recv_now(&w, t),
        Err(WsaError::ConnectionReset),
        "the last handle: reset"
    );
}

/// S7: a close aborts what was posted through its own handle, told once,
/// and not what was posted through the other: that receive still gets the
/// next bytes.
#[test]
fn s7_a_close_aborts_only_the_operations_of_its_own_handle() {
    let (w, a2, s, t, s2) = duplicated_to_a_sibling(1503);
    let mine = OverlappedRequest::new(CompletionMode::Event(EventKey(1)));
    let theirs = OverlappedRequest::new(CompletionMode::Event(EventKey(2)));
    assert_eq!(
        w.a.p
            .recv(s, 64, MsgFlags::empty(), Some(mine.clone()))
            .map(|r| r.data),
        Err(WsaError::IoPending)
    );
    assert_eq!(
        a2.p.recv(s2, 64, MsgFlags::empty(), Some(theirs.clone()))
            .map(|r| r.data),
        Err(WsaError::IoPending)
    );
    w.a.p.close_socket(s).unwrap();
    assert_eq!(mine.overlapped.state(), OpState::AbortedNotified, "S7");
    assert_eq!(w.a.notes.delivered_for(mine.overlapped.op().unwrap()), 1);
    assert_eq!(
        theirs.overlapped.state(),
        OpState::Pending,
        "not the other handle's"
    );
    w.b.p.send(t, b"for a2", MsgFlags::empty(), None).unwrap();
    w.settle();
    assert_eq!(theirs.overlapped.state(), OpState::Delivered);
    assert_eq!(theirs.overlapped.data(), b"for a2");
    assert_eq!(a2.notes.delivered_for(theirs.overlapped.op().unwrap()), 1);
}

/// A duplicate not claimed yet keeps the socket: the original's close
/// sends no end, and the claim made later takes the connection over. A
/// process on another node cannot claim it; token 0 is no duplicate.
#[test]
fn spec14_an_unclaimed_duplicate_keeps_the_socket_and_only_the_node_can_claim_it() {
    let mut w = World::new(1504);
    let a2 = w.add_sibling("a2");
    let (s, t) = w.pair();
    let dup = w.a.p.duplicate_socket(s, 2).unwrap();
    w.a.p.close_socket(s).unwrap();
    assert_eq!(
        recv_now(&w, t),
        Err(WsaError::WouldBlock),
        "kept for the duplicate"
    );
    assert_eq!(
        w.b.p
            .socket_from_duplicate(dup.token, SocketFlags::OVERLAPPED),
        Err(WsaError::InvalidArgument),
        "another node"
    );
    assert_eq!(
        a2.p.socket_from_duplicate(0, SocketFlags::OVERLAPPED),
        Err(WsaError::InvalidArgument)
    );
    let s2 =
        a2.p.socket_from_duplicate(dup.token, SocketFlags::OVERLAPPED)
            .unwrap();
    a2.p.send(s2, b"taken over", MsgFlags::empty(), None)
        .unwrap();
    assert_eq!(recv_now(&w, t).unwrap(), b"taken over");
}

/// The same process may claim its own duplicate (as Windows allows): two
/// handles in one table, the socket ending with the second close.
#[test]
fn spec14_a_duplicate_in_the_same_process_is_a_second_handle() {
    let w = World::new(1505);
    let (s, t) = w.pair();
    let dup = w.a.p.duplicate_socket(s, 1).unwrap();
    let s2 =
        w.a.p
            .socket_from_duplicate(dup.token, SocketFlags::OVERLAPPED)
            .unwrap();
    assert_ne!(s, s2);
    assert_eq!(w.a.p.socket_count(), 2);
    w.a.p.close_socket(s).unwrap();
    assert_eq!(recv_now(&w, t), Err(WsaError::WouldBlock));
    w.a.p
        .send(s2, b"same process", MsgFlags::empty(), None)
        .unwrap();
    assert_eq!(recv_now(&w, t).unwrap(), b"same process");
    w.a.p.close_socket(s2).unwrap();
    assert_eq!(recv_now(&w, t).unwrap(), b"");
}
