//! One panic boundary and one pointer check for every export (S12, S13).
//!
//! Every `extern "system"` entry point runs its body through [`boundary`]:
//! - `Ok(v)` is returned as it is;
//! - `Err(e)` writes `e.code()` to `*lpErrno` and returns the failure value
//!   the signature demands (`SOCKET_ERROR`, `INVALID_SOCKET` or `FALSE`);
//! - a panic is caught, reported as a `tracing` event (target
//!   `winsock_provider`, level `ERROR`; a DLL never writes to the host's
//!   standard streams), and becomes `WSASYSCALLFAILURE` (or
//!   `WSAEPROVIDERFAILEDINIT` from startup). No panic ever crosses the ABI.
//!
//! Pointers from the caller are checked once, here, before any is read or
//! written: null, inside the null-pointer guard region (below
//! [`LOWEST_ADDRESS`]) or misaligned is `WSAEFAULT` ([`valid`], [`checked`],
//! [`checked_mut`], [`optional`]); a byte buffer, which may sit at any
//! alignment, is checked by [`bytes`] and [`bytes_mut`]. A DLL built with
//! `panic = "abort"` would defeat the boundary; provider crates must keep
//! the default `panic = "unwind"`.

use crate::WsaError;
use crate::sync::lock;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;

/// The message of the last panic caught at the boundary, for hosts and tests.
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// The message of the last panic caught at an export, if any.
pub fn last_panic() -> Option<String> {
    lock!(LAST_PANIC).clone()
}

/// Runs an export's body. See the module docs. `panic_code` is
/// `WSASYSCALLFAILURE` for ordinary calls and `WSAEPROVIDERFAILEDINIT` for
/// startup (S12).
///
/// # Safety
/// `lp_errno` must be null or valid for a write of an `i32` (the caller's
/// `lpErrno`); it is checked for null and alignment before use.
pub(super) unsafe fn boundary<R>(
    name: &str,
    lp_errno: *mut i32,
    fail: R,
    panic_code: WsaError,
    body: impl FnOnce() -> Result<R, WsaError>,
) -> R {
    let error = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(v)) => return v,
        Ok(Err(e)) => e,
        Err(payload) => {
            note_panic(name, payload);
            panic_code
        }
    };
    if let Ok(lp_errno) = valid(lp_errno) {
        // SAFETY: the caller promises `lp_errno` is null or writable; it is
        // neither null nor misaligned here.
        unsafe { lp_errno.write(error.code()) };
    }
    fail
}

/// Logs a caught panic and keeps its message for [`last_panic`]. The payload
/// is forgotten, not dropped: its `Drop` could panic again, and nothing may
/// unwind out of an export.
fn note_panic(name: &str, payload: Box<dyn std::any::Any + Send>) {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with no message".to_string());
    std::mem::forget(payload);
    tracing::error!(target: "winsock_provider", entry = name, "a panic was caught at the ABI: {text}");
    *lock!(LAST_PANIC) = Some(text);
}

/// Runs `f` where a panic must neither escape nor change a result already
/// decided (the author's hooks, `DllMain`): a panic is logged and forgotten.
pub fn contain(name: &str, f: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
        note_panic(name, payload);
    }
}

/// The boundary of the exports that return their error code instead of
/// writing `*lpErrno` (`WSPStartup`, `WSPSetCompletionUpcall`): 0 on
/// success, else the error's code (a caught panic gives `panic_code`).
pub(super) fn returning_code(
    name: &str,
    panic_code: WsaError,
    body: impl FnOnce() -> Result<(), WsaError>,
) -> i32 {
    let mut code = 0;
    // SAFETY: `code` is a live local.
    let done = unsafe { boundary(name, &mut code, false, panic_code, || body().map(|()| true)) };
    if done { 0 } else { code }
}

/// The lowest address a caller's memory can have. Windows never maps the
/// first 64 KiB of a process (the null-pointer guard region), so a pointer
/// below it is as bad as null: `(u_long *)1` is `WSAEFAULT`, as Windows
/// answers it, never a crash.
pub(super) const LOWEST_ADDRESS: usize = 0x1_0000;

