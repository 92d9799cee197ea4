//! [`Host`]: the core's [`Notifier`] in a DLL. It turns the core's
//! decisions into upcalls and into writes of the caller's `WSAOVERLAPPED`:
//!
//! - a completion with a routine: results written, then `WPUQueueApc` to the
//!   initiating thread with a trampoline that calls the routine;
//! - any other completion: results written, then
//!   `WPUCompleteOverlappedRequest` (it sets `hEvent` and posts to a
//!   completion port), from the host (`WSPSetCompletionUpcall`) or, on
//!   Windows, ws2_32's own;
//! - a completion the final cleanup suppresses (S6c): results written
//!   (`WSA_OPERATION_ABORTED`, `Internal` no longer in progress), **no**
//!   upcall; one suppressed because the process is gone (S11): nothing at all;
//! - event select: `WPUSetEvent`; async select: `WPUPostMessage`;
//! - a released handle: `WPUCloseSocketHandle`.
//!
//! Upcall failures have nobody to be reported to (the call that started the
//! operation returned long ago): they are written to stderr.

use super::abi::{
    CompleteOverlappedFn, CompletionRoutine, SOCKET, STATUS_CANCELLED, STATUS_SUCCESS,
    STATUS_UNSUCCESSFUL, WSAOVERLAPPED, WSS_OPERATION_IN_PROGRESS,
};
use super::inflight::{InFlight, Registry, Ticket};
use super::sockaddr;
use super::upcalls::Upcalls;
use crate::core::notifier::{Notification, Notifier, Outcome, Suppressed};
use crate::sync::lock;
use crate::{EventKey, FdEvents, SocketHandle, WindowKey, WsaError};
use std::collections::HashMap;
use std::io::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

/// The shim's side of the host: upcalls, handles, operations in flight.
#[derive(Debug, Default)]
pub struct Host {
    /// The newest upcall table (S3).
    pub upcalls: Upcalls,
    /// Operations in flight, by ticket.
    pub inflight: Registry,
    /// `WSPSetCompletionUpcall`'s function, as an address (0: none).
    completion: AtomicUsize,
    /// The catalog entry of the newest startup (for `WPUCreateSocketHandle`).
    catalog_entry: AtomicU32,
    /// The host's handle of each socket, and the handles whose release
    /// waits for a completion being written. Touched when sockets are
    /// created and released, by async-select messages (their `wParam`), and
    /// by completions only while a release waits (`deferred`).
    handles: Mutex<Handles>,
    /// How many releases wait: completions look at `handles` only then.
    deferred: AtomicUsize,
}

/// The host handles, and the releases that wait.
#[derive(Debug, Default)]
struct Handles {
    of: HashMap<SocketHandle, SOCKET>,
    /// Given back by the core while a completion of theirs was still being
    /// written: `WPUCloseSocketHandle` follows the last such completion, so
    /// no upcall ever names a handle the host already freed.
    deferred: std::collections::HashSet<SOCKET>,
}

/// Logs an upcall that failed where no caller can be told.
fn log_failure(what: &str, e: WsaError) {
    let _ = writeln!(
        std::io::stderr(),
        "winsock-provider: upcall {what} failed: {e}"
    );
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
    // SAFETY: `context` is the `Box` leaked in `Host::finish`, and the host
    // runs each queued APC once.
    let call = unsafe { Box::from_raw(context as *mut RoutineCall) };
    // SAFETY: the application's routine, with the arguments the SPI gives it.
    unsafe { (call.routine)(call.error, call.bytes, call.overlapped, call.flags) };
}

/// How an operation's end reaches the application.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tell {
    /// Through its routine or `WPUCompleteOverlappedRequest`.
    Notify,
    /// Not at all (S6c): only the record is written.
    Record,
}

impl Host {
    /// A host with no upcall table yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets (or, with `None`, removes) the completion upcall.
    pub fn set_completion_upcall(&self, f: Option<CompleteOverlappedFn>) {
        self.completion
            .store(f.map_or(0, |f| f as usize), Ordering::Release);
    }

