//! The test host shared by `tests/abi.rs` and `tests/abi_edges.rs`: a
//! provider over the mock network (each test binary exports it with
//! `export_provider!`), a recording upcall table as ws2_32 would pass it,
//! and helpers that drive the proc table. The provider is one per process,
//! so tests take turns (`serial`).
#![allow(dead_code)] // each test binary uses a different part

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use winsock_provider::ffi::abi::{
    AF_INET, AF_INET6, INVALID_SOCKET, IPPROTO_TCP, SOCK_STREAM, SOCKADDR, SOCKADDR_IN,
    SOCKADDR_IN6, SOCKET, SOCKET_ERROR, WSABUF, WSAOVERLAPPED, WSAPROTOCOL_INFOW, WSATHREADID,
    WSPDATA, WSPPROC_TABLE, WSPUPCALLTABLE,
};
use winsock_provider::ffi::{DllConfig, ProviderDll};
use winsock_provider::mock::{MockTransport, MockWaiter, Network};

pub const LOCAL: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);

// The codes and masks the tests compare with.
pub const WSA_IO_PENDING: i32 = 997;
pub const WSAEFAULT: i32 = 10014;
pub const WSAEINVAL: i32 = 10022;
pub const WSAENOTSOCK: i32 = 10038;
pub const WSAEOPNOTSUPP: i32 = 10045;
pub const WSAENOTCONN: i32 = 10057;
pub const WSAESHUTDOWN: i32 = 10058;
pub const WSANOTINITIALISED: i32 = 10093;
pub const FD_READ: i32 = 1;
pub const FD_WRITE: i32 = 2;
pub const FD_ACCEPT: i32 = 8;
pub const FD_CLOSE: i32 = 32;

/// Runs a call that takes an `lpErrno`: its result and the error written.
pub fn errno_of(call: impl FnOnce(&mut i32) -> i32) -> (i32, i32) {
    let mut errno = 0;
    let r = call(&mut errno);
    (r, errno)
}
pub const ECHO: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 2), 7);
/// The provider's IPv6 address, and an echo service over IPv6.
pub const LOCAL6: Ipv6Addr = Ipv6Addr::LOCALHOST;
pub const ECHO6: SocketAddrV6 = SocketAddrV6::new(Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 2), 7, 0, 0);
pub const WSA_FLAG_OVERLAPPED: u32 = 1;

pub struct TestDll {
    /// The network, for tests that pump it themselves.
    pub net: Network,
}

