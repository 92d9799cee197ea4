//! Extension functions (spec §14): what `SIO_GET_EXTENSION_FUNCTION_POINTER`
//! hands out. Each is the provider's own, an operation in its core like
//! any other (close and the final cleanup end it, S6c, S7, S10).
//!
//! Handed out: `ConnectEx` (with its send buffer), `AcceptEx` (with its
//! receive area), `GetAcceptExSockaddrs`, `DisconnectEx` (with
//! `TF_REUSE_SOCKET`), `WSARecvMsg` and `WSASendMsg` (in [`messages`]),
//! `TransmitFile` and `TransmitPackets` (in [`transmit`]). An unknown GUID
//! is `WSAEINVAL`.
//!
//! They return `FALSE` with the error left for `WSAGetLastError` (the
//! thread's last error; a host that is not ws2_32 reads it with the
//! `WSPLastError` export); `ERROR_IO_PENDING` (997) when the operation
//! will end later.

use super::super::abi::WSABUF;
use super::super::abi::{SOCKADDR, SOCKET, WSAOVERLAPPED};
use super::super::dll::{Dll, Exported};
use super::super::guard;
use super::super::inflight::carry::{OverlappedArgs, carry, carry_filling, submit};
use super::super::inflight::{AcceptExOut, ReceiveInto};
use super::super::last_error;
use super::super::sockaddr;
use super::super::wsabuf::Scatter;
use super::{messages, transmit};
use crate::{WsaError, WsaResult};
use windows_sys::Win32::Networking::WinSock::{
    LPFN_ACCEPTEX, LPFN_CONNECTEX, LPFN_DISCONNECTEX, LPFN_GETACCEPTEXSOCKADDRS, LPFN_TRANSMITFILE,
    LPFN_WSARECVMSG, LPFN_WSASENDMSG, TF_REUSE_SOCKET, WSAID_ACCEPTEX, WSAID_CONNECTEX,
    WSAID_DISCONNECTEX, WSAID_GETACCEPTEXSOCKADDRS, WSAID_TRANSMITFILE, WSAID_TRANSMITPACKETS,
    WSAID_WSARECVMSG, WSAID_WSASENDMSG,
};
use windows_sys::core::{BOOL, GUID};

fn same(a: &GUID, b: &GUID) -> bool {
    (a.data1, a.data2, a.data3, a.data4) == (b.data1, b.data2, b.data3, b.data4)
}

/// The provider's function for `guid` (its address), or `WSAEINVAL`. The
/// GUIDs and function types are mswsock.h's, as windows-sys declares them
/// (`TransmitPackets` takes this crate's `TransmitPacketsElement`, whose
/// layout is Windows' on every target).
pub(super) fn pointer_for<D: Exported>(guid: &GUID) -> Result<usize, WsaError> {
    let connect: LPFN_CONNECTEX = Some(connect_ex::<D>);
    let accept: LPFN_ACCEPTEX = Some(accept_ex::<D>);
    let addresses: LPFN_GETACCEPTEXSOCKADDRS = Some(get_accept_ex_sockaddrs);
    let disconnect: LPFN_DISCONNECTEX = Some(disconnect_ex::<D>);
    let transmit_file: LPFN_TRANSMITFILE = Some(transmit::transmit_file::<D>);
    let transmit_packets: transmit::TransmitPacketsFn = transmit::transmit_packets::<D>;
    let recv_msg: LPFN_WSARECVMSG = Some(messages::wsa_recv_msg::<D>);
    let send_msg: LPFN_WSASENDMSG = Some(messages::wsa_send_msg::<D>);
    let handed_out = [
        (WSAID_CONNECTEX, connect.map(|f| f as usize)),
        (WSAID_ACCEPTEX, accept.map(|f| f as usize)),
        (WSAID_GETACCEPTEXSOCKADDRS, addresses.map(|f| f as usize)),
        (WSAID_DISCONNECTEX, disconnect.map(|f| f as usize)),
        (WSAID_TRANSMITFILE, transmit_file.map(|f| f as usize)),
        (WSAID_TRANSMITPACKETS, Some(transmit_packets as usize)),
        (WSAID_WSARECVMSG, recv_msg.map(|f| f as usize)),
        (WSAID_WSASENDMSG, send_msg.map(|f| f as usize)),
    ];
    handed_out
        .iter()
        .find(|(id, _)| same(id, guid))
        .and_then(|&(_, f)| f)
        .ok_or(WsaError::InvalidArgument)
}

