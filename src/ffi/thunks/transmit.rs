//! `TransmitFile` and `TransmitPackets`, the transmission extension
//! functions (spec §14): what they send (memory buffers and file ranges,
//! in order) is gathered here, then sent as one operation in the core
//! ([`Provider::transmit`](crate::Provider::transmit)): blocking or
//! overlapped as the call is (told once, S9, S10; a close aborts it, S7;
//! silent at the final cleanup, S6c), with `TF_DISCONNECT` shutting down
//! the sending once it has succeeded.
//!
//! What is and is not offered:
//! - connected stream sockets only (a datagram socket is
//!   `WSAEOPNOTSUPP`, a socket that is not connected `WSAENOTCONN`);
//! - `TF_REUSE_SOCKET` is `WSAEOPNOTSUPP`, as for `DisconnectEx`;
//!   `TF_WRITE_BEHIND` and the worker hints (`TF_USE_SYSTEM_THREAD`,
//!   `TF_USE_KERNEL_APC`) are accepted and change nothing; any other flag
//!   is `WSAEINVAL`; the send-size hints are ignored;
//! - files are read with `ReadFile` (Windows; elsewhere a file is
//!   `WSAEOPNOTSUPP`), from the `OVERLAPPED`'s offset for an overlapped
//!   `TransmitFile`, else from the file's position; the whole
//!   transmission is gathered in memory first, and one the process cannot
//!   hold is `WSAENOBUFS`.

use super::super::abi::{SOCKET, TransmitPacketsElement, WSAOVERLAPPED};
use super::super::dll::Exported;
use super::super::file::{self, From};
use super::super::guard;
use super::super::inflight::carry::{OverlappedArgs, carry, submit};
use super::extensions::extension;
use crate::{WsaError, WsaResult};
use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::Networking::WinSock::{
    TF_DISCONNECT, TF_REUSE_SOCKET, TF_USE_KERNEL_APC, TF_USE_SYSTEM_THREAD, TF_WRITE_BEHIND,
    TP_ELEMENT_EOP, TP_ELEMENT_FILE, TP_ELEMENT_MEMORY, TRANSMIT_FILE_BUFFERS,
};
use windows_sys::core::BOOL;

/// `LPFN_TRANSMITPACKETS`.
pub(super) type TransmitPacketsFn = unsafe extern "system" fn(
    SOCKET,
    *const TransmitPacketsElement,
    u32,
    u32,
    *mut WSAOVERLAPPED,
    u32,
) -> BOOL;

/// The most `TransmitFile` sends in one call (its page: 2^31 - 2).
const MAX_TRANSMIT: u32 = 0x7FFF_FFFE;

/// `TF_DISCONNECT` from the flags (the `TP_` values are the same bits):
/// `WSAEOPNOTSUPP` for `TF_REUSE_SOCKET`, `WSAEINVAL` for an unknown bit.
fn disconnect_of(flags: u32) -> WsaResult<bool> {
    let known = TF_DISCONNECT
        | TF_REUSE_SOCKET
        | TF_WRITE_BEHIND
        | TF_USE_SYSTEM_THREAD
        | TF_USE_KERNEL_APC;
    if flags & !known != 0 {
        return Err(WsaError::InvalidArgument);
    }
    if flags & TF_REUSE_SOCKET != 0 {
        return Err(WsaError::OperationNotSupported);
    }
    Ok(flags & TF_DISCONNECT != 0)
}

/// Appends `len` bytes at `at` (the application's) to `out`.
///
/// # Safety
/// `at` readable for `len` bytes when not null.
unsafe fn append(out: &mut Vec<u8>, at: *const core::ffi::c_void, len: u32) -> WsaResult<()> {
    if len == 0 {
        return Ok(());
    }
    let len = len as usize;
    let bytes = guard::bytes(at.cast(), len)?;
    out.try_reserve(len).map_err(|_| WsaError::NoBufferSpace)?;
    // SAFETY: checked just above; the caller's promise.
    out.extend_from_slice(unsafe { std::slice::from_raw_parts(bytes, len) });
    Ok(())
}

/// Sends `data` on `s` as one transmission, overlapped when `overlapped`
/// is not null.
///
/// # Safety
/// `overlapped` as the functions' pages document it.
unsafe fn send<D: Exported>(
    dll: &super::super::dll::Dll<D>,
    s: SOCKET,
    data: Vec<u8>,
    disconnect: bool,
    overlapped: *mut WSAOVERLAPPED,
) -> WsaResult<()> {
    let h = dll.handle(s)?;
    // SAFETY: the caller's promise.
    let carried = unsafe { carry(dll, s, OverlappedArgs::without_routine(overlapped), None) }?;
    submit(carried, |ov| dll.provider.transmit(h, data, disconnect, ov)).map(|_| ())
}

