//! Socket options and ioctls as Windows answers them (spec §15): the core
//! keeps what it owns and passes the rest down; an option of another
//! protocol is `WSAENOPROTOOPT`, an unknown level `WSAEINVAL`; the length
//! rules; `SO_RCVTIMEO`/`SO_SNDTIMEO` time blocking calls out.

mod common;

use common::{World, ov};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use winsock_provider::mock::{MockTransport, MockWaiter, Network, RecordingNotifier};
use winsock_provider::option_names::*;
use winsock_provider::testkit::{Intercept, Intercepted};
use winsock_provider::{
    AddressFamily, CompletionMode, EventKey, MsgFlags, OptionName, OptionValue, Provider,
    ProviderConfig, SocketFlags, SocketHandle, SocketKind, Version, WsaError,
};

fn int(v: i32) -> [u8; 4] {
    v.to_ne_bytes()
}

fn datagram(w: &World) -> SocketHandle {
    w.a.p
        .socket(
            AddressFamily::Inet,
            SocketKind::Datagram,
            SocketFlags::empty(),
        )
        .unwrap()
}

/// The cases the issue names: `SO_LINGER` on a datagram socket is
/// `WSAENOPROTOOPT` (it succeeded); an unknown level is `WSAEINVAL` (it
/// was `WSAENOPROTOOPT`); `SO_DONTLINGER` with length 1 is accepted (it was
/// `WSAEFAULT`).
#[test]
fn options_answer_as_windows_does() {
    let w = World::new(9101);
    let d = datagram(&w);
    let s = w.a.stream();
    let p = &w.a.p;
    assert_eq!(
        p.set_option(d, SOL_SOCKET, SO_LINGER, &[1, 0, 5, 0]),
        Err(WsaError::ProtocolOption)
    );
    assert_eq!(
        p.option(d, SOL_SOCKET, SO_LINGER, 4),
        Err(WsaError::ProtocolOption)
    );
    assert_eq!(
        p.set_option(s, 0x1234_FFFF, SO_DEBUG, &int(1)),
        Err(WsaError::InvalidArgument)
    );
    assert_eq!(
        p.option(s, 0x8000, SO_DEBUG, 4),
        Err(WsaError::InvalidArgument)
    );
    assert_eq!(p.set_option(s, SOL_SOCKET, SO_DONTLINGER, &[0]), Ok(()));
    assert!(
        p.linger(s).unwrap().on,
        "SO_DONTLINGER 0 turns lingering on"
    );
    assert_eq!(
        p.set_option(s, SOL_SOCKET, SO_LINGER, &[1, 0]),
        Err(WsaError::Fault),
        "SO_LINGER needs its 4 bytes"
    );
    assert_eq!(p.option(s, SOL_SOCKET, SO_TYPE, 0), Err(WsaError::Fault));
    assert_eq!(
        p.set_option(s, SOL_SOCKET, SO_TYPE, &int(2)),
        Err(WsaError::ProtocolOption),
        "read-only"
    );
    assert_eq!(p.option(s, SOL_SOCKET, SO_TYPE, 4), Ok(int(1).to_vec()));
    assert_eq!(
        p.option(d, SOL_SOCKET, SO_MAX_MSG_SIZE, 4),
        Ok(int(65_507).to_vec())
    );
}

