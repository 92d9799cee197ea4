//! `WSAPROTOCOL_INFOW` as the core's [`ProtocolInfo`]: the catalog entry
//! `WSPStartup` was called for, decoded once.

use super::abi::WSAPROTOCOL_INFOW;
use crate::{ProtocolChain, ProtocolInfo, ProviderFlags, ServiceFlags};
use windows_sys::core::GUID;

/// The fields of `info` the core and a transport use. A chain length
/// outside 0..=7 keeps its value but no entries (the SPI allows at most
/// `MAX_PROTOCOL_CHAIN` = 7); `szProtocol` is read up to its first NUL.
pub(super) fn decode(info: &WSAPROTOCOL_INFOW) -> ProtocolInfo {
    let chain = &info.ProtocolChain;
    let entries = usize::try_from(chain.ChainLen)
        .ok()
        .and_then(|n| chain.ChainEntries.get(..n))
        .map(<[u32]>::to_vec)
        .unwrap_or_default();
    let name_len = info
        .szProtocol
        .iter()
        .position(|&u| u == 0)
        .unwrap_or(info.szProtocol.len());
    let provider_id = id_of(&info.ProviderId);
    ProtocolInfo {
        catalog_entry_id: info.dwCatalogEntryId,
        provider_id,
        address_family: info.iAddressFamily,
        socket_type: info.iSocketType,
        protocol: info.iProtocol,
        chain: ProtocolChain {
            len: chain.ChainLen,
            entries,
        },
        service_flags: ServiceFlags::from_bits_retain(info.dwServiceFlags1),
        provider_flags: ProviderFlags::from_bits_retain(info.dwProviderFlags),
        message_size: info.dwMessageSize,
        version: info.iVersion,
        name: String::from_utf16_lossy(&info.szProtocol[..name_len]),
    }
}

/// A GUID's bytes in memory order (`ProtocolInfo::provider_id`).
pub(super) fn id_of(g: &GUID) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[..4].copy_from_slice(&g.data1.to_ne_bytes());
    id[4..6].copy_from_slice(&g.data2.to_ne_bytes());
    id[6..8].copy_from_slice(&g.data3.to_ne_bytes());
    id[8..].copy_from_slice(&g.data4);
    id
}

/// The GUID whose bytes in memory order are `id`.
pub(super) fn guid_of(id: [u8; 16]) -> GUID {
    GUID {
        data1: u32::from_ne_bytes([id[0], id[1], id[2], id[3]]),
        data2: u16::from_ne_bytes([id[4], id[5]]),
        data3: u16::from_ne_bytes([id[6], id[7]]),
        data4: [id[8], id[9], id[10], id[11], id[12], id[13], id[14], id[15]],
    }
}

/// `info` as a `WSAPROTOCOL_INFOW` (`SO_PROTOCOL_INFOW`): the fields
/// [`decode`] reads, the rest zero; `szProtocol` cut to 255 units.
pub(super) fn encode(info: &ProtocolInfo) -> WSAPROTOCOL_INFOW {
    // SAFETY: a plain C struct; all zeroes is a valid value.
    let mut out: WSAPROTOCOL_INFOW = unsafe { std::mem::zeroed() };
    out.dwCatalogEntryId = info.catalog_entry_id;
    out.ProviderId = guid_of(info.provider_id);
    out.iAddressFamily = info.address_family;
    out.iSocketType = info.socket_type;
    out.iProtocol = info.protocol;
    out.ProtocolChain.ChainLen = info.chain.len;
    for (slot, e) in out
        .ProtocolChain
        .ChainEntries
        .iter_mut()
        .zip(&info.chain.entries)
    {
        *slot = *e;
    }
    out.dwServiceFlags1 = info.service_flags.bits();
    out.dwProviderFlags = info.provider_flags.bits();
    out.dwMessageSize = info.message_size;
    out.iVersion = info.version;
    // The maximum address length of the family, as Windows fills it.
    let (min, max) = match info.address_family {
        23 => (28, 28),
        _ => (16, 16),
    };
    out.iMinSockAddr = min;
    out.iMaxSockAddr = max;
    for (slot, unit) in out.szProtocol[..255]
        .iter_mut()
        .zip(info.name.encode_utf16())
    {
        *slot = unit;
    }
    out
}

/// `base` with the fields [`decode`] reads replaced by `info`'s (its
/// other fields, which `ProtocolInfo` does not carry, kept): an install
/// plan's entry written over a copy of the catalog entry it came from.
pub(super) fn onto(base: &WSAPROTOCOL_INFOW, info: &ProtocolInfo) -> WSAPROTOCOL_INFOW {
    let mut out = *base;
    let fresh = encode(info);
    out.dwCatalogEntryId = fresh.dwCatalogEntryId;
    out.ProviderId = fresh.ProviderId;
    out.iAddressFamily = fresh.iAddressFamily;
    out.iSocketType = fresh.iSocketType;
    out.iProtocol = fresh.iProtocol;
    out.ProtocolChain = fresh.ProtocolChain;
    out.dwServiceFlags1 = fresh.dwServiceFlags1;
    out.dwProviderFlags = fresh.dwProviderFlags;
    out.dwMessageSize = fresh.dwMessageSize;
    out.iVersion = fresh.iVersion;
    out.szProtocol = fresh.szProtocol;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every field the core reads comes across, a layered chain included.
    #[test]
    fn a_protocol_entry_decodes_field_by_field() {
        // SAFETY: a plain C struct; all zeroes is a valid value.
        let mut info: WSAPROTOCOL_INFOW = unsafe { std::mem::zeroed() };
        info.dwCatalogEntryId = 1017;
        info.iAddressFamily = 23;
        info.iSocketType = 1;
        info.iProtocol = 6;
        info.ProtocolChain.ChainLen = 2;
        info.ProtocolChain.ChainEntries[..3].copy_from_slice(&[1017, 1001, 99]);
        info.dwServiceFlags1 = 0x20066;
        info.dwMessageSize = 0;
        info.iVersion = 2;
        info.ProviderId.data1 = 0x0102_0304;
        for (slot, unit) in info
            .szProtocol
            .iter_mut()
            .zip("MSAFD Tcpip [TCP/IPv6]".encode_utf16())
        {
            *slot = unit;
        }
        let p = decode(&info);
        assert_eq!(p.catalog_entry_id, 1017);
        assert_eq!((p.address_family, p.socket_type, p.protocol), (23, 1, 6));
        assert_eq!(
            p.chain,
            ProtocolChain {
                len: 2,
                entries: vec![1017, 1001]
            }
        );
        assert_eq!(p.service_flags.bits(), 0x20066);
        assert_eq!(p.name, "MSAFD Tcpip [TCP/IPv6]");
        assert_eq!(&p.provider_id[..4], &0x0102_0304u32.to_ne_bytes());
        info.ProtocolChain.ChainLen = 9;
        assert_eq!(
            decode(&info).chain,
            ProtocolChain {
                len: 9,
                entries: vec![]
            }
        );
    }
}
