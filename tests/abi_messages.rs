//! `WSARecvMsg` and `WSASendMsg` through the ABI (spec §14), with the
//! completion routine the application passes them: these extension
//! functions come with no `lpThreadId`, so the shim opens the calling
//! thread (`WPUOpenCurrentThread`), queues the routine to it, and closes it
//! once the operation has ended, however it ends (told, refused, or
//! silently at the final cleanup, S6c). Same harness as tests/abi.rs; the
//! header's fields and truncation are the C host's check
//! (`spec14_wsasendmsg_and_wsarecvmsg_from_the_extension_pointer`).

mod abi_host;

use abi_host::*;
use std::ptr::null_mut;
use std::sync::atomic::Ordering;
use winsock_provider::ffi::abi::{
    IPPROTO_UDP, SOCK_DGRAM, SOCKADDR, SOCKADDR_IN, SOCKET, WSABUF, WSAMSG, WSAOVERLAPPED,
    WSPPROC_TABLE,
};

winsock_provider::export_provider!(TestDll);

const SIO_GET_EXTENSION_FUNCTION_POINTER: u32 = 0xC800_0006;
const WSAID_WSARECVMSG: u128 = 0xf689d7c8_6f1f_436b_8a53_e54fe351c322;
const WSAID_WSASENDMSG: u128 = 0xa441e712_754f_43ca_84a7_0dee44cf606d;
const WSA_OPERATION_ABORTED: u32 = 995;
const SD_RECEIVE: i32 = 0;

type Routine = unsafe extern "system" fn(u32, u32, *mut WSAOVERLAPPED, u32);
type RecvMsg = unsafe extern "system" fn(
    SOCKET,
    *mut WSAMSG,
    *mut u32,
    *mut WSAOVERLAPPED,
    Option<Routine>,
) -> i32;
type SendMsg = unsafe extern "system" fn(
    SOCKET,
    *const WSAMSG,
    u32,
    *mut u32,
    *mut WSAOVERLAPPED,
    Option<Routine>,
) -> i32;

/// The extension function `guid` names, asked of `s`.
fn extension(t: &WSPPROC_TABLE, s: SOCKET, guid: u128) -> usize {
    let guid = windows_sys::core::GUID::from_u128(guid);
    let (mut f, mut returned) = (0usize, 0u32);
    // SAFETY: live locals of the sizes passed.
    let (r, errno) = errno_of(|e| unsafe {
        t.lpWSPIoctl.unwrap()(
            s,
            SIO_GET_EXTENSION_FUNCTION_POINTER,
            (&raw const guid).cast(),
            16,
            (&raw mut f).cast(),
            size_of::<usize>() as u32,
            &mut returned,
            null_mut(),
            None,
            std::ptr::null(),
            e,
        )
    });
    assert_eq!((r, errno), (0, 0));
    f
}

fn recv_msg(t: &WSPPROC_TABLE, s: SOCKET) -> RecvMsg {
    // SAFETY: the provider hands out a function of this signature.
    unsafe { std::mem::transmute::<usize, RecvMsg>(extension(t, s, WSAID_WSARECVMSG)) }
}

fn send_msg(t: &WSPPROC_TABLE, s: SOCKET) -> SendMsg {
    // SAFETY: as above.
    unsafe { std::mem::transmute::<usize, SendMsg>(extension(t, s, WSAID_WSASENDMSG)) }
}

/// An overlapped datagram socket, bound to the provider's address.
fn bound_udp(t: &WSPPROC_TABLE) -> (SOCKET, SOCKADDR_IN) {
    let info = protocol();
    let mut errno = 0;
    // SAFETY: live locals.
    let s = unsafe {
        t.lpWSPSocket.unwrap()(
            2,
            SOCK_DGRAM,
            IPPROTO_UDP,
            &info,
            0,
            WSA_FLAG_OVERLAPPED,
            &mut errno,
        )
    };
    assert_eq!(errno, 0);
    let mut name = sockaddr(std::net::SocketAddrV4::new(LOCAL, 0));
    let mut len = size_of::<SOCKADDR_IN>() as i32;
    // SAFETY: live locals.
    unsafe {
        assert_eq!(
            t.lpWSPBind.unwrap()(s, (&raw const name).cast::<SOCKADDR>(), len, &mut errno),
            0
        );
        assert_eq!(
            t.lpWSPGetSockName.unwrap()(
                s,
                (&raw mut name).cast::<SOCKADDR>(),
                &mut len,
                &mut errno
            ),
            0
        );
    }
    (s, name)
}

