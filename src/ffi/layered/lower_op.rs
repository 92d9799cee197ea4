//! The layer's own overlapped operations on the next provider's sockets:
//! one record per application operation that went down, holding what the
//! next provider writes until its completion routine has run.
//!
//! A record is posted with [`lower_done`] as its routine. Its phase says
//! what the posting thread made of the call, and is locked across the
//! call, so the routine (run on the relay thread, maybe before the call
//! has even returned) waits until the poster has decided:
//! - the call returned 0 (done at once; S9: the routine still runs): the
//!   poster answered the core itself ([`Phase::Answered`]); the routine
//!   only frees the record;
//! - `WSA_IO_PENDING`: the routine tells the owner ([`Phase::Pending`]),
//!   then frees the record;
//! - any other error: no routine will ever run (S9); the poster frees it.
//!
//! Records the next provider silenced (its final cleanup aborts without
//! any notification, S6c one level down) are forgotten by their owner at
//! its stop and never freed: a completion that still comes late finds its
//! record allocated (and ends it without telling anyone).

use super::super::abi::{SOCKET, WSABUF, WSAOVERLAPPED};
use super::super::sockaddr::Storage;
use crate::sync::lock;
use crate::{MsgFlags, OpId, SocketHandle, WsaError};
use std::cell::UnsafeCell;
use std::net::SocketAddr;
use std::sync::{Mutex, Weak};

/// What the poster made of the call.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Phase {
    /// The call is being made.
    Posting,
    /// It finished at once and the poster answered the core.
    Answered,
    /// It pends: the routine tells the owner.
    Pending,
}

/// A send or a receive.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Kind {
    Send,
    Recv,
}

/// A lower operation's end, for its owner.
#[derive(Debug)]
pub(super) struct Finished {
    pub(super) op: OpId,
    pub(super) socket: SocketHandle,
    pub(super) kind: Kind,
    /// The bytes moved and, for a receive, the data, the sender and the
    /// flags; or the error.
    pub(super) result: Result<Moved, WsaError>,
}

/// What a finished operation moved.
#[derive(Debug, Default)]
pub(super) struct Moved {
    pub(super) bytes: usize,
    pub(super) data: Vec<u8>,
    pub(super) from: Option<SocketAddr>,
    pub(super) flags: MsgFlags,
}

/// Who gets a record's end.
pub(super) trait Owner: Send + Sync {
    /// A lower operation finished after it pended.
    fn finished(&self, end: Finished);
    /// Forgets a record, which is freed now; false if the owner forgot it
    /// already (its stop gave up on it: the record is left allocated, and
    /// its late end tells nobody).
    fn release(&self, record: *mut LowerOp) -> bool;
}

/// One lower operation. `#[repr(C)]` with the `WSAOVERLAPPED` first: the
/// routine's `lpOverlapped` is the record.
#[repr(C)]
pub(super) struct LowerOp {
    overlapped: UnsafeCell<WSAOVERLAPPED>,
    phase: Mutex<Phase>,
    kind: Kind,
    op: OpId,
    socket: SocketHandle,
    /// The next provider's socket the operation was posted on.
    lower: SOCKET,
    /// The bytes to send, or room for the bytes received: the next
    /// provider writes them through `wsabuf`.
    data: UnsafeCell<Box<[u8]>>,
    wsabuf: UnsafeCell<WSABUF>,
    /// The peer to send to, or room for the sender.
    addr: UnsafeCell<Storage>,
    /// Whether `addr` is the peer of a send.
    addressed: bool,
    flags: UnsafeCell<u32>,
    count: UnsafeCell<u32>,
    owner: Weak<dyn Owner>,
}

// SAFETY: the cells are written by the next provider (through the raw
// pointers the call was given) before it queues the routine, and read by
// the poster under `phase` or by the routine after taking `phase`; no two
// threads touch them at once.
unsafe impl Send for LowerOp {}
// SAFETY: as above.
unsafe impl Sync for LowerOp {}

impl LowerOp {
    /// A record for a send of `data` (to `to`) or a receive of at most
    /// `data.len()` bytes, leaked until [`lower_done`] or the owner frees it.
    #[allow(clippy::too_many_arguments)] // one record, all of it given here
    pub(super) fn new(
        kind: Kind,
        op: OpId,
        socket: SocketHandle,
        lower: SOCKET,
        data: Vec<u8>,
        to: Option<SocketAddr>,
        flags: MsgFlags,
        owner: Weak<dyn Owner>,
    ) -> *mut LowerOp {
        let mut data = data.into_boxed_slice();
        let wsabuf = WSABUF {
            len: u32::try_from(data.len()).unwrap_or(u32::MAX),
            buf: data.as_mut_ptr(),
        };
        Box::into_raw(Box::new(LowerOp {
            // SAFETY: a plain C struct; all zeroes is its initial value.
            overlapped: UnsafeCell::new(unsafe { std::mem::zeroed() }),
            phase: Mutex::new(Phase::Posting),
            kind,
            op,
            socket,
            lower,
            data: UnsafeCell::new(data),
            wsabuf: UnsafeCell::new(wsabuf),
            addr: UnsafeCell::new(to.map_or_else(Storage::empty, Storage::of)),
            addressed: to.is_some(),
            flags: UnsafeCell::new(flags.bits()),
            count: UnsafeCell::new(0),
            owner,
        }))
    }

