//! `WSPCleanup`: non-final (S5) and final (S6 a-i).

use super::error::WsaError;
use super::provider::Provider;
use super::transport::{CloseKind, HandOffRefused, Transport};
use super::waiter::Waiter;
use crate::sync::lock;
use std::fmt;

/// What a successful cleanup did.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum CleanupOutcome {
    /// S5: a non-final cleanup; this many startups remain.
    Decremented {
        /// Startups still in force.
        remaining: u32,
    },
    /// S6: the final cleanup ran to the end.
    Final(FinalCleanupReport),
}

/// What the final cleanup found and did, step by step (S6).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct FinalCleanupReport {
    /// S6b: blocking calls interrupted with `WSAEINTR`.
    pub blocked_calls_interrupted: usize,
    /// S6b: event-select registrations dropped without a signal.
    pub registrations_dropped: usize,
    /// S6c: overlapped operations aborted with no notification.
    pub operations_aborted: usize,
    /// S6d: open sockets reset.
    pub sockets_reset: usize,
    /// S6g: closed sockets whose unsent data was handed to the transport.
    pub draining_handed_off: usize,
    /// S6g: closed sockets the cleanup waited for until their data had gone.
    pub draining_finished: usize,
    /// S6g, S6i: closed sockets whose unsent data could not leave.
    pub lost_sockets: usize,
    /// S6g, S6i: the bytes of those sockets.
    pub lost_bytes: usize,
}

/// A cleanup that failed. For a final cleanup the work is still done (S6i):
/// the count is zero and everything is freed; `report` says what was lost.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CleanupError {
    /// `WSANOTINITIALISED` (no startup in force) or `WSAENETDOWN` (data of
    /// closed sockets could not leave the node: the network is down, or the
    /// drain deadline passed).
    pub error: WsaError,
    /// The final cleanup's report, when it ran.
    pub report: Option<FinalCleanupReport>,
}

impl fmt::Display for CleanupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.report {
            Some(r) => write!(
                f,
                "{}; final cleanup done, {} bytes of {} closed sockets lost",
                self.error, r.lost_bytes, r.lost_sockets
            ),
            None => write!(f, "{}", self.error),
        }
    }
}

impl std::error::Error for CleanupError {}

impl<T: Transport + 'static, W: Waiter + 'static> Provider<T, W> {
    /// `WSPCleanup`. With no startup in force: `WSANOTINITIALISED`. A
    /// non-final cleanup only decrements (S5). The final one runs S6 a-h in
    /// order and returns only when the provider could be unloaded.
    pub fn cleanup(&self) -> Result<CleanupOutcome, CleanupError> {
        let _span = tracing::debug_span!(target: "winsock_provider", "cleanup").entered();
        let mut lc = self.inner.lifecycle();
        match lc.count {
            0 => Err(CleanupError {
                error: WsaError::NotInitialised,
                report: None,
            }),
            1 => {
                let report = self.final_cleanup();
                lc.count = 0;
                tracing::debug!(
                    target: "winsock_provider",
                    blocked_calls_interrupted = report.blocked_calls_interrupted,
                    registrations_dropped = report.registrations_dropped,
                    operations_aborted = report.operations_aborted,
                    sockets_reset = report.sockets_reset,
                    draining_handed_off = report.draining_handed_off,
                    draining_finished = report.draining_finished,
                    lost_sockets = report.lost_sockets,
                    lost_bytes = report.lost_bytes,
                    "final cleanup done (S6)"
                );
                if report.lost_sockets > 0 {
                    Err(CleanupError {
                        error: WsaError::NetworkDown,
                        report: Some(report),
                    })
                } else {
                    Ok(CleanupOutcome::Final(report))
                }
            }
            n => {
                lc.count = n - 1;
                self.inner.transport.nested_cleanup();
                tracing::debug!(target: "winsock_provider", remaining = n - 1, "cleanup (S5)");
                Ok(CleanupOutcome::Decremented { remaining: n - 1 })
            }
        }
    }

