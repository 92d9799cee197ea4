//! The next provider in a protocol chain, as a layered provider calls it:
//! its DLL loaded, its `WSPStartup` called with the protocol entry the
//! chain says (spec §11), its `WSPPROC_TABLE` kept and called through
//! checked wrappers.
//!
//! The DLL stays loaded for the rest of the process once loaded: the
//! sockets a layer closed gracefully keep draining at the bottom of the
//! stack after the final cleanup (S6e), in the next provider's code.

use super::super::abi::{
    LINGER, SO_LINGER, SOCKET, SOCKET_ERROR, SOL_SOCKET, WSABUF, WSAOVERLAPPED, WSAPROTOCOL_INFOW,
    WSATHREADID, WSPDATA, WSPPROC_TABLE, WSPUPCALLTABLE,
};
use super::super::sockaddr::Storage;
use crate::{ServiceFlags, ShutdownHow, WsaError};
use arc_swap::ArcSwapOption;
use std::ffi::c_void;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use windows_sys::Win32::Foundation::HWND;

/// `WSPStartup`'s type, without the `Option`.
pub type StartupFn = unsafe extern "system" fn(
    u16,
    *const WSPDATA,
    *const WSAPROTOCOL_INFOW,
    WSPUPCALLTABLE,
    *mut WSPPROC_TABLE,
) -> i32;

/// The error of a call that answered `SOCKET_ERROR` with `errno`: the
/// variant for the code, or `WSASYSCALLFAILURE` for a code the core does
/// not know (logged, so nothing is lost silently).
pub fn error_of(errno: i32) -> WsaError {
    WsaError::from_code(errno).unwrap_or_else(|| {
        tracing::warn!(target: "winsock_provider", errno, "the next provider answered an unknown error code");
        WsaError::SystemCallFailure
    })
}

/// `Ok` unless `r` is `SOCKET_ERROR`.
fn status(r: i32, errno: i32) -> Result<(), WsaError> {
    if r == SOCKET_ERROR {
        Err(error_of(errno))
    } else {
        Ok(())
    }
}

/// The next provider: its `WSPStartup`, the protocol entry it is given,
/// and the procedure table its startup filled.
pub struct NextProvider {
    startup: StartupFn,
    info: WSAPROTOCOL_INFOW,
    table: ArcSwapOption<WSPPROC_TABLE>,
}

impl std::fmt::Debug for NextProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NextProvider")
            .field("catalog_entry", &self.info.dwCatalogEntryId)
            .field("ifs", &self.is_ifs())
            .field("started", &self.table.load().is_some())
            .finish()
    }
}

/// The entry `pick` of a started table, or why there is none.
macro_rules! entry {
    ($self:ident, $field:ident) => {{
        let table = $self.table()?;
        let f = table.$field.ok_or(WsaError::InvalidProcTable)?;
        (table, f)
    }};
}

impl NextProvider {
    /// Loads the provider DLL at `path` (environment strings already
    /// expanded) and finds its `WSPStartup`. `info` is the protocol entry
    /// its `WSPStartup` and `WSPSocket` get: the base's own catalog entry
    /// when it is the base provider, the chain entry the layer was started
    /// for when it is another layer (spec §11). `WSAEPROVIDERFAILEDINIT`
    /// when the DLL cannot be loaded or exports no `WSPStartup`.
    ///
    /// # Safety
    /// Loading a DLL runs its initialisation code: `path` must name a
    /// Winsock service provider built for this process.
    pub unsafe fn load(path: &Path, info: WSAPROTOCOL_INFOW) -> Result<Self, WsaError> {
        // SAFETY: the caller's promise.
        let library = unsafe { libloading::Library::new(path) }.map_err(|e| {
            tracing::error!(target: "winsock_provider", path = %path.display(), error = %e, "cannot load the next provider");
            WsaError::ProviderFailedInit
        })?;
        // SAFETY: the symbol is the SPI's `WSPStartup`, of this type.
        let startup = unsafe { library.get::<StartupFn>(b"WSPStartup\0") }
            .map(|s| *s)
            .map_err(|e| {
                tracing::error!(target: "winsock_provider", path = %path.display(), error = %e, "the next provider exports no WSPStartup");
                WsaError::ProviderFailedInit
            })?;
        // Stays loaded for the process (see the module's docs).
        std::mem::forget(library);
        // SAFETY: `startup` lives as long as the library, which is never
        // unloaded.
        Ok(unsafe { Self::from_startup(startup, info) })
    }

