//! Writing the end of an overlapped operation into the caller's
//! `WSAOVERLAPPED` and telling the application, as the SPI documents:
//!
//! - a completion with a routine: results written, then `WPUQueueApc` to the
//!   initiating thread with a trampoline that calls the routine;
//! - any other completion: results written, then
//!   `WPUCompleteOverlappedRequest` (it sets `hEvent` and posts to a
//!   completion port), from the host (`WSPSetCompletionUpcall`) or, on
//!   Windows, ws2_32's own; without either, `WPUSetEvent`;
//! - a completion the final cleanup suppresses (S6c): results written
//!   (`WSA_OPERATION_ABORTED`, `Internal` no longer in progress), **no**
//!   upcall.

use super::super::abi::{
    CompleteOverlappedFn, CompletionRoutine, STATUS_BUFFER_OVERFLOW, STATUS_CANCELLED,
    STATUS_SUCCESS, STATUS_UNSUCCESSFUL, WSAOVERLAPPED, WSATHREADID, WSS_OPERATION_IN_PROGRESS,
};
use super::super::inflight::InFlight;
use super::super::sockaddr;
use super::super::upcalls::Upcalls;
use super::super::wsamsg::write_msg_flags;
use super::upcall_failed;
use crate::WsaError;
use crate::core::notifier::Outcome;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How an operation's end reaches the application.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Tell {
    /// Through its routine or `WPUCompleteOverlappedRequest`.
    Notify,
    /// Not at all (S6c): only the record is written.
    Record,
}

/// What a completion routine is called with, carried through `WPUQueueApc`'s
/// one word of context.
struct RoutineCall {
    routine: CompletionRoutine,
    error: u32,
    bytes: u32,
    overlapped: *mut WSAOVERLAPPED,
    flags: u32,
}

/// Runs in the initiating thread when it waits alertably: calls the
/// application's routine once and frees the context. Nothing here can
/// panic, so no boundary is needed.
unsafe extern "system" fn routine_trampoline(context: usize) {
    // SAFETY: `context` is the `Box` leaked in `write_end`, and the host
    // runs each queued APC once.
    let call = unsafe { Box::from_raw(context as *mut RoutineCall) };
    // SAFETY: the application's routine, with the arguments the SPI gives it.
    unsafe { (call.routine)(call.error, call.bytes, call.overlapped, call.flags) };
}

/// Writes an operation's results into its `WSAOVERLAPPED` (and, for a
/// receive, its data into the caller's buffers and the sender into
/// `lpFrom`) and, for [`Tell::Notify`], tells the application through
/// `complete` (the completion upcall) or its routine.
pub(crate) fn write_end(
    upcalls: &Upcalls,
    complete: Option<CompleteOverlappedFn>,
    op: InFlight,
    outcome: &Outcome,
    tell: Tell,
) {
    let error = outcome.error.map_or(0, |e| e.code() as u32);
    let mut bytes = outcome.bytes;
    // A truncated datagram's part that fit is the caller's too (spec §16).
    if let (Some(rx), None | Some(WsaError::MessageSize)) = (&op.receive, outcome.error) {
        let data = op.record.data();
        // SAFETY: the buffers stay the provider's until this completion.
        bytes = unsafe { rx.buffers.fill(&data) };
        if let (Some((name, len)), Some(from)) = (rx.from, op.record.from()) {
            // SAFETY: as the buffers; checked when the call was made.
            if let Err(e) = unsafe { sockaddr::write(from, name, len) } {
                upcall_failed("recvfrom address", e);
            }
        }
        if let Some(msg) = rx.msg {
            // SAFETY: a WSARecvMsg's WSAMSG, checked when the call was
            // made; the application keeps it until this completion.
            unsafe { write_msg_flags(msg, outcome.flags, outcome.error) };
        }
    }
    if let (Some(out), None) = (op.accept_ex, outcome.error) {
        // SAFETY: the slots stay the provider's until this completion and
        // were checked to hold a sockaddr_in6 when the call was made.
        unsafe { write_accept_ex(out, op.record.local(), op.record.from()) };
    }
    let bytes = u32::try_from(bytes).unwrap_or(u32::MAX);
    let ov = op.overlapped;
    // SAFETY: `ov` was checked (not null, aligned) when the call was
    // made, and the application keeps it valid until this completion.
    unsafe {
        (*ov).Anonymous.Anonymous.Offset = outcome.flags.bits();
        (*ov).Anonymous.Anonymous.OffsetHigh = error;
    }
    let status = match outcome.error {
        None => STATUS_SUCCESS,
        Some(WsaError::OperationAborted) => STATUS_CANCELLED,
        Some(WsaError::MessageSize) => STATUS_BUFFER_OVERFLOW,
        Some(_) => STATUS_UNSUCCESSFUL,
    };
    let opened_thread = op.thread_to_close();
    match (tell, op.routine, complete) {
        (Tell::Notify, Some((routine, thread)), _) => {
            // SAFETY: as above.
            unsafe { publish(ov, bytes, status) };
            // A queued routine runs `routine_trampoline`, in this DLL, when
            // its thread next waits alertably: perhaps after ws2_32 has
            // unloaded the DLL following the last `WSPCleanup`.
            super::super::pin::pin_module();
            let call = Box::into_raw(Box::new(RoutineCall {
                routine,
                error,
                bytes,
                overlapped: ov,
                flags: outcome.flags.bits(),
            }));
            if let Err(e) = upcalls.queue_apc(&thread, routine_trampoline, call as usize) {
                // SAFETY: not queued, so the trampoline will never own it.
                drop(unsafe { Box::from_raw(call) });
                upcall_failed("WPUQueueApc", e);
            }
        }
        (Tell::Notify, _, Some(complete)) => {
            let mut errno = 0;
            // SAFETY: ws2_32's export or the host's stand-in for it, with
            // the socket's host handle (not given back before this
            // returns, see `Host::end`) and the caller's record.
            let r = unsafe { complete(op.socket, ov, error, bytes, &mut errno) };
            if r != 0 {
                upcall_failed(
                    "WPUCompleteOverlappedRequest",
                    WsaError::from_code(errno).unwrap_or(WsaError::InvalidArgument),
                );
                // The application must still learn of it.
                // SAFETY: as above.
                unsafe { publish_and_set(upcalls, ov, bytes, status) };
            }
        }
        // No completion upcall: write the record and set the event.
        // SAFETY: as above.
        (Tell::Notify, _, None) => unsafe { publish_and_set(upcalls, ov, bytes, status) },
        // S6c: the record alone tells; nothing is signalled.
        // SAFETY: as above.
        (Tell::Record, _, _) => unsafe { publish(ov, bytes, status) },
    }
    // The APC, if any, is queued: the thread opened for it can go.
    if let Some(thread) = opened_thread {
        close_opened_thread(upcalls, &thread);
    }
}

