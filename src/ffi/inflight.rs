//! The overlapped operations the shim is carrying, keyed by the caller's
//! `WSAOVERLAPPED` address: what it must write when each one finishes.
//!
//! Sharded by address, so two threads submitting on different records
//! rarely meet on a lock (S14); only submit and completion touch it.

use super::abi::{CompletionRoutine, SOCKADDR, SOCKET, WSAOVERLAPPED, WSATHREADID};
use super::wsabuf::Scatter;
use crate::OpId;
use crate::core::op::Overlapped;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

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

/// A registry entry.
#[derive(Debug)]
enum Slot {
    /// Carried: the operation has not ended yet, or its end is about to be
    /// written.
    Carried(InFlight),
    /// Its end is being written (and told) right now.
    Finishing { socket: SOCKET, record: Overlapped },
}

impl Slot {
    fn socket(&self) -> SOCKET {
        match self {
            Slot::Carried(op) => op.socket,
            Slot::Finishing { socket, .. } => *socket,
        }
    }

    fn record(&self) -> &Overlapped {
        match self {
            Slot::Carried(op) => &op.record,
            Slot::Finishing { record, .. } => record,
        }
    }
}

/// The registry: the operations carried on each `WSAOVERLAPPED` address.
///
/// An address usually carries one operation, but an application may post a
/// second one on a record that is still pending. The SPI asks for one
/// record per operation; Windows pends the second call anyway (Wine's tests
/// check it), and so does the shim: each operation is its own entry, found
/// by the core's record of it, and the `WSAOVERLAPPED` holds whichever end
/// was written last. No rule here is broken by it: each operation still
/// ends exactly once (S10).
#[derive(Debug, Default)]
pub struct Registry {
    shards: [Mutex<HashMap<usize, Vec<Slot>>>; SHARDS],
    /// Counts finished writes, to wake [`wait_finished`](Self::wait_finished).
    done: Mutex<u64>,
    finished: Condvar,
    /// Threads in `wait_finished`: with none, `finished` makes no wake-up
    /// (a system call on every completion otherwise).
    waiting: AtomicUsize,
}

fn shard_of(key: usize) -> usize {
    // Records are at least 8-byte aligned and often adjacent: skip the low
    // bits that never differ.
    (key >> 4) % SHARDS
}

/// Takes the slot at `key` that `pick` chooses out of the shard.
fn take_slot(
    shard: &mut HashMap<usize, Vec<Slot>>,
    key: usize,
    pick: impl Fn(&Slot) -> bool,
) -> Option<Slot> {
    let slots = shard.get_mut(&key)?;
    let i = slots.iter().position(pick)?;
    let slot = slots.remove(i);
    if slots.is_empty() {
        shard.remove(&key);
    }
    Some(slot)
}

impl Registry {
    fn shard(&self, key: usize) -> MutexGuard<'_, HashMap<usize, Vec<Slot>>> {
        // Entries are inserted and removed whole; a panic elsewhere cannot
        // leave one half written.
        self.shards[shard_of(key)]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Starts carrying `op`, beside any other operation on the same
    /// `WSAOVERLAPPED`.
    pub fn insert(&self, op: InFlight) {
        let key = op.overlapped as usize;
        self.shard(key)
            .entry(key)
            .or_default()
            .push(Slot::Carried(op));
    }

    /// Takes back an operation the core refused (no end will be written),
    /// found by its core `record`.
    pub fn remove(&self, key: usize, record: &Overlapped) -> Option<InFlight> {
        let carried = |slot: &Slot| matches!(slot, Slot::Carried(op) if op.record.same_as(record));
        match take_slot(&mut self.shard(key), key, carried)? {
            Slot::Carried(op) => Some(op),
            Slot::Finishing { .. } => None,
        }
    }

    /// The operation `id` on `key`, whose end is now to be written: it stays
    /// in the registry as finishing until [`finished`](Self::finished), so
    /// that its socket's host handle is not given back under it and a
    /// waiting `WSPGetOverlappedResult` knows to wait.
    pub fn start_finishing(&self, key: usize, id: OpId) -> Option<InFlight> {
        let mut shard = self.shard(key);
        let carried = |slot: &Slot| matches!(slot, Slot::Carried(op) if op.record.op() == Some(id));
        let Slot::Carried(op) = take_slot(&mut shard, key, carried)? else {
            return None;
        };
        let finishing = Slot::Finishing {
            socket: op.socket,
            record: op.record.clone(),
        };
        shard.entry(key).or_default().push(finishing);
        Some(op)
    }

    /// The end of the operation `id` on `key` is written and told.
    pub fn finished(&self, key: usize, id: OpId) {
        let finishing =
            |slot: &Slot| matches!(slot, Slot::Finishing { record, .. } if record.op() == Some(id));
        take_slot(&mut self.shard(key), key, finishing);
        // A waiter counts itself before it looks at the entry, and the entry
        // is gone before this looks at the count: either it is seen here,
        // or it sees the entry gone.
        if self.waiting.load(Ordering::SeqCst) > 0 {
            *self.done.lock().unwrap_or_else(|p| p.into_inner()) += 1;
            self.finished.notify_all();
        }
    }

    /// Waits until the operation of `record` on `key` is carried no more
    /// (its end is written).
    pub fn wait_finished(&self, key: usize, record: &Overlapped) {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let mut done = self.done.lock().unwrap_or_else(|p| p.into_inner());
        while self.carries(key, record) {
            done = self.finished.wait(done).unwrap_or_else(|p| p.into_inner());
        }
        drop(done);
        self.waiting.fetch_sub(1, Ordering::SeqCst);
    }

    fn carries(&self, key: usize, record: &Overlapped) -> bool {
        self.shard(key)
            .get(&key)
            .is_some_and(|slots| slots.iter().any(|s| s.record().same_as(record)))
    }

    /// The core record of the newest operation carried on this
    /// `WSAOVERLAPPED`.
    pub fn record(&self, key: usize) -> Option<Overlapped> {
        self.shard(key)
            .get(&key)
            .and_then(|slots| slots.last())
            .map(|slot| slot.record().clone())
    }

    /// Whether any operation of the host socket `s` is carried.
    pub fn has_socket(&self, s: SOCKET) -> bool {
        self.shards.iter().any(|shard| {
            shard
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .values()
                .flatten()
                .any(|slot| slot.socket() == s)
        })
    }

    /// Operations carried.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                s.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .values()
                    .map(Vec::len)
                    .sum::<usize>()
            })
            .sum()
    }

    /// Whether nothing is carried.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
