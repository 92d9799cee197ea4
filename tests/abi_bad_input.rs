//! Bad input through the ABI, one kind of answer per test, each across every
//! entry it concerns (S13, S9): stale handles, the one pointer check,
//! optional pointers, a routine without a record, refused overlapped calls,
//! and a record posted twice. Same harness as tests/abi.rs.

mod abi_host;

use abi_host::*;
use std::ptr::{null, null_mut};
use std::sync::atomic::Ordering;
use winsock_provider::ffi::Exported;
use winsock_provider::ffi::abi::{
    FIONBIO, FIONREAD, INVALID_SOCKET, SO_LINGER, SOCK_DGRAM, SOCKADDR, SOCKADDR_IN, SOCKET,
    SOCKET_ERROR, SOL_SOCKET, WSABUF, WSANETWORKEVENTS, WSAOVERLAPPED, WSATHREADID, WSPPROC_TABLE,
    WSS_OPERATION_IN_PROGRESS,
};

winsock_provider::export_provider!(TestDll);

/// An address in the null-pointer guard region: never valid memory.
const LOW: usize = 1;

/// A datagram socket, not overlapped.
fn datagram(t: &WSPPROC_TABLE) -> SOCKET {
    let info = protocol();
    let mut errno = 0;
    // SAFETY: live locals.
    let s = unsafe { t.lpWSPSocket.unwrap()(2, SOCK_DGRAM, 17, &info, 0, 0, &mut errno) };
    assert_ne!(s, INVALID_SOCKET, "errno {errno}");
    s
}

/// Every entry that takes a socket, called with `s`: `(entry, errno)` of
/// each. The arguments are otherwise valid.
fn every_socket_entry(t: &WSPPROC_TABLE, s: SOCKET) -> Vec<(&'static str, i32)> {
    let mut out = Vec::new();
    let mut name = sockaddr(ECHO);
    let mut len = 16;
    let mut buf = [0u8; 8];
    let wsabuf = WSABUF {
        len: 8,
        buf: buf.as_mut_ptr(),
    };
    let (mut n, mut flags, mut v) = (0u32, 0u32, 0i32);
    let mut ev: WSANETWORKEVENTS = unsafe { std::mem::zeroed() };
    let mut ov = WSAOVERLAPPED::default();
    let name_p = (&raw mut name).cast::<SOCKADDR>();
    // SAFETY (whole block): live locals, valid arguments but the handle.
    unsafe {
        let mut push = |entry, (r, errno): (i32, i32)| {
            assert_ne!(r, 0, "{entry} succeeded");
            out.push((entry, errno));
        };
        push("Bind", errno_of(|e| t.lpWSPBind.unwrap()(s, name_p, 16, e)));
        push("Listen", errno_of(|e| t.lpWSPListen.unwrap()(s, 1, e)));
        push(
            "Accept",
            errno_of(|e| {
                (t.lpWSPAccept.unwrap()(s, null_mut(), null_mut(), None, 0, e) == INVALID_SOCKET)
                    as i32
            }),
        );
        push(
            "Connect",
            errno_of(|e| {
                t.lpWSPConnect.unwrap()(s, name_p, 16, null(), null_mut(), null(), null(), e)
            }),
        );
        push("Shutdown", errno_of(|e| t.lpWSPShutdown.unwrap()(s, 2, e)));
        push(
            "GetSockName",
            errno_of(|e| t.lpWSPGetSockName.unwrap()(s, name_p, &mut len, e)),
        );
        push(
            "GetPeerName",
            errno_of(|e| t.lpWSPGetPeerName.unwrap()(s, name_p, &mut len, e)),
        );
        len = 4;
        push(
            "GetSockOpt",
            errno_of(|e| {
                t.lpWSPGetSockOpt.unwrap()(s, SOL_SOCKET, 0x1008, (&raw mut v).cast(), &mut len, e)
            }),
        );
        push(
            "SetSockOpt",
            errno_of(|e| {
                t.lpWSPSetSockOpt.unwrap()(s, SOL_SOCKET, 0x1001, (&raw const v).cast(), 4, e)
            }),
        );
        push(
            "Ioctl",
            errno_of(|e| {
                let mut out = 0u32;
                t.lpWSPIoctl.unwrap()(
                    s,
                    FIONREAD as u32,
                    null(),
                    0,
                    (&raw mut out).cast(),
                    4,
                    &mut n,
                    null_mut(),
                    None,
                    null(),
                    e,
                )
            }),
        );
        let null_ov: *mut WSAOVERLAPPED = null_mut();
        push(
            "Send",
            errno_of(|e| t.lpWSPSend.unwrap()(s, &wsabuf, 1, &mut n, 0, null_ov, None, null(), e)),
        );
        push(
            "SendTo",
            errno_of(|e| {
                t.lpWSPSendTo.unwrap()(
                    s,
                    &wsabuf,
                    1,
                    &mut n,
                    0,
                    name_p,
                    16,
                    null_ov,
                    None,
                    null(),
                    e,
                )
            }),
        );
        push(
            "Recv",
            errno_of(|e| {
                t.lpWSPRecv.unwrap()(s, &wsabuf, 1, &mut n, &mut flags, null_ov, None, null(), e)
            }),
        );
        push(
            "RecvFrom",
            errno_of(|e| {
                t.lpWSPRecvFrom.unwrap()(
                    s,
                    &wsabuf,
                    1,
                    &mut n,
                    &mut flags,
                    name_p,
                    &mut len,
                    null_ov,
                    None,
                    null(),
                    e,
                )
            }),
        );
        push(
            "EventSelect",
            errno_of(|e| t.lpWSPEventSelect.unwrap()(s, 5, 1, e)),
        );
        push(
            "AsyncSelect",
            errno_of(|e| t.lpWSPAsyncSelect.unwrap()(s, 0x99 as _, 0x400, 1, e)),
        );
        push(
            "EnumNetworkEvents",
            errno_of(|e| t.lpWSPEnumNetworkEvents.unwrap()(s, null_mut(), &mut ev, e)),
        );
        push(
            "GetOverlappedResult",
            errno_of(|e| {
                (t.lpWSPGetOverlappedResult.unwrap()(s, &mut ov, &mut n, 0, &mut flags, e) == 0)
                    as i32
            }),
        );
        push(
            "CloseSocket",
            errno_of(|e| t.lpWSPCloseSocket.unwrap()(s, e)),
        );
    }
    out
}

