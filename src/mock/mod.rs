//! The mock transport: an in-memory, deterministic network.
//!
//! - [`Network`]: nodes (IPv4 hosts), a virtual clock, and a seeded scheduler.
//!   Nothing moves until someone [steps](Network::step) it; when several
//!   things are due at once, the seed decides the order, identically on
//!   every OS.
//! - [`MockTransport`]: one provider instance (a process) on a node; the
//!   [`Transport`](crate::Transport) the core drives. Sockets are keyed by
//!   (instance, handle), since handles are only unique per instance.
//! - [`MockWaiter`]: the core's [`Waiter`](crate::Waiter) over virtual time; a
//!   blocked caller pumps the network itself.
//! - [`RecordingNotifier`]: a [`Notifier`](crate::Notifier) that writes down
//!   every delivery and suppression, with per-thread APC queues and ports.
//!
//! # The model
//! Streams connect at once (no handshake) if something listens. Bytes go
//! send buffer → wire (one segment of at most one MSS per step, never more
//! in flight plus buffered than the peer's receive buffer) → after the
//! latency, the peer's receive buffer. Sends take what fits in the send
//! buffer; pending sends and receives are served in posting order. A graceful
//! close sends a FIN after the buffered data and keeps draining in the
//! background; an abortive close (or a crash) sends an RST behind what is
//! already on the wire. Datagrams go on the wire when sent and are delivered
//! independently (or dropped, counted, if nobody can take them).
//!
//! # Locking
//! The core calls the transport while holding its own locks, so no transport
//! call ever calls the [`CompletionSink`](crate::CompletionSink): whatever it
//! makes possible (a pending accept meeting a connection, an `FD_CONNECT`) is
//! delivered by the next step. Steps make their sink calls after releasing the
//! network lock.
//!
//! # Simplifications (documented choices)
//! - No loopback and no wildcard binding: 0.0.0.0 means the node's address.
//! - Data arriving at a closed socket is discarded silently (a real stack
//!   would answer with a reset); a graceful close discards unread data.
//! - A buffer size of 0 behaves as one segment.
//! - A datagram cut by a short receive carries `MSG_PARTIAL` (see
//!   [`Transport::recv`](crate::Transport::recv)); the rest is discarded.
//! - Dropping the last clone of a [`MockTransport`] resets its sockets, like a
//!   process exit (or a crash, [`Network::crash`]); handed-off sockets (S6g),
//!   and sockets closed gracefully whose every byte has left the node, belong
//!   to the network and go on.

// Layers, each using only the ones above it in this list:
// - ids, config, stats: plain data;
// - state: the network's state and every rule of how it moves (one step at
//   a time), behind no lock, knowing nothing of the layers below;
// - network: the shared handle (`Network`): the lock, stepping, services
//   and faults;
// - transport, waiter, recorder: what a provider plugs in.
mod config;
mod ids;
mod network;
mod recorder;
mod state;
mod stats;
mod transport;
mod waiter;

#[cfg(test)]
mod tests;

pub use config::{EPHEMERAL_FIRST, MAX_DATAGRAM, NetworkConfig};
pub use ids::{InstanceId, NodeId, ServiceId};
pub use network::Network;
pub use recorder::{
    NetworkEventRecord, PortPacket, PostedMessage, QueuedRoutine, Record, RecordingNotifier,
    SuppressedRecord,
};
pub use stats::NetworkStats;
pub use transport::MockTransport;
pub use waiter::MockWaiter;
