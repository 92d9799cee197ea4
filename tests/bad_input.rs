//! Errors and bad input.
//!
//! Rules covered (see `winsock_provider::manual::rules`):
//! - S12: one error enum; each variant maps to exactly one WSA code, with the
//!   codes and names of winsock2.h (and the panic codes WSASYSCALLFAILURE and
//!   WSAEPROVIDERFAILEDINIT).
//! - S13: an invalid argument value is `WSAEINVAL` (or `WSAEOPNOTSUPP` for an
//!   unsupported flag or operation), and a failed call changes no state and
//!   leaks nothing: no socket, no record state, no notification, nothing on
//!   the network, and the socket still works afterwards.
//! - S9 (where it meets S13): a call that fails with anything but
//!   `WSA_IO_PENDING` is never notified.

mod common;

use common::{APP, World, drain, ov};
use std::collections::HashSet;
use std::net::SocketAddr;
use winsock_provider::mock::{NetworkStats, RecordingNotifier};
use winsock_provider::{
    AddressFamily, CompletionMode, EventKey, FdEvents, Linger, MsgFlags, OverlappedRequest,
    ProviderConfig, SocketFlags, SocketHandle, SocketKind, WsaError,
};
use winsock_provider::{OpState, Overlapped};

// ---------------------------------------------------------------- S12

/// The codes the spec sheet gives, by name (winsock2.h / winerror.h).
const SPEC_CODES: &[(&str, i32)] = &[
    ("WSA_INVALID_HANDLE", 6),
    ("WSA_OPERATION_ABORTED", 995),
    ("WSA_IO_INCOMPLETE", 996),
    ("WSA_IO_PENDING", 997),
    ("WSAEINTR", 10004),
    ("WSAEFAULT", 10014),
    ("WSAEINVAL", 10022),
    ("WSAEMFILE", 10024),
    ("WSAEWOULDBLOCK", 10035),
    ("WSAEINPROGRESS", 10036),
    ("WSAENOTSOCK", 10038),
    ("WSAEDESTADDRREQ", 10039),
    ("WSAEMSGSIZE", 10040),
    ("WSAEPROTOTYPE", 10041),
    ("WSAENOPROTOOPT", 10042),
    ("WSAEPROTONOSUPPORT", 10043),
    ("WSAESOCKTNOSUPPORT", 10044),
    ("WSAEOPNOTSUPP", 10045),
    ("WSAEAFNOSUPPORT", 10047),
    ("WSAEADDRINUSE", 10048),
    ("WSAEADDRNOTAVAIL", 10049),
    ("WSAENETDOWN", 10050),
    ("WSAENETUNREACH", 10051),
    ("WSAENETRESET", 10052),
    ("WSAECONNABORTED", 10053),
    ("WSAECONNRESET", 10054),
    ("WSAENOBUFS", 10055),
    ("WSAEISCONN", 10056),
    ("WSAENOTCONN", 10057),
    ("WSAESHUTDOWN", 10058),
    ("WSAETIMEDOUT", 10060),
    ("WSAECONNREFUSED", 10061),
    ("WSAEPROCLIM", 10067),
    ("WSASYSNOTREADY", 10091),
    ("WSAVERNOTSUPPORTED", 10092),
    ("WSANOTINITIALISED", 10093),
    ("WSAEDISCON", 10101),
    ("WSAEPROVIDERFAILEDINIT", 10106),
    ("WSASYSCALLFAILURE", 10107),
];

/// S12: every variant has its own code and its own "WSA" name, and from_code gives it back.
#[test]
fn s12_every_variant_has_a_unique_code_that_round_trips() {
    assert!(!WsaError::ALL.is_empty());
    let mut codes = HashSet::new();
    let mut names = HashSet::new();
    let mut variants = HashSet::new();
    for &e in WsaError::ALL {
        assert!(variants.insert(e), "{e:?} listed twice in ALL");
        assert!(
            codes.insert(e.code()),
            "code {} used by two variants",
            e.code()
        );
        assert!(
            names.insert(e.name()),
            "name {} used by two variants",
            e.name()
        );
        assert!(e.name().starts_with("WSA"), "{e:?} is named {}", e.name());
        assert_eq!(WsaError::from_code(e.code()), Some(e), "{e:?}");
        let text = e.to_string();
        assert!(text.starts_with(e.name()), "{text}");
        assert!(text.contains(&e.code().to_string()), "{text}");
    }
    for code in [0, 1, -1, 10000, 10001, 99_999, i32::MIN, i32::MAX] {
        assert_eq!(WsaError::from_code(code), None, "{code}");
    }
}

