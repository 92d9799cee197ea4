//! Creating, binding, connecting and accepting sockets, and the checks
//! every call on an open socket starts with.

use super::error::{WsaError, WsaResult};
use super::flags::{FdEvents, SocketFlags};
use super::handle::{OpId, SocketHandle};
use super::io::OverlappedRequest;
use super::notifier::{Notification, Outcome};
use super::op::OpState;
use super::op::Overlapped;
use super::provider::{Inner, Pending, Provider};
use super::socket_state::{OpKind, PendingOp, Socket, check_family};
use super::transport::{AddressFamily, CloseKind, Io, SocketKind, Transport, Wait};
use super::waiter::Waiter;
use std::net::SocketAddr;

/// How a call began: done at once, or waiting on its record.
pub(crate) enum Started<R> {
    Now(R),
    Waiting(Overlapped),
}

/// How a connect began: done at once (a stream's or a datagram's), or
/// pending in the transport (in the background, or for a caller that
/// waits).
enum Connecting {
    Done(bool),
    Pending(OpId, Overlapped, bool),
}

impl<T: Transport + 'static, W: Waiter + 'static> Provider<T, W> {
    /// `WSPSocket`: a new socket of `family` and `kind`. `WSAEMFILE` when
    /// the table is full; the transport's error when it cannot open one
    /// (`WSAEAFNOSUPPORT` for a family it does not carry).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use winsock_provider::mock::{MockWaiter, Network, RecordingNotifier};
    /// # use winsock_provider::*;
    /// # let net = Network::new(1);
    /// # let node = net.add_node("10.0.0.1".parse().unwrap());
    /// # let p = Provider::new(ProviderConfig::default(), net.transport(node), MockWaiter::new(&net));
    /// # p.startup(Version::new(2, 2), Arc::new(RecordingNotifier::new())).unwrap();
    /// let s = p.socket(AddressFamily::Inet, SocketKind::Stream, SocketFlags::OVERLAPPED).unwrap();
    /// assert_eq!(p.socket_kind(s), Ok(SocketKind::Stream));
    /// ```
    pub fn socket(
        &self,
        family: AddressFamily,
        kind: SocketKind,
        flags: SocketFlags,
    ) -> WsaResult<SocketHandle> {
        self.socket_prepared(family, kind, flags, |_| Ok(()))
    }

    /// [`socket`](Self::socket), with `prepare` called with the new
    /// socket's handle after the transport opened it and before the socket
    /// is published in the table. A host that makes something for each
    /// socket (the shim's `WPUCreateSocketHandle`) makes it there: a close
    /// on another thread, or a final cleanup that starts meanwhile, then
    /// finds the socket and the host's part together, or neither (S6d,
    /// S6f). If `prepare` fails, the socket is closed again and its slot
    /// given back; the call fails with `prepare`'s error and leaves nothing
    /// (S13).
    pub fn socket_prepared(
        &self,
        family: AddressFamily,
        kind: SocketKind,
        flags: SocketFlags,
        prepare: impl FnOnce(SocketHandle) -> WsaResult<()>,
    ) -> WsaResult<SocketHandle> {
        self.open_socket(
            |h| {
                self.inner.transport.open(h, family, kind)?;
                Ok(Socket::new(family, kind, flags))
            },
            prepare,
        )
    }

    /// The steps of every new handle: a slot reserved, `open` (the
    /// transport's part, and the core's state), `prepare` (the host's
    /// part), then published. Each failure undoes what was done.
    pub(crate) fn open_socket(
        &self,
        open: impl FnOnce(SocketHandle) -> WsaResult<Socket>,
        prepare: impl FnOnce(SocketHandle) -> WsaResult<()>,
    ) -> WsaResult<SocketHandle> {
        let _call = self.enter()?;
        let inner = &self.inner;
        let h = inner.table.reserve()?;
        let sock = match open(h) {
            Ok(sock) => sock,
            Err(e) => {
                inner.table.remove(h);
                return Err(e);
            }
        };
        if let Err(e) = prepare(h) {
            inner.transport.close(h, CloseKind::Abortive);
            inner.table.remove(h);
            return Err(e);
        }
        inner.table.install(h, sock);
        Ok(h)
    }

