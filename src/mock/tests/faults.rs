//! Network down, injected resets, crashed processes (S11).

use super::util::*;
use crate::core::error::WsaError;
use crate::core::flags::{FdEvents, MsgFlags};
use crate::core::transport::{
    AddressFamily, CloseKind, HandOffRefused, Io, SocketKind, Transport, Wait,
};
use crate::mock::Network;

#[test]
fn network_down_fails_calls_and_freezes_the_wire() {
    let net = Network::new(1);
    let (a, b) = connected_pair(&net);
    a.t.send(h(1), b"in flight".to_vec(), None, Wait::No)
        .unwrap();
    let r = op(h(2), 1);
    b.t.recv(h(2), 100, MsgFlags::empty(), Wait::Later(r))
        .unwrap();
    net.set_down(true);
    assert_eq!(
        a.t.send(h(1), b"x".to_vec(), None, Wait::No),
        Err(WsaError::NetworkDown)
    );
    assert_eq!(
        b.t.recv(h(2), 1, MsgFlags::empty(), Wait::No),
        Err(WsaError::NetworkDown)
    );
    assert_eq!(
        a.t.open(h(5), AddressFamily::Inet, SocketKind::Stream),
        Err(WsaError::NetworkDown)
    );
    assert_eq!(a.t.local_addr(h(1)), Err(WsaError::NetworkDown));
    assert_eq!(a.t.hand_off(h(1)), Err(HandOffRefused::NetworkDown));
    net.run_until_idle(1000);
    net.advance(std::time::Duration::from_secs(1));
    assert!(
        b.sink.completions_of(r).is_empty(),
        "pending stays pending while down"
    );
    assert_eq!(net.stats().bytes_delivered, 0);
    net.set_down(false);
    net.run_until_idle(1000);
    assert_eq!(received(&b.sink.completions_of(r)[0]).data, b"in flight");
}

#[test]
fn reset_connection_resets_both_ends() {
    let net = Network::new(2);
    let (a, b) = connected_pair(&net);
    a.t.send(h(1), b"lost".to_vec(), None, Wait::No).unwrap();
    net.step(); // on the wire, not delivered
    assert!(net.reset_connection(addr(B, 80), addr(A, 49152)));
    assert!(
        !net.reset_connection(addr(B, 80), addr(A, 49152)),
        "already reset"
    );
    net.run_until_idle(1000);
    for (t, s) in [(&a.t, h(1)), (&b.t, h(2))] {
        assert_eq!(
            t.recv(s, 10, MsgFlags::empty(), Wait::No),
            Err(WsaError::ConnectionReset)
        );
    }
    assert!(
        a.sink
            .events_for(h(1))
            .contains(&(FdEvents::CLOSE, Some(WsaError::ConnectionReset)))
    );
    assert!(
        b.sink
            .events_for(h(2))
            .contains(&(FdEvents::CLOSE, Some(WsaError::ConnectionReset)))
    );
    let st = net.stats();
    assert_eq!((st.connections_reset, st.bytes_delivered), (2, 0));
    assert_eq!(st.bytes_discarded_by_resets, 4);
}

#[test]
fn crash_drops_pending_operations_silently_and_resets_peers() {
    let net = Network::new(3);
    let (a, b) = connected_pair(&net);
    let r = op(h(1), 1);
    let acc = op(h(9), 2);
    a.t.recv(h(1), 10, MsgFlags::empty(), Wait::Later(r))
        .unwrap();
    a.t.open(h(9), AddressFamily::Inet, SocketKind::Stream)
        .unwrap();
    a.t.bind(h(9), addr(A, 8080)).unwrap();
    a.t.listen(h(9), 5).unwrap();
    a.t.accept(h(9), h(10), Wait::Later(acc)).unwrap();
    let calls_before = a.sink.calls().len();
    net.crash(&a.t);
    // Traffic that would have completed both operations arrives too late.
    b.t.send(h(2), b"too late".to_vec(), None, Wait::No)
        .unwrap();
    net.run_until_idle(1000);
    assert_eq!(
        a.sink.calls().len(),
        calls_before,
        "no completion, event or wake for a dead process"
    );
    assert_eq!(
        a.t.recv(h(1), 10, MsgFlags::empty(), Wait::No),
        Err(WsaError::NetworkDown)
    );
    assert_eq!(
        b.t.recv(h(2), 10, MsgFlags::empty(), Wait::No),
        Err(WsaError::ConnectionReset)
    );
    // The restarted process gets a fresh instance: same handles, same ports.
    let a2 = net.transport(a.t.node());
    a2.attach(a.sink.clone());
    a2.open(h(1), AddressFamily::Inet, SocketKind::Stream)
        .unwrap();
    assert_eq!(a2.bind(h(1), addr(A, 8080)).unwrap(), addr(A, 8080));
    a2.open(h(2), AddressFamily::Inet, SocketKind::Stream)
        .unwrap();
    a2.connect(h(2), addr(B, 80), op(h(2), 1)).unwrap();
    net.run_until_idle(1000);
    // Ephemeral ports go on counting across instances (49152 was the first).
    assert_eq!(
        b.t.accept(h(1), h(3), Wait::No).unwrap(),
        Io::Done(addr(A, 49153))
    );
}

