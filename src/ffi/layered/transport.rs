//! [`LayeredTransport`]: the core's data plane, carried by the next
//! provider in the chain.
//!
//! Each application socket is the layer's own socket in the core (its own
//! handle, its own table entry, its own operations), over one socket of
//! the next provider, made with `WSA_FLAG_OVERLAPPED` and registered with
//! `WSPAsyncSelect` to the relay (which also makes it non-blocking):
//! - a non-blocking call goes down as a non-blocking call;
//! - an overlapped or blocking one goes down as the layer's own overlapped
//!   operation ([`lower_op`](super::lower_op)), and the application's
//!   completes when it does: so close (S7), the final cleanup (S6c) and a
//!   completion racing a close (S10) are decided by the layer's core, at
//!   the layer's level, whatever the next provider does with its own;
//! - connects and accepts that must wait are finished by the next
//!   provider's `FD_CONNECT` and `FD_ACCEPT`; its other network events are
//!   the layer's socket's.
//!
//! Lifecycle (spec §11): the first startup resolves the next provider,
//! loads it and calls its `WSPStartup`; every later startup and every
//! non-final cleanup is mirrored to it one for one; the final cleanup,
//! after the core has reset the layer's sockets (their lower sockets are
//! reset or closed, so the next provider's own operations end, notified
//! at its level), calls the next provider's `WSPCleanup` and returns when
//! the relay has delivered everything queued before.

use super::super::abi::FIONREAD;
use super::super::abi::{SOCKET, WSAPROTOCOL_INFOW, WSPUPCALLTABLE};
use super::super::protocol_info;
use super::hooks::Layer;
use super::lower_op::{Finished, Kind, LowerOp, Moved, Owner};
use super::next::NextProvider;
use super::relay::{self, EventTarget};
use super::resolve::{CatalogEntry, Resolver};
use crate::core::sockopt::names::{SO_RCVBUF, SO_SNDBUF, SOL_SOCKET};
use crate::sync::lock;
use crate::{
    AddressFamily, CloseKind, Completed, CompletionSink, FdEvents, Io, MsgFlags, OpId, OptionName,
    OptionValue, ProtocolInfo, Received, SharedSocket, ShutdownHow, SocketHandle, SocketKind,
    Transport, Wait, WsaError,
};
use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, Weak};
use windows_sys::Win32::Foundation::HWND;

/// `SIO_QUERY_TARGET_PNP_HANDLE` (spec §11; the documentation spells it
/// `SIO_QUERY_PNP_TARGET_HANDLE`).
pub const SIO_QUERY_TARGET_PNP_HANDLE: u32 = 0x4800_0018;

/// Where the next provider comes from.
pub enum NextSource {
    /// Resolved at the first startup from the chain `WSPStartup` was given
    /// (kept by [`LayeredTransport::startup_args`]): the layer's hidden
    /// entry has `provider_id`; `resolver` lists the catalog.
    Catalog {
        /// The GUID of the layer's hidden catalog entry.
        provider_id: [u8; 16],
        /// The catalog.
        resolver: Box<dyn Resolver>,
    },
    /// A next provider given directly, and the upcall table to start it
    /// with (tests, simulators, the conformance kit).
    Given {
        /// The next provider.
        next: Arc<NextProvider>,
        /// The upcall table of the host (the relay replaces two entries).
        upcalls: WSPUPCALLTABLE,
    },
}

impl std::fmt::Debug for NextSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NextSource::Catalog { provider_id, .. } => f
                .debug_struct("Catalog")
                .field("provider_id", provider_id)
                .finish_non_exhaustive(),
            NextSource::Given { next, .. } => f
                .debug_struct("Given")
                .field("next", next)
                .finish_non_exhaustive(),
        }
    }
}

/// A core operation that pends below.
#[derive(Clone, Copy)]
struct Down {
    socket: SocketHandle,
    kind: Kind,
    /// A receive's buffer size and flags (`MSG_PEEK`).
    max: usize,
    flags: MsgFlags,
    /// The core took it back ([`Transport::cancel`]) or it was answered
    /// from kept data: its lower completion is kept, not told.
    taken_back: bool,
}

/// One layer socket's next-provider socket and what the layer tracks.
struct Lower {
    s: SOCKET,
    kind: SocketKind,
    /// The events that hold as far as the layer knows (`readiness`).
    ready: FdEvents,
    /// Lower events seen so far: a caller that found the lower socket not
    /// ready clears a bit only if no event came during its call.
    events_seen: u64,
    /// A connect that waits for `FD_CONNECT`.
    connecting: Option<OpId>,
    /// Accepts that wait for `FD_ACCEPT`, oldest first: the operation and
    /// the layer socket it makes.
    accepts: VecDeque<(OpId, SocketHandle)>,
    /// What lower receives brought after the core had taken their
    /// operation back (a blocking receive that timed out): served to the
    /// next receives first, so no byte is lost.
    unread: VecDeque<Moved>,
}

#[derive(Default)]
struct Sockets {
    by_handle: HashMap<SocketHandle, Lower>,
    by_lower: HashMap<SOCKET, SocketHandle>,
}

struct Shared<L: Layer> {
    hooks: L,
    source: NextSource,
    next: Mutex<Option<Arc<NextProvider>>>,
    /// `WSPStartup`'s protocol entry and upcall table, newest first (S3).
    args: Mutex<Option<(WSAPROTOCOL_INFOW, WSPUPCALLTABLE)>>,
    sink: Mutex<Option<Arc<dyn CompletionSink>>>,
    sockets: Mutex<Sockets>,
    /// Lower operation records not freed yet.
    outstanding: Mutex<HashSet<usize>>,
    /// The core's operations that went down and pend there.
    pending: Mutex<HashMap<OpId, Down>>,
    /// Accepts taken out of their queue to be served, and whether the
    /// core took each back meanwhile ([`Transport::cancel`]).
    pumping: Mutex<HashMap<OpId, bool>>,
    window: Mutex<Option<HWND>>,
    /// The completion port of a next provider with IFS handles.
    #[cfg(windows)]
    ifs: Mutex<Option<super::ifs::IfsPort>>,
    me: Weak<Shared<L>>,
}