/// `TransmitFile`: the head buffer, then `bytes` bytes of `file` (0: to
/// its end; a null `file`: none), then the tail buffer, as one send.
///
/// # Safety
/// As `LPFN_TRANSMITFILE` documents the arguments.
pub(super) unsafe extern "system" fn transmit_file<D: Exported>(
    s: SOCKET,
    file: HANDLE,
    bytes: u32,
    _per_send: u32,
    overlapped: *mut WSAOVERLAPPED,
    buffers: *const TRANSMIT_FILE_BUFFERS,
    flags: u32,
) -> BOOL {
    extension::<D>("TransmitFile", |dll| {
        dll.handle(s)?;
        let disconnect = disconnect_of(flags)?;
        if bytes > MAX_TRANSMIT {
            return Err(WsaError::InvalidArgument);
        }
        // SAFETY: checked (not null, aligned); the caller's struct.
        let buffers = guard::optional(buffers.cast_mut())?.map(|b| unsafe { *b });
        let mut data = Vec::new();
        if let Some(b) = buffers {
            // SAFETY: the caller's head buffer.
            unsafe { append(&mut data, b.Head, b.HeadLength) }?;
        }
        if !file.is_null() {
            // An overlapped TransmitFile reads from the OVERLAPPED's offset.
            let from = match guard::optional(overlapped)? {
                // SAFETY: checked; the caller's record.
                Some(ov) => From::Offset(unsafe {
                    let o = (*ov).Anonymous.Anonymous;
                    u64::from(o.Offset) | (u64::from(o.OffsetHigh) << 32)
                }),
                None => From::Current,
            };
            let len = (bytes > 0).then_some(u64::from(bytes));
            // SAFETY: the application's file handle.
            unsafe { file::read(file, from, len, &mut data) }?;
        }
        if let Some(b) = buffers {
            // SAFETY: the caller's tail buffer.
            unsafe { append(&mut data, b.Tail, b.TailLength) }?;
        }
        // SAFETY: the caller's promise.
        unsafe { send(dll, s, data, disconnect, overlapped) }
    })
}

/// `TransmitPackets`: each element in order, memory (`TP_ELEMENT_MEMORY`:
/// `cLength` bytes at `pBuffer`) or a file range (`TP_ELEMENT_FILE`:
/// `cLength` bytes, 0 to the end, from `nFileOffset`, -1 for the file's
/// position), as one send. An element that is neither is `WSAEINVAL`;
/// `TP_ELEMENT_EOP` changes nothing on a stream.
///
/// # Safety
/// As `LPFN_TRANSMITPACKETS` documents the arguments.
pub(super) unsafe extern "system" fn transmit_packets<D: Exported>(
    s: SOCKET,
    elements: *const TransmitPacketsElement,
    count: u32,
    _send_size: u32,
    overlapped: *mut WSAOVERLAPPED,
    flags: u32,
) -> BOOL {
    extension::<D>("TransmitPackets", |dll| {
        dll.handle(s)?;
        let disconnect = disconnect_of(flags)?;
        let elements: &[TransmitPacketsElement] = if count == 0 {
            &[]
        } else {
            let first = guard::valid(elements.cast_mut())?;
            guard::bytes(
                first.cast(),
                count as usize * size_of::<TransmitPacketsElement>(),
            )?;
            // SAFETY: checked for `count` elements; the caller's array.
            unsafe { std::slice::from_raw_parts(first, count as usize) }
        };
        let mut data = Vec::new();
        for e in elements {
            let kind = e.flags & (TP_ELEMENT_MEMORY | TP_ELEMENT_FILE);
            if e.flags & !(TP_ELEMENT_MEMORY | TP_ELEMENT_FILE | TP_ELEMENT_EOP) != 0 {
                return Err(WsaError::InvalidArgument);
            }
            if kind == TP_ELEMENT_MEMORY {
                // SAFETY: the memory element's buffer, the caller's.
                unsafe { append(&mut data, e.element.buffer, e.length) }?;
            } else if kind == TP_ELEMENT_FILE {
                // SAFETY: a file element's fields, the caller's.
                let (offset, handle) = unsafe { (e.element.file.offset, e.element.file.file) };
                let from = match offset {
                    -1 => From::Current,
                    at => From::Offset(u64::try_from(at).map_err(|_| WsaError::InvalidArgument)?),
                };
                let len = (e.length > 0).then_some(u64::from(e.length));
                // SAFETY: the application's file handle.
                unsafe { file::read(handle, from, len, &mut data) }?;
            } else {
                return Err(WsaError::InvalidArgument);
            }
        }
        // SAFETY: the caller's promise.
        unsafe { send(dll, s, data, disconnect, overlapped) }
    })
}