#[test]
fn crash_node_crashes_every_instance_of_the_node() {
    let net = Network::new(4);
    let (a, b) = connected_pair(&net);
    let other = net.transport(a.t.node());
    net.crash_node(a.t.node());
    assert_eq!(
        other.open(h(1), AddressFamily::Inet, SocketKind::Stream),
        Err(WsaError::NetworkDown)
    );
    net.run_until_idle(1000);
    let s = op(h(2), 1);
    assert_eq!(
        b.t.send(h(2), b"x".to_vec(), None, Wait::Later(s)),
        Err(WsaError::ConnectionReset)
    );
    assert_eq!(b.sink.completions(), vec![]);
    // A closed socket on the dead node is gone too.
    a.t.close(h(1), CloseKind::Graceful);
    assert_eq!(a.t.unsent(h(1)), 0);
}

/// S11: a crash resets the connections of the process's open sockets and
/// of closed ones whose data is still in its transport; a socket closed
/// gracefully whose every byte has left the node is the network's, and its
/// peer reads everything it was sent, then the end of the stream.
#[test]
fn crash_leaves_a_drained_closed_connection_to_the_network() {
    let net = Network::new(5);
    let (a, b) = connected_pair(&net);
    a.t.send(h(1), b"all of it".to_vec(), None, Wait::No)
        .unwrap();
    net.run_until_idle(1000); // in b's receive buffer, unread
    assert_eq!(a.t.unsent(h(1)), 0);
    a.t.close(h(1), CloseKind::Graceful);
    net.crash(&a.t);
    net.run_until_idle(1000);
    assert_eq!(read_now(&b.t, h(2)), b"all of it", "nothing was reset");
    assert_eq!(net.stats().connections_reset, 0);

    // A closed socket with data still unsent is the process's: reset.
    let net = Network::new(6);
    let (a, b) = connected_pair(&net);
    b.t.set_buffers(h(2), None, Some(1)).unwrap();
    a.t.send(h(1), pattern(0, 20_000), None, Wait::No).unwrap();
    a.t.close(h(1), CloseKind::Graceful);
    assert!(a.t.unsent(h(1)) > 0);
    net.crash(&a.t);
    net.run_until_idle(100_000);
    read_now(&b.t, h(2));
    assert_eq!(
        b.t.recv(h(2), 10, MsgFlags::empty(), Wait::No),
        Err(WsaError::ConnectionReset)
    );
}

/// Message delay: a shorter latency set mid-stream never lets a segment
/// overtake an older one; a longer one delays what is sent after it. Also
/// `available` (FIONREAD) and `buffers` (SO_SNDBUF, SO_RCVBUF).
#[test]
fn latency_changes_delay_later_segments_and_never_reorder_a_stream() {
    let net = Network::new(3);
    let (a, b) = connected_pair(&net);
    assert_eq!(a.t.buffers(h(1)), Ok((8192, 8192)));
    let ms = std::time::Duration::from_millis;
    net.set_latency(ms(50));
    a.t.send(h(1), pattern(0, 100), None, Wait::No).unwrap();
    net.advance(ms(20)); // the first segment is on the wire, due at 50 ms
    assert_eq!(b.t.available(h(2)), Ok(0));
    net.set_latency(ms(1));
    a.t.send(h(1), pattern(100, 100), None, Wait::No).unwrap();
    net.advance(ms(10)); // the second would be due at 21 ms
    assert_eq!(
        b.t.available(h(2)),
        Ok(0),
        "the second waits behind the first"
    );
    net.advance(ms(30));
    assert_eq!(b.t.available(h(2)), Ok(200));
    assert_eq!(read_now(&b.t, h(2)), pattern(0, 200));
    assert_eq!(b.t.available(h(2)), Ok(0));
}
