//! Closing a socket with each linger mode (S7), and shutdown (S8).

use super::error::{WsaError, WsaResult};
use super::handle::SocketHandle;
use super::io::OverlappedRequest;
use super::op::{OpState, Overlapped};
use super::provider::{Pending, Provider};
use super::socket_state::{OpKind, PendingOp};
use super::transport::{CloseKind, ShutdownHow, SocketKind, Transport};
use super::waiter::{WaitResult, Waiter};
use crate::sync::lock;
use std::time::Duration;

/// What a close will do once the socket's operations are aborted.
enum Plan {
    Now(CloseKind),
    /// Wait up to this long for the unsent data to go (blocking socket, S7).
    Linger(Duration, Overlapped),
}

impl<T: Transport + 'static, W: Waiter + 'static> Provider<T, W> {
    /// `WSPCloseSocket` (S7). Pending overlapped operations end with
    /// `WSA_OPERATION_ABORTED` and are notified exactly once; calls blocked on
    /// the socket return `WSAEINTR`; the handle is `WSAENOTSOCK` from now on.
    ///
    /// | `SO_LINGER` | timeout | close |
    /// |---|---|---|
    /// | off (default) | - | graceful, in the background; returns at once |
    /// | on | 0 | abortive: unsent data discarded, the peer sees a reset |
    /// | on, blocking socket | > 0 | waits for the data to go, up to the timeout; then abortive |
    /// | on, non-blocking socket | > 0 | `WSAEWOULDBLOCK` if data is unsent; the socket stays open |
    pub fn close_socket(&self, s: SocketHandle) -> WsaResult<()> {
        let _span =
            tracing::debug_span!(target: "winsock_provider", "close", socket = %s).entered();
        let _call = self.enter()?;
        let inner = &self.inner;
        let thread = inner.waiter.current_thread();
        let (plan, aborted) = inner.table.with(s, |sock| -> WsaResult<_> {
            if sock.closing {
                return Err(WsaError::NotSocket);
            }
            let unsent = inner.transport.unsent(s);
            let plan = match (sock.linger.on, sock.linger.seconds) {
                (false, _) => Plan::Now(CloseKind::Graceful),
                (true, 0) => Plan::Now(CloseKind::Abortive),
                (true, _) if unsent == 0 => Plan::Now(CloseKind::Graceful),
                // Checked before anything changes: the failed close leaves
                // the socket and its operations as they were (S13).
                (true, _) if sock.nonblocking => return Err(WsaError::WouldBlock),
                (true, secs) => Plan::Linger(Duration::from_secs(secs.into()), Overlapped::new()),
            };
            sock.closing = true;
            sock.select = None;
            // Taken out under the lock, so a racing completion finds nothing
            // (S10); aborted after it, so no two socket locks are ever held.
            let aborted = sock.take_ops(|_| true);
            if let Plan::Linger(_, record) = &plan {
                // Registered like a blocking call, so that the final cleanup
                // and cancel_blocking_call can interrupt the wait.
                let id = inner.next_op(s);
                record.begin(id, None)?;
                sock.pending.push(PendingOp {
                    id,
                    kind: OpKind::Linger,
                    record: record.clone(),
                    mode: None,
                    thread,
                    user: 0,
                });
            }
            Ok((plan, aborted))
        })??;
        let pending: Vec<Pending> = aborted
            .into_iter()
            .filter_map(|op| inner.abort_op(op))
            .collect();
        inner.deliver(pending);
        inner.waiter.wake_all();
        let how = match plan {
            Plan::Now(how) => how,
            Plan::Linger(timeout, record) => {
                let deadline = inner.waiter.now() + timeout;
                let waited = inner.wait_op(&record, Some(deadline), &mut || {
                    inner.transport.unsent(s) == 0
                });
                let op = record.op();
                let _ = inner
                    .table
                    .with(s, |sock| op.and_then(|id| sock.take_op(id)));
                let interrupted =
                    !record.finish(OpState::Delivered, Default::default(), Vec::new(), None);
                if interrupted {
                    // cancel_blocking_call reopened the socket; the final
                    // cleanup reset and released it.
                    return Err(WsaError::Interrupted);
                }
                if waited == WaitResult::TimedOut && inner.transport.unsent(s) > 0 {
                    CloseKind::Abortive
                } else {
                    CloseKind::Graceful
                }
            }
        };
        if inner.table.remove(s).is_none() {
            // The final cleanup got here first and reset the socket (S6d).
            return Ok(());
        }
        inner.transport.close(s, how);
        tracing::debug!(target: "winsock_provider", how = ?how, "closed (S7)");
        if how == CloseKind::Graceful && inner.transport.unsent(s) > 0 {
            lock!(inner.draining).push(s);
        }
        inner.notifier().handle_released(s);
        Ok(())
    }