/// An extension function's body inside the provider, as every `WSP*`
/// thunk runs ([`super::run`]: the panic boundary, the gate, the author's
/// `after_call`), returning `TRUE`, or `FALSE` with the code left as the
/// thread's last error: the extension functions have no `lpErrno`.
pub(super) fn extension<D: Exported>(
    name: &str,
    body: impl FnOnce(&'static Dll<D>) -> WsaResult<()>,
) -> BOOL {
    extension_returning(name, 1, 0, body)
}

/// [`extension`] for a function whose result is `ok` or `failed` (`0` or
/// `SOCKET_ERROR` for `WSARecvMsg` and `WSASendMsg`).
pub(super) fn extension_returning<D: Exported, R: Copy + PartialEq>(
    name: &str,
    ok: R,
    failed: R,
    body: impl FnOnce(&'static Dll<D>) -> WsaResult<()>,
) -> R {
    let mut errno = 0;
    // SAFETY: `errno` is a live local.
    let r = unsafe { super::run(name, &mut errno, failed, |dll| body(dll).map(|()| ok)) };
    if r == failed {
        last_error::set(WsaError::from_code(errno).unwrap_or(WsaError::SystemCallFailure));
    }
    r
}

/// `DisconnectEx`: ends a connected stream's sending
/// ([`Provider::disconnect`](crate::Provider::disconnect)), the peer seeing
/// the end after every byte; with a `WSAOVERLAPPED`, an operation that
/// finishes at once and is told (S9). With `TF_REUSE_SOCKET` the
/// connection ends gracefully in the background and the handle is a fresh
/// socket for an `AcceptEx` or a `ConnectEx`; another flag or a nonzero
/// `reserved` is `WSAEINVAL`.
///
/// # Safety
/// As `LPFN_DISCONNECTEX` documents the arguments.
unsafe extern "system" fn disconnect_ex<D: Exported>(
    s: SOCKET,
    overlapped: *mut WSAOVERLAPPED,
    flags: u32,
    reserved: u32,
) -> BOOL {
    // SAFETY: the arguments are the caller's, as the function's page
    // documents them.
    unsafe {
        extension::<D>("DisconnectEx", |dll| {
            let h = dll.handle(s)?;
            if reserved != 0 || flags & !TF_REUSE_SOCKET != 0 {
                return Err(WsaError::InvalidArgument);
            }
            let reuse = flags & TF_REUSE_SOCKET != 0;
            let carried = carry(dll, s, OverlappedArgs::without_routine(overlapped), None)?;
            submit(carried, |ov| dll.provider.disconnect(h, reuse, ov))
        })
    }
}

/// The room an `AcceptEx` address slot needs: the largest `sockaddr` of
/// the family and 16 more, as the function's page asks.
fn slot_room(family: crate::AddressFamily) -> usize {
    16 + match family {
        crate::AddressFamily::Inet => 16,
        crate::AddressFamily::Inet6 => 28,
    }
}

/// `AcceptEx`: the next connection of `listen` into `accept`, an open,
/// unbound socket the application made, and with a nonzero `receive_len`
/// its first data, in one operation
/// ([`Provider::accept_and_receive`](crate::Provider::accept_and_receive)):
/// the data at the start of `output` (the completion's bytes, and
/// `*lpdwBytesReceived` when it ends at once), the local and remote
/// addresses past `receive_len` (read them with `GetAcceptExSockaddrs`).
/// An address slot shorter than the family's `sockaddr` and 16 bytes is
/// `WSAEINVAL`. `SO_UPDATE_ACCEPT_CONTEXT` afterwards is accepted; the
/// socket has its listener's properties already.
///
/// # Safety
/// As `LPFN_ACCEPTEX` documents the arguments.
#[allow(clippy::too_many_arguments)] // LPFN_ACCEPTEX's signature.
unsafe extern "system" fn accept_ex<D: Exported>(
    listen: SOCKET,
    accept: SOCKET,
    output: *mut core::ffi::c_void,
    receive_len: u32,
    local_len: u32,
    remote_len: u32,
    received: *mut u32,
    overlapped: *mut WSAOVERLAPPED,
) -> BOOL {
    // SAFETY: the arguments are the caller's, as the function's page
    // documents them.
    unsafe {
        extension::<D>("AcceptEx", |dll| {
            let listener = dll.handle(listen)?;
            let target = dll.handle(accept)?;
            if overlapped.is_null() {
                return Err(WsaError::InvalidArgument);
            }
            let room = slot_room(dll.provider.address_family(listener)?);
            let receive_len = receive_len as usize;
            let (local_len, remote_len) = (local_len as usize, remote_len as usize);
            if local_len < room || remote_len < room {
                return Err(WsaError::InvalidArgument);
            }
            let base = guard::bytes_mut(output.cast(), receive_len + local_len + remote_len)?;
            let out = AcceptExOut {
                local: base.add(receive_len),
                local_len,
                remote: base.add(receive_len + local_len),
                remote_len,
            };
            // The first data goes to the start of the output buffer.
            let receive = if receive_len == 0 {
                None
            } else {
                let area = WSABUF {
                    len: receive_len as u32,
                    buf: base,
                };
                Some(ReceiveInto {
                    buffers: Scatter::capture(&area, 1)?,
                    from: None,
                    msg: None,
                })
            };
            let args = OverlappedArgs::without_routine(overlapped);
            let carried = carry_filling(dll, listen, args, receive, Some(out))?;
            let mut bytes = 0;
            submit(carried, |ov| {
                let ov = ov.ok_or(WsaError::InvalidArgument)?;
                let record = ov.overlapped.clone();
                dll.provider
                    .accept_and_receive(listener, target, receive_len, ov)?;
                bytes = record.outcome().map_or(0, |o| o.bytes);
                Ok(())
            })?;
            if let Some(received) = guard::optional(received)? {
                received.write(u32::try_from(bytes).unwrap_or(u32::MAX));
            }
            Ok(())
        })
    }
}

/// `GetAcceptExSockaddrs`: where `AcceptEx` wrote the local and remote
/// addresses in `output`, and their lengths (0 and a null pointer for a
/// slot without an address). Pointers in the guard region are left alone:
/// the function has no way to fail.
///
/// # Safety
/// As `LPFN_GETACCEPTEXSOCKADDRS` documents the arguments.
#[allow(clippy::too_many_arguments)] // LPFN_GETACCEPTEXSOCKADDRS's signature.
unsafe extern "system" fn get_accept_ex_sockaddrs(
    output: *const core::ffi::c_void,
    receive_len: u32,
    local_len: u32,
    _remote_len: u32,
    local: *mut *mut SOCKADDR,
    local_size: *mut i32,
    remote: *mut *mut SOCKADDR,
    remote_size: *mut i32,
) {
    guard::contain("GetAcceptExSockaddrs", || {
        let Ok(base) = guard::bytes_mut(
            output.cast::<u8>().cast_mut(),
            (receive_len + local_len) as usize + 2,
        ) else {
            return;
        };
        // SAFETY: the caller's output buffer holds the receive area and
        // both slots, as it did for AcceptEx.
        let slots = unsafe {
            [
                (base.add(receive_len as usize), local, local_size),
                (
                    base.add((receive_len + local_len) as usize),
                    remote,
                    remote_size,
                ),
            ]
        };
        for (slot, at, size) in slots {
            // SAFETY: each slot starts with a sockaddr's family.
            let family = unsafe { slot.cast::<u16>().read_unaligned() };
            let len = match family {
                super::super::abi::AF_INET => 16,
                super::super::abi::AF_INET6 => 28,
                _ => 0,
            };
            if let (Ok(at), Ok(size)) = (guard::valid(at), guard::valid(size)) {
                // SAFETY: checked, and the caller's out-parameters.
                unsafe {
                    at.write(if len == 0 {
                        std::ptr::null_mut()
                    } else {
                        slot.cast()
                    });
                    size.write(len);
                }
            }
        }
    });
}

/// `ConnectEx`: an overlapped connect of a bound stream socket, then, in
/// the same operation, a send of the send buffer if one is given
/// ([`Provider::connect_and_send`](crate::Provider::connect_and_send));
/// the completion's bytes (and `*lpdwBytesSent` when it ends at once) are
/// the bytes sent. Once connected, `SO_UPDATE_CONNECT_CONTEXT` is accepted
/// and changes nothing (the socket is whole already).
///
/// # Safety
/// As `LPFN_CONNECTEX` documents the arguments.
unsafe extern "system" fn connect_ex<D: Exported>(
    s: SOCKET,
    name: *const SOCKADDR,
    namelen: i32,
    send: *const core::ffi::c_void,
    send_len: u32,
    sent: *mut u32,
    overlapped: *mut WSAOVERLAPPED,
) -> BOOL {
    // SAFETY: the arguments are the caller's, as the function's page
    // documents them.
    unsafe {
        extension::<D>("ConnectEx", |dll| {
            let h = dll.handle(s)?;
            if overlapped.is_null() {
                return Err(WsaError::InvalidArgument);
            }
            let data = if send_len == 0 {
                Vec::new()
            } else {
                let len = send_len as usize;
                std::slice::from_raw_parts(guard::bytes(send.cast(), len)?, len).to_vec()
            };
            let addr = sockaddr::read(name, namelen, dll.provider.address_family(h)?)?;
            let carried = carry(dll, s, OverlappedArgs::without_routine(overlapped), None)?;
            let mut bytes = 0;
            submit(carried, |ov| {
                let ov = ov.ok_or(WsaError::InvalidArgument)?;
                let record = ov.overlapped.clone();
                dll.provider.connect_and_send(h, addr, data, ov)?;
                bytes = record.outcome().map_or(0, |o| o.bytes);
                Ok(())
            })?;
            if let Some(sent) = guard::optional(sent)? {
                sent.write(u32::try_from(bytes).unwrap_or(u32::MAX));
            }
            Ok(())
        })
    }
}
