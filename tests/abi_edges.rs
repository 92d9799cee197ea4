//! Edge cases of the ABI shim found in review: races between a completion and
//! a close or a waiting WSPGetOverlappedResult, refused calls that must change
//! nothing, one event per async-select message. Same harness as
//! tests/abi.rs: a provider exported in this test binary, driven through
//! WSPStartup and its proc table with a recording upcall table.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use winsock_provider::ffi::abi::{
    AF_INET, FIONBIO, INVALID_SOCKET, IPPROTO_TCP, SOCK_STREAM, SOCKADDR, SOCKADDR_IN, SOCKET,
    SOCKET_ERROR, WSABUF, WSANETWORKEVENTS, WSAOVERLAPPED, WSAPROTOCOL_INFOW, WSATHREADID, WSPDATA,
    WSPPROC_TABLE, WSPUPCALLTABLE,
};
use winsock_provider::ffi::{DllConfig, Exported, ProviderDll};
use winsock_provider::mock::{MockTransport, MockWaiter, Network};

const LOCAL: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const ECHO: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 2), 7);
const WSA_FLAG_OVERLAPPED: u32 = 1;
const FD_READ: i32 = 1;
const FD_WRITE: i32 = 2;

thread_local! {
    /// A thread that acts while the main thread is inside the network's
    /// delivery must not pump (the pump is the test harness's, not the bug).
    static NO_PUMP: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}
static PANIC_AFTER_CALL: AtomicBool = AtomicBool::new(false);

struct TestDll {
    net: Network,
}

impl ProviderDll for TestDll {
    type Transport = MockTransport;
    type Waiter = MockWaiter;
    fn config() -> DllConfig {
        DllConfig {
            description: "review",
            ..DllConfig::default()
        }
    }
    fn create() -> (Self, MockTransport, MockWaiter) {
        let net = Network::new(7);
        let node = net.add_node(LOCAL);
        net.add_node(*ECHO.ip());
        net.add_echo_service(ECHO);
        let transport = net.transport(node);
        let waiter = MockWaiter::new(&net);
        (TestDll { net }, transport, waiter)
    }
    fn after_call(&self) {
        if !NO_PUMP.with(|c| c.get()) {
            self.net.run_until_idle(100_000);
        }
        if PANIC_AFTER_CALL.load(Ordering::SeqCst) {
            panic!("author hook panics");
        }
    }
}

winsock_provider::export_provider!(TestDll);

// ---- host ------------------------------------------------------------------
static HANDLES: Mutex<Vec<(usize, bool)>> = Mutex::new(Vec::new());
static FAIL_CREATE: AtomicBool = AtomicBool::new(false);
static RESETS: AtomicUsize = AtomicUsize::new(0);
static SETS: Mutex<Vec<isize>> = Mutex::new(Vec::new());
static POSTS: Mutex<Vec<isize>> = Mutex::new(Vec::new());
const BAD_EVENT: isize = 0xBAD;

fn serial() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(|p| p.into_inner())
}

unsafe extern "system" fn create_handle(_: u32, context: usize, errno: *mut i32) -> SOCKET {
    if FAIL_CREATE.load(Ordering::SeqCst) {
        unsafe { errno.write(10055) };
        return INVALID_SOCKET;
    }
    let mut h = HANDLES.lock().unwrap();
    h.push((context, true));
    h.len() * 4
}
unsafe extern "system" fn query_context(s: SOCKET, out: *mut usize, errno: *mut i32) -> i32 {
    let h = HANDLES.lock().unwrap();
    match (s / 4).checked_sub(1).and_then(|i| h.get(i)) {
        Some(&(context, true)) if s.is_multiple_of(4) => {
            unsafe { out.write(context) };
            0
        }
        _ => {
            unsafe { errno.write(10038) };
            SOCKET_ERROR
        }
    }
}
unsafe extern "system" fn close_handle(s: SOCKET, _: *mut i32) -> i32 {
    HANDLES.lock().unwrap()[s / 4 - 1].1 = false;
    0
}
unsafe extern "system" fn set_event(ev: isize, _: *mut i32) -> i32 {
    SETS.lock().unwrap().push(ev);
    1
}
unsafe extern "system" fn reset_event(ev: isize, errno: *mut i32) -> i32 {
    RESETS.fetch_add(1, Ordering::SeqCst);
    if ev == BAD_EVENT {
        unsafe { errno.write(6) }; // WSA_INVALID_HANDLE
        return 0;
    }
    1
}
unsafe extern "system" fn post_message(
    _: windows_sys::Win32::Foundation::HWND,
    _: u32,
    _: usize,
    lparam: isize,
) -> i32 {
    POSTS.lock().unwrap().push(lparam);
    1
}

