//! The state of one operation, and the `Overlapped` record an application
//! reads its result from.
//!
//! Every accepted operation moves through an explicit state machine, and the
//! only way out of [`OpState::Pending`] is a single transition made under the
//! record's lock. That is what makes "exactly one terminal outcome" (S10) hold
//! when a completion from the transport races a close or the final cleanup:
//! whichever comes second finds the operation no longer pending and does nothing.
//!
//! ```text
//!   Idle ──begin──▶ Pending ──finish──▶ Completing ──delivered──▶ Delivered
//!                      │
//!                      ├──abort (close, S7)──────────▶ AbortedNotified
//!                      └──abort (final cleanup, S6c)─▶ AbortedSilent
//! ```

use super::error::WsaError;
use super::handle::{OpId, SocketHandle};
use super::notifier::{CompletionMode, Outcome};
use crate::sync::{Arc, Mutex, MutexGuard, lock};
use std::net::SocketAddr;

/// Where an operation is in its life. The only way out of `Pending` is a
/// single transition made under the record's lock: a completion racing a
/// close or the final cleanup finds the operation no longer pending and
/// does nothing, so every operation has exactly one terminal outcome (S10).
///
/// ```text
///   Idle ──begin──▶ Pending ──finish──▶ Completing ──delivered──▶ Delivered
///                      │
///                      ├──abort (close, S7)──────────▶ AbortedNotified
///                      └──abort (final cleanup, S6c)─▶ AbortedSilent
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum OpState {
    /// Never used, or reset by a call that failed before it was accepted.
    Idle,
    /// Accepted and not finished (`WSA_IO_PENDING`; in progress, `0x103`).
    Pending,
    /// Finished; its notification is being delivered.
    Completing,
    /// Finished and its notification delivered (or, for a blocking call,
    /// returned to the caller).
    Delivered,
    /// Aborted by a close (S7): `WSA_OPERATION_ABORTED`, notification delivered.
    /// A blocking call interrupted by a close or a cancel ends here too, with
    /// `WSAEINTR` and no notification.
    AbortedNotified,
    /// Aborted by the final cleanup (S6b, S6c) or a process exit (S11): the
    /// status is recorded and nobody is told.
    AbortedSilent,
}

impl OpState {
    /// Whether the operation has its final status.
    pub fn is_terminal(self) -> bool {
        !matches!(self, OpState::Idle | OpState::Pending)
    }
}

#[derive(Debug)]
struct Record {
    state: OpState,
    op: Option<OpId>,
    mode: Option<CompletionMode>,
    outcome: Outcome,
    data: Vec<u8>,
    from: Option<SocketAddr>,
    /// The local address of a socket an `AcceptEx` filled.
    local: Option<SocketAddr>,
    /// The socket the call was made on: an `AcceptEx` whose receive moved
    /// the operation to the accepted socket is still the listener's to
    /// ask about (`WSPGetOverlappedResult`).
    posted_on: Option<SocketHandle>,
}

/// The record of an overlapped operation, as `WSAOVERLAPPED` is for the SPI:
/// the application creates one, passes it with the call, and reads the status
/// from it later. The provider writes the status even when the rules forbid
/// telling the application (S6c), so a reader always finds it.
///
/// Cloning gives another handle to the same record.
///
/// ```
/// use winsock_provider::{Overlapped, OpState};
/// let ov = Overlapped::new();
/// assert_eq!(ov.state(), OpState::Idle);
/// assert_eq!(ov.outcome(), None);
/// ```
#[derive(Clone, Debug)]
pub struct Overlapped {
    record: Arc<Mutex<Record>>,
}

impl Default for Overlapped {
    fn default() -> Self {
        Self::new()
    }
}

