//! Finding the next provider's DLL: the catalog, through a small trait.
//!
//! - [`SystemCatalog`] (Windows): `WSCEnumProtocols` (every entry, hidden
//!   ones included), `WSCGetProviderPath`, environment strings expanded
//!   (spec §11, "Finding and loading the next provider").
//! - [`HostCatalog`]: entries a host that is not ws2_32 supplies (a C test
//!   host, a simulator), in this process, through
//!   [`HostCatalog::add`] or the DLL's `WSPAddCatalogEntry` export.
//! - [`DefaultCatalog`]: the host's entries when it supplied any, else
//!   the system's.

use super::super::abi::WSAPROTOCOL_INFOW;
use crate::WsaError;
use crate::sync::lock;
use std::path::PathBuf;
use std::sync::Mutex;
use windows_sys::core::GUID;

/// One catalog entry and the DLL that serves it.
#[derive(Clone)]
pub struct CatalogEntry {
    /// The entry, as `WSCEnumProtocols` lists it.
    pub info: WSAPROTOCOL_INFOW,
    /// Its provider's DLL, environment strings expanded.
    pub path: PathBuf,
}

impl std::fmt::Debug for CatalogEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatalogEntry")
            .field("catalog_entry_id", &self.info.dwCatalogEntryId)
            .field("chain_len", &self.info.ProtocolChain.ChainLen)
            .field("path", &self.path)
            .finish()
    }
}

/// Where a layered provider looks up catalog entries.
pub trait Resolver: Send + Sync {
    /// Every entry of the catalog, hidden ones included, in catalog order.
    /// An error fails the layer's startup (`WSAEPROVIDERFAILEDINIT`).
    fn entries(&self) -> Result<Vec<CatalogEntry>, WsaError>;
}

static HOST_ENTRIES: Mutex<Vec<CatalogEntry>> = Mutex::new(Vec::new());

/// The entries a host supplied, process-wide.
#[derive(Clone, Copy, Debug, Default)]
pub struct HostCatalog;

impl HostCatalog {
    /// Adds (or, for a catalog id already known, replaces) an entry.
    pub fn add(entry: CatalogEntry) {
        let mut all = lock!(HOST_ENTRIES);
        let id = entry.info.dwCatalogEntryId;
        match all.iter_mut().find(|e| e.info.dwCatalogEntryId == id) {
            Some(slot) => *slot = entry,
            None => all.push(entry),
        }
    }

    /// Forgets every entry.
    pub fn clear() {
        lock!(HOST_ENTRIES).clear();
    }

    /// Whether the host supplied any entry.
    pub fn is_empty() -> bool {
        lock!(HOST_ENTRIES).is_empty()
    }
}

impl Resolver for HostCatalog {
    fn entries(&self) -> Result<Vec<CatalogEntry>, WsaError> {
        Ok(lock!(HOST_ENTRIES).clone())
    }
}

/// The host's entries when it supplied any; else the system's catalog on
/// Windows, and `WSAEPROVIDERFAILEDINIT` elsewhere (nothing to read).
#[derive(Clone, Copy, Debug, Default)]
pub struct DefaultCatalog;

impl Resolver for DefaultCatalog {
    fn entries(&self) -> Result<Vec<CatalogEntry>, WsaError> {
        if !HostCatalog::is_empty() {
            return HostCatalog.entries();
        }
        #[cfg(windows)]
        {
            SystemCatalog.entries()
        }
        #[cfg(not(windows))]
        {
            tracing::error!(target: "winsock_provider", "no catalog: the host supplied no entries (WSPAddCatalogEntry) and there is no system catalog here");
            Err(WsaError::ProviderFailedInit)
        }
    }
}

/// The body of the `WSPAddCatalogEntry` export: `info` and its DLL's
/// `path` (UTF-16, NUL-terminated) join the [`HostCatalog`]. 0, or
/// `WSAEFAULT` for a null or unreadable pointer.
///
/// # Safety
/// `info` readable; `path` a readable NUL-terminated UTF-16 string.
pub unsafe fn add_catalog_entry(info: *const WSAPROTOCOL_INFOW, path: *const u16) -> i32 {
    super::super::guard::returning_code("WSPAddCatalogEntry", WsaError::SystemCallFailure, || {
        // SAFETY: the caller's promise; checked here.
        let info = unsafe { super::super::guard::checked(info) }?;
        // SAFETY: as above.
        let path = unsafe { super::super::guard::wide_string(path) }?;
        HostCatalog::add(CatalogEntry {
            info: *info,
            path: PathBuf::from(path),
        });
        Ok(())
    })
}

/// The body of the `WSPLayerProviderId` export: writes `id` (in
/// `ProtocolInfo`'s byte order) as a `GUID`. 0, or `WSAEFAULT`.
///
/// # Safety
/// `out` null or writable.
pub unsafe fn write_provider_id(out: *mut GUID, id: [u8; 16]) -> i32 {
    super::super::guard::returning_code("WSPLayerProviderId", WsaError::SystemCallFailure, || {
        // SAFETY: the caller's promise; checked here.
        let out = unsafe { super::super::guard::checked_mut(out) }?;
        *out = super::super::protocol_info::guid_of(id);
        Ok(())
    })
}

/// The system's catalog (Windows).
#[cfg(windows)]
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemCatalog;

#[cfg(windows)]
impl Resolver for SystemCatalog {
    fn entries(&self) -> Result<Vec<CatalogEntry>, WsaError> {
        use super::super::install::{CatalogWriter, SystemCatalogWriter, Which};
        use windows_sys::Win32::Networking::WinSock::WSCGetProviderPath;
        use windows_sys::Win32::System::Environment::ExpandEnvironmentStringsW;
        let list = SystemCatalogWriter {
            which: Which::Native,
        }
        .entries()?;
        let mut errno = 0;
        list.into_iter()
            .map(|info| {
                let mut raw = [0u16; 260];
                let mut len = raw.len() as i32;
                // SAFETY: `raw` holds `len` units.
                let r = unsafe {
                    WSCGetProviderPath(&info.ProviderId, raw.as_mut_ptr(), &mut len, &mut errno)
                };
                if r != 0 {
                    return Err(super::next::error_of(errno));
                }
                let mut expanded = [0u16; 1024];
                // SAFETY: `raw` is NUL-terminated; `expanded` holds 1024 units.
                let n =
                    unsafe { ExpandEnvironmentStringsW(raw.as_ptr(), expanded.as_mut_ptr(), 1024) }
                        as usize;
                if n == 0 || n > expanded.len() {
                    return Err(WsaError::ProviderFailedInit);
                }
                Ok(CatalogEntry {
                    info,
                    path: PathBuf::from(String::from_utf16_lossy(&expanded[..n - 1])),
                })
            })
            .collect()
    }
}