    fn completion_upcall(&self) -> Option<CompleteOverlappedFn> {
        match self.completion.load(Ordering::Acquire) {
            0 => ws2_32_completion(),
            // SAFETY: only ever stored from a `CompleteOverlappedFn`.
            f => Some(unsafe { std::mem::transmute::<usize, CompleteOverlappedFn>(f) }),
        }
    }

    /// Records the catalog entry a startup or `WSPSocket` named.
    pub fn set_catalog_entry(&self, id: u32) {
        self.catalog_entry.store(id, Ordering::Relaxed);
    }

    /// Gives `h` a host handle (`WPUCreateSocketHandle`, context `h`).
    pub fn create_handle(&self, h: SocketHandle, catalog: Option<u32>) -> Result<SOCKET, WsaError> {
        let catalog = catalog.unwrap_or_else(|| self.catalog_entry.load(Ordering::Relaxed));
        let context = usize::try_from(h.to_raw()).map_err(|_| WsaError::NoBufferSpace)?;
        let s = self.upcalls.create_socket_handle(catalog, context)?;
        self.lock_handles().of.insert(h, s);
        Ok(s)
    }

    /// Gives back the host handle made for `h` by a call that then failed
    /// (an accept that took no connection).
    pub fn handle_released_unused(&self, h: SocketHandle) {
        let s = self.lock_handles().of.remove(&h);
        if let Some(s) = s {
            self.close_handle(s);
        }
    }

    /// The core handle behind a host handle (`WPUQuerySocketHandleContext`).
    /// A context the host made up is only a number: the core's table
    /// rejects any that is not a live handle (S13).
    pub fn handle_of(&self, s: SOCKET) -> Result<SocketHandle, WsaError> {
        let context = self.upcalls.socket_handle_context(s)?;
        Ok(SocketHandle::from_raw(context as u64))
    }

    fn lock_handles(&self) -> std::sync::MutexGuard<'_, Handles> {
        lock!(self.handles)
    }

    /// `WPUCloseSocketHandle`, logged on failure.
    fn close_handle(&self, s: SOCKET) {
        if let Err(e) = self.upcalls.close_socket_handle(s) {
            log_failure("WPUCloseSocketHandle", e);
        }
    }

    /// Writes (and with `Tell::Notify`, tells) the end of the operation on
    /// `key`, then gives back its socket's handle if a release waited for it.
    fn end(&self, ticket: Ticket, outcome: &Outcome, tell: Tell) {
        let Some(op) = self.inflight.start_finishing(ticket) else {
            return;
        };
        let socket = op.socket;
        self.finish(op, outcome, tell);
        self.inflight.finished(ticket);
        self.release_if_waiting(socket);
    }

    /// Takes back an operation the core refused (it has no end to write).
    pub fn take_back(&self, ticket: Ticket) {
        if let Some(op) = self.inflight.remove(ticket) {
            self.release_if_waiting(op.socket);
        }
    }

    /// Gives back `socket`'s handle if its release waited for the operation
    /// that just stopped being carried, and none is left.
    fn release_if_waiting(&self, socket: SOCKET) {
        if self.deferred.load(Ordering::SeqCst) == 0 {
            return;
        }
        let mut handles = self.lock_handles();
        if handles.deferred.contains(&socket) && !self.inflight.has_socket(socket) {
            handles.deferred.remove(&socket);
            self.deferred.fetch_sub(1, Ordering::SeqCst);
            drop(handles);
            self.close_handle(socket);
        }
    }

    /// Writes an operation's results and, for `Tell::Notify`, tells the
    /// application.
    fn finish(&self, op: InFlight, outcome: &Outcome, tell: Tell) {
        let error = outcome.error.map_or(0, |e| e.code() as u32);
        let mut bytes = outcome.bytes;
        if let (Some(rx), None) = (&op.receive, outcome.error) {
            let data = op.record.data();
            // SAFETY: the buffers stay the provider's until this completion.
            bytes = unsafe { rx.buffers.fill(&data) };
            if let (Some((name, len)), Some(from)) = (rx.from, op.record.from()) {
                // SAFETY: as the buffers; checked when the call was made.
                if let Err(e) = unsafe { sockaddr::write(from, name, len) } {
                    log_failure("recvfrom address", e);
                }
            }
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
            Some(_) => STATUS_UNSUCCESSFUL,
        };
        match (tell, op.routine, self.completion_upcall()) {
            (Tell::Notify, Some((routine, thread)), _) => {
                // SAFETY: as above.
                unsafe { publish(ov, bytes, status) };
                pin_module();
                let call = Box::into_raw(Box::new(RoutineCall {
                    routine,
                    error,
                    bytes,
                    overlapped: ov,
                    flags: outcome.flags.bits(),
                }));
                if let Err(e) = self
                    .upcalls
                    .queue_apc(&thread, routine_trampoline, call as usize)
                {
                    // SAFETY: not queued, so the trampoline will never own it.
                    drop(unsafe { Box::from_raw(call) });
                    log_failure("WPUQueueApc", e);
                }
            }
            (Tell::Notify, _, Some(complete)) => {
                let mut errno = 0;
                // SAFETY: ws2_32's export or the host's stand-in for it, with
                // the socket's host handle (not given back before this
                // returns, see `end`) and the caller's record.
                let r = unsafe { complete(op.socket, ov, error, bytes, &mut errno) };
                if r != 0 {
                    log_failure(
                        "WPUCompleteOverlappedRequest",
                        WsaError::from_code(errno).unwrap_or(WsaError::InvalidArgument),
                    );
                    // The application must still learn of it.
                    // SAFETY: as above.
                    unsafe { self.publish_and_set(ov, bytes, status) };
                }
            }
            // No completion upcall: write the record and set the event.
            // SAFETY: as above.
            (Tell::Notify, _, None) => unsafe { self.publish_and_set(ov, bytes, status) },
            // S6c: the record alone tells; nothing is signalled.
            // SAFETY: as above.
            (Tell::Record, _, _) => unsafe { publish(ov, bytes, status) },
        }
    }
}

