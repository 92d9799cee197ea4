//! What the application's calls do to stream sockets: listen, connect,
//! accept, send, receive, shutdown and close.
//!
//! These run inside transport calls, so they never complete anything except
//! through their return value; what they make possible (a pending accept, a
//! pending send finding room) is done by a later step.

use super::endpoint::{
    Body, Conn, Connecting, Endpoint, Listen, Owner, PendingRecv, PendingSend, Proto, copy_front,
    take_front,
};
use super::{Binding, NetState, SegKind};
use crate::core::error::WsaError;
use crate::core::flags::{FdEvents, MsgFlags};
use crate::core::handle::{OpId, SocketHandle};
use crate::core::transport::{Completed, Io, Received, Wait};
use crate::mock::ids::{EpId, InstanceId};
use std::net::SocketAddr;

/// Where a connect lands.
enum Target {
    Listener(EpId),
    Service(crate::mock::ids::ServiceId),
}

impl NetState {
    pub(crate) fn listen(
        &mut self,
        inst: InstanceId,
        h: SocketHandle,
        backlog: u32,
    ) -> Result<(), WsaError> {
        self.check(inst)?;
        let id = self.ep_of(inst, h)?;
        // A backlog of 0 would refuse every connection; like Windows, raise it.
        let backlog = (backlog as usize).max(1);
        let ep = self.ep_mut(id);
        if ep.proto != Proto::Stream {
            return Err(WsaError::OperationNotSupported);
        }
        if ep.local.is_none() || ep.closed {
            return Err(WsaError::InvalidArgument);
        }
        match &mut ep.body {
            Body::Listening(l) => l.backlog = backlog,
            Body::Connected(_) => return Err(WsaError::IsConnected),
            _ => {
                ep.body = Body::Listening(Listen {
                    backlog,
                    ..Listen::default()
                })
            }
        }
        Ok(())
    }

    /// Starts a connect: binds an ephemeral port if the socket has none
    /// and sends the SYN. The answer is due after a round trip (twice the
    /// latency), or after the connect timeout when no node has the address;
    /// [`resolve_connect`](Self::resolve_connect) finds then what is there.
    /// Refused at once, changing nothing, for a wildcard address or port 0
    /// (`WSAEADDRNOTAVAIL`) or a socket that cannot connect (S13).
    pub(crate) fn stream_connect(
        &mut self,
        inst: InstanceId,
        id: EpId,
        addr: SocketAddr,
        op: OpId,
    ) -> Result<Io<()>, WsaError> {
        let ep = self.ep(id);
        match ep.body {
            _ if ep.closed => return Err(WsaError::NotSocket),
            Body::Idle => {}
            Body::Listening(_) => return Err(WsaError::InvalidArgument),
            Body::Connecting(_) => return Err(WsaError::Already),
            Body::Connected(_) | Body::Datagram(_) => return Err(WsaError::IsConnected),
        }
        if addr.ip().is_unspecified() || addr.port() == 0 {
            return Err(WsaError::AddressNotAvailable);
        }
        if self.ep(id).local.is_none() {
            let ip = self.instance_ip(inst, self.ep(id).family)?;
            self.bind_ep(id, SocketAddr::new(ip, 0))?;
        }
        let wait = if self.reachable(addr.ip()) {
            self.config.latency * 2
        } else {
            self.config.connect_timeout
        };
        let due = self.now + wait;
        self.ep_mut(id).body = Body::Connecting(Connecting {
            op,
            target: addr,
            due,
        });
        self.connecting.insert(id);
        self.trace(|st| format!("connect {} to {addr}: SYN", st.name(id)));
        Ok(Io::Pending)
    }

    /// Whether a host answers at `ip`: a node has it, or a service is
    /// bound there (services need no node).
    fn reachable(&self, ip: std::net::IpAddr) -> bool {
        self.node_with(ip).is_some() || self.bindings.keys().any(|(_, a)| a.ip() == ip)
    }

