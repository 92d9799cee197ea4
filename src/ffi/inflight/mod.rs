//! The overlapped operations the shim is carrying: what it must write when
//! each one finishes.
//!
//! Each operation is carried under a [`Ticket`] of its own, which the core
//! hands back with the operation's notification (`Notification::user`).
//! An application may post a second operation on a `WSAOVERLAPPED` that is
//! still pending: the SPI asks for one record per operation, but Windows
//! pends the second call anyway (Wine's tests check it), and so does the
//! shim. Each operation ends exactly once (S10); the `WSAOVERLAPPED` holds
//! whichever end was written last.
//!
//! Sharded by ticket, so two threads submitting at once rarely meet on a
//! lock (S14); only submit and completion touch it, each in O(1) with no
//! allocation of the registry's own.

pub(crate) mod carry;

use super::abi::{CompletionRoutine, SOCKADDR, SOCKET, WSAMSG, WSAOVERLAPPED, WSATHREADID};
use super::wsabuf::Scatter;
use crate::core::op::Overlapped;
use crate::sync::lock;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

const SHARDS: usize = 16;

/// Where a receive's results go.
#[derive(Debug)]
pub(crate) struct ReceiveInto {
    /// The caller's buffers.
    pub buffers: Scatter,
    /// `WSPRecvFrom`'s `lpFrom` and `lpFromlen`, written at completion.
    pub from: Option<(*mut SOCKADDR, *mut i32)>,
    /// `WSARecvMsg`'s header, whose flags are written at completion.
    pub msg: Option<*mut WSAMSG>,
}

/// Where an `AcceptEx` writes the two addresses at its completion: the
/// caller's output buffer past its receive area, a slot for the local
/// address then one for the remote, each `sockaddr` at its slot's start
/// (`GetAcceptExSockaddrs`, the provider's too, reads them there).
#[derive(Clone, Copy, Debug)]
pub(crate) struct AcceptExOut {
    pub local: *mut u8,
    pub local_len: usize,
    pub remote: *mut u8,
    pub remote_len: usize,
}

/// One overlapped operation in flight.
pub(crate) struct InFlight {
    /// The socket, as the host named it (for `WPUCompleteOverlappedRequest`).
    pub socket: SOCKET,
    /// The caller's `WSAOVERLAPPED`.
    pub overlapped: *mut WSAOVERLAPPED,
    /// The core's record of the operation.
    pub record: Overlapped,
    /// For a receive: where the data goes.
    pub receive: Option<ReceiveInto>,
    /// For an `AcceptEx`: where the addresses go.
    pub accept_ex: Option<AcceptExOut>,
    /// The completion routine and a copy of the caller's `WSATHREADID`.
    pub routine: Option<(CompletionRoutine, WSATHREADID)>,
    /// The routine's `WSATHREADID` was opened for the call
    /// (`WPUOpenCurrentThread`) and is closed when the operation ends.
    pub opened_thread: bool,
}

impl InFlight {
    /// The `WSATHREADID` to give back with `WPUCloseThread` once the
    /// operation has ended (and its routine, if told, is queued).
    pub(crate) fn thread_to_close(&self) -> Option<WSATHREADID> {
        self.routine
            .filter(|_| self.opened_thread)
            .map(|(_, thread)| thread)
    }
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

/// The name of one carried operation: unique within a process, never 0.
pub(super) type Ticket = u64;

/// A registry entry.
#[derive(Debug)]
enum Slot {
    /// Carried: the operation has not ended yet, or its end is about to be
    /// written.
    Carried(InFlight),
    /// Its end is being written (and told) right now.
    Finishing {
        socket: SOCKET,
        overlapped: *mut WSAOVERLAPPED,
        record: Overlapped,
    },
}

// SAFETY: as `InFlight`'s; a finishing entry only compares its pointer.
unsafe impl Send for Slot {}

impl Slot {
    fn socket(&self) -> SOCKET {
        match self {
            Slot::Carried(op) => op.socket,
            Slot::Finishing { socket, .. } => *socket,
        }
    }

    fn overlapped(&self) -> *mut WSAOVERLAPPED {
        match self {
            Slot::Carried(op) => op.overlapped,
            Slot::Finishing { overlapped, .. } => *overlapped,
        }
    }

