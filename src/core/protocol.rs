//! The catalog entry a provider was started for: the fields of
//! `WSAPROTOCOL_INFOW` that the core and a transport use, as Rust values.
//!
//! `WSPStartup` receives one in `lpProtocolInfo`; the shim decodes it and
//! the provider hands it to [`Transport::start`](super::transport::Transport::start)
//! at the first startup, so a transport knows which protocol (TCP or UDP,
//! IPv4 or IPv6) and which place in a protocol chain it serves.

use super::flags::{ProviderFlags, ServiceFlags};
use super::transport::{AddressFamily, SocketKind};

/// `WSAPROTOCOLCHAIN`: where a catalog entry stands.
///
/// `len` 0 is a layered protocol (the entry of a layered provider itself),
/// 1 a base protocol, more than 1 a protocol chain whose `entries` are
/// catalog entry ids, the top layer first and the base provider last.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct ProtocolChain {
    /// `ChainLen`: 0 layered, 1 base, more: a chain.
    pub len: i32,
    /// `ChainEntries[..len]` (at most 7, `MAX_PROTOCOL_CHAIN`).
    pub entries: Vec<u32>,
}

impl ProtocolChain {
    /// The chain of a base protocol: one entry, itself.
    pub fn base(catalog_entry_id: u32) -> Self {
        ProtocolChain {
            len: 1,
            entries: vec![catalog_entry_id],
        }
    }
}

/// A protocol (catalog) entry, as `WSAPROTOCOL_INFOW` describes it.
///
/// ```
/// use winsock_provider::{AddressFamily, ProtocolInfo, SocketKind};
/// let tcp6 = ProtocolInfo::base(1001, AddressFamily::Inet6, SocketKind::Stream);
/// assert_eq!(tcp6.protocol, 6);
/// assert_eq!(tcp6.chain.entries, vec![1001]);
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct ProtocolInfo {
    /// `dwCatalogEntryId`.
    pub catalog_entry_id: u32,
    /// `ProviderId`, the provider's GUID, in its in-memory byte order.
    pub provider_id: [u8; 16],
    /// `iAddressFamily` (`AF_INET` 2, `AF_INET6` 23, or another family).
    pub address_family: i32,
    /// `iSocketType` (`SOCK_STREAM` 1, `SOCK_DGRAM` 2, ...).
    pub socket_type: i32,
    /// `iProtocol` (`IPPROTO_TCP` 6, `IPPROTO_UDP` 17, ...).
    pub protocol: i32,
    /// `ProtocolChain`.
    pub chain: ProtocolChain,
    /// `dwServiceFlags1`.
    pub service_flags: ServiceFlags,
    /// `dwProviderFlags`.
    pub provider_flags: ProviderFlags,
    /// `dwMessageSize`: 0 for a stream, the largest message otherwise.
    pub message_size: u32,
    /// `iVersion`.
    pub version: i32,
    /// `szProtocol`.
    pub name: String,
}

impl ProtocolInfo {
    /// A base protocol entry for TCP (a stream) or UDP (datagrams) over
    /// `family`, with the service flags Windows gives those protocols.
    pub fn base(catalog_entry_id: u32, family: AddressFamily, kind: SocketKind) -> Self {
        let (socket_type, protocol, service_flags, message_size, name) = match kind {
            SocketKind::Stream => (
                1,
                6,
                ServiceFlags::GUARANTEED_DELIVERY
                    | ServiceFlags::GUARANTEED_ORDER
                    | ServiceFlags::GRACEFUL_CLOSE
                    | ServiceFlags::EXPEDITED_DATA
                    | ServiceFlags::IFS_HANDLES,
                0,
                "TCP",
            ),
            SocketKind::Datagram => (
                2,
                17,
                ServiceFlags::CONNECTIONLESS
                    | ServiceFlags::MESSAGE_ORIENTED
                    | ServiceFlags::SUPPORT_BROADCAST
                    | ServiceFlags::IFS_HANDLES,
                65_527,
                "UDP",
            ),
        };
        let ip = match family {
            AddressFamily::Inet => "IPv4",
            AddressFamily::Inet6 => "IPv6",
        };
        ProtocolInfo {
            catalog_entry_id,
            provider_id: [0; 16],
            address_family: family.code(),
            socket_type,
            protocol,
            chain: ProtocolChain::base(catalog_entry_id),
            service_flags,
            provider_flags: ProviderFlags::empty(),
            message_size,
            version: 2,
            name: format!("{name}/{ip}"),
        }
    }
}

impl Default for ProtocolInfo {
    /// A base TCP/IPv4 entry with catalog id 0: what a host that is not
    /// ws2_32 (a test, a simulator) starts a provider for.
    fn default() -> Self {
        ProtocolInfo::base(0, AddressFamily::Inet, SocketKind::Stream)
    }
}
