//! The ws2spi.h types the shim speaks, and compile-time checks that their
//! layouts are the ones the SPI fixes (spec §8).

pub use windows_sys::Win32::Networking::WinSock::{
    AF_INET, AF_INET6, AF_UNSPEC, FIONBIO, FIONREAD, INVALID_SOCKET, IPPROTO_TCP, IPPROTO_UDP,
    LINGER, LPCONDITIONPROC, LPWSAOVERLAPPED_COMPLETION_ROUTINE, LPWSPSTARTUP, QOS, SO_DONTLINGER,
    SO_ERROR, SO_LINGER, SO_RCVBUF, SO_SNDBUF, SO_TYPE, SOCK_DGRAM, SOCK_STREAM, SOCKADDR,
    SOCKADDR_IN, SOCKADDR_IN6, SOCKET, SOCKET_ERROR, SOL_SOCKET, WSABUF, WSAMSG, WSANETWORKEVENTS,
    WSAPROTOCOL_INFOW, WSAPROTOCOLCHAIN, WSATHREADID, WSPDATA, WSPPROC_TABLE, WSPUPCALLTABLE,
};
pub use windows_sys::Win32::System::IO::OVERLAPPED as WSAOVERLAPPED;

/// `TRANSMIT_PACKETS_ELEMENT` (mswsock.h): 24 bytes on every Windows
/// target, its union at 8. Declared here rather than taken from
/// windows-sys, whose `i64` is only 4-aligned on 32-bit Unix targets (the
/// C hosts' 32-bit Linux build passes Windows' layout).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct TransmitPacketsElement {
    /// `dwElFlags`: `TP_ELEMENT_MEMORY`, `TP_ELEMENT_FILE`, `TP_ELEMENT_EOP`.
    pub flags: u32,
    /// `cLength`: the bytes to send (0 for a file: to its end).
    pub length: u32,
    /// The buffer or the file range.
    pub element: PacketSource,
}

/// The union of a [`TransmitPacketsElement`].
#[repr(C)]
#[derive(Clone, Copy)]
pub union PacketSource {
    /// `TP_ELEMENT_FILE`: `nFileOffset` and `hFile`.
    pub file: FileRange,
    /// `TP_ELEMENT_MEMORY`: `pBuffer`.
    pub buffer: *mut core::ffi::c_void,
}

/// A file range of a [`TransmitPacketsElement`]: `LARGE_INTEGER
/// nFileOffset` (-1: the file's position), `HANDLE hFile`.
#[repr(C, align(8))]
#[derive(Clone, Copy)]
pub struct FileRange {
    /// `nFileOffset`.
    pub offset: i64,
    /// `hFile`.
    pub file: windows_sys::Win32::Foundation::HANDLE,
}

/// `FROM_PROTOCOL_INFO`: take the address family, type or protocol from the
/// `WSAPROTOCOL_INFOW` passed to `WSPSocket`.
pub const FROM_PROTOCOL_INFO: i32 = -1;

/// `WPUCompleteOverlappedRequest`, which `ws2_32.dll` exports (it is not in
/// the upcall table). A host that is not ws2_32 hands one to the DLL through
/// its `WSPSetCompletionUpcall` export.
pub type CompleteOverlappedFn = unsafe extern "system" fn(
    s: SOCKET,
    overlapped: *mut WSAOVERLAPPED,
    error: u32,
    transferred: u32,
    errno: *mut i32,
) -> i32;

/// A completion routine (`LPWSAOVERLAPPED_COMPLETION_ROUTINE` without the
/// `Option`).
pub type CompletionRoutine = unsafe extern "system" fn(
    error: u32,
    transferred: u32,
    overlapped: *mut WSAOVERLAPPED,
    flags: u32,
);

/// `STATUS_SUCCESS`, `STATUS_CANCELLED` and `STATUS_UNSUCCESSFUL`: the
/// `Internal` of a finished `WSAOVERLAPPED` when the shim writes it itself.
pub const STATUS_SUCCESS: usize = 0;
/// See [`STATUS_SUCCESS`].
pub const STATUS_CANCELLED: usize = 0xC000_0120;
/// See [`STATUS_SUCCESS`].
pub const STATUS_UNSUCCESSFUL: usize = 0xC000_0001;
/// `STATUS_BUFFER_OVERFLOW`: a receive that filled the buffer with the
/// first part of a datagram and dropped the rest (`WSAEMSGSIZE`, spec §16).
pub const STATUS_BUFFER_OVERFLOW: usize = 0x8000_0005;

use core::mem::{align_of, offset_of, size_of};

/// `P` of the spec: the size of a pointer.
const P: usize = size_of::<usize>();

/// `WSS_OPERATION_IN_PROGRESS`: `Internal` of a pending `WSAOVERLAPPED`.
pub const WSS_OPERATION_IN_PROGRESS: usize = 0x103;

