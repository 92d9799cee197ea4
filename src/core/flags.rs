//! Bit sets of the SPI: service flags, provider flags, message flags, network
//! events and socket-creation flags, with the values of ws2spi.h / winsock2.h.

use bitflags::bitflags;

bitflags! {
    /// `dwServiceFlags1` of `WSAPROTOCOL_INFOW` (`XP1_*`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct ServiceFlags: u32 {
        /// `XP1_CONNECTIONLESS`
        const CONNECTIONLESS = 0x1;
        /// `XP1_GUARANTEED_DELIVERY`
        const GUARANTEED_DELIVERY = 0x2;
        /// `XP1_GUARANTEED_ORDER`
        const GUARANTEED_ORDER = 0x4;
        /// `XP1_MESSAGE_ORIENTED`
        const MESSAGE_ORIENTED = 0x8;
        /// `XP1_PSEUDO_STREAM`
        const PSEUDO_STREAM = 0x10;
        /// `XP1_GRACEFUL_CLOSE`
        const GRACEFUL_CLOSE = 0x20;
        /// `XP1_EXPEDITED_DATA`
        const EXPEDITED_DATA = 0x40;
        /// `XP1_CONNECT_DATA`
        const CONNECT_DATA = 0x80;
        /// `XP1_DISCONNECT_DATA`
        const DISCONNECT_DATA = 0x100;
        /// `XP1_SUPPORT_BROADCAST`
        const SUPPORT_BROADCAST = 0x200;
        /// `XP1_SUPPORT_MULTIPOINT`
        const SUPPORT_MULTIPOINT = 0x400;
        /// `XP1_MULTIPOINT_CONTROL_PLANE`
        const MULTIPOINT_CONTROL_PLANE = 0x800;
        /// `XP1_MULTIPOINT_DATA_PLANE`
        const MULTIPOINT_DATA_PLANE = 0x1000;
        /// `XP1_QOS_SUPPORTED`
        const QOS_SUPPORTED = 0x2000;
        /// `XP1_INTERRUPT`
        const INTERRUPT = 0x4000;
        /// `XP1_UNI_SEND`
        const UNI_SEND = 0x8000;
        /// `XP1_UNI_RECV`
        const UNI_RECV = 0x10000;
        /// `XP1_IFS_HANDLES`
        const IFS_HANDLES = 0x20000;
        /// `XP1_PARTIAL_MESSAGE`
        const PARTIAL_MESSAGE = 0x40000;
        /// `XP1_SAN_SUPPORT_SDP` (newer headers only)
        const SAN_SUPPORT_SDP = 0x80000;
    }

    /// `dwProviderFlags` of `WSAPROTOCOL_INFOW` (`PFL_*`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct ProviderFlags: u32 {
        /// `PFL_MULTIPLE_PROTO_ENTRIES`
        const MULTIPLE_PROTO_ENTRIES = 0x1;
        /// `PFL_RECOMMENDED_PROTO_ENTRY`
        const RECOMMENDED_PROTO_ENTRY = 0x2;
        /// `PFL_HIDDEN`
        const HIDDEN = 0x4;
        /// `PFL_MATCHES_PROTOCOL_ZERO`
        const MATCHES_PROTOCOL_ZERO = 0x8;
        /// `PFL_NETWORKDIRECT_PROVIDER` (newer headers only)
        const NETWORKDIRECT_PROVIDER = 0x10;
    }

    /// Send and receive flags (`MSG_*`), in and out.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct MsgFlags: u32 {
        /// `MSG_OOB`
        const OOB = 0x1;
        /// `MSG_PEEK`
        const PEEK = 0x2;
        /// `MSG_DONTROUTE`
        const DONTROUTE = 0x4;
        /// `MSG_WAITALL`
        const WAITALL = 0x8;
        /// `MSG_INTERRUPT`
        const INTERRUPT = 0x10;
        /// `MSG_PUSH_IMMEDIATE` (newer headers only)
        const PUSH_IMMEDIATE = 0x20;
        /// `MSG_PARTIAL`
        const PARTIAL = 0x8000;
    }

    /// Network events (`FD_*` masks) for `WSPEventSelect` and friends.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct FdEvents: u32 {
        /// `FD_READ`
        const READ = 0x1;
        /// `FD_WRITE`
        const WRITE = 0x2;
        /// `FD_OOB`
        const OOB = 0x4;
        /// `FD_ACCEPT`
        const ACCEPT = 0x8;
        /// `FD_CONNECT`
        const CONNECT = 0x10;
        /// `FD_CLOSE`
        const CLOSE = 0x20;
        /// `FD_QOS`
        const QOS = 0x40;
        /// `FD_GROUP_QOS`
        const GROUP_QOS = 0x80;
        /// `FD_ROUTING_INTERFACE_CHANGE`
        const ROUTING_INTERFACE_CHANGE = 0x100;
        /// `FD_ADDRESS_LIST_CHANGE`
        const ADDRESS_LIST_CHANGE = 0x200;
    }

    /// `dwFlags` of `WSPSocket` (`WSA_FLAG_*`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct SocketFlags: u32 {
        /// `WSA_FLAG_OVERLAPPED`: the socket accepts overlapped calls.
        const OVERLAPPED = 0x01;
        /// `WSA_FLAG_MULTIPOINT_C_ROOT`
        const MULTIPOINT_C_ROOT = 0x02;
        /// `WSA_FLAG_MULTIPOINT_C_LEAF`
        const MULTIPOINT_C_LEAF = 0x04;
        /// `WSA_FLAG_MULTIPOINT_D_ROOT`
        const MULTIPOINT_D_ROOT = 0x08;
        /// `WSA_FLAG_MULTIPOINT_D_LEAF`
        const MULTIPOINT_D_LEAF = 0x10;
        /// `WSA_FLAG_ACCESS_SYSTEM_SECURITY` (newer headers only)
        const ACCESS_SYSTEM_SECURITY = 0x40;
        /// `WSA_FLAG_NO_HANDLE_INHERIT` (newer headers only)
        const NO_HANDLE_INHERIT = 0x80;
        /// `WSA_FLAG_REGISTERED_IO` (newer headers only)
        const REGISTERED_IO = 0x100;
    }
}

