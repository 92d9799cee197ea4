//! Sends, receives and their results: the overlapped protocol (S9, S10).
//!
//! One path serves the three ways a call can run:
//! - **non-blocking** socket, no overlapped record: the transport finishes now
//!   or the call is `WSAEWOULDBLOCK`; nothing is registered;
//! - **blocking** socket, no record: the operation is registered, and the
//!   caller waits on it through the host's waiter; a close or the final cleanup
//!   ends the wait with `WSAEINTR`;
//! - **overlapped**: the operation is registered and the call returns at once,
//!   `Ok` if it finished (its completion is still notified, S9) or
//!   `Err(WSA_IO_PENDING)` if it will complete later, exactly once (S10).

use super::connect::Started;
use super::error::{WsaError, WsaResult};
use super::flags::{FdEvents, MsgFlags, SocketFlags};
use super::handle::SocketHandle;
use super::notifier::{CompletionMode, Notification, Outcome};
use super::op::{OpState, Overlapped};
use super::provider::{Pending, Provider};
use super::socket_state::{OpKind, PendingOp, Socket, check_family};
use super::transport::{Io, Received, SocketKind, Transport, Wait};
use super::waiter::{WaitResult, Waiter};
use std::net::SocketAddr;
use std::time::Duration;

/// An overlapped call's record and how to tell the application it finished.
#[derive(Clone, Debug)]
pub struct OverlappedRequest {
    /// Where the status is written (`lpOverlapped`).
    pub overlapped: Overlapped,
    /// How completion is reported.
    pub mode: CompletionMode,
    /// The caller's token, handed back in the notification.
    pub user: u64,
}

impl OverlappedRequest {
    /// A request reporting through `mode`, with a fresh record.
    pub fn new(mode: CompletionMode) -> Self {
        OverlappedRequest {
            overlapped: Overlapped::new(),
            mode,
            user: 0,
        }
    }
}

impl<T: Transport + 'static, W: Waiter + 'static> Provider<T, W> {
    /// `WSPSend`: sends `data` on a connected socket. Returns the bytes sent;
    /// an overlapped call that will finish later is `Err(WSA_IO_PENDING)`.
    pub fn send(
        &self,
        s: SocketHandle,
        data: &[u8],
        flags: MsgFlags,
        overlapped: Option<OverlappedRequest>,
    ) -> WsaResult<usize> {
        self.send_owned(s, data.to_vec(), None, flags, overlapped)
    }

    /// `WSPSendTo`: like [`send`](Self::send), to `to` for a datagram socket
    /// (a stream socket ignores `to`).
    pub fn send_to(
        &self,
        s: SocketHandle,
        data: &[u8],
        to: SocketAddr,
        flags: MsgFlags,
        overlapped: Option<OverlappedRequest>,
    ) -> WsaResult<usize> {
        self.send_owned(s, data.to_vec(), Some(to), flags, overlapped)
    }

    /// [`send`](Self::send) or [`send_to`](Self::send_to) of a buffer the
    /// caller gives away (the shim's gathered `WSABUF`s): the transport
    /// keeps it without a copy.
    pub(crate) fn send_owned(
        &self,
        s: SocketHandle,
        data: Vec<u8>,
        to: Option<SocketAddr>,
        flags: MsgFlags,
        overlapped: Option<OverlappedRequest>,
    ) -> WsaResult<usize> {
        self.send_as(s, data, to, flags, overlapped, OpKind::Transfer)
    }

