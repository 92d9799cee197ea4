//! `WSPGetSockOpt`, `WSPSetSockOpt` and `WSPIoctl`: the `SOL_SOCKET`
//! options `SO_LINGER`, `SO_DONTLINGER`, `SO_SNDBUF`, `SO_RCVBUF`, `SO_TYPE`,
//! `SO_ERROR`, and the ioctls `FIONBIO` and `FIONREAD`. Anything else:
//! `WSAENOPROTOOPT` (options) or `WSAEINVAL` (ioctls).

use super::super::abi::{
    FIONBIO, FIONREAD, LINGER, LPWSAOVERLAPPED_COMPLETION_ROUTINE, SO_DONTLINGER, SO_ERROR,
    SO_LINGER, SO_RCVBUF, SO_SNDBUF, SO_TYPE, SOCK_DGRAM, SOCK_STREAM, SOCKET, SOCKET_ERROR,
    SOL_SOCKET, WSAOVERLAPPED, WSATHREADID,
};
use super::super::dll::Exported;
use super::super::guard::{self, checked_mut};
use super::run;
use crate::{Linger, SocketKind, WsaError, WsaResult};

/// Reads an option value of `T`: `WSAEFAULT` when shorter than `T` or not
/// a valid pointer (the one pointer check, S13).
///
/// # Safety
/// `optval`, when it passes the check, readable for `optlen` bytes.
unsafe fn read_value<T: Copy>(optval: *const u8, optlen: i32) -> WsaResult<T> {
    if optlen < 0 || (optlen as usize) < size_of::<T>() {
        return Err(WsaError::Fault);
    }
    let optval = guard::bytes(optval, size_of::<T>())?;
    // SAFETY: at least `size_of::<T>()` readable bytes; unaligned is fine.
    Ok(unsafe { (optval as *const T).read_unaligned() })
}

/// Writes an option value and its length: `WSAEFAULT` when either pointer
/// is not valid or `*optlen` is shorter than `T` (then nothing is written).
///
/// # Safety
/// `optlen` writable when valid; `optval` writable for `*optlen` bytes
/// when valid.
unsafe fn write_value<T: Copy>(value: T, optval: *mut u8, optlen: *mut i32) -> WsaResult<()> {
    // SAFETY: the caller's promise.
    let len = unsafe { checked_mut(optlen) }?;
    if *len < 0 || (*len as usize) < size_of::<T>() {
        return Err(WsaError::Fault);
    }
    let optval = guard::bytes_mut(optval, size_of::<T>())?;
    // SAFETY: `*len` writable bytes, at least `T`'s size.
    unsafe { (optval as *mut T).write_unaligned(value) };
    *len = size_of::<T>() as i32;
    Ok(())
}

fn buffer_size(v: i32) -> WsaResult<usize> {
    usize::try_from(v).map_err(|_| WsaError::InvalidArgument)
}

/// `WSPGetSockOpt`. `SO_ERROR` is the error of the last non-blocking
/// connect (spec §15: a read does not clear it).
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
            if level != SOL_SOCKET {
                return Err(WsaError::ProtocolOption);
            }
            let p = &dll.provider;
            match optname {
                SO_LINGER => {
                    let l = p.linger(h)?;
                    let value = LINGER {
                        l_onoff: u16::from(l.on),
                        l_linger: l.seconds,
                    };
                    write_value(value, optval, optlen)?
                }
                SO_DONTLINGER => write_value(i32::from(!p.linger(h)?.on), optval, optlen)?,
                SO_SNDBUF | SO_RCVBUF => {
                    let (send, recv) = p.buffers(h)?;
                    let v = if optname == SO_SNDBUF { send } else { recv };
                    write_value(i32::try_from(v).unwrap_or(i32::MAX), optval, optlen)?
                }
                SO_TYPE => {
                    let ty = match p.socket_kind(h)? {
                        SocketKind::Stream => SOCK_STREAM,
                        SocketKind::Datagram => SOCK_DGRAM,
                    };
                    write_value(ty, optval, optlen)?
                }
                SO_ERROR => write_value(p.socket_error(h)?, optval, optlen)?,
                _ => return Err(WsaError::ProtocolOption),
            }
            Ok(0)
        })
    }
}

/// `WSPSetSockOpt`. `SO_DONTLINGER` nonzero turns lingering off and keeps
/// the timeout; zero turns it on with the timeout it had (the SPI page has
/// the mapping backwards, spec §10.3).
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
            if level != SOL_SOCKET {
                return Err(WsaError::ProtocolOption);
            }
            let p = &dll.provider;
            match optname {
                SO_LINGER => {
                    let l: LINGER = read_value(optval, optlen)?;
                    p.set_linger(
                        h,
                        Linger {
                            on: l.l_onoff != 0,
                            seconds: l.l_linger,
                        },
                    )?
                }
                SO_DONTLINGER => {
                    let off: i32 = read_value(optval, optlen)?;
                    let seconds = p.linger(h)?.seconds;
                    p.set_linger(
                        h,
                        Linger {
                            on: off == 0,
                            seconds,
                        },
                    )?
                }
                SO_SNDBUF => {
                    let v = buffer_size(read_value(optval, optlen)?)?;
                    p.set_buffers(h, Some(v), None)?
                }
                SO_RCVBUF => {
                    let v = buffer_size(read_value(optval, optlen)?)?;
                    p.set_buffers(h, None, Some(v))?
                }
                SO_ERROR => p.set_socket_error(h, read_value(optval, optlen)?)?,
                _ => return Err(WsaError::ProtocolOption),
            }
            Ok(0)
        })
    }
}

/// `WSPIoctl`: `FIONBIO` and `FIONREAD`, which finish at once. An
/// overlapped ioctl is not offered: `WSAEOPNOTSUPP`.
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
            match code as i32 {
                FIONBIO => {
                    let on: u32 = read_value(input.cast(), input_len as i32)?;
                    dll.provider.set_nonblocking(h, on != 0)?;
                    *returned = 0;
                }
                FIONREAD => {
                    if output_len < 4 {
                        return Err(WsaError::Fault);
                    }
                    let output = guard::bytes_mut(output.cast(), 4)?;
                    let n = dll.provider.available(h)?;
                    (output as *mut u32).write_unaligned(u32::try_from(n).unwrap_or(u32::MAX));
                    *returned = 4;
                }
                _ => return Err(WsaError::InvalidArgument),
            }
            Ok(0)
        })
    }
}
