//! Creating, naming, connecting and closing sockets.

use super::super::abi::{
    FROM_PROTOCOL_INFO, INVALID_SOCKET, IPPROTO_TCP, IPPROTO_UDP, LPCONDITIONPROC, QOS, SOCK_DGRAM,
    SOCK_STREAM, SOCKADDR, SOCKET, SOCKET_ERROR, WSABUF, WSAPROTOCOL_INFOW,
};
use super::super::dll::{Exported, ProviderOf};
use super::super::guard::{self, checked_mut};
use super::super::protocol_info;
use super::super::sockaddr;
use super::run;
use crate::{
    AddressFamily, Provider, ServiceFlags, SocketFlags, SocketHandle, SocketKind, WsaError,
    WsaResult,
};
use std::net::SocketAddr;

/// `af`, `type` and `protocol` of `WSPSocket` resolved to a family and a
/// socket kind (`FROM_PROTOCOL_INFO` and 0 take the protocol entry's
/// values; `af` 0 without an entry is `AF_INET`).
fn kind_of(
    af: i32,
    ty: i32,
    protocol: i32,
    info: Option<&WSAPROTOCOL_INFOW>,
    offered: ServiceFlags,
) -> WsaResult<(AddressFamily, SocketKind)> {
    let from_info = |v: i32, pick: fn(&WSAPROTOCOL_INFOW) -> i32| -> WsaResult<i32> {
        match (v, info) {
            (FROM_PROTOCOL_INFO, Some(i)) | (0, Some(i)) => Ok(pick(i)),
            (FROM_PROTOCOL_INFO, None) => Err(WsaError::Fault),
            (v, _) => Ok(v),
        }
    };
    let family = match from_info(af, |i| i.iAddressFamily)? {
        0 => AddressFamily::Inet,
        af => AddressFamily::from_code(af)?,
    };
    let ty = from_info(ty, |i| i.iSocketType)?;
    let protocol = from_info(protocol, |i| i.iProtocol)?;
    let kind = match (ty, protocol) {
        (SOCK_STREAM, 0 | IPPROTO_TCP) | (0, IPPROTO_TCP) => SocketKind::Stream,
        (SOCK_DGRAM, 0 | IPPROTO_UDP) | (0, IPPROTO_UDP) => SocketKind::Datagram,
        (SOCK_STREAM | SOCK_DGRAM, IPPROTO_TCP | IPPROTO_UDP) => {
            return Err(WsaError::ProtocolType);
        }
        (SOCK_STREAM | SOCK_DGRAM, _) => return Err(WsaError::ProtocolNotSupported),
        _ => return Err(WsaError::SocketTypeNotSupported),
    };
    let needs = match kind {
        SocketKind::Stream => ServiceFlags::GUARANTEED_DELIVERY,
        SocketKind::Datagram => ServiceFlags::CONNECTIONLESS,
    };
    if !offered.contains(needs) {
        return Err(WsaError::SocketTypeNotSupported);
    }
    Ok((family, kind))
}

/// `WSPSocket`: a core socket with a host handle from
/// `WPUCreateSocketHandle` (its context is the core's handle). Groups and
/// multipoint are not offered: `WSAEINVAL`.
///
/// # Safety
/// `info` null or readable; `lp_errno` null or writable.
pub(crate) unsafe extern "system" fn socket<D: Exported>(
    af: i32,
    ty: i32,
    protocol: i32,
    info: *const WSAPROTOCOL_INFOW,
    group: u32,
    flags: u32,
    lp_errno: *mut i32,
) -> SOCKET {
    // SAFETY: the caller's promise.
    unsafe {
        run::<D, _>("WSPSocket", lp_errno, INVALID_SOCKET, |dll| {
            // SAFETY (the closure): the caller's promise; checked first.
            let info = guard::optional(info.cast_mut())?.map(|info| &*info);
            let flags = SocketFlags::from_bits(flags)
                .filter(|f| {
                    !f.intersects(
                        SocketFlags::MULTIPOINT_C_ROOT
                            | SocketFlags::MULTIPOINT_C_LEAF
                            | SocketFlags::MULTIPOINT_D_ROOT
                            | SocketFlags::MULTIPOINT_D_LEAF,
                    )
                })
                .ok_or(WsaError::InvalidArgument)?;
            if group != 0 {
                return Err(WsaError::InvalidArgument);
            }
            // The host handle is made before the socket is published in
            // the core's table: a final cleanup or a close on another
            // thread finds both or neither (S6d, S6f). A host out of
            // handles fails the call, which leaves nothing (S13).
            let catalog = info.map(|i| i.dwCatalogEntryId);
            let made = std::cell::Cell::new(INVALID_SOCKET);
            let prepare = |h| {
                made.set(dll.host.create_handle(h, catalog)?);
                Ok(())
            };
            // A duplicate's protocol info carries its token (spec §14):
            // the new handle is another one of that socket.
            match info.map(|i| i.dwProviderReserved).filter(|&t| t != 0) {
                Some(token) => {
                    // A claim that fails gives the host's handle back.
                    let claimed = dll
                        .provider
                        .socket_from_duplicate_prepared(token, flags, prepare);
                    if let Err((e, made_for)) = claimed {
                        if let Some(h) = made_for {
                            dll.host.handle_released_unused(h);
                        }
                        return Err(e);
                    }
                }
                None => {
                    let (family, kind) = kind_of(af, ty, protocol, info, dll.config.service_flags)?;
                    dll.provider.socket_prepared(family, kind, flags, prepare)?;
                }
            }
            Ok(made.get())
        })
    }
}