// SAFETY: `HWND` is a key here (see `relay`), never dereferenced; the
// upcall table and protocol entry are plain values read under locks.
unsafe impl<L: Layer> Send for Shared<L> {}
// SAFETY: as above.
unsafe impl<L: Layer> Sync for Shared<L> {}

/// A [`Transport`] over the next provider in a protocol chain, with the
/// layer's [`Layer`] hooks on every call (see the module docs).
///
/// ```no_run
/// use std::sync::Arc;
/// use winsock_provider::ffi::layered::{LayeredTransport, NextProvider, NextSource};
/// use winsock_provider::ffi::{abi::WSPUPCALLTABLE, install};
/// use winsock_provider::{AddressFamily, ProtocolInfo, Provider, ProviderConfig, SocketKind, ThreadWaiter};
///
/// // The entry the next provider is loaded for (from the catalog), and the
/// // upcall table ws2_32 handed the layer's own `WSPStartup`.
/// let base_entry = install::encode(&ProtocolInfo::base(1001, AddressFamily::Inet, SocketKind::Stream));
/// let upcalls = WSPUPCALLTABLE::default();
///
/// // SAFETY: the path names a Winsock provider DLL.
/// let next = unsafe { NextProvider::load("./libloopback_provider.so".as_ref(), base_entry) }?;
/// let layer = LayeredTransport::new((), NextSource::Given { next: Arc::new(next), upcalls });
/// let provider = Provider::new(ProviderConfig::default(), layer, ThreadWaiter::new());
/// # Ok::<(), winsock_provider::WsaError>(())
/// ```
pub struct LayeredTransport<L: Layer> {
    shared: Arc<Shared<L>>,
}

impl<L: Layer> std::fmt::Debug for LayeredTransport<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LayeredTransport")
            .field("source", &self.shared.source)
            .field("sockets", &lock!(self.shared.sockets).by_handle.len())
            .finish_non_exhaustive()
    }
}

impl<L: Layer> LayeredTransport<L> {
    /// A layer with `hooks` over the next provider `source` names.
    pub fn new(hooks: L, source: NextSource) -> Self {
        let shared = Arc::new_cyclic(|me| Shared {
            hooks,
            source,
            next: Mutex::new(None),
            args: Mutex::new(None),
            sink: Mutex::new(None),
            sockets: Mutex::default(),
            outstanding: Mutex::default(),
            pending: Mutex::default(),
            pumping: Mutex::default(),
            window: Mutex::new(None),
            #[cfg(windows)]
            ifs: Mutex::new(None),
            me: me.clone(),
        });
        LayeredTransport { shared }
    }

    /// The hooks.
    pub fn hooks(&self) -> &L {
        &self.shared.hooks
    }

    /// The next provider, once the first startup found it.
    pub fn next(&self) -> Option<Arc<NextProvider>> {
        lock!(self.shared.next).clone()
    }

    /// Keeps what `WSPStartup` was given, for the startup that follows:
    /// the chain entry (whose chain names the next provider) and ws2_32's
    /// upcall table (which the next provider is started with, two entries
    /// replaced by the relay's). The shim calls it at every `WSPStartup`.
    pub fn startup_args(&self, protocol: &WSAPROTOCOL_INFOW, upcalls: &WSPUPCALLTABLE) {
        *lock!(self.shared.args) = Some((*protocol, *upcalls));
    }

    /// Lower operation records still held (0 after the final cleanup).
    pub fn outstanding(&self) -> usize {
        lock!(self.shared.outstanding).len()
    }
}

impl<L: Layer> Shared<L> {
    fn next(&self) -> Result<Arc<NextProvider>, WsaError> {
        lock!(self.next).clone().ok_or(WsaError::NotInitialised)
    }

    fn sink(&self) -> Option<Arc<dyn CompletionSink>> {
        lock!(self.sink).clone()
    }

    /// The upcall table to start the next provider with.
    fn upcalls(&self) -> Result<WSPUPCALLTABLE, WsaError> {
        let host = match (&self.source, &*lock!(self.args)) {
            (_, Some((_, upcalls))) => *upcalls,
            (NextSource::Given { upcalls, .. }, None) => *upcalls,
            (NextSource::Catalog { .. }, None) => return Err(WsaError::ProviderFailedInit),
        };
        Ok(relay::upcalls_for_next(host))
    }

    /// Finds and loads the next provider (spec §11).
    fn resolve(&self) -> Result<Arc<NextProvider>, WsaError> {
        match &self.source {
            NextSource::Given { next, .. } => Ok(next.clone()),
            NextSource::Catalog {
                provider_id,
                resolver,
            } => {
                let Some((info, _)) = *lock!(self.args) else {
                    tracing::error!(target: "winsock_provider", "a layered provider was started without its WSPStartup arguments");
                    return Err(WsaError::ProviderFailedInit);
                };
                let entries = resolver.entries()?;
                let decoded: Vec<ProtocolInfo> = entries
                    .iter()
                    .map(|e| protocol_info::decode(&e.info))
                    .collect();
                let chain = crate::catalog::next_in_chain(
                    &protocol_info::decode(&info),
                    *provider_id,
                    &decoded,
                )
                .map_err(|e| {
                    tracing::error!(target: "winsock_provider", error = %e, "no next provider");
                    WsaError::ProviderFailedInit
                })?;
                let entry: &CatalogEntry = entries
                    .iter()
                    .find(|e| e.info.dwCatalogEntryId == chain.next_id)
                    .ok_or(WsaError::ProviderFailedInit)?;
                if let Some(next) = lock!(self.next).clone()
                    && next.protocol_info().dwCatalogEntryId == chain.next_id
                {
                    return Ok(next);
                }
                let given = if chain.next_is_base { entry.info } else { info };
                // SAFETY: the catalog names this DLL as the provider of
                // the next entry in the chain.
                let next = unsafe { NextProvider::load(&entry.path, given) }?;
                tracing::debug!(target: "winsock_provider", path = %entry.path.display(), next = chain.next_id, base = chain.next_is_base, "next provider loaded");
                Ok(Arc::new(next))
            }
        }
    }

