//! The provider: lifecycle (S1-S5, S11), the call gate and the paths by which
//! completions come in from the transport and go out to the notifier.
//!
//! The entry points are spread over sibling files by job: [`connect`]
//! (create, bind, listen, connect, accept), [`options`] (socket options and
//! what a socket answers), [`io`] (send, receive, overlapped results),
//! [`close`] (close, linger, shutdown), [`events`] (event select) and
//! [`cleanup`] (the final cleanup, S6). [`socket_state`] is what the table
//! holds for each socket.
//!
//! [`connect`]: super::connect
//! [`options`]: super::options
//! [`io`]: super::io
//! [`close`]: super::close
//! [`events`]: super::events
//! [`cleanup`]: super::cleanup
//! [`socket_state`]: super::socket_state

use super::error::{WsaError, WsaResult};
use super::flags::{FdEvents, MsgFlags};
use super::gate::{Gate, my_stripe};
use super::handle::{OpId, SocketHandle};
use super::notifier::{EventKey, Notification, Notifier, Outcome, Suppressed, WindowKey};
use super::op::{OpState, Overlapped};
use super::protocol::ProtocolInfo;
use super::socket_state::{OpKind, PendingOp, Select, Socket};
use super::table::Table;
use super::transport::{
    CloseKind, Completed, CompletionSink, Io, ShutdownHow, SocketKind, Transport, Wait,
};
use super::version::{Negotiated, Version, VersionRange};
use super::waiter::{WaitResult, Waiter};
use crate::sync::lock;
use arc_swap::ArcSwap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

/// Settings of a provider instance.
#[derive(Clone, Debug)]
pub struct ProviderConfig {
    /// The versions `startup` accepts (S2). Default 2.0 to 2.2.
    pub versions: VersionRange,
    /// Most sockets open at once; more is `WSAEMFILE`. Default 65 536.
    pub max_sockets: usize,
    /// Most overlapped operations pending on one socket; more is
    /// `WSAEWOULDBLOCK`. Default 1 024.
    pub max_pending_per_socket: usize,
    /// How long the final cleanup waits for closed sockets to finish sending
    /// when the transport cannot hand their data off (S6g). Default 5 s.
    pub drain_deadline: Duration,
}

impl Default for ProviderConfig {
    fn default() -> Self {
        ProviderConfig {
            versions: VersionRange::default(),
            max_sockets: 65_536,
            max_pending_per_socket: 1024,
            drain_deadline: Duration::from_secs(5),
        }
    }
}

/// How the loader detaches the provider (S11).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Detach {
    /// `DLL_PROCESS_DETACH` with a non-null `lpvReserved`: the process is
    /// exiting, other threads are gone. Nothing may be done.
    ProcessExit,
    /// `FreeLibrary` with the reference count above zero (or a simulated
    /// crash): never wait, tell nobody, free what is safe, leak the rest.
    Unload,
}

/// What [`Provider::process_detach`] did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DetachOutcome {
    /// Nothing, as the rules demand (process exit, or not started).
    NothingDone,
    /// No call was inside: the socket table was dropped without upcalls.
    Freed,
    /// Calls were still inside: the state is left alone (leaked on purpose).
    Leaked,
}

pub(crate) struct Lifecycle {
    pub(crate) count: u32,
}

/// A notifier for the time before the first startup: nothing can complete then.
struct NoNotifier;

impl Notifier for NoNotifier {
    fn deliver(&self, _: &Notification) {}
    fn network_event(&self, _: SocketHandle, _: EventKey, _: FdEvents, _: Option<WsaError>) {}
    fn post_message(
        &self,
        _: SocketHandle,
        _: WindowKey,
        _: u32,
        _: FdEvents,
        _: Option<WsaError>,
    ) {
    }
}

