//! The entries this shim does not offer. Each is in the table (never
//! null), answers `WSANOTINITIALISED` outside a startup (S4), and otherwise
//! `WSAEOPNOTSUPP` with its signature's failure value.
//!
//! Not offered: QOS and multipoint (`WSPJoinLeaf`): this provider has no
//! QOS and no multipoint.

use super::super::abi::{INVALID_SOCKET, QOS, SOCKADDR, SOCKET, WSABUF};
use super::super::dll::Exported;
use super::run;
use crate::WsaError;

/// The body of every entry here.
///
/// # Safety
/// `lp_errno` null or writable.
unsafe fn not_offered<D: Exported, R>(name: &str, lp_errno: *mut i32, fail: R) -> R {
    // SAFETY: the caller's promise.
    unsafe {
        run::<D, _>(name, lp_errno, fail, |_| {
            Err(WsaError::OperationNotSupported)
        })
    }
}

/// `WSPGetQOSByName`: not offered (`FALSE`).
///
/// # Safety
/// `lp_errno` null or writable.
pub(crate) unsafe extern "system" fn get_qos_by_name<D: Exported>(
    _: SOCKET,
    _: *const WSABUF,
    _: *mut QOS,
    lp_errno: *mut i32,
) -> i32 {
    // SAFETY: the caller's promise.
    unsafe { not_offered::<D, _>("WSPGetQOSByName", lp_errno, 0) }
}

/// `WSPJoinLeaf`: not offered (`INVALID_SOCKET`).
///
/// # Safety
/// `lp_errno` null or writable.
#[allow(clippy::too_many_arguments)] // The SPI's signature.
pub(crate) unsafe extern "system" fn join_leaf<D: Exported>(
    _: SOCKET,
    _: *const SOCKADDR,
    _: i32,
    _: *const WSABUF,
    _: *mut WSABUF,
    _: *const QOS,
    _: *const QOS,
    _: u32,
    lp_errno: *mut i32,
) -> SOCKET {
    // SAFETY: the caller's promise.
    unsafe { not_offered::<D, _>("WSPJoinLeaf", lp_errno, INVALID_SOCKET) }
}