impl FdEvents {
    /// `FD_MAX_EVENTS`: the number of event bits, and of `iErrorCode` slots.
    pub const MAX_EVENTS: usize = 10;

    /// The events the provider raises, each under the re-enabling rules of
    /// spec §12. The other four (`FD_QOS`, `FD_GROUP_QOS`,
    /// `FD_ROUTING_INTERFACE_CHANGE`, `FD_ADDRESS_LIST_CHANGE`) are
    /// accepted in a registration and never raised: there is no QOS and no
    /// routing or address-list change ioctl.
    pub const REENABLED: FdEvents = FdEvents::READ
        .union(FdEvents::WRITE)
        .union(FdEvents::OOB)
        .union(FdEvents::ACCEPT)
        .union(FdEvents::CONNECT)
        .union(FdEvents::CLOSE);

    /// The level-triggered ones (spec §12): after their re-enabling call,
    /// signalled again at once if the condition still holds; in event mode
    /// recorded again on every new arrival.
    pub const LEVEL: FdEvents = FdEvents::READ.union(FdEvents::OOB).union(FdEvents::ACCEPT);

    /// The `FD_x_BIT` index of a single-bit event (`FD_READ` is 0), or `None`
    /// when `self` is not exactly one known bit.
    pub fn bit_index(self) -> Option<usize> {
        (self.bits().count_ones() == 1 && Self::all().contains(self))
            .then(|| self.bits().trailing_zeros() as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fd_all_events_is_0x3ff_and_bits_index_in_order() {
        assert_eq!(FdEvents::all().bits(), 0x3FF);
        assert_eq!(FdEvents::READ.bit_index(), Some(0));
        assert_eq!(FdEvents::CLOSE.bit_index(), Some(5));
        assert_eq!(FdEvents::ADDRESS_LIST_CHANGE.bit_index(), Some(9));
        assert_eq!((FdEvents::READ | FdEvents::WRITE).bit_index(), None);
    }
}
