//! The socket table: handles, capacity and concurrent lookups.
//!
//! Rules covered (see `winsock_provider::manual::rules`):
//! - S6h: a closed handle is `WSAENOTSOCK` forever; handles issued after a
//!   final cleanup and a restart never equal an earlier one (generation-tagged
//!   handles); raw values are never 0 nor `INVALID_SOCKET` (`!0`).
//! - S13: unknown, bogus and stale handles are `WSAENOTSOCK` for every entry
//!   point; a full table is `WSAEMFILE`; a failed call changes nothing.
//! - S14: every entry point may be called from any thread at any time,
//!   including concurrently with the final cleanup: no panic, no wrong answer.

mod common;

use common::{MockProvider, World, fresh};
use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use winsock_provider::Overlapped;
use winsock_provider::mock::RecordingNotifier;
use winsock_provider::{
    AddressFamily, CleanupOutcome, MsgFlags, ProviderConfig, SocketFlags, SocketHandle, SocketKind,
    Version, WsaError,
};

fn start(p: &MockProvider, notes: &RecordingNotifier) {
    p.startup(Version::new(2, 2), Arc::new(notes.clone()))
        .expect("startup");
}

fn small(max_sockets: usize) -> ProviderConfig {
    ProviderConfig {
        max_sockets,
        ..ProviderConfig::default()
    }
}

/// A small deterministic generator for "random" raw handle values.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// Every entry point that takes a handle, called with `h`; each result.
fn every_handle_call(
    p: &MockProvider,
    h: SocketHandle,
) -> Vec<(&'static str, Result<(), WsaError>)> {
    common::every_handle_call(p, h, h, &Overlapped::new())
}

fn assert_not_socket_everywhere(p: &MockProvider, h: SocketHandle) {
    let wrong: Vec<_> = every_handle_call(p, h)
        .into_iter()
        .filter(|(_, r)| *r != Err(WsaError::NotSocket))
        .collect();
    assert!(
        wrong.is_empty(),
        "{h:?} (raw {:#x}) is not WSAENOTSOCK for: {wrong:?}",
        h.to_raw()
    );
}

// ---------------------------------------------------------------- S6h, S13

/// S6h: a closed handle is WSAENOTSOCK for every call, and stays so while its slot is reused thousands of times.
#[test]
fn s6h_closed_handle_is_wsaenotsock_forever() {
    let (_net, p, notes) = fresh(2101, small(2));
    start(&p, &notes);
    let h = p
        .socket(
            AddressFamily::Inet,
            SocketKind::Stream,
            SocketFlags::OVERLAPPED,
        )
        .unwrap();
    p.close_socket(h).unwrap();
    assert_not_socket_everywhere(&p, h);
    for i in 0..3000 {
        // With room for two sockets, every new socket lands in one of the same two slots.
        let kind = if i % 2 == 0 {
            SocketKind::Stream
        } else {
            SocketKind::Datagram
        };
        let n = p
            .socket(AddressFamily::Inet, kind, SocketFlags::empty())
            .unwrap();
        assert_ne!(n, h);
        assert_eq!(
            p.socket_kind(h),
            Err(WsaError::NotSocket),
            "after {i} reuses"
        );
        assert_eq!(p.socket_kind(n), Ok(kind));
        p.close_socket(n).unwrap();
    }
    assert_not_socket_everywhere(&p, h);
    assert_eq!(p.socket_count(), 0);
}

