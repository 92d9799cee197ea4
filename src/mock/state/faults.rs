//! Fault injection: the network going down, connections reset from outside,
//! and crashed processes (S11).

use super::endpoint::{Body, Owner};
use super::{NetState, SegKind};
use crate::mock::ids::{EpId, InstanceId};
use std::net::SocketAddr;

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
        // A socket another process holds too goes on for it.
        let held: Vec<_> = self
            .sockets
            .iter()
            .filter(|&(&(i, _), _)| i == inst)
            .map(|(&(_, h), &id)| (h, id))
            .collect();
        for (h, id) in held {
            self.release_shared(id, inst, h);
        }
        for id in self.endpoints_of(inst) {
            if let Some(ep) = self.ep_mut_opt(id) {
                if ep.unclaimed > 0 {
                    // A duplicate on its way keeps it (released above).
                    continue;
                }
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
        // Nothing refers to it any more: a call of its transport finds no
        // instance and fails with WSAENETDOWN (see `check`).
        self.instances.remove(&inst);
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
    pub(crate) fn find_connection(&self, local: SocketAddr, peer: SocketAddr) -> Option<EpId> {
        self.endpoints
            .iter()
            .find(|(_, e)| {
                e.local == Some(local) && e.conn().is_some_and(|c| c.peer_addr == peer && !c.reset)
            })
            .map(|(&id, _)| id)
    }
}