/// The one pointer check (S13): a caller's pointer, kept raw, or `WSAEFAULT`
/// when it is null, in the guard region or misaligned. Where the memory may
/// be written by another thread at any time (a `WSAOVERLAPPED` in flight),
/// use the raw pointer; [`checked`] and [`checked_mut`] make references.
pub(super) fn valid<T>(p: *mut T) -> Result<*mut T, WsaError> {
    if (p as usize) < LOWEST_ADDRESS || !p.is_aligned() {
        Err(WsaError::Fault)
    } else {
        Ok(p)
    }
}

/// An optional pointer argument: `None` when null, else as [`valid`].
pub(super) fn optional<T>(p: *mut T) -> Result<Option<*mut T>, WsaError> {
    if p.is_null() {
        Ok(None)
    } else {
        valid(p).map(Some)
    }
}

/// A caller's byte buffer of `len` bytes, at any alignment (an option
/// value, a `sockaddr`, a `WSABUF`'s data): `WSAEFAULT` when it starts in
/// the guard region (null included) or runs past the end of the address
/// space. An empty buffer is never read, so any pointer will do.
pub(super) fn bytes(p: *const u8, len: usize) -> Result<*const u8, WsaError> {
    if len == 0 {
        return Ok(p);
    }
    if (p as usize) < LOWEST_ADDRESS || (p as usize).checked_add(len).is_none() {
        Err(WsaError::Fault)
    } else {
        Ok(p)
    }
}

/// [`bytes`], for a buffer the shim writes.
pub(super) fn bytes_mut(p: *mut u8, len: usize) -> Result<*mut u8, WsaError> {
    bytes(p, len).map(|p| p.cast_mut())
}

/// A shared reference from a caller's pointer: `WSAEFAULT` when null or
/// misaligned (S13).
///
/// # Safety
/// When not null and aligned, `p` must point to a valid `T` that nothing
/// writes for `'a`.
pub(super) unsafe fn checked<'a, T>(p: *const T) -> Result<&'a T, WsaError> {
    let p = valid(p.cast_mut())?;
    // SAFETY: not null and aligned; validity is the caller's promise.
    Ok(unsafe { &*p })
}

/// An exclusive reference from a caller's pointer: `WSAEFAULT` when null or
/// misaligned (S13).
///
/// # Safety
/// When not null and aligned, `p` must point to a valid `T` that nothing
/// else touches for `'a`.
pub(super) unsafe fn checked_mut<'a, T>(p: *mut T) -> Result<&'a mut T, WsaError> {
    let p = valid(p)?;
    // SAFETY: not null and aligned; validity is the caller's promise.
    Ok(unsafe { &mut *p })
}