/// S12: the variants the rules name carry exactly the spec's codes.
#[test]
fn s12_codes_are_the_spec_codes() {
    let required = [
        (WsaError::Interrupted, 10004, "WSAEINTR"),
        (WsaError::Fault, 10014, "WSAEFAULT"),
        (WsaError::InvalidArgument, 10022, "WSAEINVAL"),
        (WsaError::WouldBlock, 10035, "WSAEWOULDBLOCK"),
        (WsaError::NotSocket, 10038, "WSAENOTSOCK"),
        (WsaError::Shutdown, 10058, "WSAESHUTDOWN"),
        (WsaError::NotInitialised, 10093, "WSANOTINITIALISED"),
        (WsaError::VersionNotSupported, 10092, "WSAVERNOTSUPPORTED"),
        (WsaError::IoPending, 997, "WSA_IO_PENDING"),
        (WsaError::OperationAborted, 995, "WSA_OPERATION_ABORTED"),
        (WsaError::IoIncomplete, 996, "WSA_IO_INCOMPLETE"),
        (WsaError::SystemCallFailure, 10107, "WSASYSCALLFAILURE"),
        (
            WsaError::ProviderFailedInit,
            10106,
            "WSAEPROVIDERFAILEDINIT",
        ),
        (WsaError::TooManySockets, 10024, "WSAEMFILE"),
        (WsaError::OperationNotSupported, 10045, "WSAEOPNOTSUPP"),
        (WsaError::NotConnected, 10057, "WSAENOTCONN"),
        (WsaError::NetworkDown, 10050, "WSAENETDOWN"),
        (WsaError::ConnectionReset, 10054, "WSAECONNRESET"),
    ];
    for (e, code, name) in required {
        assert_eq!(e.code(), code, "{e:?}");
        assert_eq!(e.name(), name, "{e:?}");
        assert_eq!(WsaError::from_code(code), Some(e));
        assert!(WsaError::ALL.contains(&e));
    }
    // Every variant whose name the spec knows has the spec's code for it.
    for &e in WsaError::ALL {
        if let Some(&(_, code)) = SPEC_CODES.iter().find(|(n, _)| *n == e.name()) {
            assert_eq!(e.code(), code, "{} should be {code}", e.name());
        }
    }
}

// ---------------------------------------------------------------- S13 helpers

/// Everything a failed call must leave as it was.
#[derive(Debug, PartialEq)]
struct Snapshot {
    sockets: (usize, usize),
    notes_a: (usize, usize, usize, usize),
    notes_b: (usize, usize, usize, usize),
    stats: NetworkStats,
}

/// Settles the network, then takes a snapshot.
fn snapshot(w: &World) -> Snapshot {
    w.settle();
    let n = |r: &RecordingNotifier| {
        (
            r.delivered().len(),
            r.suppressed().len(),
            r.network_events().len(),
            r.released().len(),
        )
    };
    Snapshot {
        sockets: (w.a.p.socket_count(), w.b.p.socket_count()),
        notes_a: n(&w.a.notes),
        notes_b: n(&w.b.notes),
        stats: w.net.stats(),
    }
}

fn event(n: u64) -> OverlappedRequest {
    ov(CompletionMode::Event(EventKey(n)))
}

/// A request on an existing record.
fn on(rec: &Overlapped, mode: CompletionMode, user: u64) -> OverlappedRequest {
    OverlappedRequest {
        overlapped: rec.clone(),
        mode,
        user,
    }
}

/// A connected pair whose end on `a` was created with `flags`.
fn pair_with(w: &World, flags: SocketFlags) -> (SocketHandle, SocketHandle) {
    let l = w.b.stream();
    let port = w.b.p.bind(l, SocketAddr::from((w.b.ip, 0))).unwrap().port();
    w.b.p.listen(l, 1).unwrap();
    let s =
        w.a.p
            .socket(AddressFamily::Inet, SocketKind::Stream, flags)
            .unwrap();
    w.a.p.connect(s, SocketAddr::from((w.b.ip, port))).unwrap();
    let (t, _) = w.b.p.accept(l).unwrap();
    w.b.p.close_socket(l).unwrap();
    (s, t)
}

/// Asserts that `s` on a and `t` on b still carry bytes both ways.
fn still_works(w: &World, s: SocketHandle, t: SocketHandle) {
    assert_eq!(w.a.p.send(s, b"ping", MsgFlags::empty(), None), Ok(4));
    assert_eq!(w.b.p.send(t, b"pong", MsgFlags::empty(), None), Ok(4));
    w.settle();
    w.b.p.set_nonblocking(t, true).unwrap();
    w.a.p.set_nonblocking(s, true).unwrap();
    assert_eq!(
        w.b.p.recv(t, 100, MsgFlags::empty(), None).map(|r| r.data),
        Ok(b"ping".to_vec())
    );
    assert_eq!(
        w.a.p.recv(s, 100, MsgFlags::empty(), None).map(|r| r.data),
        Ok(b"pong".to_vec())
    );
}

fn assert_idle(rec: &Overlapped) {
    assert_eq!(
        rec.state(),
        OpState::Idle,
        "a rejected call must leave its record idle"
    );
    assert_eq!(rec.op(), None);
    assert_eq!(rec.outcome(), None);
}

