//! Addresses through the ABI: IPv6 (spec §15: `AF_INET6` sockets,
//! `sockaddr_in6` in and out), addresses of the wrong family or length
//! refused (S13), and `AF_UNSPEC` dissolving a datagram socket's
//! association. Same harness as tests/abi.rs.

mod abi_host;

use abi_host::*;
use std::net::{Ipv6Addr, SocketAddrV6};
use std::ptr::{null, null_mut};
use winsock_provider::ffi::abi::{
    AF_INET, AF_INET6, INVALID_SOCKET, IPPROTO_TCP, SOCK_STREAM, SOCKADDR, SOCKADDR_IN,
    SOCKADDR_IN6, SOCKET, WSPPROC_TABLE,
};

winsock_provider::export_provider!(TestDll);

const WSAEAFNOSUPPORT: i32 = 10047;

fn connect_raw(t: &WSPPROC_TABLE, s: SOCKET, name: *const SOCKADDR, len: i32) -> (i32, i32) {
    // SAFETY: live locals; null optional arguments.
    errno_of(|e| unsafe {
        t.lpWSPConnect.unwrap()(s, name, len, null(), null_mut(), null(), null(), e)
    })
}

fn name_of<T>(v: &T) -> *const SOCKADDR {
    (v as *const T).cast()
}

/// `WSPGetSockName` or `WSPGetPeerName` into a 28-byte buffer.
fn names(t: &WSPPROC_TABLE, s: SOCKET, peer: bool) -> (i32, i32, SOCKADDR_IN6, i32) {
    let mut out = SOCKADDR_IN6::default();
    let mut len = 28;
    let entry = if peer {
        t.lpWSPGetPeerName.unwrap()
    } else {
        t.lpWSPGetSockName.unwrap()
    };
    // SAFETY: live locals.
    let (r, errno) =
        errno_of(|e| unsafe { entry(s, (&raw mut out).cast::<SOCKADDR>(), &mut len, e) });
    (r, errno, out, len)
}

#[test]
fn an_ipv6_socket_connects_talks_and_names_itself_with_sockaddr_in6() {
    let _g = serial();
    let t = started();
    let s = new_socket_in(&t, i32::from(AF_INET6));
    let to = sockaddr6(ECHO6);
    assert_eq!(connect_raw(&t, s, name_of(&to), 28), (0, 0));
    send(&t, s, b"over v6");
    assert_eq!(recv_blocking(&t, s), b"over v6");

    let (r, errno, local, len) = names(&t, s, false);
    assert_eq!((r, errno, len), (0, 0, 28));
    assert_eq!(local.sin6_family, AF_INET6);
    // SAFETY: the union's bytes.
    assert_eq!(Ipv6Addr::from(unsafe { local.sin6_addr.u.Byte }), LOCAL6);
    assert_ne!(local.sin6_port, 0);
    let (r, errno, peer, len) = names(&t, s, true);
    assert_eq!((r, errno, len), (0, 0, 28));
    // SAFETY: the union's bytes.
    let ip = Ipv6Addr::from(unsafe { peer.sin6_addr.u.Byte });
    assert_eq!(
        SocketAddrV6::new(ip, u16::from_be(peer.sin6_port), 0, 0),
        ECHO6
    );

    // A buffer with room for a sockaddr_in only is too short.
    let mut small = SOCKADDR_IN::default();
    let mut len = 16;
    // SAFETY: live locals.
    let (r, errno) = errno_of(|e| unsafe {
        t.lpWSPGetSockName.unwrap()(s, (&raw mut small).cast::<SOCKADDR>(), &mut len, e)
    });
    assert_eq!((r, errno, len), (-1, WSAEFAULT, 16));
    reset(&t);
}

/// S13, spec §15: a `sockaddr_in` given to an IPv6 socket is too short
/// (`WSAEFAULT`), a `sockaddr_in6` given to an IPv4 socket is of a family
/// it does not support (`WSAEAFNOSUPPORT`), and a `namelen` shorter than
/// the `sockaddr_in6` is `WSAEFAULT`; each leaves the socket able to
/// connect afterwards. A family the provider does not know is refused by
/// `WSPSocket`.
#[test]
fn s13_an_address_of_the_wrong_family_or_length_is_refused_at_the_abi() {
    let _g = serial();
    let t = started();
    let v6 = new_socket_in(&t, i32::from(AF_INET6));
    let v4 = new_socket_in(&t, i32::from(AF_INET));
    let sin = sockaddr(ECHO);
    let sin6 = sockaddr6(ECHO6);
    assert_eq!(connect_raw(&t, v6, name_of(&sin), 16), (-1, WSAEFAULT));
    assert_eq!(connect_raw(&t, v6, name_of(&sin6), 27), (-1, WSAEFAULT));
    assert_eq!(
        connect_raw(&t, v4, name_of(&sin6), 28),
        (-1, WSAEAFNOSUPPORT)
    );
    // SAFETY: live locals.
    let bound = errno_of(|e| unsafe { t.lpWSPBind.unwrap()(v6, name_of(&sin), 16, e) });
    assert_eq!(bound, (-1, WSAEFAULT));
    assert_eq!(connect_raw(&t, v6, name_of(&sin6), 28), (0, 0));
    assert_eq!(connect_raw(&t, v4, name_of(&sin), 16), (0, 0));

    let info = protocol();
    let mut errno = 0;
    // SAFETY: live locals. 10 is Linux's AF_INET6, not Windows'.
    let s =
        unsafe { t.lpWSPSocket.unwrap()(10, SOCK_STREAM, IPPROTO_TCP, &info, 0, 0, &mut errno) };
    assert_eq!((s, errno), (INVALID_SOCKET, WSAEAFNOSUPPORT));
    reset(&t);
}

/// WSPConnect: a datagram socket's connect to an `AF_UNSPEC` address
/// dissolves its association and returns 0; a stream socket's is
/// `WSAEAFNOSUPPORT`.
#[test]
fn af_unspec_dissolves_a_datagram_association() {
    let _g = serial();
    let t = started();
    let info = protocol();
    let mut errno = 0;
    // SAFETY: live locals.
    let d = unsafe {
        t.lpWSPSocket.unwrap()(
            2,
            winsock_provider::ffi::abi::SOCK_DGRAM,
            17,
            &info,
            0,
            0,
            &mut errno,
        )
    };
    let echo = sockaddr(ECHO);
    assert_eq!(connect_raw(&t, d, name_of(&echo), 16), (0, 0));
    let (r, errno, _, _) = names(&t, d, true);
    assert_eq!((r, errno), (0, 0), "has a peer");
    let unspec = SOCKADDR_IN::default();
    assert_eq!(connect_raw(&t, d, name_of(&unspec), 16), (0, 0));
    let (r, errno, _, _) = names(&t, d, true);
    assert_eq!((r, errno), (-1, WSAENOTCONN), "the association is gone");
    let s = new_socket(&t);
    assert_eq!(
        connect_raw(&t, s, name_of(&unspec), 16),
        (-1, WSAEAFNOSUPPORT)
    );
    reset(&t);
}
