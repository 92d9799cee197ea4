//! The carry protocol of an overlapped call: how a call is carried in the
//! [`Registry`](super::Registry) from before it reaches the core (a
//! completion may come on another thread before the call returns) until
//! the core decides its end, when the [`Host`](super::super::host::Host)
//! writes the results. A call the core refuses is taken back out and its
//! `WSAOVERLAPPED` restored: no completion will ever come (S9, S13). A call
//! that goes pending resets its event, and sets it again if its
//! completion came first, but never for an operation the final cleanup
//! aborted (S6c).

use super::super::abi::{LPWSAOVERLAPPED_COMPLETION_ROUTINE, SOCKET, WSAOVERLAPPED, WSATHREADID};
use super::super::dll::{Dll, Exported};
use super::super::guard::{self, checked};
use super::super::host::overlapped::{internal, mark_in_progress};
use super::{InFlight, ReceiveInto, Ticket};
use crate::core::op::{OpState, Overlapped};
use crate::{CompletionMode, EventKey, OverlappedRequest, Waiter, WsaError, WsaResult};
use std::sync::atomic::Ordering;
use windows_sys::Win32::Networking::WinSock::WSAEVENT;

/// The three overlapped arguments of a send or receive.
#[derive(Clone, Copy)]
pub(crate) struct OverlappedArgs {
    overlapped: *mut WSAOVERLAPPED,
    routine: LPWSAOVERLAPPED_COMPLETION_ROUTINE,
    thread: *const WSATHREADID,
    /// No `lpThreadId` came with the call (an extension function): a
    /// routine's thread is the calling one, opened with
    /// `WPUOpenCurrentThread` and closed once its APC is queued.
    open_thread: bool,
}

impl OverlappedArgs {
    /// A `WSP*` call's `lpOverlapped`, `lpCompletionRoutine` and
    /// `lpThreadId`.
    pub(crate) fn new(
        overlapped: *mut WSAOVERLAPPED,
        routine: LPWSAOVERLAPPED_COMPLETION_ROUTINE,
        thread: *const WSATHREADID,
    ) -> Self {
        Self {
            overlapped,
            routine,
            thread,
            open_thread: false,
        }
    }

    /// A call told by its event or a completion port, never by a routine
    /// (`ConnectEx`, `AcceptEx`, `DisconnectEx` take no routine).
    pub(crate) fn without_routine(overlapped: *mut WSAOVERLAPPED) -> Self {
        Self::new(overlapped, None, std::ptr::null())
    }

    /// An extension function's `lpOverlapped` and `lpCompletionRoutine`
    /// (`WSARecvMsg`, `WSASendMsg`): the application calls it directly, so
    /// a routine runs on the calling thread, which the host opens for it.
    pub(crate) fn of_extension(
        overlapped: *mut WSAOVERLAPPED,
        routine: LPWSAOVERLAPPED_COMPLETION_ROUTINE,
    ) -> Self {
        Self {
            open_thread: true,
            ..Self::new(overlapped, routine, std::ptr::null())
        }
    }

    /// Whether the call is overlapped (has a `WSAOVERLAPPED`).
    pub(crate) fn is_overlapped(&self) -> bool {
        !self.overlapped.is_null()
    }
}

/// An overlapped call in the registry, until the core accepts it.
pub(crate) struct Carried<'a, D: Exported> {
    dll: &'a Dll<D>,
    overlapped: *mut WSAOVERLAPPED,
    internal_before: usize,
    /// The event to reset when the call goes pending (event completion).
    event: Option<WSAEVENT>,
    /// The core's record of the operation.
    record: Overlapped,
    /// Its name in the registry.
    ticket: Ticket,
}

impl<D: Exported> Carried<'_, D> {
    /// The core refused the call: no completion will come (S9), so the
    /// `WSAOVERLAPPED` is restored and the record taken back; the event is
    /// left alone (a failed call changes nothing, S13).
    fn refuse(self) {
        // SAFETY: checked when carried; the call has not returned yet.
        unsafe { internal(self.overlapped) }.store(self.internal_before, Ordering::Release);
        self.dll.host.take_back(self.ticket);
    }

    /// The call went pending: the SPI resets the event now. A completion
    /// that the core decided meanwhile may have set it first; then it is
    /// set again. An operation the final cleanup aborted meanwhile is never
    /// signalled (S6c).
    fn went_pending(self) {
        let Some(event) = self.event else { return };
        let host = &self.dll.host;
        let _ = host.upcalls.reset_event(event);
        match self.record.state() {
            // Its completion will set the event after this reset.
            OpState::Pending => {}
            // S6c: recorded, never told.
            OpState::AbortedSilent => {}
            _ => {
                let _ = host.upcalls.set_event(event);
            }
        }
    }
}