// ---------------------------------------------------------------- S13

/// S13: shutdown with how 3, -1 or any other value is WSAEINVAL and shuts nothing.
#[test]
fn s13_shutdown_with_invalid_how_is_wsaeinval_and_shuts_nothing() {
    let w = World::new(3101);
    let (s, t) = w.pair();
    let d =
        w.a.p
            .socket(
                AddressFamily::Inet,
                SocketKind::Datagram,
                SocketFlags::empty(),
            )
            .unwrap();
    let before = snapshot(&w);
    for how in [3, -1, 4, 100, i32::MAX, i32::MIN] {
        assert_eq!(
            w.a.p.shutdown(s, how),
            Err(WsaError::InvalidArgument),
            "how {how}"
        );
        assert_eq!(
            w.a.p.shutdown(d, how),
            Err(WsaError::InvalidArgument),
            "how {how} (datagram)"
        );
    }
    assert_eq!(snapshot(&w), before);
    still_works(&w, s, t);
    // And the socket can still be shut down properly afterwards.
    assert_eq!(w.a.p.shutdown(s, 1), Ok(()));
    assert_eq!(
        w.a.p.send(s, b"x", MsgFlags::empty(), None),
        Err(WsaError::Shutdown)
    );
}

/// S13: an overlapped call on a socket created without WSA_FLAG_OVERLAPPED is WSAEINVAL and starts nothing.
#[test]
fn s13_overlapped_call_on_a_non_overlapped_socket_is_wsaeinval() {
    let w = World::new(3102);
    let (s, t) = pair_with(&w, SocketFlags::empty());
    w.b.p.send(t, b"waiting", MsgFlags::empty(), None).unwrap();
    let before = snapshot(&w);
    let to = SocketAddr::from((w.b.ip, 1));
    let modes = [
        CompletionMode::Event(EventKey(1)),
        CompletionMode::Routine {
            thread: APP,
            routine: 1,
        },
        CompletionMode::Polling,
    ];
    for mode in modes {
        let rec = Overlapped::new();
        assert_eq!(
            w.a.p
                .send(s, b"no", MsgFlags::empty(), Some(on(&rec, mode, 1))),
            Err(WsaError::InvalidArgument)
        );
        assert_eq!(
            w.a.p
                .send_to(s, b"no", to, MsgFlags::empty(), Some(on(&rec, mode, 2))),
            Err(WsaError::InvalidArgument)
        );
        assert_eq!(
            w.a.p
                .recv(s, 10, MsgFlags::empty(), Some(on(&rec, mode, 3)))
                .err(),
            Some(WsaError::InvalidArgument)
        );
        assert_eq!(
            w.a.p
                .recv_from(s, 10, MsgFlags::empty(), Some(on(&rec, mode, 4)))
                .err(),
            Some(WsaError::InvalidArgument)
        );
        assert_idle(&rec);
    }
    assert_eq!(snapshot(&w), before, "nothing sent, nothing notified");
    assert!(w.a.notes.take_routines(APP).is_empty());
    // The failed receives took nothing: the data is still there for a plain receive.
    assert_eq!(
        w.a.p.recv(s, 100, MsgFlags::empty(), None).map(|r| r.data),
        Ok(b"waiting".to_vec())
    );
    still_works(&w, s, t);
}

/// S13: reusing an Overlapped record that is still pending is WSAEINVAL and the first operation is unaffected.
#[test]
fn s13_reusing_a_pending_record_is_wsaeinval_and_leaves_the_first_op_alone() {
    let w = World::new(3103);
    let (s, t) = w.pair();
    let (s2, t2) = w.pair();
    let rec = Overlapped::new();
    let first = CompletionMode::Event(EventKey(1));
    assert_eq!(
        w.a.p
            .recv(s, 100, MsgFlags::empty(), Some(on(&rec, first, 11)))
            .err(),
        Some(WsaError::IoPending)
    );
    let op = rec.op().unwrap();
    let before = snapshot(&w);

    let second = CompletionMode::Event(EventKey(2));
    assert_eq!(
        w.a.p
            .recv(s, 100, MsgFlags::empty(), Some(on(&rec, second, 22)))
            .err(),
        Some(WsaError::InvalidArgument)
    );
    assert_eq!(
        w.a.p
            .send(s, b"never", MsgFlags::empty(), Some(on(&rec, second, 22))),
        Err(WsaError::InvalidArgument)
    );
    assert_eq!(
        w.a.p
            .recv(s2, 100, MsgFlags::empty(), Some(on(&rec, second, 22)))
            .err(),
        Some(WsaError::InvalidArgument)
    );
    assert_eq!(
        w.a.p
            .send(s2, b"never", MsgFlags::empty(), Some(on(&rec, second, 22))),
        Err(WsaError::InvalidArgument)
    );
    assert_eq!(rec.state(), OpState::Pending);
    assert_eq!(
        rec.op(),
        Some(op),
        "the record still belongs to the first operation"
    );
    assert_eq!(snapshot(&w), before, "nothing sent, nothing notified");

    // The first operation completes normally, once, as it asked (event 1, token 11).
    w.b.p.send(t, b"first", MsgFlags::empty(), None).unwrap();
    w.settle();
    assert_eq!(rec.data(), b"first");
    assert_eq!(w.a.notes.delivered_for(op), 1);
    let n = w.a.notes.delivered_notifications();
    assert_eq!(n.len(), 1);
    assert_eq!((n[0].mode, n[0].user), (first, 11));
    // No "never" reached either peer.
    w.b.p.set_nonblocking(t, true).unwrap();
    w.b.p.set_nonblocking(t2, true).unwrap();
    assert_eq!(
        w.b.p.recv(t, 100, MsgFlags::empty(), None).err(),
        Some(WsaError::WouldBlock)
    );
    assert_eq!(
        w.b.p.recv(t2, 100, MsgFlags::empty(), None).err(),
        Some(WsaError::WouldBlock)
    );
    // Once finished, the record may start a new operation.
    assert_eq!(
        w.a.p
            .recv(s2, 100, MsgFlags::empty(), Some(on(&rec, second, 33)))
            .err(),
        Some(WsaError::IoPending)
    );
    assert_ne!(rec.op(), Some(op));
}