    fn record(&self) -> &Overlapped {
        match self {
            Slot::Carried(op) => &op.record,
            Slot::Finishing { record, .. } => record,
        }
    }
}

/// The registry.
#[derive(Debug)]
pub(crate) struct Registry {
    shards: [Mutex<HashMap<Ticket, Slot>>; SHARDS],
    next: AtomicU64,
    /// Counts finished writes, to wake [`wait_finished`](Self::wait_finished).
    done: Mutex<u64>,
    finished: Condvar,
    /// Threads in `wait_finished`: with none, `finished` makes no wake-up
    /// (a system call on every completion otherwise).
    waiting: AtomicUsize,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            shards: Default::default(),
            next: AtomicU64::new(1),
            done: Mutex::new(0),
            finished: Condvar::new(),
            waiting: AtomicUsize::new(0),
        }
    }
}

impl Registry {
    fn shard(&self, ticket: Ticket) -> MutexGuard<'_, HashMap<Ticket, Slot>> {
        lock!(self.shards[ticket as usize % SHARDS])
    }

    /// Starts carrying `op`; its ticket names it from now on.
    pub(crate) fn insert(&self, op: InFlight) -> Ticket {
        let ticket = self.next.fetch_add(1, Ordering::Relaxed);
        self.shard(ticket).insert(ticket, Slot::Carried(op));
        ticket
    }

    /// Takes back an operation the core refused (no end will be written).
    pub(crate) fn remove(&self, ticket: Ticket) -> Option<InFlight> {
        let mut shard = self.shard(ticket);
        match shard.remove(&ticket)? {
            Slot::Carried(op) => Some(op),
            finishing => {
                shard.insert(ticket, finishing);
                None
            }
        }
    }

    /// The operation whose end is now to be written: it stays in the
    /// registry as finishing until [`finished`](Self::finished), so that its
    /// socket's host handle is not given back under it and a waiting
    /// `WSPGetOverlappedResult` knows to wait.
    pub(crate) fn start_finishing(&self, ticket: Ticket) -> Option<InFlight> {
        let mut shard = self.shard(ticket);
        let slot = shard.get_mut(&ticket)?;
        let Slot::Carried(op) = slot else {
            return None;
        };
        let finishing = Slot::Finishing {
            socket: op.socket,
            overlapped: op.overlapped,
            record: op.record.clone(),
        };
        match std::mem::replace(slot, finishing) {
            Slot::Carried(op) => Some(op),
            Slot::Finishing { .. } => None,
        }
    }

    /// The end of the operation `ticket` is written and told.
    pub(crate) fn finished(&self, ticket: Ticket) {
        self.shard(ticket).remove(&ticket);
        // A waiter counts itself before it looks at the entry, and the entry
        // is gone before this looks at the count: either it is seen here,
        // or it sees the entry gone.
        if self.waiting.load(Ordering::SeqCst) > 0 {
            *lock!(self.done) += 1;
            self.finished.notify_all();
        }
    }

    /// Waits until the operation `ticket` is carried no more (its end is
    /// written).
    pub(crate) fn wait_finished(&self, ticket: Ticket) {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let mut done = lock!(self.done);
        while self.shard(ticket).contains_key(&ticket) {
            done = self.finished.wait(done).unwrap_or_else(|p| p.into_inner());
        }
        drop(done);
        self.waiting.fetch_sub(1, Ordering::SeqCst);
    }

    /// The newest operation carried on this `WSAOVERLAPPED`: its ticket and
    /// the core's record of it. A look through every shard: only a
    /// `WSPGetOverlappedResult` that is about to wait asks.
    pub(crate) fn newest_on(
        &self,
        overlapped: *const WSAOVERLAPPED,
    ) -> Option<(Ticket, Overlapped)> {
        self.shards
            .iter()
            .filter_map(|shard| {
                lock!(shard)
                    .iter()
                    .filter(|(_, slot)| std::ptr::eq(slot.overlapped(), overlapped))
                    .max_by_key(|(ticket, _)| **ticket)
                    .map(|(ticket, slot)| (*ticket, slot.record().clone()))
            })
            .max_by_key(|(ticket, _)| *ticket)
    }

    /// Whether any operation of the host socket `s` is carried.
    pub(crate) fn has_socket(&self, s: SOCKET) -> bool {
        self.shards
            .iter()
            .any(|shard| lock!(shard).values().any(|slot| slot.socket() == s))
    }

    /// Operations carried.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| lock!(s).len()).sum()
    }
}
