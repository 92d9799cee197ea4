//! The provider's lifecycle, end to end over the mock network.
//!
//! Rules covered (see `winsock_provider::manual::rules`):
//! - S1 reference count: each startup needs one cleanup; cleanup at zero is
//!   `WSANOTINITIALISED`; a failed startup changes nothing, whatever the count.
//! - S2 version negotiation: below the lowest is `WSAVERNOTSUPPORTED`;
//!   `wVersion = min(requested, highest)`, `wHighVersion = highest`; versions
//!   compare as (major, minor), never as raw WORDs; custom ranges.
//! - S3 upcalls: the newest startup's notifier gets every later completion.
//! - S4 the gate: every entry point before the first startup and after the
//!   last cleanup is `WSANOTINITIALISED` and changes nothing.
//! - S5 a non-final cleanup only decrements.
//! - S6h startup works again at once after the final cleanup; old handles stay stale.
//! - S11 process detach (exit and unload) and a crashed process.

mod common;

use common::{APP, MockProvider, World, fresh, ov};
use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use winsock_provider::mock::{MockWaiter, NetworkStats, RecordingNotifier};
use winsock_provider::{
    AddressFamily, CleanupOutcome, CompletionMode, Detach, DetachOutcome, EventKey, FdEvents,
    Linger, MsgFlags, Negotiated, OverlappedRequest, PortKey, ProviderConfig, SocketFlags,
    SocketHandle, SocketKind, ThreadKey, Transport as _, Version, VersionRange, WsaError,
};
use winsock_provider::{OpState, Overlapped};

const V22: Version = Version::new(2, 2);

fn start(p: &MockProvider, notes: &RecordingNotifier) -> Negotiated {
    p.startup(V22, Arc::new(notes.clone())).expect("startup")
}

fn event(n: u64) -> OverlappedRequest {
    ov(CompletionMode::Event(EventKey(n)))
}

fn routine(n: u64) -> OverlappedRequest {
    ov(CompletionMode::Routine {
        thread: APP,
        routine: n,
    })
}

/// Everything a recording notifier saw, as counts.
fn seen(notes: &RecordingNotifier) -> (usize, usize, usize, usize) {
    (
        notes.delivered().len(),
        notes.suppressed().len(),
        notes.network_events().len(),
        notes.released().len(),
    )
}

fn nothing_seen(notes: &RecordingNotifier) -> bool {
    seen(notes) == (0, 0, 0, 0)
}

/// An overlapped receive that must go pending; returns its record.
fn pending_recv(p: &MockProvider, s: SocketHandle, req: OverlappedRequest) -> Overlapped {
    let rec = req.overlapped.clone();
    assert_eq!(
        p.recv(s, 100, MsgFlags::empty(), Some(req)).err(),
        Some(WsaError::IoPending)
    );
    assert_eq!(rec.state(), OpState::Pending);
    rec
}

// ---------------------------------------------------------------- S1

/// S1: N startups need N cleanups; only the last one is final, and one more is WSANOTINITIALISED.
#[test]
fn s1_each_startup_needs_exactly_one_cleanup() {
    let (_net, p, notes) = fresh(1101, ProviderConfig::default());
    for n in 1..=3 {
        start(&p, &notes);
        assert_eq!(p.startup_count(), n);
        assert!(p.is_open());
    }
    let s = p
        .socket(
            AddressFamily::Inet,
            SocketKind::Stream,
            SocketFlags::OVERLAPPED,
        )
        .unwrap();
    assert_eq!(
        p.cleanup(),
        Ok(CleanupOutcome::Decremented { remaining: 2 })
    );
    assert_eq!(
        p.cleanup(),
        Ok(CleanupOutcome::Decremented { remaining: 1 })
    );
    assert!(
        p.is_open(),
        "the provider stays usable until the last cleanup"
    );
    assert_eq!(p.socket_kind(s), Ok(SocketKind::Stream));
    match p.cleanup() {
        Ok(CleanupOutcome::Final(r)) => {
            assert_eq!(r.sockets_reset, 1, "the final cleanup did the teardown")
        }
        other => panic!("third cleanup should be final, got {other:?}"),
    }
    assert_eq!(p.startup_count(), 0);
    assert!(!p.is_open());
    let e = p.cleanup().unwrap_err();
    assert_eq!(e.error, WsaError::NotInitialised);
    assert_eq!(e.report, None, "a cleanup at zero runs no teardown");
    assert_eq!(p.startup_count(), 0);
}

