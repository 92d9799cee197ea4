//! Faults a test injects into the network: outages, latency, resets,
//! crashed processes (S11).

use super::Network;
use crate::mock::ids::{InstanceId, NodeId};
use crate::mock::state::endpoint::Owner;
use std::net::SocketAddr;
use std::time::Duration;

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
    pub fn reset_connection(&self, local: SocketAddr, peer: SocketAddr) -> bool {
        self.mutate(|st| {
            st.find_connection(local, peer)
                .is_some_and(|id| st.reset_pair(id))
        })
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
    pub fn handed_off_draining(&self, local: SocketAddr) -> bool {
        self.lock()
            .endpoints
            .values()
            .any(|e| e.owner == Owner::HandedOff && e.local == Some(local))
    }
}
