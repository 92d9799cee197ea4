//! Layered providers (spec §11) from Rust: the layered transport over the
//! loopback provider DLL passes the conformance kit, and the counting
//! layer DLL, started through a protocol chain its host supplies, finds
//! and starts the next provider, mirrors every startup and cleanup, and
//! counts exactly.
//!
//! The DLLs are the examples (`loopback_provider`, `counting_layer`),
//! loaded as ws2_32 would load them; this file plays ws2_32 (a handle
//! table as its upcalls).
#![cfg(unix)]

mod example_dlls;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use winsock_provider::ffi::abi::{
    AF_INET, INVALID_SOCKET, IPPROTO_TCP, SOCK_STREAM, SOCKADDR, SOCKADDR_IN, SOCKET, SOCKET_ERROR,
    WSABUF, WSAPROTOCOL_INFOW, WSATHREADID, WSPDATA, WSPPROC_TABLE, WSPUPCALLTABLE,
};
use winsock_provider::ffi::layered::{Layer, LayeredTransport, NextProvider, NextSource};
use winsock_provider::testkit::{self, Harness};
use winsock_provider::{AddressFamily, ServiceFlags, ThreadWaiter};

/// ws2_32's part: a handle table for the sockets providers make.
mod host {
    use super::*;

    static HANDLES: Mutex<Vec<Option<usize>>> = Mutex::new(Vec::new());

    unsafe extern "system" fn create_handle(_: u32, context: usize, _: *mut i32) -> SOCKET {
        let mut h = HANDLES.lock().unwrap();
        h.push(Some(context));
        h.len() * 4
    }

    unsafe extern "system" fn query_context(s: SOCKET, out: *mut usize, errno: *mut i32) -> i32 {
        let h = HANDLES.lock().unwrap();
        match (s / 4).checked_sub(1).and_then(|i| h.get(i)) {
            Some(Some(context)) if s.is_multiple_of(4) => {
                // SAFETY: the provider passes a live local.
                unsafe { out.write(*context) };
                0
            }
            _ => {
                // SAFETY: as above.
                unsafe { errno.write(10038) };
                SOCKET_ERROR
            }
        }
    }

    unsafe extern "system" fn close_handle(s: SOCKET, errno: *mut i32) -> i32 {
        let mut h = HANDLES.lock().unwrap();
        match (s / 4).checked_sub(1).and_then(|i| h.get_mut(i)) {
            Some(slot @ Some(_)) => {
                *slot = None;
                0
            }
            _ => {
                // SAFETY: as above.
                unsafe { errno.write(10038) };
                SOCKET_ERROR
            }
        }
    }

    /// Nothing in these tests waits alertably or has a window: the layers
    /// under test give their next provider the relay's, and their own
    /// operations here are blocking or non-blocking.
    unsafe extern "system" fn queue_apc(
        _: *const WSATHREADID,
        _: Option<unsafe extern "system" fn(usize)>,
        _: usize,
        errno: *mut i32,
    ) -> i32 {
        // SAFETY: as above.
        unsafe { errno.write(10014) };
        SOCKET_ERROR
    }

    unsafe extern "system" fn set_event(_: isize, _: *mut i32) -> i32 {
        1
    }

    pub fn upcalls() -> WSPUPCALLTABLE {
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

    /// Host handles still open.
    pub fn open_handles() -> usize {
        HANDLES.lock().unwrap().iter().flatten().count()
    }
}

/// The catalog ids of the tests' catalog.
const BASE: u32 = 1001;
const HIDDEN: u32 = 2001;
const CHAIN: u32 = 2002;

/// A catalog entry for TCP over IPv4.
fn entry(id: u32, chain: &[u32], provider: [u8; 16]) -> WSAPROTOCOL_INFOW {
    // SAFETY: a plain C struct; all zeroes is a valid value.
    let mut info: WSAPROTOCOL_INFOW = unsafe { std::mem::zeroed() };
    info.dwCatalogEntryId = id;
    info.iAddressFamily = i32::from(AF_INET);
    info.iSocketType = SOCK_STREAM;
    info.iProtocol = IPPROTO_TCP;
    info.dwServiceFlags1 = (ServiceFlags::GUARANTEED_DELIVERY
        | ServiceFlags::GUARANTEED_ORDER
        | ServiceFlags::GRACEFUL_CLOSE
        | ServiceFlags::CONNECTIONLESS)
        .bits();
    info.ProtocolChain.ChainLen = chain.len() as i32;
    info.ProtocolChain.ChainEntries[..chain.len()].copy_from_slice(chain);
    info.ProviderId.data4 = provider[8..].try_into().unwrap();
    info.ProviderId.data1 = u32::from_ne_bytes(provider[..4].try_into().unwrap());
    info.ProviderId.data2 = u16::from_ne_bytes(provider[4..6].try_into().unwrap());
    info.ProviderId.data3 = u16::from_ne_bytes(provider[6..8].try_into().unwrap());
    info
}

/// The tests share the loopback DLL (one per process): one at a time.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(|p| p.into_inner())
}

