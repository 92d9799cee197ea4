//! Edge cases of the ABI shim found in review: races between a completion and
//! a close or a waiting WSPGetOverlappedResult, refused calls that must change
//! nothing, one event per async-select message. Same harness as
//! tests/abi.rs: a provider exported in this test binary, driven through
//! WSPStartup and its proc table with a recording upcall table.

mod abi_host;

use abi_host::*;
use std::net::SocketAddrV4;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use winsock_provider::ffi::Exported;
use winsock_provider::ffi::abi::{
    FIONBIO, INVALID_SOCKET, IPPROTO_TCP, SOCK_STREAM, SOCKADDR, SOCKET_ERROR, WSABUF,
    WSANETWORKEVENTS, WSAOVERLAPPED,
};

winsock_provider::export_provider!(TestDll);

// ---- findings ---------------------------------------------------------------

/// S13 (spec §6): WSPEnumNetworkEvents copies, clears and resets "atomically;
/// on failure none of that happens": a bad event handle fails the call
/// before the record is touched, and the record is still there after.
#[test]
fn s13_enum_network_events_that_fails_leaves_the_record() {
    let _turn = serial();
    let t = started();
    let s = connected_to_echo(&t);
    let mut errno = 0;
    let r = unsafe { t.lpWSPEventSelect.unwrap()(s, 5, FD_READ, &mut errno) };
    assert_eq!(r, 0);
    send(&t, s, b"x"); // the echo comes back: FD_READ recorded
    let mut out: WSANETWORKEVENTS = unsafe { std::mem::zeroed() };
    let r = unsafe { t.lpWSPEnumNetworkEvents.unwrap()(s, BAD_EVENT as _, &mut out, &mut errno) };
    assert_eq!(
        (r, errno),
        (SOCKET_ERROR, 6),
        "the bad event handle fails the call"
    );
    let mut again: WSANETWORKEVENTS = unsafe { std::mem::zeroed() };
    let r = unsafe {
        t.lpWSPEnumNetworkEvents.unwrap()(s, std::ptr::null_mut(), &mut again, &mut errno)
    };
    assert_eq!(r, 0);
    assert_eq!(
        again.lNetworkEvents & FD_READ,
        FD_READ,
        "the failed call consumed FD_READ (S13)"
    );
    reset(&t);
}

/// S13, S9: an overlapped call the core refuses (here WSAESHUTDOWN) changes
/// nothing, not even the caller's hEvent.
#[test]
fn s13_a_refused_overlapped_call_leaves_the_event_alone() {
    let _turn = serial();
    let t = started();
    let s = connected_to_echo(&t);
    let mut errno = 0;
    assert_eq!(unsafe { t.lpWSPShutdown.unwrap()(s, 0, &mut errno) }, 0);
    let mut ov = Box::new(WSAOVERLAPPED::default());
    ov.hEvent = 0x77 as _;
    let mut buf = [0u8; 8];
    let before = RESETS.load(Ordering::SeqCst);
    let (r, errno) = post_recv(&t, s, &mut buf, &mut *ov, false);
    assert_eq!((r, errno), (SOCKET_ERROR, 10058));
    assert_eq!(
        RESETS.load(Ordering::SeqCst),
        before,
        "a refused call reset the application's event"
    );
    reset(&t);
}

