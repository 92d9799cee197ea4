//! Counters a test reads to see what the network did.

/// A snapshot of the network's counters, from
/// [`Network::stats`](super::Network::stats).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetworkStats {
    /// Stream data segments put into a receive buffer.
    pub segments_delivered: u64,
    /// Stream bytes put into a receive buffer.
    pub bytes_delivered: u64,
    /// Stream bytes thrown away because of a reset: unsent data of an abortive
    /// close or of a reset connection, unread data of a reset connection, and
    /// bytes that arrived at a reset endpoint.
    pub bytes_discarded_by_resets: u64,
    /// Stream bytes that arrived at an endpoint that was closed or shut for
    /// receiving (or received but never read before a graceful close).
    pub bytes_discarded_closed: u64,
    /// Datagrams put into a receive queue.
    pub datagrams_delivered: u64,
    /// Datagrams dropped: nobody bound at the destination, receive buffer full,
    /// sender is not the connected peer, or receive shut.
    pub datagrams_dropped: u64,
    /// Connects that established a connection.
    pub connections_established: u64,
    /// Connects that failed: refused, or timed out.
    pub connects_failed: u64,
    /// Connection ends that saw a reset (a received RST, or an injected
    /// [`reset_connection`](super::Network::reset_connection)).
    pub connections_reset: u64,
    /// Sockets handed off at final cleanup (S6g), in total.
    pub handed_off_sockets: u64,
    /// Handed-off sockets still draining now.
    pub handed_off_draining: u64,
    /// Bytes still waiting in the send buffers of handed-off sockets now.
    pub handed_off_bytes: u64,
}
