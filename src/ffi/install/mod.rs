//! Installing and removing a layered provider in a Winsock catalog: the
//! [`catalog`](crate::catalog) plan applied, step by step, through a
//! [`CatalogWriter`].
//!
//! - [`MemoryCatalog`]: a catalog in memory that gives ids as Windows'
//!   does (a dry run, a test on any OS, or the catalog a host that is not
//!   ws2_32 hands a layer with `WSPAddCatalogEntry`);
//! - `SystemCatalogWriter` (Windows): `WSCEnumProtocols`,
//!   `WSCInstallProvider`, `WSCWriteProviderOrder`, `WSCDeinstallProvider`
//!   (and their `32` forms for the 32-bit catalog of a 64-bit Windows).
//!
//! The `wsp-install` tool is these, from a command line.

#[cfg(windows)]
mod windows;

use super::abi::WSAPROTOCOL_INFOW;
use super::protocol_info;
use crate::catalog::{InstallPlan, LayerSpec, PlanError, provider_order, removal};
use crate::{ProtocolInfo, WsaError};
use std::path::{Path, PathBuf};

#[cfg(windows)]
pub use windows::{SystemCatalogWriter, Which};

/// A catalog a layer is installed into.
pub trait CatalogWriter {
    /// Every entry, hidden ones included, in catalog order.
    fn entries(&self) -> Result<Vec<WSAPROTOCOL_INFOW>, WsaError>;
    /// Installs `entries` under `provider_id` (`WSCInstallProvider`): the
    /// catalog gives each a new id and appends it.
    fn install(
        &mut self,
        provider_id: [u8; 16],
        path: &Path,
        entries: &[WSAPROTOCOL_INFOW],
    ) -> Result<(), WsaError>;
    /// Writes the catalog order (`WSCWriteProviderOrder`): every id once.
    fn write_order(&mut self, ids: &[u32]) -> Result<(), WsaError>;
    /// Removes the entries of `provider_id` (`WSCDeinstallProvider`).
    fn deinstall(&mut self, provider_id: [u8; 16]) -> Result<(), WsaError>;
}

/// Why an install or a removal stopped. What was done before the failing
/// step stays done (the catalog calls are not transactional); the message
/// says which step failed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The plan refused (see [`PlanError`]).
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A catalog call failed.
    #[error("{step}: {error}")]
    Catalog {
        /// The step that failed.
        step: &'static str,
        /// Its error.
        error: WsaError,
    },
}

fn step(step: &'static str) -> impl FnOnce(WsaError) -> InstallError {
    move |error| InstallError::Catalog { step, error }
}

/// What an install wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Installed {
    /// The id the catalog gave the hidden entry.
    pub hidden_id: u32,
    /// The ids of the chains, one per entry layered over, in plan order.
    pub chain_ids: Vec<u32>,
}

/// Installs the layer `spec` (its DLL at `path`) over the entries `over`
/// of `writer`'s catalog: the hidden entry, then one chain per entry
/// (each under its own GUID), then the order with the chains first (spec
/// §11, the SDK installer's steps).
pub fn install_layer(
    writer: &mut impl CatalogWriter,
    spec: LayerSpec,
    path: &Path,
    over: &[u32],
) -> Result<Installed, InstallError> {
    let raw = writer.entries().map_err(step("reading the catalog"))?;
    let catalog: Vec<ProtocolInfo> = raw.iter().map(protocol_info::decode).collect();
    let plan = InstallPlan::new(spec.clone(), &catalog, over)?;
    let raw_of = |id: u32| raw.iter().find(|e| e.dwCatalogEntryId == id).copied();
    let first = raw_of(over[0]).ok_or(PlanError::UnknownEntry(over[0]))?;
    let hidden = protocol_info::onto(&first, &plan.hidden_entry());
    writer
        .install(spec.provider_id, path, &[hidden])
        .map_err(step("installing the hidden entry"))?;
    let after = writer.entries().map_err(step("reading the catalog"))?;
    let hidden_id = after
        .iter()
        .map(protocol_info::decode)
        .find(|e| e.chain.len == 0 && e.provider_id == spec.provider_id)
        .map(|e| e.catalog_entry_id)
        .ok_or(InstallError::Catalog {
            step: "finding the hidden entry just installed",
            error: WsaError::NoRecovery,
        })?;
    for (i, chain) in plan.layered_entries(hidden_id).iter().enumerate() {
        let lower = raw_of(over[i]).ok_or(PlanError::UnknownEntry(over[i]))?;
        let entry = protocol_info::onto(&lower, chain);
        writer
            .install(chain.provider_id, path, &[entry])
            .map_err(step("installing a chain"))?;
    }
    let done: Vec<ProtocolInfo> = writer
        .entries()
        .map_err(step("reading the catalog"))?
        .iter()
        .map(protocol_info::decode)
        .collect();
    let order = provider_order(&done, hidden_id);
    writer
        .write_order(&order)
        .map_err(step("writing the provider order"))?;
    let chain_ids = done
        .iter()
        .filter(|e| e.chain.len >= 2 && e.chain.entries.first() == Some(&hidden_id))
        .map(|e| e.catalog_entry_id)
        .collect();
    Ok(Installed {
        hidden_id,
        chain_ids,
    })
}

