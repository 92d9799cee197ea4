//! The overlapped protocol and blocking calls, end to end over the mock network.
//!
//! Rules covered:
//! - S9: an overlapped call that completes at once returns `Ok` and is still
//!   notified; `WSA_IO_PENDING` means exactly one completion follows; any other
//!   error means no notification, ever, and the record goes back to `Idle`.
//! - S10: every accepted operation reaches exactly one terminal status and one
//!   notification, also when its completion races a close; data moves in
//!   posting order.
//! - S7 (blocking side): a blocking call is ended with `WSAEINTR` by a close of
//!   its socket in another thread.
//! - S13: calls with nothing to act on (`cancel_blocking_call`, a second
//!   operation on a record in use) fail with `WSAEINVAL` and change nothing.
//! - S14: calls from several OS threads (blocked callers, cancellers, waiters).
//!
//! Every completion mode is exercised: `Event`, `Routine` (queued to the
//! initiating thread only), `Port` and `Polling` (`get_overlapped_result`).

mod common;

use common::{APP, World, finish, in_thread, ov};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;
use winsock_provider::mock::{MockWaiter, PortPacket, QueuedRoutine, Record, RecordingNotifier};
use winsock_provider::{
    AddressFamily, CompletionMode, EventKey, MsgFlags, Notification, OpState, Outcome, Overlapped,
    OverlappedRequest, PortKey, ProviderConfig, SocketFlags, SocketHandle, SocketKind, ThreadKey,
    WsaError,
};

const NONE: MsgFlags = MsgFlags::empty();

/// A request and a second handle on its record, to read the status later.
fn req(mode: CompletionMode) -> (OverlappedRequest, Overlapped) {
    let r = ov(mode);
    let rec = r.overlapped.clone();
    (r, rec)
}

/// A request carrying the caller's token `user`.
fn req_user(mode: CompletionMode, user: u64) -> (OverlappedRequest, Overlapped) {
    let (mut r, rec) = req(mode);
    r.user = user;
    (r, rec)
}

fn routine(thread: ThreadKey, routine: u64) -> CompletionMode {
    CompletionMode::Routine { thread, routine }
}

fn port(port: u64, key: u64) -> CompletionMode {
    CompletionMode::Port {
        port: PortKey(port),
        key,
    }
}

/// Distinct bytes, so that any reordering or loss shows.
fn pattern(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ salt.wrapping_mul(37))
        .collect()
}

/// Every delivered notification for an operation of socket `s`.
fn told_on(notes: &RecordingNotifier, s: SocketHandle) -> Vec<Notification> {
    notes
        .delivered_notifications()
        .into_iter()
        .filter(|n| n.op.socket == s)
        .collect()
}

/// The one notification delivered for the operation of `rec`.
fn the_notification(notes: &RecordingNotifier, rec: &Overlapped) -> Notification {
    let op = rec.op().expect("an accepted operation has an id");
    let mut found: Vec<Notification> = notes
        .delivered_notifications()
        .into_iter()
        .filter(|n| n.op == op)
        .collect();
    assert_eq!(found.len(), 1, "S10: exactly one notification for {op}");
    found.remove(0)
}

/// Whether an [`in_thread`] call is still running after a short real-time
/// grace period (used only to show that a call blocks).
fn still_blocked<T>(rx: &Receiver<T>) -> bool {
    matches!(
        rx.recv_timeout(Duration::from_millis(50)),
        Err(RecvTimeoutError::Timeout)
    )
}

// ---------------------------------------------------------------- S9 ----

/// S9: an overlapped send that completes at once returns Ok, and its completion routine is already queued when the call returns.
#[test]
fn s9_send_completing_at_once_returns_ok_and_its_routine_is_already_queued() {
    let w = World::new(901);
    let (a, _b) = w.pair();
    let (r, rec) = req_user(routine(APP, 0x1234), 42);
    assert_eq!(w.a.p.send(a, &pattern(100, 1), NONE, Some(r)), Ok(100));
    // No step of the network in between: the routine was queued by the call.
    let q = w.a.notes.take_routines(APP);
    let op = rec.op().expect("accepted");
    assert_eq!(
        q,
        vec![QueuedRoutine {
            routine: 0x1234,
            op,
            outcome: Outcome {
                error: None,
                bytes: 100,
                flags: MsgFlags::empty()
            },
            user: 42,
        }]
    );
    assert_eq!(rec.state(), OpState::Delivered);
    assert_eq!(
        w.a.p.get_overlapped_result(a, &rec, false).map(|o| o.bytes),
        Ok(100)
    );
    w.settle();
    assert_eq!(w.a.notes.delivered_for(op), 1, "S10: once, not again later");
    assert!(w.a.notes.take_routines(APP).is_empty());
}

/// S9: an overlapped receive that finds data returns it at once, writes it to the record, and still sets the event.
#[test]
fn s9_recv_completing_at_once_returns_the_data_and_still_sets_the_event() {
    let w = World::new(902);
    let (a, b) = w.pair();
    w.b.p.send(b, b"hello", NONE, None).unwrap();
    w.settle();
    let (r, rec) = req(CompletionMode::Event(EventKey(5)));
    let got = w.a.p.recv(a, 100, NONE, Some(r)).expect("data is buffered");
    assert_eq!(got.data, b"hello");
    assert_eq!(rec.data(), b"hello", "the record holds the bytes too");
    let op = rec.op().unwrap();
    assert_eq!(
        w.a.notes.delivered(),
        vec![Record::EventSet {
            event: EventKey(5),
            op,
            outcome: Outcome {
                error: None,
                bytes: 5,
                flags: MsgFlags::empty()
            },
        }]
    );
    assert_eq!(rec.state(), OpState::Delivered);
}

