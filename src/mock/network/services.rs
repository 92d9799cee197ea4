//! The network's services: adding them, steering them and reading their
//! counters (how a service behaves is a rule of the state layer).

use super::Network;
use crate::mock::ids::ServiceId;
use crate::mock::state::services::ServiceKind;
use std::net::SocketAddr;

impl Network {
    /// A service at `addr` that accepts every connection, reads (on average
    /// `read_rate` bytes per millisecond of virtual time per connection, in
    /// reads of at most one MSS; `None`: as fast as data arrives; `Some(0)`:
    /// never, a stalled reader) and counts the bytes. At EOF it closes its
    /// end gracefully.
    ///
    /// # Panics
    /// If a stream socket or service is already bound at `addr`.
    pub fn add_discard_service(&self, addr: SocketAddr, read_rate: Option<usize>) -> ServiceId {
        self.mutate(|st| st.add_service(addr, ServiceKind::Discard, read_rate))
    }

    /// A service at `addr` that sends back everything it reads (as fast as
    /// its send buffer allows). At EOF it closes its end gracefully, after
    /// the echoed bytes.
    ///
    /// # Panics
    /// If a stream socket or service is already bound at `addr`.
    pub fn add_echo_service(&self, addr: SocketAddr) -> ServiceId {
        self.mutate(|st| st.add_service(addr, ServiceKind::Echo, None))
    }

    /// Changes a service's read rate (see [`add_discard_service`](Self::add_discard_service)).
    pub fn set_read_rate(&self, service: ServiceId, read_rate: Option<usize>) {
        self.mutate(|st| {
            if let Some(s) = st.services.get_mut(&service) {
                s.read_rate = read_rate;
            }
            st.mark_all();
        });
    }

    /// Total bytes the service has read, over all its connections.
    pub fn service_received(&self, service: ServiceId) -> u64 {
        self.lock().services.get(&service).map_or(0, |s| s.received)
    }

    /// Connections of the service that saw the peer's FIN (after reading
    /// everything before it).
    pub fn service_closed_gracefully(&self, service: ServiceId) -> usize {
        self.lock()
            .services
            .get(&service)
            .map_or(0, |s| s.closed_gracefully)
    }

    /// Connections of the service that were reset.
    pub fn service_resets(&self, service: ServiceId) -> usize {
        self.lock().services.get(&service).map_or(0, |s| s.resets)
    }

    /// The address a service listens at.
    pub fn service_addr(&self, service: ServiceId) -> Option<SocketAddr> {
        self.lock().services.get(&service).map(|s| s.addr)
    }

    /// Connections of the service that still exist (open, or closing with
    /// data or a FIN still to move).
    pub fn service_connections(&self, service: ServiceId) -> usize {
        self.lock()
            .services
            .get(&service)
            .map_or(0, |s| s.connections)
    }

    /// Removes a service whose connections have all ended, and frees its
    /// address for a new one (its counters go with it). Whether it did:
    /// `false` while a connection remains, or for an unknown service.
    pub fn remove_service(&self, service: ServiceId) -> bool {
        // Nothing waits for a service to go: no sink call, no wake-up.
        self.lock().remove_service(service)
    }
}
