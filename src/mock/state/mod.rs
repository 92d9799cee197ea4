//! The network's state behind its one lock, and the plumbing every rule uses:
//! lookups, address binding, the wire, and the outbox of sink calls.
//!
//! One lock for the whole network keeps the model simple and the event order
//! reproducible; the mock is for tests and simulations, not for throughput.

mod completions;
mod datagram;
pub(crate) mod endpoint;
mod faults;
pub(crate) mod options;
mod rng;
mod scheduler;
pub(crate) mod services;
mod sharing;
mod sockets;
mod stream;
mod wire;

pub(crate) use scheduler::StepOutcome;

use super::config::{EPHEMERAL_FIRST, NetworkConfig};
use super::ids::{EpId, InstanceId, NodeId, ServiceId};
use super::stats::NetworkStats;
use crate::core::error::WsaError;
use crate::core::flags::FdEvents;
use crate::core::handle::{OpId, SocketHandle};
use crate::core::transport::{AddressFamily, Completed, CompletionSink};
use endpoint::{Body, Endpoint, Owner, Proto};
use rng::SplitMix64;
use services::Service;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// One provider instance (one process's transport).
pub(crate) struct Instance {
    pub(crate) node: NodeId,
    /// `None` before `attach`, and for ever after a crash or drop (S11: a dead
    /// process is told nothing).
    pub(crate) sink: Option<Arc<dyn CompletionSink>>,
    /// Crashed or dropped: every call fails `WSAENETDOWN`.
    pub(crate) gone: bool,
}

/// What a stream segment carries.
#[derive(Debug)]
pub(crate) enum SegKind {
    Data(Vec<u8>),
    Fin,
    Rst,
}

/// A stream segment on the wire.
#[derive(Debug)]
pub(crate) struct Segment {
    pub(crate) due: Duration,
    pub(crate) kind: SegKind,
}

/// A datagram on the wire. Datagrams travel independently (no ordering
/// between them), unlike stream segments.
#[derive(Debug)]
pub(crate) struct DatagramInFlight {
    pub(crate) due: Duration,
    pub(crate) from: SocketAddr,
    pub(crate) to: SocketAddr,
    pub(crate) data: Vec<u8>,
}

/// What is bound at an address.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Binding {
    Socket(EpId),
    Service(ServiceId),
}

/// One call to make on a provider's sink, once the lock is dropped.
#[derive(Debug)]
pub(crate) enum SinkCall {
    Complete(OpId, Completed),
    Event(SocketHandle, FdEvents, Option<WsaError>),
}

/// Sink calls collected under the lock, by instance; wakes are coalesced.
#[derive(Default)]
pub(crate) struct Outbox {
    pub(crate) calls: Vec<(InstanceId, SinkCall)>,
    pub(crate) wakes: BTreeSet<InstanceId>,
}

impl Outbox {
    fn is_empty(&self) -> bool {
        self.calls.is_empty() && self.wakes.is_empty()
    }

    fn append(&mut self, other: Outbox) {
        self.calls.extend(other.calls);
        self.wakes.extend(other.wakes);
    }
}

/// A sink call with its sink resolved: safe to make after the lock is gone.
pub(crate) enum Delivery {
    Call(Arc<dyn CompletionSink>, SinkCall),
    Wake(Arc<dyn CompletionSink>),
}

impl Delivery {
    /// Makes the call. Only ever called with no network lock held (the
    /// locking rule of `core::transport`).
    pub(crate) fn run(self) {
        match self {
            Delivery::Call(sink, SinkCall::Complete(op, result)) => sink.complete(op, result),
            Delivery::Call(sink, SinkCall::Event(s, ev, err)) => sink.network_event(s, ev, err),
            Delivery::Wake(sink) => sink.wake(),
        }
    }
}

