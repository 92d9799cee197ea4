//! Addresses as Windows answers them: `WSPGetSockName` after binding the
//! wildcard reports the wildcard until the socket has a peer; a datagram
//! socket's connect to `AF_UNSPEC` dissolves its association.

mod common;

use common::World;
use std::net::SocketAddr;
use winsock_provider::{AddressFamily, MsgFlags, SocketFlags, SocketKind, WsaError};

#[test]
fn getsockname_reports_the_wildcard_until_the_socket_has_a_peer() {
    let w = World::new(9201);
    let p = &w.b.p;
    let listener = w.b.stream();
    let at = p.bind(listener, "0.0.0.0:0".parse().unwrap()).unwrap();
    assert!(
        at.ip().is_unspecified(),
        "bind reports what was bound: {at}"
    );
    assert_eq!(p.local_addr(listener), Ok(at));
    p.listen(listener, 1).unwrap();
    assert_eq!(p.local_addr(listener), Ok(at), "a listener has no peer");
    let s = w.a.stream();
    w.a.p.bind(s, "0.0.0.0:0".parse().unwrap()).unwrap();
    w.a.p
        .connect(s, SocketAddr::from((w.b.ip, at.port())))
        .unwrap();
    assert_eq!(
        w.a.p.local_addr(s).unwrap().ip(),
        w.a.ip,
        "connected: the node's own address"
    );
    let (accepted, _) = p.accept(listener).unwrap();
    assert_eq!(p.local_addr(accepted).unwrap().ip(), w.b.ip);
}

#[test]
fn a_datagram_connect_to_af_unspec_dissolves_the_association() {
    let w = World::new(9202);
    let p = &w.a.p;
    let d = p
        .socket(
            AddressFamily::Inet,
            SocketKind::Datagram,
            SocketFlags::empty(),
        )
        .unwrap();
    let peer = SocketAddr::from((w.b.ip, 53));
    p.connect(d, peer).unwrap();
    assert_eq!(p.peer_addr(d), Ok(peer));
    assert_eq!(p.send(d, b"to the peer", MsgFlags::empty(), None), Ok(11));
    assert_eq!(p.connect_unspecified(d), Ok(()));
    assert_eq!(p.peer_addr(d), Err(WsaError::NotConnected));
    assert_eq!(
        p.send(d, b"to nobody", MsgFlags::empty(), None),
        Err(WsaError::DestinationRequired)
    );
    let s = w.a.stream();
    assert_eq!(
        p.connect_unspecified(s),
        Err(WsaError::AddressFamilyNotSupported)
    );
}