/// S6h, S13: thousands of handles over several final cleanups and restarts are all distinct, never 0 or !0, and stale forever once closed.
#[test]
fn s6h_handles_never_repeat_across_close_cleanup_and_restart() {
    let (_net, p, notes) = fresh(2102, small(8));
    let mut issued: HashSet<u64> = HashSet::new();
    let mut gone: Vec<SocketHandle> = Vec::new();
    for cycle in 0..4 {
        start(&p, &notes);
        for &h in &gone {
            assert_eq!(
                p.socket_kind(h),
                Err(WsaError::NotSocket),
                "{h:?} came back in cycle {cycle}"
            );
        }
        let mut open: VecDeque<(SocketHandle, SocketKind)> = VecDeque::new();
        for i in 0..2500 {
            let kind = if i % 3 == 0 {
                SocketKind::Datagram
            } else {
                SocketKind::Stream
            };
            let h = p
                .socket(AddressFamily::Inet, kind, SocketFlags::OVERLAPPED)
                .unwrap();
            let raw = h.to_raw();
            assert_ne!(raw, 0, "0 is never a handle");
            assert_ne!(raw, u64::MAX, "INVALID_SOCKET is never a handle");
            assert!(
                issued.insert(raw),
                "raw handle {raw:#x} issued twice (cycle {cycle}, socket {i})"
            );
            open.push_back((h, kind));
            if open.len() > 5 {
                let (c, _) = open.pop_front().unwrap();
                p.close_socket(c).unwrap();
                assert_eq!(p.close_socket(c), Err(WsaError::NotSocket));
                gone.push(c);
            }
            // Every open socket still answers with its own kind.
            if i % 97 == 0 {
                for &(o, k) in &open {
                    assert_eq!(p.socket_kind(o), Ok(k));
                }
            }
        }
        assert_eq!(p.socket_count(), open.len());
        // The final cleanup resets the ones left open; their handles go stale too.
        match p.cleanup() {
            Ok(CleanupOutcome::Final(r)) => assert_eq!(r.sockets_reset, open.len()),
            other => panic!("expected a final cleanup, got {other:?}"),
        }
        gone.extend(open.iter().map(|&(h, _)| h));
    }
    assert_eq!(issued.len(), 4 * 2500);
    start(&p, &notes);
    for &h in &gone {
        assert_eq!(p.socket_kind(h), Err(WsaError::NotSocket));
    }
    for h in gone.iter().step_by(211) {
        assert_not_socket_everywhere(&p, *h);
    }
    let last = p
        .socket(
            AddressFamily::Inet,
            SocketKind::Stream,
            SocketFlags::empty(),
        )
        .unwrap();
    assert!(!issued.contains(&last.to_raw()));
    assert_eq!(p.socket_count(), 1);
}

/// S13: a full table is WSAEMFILE and changes nothing; closing one socket frees a slot.
#[test]
fn s13_full_table_is_wsaemfile_and_a_close_frees_a_slot() {
    let (_net, p, notes) = fresh(2103, small(3));
    start(&p, &notes);
    let s1 = p
        .socket(
            AddressFamily::Inet,
            SocketKind::Stream,
            SocketFlags::OVERLAPPED,
        )
        .unwrap();
    let s2 = p
        .socket(
            AddressFamily::Inet,
            SocketKind::Datagram,
            SocketFlags::empty(),
        )
        .unwrap();
    let s3 = p
        .socket(
            AddressFamily::Inet,
            SocketKind::Stream,
            SocketFlags::empty(),
        )
        .unwrap();
    for _ in 0..3 {
        assert_eq!(
            p.socket(
                AddressFamily::Inet,
                SocketKind::Stream,
                SocketFlags::OVERLAPPED
            ),
            Err(WsaError::TooManySockets)
        );
        assert_eq!(
            p.socket(
                AddressFamily::Inet,
                SocketKind::Datagram,
                SocketFlags::empty()
            ),
            Err(WsaError::TooManySockets)
        );
    }
    assert_eq!(WsaError::TooManySockets.name(), "WSAEMFILE");
    assert_eq!(p.socket_count(), 3);
    assert_eq!(p.socket_kind(s1), Ok(SocketKind::Stream));
    assert_eq!(p.socket_kind(s2), Ok(SocketKind::Datagram));
    assert_eq!(p.socket_kind(s3), Ok(SocketKind::Stream));

    p.close_socket(s2).unwrap();
    assert_eq!(p.socket_count(), 2);
    let s4 = p
        .socket(
            AddressFamily::Inet,
            SocketKind::Datagram,
            SocketFlags::empty(),
        )
        .expect("a close frees a slot");
    assert_ne!(s4, s2);
    assert_eq!(
        p.socket(
            AddressFamily::Inet,
            SocketKind::Datagram,
            SocketFlags::empty()
        ),
        Err(WsaError::TooManySockets)
    );
    assert_eq!(p.socket_kind(s2), Err(WsaError::NotSocket));
    assert_eq!(p.socket_kind(s4), Ok(SocketKind::Datagram));

    // The final cleanup frees every slot.
    assert!(matches!(p.cleanup(), Ok(CleanupOutcome::Final(_))));
    start(&p, &notes);
    for _ in 0..3 {
        p.socket(
            AddressFamily::Inet,
            SocketKind::Stream,
            SocketFlags::empty(),
        )
        .unwrap();
    }
    assert_eq!(
        p.socket(
            AddressFamily::Inet,
            SocketKind::Stream,
            SocketFlags::empty()
        ),
        Err(WsaError::TooManySockets)
    );
    assert!(notes.delivered().is_empty());
}