/// Everything in the network.
pub(crate) struct NetState {
    pub(crate) config: NetworkConfig,
    pub(crate) rng: SplitMix64,
    pub(crate) now: Duration,
    pub(crate) down: bool,
    /// Each node's addresses, in the order they were given (one per family
    /// at most is used as the node's own).
    pub(crate) nodes: BTreeMap<NodeId, Vec<IpAddr>>,
    pub(crate) instances: BTreeMap<InstanceId, Instance>,
    /// Handles are per instance (two processes may both have handle 1).
    pub(crate) sockets: BTreeMap<(InstanceId, SocketHandle), EpId>,
    pub(crate) endpoints: BTreeMap<EpId, Endpoint>,
    /// Endpoints that may have something to do. Every mutable access marks
    /// the endpoint and its peer (whose window may have changed); the
    /// scheduler unmarks those it finds with nothing to do. So a stalled
    /// connection costs nothing per step until something touches it.
    pub(crate) active: BTreeSet<EpId>,
    /// Endpoints whose connect is under way (see `Body::Connecting`); an
    /// entry whose endpoint moved on is dropped when next looked at.
    pub(crate) connecting: BTreeSet<EpId>,
    pub(crate) bindings: BTreeMap<(Proto, SocketAddr), Binding>,
    pub(crate) next_ephemeral: BTreeMap<(Proto, IpAddr), u16>,
    /// One FIFO per direction of a connection: a segment can only arrive
    /// after the ones sent before it on the same direction.
    pub(crate) wires: BTreeMap<(EpId, EpId), VecDeque<Segment>>,
    pub(crate) datagrams: Vec<DatagramInFlight>,
    pub(crate) services: BTreeMap<ServiceId, Service>,
    /// Sink calls of the step in progress.
    pub(crate) out: Outbox,
    /// Sink calls caused by transport calls and fault injection: delivered by
    /// the next step, because those callers may hold the core's locks.
    pub(crate) deferred: Outbox,
    pub(crate) stats: NetworkStats,
    pub(crate) trace: Option<Vec<String>>,
    /// Sinks let go of under the lock, to be dropped after it (dropping one
    /// may drop a provider, whose transport then calls into the network).
    pub(crate) graveyard: Vec<Arc<dyn CompletionSink>>,
    /// Duplicates not claimed yet: the endpoint and the node it is for.
    pub(crate) shares: BTreeMap<u32, (EpId, NodeId)>,
    pub(crate) next_share: u32,
    next_instance: u64,
    next_ep: u64,
    pub(crate) next_service: u32,
}

impl NetState {
    pub(crate) fn new(seed: u64, mut config: NetworkConfig) -> Self {
        config.mss = config.mss.max(1);
        NetState {
            config,
            rng: SplitMix64::new(seed),
            now: Duration::ZERO,
            down: false,
            nodes: BTreeMap::new(),
            instances: BTreeMap::new(),
            sockets: BTreeMap::new(),
            endpoints: BTreeMap::new(),
            active: BTreeSet::new(),
            connecting: BTreeSet::new(),
            bindings: BTreeMap::new(),
            next_ephemeral: BTreeMap::new(),
            wires: BTreeMap::new(),
            datagrams: Vec::new(),
            services: BTreeMap::new(),
            out: Outbox::default(),
            deferred: Outbox::default(),
            stats: NetworkStats::default(),
            trace: None,
            graveyard: Vec::new(),
            shares: BTreeMap::new(),
            next_share: 0,
            next_instance: 0,
            next_ep: 0,
            next_service: 0,
        }
    }

    /// A buffer size as the model uses it: 0 (Windows' "no buffering") acts
    /// as one segment, so data still moves and sends still pend until their
    /// bytes are handed on.
    pub(crate) fn eff(&self, cap: usize) -> usize {
        if cap == 0 { self.config.mss } else { cap }
    }

    pub(crate) fn add_node(&mut self, ip: IpAddr) -> NodeId {
        if let Some(id) = self.node_with(ip) {
            return id;
        }
        let id = NodeId(self.nodes.len() as u32);
        self.nodes.insert(id, vec![ip]);
        id
    }

