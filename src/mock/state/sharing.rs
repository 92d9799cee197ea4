//! Sockets with more than one handle (`WSPDuplicateSocket`): a duplicate
//! is a token that another instance on the same node (a process; the same
//! one too) claims once, giving it a handle of its own to the same
//! endpoint. The endpoint answers to its `owner` (network events go
//! there); its other handles are its `holders`. Each pending operation
//! goes back to the instance that posted it. A close of one handle while
//! others remain (or a duplicate is still unclaimed) gives up that handle
//! alone; the last close ends the socket as any close does.

use super::NetState;
use super::endpoint::{Body, Owner, Proto};
use crate::core::error::WsaError;
use crate::core::handle::SocketHandle;
use crate::core::transport::{SharedSocket, SocketKind};
use crate::mock::ids::{EpId, InstanceId};

impl NetState {
    /// A duplicate of `inst`'s socket `h`: the token another instance of
    /// the same node claims (the process id the application names is not
    /// modelled: the node is what must match).
    pub(crate) fn duplicate(&mut self, inst: InstanceId, h: SocketHandle) -> Result<u32, WsaError> {
        self.check(inst)?;
        let id = self.ep_of(inst, h)?;
        let node = self.instances[&inst].node;
        self.next_share = self.next_share.checked_add(1).unwrap_or(1);
        let token = self.next_share;
        self.shares.insert(token, (id, node));
        self.ep_mut(id).unclaimed += 1;
        self.trace(|st| format!("duplicate {} as #{token}", st.name(id)));
        Ok(token)
    }

    /// `inst` claims the duplicate `token` under its new handle `h`.
    /// `WSAEINVAL` for a token unknown or claimed already, or made on
    /// another node (it stays for its own node's instances).
    pub(crate) fn claim(
        &mut self,
        inst: InstanceId,
        h: SocketHandle,
        token: u32,
    ) -> Result<SharedSocket, WsaError> {
        self.check(inst)?;
        let &(id, node) = self.shares.get(&token).ok_or(WsaError::InvalidArgument)?;
        if self.instances[&inst].node != node || self.sockets.contains_key(&(inst, h)) {
            return Err(WsaError::InvalidArgument);
        }
        self.shares.remove(&token);
        let owner_open = match self.ep(id).owner {
            Owner::Socket(i, oh) => self.sockets.get(&(i, oh)) == Some(&id),
            _ => false,
        };
        let ep = self.ep_mut(id);
        ep.unclaimed -= 1;
        if owner_open {
            ep.holders.push((inst, h));
        } else {
            // Every other handle closed while the duplicate was on its way.
            ep.owner = Owner::Socket(inst, h);
        }
        let shared = SharedSocket {
            family: ep.family,
            kind: match ep.proto {
                Proto::Stream => SocketKind::Stream,
                Proto::Datagram => SocketKind::Datagram,
            },
            connected: match &ep.body {
                Body::Connected(_) => true,
                Body::Datagram(d) => d.peer.is_some(),
                Body::Idle | Body::Connecting(_) | Body::Listening(_) => false,
            },
            listening: matches!(ep.body, Body::Listening(_)),
            shut_send: ep.shut_send,
            shut_recv: ep.shut_recv,
        };
        self.sockets.insert((inst, h), id);
        self.trace(|st| format!("claim #{token}: {} as {h}", st.name(id)));
        Ok(shared)
    }

    /// Closing `inst`'s handle `h` of `id`: when another handle (or an
    /// unclaimed duplicate) keeps the socket, only this handle goes, with
    /// the operations posted through it; `true` then. `false`: it is the
    /// last, and the caller ends the socket.
    pub(crate) fn release_shared(&mut self, id: EpId, inst: InstanceId, h: SocketHandle) -> bool {
        let me = (inst, h);
        let ep = self.ep(id);
        let others = ep.holders.iter().any(|&x| x != me)
            || ep.unclaimed > 0
            || (ep.owner != Owner::Socket(inst, h) && matches!(ep.owner, Owner::Socket(..)));
        if !others {
            return false;
        }
        self.sockets.remove(&me);
        let mine = |i: InstanceId, op: crate::core::handle::OpId| i == inst && op.socket == h;
        let ep = self.ep_mut(id);
        ep.recvs.retain(|r| !mine(r.inst, r.op));
        match &mut ep.body {
            Body::Connected(c) => c.sends.retain(|s| !mine(s.inst, s.op)),
            Body::Listening(l) => l.accepts.retain(|&(i, op, _)| !mine(i, op)),
            Body::Idle | Body::Connecting(_) | Body::Datagram(_) => {}
        }
        if ep.owner == Owner::Socket(inst, h) {
            if !ep.holders.is_empty() {
                let (i, nh) = ep.holders.remove(0);
                ep.owner = Owner::Socket(i, nh);
            }
        } else {
            ep.holders.retain(|&x| x != me);
        }
        self.trace(|st| format!("release {h} of {}", st.name(id)));
        true
    }
}