    /// How many lower events `h` has seen (see [`Shared::not_ready`]).
    fn events_seen(&self, h: SocketHandle) -> u64 {
        lock!(self.sockets)
            .by_handle
            .get(&h)
            .map_or(0, |l| l.events_seen)
    }

    /// A lower call on `h` found it not ready (`WSAEWOULDBLOCK`): `bit` no
    /// longer holds, unless a lower event came during the call (counted
    /// from `seen`), which said otherwise.
    fn not_ready(&self, h: SocketHandle, bit: FdEvents, seen: u64) {
        if let Some(l) = lock!(self.sockets).by_handle.get_mut(&h)
            && l.events_seen == seen
        {
            l.ready -= bit;
        }
    }

    /// The next provider's `WSPCleanup` (a mirrored one, or its final).
    fn cleanup_next(&self) {
        if let Err(e) = self.next().and_then(|n| n.cleanup()) {
            tracing::warn!(target: "winsock_provider", error = %e, "the next provider's WSPCleanup failed");
        }
    }

    /// Gives back what `start` took: the relay window, the completion
    /// port (IFS), the relay thread's use.
    fn release_relay(&self) {
        if let Some(w) = lock!(self.window).take() {
            relay::forget_window(w);
        }
        #[cfg(windows)]
        if let Some(port) = lock!(self.ifs).take() {
            port.stop();
        }
        relay::release();
    }

    fn lower_of(&self, h: SocketHandle) -> Result<SOCKET, WsaError> {
        lock!(self.sockets)
            .by_handle
            .get(&h)
            .map(|l| l.s)
            .ok_or(WsaError::NotSocket)
    }

    fn window(&self) -> Result<HWND, WsaError> {
        lock!(self.window).ok_or(WsaError::NotInitialised)
    }

    /// Makes `s` (a new or accepted lower socket) the layer's `h`: its
    /// network events go to the relay.
    fn adopt(
        &self,
        next: &NextProvider,
        h: SocketHandle,
        s: SOCKET,
        kind: SocketKind,
    ) -> Result<(), WsaError> {
        const ALL: i32 = 0x3F; // FD_READ .. FD_CLOSE
        if let Err(e) = next.async_select(s, self.window()?, relay::MESSAGE, ALL) {
            next.reset(s);
            return Err(e);
        }
        #[cfg(windows)]
        if let Some(port) = &*lock!(self.ifs)
            && let Err(e) = port.associate(s)
        {
            next.reset(s);
            return Err(e);
        }
        let mut socks = lock!(self.sockets);
        socks.by_lower.insert(s, h);
        socks.by_handle.insert(
            h,
            Lower {
                s,
                kind,
                events_seen: 0,
                ready: if kind == SocketKind::Datagram {
                    FdEvents::WRITE
                } else {
                    FdEvents::empty()
                },
                connecting: None,
                accepts: VecDeque::new(),
                unread: VecDeque::new(),
            },
        );
        Ok(())
    }

    /// Posts an overlapped lower operation for the core's `op`.
    fn post(
        &self,
        kind: Kind,
        h: SocketHandle,
        op: OpId,
        data: Vec<u8>,
        to: Option<SocketAddr>,
        flags: MsgFlags,
    ) -> Result<Io<Moved>, WsaError> {
        let next = self.next()?;
        let s = self.lower_of(h)?;
        let owner: Weak<dyn Owner> = self.me.clone();
        let max = data.len();
        let record = LowerOp::new(kind, op, h, s, data, to, flags, owner);
        lock!(self.outstanding).insert(record as usize);
        // SAFETY: the record lives until its routine or this owner frees
        // it; neither can before the phase below is released.
        let rec = unsafe { &*record };
        let mut phase = rec.phase();
        let a = rec.call_args();
        // SAFETY: the record's buffers and `WSAOVERLAPPED` stay allocated
        // until the routine has run (or, silenced, until `stop`).
        let posted = unsafe {
            match kind {
                Kind::Send => next.post_send(
                    s,
                    a.wsabuf,
                    a.count,
                    if a.to { Some(&*a.addr) } else { None },
                    a.overlapped,
                ),
                Kind::Recv => next.post_recv(s, a.wsabuf, a.count, a.flags, a.addr, a.overlapped),
            }
        };
        match posted {
            Ok(()) => {
                *phase = super::lower_op::Phase::Answered;
                // SAFETY: the call returned 0 and the phase is held.
                Ok(Io::Done(unsafe { rec.moved_at_once() }))
            }
            Err(WsaError::IoPending) => {
                // Before the phase is released: the routine waits for it.
                lock!(self.pending).insert(
                    op,
                    Down {
                        socket: h,
                        kind,
                        max,
                        flags,
                        taken_back: false,
                    },
                );
                *phase = super::lower_op::Phase::Pending;
                Ok(Io::Pending)
            }
            // A receive that finished at once truncated and says so (an IFS
            // provider: its packet still comes, spec §16): the part that
            // fit, for the layer's core to judge.
            Err(WsaError::MessageSize) if kind == Kind::Recv => {
                *phase = super::lower_op::Phase::Answered;
                // SAFETY: the call ended and the phase is held.
                let mut moved = unsafe { rec.moved_at_once() };
                moved.flags |= MsgFlags::PARTIAL;
                Ok(Io::Done(moved))
            }
            Err(e) => {
                drop(phase);
                lock!(self.outstanding).remove(&(record as usize));
                // SAFETY: refused, so no routine will ever run (S9).
                unsafe { LowerOp::free(record) };
                Err(e)
            }
        }
    }