    /// A next provider whose `WSPStartup` is already in this process (a
    /// host that linked it, a test).
    ///
    /// # Safety
    /// `startup` must be a `WSPStartup` that stays callable, with the
    /// table it fills, for the rest of the process.
    pub unsafe fn from_startup(startup: StartupFn, info: WSAPROTOCOL_INFOW) -> Self {
        NextProvider {
            startup,
            info,
            table: ArcSwapOption::empty(),
        }
    }

    /// The protocol entry the next provider is given.
    pub fn protocol_info(&self) -> &WSAPROTOCOL_INFOW {
        &self.info
    }

    /// Whether its handles are IFS handles (`XP1_IFS_HANDLES`): then its
    /// overlapped operations complete through the handle (a completion
    /// port or an APC on the real handle), not through upcalls.
    pub fn is_ifs(&self) -> bool {
        ServiceFlags::from_bits_retain(self.info.dwServiceFlags1)
            .contains(ServiceFlags::IFS_HANDLES)
    }

    /// Calls its `WSPStartup` for version 2.2 with `upcalls`, and keeps
    /// the table it fills: its error, or `WSAEINVALIDPROCTABLE` for a
    /// table with a null entry (spec §11).
    pub fn startup(&self, upcalls: WSPUPCALLTABLE) -> Result<WSPDATA, WsaError> {
        // SAFETY: plain C structs; all zeroes is a valid value of each.
        let (mut data, mut table): (WSPDATA, WSPPROC_TABLE) = unsafe { std::mem::zeroed() };
        // SAFETY: `startup` is a `WSPStartup` (the constructor's promise);
        // every pointer is to a live local or to `self.info`.
        let r = unsafe { (self.startup)(0x0202, &mut data, &self.info, upcalls, &mut table) };
        if r != 0 {
            return Err(error_of(r));
        }
        if !complete(&table) {
            // The startup counted: undo it before refusing the table.
            if let Some(cleanup) = table.lpWSPCleanup {
                let mut errno = 0;
                // SAFETY: its own entry, right after its startup.
                unsafe { cleanup(&mut errno) };
            }
            return Err(WsaError::InvalidProcTable);
        }
        self.table.store(Some(Arc::new(table)));
        Ok(data)
    }

    /// Calls its `WSPCleanup`.
    pub fn cleanup(&self) -> Result<(), WsaError> {
        let (_t, f) = entry!(self, lpWSPCleanup);
        let mut errno = 0;
        // SAFETY: an entry of the table its startup filled; `errno` local.
        status(unsafe { f(&mut errno) }, errno)
    }

    /// The table its last startup filled: `WSANOTINITIALISED` before one.
    pub fn table(&self) -> Result<Arc<WSPPROC_TABLE>, WsaError> {
        self.table.load_full().ok_or(WsaError::NotInitialised)
    }

    /// `WSPSocket(af, type, protocol, info, 0, WSA_FLAG_OVERLAPPED)`.
    pub(super) fn socket(&self, af: i32, kind: i32, protocol: i32) -> Result<SOCKET, WsaError> {
        let (_t, f) = entry!(self, lpWSPSocket);
        let mut errno = 0;
        // SAFETY: as in `cleanup`; `info` lives in `self`.
        let s = unsafe {
            f(
                af,
                kind,
                protocol,
                &self.info,
                0,
                WSA_FLAG_OVERLAPPED,
                &mut errno,
            )
        };
        if s == super::super::abi::INVALID_SOCKET {
            Err(error_of(errno))
        } else {
            Ok(s)
        }
    }