/// S1: cleanup with a count of zero is WSANOTINITIALISED and does not push the count below zero.
#[test]
fn s1_cleanup_at_zero_is_wsanotinitialised_and_does_not_underflow() {
    let (_net, p, notes) = fresh(1102, ProviderConfig::default());
    for _ in 0..3 {
        let e = p.cleanup().unwrap_err();
        assert_eq!(e.error, WsaError::NotInitialised);
        assert_eq!(e.report, None);
        assert_eq!(p.startup_count(), 0);
        assert!(!p.is_open());
    }
    // Had the failed cleanups counted, one startup would not be undone by one cleanup.
    start(&p, &notes);
    assert_eq!(p.startup_count(), 1);
    assert!(matches!(p.cleanup(), Ok(CleanupOutcome::Final(_))));
    assert_eq!(p.cleanup().unwrap_err().error, WsaError::NotInitialised);
    assert!(nothing_seen(&notes));
}

/// S1: a failed startup at count zero leaves the provider closed and uncounted.
#[test]
fn s1_failed_startup_at_zero_changes_nothing() {
    let (_net, p, _notes) = fresh(1103, ProviderConfig::default());
    let other = RecordingNotifier::new();
    assert_eq!(
        p.startup(Version::new(1, 1), Arc::new(other.clone())),
        Err(WsaError::VersionNotSupported)
    );
    assert_eq!(p.startup_count(), 0);
    assert!(!p.is_open());
    assert_eq!(
        p.socket(
            AddressFamily::Inet,
            SocketKind::Stream,
            SocketFlags::empty()
        ),
        Err(WsaError::NotInitialised)
    );
    assert_eq!(p.cleanup().unwrap_err().error, WsaError::NotInitialised);
    assert_eq!(p.socket_count(), 0);
}

/// S1, S3: a failed startup at count 2 keeps the count, the sockets, the pending operations and the notifier.
#[test]
fn s1_failed_startup_above_zero_changes_nothing() {
    let w = World::new(1104);
    start(&w.a.p, &w.a.notes); // count 2
    let (s, t) = w.pair();
    let rec = pending_recv(&w.a.p, s, event(1));
    let sockets = w.a.p.socket_count();
    let intruder = RecordingNotifier::new();
    for v in [Version::new(1, 1), Version::new(0, 0), Version::new(1, 255)] {
        assert_eq!(
            w.a.p.startup(v, Arc::new(intruder.clone())),
            Err(WsaError::VersionNotSupported)
        );
        assert_eq!(w.a.p.startup_count(), 2);
    }
    assert!(w.a.p.is_open());
    assert_eq!(w.a.p.socket_count(), sockets);
    assert_eq!(rec.state(), OpState::Pending);
    // The operation completes through the notifier of the last *successful* startup.
    w.b.p.send(t, b"hi", MsgFlags::empty(), None).unwrap();
    w.settle();
    assert_eq!(rec.data(), b"hi");
    assert_eq!(w.a.notes.delivered_for(rec.op().unwrap()), 1);
    assert!(
        nothing_seen(&intruder),
        "the failed startup's notifier must never be used"
    );
    // Two successful startups: two cleanups.
    assert_eq!(
        w.a.p.cleanup(),
        Ok(CleanupOutcome::Decremented { remaining: 1 })
    );
    assert!(matches!(w.a.p.cleanup(), Ok(CleanupOutcome::Final(_))));
}

// ---------------------------------------------------------------- S2

/// S2: a requested version below 2.0 is WSAVERNOTSUPPORTED.
#[test]
fn s2_below_lowest_is_wsavernotsupported() {
    let (_net, p, notes) = fresh(1201, ProviderConfig::default());
    for v in [
        Version::new(0, 0),
        Version::new(1, 0),
        Version::new(1, 1),
        Version::new(1, 255),
        Version::new(0, 9),
    ] {
        assert_eq!(
            p.startup(v, Arc::new(notes.clone())),
            Err(WsaError::VersionNotSupported),
            "{v}"
        );
        assert_eq!(p.startup_count(), 0);
    }
}

/// S2: wVersion = min(requested, highest) and wHighVersion = highest (default range 2.0 to 2.2).
#[test]
fn s2_wversion_is_min_of_requested_and_highest() {
    let (_net, p, notes) = fresh(1202, ProviderConfig::default());
    let cases = [
        ((2, 0), (2, 0)),
        ((2, 1), (2, 1)),
        ((2, 2), (2, 2)),
        ((2, 3), (2, 2)),
        ((2, 255), (2, 2)),
        ((3, 0), (2, 2)),
        ((255, 255), (2, 2)),
    ];
    for (i, ((rm, rn), (vm, vn))) in cases.into_iter().enumerate() {
        let n = p
            .startup(Version::new(rm, rn), Arc::new(notes.clone()))
            .unwrap();
        assert_eq!(n.version, Version::new(vm, vn), "requested {rm}.{rn}");
        assert_eq!(n.high_version, Version::new(2, 2), "requested {rm}.{rn}");
        assert_eq!(p.startup_count() as usize, i + 1);
    }
    assert_eq!(
        p.startup(Version::new(2, 2), Arc::new(notes.clone()))
            .unwrap()
            .version
            .to_word(),
        0x0202,
        "MAKEWORD(2, 2)"
    );
}

