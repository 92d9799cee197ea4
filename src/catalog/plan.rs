//! What installing a layered provider writes into the catalog, and what
//! removing it takes out: a pure plan a tool applies step by step (spec
//! §11, "Installing a layered provider"):
//!
//! 1. [`InstallPlan::hidden_entry`]: the layer's hidden entry (`ChainLen`
//!    0), installed under the layer's GUID; the catalog gives it an id.
//! 2. [`InstallPlan::layered_entries`]: with that id, one protocol chain
//!    per entry the layer goes over, each under a GUID of its own.
//! 3. [`provider_order`]: the catalog order with the layer's chains first,
//!    so applications that pick the first matching entry get the layer.
//!
//! [`removal`] lists the GUIDs to deinstall. The ids the catalog gives are
//! the system's, so the plan is a sequence of pure steps between calls
//! into the catalog, never a guess of what those calls return.

use super::chain::MAX_PROTOCOL_CHAIN;
use crate::{ProtocolChain, ProtocolInfo, ProviderFlags, ServiceFlags};

/// The layer being installed.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LayerSpec {
    /// The layer's name (`szProtocol` of its hidden entry; its chains are
    /// named "`name` over `lower`"), at most 255 UTF-16 units.
    pub name: String,
    /// The GUID of the layer's hidden entry, in `ProtocolInfo`'s byte order.
    /// Chain entries get GUIDs derived from it ([`chain_entry_id`]).
    pub provider_id: [u8; 16],
    /// Whether the layer hands out the lower provider's IFS handles
    /// (`XP1_IFS_HANDLES` kept). A non-IFS layer clears the flag in its
    /// hidden and chain entries, as it must (spec §11).
    pub ifs: bool,
}

/// Why a plan cannot be made.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum PlanError {
    /// Nothing to layer over.
    #[error("no catalog entry to layer over")]
    NoTargets,
    /// A target id is not in the catalog.
    #[error("catalog entry {0} is not in the catalog")]
    UnknownEntry(u32),
    /// A target is a hidden entry (nothing can be layered over one).
    #[error("catalog entry {0} is a layered provider's hidden entry")]
    HiddenTarget(u32),
    /// A target's chain is already as long as a chain may be, less one.
    #[error("catalog entry {0}'s chain is full (at most {MAX_PROTOCOL_CHAIN} entries)")]
    ChainFull(u32),
    /// The name does not fit `szProtocol`.
    #[error("the layer's name is longer than 255 UTF-16 units")]
    NameTooLong,
    /// Removal: another layer is installed over this one.
    #[error("catalog entries {0:?} of other layers are layered over this one: remove them first")]
    LayeredOver(Vec<u32>),
    /// Removal: the layer is not installed.
    #[error("the layer has no hidden entry in the catalog")]
    NotInstalled,
}

/// An install: the layer and the entries it goes over, checked against
/// the catalog as it was read.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct InstallPlan {
    spec: LayerSpec,
    targets: Vec<ProtocolInfo>,
}

/// The GUID of the layer's `index`th chain entry: the layer's GUID with
/// its last two bytes XORed with `index + 1` (big-endian), so every chain
/// entry has a GUID of its own, never the layer's, that a later removal
/// can recompute.
pub fn chain_entry_id(layer: [u8; 16], index: usize) -> [u8; 16] {
    let mut id = layer;
    let n = u16::try_from(index + 1).unwrap_or(u16::MAX).to_be_bytes();
    id[14] ^= n[0];
    id[15] ^= n[1];
    id
}

/// The visible base entries of `families` (`AF_INET` 2, `AF_INET6` 23):
/// what a layer over "TCP/IP" goes over. The SDK's readme layers over
/// every entry of a family, because applications pass sockets of several
/// providers to one `select()`.
pub fn bases_of(catalog: &[ProtocolInfo], families: &[i32]) -> Vec<u32> {
    catalog
        .iter()
        .filter(|e| {
            e.chain.len == 1
                && families.contains(&e.address_family)
                && !e.provider_flags.contains(ProviderFlags::HIDDEN)
        })
        .map(|e| e.catalog_entry_id)
        .collect()
}

