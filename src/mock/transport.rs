//! [`MockTransport`]: one provider instance's handle on the network, the
//! [`Transport`] the core drives.

use super::ids::{InstanceId, NodeId};
use super::network::Network;
use crate::core::error::WsaError;
use crate::core::flags::{FdEvents, MsgFlags};
use crate::core::handle::{OpId, SocketHandle};
use crate::core::sockopt::{OptionName, OptionValue};
use crate::core::transport::{
    AddressFamily, CloseKind, CompletionSink, HandOffRefused, Io, Received, SharedSocket,
    ShutdownHow, SocketKind, Transport, Wait,
};
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

/// Ends the instance when the last clone of its transport goes.
struct Instance {
    net: Network,
    id: InstanceId,
    node: NodeId,
}

impl Drop for Instance {
    /// The provider is gone, so is everything it did not hand off: its
    /// sockets are reset as if the process had exited (the transport "dies
    /// with the provider", `HandOffRefused::Unsupported`). Handed-off sockets
    /// belong to the network and keep draining.
    fn drop(&mut self) {
        self.net.mutate(|st| st.retire_instance(self.id, "drop"));
    }
}

/// One provider instance's transport: a process on a node.
///
/// Clones share the instance; it ends when the last clone is dropped (or when
/// the network [crashes](Network::crash) it). Every call is served under the
/// network's lock and never calls the sink: completions, network events and
/// wakes are made by [`Network::step`] (or a [`MockWaiter`](super::MockWaiter)
/// pumping it), with no network lock held.
#[derive(Clone)]
pub struct MockTransport {
    inner: Arc<Instance>,
}

impl MockTransport {
    pub(crate) fn new(net: Network, id: InstanceId, node: NodeId) -> Self {
        MockTransport {
            inner: Arc::new(Instance { net, id, node }),
        }
    }

    /// Which instance this is (for [`Network::crash_instance`]).
    pub fn instance(&self) -> InstanceId {
        self.inner.id
    }

    /// The node it runs on.
    pub fn node(&self) -> NodeId {
        self.inner.node
    }

    /// The network it belongs to.
    pub fn network(&self) -> &Network {
        &self.inner.net
    }

    fn net(&self) -> &Network {
        &self.inner.net
    }

    fn id(&self) -> InstanceId {
        self.inner.id
    }
}

impl fmt::Debug for MockTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockTransport")
            .field("instance", &self.inner.id)
            .field("node", &self.inner.node)
            .finish()
    }
}

impl Transport for MockTransport {
    fn attach(&self, sink: Arc<dyn CompletionSink>) {
        let id = self.id();
        // Whatever sink is let go of is dropped after the lock (see graveyard).
        let old = self.net().mutate(|st| match st.instances.get_mut(&id) {
            Some(i) if !i.gone => i.sink.replace(sink),
            _ => Some(sink),
        });
        drop(old);
    }

    fn open(
        &self,
        socket: SocketHandle,
        family: AddressFamily,
        kind: SocketKind,
    ) -> Result<(), WsaError> {
        self.net()
            .mutate(|st| st.open(self.id(), socket, family, kind))
    }

    fn bind(&self, socket: SocketHandle, addr: SocketAddr) -> Result<SocketAddr, WsaError> {
        self.net().mutate(|st| st.bind(self.id(), socket, addr))
    }

    fn listen(&self, socket: SocketHandle, backlog: u32) -> Result<(), WsaError> {
        self.net()
            .mutate(|st| st.listen(self.id(), socket, backlog))
    }

    fn connect(
        &self,
        socket: SocketHandle,
        addr: SocketAddr,
        op: OpId,
    ) -> Result<Io<()>, WsaError> {
        self.net()
            .mutate(|st| st.connect(self.id(), socket, addr, op))
    }

    fn dissolve(&self, socket: SocketHandle) -> Result<(), WsaError> {
        self.net().mutate(|st| st.dissolve(self.id(), socket))
    }

    fn accept(
        &self,
        listener: SocketHandle,
        socket: SocketHandle,
        wait: Wait,
    ) -> Result<Io<SocketAddr>, WsaError> {
        self.net()
            .mutate(|st| st.accept(self.id(), listener, socket, wait))
    }

    fn send(
        &self,
        socket: SocketHandle,
        data: Vec<u8>,
        to: Option<SocketAddr>,
        wait: Wait,
    ) -> Result<Io<usize>, WsaError> {
        self.net()
            .mutate(|st| st.send(self.id(), socket, data, to, wait))
    }

