//! Network-resident services: peers that live in the network itself rather
//! than in a provider, so a test can talk to a well-behaved (or slow) server
//! without running a second provider.
//!
//! A service listens at an address (any IPv4 address, a node's or not),
//! accepts every connection at once, reads at its read rate and, on EOF,
//! closes its end gracefully. The discard service counts and drops what it
//! reads; the echo service sends it back.

use super::endpoint::Proto;
use super::endpoint::{Owner, take_front};
use super::{Binding, NetState};
use crate::mock::ids::{EpId, ServiceId};
use std::net::SocketAddr;
use std::time::Duration;

/// What a service does with the bytes it reads.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ServiceKind {
    Discard,
    Echo,
}

/// A service's settings and counters.
#[derive(Debug)]
pub(crate) struct Service {
    pub(crate) addr: SocketAddr,
    pub(crate) kind: ServiceKind,
    /// Bytes per millisecond of virtual time, per connection, on average;
    /// `None` reads everything at once, `Some(0)` never reads.
    pub(crate) read_rate: Option<usize>,
    pub(crate) received: u64,
    pub(crate) closed_gracefully: usize,
    pub(crate) resets: usize,
    /// Its connections that still exist (endpoints it owns).
    pub(crate) connections: usize,
}

/// How long a reader at `rate` bytes per millisecond takes for `n` bytes.
fn read_time(n: usize, rate: usize) -> Duration {
    Duration::from_nanos((n as u64).saturating_mul(1_000_000) / rate.max(1) as u64)
}

impl NetState {
    pub(crate) fn add_service(
        &mut self,
        addr: SocketAddr,
        kind: ServiceKind,
        read_rate: Option<usize>,
    ) -> ServiceId {
        assert!(
            !self.bindings.contains_key(&(Proto::Stream, addr)),
            "cannot add a service at {addr}: the address is in use"
        );
        let id = ServiceId(self.next_service);
        self.next_service += 1;
        self.bindings
            .insert((Proto::Stream, addr), Binding::Service(id));
        self.services.insert(
            id,
            Service {
                addr,
                kind,
                read_rate,
                received: 0,
                closed_gracefully: 0,
                resets: 0,
                connections: 0,
            },
        );
        id
    }

    /// Removes a service that has no connection left, and frees its
    /// address. Whether it did.
    pub(crate) fn remove_service(&mut self, id: ServiceId) -> bool {
        match self.services.get(&id) {
            Some(svc) if svc.connections == 0 => {
                let addr = svc.addr;
                self.services.remove(&id);
                self.bindings.remove(&(Proto::Stream, addr));
                true
            }
            _ => false,
        }
    }

    fn service(&self, id: EpId) -> Option<&Service> {
        match self.ep(id).owner {
            Owner::Service(s) => self.services.get(&s),
            _ => None,
        }
    }

    /// Bytes a service connection may read now, ignoring its rate clock. A
    /// rate-limited reader takes at most one MSS at a time and then rests as
    /// long as those bytes take at its rate: the same average rate as reading
    /// every millisecond, with far fewer steps.
    fn service_allowance(&self, id: EpId) -> usize {
        let (Some(svc), Some(c)) = (self.service(id), self.ep(id).conn()) else {
            return 0;
        };
        let chunk = match svc.read_rate {
            None => usize::MAX,
            Some(0) => 0,
            Some(_) => self.config.mss,
        };
        let mut n = chunk.min(c.recv_buf.len());
        if svc.kind == ServiceKind::Echo {
            n = n.min(self.send_room(id));
        }
        n
    }

    /// The service has read everything before the peer's FIN and not closed yet.
    fn service_at_eof(&self, id: EpId) -> bool {
        let ep = self.ep(id);
        !ep.closed
            && ep
                .conn()
                .is_some_and(|c| c.fin_received && c.recv_buf.is_empty() && !c.reset)
    }

    /// Whether [`service_read`](Self::service_read) would do anything now.
    pub(crate) fn service_can_read(&self, id: EpId) -> bool {
        if self.service(id).is_none() {
            return false;
        }
        let rate_ok = self
            .ep(id)
            .conn()
            .is_some_and(|c| c.next_read_at <= self.now);
        (rate_ok && self.service_allowance(id) > 0) || self.service_at_eof(id)
    }

    /// When a rate-limited service connection may read next, if it has
    /// something to read then.
    pub(crate) fn service_next_read(&self, id: EpId) -> Option<Duration> {
        let c = self.endpoints.get(&id)?.conn()?;
        (self.service(id).is_some() && c.next_read_at > self.now && self.service_allowance(id) > 0)
            .then_some(c.next_read_at)
    }

    /// One read by a service connection (or its graceful close at EOF).
    pub(crate) fn service_read(&mut self, id: EpId) {
        let Owner::Service(sid) = self.ep(id).owner else {
            return;
        };
        if self.service_at_eof(id) {
            let ep = self.ep_mut(id);
            ep.closed = true;
            ep.shut_send = true;
            if let Some(svc) = self.services.get_mut(&sid) {
                svc.closed_gracefully += 1;
            }
            self.trace(|st| format!("service eof {}", st.name(id)));
            self.reap(id);
            return;
        }
        let n = self.service_allowance(id);
        let now = self.now;
        let svc = self.services.get_mut(&sid).expect("service exists");
        svc.received += n as u64;
        let (echo, rate) = (svc.kind == ServiceKind::Echo, svc.read_rate);
        let c = self
            .ep_mut_opt(id)
            .and_then(|e| e.conn_mut())
            .expect("connected");
        let bytes = take_front(&mut c.recv_buf, n);
        if echo {
            c.send_buf.extend(bytes);
        }
        if let Some(r) = rate {
            c.next_read_at = now + read_time(n, r);
        }
        self.trace(|st| format!("service read {n} bytes {}", st.name(id)));
    }
}
