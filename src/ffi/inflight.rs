//! The overlapped operations the shim is carrying, keyed by the caller's
//! `WSAOVERLAPPED` address: what it must write when each one finishes.
//!
//! Sharded by address, so two threads submitting on different records
//! rarely meet on a lock (S14); only submit and completion touch it.

use super::abi::{CompletionRoutine, SOCKADDR, SOCKET, WSAOVERLAPPED, WSATHREADID};
use super::wsabuf::Scatter;
use crate::WsaError;
use crate::core::op::Overlapped;
use std::collections::HashMap;
use std::sync::Mutex;

const SHARDS: usize = 16;

/// Where a receive's results go.
#[derive(Debug)]
pub struct ReceiveInto {
    /// The caller's buffers.
    pub buffers: Scatter,
    /// `WSPRecvFrom`'s `lpFrom` and `lpFromlen`, written at completion.
    pub from: Option<(*mut SOCKADDR, *mut i32)>,
}

/// One overlapped operation in flight.
pub struct InFlight {
    /// The socket, as the host named it (for `WPUCompleteOverlappedRequest`).
    pub socket: SOCKET,
    /// The caller's `WSAOVERLAPPED`.
    pub overlapped: *mut WSAOVERLAPPED,
    /// The core's record of the operation.
    pub record: Overlapped,
    /// For a receive: where the data goes.
    pub receive: Option<ReceiveInto>,
    /// The completion routine and a copy of the caller's `WSATHREADID`.
    pub routine: Option<(CompletionRoutine, WSATHREADID)>,
}

impl std::fmt::Debug for InFlight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InFlight")
            .field("socket", &self.socket)
            .field("overlapped", &self.overlapped)
            .field("record", &self.record)
            .field("receive", &self.receive)
            .field("routine", &self.routine.map(|(r, _)| r as usize))
            .finish()
    }
}

// SAFETY: the raw pointers are the application's, which the SPI makes it
// keep valid and untouched until the operation completes; the shim writes
// through them once, from whichever thread completes the operation.
unsafe impl Send for InFlight {}

/// The registry.
#[derive(Debug, Default)]
pub struct Registry {
    shards: [Mutex<HashMap<usize, InFlight>>; SHARDS],
}

fn shard_of(key: usize) -> usize {
    // Records are at least 8-byte aligned and often adjacent: skip the low
    // bits that never differ.
    (key >> 4) % SHARDS
}

impl Registry {
    fn shard(&self, key: usize) -> std::sync::MutexGuard<'_, HashMap<usize, InFlight>> {
        // Entries are inserted and removed whole; a panic elsewhere cannot
        // leave one half written.
        self.shards[shard_of(key)]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Starts carrying `op`. `WSAEINVAL` when its `WSAOVERLAPPED` is still in
    /// use by another operation (the SPI: one record per outstanding
    /// operation).
    pub fn insert(&self, op: InFlight) -> Result<(), WsaError> {
        let key = op.overlapped as usize;
        let mut shard = self.shard(key);
        if shard.contains_key(&key) {
            return Err(WsaError::InvalidArgument);
        }
        shard.insert(key, op);
        Ok(())
    }

    /// Stops carrying the operation of this `WSAOVERLAPPED`.
    pub fn remove(&self, key: usize) -> Option<InFlight> {
        self.shard(key).remove(&key)
    }

    /// The core record of the operation in flight on this `WSAOVERLAPPED`.
    pub fn record(&self, key: usize) -> Option<Overlapped> {
        self.shard(key).get(&key).map(|op| op.record.clone())
    }

    /// Operations in flight.
    pub fn len(&self) -> usize {
        (0..SHARDS).map(|i| self.shard(i << 4).len()).sum()
    }

    /// Whether nothing is in flight.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
