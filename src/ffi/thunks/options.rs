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

/// `SIO_BASE_HANDLE`: the base provider's socket (a layer passes it down).
const SIO_BASE_HANDLE: u32 = 0x4800_0022;
/// `SIO_BSP_HANDLE`, `SIO_BSP_HANDLE_SELECT`, `SIO_BSP_HANDLE_POLL`: the
/// socket to use for `WSASendMsg`, `select` and `WSAPoll`.
const SIO_BSP_HANDLE: u32 = 0x4800_001B;
const SIO_BSP_HANDLE_SELECT: u32 = 0x4800_001C;
const SIO_BSP_HANDLE_POLL: u32 = 0x4800_001D;
/// `SIO_GET_EXTENSION_FUNCTION_POINTER`: a GUID in, a function pointer out.
const SIO_GET_EXTENSION_FUNCTION_POINTER: u32 = 0xC800_0006;

/// `WSPIoctl` (spec §14). The codes the core answers (`FIONBIO`,
/// `FIONREAD`, `SIOCATMARK`, `SIO_KEEPALIVE_VALS`) and, here, the handle
/// queries:
/// - `SIO_BSP_HANDLE`, `SIO_BSP_HANDLE_SELECT`, `SIO_BSP_HANDLE_POLL`:
///   this socket (a layer answers for itself, as a layer should, so that
///   `select` and `WSAPoll` come to it); `SIO_BSP_HANDLE_POLL` with an
///   overlapped record is `WSAEFAULT`;
/// - `SIO_BASE_HANDLE`: what the transport answers (a layer: the next
///   provider's base handle, passed down untouched), else this socket (a
///   base provider is its own base);
///
/// an output buffer smaller than a `SOCKET` is `WSAEFAULT`.
/// `SIO_GET_EXTENSION_FUNCTION_POINTER` hands out the provider's extension
/// functions (see `extensions`; an unknown GUID is `WSAEINVAL`). Any other code
/// is the transport's. An overlapped ioctl finishes at once: 0, and its
/// completion is told (S9); a failure is never told, except an unknown code
/// (the transport's `WSAEOPNOTSUPP`), which Windows reports overlapped as
/// `WSA_IO_PENDING` and then a completion with `WSAEOPNOTSUPP` (spec §14).
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
    thread: *const WSATHREADID,
    lp_errno: *mut i32,
) -> i32 {
    // SAFETY: the caller's promise.
    unsafe {
        run::<D, _>("WSPIoctl", lp_errno, SOCKET_ERROR, |dll| {
            let h = dll.handle(s)?;
            let returned = checked_mut(returned)?;
            // A failed ioctl returns no bytes (spec §14).
            *returned = 0;
            let input_len = input_len as usize;
            let input: &[u8] = if input_len == 0 || input.is_null() {
                &[]
            } else {
                std::slice::from_raw_parts(guard::bytes(input.cast(), input_len)?, input_len)
            };
            let capacity = output_len as usize;
            let own = || -> WsaResult<Vec<u8>> {
                if capacity < size_of::<SOCKET>() || output.is_null() {
                    return Err(WsaError::Fault);
                }
                Ok(s.to_ne_bytes().to_vec())
            };
            let carried = super::super::inflight::carry::carry(
                dll,
                s,
                super::super::inflight::carry::OverlappedArgs::new(overlapped, routine, thread),
                None,
            )?;
            let out = super::super::inflight::carry::submit(carried, |ov| {
                let out = match code {
                    SIO_BSP_HANDLE_POLL if ov.is_some() => return Err(WsaError::Fault),
                    SIO_BSP_HANDLE | SIO_BSP_HANDLE_SELECT | SIO_BSP_HANDLE_POLL => own()?,
                    SIO_BASE_HANDLE => {
                        own()?;
                        match dll.provider.ioctl(h, code, input, capacity) {
                            Ok(below) if below.len() == size_of::<SOCKET>() => below,
                            Ok(_)
                            | Err(WsaError::InvalidArgument)
                            | Err(WsaError::OperationNotSupported) => own()?,
                            Err(e) => return Err(e),
                        }
                    }
                    SIO_GET_EXTENSION_FUNCTION_POINTER => {
                        if capacity < size_of::<usize>() || output.is_null() {
                            return Err(WsaError::Fault);
                        }
                        let guid: [u8; 16] = input
                            .get(..16)
                            .and_then(|g| g.try_into().ok())
                            .ok_or(WsaError::Fault)?;
                        let guid = super::super::protocol_info::guid_of(guid);
                        super::extensions::pointer_for::<D>(&guid)?
                            .to_ne_bytes()
                            .to_vec()
                    }
                    _ => {
                        let r = dll.provider.ioctl(h, code, input, capacity);
                        // Spec §14: an unknown code, overlapped, is pending
                        // and then completes with WSAEOPNOTSUPP.
                        let unknown = WsaError::OperationNotSupported;
                        if let (Err(e), Some(pending)) = (&r, ov.clone())
                            && *e == unknown
                        {
                            dll.provider.failed_at_once(h, unknown, pending)?;
                            return Err(WsaError::IoPending);
                        }
                        r?
                    }
                };
                // The output is the caller's before the completion is told.
                if !out.is_empty() {
                    let dst = guard::bytes_mut(output.cast(), out.len())?;
                    std::ptr::copy_nonoverlapping(out.as_ptr(), dst, out.len());
                }
                if let Some(ov) = ov {
                    dll.provider.finished_at_once(h, out.len(), ov)?;
                }
                Ok(out)
            })?;
            *returned = out.len() as u32;
            Ok(0)
        })
    }
}