    /// Takes waiting connections for the accepts that wait on `listener`
    /// (a connection that raced the accept's registration included),
    /// each completed through the sink.
    fn pump_accepts(&self, listener: SocketHandle) {
        let Ok(next) = self.next() else { return };
        loop {
            let (ls, kind, seen, waiting) = {
                let mut socks = lock!(self.sockets);
                let Some(l) = socks.by_handle.get_mut(&listener) else {
                    return;
                };
                let Some(w) = l.accepts.pop_front() else {
                    return;
                };
                lock!(self.pumping).insert(w.0, false);
                (l.s, l.kind, l.events_seen, w)
            };
            let (op, h) = waiting;
            let taken = next.accept(ls);
            let cancelled = lock!(self.pumping).remove(&op).unwrap_or(true);
            match taken {
                Ok((s, _)) if cancelled => {
                    // The core took the accept back meanwhile (a close of
                    // the listener, a cancel, the final cleanup): the
                    // connection goes back rather than leak below.
                    next.reset(s);
                }
                Ok((s, peer)) => {
                    let result = self.adopt(&next, h, s, kind).map(|()| peer);
                    if result.is_ok() {
                        self.hooks.accepted(listener, h, peer);
                    }
                    if let Some(sink) = self.sink() {
                        sink.complete(
                            op,
                            result.map_or_else(Completed::Failed, Completed::Accepted),
                        );
                    }
                }
                Err(WsaError::WouldBlock) => {
                    if !cancelled && let Some(l) = lock!(self.sockets).by_handle.get_mut(&listener)
                    {
                        l.accepts.push_front(waiting);
                    }
                    self.not_ready(listener, FdEvents::ACCEPT, seen);
                    return;
                }
                Err(_) if cancelled => {}
                Err(e) => {
                    if let Some(sink) = self.sink() {
                        sink.complete(op, Completed::Failed(e));
                    }
                }
            }
        }
    }

    /// The hooks' view of a receive, and its result for the core.
    fn received(
        &self,
        h: SocketHandle,
        moved: Result<Moved, WsaError>,
    ) -> Result<Received, WsaError> {
        let mut result = moved.map(|m| Received {
            data: m.data,
            from: m.from,
            flags: m.flags,
        });
        self.hooks.received(h, &mut result);
        result
    }
}

impl<L: Layer> Shared<L> {
    /// Keeps what a receive the core took back brought, for the next
    /// receive; tells the core there is something to read.
    fn keep_unread(&self, h: SocketHandle, moved: Moved) {
        let kept = match lock!(self.sockets).by_handle.get_mut(&h) {
            Some(l) => {
                l.unread.push_back(moved);
                l.ready |= FdEvents::READ;
                true
            }
            None => false,
        };
        if !kept {
            return;
        }
        // A receive that waits below gets its share now, as its own size
        // and flags say (its own lower receive, when it ends, is kept in
        // turn): the oldest one.
        let waiting = {
            let mut pending = lock!(self.pending);
            let oldest = pending
                .iter()
                .filter(|(_, d)| d.socket == h && d.kind == Kind::Recv && !d.taken_back)
                .map(|(&op, d)| (op, d.max, d.flags))
                .min_by_key(|(op, _, _)| op.seq);
            if let Some((op, _, _)) = oldest
                && let Some(d) = pending.get_mut(&op)
            {
                d.taken_back = true;
            }
            oldest
        };
        let Some(sink) = self.sink() else { return };
        match waiting.and_then(|(op, max, flags)| Some((op, self.take_unread(h, max, flags)?))) {
            Some((op, share)) => {
                let result = self
                    .received(h, Ok(share))
                    .map_or_else(Completed::Failed, Completed::Received);
                sink.complete(op, result);
            }
            None => sink.network_event(h, FdEvents::READ, None),
        }
    }

    /// The next receive's share of what was kept: at most `max` bytes of a
    /// stream's first chunk (the rest stays first), or a whole datagram.
    /// `MSG_PEEK` leaves it kept.
    fn take_unread(&self, h: SocketHandle, max: usize, flags: MsgFlags) -> Option<Moved> {
        let mut socks = lock!(self.sockets);
        let l = socks.by_handle.get_mut(&h)?;
        let stream = l.kind == SocketKind::Stream;
        let peek = flags.contains(MsgFlags::PEEK);
        let first = l.unread.front_mut()?;
        let n = max.min(first.data.len());
        let mut share = Moved {
            bytes: n,
            data: first.data[..n].to_vec(),
            from: first.from,
            flags: first.flags,
        };
        if !stream && n < first.data.len() {
            // A datagram bigger than the buffer: its first part, for the
            // layer's core to judge (spec §16); the rest goes with it.
            share.flags |= MsgFlags::PARTIAL;
        }
        if !peek {
            if stream && n < first.data.len() {
                first.data.drain(..n);
            } else {
                l.unread.pop_front();
            }
        }
        if l.unread.is_empty() {
            l.ready -= FdEvents::READ;
        }
        Some(share)
    }
}

