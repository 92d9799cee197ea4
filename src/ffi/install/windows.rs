//! The system's catalog as a [`CatalogWriter`] (Windows).
//!
//! A process writes its own catalog (`WSCEnumProtocols`,
//! `WSCInstallProvider`, `WSCWriteProviderOrder`, `WSCDeinstallProvider`):
//! a 64-bit process the 64-bit one, a 32-bit process (on WOW64 too) the
//! 32-bit one. A 64-bit process also reads, orders and cleans the 32-bit
//! catalog through the `32` forms ([`Which::Wow64`]), but there is no
//! call that installs into the 32-bit catalog alone (spec §11: the
//! `64_32` installers write both, with one set of ids): install into it
//! with the 32-bit build of the tool. Every call needs an administrator
//! (`WSANO_RECOVERY` otherwise).

use super::super::abi::WSAPROTOCOL_INFOW;
use super::CatalogWriter;
use crate::WsaError;
use std::os::windows::ffi::OsStrExt;
use std::path::Path;
use windows_sys::Win32::Networking::WinSock as ws;
use windows_sys::core::GUID;

/// Which catalog.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Which {
    /// The process's own (the 64-bit one for a 64-bit process).
    Native,
    /// The 32-bit catalog of a 64-bit Windows, from a 64-bit process.
    #[cfg(target_pointer_width = "64")]
    Wow64,
}

/// The system's catalog.
#[derive(Clone, Copy, Debug)]
pub struct SystemCatalogWriter {
    /// Which catalog it writes.
    pub which: Which,
}

fn guid(id: [u8; 16]) -> GUID {
    super::super::protocol_info::guid_of(id)
}

fn error(errno: i32) -> WsaError {
    super::super::layered::error_of(errno)
}

impl CatalogWriter for SystemCatalogWriter {
    fn entries(&self) -> Result<Vec<WSAPROTOCOL_INFOW>, WsaError> {
        let enumerate = match self.which {
            Which::Native => ws::WSCEnumProtocols,
            #[cfg(target_pointer_width = "64")]
            Which::Wow64 => ws::WSCEnumProtocols32,
        };
        let (mut bytes, mut errno) = (0u32, 0);
        // SAFETY: a null buffer of 0 bytes asks for the size.
        unsafe {
            enumerate(
                std::ptr::null(),
                std::ptr::null_mut(),
                &mut bytes,
                &mut errno,
            )
        };
        let n = bytes as usize / size_of::<WSAPROTOCOL_INFOW>() + 1;
        // SAFETY: plain C structs; zeroes are valid.
        let mut list: Vec<WSAPROTOCOL_INFOW> = vec![unsafe { std::mem::zeroed() }; n];
        bytes = (n * size_of::<WSAPROTOCOL_INFOW>()) as u32;
        // SAFETY: `list` holds `bytes` bytes.
        let count =
            unsafe { enumerate(std::ptr::null(), list.as_mut_ptr(), &mut bytes, &mut errno) };
        if count < 0 {
            return Err(error(errno));
        }
        list.truncate(count as usize);
        Ok(list)
    }

    fn install(
        &mut self,
        provider_id: [u8; 16],
        path: &Path,
        entries: &[WSAPROTOCOL_INFOW],
    ) -> Result<(), WsaError> {
        #[cfg(target_pointer_width = "64")]
        if self.which == Which::Wow64 {
            // No call installs into the 32-bit catalog alone.
            return Err(WsaError::OperationNotSupported);
        }
        let wide: Vec<u16> = path.as_os_str().encode_wide().chain([0]).collect();
        let id = guid(provider_id);
        let mut errno = 0;
        // SAFETY: live locals; `entries` holds `len` entries.
        let r = unsafe {
            ws::WSCInstallProvider(
                &id,
                wide.as_ptr(),
                entries.as_ptr(),
                entries.len() as u32,
                &mut errno,
            )
        };
        if r != 0 { Err(error(errno)) } else { Ok(()) }
    }

    fn write_order(&mut self, ids: &[u32]) -> Result<(), WsaError> {
        let write = match self.which {
            Which::Native => ws::WSCWriteProviderOrder,
            #[cfg(target_pointer_width = "64")]
            Which::Wow64 => ws::WSCWriteProviderOrder32,
        };
        let mut ids = ids.to_vec();
        // SAFETY: `ids` holds `len` ids (the call does not keep them).
        let r = unsafe { write(ids.as_mut_ptr(), ids.len() as u32) };
        if r != 0 { Err(error(r)) } else { Ok(()) }
    }

    fn deinstall(&mut self, provider_id: [u8; 16]) -> Result<(), WsaError> {
        let deinstall = match self.which {
            Which::Native => ws::WSCDeinstallProvider,
            #[cfg(target_pointer_width = "64")]
            Which::Wow64 => ws::WSCDeinstallProvider32,
        };
        let id = guid(provider_id);
        let mut errno = 0;
        // SAFETY: live locals.
        let r = unsafe { deinstall(&id, &mut errno) };
        if r != 0 { Err(error(errno)) } else { Ok(()) }
    }
}