/// S13, S6h: a handle whose socket was closed, and one from before the last
/// cleanup, are WSAENOTSOCK at every entry that takes a socket, even when
/// the host still answers for them; `WSPGetOverlappedResult`, whose work
/// never reaches the core, answered TRUE before.
#[test]
fn s13_a_closed_or_stale_handle_is_wsaenotsock_at_every_entry() {
    let _turn = serial();
    let t = started();
    reset(&t);
    let t = started();
    SLOPPY.store(true, Ordering::SeqCst);
    // A finished overlapped receive on the socket, then the socket closed.
    let s = connected_to_echo(&t);
    let (mut buf, mut ov) = ([0u8; 8], WSAOVERLAPPED::default());
    post_recv(&t, s, &mut buf, &mut ov, false);
    send(&t, s, b"x");
    assert_ne!(ov.Internal, WSS_OPERATION_IN_PROGRESS);
    let (r, errno) = errno_of(|e| unsafe { t.lpWSPCloseSocket.unwrap()(s, e) });
    assert_eq!((r, errno), (0, 0));
    let (mut n, mut flags) = (0u32, 0u32);
    let (ok, errno) = errno_of(|e| unsafe {
        t.lpWSPGetOverlappedResult.unwrap()(s, &ov, &mut n, 0, &mut flags, e)
    });
    assert_eq!(
        (ok, errno),
        (0, WSAENOTSOCK),
        "the record of a closed socket"
    );
    for (entry, errno) in every_socket_entry(&t, s) {
        assert_eq!(errno, WSAENOTSOCK, "{entry} on a closed socket's handle");
    }
    // A handle from before the last cleanup, after a restart.
    let old = connected_to_echo(&t);
    reset(&t);
    let t = started();
    for (entry, errno) in every_socket_entry(&t, old) {
        assert_eq!(
            errno, WSAENOTSOCK,
            "{entry} on a handle from before the cleanup"
        );
    }
    SLOPPY.store(false, Ordering::SeqCst);
    reset(&t);
}