    /// `TransmitFile` and `TransmitPackets` (spec §14, extension
    /// functions), once the shim has gathered what they send: a send of
    /// `data` on a connected stream socket, overlapped as
    /// [`send`](Self::send) is (S9, S10; a close aborts it, S7; silent at
    /// the final cleanup, S6c); without an overlapped record it waits until
    /// every byte is taken, on a non-blocking socket too (as a blocking
    /// send: a close or the final cleanup ends the wait, `WSAEINTR`). With `disconnect`
    /// (`TF_DISCONNECT`), the socket's sending is shut down once the send
    /// succeeds, as `WSPShutdown(SD_SEND)` does, before the completion is
    /// told. `WSAENOTCONN` for a socket that is not connected,
    /// `WSAEOPNOTSUPP` for a datagram socket.
    pub fn transmit(
        &self,
        s: SocketHandle,
        data: Vec<u8>,
        disconnect: bool,
        overlapped: Option<OverlappedRequest>,
    ) -> WsaResult<usize> {
        if self.socket_kind(s)? != SocketKind::Stream {
            return Err(WsaError::OperationNotSupported);
        }
        let kind = OpKind::Transmit { disconnect };
        self.send_as(s, data, None, MsgFlags::empty(), overlapped, kind)
    }

    fn send_as(
        &self,
        s: SocketHandle,
        data: Vec<u8>,
        to: Option<SocketAddr>,
        flags: MsgFlags,
        overlapped: Option<OverlappedRequest>,
        kind: OpKind,
    ) -> WsaResult<usize> {
        let transport = &self.inner.transport;
        // Argument checks run after the gate and the handle (S4, S13).
        let check = |sock: &Socket| {
            check_flags(flags, MsgFlags::DONTROUTE | MsgFlags::OOB)?;
            if sock.shut_send {
                return Err(WsaError::Shutdown);
            }
            if sock.kind == SocketKind::Stream && !sock.connected {
                return Err(WsaError::NotConnected);
            }
            if flags.contains(MsgFlags::OOB) && sock.kind != SocketKind::Stream {
                return Err(WsaError::OperationNotSupported);
            }
            // `lpTo` counts for datagram sockets only (a stream ignores it).
            if let Some(to) = to
                && sock.kind == SocketKind::Datagram
            {
                check_family(sock, &to)?;
            }
            Ok(())
        };
        let timeout = |sock: &Socket| sock.send_timeout;
        let r = self.submit(
            s,
            kind,
            FdEvents::WRITE,
            timeout,
            overlapped,
            check,
            |sock_kind, wait| {
                let to = if sock_kind == SocketKind::Stream {
                    None
                } else {
                    to
                };
                Ok(transport.send(s, data, to, wait)?.map(Transfer::sent))
            },
        )?;
        Ok(r.bytes)
    }

    /// `WSPRecv`: receives at most `max` bytes. Empty data on a stream means
    /// the peer closed gracefully. An overlapped call that will finish later
    /// is `Err(WSA_IO_PENDING)`; its data is then read from the record.
    ///
    /// A datagram larger than `max` (on a protocol without
    /// `XP1_PARTIAL_MESSAGE`) is `Err(WSAEMSGSIZE)`, its tail dropped (spec
    /// §16); [`recv_truncated`](Self::recv_truncated) also gives the part
    /// that fit. An overlapped one that finished at once is `Ok` (S9) and
    /// its completion and record carry `WSAEMSGSIZE` with the byte count.
    pub fn recv(
        &self,
        s: SocketHandle,
        max: usize,
        flags: MsgFlags,
        overlapped: Option<OverlappedRequest>,
    ) -> WsaResult<Received> {
        let overlapped_call = overlapped.is_some();
        match self.recv_truncated(s, max, flags, overlapped)? {
            (_, Some(e)) if !overlapped_call => Err(e),
            (r, _) => Ok(r),
        }
    }

