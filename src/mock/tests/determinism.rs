//! Same seed, same run.

use super::util::*;
use crate::core::transport::{AddressFamily, CloseKind, Io, SocketKind, Transport, Wait};
use crate::mock::Network;

/// Three hosts, each with a connection to an echo service and one to a
/// slow discard service, plus datagrams between them; returns the network's
/// trace and every sink call of every host, in order.
fn workload(seed: u64) -> (Vec<String>, Vec<String>) {
    let net = Network::new(seed);
    net.set_tracing(true);
    let echo = addr([127, 0, 0, 2], 7);
    let discard = addr([127, 0, 0, 3], 9);
    net.add_echo_service(echo);
    net.add_discard_service(discard, Some(2000));
    let hosts: Vec<Host> = (1..=3).map(|i| host(&net, [10, 0, 0, i])).collect();
    for (i, x) in hosts.iter().enumerate() {
        x.t.open(h(1), AddressFamily::Inet, SocketKind::Stream)
            .unwrap();
        connect(&net, x, h(1), echo).unwrap();
        x.t.open(h(2), AddressFamily::Inet, SocketKind::Stream)
            .unwrap();
        connect(&net, x, h(2), discard).unwrap();
        x.t.open(h(3), AddressFamily::Inet, SocketKind::Datagram)
            .unwrap();
        x.t.bind(h(3), addr([10, 0, 0, i as u8 + 1], 5000)).unwrap();
    }
    let mut left = [[6000usize; 2]; 3];
    for round in 0..400 {
        for (i, x) in hosts.iter().enumerate() {
            for (j, s) in [h(1), h(2)].into_iter().enumerate() {
                if left[i][j] > 0
                    && let Ok(Io::Done(n)) =
                        x.t.send(s, pattern(i * 7 + j, left[i][j].min(3000)), None, Wait::No)
                {
                    left[i][j] -= n;
                    if left[i][j] == 0 {
                        x.t.close(s, CloseKind::Graceful);
                    }
                }
            }
            if round % 50 == 0 {
                let to = addr([10, 0, 0, ((i + 1) % 3) as u8 + 1], 5000);
                x.t.send(h(3), pattern(round, 100), Some(to), Wait::No)
                    .unwrap();
            }
            read_now(&x.t, h(1));
            read_now(&x.t, h(3));
        }
        net.step();
    }
    net.run_until_idle(1_000_000);
    let calls = hosts
        .iter()
        .flat_map(|x| x.sink.calls())
        .map(|c| format!("{c:?}"))
        .collect();
    (net.take_trace(), calls)
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let (trace1, calls1) = workload(42);
    let (trace2, calls2) = workload(42);
    assert!(
        trace1.len() > 100,
        "a real workload: {} events",
        trace1.len()
    );
    assert_eq!(trace1, trace2);
    assert_eq!(calls1, calls2);
}

#[test]
fn different_seeds_give_different_orders() {
    let (base, _) = workload(1);
    assert!(
        (2..6).any(|seed| workload(seed).0 != base),
        "the seed has no effect"
    );
}