/// S9: WSA_IO_PENDING is followed by exactly one completion, and nothing is told before it.
#[test]
fn s9_io_pending_is_followed_by_exactly_one_completion() {
    let w = World::new(903);
    let (a, b) = w.pair();
    let (r, rec) = req_user(port(3, 77), 9);
    assert_eq!(
        w.a.p.recv(a, 100, NONE, Some(r)).map(|x| x.data),
        Err(WsaError::IoPending)
    );
    assert_eq!(rec.state(), OpState::Pending);
    assert_eq!(rec.outcome(), None);
    w.settle();
    assert!(w.a.notes.take_port(PortKey(3)).is_empty(), "nothing yet");
    w.b.p.send(b, b"late data", NONE, None).unwrap();
    w.settle();
    let op = rec.op().unwrap();
    assert_eq!(
        w.a.notes.take_port(PortKey(3)),
        vec![PortPacket {
            key: 77,
            op,
            outcome: Outcome {
                error: None,
                bytes: 9,
                flags: MsgFlags::empty()
            },
            user: 9,
        }]
    );
    assert_eq!(rec.data(), b"late data");
    w.b.p.send(b, b"more", NONE, None).unwrap();
    w.settle();
    assert!(
        w.a.notes.take_port(PortKey(3)).is_empty(),
        "never a second time"
    );
    assert_eq!(w.a.notes.delivered_for(op), 1);
}

/// S9: an overlapped call that fails (the connection was reset) is never notified, and its record, even a used one, goes back to Idle.
#[test]
fn s9_a_failed_overlapped_call_is_never_notified_and_its_record_goes_back_to_idle() {
    let w = World::new(904);
    let (a, b) = w.pair();
    // The record was used once, successfully.
    let (r, rec) = req(routine(APP, 0x10));
    w.a.p.send(a, b"x", NONE, Some(r.clone())).unwrap();
    assert_eq!(w.a.notes.take_routines(APP).len(), 1);
    assert_eq!(rec.state(), OpState::Delivered);
    assert!(w.net.reset_socket(w.a.p.transport(), a));
    w.settle();
    w.a.notes.clear();
    assert_eq!(
        w.a.p.recv(a, 100, NONE, Some(r.clone())).map(|x| x.data),
        Err(WsaError::ConnectionReset)
    );
    assert_eq!(rec.state(), OpState::Idle);
    assert_eq!(rec.op(), None);
    assert_eq!(rec.outcome(), None);
    let (r2, rec2) = req(port(1, 1));
    assert_eq!(
        w.a.p.send(a, b"y", NONE, Some(r2)),
        Err(WsaError::ConnectionReset)
    );
    assert_eq!(rec2.state(), OpState::Idle);
    let _ = w.b.p.send(b, b"z", NONE, None);
    w.settle();
    assert!(w.a.notes.delivered().is_empty(), "no notification, ever");
    assert!(w.a.notes.suppressed().is_empty());
    assert!(w.a.notes.take_routines(APP).is_empty());
    assert!(w.a.notes.take_port(PortKey(1)).is_empty());
}

/// S9: an overlapped call on a socket made without WSA_FLAG_OVERLAPPED is WSAEINVAL and never notified.
#[test]
fn s9_overlapped_call_on_a_non_overlapped_socket_is_wsaeinval_and_never_notified() {
    let w = World::new(905);
    let at = SocketAddr::from((Ipv4Addr::new(10, 0, 0, 9), 905));
    w.net.add_discard_service(at, None);
    let s =
        w.a.p
            .socket(
                AddressFamily::Inet,
                SocketKind::Stream,
                SocketFlags::empty(),
            )
            .unwrap();
    w.a.p.connect(s, at).unwrap();
    let (r, rec) = req(CompletionMode::Event(EventKey(1)));
    assert_eq!(
        w.a.p.recv(s, 10, NONE, Some(r)).map(|x| x.data),
        Err(WsaError::InvalidArgument)
    );
    let (r, rec2) = req(CompletionMode::Event(EventKey(2)));
    assert_eq!(
        w.a.p.send(s, b"abc", NONE, Some(r)),
        Err(WsaError::InvalidArgument)
    );
    w.settle();
    assert_eq!(rec.state(), OpState::Idle);
    assert_eq!(rec2.state(), OpState::Idle);
    assert!(w.a.notes.delivered().is_empty());
    // The socket itself works for ordinary calls.
    assert_eq!(w.a.p.send(s, b"abc", NONE, None), Ok(3));
}

/// S13: a record still pending cannot carry a second call (WSAEINVAL, nothing changes); the first call still completes exactly once (S10).
#[test]
fn s13_a_record_still_pending_cannot_start_a_second_call() {
    let w = World::new(906);
    let (a, b) = w.pair();
    let (r, rec) = req(CompletionMode::Event(EventKey(6)));
    assert_eq!(
        w.a.p.recv(a, 100, NONE, Some(r.clone())).map(|x| x.data),
        Err(WsaError::IoPending)
    );
    let op = rec.op().unwrap();
    assert_eq!(
        w.a.p.recv(a, 100, NONE, Some(r.clone())).map(|x| x.data),
        Err(WsaError::InvalidArgument)
    );
    assert_eq!(
        w.a.p.send(a, b"q", NONE, Some(r)),
        Err(WsaError::InvalidArgument)
    );
    assert_eq!(rec.state(), OpState::Pending);
    assert_eq!(rec.op(), Some(op), "the first call keeps its record");
    w.b.p.send(b, b"once", NONE, None).unwrap();
    w.settle();
    assert_eq!(rec.data(), b"once");
    assert_eq!(w.a.notes.delivered().len(), 1);
    assert_eq!(w.a.notes.delivered_for(op), 1);
}