    /// [`recv`](Self::recv) as `WSPRecv` answers it: a truncated datagram
    /// gives the part that fit with `Some(WSAEMSGSIZE)` (the call fails,
    /// the buffer is still filled, spec §16); otherwise `None`.
    pub fn recv_truncated(
        &self,
        s: SocketHandle,
        max: usize,
        flags: MsgFlags,
        overlapped: Option<OverlappedRequest>,
    ) -> WsaResult<(Received, Option<WsaError>)> {
        let transport = &self.inner.transport;
        // Argument checks run after the gate and the handle (S4, S13).
        let check = |sock: &Socket| {
            // MSG_PEEK is accepted on an overlapped receive too: Windows
            // does, and libuv waits for a datagram with a zero-byte
            // overlapped peek (spec §16), though the WSARecv page calls it
            // invalid.
            check_flags(flags, MsgFlags::PEEK | MsgFlags::OOB | MsgFlags::PARTIAL)?;
            if sock.shut_recv {
                return Err(WsaError::Shutdown);
            }
            if sock.kind == SocketKind::Stream && !sock.connected {
                return Err(WsaError::NotConnected);
            }
            Ok(())
        };
        let timeout = |sock: &Socket| sock.recv_timeout;
        let inner = &self.inner;
        let r = self.submit(
            s,
            OpKind::Transfer,
            FdEvents::empty(),
            timeout,
            overlapped,
            check,
            |kind, wait| {
                Ok(transport.recv(s, max, flags, wait)?.map(|r| {
                    let mut t = Transfer::received(r);
                    let mut outcome = t.outcome();
                    inner.truncation(kind, &mut outcome);
                    t.received.flags = outcome.flags;
                    t.error = outcome.error;
                    t
                }))
            },
        );
        // Spec §12: any receive re-enables FD_READ and FD_OOB (signalled
        // again at once while data is left).
        self.rearm(s, FdEvents::READ | FdEvents::OOB);
        let r = r?;
        Ok((r.received, r.error))
    }

    /// An overlapped operation that finished at once, moving `bytes` (an
    /// overlapped ioctl): recorded and told as S9 says.
    pub(crate) fn finished_at_once(
        &self,
        s: SocketHandle,
        bytes: usize,
        overlapped: OverlappedRequest,
    ) -> WsaResult<()> {
        self.ended_at_once(s, Transfer::sent(bytes), overlapped)
    }

    /// An overlapped operation that failed at once with `error` but whose
    /// failure is told through its completion, as Windows tells an unknown
    /// overlapped ioctl code (spec §14: `WSA_IO_PENDING`, then a completion
    /// with `WSAEOPNOTSUPP`): recorded (0 bytes, `error`) and told once.
    pub(crate) fn failed_at_once(
        &self,
        s: SocketHandle,
        error: WsaError,
        overlapped: OverlappedRequest,
    ) -> WsaResult<()> {
        let mut failed = Transfer::sent(0);
        failed.error = Some(error);
        self.ended_at_once(s, failed, overlapped)
    }

    fn ended_at_once(
        &self,
        s: SocketHandle,
        transfer: Transfer,
        overlapped: OverlappedRequest,
    ) -> WsaResult<()> {
        self.submit(
            s,
            OpKind::Transfer,
            FdEvents::empty(),
            |_| None,
            Some(overlapped),
            |_| Ok(()),
            |_, _| Ok(Io::Done(transfer)),
        )
        .map(|_| ())
    }

    /// A re-enabling call's part after the call (spec §12), inside the gate
    /// of its own: nothing when the provider is closing.
    fn rearm(&self, s: SocketHandle, events: FdEvents) {
        if !self
            .inner
            .selected_once
            .load(std::sync::atomic::Ordering::Acquire)
        {
            return;
        }
        if let Ok(_call) = self.enter() {
            self.inner.reenable(s, events);
        }
    }

    /// `WSPRecvFrom`: [`recv`](Self::recv); the sender is in `Received::from`.
    pub fn recv_from(
        &self,
        s: SocketHandle,
        max: usize,
        flags: MsgFlags,
        overlapped: Option<OverlappedRequest>,
    ) -> WsaResult<Received> {
        self.recv(s, max, flags, overlapped)
    }