    /// Runs `f` on the open socket `s` inside the gate: `WSANOTINITIALISED`
    /// when the gate is closed, `WSAENOTSOCK` when `s` is not open.
    pub(crate) fn with_open<R>(
        &self,
        s: SocketHandle,
        f: impl FnOnce(&mut Socket) -> WsaResult<R>,
    ) -> WsaResult<R> {
        let _call = self.enter()?;
        self.inner.table.with(s, |sock| {
            if sock.closing {
                Err(WsaError::NotSocket)
            } else {
                f(sock)
            }
        })?
    }

    /// `WSAENOTSOCK` unless `s` names an open socket, for a caller that is
    /// already inside the gate (the shim's entries, S13).
    pub(crate) fn check_open(&self, s: SocketHandle) -> WsaResult<()> {
        self.inner.table.with(s, |sock| {
            if sock.closing {
                Err(WsaError::NotSocket)
            } else {
                Ok(())
            }
        })?
    }

    /// `WSPBind`: binds to `addr` (port 0: the transport picks one). Returns
    /// the address bound. An address of another family than the socket's
    /// is `WSAEAFNOSUPPORT`.
    pub fn bind(&self, s: SocketHandle, addr: SocketAddr) -> WsaResult<SocketAddr> {
        self.with_open(s, |sock| {
            check_family(sock, &addr)?;
            self.inner.transport.bind(s, addr)
        })
    }

    /// `WSPListen` (stream sockets only; a datagram socket is `WSAEOPNOTSUPP`).
    pub fn listen(&self, s: SocketHandle, backlog: u32) -> WsaResult<()> {
        self.with_open(s, |sock| {
            if sock.kind != SocketKind::Stream {
                return Err(WsaError::OperationNotSupported);
            }
            if sock.connected {
                return Err(WsaError::IsConnected);
            }
            self.inner.transport.listen(s, backlog)?;
            sock.listening = true;
            Ok(())
        })
    }