/// S9: with max_pending_per_socket operations pending, one more is WSAEWOULDBLOCK, is never notified and leaves its record Idle.
#[test]
fn s9_too_many_pending_operations_is_wsaewouldblock_and_never_notified() {
    let config = ProviderConfig {
        max_pending_per_socket: 2,
        ..ProviderConfig::default()
    };
    let w = World::with_config(907, config);
    let (a, b) = w.pair();
    let (r1, rec1) = req(CompletionMode::Event(EventKey(1)));
    let (r2, rec2) = req(CompletionMode::Event(EventKey(2)));
    let (r3, rec3) = req(CompletionMode::Event(EventKey(3)));
    assert_eq!(
        w.a.p.recv(a, 10, NONE, Some(r1)).map(|x| x.data),
        Err(WsaError::IoPending)
    );
    assert_eq!(
        w.a.p.recv(a, 10, NONE, Some(r2)).map(|x| x.data),
        Err(WsaError::IoPending)
    );
    assert_eq!(
        w.a.p.recv(a, 10, NONE, Some(r3.clone())).map(|x| x.data),
        Err(WsaError::WouldBlock)
    );
    assert_eq!(rec3.state(), OpState::Idle);
    assert_eq!(rec3.op(), None);
    let data = pattern(30, 7);
    w.b.p.send(b, &data, NONE, None).unwrap();
    w.settle();
    assert_eq!(rec1.data(), &data[..10]);
    assert_eq!(rec2.data(), &data[10..20]);
    assert_eq!(rec3.state(), OpState::Idle, "the refused call never ran");
    assert_eq!(w.a.notes.delivered().len(), 2);
    // Below the limit again, the same request is accepted (and finds the rest).
    let got = w.a.p.recv(a, 10, NONE, Some(r3)).expect("accepted now");
    assert_eq!(got.data, &data[20..]);
    assert_eq!(rec3.state(), OpState::Delivered);
    assert_eq!(w.a.notes.delivered().len(), 3);
}

// ---------------------------------------------------------------- S10 ---

/// Checks S10 for one accepted operation after a completion raced a close:
/// one notification, nothing suppressed, and the record agrees with it.
/// Returns whether the completion (rather than the close) won.
fn resolved_once(notes: &RecordingNotifier, rec: &Overlapped, what: &str) -> bool {
    let op = rec.op().expect("accepted");
    assert_eq!(
        notes.delivered_for(op) + notes.suppressed_for(op),
        1,
        "{what}: one outcome for {op}"
    );
    assert_eq!(notes.suppressed_for(op), 0, "{what}: a close notifies (S7)");
    let told = the_notification(notes, rec);
    assert_eq!(
        Some(told.outcome.clone()),
        rec.outcome(),
        "{what}: the record says what the notification said"
    );
    match rec.state() {
        OpState::Delivered => {
            assert_eq!(told.outcome.error, None, "{what}");
            assert!(
                told.outcome.bytes > 0,
                "{what}: a completed receive has data"
            );
            assert_eq!(told.outcome.bytes, rec.data().len(), "{what}");
            true
        }
        OpState::AbortedNotified => {
            assert_eq!(
                told.outcome.error,
                Some(WsaError::OperationAborted),
                "{what}"
            );
            assert_eq!(told.outcome.bytes, 0, "{what}");
            assert!(rec.data().is_empty(), "{what}");
            false
        }
        other => panic!("{what}: {op} ended in {other:?}"),
    }
}

/// Three pending receives (event, routine, port) on `a`, and data on its way.
fn racing_receives(w: &World, a: SocketHandle, b: SocketHandle) -> Vec<Overlapped> {
    let modes = [
        CompletionMode::Event(EventKey(1)),
        routine(APP, 0x99),
        port(4, 4),
    ];
    let recs: Vec<Overlapped> = modes
        .into_iter()
        .map(|m| {
            let (r, rec) = req(m);
            assert_eq!(
                w.a.p.recv(a, 1000, NONE, Some(r)).map(|x| x.data),
                Err(WsaError::IoPending)
            );
            rec
        })
        .collect();
    w.b.p.send(b, &pattern(3000, 3), NONE, None).unwrap();
    recs
}

/// S10: a completion racing a close, over every interleaving of network steps and several seeds, resolves to exactly one outcome per operation.
#[test]
fn s10_completion_racing_a_close_resolves_to_one_outcome_for_every_interleaving() {
    let (mut completed, mut aborted) = (0, 0);
    for seed in [1001u64, 1002, 1003, 1004] {
        for k in 0..=24 {
            let what = format!("seed {seed}, close after {k} steps");
            let w = World::new(seed * 100 + k);
            let (a, b) = w.pair();
            let recs = racing_receives(&w, a, b);
            for _ in 0..k {
                w.net.step();
            }
            w.a.p.close_socket(a).unwrap();
            w.settle();
            for rec in &recs {
                if resolved_once(&w.a.notes, rec, &what) {
                    completed += 1;
                } else {
                    aborted += 1;
                }
            }
            // The routine went to the initiating thread, once.
            assert_eq!(w.a.notes.take_routines(APP).len(), 1, "{what}");
            assert_eq!(w.a.notes.take_port(PortKey(4)).len(), 1, "{what}");
        }
    }
    assert!(
        completed > 0 && aborted > 0,
        "the sweep must see both winners ({completed} completed, {aborted} aborted)"
    );
}

