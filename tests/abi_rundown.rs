//! The shim's work happens inside the rundown (S6d, S6f, S6h): every entry
//! that makes or releases state in the host (handles from
//! `WPUCreateSocketHandle`, overlapped records in flight, event and window
//! registrations, queued completion routines) does so inside the same gate
//! entry as the core's part, so that a final cleanup running on another
//! thread sees it whole or not at all.
//!
//! The threaded test races every such entry against nested startups and the
//! final cleanup, round after round, and after each round checks the host's
//! books: every handle made was given back exactly once, nothing is carried,
//! no socket is left, and nobody made an upcall after the cleanup returned.
//! `RUNDOWN_ROUNDS` sets the number of rounds (default 300; CI runs 3,000 in
//! release).

mod abi_host;

use abi_host::*;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;
use winsock_provider::ffi::Exported;
use winsock_provider::ffi::abi::{
    INVALID_SOCKET, LINGER, SO_LINGER, SOCKADDR_IN, SOCKET, SOCKET_ERROR, SOL_SOCKET,
    STATUS_CANCELLED, WSABUF, WSAOVERLAPPED, WSATHREADID, WSPPROC_TABLE, WSS_OPERATION_IN_PROGRESS,
};

winsock_provider::export_provider!(TestDll);

/// What one worker leaves behind: records and buffers the provider may
/// still write until the final cleanup has returned.
#[derive(Default)]
#[allow(clippy::vec_box)] // Boxed: the provider holds their addresses.
struct Leftovers {
    records: Vec<Box<WSAOVERLAPPED>>,
    buffers: Vec<Box<[u8; 16]>>,
}

// SAFETY: the records' `hEvent` is a number the test made up, never a
// pointer anybody follows; the worker hands them to the main thread whole.
unsafe impl Send for Leftovers {}

/// `WSPSocket` of an overlapped stream socket; `None` once the provider is
/// closed (the round is over for this worker).
fn try_socket(t: &WSPPROC_TABLE) -> Option<SOCKET> {
    let info = protocol();
    let mut errno = 0;
    // SAFETY: live locals.
    let s = unsafe { t.lpWSPSocket.unwrap()(2, 1, 6, &info, 0, WSA_FLAG_OVERLAPPED, &mut errno) };
    (s != INVALID_SOCKET).then_some(s)
}

