//! Stream sockets: connect/accept, ordered bytes, flow control, FIN, RST.

use super::util::*;
use crate::core::error::WsaError;
use crate::core::flags::{FdEvents, MsgFlags};
use crate::core::transport::{
    AddressFamily, CloseKind, Completed, Io, ShutdownHow, SocketKind, Transport, Wait,
};
use crate::mock::Network;

#[test]
fn bytes_arrive_in_order_and_a_pending_receive_completes() {
    let net = Network::new(1);
    let (a, b) = connected_pair(&net);
    let r = op(h(2), 1);
    assert_eq!(
        b.t.recv(h(2), 100_000, MsgFlags::empty(), Wait::Later(r))
            .unwrap(),
        Io::Pending
    );
    let data = pattern(0, 20_000);
    let mut sent = 0;
    let mut got = Vec::new();
    for _ in 0..10_000 {
        if sent < data.len()
            && let Io::Done(n) =
                a.t.send(h(1), data[sent..].to_vec(), None, Wait::No)
                    .unwrap()
        {
            sent += n;
        }
        net.step();
        if !b.sink.completions_of(r).is_empty() {
            got.extend(read_now(&b.t, h(2)));
        }
        if got.len() + 1460 >= data.len() && sent == data.len() && net.is_idle() {
            break;
        }
    }
    net.run_until_idle(1000);
    got.extend(read_now(&b.t, h(2)));
    let first = b.sink.completions_of(r);
    assert_eq!(first.len(), 1, "exactly one completion");
    let mut all = received(&first[0]).data.clone();
    assert!(!all.is_empty());
    all.extend(got);
    assert_eq!(all, data, "every byte, in order");
    assert!(
        b.sink
            .events_for(h(2))
            .iter()
            .any(|(e, _)| *e == FdEvents::READ)
    );
}

#[test]
fn flow_control_makes_a_send_pend_until_the_peer_reads() {
    let net = Network::new(2);
    let (a, b) = connected_pair(&net);
    let data = pattern(0, 30_000);
    let s = op(h(1), 7);
    assert_eq!(
        a.t.send(h(1), data.clone(), None, Wait::Later(s)).unwrap(),
        Io::Pending
    );
    net.run_until_idle(10_000);
    // The peer's receive buffer (8192) is full and so is our send buffer.
    assert!(b.sink.completions_of(s).is_empty() && a.sink.completions_of(s).is_empty());
    assert_eq!(a.t.unsent(h(1)), 8192);
    assert_eq!(net.stats().bytes_delivered, 8192);
    // Sends are taken in posting order: a non-blocking one cannot overtake.
    assert_eq!(
        a.t.send(h(1), b"x".to_vec(), None, Wait::No).unwrap(),
        Io::WouldBlock
    );
    let mut got = Vec::new();
    for _ in 0..100 {
        got.extend(read_now(&b.t, h(2)));
        net.run_until_idle(10_000);
        if got.len() == data.len() {
            break;
        }
    }
    assert_eq!(got, data);
    assert_eq!(a.sink.completions_of(s), vec![Completed::Sent(30_000)]);
    assert!(
        a.sink
            .events_for(h(1))
            .iter()
            .any(|(e, _)| *e == FdEvents::WRITE),
        "FD_WRITE after WouldBlock"
    );
}

#[test]
fn non_blocking_send_takes_what_fits_then_would_block() {
    let net = Network::new(3);
    let (a, b) = connected_pair(&net);
    a.t.set_buffers(h(1), Some(1000), None).unwrap();
    b.t.set_buffers(h(2), None, Some(500)).unwrap();
    assert_eq!(
        a.t.send(h(1), pattern(0, 1500), None, Wait::No).unwrap(),
        Io::Done(1000)
    );
    assert_eq!(
        a.t.send(h(1), b"more".to_vec(), None, Wait::No).unwrap(),
        Io::WouldBlock
    );
    net.run_until_idle(1000);
    // 500 at the peer, 500 back in our buffer, 500 room for new data.
    assert_eq!(a.t.unsent(h(1)), 500);
    assert_eq!(
        a.sink
            .events_for(h(1))
            .iter()
            .filter(|(e, _)| *e == FdEvents::WRITE)
            .count(),
        1
    );
    assert_eq!(read_now(&b.t, h(2)), pattern(0, 500));
}