/// S13 (spec §5): the receive flags `MSG_OOB` and `MSG_PARTIAL` are
/// receive flags: a receive with either is not refused (only send-side
/// flags such as `MSG_DONTROUTE` are), blocking, non-blocking and
/// overlapped alike, and it takes the data waiting.
#[test]
fn s13_receive_flags_oob_and_partial_are_not_refused() {
    let w = World::new(3110);
    let (s, t) = w.pair();
    for (i, flags) in [
        MsgFlags::OOB,
        MsgFlags::PARTIAL,
        MsgFlags::OOB | MsgFlags::PARTIAL,
    ]
    .into_iter()
    .enumerate()
    {
        let msg = format!("flags {i}");
        w.b.p
            .send(t, msg.as_bytes(), MsgFlags::empty(), None)
            .unwrap();
        w.settle();
        let got = w.a.p.recv(s, 100, flags, None).map(|r| r.data);
        assert_eq!(got, Ok(msg.into_bytes()), "{flags:?}, blocking");
        let rec = Overlapped::new();
        let r =
            w.a.p
                .recv(s, 100, flags, Some(on(&rec, CompletionMode::Polling, 1)));
        assert_eq!(r.err(), Some(WsaError::IoPending), "{flags:?}, overlapped");
        w.b.p.send(t, b"x", MsgFlags::empty(), None).unwrap();
        w.settle();
        assert_eq!(rec.data(), b"x");
    }
    w.a.p.set_nonblocking(s, true).unwrap();
    assert_eq!(
        w.a.p.recv(s, 100, MsgFlags::PARTIAL, None).err(),
        Some(WsaError::WouldBlock),
        "nothing waits: not refused, would block"
    );
}

/// S13: flags that sends do not support (MSG_PEEK, MSG_PARTIAL, ...) are WSAEOPNOTSUPP and send nothing.
#[test]
fn s13_unsupported_send_flags_are_wsaeopnotsupp() {
    let w = World::new(3105);
    let (s, t) = w.pair();
    let d =
        w.a.p
            .socket(
                AddressFamily::Inet,
                SocketKind::Datagram,
                SocketFlags::OVERLAPPED,
            )
            .unwrap();
    let peer =
        w.b.p
            .socket(
                AddressFamily::Inet,
                SocketKind::Datagram,
                SocketFlags::empty(),
            )
            .unwrap();
    let to = w.b.p.bind(peer, SocketAddr::from((w.b.ip, 0))).unwrap();
    let before = snapshot(&w);
    let bad = [
        MsgFlags::PEEK,
        MsgFlags::PARTIAL,
        MsgFlags::WAITALL,
        MsgFlags::INTERRUPT,
        MsgFlags::PUSH_IMMEDIATE,
        MsgFlags::PEEK | MsgFlags::DONTROUTE,
        MsgFlags::from_bits_retain(0x4000_0000),
    ];
    for flags in bad {
        let rec = Overlapped::new();
        assert_eq!(
            w.a.p.send(s, b"no", flags, None),
            Err(WsaError::OperationNotSupported),
            "{flags:?}"
        );
        assert_eq!(
            w.a.p.send(
                s,
                b"no",
                flags,
                Some(on(&rec, CompletionMode::Event(EventKey(1)), 1))
            ),
            Err(WsaError::OperationNotSupported)
        );
        assert_eq!(
            w.a.p.send_to(d, b"no", to, flags, None),
            Err(WsaError::OperationNotSupported),
            "{flags:?}"
        );
        assert_eq!(
            w.a.p.send_to(
                d,
                b"no",
                to,
                flags,
                Some(on(&rec, CompletionMode::Polling, 2))
            ),
            Err(WsaError::OperationNotSupported)
        );
        assert_idle(&rec);
    }
    // MSG_OOB is for stream sockets only; MSG_DONTROUTE is not a receive flag.
    assert_eq!(
        w.a.p.send_to(d, b"no", to, MsgFlags::OOB, None),
        Err(WsaError::OperationNotSupported)
    );
    assert_eq!(
        w.a.p.recv(s, 10, MsgFlags::DONTROUTE, None).err(),
        Some(WsaError::OperationNotSupported)
    );
    assert_eq!(snapshot(&w), before, "nothing sent, nothing notified");
    // The sockets still work, and MSG_DONTROUTE is accepted on sends.
    assert_eq!(
        w.a.p.send_to(d, b"dgram", to, MsgFlags::DONTROUTE, None),
        Ok(5)
    );
    w.settle();
    w.b.p.set_nonblocking(peer, true).unwrap();
    assert_eq!(
        w.b.p
            .recv_from(peer, 100, MsgFlags::empty(), None)
            .map(|r| r.data),
        Ok(b"dgram".to_vec())
    );
    assert_eq!(w.a.p.send(s, b"stream", MsgFlags::DONTROUTE, None), Ok(6));
    w.a.p.close_socket(s).unwrap();
    w.settle();
    assert_eq!(
        drain(&w.net, &w.b.p, t).unwrap(),
        b"stream",
        "only the accepted send arrived"
    );
}

