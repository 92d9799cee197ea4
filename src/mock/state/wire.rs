//! The wire under stream connections: send buffer to wire (with flow
//! control), wire to receive buffer, FIN and RST, and the end of endpoints
//! that have nothing left to do.

use super::endpoint::{Body, Owner, take_front};
use super::{NetState, SegKind};
use crate::core::error::WsaError;
use crate::core::flags::FdEvents;
use crate::mock::ids::EpId;

impl NetState {
    /// Whether a FIN is owed: sending is shut, and every byte (including the
    /// rest of pending sends) has gone out before it.
    fn fin_due(&self, id: EpId) -> bool {
        let ep = self.ep(id);
        ep.shut_send
            && ep.conn().is_some_and(|c| {
                !c.reset && !c.fin_sent && c.send_buf.is_empty() && c.sends.is_empty()
            })
    }

    /// Whether [`transmit`](Self::transmit) would do anything.
    pub(crate) fn can_transmit(&self, id: EpId) -> bool {
        let Some(c) = self.ep(id).conn() else {
            return false;
        };
        !c.reset && ((!c.send_buf.is_empty() && self.window(id) > 0) || self.fin_due(id))
    }

    /// Puts one segment (at most one MSS, at most the peer's window) or the
    /// FIN on the wire.
    pub(crate) fn transmit(&mut self, id: EpId) {
        if self.fin_due(id) {
            let c = self.ep_mut(id).conn_mut().expect("connected");
            c.fin_sent = true;
            let peer = c.peer;
            self.push_segment(id, peer, SegKind::Fin);
            self.trace(|st| format!("fin out {}", st.name(id)));
            self.wake(id);
            self.reap(id);
            return;
        }
        let window = self.window(id);
        let mss = self.config.mss;
        let c = self.ep_mut(id).conn_mut().expect("connected");
        let n = c.send_buf.len().min(window).min(mss);
        let bytes = take_front(&mut c.send_buf, n);
        c.in_flight += n;
        let peer = c.peer;
        self.push_segment(id, peer, SegKind::Data(bytes));
        self.trace(|st| format!("out {n} bytes {}", st.name(id)));
        self.owe_write_event(id);
        // `unsent` went down: a lingering close may be waiting for that.
        self.wake(id);
        self.reap(id);
    }

    /// `FD_WRITE` after a send found no room, once there is room for a new
    /// send (pending sends come first).
    pub(crate) fn owe_write_event(&mut self, id: EpId) {
        let room = self.send_room(id);
        let Some(c) = self.ep_mut(id).conn_mut() else {
            return;
        };
        if c.want_write && c.sends.is_empty() && room > 0 {
            c.want_write = false;
            self.emit(id, FdEvents::WRITE, None);
        }
    }

    /// Takes the oldest segment of one direction off the wire and applies it.
    pub(crate) fn deliver(&mut self, from: EpId, to: EpId) {
        let Some(q) = self.wires.get_mut(&(from, to)) else {
            return;
        };
        let Some(seg) = q.pop_front() else { return };
        if q.is_empty() {
            self.wires.remove(&(from, to));
        }
        match seg.kind {
            SegKind::Data(bytes) => self.deliver_data(from, to, bytes),
            SegKind::Fin => {
                let Some(c) = self.ep_mut_opt(to).and_then(|e| e.conn_mut()) else {
                    return;
                };
                if c.reset || c.fin_received {
                    return;
                }
                c.fin_received = true;
                self.trace(|st| format!("fin in {}", st.name(to)));
                self.emit(to, FdEvents::CLOSE, None);
                self.wake(to);
            }
            SegKind::Rst => self.apply_reset(to),
        }
    }

    fn deliver_data(&mut self, from: EpId, to: EpId, bytes: Vec<u8>) {
        let n = bytes.len();
        if let Some(c) = self.ep_mut_opt(from).and_then(|e| e.conn_mut()) {
            c.in_flight = c.in_flight.saturating_sub(n);
        }
        match self.ep_mut_opt(to) {
            Some(ep) if ep.takes_stream_data() => {
                ep.conn_mut().expect("connected").recv_buf.extend(bytes);
                self.stats.segments_delivered += 1;
                self.stats.bytes_delivered += n as u64;
                self.trace(|st| format!("in {n} bytes {}", st.name(to)));
                self.emit(to, FdEvents::READ, None);
                self.wake(to);
            }
            Some(ep) if ep.conn().is_some_and(|c| c.reset) => {
                self.stats.bytes_discarded_by_resets += n as u64;
            }
            _ => self.stats.bytes_discarded_closed += n as u64,
        }
    }

    /// The connection is reset at this end: buffers discarded, `FD_CLOSE`
    /// with `WSAECONNRESET`; pending operations fail at the next step; later
    /// calls fail. A closed, handed-off or service endpoint is gone at once.
    pub(crate) fn apply_reset(&mut self, id: EpId) {
        let Some(ep) = self.ep_mut_opt(id) else {
            return;
        };
        let (closed, owner) = (ep.closed, ep.owner);
        let Some(c) = ep.conn_mut() else { return };
        if c.reset {
            return;
        }
        c.reset = true;
        let n = std::mem::take(&mut c.send_buf).len() + std::mem::take(&mut c.recv_buf).len();
        self.stats.bytes_discarded_by_resets += n as u64;
        self.stats.connections_reset += 1;
        self.trace(|st| format!("reset {}", st.name(id)));
        self.emit(id, FdEvents::CLOSE, Some(WsaError::ConnectionReset));
        self.wake(id);
        match owner {
            Owner::Service(s) => {
                if let Some(svc) = self.services.get_mut(&s) {
                    svc.resets += 1;
                }
                self.remove_ep(id);
            }
            Owner::HandedOff | Owner::Released => self.remove_ep(id),
            Owner::Socket(..) | Owner::Queued(_) if closed => self.remove_ep(id),
            Owner::Socket(..) | Owner::Queued(_) => {}
        }
    }

    /// Forgets a closed endpoint once it has nothing left to send.
    pub(crate) fn reap(&mut self, id: EpId) {
        let Some(ep) = self.endpoints.get(&id) else {
            return;
        };
        if !ep.closed {
            return;
        }
        let done = match &ep.body {
            Body::Connected(c) => c.reset || (c.fin_sent && c.send_buf.is_empty()),
            _ => true,
        };
        if done {
            self.trace(|st| format!("done {}", st.name(id)));
            self.remove_ep(id);
        }
    }
}