/// The options applications set all the time reach the transport and
/// read back with Windows' lengths: one-byte booleans (`SO_KEEPALIVE`,
/// `TCP_NODELAY`, `IPV6_V6ONLY`, on by default) come back as one byte;
/// `SO_REUSEADDR` and its kind as one byte into a short buffer, an `int`
/// into a long one. `SO_EXCLUSIVEADDRUSE` with `SO_REUSEADDR` is refused.
#[test]
fn the_common_options_reach_the_transport_and_read_back() {
    let w = World::new(9102);
    let p = &w.a.p;
    let s = w.a.stream();
    let d = datagram(&w);
    for (level, name) in [(SOL_SOCKET, SO_KEEPALIVE), (IPPROTO_TCP, TCP_NODELAY)] {
        assert_eq!(p.option(s, level, name, 4), Ok(vec![0]));
        p.set_option(s, level, name, &int(0x101)).unwrap();
        assert_eq!(p.option(s, level, name, 4), Ok(vec![1]), "the first byte");
    }
    p.set_option(s, SOL_SOCKET, SO_OOBINLINE, &[1]).unwrap();
    assert_eq!(p.option(s, SOL_SOCKET, SO_OOBINLINE, 1), Ok(vec![1]));
    assert_eq!(
        p.option(s, SOL_SOCKET, SO_OOBINLINE, 4),
        Ok(int(1).to_vec())
    );
    p.set_option(d, SOL_SOCKET, SO_BROADCAST, &int(1)).unwrap();
    assert_eq!(
        p.option(d, SOL_SOCKET, SO_BROADCAST, 4),
        Ok(int(1).to_vec())
    );
    p.set_option(s, SOL_SOCKET, SO_REUSEADDR, &int(1)).unwrap();
    assert_eq!(
        p.set_option(s, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, &int(1)),
        Err(WsaError::InvalidArgument)
    );
    let v6 = p
        .socket(
            AddressFamily::Inet6,
            SocketKind::Stream,
            SocketFlags::empty(),
        )
        .unwrap();
    assert_eq!(p.option(v6, IPPROTO_IPV6, IPV6_V6ONLY, 4), Ok(vec![1]));
    p.set_option(v6, IPPROTO_IPV6, IPV6_V6ONLY, &[0]).unwrap();
    assert_eq!(p.option(v6, IPPROTO_IPV6, IPV6_V6ONLY, 4), Ok(vec![0]));
    assert_eq!(
        p.option(s, IPPROTO_IPV6, IPV6_V6ONLY, 4),
        Err(WsaError::InvalidArgument),
        "IPPROTO_IPV6 on an IPv4 socket"
    );
}

/// `SO_BROADCAST` gates a broadcast: `WSAEACCES` without it.
#[test]
fn a_broadcast_needs_so_broadcast() {
    let w = World::new(9103);
    let d = datagram(&w);
    let all: SocketAddr = "255.255.255.255:9".parse().unwrap();
    let p = &w.a.p;
    assert_eq!(
        p.send_to(d, b"hi", all, MsgFlags::empty(), None),
        Err(WsaError::AccessDenied)
    );
    p.set_option(d, SOL_SOCKET, SO_BROADCAST, &int(1)).unwrap();
    assert_eq!(p.send_to(d, b"hi", all, MsgFlags::empty(), None), Ok(2));
}

/// `SO_ERROR` keeps what is set and `SO_ACCEPTCONN` says whether the
/// socket listens (spec §15).
#[test]
fn so_error_and_so_acceptconn_read_the_socket() {
    let w = World::new(9104);
    let p = &w.b.p;
    let s = w.b.stream();
    p.set_option(s, SOL_SOCKET, SO_ERROR, &int(10054)).unwrap();
    assert_eq!(
        p.option(s, SOL_SOCKET, SO_ERROR, 4),
        Ok(int(10054).to_vec())
    );
    assert_eq!(
        p.option(s, SOL_SOCKET, SO_ACCEPTCONN, 4),
        Ok(int(0).to_vec())
    );
    p.bind(s, SocketAddr::from((w.b.ip, 0))).unwrap();
    p.listen(s, 1).unwrap();
    assert_eq!(
        p.option(s, SOL_SOCKET, SO_ACCEPTCONN, 4),
        Ok(int(1).to_vec())
    );
}

/// Spec §15: `SO_RCVTIMEO` makes a blocking receive fail with
/// `WSAETIMEDOUT` after the timeout (virtual time in the mock), and the
/// socket stays usable: the next receive gets the data. An overlapped
/// receive ignores it.
#[test]
fn so_rcvtimeo_times_a_blocking_receive_out_and_the_socket_stays_usable() {
    let w = World::new(9105);
    let (a, b) = w.pair();
    let p = &w.a.p;
    p.set_option(a, SOL_SOCKET, SO_RCVTIMEO, &int(250)).unwrap();
    assert_eq!(
        p.option(a, SOL_SOCKET, SO_RCVTIMEO, 4),
        Ok(int(250).to_vec())
    );
    let start = w.net.now();
    assert_eq!(
        p.recv(a, 10, MsgFlags::empty(), None).err(),
        Some(WsaError::TimedOut)
    );
    assert_eq!(w.net.now() - start, Duration::from_millis(250));
    assert_eq!(
        p.pending_operations(a),
        Ok(0),
        "taken back from the transport"
    );
    w.b.p.send(b, b"late", MsgFlags::empty(), None).unwrap();
    assert_eq!(
        p.recv(a, 10, MsgFlags::empty(), None).unwrap().data,
        b"late"
    );
    // Overlapped: no timeout, it waits for data.
    let r = ov(CompletionMode::Event(EventKey(1)));
    let rec = r.overlapped.clone();
    assert_eq!(
        p.recv(a, 10, MsgFlags::empty(), Some(r)).err(),
        Some(WsaError::IoPending)
    );
    w.net.advance(Duration::from_secs(1));
    assert!(
        !rec.state().is_terminal(),
        "still pending after the timeout"
    );
}