    /// `WSPDuplicateSocket(s, process)`: the next provider's token, its
    /// `dwProviderReserved` (spec §14: the provider's own field). A next
    /// provider that leaves it 0 keeps its duplicates some other way the
    /// layer cannot carry: `WSAEOPNOTSUPP`.
    pub(super) fn duplicate(&self, s: SOCKET, process: u32) -> Result<u32, WsaError> {
        let (_t, f) = entry!(self, lpWSPDuplicateSocket);
        // SAFETY: a plain C struct; all zeroes is a valid value.
        let mut info: WSAPROTOCOL_INFOW = unsafe { std::mem::zeroed() };
        let mut errno = 0;
        // SAFETY: as in `cleanup`; `info` is a live local.
        status(unsafe { f(s, process, &mut info, &mut errno) }, errno)?;
        match info.dwProviderReserved {
            0 => Err(WsaError::OperationNotSupported),
            token => Ok(token),
        }
    }

    /// `WSPSocket(FROM_PROTOCOL_INFO, ..., info)` with the next
    /// provider's entry and `token` in `dwProviderReserved`: the next
    /// provider's handle of the duplicate.
    pub(super) fn claim(&self, token: u32) -> Result<SOCKET, WsaError> {
        let (_t, f) = entry!(self, lpWSPSocket);
        let mut info = self.info;
        info.dwProviderReserved = token;
        let from = super::super::abi::FROM_PROTOCOL_INFO;
        let mut errno = 0;
        // SAFETY: as in `cleanup`; `info` is a live local.
        let s = unsafe { f(from, from, from, &info, 0, WSA_FLAG_OVERLAPPED, &mut errno) };
        if s == super::super::abi::INVALID_SOCKET {
            Err(error_of(errno))
        } else {
            Ok(s)
        }
    }

    /// The address family of the next provider's entry.
    pub(super) fn entry_family(&self) -> i32 {
        self.info.iAddressFamily
    }

    /// `WSPBind`.
    pub(super) fn bind(&self, s: SOCKET, addr: SocketAddr) -> Result<(), WsaError> {
        let (_t, f) = entry!(self, lpWSPBind);
        let name = Storage::of(addr);
        let mut errno = 0;
        // SAFETY: as in `cleanup`; `name` is a live local of `len` bytes.
        status(unsafe { f(s, name.as_ptr(), name.len, &mut errno) }, errno)
    }

    /// `WSPListen`.
    pub(super) fn listen(&self, s: SOCKET, backlog: i32) -> Result<(), WsaError> {
        let (_t, f) = entry!(self, lpWSPListen);
        let mut errno = 0;
        // SAFETY: as in `cleanup`.
        status(unsafe { f(s, backlog, &mut errno) }, errno)
    }

    /// `WSPConnect` without connect data or QOS.
    pub(super) fn connect(&self, s: SOCKET, addr: SocketAddr) -> Result<(), WsaError> {
        let name = Storage::of(addr);
        self.connect_to(s, &name, name.len)
    }

    /// `WSPConnect` to an `AF_UNSPEC` address (a datagram socket forgets
    /// its peer).
    pub(super) fn connect_unspecified(&self, s: SOCKET) -> Result<(), WsaError> {
        // An all-zero sockaddr is AF_UNSPEC.
        self.connect_to(s, &Storage::empty(), 16)
    }

    fn connect_to(&self, s: SOCKET, name: &Storage, len: i32) -> Result<(), WsaError> {
        let (_t, f) = entry!(self, lpWSPConnect);
        let mut errno = 0;
        // SAFETY: as in `cleanup`; `name` is readable for `len` bytes; the
        // optional pointers are null.
        let r = unsafe {
            f(
                s,
                name.as_ptr(),
                len,
                std::ptr::null(),
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
                &mut errno,
            )
        };
        status(r, errno)
    }

    /// `WSPAccept` without a condition: the new socket and its peer.
    pub(super) fn accept(&self, s: SOCKET) -> Result<(SOCKET, SocketAddr), WsaError> {
        let (_t, f) = entry!(self, lpWSPAccept);
        let mut peer = Storage::empty();
        let mut errno = 0;
        // SAFETY: as in `cleanup`; `peer` is a live local with its length.
        let new = unsafe { f(s, peer.as_mut_ptr(), &mut peer.len, None, 0, &mut errno) };
        if new == super::super::abi::INVALID_SOCKET {
            return Err(error_of(errno));
        }
        match peer.addr() {
            Ok(addr) => Ok((new, addr)),
            Err(e) => {
                // Nothing to hand up: the connection goes back.
                self.close(new);
                Err(e)
            }
        }
    }

