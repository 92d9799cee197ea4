//! Socket options and ioctls through the ABI (spec §15): the caller's
//! `optlen` in and out, `SO_PROTOCOL_INFOW`, the answers Windows gives.
//! Same harness as tests/abi.rs.

mod abi_host;

use abi_host::*;
use std::ptr::null_mut;
use winsock_provider::ffi::abi::{
    IPPROTO_TCP, SOCK_DGRAM, SOCK_STREAM, SOCKET, WSAOVERLAPPED, WSAPROTOCOL_INFOW, WSPPROC_TABLE,
};
use winsock_provider::option_names::*;

winsock_provider::export_provider!(TestDll);

const WSAENOPROTOOPT: i32 = 10042;
const WSAENOBUFS: i32 = 10055;
const WSAEOPNOTSUPP: i32 = 10045;
const WSA_IO_PENDING: i32 = 997;
const FIONREAD: u32 = 0x4004_667F;

fn udp(t: &WSPPROC_TABLE) -> SOCKET {
    let info = protocol();
    let mut errno = 0;
    // SAFETY: live locals.
    unsafe { t.lpWSPSocket.unwrap()(2, SOCK_DGRAM, 17, &info, 0, 0, &mut errno) }
}

fn set(t: &WSPPROC_TABLE, s: SOCKET, level: i32, name: i32, value: &[u8], len: i32) -> (i32, i32) {
    // SAFETY: `value` is live and at least `len` bytes when `len` >= 0.
    errno_of(|e| unsafe { t.lpWSPSetSockOpt.unwrap()(s, level, name, value.as_ptr(), len, e) })
}

/// `(result, errno, bytes written, *optlen after)` of a get into a buffer
/// of `room` bytes.
fn get(t: &WSPPROC_TABLE, s: SOCKET, level: i32, name: i32, room: i32) -> (i32, i32, Vec<u8>, i32) {
    let mut buf = vec![0xEEu8; 700];
    let mut len = room;
    // SAFETY: live locals; `buf` is longer than any `room` used.
    let (r, errno) = errno_of(|e| unsafe {
        t.lpWSPGetSockOpt.unwrap()(s, level, name, buf.as_mut_ptr(), &mut len, e)
    });
    let n = usize::try_from(len).unwrap_or(0).min(buf.len());
    (r, errno, buf[..n].to_vec(), len)
}

/// The cases through the ABI, and Windows' length rules: `SO_LINGER`
/// on a datagram socket is `WSAENOPROTOOPT`; an unknown level `WSAEINVAL`;
/// `SO_DONTLINGER` with `optlen` 1 is accepted; a one-byte boolean reads
/// back with `*optlen` 1 from a 4-byte buffer; `*optlen` 0 is
/// `WSAEFAULT`; a negative `optlen` is `WSAENOBUFS` for a one-byte
/// option.
#[test]
fn options_through_the_abi_answer_as_windows_does() {
    let _g = serial();
    let t = started();
    let d = udp(&t);
    let s = new_socket(&t);
    let linger = [1u8, 0, 5, 0];
    assert_eq!(
        set(&t, d, SOL_SOCKET, SO_LINGER, &linger, 4),
        (-1, WSAENOPROTOOPT)
    );
    assert_eq!(
        set(&t, s, 0x8000, SO_DEBUG, &[1, 0, 0, 0], 4),
        (-1, WSAEINVAL)
    );
    assert_eq!(set(&t, s, SOL_SOCKET, SO_DONTLINGER, &[0], 1), (0, 0));
    assert_eq!(
        get(&t, s, SOL_SOCKET, SO_LINGER, 4).2[..2],
        [1, 0],
        "lingering on"
    );
    assert_eq!(set(&t, s, IPPROTO_TCP, TCP_NODELAY, &[1], 1), (0, 0));
    let (r, errno, bytes, len) = get(&t, s, IPPROTO_TCP, TCP_NODELAY, 4);
    assert_eq!((r, errno, bytes, len), (0, 0, vec![1], 1));
    assert_eq!(get(&t, s, SOL_SOCKET, SO_TYPE, 0).1, WSAEFAULT);
    assert_eq!(get(&t, s, SOL_SOCKET, SO_ERROR, 1).1, WSAEFAULT);
    assert_eq!(
        set(&t, s, SOL_SOCKET, SO_KEEPALIVE, &[1], -1),
        (-1, WSAENOBUFS)
    );
    assert_eq!(
        set(&t, s, SOL_SOCKET, SO_RCVBUF, &4096i32.to_ne_bytes(), -1),
        (0, 0)
    );
    assert_eq!(
        get(&t, s, SOL_SOCKET, SO_RCVBUF, 4).2,
        4096i32.to_ne_bytes().to_vec()
    );
    reset(&t);
}