impl<L: Layer> Owner for Shared<L> {
    fn finished(&self, end: Finished) {
        let taken_back = lock!(self.pending)
            .remove(&end.op)
            .is_some_and(|d| d.taken_back);
        if taken_back {
            // Nobody waits for this operation any more; what it moved
            // still happened.
            match (end.kind, end.result) {
                (Kind::Recv, Ok(moved)) => self.keep_unread(end.socket, moved),
                (Kind::Send, Ok(moved)) => self.hooks.sent(end.socket, Ok(moved.bytes)),
                (_, Err(_)) => {}
            }
            return;
        }
        let result = match end.kind {
            Kind::Send => {
                let sent = end.result.map(|m| m.bytes);
                self.hooks.sent(end.socket, sent);
                sent.map_or_else(Completed::Failed, Completed::Sent)
            }
            Kind::Recv => self
                .received(end.socket, end.result)
                .map_or_else(Completed::Failed, Completed::Received),
        };
        if let Some(sink) = self.sink() {
            sink.complete(end.op, result);
        }
    }

    fn release(&self, record: *mut LowerOp) -> bool {
        lock!(self.outstanding).remove(&(record as usize))
    }
}

impl<L: Layer> EventTarget for Shared<L> {
    fn lower_event(&self, socket: SOCKET, events: FdEvents, error: Option<WsaError>) {
        let mut tell = FdEvents::empty();
        let (h, connected) = {
            let mut socks = lock!(self.sockets);
            let Some(&h) = socks.by_lower.get(&socket) else {
                return;
            };
            let Some(l) = socks.by_handle.get_mut(&h) else {
                return;
            };
            l.events_seen += 1;
            let mut connected = None;
            if events.contains(FdEvents::CONNECT) {
                connected = l.connecting.take().map(|op| (op, error));
                if error.is_none() {
                    l.ready |= FdEvents::WRITE;
                }
            }
            // FD_WRITE re-enabled: only news when a send had found no room.
            if events.contains(FdEvents::WRITE) && !l.ready.contains(FdEvents::WRITE) {
                l.ready |= FdEvents::WRITE;
                tell |= FdEvents::WRITE;
            }
            for e in [FdEvents::READ, FdEvents::OOB, FdEvents::CLOSE] {
                if events.contains(e) {
                    l.ready |= e;
                    tell |= e;
                }
            }
            if events.contains(FdEvents::ACCEPT) {
                l.ready |= FdEvents::ACCEPT;
                if l.accepts.is_empty() {
                    tell |= FdEvents::ACCEPT;
                }
            }
            (h, connected)
        };
        let Some(sink) = self.sink() else { return };
        if let Some((op, error)) = connected {
            sink.complete(op, error.map_or(Completed::Connected, Completed::Failed));
        }
        if events.contains(FdEvents::ACCEPT) {
            self.pump_accepts(h);
        }
        if !tell.is_empty() {
            let error = if tell.contains(FdEvents::CLOSE) {
                error
            } else {
                None
            };
            sink.network_event(h, tell, error);
        }
    }
}

/// `(type, protocol)` of a socket of `kind`: TCP or UDP, named, so the
/// next provider never takes the protocol from its catalog entry (which
/// is one protocol's).
fn type_and_protocol(kind: SocketKind) -> (i32, i32) {
    match kind {
        SocketKind::Stream => (1, 6),
        SocketKind::Datagram => (2, 17),
    }
}

impl<L: Layer> Transport for LayeredTransport<L> {
    fn attach(&self, sink: Arc<dyn CompletionSink>) {
        *lock!(self.shared.sink) = Some(sink);
    }

    /// Resolves and starts the next provider; starts the relay.
    fn start(&self, _: &ProtocolInfo) -> Result<(), WsaError> {
        let sh = &self.shared;
        let next = sh.resolve()?;
        #[cfg(windows)]
        if next.is_ifs() {
            *lock!(sh.ifs) = Some(super::ifs::IfsPort::start(next.clone())?);
        }
        #[cfg(not(windows))]
        if next.is_ifs() {
            tracing::error!(target: "winsock_provider", "the next provider says it has IFS handles, which only Windows has");
            return Err(WsaError::ProviderFailedInit);
        }
        let acquired = relay::acquire();
        #[cfg(windows)]
        if acquired.is_err()
            && let Some(port) = lock!(sh.ifs).take()
        {
            port.stop();
        }
        acquired?;
        let target: Weak<dyn EventTarget> = sh.me.clone();
        *lock!(sh.window) = Some(relay::window_for(target));
        let started = sh.upcalls().and_then(|u| next.startup(u));
        if let Err(e) = started {
            sh.release_relay();
            tracing::error!(target: "winsock_provider", error = %e, "the next provider's WSPStartup failed");
            return Err(e);
        }
        *lock!(sh.next) = Some(next);
        Ok(())
    }

    /// Mirrors the startup to the next provider (spec §11).
    fn nested_startup(&self, _: &ProtocolInfo) -> Result<(), WsaError> {
        let sh = &self.shared;
        sh.next()?.startup(sh.upcalls()?).map(|_| ())
    }

    /// Mirrors the cleanup to the next provider (spec §11).
    fn nested_cleanup(&self) {
        self.shared.cleanup_next();
    }

    /// The next provider's final cleanup (its closed sockets keep
    /// draining, S6e), then the relay: everything it queued is delivered,
    /// and records the next provider silenced are freed.
    fn stop(&self) {
        let sh = &self.shared;
        // Lower sockets the layer still holds (an accept that raced the
        // cleanup) are reset, so they do not outlive it below.
        let left: Vec<SOCKET> = lock!(sh.sockets).by_handle.values().map(|l| l.s).collect();
        if let Ok(next) = sh.next() {
            for s in left {
                next.reset(s);
            }
        }
        sh.cleanup_next();
        relay::flush();
        #[cfg(windows)]
        if let Some(port) = &*lock!(sh.ifs) {
            port.flush();
        }
        // Records whose end never came (the next provider's final cleanup
        // silenced them, S6c one level down) are forgotten, not freed: a
        // completion that still came late (an IFS provider's cancelled I/O,
        // a provider that breaks S6c) must find its record allocated. The
        // layer resets every socket before this, so there are none in
        // practice; a leak is the safe failure.
        let silenced = lock!(sh.outstanding).drain().count();
        if silenced > 0 {
            tracing::warn!(target: "winsock_provider", silenced, "lower operations never ended: their records are leaked on purpose");
        }
        lock!(sh.pending).clear();
        *lock!(sh.sockets) = Sockets::default();
        sh.release_relay();
    }