pub(crate) struct Inner<T, W> {
    pub(crate) config: ProviderConfig,
    pub(crate) transport: T,
    pub(crate) waiter: W,
    pub(crate) gate: Gate,
    lifecycle: Mutex<Lifecycle>,
    /// The protocol entry the transport was started for.
    protocol: Mutex<ProtocolInfo>,
    notifier: ArcSwap<Arc<dyn Notifier>>,
    pub(crate) table: Table<Socket>,
    /// Gracefully closed sockets that still had unsent data (S6e, S6g).
    pub(crate) draining: Mutex<Vec<SocketHandle>>,
    next_seq: AtomicU64,
    abandoned: AtomicBool,
    /// Whether the protocol of the first startup in force has
    /// `XP1_PARTIAL_MESSAGE` (a datagram too big for the buffer comes in
    /// pieces, `MSG_PARTIAL`) rather than failing `WSAEMSGSIZE` (spec §16).
    partial_messages: AtomicBool,
    /// Whether any socket was ever registered for network events: until
    /// then no event was disarmed, so re-enabling calls have nothing to do
    /// (and cost nothing on the receive path).
    pub(crate) selected_once: AtomicBool,
    /// Sink calls a transport made from inside one of its own methods
    /// (while the core held a socket's lock): run when the call it was
    /// inside leaves the provider.
    deferred: Mutex<Vec<SinkCall>>,
    /// Set after a call is deferred, so that the common case (nothing
    /// deferred) costs one load, not a lock, at the end of every call.
    any_deferred: AtomicBool,
    /// Operations a waiting caller ended itself because a final cleanup
    /// closed the gate under it (see [`Inner::wait_op`]): blocking calls
    /// and overlapped operations. The final cleanup counts them in its
    /// report, once (S6b, S6c).
    ended_by_waiters: [AtomicUsize; 2],
}

/// A Windows Sockets service provider over a transport `T`, waiting through `W`.
///
/// Cloning gives another handle to the same instance; every method may be
/// called from any thread at any time (S14).
///
/// ```
/// use std::sync::Arc;
/// use winsock_provider::mock::{MockWaiter, Network, RecordingNotifier};
/// use winsock_provider::{Provider, ProviderConfig, Version, WsaError};
///
/// let net = Network::new(1);
/// let node = net.add_node("10.0.0.1".parse().unwrap());
/// let p = Provider::new(ProviderConfig::default(), net.transport(node), MockWaiter::new(&net));
/// let notes = RecordingNotifier::new();
/// assert_eq!(p.cleanup().unwrap_err().error, WsaError::NotInitialised);
/// let v = p.startup(Version::new(2, 2), Arc::new(notes.clone())).unwrap();
/// assert_eq!(v.version, Version::new(2, 2));
/// p.cleanup().unwrap();
/// ```
pub struct Provider<T: Transport + 'static, W: Waiter + 'static> {
    pub(crate) inner: Arc<Inner<T, W>>,
}

impl<T: Transport + 'static, W: Waiter + 'static> Clone for Provider<T, W> {
    fn clone(&self) -> Self {
        Provider {
            inner: self.inner.clone(),
        }
    }
}

/// A call counted inside the provider; leaving wakes a waiting final cleanup.
pub(crate) struct Call<'a, T: Transport + 'static, W: Waiter + 'static> {
    inner: &'a Inner<T, W>,
    stripe: usize,
}

impl<T: Transport + 'static, W: Waiter + 'static> Drop for Call<'_, T, W> {
    fn drop(&mut self) {
        // What the transport reported from inside one of its methods, now
        // that no socket lock is held.
        self.inner.run_deferred();
        if self.inner.gate.leave(self.stripe) {
            self.inner.waiter.wake_all();
        }
    }
}

impl<T: Transport + 'static, W: Waiter + 'static> Provider<T, W> {
    /// A provider instance, not started. Attaches itself to `transport`.
    pub fn new(config: ProviderConfig, transport: T, waiter: W) -> Self {
        let inner = Arc::new(Inner {
            table: Table::new(config.max_sockets),
            config,
            transport,
            waiter,
            gate: Gate::default(),
            lifecycle: Mutex::new(Lifecycle { count: 0 }),
            protocol: Mutex::new(ProtocolInfo::default()),
            notifier: ArcSwap::from_pointee(Arc::new(NoNotifier) as Arc<dyn Notifier>),
            draining: Mutex::new(Vec::new()),
            next_seq: AtomicU64::new(1),
            abandoned: AtomicBool::new(false),
            partial_messages: AtomicBool::new(false),
            selected_once: AtomicBool::new(false),
            ended_by_waiters: Default::default(),
            deferred: Mutex::new(Vec::new()),
            any_deferred: AtomicBool::new(false),
        });
        let sink: Arc<dyn CompletionSink> = Arc::new(Sink {
            inner: Arc::downgrade(&inner),
        });
        inner.transport.attach(sink);
        Provider { inner }
    }

    /// The transport under this provider.
    pub fn transport(&self) -> &T {
        &self.inner.transport
    }

    /// The waiter this provider blocks through.
    pub fn waiter(&self) -> &W {
        &self.inner.waiter
    }

    /// The configuration.
    pub fn config(&self) -> &ProviderConfig {
        &self.inner.config
    }