/// A NUL-terminated UTF-16 string (at most 32767 units, a long path's
/// limit): `WSAEFAULT` for a null pointer or no NUL within the limit.
///
/// # Safety
/// `p` readable up to its NUL.
pub(super) unsafe fn wide_string(p: *const u16) -> Result<String, WsaError> {
    let p = valid(p.cast_mut())?;
    let mut units = Vec::new();
    for i in 0..32767 {
        // SAFETY: the caller's promise: readable up to the NUL.
        let u = unsafe { p.add(i).read_unaligned() };
        if u == 0 {
            return Ok(String::from_utf16_lossy(&units));
        }
        units.push(u);
    }
    Err(WsaError::Fault)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOCKET_ERROR: i32 = -1;

    /// S12: an error is written to `*lpErrno`, the failure value returned.
    #[test]
    fn s12_error_writes_errno_and_returns_the_failure_value() {
        let mut errno = 0;
        let r = unsafe {
            boundary(
                "test",
                &mut errno,
                SOCKET_ERROR,
                WsaError::SystemCallFailure,
                || Err(WsaError::NotSocket),
            )
        };
        assert_eq!((r, errno), (SOCKET_ERROR, 10038));
        let r = unsafe {
            boundary(
                "test",
                &mut errno,
                SOCKET_ERROR,
                WsaError::SystemCallFailure,
                || Ok(0),
            )
        };
        assert_eq!(r, 0);
    }

    /// S12: a panic never crosses the boundary; it becomes the panic code.
    #[test]
    fn s12_panic_is_caught_and_becomes_wsasyscallfailure() {
        let mut errno = 0;
        let r = unsafe {
            boundary(
                "test",
                &mut errno,
                SOCKET_ERROR,
                WsaError::SystemCallFailure,
                || -> Result<i32, _> { panic!("boom in a thunk") },
            )
        };
        assert_eq!((r, errno), (SOCKET_ERROR, 10107));
        assert_eq!(last_panic().as_deref(), Some("boom in a thunk"));
        let r = unsafe {
            boundary(
                "startup",
                &mut errno,
                1,
                WsaError::ProviderFailedInit,
                || -> Result<i32, _> { panic!("boom in startup") },
            )
        };
        assert_eq!((r, errno), (1, 10106));
    }

    /// S13: a null or misaligned `lpErrno` is never written.
    #[test]
    fn s13_bad_errno_pointer_is_not_written() {
        let r = unsafe {
            boundary(
                "test",
                std::ptr::null_mut(),
                SOCKET_ERROR,
                WsaError::SystemCallFailure,
                || -> Result<i32, _> { Err(WsaError::Fault) },
            )
        };
        assert_eq!(r, SOCKET_ERROR);
        let mut words = [0i32; 2];
        let misaligned = unsafe { (words.as_mut_ptr() as *mut u8).add(1) } as *mut i32;
        let r = unsafe {
            boundary(
                "test",
                misaligned,
                SOCKET_ERROR,
                WsaError::SystemCallFailure,
                || -> Result<i32, _> { Err(WsaError::Fault) },
            )
        };
        assert_eq!((r, words), (SOCKET_ERROR, [0, 0]));
    }

    /// S13: pointers into the guard region are WSAEFAULT, whatever their
    /// alignment, for typed values and byte buffers alike; an empty buffer
    /// is never read.
    #[test]
    fn s13_pointers_in_the_guard_region_are_wsaefault() {
        for low in [1usize, 4, 8, 0x1000, LOWEST_ADDRESS - 8] {
            assert_eq!(valid(low as *mut u32), Err(WsaError::Fault), "{low:#x}");
            assert_eq!(bytes(low as *const u8, 4), Err(WsaError::Fault));
            assert_eq!(bytes_mut(low as *mut u8, 1), Err(WsaError::Fault));
        }
        assert_eq!(optional::<u32>(std::ptr::null_mut()), Ok(None));
        assert_eq!(optional(8 as *mut u32), Err(WsaError::Fault));
        assert_eq!(bytes(std::ptr::null(), 0), Ok(std::ptr::null()));
        let end = usize::MAX - 2;
        assert_eq!(bytes(end as *const u8, 8), Err(WsaError::Fault));
        let mut x = 0u32;
        let p = &raw mut x;
        assert_eq!(valid(p), Ok(p));
        assert_eq!(optional(p), Ok(Some(p)));
        assert_eq!(bytes_mut(p.cast(), 4), Ok(p.cast()));
    }

    /// S13: null and misaligned pointers are WSAEFAULT.
    #[test]
    fn s13_null_and_misaligned_pointers_are_wsaefault() {
        let mut x = [0u32; 2];
        assert_eq!(
            unsafe { checked::<u32>(std::ptr::null()) }.err(),
            Some(WsaError::Fault)
        );
        let bad = unsafe { (x.as_mut_ptr() as *mut u8).add(2) } as *mut u32;
        assert_eq!(
            unsafe { checked_mut::<u32>(bad) }.err(),
            Some(WsaError::Fault)
        );
        assert_eq!(unsafe { checked_mut(x.as_mut_ptr()) }.map(|r| *r), Ok(0));
    }
}
