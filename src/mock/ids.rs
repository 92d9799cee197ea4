//! The names the network gives to its parts.
//!
//! They are plain counters handed out in creation order, so the same test
//! builds the same ids on every run (determinism), and ordered, so maps keyed
//! by them iterate in the same order everywhere.

use std::fmt;

/// A host of the network: one IPv4 address, any number of provider
/// instances over time (a process, its crash, its restart).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct NodeId(pub(crate) u32);

/// One provider instance's view of the network: what
/// [`Network::transport`](super::Network::transport) returns. Socket handles
/// are only unique within one instance, so every socket is keyed by
/// (instance, handle).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct InstanceId(pub(crate) u64);

/// A network-resident service (discard, echo).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct ServiceId(pub(crate) u32);

/// One end of a connection or one datagram socket inside the network. It
/// outlives the handle that named it when a closed socket is still draining.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub(crate) struct EpId(pub(crate) u64);

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "node{}", self.0)
    }
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "instance{}", self.0)
    }
}

impl fmt::Display for ServiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "service{}", self.0)
    }
}