    /// `WSPStartup` for the default protocol entry ([`ProtocolInfo::default`]:
    /// what a host that is not ws2_32 starts a provider for). See
    /// [`startup_for`](Self::startup_for).
    pub fn startup(
        &self,
        requested: Version,
        notifier: Arc<dyn Notifier>,
    ) -> WsaResult<Negotiated> {
        self.startup_for(requested, &ProtocolInfo::default(), notifier)
    }

    /// `WSPStartup` for the catalog entry `protocol`. Negotiates the version
    /// (S2), counts one more startup (S1), and makes `notifier` the one
    /// every later completion goes through: the newest upcall table wins
    /// (S3). The first startup starts the transport
    /// ([`Transport::start`]) with `protocol`; its error fails the startup.
    /// A failed startup changes nothing.
    pub fn startup_for(
        &self,
        requested: Version,
        protocol: &ProtocolInfo,
        notifier: Arc<dyn Notifier>,
    ) -> WsaResult<Negotiated> {
        let _span =
            tracing::debug_span!(target: "winsock_provider", "startup", %requested).entered();
        let mut lc = lock!(self.inner.lifecycle);
        let negotiated = self.inner.config.versions.negotiate(requested)?;
        let count = lc.count.checked_add(1).ok_or(WsaError::ProcessLimit)?;
        if count == 1 {
            self.inner.transport.start(protocol)?;
            *lock!(self.inner.protocol) = protocol.clone();
            self.inner.partial_messages.store(
                protocol
                    .service_flags
                    .contains(crate::ServiceFlags::PARTIAL_MESSAGE),
                Ordering::Relaxed,
            );
        } else {
            self.inner.transport.nested_startup(protocol)?;
        }
        self.inner.notifier.store(Arc::new(notifier));
        lc.count = count;
        if count == 1 {
            self.inner.abandoned.store(false, Ordering::Release);
            self.inner.gate.open();
        }
        tracing::debug!(
            target: "winsock_provider",
            version = %negotiated.version,
            count,
            "started"
        );
        Ok(negotiated)
    }

    /// The protocol entry of the first startup in force (of the last one,
    /// when none is).
    pub fn protocol_info(&self) -> ProtocolInfo {
        lock!(self.inner.protocol).clone()
    }

    /// Startups not yet matched by a cleanup.
    pub fn startup_count(&self) -> u32 {
        lock!(self.inner.lifecycle).count
    }

    /// Whether calls are admitted (S4): started and not in the final cleanup.
    pub fn is_open(&self) -> bool {
        self.inner.gate.is_open()
    }

    /// Sockets open now (including ones being accepted or closed).
    pub fn socket_count(&self) -> usize {
        self.inner.table.len()
    }

    /// Gracefully closed sockets the provider still tracks as sending (S6e).
    pub fn draining_count(&self) -> usize {
        let transport = &self.inner.transport;
        let mut d = lock!(self.inner.draining);
        d.retain(|h| transport.unsent(*h) > 0);
        d.len()
    }

    /// `DLL_PROCESS_DETACH` (S11). On process exit it does nothing at all. On
    /// unload without cleanup it never waits (not even for a lock): it closes
    /// the gate, keeps every later completion from the application, and frees
    /// the socket table only if no call is inside; otherwise it leaks it.
    pub fn process_detach(&self, how: Detach) -> DetachOutcome {
        if how == Detach::ProcessExit {
            return DetachOutcome::NothingDone;
        }
        let Ok(lc) = self.inner.lifecycle.try_lock() else {
            // A startup or cleanup is running on another thread: touching
            // anything now could wait under the loader lock. Leak.
            self.inner.abandon();
            return DetachOutcome::Leaked;
        };
        if lc.count == 0 {
            return DetachOutcome::NothingDone;
        }
        self.inner.abandon();
        if self.inner.gate.inside() > 0 {
            return DetachOutcome::Leaked;
        }
        for h in self.inner.table.live_handles() {
            self.inner.table.remove(h);
        }
        self.inner.table.release_reserved();
        DetachOutcome::Freed
    }

    /// Models a crashed process (S11): the gate closes and nothing is ever
    /// delivered to the application again; no transport call, no wait. The
    /// simulator resets the process's connections in the network.
    pub fn crash(&self) {
        self.inner.abandon();
    }

    /// Enters through the gate (S4).
    pub(crate) fn enter(&self) -> WsaResult<Call<'_, T, W>> {
        self.inner.enter()
    }
}

/// A completion decided under a socket's lock, delivered after it.
pub(crate) struct Pending {
    pub(crate) note: Notification,
    pub(crate) record: Overlapped,
}

