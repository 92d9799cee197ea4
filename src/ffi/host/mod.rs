//! [`Host`]: the core's [`Notifier`] in a DLL. It turns the core's
//! decisions into upcalls and into writes of the caller's `WSAOVERLAPPED`
//! ([`overlapped`]); it keeps the host's handles of the provider's sockets
//! ([`handles`]) and the operations in flight (the registry).
//!
//! - a completion: written and told (see [`overlapped`]); one the final
//!   cleanup suppresses (S6c): written, never told; one suppressed because
//!   the process is gone (S11): nothing at all;
//! - event select: `WPUSetEvent`; async select: `WPUPostMessage`;
//! - a released handle: `WPUCloseSocketHandle`.
//!
//! Upcall failures have nobody to be reported to (the call that started the
//! operation returned long ago): they are reported as `tracing` events
//! (target `winsock_provider`, level `WARN`); the DLL never writes to the
//! host's standard streams.

pub(crate) mod handles;
pub(crate) mod overlapped;

use super::abi::CompleteOverlappedFn;
use super::inflight::{Registry, Ticket};
use super::upcalls::Upcalls;
use crate::core::notifier::{Notification, Notifier, Outcome, Suppressed};
use crate::{EventKey, FdEvents, SocketHandle, WindowKey, WsaError};
use handles::HandleBook;
use overlapped::{Tell, write_end};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

/// The shim's side of the host: upcalls, handles, operations in flight.
#[derive(Debug, Default)]
pub(crate) struct Host {
    /// The newest upcall table (S3).
    pub(crate) upcalls: Upcalls,
    /// Operations in flight, by ticket.
    pub(crate) inflight: Registry,
    /// The host's handles of the provider's sockets.
    pub(crate) handles: HandleBook,
    /// `WSPSetCompletionUpcall`'s function, as an address (0: none).
    completion: AtomicUsize,
    /// The catalog entry of the newest startup (for `WPUCreateSocketHandle`).
    catalog_entry: AtomicU32,
}

/// Reports an upcall that failed where no caller can be told.
pub(crate) fn upcall_failed(what: &str, e: WsaError) {
    tracing::warn!(
        target: "winsock_provider",
        upcall = what,
        error = e.name(),
        code = e.code(),
        "an upcall failed with nobody to tell: {e}"
    );
}

impl Host {
    /// Sets (or, with `None`, removes) the completion upcall.
    pub(crate) fn set_completion_upcall(&self, f: Option<CompleteOverlappedFn>) {
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
    pub(crate) fn set_catalog_entry(&self, id: u32) {
        self.catalog_entry.store(id, Ordering::Relaxed);
    }

    /// Gives `h` a host handle (`WPUCreateSocketHandle`, context `h`), in
    /// the catalog entry `catalog` or the newest startup's.
    pub(crate) fn create_handle(
        &self,
        h: SocketHandle,
        catalog: Option<u32>,
    ) -> Result<crate::ffi::abi::SOCKET, WsaError> {
        let catalog = catalog.unwrap_or_else(|| self.catalog_entry.load(Ordering::Relaxed));
        self.handles.create(&self.upcalls, h, catalog)
    }

    /// Gives back the host handle made for `h` by a call that then failed.
    pub(crate) fn handle_released_unused(&self, h: SocketHandle) {
        self.handles.release_unused(&self.upcalls, h);
    }

    /// The core handle behind a host handle (`WPUQuerySocketHandleContext`).
    /// A context the host made up is only a number: the core's table
    /// rejects any that is not a live handle (S13).
    pub(crate) fn handle_of(&self, s: crate::ffi::abi::SOCKET) -> Result<SocketHandle, WsaError> {
        let context = self.upcalls.socket_handle_context(s)?;
        Ok(SocketHandle::from_raw(context as u64))
    }

    /// Writes (and with `Tell::Notify`, tells) the end of the operation
    /// `ticket`, then gives back its socket's handle if a release waited
    /// for it.
    fn end(&self, ticket: Ticket, outcome: &Outcome, tell: Tell) {
        let Some(op) = self.inflight.start_finishing(ticket) else {
            return;
        };
        let socket = op.socket;
        write_end(&self.upcalls, self.completion_upcall(), op, outcome, tell);
        self.inflight.finished(ticket);
        self.handles
            .release_if_waiting(&self.upcalls, &self.inflight, socket);
    }

    /// Takes back an operation the core refused (it has no end to write).
    pub(crate) fn take_back(&self, ticket: Ticket) {
        if let Some(op) = self.inflight.remove(ticket) {
            if let Some(thread) = op.thread_to_close() {
                overlapped::close_opened_thread(&self.upcalls, &thread);
            }
            self.handles
                .release_if_waiting(&self.upcalls, &self.inflight, op.socket);
        }
    }
}

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
            upcall_failed("WPUSetEvent", e);
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
        let Some(s) = self.handles.host_handle(socket) else {
            return;
        };
        // One message per event: `WSAGETSELECTEVENT(lParam)` names one.
        for event in events.iter() {
            let lparam = make_long(event.bits(), error.map_or(0, |e| e.code() as u32));
            if let Err(e) = self.upcalls.post_message(window.0 as usize, msg, s, lparam) {
                upcall_failed("WPUPostMessage", e);
            }
        }
    }

    fn handle_released(&self, socket: SocketHandle) {
        self.handles.release(&self.upcalls, &self.inflight, socket);
    }
}