#[test]
fn pending_sends_complete_in_posting_order_and_a_cancel_keeps_taken_bytes() {
    let net = Network::new(4);
    let (a, b) = connected_pair(&net);
    a.t.set_buffers(h(1), Some(100), None).unwrap();
    b.t.set_buffers(h(2), None, Some(100)).unwrap();
    let (s1, s2, s3) = (op(h(1), 1), op(h(1), 2), op(h(1), 3));
    assert_eq!(
        a.t.send(h(1), pattern(0, 250), None, Wait::Later(s1))
            .unwrap(),
        Io::Pending
    );
    assert_eq!(
        a.t.send(h(1), pattern(250, 50), None, Wait::Later(s2))
            .unwrap(),
        Io::Pending
    );
    net.run_until_idle(1000);
    assert!(a.sink.completions_of(s1).is_empty() && a.sink.completions_of(s2).is_empty());
    // s1 has 200 of its bytes taken; cancelling it keeps them, drops the rest.
    a.t.cancel(s1);
    assert_eq!(
        a.t.send(h(1), pattern(1000, 10), None, Wait::Later(s3))
            .unwrap(),
        Io::Pending
    );
    let mut got = Vec::new();
    for _ in 0..50 {
        got.extend(read_now(&b.t, h(2)));
        net.run_until_idle(1000);
    }
    let mut want = pattern(0, 200);
    want.extend(pattern(250, 50));
    want.extend(pattern(1000, 10));
    assert_eq!(got, want);
    let order: Vec<_> = a
        .sink
        .completions()
        .into_iter()
        .filter(|(_, r)| *r != Completed::Connected)
        .map(|(o, _)| o)
        .collect();
    assert_eq!(order, vec![s2, s3], "the cancelled send never completes");
}

#[test]
fn pending_receives_fill_in_posting_order() {
    let net = Network::new(5);
    let (a, b) = connected_pair(&net);
    let (r1, r2) = (op(h(2), 1), op(h(2), 2));
    b.t.recv(h(2), 3, MsgFlags::empty(), Wait::Later(r1))
        .unwrap();
    b.t.recv(h(2), 100, MsgFlags::empty(), Wait::Later(r2))
        .unwrap();
    // A non-blocking receive does not overtake them.
    a.t.send(h(1), b"abcdef".to_vec(), None, Wait::No).unwrap();
    net.run_until_idle(1000);
    assert_eq!(received(&b.sink.completions_of(r1)[0]).data, b"abc");
    assert_eq!(received(&b.sink.completions_of(r2)[0]).data, b"def");
}

#[test]
fn peek_leaves_the_data() {
    let net = Network::new(6);
    let (a, b) = connected_pair(&net);
    a.t.send(h(1), b"hello".to_vec(), None, Wait::No).unwrap();
    net.run_until_idle(1000);
    let peek = b.t.recv(h(2), 3, MsgFlags::PEEK, Wait::No).unwrap();
    assert_eq!(
        peek,
        Io::Done(crate::Received {
            data: b"hel".to_vec(),
            ..Default::default()
        })
    );
    assert_eq!(read_now(&b.t, h(2)), b"hello");
}