impl Host {
    /// Writes the record and sets its `hEvent` (if any) with `WPUSetEvent`:
    /// event completion without a completion upcall.
    ///
    /// # Safety
    /// As [`publish`].
    unsafe fn publish_and_set(&self, ov: *mut WSAOVERLAPPED, bytes: u32, status: usize) {
        // SAFETY: the caller's promise.
        let event = unsafe {
            publish(ov, bytes, status);
            std::ptr::addr_of!((*ov).hEvent).read()
        };
        if !event.is_null()
            && let Err(e) = self.upcalls.set_event(event as _)
        {
            log_failure("WPUSetEvent", e);
        }
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
pub unsafe fn internal<'a>(ov: *mut WSAOVERLAPPED) -> &'a AtomicUsize {
    // SAFETY: the caller's promise; `AtomicUsize` has `usize`'s layout.
    unsafe { AtomicUsize::from_ptr(std::ptr::addr_of_mut!((*ov).Internal)) }
}

/// Marks a record in progress (`Internal = 0x103`); returns what was there.
///
/// # Safety
/// `ov` valid and aligned.
pub unsafe fn mark_in_progress(ov: *mut WSAOVERLAPPED) -> usize {
    // SAFETY: the caller's promise.
    unsafe { internal(ov).swap(WSS_OPERATION_IN_PROGRESS, Ordering::AcqRel) }
}

/// A queued completion routine runs `routine_trampoline`, in this DLL,
/// whenever its thread next waits alertably: perhaps after ws2_32 has
/// unloaded the DLL following the last `WSPCleanup`. So the first queued
/// routine pins the DLL in memory for the life of the process.
#[cfg(windows)]
fn pin_module() {
    use std::sync::Once;
    use windows_sys::Win32::System::LibraryLoader::{
        GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS, GET_MODULE_HANDLE_EX_FLAG_PIN, GetModuleHandleExW,
    };
    static PINNED: Once = Once::new();
    PINNED.call_once(|| {
        let mut module = std::ptr::null_mut();
        // SAFETY: FROM_ADDRESS takes any address inside the module (here a
        // function of it) in place of a name; `module` is a live local.
        let ok = unsafe {
            GetModuleHandleExW(
                GET_MODULE_HANDLE_EX_FLAG_PIN | GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS,
                routine_trampoline as *const () as *const u16,
                &mut module,
            )
        };
        if ok == 0 {
            log_failure("GetModuleHandleExW(PIN)", WsaError::SystemCallFailure);
        }
    });
}

/// Off Windows nothing unloads a provider under a queued routine.
#[cfg(not(windows))]
fn pin_module() {}

#[cfg(windows)]
fn ws2_32_completion() -> Option<CompleteOverlappedFn> {
    use std::sync::OnceLock;
    use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};
    static FOUND: OnceLock<Option<CompleteOverlappedFn>> = OnceLock::new();
    *FOUND.get_or_init(|| {
        let name: Vec<u16> = "ws2_32.dll\0".encode_utf16().collect();
        // SAFETY: a NUL-terminated name; looking up a module already loaded
        // takes no reference and loads nothing.
        let module = unsafe { GetModuleHandleW(name.as_ptr()) };
        if module.is_null() {
            return None;
        }
        // SAFETY: a NUL-terminated name in a loaded module.
        let f = unsafe { GetProcAddress(module, c"WPUCompleteOverlappedRequest".as_ptr().cast()) }?;
        // SAFETY: ws2_32 exports it with this signature.
        Some(unsafe {
            std::mem::transmute::<unsafe extern "system" fn() -> isize, CompleteOverlappedFn>(f)
        })
    })
}

#[cfg(not(windows))]
fn ws2_32_completion() -> Option<CompleteOverlappedFn> {
    None
}

/// `MAKELONG(low, high)`.
fn make_long(low: u32, high: u32) -> isize {
    ((low & 0xFFFF) | ((high & 0xFFFF) << 16)) as isize
}

impl Notifier for Host {
    fn deliver(&self, n: &Notification) {
        self.end(n.user, &n.outcome, Tell::Notify);
    }