/// S10, S14: a completion delivered by another OS thread racing a close in this one resolves to exactly one outcome per operation.
#[test]
fn s10_completion_from_another_thread_racing_a_close_resolves_to_one_outcome() {
    for i in 0..48u64 {
        let what = format!("run {i}");
        let w = World::new(1100 + i);
        let (a, b) = w.pair();
        let recs = racing_receives(&w, a, b);
        let net = w.net.clone();
        let stepper = std::thread::spawn(move || {
            for _ in 0..40 {
                net.step();
            }
        });
        // Vary how far the stepper gets before the close.
        for _ in 0..(i % 8) * 200 {
            std::hint::spin_loop();
        }
        w.a.p.close_socket(a).unwrap();
        stepper.join().expect("stepper");
        w.settle();
        for rec in &recs {
            resolved_once(&w.a.notes, rec, &what);
        }
        assert_eq!(w.a.notes.take_routines(APP).len(), 1, "{what}");
        assert_eq!(w.a.notes.take_port(PortKey(4)).len(), 1, "{what}");
    }
}

/// S10: immediate and pending operations in every mode each reach one terminal status and one notification.
#[test]
fn s10_every_accepted_operation_is_notified_exactly_once_in_every_mode() {
    let w = World::new(1010);
    let (a, b) = w.pair();
    let modes = [
        CompletionMode::Event(EventKey(1)),
        routine(APP, 0x1),
        port(2, 20),
        CompletionMode::Polling,
    ];
    let mut recs = Vec::new();
    for m in modes {
        // Immediate: a send that fits.
        let (r, rec) = req(m);
        assert_eq!(w.a.p.send(a, b"now", NONE, Some(r)), Ok(3));
        recs.push(rec);
        // Pending: a receive.
        let (r, rec) = req(m);
        assert_eq!(
            w.a.p.recv(a, 1, NONE, Some(r)).map(|x| x.data),
            Err(WsaError::IoPending)
        );
        recs.push(rec);
    }
    w.b.p.send(b, b"wxyz", NONE, None).unwrap();
    w.settle();
    for rec in &recs {
        assert!(rec.state().is_terminal());
        assert_eq!(rec.state(), OpState::Delivered);
        assert_eq!(w.a.notes.delivered_for(rec.op().unwrap()), 1);
    }
    assert_eq!(w.a.notes.delivered().len(), recs.len());
    let received: Vec<u8> = recs
        .iter()
        .skip(1)
        .step_by(2)
        .flat_map(|r| r.data())
        .collect();
    assert_eq!(received, b"wxyz", "receives filled in posting order");
    assert_eq!(w.a.notes.take_routines(APP).len(), 2);
    assert_eq!(w.a.notes.take_port(PortKey(2)).len(), 2);
}

// ------------------------------------------------------ completion modes ---

/// S9: event mode sets the operation's own event with the final status.
#[test]
fn s9_event_mode_sets_the_event_of_the_operation() {
    let w = World::new(1201);
    let (a, b) = w.pair();
    let (r1, rec1) = req(CompletionMode::Event(EventKey(11)));
    let (r2, rec2) = req(CompletionMode::Event(EventKey(12)));
    assert_eq!(
        w.a.p.recv(a, 3, NONE, Some(r1)).map(|x| x.data),
        Err(WsaError::IoPending)
    );
    assert_eq!(
        w.a.p.recv(a, 3, NONE, Some(r2)).map(|x| x.data),
        Err(WsaError::IoPending)
    );
    w.b.p.send(b, b"abcdef", NONE, None).unwrap();
    w.settle();
    let events: Vec<(EventKey, usize)> =
        w.a.notes
            .delivered()
            .into_iter()
            .map(|r| match r {
                Record::EventSet { event, op, outcome } => {
                    let rec = if op == rec1.op().unwrap() {
                        &rec1
                    } else {
                        &rec2
                    };
                    assert_eq!(Some(outcome.clone()), rec.outcome());
                    (event, outcome.bytes)
                }
                other => panic!("not an event: {other:?}"),
            })
            .collect();
    assert_eq!(events.len(), 2);
    assert!(events.contains(&(EventKey(11), 3)));
    assert!(events.contains(&(EventKey(12), 3)));
    assert_eq!(rec1.data(), b"abc");
    assert_eq!(rec2.data(), b"def");
}