/// `SO_SNDTIMEO` makes a blocking send to a reader that has stalled fail
/// with `WSAETIMEDOUT`.
#[test]
fn so_sndtimeo_times_a_blocking_send_out() {
    let w = World::new(9106);
    let (s, _) = w.to_discard(9, Some(0));
    let p = &w.a.p;
    p.set_option(s, SOL_SOCKET, SO_SNDTIMEO, &int(100)).unwrap();
    assert_eq!(
        p.send(s, &[1; 1_000_000], MsgFlags::empty(), None),
        Err(WsaError::TimedOut)
    );
    assert_eq!(p.pending_operations(s), Ok(0));
}

/// A transport that knows one option and one ioctl of its own, over the
/// mock: the core passes both down untouched.
struct Extra;

const MY_LEVEL_OPTION: i32 = 0x7777;
const MY_IOCTL: u32 = 0x9800_0042;

impl Intercept<MockTransport> for Extra {
    fn set_option(
        &self,
        _: &MockTransport,
        _: SocketHandle,
        name: OptionName,
        value: &OptionValue,
    ) -> Result<(), WsaError> {
        match (name, value) {
            (
                OptionName::Other {
                    level: SOL_SOCKET,
                    name: MY_LEVEL_OPTION,
                },
                OptionValue::Bytes(b),
            ) if b == b"xyz" => Ok(()),
            _ => Err(name.unsupported()),
        }
    }
    fn option(
        &self,
        _: &MockTransport,
        _: SocketHandle,
        name: OptionName,
    ) -> Result<OptionValue, WsaError> {
        match name {
            OptionName::Other {
                level: SOL_SOCKET,
                name: MY_LEVEL_OPTION,
            } => Ok(OptionValue::Bytes(b"abc".to_vec())),
            _ => Err(name.unsupported()),
        }
    }
    fn ioctl(
        &self,
        _: &MockTransport,
        _: SocketHandle,
        code: u32,
        input: &[u8],
        cap: usize,
    ) -> Result<Vec<u8>, WsaError> {
        match code {
            MY_IOCTL if cap >= input.len() => Ok(input.iter().rev().copied().collect()),
            _ => Err(WsaError::InvalidArgument),
        }
    }
}

/// Options and ioctls the core does not know go down untouched, and a
/// transport without them answers `WSAENOPROTOOPT` and `WSAEINVAL` (the
/// trait's defaults).
#[test]
fn unknown_options_and_ioctls_are_passed_down() {
    let net = Network::new(9107);
    let node = net.add_node("10.0.0.1".parse().unwrap());
    let p = Provider::new(
        ProviderConfig::default(),
        Intercepted::new(net.transport(node), Extra),
        MockWaiter::new(&net),
    );
    p.startup(Version::new(2, 2), Arc::new(RecordingNotifier::new()))
        .unwrap();
    let s = p
        .socket(
            AddressFamily::Inet,
            SocketKind::Stream,
            SocketFlags::empty(),
        )
        .unwrap();
    assert_eq!(p.set_option(s, SOL_SOCKET, MY_LEVEL_OPTION, b"xyz"), Ok(()));
    assert_eq!(
        p.option(s, SOL_SOCKET, MY_LEVEL_OPTION, 8),
        Ok(b"abc".to_vec())
    );
    assert_eq!(
        p.option(s, SOL_SOCKET, MY_LEVEL_OPTION, 2),
        Err(WsaError::Fault),
        "a buffer too short for the value"
    );
    assert_eq!(
        p.set_option(s, SOL_SOCKET, MY_LEVEL_OPTION + 1, b"xyz"),
        Err(WsaError::ProtocolOption)
    );
    assert_eq!(p.ioctl(s, MY_IOCTL, &[1, 2, 3], 3), Ok(vec![3, 2, 1]));
    assert_eq!(
        p.ioctl(s, 0x9800_0043, &[], 0),
        Err(WsaError::InvalidArgument)
    );
    assert_eq!(
        p.ioctl(s, 0x4004_667F, &[], 4),
        Ok(0u32.to_ne_bytes().to_vec()),
        "FIONREAD is the core's"
    );
}