    fn open(
        &self,
        h: SocketHandle,
        family: AddressFamily,
        kind: SocketKind,
    ) -> Result<(), WsaError> {
        let sh = &self.shared;
        let next = sh.next()?;
        let (ty, protocol) = type_and_protocol(kind);
        let s = next.socket(family.code(), ty, protocol)?;
        sh.adopt(&next, h, s, kind)?;
        sh.hooks.opened(h, family, kind);
        Ok(())
    }

    fn bind(&self, h: SocketHandle, addr: SocketAddr) -> Result<SocketAddr, WsaError> {
        let next = self.shared.next()?;
        let s = self.shared.lower_of(h)?;
        next.bind(s, addr)?;
        next.name(s, false)
    }

    fn listen(&self, h: SocketHandle, backlog: u32) -> Result<(), WsaError> {
        let s = self.shared.lower_of(h)?;
        self.shared
            .next()?
            .listen(s, i32::try_from(backlog).unwrap_or(i32::MAX))
    }

    fn connect(&self, h: SocketHandle, addr: SocketAddr, op: OpId) -> Result<Io<()>, WsaError> {
        let sh = &self.shared;
        let next = sh.next()?;
        let to = sh.hooks.connecting(h, addr)?;
        let (s, kind) = {
            let mut socks = lock!(sh.sockets);
            let l = socks.by_handle.get_mut(&h).ok_or(WsaError::NotSocket)?;
            // Registered first: FD_CONNECT may come before the call returns.
            if l.kind == SocketKind::Stream {
                l.connecting = Some(op);
            }
            (l.s, l.kind)
        };
        let result = next.connect(s, to);
        let mut socks = lock!(sh.sockets);
        let l = socks.by_handle.get_mut(&h);
        match result {
            Err(WsaError::WouldBlock) if kind == SocketKind::Stream => Ok(Io::Pending),
            Ok(()) => {
                if let Some(l) = l {
                    l.connecting = None;
                    l.ready |= FdEvents::WRITE;
                }
                Ok(Io::Done(()))
            }
            Err(e) => {
                if let Some(l) = l {
                    l.connecting = None;
                }
                Err(e)
            }
        }
    }

    fn dissolve(&self, h: SocketHandle) -> Result<(), WsaError> {
        let s = self.shared.lower_of(h)?;
        self.shared.next()?.connect_unspecified(s)
    }

    fn accept(
        &self,
        listener: SocketHandle,
        h: SocketHandle,
        wait: Wait,
    ) -> Result<Io<SocketAddr>, WsaError> {
        let sh = &self.shared;
        let next = sh.next()?;
        let (ls, kind, seen) = {
            let socks = lock!(sh.sockets);
            let l = socks.by_handle.get(&listener).ok_or(WsaError::NotSocket)?;
            if !l.accepts.is_empty() && wait != Wait::No {
                // Served in posting order: a later accept waits its turn.
                (None, l.kind, l.events_seen)
            } else {
                (Some(l.s), l.kind, l.events_seen)
            }
        };
        if let Some(ls) = ls {
            match next.accept(ls) {
                Ok((s, peer)) => {
                    sh.adopt(&next, h, s, kind)?;
                    sh.hooks.accepted(listener, h, peer);
                    return Ok(Io::Done(peer));
                }
                Err(WsaError::WouldBlock) => {}
                Err(e) => return Err(e),
            }
        }
        match wait {
            Wait::No => {
                sh.not_ready(listener, FdEvents::ACCEPT, seen);
                Ok(Io::WouldBlock)
            }
            Wait::Later(op) => {
                if let Some(l) = lock!(sh.sockets).by_handle.get_mut(&listener) {
                    l.accepts.push_back((op, h));
                }
                // A connection that came between the try and the
                // registration is taken now (the sink call is deferred by
                // the core until this call returns).
                sh.pump_accepts(listener);
                Ok(Io::Pending)
            }
        }
    }

    fn send(
        &self,
        h: SocketHandle,
        mut data: Vec<u8>,
        to: Option<SocketAddr>,
        wait: Wait,
    ) -> Result<Io<usize>, WsaError> {
        let sh = &self.shared;
        let own_len = data.len();
        sh.hooks.sending(h, &mut data, to)?;
        let result = match wait {
            Wait::No => {
                let s = sh.lower_of(h)?;
                let seen = sh.events_seen(h);
                match sh.next()?.send_now(s, &data, to) {
                    Err(WsaError::WouldBlock) => {
                        sh.not_ready(h, FdEvents::WRITE, seen);
                        return Ok(Io::WouldBlock);
                    }
                    r => r.map(Io::Done),
                }
            }
            Wait::Later(op) => sh
                .post(Kind::Send, h, op, data, to, MsgFlags::empty())
                .map(|io| io.map(|m| m.bytes)),
        };
        match &result {
            Ok(Io::Done(n)) => sh.hooks.sent(h, Ok(*n)),
            Err(e) => sh.hooks.sent(h, Err(*e)),
            _ => {}
        }
        result.map(|io| io.map(|n| n.min(own_len)))
    }