/// S13: `max_sockets: 0` means no socket at all: the first socket() is already WSAEMFILE.
#[test]
fn s13_max_sockets_zero_allows_no_socket() {
    let (_net, p, notes) = fresh(2108, small(0));
    start(&p, &notes);
    assert_eq!(
        p.socket(
            AddressFamily::Inet,
            SocketKind::Stream,
            SocketFlags::empty()
        ),
        Err(WsaError::TooManySockets)
    );
    assert_eq!(p.socket_count(), 0);
}

/// S13: accept with a full table is WSAEMFILE and leaves the connection queued for a later accept.
#[test]
fn s13_accept_on_a_full_table_is_wsaemfile_and_keeps_the_connection() {
    let w = World::with_config(2104, small(2));
    let l = w.a.stream();
    let at = w.a.p.bind(l, SocketAddr::from((w.a.ip, 0))).unwrap();
    w.a.p.listen(l, 4).unwrap();
    w.a.p.set_nonblocking(l, true).unwrap();
    let x =
        w.a.p
            .socket(
                AddressFamily::Inet,
                SocketKind::Datagram,
                SocketFlags::empty(),
            )
            .unwrap();
    let c = w.b.stream();
    w.b.p.connect(c, at).unwrap();
    w.settle();

    assert_eq!(w.a.p.accept(l).err(), Some(WsaError::TooManySockets));
    assert_eq!(w.a.p.socket_count(), 2, "the failed accept holds no slot");
    w.a.p.close_socket(x).unwrap();
    let (t, peer) =
        w.a.p
            .accept(l)
            .expect("the queued connection is still there");
    assert_eq!(peer, w.b.p.local_addr(c).unwrap());
    assert_eq!(w.a.p.socket_count(), 2);
    w.b.p.send(c, b"queued", MsgFlags::empty(), None).unwrap();
    w.settle();
    assert_eq!(common::drain(&w.net, &w.a.p, t).unwrap(), b"queued");
}

/// S13: handles the provider never issued (0, 1, !0, random, forged generations) are WSAENOTSOCK everywhere and change nothing.
#[test]
fn s13_bogus_raw_handles_are_wsaenotsock() {
    let w = World::new(2105);
    let (s, t) = w.pair();
    let d =
        w.a.p
            .socket(
                AddressFamily::Inet,
                SocketKind::Datagram,
                SocketFlags::OVERLAPPED,
            )
            .unwrap();
    let l = w.a.stream();
    w.a.p.bind(l, SocketAddr::from((w.a.ip, 0))).unwrap();
    w.a.p.listen(l, 1).unwrap();
    // Non-blocking, so that a handle wrongly resolving to one of them fails the test instead of hanging it.
    for h in [s, d, l] {
        w.a.p.set_nonblocking(h, true).unwrap();
    }
    let live: HashSet<u64> = [s, d, l].iter().map(|h| h.to_raw()).collect();

    let mut bogus = vec![
        0u64,
        1,
        2,
        u64::MAX,
        u64::MAX - 1,
        1 << 24,
        (1 << 24) - 1,
        0xFFFF_FF00_0000_0000,
    ];
    for h in [s, d, l] {
        let raw = h.to_raw();
        bogus.extend([
            raw ^ (1 << 24),
            raw + (1 << 24),
            raw.wrapping_sub(1 << 24),
            raw | (1 << 63),
            raw + 100,
        ]);
    }
    let mut rng = XorShift(0x2105_2105_2105_2105);
    bogus.extend((0..200).map(|_| rng.next()));
    bogus.extend((0..50).map(|_| rng.next() & 0xFFFF_FFFF));
    bogus.retain(|raw| !live.contains(raw));

    let count = w.a.p.socket_count();
    for raw in bogus {
        assert_not_socket_everywhere(&w.a.p, SocketHandle::from_raw(raw));
        assert_eq!(
            w.a.p.socket_count(),
            count,
            "raw {raw:#x} changed the table"
        );
    }
    assert!(w.a.notes.delivered().is_empty());
    assert!(w.a.notes.released().is_empty());
    // The live sockets are untouched.
    assert_eq!(w.a.p.socket_kind(d), Ok(SocketKind::Datagram));
    assert_eq!(w.a.p.socket_kind(l), Ok(SocketKind::Stream));
    w.a.p
        .send(s, b"still here", MsgFlags::empty(), None)
        .unwrap();
    w.a.p.close_socket(s).unwrap();
    w.settle();
    assert_eq!(common::drain(&w.net, &w.b.p, t).unwrap(), b"still here");
}

