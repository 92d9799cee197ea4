//! Where a layered provider stands in the protocol chain it was started
//! for, and which catalog entry comes next (spec §11).
//!
//! `WSPStartup` gives a layer the chain entry being instantiated
//! (`ChainLen` 2 to 7): `ChainEntries[0]` is the top layer, the last one
//! the base provider. The layer finds itself by the catalog id of its own
//! hidden entry (`ChainLen` 0); the entry after it is the next provider.
//! Installers disagree on what the middle of a chain holds: the
//! documentation says each layer's hidden id, the SDK's installer puts the
//! lower layer's *chain entry* id there. Both are accepted: an element is
//! this layer's when it is its hidden id or the id of one of its chain
//! entries (an entry whose chain starts with its hidden id).

use crate::ProtocolInfo;

/// `MAX_PROTOCOL_CHAIN`: the longest chain.
pub const MAX_PROTOCOL_CHAIN: usize = 7;

/// What a layer passes down, decided from the chain.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct NextInChain {
    /// This layer's index in `ChainEntries`.
    pub position: usize,
    /// The catalog id of the next provider's entry.
    pub next_id: u32,
    /// Whether the next provider is the base (the chain's last element).
    /// Then its `WSPStartup` and `WSPSocket` get the base's own catalog
    /// entry; otherwise the same chain entry this layer was given.
    pub next_is_base: bool,
}

/// Why a chain has no next provider for this layer. The shim answers each
/// with `WSAEPROVIDERFAILEDINIT` from `WSPStartup`, as the SDK's sample
/// does.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum ChainError {
    /// `ChainLen` below 2 (a base or a hidden entry) or above 7.
    #[error("the entry is not a protocol chain (ChainLen {0})")]
    NotAChain(i32),
    /// The layer's hidden entry is not in the catalog.
    #[error("the layer's own hidden catalog entry is not in the catalog")]
    NoHiddenEntry,
    /// None of the chain's elements is this layer.
    #[error("the layer is not in the protocol chain {0:?}")]
    NotInChain(Vec<u32>),
    /// This layer is the chain's last element: nothing below it.
    #[error("the layer is the last element of the chain: it has no next provider")]
    LastInChain,
    /// The next element names no catalog entry.
    #[error("the chain's next element {0} is not in the catalog")]
    NextNotInCatalog(u32),
}

/// The catalog id of the layer's hidden entry: the entry with its
/// `provider_id` and `ChainLen` 0.
pub fn hidden_entry_id(catalog: &[ProtocolInfo], provider_id: [u8; 16]) -> Option<u32> {
    catalog
        .iter()
        .find(|e| e.chain.len == 0 && e.provider_id == provider_id)
        .map(|e| e.catalog_entry_id)
}