    /// `WSPGetOverlappedResult`: the status of the overlapped operation whose
    /// record is `overlapped`. Pending without `wait`: `WSA_IO_INCOMPLETE`.
    /// `wait` is allowed only for event completion (else `WSAEINVAL`); it
    /// blocks until the operation ends (a close or cleanup ends it too).
    pub fn get_overlapped_result(
        &self,
        s: SocketHandle,
        overlapped: &Overlapped,
        wait: bool,
    ) -> WsaResult<Outcome> {
        let _call = self.enter()?;
        self.inner.table.with(s, |sock| {
            if sock.closing {
                Err(WsaError::NotSocket)
            } else {
                Ok(())
            }
        })??;
        if !overlapped.is_of(s) {
            return Err(WsaError::InvalidArgument);
        }
        if !overlapped.state().is_terminal() {
            if !wait {
                return Err(WsaError::IoIncomplete);
            }
            if !matches!(overlapped.mode(), Some(CompletionMode::Event(_))) {
                return Err(WsaError::InvalidArgument);
            }
            self.inner.wait_op(overlapped, None, &mut || false);
        }
        let outcome = overlapped.outcome().ok_or(WsaError::IoIncomplete)?;
        match outcome.error {
            Some(e) => Err(e),
            None => Ok(outcome),
        }
    }

    /// `WSPCancelBlockingCall`: interrupts the calling thread's blocking call,
    /// which returns `WSAEINTR`. `WSAEINVAL` when it has none.
    pub fn cancel_blocking_call(&self) -> WsaResult<()> {
        let _call = self.enter()?;
        let inner = &self.inner;
        let thread = inner.waiter.current_thread();
        for h in inner.table.live_handles() {
            let found = inner.table.with(h, |sock| {
                // A thread blocks in one call at a time: one operation at most.
                let i = sock
                    .pending
                    .iter()
                    .position(|p| p.is_blocking() && p.thread == thread)?;
                let op = sock.pending.remove(i);
                if op.kind == OpKind::Linger {
                    // An interrupted lingering close leaves the socket open.
                    sock.closing = false;
                }
                Some(op)
            });
            if let Ok(Some(op)) = found {
                inner.abort_op(op);
                inner.waiter.wake_all();
                return Ok(());
            }
        }
        Err(WsaError::InvalidArgument)
    }

