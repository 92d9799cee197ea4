//! `WSPShutdown`.
//!
//! Rules covered (see `winsock_provider::manual::rules`):
//! - S8: `SD_RECEIVE` 0, `SD_SEND` 1, `SD_BOTH` 2, another value `WSAEINVAL`;
//!   a stream socket not connected is `WSAENOTCONN`; later sends or receives
//!   in a shut direction are `WSAESHUTDOWN`; shutdown never blocks (whatever
//!   `SO_LINGER` says) and frees nothing: the handle still works for the other
//!   direction and must still be closed; after `SD_SEND` the peer reads all
//!   the data and then end of stream; pending operations are not aborted.
//! - S9 (where it meets S8): a send refused with `WSAESHUTDOWN` is never notified.

mod common;

use common::{APP, World, ov};
use std::net::SocketAddr;
use std::time::Duration;
use winsock_provider::OpState;
use winsock_provider::{
    AddressFamily, CleanupOutcome, CompletionMode, EventKey, Linger, MsgFlags, OverlappedRequest,
    ShutdownHow, SocketFlags, SocketHandle, SocketKind, Transport as _, WsaError,
};

const SD_RECEIVE: i32 = 0;
const SD_SEND: i32 = 1;
const SD_BOTH: i32 = 2;

fn event(n: u64) -> OverlappedRequest {
    ov(CompletionMode::Event(EventKey(n)))
}