#[test]
fn fin_after_the_data_gives_eof() {
    let net = Network::new(7);
    let (a, b) = connected_pair(&net);
    a.t.send(h(1), b"bye".to_vec(), None, Wait::No).unwrap();
    a.t.shutdown(h(1), ShutdownHow::Send).unwrap();
    assert_eq!(
        a.t.send(h(1), b"x".to_vec(), None, Wait::No),
        Err(WsaError::Shutdown)
    );
    net.run_until_idle(1000);
    assert!(b.sink.events_for(h(2)).contains(&(FdEvents::CLOSE, None)));
    assert_eq!(read_now(&b.t, h(2)), b"bye");
    let eof = b.t.recv(h(2), 10, MsgFlags::empty(), Wait::No).unwrap();
    assert_eq!(eof, Io::Done(Default::default()), "EOF: an empty receive");
    // A pending receive posted after the FIN completes with EOF too.
    let r = op(h(2), 9);
    assert_eq!(
        b.t.recv(h(2), 10, MsgFlags::empty(), Wait::Later(r))
            .unwrap(),
        Io::Done(Default::default())
    );
    // The other direction still works.
    b.t.send(h(2), b"late".to_vec(), None, Wait::No).unwrap();
    net.run_until_idle(1000);
    assert_eq!(read_now(&a.t, h(1)), b"late");
}

#[test]
fn graceful_close_drains_in_the_background() {
    let net = Network::new(8);
    let (a, b) = connected_pair(&net);
    a.t.send(h(1), pattern(0, 8000), None, Wait::No).unwrap();
    a.t.close(h(1), CloseKind::Graceful);
    assert_eq!(a.t.unsent(h(1)), 8000);
    let r = op(h(2), 1);
    b.t.recv(h(2), 100_000, MsgFlags::empty(), Wait::Later(r))
        .unwrap();
    let mut got = Vec::new();
    for _ in 0..100 {
        net.run_until_idle(1000);
        got.extend(read_now(&b.t, h(2)));
    }
    got.splice(0..0, received(&b.sink.completions_of(r)[0]).data.clone());
    assert_eq!(got, pattern(0, 8000));
    assert_eq!(a.t.unsent(h(1)), 0);
    assert_eq!(
        b.t.recv(h(2), 10, MsgFlags::empty(), Wait::No).unwrap(),
        Io::Done(Default::default())
    );
    assert_eq!(
        a.t.send(h(1), b"x".to_vec(), None, Wait::No),
        Err(WsaError::NotSocket),
        "gone once drained"
    );
}

#[test]
fn abortive_close_resets_the_peer() {
    let net = Network::new(9);
    let (a, b) = connected_pair(&net);
    a.t.send(h(1), b"unread".to_vec(), None, Wait::No).unwrap();
    net.run_until_idle(1000);
    let (r, s) = (op(h(2), 1), op(h(2), 2));
    b.t.set_buffers(h(2), Some(10), None).unwrap();
    a.t.set_buffers(h(1), None, Some(10)).unwrap();
    // Small buffers so that b's send pends (a does not read).
    assert_eq!(
        b.t.send(h(2), pattern(0, 100), None, Wait::Later(s))
            .unwrap(),
        Io::Pending
    );
    net.run_until_idle(1000);
    a.t.send(h(1), pattern(0, 3000), None, Wait::No).unwrap();
    a.t.close(h(1), CloseKind::Abortive);
    assert_eq!(a.t.unsent(h(1)), 0, "unsent data discarded at once");
    net.run_until_idle(1000);
    assert!(
        b.sink
            .events_for(h(2))
            .contains(&(FdEvents::CLOSE, Some(WsaError::ConnectionReset)))
    );
    assert_eq!(
        b.sink.completions_of(s),
        vec![Completed::Failed(WsaError::ConnectionReset)]
    );
    assert_eq!(
        b.t.recv(h(2), 10, MsgFlags::empty(), Wait::Later(r)),
        Err(WsaError::ConnectionReset)
    );
    assert_eq!(
        b.t.recv(h(2), 10, MsgFlags::empty(), Wait::No),
        Err(WsaError::ConnectionReset)
    );
    assert_eq!(
        b.t.send(h(2), b"x".to_vec(), None, Wait::No),
        Err(WsaError::ConnectionReset)
    );
    let st = net.stats();
    assert_eq!(st.connections_reset, 1);
    assert!(
        st.bytes_discarded_by_resets >= 3000 + 6,
        "unsent and unread bytes: {st:?}"
    );
}