/// `WSPDuplicateSocket` (spec §14): fills `info` with the socket's
/// `WSAPROTOCOL_INFOW` for the process `process`, its `dwProviderReserved`
/// the duplicate's token; that process's `WSPSocket` with it claims the
/// duplicate, once ([`Provider::duplicate_socket`](crate::Provider::duplicate_socket)).
/// A transport that cannot share sockets answers `WSAEOPNOTSUPP`.
///
/// # Safety
/// As the SPI documents the arguments.
pub(crate) unsafe extern "system" fn duplicate_socket<D: Exported>(
    s: SOCKET,
    process: u32,
    info: *mut WSAPROTOCOL_INFOW,
    lp_errno: *mut i32,
) -> i32 {
    // SAFETY: the caller's promise.
    unsafe {
        run::<D, _>("WSPDuplicateSocket", lp_errno, SOCKET_ERROR, |dll| {
            let h = dll.handle(s)?;
            let out = checked_mut(info)?;
            let dup = dll.provider.duplicate_socket(h, process)?;
            let mut filled = protocol_info::encode(&dup.info);
            filled.dwProviderReserved = dup.token;
            *out = filled;
            Ok(0)
        })
    }
}

/// `WSPBind` (port 0: an ephemeral port).
///
/// # Safety
/// `name` null or readable for `namelen` bytes; `lp_errno` null or writable.
pub(crate) unsafe extern "system" fn bind<D: Exported>(
    s: SOCKET,
    name: *const SOCKADDR,
    namelen: i32,
    lp_errno: *mut i32,
) -> i32 {
    // SAFETY: the caller's promise.
    unsafe {
        run::<D, _>("WSPBind", lp_errno, SOCKET_ERROR, |dll| {
            let h = dll.handle(s)?;
            let addr = sockaddr::read(name, namelen, dll.provider.address_family(h)?)?;
            dll.provider.bind(h, addr).map(|_| 0)
        })
    }
}

/// `WSPListen` (a negative backlog counts as 0).
///
/// # Safety
/// `lp_errno` null or writable.
pub(crate) unsafe extern "system" fn listen<D: Exported>(
    s: SOCKET,
    backlog: i32,
    lp_errno: *mut i32,
) -> i32 {
    // SAFETY: the caller's promise.
    unsafe {
        run::<D, _>("WSPListen", lp_errno, SOCKET_ERROR, |dll| {
            let h = dll.handle(s)?;
            dll.provider.listen(h, backlog.max(0) as u32).map(|()| 0)
        })
    }
}

