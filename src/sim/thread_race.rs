//! A random workload of application threads racing the final cleanup:
//! `wspsim threads`.
//!
//! One process, a pool of sockets connected to echo and discard services,
//! and threads that each make random calls on them (blocking, non-blocking
//! and overlapped sends and receives in every completion mode, closes in
//! every linger mode, shutdowns, option changes), while a lifecycle thread
//! makes nested startups and cleanups and, at a moment the seed chooses,
//! the final cleanup. Everything is interleaved by the seed
//! ([`Simulation::run_threads`](super::Simulation::run_threads)), so a failing seed fails the same way every
//! time.
//!
//! Checked after every run:
//! - the run ends: no thread stays blocked once the final cleanup is done
//!   (S6b), and no thread is stuck outside the provider;
//! - every overlapped operation that was accepted reached exactly one end:
//!   notified once, or, when the final cleanup aborted it, never notified and
//!   suppressed once (S6c, S10);
//! - after the final cleanup no socket is left (S6d, S6h), and every call
//!   is `WSANOTINITIALISED` (S4).

use super::action::SeededBytes;
use super::interleave::AppThread;
use super::model::outcome_rule;
use super::simulation::{ProcessId, Simulation, ThreadSpec};
use crate::core::op::{OpState, Overlapped};
use crate::sync::lock;
use crate::{
    AddressFamily, CompletionMode, EventKey, Linger, MsgFlags, OverlappedRequest, PortKey,
    SocketFlags, SocketHandle, SocketKind, Version, Waiter as _, WsaError,
};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Mutex;

/// What a threaded run did and what broke.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ThreadedReport {
    /// Calls made by the worker threads.
    pub calls: usize,
    /// Overlapped operations accepted.
    pub operations: usize,
    /// Of those, aborted silently by the final cleanup.
    pub aborted_by_final_cleanup: usize,
    /// Blocking calls that the final cleanup interrupted (`WSAEINTR`).
    pub interrupted: usize,
    /// Scheduling decisions.
    pub decisions: usize,
    /// Broken rules, each with the seed's context.
    pub failures: Vec<String>,
    /// The run's trace, as text.
    pub trace: String,
}

/// A small seeded source for one thread's choices.
struct Dice(SeededBytes);

impl Dice {
    fn below(&mut self, n: u32) -> u32 {
        let mut w = 0u32;
        for _ in 0..4 {
            w = (w << 8) | u32::from(self.0.next().unwrap_or(0));
        }
        w % n.max(1)
    }
}

/// One random call of a worker; returns an accepted overlapped record.
fn random_call(
    t: &AppThread<'_>,
    dice: &mut Dice,
    sockets: &[SocketHandle],
    interrupted: &Mutex<usize>,
) -> Option<Overlapped> {
    let s = sockets[dice.below(sockets.len() as u32) as usize];
    let mode = match dice.below(5) {
        0 => None,
        1 => Some(CompletionMode::Event(EventKey(u64::from(dice.below(9))))),
        2 => Some(CompletionMode::Routine {
            thread: t.provider().waiter().current_thread(),
            routine: 0xC0DE,
        }),
        3 => Some(CompletionMode::Port {
            port: PortKey(1),
            key: 7,
        }),
        _ => Some(CompletionMode::Polling),
    };
    let request = mode.map(OverlappedRequest::new);
    let record = request.as_ref().map(|r| r.overlapped.clone());
    let accepted = |r: &Result<(), WsaError>| match r {
        Ok(()) | Err(WsaError::IoPending) => record.clone(),
        Err(WsaError::Interrupted) => {
            *lock!(interrupted) += 1;
            None
        }
        Err(_) => None,
    };
    match dice.below(10) {
        0..=2 => {
            let len = 1 + dice.below(3000) as usize;
            let r = t.call("WSPSend", |p| {
                p.send(s, &vec![0x5A; len], MsgFlags::empty(), request)
            });
            accepted(&r.map(|_| ()))
        }
        3..=5 => {
            let r = t.call("WSPRecv", |p| p.recv(s, 2048, MsgFlags::empty(), request));
            accepted(&r.map(|_| ()))
        }
        6 => {
            let on = dice.below(2) == 0;
            let _ = t.call("FIONBIO", |p| p.set_nonblocking(s, on));
            None
        }
        7 => {
            let linger = match dice.below(3) {
                0 => Linger::default(),
                1 => Linger {
                    on: true,
                    seconds: 0,
                },
                _ => Linger {
                    on: true,
                    seconds: 1 + dice.below(2) as u16,
                },
            };
            let _ = t.call("SO_LINGER", |p| p.set_linger(s, linger));
            let r = t.call("WSPCloseSocket", |p| p.close_socket(s));
            accepted(&r.and(Err(WsaError::NotSocket)))
        }
        8 => {
            let how = dice.below(3) as i32;
            let _ = t.call("WSPShutdown", |p| p.shutdown(s, how));
            None
        }
        _ => {
            let _ = t.call("WSPGetPeerName", |p| p.peer_addr(s));
            None
        }
    }
}