/// S9: a completion routine is queued to the initiating thread only, with dwError and cbTransferred in its outcome; another thread's queue stays empty.
#[test]
fn s9_routine_mode_queues_only_to_the_initiating_thread() {
    const OTHER: ThreadKey = ThreadKey(50);
    let w = World::new(1202);
    let (a, b) = w.pair();
    let (r, rec_app) = req_user(routine(APP, 0xA0), 1);
    assert_eq!(
        w.a.p.recv(a, 4, NONE, Some(r)).map(|x| x.data),
        Err(WsaError::IoPending)
    );
    // A second application thread (its own OS thread) posts its own receive.
    let p = w.a.p.clone();
    let (r, rec_other) = req_user(routine(OTHER, 0xB0), 2);
    let posted = in_thread(OTHER, move || p.recv(a, 4, NONE, Some(r)).map(|x| x.data));
    assert_eq!(finish(&posted, "post from OTHER"), Err(WsaError::IoPending));
    w.b.p.send(b, b"1234", NONE, None).unwrap();
    w.settle();
    // Only APP's receive has data so far; OTHER's queue is empty.
    let app = w.a.notes.take_routines(APP);
    assert_eq!(app.len(), 1);
    assert_eq!(app[0].routine, 0xA0);
    assert_eq!(app[0].user, 1);
    assert_eq!(app[0].op, rec_app.op().unwrap());
    assert_eq!(app[0].outcome.error, None, "dwError 0");
    assert_eq!(app[0].outcome.bytes, 4, "cbTransferred");
    assert!(w.a.notes.take_routines(OTHER).is_empty());
    // OTHER's receive is aborted by the close: its routine gets
    // WSA_OPERATION_ABORTED and 0 bytes, on OTHER's queue only.
    w.a.p.close_socket(a).unwrap();
    let other = w.a.notes.take_routines(OTHER);
    assert_eq!(other.len(), 1);
    assert_eq!(other[0].routine, 0xB0);
    assert_eq!(other[0].op, rec_other.op().unwrap());
    assert_eq!(other[0].outcome.error, Some(WsaError::OperationAborted));
    assert_eq!(other[0].outcome.bytes, 0);
    assert!(w.a.notes.take_routines(APP).is_empty());
    assert!(w.a.notes.take_routines(ThreadKey(99)).is_empty());
}

/// S9: port mode posts the association's key and the outcome to the port, and to no other port.
#[test]
fn s9_port_mode_posts_the_key_and_outcome_to_the_port() {
    let w = World::new(1203);
    let (a1, b1) = w.pair();
    let (a2, b2) = w.pair();
    let (r, rec1) = req_user(port(7, 100), 1001);
    assert_eq!(
        w.a.p.recv(a1, 50, NONE, Some(r)).map(|x| x.data),
        Err(WsaError::IoPending)
    );
    let (r, rec2) = req_user(port(7, 200), 1002);
    assert_eq!(
        w.a.p.recv(a2, 50, NONE, Some(r)).map(|x| x.data),
        Err(WsaError::IoPending)
    );
    w.b.p.send(b2, b"second", NONE, None).unwrap();
    w.settle();
    w.b.p.send(b1, b"first!!", NONE, None).unwrap();
    w.settle();
    let packets = w.a.notes.take_port(PortKey(7));
    assert_eq!(
        packets,
        vec![
            PortPacket {
                key: 200,
                op: rec2.op().unwrap(),
                outcome: rec2.outcome().unwrap(),
                user: 1002
            },
            PortPacket {
                key: 100,
                op: rec1.op().unwrap(),
                outcome: rec1.outcome().unwrap(),
                user: 1001
            },
        ]
    );
    assert_eq!(packets[0].outcome.bytes, 6);
    assert_eq!(packets[1].outcome.bytes, 7);
    assert!(w.a.notes.take_port(PortKey(8)).is_empty());
    assert!(w.a.notes.take_routines(APP).is_empty());
}

/// S9: polling mode tells nobody; get_overlapped_result without waiting is WSA_IO_INCOMPLETE while pending, then the outcome.
#[test]
fn s9_polling_mode_tells_nobody_and_get_overlapped_result_polls_the_outcome() {
    let w = World::new(1204);
    let (a, b) = w.pair();
    let (r, rec) = req(CompletionMode::Polling);
    assert_eq!(
        w.a.p.recv(a, 64, NONE, Some(r)).map(|x| x.data),
        Err(WsaError::IoPending)
    );
    assert_eq!(
        w.a.p.get_overlapped_result(a, &rec, false),
        Err(WsaError::IoIncomplete)
    );
    w.settle();
    assert_eq!(
        w.a.p.get_overlapped_result(a, &rec, false),
        Err(WsaError::IoIncomplete)
    );
    w.b.p.send(b, b"polled", NONE, None).unwrap();
    w.settle();
    let got = w.a.p.get_overlapped_result(a, &rec, false).expect("done");
    assert_eq!(got.bytes, 6);
    assert_eq!(got.error, None);
    assert_eq!(rec.data(), b"polled");
    // Nobody was told: no routine, no port packet, no event; the only record
    // is the core's "status is there to be polled".
    let delivered = w.a.notes.delivered();
    assert_eq!(delivered.len(), 1);
    assert!(matches!(delivered[0], Record::PolledOnly { .. }));
    assert!(w.a.notes.take_routines(APP).is_empty());
    // Polling again gives the same answer.
    assert_eq!(w.a.p.get_overlapped_result(a, &rec, false), Ok(got));
}

// ------------------------------------------------------- data integrity ---

/// S10: pending overlapped receives are filled in posting order, and their bytes are in their records.
#[test]
fn s10_pending_receives_are_filled_in_posting_order() {
    let w = World::new(1301);
    let (a, b) = w.pair();
    let mut recs = Vec::new();
    for i in 0..8u64 {
        let (r, rec) = req(routine(APP, 0x100 + i));
        assert_eq!(
            w.a.p.recv(a, 1000, NONE, Some(r)).map(|x| x.data),
            Err(WsaError::IoPending)
        );
        recs.push(rec);
    }
    let data = pattern(5000, 9);
    w.b.p.send(b, &data, NONE, None).unwrap();
    w.settle();
    let done: Vec<&Overlapped> = recs
        .iter()
        .take_while(|r| r.state().is_terminal())
        .collect();
    assert!(
        recs[done.len()..]
            .iter()
            .all(|r| r.state() == OpState::Pending),
        "no receive completes while an earlier one is pending"
    );
    let joined: Vec<u8> = done.iter().flat_map(|r| r.data()).collect();
    assert_eq!(joined, data, "every byte, in order, in the records");
    for (r, q) in done.iter().zip(w.a.notes.take_routines(APP)) {
        assert_eq!(q.op, r.op().unwrap());
        assert_eq!(q.outcome.bytes, r.data().len(), "cbTransferred");
    }
    w.a.p.close_socket(a).unwrap();
}