/// One pass of a worker over every entry that makes or releases host state.
/// Each call may fail (the final cleanup may have run); none may leave
/// anything behind. Returns false once `WSPSocket` is refused with
/// `WSANOTINITIALISED`.
fn one_pass(t: &WSPPROC_TABLE, worker: usize, pass: usize, left: &mut Leftovers) -> bool {
    let Some(s) = try_socket(t) else {
        return false;
    };
    let linger = LINGER {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY (whole block): live locals and boxes that outlive the cleanup.
    unsafe {
        errno_of(|e| {
            t.lpWSPSetSockOpt.unwrap()(
                s,
                SOL_SOCKET,
                SO_LINGER,
                (&linger as *const LINGER).cast(),
                4,
                e,
            )
        });
        let echo = sockaddr(ECHO);
        errno_of(|e| {
            t.lpWSPConnect.unwrap()(
                s,
                (&echo as *const SOCKADDR_IN).cast(),
                16,
                std::ptr::null(),
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
                e,
            )
        });
        // Overlapped receives and sends in each completion mode.
        let thread = WSATHREADID {
            ThreadHandle: (0x100 + worker) as _,
            Reserved: 0,
        };
        for mode in 0..3 {
            let mut ov = Box::new(WSAOVERLAPPED::default());
            // Each record's event is its own address: `SETS` tells whose
            // event was set.
            ov.hEvent = match mode {
                0 => (&raw const *ov).cast_mut().cast(),
                _ => std::ptr::null_mut(),
            };
            let mut buf = Box::new([0u8; 16]);
            let wsabuf = WSABUF {
                len: 16,
                buf: buf.as_mut_ptr(),
            };
            let (mut n, mut flags) = (0u32, 0u32);
            let routine = if mode == 1 { Some(routine as _) } else { None };
            errno_of(|e| {
                t.lpWSPRecv.unwrap()(
                    s, &wsabuf, 1, &mut n, &mut flags, &mut *ov, routine, &thread, e,
                )
            });
            left.records.push(ov);
            left.buffers.push(buf);
            let mut ov = Box::new(WSAOVERLAPPED::default());
            if mode == 0 {
                ov.hEvent = (&raw const *ov).cast_mut().cast();
            }
            let data = Box::new(*b"rundown-test-abc");
            let wsabuf = WSABUF {
                len: 16,
                buf: data.as_ptr().cast_mut(),
            };
            errno_of(|e| {
                t.lpWSPSend.unwrap()(s, &wsabuf, 1, &mut n, 0, &mut *ov, routine, &thread, e)
            });
            left.records.push(ov);
            left.buffers.push(data);
        }
        if pass.is_multiple_of(2) {
            errno_of(|e| {
                t.lpWSPEventSelect.unwrap()(s, (0x2000 + worker) as _, FD_READ | FD_CLOSE, e)
            });
        } else {
            errno_of(|e| t.lpWSPAsyncSelect.unwrap()(s, 0x3000 as _, 0x400, FD_READ | FD_WRITE, e));
        }
        // A listener, a connection to it, and an accept.
        if let Some(listener) = try_socket(t) {
            let any = sockaddr(std::net::SocketAddrV4::new(LOCAL, 0));
            errno_of(|e| {
                t.lpWSPBind.unwrap()(listener, (&any as *const SOCKADDR_IN).cast(), 16, e)
            });
            errno_of(|e| t.lpWSPListen.unwrap()(listener, 4, e));
            errno_of(|e| {
                t.lpWSPEventSelect.unwrap()(listener, (0x4000 + worker) as _, FD_ACCEPT, e)
            });
            let mut name = SOCKADDR_IN::default();
            let mut len = 16;
            let (r, _) = errno_of(|e| {
                t.lpWSPGetSockName.unwrap()(
                    listener,
                    (&mut name as *mut SOCKADDR_IN).cast(),
                    &mut len,
                    e,
                )
            });
            if r == 0
                && let Some(client) = try_socket(t)
            {
                errno_of(|e| {
                    t.lpWSPConnect.unwrap()(
                        client,
                        (&name as *const SOCKADDR_IN).cast(),
                        16,
                        std::ptr::null(),
                        std::ptr::null_mut(),
                        std::ptr::null(),
                        std::ptr::null(),
                        e,
                    )
                });
                let (accepted, _) = errno_of(|e| {
                    t.lpWSPAccept.unwrap()(
                        listener,
                        std::ptr::null_mut(),
                        std::ptr::null_mut(),
                        None,
                        0,
                        e,
                    ) as i32
                });
                let accepted = accepted as isize as SOCKET;
                if accepted != INVALID_SOCKET {
                    errno_of(|e| t.lpWSPCloseSocket.unwrap()(accepted, e));
                }
                errno_of(|e| t.lpWSPCloseSocket.unwrap()(client, e));
            }
            errno_of(|e| t.lpWSPCloseSocket.unwrap()(listener, e));
        }
        if pass % 3 != 2 {
            // Every third socket is left open for the final cleanup to reset.
            errno_of(|e| t.lpWSPCloseSocket.unwrap()(s, e));
        }
    }
    true
}

/// S6c: an operation the final cleanup aborted has its record written
/// (`WSA_OPERATION_ABORTED`, no longer in progress) and was never told: no
/// completion upcall, no routine, and its event never set.
fn aborted_silently_were_never_told(round: usize, left: &[Leftovers]) {
    let told = std::mem::take(&mut *TOLD.lock().unwrap());
    let sets = std::mem::take(&mut *SETS.lock().unwrap());
    for ov in left.iter().flat_map(|l| &l.records) {
        let key = &raw const **ov as usize;
        assert_ne!(
            ov.Internal, WSS_OPERATION_IN_PROGRESS,
            "round {round}: a record left in progress"
        );
        if ov.Internal == STATUS_CANCELLED && !told.contains(&key) {
            assert_eq!(offset_high(ov), 995);
            assert!(
                !sets.contains(&(key as isize)),
                "round {round}: S6c: the event of an operation the final cleanup aborted was set"
            );
        }
    }
}

/// The host's books after a final cleanup: every handle the provider made
/// was given back exactly once, none is open, nothing is carried, no socket
/// is left in the core.
fn books_balance(round: usize) {
    let open = open_handles();
    let (created, closed) = (
        CREATED.load(Ordering::SeqCst),
        CLOSED.load(Ordering::SeqCst),
    );
    assert_eq!(
        (open, DOUBLE_CLOSED.load(Ordering::SeqCst)),
        (0, 0),
        "round {round}: handles left open, or given back twice \
         (WPUCreateSocketHandle {created}, WPUCloseSocketHandle {closed})"
    );
    assert_eq!(
        created, closed,
        "round {round}: every handle given back once"
    );
    let dll = TestDll::dll();
    assert!(
        dll.in_flight() == 0,
        "round {round}: {} operations still carried",
        dll.in_flight()
    );
    assert_eq!(
        dll.provider().socket_count(),
        0,
        "round {round}: sockets left"
    );
}

/// S6d, S6f, S6h, S14: threads make and release host state through every
/// entry while the main thread runs nested startups and cleanups and then
/// the final cleanup; after each round the host's books balance and no
/// upcall came after the final cleanup returned.
#[test]
fn s6d_s6f_the_shims_work_happens_inside_the_rundown() {
    const WORKERS: usize = 3;
    let rounds: usize = std::env::var("RUNDOWN_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let _turn = serial();
    let t = started();
    reset(&t);
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for round in 0..rounds {
        let t = started();
        let stop = Arc::new(AtomicBool::new(false));
        let passes = Arc::new(AtomicUsize::new(0));
        let (first_tx, first) = mpsc::channel();
        let leftovers: Vec<Leftovers> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..WORKERS)
                .map(|w| {
                    let (t, stop, passes, first_tx) = (&t, &stop, &passes, first_tx.clone());
                    scope.spawn(move || {
                        let mut left = Leftovers::default();
                        let mut pass = 0;
                        while one_pass(t, w, pass, &mut left) {
                            pass += 1;
                            if passes.fetch_add(1, Ordering::SeqCst) == 0 {
                                let _ = first_tx.send(());
                            }
                            if stop.load(Ordering::SeqCst) && pass > 1000 {
                                break;
                            }
                        }
                        left
                    })
                })
                .collect();
            first.recv_timeout(Duration::from_secs(30)).expect("a pass");
            // Nested startups and cleanups while the workers run; then the
            // final cleanup at a moment that moves from round to round.
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            for _ in 0..(seed % 64) {
                let (r, _, _) = startup(0x0202);
                assert_eq!(r, 0);
                assert_eq!(cleanup(&t), (0, 0));
            }
            for _ in 0..(seed >> 8) % 3 {
                std::thread::yield_now();
            }
            assert_eq!(cleanup(&t), (0, 0), "round {round}: the final cleanup");
            LATE.store(true, Ordering::SeqCst);
            stop.store(true, Ordering::SeqCst);
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        // Everything the final cleanup aborted is written; nothing told.
        let (r, errno) = errno_of(|e| unsafe { t.lpWSPCloseSocket.unwrap()(4, e) });
        assert_eq!((r, errno), (SOCKET_ERROR, WSANOTINITIALISED));
        assert_eq!(
            LATE_UPCALLS.load(Ordering::SeqCst),
            0,
            "round {round}: an upcall after the final cleanup returned"
        );
        books_balance(round);
        LATE.store(false, Ordering::SeqCst);
        alertable_wait();
        aborted_silently_were_never_told(round, &leftovers);
        drop(leftovers);
    }
}

/// S6d, S6f: a thread is held inside `WSPSocket` where the shim makes the
/// host handle (`WPUCreateSocketHandle`) while the final cleanup runs on
/// another thread. The cleanup waits for the call (the shim's part is
/// inside the rundown), and when it returns, the handle made for the
/// socket has been given back with it: the host holds nothing.
#[test]
fn s6f_a_final_cleanup_waits_for_wspsocket_making_its_handle() {
    let _turn = serial();
    let t = started();
    reset(&t);
    let t = started();
    let before = counts();
    let (entered_tx, entered) = mpsc::channel();
    let (release, release_rx) = mpsc::channel::<()>();
    *ON_CREATE.lock().unwrap() = Some(Box::new(move || {
        entered_tx.send(()).unwrap();
        release_rx.recv().unwrap();
    }));
    std::thread::scope(|scope| {
        let maker = scope.spawn(|| try_socket(&t));
        entered
            .recv_timeout(Duration::from_secs(10))
            .expect("WSPSocket reached WPUCreateSocketHandle");
        let cleaner = scope.spawn(|| cleanup(&t));
        std::thread::sleep(Duration::from_millis(100));
        let waited = !cleaner.is_finished();
        release.send(()).unwrap();
        assert!(
            waited,
            "S6f: the final cleanup returned while WSPSocket was making its handle"
        );
        let made = maker.join().unwrap();
        assert_eq!(cleaner.join().unwrap(), (0, 0));
        // The socket was published just before the cleanup's second sweep,
        // which reset it and gave its handle back (S6d).
        let s = made.expect("the socket was made inside the rundown");
        assert!(
            !HANDLES.lock().unwrap()[s / 4 - 1].1,
            "S6d: the final cleanup gave the handle back"
        );
    });
    let after = counts();
    assert_eq!(after[0] - before[0], 1, "one handle made");
    assert_eq!(after[1] - before[1], 1, "and given back once");
    assert_eq!(open_handles(), 0);
    assert_eq!(TestDll::dll().provider().socket_count(), 0);
    let (r, errno) = errno_of(|e| unsafe { t.lpWSPCloseSocket.unwrap()(4, e) });
    assert_eq!((r, errno), (SOCKET_ERROR, WSANOTINITIALISED));
}
