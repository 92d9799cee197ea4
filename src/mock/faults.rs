//! Fault injection: the network going down, connections reset from outside,
//! and crashed processes (S11).

use super::endpoint::{Body, Owner};
use super::ids::{EpId, InstanceId, NodeId};
use super::network::Network;
use super::state::{NetState, SegKind};
use super::transport::MockTransport;
use crate::core::handle::SocketHandle;
use std::net::SocketAddrV4;
use std::time::Duration;

impl NetState {
    /// A process is gone: its sink is dropped (no completion or event will
    /// ever reach it, S11), its pending operations are forgotten, every
    /// connection it had is reset (the peers get an RST) and every address
    /// it held is free. Handed-off sockets are not its any more and go on.
    pub(crate) fn retire_instance(&mut self, inst: InstanceId, why: &str) {
        let Some(i) = self.instances.get_mut(&inst) else {
            return;
        };
        if i.gone {
            return;
        }
        i.gone = true;
        // Dropped by the caller after the lock is released: a sink may own
        // the provider, whose drop would re-enter the network.
        let sink = i.sink.take();
        self.graveyard.extend(sink);
        let mine: Vec<EpId> = self
            .endpoints
            .iter()
            .filter(|(_, e)| e.owner.instance() == Some(inst))
            .map(|(&id, _)| id)
            .collect();
        for id in mine {
            if let Some(ep) = self.ep_mut_opt(id) {
                if ep.closed && ep.unsent() == 0 {
                    // Closed gracefully and every byte gone from the node:
                    // the connection is the network's, not the dead
                    // process's; the peer still reads what it was sent.
                    ep.owner = Owner::Released;
                    continue;
                }
                ep.recvs.clear();
                match &mut ep.body {
                    Body::Connected(c) => c.sends.clear(),
                    Body::Listening(l) => l.accepts.clear(),
                    _ => {}
                }
            }
            self.abort(id);
        }
        self.sockets.retain(|&(i, _), _| i != inst);
        self.trace(|_| format!("{why} {inst}"));
    }

    /// Both ends of a connection see a reset now; what was on the wire
    /// between them is lost.
    pub(crate) fn reset_pair(&mut self, id: EpId) -> bool {
        let Some(peer) = self
            .endpoints
            .get(&id)
            .and_then(|e| e.conn())
            .filter(|c| !c.reset)
            .map(|c| c.peer)
        else {
            return false;
        };
        for key in [(id, peer), (peer, id)] {
            for seg in self.wires.remove(&key).unwrap_or_default() {
                if let SegKind::Data(b) = seg.kind {
                    self.stats.bytes_discarded_by_resets += b.len() as u64;
                }
            }
            if let Some(c) = self.ep_mut_opt(key.0).and_then(|e| e.conn_mut()) {
                c.in_flight = 0;
            }
        }
        self.apply_reset(id);
        self.apply_reset(peer);
        true
    }

    /// The connection whose local address is `local` and peer `peer`.
    fn find_connection(&self, local: SocketAddrV4, peer: SocketAddrV4) -> Option<EpId> {
        self.endpoints
            .iter()
            .find(|(_, e)| {
                e.local == Some(local) && e.conn().is_some_and(|c| c.peer_addr == peer && !c.reset)
            })
            .map(|(&id, _)| id)
    }
}

impl Network {
    /// Takes the whole network down (`true`) or up again. While it is down,
    /// every transport call fails with `WSAENETDOWN` (a close still closes),
    /// hand-off is refused with `NetworkDown`, nothing moves on the wire,
    /// services do not read, and pending operations stay pending.
    pub fn set_down(&self, down: bool) {
        self.mutate(|st| {
            st.down = down;
            st.mark_all();
            st.trace(|_| format!("network {}", if down { "down" } else { "up" }));
        });
    }

    /// Fault: segments and datagrams sent from now on take `latency` to
    /// arrive (message delay). What is on the wire keeps its time, and a
    /// stream still arrives in order: a segment never passes an older one.
    pub fn set_latency(&self, latency: Duration) {
        self.mutate(|st| {
            st.config.latency = latency;
            st.trace(|_| format!("latency {latency:?}"));
        });
    }

    /// Whether the network is down.
    pub fn is_down(&self) -> bool {
        self.lock().down
    }

    /// Whether hand-off at final cleanup is accepted (S6g); see
    /// [`NetworkConfig::hand_off`](super::NetworkConfig::hand_off).
    pub fn set_hand_off_supported(&self, supported: bool) {
        self.mutate(|st| st.config.hand_off = supported);
    }

    /// Resets the connection from `local` to `peer` (either end's view):
    /// both ends see a reset. Returns whether such a live connection exists.
    pub fn reset_connection(&self, local: SocketAddrV4, peer: SocketAddrV4) -> bool {
        self.mutate(|st| {
            st.find_connection(local, peer)
                .is_some_and(|id| st.reset_pair(id))
        })
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

    /// [`crash`](Self::crash) by instance id.
    pub fn crash_instance(&self, instance: InstanceId) {
        self.mutate(|st| st.retire_instance(instance, "crash"));
    }

    /// Crashes every provider instance of a node.
    pub fn crash_node(&self, node: NodeId) {
        self.mutate(|st| {
            let on_node: Vec<InstanceId> = st
                .instances
                .iter()
                .filter(|(_, i)| i.node == node && !i.gone)
                .map(|(&id, _)| id)
                .collect();
            for inst in on_node {
                st.retire_instance(inst, "crash");
            }
        });
    }

    /// Whether a handed-off socket with this local address is still draining.
    pub fn handed_off_draining(&self, local: SocketAddrV4) -> bool {
        self.lock()
            .endpoints
            .values()
            .any(|e| e.owner == Owner::HandedOff && e.local == Some(local))
    }
}
