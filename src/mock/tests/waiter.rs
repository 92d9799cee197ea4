//! The mock waiter: pumping, virtual deadlines, real-time wake-ups, thread ids.

use super::util::*;
use crate::core::flags::MsgFlags;
use crate::core::notifier::ThreadKey;
use crate::core::transport::{Io, Transport, Wait};
use crate::core::waiter::{WaitResult, Waiter};
use crate::mock::{MockWaiter, Network};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

#[test]
fn a_wait_pumps_the_network_until_ready() {
    let net = Network::new(1);
    let (a, b) = connected_pair(&net);
    let w = MockWaiter::new(&net);
    let r = op(h(2), 1);
    assert_eq!(
        b.t.recv(h(2), 10, MsgFlags::empty(), Wait::Later(r))
            .unwrap(),
        Io::Pending
    );
    a.t.send(h(1), b"ping".to_vec(), None, Wait::No).unwrap();
    let sink = b.sink.clone();
    let sent_at = w.now();
    let res = w.wait_until(None, &mut || !sink.completions_of(r).is_empty());
    assert_eq!(res, WaitResult::Ready);
    assert_eq!(
        w.now() - sent_at,
        Duration::from_millis(1),
        "one latency of virtual time"
    );
}

#[test]
fn a_deadline_on_an_idle_network_moves_the_clock_to_it() {
    let net = Network::new(2);
    let w = MockWaiter::new(&net);
    let res = w.wait_until(Some(Duration::from_secs(30)), &mut || false);
    assert_eq!(res, WaitResult::TimedOut);
    assert_eq!(net.now(), Duration::from_secs(30));
}

#[test]
fn a_deadline_is_not_overshot_by_later_events() {
    let net = Network::new(3);
    let svc = net.add_discard_service(addr(B, 9), Some(1));
    let a = host(&net, A);
    let _b = host(&net, B);
    a.t.open(h(1), crate::AddressFamily::Inet, crate::SocketKind::Stream)
        .unwrap();
    connect(&net, &a, h(1), addr(B, 9)).unwrap();
    a.t.send(h(1), vec![0; 3000], None, Wait::No).unwrap();
    let w = MockWaiter::new(&net);
    let res = w.wait_until(Some(Duration::from_millis(10)), &mut || false);
    assert_eq!(res, WaitResult::TimedOut);
    assert_eq!(net.now(), Duration::from_millis(10));
    // One read of one MSS at 1 ms; the next (1.46 s later) is not run.
    assert_eq!(net.service_received(svc), 1460);
    assert!(!net.is_idle());
}

#[test]
fn another_thread_releases_a_wait_without_deadline() {
    let net = Network::new(4);
    let w = MockWaiter::new(&net);
    let flag = Arc::new(AtomicBool::new(false));
    let (f2, w2) = (flag.clone(), w.clone());
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        f2.store(true, Ordering::SeqCst);
        w2.wake_all();
    });
    let res = w.wait_until(None, &mut || flag.load(Ordering::SeqCst));
    assert_eq!(res, WaitResult::Ready);
    t.join().unwrap();
    assert_eq!(
        net.now(),
        Duration::ZERO,
        "no virtual time passes without a deadline"
    );
}

#[test]
fn thread_ids_are_stable_per_thread_and_settable() {
    let net = Network::new(5);
    let w = MockWaiter::new(&net);
    let mine = w.current_thread();
    assert_eq!(w.current_thread(), mine);
    let w2 = w.clone();
    let other = std::thread::spawn(move || w2.current_thread())
        .join()
        .unwrap();
    assert_ne!(other, mine);
    MockWaiter::set_current_thread(ThreadKey(77));
    assert_eq!(w.current_thread(), ThreadKey(77));
    MockWaiter::clear_current_thread();
    assert_eq!(w.current_thread(), mine);
}

#[test]
fn several_threads_can_pump_at_once() {
    let net = Network::new(6);
    let (a, b) = connected_pair(&net);
    let data = pattern(0, 50_000);
    let w = MockWaiter::new(&net);
    let pumpers: Vec<_> = (0..3)
        .map(|_| {
            let n = net.clone();
            std::thread::spawn(move || {
                for _ in 0..2000 {
                    n.step();
                }
            })
        })
        .collect();
    let mut sent = 0;
    let mut got = Vec::new();
    while got.len() < data.len() {
        if sent < data.len()
            && let Ok(Io::Done(n)) = a.t.send(h(1), data[sent..].to_vec(), None, Wait::No)
        {
            sent += n;
        }
        got.extend(read_now(&b.t, h(2)));
        w.wait_until(Some(w.now() + Duration::from_millis(1)), &mut || false);
    }
    for p in pumpers {
        p.join().unwrap();
    }
    assert_eq!(got, data);
}