/// Starts carrying an overlapped call; `None` for a call that is not one.
/// A call without a `WSAOVERLAPPED` is not overlapped, whatever else it
/// passes: its completion routine is ignored (spec §5; Windows runs such a
/// `WSARecv` as a plain receive), the same rule for every entry. A routine
/// without the caller's `WSATHREADID` is `WSAEFAULT` (it is copied: the
/// caller's may be gone when the routine is queued).
///
/// # Safety
/// The pointers as the SPI documents them.
pub(crate) unsafe fn carry<'a, D: Exported>(
    dll: &'a Dll<D>,
    s: SOCKET,
    args: OverlappedArgs,
    receive: Option<ReceiveInto>,
) -> WsaResult<Option<(Carried<'a, D>, OverlappedRequest)>> {
    // SAFETY: the caller's promise, passed on.
    unsafe { carry_filling(dll, s, args, receive, None) }
}

/// [`carry`] for an `AcceptEx`, whose completion writes the addresses.
///
/// # Safety
/// As [`carry`]; `accept_ex`'s slots writable until the completion.
pub(crate) unsafe fn carry_filling<'a, D: Exported>(
    dll: &'a Dll<D>,
    s: SOCKET,
    args: OverlappedArgs,
    receive: Option<ReceiveInto>,
    accept_ex: Option<super::AcceptExOut>,
) -> WsaResult<Option<(Carried<'a, D>, OverlappedRequest)>> {
    let Some(overlapped) = guard::optional(args.overlapped)? else {
        return Ok(None);
    };
    // SAFETY: the caller's promise; checked just above.
    let ov = unsafe { &mut *overlapped };
    let record = Overlapped::new();
    let (mode, routine) = match args.routine {
        Some(routine) => {
            let thread = if args.open_thread {
                dll.host.upcalls.open_current_thread()?
            } else {
                // SAFETY: the caller's promise.
                *unsafe { checked(args.thread) }?
            };
            let mode = CompletionMode::Routine {
                thread: dll.provider.waiter().current_thread(),
                routine: routine as usize as u64,
            };
            (mode, Some((routine, thread)))
        }
        None => (
            CompletionMode::Event(EventKey(ov.hEvent as usize as u64)),
            None,
        ),
    };
    let event = (routine.is_none() && !ov.hEvent.is_null()).then_some(ov.hEvent as WSAEVENT);
    let ticket = dll.host.inflight.insert(InFlight {
        socket: s,
        overlapped: args.overlapped,
        record: record.clone(),
        receive,
        accept_ex,
        routine,
        opened_thread: args.open_thread,
    });
    // SAFETY: checked above.
    let internal_before = unsafe { mark_in_progress(args.overlapped) };
    let request = OverlappedRequest {
        overlapped: record.clone(),
        mode,
        user: ticket,
    };
    let carried = Carried {
        dll,
        overlapped: args.overlapped,
        internal_before,
        event,
        record,
        ticket,
    };
    Ok(Some((carried, request)))
}

/// Runs `call` with the overlapped request if there is one; takes the call
/// back out of the registry when the core refuses it.
pub(crate) fn submit<D: Exported, R>(
    carried: Option<(Carried<'_, D>, OverlappedRequest)>,
    call: impl FnOnce(Option<OverlappedRequest>) -> WsaResult<R>,
) -> WsaResult<R> {
    let (carried, request) = match carried {
        Some((c, r)) => (Some(c), Some(r)),
        None => (None, None),
    };
    let r = call(request);
    match (&r, carried) {
        (Err(WsaError::IoPending), Some(c)) => c.went_pending(),
        (Err(_), Some(c)) => c.refuse(),
        // Finished at once: its completion, already told, set the event.
        _ => {}
    }
    r
}