// ---------------------------------------------------------------- S14

/// Runs a closure when dropped, also while unwinding from a failed assertion.
struct OnDrop<F: FnMut()>(F);

impl<F: FnMut()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        (self.0)()
    }
}

fn kind_of(owner: usize) -> SocketKind {
    if owner.is_multiple_of(2) {
        SocketKind::Stream
    } else {
        SocketKind::Datagram
    }
}

/// S14: 4 threads create, look up and close their own sockets while another looks up theirs: an open handle always resolves to its socket, a closed one never.
#[test]
fn s14_concurrent_create_lookup_close_never_gives_a_wrong_answer() {
    const OWNERS: usize = 4;
    const ROUNDS: usize = 1500;
    let (_net, p, notes) = fresh(2106, ProviderConfig::default());
    start(&p, &notes);
    // open[i]: the handle owner i has announced open (0: none); it is cleared before the close starts.
    let open: Arc<Vec<AtomicU64>> = Arc::new((0..OWNERS).map(|_| AtomicU64::new(0)).collect());
    // ack[i]: the last handle of owner i the observer saw open.
    let ack: Arc<Vec<AtomicU64>> = Arc::new((0..OWNERS).map(|_| AtomicU64::new(0)).collect());
    let closed: Arc<Mutex<Vec<(u64, usize)>>> = Arc::default();
    let done = Arc::new(AtomicUsize::new(0));
    let observing = Arc::new(AtomicBool::new(true));

    let owners: Vec<_> = (0..OWNERS)
        .map(|i| {
            let (p, open, ack, closed, done, observing) = (
                p.clone(),
                open.clone(),
                ack.clone(),
                closed.clone(),
                done.clone(),
                observing.clone(),
            );
            std::thread::spawn(move || {
                // Counted as done even if an assertion fails, so the observer stops.
                let _done = OnDrop(move || {
                    done.fetch_add(1, Ordering::SeqCst);
                });
                let kind = kind_of(i);
                let mut mine = HashSet::new();
                for round in 0..ROUNDS {
                    let h = p
                        .socket(AddressFamily::Inet, kind, SocketFlags::OVERLAPPED)
                        .expect("socket");
                    assert!(mine.insert(h.to_raw()));
                    open[i].store(h.to_raw(), Ordering::SeqCst);
                    assert_eq!(p.socket_kind(h), Ok(kind));
                    p.set_nonblocking(h, round.is_multiple_of(2)).unwrap();
                    assert_eq!(p.is_nonblocking(h), Ok(round.is_multiple_of(2)));
                    if round.is_multiple_of(50) {
                        // Hold this one open until the observer has seen it.
                        while ack[i].load(Ordering::SeqCst) != h.to_raw() {
                            assert!(observing.load(Ordering::SeqCst), "the observer failed");
                            std::thread::yield_now();
                        }
                    }
                    open[i].store(0, Ordering::SeqCst);
                    p.close_socket(h).unwrap();
                    assert_eq!(p.socket_kind(h), Err(WsaError::NotSocket));
                    closed.lock().unwrap().push((h.to_raw(), i));
                }
                mine
            })
        })
        .collect();

    let observer = {
        let (p, open, ack, closed, done) = (
            p.clone(),
            open.clone(),
            ack.clone(),
            closed.clone(),
            done.clone(),
        );
        let observing = observing.clone();
        std::thread::spawn(move || {
            // Owners waiting for an acknowledgement give up if this thread fails.
            let _alive = OnDrop(move || observing.store(false, Ordering::SeqCst));
            let (mut open_hits, mut closed_hits) = (0usize, 0usize);
            let mut rng = XorShift(2106);
            while done.load(Ordering::SeqCst) < OWNERS {
                for i in 0..OWNERS {
                    let raw = open[i].load(Ordering::SeqCst);
                    if raw == 0 {
                        continue;
                    }
                    let r = p.socket_kind(SocketHandle::from_raw(raw));
                    if open[i].load(Ordering::SeqCst) == raw {
                        // Open before and after the lookup (and handles never repeat): it must resolve, to the right kind.
                        assert_eq!(r, Ok(kind_of(i)), "open handle {raw:#x} of owner {i}");
                        open_hits += 1;
                        ack[i].store(raw, Ordering::SeqCst);
                    } else {
                        assert!(
                            r == Ok(kind_of(i)) || r == Err(WsaError::NotSocket),
                            "{raw:#x}: {r:?}"
                        );
                    }
                }
                let pick = {
                    let c = closed.lock().unwrap();
                    (!c.is_empty()).then(|| c[(rng.next() % c.len() as u64) as usize])
                };
                if let Some((raw, owner)) = pick {
                    let h = SocketHandle::from_raw(raw);
                    assert_eq!(
                        p.socket_kind(h),
                        Err(WsaError::NotSocket),
                        "closed handle {raw:#x} of owner {owner}"
                    );
                    assert_eq!(p.is_nonblocking(h), Err(WsaError::NotSocket));
                    closed_hits += 1;
                }
            }
            (open_hits, closed_hits)
        })
    };

    let mut all: HashSet<u64> = HashSet::new();
    for o in owners {
        let mine = o.join().expect("owner thread panicked");
        let before = all.len();
        all.extend(&mine);
        assert_eq!(
            all.len(),
            before + mine.len(),
            "two threads were given the same handle"
        );
    }
    let (open_hits, closed_hits) = observer.join().expect("observer thread panicked");
    assert!(
        open_hits >= OWNERS * ROUNDS / 50,
        "the observer checked {open_hits} open handles"
    );
    assert!(closed_hits > 0);
    assert_eq!(all.len(), OWNERS * ROUNDS);
    assert_eq!(p.socket_count(), 0);
    for (raw, _) in closed.lock().unwrap().iter() {
        assert_eq!(
            p.socket_kind(SocketHandle::from_raw(*raw)),
            Err(WsaError::NotSocket)
        );
    }
}