/// Removes the layer whose hidden entry has `provider_id`: its chains,
/// then its hidden entry. Refused while another layer goes over it. The
/// GUIDs removed.
pub fn remove_layer(
    writer: &mut impl CatalogWriter,
    provider_id: [u8; 16],
) -> Result<Vec<[u8; 16]>, InstallError> {
    let catalog: Vec<ProtocolInfo> = writer
        .entries()
        .map_err(step("reading the catalog"))?
        .iter()
        .map(protocol_info::decode)
        .collect();
    let ids = removal(&catalog, provider_id)?;
    for id in &ids {
        writer.deinstall(*id).map_err(step("deinstalling"))?;
    }
    Ok(ids)
}

/// A catalog in memory: ids given from 1001 up, new entries appended, as
/// the system's catalog does.
#[derive(Clone, Default)]
pub struct MemoryCatalog {
    entries: Vec<(WSAPROTOCOL_INFOW, PathBuf)>,
    next_id: u32,
}

impl std::fmt::Debug for MemoryCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(
                self.entries
                    .iter()
                    .map(|(e, p)| (protocol_info::decode(e), p)),
            )
            .finish()
    }
}

impl MemoryCatalog {
    /// An empty catalog.
    pub fn new() -> Self {
        MemoryCatalog {
            entries: Vec::new(),
            next_id: 1001,
        }
    }

    /// A catalog holding `entries` as they are (their ids kept): a copy of
    /// a real catalog for a dry run. New ids continue above the highest.
    pub fn from_entries(entries: Vec<(WSAPROTOCOL_INFOW, PathBuf)>) -> Self {
        let next_id = entries
            .iter()
            .map(|(e, _)| e.dwCatalogEntryId + 1)
            .max()
            .unwrap_or(1001)
            .max(1001);
        MemoryCatalog { entries, next_id }
    }

    /// A small TCP/IP catalog, as a Windows system without layers has it:
    /// TCP and UDP over IPv4 and IPv6 from one base provider (IFS
    /// handles, as the system's), at ids 1001 to 1004.
    pub fn tcpip() -> Self {
        use crate::{AddressFamily, ServiceFlags, SocketKind};
        let mut cat = MemoryCatalog::new();
        let kinds = [
            (
                AddressFamily::Inet,
                SocketKind::Stream,
                "MSAFD Tcpip [TCP/IP]",
            ),
            (
                AddressFamily::Inet,
                SocketKind::Datagram,
                "MSAFD Tcpip [UDP/IP]",
            ),
            (
                AddressFamily::Inet6,
                SocketKind::Stream,
                "MSAFD Tcpip [TCP/IPv6]",
            ),
            (
                AddressFamily::Inet6,
                SocketKind::Datagram,
                "MSAFD Tcpip [UDP/IPv6]",
            ),
        ];
        for (i, (family, kind, name)) in kinds.into_iter().enumerate() {
            let mut e = ProtocolInfo::base(0, family, kind);
            e.service_flags |= ServiceFlags::IFS_HANDLES;
            e.provider_id = [
                0xe7, 0x0f, 0x1a, 0xa0, 0xab, 0x8b, 0xbb, 0x11, 0x94, 0x10, 0x00, 0x80, 0x5f, 0x5b,
                0xf8, i as u8,
            ];
            e.name = name.into();
            let installed = cat.install(
                e.provider_id,
                Path::new(r"%SystemRoot%\system32\mswsock.dll"),
                &[encode(&e)],
            );
            debug_assert!(installed.is_ok());
        }
        cat
    }

