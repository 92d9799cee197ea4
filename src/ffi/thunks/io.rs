//! Sends, receives, overlapped results and `WSPCancelBlockingCall` (S9, S10).
//! An overlapped call goes through the carry protocol of the in-flight
//! registry (`inflight::carry`).

use super::super::abi::{
    LPWSAOVERLAPPED_COMPLETION_ROUTINE, SOCKADDR, SOCKET, SOCKET_ERROR, WSABUF, WSAMSG,
    WSAOVERLAPPED, WSATHREADID, WSS_OPERATION_IN_PROGRESS,
};
use super::super::dll::{Dll, Exported};
use super::super::guard::{checked_mut, valid};
use super::super::host::overlapped::internal;
use super::super::inflight::ReceiveInto;
use super::super::inflight::carry::{OverlappedArgs, carry, submit};
use super::super::sockaddr;
use super::super::wsabuf::{Scatter, gather};
use super::super::wsamsg::write_msg_flags;
use super::run;
use crate::{MsgFlags, ServiceFlags, SocketHandle, SocketKind, WsaError, WsaResult};
use std::sync::atomic::Ordering;

/// `MSG_OOB` needs `XP1_EXPEDITED_DATA`.
fn check_offered<D: Exported>(dll: &Dll<D>, flags: MsgFlags) -> WsaResult<()> {
    if flags.contains(MsgFlags::OOB)
        && !dll
            .config
            .service_flags
            .contains(ServiceFlags::EXPEDITED_DATA)
    {
        return Err(WsaError::OperationNotSupported);
    }
    Ok(())
}

/// The byte-count out-pointer: required for a call that is not overlapped.
///
/// # Safety
/// `count` null or writable.
unsafe fn count_out<'a>(count: *mut u32, overlapped: bool) -> WsaResult<Option<&'a mut u32>> {
    if count.is_null() && overlapped {
        return Ok(None);
    }
    // SAFETY: the caller's promise.
    unsafe { checked_mut(count) }.map(Some)
}

/// The shared body of `WSPSend` and `WSPSendTo`.
#[allow(clippy::too_many_arguments)] // The SPI's arguments, passed through.
///
/// # Safety
/// As the SPI documents the arguments.
pub(super) unsafe fn send_impl<D: Exported>(
    dll: &Dll<D>,
    s: SOCKET,
    buffers: *const WSABUF,
    count: u32,
    sent: *mut u32,
    flags: u32,
    to: Option<(*const SOCKADDR, i32)>,
    args: OverlappedArgs,
) -> WsaResult<i32> {
    let h = dll.handle(s)?;
    // `lpTo` counts for datagram sockets only; a stream socket ignores it.
    let to = match to {
        Some(_) if dll.provider.socket_kind(h)? == SocketKind::Stream => None,
        // SAFETY: the caller's promise.
        Some((name, len)) => {
            let family = dll.provider.address_family(h)?;
            Some(unsafe { sockaddr::read(name, len, family) }?)
        }
        None => None,
    };
    let flags = MsgFlags::from_bits_retain(flags);
    check_offered(dll, flags)?;
    // SAFETY (whole block): the caller's promise.
    let data = unsafe { gather(buffers, count) }?;
    let sent = unsafe { count_out(sent, args.is_overlapped()) }?;
    let carried = unsafe { carry(dll, s, args, None) }?;
    let n = submit(carried, |ov| {
        dll.provider.send_owned(h, data, to, flags, ov)
    })?;
    if let Some(sent) = sent {
        *sent = u32::try_from(n).unwrap_or(u32::MAX);
    }
    Ok(0)
}