// WSPDATA: 516 bytes, align 2; szDescription at 4.
const _: () = assert!(size_of::<WSPDATA>() == 516 && align_of::<WSPDATA>() == 2);
const _: () = assert!(offset_of!(WSPDATA, szDescription) == 4);
// WSAPROTOCOL_INFOW: 628 bytes, align 4.
const _: () =
    assert!(size_of::<WSAPROTOCOL_INFOW>() == 628 && align_of::<WSAPROTOCOL_INFOW>() == 4);
const _: () = assert!(offset_of!(WSAPROTOCOL_INFOW, ProviderId) == 20);
const _: () = assert!(offset_of!(WSAPROTOCOL_INFOW, dwCatalogEntryId) == 36);
const _: () = assert!(offset_of!(WSAPROTOCOL_INFOW, ProtocolChain) == 40);
const _: () = assert!(offset_of!(WSAPROTOCOL_INFOW, iVersion) == 72);
const _: () = assert!(offset_of!(WSAPROTOCOL_INFOW, iAddressFamily) == 76);
const _: () = assert!(offset_of!(WSAPROTOCOL_INFOW, iSocketType) == 88);
const _: () = assert!(offset_of!(WSAPROTOCOL_INFOW, iProtocol) == 92);
const _: () = assert!(offset_of!(WSAPROTOCOL_INFOW, dwMessageSize) == 108);
const _: () = assert!(offset_of!(WSAPROTOCOL_INFOW, szProtocol) == 116);
const _: () = assert!(size_of::<WSAPROTOCOLCHAIN>() == 32);
// WSAMSG (ws2def.h): 56 bytes on 64-bit, 28 on 32-bit; `Control` at 4 pointers.
const _: () = assert!(size_of::<WSAMSG>() == if P == 8 { 56 } else { 28 });
const _: () = assert!(offset_of!(WSAMSG, Control) == 4 * P);
// TRANSMIT_PACKETS_ELEMENT (mswsock.h): 24 bytes on every target (the
// union holds an 8-aligned LARGE_INTEGER), the union at 8.
const _: () = assert!(size_of::<TransmitPacketsElement>() == 24);
const _: () = assert!(offset_of!(TransmitPacketsElement, element) == 8);
// The tables: 30 and 15 function pointers, none optional in layout.
const _: () = assert!(size_of::<WSPPROC_TABLE>() == 30 * P);
const _: () = assert!(size_of::<WSPUPCALLTABLE>() == 15 * P);
// WSAOVERLAPPED: Internal @0, InternalHigh @P, Offset @2P, OffsetHigh @2P+4, hEvent @2P+8.
const _: () = assert!(size_of::<WSAOVERLAPPED>() == 2 * P + 8 + P);
const _: () = assert!(offset_of!(WSAOVERLAPPED, Internal) == 0);
const _: () = assert!(offset_of!(WSAOVERLAPPED, InternalHigh) == P);
const _: () = assert!(offset_of!(WSAOVERLAPPED, Anonymous) == 2 * P);
const _: () = assert!(offset_of!(WSAOVERLAPPED, hEvent) == 2 * P + 8);
// Small structs.
const _: () = assert!(size_of::<WSATHREADID>() == 2 * P);
const _: () = assert!(size_of::<WSABUF>() == if P == 8 { 16 } else { 8 });
const _: () = assert!(size_of::<LINGER>() == 4);
const _: () = assert!(size_of::<WSANETWORKEVENTS>() == 44);
const _: () = assert!(size_of::<SOCKET>() == P);
const _: () = assert!(size_of::<SOCKADDR_IN>() == 16 && size_of::<SOCKADDR>() == 16);
// sockaddr_in6: 28 bytes on both ABIs, the address at 8, the scope id at 24
// (spec §15).
const _: () = assert!(size_of::<SOCKADDR_IN6>() == 28);
const _: () = assert!(offset_of!(SOCKADDR_IN6, sin6_addr) == 8);
const _: () = assert!(offset_of!(SOCKADDR_IN6, Anonymous) == 24);
const _: () = assert!(AF_INET6 == 23 && AF_UNSPEC == 0);

/// The `WSPStartup` signature the export must have: `UpcallTable` by
/// value, `lpWSPData` declared `*const` although it is written (a quirk of
/// the Windows metadata the spec notes).
pub type WspStartupFn = unsafe extern "system" fn(
    u16,
    *const WSPDATA,
    *const WSAPROTOCOL_INFOW,
    WSPUPCALLTABLE,
    *mut WSPPROC_TABLE,
) -> i32;

/// Checks at compile time that a function has the `LPWSPSTARTUP` type.
pub const fn assert_wsp_startup(f: WspStartupFn) -> LPWSPSTARTUP {
    Some(f)
}