/// The loopback provider DLL, loaded once.
fn loopback() -> &'static Path {
    static DLL: OnceLock<std::path::PathBuf> = OnceLock::new();
    DLL.get_or_init(|| example_dlls::example("loopback_provider"))
}

/// The loopback DLL's `loopback_run`: moves its network until idle.
fn pump() {
    static RUN: OnceLock<unsafe extern "C" fn()> = OnceLock::new();
    let run = RUN.get_or_init(|| {
        // SAFETY: the example's DLL, which stays loaded (never dropped).
        let lib = Box::leak(Box::new(
            unsafe { libloading::Library::new(loopback()) }.unwrap(),
        ));
        // SAFETY: the example exports `loopback_run` with this type.
        *unsafe { lib.get::<unsafe extern "C" fn()>(b"loopback_run\0") }.unwrap()
    });
    // SAFETY: as above.
    unsafe { run() };
}

/// The conformance kit's harness for a layered transport with no hooks
/// over the loopback provider: every transport it makes shares the one
/// next provider (the DLL is loaded once per process), whose startups and
/// cleanups they mirror.
struct LayeredHarness {
    next: Arc<NextProvider>,
}

impl LayeredHarness {
    fn new() -> Self {
        // SAFETY: the loopback example is a Winsock provider DLL.
        let next = unsafe { NextProvider::load(loopback(), entry(BASE, &[BASE], [9; 16])) }
            .expect("the loopback provider loads");
        LayeredHarness {
            next: Arc::new(next),
        }
    }
}

impl Harness for LayeredHarness {
    type Transport = LayeredTransport<()>;
    type Waiter = ThreadWaiter;

    fn name(&self) -> String {
        "layered over the loopback provider".into()
    }

    fn make(&self) -> (Self::Transport, Self::Waiter) {
        let source = NextSource::Given {
            next: self.next.clone(),
            upcalls: host::upcalls(),
        };
        (LayeredTransport::new((), source), ThreadWaiter::new())
    }

    fn local(&self, family: AddressFamily) -> Option<IpAddr> {
        Some(match family {
            AddressFamily::Inet => IpAddr::V4(Ipv4Addr::LOCALHOST),
            AddressFamily::Inet6 => IpAddr::V6(Ipv6Addr::LOCALHOST),
        })
    }

