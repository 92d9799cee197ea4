//! Loom models of the core's synchronisation (run with
//! `RUSTFLAGS="--cfg loom" cargo test --release --lib loom`).

use super::error::WsaError;
use super::gate::Gate;
use super::handle::{OpId, SocketHandle};
use super::notifier::Outcome;
use super::op::{OpState, Overlapped};
use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::thread;

fn op() -> OpId {
    OpId {
        socket: SocketHandle::from_raw(1 << 24 | 1),
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
