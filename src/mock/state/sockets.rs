//! Socket calls common to both kinds, and the dispatch of the others to
//! `stream.rs` or `datagram.rs`.
//!
//! Each function here is one `Transport` method, run under the network lock
//! by [`MockTransport`](super::MockTransport). None of them makes a sink call:
//! what they emit is deferred to the next step (the locking rule).

use super::NetState;
use super::endpoint::{Body, Endpoint, Owner, Proto};
use crate::core::error::WsaError;
use crate::core::flags::{FdEvents, MsgFlags};
use crate::core::handle::{OpId, SocketHandle};
use crate::core::transport::{
    AddressFamily, CloseKind, HandOffRefused, Io, Received, ShutdownHow, SocketKind, Wait,
};
use crate::mock::ids::{EpId, InstanceId};
use std::net::SocketAddr;

impl NetState {
    pub(crate) fn open(
        &mut self,
        inst: InstanceId,
        h: SocketHandle,
        family: AddressFamily,
        kind: SocketKind,
    ) -> Result<(), WsaError> {
        self.check(inst)?;
        if self.sockets.contains_key(&(inst, h)) {
            // The core issues each handle once: a second open is its bug.
            return Err(WsaError::InvalidArgument);
        }
        let proto = match kind {
            SocketKind::Stream => Proto::Stream,
            SocketKind::Datagram => Proto::Datagram,
        };
        let (s, r) = (self.config.send_buffer, self.config.recv_buffer);
        self.insert_ep(Endpoint::new(Owner::Socket(inst, h), family, proto, s, r));
        Ok(())
    }

    /// Binds to `addr`, which must be one of this node's addresses or the
    /// wildcard of the socket's family (which means the node's address of
    /// that family: there are no wildcard bindings in the model).
    pub(crate) fn bind(
        &mut self,
        inst: InstanceId,
        h: SocketHandle,
        addr: SocketAddr,
    ) -> Result<SocketAddr, WsaError> {
        self.check(inst)?;
        let id = self.ep_of(inst, h)?;
        if self.ep(id).local.is_some() || self.ep(id).closed {
            return Err(WsaError::InvalidArgument);
        }
        if AddressFamily::of(&addr) != self.ep(id).family {
            return Err(WsaError::AddressFamilyNotSupported);
        }
        let wildcard = addr.ip().is_unspecified();
        let ip = if wildcard {
            self.instance_ip(inst, self.ep(id).family)?
        } else if self.is_instance_ip(inst, addr.ip()) {
            addr.ip()
        } else {
            return Err(WsaError::AddressNotAvailable);
        };
        let bound = self.bind_ep(id, SocketAddr::new(ip, addr.port()))?;
        self.ep_mut(id).bound_wildcard = wildcard;
        Ok(if wildcard {
            SocketAddr::new(addr.ip(), bound.port())
        } else {
            bound
        })
    }

    pub(crate) fn connect(
        &mut self,
        inst: InstanceId,
        h: SocketHandle,
        addr: SocketAddr,
        op: OpId,
    ) -> Result<Io<()>, WsaError> {
        self.check(inst)?;
        let id = self.ep_of(inst, h)?;
        if AddressFamily::of(&addr) != self.ep(id).family {
            return Err(WsaError::AddressFamilyNotSupported);
        }
        match self.ep(id).proto {
            Proto::Stream => self.stream_connect(inst, id, addr, op),
            Proto::Datagram => self.dgram_connect(inst, id, addr).map(Io::Done),
        }
    }

    pub(crate) fn send(
        &mut self,
        inst: InstanceId,
        h: SocketHandle,
        data: Vec<u8>,
        to: Option<SocketAddr>,
        wait: Wait,
    ) -> Result<Io<usize>, WsaError> {
        self.check(inst)?;
        let id = self.ep_of(inst, h)?;
        match self.ep(id).proto {
            Proto::Stream => self.stream_send(inst, id, data, wait),
            Proto::Datagram => self.dgram_send(inst, id, data, to),
        }
    }

    pub(crate) fn recv(
        &mut self,
        inst: InstanceId,
        h: SocketHandle,
        max: usize,
        flags: MsgFlags,
        wait: Wait,
    ) -> Result<Io<Received>, WsaError> {
        self.check(inst)?;
        let id = self.ep_of(inst, h)?;
        match self.ep(id).proto {
            Proto::Stream => self.stream_recv(inst, id, max, flags, wait),
            Proto::Datagram => self.dgram_recv(inst, id, max, flags, wait),
        }
    }

