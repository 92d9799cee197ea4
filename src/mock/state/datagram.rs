//! Datagram sockets: connect (a default peer and a filter), send, receive,
//! and delivery at the other end.
//!
//! A datagram goes on the wire as soon as it is sent (there is no send
//! buffer to drain) and arrives after the latency, independently of others:
//! datagrams sent at the same time may arrive in any (seeded) order.

use super::completions::cut;
use super::endpoint::Proto;
use super::endpoint::{Body, Message, PendingRecv};
use super::{Binding, DatagramInFlight, NetState};
use crate::core::error::WsaError;
use crate::core::flags::{FdEvents, MsgFlags};
use crate::core::handle::SocketHandle;
use crate::core::transport::{AddressFamily, Io, Received, Wait};
use crate::mock::config::MAX_DATAGRAM;
use crate::mock::ids::{EpId, InstanceId};
use std::net::SocketAddr;

impl NetState {
    /// Binds to an ephemeral port of the node if not bound yet.
    fn bound_or_ephemeral(&mut self, inst: InstanceId, id: EpId) -> Result<SocketAddr, WsaError> {
        match self.ep(id).local {
            Some(a) => Ok(a),
            None => {
                let ip = self.instance_ip(inst, self.ep(id).family)?;
                self.bind_ep(id, SocketAddr::new(ip, 0))
            }
        }
    }

    /// Forgets the default peer (a connect to `AF_UNSPEC`).
    pub(crate) fn dissolve(&mut self, inst: InstanceId, h: SocketHandle) -> Result<(), WsaError> {
        self.check(inst)?;
        let id = self.ep_of(inst, h)?;
        match &mut self.ep_mut(id).body {
            Body::Datagram(d) => {
                d.peer = None;
                Ok(())
            }
            _ => Err(WsaError::OperationNotSupported),
        }
    }

    /// Sets the default peer (and the filter on arrivals); 0.0.0.0 dissolves it.
    pub(crate) fn dgram_connect(
        &mut self,
        inst: InstanceId,
        id: EpId,
        addr: SocketAddr,
    ) -> Result<(), WsaError> {
        if addr.ip().is_unspecified() {
            if let Body::Datagram(d) = &mut self.ep_mut(id).body {
                d.peer = None;
            }
            return Ok(());
        }
        if addr.port() == 0 {
            return Err(WsaError::AddressNotAvailable);
        }
        self.bound_or_ephemeral(inst, id)?;
        if let Body::Datagram(d) = &mut self.ep_mut(id).body {
            d.peer = Some(addr);
        }
        Ok(())
    }

    /// Sends one datagram. On a connected socket `to` is ignored, as
    /// `WSPSendTo` documents; on an unconnected one it is required.
    pub(crate) fn dgram_send(
        &mut self,
        inst: InstanceId,
        id: EpId,
        data: Vec<u8>,
        to: Option<SocketAddr>,
    ) -> Result<Io<usize>, WsaError> {
        let ep = self.ep(id);
        if ep.shut_send {
            return Err(WsaError::Shutdown);
        }
        let Body::Datagram(d) = &ep.body else {
            return Err(WsaError::NotSocket);
        };
        let dest = d.peer.or(to).ok_or(WsaError::DestinationRequired)?;
        if AddressFamily::of(&dest) != ep.family {
            return Err(WsaError::AddressFamilyNotSupported);
        }
        if dest.ip() == std::net::IpAddr::V4(std::net::Ipv4Addr::BROADCAST) && !ep.options.broadcast
        {
            // A broadcast needs SO_BROADCAST (WSPSendTo: WSAEACCES).
            return Err(WsaError::AccessDenied);
        }
        if data.len() > MAX_DATAGRAM {
            return Err(WsaError::MessageSize);
        }
        if dest.ip().is_unspecified() || dest.port() == 0 {
            return Err(WsaError::AddressNotAvailable);
        }
        let from = self.bound_or_ephemeral(inst, id)?;
        let due = self.now + self.config.latency;
        let len = data.len();
        self.datagrams.push(DatagramInFlight {
            due,
            from,
            to: dest,
            data,
        });
        self.trace(|_| format!("datagram out {len} bytes {from}->{dest}"));
        Ok(Io::Done(len))
    }

    /// Takes one whole message (cut to `max`, see [`cut`]). Receives are
    /// filled in posting order.
    pub(crate) fn dgram_recv(
        &mut self,
        inst: InstanceId,
        id: EpId,
        max: usize,
        flags: MsgFlags,
        wait: Wait,
    ) -> Result<Io<Received>, WsaError> {
        let ep = self.ep_mut(id);
        if ep.local.is_none() {
            return Err(WsaError::InvalidArgument);
        }
        if ep.shut_recv {
            return Err(WsaError::Shutdown);
        }
        let Body::Datagram(d) = &mut ep.body else {
            return Err(WsaError::NotSocket);
        };
        if ep.recvs.is_empty() && !d.queue.is_empty() {
            let m = if flags.contains(MsgFlags::PEEK) {
                let f = &d.queue[0];
                Message {
                    data: f.data.clone(),
                    from: f.from,
                }
            } else {
                let m = d.queue.pop_front().expect("checked");
                d.queued_bytes -= m.data.len();
                m
            };
            return Ok(Io::Done(cut(m, max)));
        }
        match wait {
            Wait::No => Ok(Io::WouldBlock),
            Wait::Later(op) => {
                ep.recvs.push_back(PendingRecv {
                    inst,
                    op,
                    max,
                    peek: flags.contains(MsgFlags::PEEK),
                });
                Ok(Io::Pending)
            }
        }
    }

    /// Whether datagram `i` of the wire list is due.
    pub(crate) fn datagram_due(&self, i: usize) -> bool {
        self.datagrams[i].due <= self.now
    }

    /// Hands datagram `i` to whatever is bound at its destination, or drops
    /// it. A message is taken if the receive queue is empty or the queue
    /// stays within the receive buffer with it (so one datagram larger than
    /// the buffer still gets through an empty queue, as on real stacks).
    pub(crate) fn deliver_datagram(&mut self, i: usize) {
        let dg = self.datagrams.remove(i);
        let len = dg.data.len();
        let target = match self.bindings.get(&(Proto::Datagram, dg.to)) {
            Some(&Binding::Socket(id)) => Some(id),
            _ => None,
        };
        let taken = target.is_some_and(|id| {
            let cap = self.eff(self.ep(id).recv_cap);
            let ep = self.ep_mut(id);
            let open = !ep.closed && !ep.shut_recv;
            let Body::Datagram(d) = &mut ep.body else {
                return false;
            };
            let wanted = d.peer.is_none_or(|p| p == dg.from);
            let fits = d.queue.is_empty() || d.queued_bytes + len <= cap;
            if open && wanted && fits {
                d.queued_bytes += len;
                d.queue.push_back(Message {
                    data: dg.data,
                    from: dg.from,
                });
                true
            } else {
                false
            }
        });
        if let (true, Some(id)) = (taken, target) {
            self.stats.datagrams_delivered += 1;
            self.emit(id, FdEvents::READ, None);
            self.wake(id);
        } else {
            self.stats.datagrams_dropped += 1;
        }
        self.trace(|_| {
            format!(
                "datagram in {len} bytes {}->{}: {}",
                dg.from,
                dg.to,
                if taken { "queued" } else { "dropped" }
            )
        });
    }
}