impl<T: Transport + 'static, W: Waiter + 'static> Inner<T, W> {
    pub(crate) fn enter(&self) -> WsaResult<Call<'_, T, W>> {
        let stripe = my_stripe();
        if let Err(e) = self.gate.enter_on(stripe) {
            // The brief count may have been seen by a cleanup waiting for
            // rundown: let it look again.
            self.waiter.wake_all();
            return Err(e);
        }
        Ok(Call {
            inner: self,
            stripe,
        })
    }

    fn abandon(&self) {
        self.abandoned.store(true, Ordering::Release);
        self.gate.close();
        self.waiter.wake_all();
    }

    pub(crate) fn next_op(&self, socket: SocketHandle) -> OpId {
        OpId {
            socket,
            seq: self.next_seq.fetch_add(1, Ordering::Relaxed),
        }
    }

    pub(crate) fn notifier(&self) -> arc_swap::Guard<Arc<Arc<dyn Notifier>>> {
        self.notifier.load()
    }

    /// Delivers completions decided under a lock, each exactly once (S10);
    /// after a crash or unload they are suppressed instead (S11).
    pub(crate) fn deliver(&self, pending: Vec<Pending>) {
        if pending.is_empty() {
            return;
        }
        let notifier = self.notifier();
        let gone = self.abandoned.load(Ordering::Acquire);
        for p in pending {
            if gone {
                notifier.suppressed(&p.note, Suppressed::ProcessGone);
            } else {
                notifier.deliver(&p.note);
            }
            p.record.mark_delivered();
        }
    }

    /// Ends a pending operation early because of a close (S7): a blocking
    /// call returns `WSAEINTR` and is never notified; an overlapped one ends
    /// with `WSA_OPERATION_ABORTED`, and its notification is returned, to be
    /// delivered once (S10). `None` when the operation had ended already.
    pub(crate) fn abort_op(&self, op: PendingOp) -> Option<Pending> {
        let (note, record) = self.end_early(op, OpState::AbortedNotified)?;
        tracing::debug!(target: "winsock_provider", op = %note.op, "aborted by a close (S7)");
        Some(Pending { note, record })
    }

    /// Ends a pending operation early because of the final cleanup (S6b,
    /// S6c), an unload or a crash (S11): its status is recorded and nobody
    /// is told; the notifier hears why, for traces.
    pub(crate) fn abort_op_silently(&self, op: PendingOp) {
        let Some((note, _)) = self.end_early(op, OpState::AbortedSilent) else {
            return;
        };
        let why = if self.abandoned.load(Ordering::Acquire) {
            Suppressed::ProcessGone
        } else {
            Suppressed::FinalCleanup
        };
        tracing::debug!(target: "winsock_provider", op = %note.op, %why, "aborted, nobody told");
        self.notifier().suppressed(&note, why);
    }

    /// Cancels `op` in the transport and moves it to `state` with its error
    /// (`WSAEINTR` for a blocking call, `WSA_OPERATION_ABORTED` for an
    /// overlapped one). The notification of an overlapped one, if it was
    /// still pending.
    fn end_early(&self, op: PendingOp, state: OpState) -> Option<(Notification, Overlapped)> {
        self.transport.cancel(op.id);
        if let OpKind::AcceptInto { socket, .. } = op.kind {
            // A connection that raced the abort is not the application's:
            // its socket goes back to what it was.
            self.give_back(socket);
        }
        if let OpKind::Accept { into } = op.kind {
            // The accept may have produced a connection that races in: close it
            // and give the reserved slot back.
            self.transport.close(into, CloseKind::Abortive);
            self.table.remove(into);
        }
        // A call nobody is told of (blocking, or a connect in the
        // background) is interrupted; an overlapped one aborted.
        let error = if op.mode.is_none() {
            WsaError::Interrupted
        } else {
            WsaError::OperationAborted
        };
        if !op
            .record
            .finish(state, Outcome::failed(error), Vec::new(), None)
        {
            return None;
        }
        let note = Notification {
            op: op.id,
            mode: op.mode?,
            outcome: Outcome::failed(error),
            user: op.user,
        };
        Some((note, op.record))
    }

    /// Waits until the operation of `record` ends, or `also()` holds, or the
    /// deadline passes. If the gate closes first (a final cleanup, an unload,
    /// a crash), the operation is ended here the way the cleanup ends it
    /// (S6b, S6c): a call waiting inside the provider must never hold up a
    /// rundown (S6f), and after an unload nobody else would end it (S11).
    pub(crate) fn wait_op(
        &self,
        record: &Overlapped,
        deadline: Option<Duration>,
        also: &mut dyn FnMut() -> bool,
    ) -> WaitResult {
        let waited = self.waiter.wait_until(deadline, &mut || {
            record.state().is_terminal() || also() || !self.gate.is_open()
        });
        if record.state().is_terminal() || self.gate.is_open() {
            return waited;
        }
        let Some(id) = record.op() else { return waited };
        match self.table.with(id.socket, |sock| sock.take_op(id)) {
            Ok(Some(op)) => {
                if !self.abandoned.load(Ordering::Acquire) {
                    // A final cleanup is running: it reports this one.
                    let kind = usize::from(!op.is_blocking());
                    self.ended_by_waiters[kind].fetch_add(1, Ordering::AcqRel);
                }
                self.abort_op_silently(op);
            }
            // Another thread took it out and is about to end it.
            _ => {
                self.waiter
                    .wait_until(None, &mut || record.state().is_terminal());
            }
        }
        WaitResult::Ready
    }

    /// A blocking call's wait ran out (`SO_SNDTIMEO`, `SO_RCVTIMEO`): its
    /// operation is taken back from the transport and fails with
    /// `WSAETIMEDOUT`; the socket stays usable (spec §15). A completion
    /// that won the race stands.
    pub(crate) fn time_out(&self, s: SocketHandle, record: &Overlapped) {
        let Some(id) = record.op() else { return };
        let mine = self.table.with(s, |sock| sock.take_op(id));
        if let Ok(Some(op)) = mine {
            self.transport.cancel(op.id);
            op.record.finish(
                OpState::Delivered,
                Outcome::failed(WsaError::TimedOut),
                Vec::new(),
                None,
            );
        } else {
            self.waiter
                .wait_until(None, &mut || record.state().is_terminal());
        }
    }

    /// A `ConnectEx`'s second part, under the socket's lock once its
    /// connect has succeeded: the same operation (`id`, still pending, so
    /// a close or the final cleanup ends it as any other, S7, S6c) becomes
    /// a send of `data`. The operation's end when the send finished or
    /// failed at once (told: the call was accepted, S9); `None` while the
    /// send is under way (its completion ends the operation).
    pub(crate) fn send_after_connect(
        &self,
        s: SocketHandle,
        sock: &mut Socket,
        id: OpId,
        data: Vec<u8>,
    ) -> Option<Pending> {
        let op = sock.pending.iter_mut().find(|op| op.id == id)?;
        op.kind = OpKind::Transfer;
        let outcome = match self.transport.send(s, data, None, Wait::Later(id)) {
            Ok(Io::Pending) => return None,
            Ok(Io::Done(bytes)) => Outcome {
                bytes,
                ..Outcome::default()
            },
            Ok(Io::WouldBlock) => Outcome::failed(WsaError::WouldBlock),
            Err(e) => Outcome::failed(e),
        };
        let op = sock.take_op(id)?;
        self.finished_now(op, outcome, Vec::new())
    }

    /// What a send of `kind` does once it has succeeded, under the
    /// socket's lock: a `TF_DISCONNECT` transmission shuts down sending.
    pub(crate) fn after_transfer(&self, s: SocketHandle, sock: &mut Socket, kind: OpKind) {
        if kind == (OpKind::Transmit { disconnect: true })
            && self.transport.shutdown(s, ShutdownHow::Send).is_ok()
        {
            sock.shut_send = true;
        }
    }

    /// An `AcceptEx`'s second part, once its connection is in `target`:
    /// the operation (taken from the listener, still pending) moves to
    /// `target` under a new id and becomes a receive of at most `receive`
    /// bytes, so that a close of `target` or the final cleanup ends it as
    /// any other (S7, S6c). The operation's end when the receive finished
    /// or failed at once, or when `target` was closed meanwhile (aborted,
    /// told); `None` while the receive is under way.
    pub(crate) fn receive_after_accept(
        &self,
        target: SocketHandle,
        op: PendingOp,
        receive: usize,
        peer: Option<SocketAddr>,
    ) -> Option<Pending> {
        // `None` from the closure: `target` is closing, the operation aborted.
        let moved = self.table.with(target, |t| {
            if t.closing {
                return None;
            }
            let id = self.next_op(target);
            if !op.record.move_to(id, peer) {
                return Some(None);
            }
            t.pending.push(PendingOp {
                id,
                kind: OpKind::Transfer,
                ..op.clone()
            });
            let (outcome, data) =
                match self
                    .transport
                    .recv(target, receive, MsgFlags::empty(), Wait::Later(id))
                {
                    Ok(Io::Pending) => return Some(None),
                    Ok(Io::Done(r)) => (
                        Outcome {
                            bytes: r.data.len(),
                            flags: r.flags,
                            error: None,
                        },
                        r.data,
                    ),
                    Ok(Io::WouldBlock) => (Outcome::failed(WsaError::WouldBlock), Vec::new()),
                    Err(e) => (Outcome::failed(e), Vec::new()),
                };
            Some(
                t.take_op(id)
                    .and_then(|taken| self.finished_now(taken, outcome, data)),
            )
        });
        match moved {
            Ok(Some(end)) => end,
            // Its socket was closed before the receive could start: aborted
            // and told (S7), or told nobody while the final cleanup runs
            // (S6c). Ended as a transfer: the connection is the socket's.
            Ok(None) | Err(_) => {
                let op = PendingOp {
                    kind: OpKind::Transfer,
                    ..op
                };
                if self.gate.is_open() {
                    self.abort_op(op)
                } else {
                    self.abort_op_silently(op);
                    None
                }
            }
        }
    }

    /// An overlapped operation's end decided now: recorded, and the
    /// notification to deliver (`None` if it was no longer pending).
    fn finished_now(&self, op: PendingOp, outcome: Outcome, data: Vec<u8>) -> Option<Pending> {
        let mode = op.mode?;
        let state = if outcome.error == Some(WsaError::OperationAborted) {
            OpState::AbortedNotified
        } else {
            OpState::Completing
        };
        op.record
            .finish(state, outcome.clone(), data, None)
            .then_some(Pending {
                note: Notification {
                    op: op.record.op()?,
                    mode,
                    outcome,
                    user: op.user,
                },
                record: op.record,
            })
    }

    /// A completion from the transport. Ignored when the operation is no
    /// longer pending (aborted, or its socket gone): one outcome only (S10).
    fn on_complete(&self, id: OpId, result: Completed) {
        let Ok(_call) = self.enter() else { return };
        let connected = matches!(result, Completed::Connected);
        let (outcome, data, from) = match result {
            Completed::Sent(n) => (
                Outcome {
                    bytes: n,
                    ..Outcome::default()
                },
                Vec::new(),
                None,
            ),
            Completed::Received(r) => (
                Outcome {
                    bytes: r.data.len(),
                    flags: r.flags,
                    error: None,
                },
                r.data,
                r.from,
            ),
            Completed::Accepted(peer) => (Outcome::default(), Vec::new(), Some(peer)),
            Completed::Connected => (Outcome::default(), Vec::new(), None),
            Completed::Failed(e) => (Outcome::failed(e), Vec::new(), None),
        };
        let mut connect_ended = None;
        let mut accepted_into = None;
        let mut then_receive = None;
        let mut outcome = outcome;
        let decided = self.table.with(id.socket, |sock| {
            // A ConnectEx with a send buffer goes on as a send.
            if sock.connecting == Some(id)
                && let Some(data) = sock.connect_data.take()
                && connected
            {
                sock.connecting = None;
                sock.connected = true;
                connect_ended = Some(None);
                return self.send_after_connect(id.socket, sock, id, data);
            }
            let op = sock.take_op(id)?;
            self.truncation(sock.kind, &mut outcome);
            if outcome.error.is_none() {
                self.after_transfer(id.socket, sock, op.kind);
            }
            if let OpKind::AcceptInto { socket, receive } = op.kind {
                accepted_into = Some((socket, super::connect::Inherited::from(&*sock)));
                // An AcceptEx with a receive area goes on as a receive on
                // its socket (after the socket is made whole, below).
                if receive > 0 && outcome.error.is_none() {
                    then_receive = Some((op, receive, from));
                    return None;
                }
            }
            let to = if op.mode.is_none() {
                OpState::Delivered
            } else {
                OpState::Completing
            };
            if !op.record.finish(to, outcome.clone(), data, from) {
                return None;
            }
            if let OpKind::Connect { background } = op.kind {
                sock.connecting = None;
                sock.connect_data = None;
                sock.connected = outcome.error.is_none();
                if background {
                    // SO_ERROR keeps a non-blocking connect's error (a
                    // blocking one's is the call's answer, spec §15).
                    sock.so_error = outcome.error.map_or(0, WsaError::code);
                }
                connect_ended = Some(outcome.error);
            }
            let mode = op.mode?;
            Some(Pending {
                note: Notification {
                    op: id,
                    mode,
                    outcome,
                    user: op.user,
                },
                record: op.record,
            })
        });
        if let Some((op, receive, peer)) = then_receive
            && let Some((target, like)) = accepted_into.take()
        {
            self.accepted_into(id.socket, target, like);
            op.record.set_local(self.transport.local_addr(target).ok());
            if let Some(p) = self.receive_after_accept(target, op, receive, peer) {
                self.deliver(vec![p]);
            }
        }
        if let Ok(Some(p)) = decided {
            // An AcceptEx's socket is whole before anyone is told.
            if let Some((target, like)) = accepted_into {
                if p.note.outcome.error.is_none() {
                    self.accepted_into(id.socket, target, like);
                    p.record.set_local(self.transport.local_addr(target).ok());
                } else {
                    self.give_back(target);
                }
            }
            self.deliver(vec![p]);
        }
        match connect_ended {
            Some(None) => self.signal(id.socket, FdEvents::CONNECT | FdEvents::WRITE, None),
            Some(Some(e)) => self.signal(id.socket, FdEvents::CONNECT, Some(e)),
            None => {}
        }
        self.waiter.wake_all();
    }

    /// Network events from the transport, for `WSPEventSelect` registrations.
    pub(crate) fn on_network_event(
        &self,
        socket: SocketHandle,
        events: FdEvents,
        error: Option<WsaError>,
    ) {
        let Ok(_call) = self.enter() else { return };
        self.signal(socket, events, error);
        self.waiter.wake_all();
    }

    /// Records `events` for the socket's event-select registration, if it
    /// selected any of them, and tells its event or window (the network
    /// events the transport reports, and the ones the core decides itself:
    /// `FD_CONNECT` when a connect ends). The caller is inside the gate.
    ///
    /// The re-enabling rules (spec §12): an event is signalled only while
    /// armed, and disarmed when signalled, until its re-enabling call
    /// ([`Inner::reenable`]). In event mode the level-triggered ones
    /// (`FD_READ`, `FD_OOB`, `FD_ACCEPT`) are recorded again on every new
    /// arrival (Windows does); in message mode one message waits for the
    /// re-enabling call. A connect's end that no registration took is kept
    /// for a later event-select registration.
    pub(crate) fn signal(&self, socket: SocketHandle, events: FdEvents, error: Option<WsaError>) {
        let signal = self.table.with(socket, |sock| {
            if events.contains(FdEvents::CLOSE) {
                sock.close_error = error;
            }
            let selected = sock.select.map_or(FdEvents::empty(), |(_, mask)| mask);
            if events.contains(FdEvents::CONNECT) && !selected.contains(FdEvents::CONNECT) {
                sock.unreported_connect = Some(error);
            }
            let (to, mask) = sock.select?;
            let allowed = match to {
                Select::Event(_) => sock.armed | FdEvents::LEVEL,
                Select::Window { .. } => sock.armed,
            };
            let hit = events & mask & allowed;
            if hit.is_empty() {
                return None;
            }
            sock.armed -= hit;
            // Only an event-select registration feeds the record that
            // WSPEnumNetworkEvents reads (spec §12).
            if matches!(to, Select::Event(_)) {
                sock.record.add(hit, error);
            }
            Some((to, hit))
        });
        if let Ok(Some((to, hit))) = signal
            && !self.abandoned.load(Ordering::Acquire)
        {
            match to {
                Select::Event(event) => self.notifier().network_event(socket, event, hit, error),
                Select::Window { window, msg } => self
                    .notifier()
                    .post_message(socket, window, msg, hit, error),
            }
        }
    }

    /// Spec §16: a datagram larger than the receive buffer (the transport
    /// took its first part and set `MSG_PARTIAL`) fails `WSAEMSGSIZE` with
    /// the bytes it filled, the rest dropped, unless the protocol offers
    /// partial messages. A stream's receive is never truncated.
    pub(crate) fn truncation(&self, kind: SocketKind, outcome: &mut Outcome) {
        if kind == SocketKind::Datagram
            && outcome.error.is_none()
            && outcome.flags.contains(MsgFlags::PARTIAL)
            && !self.partial_messages.load(Ordering::Relaxed)
        {
            outcome.flags -= MsgFlags::PARTIAL;
            outcome.error = Some(WsaError::MessageSize);
        }
    }

    /// An `AcceptEx`'s socket after its accept failed or was aborted: an
    /// open, unconnected stream socket again, with fresh transport state
    /// (a connection that raced in is reset).
    pub(crate) fn give_back(&self, target: SocketHandle) {
        self.transport.close(target, CloseKind::Abortive);
        if let Ok(family) = self.table.with(target, |t| t.family) {
            let _ = self.transport.open(target, family, SocketKind::Stream);
        }
    }

    /// A re-enabling call on `socket` (spec §12): arms `events` again and,
    /// for the level-triggered ones among them that the registration
    /// selected, signals again at once what still holds (data left after a
    /// partial receive, another connection waiting). Any call counts, one
    /// that failed too. The caller is inside the gate.
    pub(crate) fn reenable(&self, socket: SocketHandle, events: FdEvents) {
        let again = self.table.with(socket, |sock| {
            sock.armed |= events;
            let selected = sock.select.map_or(FdEvents::empty(), |(_, mask)| mask);
            let level = events & selected & FdEvents::LEVEL;
            if level.is_empty() {
                FdEvents::empty()
            } else {
                self.transport.readiness(socket) & level
            }
        });
        if let Ok(again) = again
            && !again.is_empty()
        {
            self.signal(socket, again, None);
        }
    }

    pub(crate) fn lifecycle(&self) -> MutexGuard<'_, Lifecycle> {
        lock!(self.lifecycle)
    }

    /// The blocking calls and overlapped operations that waiting callers
    /// ended themselves since the last look (S6b, S6c), for the final
    /// cleanup's report; read once every call has left.
    pub(crate) fn take_ended_by_waiters(&self) -> (usize, usize) {
        let [blocking, overlapped] = &self.ended_by_waiters;
        (
            blocking.swap(0, Ordering::AcqRel),
            overlapped.swap(0, Ordering::AcqRel),
        )
    }
}