/// S10: pending overlapped sends are taken in posting order: the peer reads their bytes in that order.
#[test]
fn s10_pending_sends_are_taken_in_posting_order() {
    let w = World::new(1302);
    let (a, b) = w.pair();
    let filled = w.fill(a);
    assert!(filled > 0);
    let mut recs = Vec::new();
    for i in 1..=4u8 {
        let (r, rec) = req(port(9, u64::from(i)));
        assert_eq!(
            w.a.p.send(a, &[i; 3000], NONE, Some(r)),
            Err(WsaError::IoPending),
            "no room: send {i} pends"
        );
        recs.push(rec);
    }
    let got = common::drain(&w.net, &w.b.p, b).expect("stream intact");
    let mut expected = vec![0x5A; filled];
    for i in 1..=4u8 {
        expected.extend_from_slice(&[i; 3000]);
    }
    assert_eq!(got.len(), expected.len());
    assert!(
        got == expected,
        "the peer reads the sends' bytes in posting order"
    );
    let packets = w.a.notes.take_port(PortKey(9));
    assert_eq!(packets.len(), 4);
    for (rec, pk) in recs.iter().zip(&packets) {
        assert_eq!(pk.op, rec.op().unwrap());
        assert_eq!(pk.outcome.bytes, 3000);
        assert_eq!(rec.state(), OpState::Delivered);
    }
}

// ------------------------------------------------- get_overlapped_result ---

/// S9: get_overlapped_result with wait on an event-mode operation blocks until the completion; the waiter pumps the network meanwhile.
#[test]
fn s9_get_overlapped_result_wait_pumps_until_the_completion() {
    let w = World::new(1401);
    let (a, b) = w.pair();
    let (r, rec) = req(CompletionMode::Event(EventKey(3)));
    assert_eq!(
        w.a.p.recv(a, 100, NONE, Some(r)).map(|x| x.data),
        Err(WsaError::IoPending)
    );
    w.b.p.send(b, b"pumped", NONE, None).unwrap();
    let t0 = w.net.now();
    assert_eq!(rec.state(), OpState::Pending, "nothing has moved yet");
    // Nobody else steps the network: the waiting call pumps it (in a thread of
    // its own only so that a broken wait fails instead of hanging).
    let (p, rec2) = (w.a.p.clone(), rec.clone());
    let waited = in_thread(APP, move || p.get_overlapped_result(a, &rec2, true));
    let got = finish(&waited, "get_overlapped_result(wait)").expect("completes");
    assert_eq!(got.bytes, 6);
    assert_eq!(rec.data(), b"pumped");
    assert!(w.net.now() > t0, "virtual time passed while it waited");
    assert_eq!(w.a.notes.delivered_for(rec.op().unwrap()), 1);
}

/// S9, S14: get_overlapped_result with wait, called from a second OS thread, stays blocked until the data arrives, then returns the outcome.
#[test]
fn s9_get_overlapped_result_wait_from_a_second_thread_returns_at_the_completion() {
    let w = World::new(1402);
    let (a, b) = w.pair();
    let (r, rec) = req(CompletionMode::Event(EventKey(4)));
    assert_eq!(
        w.a.p.recv(a, 100, NONE, Some(r)).map(|x| x.data),
        Err(WsaError::IoPending)
    );
    let (p, rec2) = (w.a.p.clone(), rec.clone());
    let waiting = in_thread(ThreadKey(20), move || {
        p.get_overlapped_result(a, &rec2, true)
    });
    assert!(
        still_blocked(&waiting),
        "it waits while the receive is pending"
    );
    w.b.p.send(b, b"over there", NONE, None).unwrap();
    w.settle();
    let got = finish(&waiting, "get_overlapped_result(wait)").expect("completed");
    assert_eq!(got.bytes, 10);
    assert_eq!(rec.data(), b"over there");
}

/// S13: get_overlapped_result with wait is WSAEINVAL for routine, port and polling operations (only event completion may wait), and changes nothing.
#[test]
fn s13_get_overlapped_result_wait_is_wsaeinval_unless_event_mode() {
    let w = World::new(1403);
    let (a, b) = w.pair();
    let mut recs = Vec::new();
    for m in [routine(APP, 1), port(1, 1), CompletionMode::Polling] {
        let (r, rec) = req(m);
        assert_eq!(
            w.a.p.recv(a, 1, NONE, Some(r)).map(|x| x.data),
            Err(WsaError::IoPending)
        );
        // In a thread of its own, so that a wrong wait fails instead of hanging.
        let (p, rec2) = (w.a.p.clone(), rec.clone());
        let waited = in_thread(APP, move || p.get_overlapped_result(a, &rec2, true));
        assert_eq!(
            finish(&waited, "get_overlapped_result(wait)"),
            Err(WsaError::InvalidArgument),
            "{m:?}"
        );
        assert_eq!(
            w.a.p.get_overlapped_result(a, &rec, false),
            Err(WsaError::IoIncomplete),
            "{m:?}"
        );
        assert_eq!(rec.state(), OpState::Pending);
        recs.push(rec);
    }
    w.b.p.send(b, b"abc", NONE, None).unwrap();
    w.settle();
    for rec in &recs {
        assert_eq!(
            w.a.p.get_overlapped_result(a, rec, false).map(|o| o.bytes),
            Ok(1)
        );
        assert_eq!(w.a.notes.delivered_for(rec.op().unwrap()), 1);
    }
}