    /// The entries with their DLLs' paths, in catalog order.
    pub fn with_paths(&self) -> &[(WSAPROTOCOL_INFOW, PathBuf)] {
        &self.entries
    }

    /// The entry `id` as `ProtocolInfo`.
    pub fn get(&self, id: u32) -> Option<ProtocolInfo> {
        self.entries
            .iter()
            .find(|(e, _)| e.dwCatalogEntryId == id)
            .map(|(e, _)| protocol_info::decode(e))
    }
}

impl CatalogWriter for MemoryCatalog {
    fn entries(&self) -> Result<Vec<WSAPROTOCOL_INFOW>, WsaError> {
        Ok(self.entries.iter().map(|(e, _)| *e).collect())
    }

    fn install(
        &mut self,
        provider_id: [u8; 16],
        path: &Path,
        entries: &[WSAPROTOCOL_INFOW],
    ) -> Result<(), WsaError> {
        let known = self
            .entries
            .iter()
            .any(|(e, _)| protocol_info::decode(e).provider_id == provider_id);
        if known || entries.is_empty() {
            // WSCInstallProvider: a GUID already installed.
            return Err(WsaError::NoRecovery);
        }
        for e in entries {
            let mut e = *e;
            if self.next_id == 0 {
                self.next_id = 1001;
            }
            e.dwCatalogEntryId = self.next_id;
            self.next_id += 1;
            let info = protocol_info::decode(&e);
            e = protocol_info::onto(
                &e,
                &ProtocolInfo {
                    provider_id,
                    ..info
                },
            );
            // A base entry's chain names itself.
            if e.ProtocolChain.ChainLen == 1 {
                e.ProtocolChain.ChainEntries[0] = e.dwCatalogEntryId;
            }
            self.entries.push((e, path.to_path_buf()));
        }
        Ok(())
    }

    fn write_order(&mut self, ids: &[u32]) -> Result<(), WsaError> {
        let mut sorted = ids.to_vec();
        sorted.sort_unstable();
        let mut have: Vec<u32> = self
            .entries
            .iter()
            .map(|(e, _)| e.dwCatalogEntryId)
            .collect();
        have.sort_unstable();
        if sorted != have {
            return Err(WsaError::InvalidArgument);
        }
        self.entries
            .sort_by_key(|(e, _)| ids.iter().position(|&id| id == e.dwCatalogEntryId));
        Ok(())
    }

    fn deinstall(&mut self, provider_id: [u8; 16]) -> Result<(), WsaError> {
        let before = self.entries.len();
        self.entries
            .retain(|(e, _)| protocol_info::decode(e).provider_id != provider_id);
        if self.entries.len() == before {
            return Err(WsaError::InvalidArgument);
        }
        Ok(())
    }
}

/// The GUID a layer DLL built with this crate says its hidden entry has
/// (its `WSPLayerProviderId` export): `WSAEPROVIDERFAILEDINIT` when the
/// DLL cannot be loaded or has no such export.
///
/// # Safety
/// Loading a DLL runs its initialisation code: `dll` must name a layered
/// provider DLL built for this process.
pub unsafe fn layer_provider_id(dll: &Path) -> Result<[u8; 16], WsaError> {
    type ProviderIdFn = unsafe extern "system" fn(*mut windows_sys::core::GUID) -> i32;
    // SAFETY: the caller's promise.
    let lib = unsafe { libloading::Library::new(dll) }.map_err(|_| WsaError::ProviderFailedInit)?;
    // SAFETY: the export of `export_layered_provider!`, of this type.
    let f = unsafe { lib.get::<ProviderIdFn>(b"WSPLayerProviderId\0") }
        .map_err(|_| WsaError::ProviderFailedInit)?;
    // SAFETY: a plain C struct; zeroes are valid.
    let mut g: windows_sys::core::GUID = unsafe { std::mem::zeroed() };
    // SAFETY: `g` is a live local.
    let r = unsafe { f(&mut g) };
    if r != 0 {
        return Err(WsaError::ProviderFailedInit);
    }
    Ok(protocol_info::id_of(&g))
}