/// S10 (spec §6): WSPGetOverlappedResult with fWait waits. Called from
/// another thread while the completion is being written (`Internal` still
/// 0x103), it returns TRUE with the bytes once they are in the buffers.
#[test]
fn s10_get_overlapped_result_with_wait_waits_for_a_completion_being_written() {
    let _turn = serial();
    let t = started();
    let s = connected_to_echo(&t);
    let mut buf = [0u8; 16];
    let ov = Box::into_raw(Box::new(WSAOVERLAPPED::default()));
    assert_eq!(post_recv(&t, s, &mut buf, ov, false), (SOCKET_ERROR, 997));
    /// What the waiting thread's WSPGetOverlappedResult returns: (ok, errno, bytes).
    type Waiting = std::thread::JoinHandle<(i32, i32, u32)>;
    let seen: &'static Mutex<Option<Waiting>> = Box::leak(Box::new(Mutex::new(None)));
    let (ov_addr, table) = (ov as usize, t);
    *ON_COMPLETE.lock().unwrap() = Some(Box::new(move || {
        let waiter = std::thread::spawn(move || {
            let (mut n, mut flags, mut errno) = (0u32, 0u32, 0);
            let ok = unsafe {
                table.lpWSPGetOverlappedResult.unwrap()(
                    s,
                    ov_addr as *const WSAOVERLAPPED,
                    &mut n,
                    1, // fWait = TRUE
                    &mut flags,
                    &mut errno,
                )
            };
            (ok, errno, n)
        });
        // Give the other thread time to look while this completion is in flight.
        std::thread::sleep(std::time::Duration::from_millis(300));
        *seen.lock().unwrap() = Some(waiter);
    }));
    send(&t, s, b"hello");
    let waiter = seen.lock().unwrap().take().expect("completion ran");
    let (ok, errno, n) = waiter.join().unwrap();
    assert_eq!(
        (ok, errno, n),
        (1, 0, 5),
        "fWait=TRUE gave WSA_IO_INCOMPLETE"
    );
    reset(&t);
    drop(unsafe { Box::from_raw(ov) });
}

/// Spec §6 (WSPAsyncSelect): one message per event, lParam =
/// MAKELONG(event, error), even when several events hold at once.
#[test]
fn async_select_posts_one_event_per_message() {
    let _turn = serial();
    let t = started();
    let s = connected_to_echo(&t);
    send(&t, s, b"x"); // data waiting: FD_READ holds, and FD_WRITE
    POSTS.lock().unwrap().clear();
    let mut errno = 0;
    let r = unsafe {
        t.lpWSPAsyncSelect.unwrap()(s, 0x1234 as _, 0x400, FD_READ | FD_WRITE, &mut errno)
    };
    assert_eq!(r, 0);
    let posts = POSTS.lock().unwrap().clone();
    assert!(!posts.is_empty());
    for lparam in posts {
        let event = (lparam & 0xFFFF) as u32;
        assert_eq!(
            event.count_ones(),
            1,
            "lParam event word {event:#x} carries several events"
        );
    }
    reset(&t);
}

/// S12, S13: a panic in the author's `after_call` (which runs after the
/// call is done) is contained and logged: the call's own result stands, so
/// a startup that succeeded says so and counts once, and a socket that was
/// made is returned, not leaked behind a failure.
#[test]
fn s12_a_panicking_after_call_leaves_each_result_as_it_was() {
    let _turn = serial();
    let t = started();
    reset(&t);
    PANIC_AFTER_CALL.store(true, Ordering::SeqCst);
    let (r, _, _) = startup(0x0202);
    PANIC_AFTER_CALL.store(false, Ordering::SeqCst);
    assert_eq!(r, 0, "the startup succeeded");
    assert_eq!(TestDll::dll().provider().startup_count(), 1);
    let sockets_before = TestDll::dll().provider().socket_count();
    PANIC_AFTER_CALL.store(true, Ordering::SeqCst);
    let mut errno = 0;
    let info = protocol();
    let s = unsafe { t.lpWSPSocket.unwrap()(2, SOCK_STREAM, IPPROTO_TCP, &info, 0, 0, &mut errno) };
    PANIC_AFTER_CALL.store(false, Ordering::SeqCst);
    assert_ne!(s, INVALID_SOCKET, "errno {errno}");
    assert_eq!(TestDll::dll().provider().socket_count(), sockets_before + 1);
    assert_eq!(
        winsock_provider::ffi::last_panic().as_deref(),
        Some("author hook panics")
    );
    reset(&t);
}

