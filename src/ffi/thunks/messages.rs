//! `WSARecvMsg` and `WSASendMsg`, the message extension functions (spec
//! §14): a `WSPRecvFrom` and a `WSPSendTo` whose buffers, address and
//! flags come in a `WSAMSG`. Each is the same operation in the core as the
//! entry it stands for (blocking, non-blocking or overlapped; told once,
//! S9/S10; ended by a close, S7, and silently by the final cleanup, S6c).
//!
//! - Datagram sockets only, as both pages say: a stream socket is
//!   `WSAEOPNOTSUPP`.
//! - `WSARecvMsg` takes `MSG_PEEK` alone in `dwFlags` (anything else is
//!   `WSAEOPNOTSUPP`) and writes back `dwFlags` (`MSG_TRUNC` with a
//!   `WSAEMSGSIZE`, spec §16), `namelen` and `Control.len` = 0: the
//!   provider produces no ancillary data (no `IP_PKTINFO`).
//! - `WSASendMsg` sends to `name` (or the connected peer when it is null)
//!   with `dwFlags` as `WSPSendTo` takes them. Ancillary data is checked
//!   (`WSAEFAULT` for a null `Control.buf` with a length) and not applied:
//!   the transport has no per-datagram source address.
//! - A completion routine runs on the calling thread: the application
//!   calls these directly, with no `lpThreadId`, so the shim opens the
//!   thread with `WPUOpenCurrentThread` and closes it once the routine is
//!   queued.
//!
//! Errors are the thread's last error, as for every extension function.

use super::super::abi::WSAOVERLAPPED;
use super::super::abi::{LPWSAOVERLAPPED_COMPLETION_ROUTINE, SOCKET, SOCKET_ERROR, WSAMSG};
use super::super::dll::{Dll, Exported};
use super::super::inflight::carry::OverlappedArgs;
use super::super::wsamsg::Message;
use super::extensions::extension_returning;
use super::io::{recv_impl, send_impl};
use crate::{MsgFlags, SocketKind, WsaError, WsaResult};

/// The socket behind `s` if it is a datagram socket; a stream socket is
/// `WSAEOPNOTSUPP`.
fn datagram_only<D: Exported>(dll: &Dll<D>, s: SOCKET) -> WsaResult<()> {
    let h = dll.handle(s)?;
    if dll.provider.socket_kind(h)? == SocketKind::Stream {
        return Err(WsaError::OperationNotSupported);
    }
    Ok(())
}

/// `WSARecvMsg`: a `WSPRecvFrom` into `msg`'s buffers, the sender into
/// `msg.name`.
///
/// # Safety
/// As `LPFN_WSARECVMSG` documents the arguments.
pub(super) unsafe extern "system" fn wsa_recv_msg<D: Exported>(
    s: SOCKET,
    msg: *mut WSAMSG,
    received: *mut u32,
    overlapped: *mut WSAOVERLAPPED,
    routine: LPWSAOVERLAPPED_COMPLETION_ROUTINE,
) -> i32 {
    extension_returning::<D, _>("WSARecvMsg", 0, SOCKET_ERROR, |dll| {
        datagram_only(dll, s)?;
        // SAFETY: the caller's promise; checked here.
        let m = unsafe { Message::read(msg) }?;
        if !(MsgFlags::PEEK).contains(m.flags) {
            return Err(WsaError::OperationNotSupported);
        }
        let (buffers, count) = m.buffers;
        let args = OverlappedArgs::of_extension(overlapped, routine);
        // SAFETY: `dwFlags` is a field of the checked header; the rest is
        // the caller's promise.
        let flags = unsafe { &raw mut (*m.header).dwFlags };
        unsafe {
            recv_impl(
                dll,
                s,
                buffers,
                count,
                received,
                flags,
                m.name,
                Some(m.header),
                args,
            )
        }
        .map(|_| ())
    })
}

/// `WSASendMsg`: a `WSPSendTo` of `msg`'s buffers to `msg.name`.
///
/// # Safety
/// As `LPFN_WSASENDMSG` documents the arguments.
pub(super) unsafe extern "system" fn wsa_send_msg<D: Exported>(
    s: SOCKET,
    msg: *const WSAMSG,
    flags: u32,
    sent: *mut u32,
    overlapped: *mut WSAOVERLAPPED,
    routine: LPWSAOVERLAPPED_COMPLETION_ROUTINE,
) -> i32 {
    extension_returning::<D, _>("WSASendMsg", 0, SOCKET_ERROR, |dll| {
        datagram_only(dll, s)?;
        // SAFETY: the caller's promise; checked here. Nothing is written
        // through the header.
        let m = unsafe { Message::read(msg.cast_mut()) }?;
        let to = m.name.map(|(name, len)| {
            // SAFETY: `len` points into the checked header.
            (name.cast_const(), unsafe { len.read() })
        });
        let (buffers, count) = m.buffers;
        let args = OverlappedArgs::of_extension(overlapped, routine);
        // SAFETY: the caller's promise, as `WSPSendTo`'s.
        unsafe { send_impl(dll, s, buffers, count, sent, flags, to, args) }.map(|_| ())
    })
}