    /// `WSPShutdown` (S8): `how` is `SD_RECEIVE` 0, `SD_SEND` 1 or `SD_BOTH` 2
    /// (another value: `WSAEINVAL`); a stream socket must be connected
    /// (`WSAENOTCONN`). Never blocks and frees nothing; later calls in a shut
    /// direction fail with `WSAESHUTDOWN`.
    pub fn shutdown(&self, s: SocketHandle, how: i32) -> WsaResult<()> {
        self.with_open(s, |sock| {
            let how = ShutdownHow::from_raw(how)?;
            if sock.kind == SocketKind::Stream && !sock.connected {
                return Err(WsaError::NotConnected);
            }
            self.inner.transport.shutdown(s, how)?;
            sock.shut_send |= how.sends();
            sock.shut_recv |= how.receives();
            Ok(())
        })
    }

    /// `DisconnectEx` (spec §14, an extension function): ends a connected
    /// stream's sending, as `WSPShutdown(SD_SEND)` does (the peer sees the
    /// end after every byte); the socket stays open until it is closed.
    /// With `request` it is an overlapped operation that finishes at once,
    /// told (S9). `WSAENOTCONN` for a socket that is not connected,
    /// `WSAEOPNOTSUPP` for a datagram one.
    ///
    /// With `reuse` (`TF_REUSE_SOCKET`) the connection ends gracefully in
    /// the background (every byte still delivered) and the handle is a
    /// fresh socket of the same kind, for an `AcceptEx` (as its accept
    /// socket) or a `ConnectEx` (bind it again first): unbound,
    /// unconnected, its options and registration kept, what was pending on
    /// it aborted and told (S7). A transport that cannot
    /// ([`Transport::reuse`]) answers `WSAEOPNOTSUPP`, changing nothing.
    pub fn disconnect(
        &self,
        s: SocketHandle,
        reuse: bool,
        request: Option<OverlappedRequest>,
    ) -> WsaResult<()> {
        // Inside the gate until the aborts are told: a final cleanup that
        // starts meanwhile waits for them (S6c, S6f).
        let _call = self.enter()?;
        let aborted = self.with_open(s, |sock| {
            if sock.kind != SocketKind::Stream {
                return Err(WsaError::OperationNotSupported);
            }
            if !sock.connected {
                return Err(WsaError::NotConnected);
            }
            if request.is_some() && !sock.flags.contains(crate::SocketFlags::OVERLAPPED) {
                return Err(WsaError::InvalidArgument);
            }
            if !reuse {
                self.inner.transport.shutdown(s, ShutdownHow::Send)?;
                sock.shut_send = true;
                return Ok(Vec::new());
            }
            self.inner.transport.reuse(s)?;
            sock.connected = false;
            sock.connecting = None;
            sock.listening = false;
            sock.shut_send = false;
            sock.shut_recv = false;
            sock.so_error = 0;
            sock.unreported_connect = None;
            sock.close_error = None;
            sock.connect_data = None;
            Ok(sock.take_ops(|_| true))
        })?;
        // Aborted after the lock, as a close aborts (S7, S10).
        let pending: Vec<Pending> = aborted
            .into_iter()
            .filter_map(|op| self.inner.abort_op(op))
            .collect();
        self.inner.deliver(pending);
        match request {
            Some(request) => self.finished_at_once(s, 0, request),
            None => Ok(()),
        }
    }
}