    /// `WSPSend`/`WSPSendTo` of `data`, not overlapped: the bytes taken.
    pub(super) fn send_now(
        &self,
        s: SOCKET,
        data: &[u8],
        to: Option<SocketAddr>,
    ) -> Result<usize, WsaError> {
        let buf = WSABUF {
            len: u32::try_from(data.len()).unwrap_or(u32::MAX),
            buf: data.as_ptr().cast_mut(),
        };
        let mut sent = 0u32;
        // SAFETY: `buf` points into `data`, alive for the call; a call
        // that is not overlapped does not keep it.
        unsafe {
            self.post_send(
                s,
                &buf,
                &mut sent,
                to.map(Storage::of).as_ref(),
                std::ptr::null_mut(),
            )?;
        }
        Ok(sent as usize)
    }

    /// `WSPSend` (or `WSPSendTo` with `to`) of one buffer. With
    /// `overlapped`, the call is posted with
    /// [`lower_done`](super::lower_op::lower_done) as its completion
    /// routine on the relay's thread or, to a next provider with IFS
    /// handles, bare (its end comes through the socket's completion port).
    ///
    /// # Safety
    /// `buf`'s bytes, `to` and `overlapped` stay valid until the operation
    /// completes (for an overlapped call: until its routine has run).
    pub(super) unsafe fn post_send(
        &self,
        s: SOCKET,
        buf: *const WSABUF,
        sent: *mut u32,
        to: Option<&Storage>,
        overlapped: *mut WSAOVERLAPPED,
    ) -> Result<(), WsaError> {
        let (routine, thread) = self.completion(overlapped);
        let mut errno = 0;
        let r = match to {
            None => {
                let (_t, f) = entry!(self, lpWSPSend);
                // SAFETY: the caller's promise, passed on.
                unsafe { f(s, buf, 1, sent, 0, overlapped, routine, thread, &mut errno) }
            }
            Some(to) => {
                let (_t, f) = entry!(self, lpWSPSendTo);
                // SAFETY: as above.
                unsafe {
                    f(
                        s,
                        buf,
                        1,
                        sent,
                        0,
                        to.as_ptr(),
                        to.len,
                        overlapped,
                        routine,
                        thread,
                        &mut errno,
                    )
                }
            }
        };
        status(r, errno)
    }

    /// `WSPRecvFrom` into one buffer; `from` receives the sender. With
    /// `overlapped`, posted as [`post_send`](Self::post_send) is.
    ///
    /// # Safety
    /// `buf`'s bytes, `received`, `flags`, `from` and `overlapped` stay
    /// valid until the operation completes.
    pub(super) unsafe fn post_recv(
        &self,
        s: SOCKET,
        buf: *const WSABUF,
        received: *mut u32,
        flags: *mut u32,
        from: *mut Storage,
        overlapped: *mut WSAOVERLAPPED,
    ) -> Result<(), WsaError> {
        let (_t, f) = entry!(self, lpWSPRecvFrom);
        let (routine, thread) = self.completion(overlapped);
        let mut errno = 0;
        // SAFETY: the caller's promise; `from` is a live `Storage`.
        let (name, len) = unsafe { ((*from).as_mut_ptr(), &raw mut (*from).len) };
        // SAFETY: as above.
        let r = unsafe {
            f(
                s, buf, 1, received, flags, name, len, overlapped, routine, thread, &mut errno,
            )
        };
        status(r, errno)
    }

    /// `WSPShutdown`.
    pub(super) fn shutdown(&self, s: SOCKET, how: ShutdownHow) -> Result<(), WsaError> {
        let (_t, f) = entry!(self, lpWSPShutdown);
        let how = match how {
            ShutdownHow::Receive => 0,
            ShutdownHow::Send => 1,
            ShutdownHow::Both => 2,
        };
        let mut errno = 0;
        // SAFETY: as in `cleanup`.
        status(unsafe { f(s, how, &mut errno) }, errno)
    }