/// `SO_PROTOCOL_INFOW`: the catalog entry the provider was started for,
/// with the socket's own type and protocol; a buffer too short is
/// `WSAEFAULT` with `*optlen` set to the size needed.
#[test]
fn so_protocol_infow_describes_the_socket() {
    let _g = serial();
    let t = started();
    let d = udp(&t);
    let need = size_of::<WSAPROTOCOL_INFOW>() as i32;
    let (r, errno, _, len) = get(&t, d, SOL_SOCKET, SO_PROTOCOL_INFOW, 100);
    assert_eq!((r, errno, len), (-1, WSAEFAULT, need));
    let (r, errno, bytes, len) = get(&t, d, SOL_SOCKET, SO_PROTOCOL_INFOW, need);
    assert_eq!((r, errno, len), (0, 0, need));
    // SAFETY: `bytes` holds a whole WSAPROTOCOL_INFOW written by the DLL.
    let info: WSAPROTOCOL_INFOW = unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast()) };
    assert_eq!(info.dwCatalogEntryId, 1001, "the entry of protocol()");
    assert_eq!((info.iSocketType, info.iProtocol), (SOCK_DGRAM, 17));
    let s = new_socket(&t);
    let (_, _, bytes, _) = get(&t, s, SOL_SOCKET, SO_PROTOCOL_INFOW, need);
    // SAFETY: as above.
    let info: WSAPROTOCOL_INFOW = unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast()) };
    assert_eq!(
        (info.iSocketType, info.iProtocol),
        (SOCK_STREAM, IPPROTO_TCP)
    );
    reset(&t);
}

/// `WSPIoctl`: `FIONREAD` answers 4 bytes; an unknown code is
/// `WSAEOPNOTSUPP` with no bytes returned, as Windows answers it (spec
/// §14), not the page's `WSAEINVAL`.
#[test]
fn ioctl_fionread_and_an_unknown_code() {
    let _g = serial();
    let t = started();
    let s = connected_to_echo(&t);
    send(&t, s, b"12345");
    let mut out = 0u32;
    let mut returned = 0u32;
    // SAFETY: live locals.
    let (r, errno) = errno_of(|e| unsafe {
        t.lpWSPIoctl.unwrap()(
            s,
            FIONREAD,
            std::ptr::null(),
            0,
            (&raw mut out).cast(),
            4,
            &mut returned,
            null_mut(),
            None,
            std::ptr::null(),
            e,
        )
    });
    assert_eq!((r, errno, out, returned), (0, 0, 5, 4));
    // SAFETY: live locals.
    let (r, errno) = errno_of(|e| unsafe {
        t.lpWSPIoctl.unwrap()(
            s,
            0x9800_0099,
            std::ptr::null(),
            0,
            null_mut(),
            0,
            &mut returned,
            null_mut(),
            None,
            std::ptr::null(),
            e,
        )
    });
    assert_eq!((r, errno, returned), (-1, WSAEOPNOTSUPP, 0));
    reset(&t);
}

/// Spec §14: an unknown code on an overlapped `WSPIoctl` is
/// `WSA_IO_PENDING`, then its completion carries `WSAEOPNOTSUPP` (what
/// Windows does), told once (S10).
#[test]
fn spec14_an_unknown_overlapped_ioctl_pends_then_fails_with_wsaeopnotsupp() {
    let _g = serial();
    let t = started();
    let s = connected_to_echo(&t);
    let ov = Box::into_raw(Box::new(WSAOVERLAPPED::default()));
    let mut returned = 7u32;
    // SAFETY: live locals; `ov` lives until the end.
    let (r, errno) = errno_of(|e| unsafe {
        t.lpWSPIoctl.unwrap()(
            s,
            0x9800_0099,
            std::ptr::null(),
            0,
            null_mut(),
            0,
            &mut returned,
            ov,
            None,
            std::ptr::null(),
            e,
        )
    });
    assert_eq!((r, errno, returned), (-1, WSA_IO_PENDING, 0));
    let (mut n, mut flags) = (9u32, 0u32);
    // SAFETY: `ov` is live.
    let (ok, errno) = errno_of(|e| unsafe {
        t.lpWSPGetOverlappedResult.unwrap()(s, ov, &mut n, 0, &mut flags, e)
    });
    assert_eq!((ok, errno, n), (0, WSAEOPNOTSUPP, 0));
    reset(&t);
    // SAFETY: made by Box::into_raw above; nothing holds it any more.
    drop(unsafe { Box::from_raw(ov) });
}