/// A sink call deferred until no socket lock is held.
enum SinkCall {
    Complete(OpId, Completed),
    Event(SocketHandle, FdEvents, Option<WsaError>),
}

impl<T: Transport + 'static, W: Waiter + 'static> Inner<T, W> {
    /// Drops the deferred sink calls (the final cleanup: their operations
    /// and sockets are gone).
    pub(crate) fn forget_deferred(&self) {
        self.any_deferred.store(false, Ordering::Release);
        lock!(self.deferred).clear();
    }

    /// Keeps a sink call for [`Inner::run_deferred`].
    fn defer(&self, call: SinkCall) {
        lock!(self.deferred).push(call);
        // After the push: whoever sees the flag finds the call. The thread
        // deferring runs the list itself when its own call ends.
        self.any_deferred.store(true, Ordering::Release);
    }

    /// Runs the sink calls deferred by [`Sink`] (none, usually), unless
    /// this thread still holds a socket's lock.
    fn run_deferred(&self) {
        if !self.any_deferred.load(Ordering::Acquire) || crate::core::table::holding_a_socket_lock()
        {
            return;
        }
        loop {
            self.any_deferred.store(false, Ordering::Release);
            let calls = std::mem::take(&mut *lock!(self.deferred));
            if calls.is_empty() {
                return;
            }
            for call in calls {
                match call {
                    SinkCall::Complete(op, result) => self.on_complete(op, result),
                    SinkCall::Event(s, events, error) => self.on_network_event(s, events, error),
                }
            }
        }
    }
}