/// A header over one buffer, naming `name`.
fn header(buf: &mut [u8], name: &mut SOCKADDR_IN, wsabuf: &mut WSABUF) -> WSAMSG {
    *wsabuf = WSABUF {
        len: buf.len() as u32,
        buf: buf.as_mut_ptr(),
    };
    WSAMSG {
        name: (name as *mut SOCKADDR_IN).cast(),
        namelen: size_of::<SOCKADDR_IN>() as i32,
        lpBuffers: wsabuf,
        dwBufferCount: 1,
        ..Default::default()
    }
}

fn threads() -> (usize, usize) {
    (
        THREADS_OPENED.load(Ordering::SeqCst),
        THREADS_CLOSED.load(Ordering::SeqCst),
    )
}

/// Spec §14: a `WSARecvMsg` with a routine pends; when its datagram comes,
/// the routine is queued once (S10) to the thread the shim opened for the
/// call, which is then closed; the header names the sender.
#[test]
fn spec14_a_wsarecvmsg_routine_goes_to_the_calling_thread_which_is_closed_after() {
    let _turn = serial();
    let t = started();
    let (u1, _) = bound_udp(&t);
    let (u2, to) = bound_udp(&t);
    let (recv, send) = (recv_msg(&t, u2), send_msg(&t, u1));
    let before = threads();
    ROUTINE_CALLS.lock().unwrap().clear();
    APC_THREADS.lock().unwrap().clear();
    let (mut buf, mut from, mut wsabuf) = ([0u8; 16], SOCKADDR_IN::default(), WSABUF::default());
    let mut msg = header(&mut buf, &mut from, &mut wsabuf);
    let ov = Box::into_raw(Box::new(WSAOVERLAPPED::default()));
    // SAFETY: live locals; `ov`, `msg` and its buffers live until the end.
    let r = unsafe { recv(u2, &mut msg, null_mut(), ov, Some(routine)) };
    assert_eq!((r, crate::WSPLastError()), (-1, WSA_IO_PENDING));
    assert_eq!(
        threads(),
        (before.0 + 1, before.1),
        "opened, not yet closed"
    );

    let (mut out, mut dest, mut outbuf) = (*b"hello", to, WSABUF::default());
    let out_msg = header(&mut out, &mut dest, &mut outbuf);
    let mut sent = 0u32;
    // SAFETY: live locals.
    let r = unsafe { send(u1, &out_msg, 0, &mut sent, null_mut(), None) };
    assert_eq!((r, sent), (0, 5));
    alertable_wait();
    assert_eq!(*ROUTINE_CALLS.lock().unwrap(), vec![(0, 5)], "told once");
    assert_eq!(
        *APC_THREADS.lock().unwrap(),
        vec![0x7000 + before.0 + 1],
        "the routine went to the thread opened for the call"
    );
    assert_eq!(
        threads(),
        (before.0 + 1, before.1 + 1),
        "and that thread closed"
    );
    assert_eq!(&buf[..5], b"hello");
    assert_eq!(msg.namelen, size_of::<SOCKADDR_IN>() as i32);
    assert_ne!(from.sin_port, 0, "the sender is named");
    reset(&t);
    // SAFETY: made by Box::into_raw above; nothing holds it any more.
    drop(unsafe { Box::from_raw(ov) });
}