#[test]
fn rst_fails_a_pending_receive() {
    let net = Network::new(10);
    let (a, b) = connected_pair(&net);
    let r = op(h(2), 1);
    assert_eq!(
        b.t.recv(h(2), 10, MsgFlags::empty(), Wait::Later(r))
            .unwrap(),
        Io::Pending
    );
    a.t.close(h(1), CloseKind::Abortive);
    net.run_until_idle(1000);
    assert_eq!(
        b.sink.completions_of(r),
        vec![Completed::Failed(WsaError::ConnectionReset)]
    );
}

#[test]
fn shutdown_receive_discards_later_data() {
    let net = Network::new(11);
    let (a, b) = connected_pair(&net);
    b.t.shutdown(h(2), ShutdownHow::Receive).unwrap();
    a.t.send(h(1), b"ignored".to_vec(), None, Wait::No).unwrap();
    net.run_until_idle(1000);
    assert_eq!(
        b.t.recv(h(2), 10, MsgFlags::empty(), Wait::No),
        Err(WsaError::Shutdown)
    );
    assert_eq!(net.stats().bytes_discarded_closed, 7);
    assert_eq!(net.stats().bytes_delivered, 0);
}

#[test]
fn accept_pends_until_a_connection_arrives() {
    let net = Network::new(12);
    let a = host(&net, A);
    let b = host(&net, B);
    b.t.open(h(1), AddressFamily::Inet, SocketKind::Stream)
        .unwrap();
    b.t.bind(h(1), addr(B, 80)).unwrap();
    b.t.listen(h(1), 1).unwrap();
    assert_eq!(b.t.accept(h(1), h(2), Wait::No).unwrap(), Io::WouldBlock);
    let acc = op(h(1), 1);
    assert_eq!(
        b.t.accept(h(1), h(2), Wait::Later(acc)).unwrap(),
        Io::Pending
    );
    a.t.open(h(1), AddressFamily::Inet, SocketKind::Stream)
        .unwrap();
    let attempt = op(h(1), 2);
    assert_eq!(
        a.t.connect(h(1), addr(B, 80), attempt).unwrap(),
        Io::Pending,
        "a connect waits for the answer to its SYN"
    );
    assert!(
        b.sink.completions().is_empty() && a.sink.completions().is_empty(),
        "nothing completes inside a transport call"
    );
    net.run_until_idle(1000);
    assert_eq!(a.sink.completions_of(attempt), vec![Completed::Connected]);
    assert_eq!(
        b.sink.completions_of(acc),
        vec![Completed::Accepted(addr(A, 49152))]
    );
    assert!(b.sink.events_for(h(1)).contains(&(FdEvents::ACCEPT, None)));
    assert!(
        a.sink.events_for(h(1)).is_empty(),
        "FD_CONNECT is the core's to record, not the transport's"
    );
    assert_eq!(b.t.peer_addr(h(2)).unwrap(), addr(A, 49152));
    assert_eq!(b.t.local_addr(h(2)).unwrap(), addr(B, 80));
    assert_eq!(a.t.peer_addr(h(1)).unwrap(), addr(B, 80));
    // Backlog 1: one queued connection fills it; the next is refused.
    a.t.open(h(2), AddressFamily::Inet, SocketKind::Stream)
        .unwrap();
    a.t.open(h(3), AddressFamily::Inet, SocketKind::Stream)
        .unwrap();
    connect(&net, &a, h(2), addr(B, 80)).unwrap();
    assert_eq!(
        connect(&net, &a, h(3), addr(B, 80)),
        Err(WsaError::ConnectionRefused)
    );
    assert_eq!(
        a.t.peer_addr(h(3)),
        Err(WsaError::NotConnected),
        "a refused connect leaves the socket unconnected (and bound)"
    );
    assert_eq!(
        connect(&net, &a, h(3), addr(B, 81)),
        Err(WsaError::ConnectionRefused),
        "and it may try again"
    );
}