/// `WSPAccept`. A condition function is not offered: `WSAEOPNOTSUPP`.
/// `addr` and `addrlen` are optional: the peer's address is written only
/// when both are given (Windows accepts the connection and writes no
/// address when `addrlen` is null). The address buffer is checked before a
/// connection is taken, so a bad one loses nothing (S13).
///
/// # Safety
/// `addr` null or writable for `*addrlen` bytes; `addrlen` null or
/// writable; `lp_errno` null or writable.
pub(crate) unsafe extern "system" fn accept<D: Exported>(
    s: SOCKET,
    addr: *mut SOCKADDR,
    addrlen: *mut i32,
    condition: LPCONDITIONPROC,
    _callback_data: usize,
    lp_errno: *mut i32,
) -> SOCKET {
    // SAFETY: the caller's promise.
    unsafe {
        run::<D, _>("WSPAccept", lp_errno, INVALID_SOCKET, |dll| {
            let h = dll.handle(s)?;
            if condition.is_some() {
                return Err(WsaError::OperationNotSupported);
            }
            let address_out = match (guard::optional(addr)?, guard::optional(addrlen)?) {
                (Some(addr), Some(addrlen)) => {
                    guard::bytes_mut(addr.cast(), (*addrlen).max(0) as usize)?;
                    if *addrlen < 16 {
                        return Err(WsaError::Fault);
                    }
                    Some((addr, addrlen))
                }
                _ => None,
            };
            // The host handle is made before a connection is taken, so a
            // host out of handles loses no connection (S13).
            let made = std::cell::Cell::new(None);
            let accepted = dll.provider.accept_prepared(h, |new| {
                made.set(Some((new, dll.host.create_handle(new, None)?)));
                Ok(())
            });
            let (new_s, peer) = match (accepted, made.get()) {
                (Ok((_, peer)), Some((_, new_s))) => (new_s, peer),
                (Err(e), Some((new, _))) => {
                    dll.host.handle_released_unused(new);
                    return Err(e);
                }
                (Err(e), None) => return Err(e),
                // `accept_prepared` calls `prepare` before it can succeed.
                (Ok(_), None) => return Err(WsaError::SystemCallFailure),
            };
            if let Some((addr, addrlen)) = address_out {
                // Checked above: cannot fail.
                sockaddr::write(peer, addr, addrlen)?;
            }
            Ok(new_s)
        })
    }
}

/// `WSPConnect`. Connect data and QOS are not offered: `WSAEOPNOTSUPP` when
/// given; `lpCalleeData` comes back empty.
///
/// # Safety
/// `name` readable for `namelen` bytes; the optional pointers null or valid;
/// `lp_errno` null or writable.
#[allow(clippy::too_many_arguments)] // The SPI's signature.
pub(crate) unsafe extern "system" fn connect<D: Exported>(
    s: SOCKET,
    name: *const SOCKADDR,
    namelen: i32,
    caller_data: *const WSABUF,
    callee_data: *mut WSABUF,
    sqos: *const QOS,
    gqos: *const QOS,
    lp_errno: *mut i32,
) -> i32 {
    // SAFETY: the caller's promise.
    unsafe {
        run::<D, _>("WSPConnect", lp_errno, SOCKET_ERROR, |dll| {
            let h = dll.handle(s)?;
            let addr = sockaddr::read_name(name, namelen, dll.provider.address_family(h)?)?;
            if let Some(data) = guard::optional(caller_data.cast_mut())?
                && (*data).len > 0
            {
                return Err(WsaError::OperationNotSupported);
            }
            if !sqos.is_null() || !gqos.is_null() {
                return Err(WsaError::OperationNotSupported);
            }
            let callee = guard::optional(callee_data)?;
            match addr {
                sockaddr::Name::Addr(addr) => dll.provider.connect(h, addr)?,
                sockaddr::Name::Unspecified => dll.provider.connect_unspecified(h)?,
            }
            if let Some(c) = callee {
                (*c).len = 0;
            }
            Ok(0)
        })
    }
}

/// `WSPCloseSocket`, with every linger mode (S7); the host handle is given
/// back with `WPUCloseSocketHandle`.
///
/// # Safety
/// `lp_errno` null or writable.
pub(crate) unsafe extern "system" fn close_socket<D: Exported>(
    s: SOCKET,
    lp_errno: *mut i32,
) -> i32 {
    // SAFETY: the caller's promise.
    unsafe {
        run::<D, _>("WSPCloseSocket", lp_errno, SOCKET_ERROR, |dll| {
            let h = dll.handle(s)?;
            dll.provider.close_socket(h).map(|()| 0)
        })
    }
}

/// `WSPShutdown` (S8).
///
/// # Safety
/// `lp_errno` null or writable.
pub(crate) unsafe extern "system" fn shutdown<D: Exported>(
    s: SOCKET,
    how: i32,
    lp_errno: *mut i32,
) -> i32 {
    // SAFETY: the caller's promise.
    unsafe {
        run::<D, _>("WSPShutdown", lp_errno, SOCKET_ERROR, |dll| {
            let h = dll.handle(s)?;
            dll.provider.shutdown(h, how).map(|()| 0)
        })
    }
}

