//! The shim through its own ABI, from Rust: a provider exported with
//! `export_provider!` in this test binary, driven through `WSPStartup` and
//! the `WSPPROC_TABLE` with a recording upcall table, as ws2_32 would. It
//! runs on every target (the Windows one under Wine too); `tests/c_host.rs`
//! does the same from C against the example DLL.
//!
//! The provider is one per process, so the tests take turns (`serial`).

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use winsock_provider::ffi::abi::{
    AF_INET, INVALID_SOCKET, IPPROTO_TCP, SOCK_STREAM, SOCKADDR, SOCKADDR_IN, SOCKET, SOCKET_ERROR,
    STATUS_CANCELLED, WSABUF, WSAOVERLAPPED, WSAPROTOCOL_INFOW, WSATHREADID, WSPDATA,
    WSPPROC_TABLE, WSPUPCALLTABLE, WSS_OPERATION_IN_PROGRESS,
};
use winsock_provider::ffi::{DllConfig, Exported, ProviderDll};
use winsock_provider::mock::{MockTransport, MockWaiter, Network};

const LOCAL: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const ECHO: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 2), 7);
const WSA_FLAG_OVERLAPPED: u32 = 1;

struct TestDll {
    net: Network,
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
        let node = net.add_node(LOCAL);
        net.add_node(*ECHO.ip());
        net.add_echo_service(ECHO);
        let transport = net.transport(node);
        let waiter = MockWaiter::new(&net);
        (TestDll { net }, transport, waiter)
    }
    fn after_call(&self) {
        self.net.run_until_idle(100_000);
    }
}

winsock_provider::export_provider!(TestDll);

// ---- the host: a recording upcall table -----------------------------------

/// Upcalls seen, by kind.
static CREATED: AtomicUsize = AtomicUsize::new(0);
static CLOSED: AtomicUsize = AtomicUsize::new(0);
static APCS: AtomicUsize = AtomicUsize::new(0);
static COMPLETIONS: AtomicUsize = AtomicUsize::new(0);
static ROUTINE_CALLS: Mutex<Vec<(u32, u32)>> = Mutex::new(Vec::new());
/// Handle table: index = SOCKET / 4 - 1; `(context, open)`.
static HANDLES: Mutex<Vec<(usize, bool)>> = Mutex::new(Vec::new());
/// Queued APCs: (routine, context), run by `alertable_wait`.
static QUEUED: Mutex<Vec<(unsafe extern "system" fn(usize), usize)>> = Mutex::new(Vec::new());

fn serial() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(|p| p.into_inner())
}

unsafe extern "system" fn create_handle(_: u32, context: usize, _: *mut i32) -> SOCKET {
    CREATED.fetch_add(1, Ordering::SeqCst);
    let mut h = HANDLES.lock().unwrap();
    h.push((context, true));
    h.len() * 4
}