/// Runs one threaded workload: `workers` threads of `calls` calls each.
pub fn run(seed: u64, workers: usize, calls: usize) -> ThreadedReport {
    let mut sim = Simulation::new(seed);
    let app: ProcessId = sim.add_process("app", Ipv4Addr::new(10, 0, 0, 1).into());
    let mut report = ThreadedReport::default();
    let mut dice = Dice(SeededBytes::new(seed ^ 0xA5A5));
    sim.call(app, "WSPStartup", |p, n| p.startup(Version::new(2, 2), n))
        .expect("the first startup");
    let mut sockets = Vec::new();
    for i in 0..4u16 {
        let addr = SocketAddr::from((Ipv4Addr::new(10, 0, 0, 9), 100 + i));
        if i % 2 == 0 {
            sim.add_echo(addr);
        } else {
            let rate = [None, Some(0), Some(3)][dice.below(3) as usize];
            sim.add_discard(addr, rate);
        }
        let flags = SocketFlags::OVERLAPPED;
        let s = sim
            .call(app, "WSPSocket", |p, _| {
                p.socket(AddressFamily::Inet, SocketKind::Stream, flags)
            })
            .expect("a socket");
        sim.call(app, "WSPConnect", |p, _| p.connect(s, addr))
            .expect("connect to a service");
        sockets.push(s);
    }
    let nested = dice.below(3) as usize;
    let before_final = dice.below(calls as u32 * 2) as usize;
    let accepted = Mutex::new(Vec::new());
    let interrupted = Mutex::new(0usize);
    let made = Mutex::new(0usize);
    let mut threads = Vec::new();
    for w in 0..workers {
        let mut dice = Dice(SeededBytes::new(
            seed.wrapping_mul(31).wrapping_add(w as u64),
        ));
        let (sockets, accepted, interrupted, made) = (&sockets, &accepted, &interrupted, &made);
        threads.push(ThreadSpec::new(app, &format!("worker{w}"), move |t| {
            for _ in 0..calls {
                if let Some(record) = random_call(t, &mut dice, sockets, interrupted) {
                    lock!(accepted).push(record);
                }
                *lock!(made) += 1;
            }
        }));
    }
    let first = sockets[0];
    threads.push(ThreadSpec::new(app, "lifecycle", move |t| {
        for _ in 0..nested {
            let _ = t.startup(Version::new(2, 2));
        }
        for _ in 0..nested {
            let _ = t.cleanup();
        }
        for _ in 0..before_final {
            let _ = t.call("WSPGetSockName", |p| p.local_addr(first));
        }
        let _ = t.cleanup();
    }));
    let threads_report = sim.run_threads(threads);
    report.decisions = threads_report.decisions;
    report.calls = *lock!(made);
    report.interrupted = *lock!(interrupted);
    let fail = |report: &mut ThreadedReport, what: String| {
        report.failures.push(format!("seed {seed}: {what}"));
    };
    if let Some(why) = threads_report.cut_short {
        fail(&mut report, format!("the run was cut short: {why}"));
    }
    if !threads_report.blocked_forever.is_empty() {
        fail(
            &mut report,
            format!(
                "S6b: blocked after the final cleanup: {:?}",
                threads_report.blocked_forever
            ),
        );
    }
    sim.settle();
    let provider = sim.provider(app);
    let notes = sim.notes(app);
    for record in std::mem::take(&mut *lock!(accepted)) {
        report.operations += 1;
        let Some(op) = record.op() else { continue };
        let (told, kept) = (notes.delivered_for(op), notes.suppressed_for(op));
        let state = record.state();
        if state == OpState::AbortedSilent {
            report.aborted_by_final_cleanup += 1;
        }
        if let Err((rule, why)) = outcome_rule(op, state, told, kept, true) {
            fail(&mut report, format!("{rule}: {why}"));
        }
    }
    let late = sim.after_crash();
    if late > 0 {
        fail(
            &mut report,
            format!("S11: {late} notifications after a crash"),
        );
    }
    if provider.startup_count() != 0 {
        fail(
            &mut report,
            format!("S1: {} startups left", provider.startup_count()),
        );
    }
    if provider.socket_count() != 0 {
        fail(
            &mut report,
            format!("S6d/S6h: {} sockets left", provider.socket_count()),
        );
    }
    let after = provider.socket(
        AddressFamily::Inet,
        SocketKind::Stream,
        SocketFlags::empty(),
    );
    if after != Err(WsaError::NotInitialised) {
        fail(
            &mut report,
            format!("S4: a call after the last cleanup gave {after:?}"),
        );
    }
    report.trace = sim.trace_text();
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    /// S6b, S6c, S10 with threads: a few seeds in the unit tests (the
    /// integration test and `wspsim threads` run many).
    #[test]
    fn s6c_threads_racing_the_final_cleanup_keep_every_rule() {
        for seed in 0..20 {
            let r = run(seed, 3, 12);
            assert_eq!(r.failures, Vec::<String>::new(), "\n{}", r.trace);
            assert!(r.calls > 0);
        }
    }

    /// The same seed, the same run.
    #[test]
    fn the_same_seed_gives_the_same_threaded_workload() {
        assert_eq!(run(5, 3, 15), run(5, 3, 15));
    }
}