/// S14, S6h: sockets created, looked up and closed on 4 threads while the main thread runs final cleanups and restarts: only legal answers, no handle issued twice.
#[test]
fn s14_table_calls_racing_the_final_cleanup_give_only_legal_answers() {
    const WORKERS: usize = 4;
    let (_net, p, notes) = fresh(2107, ProviderConfig::default());
    start(&p, &notes);
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..WORKERS)
        .map(|i| {
            let (p, stop) = (p.clone(), stop.clone());
            std::thread::spawn(move || {
                let kind = kind_of(i);
                let mut issued = Vec::new();
                let mut rounds = 0usize;
                while !stop.load(Ordering::SeqCst) || rounds < 200 {
                    rounds += 1;
                    let h = match p.socket(AddressFamily::Inet, kind, SocketFlags::OVERLAPPED) {
                        Ok(h) => h,
                        Err(WsaError::NotInitialised) => continue,
                        Err(e) => panic!("socket: {e:?}"),
                    };
                    issued.push(h.to_raw());
                    let r = p.socket_kind(h);
                    assert!(
                        matches!(r, Ok(k) if k == kind)
                            || r == Err(WsaError::NotSocket)
                            || r == Err(WsaError::NotInitialised),
                        "socket_kind: {r:?}"
                    );
                    let r = p.close_socket(h);
                    assert!(
                        r.is_ok()
                            || r == Err(WsaError::NotSocket)
                            || r == Err(WsaError::NotInitialised),
                        "close_socket: {r:?}"
                    );
                    if r.is_ok() {
                        let again = p.socket_kind(h);
                        assert!(
                            again == Err(WsaError::NotSocket)
                                || again == Err(WsaError::NotInitialised),
                            "closed handle answered {again:?}"
                        );
                    }
                }
                issued
            })
        })
        .collect();

    for cycle in 0..15 {
        match p.cleanup() {
            Ok(CleanupOutcome::Final(_)) => {}
            other => panic!("cycle {cycle}: {other:?}"),
        }
        assert_eq!(
            p.socket_count(),
            0,
            "cycle {cycle}: the final cleanup left a socket"
        );
        start(&p, &notes);
        for _ in 0..20 {
            std::thread::yield_now();
        }
    }
    stop.store(true, Ordering::SeqCst);
    let mut all = HashSet::new();
    let mut total = 0;
    for wkr in workers {
        let issued = wkr.join().expect("worker panicked");
        total += issued.len();
        all.extend(issued);
    }
    assert_eq!(all.len(), total, "a handle was issued twice");
    assert!(!all.contains(&0) && !all.contains(&u64::MAX));
    assert!(matches!(p.cleanup(), Ok(CleanupOutcome::Final(_))));
    assert_eq!(p.socket_count(), 0);
    start(&p, &notes);
    for raw in &all {
        assert_eq!(
            p.socket_kind(SocketHandle::from_raw(*raw)),
            Err(WsaError::NotSocket)
        );
    }
    assert!(notes.delivered().is_empty());
}