/// The shared body of `WSPRecv` and `WSPRecvFrom`.
///
/// # Safety
/// As the SPI documents the arguments.
#[allow(clippy::too_many_arguments)] // The SPI's arguments, passed through.
pub(super) unsafe fn recv_impl<D: Exported>(
    dll: &Dll<D>,
    s: SOCKET,
    buffers: *const WSABUF,
    count: u32,
    received: *mut u32,
    lp_flags: *mut u32,
    from: Option<(*mut SOCKADDR, *mut i32)>,
    msg: Option<*mut WSAMSG>,
    args: OverlappedArgs,
) -> WsaResult<i32> {
    let h: SocketHandle = dll.handle(s)?;
    // SAFETY (whole block): the caller's promise.
    let flags_io = unsafe { checked_mut(lp_flags) }?;
    let flags = MsgFlags::from_bits_retain(*flags_io);
    check_offered(dll, flags)?;
    let scatter = unsafe { Scatter::capture(buffers, count) }?;
    let overlapped = args.is_overlapped();
    let received = unsafe { count_out(received, overlapped) }?;
    if let Some((_, len)) = from
        && *unsafe { checked_mut(len) }? < 16
    {
        return Err(WsaError::Fault);
    }
    let max = scatter.capacity();
    if overlapped {
        let into = ReceiveInto {
            buffers: scatter,
            from,
            msg,
        };
        let carried = unsafe { carry(dll, s, args, Some(into)) }?;
        // The data was copied into the buffers by the completion, which
        // for an operation that finished at once has already run (S9).
        let r = submit(carried, |ov| dll.provider.recv_from(h, max, flags, ov))?;
        if let Some(received) = received {
            *received = u32::try_from(r.data.len()).unwrap_or(u32::MAX);
        }
        // A WSAMSG's flags were written by the completion, MSG_TRUNC with them.
        if msg.is_none() {
            *flags_io = r.flags.bits();
        }
        return Ok(0);
    }
    // A truncated datagram fails WSAEMSGSIZE with the buffers filled and
    // the count written (spec §16).
    let (r, truncated) = dll.provider.recv_truncated(h, max, flags, None)?;
    let n = unsafe { scatter.fill(&r.data) };
    if let (Some((name, len)), Some(addr)) = (from, r.from) {
        unsafe { sockaddr::write(addr, name, len) }?;
    }
    if let Some(received) = received {
        *received = u32::try_from(n).unwrap_or(u32::MAX);
    }
    *flags_io = r.flags.bits();
    if let Some(msg) = msg {
        unsafe { write_msg_flags(msg, r.flags, truncated) };
    }
    truncated.map_or(Ok(0), Err)
}

/// `WSPSend`: blocking, non-blocking or overlapped (S9).
///
/// # Safety
/// As the SPI documents the arguments.
#[allow(clippy::too_many_arguments)] // The SPI's signature.
pub(crate) unsafe extern "system" fn send<D: Exported>(
    s: SOCKET,
    buffers: *const WSABUF,
    count: u32,
    sent: *mut u32,
    flags: u32,
    overlapped: *mut WSAOVERLAPPED,
    routine: LPWSAOVERLAPPED_COMPLETION_ROUTINE,
    thread: *const WSATHREADID,
    lp_errno: *mut i32,
) -> i32 {
    let args = OverlappedArgs::new(overlapped, routine, thread);
    // SAFETY: the caller's promise.
    unsafe {
        run::<D, _>("WSPSend", lp_errno, SOCKET_ERROR, |dll| {
            send_impl(dll, s, buffers, count, sent, flags, None, args)
        })
    }
}

/// `WSPSendTo`: `lpTo` is used by datagram sockets and ignored by stream
/// sockets; null sends to the connected peer.
///
/// # Safety
/// As the SPI documents the arguments.
#[allow(clippy::too_many_arguments)] // The SPI's signature.
pub(crate) unsafe extern "system" fn send_to<D: Exported>(
    s: SOCKET,
    buffers: *const WSABUF,
    count: u32,
    sent: *mut u32,
    flags: u32,
    to: *const SOCKADDR,
    tolen: i32,
    overlapped: *mut WSAOVERLAPPED,
    routine: LPWSAOVERLAPPED_COMPLETION_ROUTINE,
    thread: *const WSATHREADID,
    lp_errno: *mut i32,
) -> i32 {
    let args = OverlappedArgs::new(overlapped, routine, thread);
    // SAFETY: the caller's promise.
    unsafe {
        run::<D, _>("WSPSendTo", lp_errno, SOCKET_ERROR, |dll| {
            let to = (!to.is_null()).then_some((to, tolen));
            send_impl(dll, s, buffers, count, sent, flags, to, args)
        })
    }
}

/// `WSPRecv`. Note `lpErrno` is declared `*const` in the metadata, yet the
/// SPI writes it, as every entry's.
///
/// # Safety
/// As the SPI documents the arguments.
#[allow(clippy::too_many_arguments)] // The SPI's signature.
pub(crate) unsafe extern "system" fn recv<D: Exported>(
    s: SOCKET,
    buffers: *const WSABUF,
    count: u32,
    received: *mut u32,
    flags: *mut u32,
    overlapped: *mut WSAOVERLAPPED,
    routine: LPWSAOVERLAPPED_COMPLETION_ROUTINE,
    thread: *const WSATHREADID,
    lp_errno: *const i32,
) -> i32 {
    let args = OverlappedArgs::new(overlapped, routine, thread);
    // SAFETY: the caller's promise.
    unsafe {
        run::<D, _>("WSPRecv", lp_errno.cast_mut(), SOCKET_ERROR, |dll| {
            recv_impl(dll, s, buffers, count, received, flags, None, None, args)
        })
    }
}