/// S13: `WSPAccept` on a datagram socket is WSAEOPNOTSUPP (the SPI: a socket
/// type that does not support accept), as `WSPListen` on it answers; the
/// type is checked before the listening state.
#[test]
fn s13_accept_on_a_datagram_socket_is_wsaeopnotsupp() {
    let _turn = serial();
    let t = started();
    let d = datagram(&t);
    // SAFETY (whole block): live locals.
    unsafe {
        let (r, errno) = errno_of(|e| t.lpWSPListen.unwrap()(d, 1, e));
        assert_eq!((r, errno), (SOCKET_ERROR, WSAEOPNOTSUPP));
        let mut errno = 0;
        let a = t.lpWSPAccept.unwrap()(d, null_mut(), null_mut(), None, 0, &mut errno);
        assert_eq!((a, errno), (INVALID_SOCKET, WSAEOPNOTSUPP));
        // A stream socket that is not listening stays WSAEINVAL.
        let s = new_socket(&t);
        let a = t.lpWSPAccept.unwrap()(s, null_mut(), null_mut(), None, 0, &mut errno);
        assert_eq!((a, errno), (INVALID_SOCKET, WSAEINVAL));
    }
    reset(&t);
}

/// S9 (spec §5): a call without a `WSAOVERLAPPED` is not overlapped, whatever
/// routine it passes: `WSPSend`, `WSPSendTo`, `WSPRecv` and `WSPRecvFrom`
/// alike run as plain calls, ignore the routine, and queue nothing (before,
/// the two sends refused it with WSAEFAULT and the receives ran it plain).
#[test]
fn s9_a_routine_without_a_record_is_a_plain_call_at_every_entry() {
    let _turn = serial();
    let t = started();
    let s = connected_to_echo(&t);
    let apcs = APCS.load(Ordering::SeqCst);
    let data = *b"plain";
    let out = WSABUF {
        len: 5,
        buf: data.as_ptr().cast_mut(),
    };
    let mut buf = [0u8; 16];
    let into = WSABUF {
        len: 16,
        buf: buf.as_mut_ptr(),
    };
    let thread = WSATHREADID {
        ThreadHandle: 1 as _,
        Reserved: 0,
    };
    let to = sockaddr(ECHO);
    let mut from = SOCKADDR_IN::default();
    let (mut n, mut flags, mut fromlen) = (0u32, 0u32, 16);
    let no_record: *mut WSAOVERLAPPED = null_mut();
    // SAFETY (whole block): live locals; the null record is what is tested.
    unsafe {
        let r = errno_of(|e| {
            t.lpWSPSend.unwrap()(s, &out, 1, &mut n, 0, no_record, Some(routine), &thread, e)
        });
        assert_eq!((r, n), ((0, 0), 5), "WSPSend");
        let r = errno_of(|e| {
            t.lpWSPRecv.unwrap()(
                s,
                &into,
                1,
                &mut n,
                &mut flags,
                no_record,
                Some(routine),
                &thread,
                e,
            )
        });
        assert_eq!((r, &buf[..n as usize]), ((0, 0), &b"plain"[..]), "WSPRecv");
        let r = errno_of(|e| {
            t.lpWSPSendTo.unwrap()(
                s,
                &out,
                1,
                &mut n,
                0,
                (&raw const to).cast(),
                16,
                no_record,
                Some(routine),
                &thread,
                e,
            )
        });
        assert_eq!((r, n), ((0, 0), 5), "WSPSendTo");
        let r = errno_of(|e| {
            t.lpWSPRecvFrom.unwrap()(
                s,
                &into,
                1,
                &mut n,
                &mut flags,
                (&raw mut from).cast(),
                &mut fromlen,
                no_record,
                Some(routine),
                &thread,
                e,
            )
        });
        assert_eq!((r, n), ((0, 0), 5), "WSPRecvFrom");
    }
    alertable_wait();
    assert_eq!(APCS.load(Ordering::SeqCst), apcs, "no routine was queued");
    reset(&t);
}