    /// The next provider's socket the operation was posted on.
    #[cfg(windows)]
    pub(super) fn lower(&self) -> SOCKET {
        self.lower
    }

    /// Locks the phase for the call (the routine waits on it).
    pub(super) fn phase(&self) -> std::sync::MutexGuard<'_, Phase> {
        lock!(self.phase)
    }

    /// The pointers the call takes: the buffer, the count, the flags, the
    /// address and the `WSAOVERLAPPED`.
    pub(super) fn call_args(&self) -> CallArgs {
        CallArgs {
            wsabuf: self.wsabuf.get(),
            count: self.count.get(),
            flags: self.flags.get(),
            addr: self.addr.get(),
            to: self.addressed,
            overlapped: self.overlapped.get(),
        }
    }

    /// What a call that returned 0 moved (the count the call wrote; for a
    /// receive, the data in the buffer and the sender).
    ///
    /// # Safety
    /// Only by the poster, holding the phase, after the call returned 0.
    pub(super) unsafe fn moved_at_once(&self) -> Moved {
        // SAFETY: the caller's promise: the next provider has written them
        // and writes nothing more.
        let mut moved = unsafe { self.moved(*self.count.get() as usize, *self.flags.get()) };
        // A receive that finished at once truncated succeeds (S9) and says
        // WSAEMSGSIZE in its record (spec §16): a part, for the layer's core.
        // SAFETY: as above.
        let error = unsafe { (*self.overlapped.get()).Anonymous.Anonymous.OffsetHigh };
        if self.kind == Kind::Recv && error == WsaError::MessageSize.code() as u32 {
            moved.flags |= MsgFlags::PARTIAL;
        }
        moved
    }

    /// # Safety
    /// No other thread touches the cells (see the type's `Sync`).
    unsafe fn moved(&self, bytes: usize, flags: u32) -> Moved {
        // SAFETY: the caller's promise.
        let data = unsafe { &*self.data.get() };
        let bytes = bytes.min(data.len());
        match self.kind {
            Kind::Send => Moved {
                bytes,
                ..Moved::default()
            },
            Kind::Recv => Moved {
                bytes,
                data: data[..bytes].to_vec(),
                // SAFETY: the caller's promise. A stream's receive writes
                // no sender: its family stays 0 and reads as none.
                from: unsafe { (*self.addr.get()).addr() }.ok(),
                flags: MsgFlags::from_bits_retain(flags),
            },
        }
    }

    /// Frees a record.
    ///
    /// # Safety
    /// `record` came from [`LowerOp::new`], is freed once, and nothing
    /// (the next provider included) touches it again.
    pub(super) unsafe fn free(record: *mut LowerOp) {
        // SAFETY: the caller's promise.
        drop(unsafe { Box::from_raw(record) });
    }
}

/// The raw arguments of a lower call.
pub(super) struct CallArgs {
    pub(super) wsabuf: *mut WSABUF,
    pub(super) count: *mut u32,
    pub(super) flags: *mut u32,
    pub(super) addr: *mut Storage,
    pub(super) to: bool,
    pub(super) overlapped: *mut WSAOVERLAPPED,
}

/// The completion routine of every lower operation posted through the
/// relay (a next provider without IFS handles), run on the relay thread.
pub(super) unsafe extern "system" fn lower_done(
    error: u32,
    bytes: u32,
    overlapped: *mut WSAOVERLAPPED,
    flags: u32,
) {
    // SAFETY: every such operation is posted with a record's
    // `WSAOVERLAPPED` (the first field of a `#[repr(C)]` record).
    unsafe { ended(overlapped.cast::<LowerOp>(), error, bytes, flags) }
}

/// A lower operation's end, however it came (the relay's routine, or a
/// completion port's packet): tells the owner if the operation pended,
/// then frees the record. Nothing here can panic across the boundary: the
/// owner's `finished` runs under a catch.
///
/// # Safety
/// `record` is a live record whose operation ended, told once.
pub(super) unsafe fn ended(record: *mut LowerOp, error: u32, bytes: u32, flags: u32) {
    // SAFETY: the caller's promise: records are freed only here (or by
    // the poster, for a call refused at once), so this one is allocated.
    let rec = unsafe { &*record };
    let phase = *rec.phase();
    let owner = rec.owner.upgrade();
    if let Some(owner) = &owner
        && !owner.release(record)
    {
        return;
    }
    if phase == Phase::Pending
        && let Some(owner) = owner
    {
        let truncated = rec.kind == Kind::Recv && error == WsaError::MessageSize.code() as u32;
        let result = if error == 0 || truncated {
            // SAFETY: the poster is done (it set the phase) and the next
            // provider wrote everything before telling of the end.
            let mut moved = unsafe { rec.moved(bytes as usize, flags) };
            // A truncated datagram below is a part for the layer's core,
            // which applies the rule at its own level (spec §16).
            if truncated {
                moved.flags |= MsgFlags::PARTIAL;
            }
            Ok(moved)
        } else {
            Err(super::next::error_of(error as i32))
        };
        let end = Finished {
            op: rec.op,
            socket: rec.socket,
            kind: rec.kind,
            result,
        };
        crate::ffi::contain("a layer's lower completion", || owner.finished(end));
    }
    // SAFETY: released from the owner above (or the owner is gone), so
    // this is the one free.
    unsafe { LowerOp::free(record) };
}