/// The completion upcall; when `ON_COMPLETE` is set, runs it first.
static ON_COMPLETE: Mutex<Option<Box<dyn FnOnce() + Send>>> = Mutex::new(None);
static COMPLETED_ON_CLOSED: AtomicUsize = AtomicUsize::new(0);
unsafe extern "system" fn complete(
    s: SOCKET,
    ov: *mut WSAOVERLAPPED,
    _: u32,
    bytes: u32,
    _: *mut i32,
) -> i32 {
    let hook = ON_COMPLETE.lock().unwrap().take();
    if let Some(f) = hook {
        f();
    }
    // What ws2_32 does first: look the handle up.
    let open = HANDLES.lock().unwrap().get(s / 4 - 1).is_some_and(|h| h.1);
    if !open {
        COMPLETED_ON_CLOSED.fetch_add(1, Ordering::SeqCst);
    }
    unsafe {
        (*ov).InternalHigh = bytes as usize;
        std::sync::atomic::AtomicUsize::from_ptr(std::ptr::addr_of_mut!((*ov).Internal))
            .store(0, Ordering::Release);
    }
    0
}

fn upcalls() -> WSPUPCALLTABLE {
    WSPUPCALLTABLE {
        lpWPUCreateSocketHandle: Some(create_handle),
        lpWPUQuerySocketHandleContext: Some(query_context),
        lpWPUCloseSocketHandle: Some(close_handle),
        lpWPUSetEvent: Some(set_event),
        lpWPUResetEvent: Some(reset_event),
        lpWPUPostMessage: Some(post_message),
        ..Default::default()
    }
}

fn protocol() -> WSAPROTOCOL_INFOW {
    let mut info: WSAPROTOCOL_INFOW = unsafe { std::mem::zeroed() };
    info.dwCatalogEntryId = 1001;
    info.iAddressFamily = i32::from(AF_INET);
    info.iSocketType = SOCK_STREAM;
    info.iProtocol = IPPROTO_TCP;
    info
}

fn startup_raw() -> (i32, WSPPROC_TABLE) {
    let mut data: WSPDATA = unsafe { std::mem::zeroed() };
    let mut table: WSPPROC_TABLE = unsafe { std::mem::zeroed() };
    let info = protocol();
    let r = unsafe {
        WSPStartup(
            0x0202,
            (&raw mut data).cast_const(),
            &info,
            upcalls(),
            &mut table,
        )
    };
    (r, table)
}

fn started() -> WSPPROC_TABLE {
    WSPSetCompletionUpcall(Some(complete));
    let (r, t) = startup_raw();
    assert_eq!(r, 0);
    t
}

fn cleanup(t: &WSPPROC_TABLE) -> (i32, i32) {
    let mut errno = 0;
    let r = unsafe { t.lpWSPCleanup.unwrap()(&mut errno) };
    (r, errno)
}

fn reset(t: &WSPPROC_TABLE) {
    while cleanup(t).0 == 0 {}
}