/// S13: every pointer the shim reads or writes goes through the one pointer
/// check: one into the null-pointer guard region (`(u_long *)1`, which
/// crashed the provider in `WSPIoctl`) is WSAEFAULT at each entry that
/// takes one, and changes nothing.
#[test]
fn s13_a_pointer_in_the_guard_region_is_wsaefault_at_every_entry() {
    let _turn = serial();
    let t = started();
    let s = connected_to_echo(&t);
    let low = LOW as *mut u8;
    let (mut n, mut flags, mut len) = (0u32, 0u32, 4);
    let null_ov: *mut WSAOVERLAPPED = null_mut();
    let bad_buf = WSABUF { len: 4, buf: low };
    let mut faults = Vec::new();
    // SAFETY (whole block): the guard-region pointers are what is tested;
    // the shim must refuse them before touching them.
    unsafe {
        let mut expect = |what, (r, errno): (i32, i32)| faults.push((what, r, errno));
        expect(
            "Ioctl FIONBIO in",
            errno_of(|e| {
                t.lpWSPIoctl.unwrap()(
                    s,
                    FIONBIO as u32,
                    low.cast(),
                    4,
                    null_ov.cast(),
                    0,
                    &mut n,
                    null_ov,
                    None,
                    null(),
                    e,
                )
            }),
        );
        expect(
            "Ioctl FIONREAD out",
            errno_of(|e| {
                t.lpWSPIoctl.unwrap()(
                    s,
                    FIONREAD as u32,
                    null(),
                    0,
                    low.cast(),
                    4,
                    &mut n,
                    null_ov,
                    None,
                    null(),
                    e,
                )
            }),
        );
        expect(
            "Ioctl lpcbBytesReturned",
            errno_of(|e| {
                let mut out = 0u32;
                t.lpWSPIoctl.unwrap()(
                    s,
                    FIONREAD as u32,
                    null(),
                    0,
                    (&raw mut out).cast(),
                    4,
                    LOW as *mut u32,
                    null_ov,
                    None,
                    null(),
                    e,
                )
            }),
        );
        expect(
            "SetSockOpt optval",
            errno_of(|e| t.lpWSPSetSockOpt.unwrap()(s, SOL_SOCKET, SO_LINGER, low, 4, e)),
        );
        expect(
            "GetSockOpt optval",
            errno_of(|e| t.lpWSPGetSockOpt.unwrap()(s, SOL_SOCKET, SO_LINGER, low, &mut len, e)),
        );
        expect(
            "GetSockName name",
            errno_of(|e| t.lpWSPGetSockName.unwrap()(s, low.cast(), &mut len, e)),
        );
        expect(
            "Bind name",
            errno_of(|e| t.lpWSPBind.unwrap()(s, low.cast(), 16, e)),
        );
        expect(
            "Send WSABUF.buf",
            errno_of(|e| t.lpWSPSend.unwrap()(s, &bad_buf, 1, &mut n, 0, null_ov, None, null(), e)),
        );
        expect(
            "Recv WSABUF.buf",
            errno_of(|e| {
                t.lpWSPRecv.unwrap()(s, &bad_buf, 1, &mut n, &mut flags, null_ov, None, null(), e)
            }),
        );
        expect(
            "Recv lpBuffers",
            errno_of(|e| {
                t.lpWSPRecv.unwrap()(
                    s,
                    LOW as *const WSABUF,
                    1,
                    &mut n,
                    &mut flags,
                    null_ov,
                    None,
                    null(),
                    e,
                )
            }),
        );
        expect(
            "Recv lpOverlapped",
            errno_of(|e| {
                let mut b = [0u8; 4];
                let ok_buf = WSABUF {
                    len: 4,
                    buf: b.as_mut_ptr(),
                };
                t.lpWSPRecv.unwrap()(
                    s,
                    &ok_buf,
                    1,
                    &mut n,
                    &mut flags,
                    LOW as *mut WSAOVERLAPPED,
                    None,
                    null(),
                    e,
                )
            }),
        );
        expect(
            "EnumNetworkEvents out",
            errno_of(|e| t.lpWSPEnumNetworkEvents.unwrap()(s, null_mut(), LOW as *mut _, e)),
        );
    }
    for (what, r, errno) in faults {
        assert_eq!((r, errno), (SOCKET_ERROR, WSAEFAULT), "{what}");
    }
    assert!(TestDll::dll().in_flight() == 0);
    // Nothing changed: the socket still echoes, and is still blocking.
    send(&t, s, b"still");
    let mut buf = [0u8; 8];
    let (r, errno) = post_recv(&t, s, &mut buf, &mut WSAOVERLAPPED::default(), false);
    assert_eq!((r, errno), (0, 0));
    assert_eq!(&buf[..5], b"still");
    // A null lpErrno in the guard region is never written either.
    let r = unsafe { t.lpWSPShutdown.unwrap()(s, 9, LOW as *mut i32) };
    assert_eq!(r, SOCKET_ERROR);
    reset(&t);
}

