//! Generation-tagged socket handles and operation ids.
//!
//! A [`SocketHandle`] packs a slot index and the slot's generation. Closing a
//! socket (or the final cleanup) bumps the generation, so an old handle never
//! names a socket created later: it is `WSAENOTSOCK` forever (S6h, S13).

use std::fmt;

/// Bits a raw handle may use: a pointer's worth, so that the ABI shim can
/// hand a handle to ws2_32 as a `DWORD_PTR` socket context on every target.
const HANDLE_BITS: u32 = if usize::BITS >= 64 { 64 } else { 32 };
/// Bits of a raw handle that hold the slot index (plus one, so 0 is never valid).
pub(crate) const INDEX_BITS: u32 = if HANDLE_BITS == 64 { 24 } else { 16 };
/// The largest slot count a table can have.
pub(crate) const MAX_SLOTS: usize = (1 << INDEX_BITS) - 2;
/// The last generation a slot may carry; a slot that reaches it is retired, so a
/// raw handle never equals `INVALID_SOCKET` (all ones) and never repeats.
pub(crate) const MAX_GENERATION: u64 = (1 << (HANDLE_BITS - INDEX_BITS)) - 1;

/// The provider's name for a socket: what `WSPSocket` returns (or what the ABI
/// shim registers as the context of a `WPUCreateSocketHandle` handle).
///
/// A handle packs a slot index of the socket table and the slot's
/// generation. Closing a socket (or the final cleanup) moves the generation
/// on, so an old handle never names a socket created later: it is
/// `WSAENOTSOCK` forever (S6h, S13). Raw values are never 0 and never `!0`,
/// and a value is never issued twice by one provider instance.
///
/// ```
/// use winsock_provider::SocketHandle;
/// let h = SocketHandle::from_raw(0x0000_0100_0000_0001);
/// assert_eq!(h.to_raw(), 0x0000_0100_0000_0001);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketHandle(u64);

impl SocketHandle {
    pub(crate) fn new(index: usize, generation: u64) -> Self {
        debug_assert!(index < MAX_SLOTS && generation > 0 && generation < MAX_GENERATION);
        SocketHandle((generation << INDEX_BITS) | (index as u64 + 1))
    }

    /// Rebuilds a handle from its raw value (as the ABI hands it back). Any
    /// value is accepted; an unknown one is simply rejected by the table.
    pub const fn from_raw(raw: u64) -> Self {
        SocketHandle(raw)
    }

    /// The raw value, for the ABI or for printing.
    pub const fn to_raw(self) -> u64 {
        self.0
    }

    /// The slot index, if the raw value can name a slot at all.
    pub(crate) fn index(self) -> Option<usize> {
        let low = (self.0 & ((1 << INDEX_BITS) - 1)) as usize;
        low.checked_sub(1)
    }

    pub(crate) fn generation(self) -> u64 {
        self.0 >> INDEX_BITS
    }
}

impl fmt::Debug for SocketHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index() {
            Some(i) => write!(f, "socket#{}.{}", i, self.generation()),
            None => write!(f, "socket(raw {:#x})", self.0),
        }
    }
}

impl fmt::Display for SocketHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// One accepted operation: the socket it was issued on and a sequence number
/// that the provider never reuses. The transport treats it as an opaque token
/// and hands it back with the completion.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct OpId {
    /// The socket the operation was issued on.
    pub socket: SocketHandle,
    /// Unique within the provider instance, across cleanups.
    pub seq: u64,
}

impl fmt::Display for OpId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "op{}@{}", self.seq, self.socket)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_packs_index_and_generation() {
        let h = SocketHandle::new(5, 7);
        assert_eq!(h.index(), Some(5));
        assert_eq!(h.generation(), 7);
        assert_eq!(SocketHandle::from_raw(0).index(), None);
    }

    /// S6h: the largest handle a table can issue is still not INVALID_SOCKET,
    /// and every handle fits a pointer-sized socket context.
    #[test]
    fn s6h_no_handle_equals_invalid_socket() {
        let h = SocketHandle::new(MAX_SLOTS - 1, MAX_GENERATION - 1);
        assert_ne!(h.to_raw(), usize::MAX as u64);
        assert_ne!(h.to_raw(), 0);
        assert!(usize::try_from(h.to_raw()).is_ok());
        let first = SocketHandle::new(0, 1);
        assert!(usize::try_from(first.to_raw()).is_ok());
    }
}