fn sockaddr(a: SocketAddrV4) -> SOCKADDR_IN {
    let mut sin = SOCKADDR_IN {
        sin_family: AF_INET,
        sin_port: a.port().to_be(),
        ..Default::default()
    };
    sin.sin_addr.S_un.S_addr = u32::from(*a.ip()).to_be();
    sin
}

fn new_socket(t: &WSPPROC_TABLE) -> SOCKET {
    let mut errno = 0;
    let info = protocol();
    let s = unsafe {
        t.lpWSPSocket.unwrap()(
            i32::from(AF_INET),
            SOCK_STREAM,
            IPPROTO_TCP,
            &info,
            0,
            WSA_FLAG_OVERLAPPED,
            &mut errno,
        )
    };
    assert_ne!(s, INVALID_SOCKET, "errno {errno}");
    s
}

fn connect(t: &WSPPROC_TABLE, s: SOCKET, to: SocketAddrV4) {
    let mut errno = 0;
    let to = sockaddr(to);
    let r = unsafe {
        t.lpWSPConnect.unwrap()(
            s,
            &to as *const _ as *const SOCKADDR,
            16,
            std::ptr::null(),
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
            &mut errno,
        )
    };
    assert_eq!((r, errno), (0, 0));
}

fn connected_to_echo(t: &WSPPROC_TABLE) -> SOCKET {
    let s = new_socket(t);
    connect(t, s, ECHO);
    s
}

fn send(t: &WSPPROC_TABLE, s: SOCKET, data: &[u8]) {
    let wsabuf = WSABUF {
        len: data.len() as u32,
        buf: data.as_ptr().cast_mut(),
    };
    let (mut errno, mut n) = (0, 0u32);
    let r = unsafe {
        t.lpWSPSend.unwrap()(
            s,
            &wsabuf,
            1,
            &mut n,
            0,
            std::ptr::null_mut(),
            None,
            std::ptr::null(),
            &mut errno,
        )
    };
    assert_eq!((r, errno, n as usize), (0, 0, data.len()));
}

fn post_recv(t: &WSPPROC_TABLE, s: SOCKET, buf: &mut [u8], ov: *mut WSAOVERLAPPED) -> (i32, i32) {
    let wsabuf = WSABUF {
        len: buf.len() as u32,
        buf: buf.as_mut_ptr(),
    };
    let (mut flags, mut errno, mut n) = (0u32, 0, 0u32);
    let thread = WSATHREADID {
        ThreadHandle: 1 as _,
        Reserved: 0,
    };
    let r = unsafe {
        t.lpWSPRecv.unwrap()(
            s, &wsabuf, 1, &mut n, &mut flags, ov, None, &thread, &mut errno,
        )
    };
    (r, errno)
}

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
    let (r, errno) = post_recv(&t, s, &mut buf, &mut *ov);
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
    assert_eq!(post_recv(&t, s, &mut buf, ov), (SOCKET_ERROR, 997));
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
    let (r, _) = startup_raw();
    PANIC_AFTER_CALL.store(false, Ordering::SeqCst);
    assert_eq!(r, 0, "the startup succeeded");
    assert_eq!(TestDll::dll().provider.startup_count(), 1);
    let sockets_before = TestDll::dll().provider.socket_count();
    PANIC_AFTER_CALL.store(true, Ordering::SeqCst);
    let mut errno = 0;
    let info = protocol();
    let s = unsafe { t.lpWSPSocket.unwrap()(2, SOCK_STREAM, IPPROTO_TCP, &info, 0, 0, &mut errno) };
    PANIC_AFTER_CALL.store(false, Ordering::SeqCst);
    assert_ne!(s, INVALID_SOCKET, "errno {errno}");
    assert_eq!(TestDll::dll().provider.socket_count(), sockets_before + 1);
    assert_eq!(
        winsock_provider::ffi::guard::last_panic().as_deref(),
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
    assert_eq!(post_recv(&t, s, &mut buf, ov), (SOCKET_ERROR, 997));
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
