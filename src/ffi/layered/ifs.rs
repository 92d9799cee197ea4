//! The IFS path (Windows): completions from a next provider whose sockets
//! are real handles (`XP1_IFS_HANDLES`, the system's TCP/IP provider).
//!
//! Such a provider completes an overlapped operation through the handle,
//! not through upcalls: the layer associates each lower socket with a
//! completion port of its own and posts its lower operations with neither
//! a routine nor an event; one thread reads the port, asks the next
//! provider for the operation's error and flags (`WSPGetOverlappedResult`)
//! and ends the record as the relay's routine does (S9: a packet comes
//! for an operation that finished at once too, so the phase logic is the
//! same). Network events still come through `WSPAsyncSelect` to the
//! relay's window (an IFS provider posts them with `WPUPostMessage`).
//!
//! **Not run here.** No IFS provider exists off Windows, and Wine's
//! ws2_32 has no catalog of provider DLLs to layer over: this path is
//! compiled for both Windows targets in CI and has never carried bytes.

use super::super::abi::{SOCKET, WSAOVERLAPPED};
use super::lower_op::{self, LowerOp};
use super::next::NextProvider;
use crate::WsaError;
use crossbeam_channel::{Receiver, Sender, bounded};
use std::sync::Arc;
use std::thread::JoinHandle;
use windows_sys::Win32::Foundation::{CloseHandle, HANDLE, INVALID_HANDLE_VALUE};
use windows_sys::Win32::System::IO::{
    CreateIoCompletionPort, GetQueuedCompletionStatus, PostQueuedCompletionStatus,
};

/// Packet keys: a lower operation's end (0), a flush, the stop.
const KEY_FLUSH: usize = 1;
const KEY_STOP: usize = 2;
const INFINITE: u32 = u32::MAX;

/// A completion port and the thread that reads it.
pub(super) struct IfsPort {
    port: usize,
    thread: Option<JoinHandle<()>>,
    flushed: Receiver<()>,
}

impl IfsPort {
    /// A port, and its thread, for the lower operations of `next`.
    pub(super) fn start(next: Arc<NextProvider>) -> Result<Self, WsaError> {
        // SAFETY: a new port, no file yet.
        let port =
            unsafe { CreateIoCompletionPort(INVALID_HANDLE_VALUE, std::ptr::null_mut(), 0, 1) };
        if port.is_null() {
            return Err(WsaError::ProviderFailedInit);
        }
        let port = port as usize;
        let (ack, flushed): (Sender<()>, Receiver<()>) = bounded(1);
        let thread = std::thread::Builder::new()
            .name("winsock-layer-ifs".into())
            .spawn(move || read_port(port, &next, &ack))
            .map_err(|_| {
                // SAFETY: the port made above, used by nobody.
                unsafe { CloseHandle(port as HANDLE) };
                WsaError::ProviderFailedInit
            })?;
        Ok(IfsPort {
            port,
            thread: Some(thread),
            flushed,
        })
    }

    /// Associates a lower socket (a real handle) with the port.
    pub(super) fn associate(&self, s: SOCKET) -> Result<(), WsaError> {
        // SAFETY: `s` is a handle the next provider made; the port is ours.
        let r = unsafe { CreateIoCompletionPort(s as HANDLE, self.port as HANDLE, 0, 0) };
        if r.is_null() {
            Err(WsaError::InvalidArgument)
        } else {
            Ok(())
        }
    }

    /// Returns when every packet queued before has been handled.
    pub(super) fn flush(&self) {
        // SAFETY: our port; a packet without a record.
        if unsafe {
            PostQueuedCompletionStatus(self.port as HANDLE, 0, KEY_FLUSH, std::ptr::null())
        } != 0
        {
            let _ = self.flushed.recv();
        }
    }

    /// Stops the thread (after what was queued) and closes the port.
    pub(super) fn stop(mut self) {
        // SAFETY: our port; a packet without a record.
        unsafe { PostQueuedCompletionStatus(self.port as HANDLE, 0, KEY_STOP, std::ptr::null()) };
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            tracing::error!(target: "winsock_provider", "the IFS completion thread panicked");
        }
        // SAFETY: our port, used by nobody now.
        unsafe { CloseHandle(self.port as HANDLE) };
    }
}

fn read_port(port: usize, next: &NextProvider, flushed: &Sender<()>) {
    loop {
        let (mut bytes, mut key) = (0u32, 0usize);
        let mut ov: *mut WSAOVERLAPPED = std::ptr::null_mut();
        // SAFETY: our port; live locals.
        unsafe {
            GetQueuedCompletionStatus(port as HANDLE, &mut bytes, &mut key, &mut ov, INFINITE)
        };
        match key {
            KEY_STOP => return,
            KEY_FLUSH => {
                let _ = flushed.send(());
            }
            _ if ov.is_null() => {}
            _ => {
                let record = ov.cast::<LowerOp>();
                // SAFETY: every operation on an associated socket is posted
                // with a record's `WSAOVERLAPPED`, allocated until ended.
                let lower = unsafe { (*record).lower() };
                let (error, bytes, flags) = match next.overlapped_result(lower, ov) {
                    Ok((n, flags)) => (0, n, flags),
                    Err(e) => (e.code() as u32, bytes, 0),
                };
                // SAFETY: the packet of the record's one end.
                unsafe { lower_op::ended(record, error, bytes, flags) };
            }
        }
    }
}