    /// `SO_LINGER {1, 0}`, then `WSPCloseSocket`: a reset.
    pub(super) fn reset(&self, s: SOCKET) {
        let abortive = LINGER {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: `abortive` is a live local of the option's size.
        let bytes = unsafe {
            std::slice::from_raw_parts((&raw const abortive).cast::<u8>(), size_of::<LINGER>())
        };
        if let Err(e) = self.set_option(s, SOL_SOCKET, SO_LINGER, bytes) {
            tracing::debug!(target: "winsock_provider", error = %e, "the next provider refused SO_LINGER {{1, 0}}; closing as it closes");
        }
        self.close(s);
    }

    /// `WSPCloseSocket`; an error is logged (the socket is gone for the
    /// layer either way).
    pub(super) fn close(&self, s: SOCKET) {
        let result = (|| {
            let (_t, f) = entry!(self, lpWSPCloseSocket);
            let mut errno = 0;
            // SAFETY: as in `cleanup`.
            status(unsafe { f(s, &mut errno) }, errno)
        })();
        if let Err(e) = result {
            tracing::debug!(target: "winsock_provider", error = %e, "the next provider's WSPCloseSocket failed");
        }
    }

    /// `WSPGetSockName` (`peer` false) or `WSPGetPeerName` (`peer` true).
    pub(super) fn name(&self, s: SOCKET, peer: bool) -> Result<SocketAddr, WsaError> {
        let (_t, f) = if peer {
            entry!(self, lpWSPGetPeerName)
        } else {
            entry!(self, lpWSPGetSockName)
        };
        let mut addr = Storage::empty();
        let mut errno = 0;
        // SAFETY: as in `accept`.
        status(
            unsafe { f(s, addr.as_mut_ptr(), &mut addr.len, &mut errno) },
            errno,
        )?;
        addr.addr()
    }

    /// `WSPSetSockOpt` with the option's bytes.
    pub(super) fn set_option(
        &self,
        s: SOCKET,
        level: i32,
        name: i32,
        value: &[u8],
    ) -> Result<(), WsaError> {
        let (_t, f) = entry!(self, lpWSPSetSockOpt);
        let len = i32::try_from(value.len()).map_err(|_| WsaError::Fault)?;
        let mut errno = 0;
        // SAFETY: as in `cleanup`; `value` is readable for `len` bytes.
        status(
            unsafe { f(s, level, name, value.as_ptr(), len, &mut errno) },
            errno,
        )
    }

    /// `WSPGetSockOpt` into a buffer of `room` bytes: the bytes written.
    pub(super) fn option(
        &self,
        s: SOCKET,
        level: i32,
        name: i32,
        room: usize,
    ) -> Result<Vec<u8>, WsaError> {
        let (_t, f) = entry!(self, lpWSPGetSockOpt);
        let mut value = vec![0u8; room];
        let mut len = i32::try_from(room).map_err(|_| WsaError::Fault)?;
        let mut errno = 0;
        // SAFETY: as in `cleanup`; `value` is writable for `len` bytes.
        status(
            unsafe { f(s, level, name, value.as_mut_ptr(), &mut len, &mut errno) },
            errno,
        )?;
        value.truncate(usize::try_from(len).unwrap_or(0));
        Ok(value)
    }

    /// `WSPIoctl`, not overlapped: the output bytes.
    pub(super) fn ioctl(
        &self,
        s: SOCKET,
        code: u32,
        input: &[u8],
        room: usize,
    ) -> Result<Vec<u8>, WsaError> {
        let (_t, f) = entry!(self, lpWSPIoctl);
        let mut output = vec![0u8; room];
        let mut returned = 0u32;
        let mut errno = 0;
        let cap = |n: usize| u32::try_from(n).map_err(|_| WsaError::Fault);
        let input_ptr = if input.is_empty() {
            std::ptr::null()
        } else {
            input.as_ptr().cast::<c_void>()
        };
        let output_ptr = if room == 0 {
            std::ptr::null_mut()
        } else {
            output.as_mut_ptr().cast::<c_void>()
        };
        // SAFETY: as in `cleanup`; the buffers are live locals of the
        // sizes given; not overlapped.
        let r = unsafe {
            f(
                s,
                code,
                input_ptr,
                cap(input.len())?,
                output_ptr,
                cap(room)?,
                &mut returned,
                std::ptr::null_mut(),
                None,
                std::ptr::null(),
                &mut errno,
            )
        };
        status(r, errno)?;
        output.truncate(returned as usize);
        Ok(output)
    }

    /// `WSPAsyncSelect(s, window, message, events)`.
    pub(super) fn async_select(
        &self,
        s: SOCKET,
        window: HWND,
        message: u32,
        events: i32,
    ) -> Result<(), WsaError> {
        let (_t, f) = entry!(self, lpWSPAsyncSelect);
        let mut errno = 0;
        // SAFETY: as in `cleanup`.
        status(unsafe { f(s, window, message, events, &mut errno) }, errno)
    }
}

/// `WSA_FLAG_OVERLAPPED`.
const WSA_FLAG_OVERLAPPED: u32 = 0x01;

impl NextProvider {
    /// The completion routine and thread of a call: the relay's for an
    /// overlapped one, none for one that is not, or that goes to a next
    /// provider with IFS handles (its completion port tells).
    fn completion(
        &self,
        overlapped: *mut WSAOVERLAPPED,
    ) -> (
        super::super::abi::LPWSAOVERLAPPED_COMPLETION_ROUTINE,
        *const WSATHREADID,
    ) {
        if overlapped.is_null() || self.is_ifs() {
            (None, std::ptr::null())
        } else {
            (Some(super::lower_op::lower_done), super::relay::thread_id())
        }
    }