    /// `WSPConnect`: connects a stream socket, or sets a datagram socket's
    /// default peer.
    ///
    /// A stream connect pends in the transport. On a blocking socket the
    /// call waits, outside the socket's lock, and is interrupted with
    /// `WSAEINTR` by a close in another thread, by `cancel_blocking_call`
    /// and by the final cleanup (S6b, S7); it returns the connect's error
    /// (`WSAECONNREFUSED`, `WSAETIMEDOUT`, ...). On a non-blocking socket
    /// it returns `WSAEWOULDBLOCK`; the end is recorded as `FD_CONNECT`
    /// with its error (and `FD_WRITE` on success) and kept for `SO_ERROR`
    /// ([`socket_error`](Self::socket_error)). A second connect while one
    /// is under way is `WSAEALREADY`; one after success `WSAEISCONN`; a
    /// listening socket `WSAEINVAL`; an address of another family
    /// `WSAEAFNOSUPPORT`.
    pub fn connect(&self, s: SocketHandle, addr: SocketAddr) -> WsaResult<()> {
        let _call = self.enter()?;
        let inner = &self.inner;
        let thread = inner.waiter.current_thread();
        let started = inner.table.with(s, |sock| -> WsaResult<_> {
            if sock.closing {
                return Err(WsaError::NotSocket);
            }
            check_family(sock, &addr)?;
            if sock.listening {
                return Err(WsaError::InvalidArgument);
            }
            let stream = sock.kind == SocketKind::Stream;
            if stream && sock.connected {
                return Err(WsaError::IsConnected);
            }
            if stream && sock.connecting.is_some() {
                return Err(WsaError::Already);
            }
            // Spec §12: a connect re-enables FD_CONNECT, and FD_WRITE comes
            // again when the connection is made.
            sock.armed |= FdEvents::CONNECT | FdEvents::WRITE;
            let id = inner.next_op(s);
            let background = sock.nonblocking;
            let record = Overlapped::new();
            record.begin(id, None)?;
            // Registered before the transport hears of it, so a completion
            // on another thread finds it (S10).
            sock.pending.push(PendingOp {
                id,
                kind: OpKind::Connect { background },
                record: record.clone(),
                mode: None,
                thread,
                user: 0,
            });
            match inner.transport.connect(s, addr, id) {
                Ok(Io::Pending) => {
                    sock.connecting = Some(id);
                    Ok(Connecting::Pending(id, record, background))
                }
                Ok(Io::Done(())) => {
                    sock.take_op(id);
                    record.reject();
                    sock.connected = true;
                    if stream {
                        sock.so_error = 0;
                    }
                    Ok(Connecting::Done(stream))
                }
                other => {
                    // Nothing started: the socket is as it was (S13).
                    sock.take_op(id);
                    record.reject();
                    Err(other.err().unwrap_or(WsaError::WouldBlock))
                }
            }
        })??;
        match started {
            Connecting::Done(stream) => {
                if stream {
                    inner.signal(s, FdEvents::CONNECT | FdEvents::WRITE, None);
                }
                Ok(())
            }
            Connecting::Pending(_, _, true) => Err(WsaError::WouldBlock),
            Connecting::Pending(id, record, false) => {
                inner.wait_op(&record, None, &mut || false);
                // An interrupted connect leaves the socket unconnected.
                let _ = inner.table.with(s, |sock| {
                    if sock.connecting == Some(id) {
                        sock.connecting = None;
                    }
                });
                match record.outcome() {
                    Some(o) => o.error.map_or(Ok(()), Err),
                    None => Err(WsaError::Interrupted),
                }
            }
        }
    }

    /// `ConnectEx` (spec §14, an extension function): an overlapped
    /// connect of a bound stream socket, told through `request` like any
    /// overlapped operation (S9, S10; a close aborts it, S7; the final
    /// cleanup aborts it telling nobody, S6c). `Ok` when it connected at
    /// once (still told), `Err(WSA_IO_PENDING)` when it will end later.
    /// `WSAEINVAL` for an unbound, listening or non-overlapped socket,
    /// `WSAEOPNOTSUPP` for a datagram socket, `WSAEISCONN`, `WSAEALREADY`.
    pub fn connect_overlapped(
        &self,
        s: SocketHandle,
        addr: SocketAddr,
        request: OverlappedRequest,
    ) -> WsaResult<()> {
        self.connect_and_send(s, addr, Vec::new(), request)
    }

