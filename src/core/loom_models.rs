//! Loom models of the core's synchronisation (run with
//! `RUSTFLAGS="--cfg loom" cargo test --release --lib loom`).

use super::error::WsaError;
use super::gate::Gate;
use super::handle::{OpId, SocketHandle};
use super::notifier::Outcome;
use super::op::{OpState, Overlapped};
use super::table::Table;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::thread;

fn op() -> OpId {
    OpId {
        socket: SocketHandle::new(0, 1),
        seq: 1,
    }
}

/// S6f, S4: once the final cleanup has closed the gate and seen the count at
/// zero, no call is inside and none can get in.
#[test]
fn loom_s6f_rundown_sees_every_call_out() {
    loom::model(|| {
        let gate = Arc::new(Gate::default());
        gate.open();
        let inside = Arc::new(AtomicBool::new(false));
        let caller = {
            let (gate, inside) = (gate.clone(), inside.clone());
            thread::spawn(move || {
                if gate.enter_on(1).is_ok() {
                    inside.store(true, Ordering::SeqCst);
                    inside.store(false, Ordering::SeqCst);
                    gate.leave(1);
                }
            })
        };
        gate.close();
        while gate.inside() != 0 {
            thread::yield_now();
        }
        assert!(
            !inside.load(Ordering::SeqCst),
            "a call is inside after rundown"
        );
        assert_eq!(gate.enter_on(0), Err(WsaError::NotInitialised));
        caller.join().unwrap();
    });
}

/// S10: a completion racing an abort resolves to exactly one outcome.
#[test]
fn loom_s10_completion_races_abort_one_outcome() {
    loom::model(|| {
        let ov = Overlapped::new();
        ov.begin(op(), None).unwrap();
        let completer = {
            let ov = ov.clone();
            thread::spawn(move || {
                ov.finish(
                    OpState::Completing,
                    Outcome {
                        bytes: 3,
                        ..Outcome::default()
                    },
                    vec![1, 2, 3],
                    None,
                )
            })
        };
        let aborted = ov.finish(
            OpState::AbortedSilent,
            Outcome::failed(WsaError::OperationAborted),
            vec![],
            None,
        );
        let completed = completer.join().unwrap();
        assert!(aborted ^ completed, "exactly one transition out of Pending");
        let o = ov.outcome().unwrap();
        if aborted {
            assert_eq!(ov.state(), OpState::AbortedSilent);
            assert_eq!(o.error, Some(WsaError::OperationAborted));
        } else {
            assert_eq!(o.bytes, 3);
        }
    });
}

/// S6h, S14: a lookup racing a close and the slot's reuse by a new socket
/// sees the old socket or nothing, never the new one under the old handle;
/// the new handle finds the new socket.
#[test]
fn loom_s6h_a_stale_lookup_racing_reuse_never_sees_the_new_socket() {
    loom::model(|| {
        let table = Arc::new(Table::<u32>::new(1));
        let old = table.reserve().unwrap();
        table.install(old, 1);
        let closer = {
            let table = table.clone();
            thread::spawn(move || {
                assert_eq!(table.remove(old), Some(1));
                let new = table.reserve().unwrap();
                table.install(new, 2);
                new
            })
        };
        let seen = table.with(old, |v| *v);
        assert!(
            seen == Ok(1) || seen == Err(WsaError::NotSocket),
            "the old handle saw {seen:?}"
        );
        let new = closer.join().unwrap();
        assert_eq!(new.index(), old.index(), "the slot was reused");
        assert_eq!(table.with(new, |v| *v), Ok(2));
        assert_eq!(table.with(old, |v| *v), Err(WsaError::NotSocket));
        assert_eq!(table.len(), 1);
    });
}

/// S6f, S6h: an install made late (by a call that was blocked when the
/// final cleanup released its reservation) racing the release and a new
/// reservation of the same slot: either the install came first and the
/// socket is live (the cleanup's second sweep resets it), or it is dropped
/// and the new reservation stands. Never the old value under the new
/// handle, and the count stays right.
#[test]
fn loom_s6h_a_late_install_racing_a_new_reservation_is_dropped() {
    loom::model(|| {
        let table = Arc::new(Table::<u32>::new(1));
        let old = table.reserve().unwrap();
        let late = {
            let table = table.clone();
            thread::spawn(move || table.install(old, 1))
        };
        table.release_reserved();
        let new = table.reserve();
        late.join().unwrap();
        match new {
            Ok(new) => {
                assert_eq!(
                    table.with(new, |v| *v),
                    Err(WsaError::NotSocket),
                    "still reserved"
                );
                assert_eq!(table.with(old, |v| *v), Err(WsaError::NotSocket));
                table.install(new, 2);
                assert_eq!(table.with(new, |v| *v), Ok(2));
            }
            Err(e) => {
                assert_eq!(e, WsaError::TooManySockets);
                assert_eq!(table.with(old, |v| *v), Ok(1), "the install came first");
            }
        }
        assert_eq!(table.len(), 1);
    });
}

/// S13, S14: two threads reserving the last slots get different handles,
/// a third finds the table full, and the count is exact.
#[test]
fn loom_s13_racing_reservations_share_no_slot() {
    loom::model(|| {
        let table = Arc::new(Table::<u32>::new(2));
        let other = {
            let table = table.clone();
            thread::spawn(move || table.reserve())
        };
        let mine = table.reserve().unwrap();
        let theirs = other.join().unwrap().unwrap();
        assert_ne!(mine.index(), theirs.index());
        assert_eq!(table.reserve(), Err(WsaError::TooManySockets));
        assert_eq!(table.len(), 2);
    });
}