// ------------------------------------------------------- blocking calls ---

/// S10, S14: a blocking receive in another thread returns the data when the peer sends (its waiter pumps the network), and is never notified.
#[test]
fn s10_blocking_recv_in_another_thread_returns_the_data_and_is_never_notified() {
    const T1: ThreadKey = ThreadKey(31);
    let w = World::new(1501);
    let (a, b) = w.pair();
    let p = w.a.p.clone();
    let blocked = in_thread(T1, move || p.recv(a, 100, NONE, None).map(|r| r.data));
    common::wait_pending(&w.a.p, &[a], 1, "T1's blocking receive");
    assert!(still_blocked(&blocked), "no data: T1 waits");
    // The peer sends; nobody here steps the network: T1's waiter does.
    w.b.p.send(b, b"wake up", NONE, None).unwrap();
    assert_eq!(finish(&blocked, "blocking recv"), Ok(b"wake up".to_vec()));
    assert!(
        told_on(&w.a.notes, a).is_empty(),
        "a blocking call is never notified"
    );
    assert!(w.a.notes.take_routines(T1).is_empty());
}

/// S9: a blocking accept that has to wait returns the connection and its
/// peer's address once a peer connects (the address comes back with the
/// completion, not from the call), and a blocking `recvfrom` that has to
/// wait returns the datagram with its sender.
#[test]
fn s9_blocking_accept_and_recvfrom_that_wait_return_the_peer() {
    const T1: ThreadKey = ThreadKey(35);
    let w = World::new(1510);
    let listener = w.a.stream();
    let at = w.a.p.bind(listener, SocketAddr::from((w.a.ip, 0))).unwrap();
    w.a.p.listen(listener, 4).unwrap();
    let p = w.a.p.clone();
    let accepting = in_thread(T1, move || p.accept(listener));
    common::wait_pending(&w.a.p, &[listener], 1, "T1's blocking accept");
    assert!(still_blocked(&accepting), "nobody connected yet: T1 waits");
    let client = w.b.stream();
    w.b.p.connect(client, at).unwrap();
    let (accepted, peer) = finish(&accepting, "blocking accept").unwrap();
    assert_eq!(
        peer,
        w.b.p.local_addr(client).unwrap(),
        "the peer's address"
    );
    assert_eq!(w.a.p.peer_addr(accepted), Ok(peer));

    let d =
        w.a.p
            .socket(
                AddressFamily::Inet,
                SocketKind::Datagram,
                SocketFlags::empty(),
            )
            .unwrap();
    let d_at = w.a.p.bind(d, SocketAddr::from((w.a.ip, 0))).unwrap();
    let p = w.a.p.clone();
    let receiving = in_thread(T1, move || p.recv_from(d, 100, NONE, None));
    common::wait_pending(&w.a.p, &[d], 1, "T1's blocking recvfrom");
    let sender =
        w.b.p
            .socket(
                AddressFamily::Inet,
                SocketKind::Datagram,
                SocketFlags::empty(),
            )
            .unwrap();
    w.b.p.send_to(sender, b"from b", d_at, NONE, None).unwrap();
    let got = finish(&receiving, "blocking recvfrom").unwrap();
    assert_eq!(got.data, b"from b");
    assert_eq!(got.from, w.b.p.local_addr(sender).ok(), "the sender");
}

/// S7: a blocking receive in thread T1 is ended with WSAEINTR by a close of its socket in another thread, and is never notified.
#[test]
fn s7_blocking_recv_is_interrupted_by_a_close_in_another_thread() {
    const T1: ThreadKey = ThreadKey(32);
    let w = World::new(1502);
    let (a, _b) = w.pair();
    let p = w.a.p.clone();
    let blocked = in_thread(T1, move || p.recv(a, 100, NONE, None).map(|r| r.data));
    common::wait_pending(&w.a.p, &[a], 1, "T1's blocking receive");
    w.a.p.close_socket(a).unwrap();
    assert_eq!(
        finish(&blocked, "blocking recv"),
        Err(WsaError::Interrupted)
    );
    assert!(told_on(&w.a.notes, a).is_empty());
    assert!(w.a.notes.suppressed().is_empty());
    assert_eq!(
        w.a.p.recv(a, 1, NONE, None).map(|r| r.data),
        Err(WsaError::NotSocket)
    );
}