    /// `ConnectEx` with a send buffer: [`connect_overlapped`], and once
    /// connected the same operation sends `data`; its completion's bytes
    /// are the bytes sent. A connect that fails sends nothing and ends with
    /// its error; a send that fails after the connect ends the operation
    /// with the send's error (told: the call was accepted, S9). Empty
    /// `data` is a plain connect.
    ///
    /// [`connect_overlapped`]: Self::connect_overlapped
    pub fn connect_and_send(
        &self,
        s: SocketHandle,
        addr: SocketAddr,
        data: Vec<u8>,
        request: OverlappedRequest,
    ) -> WsaResult<()> {
        let _call = self.enter()?;
        let inner = &self.inner;
        let thread = inner.waiter.current_thread();
        let done = inner.table.with(s, |sock| -> WsaResult<_> {
            if sock.closing {
                return Err(WsaError::NotSocket);
            }
            check_family(sock, &addr)?;
            if sock.kind != SocketKind::Stream {
                return Err(WsaError::OperationNotSupported);
            }
            if sock.listening
                || !sock.flags.contains(SocketFlags::OVERLAPPED)
                || inner.transport.local_addr(s).is_err()
            {
                return Err(WsaError::InvalidArgument);
            }
            if sock.connected {
                return Err(WsaError::IsConnected);
            }
            if sock.connecting.is_some() {
                return Err(WsaError::Already);
            }
            let id = inner.next_op(s);
            let OverlappedRequest {
                overlapped: record,
                mode,
                user,
            } = request;
            record.begin(id, Some(mode))?;
            sock.armed |= FdEvents::CONNECT | FdEvents::WRITE;
            sock.pending.push(PendingOp {
                id,
                kind: OpKind::Connect { background: false },
                record: record.clone(),
                mode: Some(mode),
                thread,
                user,
            });
            match inner.transport.connect(s, addr, id) {
                Ok(Io::Pending) => {
                    sock.connecting = Some(id);
                    sock.connect_data = (!data.is_empty()).then_some(data);
                    Ok((false, None))
                }
                Ok(Io::Done(())) if !data.is_empty() => {
                    sock.connected = true;
                    sock.so_error = 0;
                    Ok((true, inner.send_after_connect(s, sock, id, data)))
                }
                Ok(Io::Done(())) => {
                    sock.take_op(id);
                    sock.connected = true;
                    sock.so_error = 0;
                    // S9: connected at once, and still told.
                    let outcome = Outcome::default();
                    record.finish(OpState::Completing, outcome.clone(), Vec::new(), None);
                    Ok((
                        true,
                        Some(Pending {
                            note: Notification {
                                op: id,
                                mode,
                                outcome,
                                user,
                            },
                            record,
                        }),
                    ))
                }
                other => {
                    sock.take_op(id);
                    record.reject();
                    Err(other.err().unwrap_or(WsaError::WouldBlock))
                }
            }
        })??;
        let (connected_now, finished) = done;
        let told = finished.is_some();
        inner.deliver(finished.into_iter().collect());
        if connected_now {
            inner.signal(s, FdEvents::CONNECT | FdEvents::WRITE, None);
        }
        // Finished at once (S9: still told), or it ends later: the connect,
        // or the send that follows it.
        if told {
            Ok(())
        } else {
            Err(WsaError::IoPending)
        }
    }

    /// `WSPConnect` with an `AF_UNSPEC` address: a datagram socket forgets
    /// its default peer and the call returns 0 (spec: the association is
    /// dissolved); a stream socket answers `WSAEAFNOSUPPORT`.
    pub fn connect_unspecified(&self, s: SocketHandle) -> WsaResult<()> {
        self.with_open(s, |sock| {
            if sock.kind != SocketKind::Datagram {
                return Err(WsaError::AddressFamilyNotSupported);
            }
            self.inner.transport.dissolve(s)?;
            sock.connected = false;
            Ok(())
        })
    }

    /// `WSPAccept`: the next connection on listening socket `s` and its peer.
    /// A datagram socket is `WSAEOPNOTSUPP`; a stream socket that is not
    /// listening, `WSAEINVAL`. A blocking socket waits (interrupted with `WSAEINTR` by a close of `s`,
    /// by `cancel_blocking_call` and by the final cleanup); a non-blocking one
    /// answers `WSAEWOULDBLOCK`. The new socket inherits `s`'s family and
    /// flags.
    pub fn accept(&self, s: SocketHandle) -> WsaResult<(SocketHandle, SocketAddr)> {
        self.accept_prepared(s, |_| Ok(()))
    }