    fn suppressed(&self, n: &Notification, why: Suppressed) {
        match why {
            Suppressed::FinalCleanup => self.end(n.user, &n.outcome, Tell::Record),
            // S11: the process is gone; touch nothing of it.
            Suppressed::ProcessGone => {}
        }
    }

    fn network_event(&self, _: SocketHandle, event: EventKey, _: FdEvents, _: Option<WsaError>) {
        if let Err(e) = self.upcalls.set_event(event.0 as _) {
            log_failure("WPUSetEvent", e);
        }
    }

    fn post_message(
        &self,
        socket: SocketHandle,
        window: WindowKey,
        msg: u32,
        events: FdEvents,
        error: Option<WsaError>,
    ) {
        let Some(s) = self.lock_handles().of.get(&socket).copied() else {
            return;
        };
        // One message per event: `WSAGETSELECTEVENT(lParam)` names one.
        for event in events.iter() {
            let lparam = make_long(event.bits(), error.map_or(0, |e| e.code() as u32));
            if let Err(e) = self.upcalls.post_message(window.0 as usize, msg, s, lparam) {
                log_failure("WPUPostMessage", e);
            }
        }
    }

    fn handle_released(&self, socket: SocketHandle) {
        let mut handles = self.lock_handles();
        let Some(s) = handles.of.remove(&socket) else {
            return;
        };
        // A completion of this socket's may be being written on another
        // thread (decided before the close, told after it): the handle goes
        // back after it (see `end`).
        handles.deferred.insert(s);
        self.deferred.fetch_add(1, Ordering::SeqCst);
        if self.inflight.has_socket(s) {
            return;
        }
        handles.deferred.remove(&s);
        self.deferred.fetch_sub(1, Ordering::SeqCst);
        drop(handles);
        self.close_handle(s);
    }
}