impl InstallPlan {
    /// A plan for `spec` over the entries `over` of `catalog`
    /// (`WSCEnumProtocols`' list). Refuses what the installer would.
    pub fn new(spec: LayerSpec, catalog: &[ProtocolInfo], over: &[u32]) -> Result<Self, PlanError> {
        if spec.name.encode_utf16().count() > 255 {
            return Err(PlanError::NameTooLong);
        }
        if over.is_empty() {
            return Err(PlanError::NoTargets);
        }
        let targets = over
            .iter()
            .map(|&id| {
                let e = catalog
                    .iter()
                    .find(|e| e.catalog_entry_id == id)
                    .ok_or(PlanError::UnknownEntry(id))?;
                match usize::try_from(e.chain.len).unwrap_or(0) {
                    0 => Err(PlanError::HiddenTarget(id)),
                    n if n >= MAX_PROTOCOL_CHAIN => Err(PlanError::ChainFull(id)),
                    _ => Ok(e.clone()),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(InstallPlan { spec, targets })
    }

    /// Step 1: the hidden entry (a copy of the first target with
    /// `ChainLen` 0, `PFL_HIDDEN` set, `PFL_MATCHES_PROTOCOL_ZERO` cleared,
    /// socket type and protocol 0, `XP1_IFS_HANDLES` cleared unless the
    /// layer is IFS, the layer's name and GUID). Its catalog id is 0: the
    /// catalog assigns it.
    pub fn hidden_entry(&self) -> ProtocolInfo {
        let mut e = self.targets[0].clone();
        e.catalog_entry_id = 0;
        e.provider_id = self.spec.provider_id;
        e.chain = ProtocolChain {
            len: 0,
            entries: Vec::new(),
        };
        e.provider_flags =
            (e.provider_flags | ProviderFlags::HIDDEN) - ProviderFlags::MATCHES_PROTOCOL_ZERO;
        e.socket_type = 0;
        e.protocol = 0;
        if !self.spec.ifs {
            e.service_flags -= ServiceFlags::IFS_HANDLES;
        }
        e.name = self.spec.name.clone();
        e
    }

    /// Step 2: one chain entry per target, given the id the catalog gave
    /// the hidden entry: a copy of the target whose chain is the layer's
    /// hidden id, then the target's own id, then the rest of the target's
    /// chain (so over a base `[hidden, base]`, over another layer's chain
    /// `[hidden, that chain's id, ..., base]`), named "`name` over
    /// `target`", each under [`chain_entry_id`].
    pub fn layered_entries(&self, hidden_id: u32) -> Vec<ProtocolInfo> {
        self.targets
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let mut e = t.clone();
                e.catalog_entry_id = 0;
                e.provider_id = chain_entry_id(self.spec.provider_id, i);
                let mut entries = vec![hidden_id, t.catalog_entry_id];
                if t.chain.len >= 2 {
                    entries.extend(t.chain.entries.iter().skip(1));
                }
                e.chain = ProtocolChain {
                    len: i32::try_from(entries.len()).unwrap_or(i32::MAX),
                    entries,
                };
                if !self.spec.ifs {
                    e.service_flags -= ServiceFlags::IFS_HANDLES;
                }
                e.name = format!("{} over [{}]", self.spec.name, t.name)
                    .chars()
                    .scan(0usize, |units, c| {
                        *units += c.len_utf16();
                        (*units <= 255).then_some(c)
                    })
                    .collect();
                e
            })
            .collect()
    }
}

/// Step 3: the catalog order to write (`WSCWriteProviderOrder`): every
/// entry whose chain holds `hidden_id` first, the rest after, each group
/// in its present order. Every id of `catalog` appears exactly once.
pub fn provider_order(catalog: &[ProtocolInfo], hidden_id: u32) -> Vec<u32> {
    let ours = |e: &&ProtocolInfo| e.chain.len >= 2 && e.chain.entries.contains(&hidden_id);
    let (first, rest): (Vec<_>, Vec<_>) = catalog.iter().partition(ours);
    first
        .into_iter()
        .chain(rest)
        .map(|e| e.catalog_entry_id)
        .collect()
}

/// The GUIDs to deinstall (`WSCDeinstallProvider`) to remove the layer
/// whose hidden entry has `provider_id`: its chain entries (their chain
/// starts with its hidden id), then the hidden entry. Refused while
/// another layer's chain goes through it, as removing it would leave that
/// chain dangling.
pub fn removal(
    catalog: &[ProtocolInfo],
    provider_id: [u8; 16],
) -> Result<Vec<[u8; 16]>, PlanError> {
    let hidden =
        super::chain::hidden_entry_id(catalog, provider_id).ok_or(PlanError::NotInstalled)?;
    let chains = catalog.iter().filter(|e| e.chain.len >= 2);
    let own = |e: &&ProtocolInfo| e.chain.entries.first() == Some(&hidden);
    // A chain through this layer names its hidden id or, as the SDK's
    // installer builds it, one of its chain entries.
    let ours: Vec<u32> = std::iter::once(hidden)
        .chain(chains.clone().filter(own).map(|e| e.catalog_entry_id))
        .collect();
    let over: Vec<u32> = chains
        .clone()
        .filter(|e| !own(e) && e.chain.entries.iter().any(|id| ours.contains(id)))
        .map(|e| e.catalog_entry_id)
        .collect();
    if !over.is_empty() {
        return Err(PlanError::LayeredOver(over));
    }
    let mut ids: Vec<[u8; 16]> = chains.filter(own).map(|e| e.provider_id).collect();
    ids.dedup();
    ids.push(provider_id);
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::next_in_chain;
    use crate::{AddressFamily, SocketKind};

    const LAYER: [u8; 16] = [0x11; 16];

    fn spec() -> LayerSpec {
        LayerSpec {
            name: "counting".into(),
            provider_id: LAYER,
            ifs: false,
        }
    }

    /// A catalog as a simple system has it: TCP and UDP over IPv4 and
    /// IPv6, the TCP ones IFS.
    fn system() -> Vec<ProtocolInfo> {
        let mut tcp = ProtocolInfo::base(1001, AddressFamily::Inet, SocketKind::Stream);
        tcp.service_flags |= ServiceFlags::IFS_HANDLES;
        tcp.name = "MSAFD Tcpip [TCP/IP]".into();
        let udp = ProtocolInfo::base(1002, AddressFamily::Inet, SocketKind::Datagram);
        let tcp6 = ProtocolInfo::base(1003, AddressFamily::Inet6, SocketKind::Stream);
        let mut other = ProtocolInfo::base(1004, AddressFamily::Inet, SocketKind::Stream);
        other.address_family = 6;
        vec![tcp, udp, tcp6, other]
    }

    /// Installs the plan into an in-memory catalog the way the tool does,
    /// giving ids from 2001 and appending, as the catalog does.
    fn install(catalog: &mut Vec<ProtocolInfo>, plan: &InstallPlan) -> u32 {
        let mut hidden = plan.hidden_entry();
        hidden.catalog_entry_id = 2001;
        catalog.push(hidden);
        for (i, mut e) in plan.layered_entries(2001).into_iter().enumerate() {
            e.catalog_entry_id = 2002 + i as u32;
            catalog.push(e);
        }
        let order = provider_order(catalog, 2001);
        catalog.sort_by_key(|e| order.iter().position(|&id| id == e.catalog_entry_id));
        2001
    }

    /// Spec §11 (the SDK's installer): the hidden entry is a copy with
    /// ChainLen 0, PFL_HIDDEN, no PFL_MATCHES_PROTOCOL_ZERO, type and
    /// protocol 0, no XP1_IFS_HANDLES for a non-IFS layer; each chain
    /// entry is [hidden, lower] with a GUID of its own and the flag
    /// cleared; the chains come first in the order; and every installed
    /// chain resolves, through `next_in_chain`, to the entry it went over.
    #[test]
    fn spec11_an_install_over_the_tcpip_bases_resolves_to_them() {
        let mut cat = system();
        let over = bases_of(&cat, &[2, 23]);
        assert_eq!(over, [1001, 1002, 1003]);
        let plan = InstallPlan::new(spec(), &cat, &over).unwrap();
        let hidden = plan.hidden_entry();
        assert_eq!(hidden.chain.len, 0);
        assert!(hidden.provider_flags.contains(ProviderFlags::HIDDEN));
        assert!(
            !hidden
                .provider_flags
                .contains(ProviderFlags::MATCHES_PROTOCOL_ZERO)
        );
        assert_eq!((hidden.socket_type, hidden.protocol), (0, 0));
        assert!(!hidden.service_flags.contains(ServiceFlags::IFS_HANDLES));
        assert_eq!(hidden.name, "counting");

        let hidden_id = install(&mut cat, &plan);
        let chains: Vec<_> = cat.iter().filter(|e| e.chain.len >= 2).cloned().collect();
        assert_eq!(chains.len(), 3);
        assert_eq!(chains[0].chain.entries, [2001, 1001]);
        assert_eq!(chains[0].name, "counting over [MSAFD Tcpip [TCP/IP]]");
        assert!(!chains[0].service_flags.contains(ServiceFlags::IFS_HANDLES));
        let mut guids: Vec<_> = chains.iter().map(|e| e.provider_id).collect();
        guids.dedup();
        assert_eq!(guids.len(), 3, "a GUID each");
        assert_eq!(
            cat.iter().take(3).map(|e| e.chain.len).collect::<Vec<_>>(),
            [2, 2, 2],
            "the chains first"
        );
        for (chain, lower) in chains.iter().zip([1001, 1002, 1003]) {
            let next = next_in_chain(chain, LAYER, &cat).unwrap();
            assert_eq!((next.next_id, next.next_is_base), (lower, true));
        }
        assert_eq!(hidden_id, 2001);
    }

    /// Spec §11: a second layer over the first one's chain gets [its
    /// hidden id, the first's chain id, the base]; the first layer then
    /// finds itself in that chain (SDK convention) and passes to the base.
    /// Removing the first layer is refused while the second is over it;
    /// removing the second, then the first, names their GUIDs.
    #[test]
    fn spec11_a_layer_over_a_layer_and_removal_in_order() {
        let mut cat = system();
        let first = InstallPlan::new(spec(), &cat, &[1001]).unwrap();
        install(&mut cat, &first);
        let first_chain = cat
            .iter()
            .find(|e| e.chain.entries == [2001, 1001])
            .unwrap()
            .catalog_entry_id;
        let top_spec = LayerSpec {
            name: "top".into(),
            provider_id: [0x22; 16],
            ifs: false,
        };
        let top = InstallPlan::new(top_spec, &cat, &[first_chain]).unwrap();
        let mut hidden = top.hidden_entry();
        hidden.catalog_entry_id = 3001;
        cat.push(hidden);
        let mut chain = top.layered_entries(3001).remove(0);
        chain.catalog_entry_id = 3002;
        assert_eq!(chain.chain.entries, [3001, first_chain, 1001]);
        cat.push(chain.clone());

        let next = next_in_chain(&chain, [0x22; 16], &cat).unwrap();
        assert_eq!((next.next_id, next.next_is_base), (first_chain, false));
        let next = next_in_chain(&chain, LAYER, &cat).unwrap();
        assert_eq!(
            (next.position, next.next_id, next.next_is_base),
            (1, 1001, true)
        );

        assert_eq!(
            removal(&cat, LAYER),
            Err(PlanError::LayeredOver(vec![3002]))
        );
        assert_eq!(
            removal(&cat, [0x22; 16]),
            Ok(vec![chain_entry_id([0x22; 16], 0), [0x22; 16]])
        );
        cat.retain(|e| e.catalog_entry_id < 3000);
        assert_eq!(
            removal(&cat, LAYER),
            Ok(vec![chain_entry_id(LAYER, 0), LAYER])
        );
        assert_eq!(removal(&system(), LAYER), Err(PlanError::NotInstalled));
    }

    /// Every chain entry's GUID is its own: never the layer's (whatever its
    /// last bytes), never another chain entry's.
    #[test]
    fn chain_entry_guids_are_distinct_from_the_layer_and_each_other() {
        for layer in [[0x11; 16], [0; 16], {
            let mut g = [7; 16];
            g[14..].copy_from_slice(&[0, 1]);
            g
        }] {
            let ids: Vec<_> = (0..300).map(|i| chain_entry_id(layer, i)).collect();
            assert!(!ids.contains(&layer));
            let mut unique = ids.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), ids.len());
        }
    }

    /// Spec §11: what the installer refuses: nothing to go over, an
    /// unknown id, a hidden entry, a chain already 6 long (the layer would
    /// make it 8), a name longer than szProtocol.
    #[test]
    fn spec11_plans_the_installer_refuses() {
        let mut cat = system();
        assert_eq!(
            InstallPlan::new(spec(), &cat, &[]),
            Err(PlanError::NoTargets)
        );
        assert_eq!(
            InstallPlan::new(spec(), &cat, &[9]),
            Err(PlanError::UnknownEntry(9))
        );
        let mut hidden = cat[0].clone();
        hidden.catalog_entry_id = 5000;
        hidden.chain = ProtocolChain {
            len: 0,
            entries: vec![],
        };
        let mut full = cat[0].clone();
        full.catalog_entry_id = 5001;
        full.chain = ProtocolChain {
            len: 7,
            entries: vec![1; 7],
        };
        cat.extend([hidden, full]);
        assert_eq!(
            InstallPlan::new(spec(), &cat, &[5000]),
            Err(PlanError::HiddenTarget(5000))
        );
        assert_eq!(
            InstallPlan::new(spec(), &cat, &[5001]),
            Err(PlanError::ChainFull(5001))
        );
        let long = LayerSpec {
            name: "x".repeat(256),
            ..spec()
        };
        assert_eq!(
            InstallPlan::new(long, &cat, &[1001]),
            Err(PlanError::NameTooLong)
        );
    }
}