/// Where the layer whose hidden entry has `provider_id` stands in
/// `entry`'s chain, and what comes after it. `catalog` is every entry
/// (`WSCEnumProtocols`, hidden ones included).
///
/// ```
/// use winsock_provider::catalog::{next_in_chain, NextInChain};
/// use winsock_provider::{AddressFamily, ProtocolChain, ProtocolInfo, SocketKind};
///
/// let base = ProtocolInfo::base(1001, AddressFamily::Inet, SocketKind::Stream);
/// let mut hidden = base.clone();
/// hidden.catalog_entry_id = 2001;
/// hidden.provider_id = [7; 16];
/// hidden.chain = ProtocolChain { len: 0, entries: vec![] };
/// let mut layered = base.clone();
/// layered.catalog_entry_id = 2002;
/// layered.chain = ProtocolChain { len: 2, entries: vec![2001, 1001] };
/// let catalog = [base, hidden, layered.clone()];
///
/// let next = next_in_chain(&layered, [7; 16], &catalog).unwrap();
/// assert_eq!(next, NextInChain { position: 0, next_id: 1001, next_is_base: true });
/// ```
pub fn next_in_chain(
    entry: &ProtocolInfo,
    provider_id: [u8; 16],
    catalog: &[ProtocolInfo],
) -> Result<NextInChain, ChainError> {
    let chain = &entry.chain;
    let len = usize::try_from(chain.len).unwrap_or(0);
    if !(2..=MAX_PROTOCOL_CHAIN).contains(&len) || chain.entries.len() < len {
        return Err(ChainError::NotAChain(chain.len));
    }
    let entries = &chain.entries[..len];
    // A catalog has one hidden entry per layer; a host that supplied a
    // catalog twice may have left two: either is this layer.
    let hidden: Vec<u32> = catalog
        .iter()
        .filter(|e| e.chain.len == 0 && e.provider_id == provider_id)
        .map(|e| e.catalog_entry_id)
        .collect();
    if hidden.is_empty() {
        return Err(ChainError::NoHiddenEntry);
    }
    let ours = |id: u32| {
        hidden.contains(&id)
            || catalog.iter().any(|e| {
                e.catalog_entry_id == id
                    && e.chain.len >= 2
                    && e.chain.entries.first().is_some_and(|h| hidden.contains(h))
            })
    };
    let position = entries
        .iter()
        .position(|&id| ours(id))
        .ok_or_else(|| ChainError::NotInChain(entries.to_vec()))?;
    let next_id = *entries.get(position + 1).ok_or(ChainError::LastInChain)?;
    if !catalog.iter().any(|e| e.catalog_entry_id == next_id) {
        return Err(ChainError::NextNotInCatalog(next_id));
    }
    Ok(NextInChain {
        position,
        next_id,
        next_is_base: position + 2 == len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AddressFamily, ProtocolChain, SocketKind};

    const TOP: [u8; 16] = [1; 16];
    const MIDDLE: [u8; 16] = [2; 16];

    fn entry(id: u32, provider: [u8; 16], chain: &[u32], len: i32) -> ProtocolInfo {
        let mut e = ProtocolInfo::base(id, AddressFamily::Inet, SocketKind::Stream);
        e.provider_id = provider;
        e.chain = ProtocolChain {
            len,
            entries: chain.to_vec(),
        };
        e
    }

    /// Base 1001; middle layer: hidden 2001, chain entry 2002 = [2001,
    /// 1001]; top layer: hidden 3001 and its chain entry over the middle
    /// one, as the documentation builds it ([3001, 2001, 1001]) or as the
    /// SDK's installer does ([3001, 2002, 1001]).
    fn catalog(middle_convention: u32) -> Vec<ProtocolInfo> {
        vec![
            entry(1001, [9; 16], &[1001], 1),
            entry(2001, MIDDLE, &[], 0),
            entry(2002, [3; 16], &[2001, 1001], 2),
            entry(3001, TOP, &[], 0),
            entry(3002, [4; 16], &[3001, middle_convention, 1001], 3),
        ]
    }

    /// Spec §11: the top layer of a chain of three passes to the middle
    /// layer (not the base), and the middle layer to the base, under both
    /// conventions for the chain's middle element.
    #[test]
    fn spec11_each_layer_finds_the_next_under_both_conventions() {
        for middle in [2001, 2002] {
            let cat = catalog(middle);
            let top = &cat[4];
            assert_eq!(
                next_in_chain(top, TOP, &cat),
                Ok(NextInChain {
                    position: 0,
                    next_id: middle,
                    next_is_base: false
                })
            );
            // The middle layer is started with the same chain entry.
            assert_eq!(
                next_in_chain(top, MIDDLE, &cat),
                Ok(NextInChain {
                    position: 1,
                    next_id: 1001,
                    next_is_base: true
                })
            );
        }
    }

    /// Spec §11: a base or hidden entry is not a chain; a layer not in the
    /// chain, a layer without its hidden entry, a layer last in the chain
    /// and a next element the catalog lacks are each refused, by name.
    #[test]
    fn spec11_chains_a_layer_cannot_serve_are_refused() {
        let cat = catalog(2001);
        assert_eq!(
            next_in_chain(&cat[0], TOP, &cat),
            Err(ChainError::NotAChain(1))
        );
        assert_eq!(
            next_in_chain(&cat[1], MIDDLE, &cat),
            Err(ChainError::NotAChain(0))
        );
        assert_eq!(
            next_in_chain(&cat[2], TOP, &cat),
            Err(ChainError::NotInChain(vec![2001, 1001]))
        );
        assert_eq!(
            next_in_chain(&cat[4], [8; 16], &cat),
            Err(ChainError::NoHiddenEntry)
        );
        let last = entry(4002, [5; 16], &[1001, 2001], 2);
        assert_eq!(
            next_in_chain(&last, MIDDLE, &cat),
            Err(ChainError::LastInChain)
        );
        let dangling = entry(4003, [5; 16], &[2001, 777], 2);
        assert_eq!(
            next_in_chain(&dangling, MIDDLE, &cat),
            Err(ChainError::NextNotInCatalog(777))
        );
        let too_long = entry(4004, [5; 16], &[2001; 8], 8);
        assert_eq!(
            next_in_chain(&too_long, MIDDLE, &cat),
            Err(ChainError::NotAChain(8))
        );
    }
}
