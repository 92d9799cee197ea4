//! `WSPSelect` over the provider's own sockets (spec §13): what each set
//! reports, the timeout (none: wait; zero: poll), and the blocking select
//! as a blocking call (a close of one of its sockets, the final cleanup:
//! WSAEINTR, S6b).

mod common;

use common::{World, finish, in_thread, wait_pending};
use std::net::SocketAddr;
use std::time::Duration;
use winsock_provider::{MsgFlags, SelectSets, SocketHandle, ThreadKey, WsaError};

const POLL: Option<Duration> = Some(Duration::ZERO);

fn sets(read: &[SocketHandle], write: &[SocketHandle], except: &[SocketHandle]) -> SelectSets {
    SelectSets {
        read: read.to_vec(),
        write: write.to_vec(),
        except: except.to_vec(),
    }
}

/// Spec §13: an unconnected stream is in no set; a connected one is
/// writable; readable once data waits, and once the peer closed (the
/// receive would return at once); a listener is readable while a
/// connection waits.
#[test]
fn spec13_each_set_reports_what_its_table_says() {
    let w = World::new(1301);
    let lone = w.a.stream();
    assert_eq!(
        w.a.p
            .select(&sets(&[lone], &[lone], &[lone]), POLL)
            .unwrap()
            .count(),
        0
    );
    let (s, t) = w.pair();
    assert_eq!(
        w.a.p.select(&sets(&[s], &[s], &[s]), POLL).unwrap(),
        sets(&[], &[s], &[])
    );
    w.b.p.send(t, b"data", MsgFlags::empty(), None).unwrap();
    w.settle();
    assert_eq!(
        w.a.p.select(&sets(&[s], &[s], &[]), POLL).unwrap(),
        sets(&[s], &[s], &[])
    );
    w.a.p.recv(s, 10, MsgFlags::empty(), None).unwrap();
    assert_eq!(
        w.a.p.select(&sets(&[s], &[], &[]), POLL).unwrap().count(),
        0
    );
    w.b.p.close_socket(t).unwrap();
    w.settle();
    assert_eq!(
        w.a.p.select(&sets(&[s], &[], &[]), POLL).unwrap(),
        sets(&[s], &[], &[]),
        "closed: readable"
    );

    let l = w.a.stream();
    let at = w.a.p.bind(l, SocketAddr::from((w.a.ip, 0))).unwrap();
    w.a.p.listen(l, 2).unwrap();
    assert_eq!(
        w.a.p.select(&sets(&[l], &[], &[]), POLL).unwrap().count(),
        0
    );
    let c = w.b.stream();
    w.b.p.set_nonblocking(c, true).unwrap();
    let _ = w.b.p.connect(c, at);
    w.settle();
    assert_eq!(
        w.a.p.select(&sets(&[l], &[], &[]), POLL).unwrap(),
        sets(&[l], &[], &[])
    );
}

/// Spec §13 ([W]): a failed non-blocking connect is in the except set, on
/// later selects too; a successful one makes the socket writable.
#[test]
fn spec13_a_failed_non_blocking_connect_is_an_exception() {
    let w = World::new(1302);
    let s = w.a.stream();
    w.a.p.set_nonblocking(s, true).unwrap();
    let nobody = SocketAddr::from((w.b.ip, 4999));
    assert_eq!(w.a.p.connect(s, nobody), Err(WsaError::WouldBlock));
    w.settle();
    for _ in 0..2 {
        assert_eq!(
            w.a.p.select(&sets(&[], &[s], &[s]), POLL).unwrap(),
            sets(&[], &[], &[s])
        );
    }
}

/// Spec §13: a socket in two sets counts twice; one listed twice is
/// reported once; every set empty is WSAEINVAL; an entry that is not an
/// open socket is WSAENOTSOCK.
#[test]
fn spec13_counting_repeats_and_refusals() {
    let w = World::new(1303);
    let (s, t) = w.pair();
    w.b.p.send(t, b"x", MsgFlags::empty(), None).unwrap();
    w.settle();
    let r = w.a.p.select(&sets(&[s, s], &[s], &[]), POLL).unwrap();
    assert_eq!((r.read.len(), r.write.len(), r.count()), (1, 1, 2));
    assert_eq!(
        w.a.p.select(&SelectSets::default(), POLL),
        Err(WsaError::InvalidArgument)
    );
    let gone = w.a.stream();
    w.a.p.close_socket(gone).unwrap();
    assert_eq!(
        w.a.p.select(&sets(&[s, gone], &[], &[]), POLL),
        Err(WsaError::NotSocket)
    );
}

/// Spec §13: a select with a timeout waits for it (virtual time) and
/// reports nothing; without one it waits until something is ready.
#[test]
fn spec13_a_blocking_select_waits_for_data_or_its_timeout() {
    let w = World::new(1304);
    let (s, t) = w.pair();
    let before = w.net.now();
    let r =
        w.a.p
            .select(&sets(&[s], &[], &[]), Some(Duration::from_millis(250)))
            .unwrap();
    assert_eq!(r.count(), 0);
    assert!(
        w.net.now() - before >= Duration::from_millis(250),
        "it waited its timeout"
    );

    let p = w.a.p.clone();
    let waiting = in_thread(ThreadKey(71), move || p.select(&sets(&[s], &[], &[]), None));
    wait_pending(&w.a.p, &[s], 1, "the blocking select");
    w.b.p.send(t, b"wake", MsgFlags::empty(), None).unwrap();
    assert_eq!(
        finish(&waiting, "blocking select"),
        Ok(sets(&[s], &[], &[]))
    );
    assert_eq!(
        w.a.p.pending_operations(s),
        Ok(0),
        "nothing left registered"
    );
}

/// Spec §13, S7: a close of a socket in a blocking select's sets (another
/// thread) ends it with WSAEINTR, the first socket or another.
#[test]
fn spec13_a_close_of_one_of_its_sockets_interrupts_a_blocking_select() {
    for closed_first in [true, false] {
        let w = World::new(1305);
        let (s, _t) = w.pair();
        let (u, _v) = w.pair();
        let p = w.a.p.clone();
        let waiting = in_thread(ThreadKey(72), move || {
            p.select(&sets(&[s, u], &[], &[]), None)
        });
        wait_pending(&w.a.p, &[s], 1, "the blocking select");
        w.a.p
            .close_socket(if closed_first { s } else { u })
            .unwrap();
        assert_eq!(
            finish(&waiting, "interrupted select"),
            Err(WsaError::Interrupted)
        );
    }
}

/// S6b: the final cleanup ends a blocking select with WSAEINTR and counts
/// it among the blocked calls it interrupted.
#[test]
fn s6b_the_final_cleanup_interrupts_a_blocking_select() {
    let w = World::new(1306);
    let (s, _t) = w.pair();
    let p = w.a.p.clone();
    let waiting = in_thread(ThreadKey(73), move || p.select(&sets(&[s], &[], &[]), None));
    wait_pending(&w.a.p, &[s], 1, "the blocking select");
    let report = match w.a.p.cleanup().unwrap() {
        winsock_provider::CleanupOutcome::Final(r) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        finish(&waiting, "select at the final cleanup"),
        Err(WsaError::Interrupted)
    );
    assert_eq!(report.blocked_calls_interrupted, 1);
}
