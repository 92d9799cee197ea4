//! Core overhead, each figure next to a baseline measured in the same run.
//!
//! - `lookup`: handle → socket through the gate and the generation-tagged
//!   table, against a `HashMap` behind one process-wide mutex (what the
//!   anchors do, S14).
//! - `lookup_2_threads`: the same with two threads at once.
//! - `send`: a non-blocking and an overlapped send through the provider,
//!   against calling the same transport directly: the price of the SPI rules.
//!
//! Run: `cargo bench --bench core`. Compare ratios, not absolute times.

mod instant;

use criterion::{Criterion, criterion_group, criterion_main};
use instant::Instant;
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::{Arc, Mutex};
use winsock_provider::{
    AddressFamily, CompletionMode, EventKey, FdEvents, MsgFlags, Notification, Notifier,
    OverlappedRequest, Provider, ProviderConfig, SocketFlags, SocketHandle, SocketKind,
    ThreadWaiter, Transport, Version, Wait, WindowKey, WsaError,
};

struct Quiet;

impl Notifier for Quiet {
    fn deliver(&self, n: &Notification) {
        black_box(n);
    }
    fn network_event(&self, _: SocketHandle, _: EventKey, _: FdEvents, _: Option<WsaError>) {}
    fn post_message(
        &self,
        _: SocketHandle,
        _: WindowKey,
        _: u32,
        _: FdEvents,
        _: Option<WsaError>,
    ) {
    }
}

fn started(sockets: usize) -> (Provider<Instant, ThreadWaiter>, Vec<SocketHandle>) {
    let p = Provider::new(ProviderConfig::default(), Instant, ThreadWaiter::new());
    p.startup(Version::new(2, 2), Arc::new(Quiet)).unwrap();
    let handles = (0..sockets)
        .map(|_| {
            let h = p
                .socket(
                    AddressFamily::Inet,
                    SocketKind::Datagram,
                    SocketFlags::OVERLAPPED,
                )
                .unwrap();
            p.connect(h, "10.0.0.2:9".parse().unwrap()).unwrap();
            h
        })
        .collect();
    (p, handles)
}

fn lookup(c: &mut Criterion) {
    let (p, handles) = started(1024);
    let baseline: Mutex<HashMap<u64, SocketKind>> = Mutex::new(
        handles
            .iter()
            .map(|h| (h.to_raw(), SocketKind::Datagram))
            .collect(),
    );
    let mut g = c.benchmark_group("lookup");
    g.bench_function("baseline_global_mutex_hashmap", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % handles.len();
            black_box(baseline.lock().unwrap().get(&handles[i].to_raw()).copied())
        })
    });
    g.bench_function("provider_table", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % handles.len();
            black_box(p.socket_kind(handles[i]).unwrap())
        })
    });
    g.finish();
}

/// S14 under contention: two threads (the machine's cores) look up
/// different sockets at once. A process-wide lock serialises them; the table
/// locks only the slot each thread touches.
fn lookup_contended(c: &mut Criterion) {
    const THREADS: usize = 2;
    let (p, handles) = started(1024);
    let handles = Arc::new(handles);
    let baseline: Arc<Mutex<HashMap<u64, SocketKind>>> = Arc::new(Mutex::new(
        handles
            .iter()
            .map(|h| (h.to_raw(), SocketKind::Datagram))
            .collect(),
    ));
    let mut g = c.benchmark_group("lookup_2_threads");
    g.bench_function("baseline_global_mutex_hashmap", |b| {
        b.iter_custom(|iters| {
            let start = std::time::Instant::now();
            std::thread::scope(|scope| {
                for t in 0..THREADS {
                    let (baseline, handles) = (&baseline, &handles);
                    scope.spawn(move || {
                        for i in 0..iters as usize {
                            let h = handles[(i * THREADS + t) % handles.len()];
                            black_box(baseline.lock().unwrap().get(&h.to_raw()).copied());
                        }
                    });
                }
            });
            start.elapsed()
        })
    });
    g.bench_function("provider_table", |b| {
        b.iter_custom(|iters| {
            let start = std::time::Instant::now();
            std::thread::scope(|scope| {
                for t in 0..THREADS {
                    let (p, handles) = (&p, &handles);
                    scope.spawn(move || {
                        for i in 0..iters as usize {
                            let h = handles[(i * THREADS + t) % handles.len()];
                            black_box(p.socket_kind(h).unwrap());
                        }
                    });
                }
            });
            start.elapsed()
        })
    });
    g.finish();
}

fn send(c: &mut Criterion) {
    let (p, handles) = started(16);
    let s = handles[0];
    let data = [7u8; 64];
    let mut g = c.benchmark_group("send");
    g.bench_function("baseline_transport_direct", |b| {
        b.iter(|| black_box(Instant.send(s, data.to_vec(), None, Wait::No).unwrap()))
    });
    p.set_nonblocking(s, true).unwrap();
    g.bench_function("provider_nonblocking", |b| {
        b.iter(|| black_box(p.send(s, &data, MsgFlags::empty(), None).unwrap()))
    });
    let req = OverlappedRequest::new(CompletionMode::Event(EventKey(1)));
    g.bench_function("provider_overlapped_event", |b| {
        b.iter(|| {
            black_box(
                p.send(s, &data, MsgFlags::empty(), Some(req.clone()))
                    .unwrap(),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, lookup, lookup_contended, send);
criterion_main!(benches);