/// `WSPRecvDisconnect`: `WSPShutdown(SD_RECEIVE)`, never blocking and
/// freeing nothing. A buffer for the peer's disconnect data is
/// `WSAENOPROTOOPT`: this provider's protocols carry none (the SPI page's
/// answer for a family without disconnect data).
///
/// # Safety
/// `data` null or a readable `WSABUF`; `lp_errno` null or writable.
pub(crate) unsafe extern "system" fn recv_disconnect<D: Exported>(
    s: SOCKET,
    data: *const WSABUF,
    lp_errno: *mut i32,
) -> i32 {
    // SAFETY: the caller's promise.
    unsafe { disconnect::<D>("WSPRecvDisconnect", s, data, 0, lp_errno) }
}

/// `WSPSendDisconnect`: `WSPShutdown(SD_SEND)` (the peer sees the end),
/// never blocking and freeing nothing. Disconnect data is
/// `WSAENOPROTOOPT`: given but not supported (the SPI page's answer).
///
/// # Safety
/// `data` null or a readable `WSABUF`; `lp_errno` null or writable.
pub(crate) unsafe extern "system" fn send_disconnect<D: Exported>(
    s: SOCKET,
    data: *const WSABUF,
    lp_errno: *mut i32,
) -> i32 {
    // SAFETY: the caller's promise.
    unsafe { disconnect::<D>("WSPSendDisconnect", s, data, 1, lp_errno) }
}

/// The body of both disconnects: the handle first (S4, S13), then the
/// data's refusal, then the shutdown `how`.
///
/// # Safety
/// As the disconnects.
unsafe fn disconnect<D: Exported>(
    name: &str,
    s: SOCKET,
    data: *const WSABUF,
    how: i32,
    lp_errno: *mut i32,
) -> i32 {
    // SAFETY: the caller's promise.
    unsafe {
        run::<D, _>(name, lp_errno, SOCKET_ERROR, |dll| {
            let h = dll.handle(s)?;
            if guard::optional(data.cast_mut())?.is_some() {
                return Err(WsaError::ProtocolOption);
            }
            dll.provider.shutdown(h, how).map(|()| 0)
        })
    }
}

/// The body of `WSPGetSockName` and `WSPGetPeerName`: `address` of the
/// socket, written to the caller's buffer.
///
/// # Safety
/// As [`get_sock_name`].
unsafe fn write_name<D: Exported>(
    entry: &str,
    s: SOCKET,
    name: *mut SOCKADDR,
    namelen: *mut i32,
    lp_errno: *mut i32,
    address: fn(&ProviderOf<D>, SocketHandle) -> WsaResult<SocketAddr>,
) -> i32 {
    // SAFETY: the caller's promise.
    unsafe {
        run::<D, _>(entry, lp_errno, SOCKET_ERROR, |dll| {
            let h = dll.handle(s)?;
            sockaddr::write(address(&dll.provider, h)?, name, namelen).map(|()| 0)
        })
    }
}

/// `WSPGetSockName`.
///
/// # Safety
/// `name` writable for `*namelen` bytes; `namelen`, `lp_errno` writable.
pub(crate) unsafe extern "system" fn get_sock_name<D: Exported>(
    s: SOCKET,
    name: *mut SOCKADDR,
    namelen: *mut i32,
    lp_errno: *mut i32,
) -> i32 {
    // SAFETY: the caller's promise.
    unsafe {
        write_name::<D>(
            "WSPGetSockName",
            s,
            name,
            namelen,
            lp_errno,
            Provider::local_addr,
        )
    }
}

/// `WSPGetPeerName`.
///
/// # Safety
/// As [`get_sock_name`].
pub(crate) unsafe extern "system" fn get_peer_name<D: Exported>(
    s: SOCKET,
    name: *mut SOCKADDR,
    namelen: *mut i32,
    lp_errno: *mut i32,
) -> i32 {
    // SAFETY: the caller's promise.
    unsafe {
        write_name::<D>(
            "WSPGetPeerName",
            s,
            name,
            namelen,
            lp_errno,
            Provider::peer_addr,
        )
    }
}