    /// The connects whose answer is due now.
    pub(crate) fn connects_due(&self) -> impl Iterator<Item = EpId> + '_ {
        self.connecting.iter().copied().filter(|id| {
            matches!(self.endpoints.get(id).map(|e| &e.body),
                Some(Body::Connecting(c)) if c.due <= self.now)
        })
    }

    /// The earliest time a connect under way is answered.
    pub(crate) fn next_connect_due(&self) -> Option<std::time::Duration> {
        self.connecting
            .iter()
            .filter_map(|id| match self.endpoints.get(id).map(|e| &e.body) {
                Some(Body::Connecting(c)) => Some(c.due),
                _ => None,
            })
            .min()
    }

    /// The answer to a connect arrives: a connection if something listens
    /// at the address (a service, or a listener with room in its backlog),
    /// `WSAECONNREFUSED` if the node is there and nothing listens,
    /// `WSAETIMEDOUT` if no node has the address.
    pub(crate) fn resolve_connect(&mut self, id: EpId) {
        self.connecting.remove(&id);
        let Some(ep) = self.endpoints.get(&id) else {
            return;
        };
        let (Body::Connecting(c), Owner::Socket(inst, _)) = (&ep.body, ep.owner) else {
            return;
        };
        let (op, addr) = (c.op, c.target);
        let local = ep.local.expect("bound when the connect started");
        let target = match self.bindings.get(&(Proto::Stream, addr)).copied() {
            Some(Binding::Service(s)) => Ok(Target::Service(s)),
            Some(Binding::Socket(l)) => match &self.ep(l).body {
                Body::Listening(li) if li.queue.len() < li.backlog => Ok(Target::Listener(l)),
                _ => Err(WsaError::ConnectionRefused),
            },
            None if self.reachable(addr.ip()) => Err(WsaError::ConnectionRefused),
            None => Err(WsaError::TimedOut),
        };
        let target = match target {
            Ok(t) => t,
            Err(e) => {
                self.stats.connects_failed += 1;
                self.ep_mut(id).body = Body::Idle;
                self.complete(inst, op, Completed::Failed(e));
                self.trace(|st| format!("connect {} to {addr}: {}", st.name(id), e.name()));
                return;
            }
        };
        // The accepting end inherits the listener's buffer sizes (as accepted
        // sockets inherit the listener's options); they matter at once, since
        // data may arrive before the accept.
        let (owner, send_cap, recv_cap) = match target {
            Target::Service(s) => (
                Owner::Service(s),
                self.config.send_buffer,
                self.config.recv_buffer,
            ),
            Target::Listener(l) => {
                let le = self.ep(l);
                let li = le
                    .owner
                    .instance()
                    .expect("a listener belongs to an instance");
                (Owner::Queued(li), le.send_cap, le.recv_cap)
            }
        };
        if let Owner::Service(s) = owner
            && let Some(svc) = self.services.get_mut(&s)
        {
            svc.connections += 1;
        }
        let family = self.ep(id).family;
        let mut server = Endpoint::new(owner, family, Proto::Stream, send_cap, recv_cap);
        server.local = Some(addr);
        server.body = Body::Connected(Conn::new(id, local));
        let sid = self.insert_ep(server);
        self.ep_mut(id).body = Body::Connected(Conn::new(sid, addr));
        if let Target::Listener(l) = target {
            if let Body::Listening(li) = &mut self.ep_mut(l).body {
                li.queue.push_back(sid);
            }
            self.emit(l, FdEvents::ACCEPT, None);
        }
        self.stats.connections_established += 1;
        self.complete(inst, op, Completed::Connected);
        self.trace(|st| format!("connect {}: established", st.name(id)));
    }

    /// Takes the oldest queued connection as socket `h`, or registers the
    /// accept. Accepts are served in posting order, so a non-blocking accept
    /// does not overtake a pending one.
    pub(crate) fn accept(
        &mut self,
        inst: InstanceId,
        listener: SocketHandle,
        h: SocketHandle,
        wait: Wait,
    ) -> Result<Io<SocketAddr>, WsaError> {
        self.check(inst)?;
        let lid = self.ep_of(inst, listener)?;
        let Body::Listening(l) = &mut self.ep_mut(lid).body else {
            return Err(WsaError::InvalidArgument);
        };
        if l.accepts.is_empty()
            && let Some(q) = l.queue.pop_front()
        {
            return Ok(Io::Done(self.adopt(inst, h, q)));
        }
        match wait {
            Wait::No => Ok(Io::WouldBlock),
            Wait::Later(op) => {
                l.accepts.push_back((inst, op, h));
                Ok(Io::Pending)
            }
        }
    }

    /// Gives a queued connection its handle. The core does not `open` an
    /// accepted socket first; if it did, that placeholder is replaced.
    /// Returns the peer's address.
    pub(crate) fn adopt(&mut self, inst: InstanceId, h: SocketHandle, q: EpId) -> SocketAddr {
        if let Some(old) = self.sockets.get(&(inst, h)).copied() {
            self.remove_ep(old);
        }
        self.ep_mut(q).owner = Owner::Socket(inst, h);
        self.sockets.insert((inst, h), q);
        let c = self.ep(q).conn().expect("a queued endpoint is connected");
        let (peer, data, fin, reset) =
            (c.peer_addr, !c.recv_buf.is_empty(), c.fin_received, c.reset);
        // What happened while it waited in the queue had nobody to tell.
        if data {
            self.emit(q, FdEvents::READ, None);
        }
        if reset {
            self.emit(q, FdEvents::CLOSE, Some(WsaError::ConnectionReset));
        } else if fin {
            self.emit(q, FdEvents::CLOSE, None);
        }
        self.trace(|st| format!("accept {}", st.name(q)));
        peer
    }

    /// Takes what fits in the send buffer. Sends are taken in posting order:
    /// while one is pending, a later one takes nothing.
    pub(crate) fn stream_send(
        &mut self,
        inst: InstanceId,
        id: EpId,
        data: Vec<u8>,
        wait: Wait,
    ) -> Result<Io<usize>, WsaError> {
        let room = self.send_room(id);
        let ep = self.ep_mut(id);
        let shut = ep.shut_send || ep.closed;
        let Some(c) = ep.conn_mut() else {
            return Err(WsaError::NotConnected);
        };
        if c.reset {
            return Err(WsaError::ConnectionReset);
        }
        if shut {
            return Err(WsaError::Shutdown);
        }
        if data.is_empty() {
            return Ok(Io::Done(0));
        }
        let take = if c.sends.is_empty() {
            room.min(data.len())
        } else {
            0
        };
        c.send_buf.extend(&data[..take]);
        let len = data.len();
        let result = match wait {
            _ if take == len => Io::Done(take),
            Wait::No if take > 0 => Io::Done(take),
            Wait::No => {
                c.want_write = true;
                Io::WouldBlock
            }
            Wait::Later(op) => {
                c.want_write = true;
                c.sends.push_back(PendingSend {
                    inst,
                    op,
                    data,
                    taken: take,
                });
                Io::Pending
            }
        };
        self.trace(|st| {
            format!(
                "send {} of {} bytes on {}: {result:?}",
                take,
                len,
                st.name(id)
            )
        });
        Ok(result)
    }

    /// Reads buffered bytes (or EOF). Receives are filled in posting order:
    /// while one is pending, a later one gets nothing now. `MSG_PEEK` leaves
    /// the bytes, whether the receive is answered at once or pends.
    pub(crate) fn stream_recv(
        &mut self,
        inst: InstanceId,
        id: EpId,
        max: usize,
        flags: MsgFlags,
        wait: Wait,
    ) -> Result<Io<Received>, WsaError> {
        let Endpoint {
            body,
            recvs,
            shut_recv,
            ..
        } = self.ep_mut(id);
        let Body::Connected(c) = body else {
            return Err(WsaError::NotConnected);
        };
        if c.reset {
            return Err(WsaError::ConnectionReset);
        }
        if *shut_recv {
            return Err(WsaError::Shutdown);
        }
        if recvs.is_empty() {
            if !c.recv_buf.is_empty() {
                let n = max.min(c.recv_buf.len());
                let data: Vec<u8> = if flags.contains(MsgFlags::PEEK) {
                    copy_front(&c.recv_buf, n)
                } else {
                    take_front(&mut c.recv_buf, n)
                };
                self.trace(|st| format!("recv {n} bytes on {}", st.name(id)));
                return Ok(Io::Done(Received {
                    data,
                    from: None,
                    flags: MsgFlags::empty(),
                }));
            }
            if c.fin_received {
                return Ok(Io::Done(Received::default()));
            }
        }
        match wait {
            Wait::No => Ok(Io::WouldBlock),
            Wait::Later(op) => {
                recvs.push_back(PendingRecv {
                    inst,
                    op,
                    max,
                    peek: flags.contains(MsgFlags::PEEK),
                });
                Ok(Io::Pending)
            }
        }
    }

    /// Shuts receiving: buffered and later arriving data is discarded; pending
    /// receives fail with `WSAESHUTDOWN` at the next step.
    pub(crate) fn shut_receive(&mut self, id: EpId) {
        let ep = self.ep_mut(id);
        ep.shut_recv = true;
        let dropped = match &mut ep.body {
            Body::Connected(c) => std::mem::take(&mut c.recv_buf).len(),
            Body::Datagram(d) => {
                d.queue.clear();
                d.queued_bytes = 0;
                0
            }
            _ => 0,
        };
        self.stats.bytes_discarded_closed += dropped as u64;
    }

    /// Graceful close: the send buffer drains in the background, then a FIN.
    /// Unread received data is dropped (a simplification: real stacks answer
    /// a close with unread data with a reset).
    pub(crate) fn close_gracefully(&mut self, id: EpId) {
        let ep = self.ep_mut(id);
        ep.closed = true;
        ep.shut_send = true;
        let dropped = ep
            .conn_mut()
            .map_or(0, |c| std::mem::take(&mut c.recv_buf).len());
        self.stats.bytes_discarded_closed += dropped as u64;
        self.reap(id);
    }

    /// Abortive end: unsent and unread data discarded, the peer gets an RST
    /// (behind what is already on the wire), the endpoint is gone at once. A
    /// listener takes its queued connections with it.
    pub(crate) fn abort(&mut self, id: EpId) {
        let Some(ep) = self.ep_mut_opt(id) else {
            return;
        };
        match &mut ep.body {
            Body::Connected(c) if !c.reset => {
                let n = c.send_buf.len() + c.recv_buf.len();
                let peer = c.peer;
                self.stats.bytes_discarded_by_resets += n as u64;
                self.push_segment(id, peer, SegKind::Rst);
            }
            Body::Listening(l) => {
                let queued: Vec<EpId> = l.queue.drain(..).collect();
                for q in queued {
                    self.abort(q);
                }
            }
            _ => {}
        }
        self.trace(|st| format!("abort {}", st.name(id)));
        self.remove_ep(id);
    }
}