    /// The one path of every send and receive (see the module docs).
    #[allow(clippy::too_many_arguments)] // one path for every send and receive
    #[allow(clippy::too_many_arguments)] // each piece is one call's own
    fn submit(
        &self,
        s: SocketHandle,
        kind: OpKind,
        rearm_on_would_block: FdEvents,
        timeout_of: impl FnOnce(&Socket) -> Option<Duration>,
        overlapped: Option<OverlappedRequest>,
        check: impl FnOnce(&Socket) -> WsaResult<()>,
        start: impl FnOnce(SocketKind, Wait) -> WsaResult<Io<Transfer>>,
    ) -> WsaResult<Transfer> {
        let _call = self.enter()?;
        let inner = &self.inner;
        let thread = inner.waiter.current_thread();
        let is_overlapped = overlapped.is_some();
        let mut timeout = None;
        let (started, pending) = inner.table.with(s, |sock| -> WsaResult<_> {
            if sock.closing {
                return Err(WsaError::NotSocket);
            }
            check(sock)?;
            // SO_SNDTIMEO / SO_RCVTIMEO bound a blocking call's wait; an
            // overlapped one ignores them (spec §15).
            timeout = timeout_of(sock).filter(|_| !is_overlapped);
            if is_overlapped && !sock.flags.contains(SocketFlags::OVERLAPPED) {
                return Err(WsaError::InvalidArgument);
            }
            // A transmission waits for every byte, whatever the mode.
            let waits_anyway = matches!(kind, OpKind::Transmit { .. });
            if !is_overlapped && sock.nonblocking && !waits_anyway {
                return match start(sock.kind, Wait::No)? {
                    Io::Done(t) => {
                        inner.after_transfer(s, sock, kind);
                        Ok((Started::Now(t), None))
                    }
                    Io::Pending | Io::WouldBlock => {
                        // Spec §12: FD_WRITE comes again once room comes
                        // back; armed under the socket's lock, so an
                        // FD_WRITE racing this call is not lost.
                        sock.armed |= rearm_on_would_block;
                        Err(WsaError::WouldBlock)
                    }
                };
            }
            if sock.pending.len() >= inner.config.max_pending_per_socket {
                return Err(WsaError::WouldBlock);
            }
            let id = inner.next_op(s);
            let (record, mode, user) = match overlapped {
                Some(r) => (r.overlapped, Some(r.mode), r.user),
                None => (Overlapped::new(), None, 0),
            };
            record.begin(id, mode)?;
            sock.pending.push(PendingOp {
                id,
                kind,
                record: record.clone(),
                mode,
                thread,
                user,
            });
            match start(sock.kind, Wait::Later(id)) {
                Ok(Io::Pending) => Ok((Started::Waiting(record), None)),
                Ok(Io::Done(t)) => {
                    sock.take_op(id);
                    inner.after_transfer(s, sock, kind);
                    let outcome = t.outcome();
                    // S9: finished at once, and still notified.
                    let to = if mode.is_some() {
                        OpState::Completing
                    } else {
                        OpState::Delivered
                    };
                    record.finish(
                        to,
                        outcome.clone(),
                        t.received.data.clone(),
                        t.received.from,
                    );
                    let note = mode.map(|mode| Pending {
                        note: Notification {
                            op: id,
                            mode,
                            outcome,
                            user,
                        },
                        record: record.clone(),
                    });
                    Ok((Started::Now(t), note))
                }
                other => {
                    // S9: any other error starts nothing and is never notified.
                    sock.take_op(id);
                    record.reject();
                    Err(other.err().unwrap_or(WsaError::WouldBlock))
                }
            }
        })??;
        inner.deliver(pending.into_iter().collect());
        match started {
            Started::Now(t) => Ok(t),
            Started::Waiting(_) if is_overlapped => Err(WsaError::IoPending),
            Started::Waiting(record) => {
                let deadline = timeout.map(|t| inner.waiter.now() + t);
                if inner.wait_op(&record, deadline, &mut || false) == WaitResult::TimedOut {
                    inner.time_out(s, &record);
                }
                let outcome = record.outcome().ok_or(WsaError::Interrupted)?;
                match outcome.error {
                    // The one error that moved bytes (spec §16).
                    None | Some(WsaError::MessageSize) => {}
                    Some(e) => return Err(e),
                }
                Ok(Transfer {
                    bytes: outcome.bytes,
                    received: Received {
                        data: record.data(),
                        from: record.from(),
                        flags: outcome.flags,
                    },
                    error: outcome.error,
                })
            }
        }
    }
}

/// What one send or receive moved, and the error of one that moved bytes
/// and still failed (a truncated datagram: `WSAEMSGSIZE`, spec §16).
pub(crate) struct Transfer {
    bytes: usize,
    received: Received,
    error: Option<WsaError>,
}

impl Transfer {
    fn sent(bytes: usize) -> Self {
        Transfer {
            bytes,
            received: Received::default(),
            error: None,
        }
    }

    fn received(received: Received) -> Self {
        Transfer {
            bytes: received.data.len(),
            received,
            error: None,
        }
    }

    fn outcome(&self) -> Outcome {
        Outcome {
            error: self.error,
            bytes: self.bytes,
            flags: self.received.flags,
        }
    }
}

/// Flags outside `allowed` are `WSAEOPNOTSUPP`.
fn check_flags(flags: MsgFlags, allowed: MsgFlags) -> WsaResult<()> {
    if allowed.contains(flags) {
        Ok(())
    } else {
        Err(WsaError::OperationNotSupported)
    }
}