/// S13: listen on a datagram socket is WSAEOPNOTSUPP and leaves the socket as it was.
#[test]
fn s13_listen_on_a_datagram_socket_is_wsaeopnotsupp() {
    let w = World::new(3106);
    let unbound =
        w.a.p
            .socket(
                AddressFamily::Inet,
                SocketKind::Datagram,
                SocketFlags::empty(),
            )
            .unwrap();
    let d =
        w.a.p
            .socket(
                AddressFamily::Inet,
                SocketKind::Datagram,
                SocketFlags::empty(),
            )
            .unwrap();
    let at = w.a.p.bind(d, SocketAddr::from((w.a.ip, 0))).unwrap();
    let before = snapshot(&w);
    for backlog in [0, 1, 5, u32::MAX] {
        assert_eq!(
            w.a.p.listen(d, backlog),
            Err(WsaError::OperationNotSupported)
        );
        assert_eq!(
            w.a.p.listen(unbound, backlog),
            Err(WsaError::OperationNotSupported)
        );
    }
    assert_eq!(snapshot(&w), before);
    assert_eq!(w.a.p.local_addr(d), Ok(at));
    assert_eq!(
        w.a.p.accept(d).err(),
        Some(WsaError::OperationNotSupported),
        "a datagram socket never accepts (the WSPAccept page: a socket \
         type that does not support accept)"
    );
    // A stream connect to its address is refused: nothing listens there.
    let c = w.b.stream();
    assert_eq!(w.b.p.connect(c, at), Err(WsaError::ConnectionRefused));
    // It still receives datagrams.
    let peer =
        w.b.p
            .socket(
                AddressFamily::Inet,
                SocketKind::Datagram,
                SocketFlags::empty(),
            )
            .unwrap();
    assert_eq!(
        w.b.p.send_to(peer, b"hello", at, MsgFlags::empty(), None),
        Ok(5)
    );
    w.settle();
    w.a.p.set_nonblocking(d, true).unwrap();
    let r = w.a.p.recv_from(d, 100, MsgFlags::empty(), None).unwrap();
    assert_eq!(r.data, b"hello");
    assert_eq!(r.from, w.b.p.local_addr(peer).ok());
}

/// S13: accept on a stream socket that is not listening is WSAEINVAL; on a
/// datagram socket, whose type does not support accept, WSAEOPNOTSUPP (as
/// `listen` on it answers). Neither holds a slot.
#[test]
fn s13_accept_on_a_non_listening_socket_is_wsaeinval() {
    let w = World::new(3107);
    let (s, t) = w.pair();
    let idle = w.a.stream();
    let bound = w.a.stream();
    let at = w.a.p.bind(bound, SocketAddr::from((w.a.ip, 0))).unwrap();
    let d =
        w.a.p
            .socket(
                AddressFamily::Inet,
                SocketKind::Datagram,
                SocketFlags::empty(),
            )
            .unwrap();
    let before = snapshot(&w);
    for (h, want) in [
        (idle, WsaError::InvalidArgument),
        (bound, WsaError::InvalidArgument),
        (s, WsaError::InvalidArgument),
        (d, WsaError::OperationNotSupported),
    ] {
        for _ in 0..3 {
            assert_eq!(w.a.p.accept(h).err(), Some(want), "{h}");
        }
        assert_eq!(
            w.a.p.socket_count(),
            before.sockets.0,
            "the failed accept leaked a slot"
        );
    }
    assert_eq!(snapshot(&w), before);
    still_works(&w, s, t);
    // The bound socket can still become a listener and accept.
    w.a.p.listen(bound, 1).unwrap();
    let c = w.b.stream();
    w.b.p.connect(c, at).unwrap();
    let (n, peer) = w.a.p.accept(bound).unwrap();
    assert_eq!(peer, w.b.p.local_addr(c).unwrap());
    assert_eq!(w.a.p.socket_kind(n), Ok(SocketKind::Stream));
}

