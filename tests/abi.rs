//! The shim through its own ABI, from Rust: a provider exported with
//! `export_provider!` in this test binary, driven through `WSPStartup` and
//! the `WSPPROC_TABLE` with a recording upcall table, as ws2_32 would. It
//! runs on every target (the Windows one under Wine too); `tests/c_host.rs`
//! does the same from C against the example DLL.
//!
//! The provider is one per process, so the tests take turns (`serial`).

mod abi_host;

use abi_host::*;
use std::sync::atomic::Ordering;
use winsock_provider::ffi::Exported;
use winsock_provider::ffi::abi::{
    SOCKADDR, SOCKET_ERROR, STATUS_CANCELLED, WSAOVERLAPPED, WSPPROC_TABLE,
    WSS_OPERATION_IN_PROGRESS,
};

winsock_provider::export_provider!(TestDll);

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
    assert!(
        TestDll::dll().in_flight() == 0,
        "the shim carries nothing past the final cleanup"
    );
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
    let pump = || TestDll::dll().app().net.run_until_idle(100_000);
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
                        let (r, errno) = post_recv(t, s, &mut buf, &mut *ov, false);
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
                            post_recv(t, s, &mut rest, &mut *more, false);
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
                    let left = post_recv(t, s, buf, &mut *last, true);
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
    assert!(
        TestDll::dll().in_flight() == 0,
        "nothing carried past the final cleanup"
    );
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
