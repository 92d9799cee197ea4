//! `WSPGetSockOpt`, `WSPSetSockOpt` and `WSPIoctl`: the caller's bytes in
//! and out, checked once; what they mean is the core's
//! ([`Provider::option`](crate::Provider::option),
//! [`Provider::set_option`](crate::Provider::set_option),
//! [`Provider::ioctl`](crate::Provider::ioctl)), except
//! `SO_PROTOCOL_INFOW`, whose layout is the ABI's.

use super::super::abi::{
    LPWSAOVERLAPPED_COMPLETION_ROUTINE, SOCKET, SOCKET_ERROR, WSAOVERLAPPED, WSAPROTOCOL_INFOW,
    WSATHREADID,
};
use super::super::dll::Exported;
use super::super::guard::{self, checked_mut};
use super::super::protocol_info;
use super::run;
use crate::core::sockopt;
use crate::option_names::{SO_PROTOCOL_INFOW, SOL_SOCKET};
use crate::{WsaError, WsaResult};

/// Copies `bytes` to the caller's `(optval, *optlen)` and sets `*optlen`.
///
/// # Safety
/// `optval` writable for `bytes.len()` bytes when it passes the check.
unsafe fn write_out(bytes: &[u8], optval: *mut u8, optlen: &mut i32) -> WsaResult<()> {
    let out = guard::bytes_mut(optval, bytes.len())?;
    // SAFETY: `bytes.len()` writable bytes, checked above; no overlap with
    // a buffer of our own.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), out, bytes.len()) };
    *optlen = bytes.len() as i32;
    Ok(())
}

/// `WSPGetSockOpt`: `*optlen` is the room in `optval` and becomes the
/// length written (spec §15's rules, in the core). `SO_PROTOCOL_INFOW`
/// needs 628 bytes; a shorter buffer is `WSAEFAULT` with `*optlen` set to
/// the size needed.
///
/// # Safety
/// As the SPI documents the arguments.
pub(crate) unsafe extern "system" fn get_sock_opt<D: Exported>(
    s: SOCKET,
    level: i32,
    optname: i32,
    optval: *mut u8,
    optlen: *mut i32,
    lp_errno: *mut i32,
) -> i32 {
    // SAFETY: the caller's promise.
    unsafe {
        run::<D, _>("WSPGetSockOpt", lp_errno, SOCKET_ERROR, |dll| {
            let h = dll.handle(s)?;
            let optlen = checked_mut(optlen)?;
            let capacity = usize::try_from(*optlen).map_err(|_| WsaError::Fault)?;
            if level == SOL_SOCKET && optname == SO_PROTOCOL_INFOW {
                let info = protocol_info::encode(&dll.provider.socket_protocol_info(h)?);
                let need = size_of::<WSAPROTOCOL_INFOW>();
                if capacity < need {
                    *optlen = need as i32;
                    return Err(WsaError::Fault);
                }
                let bytes = std::slice::from_raw_parts((&raw const info).cast::<u8>(), need);
                write_out(bytes, optval, optlen)?;
                return Ok(0);
            }
            let bytes = dll.provider.option(h, level, optname, capacity)?;
            write_out(&bytes, optval, optlen)?;
            Ok(0)
        })
    }
}

/// `WSPSetSockOpt`: `optlen` bytes of `optval` to the core. A negative
/// `optlen` is `WSAENOBUFS` for one-byte options and options outside
/// `SOL_SOCKET`, and reads an `int` otherwise (spec §15).
///
/// # Safety
/// As the SPI documents the arguments.
pub(crate) unsafe extern "system" fn set_sock_opt<D: Exported>(
    s: SOCKET,
    level: i32,
    optname: i32,
    optval: *const u8,
    optlen: i32,
    lp_errno: *mut i32,
) -> i32 {
    // SAFETY: the caller's promise.
    unsafe {
        run::<D, _>("WSPSetSockOpt", lp_errno, SOCKET_ERROR, |dll| {
            let h = dll.handle(s)?;
            let p = &dll.provider;
            let len = match usize::try_from(optlen) {
                Ok(n) => n,
                Err(_) => sockopt::negative_length(
                    level,
                    optname,
                    p.address_family(h)?,
                    p.socket_kind(h)?,
                )?,
            };
            let value: &[u8] = if len == 0 {
                &[]
            } else {
                std::slice::from_raw_parts(guard::bytes(optval, len)?, len)
            };
            p.set_option(h, level, optname, value)?;
            Ok(0)
        })
    }
}

/// `WSPIoctl`, finishing at once: `FIONBIO` and `FIONREAD` (the core's),
/// any other code the transport's (default `WSAEINVAL`). An overlapped
/// ioctl is not offered: `WSAEOPNOTSUPP`.
///
/// # Safety
/// As the SPI documents the arguments.
#[allow(clippy::too_many_arguments)] // The SPI's signature.
pub(crate) unsafe extern "system" fn ioctl<D: Exported>(
    s: SOCKET,
    code: u32,
    input: *const core::ffi::c_void,
    input_len: u32,
    output: *mut core::ffi::c_void,
    output_len: u32,
    returned: *mut u32,
    overlapped: *mut WSAOVERLAPPED,
    routine: LPWSAOVERLAPPED_COMPLETION_ROUTINE,
    _thread: *const WSATHREADID,
    lp_errno: *mut i32,
) -> i32 {
    // SAFETY: the caller's promise.
    unsafe {
        run::<D, _>("WSPIoctl", lp_errno, SOCKET_ERROR, |dll| {
            let h = dll.handle(s)?;
            if !overlapped.is_null() || routine.is_some() {
                return Err(WsaError::OperationNotSupported);
            }
            let returned = checked_mut(returned)?;
            let input_len = input_len as usize;
            let input: &[u8] = if input_len == 0 || input.is_null() {
                &[]
            } else {
                std::slice::from_raw_parts(guard::bytes(input.cast(), input_len)?, input_len)
            };
            let out = dll.provider.ioctl(h, code, input, output_len as usize)?;
            if !out.is_empty() {
                let dst = guard::bytes_mut(output.cast(), out.len())?;
                std::ptr::copy_nonoverlapping(out.as_ptr(), dst, out.len());
            }
            *returned = out.len() as u32;
            Ok(0)
        })
    }
}