    /// The node that has `ip`.
    pub(crate) fn node_with(&self, ip: IpAddr) -> Option<NodeId> {
        self.nodes
            .iter()
            .find(|(_, addrs)| addrs.contains(&ip))
            .map(|(&id, _)| id)
    }

    /// Gives `node` one more address; `false` if another node has it.
    pub(crate) fn add_address(&mut self, node: NodeId, ip: IpAddr) -> bool {
        match self.node_with(ip) {
            Some(n) => n == node,
            None => match self.nodes.get_mut(&node) {
                Some(addrs) => {
                    addrs.push(ip);
                    true
                }
                None => false,
            },
        }
    }

    pub(crate) fn add_instance(&mut self, node: NodeId) -> InstanceId {
        assert!(
            self.nodes.contains_key(&node),
            "{node} is not a node of this network"
        );
        let id = InstanceId(self.next_instance);
        self.next_instance += 1;
        self.instances.insert(
            id,
            Instance {
                node,
                sink: None,
                gone: false,
            },
        );
        id
    }

    /// Whether an instance may make calls now.
    pub(crate) fn check(&self, inst: InstanceId) -> Result<(), WsaError> {
        match self.instances.get(&inst) {
            Some(i) if !i.gone && !self.down => Ok(()),
            _ => Err(WsaError::NetworkDown),
        }
    }

    /// The address of `inst`'s node in `family`: `WSAEADDRNOTAVAIL` when
    /// the node has none.
    pub(crate) fn instance_ip(
        &self,
        inst: InstanceId,
        family: AddressFamily,
    ) -> Result<IpAddr, WsaError> {
        self.nodes[&self.instances[&inst].node]
            .iter()
            .copied()
            .find(|ip| AddressFamily::of(&SocketAddr::new(*ip, 0)) == family)
            .ok_or(WsaError::AddressNotAvailable)
    }

    /// Whether `ip` is one of `inst`'s node's addresses.
    pub(crate) fn is_instance_ip(&self, inst: InstanceId, ip: IpAddr) -> bool {
        self.nodes[&self.instances[&inst].node].contains(&ip)
    }

    pub(crate) fn ep_of(&self, inst: InstanceId, h: SocketHandle) -> Result<EpId, WsaError> {
        self.sockets
            .get(&(inst, h))
            .copied()
            .ok_or(WsaError::NotSocket)
    }

    /// The endpoints an instance (a process's provider) owns now.
    pub(crate) fn endpoints_of(&self, inst: InstanceId) -> Vec<EpId> {
        self.endpoints
            .iter()
            .filter(|(_, e)| e.owner.instance() == Some(inst))
            .map(|(&id, _)| id)
            .collect()
    }

    pub(crate) fn ep(&self, id: EpId) -> &Endpoint {
        &self.endpoints[&id]
    }

    /// Mutable access to an endpoint; marks it and its peer active (see
    /// [`active`](Self::active)). All changes to endpoints go through here.
    pub(crate) fn ep_mut_opt(&mut self, id: EpId) -> Option<&mut Endpoint> {
        let ep = self.endpoints.get_mut(&id)?;
        self.active.insert(id);
        if let Body::Connected(c) = &ep.body {
            self.active.insert(c.peer);
        }
        Some(ep)
    }

    pub(crate) fn ep_mut(&mut self, id: EpId) -> &mut Endpoint {
        self.ep_mut_opt(id).expect("endpoint exists")
    }

    /// Marks every endpoint active (after a change that concerns them all).
    pub(crate) fn mark_all(&mut self) {
        self.active.extend(self.endpoints.keys().copied());
    }

    pub(crate) fn insert_ep(&mut self, ep: Endpoint) -> EpId {
        let id = EpId(self.next_ep);
        self.next_ep += 1;
        if let Owner::Socket(i, h) = ep.owner {
            self.sockets.insert((i, h), id);
        }
        self.endpoints.insert(id, ep);
        self.active.insert(id);
        id
    }