/// S13: a table of the default capacity (65,536 sockets; on a 32-bit
/// target the handle's 16 index bits allow 65,534) fills to exactly that
/// capacity, then every further socket is WSAEMFILE, with no panic; one
/// close makes room for exactly one more.
#[test]
fn s13_a_table_of_the_default_capacity_fills_exactly_then_wsaemfile() {
    let config = ProviderConfig::default();
    let want = if usize::BITS >= 64 {
        config.max_sockets
    } else {
        65_534
    };
    let (_net, p, notes) = fresh(1201, config);
    start(&p, &notes);
    let mut last = None;
    let mut made = 0;
    loop {
        match p.socket(
            AddressFamily::Inet,
            SocketKind::Datagram,
            SocketFlags::empty(),
        ) {
            Ok(h) => {
                made += 1;
                last = Some(h);
            }
            Err(e) => {
                assert_eq!(e, WsaError::TooManySockets);
                break;
            }
        }
        assert!(made <= want, "more sockets than the capacity");
    }
    assert_eq!(made, want);
    assert_eq!(p.socket_count(), want);
    assert_eq!(
        p.socket(
            AddressFamily::Inet,
            SocketKind::Stream,
            SocketFlags::empty()
        ),
        Err(WsaError::TooManySockets)
    );
    p.close_socket(last.unwrap()).unwrap();
    p.socket(
        AddressFamily::Inet,
        SocketKind::Stream,
        SocketFlags::empty(),
    )
    .unwrap();
    assert_eq!(
        p.socket(
            AddressFamily::Inet,
            SocketKind::Stream,
            SocketFlags::empty()
        ),
        Err(WsaError::TooManySockets)
    );
}

/// S6h: on a 64-bit target the 64-bit handle layout is in force: one slot
/// is reused well past the 65,535 generations a 32-bit handle could count
/// (a 32-bit layout would retire it and move to another slot), and no
/// handle is ever issued twice.
#[cfg(target_pointer_width = "64")]
#[test]
fn s6h_the_64_bit_handle_layout_outlives_65535_generations_of_a_slot() {
    let (_net, p, notes) = fresh(1202, small(1));
    start(&p, &notes);
    let mut seen = HashSet::new();
    let first = p
        .socket(
            AddressFamily::Inet,
            SocketKind::Datagram,
            SocketFlags::empty(),
        )
        .unwrap();
    p.close_socket(first).unwrap();
    seen.insert(first);
    for i in 0..70_000u32 {
        let h = p
            .socket(
                AddressFamily::Inet,
                SocketKind::Datagram,
                SocketFlags::empty(),
            )
            .unwrap();
        assert!(seen.insert(h), "handle {h} issued twice (round {i})");
        assert_eq!(
            h.to_raw() & 0xFF_FFFF,
            first.to_raw() & 0xFF_FFFF,
            "the one slot is reused"
        );
        p.close_socket(h).unwrap();
    }
    let last = *seen.iter().max_by_key(|h| h.to_raw() >> 24).unwrap();
    assert!(last.to_raw() >> 24 > 65_535, "generations past 16 bits");
}