/// The sink the transport reports to. It holds the provider weakly, so a
/// transport that outlives the provider (S6g) keeps nothing alive. A call
/// made from inside a transport method, while the core holds a socket's
/// lock, is deferred until the provider call it is inside returns (taking
/// the lock again now would wait for ever).
struct Sink<T: Transport + 'static, W: Waiter + 'static> {
    inner: Weak<Inner<T, W>>,
}

impl<T: Transport + 'static, W: Waiter + 'static> CompletionSink for Sink<T, W> {
    fn complete(&self, op: OpId, result: Completed) {
        if let Some(inner) = self.inner.upgrade() {
            if crate::core::table::holding_a_socket_lock() {
                inner.defer(SinkCall::Complete(op, result));
            } else {
                inner.on_complete(op, result);
                inner.run_deferred();
            }
        }
    }

    fn network_event(&self, socket: SocketHandle, events: FdEvents, error: Option<WsaError>) {
        if let Some(inner) = self.inner.upgrade() {
            if crate::core::table::holding_a_socket_lock() {
                inner.defer(SinkCall::Event(socket, events, error));
            } else {
                inner.on_network_event(socket, events, error);
                inner.run_deferred();
            }
        }
    }

    fn wake(&self) {
        if let Some(inner) = self.inner.upgrade() {
            inner.waiter.wake_all();
        }
    }
}