    /// Forgets an endpoint: its handle, its address, its state. Segments still
    /// on the wire towards it are discarded when they arrive.
    pub(crate) fn remove_ep(&mut self, id: EpId) {
        let Some(ep) = self.endpoints.remove(&id) else {
            return;
        };
        self.active.remove(&id);
        self.connecting.remove(&id);
        if let Body::Connected(c) = &ep.body {
            // Its peer's window (or its wait for an RST) changes.
            self.active.insert(c.peer);
        }
        if let Owner::Socket(i, h) = ep.owner
            && self.sockets.get(&(i, h)) == Some(&id)
        {
            self.sockets.remove(&(i, h));
        }
        if let Owner::Service(s) = ep.owner
            && let Some(svc) = self.services.get_mut(&s)
        {
            svc.connections -= 1;
        }
        if let Some(local) = ep.local
            && self.bindings.get(&(ep.proto, local)) == Some(&Binding::Socket(id))
        {
            self.bindings.remove(&(ep.proto, local));
        }
    }

    /// Binds an endpoint to a concrete address of its node (port 0: an
    /// ephemeral one).
    pub(crate) fn bind_ep(&mut self, id: EpId, addr: SocketAddr) -> Result<SocketAddr, WsaError> {
        let proto = self.ep(id).proto;
        let port = match addr.port() {
            0 => self.ephemeral(proto, addr.ip())?,
            p => p,
        };
        let addr = SocketAddr::new(addr.ip(), port);
        if self.bindings.contains_key(&(proto, addr)) {
            return Err(WsaError::AddressInUse);
        }
        self.bindings.insert((proto, addr), Binding::Socket(id));
        self.ep_mut(id).local = Some(addr);
        Ok(addr)
    }

    /// The next free port from 49152 up, per address and protocol, wrapping
    /// around; deterministic because it depends only on earlier binds.
    fn ephemeral(&mut self, proto: Proto, ip: IpAddr) -> Result<u16, WsaError> {
        let span = u32::from(u16::MAX - EPHEMERAL_FIRST) + 1;
        let next = self
            .next_ephemeral
            .entry((proto, ip))
            .or_insert(EPHEMERAL_FIRST);
        for _ in 0..span {
            let port = *next;
            *next = if port == u16::MAX {
                EPHEMERAL_FIRST
            } else {
                port + 1
            };
            if !self
                .bindings
                .contains_key(&(proto, SocketAddr::new(ip, port)))
            {
                return Ok(port);
            }
        }
        Err(WsaError::NoBufferSpace)
    }

    /// Puts a segment on the wire from `from` to `to`, due after the latency.
    pub(crate) fn push_segment(&mut self, from: EpId, to: EpId, kind: SegKind) {
        let due = self.now + self.config.latency;
        self.wires
            .entry((from, to))
            .or_default()
            .push_back(Segment { due, kind });
    }

    /// How many more bytes a connection may put on the wire: the peer's
    /// receive buffer minus what it holds and what is already in flight. A
    /// peer that discards (closed, shut, reset, gone) still limits the bytes in
    /// flight to one default buffer, so a sender never floods the wire.
    pub(crate) fn window(&self, id: EpId) -> usize {
        let Some(c) = self.ep(id).conn() else {
            return 0;
        };
        let room = match self.endpoints.get(&c.peer) {
            Some(p) if p.takes_stream_data() => {
                let buffered = p.conn().map_or(0, |pc| pc.recv_buf.len());
                self.eff(p.recv_cap).saturating_sub(buffered)
            }
            Some(p) => self.eff(p.recv_cap),
            // The peer vanished in an abort: its RST is on the way, and until
            // it arrives the sender knows nothing new, so no new window.
            None if self.rst_on_wire(c.peer, id) => 0,
            // The peer finished a graceful close: what we send is discarded
            // on arrival.
            None => self.eff(self.config.recv_buffer),
        };
        room.saturating_sub(c.in_flight)
    }

    /// Whether an RST from `from` to `to` is on the wire.
    fn rst_on_wire(&self, from: EpId, to: EpId) -> bool {
        self.wires
            .get(&(from, to))
            .is_some_and(|q| q.iter().any(|s| matches!(s.kind, SegKind::Rst)))
    }