/// S2: versions compare as (major, minor): 2.0 (0x0002) > 1.1 (0x0101) although the raw WORD is smaller.
#[test]
fn s2_versions_compare_as_major_minor_not_raw_words() {
    let v20 = Version::from_word(0x0002);
    let v11 = Version::from_word(0x0101);
    assert_eq!(v20, Version::new(2, 0));
    assert_eq!(v11, Version::new(1, 1));
    assert!(v20 > v11, "2.0 is newer than 1.1");
    assert!(
        v20.to_word() < v11.to_word(),
        "although its raw WORD is smaller"
    );
    for word in [0x0000u16, 0x0101, 0x0202, 0x0103, 0xFFFF] {
        assert_eq!(Version::from_word(word).to_word(), word);
    }

    let (_net, p, notes) = fresh(1203, ProviderConfig::default());
    let n = p
        .startup(v20, Arc::new(notes.clone()))
        .expect("2.0 is supported");
    assert_eq!(n.version.to_word(), 0x0002);
    assert_eq!(n.high_version.to_word(), 0x0202);
    assert_eq!(
        p.startup(v11, Arc::new(notes.clone())),
        Err(WsaError::VersionNotSupported)
    );
    // 1.2 = 0x0201 is above the lowest 2.0 = 0x0002 as a raw WORD, and still too old.
    assert_eq!(
        p.startup(Version::from_word(0x0201), Arc::new(notes.clone())),
        Err(WsaError::VersionNotSupported)
    );
    // 3.1 = 0x0103 is below 2.2 = 0x0202 as a raw WORD, and still newer: the caller gets 2.2.
    let n = p
        .startup(Version::from_word(0x0103), Arc::new(notes.clone()))
        .unwrap();
    assert_eq!(n.version, Version::new(2, 2));
    assert_eq!(p.startup_count(), 2);
}

/// S2: a custom VersionRange in ProviderConfig bounds the negotiation.
#[test]
fn s2_custom_version_range() {
    let config = |lo: (u8, u8), hi: (u8, u8)| ProviderConfig {
        versions: VersionRange {
            lowest: Version::new(lo.0, lo.1),
            highest: Version::new(hi.0, hi.1),
        },
        ..ProviderConfig::default()
    };
    let (_net, p, notes) = fresh(1204, config((1, 1), (2, 0)));
    let go = |v: Version| {
        p.startup(v, Arc::new(notes.clone()))
            .map(|n| (n.version, n.high_version))
    };
    assert_eq!(go(Version::new(1, 0)), Err(WsaError::VersionNotSupported));
    assert_eq!(
        go(Version::new(1, 1)),
        Ok((Version::new(1, 1), Version::new(2, 0)))
    );
    assert_eq!(
        go(Version::new(1, 2)),
        Ok((Version::new(1, 2), Version::new(2, 0)))
    );
    assert_eq!(
        go(Version::new(2, 2)),
        Ok((Version::new(2, 0), Version::new(2, 0)))
    );
    assert_eq!(p.startup_count(), 3);

    let (_net, p, notes) = fresh(1205, config((2, 2), (2, 2)));
    let go = |v: Version| {
        p.startup(v, Arc::new(notes.clone()))
            .map(|n| (n.version, n.high_version))
    };
    assert_eq!(go(Version::new(2, 1)), Err(WsaError::VersionNotSupported));
    assert_eq!(go(Version::new(2, 0)), Err(WsaError::VersionNotSupported));
    assert_eq!(
        go(Version::new(2, 2)),
        Ok((Version::new(2, 2), Version::new(2, 2)))
    );
    assert_eq!(
        go(Version::new(3, 0)),
        Ok((Version::new(2, 2), Version::new(2, 2)))
    );
    assert_eq!(p.startup_count(), 2);
}

// ---------------------------------------------------------------- S3