impl ProviderDll for TestDll {
    type Transport = MockTransport;
    type Waiter = MockWaiter;
    fn config() -> DllConfig {
        DllConfig {
            description: "abi test",
            ..DllConfig::default()
        }
    }
    fn create() -> (Self, MockTransport, MockWaiter) {
        let net = Network::new(7);
        let node = net.add_node(LOCAL.into());
        net.add_address(node, LOCAL6.into());
        let peers = net.add_node((*ECHO.ip()).into());
        net.add_address(peers, (*ECHO6.ip()).into());
        net.add_echo_service(ECHO.into());
        net.add_echo_service(ECHO6.into());
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

thread_local! {
    /// A thread that acts while another is inside the network's delivery
    /// must not pump (the pump is the harness's, not what is tested).
    pub static NO_PUMP: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}
/// Makes the author's `after_call` panic.
pub static PANIC_AFTER_CALL: AtomicBool = AtomicBool::new(false);

// ---- the host: a recording upcall table -----------------------------------

/// Upcalls seen, by kind.
pub static CREATED: AtomicUsize = AtomicUsize::new(0);
pub static CLOSED: AtomicUsize = AtomicUsize::new(0);
pub static APCS: AtomicUsize = AtomicUsize::new(0);
pub static COMPLETIONS: AtomicUsize = AtomicUsize::new(0);
pub static ROUTINE_CALLS: Mutex<Vec<(u32, u32)>> = Mutex::new(Vec::new());
/// Handle table: index = SOCKET / 4 - 1; `(context, open)`.
pub static HANDLES: Mutex<Vec<(usize, bool)>> = Mutex::new(Vec::new());
/// Makes `WPUQuerySocketHandleContext` keep answering for handles given
/// back (a sloppy host): the provider's own check must refuse them.
pub static SLOPPY: AtomicBool = AtomicBool::new(false);
/// Makes `WPUCreateSocketHandle` fail with WSAENOBUFS.
pub static FAIL_CREATE: AtomicBool = AtomicBool::new(false);
/// `WPUResetEvent` calls.
pub static RESETS: AtomicUsize = AtomicUsize::new(0);
/// Events set with `WPUSetEvent`, in order.
pub static SETS: Mutex<Vec<isize>> = Mutex::new(Vec::new());
/// `lParam`s posted with `WPUPostMessage`, in order.
pub static POSTS: Mutex<Vec<isize>> = Mutex::new(Vec::new());
/// An event handle `WPUResetEvent` refuses (WSA_INVALID_HANDLE).
pub const BAD_EVENT: isize = 0xBAD;
/// Run by `WPUCreateSocketHandle` before it makes the handle, once.
pub static ON_CREATE: Mutex<Option<Box<dyn FnOnce() + Send>>> = Mutex::new(None);
/// Run by the completion upcall before it completes, once.
pub static ON_COMPLETE: Mutex<Option<Box<dyn FnOnce() + Send>>> = Mutex::new(None);
/// Completion upcalls that named a handle already given back.
pub static COMPLETED_ON_CLOSED: AtomicUsize = AtomicUsize::new(0);
/// Set by a test once the final cleanup has returned: from then on until
/// the next startup, any upcall is counted in `LATE_UPCALLS`.
pub static LATE: AtomicBool = AtomicBool::new(false);
/// Upcalls made while `LATE` was set.
pub static LATE_UPCALLS: AtomicUsize = AtomicUsize::new(0);
/// `WPUCloseSocketHandle` calls for a handle already given back.
pub static DOUBLE_CLOSED: AtomicUsize = AtomicUsize::new(0);
/// Records told of their end: passed to the completion upcall, or to the
/// completion routine when its APC ran.
pub static TOLD: Mutex<Vec<usize>> = Mutex::new(Vec::new());
/// Queued APCs: (routine, context), run by `alertable_wait`.
pub static QUEUED: Mutex<Vec<(unsafe extern "system" fn(usize), usize)>> = Mutex::new(Vec::new());

pub fn serial() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(|p| p.into_inner())
}

/// Counts an upcall made after the final cleanup returned (see `LATE`).
fn upcall_made() {
    if LATE.load(Ordering::SeqCst) {
        LATE_UPCALLS.fetch_add(1, Ordering::SeqCst);
    }
}

unsafe extern "system" fn create_handle(_: u32, context: usize, errno: *mut i32) -> SOCKET {
    upcall_made();
    let hook = ON_CREATE.lock().unwrap().take();
    if let Some(f) = hook {
        f();
    }
    if FAIL_CREATE.load(Ordering::SeqCst) {
        // SAFETY: the shim passes a live local.
        unsafe { errno.write(10055) };
        return INVALID_SOCKET;
    }
    CREATED.fetch_add(1, Ordering::SeqCst);
    let mut h = HANDLES.lock().unwrap();
    h.push((context, true));
    h.len() * 4
}

pub unsafe extern "system" fn query_context(s: SOCKET, out: *mut usize, errno: *mut i32) -> i32 {
    upcall_made();
    let h = HANDLES.lock().unwrap();
    let sloppy = SLOPPY.load(Ordering::SeqCst);
    match (s / 4).checked_sub(1).and_then(|i| h.get(i)) {
        Some(&(context, open)) if s.is_multiple_of(4) && (open || sloppy) => {
            // SAFETY: the shim passes live locals.
            unsafe { out.write(context) };
            0
        }
        _ => {
            // SAFETY: as above.
            unsafe { errno.write(10038) };
            SOCKET_ERROR
        }
    }
}

pub unsafe extern "system" fn close_handle(s: SOCKET, _: *mut i32) -> i32 {
    upcall_made();
    CLOSED.fetch_add(1, Ordering::SeqCst);
    let was_open = std::mem::replace(&mut HANDLES.lock().unwrap()[s / 4 - 1].1, false);
    if !was_open {
        DOUBLE_CLOSED.fetch_add(1, Ordering::SeqCst);
    }
    0
}

/// The `ThreadHandle` of each `WPUQueueApc`, in order.
pub static APC_THREADS: Mutex<Vec<usize>> = Mutex::new(Vec::new());

pub unsafe extern "system" fn queue_apc(
    thread: *const WSATHREADID,
    f: Option<unsafe extern "system" fn(usize)>,
    ctx: usize,
    _: *mut i32,
) -> i32 {
    upcall_made();
    APCS.fetch_add(1, Ordering::SeqCst);
    // SAFETY: the shim passes a live reference.
    APC_THREADS
        .lock()
        .unwrap()
        .push(unsafe { (*thread).ThreadHandle } as usize);
    QUEUED.lock().unwrap().push((f.unwrap(), ctx));
    0
}

pub unsafe extern "system" fn set_event(ev: isize, _: *mut i32) -> i32 {
    upcall_made();
    SETS.lock().unwrap().push(ev);
    1
}

pub unsafe extern "system" fn reset_event(ev: isize, errno: *mut i32) -> i32 {
    upcall_made();
    RESETS.fetch_add(1, Ordering::SeqCst);
    if ev == BAD_EVENT {
        // SAFETY: the shim passes a live local.
        unsafe { errno.write(6) }; // WSA_INVALID_HANDLE
        return 0;
    }
    1
}

pub unsafe extern "system" fn post_message(
    _: windows_sys::Win32::Foundation::HWND,
    _: u32,
    _: usize,
    lparam: isize,
) -> i32 {
    upcall_made();
    POSTS.lock().unwrap().push(lparam);
    1
}

pub unsafe extern "system" fn complete(
    s: SOCKET,
    ov: *mut WSAOVERLAPPED,
    _error: u32,
    bytes: u32,
    _: *mut i32,
) -> i32 {
    upcall_made();
    let hook = ON_COMPLETE.lock().unwrap().take();
    if let Some(f) = hook {
        f();
    }
    COMPLETIONS.fetch_add(1, Ordering::SeqCst);
    TOLD.lock().unwrap().push(ov as usize);
    // What ws2_32 does first: look the handle up.
    let open = HANDLES.lock().unwrap().get(s / 4 - 1).is_some_and(|h| h.1);
    if !open {
        COMPLETED_ON_CLOSED.fetch_add(1, Ordering::SeqCst);
    }
    // Then bytes, then Internal (with release ordering, as the shim reads it).
    // SAFETY: the shim passes the caller's live, aligned record.
    unsafe {
        (*ov).InternalHigh = bytes as usize;
        AtomicUsize::from_ptr(std::ptr::addr_of_mut!((*ov).Internal)).store(0, Ordering::Release);
    }
    0
}

pub unsafe extern "system" fn routine(error: u32, bytes: u32, ov: *mut WSAOVERLAPPED, _: u32) {
    ROUTINE_CALLS.lock().unwrap().push((error, bytes));
    TOLD.lock().unwrap().push(ov as usize);
}

/// `WPUOpenCurrentThread` and `WPUCloseThread` calls: every thread opened
/// for an extension function's routine must be closed again.
pub static THREADS_OPENED: AtomicUsize = AtomicUsize::new(0);
pub static THREADS_CLOSED: AtomicUsize = AtomicUsize::new(0);

pub unsafe extern "system" fn open_current_thread(thread: *mut WSATHREADID, _: *mut i32) -> i32 {
    let n = THREADS_OPENED.fetch_add(1, Ordering::SeqCst) + 1;
    // SAFETY: the shim passes a live local.
    unsafe {
        thread.write(WSATHREADID {
            ThreadHandle: (0x7000 + n) as _,
            Reserved: 0,
        })
    };
    0
}

pub unsafe extern "system" fn close_thread(_: *const WSATHREADID, _: *mut i32) -> i32 {
    THREADS_CLOSED.fetch_add(1, Ordering::SeqCst);
    0
}

/// Runs the queued APCs, as an alertable wait would.
pub fn alertable_wait() {
    let queued = std::mem::take(&mut *QUEUED.lock().unwrap());
    for (f, ctx) in queued {
        // SAFETY: what the shim queued.
        unsafe { f(ctx) };
    }
}

pub fn upcalls() -> WSPUPCALLTABLE {
    WSPUPCALLTABLE {
        lpWPUCreateSocketHandle: Some(create_handle),
        lpWPUQuerySocketHandleContext: Some(query_context),
        lpWPUCloseSocketHandle: Some(close_handle),
        lpWPUQueueApc: Some(queue_apc),
        lpWPUSetEvent: Some(set_event),
        lpWPUResetEvent: Some(reset_event),
        lpWPUPostMessage: Some(post_message),
        lpWPUOpenCurrentThread: Some(open_current_thread),
        lpWPUCloseThread: Some(close_thread),
        ..Default::default()
    }
}

pub fn protocol() -> WSAPROTOCOL_INFOW {
    // SAFETY: a plain C struct; all zeroes is a valid value.
    let mut info: WSAPROTOCOL_INFOW = unsafe { std::mem::zeroed() };
    info.dwCatalogEntryId = 1001;
    info.iAddressFamily = i32::from(AF_INET);
    info.iSocketType = SOCK_STREAM;
    info.iProtocol = IPPROTO_TCP;
    info
}

/// `WSPStartup(version)`: its result, the data and the table.
pub fn startup(version: u16) -> (i32, WSPDATA, WSPPROC_TABLE) {
    // SAFETY: plain C structs; zeroes are valid (null function pointers).
    let mut data: WSPDATA = unsafe { std::mem::zeroed() };
    let mut table: WSPPROC_TABLE = unsafe { std::mem::zeroed() };
    let info = protocol();
    // `lpWSPData` is declared `*const` but written (the metadata's quirk):
    // pass a pointer that allows the write.
    let data_ptr = (&raw mut data).cast_const();
    // SAFETY: live locals.
    let r = unsafe { crate::WSPStartup(version, data_ptr, &info, upcalls(), &mut table) };
    (r, data, table)
}

pub fn started() -> WSPPROC_TABLE {
    crate::WSPSetCompletionUpcall(Some(complete));
    let (r, _, table) = startup(0x0202);
    assert_eq!(r, 0);
    table
}

pub fn cleanup(t: &WSPPROC_TABLE) -> (i32, i32) {
    let mut errno = 0;
    // SAFETY: a live local.
    let r = unsafe { t.lpWSPCleanup.unwrap()(&mut errno) };
    (r, errno)
}

/// Cleans up until the provider is closed, whatever an earlier test left.
pub fn reset(t: &WSPPROC_TABLE) {
    while cleanup(t).0 == 0 {}
}

pub fn sockaddr(a: SocketAddrV4) -> SOCKADDR_IN {
    let mut sin = SOCKADDR_IN {
        sin_family: AF_INET,
        sin_port: a.port().to_be(),
        ..Default::default()
    };
    sin.sin_addr.S_un.S_addr = u32::from(*a.ip()).to_be();
    sin
}

pub fn sockaddr6(a: SocketAddrV6) -> SOCKADDR_IN6 {
    let mut sin6 = SOCKADDR_IN6 {
        sin6_family: AF_INET6,
        sin6_port: a.port().to_be(),
        ..Default::default()
    };
    sin6.sin6_addr.u.Byte = a.ip().octets();
    sin6
}

/// An overlapped stream socket.
pub fn new_socket(t: &WSPPROC_TABLE) -> SOCKET {
    new_socket_in(t, i32::from(AF_INET))
}

/// An overlapped stream socket of address family `af`.
pub fn new_socket_in(t: &WSPPROC_TABLE, af: i32) -> SOCKET {
    let mut errno = 0;
    let info = protocol();
    // SAFETY: live locals.
    let s = unsafe {
        t.lpWSPSocket.unwrap()(
            af,
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

/// `WSPConnect` to `to`, which must succeed.
pub fn connect(t: &WSPPROC_TABLE, s: SOCKET, to: SocketAddrV4) {
    let mut errno = 0;
    let to = sockaddr(to);
    // SAFETY: live locals.
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

/// An overlapped stream socket connected to the echo service.
pub fn connected_to_echo(t: &WSPPROC_TABLE) -> SOCKET {
    let s = new_socket(t);
    connect(t, s, ECHO);
    s
}

/// Posts an overlapped receive into `buf`; returns its result and errno.
pub fn post_recv(
    t: &WSPPROC_TABLE,
    s: SOCKET,
    buf: &mut [u8],
    ov: *mut WSAOVERLAPPED,
    with_routine: bool,
) -> (i32, i32) {
    let wsabuf = WSABUF {
        len: buf.len() as u32,
        buf: buf.as_mut_ptr(),
    };
    let thread = WSATHREADID {
        ThreadHandle: 1 as _,
        Reserved: 0,
    };
    let (mut flags, mut errno, mut n) = (0u32, 0, 0u32);
    let r = unsafe {
        t.lpWSPRecv.unwrap()(
            s,
            &wsabuf,
            1,
            &mut n,
            &mut flags,
            ov,
            if with_routine { Some(routine) } else { None },
            &thread,
            &mut errno,
        )
    };
    (r, errno)
}

pub fn send(t: &WSPPROC_TABLE, s: SOCKET, data: &[u8]) {
    let wsabuf = WSABUF {
        len: data.len() as u32,
        buf: data.as_ptr().cast_mut(),
    };
    let (mut errno, mut n) = (0, 0u32);
    // SAFETY: live locals.
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

/// Host handles made and not given back.
pub fn open_handles() -> usize {
    HANDLES.lock().unwrap().iter().filter(|h| h.1).count()
}

pub fn counts() -> [usize; 4] {
    [
        CREATED.load(Ordering::SeqCst),
        CLOSED.load(Ordering::SeqCst),
        APCS.load(Ordering::SeqCst),
        COMPLETIONS.load(Ordering::SeqCst),
    ]
}

pub fn offset_high(ov: &WSAOVERLAPPED) -> u32 {
    // SAFETY: the union's words are plain integers.
    unsafe { ov.Anonymous.Anonymous.OffsetHigh }
}

/// A blocking `WSPRecv` (no record) of up to 64 bytes, which must succeed:
/// the bytes.
pub fn recv_blocking(t: &WSPPROC_TABLE, s: SOCKET) -> Vec<u8> {
    let mut buf = [0u8; 64];
    let wsabuf = WSABUF {
        len: 64,
        buf: buf.as_mut_ptr(),
    };
    let (mut n, mut flags) = (0u32, 0u32);
    // SAFETY: live locals; no record: a blocking call.
    let (r, errno) = errno_of(|e| unsafe {
        t.lpWSPRecv.unwrap()(
            s,
            &wsabuf,
            1,
            &mut n,
            &mut flags,
            std::ptr::null_mut(),
            None,
            std::ptr::null(),
            e,
        )
    });
    assert_eq!((r, errno), (0, 0));
    buf[..n as usize].to_vec()
}
