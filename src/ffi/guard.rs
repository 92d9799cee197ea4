//! One panic boundary and one pointer check for every export (S12, S13).
//!
//! Every `extern "system"` entry point runs its body through [`boundary`]:
//! - `Ok(v)` is returned as it is;
//! - `Err(e)` writes `e.code()` to `*lpErrno` and returns the failure value
//!   the signature demands (`SOCKET_ERROR`, `INVALID_SOCKET` or `FALSE`);
//! - a panic is caught, logged to stderr, and becomes
//!   `WSASYSCALLFAILURE` (or `WSAEPROVIDERFAILEDINIT` from startup). No
//!   panic ever crosses the ABI.
//!
//! Pointers from the caller are checked once, here: null or misaligned is
//! `WSAEFAULT` ([`checked`], [`checked_mut`]). A DLL built with
//! `panic = "abort"` would defeat the boundary; provider crates must keep
//! the default `panic = "unwind"`.

use crate::WsaError;
use std::io::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;

/// The message of the last panic caught at the boundary, for hosts and tests.
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// The message of the last panic caught at an export, if any.
pub fn last_panic() -> Option<String> {
    LAST_PANIC.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Runs an export's body. See the module docs. `panic_code` is
/// `WSASYSCALLFAILURE` for ordinary calls and `WSAEPROVIDERFAILEDINIT` for
/// startup (S12).
///
/// # Safety
/// `lp_errno` must be null or valid for a write of an `i32` (the caller's
/// `lpErrno`); it is checked for null and alignment before use.
pub unsafe fn boundary<R>(
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
    if !lp_errno.is_null() && lp_errno.is_aligned() {
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
    // Writing to stderr must not panic again: ignore its errors.
    let _ = writeln!(
        std::io::stderr(),
        "winsock-provider: panic caught in {name}: {text}"
    );
    *LAST_PANIC.lock().unwrap_or_else(|p| p.into_inner()) = Some(text);
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
pub fn returning_code(
    name: &str,
    panic_code: WsaError,
    body: impl FnOnce() -> Result<(), WsaError>,
) -> i32 {
    let mut code = 0;
    // SAFETY: `code` is a live local.
    let done = unsafe { boundary(name, &mut code, false, panic_code, || body().map(|()| true)) };
    if done { 0 } else { code }
}

/// The one pointer check (S13): a caller's pointer, kept raw, or `WSAEFAULT`
/// when it is null or misaligned. Where the memory may be written by
/// another thread at any time (a `WSAOVERLAPPED` in flight), use the raw
/// pointer; [`checked`] and [`checked_mut`] make references.
pub fn valid<T>(p: *mut T) -> Result<*mut T, WsaError> {
    if p.is_null() || !p.is_aligned() {
        Err(WsaError::Fault)
    } else {
        Ok(p)
    }
}

/// A shared reference from a caller's pointer: `WSAEFAULT` when null or
/// misaligned (S13).
///
/// # Safety
/// When not null and aligned, `p` must point to a valid `T` that nothing
/// writes for `'a`.
pub unsafe fn checked<'a, T>(p: *const T) -> Result<&'a T, WsaError> {
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
pub unsafe fn checked_mut<'a, T>(p: *mut T) -> Result<&'a mut T, WsaError> {
    let p = valid(p)?;
    // SAFETY: not null and aligned; validity is the caller's promise.
    Ok(unsafe { &mut *p })
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
