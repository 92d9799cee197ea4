//! The upcall table `ws2_32.dll` passes to every `WSPStartup`, and checked
//! calls into it.
//!
//! Each startup passes a `WSPUPCALLTABLE` by value; the newest is used from
//! then on (S3). The table is swapped atomically, so a completion delivered
//! on another thread while a startup runs uses either table, never a torn
//! one. A missing entry is the host's contract broken: the call fails with
//! `WSASYSCALLFAILURE` instead of jumping through a null pointer.

use super::abi::{INVALID_SOCKET, SOCKET, WSATHREADID, WSPUPCALLTABLE};
use crate::WsaError;
use arc_swap::ArcSwapOption;
use std::sync::Arc;
use windows_sys::Win32::Foundation::{HWND, LPARAM, WPARAM};
use windows_sys::Win32::Networking::WinSock::WSAEVENT;
use windows_sys::core::BOOL;

/// A user-mode APC routine, as `WPUQueueApc` runs it.
pub(super) type ApcRoutine = unsafe extern "system" fn(context: usize);

/// The newest upcall table (S3).
#[derive(Default)]
pub(crate) struct Upcalls {
    table: ArcSwapOption<WSPUPCALLTABLE>,
}

impl std::fmt::Debug for Upcalls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upcalls")
            .field("installed", &self.table.load().is_some())
            .finish()
    }
}

/// The error an upcall reported in its `lpErrno`, or `fallback` when it
/// wrote nothing the core knows.
fn upcall_error(errno: i32, fallback: WsaError) -> WsaError {
    WsaError::from_code(errno).unwrap_or(fallback)
}

impl Upcalls {
    /// A startup's table replaces the one before it (S3).
    pub(crate) fn replace(&self, table: WSPUPCALLTABLE) {
        self.table.store(Some(Arc::new(table)));
    }

    /// The newest table's entry `pick`: `WSANOTINITIALISED` before any
    /// table, `WSASYSCALLFAILURE` when the host left the entry out. The
    /// `Arc` keeps the table alive for the call.
    fn entry<F>(
        &self,
        pick: impl FnOnce(&WSPUPCALLTABLE) -> Option<F>,
    ) -> Result<(Arc<WSPUPCALLTABLE>, F), WsaError> {
        let table = self.table.load_full().ok_or(WsaError::NotInitialised)?;
        let f = pick(&table).ok_or(WsaError::SystemCallFailure)?;
        Ok((table, f))
    }

    /// `WPUCreateSocketHandle`: a non-IFS handle whose context is `context`.
    pub(crate) fn create_socket_handle(
        &self,
        catalog_entry: u32,
        context: usize,
    ) -> Result<SOCKET, WsaError> {
        let (_table, f) = self.entry(|t| t.lpWPUCreateSocketHandle)?;
        let mut errno = 0;
        // SAFETY (here and in every upcall below): the entry came from the
        // host's WSPStartup, which promises a function of this signature,
        // valid while the provider is loaded; `errno` is a live local.
        let s = unsafe { f(catalog_entry, context, &mut errno) };
        if s == INVALID_SOCKET {
            Err(upcall_error(errno, WsaError::NoBufferSpace))
        } else {
            Ok(s)
        }
    }

    /// `WPUQuerySocketHandleContext`: the context a handle was created with.
    pub(crate) fn socket_handle_context(&self, s: SOCKET) -> Result<usize, WsaError> {
        let (_table, f) = self.entry(|t| t.lpWPUQuerySocketHandleContext)?;
        let (mut context, mut errno) = (0usize, 0);
        // SAFETY: as above; `context` is a live local.
        let r = unsafe { f(s, &mut context, &mut errno) };
        ok_if_zero(r, errno, WsaError::NotSocket).map(|()| context)
    }

    /// `WPUCloseSocketHandle`: gives a handle back to the host.
    pub(crate) fn close_socket_handle(&self, s: SOCKET) -> Result<(), WsaError> {
        let (_table, f) = self.entry(|t| t.lpWPUCloseSocketHandle)?;
        let mut errno = 0;
        // SAFETY: as above.
        let r = unsafe { f(s, &mut errno) };
        ok_if_zero(r, errno, WsaError::NotSocket)
    }

    /// `WPUQueueApc`: queues `routine(context)` to the thread `thread` names
    /// (a copy of the caller's `WSATHREADID`).
    pub(crate) fn queue_apc(
        &self,
        thread: &WSATHREADID,
        routine: ApcRoutine,
        context: usize,
    ) -> Result<(), WsaError> {
        let (_table, f) = self.entry(|t| t.lpWPUQueueApc)?;
        let mut errno = 0;
        // SAFETY: as above; `thread` is a live reference for the whole
        // call, as WPUQueueApc requires.
        let r = unsafe { f(thread, Some(routine), context, &mut errno) };
        ok_if_zero(r, errno, WsaError::Fault)
    }

    /// `WPUOpenCurrentThread`: a `WSATHREADID` for the calling thread,
    /// for [`queue_apc`](Self::queue_apc) later. An extension function
    /// called with a completion routine needs one: the application calls
    /// it directly, so no `lpThreadId` comes with it. Give it back with
    /// [`close_thread`](Self::close_thread) once its APC is queued.
    pub(crate) fn open_current_thread(&self) -> Result<WSATHREADID, WsaError> {
        let (_table, f) = self.entry(|t| t.lpWPUOpenCurrentThread)?;
        // SAFETY: a plain C struct; all zeroes is a valid value.
        let mut thread: WSATHREADID = unsafe { std::mem::zeroed() };
        let mut errno = 0;
        // SAFETY: as above; `thread` is a live local.
        let r = unsafe { f(&mut thread, &mut errno) };
        ok_if_zero(r, errno, WsaError::SystemCallFailure).map(|()| thread)
    }