    fn final_cleanup(&self) -> FinalCleanupReport {
        let inner = &self.inner;
        let mut report = FinalCleanupReport::default();
        // a. No new call gets in (S4).
        inner.gate.close();
        // b, c, d.
        self.sweep(&mut report);
        // f. Rundown: wait for every call already inside to leave. Calls
        // blocked inside were interrupted in (b), so this ends.
        inner.waiter.wake_all();
        inner
            .waiter
            .wait_until(None, &mut || inner.gate.inside() == 0);
        // A call blocked inside may have ended its own operation when it
        // saw the gate closed (before the sweep reached it): count it here,
        // once.
        let (blocked, overlapped) = inner.take_ended_by_waiters();
        report.blocked_calls_interrupted += blocked;
        report.operations_aborted += overlapped;
        // A call that was inside may have opened a socket or started an
        // operation after the sweep: sweep again, now that none can.
        self.sweep(&mut report);
        inner.table.release_reserved();
        // e, g. Closed sockets still sending were left alone; now make sure
        // their data leaves or is handed off.
        self.drain(&mut report);
        // The transport stops what it started; the cleanup returns only
        // when it has, so the provider can be unloaded (S6).
        inner.transport.stop();
        // Sink calls deferred during the cleanup concern operations and
        // sockets that are gone: nothing is left to tell.
        inner.forget_deferred();
        // h. The caller sets the count to zero; generations in the table
        // survive, so every old handle stays stale.
        report
    }

    /// S6 b, c and d over every socket in the table, each step over all
    /// sockets before the next step starts.
    fn sweep(&self, report: &mut FinalCleanupReport) {
        let inner = &self.inner;
        let handles = inner.table.live_handles();
        // b. Blocked calls return WSAEINTR; registrations go without a signal.
        for &h in &handles {
            let blocked = inner.table.with(h, |sock| {
                report.registrations_dropped += usize::from(sock.select.take().is_some());
                sock.take_ops(|op| op.is_blocking())
            });
            for op in blocked.unwrap_or_default() {
                report.blocked_calls_interrupted += 1;
                inner.abort_op_silently(op);
            }
        }
        inner.waiter.wake_all();
        // c. Overlapped operations: WSA_OPERATION_ABORTED, recorded, untold.
        for &h in &handles {
            let ops = inner
                .table
                .with(h, |sock| sock.take_ops(|_| true))
                .unwrap_or_default();
            for op in ops {
                // A non-blocking connect under way is no operation of the
                // application's: it ends with its socket, uncounted.
                report.operations_aborted += usize::from(!op.is_background());
                inner.abort_op_silently(op);
            }
        }
        inner.waiter.wake_all();
        // d. Open sockets are reset and their handles given back.
        for &h in &handles {
            if let Some(sock) = inner.table.remove(h) {
                // A call still inside may have started an operation since
                // (c): it ends with the socket, as (b) and (c) would end it.
                for op in sock.pending {
                    if op.is_blocking() {
                        report.blocked_calls_interrupted += 1;
                    } else if !op.is_background() {
                        report.operations_aborted += 1;
                    }
                    inner.abort_op_silently(op);
                }
                inner.transport.close(h, CloseKind::Abortive);
                inner.notifier().handle_released(h);
                report.sockets_reset += 1;
            }
        }
    }

    /// S6g: every closed socket with unsent data is handed off, or waited for
    /// up to the deadline; what cannot leave is counted, never dropped silently.
    fn drain(&self, report: &mut FinalCleanupReport) {
        let inner = &self.inner;
        let transport = &inner.transport;
        let draining = std::mem::take(&mut *lock!(inner.draining));
        let mut waiting = Vec::new();
        for h in draining {
            let unsent = transport.unsent(h);
            if unsent == 0 {
                continue;
            }
            match transport.hand_off(h) {
                Ok(()) => report.draining_handed_off += 1,
                Err(HandOffRefused::Unsupported) => waiting.push(h),
                Err(HandOffRefused::NetworkDown) => {
                    report.lost_sockets += 1;
                    report.lost_bytes += unsent;
                    transport.close(h, CloseKind::Abortive);
                }
            }
        }
        if waiting.is_empty() {
            return;
        }
        let deadline = inner.waiter.now() + inner.config.drain_deadline;
        inner.waiter.wait_until(Some(deadline), &mut || {
            waiting.iter().all(|h| transport.unsent(*h) == 0)
        });
        for h in waiting {
            match transport.unsent(h) {
                0 => report.draining_finished += 1,
                unsent => {
                    report.lost_sockets += 1;
                    report.lost_bytes += unsent;
                    transport.close(h, CloseKind::Abortive);
                }
            }
        }
    }
}
