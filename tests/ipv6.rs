//! IPv6 sockets (spec §15) through the core and the mock network, and the
//! rule that a socket's addresses are of its family (S13: a foreign one is
//! refused and changes nothing).

use std::net::SocketAddr;
use std::sync::Arc;
use winsock_provider::mock::{MockTransport, MockWaiter, Network, RecordingNotifier};
use winsock_provider::{
    AddressFamily, MsgFlags, Provider, ProviderConfig, SocketFlags, SocketKind, Version, WsaError,
};

type P = Provider<MockTransport, MockWaiter>;

/// A started provider on a node with `10.0.0.1` and, when `v6`, `fd00::1`;
/// echo services at `10.0.0.9:7` and `[fd00::9]:7`.
fn started(v6: bool) -> (Network, P) {
    let net = Network::new(3);
    let node = net.add_node("10.0.0.1".parse().unwrap());
    if v6 {
        assert!(net.add_address(node, "fd00::1".parse().unwrap()));
    }
    let peers = net.add_node("10.0.0.9".parse().unwrap());
    assert!(net.add_address(peers, "fd00::9".parse().unwrap()));
    net.add_echo_service("10.0.0.9:7".parse().unwrap());
    net.add_echo_service("[fd00::9]:7".parse().unwrap());
    let p = Provider::new(
        ProviderConfig::default(),
        net.transport(node),
        MockWaiter::new(&net),
    );
    p.startup(Version::new(2, 2), Arc::new(RecordingNotifier::new()))
        .unwrap();
    (net, p)
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn sock(p: &P, family: AddressFamily, kind: SocketKind) -> winsock_provider::SocketHandle {
    p.socket(family, kind, SocketFlags::empty()).unwrap()
}

#[test]
fn ipv6_stream_socket_talks_to_an_ipv6_peer() {
    let (_net, p) = started(true);
    let s = sock(&p, AddressFamily::Inet6, SocketKind::Stream);
    assert_eq!(p.address_family(s), Ok(AddressFamily::Inet6));
    p.connect(s, addr("[fd00::9]:7")).unwrap();
    assert_eq!(p.peer_addr(s), Ok(addr("[fd00::9]:7")));
    let local = p.local_addr(s).unwrap();
    assert_eq!(
        local.ip(),
        addr("[fd00::1]:0").ip(),
        "the node's IPv6 address"
    );
    assert_eq!(p.send(s, b"hello v6", MsgFlags::empty(), None), Ok(8));
    let got = p.recv(s, 100, MsgFlags::empty(), None).unwrap();
    assert_eq!(got.data, b"hello v6");
}

#[test]
fn ipv6_datagrams_carry_their_sender() {
    let (_net, p) = started(true);
    let a = sock(&p, AddressFamily::Inet6, SocketKind::Datagram);
    let b = sock(&p, AddressFamily::Inet6, SocketKind::Datagram);
    let at_a = p.bind(a, addr("[::]:0")).unwrap();
    let at_b = p.bind(b, addr("[fd00::1]:5000")).unwrap();
    assert_eq!(at_b, addr("[fd00::1]:5000"));
    p.send_to(a, b"ping", at_b, MsgFlags::empty(), None)
        .unwrap();
    let got = p.recv(b, 100, MsgFlags::empty(), None).unwrap();
    assert_eq!(got.data, b"ping");
    assert_eq!(
        got.from,
        Some(SocketAddr::new(addr("[fd00::1]:0").ip(), at_a.port()))
    );
}

/// S13: an address of the other family is `WSAEAFNOSUPPORT` at bind,
/// connect and send-to, and leaves the socket as it was.
#[test]
fn s13_an_address_of_the_other_family_is_refused_and_changes_nothing() {
    let (_net, p) = started(true);
    let v4 = sock(&p, AddressFamily::Inet, SocketKind::Stream);
    let v6 = sock(&p, AddressFamily::Inet6, SocketKind::Stream);
    let afno = Err(WsaError::AddressFamilyNotSupported);
    assert_eq!(p.bind(v4, addr("[::]:0")).map(|_| ()), afno);
    assert_eq!(p.connect(v4, addr("[fd00::9]:7")), afno);
    assert_eq!(p.bind(v6, addr("0.0.0.0:0")).map(|_| ()), afno);
    assert_eq!(p.connect(v6, addr("10.0.0.9:7")), afno);
    // Nothing changed: both still connect to a peer of their own family.
    p.connect(v4, addr("10.0.0.9:7")).unwrap();
    p.connect(v6, addr("[fd00::9]:7")).unwrap();

    let d6 = sock(&p, AddressFamily::Inet6, SocketKind::Datagram);
    let sent = p.send_to(d6, b"x", addr("10.0.0.9:7"), MsgFlags::empty(), None);
    assert_eq!(sent.map(|_| ()), afno);
    assert_eq!(
        p.local_addr(d6),
        Err(WsaError::InvalidArgument),
        "not bound by it"
    );
}

/// A node without an IPv6 address has none to bind: `WSAEADDRNOTAVAIL`.
#[test]
fn a_node_without_an_ipv6_address_cannot_bind_one() {
    let (_net, p) = started(false);
    let s = sock(&p, AddressFamily::Inet6, SocketKind::Stream);
    assert_eq!(
        p.bind(s, addr("[::]:0")).map(|_| ()),
        Err(WsaError::AddressNotAvailable)
    );
    assert_eq!(
        p.bind(s, addr("[fd00::1]:0")).map(|_| ()),
        Err(WsaError::AddressNotAvailable)
    );
}