unsafe extern "system" fn query_context(s: SOCKET, out: *mut usize, errno: *mut i32) -> i32 {
    let h = HANDLES.lock().unwrap();
    match (s / 4).checked_sub(1).and_then(|i| h.get(i)) {
        Some(&(context, true)) if s.is_multiple_of(4) => {
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

unsafe extern "system" fn close_handle(s: SOCKET, _: *mut i32) -> i32 {
    CLOSED.fetch_add(1, Ordering::SeqCst);
    HANDLES.lock().unwrap()[s / 4 - 1].1 = false;
    0
}

unsafe extern "system" fn queue_apc(
    _: *const WSATHREADID,
    f: Option<unsafe extern "system" fn(usize)>,
    ctx: usize,
    _: *mut i32,
) -> i32 {
    APCS.fetch_add(1, Ordering::SeqCst);
    QUEUED.lock().unwrap().push((f.unwrap(), ctx));
    0
}

unsafe extern "system" fn set_event(_: isize, _: *mut i32) -> i32 {
    1
}

unsafe extern "system" fn complete(
    _: SOCKET,
    ov: *mut WSAOVERLAPPED,
    _error: u32,
    bytes: u32,
    _: *mut i32,
) -> i32 {
    COMPLETIONS.fetch_add(1, Ordering::SeqCst);
    // What ws2_32 does: bytes, then Internal.
    // SAFETY: the shim passes the caller's live record.
    unsafe {
        (*ov).InternalHigh = bytes as usize;
        (*ov).Internal = 0;
    }
    0
}

unsafe extern "system" fn routine(error: u32, bytes: u32, _: *mut WSAOVERLAPPED, _: u32) {
    ROUTINE_CALLS.lock().unwrap().push((error, bytes));
}

/// Runs the queued APCs, as an alertable wait would.
fn alertable_wait() {
    let queued = std::mem::take(&mut *QUEUED.lock().unwrap());
    for (f, ctx) in queued {
        // SAFETY: what the shim queued.
        unsafe { f(ctx) };
    }
}

fn upcalls() -> WSPUPCALLTABLE {
    WSPUPCALLTABLE {
        lpWPUCreateSocketHandle: Some(create_handle),
        lpWPUQuerySocketHandleContext: Some(query_context),
        lpWPUCloseSocketHandle: Some(close_handle),
        lpWPUQueueApc: Some(queue_apc),
        lpWPUSetEvent: Some(set_event),
        lpWPUResetEvent: Some(set_event),
        ..Default::default()
    }
}

fn protocol() -> WSAPROTOCOL_INFOW {
    // SAFETY: a plain C struct; all zeroes is a valid value.
    let mut info: WSAPROTOCOL_INFOW = unsafe { std::mem::zeroed() };
    info.dwCatalogEntryId = 1001;
    info.iAddressFamily = i32::from(AF_INET);
    info.iSocketType = SOCK_STREAM;
    info.iProtocol = IPPROTO_TCP;
    info
}

/// `WSPStartup(version)`: its result, the data and the table.
fn startup(version: u16) -> (i32, WSPDATA, WSPPROC_TABLE) {
    // SAFETY: plain C structs; zeroes are valid (null function pointers).
    let mut data: WSPDATA = unsafe { std::mem::zeroed() };
    let mut table: WSPPROC_TABLE = unsafe { std::mem::zeroed() };
    let info = protocol();
    // `lpWSPData` is declared `*const` but written (the metadata's quirk):
    // pass a pointer that allows the write.
    let data_ptr = (&raw mut data).cast_const();
    // SAFETY: live locals.
    let r = unsafe { WSPStartup(version, data_ptr, &info, upcalls(), &mut table) };
    (r, data, table)
}

fn started() -> WSPPROC_TABLE {
    WSPSetCompletionUpcall(Some(complete));
    let (r, _, table) = startup(0x0202);
    assert_eq!(r, 0);
    table
}

fn cleanup(t: &WSPPROC_TABLE) -> (i32, i32) {
    let mut errno = 0;
    // SAFETY: a live local.
    let r = unsafe { t.lpWSPCleanup.unwrap()(&mut errno) };
    (r, errno)
}

/// Cleans up until the provider is closed, whatever an earlier test left.
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

/// An overlapped stream socket connected to the echo service.
fn connected_to_echo(t: &WSPPROC_TABLE) -> SOCKET {
    let mut errno = 0;
    let info = protocol();
    // SAFETY: live locals throughout.
    unsafe {
        let s = t.lpWSPSocket.unwrap()(
            i32::from(AF_INET),
            SOCK_STREAM,
            IPPROTO_TCP,
            &info,
            0,
            WSA_FLAG_OVERLAPPED,
            &mut errno,
        );
        assert_ne!(s, INVALID_SOCKET, "errno {errno}");
        let to = sockaddr(ECHO);
        let r = t.lpWSPConnect.unwrap()(
            s,
            &to as *const _ as *const SOCKADDR,
            16,
            std::ptr::null(),
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
            &mut errno,
        );
        assert_eq!((r, errno), (0, 0));
        s
    }
}

/// Posts an overlapped receive into `buf`; returns its result and errno.
fn post_recv(
    t: &WSPPROC_TABLE,
    s: SOCKET,
    buf: &mut [u8],
    ov: &mut WSAOVERLAPPED,
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

fn send(t: &WSPPROC_TABLE, s: SOCKET, data: &[u8]) {
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

fn counts() -> [usize; 4] {
    [
        CREATED.load(Ordering::SeqCst),
        CLOSED.load(Ordering::SeqCst),
        APCS.load(Ordering::SeqCst),
        COMPLETIONS.load(Ordering::SeqCst),
    ]
}

fn offset_high(ov: &WSAOVERLAPPED) -> u32 {
    // SAFETY: the union's words are plain integers.
    unsafe { ov.Anonymous.Anonymous.OffsetHigh }
}

/// S2, S13: startup fills `WSPDATA` and all 30 entries; refuses old versions
/// and null pointers with the error as its result.
#[test]
fn s2_startup_fills_the_data_and_every_entry_and_s13_refuses_null_pointers() {
    let _turn = serial();
    let (r, data, table) = startup(0x0302);
    assert_eq!((r, data.wVersion, data.wHighVersion), (0, 0x0202, 0x0202));
    let description = String::from_utf16_lossy(
        &data.szDescription[..data.szDescription.iter().position(|&c| c == 0).unwrap()],
    );
    assert_eq!(description, "abi test");
    // SAFETY: 30 function pointers, as the layout asserts check.
    let entries: [usize; 30] = unsafe { std::mem::transmute(table) };
    assert!(entries.iter().all(|&e| e != 0), "every entry is set");
    assert_eq!(startup(0x0101).0, 10092, "WSAVERNOTSUPPORTED");
    let info = protocol();
    // SAFETY: null pointers are what is being tested; the rest are live.
    let r = unsafe {
        let mut table: WSPPROC_TABLE = std::mem::zeroed();
        WSPStartup(0x0202, std::ptr::null(), &info, upcalls(), &mut table)
    };
    assert_eq!(r, 10014, "WSAEFAULT for a null lpWSPData");
    reset(&table);
}

/// S4: after the last cleanup every entry is WSANOTINITIALISED.
#[test]
fn s4_after_the_last_cleanup_calls_are_wsanotinitialised() {
    let _turn = serial();
    let t = started();
    let s = connected_to_echo(&t);
    reset(&t);
    assert_eq!(cleanup(&t), (SOCKET_ERROR, 10093));
    let mut errno = 0;
    // SAFETY: live locals.
    let r = unsafe { t.lpWSPCloseSocket.unwrap()(s, &mut errno) };
    assert_eq!((r, errno), (SOCKET_ERROR, 10093));
    let r = unsafe {
        t.lpWSPSelect.unwrap()(
            0,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null(),
            &mut errno,
        )
    };
    assert_eq!((r, errno), (SOCKET_ERROR, 10093));
}

/// S9, S10: an overlapped receive goes pending (`Internal` 0x103), then
/// completes once with the echoed bytes in the caller's buffer; the
/// routine-mode one runs its routine once.
#[test]
fn s9_pending_receive_completes_once_with_its_data_in_the_buffers() {
    let _turn = serial();
    let t = started();
    let s = connected_to_echo(&t);
    let (mut buf, mut ov) = ([0u8; 16], WSAOVERLAPPED::default());
    let before = counts();
    assert_eq!(
        post_recv(&t, s, &mut buf, &mut ov, false),
        (SOCKET_ERROR, 997)
    );
    assert_eq!(ov.Internal, WSS_OPERATION_IN_PROGRESS);
    send(&t, s, b"hello");
    assert_eq!(&buf[..5], b"hello");
    assert_eq!(counts()[3] - before[3], 1, "one completion upcall");
    let (mut n, mut flags, mut errno) = (0u32, 0u32, 0);
    // SAFETY: live locals.
    let ok =
        unsafe { t.lpWSPGetOverlappedResult.unwrap()(s, &ov, &mut n, 0, &mut flags, &mut errno) };
    assert_eq!((ok, n), (1, 5));

    ROUTINE_CALLS.lock().unwrap().clear();
    let mut ov2 = WSAOVERLAPPED::default();
    assert_eq!(
        post_recv(&t, s, &mut buf, &mut ov2, true),
        (SOCKET_ERROR, 997)
    );
    send(&t, s, b"again!");
    alertable_wait();
    assert_eq!(*ROUTINE_CALLS.lock().unwrap(), [(0, 6)]);
    assert_eq!(&buf[..6], b"again!");
    reset(&t);
}

/// S7: a close aborts the pending receive with WSA_OPERATION_ABORTED and
/// tells the application once; the handle goes back to the host.
#[test]
fn s7_close_aborts_the_pending_receive_and_notifies_once() {
    let _turn = serial();
    let t = started();
    let s = connected_to_echo(&t);
    let (mut buf, mut ov) = ([0u8; 16], WSAOVERLAPPED::default());
    ROUTINE_CALLS.lock().unwrap().clear();
    assert_eq!(
        post_recv(&t, s, &mut buf, &mut ov, true),
        (SOCKET_ERROR, 997)
    );
    let before = counts();
    let mut errno = 0;
    // SAFETY: live locals.
    assert_eq!(unsafe { t.lpWSPCloseSocket.unwrap()(s, &mut errno) }, 0);
    alertable_wait();
    let after = counts();
    assert_eq!((after[1] - before[1], after[2] - before[2]), (1, 1));
    assert_eq!(*ROUTINE_CALLS.lock().unwrap(), [(995, 0)]);
    assert_eq!(offset_high(&ov), 995);
    reset(&t);
}

/// S6c, S6d: the final cleanup aborts pending operations without any upcall
/// (no APC, no completion), yet writes their records; open sockets are
/// reset and their handles given back; a restart works at once and the old
/// handle is WSAENOTSOCK (S6h).
#[test]
fn s6c_final_cleanup_writes_records_and_makes_no_completion_upcall() {
    let _turn = serial();
    let t = started();
    let s = connected_to_echo(&t);
    let (mut b1, mut b2) = ([0u8; 16], [0u8; 16]);
    let (mut ov1, mut ov2) = (WSAOVERLAPPED::default(), WSAOVERLAPPED::default());
    assert_eq!(
        post_recv(&t, s, &mut b1, &mut ov1, false),
        (SOCKET_ERROR, 997)
    );
    assert_eq!(
        post_recv(&t, s, &mut b2, &mut ov2, true),
        (SOCKET_ERROR, 997)
    );
    let before = counts();
    assert_eq!(cleanup(&t), (0, 0));
    alertable_wait();
    let after = counts();
    assert_eq!(after[2..], before[2..], "no APC and no completion upcall");
    assert_eq!(
        after[1] - before[1],
        1,
        "the open socket's handle is given back"
    );
    for ov in [&ov1, &ov2] {
        assert_eq!((offset_high(ov), ov.Internal), (995, STATUS_CANCELLED));
    }
    let t = started();
    let mut errno = 0;
    // SAFETY: live locals.
    let r = unsafe { t.lpWSPShutdown.unwrap()(s, 2, &mut errno) };
    assert_eq!((r, errno), (SOCKET_ERROR, 10038));
    reset(&t);
}

/// S13: a null buffer array, a short address and a bogus handle are refused
/// and change nothing.
#[test]
fn s13_bad_pointers_and_bogus_handles_are_refused() {
    let _turn = serial();
    let t = started();
    let s = connected_to_echo(&t);
    let (mut errno, mut n, mut flags) = (0, 0u32, 0u32);
    // SAFETY: the null and short pointers are what is being tested.
    unsafe {
        let r = t.lpWSPRecv.unwrap()(
            s,
            std::ptr::null(),
            1,
            &mut n,
            &mut flags,
            std::ptr::null_mut(),
            None,
            std::ptr::null(),
            &mut errno,
        );
        assert_eq!((r, errno), (SOCKET_ERROR, 10014));
        let to = sockaddr(ECHO);
        let r = t.lpWSPBind.unwrap()(s, &to as *const _ as *const SOCKADDR, 8, &mut errno);
        assert_eq!((r, errno), (SOCKET_ERROR, 10014));
        let r = t.lpWSPCloseSocket.unwrap()(0x7777_0000, &mut errno);
        assert_eq!((r, errno), (SOCKET_ERROR, 10038));
        let r = t.lpWSPCloseSocket.unwrap()(s, std::ptr::null_mut());
        assert_eq!(
            r, 0,
            "the socket was still open; a null lpErrno is never written"
        );
    }
    assert!(TestDll::loaded().is_some());
    reset(&t);
}

/// S10, S14 through the ABI: threads post overlapped receives and send on
/// their own sockets at once, while any thread's call (or pump) may complete
/// another's operation, even before the posting call has returned. Every
/// operation is completed exactly once with its own bytes in its own
/// buffer. Then each thread leaves one receive pending and the final
/// cleanup aborts all of them without a single upcall (S6c).
#[test]
fn s14_threads_posting_through_the_abi_each_get_exactly_their_completions() {
    const THREADS: usize = 4;
    let rounds: usize = std::env::var("STRESS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let _turn = serial();
    let t = started();
    let before = counts();
    let pump = || TestDll::dll().app.net.run_until_idle(100_000);
    let finished: Vec<(usize, usize)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|i| {
                let t = &t;
                scope.spawn(move || {
                    let s = connected_to_echo(t);
                    let mut buf = [0u8; 32];
                    let mut posted = 0;
                    for round in 0..rounds {
                        let msg = format!("t{i} r{round}");
                        let mut ov = Box::new(WSAOVERLAPPED::default());
                        let (r, errno) = post_recv(t, s, &mut buf, &mut ov, false);
                        posted += 1;
                        assert!(r == 0 || errno == 997, "recv: {r} {errno}");
                        send(t, s, msg.as_bytes());
                        let internal = |ov: &WSAOVERLAPPED| {
                            // SAFETY: a live record the shim writes atomically.
                            unsafe {
                                std::sync::atomic::AtomicUsize::from_ptr(
                                    std::ptr::addr_of!(ov.Internal).cast_mut(),
                                )
                                .load(Ordering::Acquire)
                            }
                        };
                        let start = std::time::Instant::now();
                        while internal(&ov) == WSS_OPERATION_IN_PROGRESS {
                            pump();
                            std::thread::yield_now();
                            assert!(start.elapsed().as_secs() < 30, "no completion");
                        }
                        // One echo may come back in pieces: take the rest.
                        let mut got = buf[..ov.InternalHigh].to_vec();
                        while got.len() < msg.len() {
                            let mut more = Box::new(WSAOVERLAPPED::default());
                            let mut rest = [0u8; 32];
                            post_recv(t, s, &mut rest, &mut more, false);
                            posted += 1;
                            while internal(&more) == WSS_OPERATION_IN_PROGRESS {
                                pump();
                                std::thread::yield_now();
                            }
                            got.extend_from_slice(&rest[..more.InternalHigh]);
                        }
                        assert_eq!(got, msg.as_bytes(), "thread {i} round {round}");
                    }
                    // Left pending: its buffer must outlive the test.
                    let mut last = Box::new(WSAOVERLAPPED::default());
                    let buf: &'static mut [u8; 32] = Box::leak(Box::new([0; 32]));
                    let left = post_recv(t, s, buf, &mut last, true);
                    assert_eq!(left, (SOCKET_ERROR, 997));
                    (posted, Box::into_raw(last) as usize)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let mid = counts();
    assert_eq!(mid[2], before[2], "no routine was used yet");
    let posted: usize = finished.iter().map(|&(n, _)| n).sum();
    assert!(posted >= THREADS * rounds);
    assert_eq!(mid[3] - before[3], posted, "one completion per receive");
    assert_eq!(cleanup(&t), (0, 0));
    alertable_wait();
    let after = counts();
    assert_eq!(
        after[2..],
        mid[2..],
        "the final cleanup made no completion upcall"
    );
    for (_, ov) in finished {
        // SAFETY: the boxes the workers gave up, each returned once.
        let ov = unsafe { Box::from_raw(ov as *mut WSAOVERLAPPED) };
        assert_eq!((offset_high(&ov), ov.Internal), (995, STATUS_CANCELLED));
    }
    reset(&t);
}