/// `info` (an entry of a plan, or one to seed a [`MemoryCatalog`] with)
/// as a `WSAPROTOCOL_INFOW`.
pub fn encode(info: &ProtocolInfo) -> WSAPROTOCOL_INFOW {
    protocol_info::encode(info)
}

/// A catalog entry as `ProtocolInfo`.
pub fn decode(info: &WSAPROTOCOL_INFOW) -> ProtocolInfo {
    protocol_info::decode(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{bases_of, chain_entry_id, next_in_chain};
    use crate::{AddressFamily, SocketKind};

    const LAYER: [u8; 16] = [0x33; 16];

    fn system() -> MemoryCatalog {
        let mut cat = MemoryCatalog::new();
        for (i, (family, kind)) in [
            (AddressFamily::Inet, SocketKind::Stream),
            (AddressFamily::Inet, SocketKind::Datagram),
            (AddressFamily::Inet6, SocketKind::Stream),
        ]
        .into_iter()
        .enumerate()
        {
            let mut base = ProtocolInfo::base(0, family, kind);
            base.provider_id = [i as u8 + 1; 16];
            let mut raw = encode(&base);
            raw.iNetworkByteOrder = 1; // a field ProtocolInfo does not carry
            cat.install(base.provider_id, Path::new("mswsock.dll"), &[raw])
                .unwrap();
        }
        cat
    }

    fn spec() -> LayerSpec {
        LayerSpec {
            name: "counting".into(),
            provider_id: LAYER,
            ifs: false,
        }
    }

    /// Spec §11: installing writes the hidden entry and one chain per
    /// base, each resolvable to its base, first in the order; the entries
    /// keep the fields `ProtocolInfo` does not carry; removing takes them
    /// all out, and a second install of the same GUID is refused.
    #[test]
    fn spec11_install_then_remove_through_a_catalog_writer() {
        let mut cat = system();
        let bases = bases_of(
            &cat.entries()
                .unwrap()
                .iter()
                .map(decode)
                .collect::<Vec<_>>(),
            &[2, 23],
        );
        let done = install_layer(&mut cat, spec(), Path::new("counting.dll"), &bases).unwrap();
        assert_eq!(done.hidden_id, 1004);
        assert_eq!(done.chain_ids, [1005, 1006, 1007]);
        let all: Vec<ProtocolInfo> = cat.entries().unwrap().iter().map(decode).collect();
        assert_eq!(
            all.iter().map(|e| e.catalog_entry_id).collect::<Vec<_>>(),
            [1005, 1006, 1007, 1001, 1002, 1003, 1004],
            "the chains first"
        );
        for (chain, base) in done.chain_ids.iter().zip(&bases) {
            let next = next_in_chain(&cat.get(*chain).unwrap(), LAYER, &all).unwrap();
            assert_eq!((next.next_id, next.next_is_base), (*base, true));
        }
        let chain = cat
            .with_paths()
            .iter()
            .find(|(e, _)| e.dwCatalogEntryId == 1005)
            .unwrap();
        assert_eq!(chain.0.iNetworkByteOrder, 1, "copied from the base");
        assert_eq!(chain.1, Path::new("counting.dll"));
        assert!(matches!(
            install_layer(&mut cat, spec(), Path::new("counting.dll"), &bases),
            Err(InstallError::Catalog {
                step: "installing the hidden entry",
                ..
            })
        ));

        let removed = remove_layer(&mut cat, LAYER).unwrap();
        assert_eq!(
            removed,
            [
                chain_entry_id(LAYER, 0),
                chain_entry_id(LAYER, 1),
                chain_entry_id(LAYER, 2),
                LAYER
            ]
        );
        assert_eq!(
            cat.entries()
                .unwrap()
                .iter()
                .map(|e| e.dwCatalogEntryId)
                .collect::<Vec<_>>(),
            [1001, 1002, 1003]
        );
        assert!(matches!(
            remove_layer(&mut cat, LAYER),
            Err(InstallError::Plan(PlanError::NotInstalled))
        ));
    }
}
