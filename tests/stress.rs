//! Threaded stress (S10, S14, S6b, S6c, S6f): worker threads submit
//! overlapped and blocking operations, close sockets and pump the network
//! while the main thread runs the final cleanup at a random moment. Every
//! accepted operation must end with exactly one outcome, nothing may
//! deadlock, nothing may panic.
//!
//! `STRESS_ROUNDS` sets the number of rounds (default 100).

mod common;

use common::{MockProvider, World};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};
use winsock_provider::mock::{MockWaiter, RecordingNotifier};
use winsock_provider::{
    CleanupOutcome, CompletionMode, EventKey, MsgFlags, OpState, Overlapped, OverlappedRequest,
    PortKey, SocketHandle, ThreadKey, WsaError,
};

const WORKERS: usize = 4;

#[derive(Default)]
struct Figures {
    accepted: AtomicUsize,
    blocking_interrupted: AtomicUsize,
    blocking_done: AtomicUsize,
    closes: AtomicUsize,
}

/// A tiny per-thread generator, so each worker's choices differ.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn worker(
    p: MockProvider,
    id: usize,
    seed: u64,
    sockets: Arc<Mutex<Vec<SocketHandle>>>,
    records: Arc<Mutex<Vec<Overlapped>>>,
    figures: Arc<Figures>,
) {
    MockWaiter::set_current_thread(ThreadKey(10 + id as u64));
    let mut rng = Rng(seed | 1);
    loop {
        let s = {
            let socks = sockets.lock().unwrap();
            if socks.is_empty() {
                return;
            }
            socks[rng.below(socks.len() as u64) as usize]
        };
        let mode = match rng.below(4) {
            0 => CompletionMode::Event(EventKey(id as u64)),
            1 => CompletionMode::Routine {
                thread: ThreadKey(10 + id as u64),
                routine: 1,
            },
            2 => CompletionMode::Port {
                port: PortKey(1),
                key: id as u64,
            },
            _ => CompletionMode::Polling,
        };
        let req = OverlappedRequest::new(mode);
        let record = req.overlapped.clone();
        let r = match rng.below(20) {
            0..=7 => p
                .send(s, &[id as u8; 3000], MsgFlags::empty(), Some(req))
                .map(|_| ()),
            8..=14 => p.recv(s, 2000, MsgFlags::empty(), Some(req)).map(|_| ()),
            15 => {
                // Blocking: ended by data, by a close in another thread, or
                // by the final cleanup (S6b).
                match p.recv(s, 100, MsgFlags::empty(), None) {
                    Ok(_) => figures.blocking_done.fetch_add(1, Ordering::Relaxed),
                    Err(WsaError::Interrupted) => {
                        figures.blocking_interrupted.fetch_add(1, Ordering::Relaxed)
                    }
                    Err(_) => 0,
                };
                continue;
            }
            16 => {
                if p.close_socket(s).is_ok() {
                    figures.closes.fetch_add(1, Ordering::Relaxed);
                    sockets.lock().unwrap().retain(|h| *h != s);
                }
                continue;
            }
            _ => {
                p.transport().network().step();
                continue;
            }
        };
        match r {
            Ok(()) | Err(WsaError::IoPending) => {
                figures.accepted.fetch_add(1, Ordering::Relaxed);
                records.lock().unwrap().push(record);
            }
            Err(WsaError::NotInitialised) => return,
            Err(_) => {
                assert_eq!(
                    record.state(),
                    OpState::Idle,
                    "S9: a rejected call left its record in use"
                );
            }
        }
    }
}