/// S10: cancel_blocking_call ends the calling thread's blocking receive with WSAEINTR, once, with no notification (WSPCancelBlockingCall, spec section 6).
///
/// WSPCancelBlockingCall cancels the blocking call of the *calling* thread: a
/// Winsock 1.1 application calls it from its blocking hook, which runs on the
/// blocked thread itself. Here T1 is parked in the mock waiter, so the hook is
/// played by this OS thread taking T1's key with `MockWaiter::set_current_thread`.
#[test]
fn s10_cancel_blocking_call_on_the_blocked_thread_interrupts_its_recv() {
    const T1: ThreadKey = ThreadKey(33);
    let w = World::new(1503);
    let (a, b) = w.pair();
    let p = w.a.p.clone();
    let blocked = in_thread(T1, move || p.recv(a, 100, NONE, None).map(|r| r.data));
    common::wait_pending(&w.a.p, &[a], 1, "T1's blocking receive");
    // APP (this thread's own key) has nothing blocked: nothing to cancel.
    assert_eq!(w.a.p.cancel_blocking_call(), Err(WsaError::InvalidArgument));
    assert!(
        still_blocked(&blocked),
        "a cancel from another thread does not touch T1"
    );
    // The blocking hook of T1.
    MockWaiter::set_current_thread(T1);
    let cancelled = w.a.p.cancel_blocking_call();
    let again = w.a.p.cancel_blocking_call();
    MockWaiter::set_current_thread(APP);
    assert_eq!(cancelled, Ok(()));
    assert_eq!(
        again,
        Err(WsaError::InvalidArgument),
        "only one call to cancel"
    );
    assert_eq!(
        finish(&blocked, "blocking recv"),
        Err(WsaError::Interrupted)
    );
    assert!(told_on(&w.a.notes, a).is_empty());
    // Data sent later is not taken by the cancelled receive.
    w.b.p.send(b, b"after", NONE, None).unwrap();
    w.settle();
    w.a.p.set_nonblocking(a, true).unwrap();
    assert_eq!(
        w.a.p.recv(a, 100, NONE, None).map(|r| r.data),
        Ok(b"after".to_vec())
    );
}

/// S13: cancel_blocking_call with no blocking call on the calling thread is WSAEINVAL and changes nothing.
#[test]
fn s13_cancel_blocking_call_with_nothing_to_cancel_is_wsaeinval() {
    let w = World::new(1504);
    assert_eq!(w.a.p.cancel_blocking_call(), Err(WsaError::InvalidArgument));
    let (a, b) = w.pair();
    let (r, rec) = req(CompletionMode::Event(EventKey(1)));
    assert_eq!(
        w.a.p.recv(a, 10, NONE, Some(r)).map(|x| x.data),
        Err(WsaError::IoPending)
    );
    // An overlapped operation is not a blocking call.
    assert_eq!(w.a.p.cancel_blocking_call(), Err(WsaError::InvalidArgument));
    assert_eq!(rec.state(), OpState::Pending);
    w.b.p.send(b, b"ok", NONE, None).unwrap();
    w.settle();
    assert_eq!(rec.data(), b"ok");
    assert_eq!(w.a.notes.delivered().len(), 1);
}

/// S9: a non-blocking receive with nothing buffered is WSAEWOULDBLOCK, registers no operation and is never notified.
#[test]
fn s9_nonblocking_recv_with_nothing_is_wsaewouldblock_and_registers_nothing() {
    let w = World::new(1505);
    let (a, b) = w.pair();
    w.a.p.set_nonblocking(a, true).unwrap();
    assert_eq!(
        w.a.p.recv(a, 100, NONE, None).map(|r| r.data),
        Err(WsaError::WouldBlock)
    );
    assert_eq!(
        w.a.p.pending_operations(a),
        Ok(0),
        "no operation was registered"
    );
    w.b.p.send(b, b"for later", NONE, None).unwrap();
    w.settle();
    assert!(told_on(&w.a.notes, a).is_empty());
    // Nothing registered took the data: it is all still there.
    assert_eq!(
        w.a.p.recv(a, 100, NONE, None).map(|r| r.data),
        Ok(b"for later".to_vec())
    );
    assert_eq!(
        w.a.p.recv(a, 100, NONE, None).map(|r| r.data),
        Err(WsaError::WouldBlock)
    );
}

// ------------------------------------------------------------ bugs found ---

/// S14: a thread that never named itself gets its own simulated id, so cancel_blocking_call on the application thread cannot cancel its blocking call.
#[test]

fn s14_an_unnamed_thread_never_shares_the_id_of_a_named_one() {
    let w = World::new(1601);
    let (a, _b) = w.pair();
    let p = w.a.p.clone();
    let (tx, blocked) = mpsc::channel();
    // An OS thread that does not call set_current_thread: the waiter names it.
    std::thread::spawn(move || {
        let _ = tx.send(p.recv(a, 100, NONE, None).map(|r| r.data));
    });
    common::wait_pending(&w.a.p, &[a], 1, "the unnamed thread's blocking receive");
    // This thread is APP and has nothing blocked.
    let cancelled = w.a.p.cancel_blocking_call();
    let other_thread = blocked.recv_timeout(Duration::from_millis(200));
    w.a.p.close_socket(a).unwrap();
    assert_eq!(
        cancelled,
        Err(WsaError::InvalidArgument),
        "APP's cancel reached another thread's call ({other_thread:?})"
    );
}

/// Spec section 5 (no S rule): a blocking MSG_PEEK receive that has to wait returns the data without removing it.
#[test]

fn spec5_a_blocking_peek_that_waits_leaves_the_data_for_the_next_receive() {
    const T1: ThreadKey = ThreadKey(34);
    let w = World::new(1602);
    let (a, b) = w.pair();
    let p = w.a.p.clone();
    let peeked = in_thread(T1, move || {
        p.recv(a, 100, MsgFlags::PEEK, None).map(|r| r.data)
    });
    common::wait_pending(&w.a.p, &[a], 1, "T1's blocking peek");
    w.b.p.send(b, b"peek me", NONE, None).unwrap();
    assert_eq!(finish(&peeked, "blocking peek"), Ok(b"peek me".to_vec()));
    w.a.p.set_nonblocking(a, true).unwrap();
    assert_eq!(
        w.a.p.recv(a, 100, NONE, None).map(|r| r.data),
        Ok(b"peek me".to_vec()),
        "MSG_PEEK must leave the bytes in the buffer"
    );
}