    /// Forgets a pending operation wherever it is registered. A send cancelled
    /// half way leaves the bytes it already put in the send buffer.
    pub(crate) fn cancel(&mut self, inst: InstanceId, op: OpId) {
        // An operation is registered on the socket it names; the scan of the
        // instance's other endpoints is insurance against a core that files
        // one under another handle.
        if let Some(id) = self.sockets.get(&(inst, op.socket)).copied()
            && self.forget_op(id, inst, op)
        {
            return;
        }
        for id in self.endpoints_of(inst) {
            if self.forget_op(id, inst, op) {
                return;
            }
        }
    }

    /// Removes `inst`'s `op` from an endpoint's pending operations; whether
    /// it was there.
    fn forget_op(&mut self, id: EpId, inst: InstanceId, op: OpId) -> bool {
        let ep = self.ep_mut(id);
        let before = ep.recvs.len();
        ep.recvs.retain(|r| (r.inst, r.op) != (inst, op));
        let mut found = ep.recvs.len() != before;
        match &mut ep.body {
            Body::Connected(c) => {
                let n = c.sends.len();
                c.sends.retain(|s| (s.inst, s.op) != (inst, op));
                found |= c.sends.len() != n;
            }
            Body::Listening(l) => {
                let n = l.accepts.len();
                l.accepts.retain(|&(i, o, _)| (i, o) != (inst, op));
                found |= l.accepts.len() != n;
            }
            // A connect given up: the SYN's answer finds nobody waiting.
            Body::Connecting(c) if c.op == op => {
                ep.body = Body::Idle;
                self.connecting.remove(&id);
                found = true;
            }
            Body::Idle | Body::Connecting(_) | Body::Datagram(_) => {}
        }
        found
    }

    pub(crate) fn shutdown(
        &mut self,
        inst: InstanceId,
        h: SocketHandle,
        how: ShutdownHow,
    ) -> Result<(), WsaError> {
        self.check(inst)?;
        let id = self.ep_of(inst, h)?;
        let ep = self.ep(id);
        match &ep.body {
            Body::Idle | Body::Connecting(_) | Body::Listening(_) => {
                return Err(WsaError::NotConnected);
            }
            Body::Connected(_) | Body::Datagram(_) => {}
        }
        if how.sends() {
            self.ep_mut(id).shut_send = true;
        }
        if how.receives() {
            self.shut_receive(id);
        }
        Ok(())
    }

    /// Unsent bytes of a socket; 0 once it is gone (drained, reset, handed off).
    /// What holds for a socket now (see `Transport::readiness`).
    pub(crate) fn readiness(&self, inst: InstanceId, h: SocketHandle) -> FdEvents {
        let Ok(id) = self.ep_of(inst, h) else {
            return FdEvents::empty();
        };
        let ep = self.ep(id);
        let mut ready = FdEvents::empty();
        match &ep.body {
            Body::Connected(c) => {
                if c.reset || c.fin_received {
                    ready |= FdEvents::CLOSE;
                }
                if !c.recv_buf.is_empty() {
                    ready |= FdEvents::READ;
                }
                if !c.reset && !ep.shut_send && c.send_buf.len() < self.eff(ep.send_cap) {
                    ready |= FdEvents::WRITE;
                }
            }
            Body::Listening(l) if !l.queue.is_empty() => ready |= FdEvents::ACCEPT,
            Body::Datagram(d) => {
                ready |= FdEvents::WRITE;
                if !d.queue.is_empty() {
                    ready |= FdEvents::READ;
                }
            }
            Body::Listening(_) | Body::Idle | Body::Connecting(_) => {}
        }
        ready
    }

    pub(crate) fn unsent(&self, inst: InstanceId, h: SocketHandle) -> usize {
        self.ep_of(inst, h).map_or(0, |id| self.ep(id).unsent())
    }

    /// Ends a socket. Pending operations are forgotten without completion:
    /// the core completes them itself (S7).
    pub(crate) fn close(&mut self, inst: InstanceId, h: SocketHandle, how: CloseKind) {
        let Ok(id) = self.ep_of(inst, h) else { return };
        if self.release_shared(id, inst, h) {
            return;
        }
        self.trace(|st| format!("close {how:?} {}", st.name(id)));
        let ep = self.ep_mut(id);
        ep.recvs.clear();
        match &mut ep.body {
            Body::Connected(c) => {
                c.sends.clear();
                match how {
                    CloseKind::Graceful => self.close_gracefully(id),
                    CloseKind::Abortive => self.abort(id),
                }
            }
            Body::Listening(_) => self.abort(id),
            Body::Idle | Body::Connecting(_) | Body::Datagram(_) => self.remove_ep(id),
        }
    }

