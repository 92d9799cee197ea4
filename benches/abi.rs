//! The price of the ABI shim: the same send through the core directly and
//! through the exported `WSPPROC_TABLE` (handle lookup by upcall, pointer
//! checks, buffer gathering, the panic boundary; for an overlapped call also
//! the registry and the `WSAOVERLAPPED` writes and the completion upcall),
//! measured in the same run over a transport that finishes at once.
//!
//! Run: `cargo bench --bench abi`. Compare ratios, not absolute times.

mod host;
mod instant;

use criterion::{Criterion, criterion_group, criterion_main};
use instant::Instant;
use std::hint::black_box;
use winsock_provider::ffi::abi::{
    AF_INET, INVALID_SOCKET, IPPROTO_UDP, SOCK_DGRAM, SOCKADDR, SOCKADDR_IN, SOCKET, WSABUF,
    WSAOVERLAPPED, WSAPROTOCOL_INFOW, WSPDATA, WSPPROC_TABLE,
};
use winsock_provider::ffi::{Exported, ProviderDll};
use winsock_provider::{
    CompletionMode, EventKey, MsgFlags, OverlappedRequest, SocketHandle, ThreadWaiter,
};

struct BenchDll;

impl ProviderDll for BenchDll {
    type Transport = Instant;
    type Waiter = ThreadWaiter;
    fn create() -> (Self, Instant, ThreadWaiter) {
        (BenchDll, Instant, ThreadWaiter::new())
    }
}

winsock_provider::export_provider!(BenchDll);

fn started() -> (WSPPROC_TABLE, SOCKET, SocketHandle) {
    let upcalls = host::upcalls();
    WSPSetCompletionUpcall(Some(host::complete));
    // SAFETY: plain C structs; zeroes are valid.
    let (mut data, mut table, mut info): (WSPDATA, WSPPROC_TABLE, WSAPROTOCOL_INFOW) =
        unsafe { std::mem::zeroed() };
    info.iAddressFamily = i32::from(AF_INET);
    // SAFETY: live locals (`lpWSPData` is written though declared const).
    let r = unsafe {
        WSPStartup(
            0x0202,
            (&raw mut data).cast_const(),
            &info,
            upcalls,
            &mut table,
        )
    };
    assert_eq!(r, 0);
    let mut errno = 0;
    // SAFETY: live locals.
    let s = unsafe {
        table.lpWSPSocket.unwrap()(
            i32::from(AF_INET),
            SOCK_DGRAM,
            IPPROTO_UDP,
            &info,
            0,
            1,
            &mut errno,
        )
    };
    assert_ne!(s, INVALID_SOCKET);
    let mut to = SOCKADDR_IN {
        sin_family: AF_INET,
        sin_port: 9u16.to_be(),
        ..Default::default()
    };
    to.sin_addr.S_un.S_addr = u32::from_be_bytes([10, 0, 0, 2]).to_be();
    // SAFETY: live locals.
    let r = unsafe {
        table.lpWSPConnect.unwrap()(
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
    assert_eq!(r, 0);
    let h = SocketHandle::from_raw(host::CONTEXTS.lock().unwrap()[s - 1] as u64);
    (table, s, h)
}

fn send(c: &mut Criterion) {
    let (table, s, h) = started();
    let p = BenchDll::dll().provider();
    p.set_nonblocking(h, true).unwrap();
    let data = [7u8; 64];
    let wsabuf = WSABUF {
        len: data.len() as u32,
        buf: data.as_ptr().cast_mut(),
    };
    let wsp_send = table.lpWSPSend.unwrap();
    let mut g = c.benchmark_group("abi_send");
    g.bench_function("baseline_core_nonblocking", |b| {
        b.iter(|| black_box(p.send(h, &data, MsgFlags::empty(), None).unwrap()))
    });
    let req = OverlappedRequest::new(CompletionMode::Event(EventKey(1)));
    g.bench_function("baseline_core_overlapped_event", |b| {
        b.iter(|| {
            black_box(
                p.send(h, &data, MsgFlags::empty(), Some(req.clone()))
                    .unwrap(),
            )
        })
    });
    g.bench_function("wsp_send_nonblocking", |b| {
        b.iter(|| {
            let (mut n, mut errno) = (0u32, 0);
            // SAFETY: live locals.
            let r = unsafe {
                wsp_send(
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
            black_box((r, n))
        })
    });
    g.bench_function("wsp_send_overlapped_event", |b| {
        let mut ov = WSAOVERLAPPED {
            hEvent: 1 as _,
            ..Default::default()
        };
        b.iter(|| {
            let (mut n, mut errno) = (0u32, 0);
            // SAFETY: live locals; the send completes at once, so the record
            // is free again for the next one.
            let r = unsafe {
                wsp_send(
                    s,
                    &wsabuf,
                    1,
                    &mut n,
                    0,
                    &mut ov,
                    None,
                    std::ptr::null(),
                    &mut errno,
                )
            };
            black_box((r, n))
        })
    });
    g.finish();
}

criterion_group!(benches, send);
criterion_main!(benches);