/// S13: a failed call changes no state. When WPUCreateSocketHandle fails,
/// WSPAccept fails before it takes the connection: the next accept gets it.
#[test]
fn s13_accept_failing_on_the_host_handle_keeps_the_connection() {
    let _turn = serial();
    let t = started();
    let listener = new_socket(&t);
    let mut errno = 0;
    let any = sockaddr(SocketAddrV4::new(LOCAL, 4000));
    unsafe {
        assert_eq!(
            t.lpWSPBind.unwrap()(
                listener,
                &any as *const _ as *const SOCKADDR,
                16,
                &mut errno
            ),
            0
        );
        assert_eq!(t.lpWSPListen.unwrap()(listener, 4, &mut errno), 0);
        let mut on = 1u32;
        let mut ret = 0u32;
        assert_eq!(
            t.lpWSPIoctl.unwrap()(
                listener,
                FIONBIO as u32,
                (&raw mut on).cast(),
                4,
                std::ptr::null_mut(),
                0,
                &mut ret,
                std::ptr::null_mut(),
                None,
                std::ptr::null(),
                &mut errno
            ),
            0
        );
    }
    let client = new_socket(&t);
    connect(&t, client, SocketAddrV4::new(LOCAL, 4000));
    let accept = |errno: &mut i32| unsafe {
        t.lpWSPAccept.unwrap()(
            listener,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            None,
            0,
            errno,
        )
    };
    FAIL_CREATE.store(true, Ordering::SeqCst);
    let r = accept(&mut errno);
    FAIL_CREATE.store(false, Ordering::SeqCst);
    assert_eq!((r, errno), (INVALID_SOCKET, 10055));
    let mut errno = 0;
    let r = accept(&mut errno);
    assert_ne!(r, INVALID_SOCKET, "the connection was lost (errno {errno})");
    reset(&t);
}

/// S7, S10 race: a completion decided by the core is being written when a
/// WSPCloseSocket on another thread gives the socket back. The handle's
/// WPUCloseSocketHandle waits for that completion, so
/// WPUCompleteOverlappedRequest never names a released SOCKET.
#[test]
fn s10_a_completion_being_written_holds_back_the_handle_release() {
    let _turn = serial();
    let t = started();
    let s = connected_to_echo(&t);
    let mut buf = [0u8; 16];
    let ov = Box::into_raw(Box::new(WSAOVERLAPPED::default()));
    assert_eq!(post_recv(&t, s, &mut buf, ov, false), (SOCKET_ERROR, 997));
    let table = t;
    *ON_COMPLETE.lock().unwrap() = Some(Box::new(move || {
        // Another application thread closes the socket now.
        let closer = std::thread::spawn(move || {
            NO_PUMP.with(|c| c.set(true));
            let mut errno = 0;
            unsafe { table.lpWSPCloseSocket.unwrap()(s, &mut errno) }
        });
        assert_eq!(closer.join().unwrap(), 0);
    }));
    let before = COMPLETED_ON_CLOSED.load(Ordering::SeqCst);
    send(&t, s, b"hello");
    assert_eq!(
        COMPLETED_ON_CLOSED.load(Ordering::SeqCst),
        before,
        "WPUCompleteOverlappedRequest was called for a handle already released"
    );
    reset(&t);
    drop(unsafe { Box::from_raw(ov) });
}

/// Spec §5: "SendTo on connection-oriented = WSPSend (lpTo ignored)", even
/// a short or foreign lpTo.
#[test]
fn send_to_on_a_stream_socket_ignores_lp_to() {
    let _turn = serial();
    let t = started();
    let s = connected_to_echo(&t);
    let junk = [0u8; 4];
    let wsabuf = WSABUF {
        len: 2,
        buf: b"hi".as_ptr().cast_mut(),
    };
    let (mut errno, mut n) = (0, 0u32);
    let r = unsafe {
        t.lpWSPSendTo.unwrap()(
            s,
            &wsabuf,
            1,
            &mut n,
            0,
            junk.as_ptr().cast(),
            4,
            std::ptr::null_mut(),
            None,
            std::ptr::null(),
            &mut errno,
        )
    };
    assert_eq!((r, errno, n), (0, 0, 2));
    reset(&t);
}