    fn recv(
        &self,
        h: SocketHandle,
        max: usize,
        flags: MsgFlags,
        wait: Wait,
    ) -> Result<Io<Received>, WsaError> {
        let sh = &self.shared;
        if let Some(kept) = sh.take_unread(h, max, flags) {
            return sh.received(h, Ok(kept)).map(Io::Done);
        }
        let moved = match wait {
            Wait::No => {
                let s = sh.lower_of(h)?;
                let seen = sh.events_seen(h);
                match recv_now(&*sh.next()?, s, max, flags) {
                    Err(WsaError::WouldBlock) => {
                        sh.not_ready(h, FdEvents::READ, seen);
                        return Ok(Io::WouldBlock);
                    }
                    r => r.map(Io::Done),
                }
            }
            Wait::Later(op) => sh.post(Kind::Recv, h, op, vec![0; max], None, flags),
        };
        match moved {
            Ok(Io::Done(m)) => sh.received(h, Ok(m)).map(Io::Done),
            Ok(Io::Pending) => Ok(Io::Pending),
            Ok(Io::WouldBlock) => Ok(Io::WouldBlock),
            Err(e) => sh.received(h, Err(e)).map(Io::Done),
        }
    }

    /// Forgets a connect or an accept that waits. A lower operation cannot
    /// be taken back: it is marked, and what a receive brings is kept for
    /// the next receive.
    fn cancel(&self, op: OpId) {
        if let Some(d) = lock!(self.shared.pending).get_mut(&op) {
            d.taken_back = true;
        }
        if let Some(cancelled) = lock!(self.shared.pumping).get_mut(&op) {
            *cancelled = true;
        }
        let mut socks = lock!(self.shared.sockets);
        for l in socks.by_handle.values_mut() {
            if l.connecting == Some(op) {
                l.connecting = None;
            }
            l.accepts.retain(|&(o, _)| o != op);
        }
    }

    fn shutdown(&self, h: SocketHandle, how: ShutdownHow) -> Result<(), WsaError> {
        let s = self.shared.lower_of(h)?;
        self.shared.next()?.shutdown(s, how)
    }

    /// A graceful close closes the lower socket as the next provider
    /// closes (its unsent data drains there, S6e); an abortive one resets it.
    fn close(&self, h: SocketHandle, how: CloseKind) {
        let sh = &self.shared;
        let lower = {
            let mut socks = lock!(sh.sockets);
            let l = socks.by_handle.remove(&h);
            if let Some(l) = &l {
                socks.by_lower.remove(&l.s);
            }
            l
        };
        if let (Some(l), Ok(next)) = (lower, sh.next()) {
            match how {
                CloseKind::Graceful => next.close(l.s),
                CloseKind::Abortive => next.reset(l.s),
            }
        }
        sh.hooks.closed(h);
    }

    fn local_addr(&self, h: SocketHandle) -> Result<SocketAddr, WsaError> {
        self.shared.next()?.name(self.shared.lower_of(h)?, false)
    }

    fn peer_addr(&self, h: SocketHandle) -> Result<SocketAddr, WsaError> {
        self.shared.next()?.name(self.shared.lower_of(h)?, true)
    }

    fn readiness(&self, h: SocketHandle) -> FdEvents {
        let mut ready =
            lock!(self.shared.sockets)
                .by_handle
                .get(&h)
                .map_or(FdEvents::empty(), |l| {
                    if l.unread.is_empty() {
                        l.ready
                    } else {
                        l.ready | FdEvents::READ
                    }
                });
        if self.available(h).is_ok_and(|n| n > 0) {
            ready |= FdEvents::READ;
        }
        ready
    }

    fn set_buffers(
        &self,
        h: SocketHandle,
        send: Option<usize>,
        recv: Option<usize>,
    ) -> Result<(), WsaError> {
        let next = self.shared.next()?;
        let s = self.shared.lower_of(h)?;
        for (name, size) in [(SO_SNDBUF, send), (SO_RCVBUF, recv)] {
            if let Some(size) = size {
                let v = i32::try_from(size).unwrap_or(i32::MAX);
                next.set_option(s, SOL_SOCKET, name, &v.to_ne_bytes())?;
            }
        }
        Ok(())
    }

    fn buffers(&self, h: SocketHandle) -> Result<(usize, usize), WsaError> {
        let next = self.shared.next()?;
        let s = self.shared.lower_of(h)?;
        let get = |name| -> Result<usize, WsaError> {
            Ok(usize::try_from(int_of(&next.option(s, SOL_SOCKET, name, 4)?)?).unwrap_or(0))
        };
        Ok((get(SO_SNDBUF)?, get(SO_RCVBUF)?))
    }

    /// Passed down untouched: a named option as a 4-byte `BOOL`, any other
    /// as the application's bytes.
    fn set_option(
        &self,
        h: SocketHandle,
        name: OptionName,
        value: &OptionValue,
    ) -> Result<(), WsaError> {
        let (level, optname) = name.level_and_name();
        let bytes = match value {
            OptionValue::Bool(b) => i32::from(*b).to_ne_bytes().to_vec(),
            OptionValue::Bytes(b) => b.clone(),
        };
        self.shared
            .next()?
            .set_option(self.shared.lower_of(h)?, level, optname, &bytes)
    }

    fn option(&self, h: SocketHandle, name: OptionName) -> Result<OptionValue, WsaError> {
        let (level, optname) = name.level_and_name();
        let bytes = self
            .shared
            .next()?
            .option(self.shared.lower_of(h)?, level, optname, 256)?;
        Ok(match name {
            OptionName::Other { .. } => OptionValue::Bytes(bytes),
            _ => OptionValue::Bool(bytes.iter().any(|&b| b != 0)),
        })
    }

    /// `SIO_QUERY_TARGET_PNP_HANDLE` is answered with the lower socket
    /// (ws2_32 asks it of sockets made by `WPUCreateSocketHandle`, spec
    /// §11); every other code goes down untouched (`SIO_BASE_HANDLE`
    /// among them: a layer must not intercept it).
    fn ioctl(
        &self,
        h: SocketHandle,
        code: u32,
        input: &[u8],
        output_capacity: usize,
    ) -> Result<Vec<u8>, WsaError> {
        let lower = self.shared.lower_of(h)?;
        if code == SIO_QUERY_TARGET_PNP_HANDLE {
            let handle = lower.to_ne_bytes();
            if output_capacity < handle.len() {
                return Err(WsaError::Fault);
            }
            return Ok(handle.to_vec());
        }
        self.shared
            .next()?
            .ioctl(lower, code, input, output_capacity)
    }