/// `WSPAccept` with an address buffer but a null `addrlen`: the optional
/// out-parameters come as a pair; Windows accepts the connection and
/// writes no address (before: WSAEFAULT). A length too short for the
/// address stays WSAEFAULT, and loses no connection (S13).
#[test]
fn accept_with_an_address_buffer_and_no_length_takes_the_connection() {
    let _turn = serial();
    let t = started();
    let listener = new_socket(&t);
    let any = sockaddr(std::net::SocketAddrV4::new(LOCAL, 0));
    let mut name = SOCKADDR_IN::default();
    let mut len = 16;
    // SAFETY (whole block): live locals.
    unsafe {
        let r = errno_of(|e| t.lpWSPBind.unwrap()(listener, (&raw const any).cast(), 16, e));
        assert_eq!(r, (0, 0));
        let r = errno_of(|e| t.lpWSPListen.unwrap()(listener, 4, e));
        assert_eq!(r, (0, 0));
        let r = errno_of(|e| {
            t.lpWSPGetSockName.unwrap()(listener, (&raw mut name).cast(), &mut len, e)
        });
        assert_eq!(r, (0, 0));
        let at = std::net::SocketAddrV4::new(LOCAL, u16::from_be(name.sin_port));
        let client = new_socket(&t);
        connect(&t, client, at);
        let mut short = 8;
        let mut untouched = SOCKADDR_IN::default();
        let mut errno = 0;
        let a = t.lpWSPAccept.unwrap()(
            listener,
            (&raw mut untouched).cast(),
            &mut short,
            None,
            0,
            &mut errno,
        );
        assert_eq!((a, errno), (INVALID_SOCKET, WSAEFAULT), "a short length");
        let mut peer = SOCKADDR_IN::default();
        let a = t.lpWSPAccept.unwrap()(
            listener,
            (&raw mut peer).cast(),
            null_mut(),
            None,
            0,
            &mut errno,
        );
        assert_ne!(a, INVALID_SOCKET, "errno {errno}");
        assert_eq!(peer.sin_family, 0, "no address is written without a length");
        let r = errno_of(|e| t.lpWSPCloseSocket.unwrap()(a, e));
        assert_eq!(r, (0, 0));
    }
    reset(&t);
}

