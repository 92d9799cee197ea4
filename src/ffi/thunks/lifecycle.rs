//! `WSPStartup` (exported by [`export_provider!`](crate::export_provider))
//! and `WSPCleanup`.

use super::super::abi::{SOCKET_ERROR, WSAPROTOCOL_INFOW, WSPDATA, WSPPROC_TABLE, WSPUPCALLTABLE};
use super::super::dll::Exported;
use super::super::guard::{self, checked, checked_mut};
use super::super::protocol_info;
use super::{proc_table, run_outside_gate};
use crate::{Version, WsaError};
use std::sync::Arc;

/// `WSPStartup`. Returns 0 or the error itself (it has no `lpErrno`):
/// `WSAEFAULT` for a null `lpWSPData`, `lpProtocolInfo` or `lpProcTable`,
/// `WSAVERNOTSUPPORTED` below the lowest version (S2),
/// `WSAEPROVIDERFAILEDINIT` for a caught panic (S12). A failed startup
/// changes nothing (S1); a successful one makes its upcall table the one
/// used from then on (S3).
///
/// # Safety
/// The pointers as `WSPStartup` documents them: `lpWSPData` and
/// `lpProcTable` writable (`lpWSPData` is declared `*const` in the
/// metadata, yet written, as the SPI says), `lpProtocolInfo` readable.
pub unsafe fn startup<D: Exported>(
    requested: u16,
    data: *const WSPDATA,
    info: *const WSAPROTOCOL_INFOW,
    upcalls: WSPUPCALLTABLE,
    table: *mut WSPPROC_TABLE,
) -> i32 {
    guard::returning_code("WSPStartup", WsaError::ProviderFailedInit, || {
        // SAFETY: the caller's promise; each pointer is checked here.
        let (data, info, table) = unsafe {
            (
                checked_mut(data.cast_mut())?,
                checked(info)?,
                checked_mut(table)?,
            )
        };
        let dll = D::dll();
        dll.app()
            .startup_args(dll.provider.transport(), info, &upcalls);
        let negotiated = dll.provider.startup_for(
            Version::from_word(requested),
            &protocol_info::decode(info),
            dll.host.clone() as Arc<_>,
        )?;
        dll.host.upcalls.replace(upcalls);
        dll.host.set_catalog_entry(info.dwCatalogEntryId);
        data.wVersion = negotiated.version.to_word();
        data.wHighVersion = negotiated.high_version.to_word();
        data.szDescription = [0; 256];
        for (slot, unit) in data.szDescription[..255]
            .iter_mut()
            .zip(dll.config.description.encode_utf16())
        {
            *slot = unit;
        }
        *table = proc_table::<D>();
        super::after_call(dll);
        Ok(())
    })
}

/// `WSPCleanup`: 0, or `SOCKET_ERROR` with `WSANOTINITIALISED` (no startup
/// in force) or `WSAENETDOWN` (a final cleanup that lost data of closed
/// sockets, S6i; the cleanup itself is done). The final one returns only
/// when the DLL could be unloaded (S6).
///
/// # Safety
/// `lp_errno` null or writable.
pub(crate) unsafe extern "system" fn cleanup<D: Exported>(lp_errno: *mut i32) -> i32 {
    // SAFETY: the caller's promise.
    unsafe {
        run_outside_gate::<D, _>("WSPCleanup", lp_errno, SOCKET_ERROR, |dll| {
            dll.provider.cleanup().map(|_| 0).map_err(|e| e.error)
        })
    }
}