fn round(seed: u64, totals: &Figures) {
    let w = World::new(seed);
    let notes: RecordingNotifier = w.a.notes.clone();
    let mut handles = Vec::new();
    for i in 0..12u16 {
        let at = SocketAddr::from((Ipv4Addr::new(10, 0, 0, 9), 100 + i));
        if i % 2 == 0 {
            w.net.add_echo_service(at);
        } else {
            w.net.add_discard_service(at, Some(usize::from(i % 3)));
        }
        let s = w.a.stream();
        w.a.p.connect(s, at).unwrap();
        handles.push(s);
    }
    let sockets = Arc::new(Mutex::new(handles));
    let records = Arc::new(Mutex::new(Vec::new()));
    let figures = Arc::new(Figures::default());
    let stop = Arc::new(AtomicBool::new(false));
    let pump = {
        let (net, stop) = (w.net.clone(), stop.clone());
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if !net.step() {
                    thread::yield_now();
                }
            }
        })
    };
    let workers: Vec<_> = (0..WORKERS)
        .map(|i| {
            let (p, sockets, records, figures) = (
                w.a.p.clone(),
                sockets.clone(),
                records.clone(),
                figures.clone(),
            );
            thread::spawn(move || worker(p, i, seed * 31 + i as u64, sockets, records, figures))
        })
        .collect();
    thread::sleep(Duration::from_millis(2 + seed % 9));
    // The final cleanup, from the main thread, while everything runs; a
    // watchdog turns a deadlock into a failure.
    let (done_tx, done_rx) = mpsc::channel();
    let p = w.a.p.clone();
    let cleaner = thread::spawn(move || {
        let r = p.cleanup();
        done_tx.send(()).unwrap();
        r
    });
    done_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the final cleanup deadlocked");
    let outcome = cleaner.join().unwrap();
    assert!(
        matches!(outcome, Ok(CleanupOutcome::Final(_))),
        "{outcome:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    for h in workers {
        while !h.is_finished() {
            assert!(Instant::now() < deadline, "a worker deadlocked");
            thread::sleep(Duration::from_millis(1));
        }
        h.join().expect("a worker panicked");
    }
    stop.store(true, Ordering::Relaxed);
    pump.join().unwrap();
    w.settle();

    // S10: exactly one outcome per accepted operation; S6c: none notified if
    // the final cleanup aborted it.
    assert_eq!(w.a.p.socket_count(), 0, "S6h: sockets left");
    for r in records.lock().unwrap().iter() {
        let op = r.op().expect("accepted");
        let (d, s) = (notes.delivered_for(op), notes.suppressed_for(op));
        match r.state() {
            OpState::Delivered | OpState::AbortedNotified => assert_eq!((d, s), (1, 0), "{op}"),
            OpState::AbortedSilent => assert_eq!((d, s), (0, 1), "{op}"),
            other => panic!("{op} ended {other:?} after the final cleanup"),
        }
    }
    let f = &figures;
    totals
        .accepted
        .fetch_add(f.accepted.load(Ordering::Relaxed), Ordering::Relaxed);
    totals.blocking_interrupted.fetch_add(
        f.blocking_interrupted.load(Ordering::Relaxed),
        Ordering::Relaxed,
    );
    totals
        .blocking_done
        .fetch_add(f.blocking_done.load(Ordering::Relaxed), Ordering::Relaxed);
    totals
        .closes
        .fetch_add(f.closes.load(Ordering::Relaxed), Ordering::Relaxed);
}

/// S10, S14, S6b, S6c, S6f under threads: see the module docs.
#[test]
fn stress_final_cleanup_races_submits_closes_and_completions() {
    let rounds: u64 = std::env::var("STRESS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let totals = Figures::default();
    let started = Instant::now();
    for seed in 1..=rounds {
        round(seed, &totals);
    }
    eprintln!(
        "stress: {rounds} rounds x {WORKERS} workers in {:.2}s: {} operations accepted, {} blocking calls \
         interrupted, {} blocking calls completed, {} closes",
        started.elapsed().as_secs_f64(),
        totals.accepted.load(Ordering::Relaxed),
        totals.blocking_interrupted.load(Ordering::Relaxed),
        totals.blocking_done.load(Ordering::Relaxed),
        totals.closes.load(Ordering::Relaxed),
    );
    assert!(totals.accepted.load(Ordering::Relaxed) > 0);
}