    /// `WPUCloseThread`: gives back what
    /// [`open_current_thread`](Self::open_current_thread) opened.
    pub(crate) fn close_thread(&self, thread: &WSATHREADID) -> Result<(), WsaError> {
        let (_table, f) = self.entry(|t| t.lpWPUCloseThread)?;
        let mut errno = 0;
        // SAFETY: as above; `thread` is a live reference.
        let r = unsafe { f(thread, &mut errno) };
        ok_if_zero(r, errno, WsaError::SystemCallFailure)
    }

    /// `WPUSetEvent`.
    pub(crate) fn set_event(&self, event: WSAEVENT) -> Result<(), WsaError> {
        let (_table, f) = self.entry(|t| t.lpWPUSetEvent)?;
        let mut errno = 0;
        // SAFETY: as above.
        let ok = unsafe { f(event, &mut errno) };
        ok_if_true(ok, errno)
    }

    /// `WPUResetEvent`.
    pub(crate) fn reset_event(&self, event: WSAEVENT) -> Result<(), WsaError> {
        let (_table, f) = self.entry(|t| t.lpWPUResetEvent)?;
        let mut errno = 0;
        // SAFETY: as above.
        let ok = unsafe { f(event, &mut errno) };
        ok_if_true(ok, errno)
    }

    /// `WPUPostMessage` (`PostMessage`, WSOCK32-compatible) to the window
    /// whose `HWND` is `window` (only passed on, never dereferenced).
    pub(crate) fn post_message(
        &self,
        window: usize,
        msg: u32,
        wparam: WPARAM,
        lparam: LPARAM,
    ) -> Result<(), WsaError> {
        let (_table, f) = self.entry(|t| t.lpWPUPostMessage)?;
        // SAFETY: as above (no lpErrno here).
        let ok = unsafe { f(window as HWND, msg, wparam, lparam) };
        ok_if_true(ok, 0)
    }
}

fn ok_if_zero(r: i32, errno: i32, fallback: WsaError) -> Result<(), WsaError> {
    if r == 0 {
        Ok(())
    } else {
        Err(upcall_error(errno, fallback))
    }
}

fn ok_if_true(ok: BOOL, errno: i32) -> Result<(), WsaError> {
    if ok != 0 {
        Ok(())
    } else {
        Err(upcall_error(errno, WsaError::InvalidHandle))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// What the fake host saw, in order.
    static CALLS: Mutex<Vec<String>> = Mutex::new(Vec::new());

    fn calls() -> Vec<String> {
        std::mem::take(&mut *CALLS.lock().unwrap())
    }

    unsafe extern "system" fn create_a(catalog: u32, context: usize, _: *mut i32) -> SOCKET {
        CALLS
            .lock()
            .unwrap()
            .push(format!("A create {catalog} {context:#x}"));
        0x100 + context
    }

    unsafe extern "system" fn create_b(catalog: u32, context: usize, _: *mut i32) -> SOCKET {
        CALLS
            .lock()
            .unwrap()
            .push(format!("B create {catalog} {context:#x}"));
        0x200 + context
    }

    unsafe extern "system" fn create_fails(_: u32, _: usize, errno: *mut i32) -> SOCKET {
        // SAFETY: the shim passes a live local.
        unsafe { errno.write(WsaError::TooManySockets.code()) };
        INVALID_SOCKET
    }

    unsafe extern "system" fn queue(
        thread: *const WSATHREADID,
        apc: Option<ApcRoutine>,
        ctx: usize,
        _: *mut i32,
    ) -> i32 {
        // SAFETY: the shim passes a live reference.
        let t = unsafe { &*thread };
        CALLS.lock().unwrap().push(format!(
            "apc to {:#x}/{}",
            t.ThreadHandle as usize, t.Reserved
        ));
        // The host runs the routine when the thread waits alertably; here, now.
        // SAFETY: the routine the shim passed.
        unsafe { apc.unwrap()(ctx) };
        0
    }

    unsafe extern "system" fn routine(ctx: usize) {
        CALLS.lock().unwrap().push(format!("routine {ctx}"));
    }

    fn table(create: unsafe extern "system" fn(u32, usize, *mut i32) -> SOCKET) -> WSPUPCALLTABLE {
        WSPUPCALLTABLE {
            lpWPUCreateSocketHandle: Some(create),
            lpWPUQueueApc: Some(queue),
            ..Default::default()
        }
    }

    /// S3: each startup's table replaces the one before; the newest is used;
    /// missing entries fail instead of jumping through null; errors come
    /// back from `lpErrno`.
    #[test]
    fn s3_the_newest_upcall_table_is_used() {
        let u = Upcalls::default();
        assert_eq!(u.create_socket_handle(1, 2), Err(WsaError::NotInitialised));
        u.replace(table(create_a));
        assert_eq!(u.create_socket_handle(7, 0x10), Ok(0x110));
        u.replace(table(create_b));
        assert_eq!(u.create_socket_handle(7, 0x10), Ok(0x210));
        assert_eq!(
            u.close_socket_handle(0x210),
            Err(WsaError::SystemCallFailure),
            "no entry: no jump"
        );
        u.replace(table(create_fails));
        assert_eq!(
            u.create_socket_handle(7, 0x10),
            Err(WsaError::TooManySockets)
        );
        let thread = WSATHREADID {
            ThreadHandle: 0x44 as _,
            Reserved: 9,
        };
        u.queue_apc(&thread, routine, 5).unwrap();
        assert_eq!(
            calls(),
            [
                "A create 7 0x10",
                "B create 7 0x10",
                "apc to 0x44/9",
                "routine 5"
            ]
        );
    }
}