impl Overlapped {
    /// A fresh, idle record.
    pub fn new() -> Self {
        Overlapped {
            record: Arc::new(Mutex::new(Record {
                state: OpState::Idle,
                op: None,
                mode: None,
                outcome: Outcome::default(),
                data: Vec::new(),
                from: None,
                local: None,
                posted_on: None,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Record> {
        lock!(self.record)
    }

    /// The current state.
    pub fn state(&self) -> OpState {
        self.lock().state
    }

    /// The operation this record belongs to, once one was accepted.
    pub fn op(&self) -> Option<OpId> {
        self.lock().op
    }

    /// The terminal status, or `None` while idle or pending. This is what a
    /// `WSPGetOverlappedResult`-style reader finds (S6c).
    pub fn outcome(&self) -> Option<Outcome> {
        let r = self.lock();
        r.state.is_terminal().then(|| r.outcome.clone())
    }

    /// The bytes a completed receive took.
    pub fn data(&self) -> Vec<u8> {
        self.lock().data.clone()
    }

    /// The sender of a completed datagram receive; the peer of an
    /// accept.
    pub fn from(&self) -> Option<SocketAddr> {
        self.lock().from
    }

    /// The local address of the socket an `AcceptEx` filled.
    pub fn local(&self) -> Option<SocketAddr> {
        self.lock().local
    }

    /// Keeps the local address of the socket an `AcceptEx` filled (before
    /// its completion is told).
    pub(crate) fn set_local(&self, local: Option<SocketAddr>) {
        self.lock().local = local;
    }

    pub(crate) fn mode(&self) -> Option<CompletionMode> {
        self.lock().mode
    }

    /// Idle or terminal → Pending. A record still pending or completing is in
    /// use by another operation: `WSAEINVAL` (one record per outstanding call).
    pub(crate) fn begin(&self, op: OpId, mode: Option<CompletionMode>) -> Result<(), WsaError> {
        let mut r = self.lock();
        if matches!(r.state, OpState::Pending | OpState::Completing) {
            return Err(WsaError::InvalidArgument);
        }
        *r = Record {
            state: OpState::Pending,
            op: Some(op),
            mode,
            outcome: Outcome::default(),
            data: Vec::new(),
            from: None,
            local: None,
            posted_on: Some(op.socket),
        };
        Ok(())
    }

    /// Pending → Idle, for a call that failed before it was accepted (S9: it
    /// never completes and is never notified).
    pub(crate) fn reject(&self) {
        let mut r = self.lock();
        if r.state == OpState::Pending {
            r.state = OpState::Idle;
            r.op = None;
        }
    }

    /// Pending → `to` with `outcome`. Returns false, changing nothing, when the
    /// operation already left `Pending`: the single exit of S10.
    pub(crate) fn finish(
        &self,
        to: OpState,
        outcome: Outcome,
        data: Vec<u8>,
        from: Option<SocketAddr>,
    ) -> bool {
        debug_assert!(to.is_terminal());
        let mut r = self.lock();
        if r.state != OpState::Pending {
            return false;
        }
        r.state = to;
        r.outcome = outcome;
        r.data = data;
        // An AcceptEx that goes on as a receive keeps the peer it was
        // given when it moved (`move_to`).
        if from.is_some() {
            r.from = from;
        }
        true
    }

    /// Whether the call was made on `s` (the socket of its id, or the one
    /// it was posted on before it moved).
    pub(crate) fn is_of(&self, s: SocketHandle) -> bool {
        let r = self.lock();
        r.op.is_some_and(|op| op.socket == s) || r.posted_on == Some(s)
    }

    /// A pending operation that goes on under another id (an `AcceptEx`
    /// whose receive runs on the accepted socket), with the peer it
    /// accepted. False, changing nothing, when it is no longer pending.
    pub(crate) fn move_to(&self, op: OpId, from: Option<SocketAddr>) -> bool {
        let mut r = self.lock();
        if r.state != OpState::Pending {
            return false;
        }
        r.op = Some(op);
        r.from = from;
        true
    }

    /// Completing → Delivered, once the notifier has been called.
    pub(crate) fn mark_delivered(&self) {
        let mut r = self.lock();
        if r.state == OpState::Completing {
            r.state = OpState::Delivered;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::handle::SocketHandle;

    fn op() -> OpId {
        OpId {
            socket: SocketHandle::new(0, 1),
            seq: 1,
        }
    }

    /// S10: the first terminal transition wins, a racing second one changes nothing.
    #[test]
    fn s10_only_the_first_transition_out_of_pending_counts() {
        let ov = Overlapped::new();
        ov.begin(op(), None).unwrap();
        assert!(ov.finish(
            OpState::AbortedNotified,
            Outcome::failed(WsaError::OperationAborted),
            vec![],
            None
        ));
        assert!(!ov.finish(
            OpState::Completing,
            Outcome {
                bytes: 5,
                ..Outcome::default()
            },
            vec![1; 5],
            None
        ));
        assert_eq!(ov.state(), OpState::AbortedNotified);
        assert_eq!(
            ov.outcome().unwrap().error,
            Some(WsaError::OperationAborted)
        );
    }

    #[test]
    fn a_record_in_use_cannot_start_another_operation() {
        let ov = Overlapped::new();
        ov.begin(op(), None).unwrap();
        assert_eq!(ov.begin(op(), None), Err(WsaError::InvalidArgument));
        ov.reject();
        assert_eq!(ov.state(), OpState::Idle);
        ov.begin(op(), None).unwrap();
    }
}