    /// `WSPGetOverlappedResult` without waiting: the bytes and flags of an
    /// operation that ended, or its error.
    #[cfg(windows)]
    pub(super) fn overlapped_result(
        &self,
        s: SOCKET,
        overlapped: *mut WSAOVERLAPPED,
    ) -> Result<(u32, u32), WsaError> {
        let (_t, f) = entry!(self, lpWSPGetOverlappedResult);
        let (mut bytes, mut flags, mut errno) = (0u32, 0u32, 0);
        // SAFETY: as in `cleanup`; `overlapped` is the record of an
        // operation that ended (the caller's packet says so).
        let ok = unsafe { f(s, overlapped, &mut bytes, 0, &mut flags, &mut errno) };
        if ok == 0 {
            Err(error_of(errno))
        } else {
            Ok((bytes, flags))
        }
    }
}

/// Whether a startup filled every entry of the table.
fn complete(t: &WSPPROC_TABLE) -> bool {
    t.lpWSPAccept.is_some()
        && t.lpWSPAddressToString.is_some()
        && t.lpWSPAsyncSelect.is_some()
        && t.lpWSPBind.is_some()
        && t.lpWSPCancelBlockingCall.is_some()
        && t.lpWSPCleanup.is_some()
        && t.lpWSPCloseSocket.is_some()
        && t.lpWSPConnect.is_some()
        && t.lpWSPDuplicateSocket.is_some()
        && t.lpWSPEnumNetworkEvents.is_some()
        && t.lpWSPEventSelect.is_some()
        && t.lpWSPGetOverlappedResult.is_some()
        && t.lpWSPGetPeerName.is_some()
        && t.lpWSPGetSockName.is_some()
        && t.lpWSPGetSockOpt.is_some()
        && t.lpWSPGetQOSByName.is_some()
        && t.lpWSPIoctl.is_some()
        && t.lpWSPJoinLeaf.is_some()
        && t.lpWSPListen.is_some()
        && t.lpWSPRecv.is_some()
        && t.lpWSPRecvDisconnect.is_some()
        && t.lpWSPRecvFrom.is_some()
        && t.lpWSPSelect.is_some()
        && t.lpWSPSend.is_some()
        && t.lpWSPSendDisconnect.is_some()
        && t.lpWSPSendTo.is_some()
        && t.lpWSPSetSockOpt.is_some()
        && t.lpWSPShutdown.is_some()
        && t.lpWSPSocket.is_some()
        && t.lpWSPStringToAddress.is_some()
}