/// S13: get_overlapped_result with the record of another socket's operation is WSAEINVAL and changes nothing.
#[test]
fn s13_get_overlapped_result_with_another_sockets_record_is_wsaeinval() {
    let w = World::new(3108);
    let (s1, t1) = w.pair();
    let (s2, _t2) = w.pair();
    let req = event(1);
    let rec = req.overlapped.clone();
    assert_eq!(
        w.a.p.recv(s1, 100, MsgFlags::empty(), Some(req)).err(),
        Some(WsaError::IoPending)
    );
    let before = snapshot(&w);
    for wait in [false, true] {
        assert_eq!(
            w.a.p.get_overlapped_result(s2, &rec, wait),
            Err(WsaError::InvalidArgument)
        );
    }
    // A record that never started an operation belongs to no socket.
    let unused = Overlapped::new();
    assert_eq!(
        w.a.p.get_overlapped_result(s1, &unused, false),
        Err(WsaError::InvalidArgument)
    );
    assert_idle(&unused);
    assert_eq!(rec.state(), OpState::Pending);
    assert_eq!(snapshot(&w), before);
    // On its own socket: incomplete, then the result.
    assert_eq!(
        w.a.p.get_overlapped_result(s1, &rec, false),
        Err(WsaError::IoIncomplete)
    );
    w.b.p.send(t1, b"result", MsgFlags::empty(), None).unwrap();
    w.settle();
    assert_eq!(
        w.a.p
            .get_overlapped_result(s1, &rec, false)
            .map(|o| o.bytes),
        Ok(6)
    );
    assert_eq!(
        w.a.p.get_overlapped_result(s2, &rec, false),
        Err(WsaError::InvalidArgument)
    );
    assert_eq!(w.a.notes.delivered_for(rec.op().unwrap()), 1);
}

/// S13: waiting on a record whose completion is not event-based is WSAEINVAL, without waiting or touching the operation.
#[test]
fn s13_waiting_on_a_non_event_record_is_wsaeinval() {
    let w = World::new(3109);
    let (s, t) = w.pair();
    let req = ov(CompletionMode::Routine {
        thread: APP,
        routine: 0x99,
    });
    let rec = req.overlapped.clone();
    assert_eq!(
        w.a.p.recv(s, 100, MsgFlags::empty(), Some(req)).err(),
        Some(WsaError::IoPending)
    );
    let now = w.net.now();
    let before = snapshot(&w);
    assert_eq!(
        w.a.p.get_overlapped_result(s, &rec, true),
        Err(WsaError::InvalidArgument)
    );
    assert_eq!(w.net.now(), now, "no wait");
    assert_eq!(rec.state(), OpState::Pending);
    assert_eq!(snapshot(&w), before);
    w.b.p.send(t, b"r", MsgFlags::empty(), None).unwrap();
    w.settle();
    assert_eq!(w.a.notes.take_routines(APP).len(), 1);
}

/// S13: cancel_blocking_call with no blocking call is WSAEINVAL and leaves overlapped operations pending.
#[test]
fn s13_cancel_blocking_call_with_nothing_blocked_is_wsaeinval() {
    let w = World::new(3110);
    let (s, t) = w.pair();
    let req = event(1);
    let rec = req.overlapped.clone();
    assert_eq!(
        w.a.p.recv(s, 100, MsgFlags::empty(), Some(req)).err(),
        Some(WsaError::IoPending)
    );
    let before = snapshot(&w);
    assert_eq!(w.a.p.cancel_blocking_call(), Err(WsaError::InvalidArgument));
    assert_eq!(
        rec.state(),
        OpState::Pending,
        "an overlapped operation is not a blocking call"
    );
    assert_eq!(snapshot(&w), before);
    w.b.p.send(t, b"ok", MsgFlags::empty(), None).unwrap();
    w.settle();
    assert_eq!(rec.data(), b"ok");
}