/// S13, S9: an overlapped call refused for any reason leaves nothing behind:
/// the record is carried no more, its `Internal` is as it was, and the same
/// record serves the next call at once.
#[test]
fn s13_a_refused_overlapped_call_leaves_nothing_carried() {
    let _turn = serial();
    let t = started();
    let s = connected_to_echo(&t);
    let unconnected = new_socket(&t);
    let shut = connected_to_echo(&t);
    let r = errno_of(|e| unsafe { t.lpWSPShutdown.unwrap()(shut, 2, e) });
    assert_eq!(r, (0, 0));
    let mut ov = Box::new(WSAOVERLAPPED::default());
    let mut buf = [0u8; 8];
    let wsabuf = WSABUF {
        len: 8,
        buf: buf.as_mut_ptr(),
    };
    let (mut n, mut fromlen) = (0u32, 4);
    let mut from = SOCKADDR_IN::default();
    // SAFETY (whole block): live locals; each call is refused.
    let refusals: Vec<(&str, (i32, i32), i32)> = unsafe {
        let ovp = &raw mut *ov;
        vec![
            (
                "null buffer array",
                errno_of(|e| {
                    t.lpWSPRecv.unwrap()(s, null(), 1, &mut n, &mut 0, ovp, None, null(), e)
                }),
                WSAEFAULT,
            ),
            (
                "bad flags",
                errno_of(|e| {
                    t.lpWSPRecv.unwrap()(
                        s,
                        &wsabuf,
                        1,
                        &mut n,
                        &mut 0x4000_0000,
                        ovp,
                        None,
                        null(),
                        e,
                    )
                }),
                WSAEOPNOTSUPP,
            ),
            (
                "a routine without a thread",
                errno_of(|e| {
                    t.lpWSPRecv.unwrap()(
                        s,
                        &wsabuf,
                        1,
                        &mut n,
                        &mut 0,
                        ovp,
                        Some(routine),
                        null(),
                        e,
                    )
                }),
                WSAEFAULT,
            ),
            (
                "short lpFromlen",
                errno_of(|e| {
                    t.lpWSPRecvFrom.unwrap()(
                        s,
                        &wsabuf,
                        1,
                        &mut n,
                        &mut 0,
                        (&raw mut from).cast(),
                        &mut fromlen,
                        ovp,
                        None,
                        null(),
                        e,
                    )
                }),
                WSAEFAULT,
            ),
            (
                "not connected",
                errno_of(|e| {
                    t.lpWSPRecv.unwrap()(
                        unconnected,
                        &wsabuf,
                        1,
                        &mut n,
                        &mut 0,
                        ovp,
                        None,
                        null(),
                        e,
                    )
                }),
                WSAENOTCONN,
            ),
            (
                "shut down",
                errno_of(|e| {
                    t.lpWSPSend.unwrap()(shut, &wsabuf, 1, &mut n, 0, ovp, None, null(), e)
                }),
                WSAESHUTDOWN,
            ),
            (
                "unknown handle",
                errno_of(|e| {
                    t.lpWSPSend.unwrap()(0x7777_0000, &wsabuf, 1, &mut n, 0, ovp, None, null(), e)
                }),
                WSAENOTSOCK,
            ),
        ]
    };
    for (why, (r, errno), want) in refusals {
        assert_eq!((r, errno), (SOCKET_ERROR, want), "{why}");
        assert_eq!(ov.Internal, 0, "{why}: Internal restored");
        assert!(
            TestDll::dll().in_flight() == 0,
            "{why}: the record is still carried"
        );
    }
    // The same record serves the next call.
    let (r, errno) = post_recv(&t, s, &mut buf, &mut *ov, false);
    assert_eq!((r, errno), (SOCKET_ERROR, WSA_IO_PENDING));
    send(&t, s, b"next");
    assert_eq!(&buf[..4], b"next");
    assert!(TestDll::dll().in_flight() == 0);
    reset(&t);
}

/// S10: a second `WSPRecv` on a `WSAOVERLAPPED` still pending pends too, as
/// Windows does (the SPI asks for one record per operation; Windows does
/// not enforce it); each receive completes exactly once, in posting order,
/// and nothing is carried after.
#[test]
fn s10_a_second_receive_on_a_pending_record_pends_and_each_completes_once() {
    let _turn = serial();
    let t = started();
    let s = connected_to_echo(&t);
    let mut ov = Box::new(WSAOVERLAPPED::default());
    let (mut first, mut second) = ([0u8; 4], [0u8; 4]);
    let before = counts();
    let r1 = post_recv(&t, s, &mut first, &mut *ov, false);
    let r2 = post_recv(&t, s, &mut second, &mut *ov, false);
    assert_eq!(
        (r1, r2),
        (
            (SOCKET_ERROR, WSA_IO_PENDING),
            (SOCKET_ERROR, WSA_IO_PENDING)
        )
    );
    assert_eq!(TestDll::dll().in_flight(), 2);
    send(&t, s, b"abcdefgh");
    assert_eq!(
        (&first, &second),
        (b"abcd", b"efgh"),
        "filled in posting order"
    );
    assert_eq!(counts()[3] - before[3], 2, "one completion each");
    assert!(TestDll::dll().in_flight() == 0);
    // Closing with two pending on one record aborts and tells each once.
    let before = counts();
    post_recv(&t, s, &mut first, &mut *ov, false);
    post_recv(&t, s, &mut second, &mut *ov, false);
    let r = errno_of(|e| unsafe { t.lpWSPCloseSocket.unwrap()(s, e) });
    assert_eq!(r, (0, 0));
    assert_eq!(counts()[3] - before[3], 2);
    assert_eq!(offset_high(&ov), 995);
    assert!(TestDll::dll().in_flight() == 0);
    reset(&t);
}