/// `WSPRecvFrom`: the sender goes to `lpFrom` (for an overlapped call, at
/// completion).
///
/// # Safety
/// As the SPI documents the arguments.
#[allow(clippy::too_many_arguments)] // The SPI's signature.
pub(crate) unsafe extern "system" fn recv_from<D: Exported>(
    s: SOCKET,
    buffers: *const WSABUF,
    count: u32,
    received: *mut u32,
    flags: *mut u32,
    from: *mut SOCKADDR,
    fromlen: *mut i32,
    overlapped: *mut WSAOVERLAPPED,
    routine: LPWSAOVERLAPPED_COMPLETION_ROUTINE,
    thread: *const WSATHREADID,
    lp_errno: *mut i32,
) -> i32 {
    let args = OverlappedArgs::new(overlapped, routine, thread);
    let from = (!from.is_null()).then_some((from, fromlen));
    // SAFETY: the caller's promise.
    unsafe {
        run::<D, _>("WSPRecvFrom", lp_errno, SOCKET_ERROR, |dll| {
            recv_impl(dll, s, buffers, count, received, flags, from, None, args)
        })
    }
}

/// `WSPGetOverlappedResult`, read from the `WSAOVERLAPPED` as the SPI
/// documents: `Internal == 0x103` is in progress (`WSA_IO_INCOMPLETE`, or
/// with `fWait` a wait, allowed for event completion only); otherwise bytes
/// from `InternalHigh`, flags from `Offset`, the error from `OffsetHigh`.
/// `*lpcbTransfer` is written only on success.
///
/// The record may be written by another thread at any moment (a
/// completion), and the two out-pointers may name the same `DWORD`: nothing
/// here makes a reference to either, only reads and writes through the
/// pointers.
///
/// # Safety
/// As the SPI documents the arguments.
pub(crate) unsafe extern "system" fn get_overlapped_result<D: Exported>(
    s: SOCKET,
    overlapped: *const WSAOVERLAPPED,
    transferred: *mut u32,
    wait: i32,
    flags: *mut u32,
    lp_errno: *mut i32,
) -> i32 {
    // SAFETY: the caller's promise; every pointer is checked before use.
    unsafe {
        run::<D, _>("WSPGetOverlappedResult", lp_errno, 0, |dll| {
            let h = dll.handle(s)?;
            let ov = valid(overlapped.cast_mut())?;
            let transferred = valid(transferred)?;
            let flags = valid(flags)?;
            if internal(ov).load(Ordering::Acquire) == WSS_OPERATION_IN_PROGRESS {
                if wait == 0 {
                    return Err(WsaError::IoIncomplete);
                }
                // Wait for the core's decision, then for its writing.
                let (ticket, record) = dll
                    .host
                    .inflight
                    .newest_on(ov)
                    .ok_or(WsaError::IoIncomplete)?;
                let outcome = dll.provider.get_overlapped_result(h, &record, true);
                dll.host.inflight.wait_finished(ticket);
                if internal(ov).load(Ordering::Acquire) == WSS_OPERATION_IN_PROGRESS {
                    // The host's completion upcall has not published yet
                    // (ws2_32 may lag): the core's word is final.
                    let outcome = outcome?;
                    flags.write(outcome.flags.bits());
                    transferred.write(u32::try_from(outcome.bytes).unwrap_or(u32::MAX));
                    return Ok(1);
                }
            }
            let offset = std::ptr::addr_of!((*ov).Anonymous.Anonymous.Offset).read();
            let error = std::ptr::addr_of!((*ov).Anonymous.Anonymous.OffsetHigh).read();
            let bytes = std::ptr::addr_of!((*ov).InternalHigh).read();
            flags.write(offset);
            // The count is written with an error too: a truncated datagram
            // (WSAEMSGSIZE) moved bytes (spec §16).
            transferred.write(bytes as u32);
            if error != 0 {
                return Err(
                    WsaError::from_code(error as i32).unwrap_or(WsaError::SystemCallFailure)
                );
            }
            Ok(1)
        })
    }
}

/// `WSPCancelBlockingCall`: the calling thread's blocking call returns
/// `WSAEINTR`; `WSAEINVAL` when it has none.
///
/// # Safety
/// `lp_errno` null or writable.
pub(crate) unsafe extern "system" fn cancel_blocking_call<D: Exported>(lp_errno: *mut i32) -> i32 {
    // SAFETY: the caller's promise.
    unsafe {
        run::<D, _>("WSPCancelBlockingCall", lp_errno, SOCKET_ERROR, |dll| {
            dll.provider.cancel_blocking_call().map(|()| 0)
        })
    }
}