/// A connect to an address no node has ends with `WSAETIMEDOUT` after
/// the connect timeout, in virtual time; one given up (cancelled) before
/// its answer leaves the socket able to connect again.
#[test]
fn connect_to_nobody_times_out_and_a_cancelled_one_can_start_again() {
    let net = Network::new(14);
    let a = host(&net, A);
    let b = host(&net, B);
    b.t.open(h(1), AddressFamily::Inet, SocketKind::Stream)
        .unwrap();
    b.t.bind(h(1), addr(B, 80)).unwrap();
    b.t.listen(h(1), 5).unwrap();
    a.t.open(h(1), AddressFamily::Inet, SocketKind::Stream)
        .unwrap();
    let start = net.now();
    assert_eq!(
        connect(&net, &a, h(1), addr([10, 9, 9, 9], 80)),
        Err(WsaError::TimedOut)
    );
    assert_eq!(net.now() - start, net.config().connect_timeout);
    let given_up = op(h(1), 7);
    assert_eq!(
        a.t.connect(h(1), addr(B, 80), given_up).unwrap(),
        Io::Pending
    );
    assert_eq!(
        a.t.connect(h(1), addr(B, 80), op(h(1), 8)),
        Err(WsaError::Already)
    );
    a.t.cancel(given_up);
    net.run_until_idle(1000);
    assert!(
        a.sink.completions_of(given_up).is_empty(),
        "cancelled: untold"
    );
    connect(&net, &a, h(1), addr(B, 80)).unwrap();
    assert_eq!(a.t.peer_addr(h(1)).unwrap(), addr(B, 80));
}

#[test]
fn bind_rules() {
    let net = Network::new(13);
    let a = host(&net, A);
    let _b = host(&net, B);
    for i in 1..=4 {
        a.t.open(h(i), AddressFamily::Inet, SocketKind::Stream)
            .unwrap();
    }
    assert_eq!(a.t.local_addr(h(1)), Err(WsaError::InvalidArgument));
    assert_eq!(a.t.peer_addr(h(1)), Err(WsaError::NotConnected));
    assert_eq!(
        a.t.bind(h(1), addr([0, 0, 0, 0], 0)).unwrap(),
        addr([0, 0, 0, 0], 49152),
        "the wildcard stays what getsockname shows"
    );
    assert_eq!(a.t.local_addr(h(1)), Ok(addr([0, 0, 0, 0], 49152)));
    assert_eq!(a.t.bind(h(2), addr(A, 0)).unwrap(), addr(A, 49153));
    assert_eq!(a.t.bind(h(3), addr(A, 49152)), Err(WsaError::AddressInUse));
    assert_eq!(
        a.t.bind(h(3), addr(B, 7)),
        Err(WsaError::AddressNotAvailable)
    );
    assert_eq!(a.t.bind(h(3), addr(A, 7)).unwrap(), addr(A, 7));
    // Datagram ports are a separate namespace.
    a.t.open(h(9), AddressFamily::Inet, SocketKind::Datagram)
        .unwrap();
    assert_eq!(a.t.bind(h(9), addr(A, 7)).unwrap(), addr(A, 7));
    // Closing frees the address.
    a.t.close(h(3), CloseKind::Graceful);
    assert_eq!(a.t.bind(h(4), addr(A, 7)).unwrap(), addr(A, 7));
}

#[test]
fn sockets_of_two_instances_with_equal_handles_stay_apart() {
    let net = Network::new(14);
    let (a, b) = connected_pair(&net);
    // Both instances use handle 1 (and B's accepted socket is 2): the client
    // on A and the listener on B are different sockets.
    assert_eq!(a.t.local_addr(h(1)).unwrap(), addr(A, 49152));
    assert_eq!(b.t.local_addr(h(1)).unwrap(), addr(B, 80));
    a.t.send(h(1), b"to b".to_vec(), None, Wait::No).unwrap();
    b.t.send(h(2), b"to a".to_vec(), None, Wait::No).unwrap();
    net.run_until_idle(1000);
    assert_eq!(read_now(&b.t, h(2)), b"to b");
    assert_eq!(read_now(&a.t, h(1)), b"to a");
    assert_eq!(
        a.t.recv(h(2), 1, MsgFlags::empty(), Wait::No),
        Err(WsaError::NotSocket)
    );
}
