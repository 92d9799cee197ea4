//! Extension functions (spec §14): what `SIO_GET_EXTENSION_FUNCTION_POINTER`
//! hands out. Each is the provider's own, an operation in its core like
//! any other (close and the final cleanup end it, S6c, S7, S10).
//!
//! Handed out: `ConnectEx`. Other GUIDs (`AcceptEx`, `DisconnectEx`,
//! `GetAcceptExSockaddrs`, `TransmitFile`, `TransmitPackets`,
//! `WSARecvMsg`, `WSASendMsg`) are `WSAEINVAL`, as an unknown GUID is.
//!
//! They return `FALSE` with the error left for `WSAGetLastError` (the
//! thread's last error; a host that is not ws2_32 reads it with the
//! `WSPLastError` export); `ERROR_IO_PENDING` (997) when the operation
//! will end later.

use super::super::abi::{SOCKADDR, SOCKET, WSAOVERLAPPED};
use super::super::dll::Exported;
use super::super::guard;
use super::super::inflight::carry::{OverlappedArgs, carry, submit};
use super::super::last_error;
use super::super::sockaddr;
use crate::WsaError;
use windows_sys::core::{BOOL, GUID};

/// `WSAID_CONNECTEX`: {25a207b9-ddf3-4660-8ee9-76e58c74063e}.
const WSAID_CONNECTEX: GUID = GUID {
    data1: 0x25a2_07b9,
    data2: 0xddf3,
    data3: 0x4660,
    data4: [0x8e, 0xe9, 0x76, 0xe5, 0x8c, 0x74, 0x06, 0x3e],
};

fn same(a: &GUID, b: &GUID) -> bool {
    (a.data1, a.data2, a.data3, a.data4) == (b.data1, b.data2, b.data3, b.data4)
}

/// The provider's function for `guid` (its address), or `WSAEINVAL`.
pub(super) fn pointer_for<D: Exported>(guid: &GUID) -> Result<usize, WsaError> {
    if same(guid, &WSAID_CONNECTEX) {
        let f: unsafe extern "system" fn(
            SOCKET,
            *const SOCKADDR,
            i32,
            *const core::ffi::c_void,
            u32,
            *mut u32,
            *mut WSAOVERLAPPED,
        ) -> BOOL = connect_ex::<D>;
        return Ok(f as usize);
    }
    Err(WsaError::InvalidArgument)
}

/// `ConnectEx`: an overlapped connect of a bound stream socket
/// ([`Provider::connect_overlapped`](crate::Provider::connect_overlapped)).
/// Data to send once connected is not offered: a send buffer is
/// `WSAEOPNOTSUPP` (send after the connect ends instead). Once connected,
/// `SO_UPDATE_CONNECT_CONTEXT` is accepted and changes nothing (the socket
/// is whole already).
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
    let mut errno = 0;
    // SAFETY: `errno` is a live local; the arguments are the caller's.
    let r = unsafe {
        guard::boundary(
            "ConnectEx",
            &mut errno,
            0,
            WsaError::SystemCallFailure,
            || {
                let dll = D::dll();
                let _inside = dll.provider.enter()?;
                let h = dll.handle(s)?;
                if overlapped.is_null() {
                    return Err(WsaError::InvalidArgument);
                }
                if !send.is_null() && send_len > 0 {
                    return Err(WsaError::OperationNotSupported);
                }
                let addr = sockaddr::read(name, namelen, dll.provider.address_family(h)?)?;
                let args = OverlappedArgs {
                    overlapped,
                    routine: None,
                    thread: std::ptr::null(),
                };
                let carried = carry(dll, s, args, None)?;
                let r = submit(carried, |ov| {
                    let ov = ov.ok_or(WsaError::InvalidArgument)?;
                    dll.provider.connect_overlapped(h, addr, ov)
                });
                super::after_call(dll);
                r?;
                if let Some(sent) = guard::optional(sent)? {
                    sent.write(0);
                }
                Ok(1)
            },
        )
    };
    if r == 0 {
        last_error::set(WsaError::from_code(errno).unwrap_or(WsaError::SystemCallFailure));
    }
    r
}
