//! The host's handles (`WPUCreateSocketHandle`) of the provider's sockets,
//! and the releases that wait for a completion being written.

use super::super::abi::SOCKET;
use super::super::inflight::Registry;
use super::super::upcalls::Upcalls;
use super::upcall_failed;
use crate::sync::lock;
use crate::{SocketHandle, WsaError};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The host handle of each socket, and the handles whose release waits.
#[derive(Debug, Default)]
pub(crate) struct HandleBook {
    /// Touched when sockets are created and released, by async-select
    /// messages (their `wParam`), and by completions only while a release
    /// waits (`deferred`).
    book: Mutex<Book>,
    /// How many releases wait: completions look at `book` only then.
    deferred: AtomicUsize,
}

#[derive(Debug, Default)]
struct Book {
    of: HashMap<SocketHandle, SOCKET>,
    /// Given back by the core while a completion of theirs was still being
    /// written: `WPUCloseSocketHandle` follows the last such completion, so
    /// no upcall ever names a handle the host already freed.
    deferred: HashSet<SOCKET>,
}

impl HandleBook {
    /// Gives `h` a host handle (`WPUCreateSocketHandle`, context `h`).
    pub(crate) fn create(
        &self,
        upcalls: &Upcalls,
        h: SocketHandle,
        catalog: u32,
    ) -> Result<SOCKET, WsaError> {
        let context = usize::try_from(h.to_raw()).map_err(|_| WsaError::NoBufferSpace)?;
        let s = upcalls.create_socket_handle(catalog, context)?;
        lock!(self.book).of.insert(h, s);
        Ok(s)
    }

    /// The host handle of `h`, while it has one.
    pub(crate) fn host_handle(&self, h: SocketHandle) -> Option<SOCKET> {
        lock!(self.book).of.get(&h).copied()
    }

    /// Gives back the handle made for `h` by a call that then failed (an
    /// accept that took no connection).
    pub(crate) fn release_unused(&self, upcalls: &Upcalls, h: SocketHandle) {
        let s = lock!(self.book).of.remove(&h);
        if let Some(s) = s {
            close(upcalls, s);
        }
    }

    /// The core released `h`: its handle goes back now, or, when a
    /// completion of the socket is being written on another thread
    /// (decided before the close, told after it), after that completion
    /// (see [`release_if_waiting`](Self::release_if_waiting)).
    pub(crate) fn release(&self, upcalls: &Upcalls, inflight: &Registry, h: SocketHandle) {
        let mut book = lock!(self.book);
        let Some(s) = book.of.remove(&h) else {
            return;
        };
        book.deferred.insert(s);
        self.deferred.fetch_add(1, Ordering::SeqCst);
        if inflight.has_socket(s) {
            return;
        }
        book.deferred.remove(&s);
        self.deferred.fetch_sub(1, Ordering::SeqCst);
        drop(book);
        close(upcalls, s);
    }

    /// Gives back `socket`'s handle if its release waited for the operation
    /// that just stopped being carried, and none is left.
    pub(crate) fn release_if_waiting(
        &self,
        upcalls: &Upcalls,
        inflight: &Registry,
        socket: SOCKET,
    ) {
        if self.deferred.load(Ordering::SeqCst) == 0 {
            return;
        }
        let mut book = lock!(self.book);
        if book.deferred.contains(&socket) && !inflight.has_socket(socket) {
            book.deferred.remove(&socket);
            self.deferred.fetch_sub(1, Ordering::SeqCst);
            drop(book);
            close(upcalls, socket);
        }
    }
}

/// `WPUCloseSocketHandle`, reported through `tracing` on failure.
fn close(upcalls: &Upcalls, s: SOCKET) {
    if let Err(e) = upcalls.close_socket_handle(s) {
        upcall_failed("WPUCloseSocketHandle", e);
    }
}