/// Reads `t` on b (non-blocking) until end of stream; panics if the stream
/// stops without one.
fn read_to_eof(w: &World, t: SocketHandle) -> Vec<u8> {
    w.b.p.set_nonblocking(t, true).unwrap();
    let mut out = Vec::new();
    loop {
        match w.b.p.recv(t, 65536, MsgFlags::empty(), None) {
            Ok(r) if r.data.is_empty() => return out,
            Ok(r) => out.extend_from_slice(&r.data),
            Err(WsaError::WouldBlock) => {
                assert!(
                    w.settle() > 0 || !w.net.is_idle(),
                    "no end of stream after {} bytes",
                    out.len()
                );
            }
            Err(e) => panic!("read failed after {} bytes: {e:?}", out.len()),
        }
    }
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// S8: the how values are SD_RECEIVE 0, SD_SEND 1 and SD_BOTH 2, and each shuts exactly its directions.
#[test]
fn s8_how_values_are_0_receive_1_send_2_both() {
    assert_eq!(ShutdownHow::from_raw(0), Ok(ShutdownHow::Receive));
    assert_eq!(ShutdownHow::from_raw(1), Ok(ShutdownHow::Send));
    assert_eq!(ShutdownHow::from_raw(2), Ok(ShutdownHow::Both));
    let dirs = |h: ShutdownHow| (h.sends(), h.receives());
    assert_eq!(dirs(ShutdownHow::Receive), (false, true));
    assert_eq!(dirs(ShutdownHow::Send), (true, false));
    assert_eq!(dirs(ShutdownHow::Both), (true, true));

    let w = World::new(4101);
    for (how, send_shut, recv_shut) in [
        (SD_RECEIVE, false, true),
        (SD_SEND, true, false),
        (SD_BOTH, true, true),
    ] {
        let (s, t) = w.pair();
        assert_eq!(w.a.p.shutdown(s, how), Ok(()));
        let sent = w.a.p.send(s, b"out", MsgFlags::empty(), None);
        assert_eq!(
            sent.err() == Some(WsaError::Shutdown),
            send_shut,
            "how {how}: send gave {sent:?}"
        );
        w.b.p.send(t, b"in", MsgFlags::empty(), None).unwrap();
        w.settle();
        w.a.p.set_nonblocking(s, true).unwrap();
        let got = w.a.p.recv(s, 10, MsgFlags::empty(), None);
        if recv_shut {
            assert_eq!(got.err(), Some(WsaError::Shutdown), "how {how}");
        } else {
            assert_eq!(got.map(|r| r.data), Ok(b"in".to_vec()), "how {how}");
        }
    }
}

/// S8: a how value other than 0, 1 and 2 is WSAEINVAL, on either end of a connection and on datagram sockets.
#[test]
fn s8_another_how_value_is_wsaeinval() {
    let w = World::new(4102);
    let (s, t) = w.pair();
    let d =
        w.a.p
            .socket(
                AddressFamily::Inet,
                SocketKind::Datagram,
                SocketFlags::empty(),
            )
            .unwrap();
    for how in [3, -1, 42, i32::MAX, i32::MIN] {
        assert_eq!(ShutdownHow::from_raw(how), Err(WsaError::InvalidArgument));
        assert_eq!(w.a.p.shutdown(s, how), Err(WsaError::InvalidArgument));
        assert_eq!(w.b.p.shutdown(t, how), Err(WsaError::InvalidArgument));
        assert_eq!(w.a.p.shutdown(d, how), Err(WsaError::InvalidArgument));
    }
    // Nothing was shut.
    assert_eq!(w.a.p.send(s, b"a", MsgFlags::empty(), None), Ok(1));
    assert_eq!(w.b.p.send(t, b"b", MsgFlags::empty(), None), Ok(1));
    w.settle();
    assert_eq!(
        w.b.p.recv(t, 10, MsgFlags::empty(), None).map(|r| r.data),
        Ok(b"a".to_vec())
    );
    assert_eq!(
        w.a.p.recv(s, 10, MsgFlags::empty(), None).map(|r| r.data),
        Ok(b"b".to_vec())
    );
}

/// S8: shutdown of a stream socket that is not connected (new, bound or listening) is WSAENOTCONN and changes nothing; datagram sockets need no connection.
#[test]
fn s8_unconnected_stream_is_wsaenotconn() {
    let w = World::new(4103);
    let fresh = w.a.stream();
    let bound = w.a.stream();
    w.a.p.bind(bound, SocketAddr::from((w.a.ip, 0))).unwrap();
    let listener = w.a.stream();
    let at = w.a.p.bind(listener, SocketAddr::from((w.a.ip, 0))).unwrap();
    w.a.p.listen(listener, 2).unwrap();
    for h in [fresh, bound, listener] {
        for how in [SD_RECEIVE, SD_SEND, SD_BOTH] {
            assert_eq!(
                w.a.p.shutdown(h, how),
                Err(WsaError::NotConnected),
                "{h} how {how}"
            );
        }
    }
    // Nothing was shut: the new socket connects and carries data both ways.
    let l = w.b.stream();
    let port = w.b.p.bind(l, SocketAddr::from((w.b.ip, 0))).unwrap().port();
    w.b.p.listen(l, 1).unwrap();
    w.a.p
        .connect(fresh, SocketAddr::from((w.b.ip, port)))
        .unwrap();
    let (t, _) = w.b.p.accept(l).unwrap();
    assert_eq!(w.a.p.send(fresh, b"ok", MsgFlags::empty(), None), Ok(2));
    assert_eq!(w.b.p.send(t, b"ko", MsgFlags::empty(), None), Ok(2));
    w.settle();
    assert_eq!(
        w.b.p.recv(t, 10, MsgFlags::empty(), None).map(|r| r.data),
        Ok(b"ok".to_vec())
    );
    assert_eq!(
        w.a.p
            .recv(fresh, 10, MsgFlags::empty(), None)
            .map(|r| r.data),
        Ok(b"ko".to_vec())
    );
    // The listener still accepts.
    let c = w.b.stream();
    w.b.p.connect(c, at).unwrap();
    assert!(w.a.p.accept(listener).is_ok());
    // Once connected, the same socket can be shut down.
    assert_eq!(w.a.p.shutdown(fresh, SD_SEND), Ok(()));
    // A datagram socket is not connection-oriented: no WSAENOTCONN.
    let d =
        w.a.p
            .socket(
                AddressFamily::Inet,
                SocketKind::Datagram,
                SocketFlags::empty(),
            )
            .unwrap();
    assert_eq!(w.a.p.shutdown(d, SD_SEND), Ok(()));
    let to = SocketAddr::from((w.b.ip, 9));
    assert_eq!(
        w.a.p.send_to(d, b"x", to, MsgFlags::empty(), None),
        Err(WsaError::Shutdown)
    );
}

/// S8, S9: after SD_SEND every send (plain, to, overlapped, non-blocking) is WSAESHUTDOWN, nothing is notified, receiving still works.
#[test]
fn s8_send_after_sd_send_is_wsaeshutdown() {
    let w = World::new(4104);
    let (s, t) = w.pair();
    assert_eq!(w.a.p.shutdown(s, SD_SEND), Ok(()));
    let to = SocketAddr::from((w.b.ip, 1));
    let req = event(1);
    let rec = req.overlapped.clone();
    assert_eq!(
        w.a.p.send(s, b"x", MsgFlags::empty(), None),
        Err(WsaError::Shutdown)
    );
    assert_eq!(
        w.a.p.send_to(s, b"x", to, MsgFlags::empty(), None),
        Err(WsaError::Shutdown)
    );
    assert_eq!(
        w.a.p.send(s, b"x", MsgFlags::empty(), Some(req)),
        Err(WsaError::Shutdown)
    );
    assert_eq!(
        w.a.p.send(s, b"x", MsgFlags::OOB, None),
        Err(WsaError::Shutdown)
    );
    assert_eq!(
        rec.state(),
        OpState::Idle,
        "a refused overlapped send starts nothing"
    );
    w.a.p.set_nonblocking(s, true).unwrap();
    assert_eq!(
        w.a.p.send(s, b"x", MsgFlags::empty(), None),
        Err(WsaError::Shutdown)
    );
    // Shutting again is harmless and still refuses sends.
    assert_eq!(w.a.p.shutdown(s, SD_SEND), Ok(()));
    assert_eq!(
        w.a.p.send(s, b"x", MsgFlags::empty(), None),
        Err(WsaError::Shutdown)
    );
    w.settle();
    assert!(w.a.notes.delivered().is_empty());
    // Receiving still works, and the peer got nothing but the end of stream.
    w.b.p.send(t, b"back", MsgFlags::empty(), None).unwrap();
    w.settle();
    assert_eq!(
        w.a.p.recv(s, 10, MsgFlags::empty(), None).map(|r| r.data),
        Ok(b"back".to_vec())
    );
    assert_eq!(read_to_eof(&w, t), b"");
}

/// S8: after SD_RECEIVE every receive is WSAESHUTDOWN, data the peer sends is not delivered, sending still works.
#[test]
fn s8_recv_after_sd_receive_is_wsaeshutdown() {
    let w = World::new(4105);
    let (s, t) = w.pair();
    assert_eq!(w.a.p.shutdown(s, SD_RECEIVE), Ok(()));
    w.b.p.send(t, b"ignored", MsgFlags::empty(), None).unwrap();
    w.settle();
    let req = event(1);
    let rec = req.overlapped.clone();
    assert_eq!(
        w.a.p.recv(s, 10, MsgFlags::empty(), None).err(),
        Some(WsaError::Shutdown)
    );
    assert_eq!(
        w.a.p.recv(s, 10, MsgFlags::PEEK, None).err(),
        Some(WsaError::Shutdown)
    );
    assert_eq!(
        w.a.p.recv_from(s, 10, MsgFlags::empty(), None).err(),
        Some(WsaError::Shutdown)
    );
    assert_eq!(
        w.a.p.recv(s, 10, MsgFlags::empty(), Some(req)).err(),
        Some(WsaError::Shutdown)
    );
    assert_eq!(rec.state(), OpState::Idle);
    assert!(w.a.notes.delivered().is_empty());
    // Sending still works.
    assert_eq!(w.a.p.send(s, b"still", MsgFlags::empty(), None), Ok(5));
    w.settle();
    assert_eq!(
        w.b.p.recv(t, 10, MsgFlags::empty(), None).map(|r| r.data),
        Ok(b"still".to_vec())
    );
    // Datagram sockets too.
    let d =
        w.a.p
            .socket(
                AddressFamily::Inet,
                SocketKind::Datagram,
                SocketFlags::empty(),
            )
            .unwrap();
    let at = w.a.p.bind(d, SocketAddr::from((w.a.ip, 0))).unwrap();
    assert_eq!(w.a.p.shutdown(d, SD_RECEIVE), Ok(()));
    let peer =
        w.b.p
            .socket(
                AddressFamily::Inet,
                SocketKind::Datagram,
                SocketFlags::empty(),
            )
            .unwrap();
    w.b.p
        .send_to(peer, b"dg", at, MsgFlags::empty(), None)
        .unwrap();
    w.settle();
    assert_eq!(
        w.a.p.recv_from(d, 10, MsgFlags::empty(), None).err(),
        Some(WsaError::Shutdown)
    );
}

/// S8: SD_BOTH refuses sends and receives alike.
#[test]
fn s8_sd_both_shuts_both_directions() {
    let w = World::new(4106);
    let (s, t) = w.pair();
    assert_eq!(w.a.p.shutdown(s, SD_BOTH), Ok(()));
    assert_eq!(
        w.a.p.send(s, b"x", MsgFlags::empty(), None),
        Err(WsaError::Shutdown)
    );
    assert_eq!(
        w.a.p.recv(s, 10, MsgFlags::empty(), None).err(),
        Some(WsaError::Shutdown)
    );
    assert_eq!(
        w.a.p.recv(s, 10, MsgFlags::empty(), Some(event(2))).err(),
        Some(WsaError::Shutdown)
    );
    assert_eq!(read_to_eof(&w, t), b"", "the peer sees the end of stream");
    // A later narrower shutdown does not reopen anything.
    assert_eq!(w.a.p.shutdown(s, SD_RECEIVE), Ok(()));
    assert_eq!(
        w.a.p.send(s, b"x", MsgFlags::empty(), None),
        Err(WsaError::Shutdown)
    );
}

/// S8: shutdown never blocks, even with SO_LINGER on and unsent data to a stalled peer, and discards nothing.
#[test]
fn s8_shutdown_never_blocks_even_when_lingering() {
    let w = World::new(4107);
    let (blocking, svc_b) = w.to_discard(21, Some(0));
    let (nonblocking, svc_n) = w.to_discard(22, Some(0));
    let sent_b = w.fill(blocking);
    let sent_n = w.fill(nonblocking);
    w.a.p.set_nonblocking(blocking, false).unwrap();
    for s in [blocking, nonblocking] {
        w.a.p
            .set_linger(
                s,
                Linger {
                    on: true,
                    seconds: 30,
                },
            )
            .unwrap();
    }
    let unsent_b = w.a.p.transport().unsent(blocking);
    let unsent_n = w.a.p.transport().unsent(nonblocking);
    assert!(unsent_b > 0 && unsent_n > 0, "the peers are stalled");

    let t0 = w.net.now();
    assert_eq!(w.a.p.shutdown(blocking, SD_SEND), Ok(()));
    assert_eq!(w.a.p.shutdown(nonblocking, SD_BOTH), Ok(()));
    assert_eq!(w.a.p.shutdown(blocking, SD_BOTH), Ok(()));
    assert_eq!(
        w.net.now(),
        t0,
        "no virtual time passed: shutdown did not wait"
    );
    assert_eq!(
        w.a.p.transport().unsent(blocking),
        unsent_b,
        "nothing discarded"
    );
    assert_eq!(
        w.a.p.transport().unsent(nonblocking),
        unsent_n,
        "nothing discarded"
    );
    w.settle();
    assert_eq!(
        (w.net.service_resets(svc_b), w.net.service_resets(svc_n)),
        (0, 0),
        "no reset"
    );

    // Once the peers read, everything arrives, then the end of stream, while the sockets are still open.
    w.net.set_read_rate(svc_b, None);
    w.net.set_read_rate(svc_n, None);
    w.settle();
    assert_eq!(w.net.service_received(svc_b), sent_b as u64);
    assert_eq!(w.net.service_received(svc_n), sent_n as u64);
    assert_eq!(w.net.service_closed_gracefully(svc_b), 1);
    assert_eq!(w.net.service_closed_gracefully(svc_n), 1);
    assert_eq!(
        w.a.p.socket_kind(blocking),
        Ok(SocketKind::Stream),
        "still open until closed"
    );
    // Nothing is left to linger for: the close returns at once.
    let t1 = w.net.now();
    w.a.p.close_socket(blocking).unwrap();
    w.a.p.close_socket(nonblocking).unwrap();
    assert_eq!(w.net.now(), t1);
}

/// S8: shutdown frees nothing: the handle stays valid for the other direction and must still be closed (or is reset by the final cleanup).
#[test]
fn s8_shutdown_frees_nothing_and_the_handle_must_still_be_closed() {
    let w = World::new(4108);
    let (s1, t1) = w.pair();
    let (s2, _t2) = w.pair();
    let count = w.a.p.socket_count();
    for s in [s1, s2] {
        assert_eq!(w.a.p.shutdown(s, SD_BOTH), Ok(()));
    }
    w.settle();
    assert_eq!(w.a.p.socket_count(), count);
    assert!(w.a.notes.released().is_empty(), "no handle was given back");
    for s in [s1, s2] {
        assert_eq!(w.a.p.socket_kind(s), Ok(SocketKind::Stream));
        assert!(w.a.p.local_addr(s).is_ok());
        assert!(w.a.p.peer_addr(s).is_ok());
        assert_eq!(
            w.a.p.set_linger(
                s,
                Linger {
                    on: true,
                    seconds: 0
                }
            ),
            Ok(())
        );
        assert_eq!(w.a.p.set_linger(s, Linger::default()), Ok(()));
        assert_eq!(w.a.p.shutdown(s, SD_SEND), Ok(()));
    }
    // The peer sees the end of stream; its own end is unaffected.
    assert_eq!(read_to_eof(&w, t1), b"");
    // Close one: the handle goes now, not at shutdown.
    w.a.p.close_socket(s1).unwrap();
    assert_eq!(w.a.notes.released(), vec![s1]);
    assert_eq!(w.a.p.socket_count(), count - 1);
    assert_eq!(w.a.p.socket_kind(s1), Err(WsaError::NotSocket));
    assert_eq!(w.a.p.shutdown(s1, SD_BOTH), Err(WsaError::NotSocket));
    // The other is still open at the final cleanup, which resets it.
    match w.a.p.cleanup() {
        Ok(CleanupOutcome::Final(r)) => {
            assert_eq!(r.sockets_reset, 1, "the shut socket was still open")
        }
        other => panic!("{other:?}"),
    }
    assert!(w.a.notes.released().contains(&s2));
}

/// S8: after SD_SEND the peer reads every byte (including a send still pending at the shutdown), then end of stream.
#[test]
fn s8_sd_send_lets_the_peer_read_all_data_then_end_of_stream() {
    let w = World::new(4109);
    let (s, t) = w.pair();
    let data = pattern(50_000);
    let req = ov(CompletionMode::Routine {
        thread: APP,
        routine: 0x51,
    });
    let rec = req.overlapped.clone();
    assert_eq!(
        w.a.p.send(s, &data[..1000], MsgFlags::empty(), None),
        Ok(1000)
    );
    assert_eq!(
        w.a.p
            .send(s, &data[1000..], MsgFlags::empty(), Some(req))
            .err(),
        Some(WsaError::IoPending)
    );
    assert_eq!(w.a.p.shutdown(s, SD_SEND), Ok(()));
    assert_eq!(
        rec.state(),
        OpState::Pending,
        "the pending send was not aborted"
    );

    let got = read_to_eof(&w, t);
    assert_eq!(got.len(), data.len());
    assert!(got == data, "the bytes arrived intact and in order");
    // End of stream again, not an error.
    assert_eq!(
        w.b.p.recv(t, 10, MsgFlags::empty(), None).map(|r| r.data),
        Ok(Vec::new())
    );
    w.settle();
    let outcome = rec.outcome().expect("the send finished");
    assert_eq!((outcome.error, outcome.bytes), (None, 49_000));
    assert_eq!(w.a.notes.delivered_for(rec.op().unwrap()), 1);
    assert_eq!(w.a.notes.take_routines(APP).len(), 1);
    // The other direction is open.
    w.b.p.send(t, b"reply", MsgFlags::empty(), None).unwrap();
    w.settle();
    assert_eq!(
        w.a.p.recv(s, 10, MsgFlags::empty(), None).map(|r| r.data),
        Ok(b"reply".to_vec())
    );
}

/// S8: shutdown does not abort pending operations: they stay pending and finish as they would have.
#[test]
fn s8_pending_operations_are_not_aborted_by_shutdown() {
    let w = World::new(4110);
    let (s, t) = w.pair();
    let (slow, svc) = w.to_discard(23, Some(0));
    let recv_req = event(1);
    let recv_rec = recv_req.overlapped.clone();
    assert_eq!(
        w.a.p.recv(s, 100, MsgFlags::empty(), Some(recv_req)).err(),
        Some(WsaError::IoPending)
    );
    w.fill(slow);
    let send_req = event(2);
    let send_rec = send_req.overlapped.clone();
    assert_eq!(
        w.a.p
            .send(slow, &[7; 20_000], MsgFlags::empty(), Some(send_req))
            .err(),
        Some(WsaError::IoPending)
    );

    // SD_SEND on both: nothing ends, now or later.
    assert_eq!(w.a.p.shutdown(s, SD_SEND), Ok(()));
    assert_eq!(w.a.p.shutdown(slow, SD_SEND), Ok(()));
    w.settle();
    w.net.advance(Duration::from_secs(5));
    assert_eq!(recv_rec.state(), OpState::Pending);
    assert_eq!(send_rec.state(), OpState::Pending);
    assert!(w.a.notes.delivered().is_empty());

    // They finish normally.
    w.b.p
        .send(t, b"late data", MsgFlags::empty(), None)
        .unwrap();
    w.net.set_read_rate(svc, None);
    w.settle();
    assert_eq!(recv_rec.outcome().map(|o| o.error), Some(None));
    assert_eq!(recv_rec.data(), b"late data");
    assert_eq!(
        send_rec.outcome().map(|o| (o.error, o.bytes)),
        Some((None, 20_000))
    );
    assert_eq!(w.a.notes.delivered_for(recv_rec.op().unwrap()), 1);
    assert_eq!(w.a.notes.delivered_for(send_rec.op().unwrap()), 1);
    assert_eq!(w.net.service_closed_gracefully(svc), 1, "then the FIN");
}

/// S8: SD_RECEIVE does not abort a pending receive: it ends once, with WSAESHUTDOWN (never WSA_OPERATION_ABORTED); a pending send goes on.
#[test]
fn s8_sd_receive_does_not_abort_pending_operations() {
    let w = World::new(4111);
    let (s, t) = w.pair();
    let recv_req = event(1);
    let recv_rec = recv_req.overlapped.clone();
    assert_eq!(
        w.a.p.recv(s, 100, MsgFlags::empty(), Some(recv_req)).err(),
        Some(WsaError::IoPending)
    );
    // A send larger than the peer's window and our buffer stays pending while the peer does not read.
    let send_req = event(2);
    let send_rec = send_req.overlapped.clone();
    assert_eq!(
        w.a.p
            .send(s, &pattern(30_000), MsgFlags::empty(), Some(send_req))
            .err(),
        Some(WsaError::IoPending)
    );

    assert_eq!(w.a.p.shutdown(s, SD_RECEIVE), Ok(()));
    assert_eq!(
        recv_rec.state(),
        OpState::Pending,
        "shutdown itself ends nothing"
    );
    assert!(w.a.notes.delivered().is_empty());
    w.settle();
    let op = recv_rec.op().unwrap();
    assert_eq!(w.a.notes.delivered_for(op), 1);
    assert_eq!(
        recv_rec.outcome().and_then(|o| o.error),
        Some(WsaError::Shutdown)
    );
    assert_ne!(recv_rec.state(), OpState::AbortedNotified);
    // The send is still there and finishes when the peer reads.
    assert_eq!(send_rec.state(), OpState::Pending);
    assert_eq!(read_to_eof_or_idle(&w, t).len(), 30_000);
    assert_eq!(
        send_rec.outcome().map(|o| (o.error, o.bytes)),
        Some((None, 30_000))
    );
    assert_eq!(w.a.notes.delivered_for(send_rec.op().unwrap()), 1);
}

/// Reads `t` on b until nothing more comes (no end of stream expected).
fn read_to_eof_or_idle(w: &World, t: SocketHandle) -> Vec<u8> {
    common::drain(&w.net, &w.b.p, t).expect("read")
}

/// Spec §14 (`DisconnectEx`): ends the sending of a connected stream as
/// `SD_SEND` does (the peer sees the end, sends fail WSAESHUTDOWN, the
/// socket stays open); overlapped, it finishes at once and is told (S9);
/// `TF_REUSE_SOCKET` is not offered; an unconnected socket is WSAENOTCONN.
#[test]
fn spec14_disconnect_ends_the_sending_and_an_overlapped_one_is_told() {
    use winsock_provider::{CompletionMode, EventKey, OpState, OverlappedRequest};
    let w = World::new(1403);
    let (s, t) = w.pair();
    let req = OverlappedRequest::new(CompletionMode::Event(EventKey(1)));
    w.a.p.disconnect(s, false, Some(req.clone())).unwrap();
    assert_eq!(req.overlapped.state(), OpState::Delivered);
    assert_eq!(w.a.notes.delivered_for(req.overlapped.op().unwrap()), 1);
    w.settle();
    assert_eq!(
        w.b.p.recv(t, 10, MsgFlags::empty(), None).unwrap().data,
        b"",
        "the peer sees the end"
    );
    assert_eq!(
        w.a.p.send(s, b"x", MsgFlags::empty(), None),
        Err(WsaError::Shutdown)
    );
    let lone = w.a.stream();
    assert_eq!(
        w.a.p.disconnect(lone, false, None),
        Err(WsaError::NotConnected)
    );
}

/// Spec §14 (`TransmitFile`, `TransmitPackets`): a transmission is one
/// send, told once with its bytes (S10), that even when it must wait for
/// room arrives whole; with `TF_DISCONNECT` the sending is shut down once
/// it has succeeded (the peer reads every byte, then the end; a later send
/// is `WSAESHUTDOWN`); without it the socket goes on. A datagram socket
/// is `WSAEOPNOTSUPP`, an unconnected stream `WSAENOTCONN`.
#[test]
fn spec14_a_transmission_is_one_send_and_tf_disconnect_ends_the_sending_after_it() {
    let w = World::new(1408);
    let (s, t) = w.pair();
    let big = pattern(300_000);
    let req = event(1);
    match w.a.p.transmit(s, big.clone(), true, Some(req.clone())) {
        Ok(_) | Err(WsaError::IoPending) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(read_to_eof(&w, t), big, "every byte, then the end");
    assert_eq!(req.overlapped.state(), OpState::Delivered);
    assert_eq!(req.overlapped.outcome().unwrap().bytes, big.len());
    assert_eq!(w.a.notes.delivered_for(req.overlapped.op().unwrap()), 1);
    assert_eq!(
        w.a.p.send(s, b"x", MsgFlags::empty(), None),
        Err(WsaError::Shutdown)
    );

    // Without an overlapped record it takes every byte, on a non-blocking
    // socket too (a part sent and the rest dropped would lose data).
    // (12,000 bytes: more than the 8 KiB send buffer takes at once, less
    // than it and the peer's receive buffer hold, so the peer need not read.)
    let (s3, t3) = w.pair();
    w.a.p.set_nonblocking(s3, true).unwrap();
    let some = pattern(12_000);
    assert_eq!(w.a.p.transmit(s3, some.clone(), true, None), Ok(some.len()));
    assert_eq!(read_to_eof(&w, t3), some);

    let (s2, t2) = w.pair();
    assert_eq!(w.a.p.transmit(s2, b"no end".to_vec(), false, None), Ok(6));
    w.a.p.send(s2, b" yet", MsgFlags::empty(), None).unwrap();
    w.settle();
    assert_eq!(
        w.b.p.recv(t2, 64, MsgFlags::empty(), None).unwrap().data,
        b"no end yet"
    );

    let lone = w.a.stream();
    assert_eq!(
        w.a.p.transmit(lone, b"x".to_vec(), false, None),
        Err(WsaError::NotConnected)
    );
    let datagram =
        w.a.p
            .socket(
                winsock_provider::AddressFamily::Inet,
                winsock_provider::SocketKind::Datagram,
                winsock_provider::SocketFlags::OVERLAPPED,
            )
            .unwrap();
    assert_eq!(
        w.a.p.transmit(datagram, b"x".to_vec(), false, None),
        Err(WsaError::OperationNotSupported)
    );
}

/// Spec §14 (`DisconnectEx` with `TF_REUSE_SOCKET`): the connection ends
/// gracefully in the background (the peer reads every byte, then the end)
/// and the handle is a fresh socket: unconnected, unbound, taken by an
/// `AcceptEx` as its accept socket; what was pending on it was aborted and
/// told once (S7).
#[test]
fn spec14_disconnect_with_reuse_leaves_a_fresh_socket_for_an_acceptex() {
    use winsock_provider::{CompletionMode, EventKey, OpState, OverlappedRequest};
    let w = World::new(1409);
    let (s, t) = w.pair();
    w.a.p
        .send(s, b"last words", MsgFlags::empty(), None)
        .unwrap();
    let pending = event(3);
    assert_eq!(
        w.a.p
            .recv(s, 64, MsgFlags::empty(), Some(pending.clone()))
            .map(|r| r.data),
        Err(WsaError::IoPending)
    );
    let req = OverlappedRequest::new(CompletionMode::Event(EventKey(1)));
    w.a.p.disconnect(s, true, Some(req.clone())).unwrap();
    assert_eq!(req.overlapped.state(), OpState::Delivered, "told (S9)");
    assert_eq!(pending.overlapped.state(), OpState::AbortedNotified, "S7");
    assert_eq!(w.a.notes.delivered_for(pending.overlapped.op().unwrap()), 1);
    assert_eq!(
        read_to_eof(&w, t),
        b"last words",
        "every byte, then the end"
    );
    assert_eq!(w.a.p.peer_addr(s), Err(WsaError::NotConnected));
    assert!(w.a.p.local_addr(s).is_err(), "unbound");

    let l = w.a.stream();
    let at = w.a.p.bind(l, SocketAddr::from((w.a.ip, 0))).unwrap();
    w.a.p.listen(l, 4).unwrap();
    let again = OverlappedRequest::new(CompletionMode::Event(EventKey(2)));
    assert_eq!(
        w.a.p.accept_overlapped(l, s, again.clone()),
        Err(WsaError::IoPending)
    );
    let c = w.b.stream();
    w.b.p.connect(c, at).unwrap();
    w.settle();
    assert_eq!(again.overlapped.state(), OpState::Delivered);
    assert_eq!(w.a.p.peer_addr(s), w.b.p.local_addr(c), "the reused handle");
}
