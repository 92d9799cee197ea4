//! `Simulation` with application threads: blocking calls in several threads,
//! interleaved by the seed, with a final cleanup racing them (S6b, S6f, S14).
//! The same seed gives the same run, byte for byte.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use winsock_provider::sim::{Simulation, ThreadSpec};
use winsock_provider::{AddressFamily, MsgFlags, SocketFlags, SocketKind, Version, WsaError};

const ECHO: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 9), 7));

/// A process with a blocking socket connected to an echo service; then a
/// reader blocked in `recv`, a writer whose bytes come back to it, and a
/// third thread making the final cleanup after `seed % 40` other calls, all
/// interleaved by `seed`.
/// Returns the trace and what the reader's calls returned.
fn race(seed: u64) -> (String, Vec<Result<usize, WsaError>>) {
    let mut sim = Simulation::new(seed);
    let app = sim.add_process("app", Ipv4Addr::new(10, 0, 0, 1).into());
    sim.add_echo(ECHO);
    sim.call(app, "WSPStartup", |p, n| p.startup(Version::new(2, 2), n))
        .unwrap();
    let s = sim
        .call(app, "WSPSocket", |p, _| {
            p.socket(
                AddressFamily::Inet,
                SocketKind::Stream,
                SocketFlags::empty(),
            )
        })
        .unwrap();
    sim.call(app, "WSPConnect", |p, _| p.connect(s, ECHO))
        .unwrap();
    let results = std::sync::Mutex::new(Vec::new());
    let report = sim.run_threads(vec![
        ThreadSpec::new(app, "reader", |t| {
            for _ in 0..3 {
                let r = t.call("WSPRecv", |p| p.recv(s, 100, MsgFlags::empty(), None));
                results.lock().unwrap().push(r.map(|got| got.data.len()));
            }
        }),
        ThreadSpec::new(app, "writer", |t| {
            let _ = t.call("WSPSend", |p| p.send(s, b"ping", MsgFlags::empty(), None));
        }),
        ThreadSpec::new(app, "cleaner", |t| {
            // Some work first, so that the echo sometimes wins the race.
            for _ in 0..seed % 40 {
                let _ = t.call("WSPGetSockName", |p| p.local_addr(s));
            }
            let _ = t.cleanup();
        }),
    ]);
    assert_eq!(report.cut_short, None, "seed {seed}");
    assert_eq!(report.blocked_forever, Vec::<String>::new(), "seed {seed}");
    (sim.trace_text(), results.into_inner().unwrap())
}

/// S6b, S6f: whatever the interleaving, the final cleanup ends the blocked
/// receive (WSAEINTR) or comes before it (WSANOTINITIALISED) or after the
/// echo (4 bytes); nothing is left blocked and the cleanup returns.
#[test]
fn s6b_final_cleanup_racing_blocked_threads_ends_every_call_for_every_seed() {
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..200 {
        let (trace, results) = race(seed);
        assert_eq!(results.len(), 3, "seed {seed}");
        for r in &results {
            assert!(
                matches!(
                    r,
                    Ok(4) | Err(WsaError::Interrupted) | Err(WsaError::NotInitialised)
                ),
                "seed {seed}: {r:?}\n{trace}"
            );
            seen.insert(format!("{r:?}"));
        }
        assert!(
            trace.contains("app/cleaner: WSPCleanup -> 0"),
            "seed {seed}\n{trace}"
        );
    }
    // The seeds reach every outcome: the race is really run both ways.
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        ["Err(Interrupted)", "Err(NotInitialised)", "Ok(4)"]
    );
}

/// The same seed gives the same interleaving and the same trace.
#[test]
fn the_same_seed_gives_the_same_threaded_run() {
    for seed in [1, 17, 99] {
        assert_eq!(race(seed), race(seed), "seed {seed}");
    }
}
