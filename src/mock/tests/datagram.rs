//! Datagram sockets.

use super::util::*;
use crate::core::error::WsaError;
use crate::core::flags::{FdEvents, MsgFlags};
use crate::core::transport::{AddressFamily, Completed, Io, Received, SocketKind, Transport, Wait};
use crate::mock::{MAX_DATAGRAM, Network};

fn dgram(net: &Network) -> (Host, Host) {
    let a = host(net, A);
    let b = host(net, B);
    a.t.open(h(1), AddressFamily::Inet, SocketKind::Datagram)
        .unwrap();
    b.t.open(h(1), AddressFamily::Inet, SocketKind::Datagram)
        .unwrap();
    b.t.bind(h(1), addr(B, 53)).unwrap();
    (a, b)
}

#[test]
fn a_datagram_arrives_whole_with_its_sender() {
    let net = Network::new(1);
    let (a, b) = dgram(&net);
    assert_eq!(
        a.t.send(h(1), b"query".to_vec(), Some(addr(B, 53)), Wait::No)
            .unwrap(),
        Io::Done(5)
    );
    assert_eq!(
        a.t.local_addr(h(1)).unwrap(),
        addr(A, 49152),
        "an unbound sender gets an ephemeral port"
    );
    assert_eq!(
        b.t.recv(h(1), 100, MsgFlags::empty(), Wait::No).unwrap(),
        Io::WouldBlock,
        "latency first"
    );
    net.run_until_idle(100);
    let got = b.t.recv(h(1), 100, MsgFlags::empty(), Wait::No).unwrap();
    assert_eq!(
        got,
        Io::Done(Received {
            data: b"query".to_vec(),
            from: Some(addr(A, 49152)),
            flags: MsgFlags::empty()
        })
    );
    assert!(b.sink.events_for(h(1)).contains(&(FdEvents::READ, None)));
    assert_eq!(net.stats().datagrams_delivered, 1);
}

#[test]
fn a_short_receive_cuts_the_message_and_says_partial() {
    let net = Network::new(2);
    let (a, b) = dgram(&net);
    a.t.send(h(1), b"0123456789".to_vec(), Some(addr(B, 53)), Wait::No)
        .unwrap();
    net.run_until_idle(100);
    let Io::Done(cut) = b.t.recv(h(1), 4, MsgFlags::empty(), Wait::No).unwrap() else {
        panic!()
    };
    assert_eq!(
        (cut.data.as_slice(), cut.flags),
        (&b"0123"[..], MsgFlags::PARTIAL)
    );
    assert_eq!(
        b.t.recv(h(1), 100, MsgFlags::empty(), Wait::No).unwrap(),
        Io::WouldBlock,
        "the rest is gone"
    );
    // The same through a pending receive.
    let r = op(h(1), 1);
    assert_eq!(
        b.t.recv(h(1), 2, MsgFlags::empty(), Wait::Later(r))
            .unwrap(),
        Io::Pending
    );
    a.t.send(h(1), b"next".to_vec(), Some(addr(B, 53)), Wait::No)
        .unwrap();
    net.run_until_idle(100);
    let done = b.sink.completions_of(r);
    assert_eq!(received(&done[0]).data, b"ne");
    assert_eq!(received(&done[0]).flags, MsgFlags::PARTIAL);
    // A message that fits is not partial.
    a.t.send(h(1), b"fits".to_vec(), Some(addr(B, 53)), Wait::No)
        .unwrap();
    net.run_until_idle(100);
    let Io::Done(whole) = b.t.recv(h(1), 4, MsgFlags::empty(), Wait::No).unwrap() else {
        panic!()
    };
    assert_eq!(
        (whole.data.as_slice(), whole.flags),
        (&b"fits"[..], MsgFlags::empty())
    );
}

#[test]
fn send_errors() {
    let net = Network::new(3);
    let (a, _b) = dgram(&net);
    assert_eq!(
        a.t.send(h(1), b"x".to_vec(), None, Wait::No),
        Err(WsaError::DestinationRequired)
    );
    let big = vec![0u8; MAX_DATAGRAM + 1];
    assert_eq!(
        a.t.send(h(1), big.clone(), Some(addr(B, 53)), Wait::No),
        Err(WsaError::MessageSize)
    );
    assert_eq!(
        a.t.send(h(1), big[1..].to_vec(), Some(addr(B, 53)), Wait::No)
            .unwrap(),
        Io::Done(MAX_DATAGRAM)
    );
    assert_eq!(
        a.t.recv(h(2), 1, MsgFlags::empty(), Wait::No),
        Err(WsaError::NotSocket)
    );
}

#[test]
fn datagrams_are_dropped_when_the_receive_buffer_is_full() {
    let net = Network::new(4);
    let (a, b) = dgram(&net);
    b.t.set_buffers(h(1), None, Some(250)).unwrap();
    for _ in 0..5 {
        a.t.send(h(1), vec![7u8; 100], Some(addr(B, 53)), Wait::No)
            .unwrap();
    }
    a.t.send(h(1), b"to nobody".to_vec(), Some(addr(B, 54)), Wait::No)
        .unwrap();
    net.run_until_idle(100);
    let st = net.stats();
    assert_eq!(st.datagrams_delivered, 2);
    assert_eq!(
        st.datagrams_dropped, 4,
        "three over the buffer, one to an unbound port"
    );
}

#[test]
fn connect_sets_the_default_peer_and_filters_others() {
    let net = Network::new(5);
    let (a, b) = dgram(&net);
    let c = host(&net, [10, 0, 0, 3]);
    c.t.open(h(1), AddressFamily::Inet, SocketKind::Datagram)
        .unwrap();
    a.t.bind(h(1), addr(A, 1000)).unwrap();
    b.t.connect(h(1), addr(A, 1000), op(h(1), 9)).unwrap();
    assert_eq!(b.t.peer_addr(h(1)).unwrap(), addr(A, 1000));
    c.t.send(h(1), b"stranger".to_vec(), Some(addr(B, 53)), Wait::No)
        .unwrap();
    a.t.send(h(1), b"friend".to_vec(), Some(addr(B, 53)), Wait::No)
        .unwrap();
    // b sends without `to`: the default peer.
    b.t.send(h(1), b"reply".to_vec(), None, Wait::No).unwrap();
    let r = op(h(1), 1);
    assert_eq!(
        a.t.recv(h(1), 100, MsgFlags::empty(), Wait::Later(r))
            .unwrap(),
        Io::Pending
    );
    net.run_until_idle(100);
    let Io::Done(got) = b.t.recv(h(1), 100, MsgFlags::empty(), Wait::No).unwrap() else {
        panic!()
    };
    assert_eq!(got.data, b"friend");
    assert_eq!(
        b.t.recv(h(1), 100, MsgFlags::empty(), Wait::No).unwrap(),
        Io::WouldBlock
    );
    assert_eq!(net.stats().datagrams_dropped, 1);
    let done = a.sink.completions_of(r);
    assert_eq!(done.len(), 1);
    assert!(
        matches!(&done[0], Completed::Received(x) if x.data == b"reply" && x.from == Some(addr(B, 53)))
    );
}