/// `WPUCloseThread` for a thread opened for an extension function's
/// routine; a failure is only reported (nothing else can be done).
pub(crate) fn close_opened_thread(upcalls: &Upcalls, thread: &WSATHREADID) {
    if let Err(e) = upcalls.close_thread(thread) {
        upcall_failed("WPUCloseThread", e);
    }
}

/// Writes an `AcceptEx`'s local and remote addresses into their slots.
///
/// # Safety
/// Each slot writable for its length, at least a `sockaddr_in6`.
pub(crate) unsafe fn write_accept_ex(
    out: super::super::inflight::AcceptExOut,
    local: Option<std::net::SocketAddr>,
    remote: Option<std::net::SocketAddr>,
) {
    for (slot, len, addr) in [
        (out.local, out.local_len, local),
        (out.remote, out.remote_len, remote),
    ] {
        let Some(addr) = addr else { continue };
        let mut room = i32::try_from(len).unwrap_or(i32::MAX);
        // SAFETY: the caller's promise.
        if let Err(e) = unsafe { sockaddr::write(addr, slot.cast(), &mut room) } {
            upcall_failed("AcceptEx addresses", e);
        }
    }
}

/// Writes the record and sets its `hEvent` (if any) with `WPUSetEvent`:
/// event completion without a completion upcall.
///
/// # Safety
/// As [`publish`].
unsafe fn publish_and_set(upcalls: &Upcalls, ov: *mut WSAOVERLAPPED, bytes: u32, status: usize) {
    // SAFETY: the caller's promise.
    let event = unsafe {
        publish(ov, bytes, status);
        std::ptr::addr_of!((*ov).hEvent).read()
    };
    if !event.is_null()
        && let Err(e) = upcalls.set_event(event as _)
    {
        upcall_failed("WPUSetEvent", e);
    }
}

/// Writes the byte count and then, with release ordering, `Internal`: a
/// reader that sees `Internal` no longer in progress sees the rest
/// (`WSPGetOverlappedResult` reads it with acquire ordering).
///
/// # Safety
/// `ov` valid for writes and aligned.
unsafe fn publish(ov: *mut WSAOVERLAPPED, bytes: u32, status: usize) {
    // SAFETY: the caller's promise; `Internal` is a `usize` at offset 0 of
    // an aligned record, so it may be viewed as an atomic.
    unsafe {
        (*ov).InternalHigh = bytes as usize;
        internal(ov).store(status, Ordering::Release);
    }
}

/// `Internal` of a record, as an atomic.
///
/// # Safety
/// `ov` valid and aligned for the lifetime used.
pub(crate) unsafe fn internal<'a>(ov: *mut WSAOVERLAPPED) -> &'a AtomicUsize {
    // SAFETY: the caller's promise; `AtomicUsize` has `usize`'s layout.
    unsafe { AtomicUsize::from_ptr(std::ptr::addr_of_mut!((*ov).Internal)) }
}

/// Marks a record in progress (`Internal = 0x103`); returns what was there.
///
/// # Safety
/// `ov` valid and aligned.
pub(crate) unsafe fn mark_in_progress(ov: *mut WSAOVERLAPPED) -> usize {
    // SAFETY: the caller's promise.
    unsafe { internal(ov).swap(WSS_OPERATION_IN_PROGRESS, Ordering::AcqRel) }
}