    /// [`accept`](Self::accept), with `prepare` called with the new
    /// socket's handle after its slot is reserved and before a connection
    /// is taken: a host that must make something for the new socket (the
    /// shim's `WPUCreateSocketHandle`) can fail there and lose no
    /// connection (S13). If `prepare` succeeds and the accept then fails,
    /// undoing what `prepare` made is the caller's.
    pub fn accept_prepared(
        &self,
        s: SocketHandle,
        prepare: impl FnOnce(SocketHandle) -> WsaResult<()>,
    ) -> WsaResult<(SocketHandle, SocketAddr)> {
        let _call = self.enter()?;
        let inner = &self.inner;
        // The handle and the socket's type are checked before a slot is
        // taken for the new socket, so a bad handle is WSAENOTSOCK and a
        // datagram socket WSAEOPNOTSUPP even when the table is full (S13).
        inner.table.with(s, |sock| {
            if sock.closing {
                Err(WsaError::NotSocket)
            } else if sock.kind != SocketKind::Stream {
                // The SPI: a socket type that does not support accept.
                Err(WsaError::OperationNotSupported)
            } else {
                Ok(())
            }
        })??;
        let new = inner.table.reserve()?;
        if let Err(e) = prepare(new) {
            inner.table.remove(new);
            return Err(e);
        }
        let thread = inner.waiter.current_thread();
        let started = inner.table.with(s, |sock| -> WsaResult<_> {
            if sock.closing {
                return Err(WsaError::NotSocket);
            }
            if !sock.listening {
                return Err(WsaError::InvalidArgument);
            }
            let like = Inherited::from(&*sock);
            if sock.nonblocking {
                return match inner.transport.accept(s, new, Wait::No)? {
                    Io::Done(peer) => Ok((Started::Now(peer), like)),
                    _ => Err(WsaError::WouldBlock),
                };
            }
            let id = inner.next_op(s);
            let record = Overlapped::new();
            record.begin(id, None)?;
            sock.pending.push(PendingOp {
                id,
                kind: OpKind::Accept { into: new },
                record: record.clone(),
                mode: None,
                thread,
                user: 0,
            });
            match inner.transport.accept(s, new, Wait::Later(id)) {
                Ok(Io::Pending) => Ok((Started::Waiting(record), like)),
                Ok(Io::Done(peer)) => {
                    sock.take_op(id);
                    record.reject();
                    Ok((Started::Now(peer), like))
                }
                other => {
                    sock.take_op(id);
                    record.reject();
                    Err(other.err().unwrap_or(WsaError::WouldBlock))
                }
            }
        });
        let peer = match started {
            Ok(Ok((Started::Now(peer), like))) => Ok((peer, like)),
            Ok(Ok((Started::Waiting(record), like))) => {
                inner.wait_op(&record, None, &mut || false);
                match record.outcome().and_then(|o| o.error) {
                    Some(e) => Err(e),
                    // The listener's properties as they are now: another
                    // thread may have changed them while the accept waited.
                    None => record
                        .from()
                        .map(|p| {
                            (
                                p,
                                inner
                                    .table
                                    .with(s, |l| Inherited::from(&*l))
                                    .unwrap_or(like),
                            )
                        })
                        .ok_or(WsaError::ConnectionAborted),
                }
            }
            Ok(Err(e)) | Err(e) => Err(e),
        };
        let result = match peer {
            Ok((peer, like)) => {
                let select = like.select;
                inner.table.install(new, like.into_socket());
                inner.inherit_options(s, new);
                // The listener's selection is the new socket's, and what
                // holds already (room to send: FD_WRITE) is signalled.
                if let Some((_, mask)) = select {
                    let ready = inner.transport.readiness(new) & mask;
                    if !ready.is_empty() {
                        inner.signal(new, ready, None);
                    }
                }
                Ok((new, peer))
            }
            Err(e) => {
                inner.table.remove(new);
                Err(e)
            }
        };
        // Spec §12: any accept re-enables FD_ACCEPT (signalled again at
        // once while another connection waits).
        inner.reenable(s, FdEvents::ACCEPT);
        result
    }
}