/// S13: making a socket blocking again after event_select is WSAEINVAL; it stays non-blocking and registered.
#[test]
fn s13_blocking_mode_after_event_select_is_wsaeinval() {
    let w = World::new(3111);
    let (s, t) = w.pair();
    w.a.p.event_select(s, EventKey(7), FdEvents::READ).unwrap();
    let before = snapshot(&w);
    assert_eq!(
        w.a.p.set_nonblocking(s, false),
        Err(WsaError::InvalidArgument)
    );
    assert_eq!(w.a.p.is_nonblocking(s), Ok(true));
    assert_eq!(snapshot(&w), before);
    // Still registered: data sets the event.
    w.b.p.send(t, b"ev", MsgFlags::empty(), None).unwrap();
    w.settle();
    assert!(
        w.a.notes
            .network_events()
            .iter()
            .any(|e| e.socket == s && e.event == EventKey(7))
    );
    assert_eq!(
        w.a.p.recv(s, 10, MsgFlags::empty(), None).map(|r| r.data),
        Ok(b"ev".to_vec())
    );
}

/// S13: connect on a listening socket is WSAEINVAL; the listener keeps listening.
#[test]
fn s13_connect_on_a_listening_socket_is_wsaeinval() {
    let w = World::new(3112);
    let l = w.a.stream();
    let at = w.a.p.bind(l, SocketAddr::from((w.a.ip, 0))).unwrap();
    w.a.p.listen(l, 2).unwrap();
    let other = w.b.stream();
    let other_at = w.b.p.bind(other, SocketAddr::from((w.b.ip, 0))).unwrap();
    w.b.p.listen(other, 1).unwrap();
    let before = snapshot(&w);
    assert_eq!(w.a.p.connect(l, other_at), Err(WsaError::InvalidArgument));
    assert_eq!(snapshot(&w), before);
    w.b.p.set_nonblocking(other, true).unwrap();
    assert_eq!(
        w.b.p.accept(other).err(),
        Some(WsaError::WouldBlock),
        "no connection was made"
    );
    let c = w.b.stream();
    w.b.p.connect(c, at).unwrap();
    assert!(w.a.p.accept(l).is_ok());
}

/// S13, S9: overlapped calls that fail at once (no destination, not bound, not connected, reset) start nothing, are never notified, and leave the record reusable.
#[test]
fn s13_overlapped_calls_that_fail_at_once_are_never_notified() {
    let w = World::new(3113);
    let d =
        w.a.p
            .socket(
                AddressFamily::Inet,
                SocketKind::Datagram,
                SocketFlags::OVERLAPPED,
            )
            .unwrap();
    let unconnected = w.a.stream();
    let (s, t) = w.pair();
    // The peer resets the connection.
    w.b.p
        .set_linger(
            t,
            Linger {
                on: true,
                seconds: 0,
            },
        )
        .unwrap();
    w.b.p.close_socket(t).unwrap();
    let before = snapshot(&w);
    let rec = Overlapped::new();
    let mode = CompletionMode::Event(EventKey(1));
    let cases: Vec<(&str, Result<(), WsaError>, WsaError)> = vec![
        (
            "send on an unconnected datagram socket",
            w.a.p
                .send(d, b"x", MsgFlags::empty(), Some(on(&rec, mode, 1)))
                .map(drop),
            WsaError::DestinationRequired,
        ),
        (
            "recv on an unbound datagram socket",
            w.a.p
                .recv(d, 10, MsgFlags::empty(), Some(on(&rec, mode, 2)))
                .map(drop),
            WsaError::InvalidArgument,
        ),
        (
            "send on an unconnected stream",
            w.a.p
                .send(
                    unconnected,
                    b"x",
                    MsgFlags::empty(),
                    Some(on(&rec, mode, 3)),
                )
                .map(drop),
            WsaError::NotConnected,
        ),
        (
            "recv on an unconnected stream",
            w.a.p
                .recv(unconnected, 10, MsgFlags::empty(), Some(on(&rec, mode, 4)))
                .map(drop),
            WsaError::NotConnected,
        ),
        (
            "send on a reset connection",
            w.a.p
                .send(s, b"x", MsgFlags::empty(), Some(on(&rec, mode, 5)))
                .map(drop),
            WsaError::ConnectionReset,
        ),
        (
            "recv on a reset connection",
            w.a.p
                .recv(s, 10, MsgFlags::empty(), Some(on(&rec, mode, 6)))
                .map(drop),
            WsaError::ConnectionReset,
        ),
    ];
    for (what, got, want) in cases {
        assert_eq!(got, Err(want), "{what}");
    }
    assert_idle(&rec);
    assert_eq!(snapshot(&w), before, "nothing notified, nothing leaked");
    // The record is free for a real operation.
    let peer =
        w.b.p
            .socket(
                AddressFamily::Inet,
                SocketKind::Datagram,
                SocketFlags::empty(),
            )
            .unwrap();
    let at = w.b.p.bind(peer, SocketAddr::from((w.b.ip, 0))).unwrap();
    assert_eq!(
        w.a.p
            .send_to(d, b"dgram", at, MsgFlags::empty(), Some(on(&rec, mode, 7))),
        Ok(5)
    );
    assert_eq!(
        w.a.notes.delivered_for(rec.op().unwrap()),
        1,
        "S9: an immediate success is still notified"
    );
}