    /// Room in a connection's send buffer.
    pub(crate) fn send_room(&self, id: EpId) -> usize {
        let ep = self.ep(id);
        self.eff(ep.send_cap).saturating_sub(ep.unsent())
    }

    /// Queues a network event for the socket that owns `id`, if a provider
    /// instance owns it under a handle.
    pub(crate) fn emit(&mut self, id: EpId, events: FdEvents, error: Option<WsaError>) {
        if let Some(Owner::Socket(inst, h)) = self.endpoints.get(&id).map(|e| e.owner) {
            self.out
                .calls
                .push((inst, SinkCall::Event(h, events, error)));
            self.out.wakes.insert(inst);
        }
    }

    /// Queues a completion for `inst`'s sink.
    pub(crate) fn complete(&mut self, inst: InstanceId, op: OpId, result: Completed) {
        self.out.calls.push((inst, SinkCall::Complete(op, result)));
        self.out.wakes.insert(inst);
    }

    /// Queues a wake for whoever hears about `id`.
    pub(crate) fn wake(&mut self, id: EpId) {
        if let Some(inst) = self.endpoints.get(&id).and_then(|e| e.owner.instance()) {
            self.out.wakes.insert(inst);
        }
    }

    /// Moves what a non-step entry point emitted to the next step.
    pub(crate) fn defer_out(&mut self) {
        let out = std::mem::take(&mut self.out);
        self.deferred.append(out);
    }

    pub(crate) fn has_deferred(&self) -> bool {
        !self.deferred.is_empty()
    }

    /// Moves the deferred calls into the current step's outbox.
    pub(crate) fn release_deferred(&mut self) {
        let d = std::mem::take(&mut self.deferred);
        self.out.append(d);
    }

    /// Resolves the outbox to sinks. Calls for instances without a sink (not
    /// attached, crashed, dropped) vanish here: S11.
    pub(crate) fn take_deliveries(&mut self) -> Vec<Delivery> {
        let out = std::mem::take(&mut self.out);
        let sink = |st: &Self, i: InstanceId| st.instances.get(&i).and_then(|x| x.sink.clone());
        let mut d = Vec::with_capacity(out.calls.len() + out.wakes.len());
        for (i, call) in out.calls {
            if let Some(s) = sink(self, i) {
                d.push(Delivery::Call(s, call));
            }
        }
        for i in out.wakes {
            if let Some(s) = sink(self, i) {
                d.push(Delivery::Wake(s));
            }
        }
        d
    }

    /// Appends a line to the trace, if tracing is on (the closure is not run
    /// otherwise, so tracing costs nothing when off).
    pub(crate) fn trace(&mut self, line: impl FnOnce(&Self) -> String) {
        if self.trace.is_some() {
            let l = format!("{:>8}us {}", self.now.as_micros(), line(self));
            if let Some(t) = self.trace.as_mut() {
                t.push(l);
            }
        }
    }

    /// A readable name of an endpoint for the trace: its address and, for a
    /// connection, its peer's.
    pub(crate) fn name(&self, id: EpId) -> String {
        match self.endpoints.get(&id) {
            None => format!("ep{}(gone)", id.0),
            Some(e) => {
                let local = e.local.map_or("unbound".to_string(), |a| a.to_string());
                match &e.body {
                    Body::Connected(c) => format!("{local}->{}", c.peer_addr),
                    _ => local,
                }
            }
        }
    }

    /// A snapshot of the counters, with the live ones filled in.
    pub(crate) fn stats(&self) -> NetworkStats {
        let mut s = self.stats;
        let handed: Vec<&Endpoint> = self
            .endpoints
            .values()
            .filter(|e| e.owner == Owner::HandedOff)
            .collect();
        s.handed_off_draining = handed.len() as u64;
        s.handed_off_bytes = handed.iter().map(|e| e.unsent() as u64).sum();
        s
    }
}