impl<T: Transport + 'static, W: Waiter + 'static> Provider<T, W> {
    /// `AcceptEx` (spec §14, an extension function): the next connection
    /// on `listener` goes into `target`, an open, unbound, unconnected
    /// stream socket the application made, told through `request` like any
    /// overlapped operation (S9, S10; a close of the listener aborts it,
    /// S7, and `target` is left as it was; the final cleanup aborts it
    /// telling nobody, S6c). `target` takes the listener's properties as an
    /// accepted socket does. `Ok(peer)` when a connection was taken at once
    /// (still told), `Err(WSA_IO_PENDING)` when it will come later; the
    /// record holds the peer ([`Overlapped::from`]) and the local address
    /// ([`Overlapped::local`]).
    ///
    /// Errors: `WSAEOPNOTSUPP` for a datagram listener, `WSAEINVAL` for a
    /// listener that is not listening, or a `target` that is bound,
    /// connected, listening, of another family or not overlapped;
    /// `WSAENOTSOCK` for a handle that is not an open socket.
    pub fn accept_overlapped(
        &self,
        listener: SocketHandle,
        target: SocketHandle,
        request: OverlappedRequest,
    ) -> WsaResult<SocketAddr> {
        self.accept_and_receive(listener, target, 0, request)
    }

    /// `AcceptEx` with a receive area: [`accept_overlapped`], and once the
    /// connection is in `target` the same operation receives at most
    /// `receive` bytes on it; it ends when the first data comes (at least
    /// one byte, or 0 for a peer that closed at once), its bytes those
    /// received and its data on the record ([`Overlapped::data`]). From
    /// then on the operation is `target`'s: a close of `target` aborts it
    /// (S7), a close of the listener no longer does. `Ok(peer)` only when
    /// the connection and its data both came inside the call (still told,
    /// S9). `receive` 0 is [`accept_overlapped`].
    ///
    /// [`accept_overlapped`]: Self::accept_overlapped
    pub fn accept_and_receive(
        &self,
        listener: SocketHandle,
        target: SocketHandle,
        receive: usize,
        request: OverlappedRequest,
    ) -> WsaResult<SocketAddr> {
        let _call = self.enter()?;
        let inner = &self.inner;
        let family = inner.table.with(target, |t| {
            if t.closing {
                return Err(WsaError::NotSocket);
            }
            if t.kind != SocketKind::Stream
                || t.connected
                || t.listening
                || t.connecting.is_some()
                || !t.flags.contains(SocketFlags::OVERLAPPED)
                || inner.transport.local_addr(target).is_ok()
            {
                return Err(WsaError::InvalidArgument);
            }
            Ok(t.family)
        })??;
        let thread = inner.waiter.current_thread();
        let OverlappedRequest {
            overlapped: record,
            mode,
            user,
        } = request;
        let started = inner.table.with(listener, |l| -> WsaResult<_> {
            if l.closing {
                return Err(WsaError::NotSocket);
            }
            if l.kind != SocketKind::Stream {
                return Err(WsaError::OperationNotSupported);
            }
            if !l.listening || l.family != family || listener == target {
                return Err(WsaError::InvalidArgument);
            }
            let id = inner.next_op(listener);
            record.begin(id, Some(mode))?;
            // The target's own transport state gives way to the connection.
            inner.transport.close(target, CloseKind::Abortive);
            l.pending.push(PendingOp {
                id,
                kind: OpKind::AcceptInto {
                    socket: target,
                    receive,
                },
                record: record.clone(),
                mode: Some(mode),
                thread,
                user,
            });
            match inner.transport.accept(listener, target, Wait::Later(id)) {
                Ok(Io::Pending) => Ok((None, Inherited::from(&*l))),
                Ok(Io::Done(peer)) => {
                    let op = l.take_op(id);
                    Ok((op.map(|op| (op, peer)), Inherited::from(&*l)))
                }
                other => {
                    l.take_op(id);
                    record.reject();
                    let _ = inner.transport.open(target, family, SocketKind::Stream);
                    Err(other.err().unwrap_or(WsaError::WouldBlock))
                }
            }
        })?;
        let result = match started {
            Ok((None, _)) => Err(WsaError::IoPending),
            Ok((Some((op, peer)), like)) if receive > 0 => {
                inner.accepted_into(listener, target, like);
                record.set_local(inner.transport.local_addr(target).ok());
                match inner.receive_after_accept(target, op, receive, Some(peer)) {
                    // S9: the connection and its data came at once, still told.
                    Some(end) => {
                        inner.deliver(vec![end]);
                        Ok(peer)
                    }
                    None => Err(WsaError::IoPending),
                }
            }
            Ok((Some((op, peer)), like)) => {
                inner.accepted_into(listener, target, like);
                // S9: taken at once, and still told.
                let outcome = Outcome::default();
                record.finish(OpState::Completing, outcome.clone(), Vec::new(), Some(peer));
                record.set_local(inner.transport.local_addr(target).ok());
                inner.deliver(vec![Pending {
                    note: Notification {
                        op: op.id,
                        mode,
                        outcome,
                        user,
                    },
                    record,
                }]);
                Ok(peer)
            }
            Err(e) => Err(e),
        };
        inner.reenable(listener, FdEvents::ACCEPT);
        result
    }
}