/// S3: after a second startup, completions (even of operations issued before it) go to the new notifier only.
#[test]
fn s3_newest_notifier_receives_later_completions() {
    let w = World::new(1301);
    let (s, t) = w.pair();
    let before = pending_recv(&w.a.p, s, event(1));
    let second = RecordingNotifier::new();
    w.a.p.startup(V22, Arc::new(second.clone())).unwrap();

    w.b.p.send(t, b"one", MsgFlags::empty(), None).unwrap();
    w.settle();
    let op = before.op().unwrap();
    assert_eq!(
        second.delivered_for(op),
        1,
        "the pending op completes through the newest notifier"
    );
    assert_eq!(
        w.a.notes.delivered_for(op),
        0,
        "the old one gets nothing more"
    );

    // An overlapped send that finishes at once is still notified (S9), to the newest.
    let req = routine(0x77);
    let sent = req.overlapped.clone();
    assert_eq!(w.a.p.send(s, b"two", MsgFlags::empty(), Some(req)), Ok(3));
    assert_eq!(second.take_routines(APP).len(), 1);
    assert_eq!(second.delivered_for(sent.op().unwrap()), 1);

    // A third startup: a close's aborts and the handle release go to the third.
    let third = RecordingNotifier::new();
    w.a.p.startup(V22, Arc::new(third.clone())).unwrap();
    let aborted = pending_recv(&w.a.p, s, event(2));
    w.a.p.close_socket(s).unwrap();
    assert_eq!(third.delivered_for(aborted.op().unwrap()), 1);
    assert_eq!(
        third.delivered()[0].outcome().error,
        Some(WsaError::OperationAborted)
    );
    assert_eq!(third.released(), vec![s]);
    assert_eq!(
        second.delivered().len(),
        2,
        "the second notifier saw nothing after the third startup"
    );
    assert!(second.released().is_empty());
    assert!(nothing_seen(&w.a.notes));
}

/// S3: a non-final cleanup does not bring back an older notifier.
#[test]
fn s3_non_final_cleanup_keeps_the_newest_notifier() {
    let w = World::new(1302);
    let (s, t) = w.pair();
    let second = RecordingNotifier::new();
    w.a.p.startup(V22, Arc::new(second.clone())).unwrap();
    assert_eq!(
        w.a.p.cleanup(),
        Ok(CleanupOutcome::Decremented { remaining: 1 })
    );
    let rec = pending_recv(&w.a.p, s, event(3));
    w.b.p.send(t, b"x", MsgFlags::empty(), None).unwrap();
    w.settle();
    assert_eq!(second.delivered_for(rec.op().unwrap()), 1);
    assert!(nothing_seen(&w.a.notes));
}

// ---------------------------------------------------------------- S4