/// S6c: a `WSARecvMsg` still pending at the final cleanup ends with
/// `WSA_OPERATION_ABORTED` in its record and no routine; the thread opened
/// for it is closed all the same.
#[test]
fn s6c_a_pending_wsarecvmsg_ends_silently_at_the_final_cleanup_and_its_thread_is_closed() {
    let _turn = serial();
    let t = started();
    let (u2, _) = bound_udp(&t);
    let recv = recv_msg(&t, u2);
    let before = threads();
    let apcs = APCS.load(Ordering::SeqCst);
    let (mut buf, mut from, mut wsabuf) = ([0u8; 16], SOCKADDR_IN::default(), WSABUF::default());
    let mut msg = header(&mut buf, &mut from, &mut wsabuf);
    let ov = Box::into_raw(Box::new(WSAOVERLAPPED::default()));
    // SAFETY: as above.
    let r = unsafe { recv(u2, &mut msg, null_mut(), ov, Some(routine)) };
    assert_eq!((r, crate::WSPLastError()), (-1, WSA_IO_PENDING));
    reset(&t);
    alertable_wait();
    assert_eq!(APCS.load(Ordering::SeqCst), apcs, "no routine (S6c)");
    assert_eq!(offset_high(unsafe { &*ov }), WSA_OPERATION_ABORTED);
    assert_eq!(threads(), (before.0 + 1, before.1 + 1));
    // SAFETY: as above.
    drop(unsafe { Box::from_raw(ov) });
}

/// S9: a `WSARecvMsg` the core refuses (receiving was shut down) fails
/// with no completion, and the thread opened for it is closed at once.
#[test]
fn s9_a_refused_wsarecvmsg_closes_the_thread_it_opened() {
    let _turn = serial();
    let t = started();
    let (u2, _) = bound_udp(&t);
    let recv = recv_msg(&t, u2);
    let mut errno = 0;
    // SAFETY: a live local.
    assert_eq!(
        unsafe { t.lpWSPShutdown.unwrap()(u2, SD_RECEIVE, &mut errno) },
        0
    );
    let before = threads();
    let apcs = APCS.load(Ordering::SeqCst);
    let (mut buf, mut from, mut wsabuf) = ([0u8; 16], SOCKADDR_IN::default(), WSABUF::default());
    let mut msg = header(&mut buf, &mut from, &mut wsabuf);
    let ov = Box::into_raw(Box::new(WSAOVERLAPPED::default()));
    // SAFETY: as above.
    let r = unsafe { recv(u2, &mut msg, null_mut(), ov, Some(routine)) };
    assert_eq!((r, crate::WSPLastError()), (-1, WSAESHUTDOWN));
    alertable_wait();
    assert_eq!(
        APCS.load(Ordering::SeqCst),
        apcs,
        "a refused call is never told"
    );
    assert_eq!(threads(), (before.0 + 1, before.1 + 1));
    reset(&t);
    // SAFETY: as above.
    drop(unsafe { Box::from_raw(ov) });
}

/// S9: an overlapped `WSASendMsg` that finishes at once returns 0 and its
/// routine is still queued, once, to the opened thread, then closed.
#[test]
fn s9_an_overlapped_wsasendmsg_that_finished_at_once_is_still_told() {
    let _turn = serial();
    let t = started();
    let (u1, _) = bound_udp(&t);
    let (_u2, to) = bound_udp(&t);
    let send = send_msg(&t, u1);
    let before = threads();
    ROUTINE_CALLS.lock().unwrap().clear();
    let (mut out, mut dest, mut outbuf) = (*b"datagram", to, WSABUF::default());
    let msg = header(&mut out, &mut dest, &mut outbuf);
    let ov = Box::into_raw(Box::new(WSAOVERLAPPED::default()));
    let mut sent = 0u32;
    // SAFETY: as above.
    let r = unsafe { send(u1, &msg, 0, &mut sent, ov, Some(routine)) };
    assert_eq!((r, sent), (0, 8));
    alertable_wait();
    assert_eq!(*ROUTINE_CALLS.lock().unwrap(), vec![(0, 8)]);
    assert_eq!(threads(), (before.0 + 1, before.1 + 1));
    reset(&t);
    // SAFETY: as above.
    drop(unsafe { Box::from_raw(ov) });
}