    /// `TF_REUSE_SOCKET` through a layer: a new lower socket of the same
    /// kind under the layer's handle, and the old one closed gracefully
    /// (it drains in the next provider, S6e). The new one is made and put
    /// in place first: if that fails, nothing changed.
    fn reuse(&self, h: SocketHandle) -> Result<(), WsaError> {
        let sh = &self.shared;
        let next = sh.next()?;
        let (old, kind) = {
            let socks = lock!(sh.sockets);
            let l = socks.by_handle.get(&h).ok_or(WsaError::NotSocket)?;
            (l.s, l.kind)
        };
        let family = next
            .name(old, false)
            .map_or(next.entry_family(), |a| AddressFamily::of(&a).code());
        let (ty, protocol) = type_and_protocol(kind);
        let s = next.socket(family, ty, protocol)?;
        // The new one in place first (a failed adopt closes it and leaves
        // the old one as it was), then the old one goes.
        sh.adopt(&next, h, s, kind)?;
        lock!(sh.sockets).by_lower.remove(&old);
        next.close(old);
        Ok(())
    }

    /// The next provider's duplicate of the lower socket: its token is the
    /// layer's (spec §11, §14: the layer propagates the structure).
    fn duplicate(&self, h: SocketHandle, process: u32) -> Result<u32, WsaError> {
        let s = self.shared.lower_of(h)?;
        self.shared.next()?.duplicate(s, process)
    }

    /// Claims the next provider's duplicate and puts a layer handle over
    /// it, as `open` does for a new socket; its shape is read from the
    /// lower socket.
    fn claim(&self, h: SocketHandle, token: u32) -> Result<SharedSocket, WsaError> {
        const SO_TYPE: i32 = 0x1008;
        const SO_ACCEPTCONN: i32 = 0x0002;
        const SOCK_DGRAM: i32 = 2;
        let sh = &self.shared;
        let next = sh.next()?;
        let s = next.claim(token)?;
        let ty = next
            .option(s, SOL_SOCKET, SO_TYPE, 4)
            .and_then(|v| int_of(&v));
        let kind = match ty {
            Ok(SOCK_DGRAM) => SocketKind::Datagram,
            Ok(_) => SocketKind::Stream,
            Err(e) => {
                next.close(s);
                return Err(e);
            }
        };
        let local = next.name(s, false);
        let family = match local {
            Ok(a) => AddressFamily::of(&a),
            // Not bound: the family of the next provider's entry.
            Err(_) if next.entry_family() == AddressFamily::Inet6.code() => AddressFamily::Inet6,
            Err(_) => AddressFamily::Inet,
        };
        let shared = SharedSocket {
            family,
            kind,
            connected: next.name(s, true).is_ok(),
            listening: next
                .option(s, SOL_SOCKET, SO_ACCEPTCONN, 4)
                .and_then(|v| int_of(&v))
                .is_ok_and(|on| on != 0),
            // The next provider enforces a shutdown made through another
            // handle; the layer's core cannot read it.
            shut_send: false,
            shut_recv: false,
        };
        sh.adopt(&next, h, s, kind)?;
        sh.hooks.opened(h, family, kind);
        Ok(shared)
    }

    fn available(&self, h: SocketHandle) -> Result<usize, WsaError> {
        let out = self
            .shared
            .next()?
            .ioctl(self.shared.lower_of(h)?, FIONREAD as u32, &[], 4)?;
        let lower = u32::from_ne_bytes(int_of(&out)?.to_ne_bytes()) as usize;
        let kept: usize = lock!(self.shared.sockets)
            .by_handle
            .get(&h)
            .map_or(0, |l| l.unread.iter().map(|m| m.data.len()).sum());
        Ok(lower + kept)
    }
}

/// The 4-byte integer an option or ioctl answered: `WSAEFAULT` when it
/// wrote fewer bytes.
fn int_of(bytes: &[u8]) -> Result<i32, WsaError> {
    let four: [u8; 4] = bytes
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or(WsaError::Fault)?;
    Ok(i32::from_ne_bytes(four))
}

/// A receive that is not overlapped, into a buffer of `max` bytes.
fn recv_now(
    next: &NextProvider,
    s: SOCKET,
    max: usize,
    flags: MsgFlags,
) -> Result<Moved, WsaError> {
    let mut data = vec![0u8; max];
    let buf = super::super::abi::WSABUF {
        len: u32::try_from(max).unwrap_or(u32::MAX),
        buf: data.as_mut_ptr(),
    };
    let (mut count, mut flags_io) = (0u32, flags.bits());
    let mut from = super::super::sockaddr::Storage::empty();
    // SAFETY: every pointer is to a live local, for a call that is not
    // overlapped (nothing is kept after it returns).
    let r = unsafe {
        next.post_recv(
            s,
            &buf,
            &mut count,
            &mut flags_io,
            &mut from,
            std::ptr::null_mut(),
        )
    };
    match r {
        Ok(()) => {}
        // A truncated datagram below: the part that fit, for the layer's
        // core to apply the rule at its own level (spec §16).
        Err(WsaError::MessageSize) => flags_io |= MsgFlags::PARTIAL.bits(),
        Err(e) => return Err(e),
    }
    data.truncate(count as usize);
    Ok(Moved {
        bytes: data.len(),
        data,
        from: from.addr().ok(),
        flags: MsgFlags::from_bits_retain(flags_io),
    })
}