/// What an accepted socket takes from its listener (spec §12: "the same
/// properties as the listener"): its family and flags, its blocking mode,
/// `SO_LINGER` (both fields), `SO_SNDTIMEO`/`SO_RCVTIMEO` and its network
/// event selection. Options the transport keeps are copied by
/// [`Inner::inherit_options`]; buffer sizes are the transport's.
pub(crate) struct Inherited {
    family: AddressFamily,
    flags: crate::SocketFlags,
    nonblocking: bool,
    linger: crate::Linger,
    send_timeout: Option<std::time::Duration>,
    recv_timeout: Option<std::time::Duration>,
    select: Option<(super::socket_state::Select, FdEvents)>,
}

impl From<&Socket> for Inherited {
    fn from(listener: &Socket) -> Self {
        Inherited {
            family: listener.family,
            flags: listener.flags,
            nonblocking: listener.nonblocking,
            linger: listener.linger,
            send_timeout: listener.send_timeout,
            recv_timeout: listener.recv_timeout,
            select: listener.select,
        }
    }
}

impl Inherited {
    /// The accepted socket: connected, with the listener's properties.
    fn into_socket(self) -> Socket {
        let mut sock = Socket::new(self.family, SocketKind::Stream, self.flags);
        sock.connected = true;
        sock.nonblocking = self.nonblocking;
        sock.linger = self.linger;
        sock.send_timeout = self.send_timeout;
        sock.recv_timeout = self.recv_timeout;
        sock.select = self.select;
        sock
    }
}

impl<T: Transport + 'static, W: Waiter + 'static> Inner<T, W> {
    /// `target`, which an `AcceptEx` filled with a connection of
    /// `listener`: connected, with the listener's properties (as an
    /// accepted socket has them) and what holds signalled.
    pub(crate) fn accepted_into(
        &self,
        listener: SocketHandle,
        target: SocketHandle,
        like: Inherited,
    ) {
        let select = like.select;
        let _ = self.table.with(target, |t| {
            let fresh = like.into_socket();
            // A close that began meanwhile stays under way (it removes the
            // socket, and ends what is pending on it, S7).
            *t = Socket {
                flags: t.flags,
                closing: t.closing,
                pending: std::mem::take(&mut t.pending),
                ..fresh
            };
        });
        self.inherit_options(listener, target);
        if let Some((_, mask)) = select {
            let ready = self.transport.readiness(target) & mask;
            if !ready.is_empty() {
                self.signal(target, ready, None);
            }
        }
    }

    /// Copies the options the transport keeps (the named ones: keep-alive,
    /// no-delay, out-of-band inline, address reuse, ...) from `listener` to
    /// the socket it accepted. One the transport does not have is skipped.
    fn inherit_options(&self, listener: SocketHandle, accepted: SocketHandle) {
        use crate::OptionName::*;
        for name in [
            Debug,
            ReuseAddress,
            ExclusiveAddressUse,
            KeepAlive,
            DontRoute,
            OobInline,
            NoDelay,
            V6Only,
        ] {
            if let Ok(value) = self.transport.option(listener, name) {
                let _ = self.transport.set_option(accepted, name, &value);
            }
        }
    }
}
