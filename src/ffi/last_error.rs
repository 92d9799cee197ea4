//! The error of an extension function (`ConnectEx`, ...): these return
//! `FALSE` and leave the error for `WSAGetLastError`, which on Windows is
//! the thread's last error (`SetLastError`). A host that is not ws2_32
//! reads it with the DLL's `WSPLastError` export (the thread's last error
//! set by the provider, on any OS).

use crate::WsaError;
use std::cell::Cell;

std::thread_local! {
    static LAST: Cell<i32> = const { Cell::new(0) };
}

/// Records `error` as the calling thread's last error.
pub(crate) fn set(error: WsaError) {
    LAST.with(|l| l.set(error.code()));
    #[cfg(windows)]
    // SAFETY: sets the calling thread's last-error value; no pointers.
    unsafe {
        windows_sys::Win32::Foundation::SetLastError(error.code() as u32)
    };
}

/// The calling thread's last error set by an extension function (0 for
/// none yet): the body of the `WSPLastError` export.
pub fn last_error() -> i32 {
    LAST.with(Cell::get)
}