/// S13: more overlapped operations than max_pending_per_socket is WSAEWOULDBLOCK and leaves the pending ones alone.
#[test]
fn s13_too_many_pending_operations_is_wsaewouldblock() {
    let config = ProviderConfig {
        max_pending_per_socket: 2,
        ..Default::default()
    };
    let w = World::with_config(3114, config);
    let (s, t) = w.pair();
    let first = event(1);
    let second = event(2);
    let (r1, r2) = (first.overlapped.clone(), second.overlapped.clone());
    assert_eq!(
        w.a.p.recv(s, 100, MsgFlags::empty(), Some(first)).err(),
        Some(WsaError::IoPending)
    );
    assert_eq!(
        w.a.p.recv(s, 100, MsgFlags::empty(), Some(second)).err(),
        Some(WsaError::IoPending)
    );
    let before = snapshot(&w);
    let third = Overlapped::new();
    assert_eq!(
        w.a.p
            .recv(
                s,
                100,
                MsgFlags::empty(),
                Some(on(&third, CompletionMode::Event(EventKey(3)), 3))
            )
            .err(),
        Some(WsaError::WouldBlock)
    );
    assert_eq!(
        w.a.p.send(
            s,
            b"x",
            MsgFlags::empty(),
            Some(on(&third, CompletionMode::Event(EventKey(3)), 3))
        ),
        Err(WsaError::WouldBlock)
    );
    assert_idle(&third);
    assert_eq!(snapshot(&w), before);
    assert_eq!(
        (r1.state(), r2.state()),
        (OpState::Pending, OpState::Pending)
    );
    w.b.p.send(t, b"1", MsgFlags::empty(), None).unwrap();
    w.settle();
    w.b.p.send(t, b"2", MsgFlags::empty(), None).unwrap();
    w.settle();
    assert_eq!((r1.data(), r2.data()), (b"1".to_vec(), b"2".to_vec()));
    // Room again.
    assert_eq!(
        w.a.p
            .recv(
                s,
                100,
                MsgFlags::empty(),
                Some(on(&third, CompletionMode::Event(EventKey(3)), 3))
            )
            .err(),
        Some(WsaError::IoPending)
    );
}

/// S13: a connect refused at once (a wildcard peer) and failed binds
/// change nothing: the socket stays unconnected and unbound, and works
/// afterwards. A connect the peer refuses (`WSAECONNREFUSED`, after the
/// attempt started) leaves it unconnected, bound by the attempt as
/// Windows binds it, and able to connect again.
#[test]
fn s13_failed_connect_and_bind_change_nothing() {
    let w = World::new(3115);
    let s = w.a.stream();
    let before = snapshot(&w);
    assert_eq!(
        w.a.p.connect(s, SocketAddr::from(([0, 0, 0, 0], 4444))),
        Err(WsaError::AddressNotAvailable)
    );
    assert_eq!(
        w.a.p.bind(s, SocketAddr::from((w.b.ip, 0))).err(),
        Some(WsaError::AddressNotAvailable),
        "not this node's address"
    );
    assert_eq!(snapshot(&w), before);
    assert!(
        w.a.p.local_addr(s).is_err(),
        "the refused connect bound nothing"
    );
    assert_eq!(
        w.a.p.shutdown(s, 1),
        Err(WsaError::NotConnected),
        "and connected nothing"
    );
    assert_eq!(
        w.a.p.send(s, b"x", MsgFlags::empty(), None),
        Err(WsaError::NotConnected)
    );
    let refused = w.a.stream();
    let nobody = SocketAddr::from((w.b.ip, 4444));
    assert_eq!(
        w.a.p.connect(refused, nobody),
        Err(WsaError::ConnectionRefused)
    );
    assert!(w.a.p.local_addr(refused).is_ok(), "bound by the attempt");
    assert_eq!(w.a.p.peer_addr(refused), Err(WsaError::NotConnected));
    assert_eq!(
        w.a.p.connect(refused, nobody),
        Err(WsaError::ConnectionRefused)
    );
    // Bind once; a second bind is WSAEINVAL and keeps the first address.
    let at = w.a.p.bind(s, SocketAddr::from((w.a.ip, 0))).unwrap();
    assert_eq!(
        w.a.p.bind(s, SocketAddr::from((w.a.ip, 0))).err(),
        Some(WsaError::InvalidArgument)
    );
    assert_eq!(w.a.p.local_addr(s), Ok(at));
    // And it connects to a real listener.
    let l = w.b.stream();
    let port = w.b.p.bind(l, SocketAddr::from((w.b.ip, 0))).unwrap().port();
    w.b.p.listen(l, 1).unwrap();
    w.a.p.connect(s, SocketAddr::from((w.b.ip, port))).unwrap();
    let (t, peer) = w.b.p.accept(l).unwrap();
    assert_eq!(peer, at);
    still_works(&w, s, t);
}