fn assert_all_not_initialised(results: Vec<(&'static str, Result<(), WsaError>)>) {
    let wrong: Vec<_> = results
        .iter()
        .filter(|(_, r)| *r != Err(WsaError::NotInitialised))
        .collect();
    assert!(
        wrong.is_empty(),
        "entry points that did not answer WSANOTINITIALISED: {wrong:?}"
    );
}

/// S4: before any startup every entry point is WSANOTINITIALISED and nothing changes.
#[test]
fn s4_every_entry_point_before_any_startup_is_wsanotinitialised() {
    let (net, p, notes) = fresh(1401, ProviderConfig::default());
    let stats: NetworkStats = net.stats();
    let rec = Overlapped::new();
    // Handles that the provider will issue once started, and some that it never will.
    for raw in [1u64 << 24 | 1, 1 << 24 | 2, 0, u64::MAX] {
        let h = SocketHandle::from_raw(raw);
        assert_all_not_initialised(common::every_entry_point(&p, h, h, &rec));
    }
    assert_eq!(p.startup_count(), 0);
    assert_eq!(p.socket_count(), 0);
    assert!(!p.is_open());
    assert_eq!(rec.state(), OpState::Idle);
    assert_eq!(rec.op(), None);
    assert_eq!(net.stats(), stats);
    assert!(net.is_idle(), "nothing was sent or scheduled");
    assert_eq!(net.now(), Duration::ZERO, "nothing waited");
    // The gate opens normally afterwards, and the first socket is a fresh one.
    start(&p, &notes);
    let s = p
        .socket(
            AddressFamily::Inet,
            SocketKind::Stream,
            SocketFlags::OVERLAPPED,
        )
        .unwrap();
    assert_eq!(p.socket_count(), 1);
    assert_eq!(p.socket_kind(s), Ok(SocketKind::Stream));
    assert!(nothing_seen(&notes));
}

/// S4: after the last cleanup every entry point, with every old handle, is WSANOTINITIALISED and nothing changes.
#[test]
fn s4_every_entry_point_after_the_last_cleanup_is_wsanotinitialised() {
    let w = World::new(1402);
    let (s, t) = w.pair();
    let l = w.a.stream();
    w.a.p.bind(l, SocketAddr::from((w.a.ip, 0))).unwrap();
    w.a.p.listen(l, 2).unwrap();
    let d =
        w.a.p
            .socket(
                AddressFamily::Inet,
                SocketKind::Datagram,
                SocketFlags::OVERLAPPED,
            )
            .unwrap();
    let rec = pending_recv(&w.a.p, s, event(1));
    assert!(matches!(w.a.p.cleanup(), Ok(CleanupOutcome::Final(_))));
    w.settle();
    assert_eq!(rec.state(), OpState::AbortedSilent);

    let stats = w.net.stats();
    let now = w.net.now();
    let notes_before = seen(&w.a.notes);
    let peer_notes = seen(&w.b.notes);
    for h in [s, l, d] {
        assert_all_not_initialised(common::every_entry_point(&w.a.p, h, l, &rec));
    }
    assert_all_not_initialised(common::every_entry_point(
        &w.a.p,
        SocketHandle::from_raw(0xdead),
        l,
        &Overlapped::new(),
    ));
    w.settle();
    assert_eq!(w.a.p.startup_count(), 0);
    assert_eq!(w.a.p.socket_count(), 0);
    assert!(!w.a.p.is_open());
    assert_eq!(
        rec.state(),
        OpState::AbortedSilent,
        "the record keeps the status the cleanup wrote"
    );
    assert_eq!(
        rec.outcome().unwrap().error,
        Some(WsaError::OperationAborted)
    );
    assert_eq!(
        seen(&w.a.notes),
        notes_before,
        "no notification, no handle release"
    );
    assert_eq!(seen(&w.b.notes), peer_notes);
    assert_eq!(w.net.stats(), stats, "nothing reached the network");
    assert_eq!(w.net.now(), now, "nothing waited");
    // The peer still sees only the cleanup's reset.
    w.b.p.set_nonblocking(t, true).unwrap();
    assert_eq!(
        w.b.p.recv(t, 10, MsgFlags::empty(), None).err(),
        Some(WsaError::ConnectionReset)
    );
}

/// S4: the gate answers before argument checks: bad flags before startup and after the last cleanup are still WSANOTINITIALISED.
#[test]
fn s4_gate_answers_before_flag_checks() {
    let (_net, p, notes) = fresh(1403, ProviderConfig::default());
    let to = SocketAddr::from((Ipv4Addr::new(10, 0, 0, 2), 80));
    let check = |p: &MockProvider, h: SocketHandle| {
        let results = vec![
            (
                "send(MSG_PEEK)",
                p.send(h, b"x", MsgFlags::PEEK, None).map(drop),
            ),
            (
                "send_to(MSG_PARTIAL)",
                p.send_to(h, b"x", to, MsgFlags::PARTIAL, None).map(drop),
            ),
            (
                "recv(MSG_DONTROUTE)",
                p.recv(h, 10, MsgFlags::DONTROUTE, None).map(drop),
            ),
            (
                "recv(MSG_PEEK, overlapped)",
                p.recv(h, 10, MsgFlags::PEEK, Some(event(1))).map(drop),
            ),
            (
                "recv_from(MSG_PEEK, overlapped)",
                p.recv_from(h, 10, MsgFlags::PEEK, Some(event(1))).map(drop),
            ),
        ];
        assert_all_not_initialised(results);
    };
    // Before any startup (with a handle value like the first one a provider issues).
    check(&p, SocketHandle::from_raw(1 << 24 | 1));
    start(&p, &notes);
    let s = p
        .socket(
            AddressFamily::Inet,
            SocketKind::Stream,
            SocketFlags::OVERLAPPED,
        )
        .unwrap();
    p.cleanup().unwrap();
    // After the last cleanup, with the handle that was open until then.
    check(&p, s);
}

// ---------------------------------------------------------------- S5

/// S5: a non-final cleanup leaves sockets open and overlapped operations pending, and notifies nobody.
#[test]
fn s5_non_final_cleanup_leaves_sockets_and_pending_operations_alone() {
    let w = World::new(1501);
    start(&w.a.p, &w.a.notes); // count 2
    let (s, t) = w.pair();
    let l = w.a.stream();
    w.a.p.bind(l, SocketAddr::from((w.a.ip, 0))).unwrap();
    w.a.p.listen(l, 2).unwrap();
    w.a.p
        .event_select(l, EventKey(40), FdEvents::ACCEPT)
        .unwrap();
    let by_event = pending_recv(&w.a.p, s, event(1));
    let by_routine = pending_recv(&w.a.p, s, routine(0x10));
    let by_port = pending_recv(
        &w.a.p,
        s,
        ov(CompletionMode::Port {
            port: PortKey(3),
            key: 33,
        }),
    );
    let sockets = w.a.p.socket_count();
    let stats = w.net.stats();

    assert_eq!(
        w.a.p.cleanup(),
        Ok(CleanupOutcome::Decremented { remaining: 1 })
    );
    assert_eq!(w.a.p.startup_count(), 1);
    assert!(w.a.p.is_open());
    assert_eq!(w.a.p.socket_count(), sockets);
    for r in [&by_event, &by_routine, &by_port] {
        assert_eq!(r.state(), OpState::Pending);
    }
    w.settle();
    assert!(
        nothing_seen(&w.a.notes),
        "no notification, no release, no FD_CLOSE"
    );
    assert!(w.a.notes.take_routines(APP).is_empty());
    assert!(w.a.notes.take_port(PortKey(3)).is_empty());
    assert_eq!(w.net.stats(), stats, "no reset went out");
    w.b.p.set_nonblocking(t, true).unwrap();
    assert_eq!(
        w.b.p.recv(t, 10, MsgFlags::empty(), None).err(),
        Some(WsaError::WouldBlock)
    );

    // Everything still works: the three receives complete in posting order, once each.
    w.b.p.send(t, b"abc", MsgFlags::empty(), None).unwrap();
    w.settle();
    w.b.p.send(t, b"de", MsgFlags::empty(), None).unwrap();
    w.settle();
    w.b.p.send(t, b"f", MsgFlags::empty(), None).unwrap();
    w.settle();
    assert_eq!(
        (by_event.data(), by_routine.data(), by_port.data()),
        (b"abc".to_vec(), b"de".to_vec(), b"f".to_vec())
    );
    for r in [&by_event, &by_routine, &by_port] {
        assert_eq!(w.a.notes.delivered_for(r.op().unwrap()), 1);
    }
    assert_eq!(w.a.notes.take_routines(APP).len(), 1);
    assert_eq!(w.a.notes.take_port(PortKey(3)).len(), 1);
    // The event-select registration survived too.
    let c = w.b.stream();
    w.b.p.connect(c, w.a.p.local_addr(l).unwrap()).unwrap();
    w.settle();
    assert!(
        w.a.notes
            .network_events()
            .iter()
            .any(|e| e.socket == l && e.events.contains(FdEvents::ACCEPT))
    );
}

/// S5: a non-final cleanup leaves a call blocked in another thread alone; it finishes normally.
#[test]
fn s5_non_final_cleanup_leaves_a_blocked_call_alone() {
    let w = World::new(1502);
    start(&w.a.p, &w.a.notes); // count 2
    let (s, svc) = w.to_discard(7, Some(0));
    let p = w.a.p.clone();
    let blocked = std::thread::spawn(move || {
        MockWaiter::set_current_thread(ThreadKey(2));
        p.send(s, &[0xA5; 40_000], MsgFlags::empty(), None)
    });
    // The blocking send is inside the provider once the transport holds some of its bytes.
    while w.a.p.transport().unsent(s) == 0 {
        assert!(
            !blocked.is_finished(),
            "the send cannot finish: the peer does not read"
        );
        std::thread::yield_now();
    }
    assert_eq!(
        w.a.p.cleanup(),
        Ok(CleanupOutcome::Decremented { remaining: 1 })
    );
    assert!(!blocked.is_finished());
    w.net.set_read_rate(svc, None);
    assert_eq!(
        blocked.join().unwrap(),
        Ok(40_000),
        "the blocked send completed, not WSAEINTR"
    );
    w.settle();
    assert_eq!(w.net.service_received(svc), 40_000);
    assert!(nothing_seen(&w.a.notes));
}

/// S5: a non-final cleanup never fails, even with the network down, and still touches nothing.
#[test]
fn s5_non_final_cleanup_succeeds_with_the_network_down() {
    let w = World::new(1503);
    start(&w.a.p, &w.a.notes); // count 2
    let (s, t) = w.pair();
    let rec = pending_recv(&w.a.p, s, event(1));
    w.net.set_down(true);
    assert_eq!(
        w.a.p.cleanup(),
        Ok(CleanupOutcome::Decremented { remaining: 1 })
    );
    assert_eq!(rec.state(), OpState::Pending);
    w.settle();
    assert!(nothing_seen(&w.a.notes));
    w.net.set_down(false);
    w.b.p.send(t, b"up", MsgFlags::empty(), None).unwrap();
    w.settle();
    assert_eq!(rec.data(), b"up");
    assert_eq!(w.a.notes.delivered_for(rec.op().unwrap()), 1);
}

// ---------------------------------------------------------------- S6h

/// S6h: startup works at once after the final cleanup; old handles are stale and never reissued.
#[test]
fn s6h_restart_at_once_after_the_final_cleanup() {
    let w = World::new(1601);
    let (s, _t) = w.pair();
    let d =
        w.a.p
            .socket(
                AddressFamily::Inet,
                SocketKind::Datagram,
                SocketFlags::OVERLAPPED,
            )
            .unwrap();
    let closed = w.a.stream();
    w.a.p.close_socket(closed).unwrap();
    let rec = pending_recv(&w.a.p, s, event(1));
    let old: HashSet<SocketHandle> = [s, d, closed].into();
    assert!(matches!(w.a.p.cleanup(), Ok(CleanupOutcome::Final(_))));

    let fresh_notes = RecordingNotifier::new();
    let n =
        w.a.p
            .startup(V22, Arc::new(fresh_notes.clone()))
            .expect("startup at once");
    assert_eq!(n.version, V22);
    assert_eq!(w.a.p.startup_count(), 1);
    assert!(w.a.p.is_open());
    assert_eq!(w.a.p.socket_count(), 0);
    for &h in &old {
        assert_eq!(w.a.p.socket_kind(h), Err(WsaError::NotSocket), "{h}");
        assert_eq!(w.a.p.close_socket(h), Err(WsaError::NotSocket), "{h}");
    }
    assert_eq!(
        w.a.p.get_overlapped_result(s, &rec, false).err(),
        Some(WsaError::NotSocket)
    );
    // New sockets work, with new handles, and report to the new notifier.
    let (s2, t2) = w.pair();
    let d2 =
        w.a.p
            .socket(
                AddressFamily::Inet,
                SocketKind::Datagram,
                SocketFlags::OVERLAPPED,
            )
            .unwrap();
    assert!(!old.contains(&s2) && !old.contains(&d2));
    for &h in &old {
        assert_eq!(
            w.a.p.socket_kind(h),
            Err(WsaError::NotSocket),
            "{h} aliases a new socket"
        );
    }
    let rec2 = pending_recv(&w.a.p, s2, event(2));
    w.b.p.send(t2, b"again", MsgFlags::empty(), None).unwrap();
    w.settle();
    assert_eq!(rec2.data(), b"again");
    assert_eq!(fresh_notes.delivered_for(rec2.op().unwrap()), 1);
    assert_eq!(
        rec.state(),
        OpState::AbortedSilent,
        "the old record is not touched by the restart"
    );
    assert_eq!(w.a.notes.delivered().len(), 0);
}

// ---------------------------------------------------------------- S11

/// S11: process detach at process exit does nothing at all: no frees, no aborts, no notifications.
#[test]
fn s11_process_exit_does_nothing_at_all() {
    let w = World::new(1701);
    let (s, t) = w.pair();
    let (slow, _svc) = w.to_discard(9, Some(0));
    w.fill(slow);
    let unsent = w.a.p.transport().unsent(slow);
    assert!(unsent > 0);
    let rec = pending_recv(&w.a.p, s, event(1));
    let stats = w.net.stats();
    let now = w.net.now();
    let sockets = w.a.p.socket_count();

    assert_eq!(
        w.a.p.process_detach(Detach::ProcessExit),
        DetachOutcome::NothingDone
    );

    assert_eq!(w.net.now(), now, "no wait");
    assert!(w.a.p.is_open(), "not even the gate is touched");
    assert_eq!(w.a.p.startup_count(), 1);
    assert_eq!(w.a.p.socket_count(), sockets);
    assert_eq!(rec.state(), OpState::Pending);
    assert_eq!(w.a.p.transport().unsent(slow), unsent);
    assert!(nothing_seen(&w.a.notes));
    assert_eq!(w.net.stats(), stats, "no reset, nothing discarded");
    w.b.p.set_nonblocking(t, true).unwrap();
    assert_eq!(
        w.b.p.recv(t, 10, MsgFlags::empty(), None).err(),
        Some(WsaError::WouldBlock),
        "the peer sees no reset"
    );
    // The state is exactly as it was: the pending receive still completes.
    w.b.p.send(t, b"z", MsgFlags::empty(), None).unwrap();
    w.settle();
    assert_eq!(rec.data(), b"z");
}

/// S11: process exit on a provider that was never started, or is fully cleaned up, does nothing either.
#[test]
fn s11_process_exit_without_startup_does_nothing() {
    let (_net, p, notes) = fresh(1702, ProviderConfig::default());
    assert_eq!(
        p.process_detach(Detach::ProcessExit),
        DetachOutcome::NothingDone
    );
    assert_eq!(p.process_detach(Detach::Unload), DetachOutcome::NothingDone);
    start(&p, &notes);
    p.cleanup().unwrap();
    assert_eq!(p.process_detach(Detach::Unload), DetachOutcome::NothingDone);
    assert_eq!(
        p.process_detach(Detach::ProcessExit),
        DetachOutcome::NothingDone
    );
    // Still a normal provider.
    start(&p, &notes);
    assert!(
        p.socket(
            AddressFamily::Inet,
            SocketKind::Stream,
            SocketFlags::empty()
        )
        .is_ok()
    );
}

/// S11: unload with the count above zero never waits, closes the gate, frees the table, and tells nobody.
#[test]
fn s11_unload_with_count_above_zero_frees_without_waiting_or_telling() {
    let w = World::new(1703);
    start(&w.a.p, &w.a.notes); // count 2
    let (s, t) = w.pair();
    // A socket that would linger (blocking, SO_LINGER 10 s, unsent data to a stalled peer).
    let (slow, _svc) = w.to_discard(11, Some(0));
    w.fill(slow);
    w.a.p.set_nonblocking(slow, false).unwrap();
    w.a.p
        .set_linger(
            slow,
            Linger {
                on: true,
                seconds: 10,
            },
        )
        .unwrap();
    let rec = pending_recv(&w.a.p, s, routine(0x20));
    let now = w.net.now();

    assert_eq!(w.a.p.process_detach(Detach::Unload), DetachOutcome::Freed);

    assert_eq!(w.net.now(), now, "unload never waits");
    assert!(!w.a.p.is_open(), "the gate is closed");
    assert_eq!(
        w.a.p.socket_count(),
        0,
        "no call was inside: the table is freed"
    );
    assert!(
        nothing_seen(&w.a.notes),
        "no notification, no handle release upcall"
    );
    assert_eq!(w.a.p.socket_kind(s), Err(WsaError::NotInitialised));
    assert_eq!(w.a.p.close_socket(slow), Err(WsaError::NotInitialised));
    assert_eq!(
        w.a.p.socket(
            AddressFamily::Inet,
            SocketKind::Stream,
            SocketFlags::empty()
        ),
        Err(WsaError::NotInitialised)
    );
    // A completion arriving from the transport afterwards reaches nobody either.
    w.b.p.send(t, b"late", MsgFlags::empty(), None).unwrap();
    w.settle();
    assert!(nothing_seen(&w.a.notes));
    assert!(w.a.notes.take_routines(APP).is_empty());
    assert_ne!(rec.state(), OpState::Delivered);
}

/// S11: a crashed process never gets a notification for its pending operations, and its peers see a reset.
#[test]
fn s11_crashed_process_gets_no_notification_and_its_peer_sees_a_reset() {
    let w = World::new(1704);
    let (s, t) = w.pair();
    let (slow, svc) = w.to_discard(12, Some(0));
    w.a.p.set_nonblocking(slow, false).unwrap();
    let send_req = event(5);
    let send_rec = send_req.overlapped.clone();
    assert_eq!(
        w.a.p
            .send(slow, &[1; 50_000], MsgFlags::empty(), Some(send_req))
            .err(),
        Some(WsaError::IoPending)
    );
    let recs = [
        pending_recv(&w.a.p, s, event(1)),
        pending_recv(&w.a.p, s, routine(0x30)),
        pending_recv(
            &w.a.p,
            s,
            ov(CompletionMode::Port {
                port: PortKey(4),
                key: 1,
            }),
        ),
        send_rec,
    ];

    w.a.p.crash();
    w.net.crash(w.a.p.transport());
    assert!(!w.a.p.is_open());
    // What would have completed them: data for the receives, a reader for the send.
    let _ = w.b.p.send(t, b"data", MsgFlags::empty(), None);
    w.net.set_read_rate(svc, None);
    w.settle();
    w.net.advance(Duration::from_secs(10));
    w.b.p.set_nonblocking(t, true).unwrap();

    assert!(
        w.a.notes.delivered().is_empty(),
        "no completion delivered: {:?}",
        w.a.notes.delivered()
    );
    assert!(w.a.notes.take_routines(APP).is_empty());
    assert!(w.a.notes.take_port(PortKey(4)).is_empty());
    for r in &recs {
        assert!(!matches!(
            r.state(),
            OpState::Delivered | OpState::Completing | OpState::AbortedNotified
        ));
    }
    assert_eq!(
        w.b.p.recv(t, 10, MsgFlags::empty(), None).err(),
        Some(WsaError::ConnectionReset)
    );
    assert_eq!(
        w.net.service_resets(svc),
        1,
        "the stalled peer sees a reset too"
    );
    assert_eq!(w.a.p.socket_kind(s), Err(WsaError::NotInitialised));
}

/// S11: after crash(), a completion the transport still reports is not delivered.
#[test]
fn s11_crash_suppresses_completions_the_transport_still_reports() {
    let w = World::new(1705);
    let (s, t) = w.pair();
    let rec = pending_recv(&w.a.p, s, event(1));
    w.a.p.crash();
    // The transport is still alive and finishes the receive.
    w.b.p.send(t, b"after", MsgFlags::empty(), None).unwrap();
    w.settle();
    assert!(w.a.notes.delivered().is_empty());
    assert_ne!(rec.state(), OpState::Delivered);
    // Then the simulator resets the process's connections.
    w.net.crash(w.a.p.transport());
    w.settle();
    w.b.p.set_nonblocking(t, true).unwrap();
    assert_eq!(
        w.b.p.recv(t, 10, MsgFlags::empty(), None).err(),
        Some(WsaError::ConnectionReset)
    );
    assert!(w.a.notes.delivered().is_empty());
}