    fn recv(
        &self,
        socket: SocketHandle,
        max: usize,
        flags: MsgFlags,
        wait: Wait,
    ) -> Result<Io<Received>, WsaError> {
        self.net()
            .mutate(|st| st.recv(self.id(), socket, max, flags, wait))
    }

    fn cancel(&self, op: OpId) {
        self.net().mutate(|st| st.cancel(self.id(), op));
    }

    fn shutdown(&self, socket: SocketHandle, how: ShutdownHow) -> Result<(), WsaError> {
        self.net().mutate(|st| st.shutdown(self.id(), socket, how))
    }

    fn readiness(&self, socket: SocketHandle) -> FdEvents {
        self.net().lock().readiness(self.id(), socket)
    }

    fn unsent(&self, socket: SocketHandle) -> usize {
        self.net().lock().unsent(self.id(), socket)
    }

    fn close(&self, socket: SocketHandle, how: CloseKind) {
        self.net().mutate(|st| st.close(self.id(), socket, how));
    }

    fn hand_off(&self, socket: SocketHandle) -> Result<(), HandOffRefused> {
        self.net().mutate(|st| st.hand_off(self.id(), socket))
    }

    fn set_buffers(
        &self,
        socket: SocketHandle,
        send: Option<usize>,
        recv: Option<usize>,
    ) -> Result<(), WsaError> {
        self.net()
            .mutate(|st| st.set_buffers(self.id(), socket, send, recv))
    }

    fn buffers(&self, socket: SocketHandle) -> Result<(usize, usize), WsaError> {
        self.net().lock().buffers(self.id(), socket)
    }

    fn set_option(
        &self,
        socket: SocketHandle,
        name: OptionName,
        value: &OptionValue,
    ) -> Result<(), WsaError> {
        self.net()
            .mutate(|st| st.set_option(self.id(), socket, name, value))
    }

    fn option(&self, socket: SocketHandle, name: OptionName) -> Result<OptionValue, WsaError> {
        self.net().lock().option(self.id(), socket, name)
    }

    fn available(&self, socket: SocketHandle) -> Result<usize, WsaError> {
        self.net().lock().available(self.id(), socket)
    }

    fn reuse(&self, socket: SocketHandle) -> Result<(), WsaError> {
        self.net().mutate(|st| st.reuse(self.id(), socket))
    }

    fn duplicate(&self, socket: SocketHandle, _process: u32) -> Result<u32, WsaError> {
        self.net().mutate(|st| st.duplicate(self.id(), socket))
    }

    fn claim(&self, socket: SocketHandle, token: u32) -> Result<SharedSocket, WsaError> {
        self.net().mutate(|st| st.claim(self.id(), socket, token))
    }

    fn local_addr(&self, socket: SocketHandle) -> Result<SocketAddr, WsaError> {
        self.net().lock().local_addr(self.id(), socket)
    }

    fn peer_addr(&self, socket: SocketHandle) -> Result<SocketAddr, WsaError> {
        self.net().lock().peer_addr(self.id(), socket)
    }
}

impl Network {
    /// A new provider instance (a process) on `node`. Its sockets are its
    /// own: handles of different instances never mix, even if equal.
    ///
    /// # Panics
    /// If `node` is not a node of this network.
    pub fn transport(&self, node: NodeId) -> MockTransport {
        let id = self.mutate(|st| st.add_instance(node));
        MockTransport::new(self.clone(), id, node)
    }

    /// Resets the connection of `socket` of the provider over `transport`:
    /// both ends see a reset. Returns whether the socket had a live connection.
    pub fn reset_socket(&self, transport: &MockTransport, socket: SocketHandle) -> bool {
        let inst = transport.instance();
        self.mutate(|st| st.ep_of(inst, socket).is_ok_and(|id| st.reset_pair(id)))
    }

    /// The process of this transport crashed (S11): the connections of its
    /// open sockets are reset (peers see an RST), its pending operations
    /// vanish without a completion, and its further calls fail with
    /// `WSAENETDOWN`. A socket it closed gracefully before is the network's
    /// once every byte has left the node, and the crash does not touch it
    /// (the peer reads all it was sent); one whose data is still in the
    /// process's transport (not handed off, S6g) is reset with it. A new
    /// [`transport`](Self::transport) for the node models the restarted
    /// process.
    pub fn crash(&self, transport: &MockTransport) {
        self.crash_instance(transport.instance());
    }
}