    fn settle(&self) {
        pump();
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// Spec §11, and every data-plane rule of the kit at the layer's level:
/// the layered transport over the loopback provider passes the kit.
#[test]
fn the_layered_transport_over_the_loopback_provider_passes_the_kit() {
    let _turn = serial();
    let report = testkit::run(&LayeredHarness::new());
    println!("{report}");
    report.assert_passed();
}

/// A layer that only passes calls down: `()`.
const _: fn() = || {
    fn is_layer<L: Layer>() {}
    is_layer::<()>();
};

/// The counting layer's DLL and the hooks the tests call in it.
struct CountingDll {
    lib: &'static libloading::Library,
}

type StartupFn = unsafe extern "system" fn(
    u16,
    *const WSPDATA,
    *const WSAPROTOCOL_INFOW,
    WSPUPCALLTABLE,
    *mut WSPPROC_TABLE,
) -> i32;

impl CountingDll {
    fn load() -> Self {
        let path = example_dlls::example("counting_layer");
        // SAFETY: the example is a layered provider DLL; never unloaded.
        let lib = Box::leak(Box::new(unsafe { libloading::Library::new(path) }.unwrap()));
        CountingDll { lib }
    }

    fn sym<T: Copy>(&self, name: &[u8]) -> T {
        // SAFETY: the tests name the example's exports with their types.
        *unsafe { self.lib.get::<T>(name) }.unwrap()
    }

    /// Tells the layer its catalog: the base (the loopback DLL), the
    /// layer's hidden entry and its chain over the base.
    fn supply_catalog(&self, layer_path: &Path) {
        let layer_id = counting_provider_id();
        self.supply(&[
            (entry(BASE, &[BASE], [9; 16]), loopback().to_path_buf()),
            (entry(HIDDEN, &[], layer_id), layer_path.to_path_buf()),
            (
                entry(CHAIN, &[HIDDEN, BASE], [5; 16]),
                layer_path.to_path_buf(),
            ),
        ]);
    }

    /// Hands the layer catalog entries with their DLLs (`WSPAddCatalogEntry`).
    fn supply(&self, entries: &[(WSAPROTOCOL_INFOW, std::path::PathBuf)]) {
        let add: unsafe extern "system" fn(*const WSAPROTOCOL_INFOW, *const u16) -> i32 =
            self.sym(b"WSPAddCatalogEntry\0");
        for (info, path) in entries {
            let wide: Vec<u16> = path.to_str().unwrap().encode_utf16().chain([0]).collect();
            // SAFETY: live locals; the path is NUL-terminated.
            assert_eq!(unsafe { add(info, wide.as_ptr()) }, 0);
        }
    }

    /// The layer's `WSPStartup` for its chain entry: its result and table.
    fn startup(&self) -> (i32, WSPPROC_TABLE) {
        self.startup_for(&entry(CHAIN, &[HIDDEN, BASE], [5; 16]))
    }

    /// The layer's `WSPStartup` for `info`.
    fn startup_for(&self, info: &WSAPROTOCOL_INFOW) -> (i32, WSPPROC_TABLE) {
        let startup: StartupFn = self.sym(b"WSPStartup\0");
        // SAFETY: plain C structs; zeroes are valid.
        let (mut data, mut table): (WSPDATA, WSPPROC_TABLE) = unsafe { std::mem::zeroed() };
        // `lpWSPData` is declared const, yet written, as the SPI says.
        let data_ptr = (&raw mut data).cast_const();
        // SAFETY: as above.
        let r = unsafe { startup(0x0202, data_ptr, info, host::upcalls(), &mut table) };
        (r, table)
    }

    /// `counting_layer_closed(index)`.
    fn closed(&self, index: u32) -> Option<(u64, u64)> {
        let f: unsafe extern "C" fn(u32, *mut u64, *mut u64) -> i32 =
            self.sym(b"counting_layer_closed\0");
        let (mut sent, mut received) = (0, 0);
        // SAFETY: live locals.
        (unsafe { f(index, &mut sent, &mut received) } == 1).then_some((sent, received))
    }
}

/// Spec §11, install plan to running stack: the counting layer installed
/// by `install_layer` into a catalog (in memory, as Windows gives ids)
/// over the loopback provider's entry; that catalog handed to the layer
/// DLL; the layer started for the chain the install wrote finds the
/// loopback provider and moves bytes through it.
#[test]
fn spec11_a_layer_installed_by_the_plan_runs_over_its_base() {
    use winsock_provider::catalog::LayerSpec;
    use winsock_provider::ffi::install::{self, CatalogWriter, MemoryCatalog};
    let _turn = serial();
    let dll = CountingDll::load();
    let layer_path = example_dlls::example("counting_layer");
    let mut catalog = MemoryCatalog::new();
    catalog
        .install([9; 16], loopback(), &[entry(0, &[0], [9; 16])])
        .unwrap();
    let base = catalog.entries().unwrap()[0].dwCatalogEntryId;
    let spec = LayerSpec {
        name: "counting".into(),
        provider_id: counting_provider_id(),
        ifs: false,
    };
    let done = install::install_layer(&mut catalog, spec, &layer_path, &[base]).unwrap();
    dll.supply(catalog.with_paths());
    let chain = *catalog
        .entries()
        .unwrap()
        .iter()
        .find(|e| e.dwCatalogEntryId == done.chain_ids[0])
        .unwrap();
    let (r, t) = dll.startup_for(&chain);
    assert_eq!(r, 0, "the layer's WSPStartup for the installed chain");
    let s = echo_socket(&t);
    assert_eq!(echo_round_trip(&t, s, b"installed"), b"installed");
    let mut errno = 0;
    // SAFETY: the layer's table.
    unsafe {
        assert_eq!(t.lpWSPCloseSocket.unwrap()(s, &mut errno), 0);
        assert_eq!(t.lpWSPCleanup.unwrap()(&mut errno), 0);
    }
}

/// The counting layer's `PROVIDER_ID` (`examples/counting_layer.rs`).
fn counting_provider_id() -> [u8; 16] {
    [
        0xa4, 0xe1, 0xa7, 0xc0, 0x5e, 0x0b, 0x0e, 0x4c, 0x9a, 0x1d, 0xc0, 0xa7, 0xe1, 0xa4, 0x00,
        0x01,
    ]
}

/// The echo service of the loopback provider's network.
fn echo() -> SOCKADDR_IN {
    let mut sin = SOCKADDR_IN {
        sin_family: AF_INET,
        sin_port: 7u16.to_be(),
        ..Default::default()
    };
    sin.sin_addr.S_un.S_addr = u32::from(Ipv4Addr::new(127, 0, 0, 2)).to_be();
    sin
}

/// Spec §11: the counting layer DLL, started for its chain entry, finds
/// itself in the chain, resolves the next entry through the catalog its
/// host supplied, loads the loopback DLL and starts it; a socket made
/// through the layer connects to the echo, sends and receives (blocking
/// calls: the layer's own overlapped operations below), and its counts
/// are reported exactly at close; the final cleanup closes every host
/// handle of both providers.
#[test]
fn spec11_the_counting_layer_resolves_its_chain_and_counts_exactly() {
    let _turn = serial();
    let dll = CountingDll::load();
    let layer_path = example_dlls::example("counting_layer");
    dll.supply_catalog(&layer_path);
    let (r, t) = dll.startup();
    assert_eq!(r, 0, "the layer's WSPStartup");
    // A nested startup, mirrored to the loopback provider.
    assert_eq!(dll.startup().0, 0);

    let closed_before = (0..).find(|&i| dll.closed(i).is_none()).unwrap();
    let s = echo_socket(&t);
    let payload = b"counted through the layer";
    assert_eq!(echo_round_trip(&t, s, payload), payload);
    let mut errno = 0;
    // SAFETY (every call below): the layer's table, with live locals.
    assert_eq!(unsafe { t.lpWSPCloseSocket.unwrap()(s, &mut errno) }, 0);
    let len = payload.len() as u64;
    assert_eq!(
        dll.closed(closed_before),
        Some((len, len)),
        "the counts reported at close are exact"
    );

    // The nested cleanup, then the final one: both providers' handles go.
    assert_eq!(unsafe { t.lpWSPCleanup.unwrap()(&mut errno) }, 0);
    assert_eq!(unsafe { t.lpWSPCleanup.unwrap()(&mut errno) }, 0);
    assert_eq!(host::open_handles(), 0, "every host handle was given back");
    assert_eq!(unsafe { t.lpWSPCleanup.unwrap()(&mut errno) }, SOCKET_ERROR);
    assert_eq!(errno, 10093, "WSANOTINITIALISED after the last cleanup");
}

/// A stream socket through `t` connected to the loopback network's echo.
fn echo_socket(t: &WSPPROC_TABLE) -> SOCKET {
    let mut errno = 0;
    // SAFETY (every call): the provider's table, with live locals.
    let s = unsafe {
        t.lpWSPSocket.unwrap()(
            i32::from(AF_INET),
            SOCK_STREAM,
            0,
            std::ptr::null(),
            0,
            1,
            &mut errno,
        )
    };
    assert_ne!(s, INVALID_SOCKET, "WSPSocket: {errno}");
    let to = echo();
    let r = unsafe {
        t.lpWSPConnect.unwrap()(
            s,
            (&raw const to).cast::<SOCKADDR>(),
            size_of::<SOCKADDR_IN>() as i32,
            std::ptr::null(),
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
            &mut errno,
        )
    };
    assert_eq!(r, 0, "WSPConnect: {errno}");
    s
}

/// Sends `payload` on `s` (blocking) and receives the echo of all of it.
fn echo_round_trip(t: &WSPPROC_TABLE, s: SOCKET, payload: &[u8]) -> Vec<u8> {
    let mut errno = 0;
    let buf = WSABUF {
        len: payload.len() as u32,
        buf: payload.as_ptr().cast_mut(),
    };
    let mut n = 0u32;
    // SAFETY (every call): the provider's table, with live locals.
    let r = unsafe {
        t.lpWSPSend.unwrap()(
            s,
            &buf,
            1,
            &mut n,
            0,
            std::ptr::null_mut(),
            None,
            std::ptr::null(),
            &mut errno,
        )
    };
    assert_eq!((r, n as usize), (0, payload.len()), "WSPSend: {errno}");
    let mut echoed = Vec::new();
    while echoed.len() < payload.len() {
        let mut room = [0u8; 64];
        let rbuf = WSABUF {
            len: room.len() as u32,
            buf: room.as_mut_ptr(),
        };
        let (mut got, mut flags) = (0u32, 0u32);
        let r = unsafe {
            t.lpWSPRecv.unwrap()(
                s,
                &rbuf,
                1,
                &mut got,
                &mut flags,
                std::ptr::null_mut(),
                None,
                std::ptr::null(),
                &errno,
            )
        };
        assert_eq!(r, 0, "WSPRecv: {errno}");
        assert!(got > 0, "the echo closed early");
        echoed.extend_from_slice(&room[..got as usize]);
    }
    echoed
}

/// The loopback DLL's counters: its startups in force and its open sockets.
fn loopback_counts() -> (u32, u32) {
    type Count = unsafe extern "C" fn() -> u32;
    static HOOKS: OnceLock<(Count, Count)> = OnceLock::new();
    let (startups, sockets) = *HOOKS.get_or_init(|| {
        // SAFETY: the example's DLL, never unloaded.
        let lib = Box::leak(Box::new(
            unsafe { libloading::Library::new(loopback()) }.unwrap(),
        ));
        // SAFETY: the example's exports, of this type.
        unsafe {
            (
                *lib.get::<Count>(b"loopback_startup_count\0").unwrap(),
                *lib.get::<Count>(b"loopback_socket_count\0").unwrap(),
            )
        }
    });
    // SAFETY: as above.
    unsafe { (startups(), sockets()) }
}

/// A provider over a layered transport with no hooks over the loopback
/// DLL, started, with what its notifier saw.
fn layered_provider() -> (
    winsock_provider::Provider<LayeredTransport<()>, ThreadWaiter>,
    winsock_provider::mock::RecordingNotifier,
) {
    let (t, w) = LayeredHarness::new().make();
    let p = winsock_provider::Provider::new(winsock_provider::ProviderConfig::default(), t, w);
    let notes = winsock_provider::mock::RecordingNotifier::new();
    p.startup(
        winsock_provider::Version::new(2, 2),
        Arc::new(notes.clone()),
    )
    .unwrap();
    (p, notes)
}

/// A stream socket of `p` connected to 127.0.0.2:`port` of the loopback
/// network.
fn connected(
    p: &winsock_provider::Provider<LayeredTransport<()>, ThreadWaiter>,
    port: u16,
) -> winsock_provider::SocketHandle {
    let s = p
        .socket(
            AddressFamily::Inet,
            winsock_provider::SocketKind::Stream,
            winsock_provider::SocketFlags::OVERLAPPED,
        )
        .unwrap();
    p.connect(s, (Ipv4Addr::new(127, 0, 0, 2), port).into())
        .unwrap();
    s
}

/// Spec §11: `SIO_QUERY_TARGET_PNP_HANDLE` (ws2_32 asks it of sockets made
/// by `WPUCreateSocketHandle`) is answered with the next provider's socket;
/// too small an output buffer is `WSAEFAULT`; other codes go down.
#[test]
fn spec11_the_pnp_target_handle_is_the_lower_socket() {
    use winsock_provider::ffi::layered::SIO_QUERY_TARGET_PNP_HANDLE;
    let _turn = serial();
    let (p, _notes) = layered_provider();
    let s = connected(&p, 7);
    let handle = p.ioctl(s, SIO_QUERY_TARGET_PNP_HANDLE, &[], 16).unwrap();
    assert_eq!(handle.len(), size_of::<usize>());
    assert_ne!(usize::from_ne_bytes(handle.try_into().unwrap()), 0);
    assert_eq!(
        p.ioctl(s, SIO_QUERY_TARGET_PNP_HANDLE, &[], size_of::<usize>() - 1),
        Err(winsock_provider::WsaError::Fault)
    );
    assert_eq!(
        p.ioctl(s, 0x4800_0099, &[], 16),
        Err(winsock_provider::WsaError::OperationNotSupported),
        "an unknown code goes down and comes back as the next provider answers it"
    );
    p.cleanup().unwrap();
}

/// S10, S6c, S6f through a layer, under threads: workers post overlapped
/// sends and receives through the layer (its own operations below, ended
/// on the relay thread), close sockets and move the network, while the
/// main thread runs the layer's final cleanup. Every accepted operation
/// ends with exactly one outcome (none told if the cleanup aborted it);
/// nothing deadlocks; afterwards the layer holds no lower record and the
/// next provider has no socket and no startup left.
/// `LAYERED_STRESS_ROUNDS` sets the rounds (default 20).
#[test]
fn stress_s10_s6c_lower_completions_race_closes_and_the_final_cleanup() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use winsock_provider::{CompletionMode, EventKey, MsgFlags, OpState, OverlappedRequest};
    let _turn = serial();
    let rounds: u64 = std::env::var("LAYERED_STRESS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let mut accepted = 0;
    for seed in 1..=rounds {
        let (p, notes) = layered_provider();
        let sockets: Vec<_> = (0..6)
            .map(|i| connected(&p, if i % 2 == 0 { 7 } else { 19 }))
            .collect();
        let stop = Arc::new(AtomicBool::new(false));
        let pumper = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    pump();
                    std::thread::yield_now();
                }
            })
        };
        let workers: Vec<_> = (0..3u64)
            .map(|id| {
                let (p, sockets) = (p.clone(), sockets.clone());
                std::thread::spawn(move || {
                    let mut x = seed * 7919 + id * 104_729 + 1;
                    let mut records = Vec::new();
                    for _ in 0..200 {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        let s = sockets[(x % sockets.len() as u64) as usize];
                        let mode = if x % 3 == 0 {
                            CompletionMode::Polling
                        } else {
                            CompletionMode::Event(EventKey(id))
                        };
                        let req = OverlappedRequest::new(mode);
                        let record = req.overlapped.clone();
                        let r = match x % 10 {
                            0..=3 => p
                                .send(s, &[id as u8; 700], MsgFlags::empty(), Some(req))
                                .map(|_| ()),
                            4..=8 => p.recv(s, 300, MsgFlags::empty(), Some(req)).map(|_| ()),
                            _ => {
                                let _ = p.close_socket(s);
                                continue;
                            }
                        };
                        match r {
                            Ok(()) | Err(winsock_provider::WsaError::IoPending) => {
                                records.push(record)
                            }
                            Err(winsock_provider::WsaError::NotInitialised) => break,
                            Err(_) => assert_eq!(
                                record.state(),
                                OpState::Idle,
                                "S9: a refused call left its record in use"
                            ),
                        }
                    }
                    records
                })
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(1 + seed % 5));
        let (tx, rx) = std::sync::mpsc::channel();
        let cleaner = {
            let p = p.clone();
            std::thread::spawn(move || {
                let r = p.cleanup();
                let _ = tx.send(());
                r
            })
        };
        rx.recv_timeout(std::time::Duration::from_secs(30))
            .expect("the layer's final cleanup deadlocked");
        cleaner.join().unwrap().expect("the final cleanup");
        let records: Vec<_> = workers
            .into_iter()
            .flat_map(|w| w.join().expect("a worker panicked"))
            .collect();
        stop.store(true, Ordering::Relaxed);
        pumper.join().unwrap();
        for r in &records {
            let op = r.op().expect("accepted");
            let (d, s) = (notes.delivered_for(op), notes.suppressed_for(op));
            match r.state() {
                OpState::Delivered | OpState::AbortedNotified => {
                    assert_eq!((d, s), (1, 0), "S10: {op}")
                }
                OpState::AbortedSilent => assert_eq!((d, s), (0, 1), "S6c: {op}"),
                other => panic!("{op} ended {other:?} after the final cleanup"),
            }
        }
        accepted += records.len();
        assert_eq!(p.socket_count(), 0);
        assert_eq!(
            p.transport().outstanding(),
            0,
            "a lower record outlived the final cleanup"
        );
        assert_eq!(
            loopback_counts(),
            (0, 0),
            "the next provider's startups and sockets"
        );
    }
    eprintln!("layered stress: {rounds} rounds, {accepted} operations accepted");
}