    /// `TF_REUSE_SOCKET`: the connection is closed gracefully and left to
    /// the network (it drains and ends as a handed-off one does, nobody
    /// told); the handle gets a fresh endpoint of the same family and
    /// kind. A socket other handles hold goes on for them.
    pub(crate) fn reuse(&mut self, inst: InstanceId, h: SocketHandle) -> Result<(), WsaError> {
        self.check(inst)?;
        let id = self.ep_of(inst, h)?;
        let (family, proto) = (self.ep(id).family, self.ep(id).proto);
        if !self.release_shared(id, inst, h) {
            self.ep_mut(id).recvs.clear();
            if let Some(c) = self.ep_mut(id).conn_mut() {
                c.sends.clear();
            }
            self.close_gracefully(id);
            self.sockets.remove(&(inst, h));
            if let Some(ep) = self.ep_mut_opt(id) {
                ep.owner = Owner::HandedOff;
            }
        }
        self.trace(|st| format!("reuse {h} (was {})", st.name(id)));
        let (s, r) = (self.config.send_buffer, self.config.recv_buffer);
        self.insert_ep(Endpoint::new(Owner::Socket(inst, h), family, proto, s, r));
        Ok(())
    }

    /// S6g: the network takes over a closed socket's unsent data; it keeps
    /// draining after the instance is gone. A socket not closed yet is closed
    /// gracefully first; one already gone has nothing to hand off.
    pub(crate) fn hand_off(
        &mut self,
        inst: InstanceId,
        h: SocketHandle,
    ) -> Result<(), HandOffRefused> {
        if self.check(inst).is_err() {
            return Err(HandOffRefused::NetworkDown);
        }
        if !self.config.hand_off {
            return Err(HandOffRefused::Unsupported);
        }
        let Ok(id) = self.ep_of(inst, h) else {
            return Ok(());
        };
        if !self.ep(id).closed {
            self.close(inst, h, CloseKind::Graceful);
            if !self.endpoints.contains_key(&id) {
                return Ok(());
            }
        }
        self.sockets.remove(&(inst, h));
        self.ep_mut(id).owner = Owner::HandedOff;
        self.stats.handed_off_sockets += 1;
        self.trace(|st| {
            format!(
                "hand-off {} ({} bytes unsent)",
                st.name(id),
                st.ep(id).unsent()
            )
        });
        Ok(())
    }

    pub(crate) fn set_buffers(
        &mut self,
        inst: InstanceId,
        h: SocketHandle,
        send: Option<usize>,
        recv: Option<usize>,
    ) -> Result<(), WsaError> {
        self.check(inst)?;
        let id = self.ep_of(inst, h)?;
        let ep = self.ep_mut(id);
        // Shrinking below what a buffer holds keeps the data; only new data
        // waits until it fits.
        if let Some(s) = send {
            ep.send_cap = s;
        }
        if let Some(r) = recv {
            ep.recv_cap = r;
        }
        Ok(())
    }

    pub(crate) fn buffers(
        &self,
        inst: InstanceId,
        h: SocketHandle,
    ) -> Result<(usize, usize), WsaError> {
        self.check(inst)?;
        let ep = self.ep(self.ep_of(inst, h)?);
        Ok((ep.send_cap, ep.recv_cap))
    }

    pub(crate) fn available(&self, inst: InstanceId, h: SocketHandle) -> Result<usize, WsaError> {
        self.check(inst)?;
        Ok(match &self.ep(self.ep_of(inst, h)?).body {
            Body::Connected(c) => c.recv_buf.len(),
            Body::Datagram(d) => d.queue.front().map_or(0, |m| m.data.len()),
            Body::Listening(_) | Body::Idle | Body::Connecting(_) => 0,
        })
    }

    pub(crate) fn local_addr(
        &self,
        inst: InstanceId,
        h: SocketHandle,
    ) -> Result<SocketAddr, WsaError> {
        self.check(inst)?;
        let ep = self.ep(self.ep_of(inst, h)?);
        let local = ep.local.ok_or(WsaError::InvalidArgument)?;
        let has_peer = match &ep.body {
            Body::Connected(_) | Body::Connecting(_) => true,
            Body::Datagram(d) => d.peer.is_some(),
            Body::Idle | Body::Listening(_) => false,
        };
        Ok(if ep.bound_wildcard && !has_peer {
            ep.family.unspecified(local.port())
        } else {
            local
        })
    }

    pub(crate) fn peer_addr(
        &self,
        inst: InstanceId,
        h: SocketHandle,
    ) -> Result<SocketAddr, WsaError> {
        self.check(inst)?;
        let id = self.ep_of(inst, h)?;
        match &self.ep(id).body {
            Body::Connected(c) if !c.reset => Ok(c.peer_addr),
            Body::Datagram(d) => d.peer.ok_or(WsaError::NotConnected),
            _ => Err(WsaError::NotConnected),
        }
    }
}
